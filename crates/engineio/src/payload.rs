//! Polling payloads: several packets in one HTTP body.
//!
//! | format | framing | binary packets |
//! |---|---|---|
//! | [`PayloadFormat::V4`] | packets joined by `\x1e` | `b` + base64 |
//! | [`PayloadFormat::V3Text`] | `<length>:<packet>`, length in UTF-16 code units | `b<type>` + base64, length covers it all |
//! | [`PayloadFormat::V3Binary`] | per packet: `0` (string) or `1` (binary), the length as one byte per decimal digit, `0xFF`, the packet | raw, after a type byte |
//!
//! [`PayloadDecoder`] borrows its input, decodes one packet at a time from the front and says
//! how many bytes it consumed, so a body can be decoded as it streams in; [`decode_payload`]
//! iterates over a complete body.

use bytes::{Buf, Bytes};

use crate::packet::{DecodeError, Packet, decode_text_at};
use crate::{Data, Protocol};

/// The record separator that joins v4 payloads.
pub const SEPARATOR: u8 = 0x1e;

/// Longest length prefix accepted, in digits (lengths are further capped by the packet limit).
const MAX_LENGTH_DIGITS: usize = 10;

/// How packets are framed in a polling body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadFormat {
    /// Engine.IO v4: packets joined by `\x1e`, binary as `b` + base64.
    V4,
    /// Engine.IO v3 text: `<UTF-16 length>:<packet>`, binary as `b<type>` + base64.
    V3Text,
    /// Engine.IO v3 binary (XHR2): one-byte-per-digit lengths, sent as
    /// `application/octet-stream`.
    V3Binary,
}

impl PayloadFormat {
    /// The protocol revision of this format.
    pub const fn protocol(self) -> Protocol {
        match self {
            Self::V4 => Protocol::V4,
            Self::V3Text | Self::V3Binary => Protocol::V3,
        }
    }

    /// The `Content-Type` of a body in this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::V4 | Self::V3Text => "text/plain; charset=UTF-8",
            Self::V3Binary => "application/octet-stream",
        }
    }
}

/// Result of one [`PayloadDecoder::decode`] step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A packet, and how many bytes it took from the front of the input.
    Packet(Packet, usize),
    /// Bytes consumed that held no packet (a v3 `0:` record).
    Skipped(usize),
    /// The input holds no complete packet: call again with more input.
    Incomplete,
    /// The payload is complete; there are no more packets.
    End,
}

/// Incremental decoder of one polling body. Feed it the not-yet-consumed bytes of the body
/// (`last` once the body is complete) and drop what each step consumed.
#[derive(Debug, Clone)]
pub struct PayloadDecoder {
    format: PayloadFormat,
    max_packet: usize,
    started: bool,
    /// The whole body is known to be UTF-8 (checked once by [`decode_payload`]).
    utf8_checked: bool,
}

impl PayloadDecoder {
    /// A decoder for one body in `format`, refusing any packet longer than `max_packet` bytes
    /// before buffering it.
    pub fn new(format: PayloadFormat, max_packet: usize) -> Self {
        Self {
            format,
            max_packet,
            started: false,
            utf8_checked: false,
        }
    }

    /// Decodes the next packet from the front of `input`.
    ///
    /// `last` says `input` runs to the end of the body. An empty body is an error
    /// ([`DecodeError::Empty`]), as in the reference parser.
    pub fn decode(&mut self, input: &Bytes, last: bool) -> Result<Decoded, DecodeError> {
        match self.format {
            PayloadFormat::V4 => self.decode_v4(input, last),
            PayloadFormat::V3Text => self.decode_v3_text(input, last),
            PayloadFormat::V3Binary => self.decode_v3_binary(input, last),
        }
    }

    fn end_or_more(&self, last: bool) -> Result<Decoded, DecodeError> {
        match (last, self.started) {
            (false, _) => Ok(Decoded::Incomplete),
            (true, true) => Ok(Decoded::End),
            (true, false) => Err(DecodeError::Empty),
        }
    }

    fn too_large(&self) -> DecodeError {
        DecodeError::TooLarge {
            limit: self.max_packet,
        }
    }

