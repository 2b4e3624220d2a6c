//! The per-message compressor and decompressor (RFC 7692 §7.2): raw deflate with a chosen
//! window size. Decompression goes through `flate2` with its zlib-rs backend; compression
//! uses zlib-rs' own safe API directly, because flate2 cannot set zlib's memory level,
//! which sizes most of the compressor's memory.

use flate2::{Decompress, FlushDecompress, Status};
use zlib_rs::{Deflate, DeflateConfig, DeflateFlush};

/// The four bytes a sync flush ends with; removed after compressing a message and put back
/// before decompressing one (RFC 7692 §7.2.1, §7.2.2).
const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// How much output space is added per decompression step.
const INFLATE_STEP: usize = 16 * 1024;

/// zlib cannot use an 8-bit window for raw deflate; a 9-bit window is what it uses instead
/// when asked for 8 (the "8 → 9 quirk"). Inflating with a larger window than the sender
/// used is always correct.
fn zlib_window(bits: u8) -> u8 {
    bits.clamp(9, 15)
}

/// The most output space offered to zlib per compression step.
const DEFLATE_STEP: usize = 64 * 1024;

/// Compresses outgoing messages.
pub(crate) struct Deflater {
    compress: Deflate,
    no_context_takeover: bool,
}

impl Deflater {
    /// A compressor with a `window_bits` window (an agreed 8 compresses with 9: zlib's
    /// matches never reach back further than the window less 262 bytes, so a 9-bit window
    /// stays within 256 bytes; see the negotiation module), at `level` (0–9) and zlib
    /// memory level `mem_level` (1–9).
    pub(crate) fn new(
        window_bits: u8,
        level: u32,
        mem_level: u8,
        no_context_takeover: bool,
    ) -> Self {
        let config = DeflateConfig {
            level: level.min(9) as i32,
            // Negative: raw deflate, no zlib header (RFC 7692 §7.2.1).
            window_bits: -i32::from(zlib_window(window_bits)),
            mem_level: i32::from(mem_level.clamp(1, 9)),
            ..DeflateConfig::default()
        };
        Self {
            compress: Deflate::new_with_config(config),
            no_context_takeover,
        }
    }

    /// Compresses `input`, one fragment of a message, appending to `out`. With `fin` the
    /// message ends: the sync-flush trailer is removed and, without context takeover, the
    /// compressor starts afresh for the next message.
    pub(crate) fn compress(&mut self, input: &[u8], fin: bool, out: &mut Vec<u8>) {
        let start = out.len();
        let mut consumed = 0usize;
        loop {
            // Offer zlib a zeroed step of output space (no `unsafe` to skip the zeroing).
            let len = out.len();
            let step = (input.len() - consumed + 64).min(DEFLATE_STEP);
            out.resize(len + step, 0);
            let before_in = self.compress.total_in();
            let before_out = self.compress.total_out();
            // Sync flush so the fragment ends on a byte boundary (RFC 7692 §7.2.1).
            // Invariant: a raw deflate stream only errors when misused, never on data.
            let _status = self
                .compress
                .compress(&input[consumed..], &mut out[len..], DeflateFlush::SyncFlush)
                .expect("deflate accepts any input");
            consumed += (self.compress.total_in() - before_in) as usize;
            let written = (self.compress.total_out() - before_out) as usize;
            out.truncate(len + written);
            // The flush is complete once zlib leaves output space unused.
            if consumed == input.len() && written < step {
                break;
            }
        }
        if fin {
            if out.len() >= start + 4 && out[out.len() - 4..] == TRAILER {
                out.truncate(out.len() - 4);
            } else if out.len() == start {
                // zlib emits nothing for a flush right after a flush (an empty message, or
                // an empty last fragment, with context takeover). An empty payload would
                // make the receiver read its appended trailer as a block header, so send
                // the empty stored block's first byte, as RFC 7692 §7.2.3.6 shows.
                out.push(0x00);
            }
            if self.no_context_takeover {
                self.compress.reset();
            }
        }
    }
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .finish_non_exhaustive()
    }
}

/// The decompressed message would exceed its budget, or the compressed data is corrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// More output than the budget allows (a message too big, or a compression bomb).
    TooBig,
    /// Not valid deflate data.
    Corrupt,
}

