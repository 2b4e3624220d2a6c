//! Receive-side framing done as bytes arrive: unmasking, text validation, and where each
//! payload goes.
//!
//! The connection decodes input lazily (one event per [`poll_event`]), but the bytes
//! themselves are handled once, when they arrive: [`Framer`] walks the frame boundaries of
//! the input stream so that [`handle_data`] can copy and unmask a payload in one pass (see
//! `unmask_copy`), ASCII text is recognised in that same pass, and the payloads of a
//! fragmented message are written one after the other into a message buffer instead of
//! being copied there later. It judges nothing: it only reads headers for their length,
//! mask and kind, and records the first text frame whose payload cannot be UTF-8.
//! Protocol checks stay in the connection, which decodes the same headers again in order and
//! fails before the framer's view and its own could differ.
//!
//! [`poll_event`]: super::Connection::poll_event
//! [`handle_data`]: super::Connection::handle_data

use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, RSV1};
use crate::unmask_copy::Checked;
use crate::utf8::Utf8Validator;

/// Opcode values [`small_frame`] accepts.
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PONG: u8 = 0xA;

/// A whole small frame at the start of `input`: FIN set, no RSV bit, a data or control
/// opcode (not a continuation), a 7-bit length, payload complete. Returns the header
/// length, the payload length and the opcode.
#[inline]
fn small_frame(input: &[u8]) -> Option<(usize, usize, u8)> {
    let [b0, b1, ..] = *input else {
        return None;
    };
    let opcode = b0 & 0x0f;
    let len = usize::from(b1 & 0x7f);
    if b0 & 0xf0 != 0x80 || !matches!(opcode, TEXT | BINARY | CLOSE..=PONG) || len > 125 {
        return None;
    }
    let hlen = if b1 & 0x80 != 0 { 6 } else { 2 };
    (input.len() >= hlen + len).then_some((hlen, len, opcode))
}

/// Unmasks a short payload in place (a payload starting at offset 0), 8-byte words then
/// single bytes, and returns whether the unmasked bytes are all ASCII.
#[inline]
fn unmask_small(payload: &mut [u8], mask: [u8; 4]) -> bool {
    let key = u32::from_le_bytes(mask);
    let word = u64::from(key) | (u64::from(key) << 32);
    let mut acc = 0u64;
    let mut words = payload.chunks_exact_mut(8);
    for chunk in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let v = u64::from_le_bytes(w) ^ word;
        acc |= v;
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    for (b, k) in words.into_remainder().iter_mut().zip(mask.iter().cycle()) {
        *b ^= k;
        acc |= u64::from(*b);
    }
    acc & 0x8080_8080_8080_8080 == 0
}

/// The longest piece of text unmasked at once, then validated.
const TEXT_PIECE: usize = 64 * 1024;

/// What to do with the next bytes of the input, as [`Framer::next`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Segment {
    /// Header bytes, or bytes past a header that cannot be decoded (the connection fails on
    /// that header): kept as they are, in the receive buffer.
    Raw(usize),
    /// Payload bytes.
    Payload {
        len: usize,
        /// Unmask with this key, starting at payload byte `offset`.
        mask: Option<[u8; 4]>,
        offset: usize,
        /// Part of a fragmented, uncompressed data message: the bytes go to the message
        /// buffer, not the receive buffer.
        to_message: bool,
    },
}

/// The framer's view of a fragmented message in progress.
#[derive(Debug, Clone, Copy)]
struct Fragmented {
    text: bool,
    compressed: bool,
}

#[derive(Debug, Default)]
pub(super) struct Framer {
    /// The start of a header cut by the end of the previous input.
    header: [u8; MAX_HEADER_LEN],
    header_len: usize,
    /// Payload bytes of the current frame still to come.
    remaining: u64,
    mask: Option<[u8; 4]>,
    /// Payload bytes of the current frame seen so far.
    offset: usize,
    /// The current frame's payload is text to validate, and whether it ends its message.
    text: bool,
    fin: bool,
    to_message: bool,
    /// A header could not be decoded: the connection fails there, nothing after matters.
    dead: bool,
    message: Option<Fragmented>,
    utf8: Utf8Validator,
    /// Stream offset of the next byte, and of the current frame's header.
    position: u64,
    frame_start: u64,
    /// Stream offset of the first text frame whose payload is not valid UTF-8.
    invalid_utf8: Option<u64>,
}

impl Framer {
    /// The stream offset of the first frame found to carry invalid UTF-8 (RFC 6455 §8.1),
    /// as the connection counts frames: the sum of header and payload lengths before it.
    pub(super) fn invalid_utf8(&self) -> Option<u64> {
        self.invalid_utf8
    }