    fn decode_v4(&mut self, input: &Bytes, last: bool) -> Result<Decoded, DecodeError> {
        let start = if self.started {
            match input.first() {
                None => return self.end_or_more(last),
                Some(&SEPARATOR) => 1,
                // Only reachable when a caller drops fewer bytes than a step consumed.
                Some(_) => return Err(DecodeError::InvalidLength),
            }
        } else if input.is_empty() {
            return self.end_or_more(last);
        } else {
            0
        };
        let window = &input[start..];
        let scan = &window[..window.len().min(self.max_packet.saturating_add(1))];
        let end = match memchr::memchr(SEPARATOR, scan) {
            Some(i) => i,
            None if scan.len() > self.max_packet => return Err(self.too_large()),
            None if last => window.len(),
            None => return Ok(Decoded::Incomplete),
        };
        let packet = decode_text_at(Protocol::V4, input, start, start + end, !self.utf8_checked)?;
        self.started = true;
        Ok(Decoded::Packet(packet, start + end))
    }

    fn decode_v3_text(&mut self, input: &Bytes, last: bool) -> Result<Decoded, DecodeError> {
        if input.is_empty() {
            return self.end_or_more(last);
        }
        let Some((units, body_start)) =
            self.length_prefix(input, b':', |b| b.is_ascii_digit().then(|| b - b'0'))?
        else {
            return if last {
                Err(DecodeError::Truncated)
            } else {
                Ok(Decoded::Incomplete)
            };
        };
        // Walk UTF-16 code units over UTF-8 bytes: one per scalar, two for 4-byte sequences.
        let body = &input[body_start..];
        let (mut pos, mut counted) = (0usize, 0usize);
        while counted < units {
            let Some(&lead) = body.get(pos) else {
                return if last {
                    Err(DecodeError::InvalidLength)
                } else {
                    Ok(Decoded::Incomplete)
                };
            };
            let (width, u) = match lead {
                0x00..=0x7f => (1, 1),
                0xc0..=0xdf => (2, 1),
                0xe0..=0xef => (3, 1),
                0xf0..=0xff => (4, 2),
                // A continuation byte cannot start a scalar; UTF-8 validation rejects it.
                0x80..=0xbf => return Err(DecodeError::InvalidUtf8),
            };
            pos += width;
            counted += u;
            if pos > self.max_packet {
                return Err(self.too_large());
            }
        }
        if counted != units {
            // The length ends inside a surrogate pair.
            return Err(DecodeError::InvalidLength);
        }
        if pos > body.len() {
            return if last {
                Err(DecodeError::InvalidLength)
            } else {
                Ok(Decoded::Incomplete)
            };
        }
        self.started = true;
        let consumed = body_start + pos;
        if units == 0 {
            return Ok(Decoded::Skipped(consumed));
        }
        let packet = decode_text_at(
            Protocol::V3,
            input,
            body_start,
            consumed,
            !self.utf8_checked,
        )?;
        Ok(Decoded::Packet(packet, consumed))
    }

    fn decode_v3_binary(&mut self, input: &Bytes, last: bool) -> Result<Decoded, DecodeError> {
        let Some(&marker) = input.first() else {
            return self.end_or_more(last);
        };
        if marker > 1 {
            return Err(DecodeError::InvalidMarker(marker));
        }
        let Some((len, body_start)) =
            self.length_prefix(&input[1..], 0xff, |b| (b <= 9).then_some(b))?
        else {
            return if last {
                Err(DecodeError::Truncated)
            } else {
                Ok(Decoded::Incomplete)
            };
        };
        let body_start = body_start + 1;
        if len == 0 {
            return Err(DecodeError::Empty);
        }
        let end = body_start + len;
        if input.len() < end {
            return if last {
                Err(DecodeError::Truncated)
            } else {
                Ok(Decoded::Incomplete)
            };
        }
        let packet = if marker == 0 {
            decode_text_at(Protocol::V3, input, body_start, end, true)?
        } else {
            Packet::decode_binary(Protocol::V3, input.slice(body_start..end))?
        };
        self.started = true;
        Ok(Decoded::Packet(packet, end))
    }

    /// Reads a decimal length terminated by `terminator`, each byte mapped to a digit by
    /// `digit`. `None` when the terminator has not arrived yet.
    fn length_prefix(
        &self,
        input: &[u8],
        terminator: u8,
        digit: impl Fn(u8) -> Option<u8>,
    ) -> Result<Option<(usize, usize)>, DecodeError> {
        let mut value: usize = 0;
        for (i, &b) in input.iter().enumerate() {
            if b == terminator {
                if i == 0 {
                    return Err(DecodeError::InvalidLength);
                }
                return Ok(Some((value, i + 1)));
            }
            if i >= MAX_LENGTH_DIGITS {
                return Err(DecodeError::InvalidLength);
            }
            let d = digit(b).ok_or(DecodeError::InvalidLength)?;
            value = value * 10 + usize::from(d);
            if value > self.max_packet {
                return Err(self.too_large());
            }
        }
        Ok(None)
    }
}