/// Decompresses incoming messages.
///
/// zlib-rs inflates with a 32 KiB window whatever window bits it is given, so with context
/// takeover and an agreed window under 15 bits the decompressor is not kept between
/// messages: the last 2^bits bytes of output are, and the next message's decompressor starts
/// from them as its dictionary. An idle connection then holds the agreed window and no more,
/// and a message that reaches back past it fails ("invalid distance too far back"), as zlib's
/// own inflate with that window does.
pub(crate) struct Inflater {
    decompress: Option<Decompress>,
    window_bits: u8,
    no_context_takeover: bool,
    /// Whether the current message carried any compressed byte.
    fed: bool,
    /// With context takeover and a window under 15 bits: the window's worth of output that
    /// ends the previous messages, the dictionary of the next one.
    history: Vec<u8>,
    /// Where, in the current message's output, the current deflate stream began (after a
    /// final block, RFC 7692 §7.2.2, the sender starts a new stream with an empty window).
    stream_start: usize,
}

impl Inflater {
    /// A decompressor for a peer that compresses with a `window_bits` window.
    pub(crate) fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        Self {
            decompress: None,
            window_bits: zlib_window(window_bits),
            no_context_takeover,
            fed: false,
            history: Vec::new(),
            stream_start: 0,
        }
    }

    /// Whether the window is kept as bytes between messages instead of in the decompressor.
    fn keeps_history(&self) -> bool {
        !self.no_context_takeover && self.window_bits < 15
    }

    /// The decompressor, created (and given the kept window) when a message starts.
    fn decompressor(&mut self) -> Result<&mut Decompress, InflateError> {
        if self.decompress.is_none() {
            let mut d = Decompress::new_with_window_bits(false, self.window_bits);
            if !self.history.is_empty() {
                d.set_dictionary(&self.history)
                    .map_err(|_| InflateError::Corrupt)?;
            }
            self.decompress = Some(d);
        }
        // Invariant: set just above when it was missing.
        self.decompress.as_mut().ok_or(InflateError::Corrupt)
    }

    /// Decompresses `input`, a piece of a compressed message, appending to `out`, which may
    /// grow to at most `limit` bytes in all. Output is produced in steps, so a bomb is
    /// stopped after at most one step past the budget, not after inflating it all.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        self.fed |= !input.is_empty();
        let mut consumed = 0usize;
        loop {
            // Room for the budget plus one byte, so "exactly at the limit" is told apart from
            // "over it".
            let room = limit.saturating_add(1).saturating_sub(out.len());
            if room == 0 {
                return Err(InflateError::TooBig);
            }
            if out.capacity() == out.len() {
                grow(out, room);
            }
            let d = self.decompressor()?;
            let before_in = d.total_in();
            let before_out = out.len();
            let status = d
                .decompress_vec(&input[consumed..], out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Corrupt)?;
            consumed += (d.total_in() - before_in) as usize;
            let produced = out.len() - before_out;
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            match status {
                // RFC 7692 §7.2.2: a final block ends the stream; more data is an error
                // unless the context is reset. Accept it and start a new stream.
                Status::StreamEnd => {
                    self.reset();
                    self.stream_start = out.len();
                    if consumed == input.len() {
                        return Ok(());
                    }
                }
                Status::Ok | Status::BufError => {
                    let space_left = out.capacity() > out.len();
                    if consumed == input.len() && space_left {
                        return Ok(());
                    }
                    if produced == 0 && consumed == input.len() {
                        return Ok(());
                    }
                    if produced == 0 && !space_left {
                        grow(out, room);
                    }
                }
            }
        }
    }

    /// Ends a message: decompresses the sync-flush trailer the sender removed, and resets
    /// the context if the sender does not keep it.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        // A message with no compressed byte at all is empty. Some senders (a sync flush
        // right after a sync flush yields nothing) send it so; appending the trailer to
        // nothing would be read as a stored-block header and derail the stream.
        if std::mem::take(&mut self.fed) {
            self.inflate(&TRAILER, out, limit)?;
            self.fed = false;
        }
        if self.no_context_takeover {
            self.reset();
        } else if self.keeps_history() {
            // Keep the window's worth of output that ends the stream, drop the rest.
            let window = 1usize << self.window_bits;
            self.history
                .reserve_exact(window.saturating_sub(self.history.len()));
            let produced = &out[self.stream_start.min(out.len())..];
            if produced.len() >= window {
                self.history.clear();
                self.history
                    .extend_from_slice(&produced[produced.len() - window..]);
            } else {
                let keep = window - produced.len();
                let drop = self.history.len().saturating_sub(keep);
                self.history.drain(..drop);
                self.history.extend_from_slice(produced);
            }
            self.decompress = None;
        }
        self.stream_start = 0;
        Ok(())
    }

    /// Starts a new deflate stream: empty window.
    fn reset(&mut self) {
        self.decompress = None;
        self.history.clear();
    }
}