    /// Classifies the start of `input` (not empty). After a [`Segment::Payload`], the caller
    /// writes the bytes and calls [`written`](Self::written).
    pub(super) fn next(&mut self, input: &[u8]) -> Segment {
        if self.dead {
            return Segment::Raw(input.len());
        }
        if self.remaining > 0 {
            let mut len =
                usize::try_from(self.remaining).map_or(input.len(), |r| r.min(input.len()));
            if self.text {
                // Validated right after it is unmasked, while still in cache.
                len = len.min(TEXT_PIECE);
            }
            let offset = self.offset;
            self.remaining -= len as u64;
            self.offset += len;
            self.position += len as u64;
            return Segment::Payload {
                len,
                mask: self.mask,
                offset,
                to_message: self.to_message,
            };
        }
        let decoded = if self.header_len == 0 {
            FrameHeader::decode(input).map(|h| h.map(|(h, n)| (h, n, n)))
        } else {
            let have = self.header_len;
            let take = (MAX_HEADER_LEN - have).min(input.len());
            self.header[have..have + take].copy_from_slice(&input[..take]);
            FrameHeader::decode(&self.header[..have + take])
                .map(|h| h.map(|(h, n)| (h, n, n - have)))
        };
        match decoded {
            Ok(Some((header, header_len, used))) => {
                let frame_start = self.position - self.header_len as u64;
                self.header_len = 0;
                self.start(header, frame_start, header_len);
                Segment::Raw(used)
            }
            Ok(None) => {
                // A header cut by the end of the input: at most 13 bytes, kept for the next.
                let take = (MAX_HEADER_LEN - self.header_len).min(input.len());
                if self.header_len == 0 {
                    self.header[..take].copy_from_slice(&input[..take]);
                }
                self.header_len += take;
                self.position += take as u64;
                Segment::Raw(take)
            }
            Err(_) => {
                self.dead = true;
                Segment::Raw(input.len())
            }
        }
    }

    /// Whether the framer is between frames with no fragmented message in progress: the
    /// state in which [`skim`](Self::skim) applies.
    pub(super) fn at_message_boundary(&self) -> bool {
        self.remaining == 0 && self.header_len == 0 && !self.dead && self.message.is_none()
    }

    /// Whether `input` starts with a whole small frame: an unfragmented text, binary or
    /// control frame without RSV bits and with a 7-bit length, complete.
    pub(super) fn starts_small(input: &[u8]) -> bool {
        small_frame(input).is_some()
    }

    /// Frames the run of whole small frames (as [`starts_small`](Self::starts_small)
    /// describes them) at the start of `buf`, in place: unmasks their payloads and validates
    /// text, as [`next`](Self::next) and [`written`](Self::written) would frame by frame,
    /// and returns how many bytes it framed. Call only
    /// [`at_message_boundary`](Self::at_message_boundary); the framer stays there.
    pub(super) fn skim(&mut self, buf: &mut [u8]) -> usize {
        let mut r = 0;
        while let Some((hlen, len, opcode)) = small_frame(&buf[r..]) {
            let (header, rest) = buf[r..].split_at_mut(hlen);
            let payload = &mut rest[..len];
            let ascii = match *header {
                [_, _, k0, k1, k2, k3] => unmask_small(payload, [k0, k1, k2, k3]),
                _ => payload.is_ascii(),
            };
            if opcode == TEXT
                && !ascii
                && self.invalid_utf8.is_none()
                && simdutf8::basic::from_utf8(payload).is_err()
            {
                // RFC 6455 §8.1: the connection fails as soon as it reaches this frame.
                self.invalid_utf8 = Some(self.position);
            }
            r += hlen + len;
            self.position += (hlen + len) as u64;
        }
        r
    }

    /// For the payload of the last [`Segment::Payload`], when it is text still to validate:
    /// how many bytes at its start end a character cut off before it (see
    /// [`extend_unmasked_text`](crate::unmask_copy::extend_unmasked_text)).
    pub(super) fn text_skip(&self) -> Option<usize> {
        (self.text && self.invalid_utf8.is_none()).then(|| self.utf8.pending())
    }

    /// The caller wrote the payload bytes of the last [`Segment::Payload`] (unmasked) as
    /// `bytes`; `checked` says what is known of them already.
    pub(super) fn written(&mut self, bytes: &[u8], checked: Checked) {
        if self.text
            && self.invalid_utf8.is_none()
            && match checked {
                Checked::Ascii if self.utf8.is_clean() => false,
                Checked::Utf8 { skip, tail } => self.utf8.feed_checked(bytes, skip, tail).is_err(),
                _ => self.utf8.feed(bytes).is_err(),
            }
        {
            // RFC 6455 §8.1: the connection fails as soon as it reaches this frame.
            self.invalid_utf8 = Some(self.frame_start);
        }
        if self.remaining == 0 {
            self.end_frame();
        }
    }

    fn start(&mut self, header: FrameHeader, frame_start: u64, header_len: usize) {
        self.frame_start = frame_start;
        self.position = frame_start + header_len as u64;
        self.remaining = header.payload_len;
        self.mask = header.mask;
        self.offset = 0;
        self.fin = header.fin;
        let compressed = header.rsv & RSV1 != 0;
        (self.text, self.to_message) = match header.opcode {
            OpCode::Text | OpCode::Binary => {
                let text = header.opcode == OpCode::Text;
                self.message = (!header.fin).then_some(Fragmented { text, compressed });
                if text {
                    self.utf8.reset();
                }
                // A compressed payload is validated once inflated, by the connection.
                (text && !compressed, !header.fin && !compressed)
            }
            OpCode::Continuation => {
                let m = self.message;
                if header.fin {
                    self.message = None;
                }
                match m {
                    Some(m) if !m.compressed => (m.text, true),
                    _ => (false, false),
                }
            }
            OpCode::Close | OpCode::Ping | OpCode::Pong => (false, false),
        };
        if self.remaining == 0 {
            self.end_frame();
        }
    }

    fn end_frame(&mut self) {
        // A character cut off by the end of the message.
        if self.text && self.fin && self.utf8.finish().is_err() && self.invalid_utf8.is_none() {
            self.invalid_utf8 = Some(self.frame_start);
        }
        self.text = false;
    }
}