/// Iterator over the packets of a complete body; see [`decode_payload`].
#[derive(Debug, Clone)]
pub struct Packets {
    decoder: PayloadDecoder,
    rest: Bytes,
    failed: bool,
}

impl Iterator for Packets {
    type Item = Result<Packet, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            match self.decoder.decode(&self.rest, true) {
                Ok(Decoded::Packet(p, n)) => {
                    self.rest.advance(n);
                    return Some(Ok(p));
                }
                Ok(Decoded::Skipped(n)) => {
                    self.rest.advance(n);
                }
                Ok(Decoded::End | Decoded::Incomplete) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// The packets of a complete body, in order; after the first error the iterator ends. Packets
/// before a malformed one are returned first (nothing already received is lost).
pub fn decode_payload(format: PayloadFormat, body: Bytes, max_packet: usize) -> Packets {
    let mut decoder = PayloadDecoder::new(format, max_packet);
    // Text bodies are validated once as a whole (packet boundaries are ASCII, so a valid
    // body splits into valid packets); when that fails each packet is checked on its own,
    // so the packets before the bad one are still returned.
    decoder.utf8_checked =
        format != PayloadFormat::V3Binary && simdutf8::basic::from_utf8(&body).is_ok();
    Packets {
        decoder,
        rest: body,
        failed: false,
    }
}

/// The format a v3 server answers a poll in: binary (XHR2) when a packet is binary and the
/// client did not ask for base64 (`b64=1`), else text.
pub fn v3_format_for<'a>(
    packets: impl IntoIterator<Item = &'a Packet>,
    b64: bool,
) -> PayloadFormat {
    if !b64 && packets.into_iter().any(|p| p.data.is_binary()) {
        PayloadFormat::V3Binary
    } else {
        PayloadFormat::V3Text
    }
}

/// Appends `packets` encoded as one body in `format`. An empty list is `""` in v4 and `0:` in
/// v3 text, as the reference encoder writes it.
pub fn encode_payload<'a>(
    format: PayloadFormat,
    packets: impl IntoIterator<Item = &'a Packet>,
    out: &mut Vec<u8>,
) {
    let mut any = false;
    for packet in packets {
        match format {
            PayloadFormat::V4 => {
                if any {
                    out.push(SEPARATOR);
                }
                packet.encode_text(Protocol::V4, out);
            }
            PayloadFormat::V3Text => {
                let units = match &packet.data {
                    Data::Text(s) => 1 + utf16_len(s.as_bytes()),
                    Data::Binary(_) => packet.text_len(Protocol::V3),
                };
                push_decimal(out, units, false);
                out.push(b':');
                packet.encode_text(Protocol::V3, out);
            }
            PayloadFormat::V3Binary => {
                let (marker, len) = match &packet.data {
                    Data::Text(s) => (0, 1 + s.len()),
                    Data::Binary(b) => (1, 1 + b.len()),
                };
                out.push(marker);
                push_decimal(out, len, true);
                out.push(0xff);
                match &packet.data {
                    Data::Text(s) => {
                        out.push(packet.kind.as_ascii());
                        out.extend_from_slice(s.as_bytes());
                    }
                    Data::Binary(b) => {
                        out.push(packet.kind as u8);
                        out.extend_from_slice(b);
                    }
                }
            }
        }
        any = true;
    }
    if !any && format == PayloadFormat::V3Text {
        out.extend_from_slice(b"0:");
    }
}

/// Length of UTF-8 text in UTF-16 code units (JavaScript's `String.length`).
pub fn utf16_len(utf8: &[u8]) -> usize {
    utf8.iter()
        .map(|&b| usize::from(b & 0xc0 != 0x80) + usize::from(b >= 0xf0))
        .sum()
}

/// Appends `n` in decimal: ASCII digits, or (for v3 binary lengths) raw digit values 0–9.
fn push_decimal(out: &mut Vec<u8>, mut n: usize, raw: bool) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = (n % 10) as u8 + if raw { 0 } else { b'0' };
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}