/// Grows `out` geometrically (amortised linear copying) but never past `room` more bytes,
/// so memory follows the budget, not what a bomb would inflate to.
fn grow(out: &mut Vec<u8>, room: usize) {
    out.reserve_exact(room.min(out.len().max(INFLATE_STEP)));
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("window_bits", &self.window_bits)
            .field("no_context_takeover", &self.no_context_takeover)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(d: &mut Deflater, i: &mut Inflater, msg: &[u8]) -> Vec<u8> {
        let mut wire = Vec::new();
        d.compress(msg, true, &mut wire);
        let mut out = Vec::new();
        i.inflate(&wire, &mut out, usize::MAX / 2).unwrap();
        i.finish(&mut out, usize::MAX / 2).unwrap();
        out
    }

    #[test]
    fn rfc7692_7_2_3_1_hello() {
        // "A message compressed using 1 compressed DEFLATE block": "Hello".
        let mut i = Inflater::new(15, false);
        let mut out = Vec::new();
        i.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        i.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        // §7.2.3.2: with context takeover, the second "Hello" refers back to the first.
        let mut out = Vec::new();
        i.inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut out, 100)
            .unwrap();
        i.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn rfc7692_7_2_3_6_empty_message() {
        let mut d = Deflater::new(15, 6, 8, false);
        let mut wire = Vec::new();
        d.compress(b"", true, &mut wire);
        assert_eq!(wire, [0x00]);
        let mut i = Inflater::new(15, false);
        let mut out = Vec::new();
        i.inflate(&wire, &mut out, 0).unwrap();
        i.finish(&mut out, 0).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn empty_messages_with_context_takeover_keep_the_stream_in_step() {
        // Regression (proptest): an empty message after another compressed to nothing,
        // and the receiver's trailer then derailed the next message.
        let mut d = Deflater::new(12, 6, 8, false);
        let mut i = Inflater::new(12, false);
        assert_eq!(round_trip(&mut d, &mut i, b"first"), b"first");
        let mut wire = Vec::new();
        d.compress(b"", true, &mut wire);
        assert_eq!(wire, [0x00]);
        let mut out = Vec::new();
        i.inflate(&wire, &mut out, 10).unwrap();
        i.finish(&mut out, 10).unwrap();
        assert!(out.is_empty());
        assert_eq!(round_trip(&mut d, &mut i, b"third"), b"third");
        // A peer that sends an empty payload for an empty message is understood too.
        let mut out = Vec::new();
        i.finish(&mut out, 10).unwrap();
        assert!(out.is_empty());
        assert_eq!(round_trip(&mut d, &mut i, b"fourth"), b"fourth");
    }

    #[test]
    fn context_takeover_shrinks_repeated_messages() {
        let msg = b"{\"event\":\"message\",\"room\":\"lobby\",\"text\":\"hello there\"}";
        let mut d = Deflater::new(15, 6, 8, false);
        let mut first = Vec::new();
        d.compress(msg, true, &mut first);
        let mut second = Vec::new();
        d.compress(msg, true, &mut second);
        assert!(second.len() < first.len() / 2);
        let mut d = Deflater::new(15, 6, 8, true);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        d.compress(msg, true, &mut a);
        d.compress(msg, true, &mut b);
        assert_eq!(a, b, "no context takeover: each message stands alone");
    }

    #[test]
    fn a_bomb_stops_at_the_budget() {
        let mut d = Deflater::new(15, 9, 8, false);
        let mut wire = Vec::new();
        d.compress(&vec![0u8; 10 << 20], true, &mut wire);
        assert!(wire.len() < 20_000);
        let mut i = Inflater::new(15, false);
        let mut out = Vec::new();
        assert_eq!(
            i.inflate(&wire, &mut out, 1 << 20),
            Err(InflateError::TooBig)
        );
        assert!(out.capacity() <= (1 << 20) + 1);
    }

    #[test]
    fn exactly_the_budget_is_fine() {
        let mut d = Deflater::new(15, 6, 8, false);
        let mut wire = Vec::new();
        d.compress(&[7u8; 5000], true, &mut wire);
        let mut i = Inflater::new(15, false);
        let mut out = Vec::new();
        i.inflate(&wire, &mut out, 5000).unwrap();
        i.finish(&mut out, 5000).unwrap();
        assert_eq!(out.len(), 5000);
    }

    #[test]
    fn garbage_is_corrupt() {
        let mut i = Inflater::new(15, false);
        let mut out = Vec::new();
        assert_eq!(
            i.inflate(&[0xff, 0xff, 0xff, 0xff], &mut out, 1000),
            Err(InflateError::Corrupt)
        );
    }

    #[test]
    fn between_messages_only_the_agreed_window_is_kept() {
        let mut d = Deflater::new(12, 6, 8, false);
        let mut i = Inflater::new(12, false);
        let text: Vec<u8> = (0..10_000u32)
            .map(|n| b"abcdefghij"[(n * n % 10) as usize])
            .collect();
        for len in [100, 3000, 10_000, 7] {
            assert_eq!(round_trip(&mut d, &mut i, &text[..len]), &text[..len]);
            assert!(
                i.decompress.is_none(),
                "decompressor freed between messages"
            );
            assert!(i.history.capacity() <= 4096, "{}", i.history.capacity());
        }
        // The kept bytes are the last 4096 of everything received: 3100 + 10 000 + 7.
        let mut all = text[..100].to_vec();
        all.extend_from_slice(&text[..3000]);
        all.extend_from_slice(&text);
        all.extend_from_slice(&text[..7]);
        assert_eq!(i.history, all[all.len() - 4096..]);
        // A 15-bit window stays in the decompressor, which is kept.
        let mut d = Deflater::new(15, 6, 8, false);
        let mut i = Inflater::new(15, false);
        round_trip(&mut d, &mut i, b"hello");
        assert!(i.decompress.is_some() && i.history.is_empty());
    }

    #[test]
    fn a_final_block_starts_a_new_stream() {
        // A sender may end its stream with a final block (RFC 7692 §7.2.2); what follows
        // is a new stream, which cannot refer to what came before.
        let msg = b"final block, then a fresh stream";
        let mut c =
            flate2::Compress::new_with_window_bits(flate2::Compression::default(), false, 10);
        let mut wire = Vec::with_capacity(256);
        c.compress_vec(msg, &mut wire, flate2::FlushCompress::Finish)
            .unwrap();
        let mut i = Inflater::new(10, false);
        for _ in 0..3 {
            let mut out = Vec::new();
            i.inflate(&wire, &mut out, 1000).unwrap();
            i.finish(&mut out, 1000).unwrap();
            assert_eq!(out, msg);
            assert!(i.history.is_empty(), "nothing of an ended stream is kept");
        }
    }

    proptest! {
        #[test]
        fn round_trips_with_any_window_and_split(
            msgs in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..3000), 1..6),
            bits in 8u8..=15,
            takeover in any::<bool>(),
            cut in 0usize..3000,
        ) {
            let mut d = Deflater::new(bits, 6, 8, !takeover);
            let mut i = Inflater::new(bits, !takeover);
            for m in &msgs {
                prop_assert_eq!(&round_trip(&mut d, &mut i, m), m);
            }
            // Fragments compressed separately, inflated in arbitrary pieces.
            let m = &msgs[0];
            let cut = cut.min(m.len());
            let mut wire = Vec::new();
            d.compress(&m[..cut], false, &mut wire);
            d.compress(&m[cut..], true, &mut wire);
            let mut out = Vec::new();
            let split = wire.len() / 2;
            i.inflate(&wire[..split], &mut out, usize::MAX / 2).unwrap();
            i.inflate(&wire[split..], &mut out, usize::MAX / 2).unwrap();
            i.finish(&mut out, usize::MAX / 2).unwrap();
            prop_assert_eq!(&out, m);
        }
    }
}
