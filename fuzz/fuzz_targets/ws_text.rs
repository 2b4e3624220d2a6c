#![no_main]
//! Text validation against the standard library: a text message, masked, split into
//! fragments and fed in pieces, is delivered exactly when it is valid UTF-8 and otherwise
//! fails the connection with 1007 (RFC 6455 §8.1), whichever of the CPU's fused
//! unmask-and-validate roads runs.
//!
//! Input: byte 0 chooses fragment and feed boundaries and the way input is fed, bytes 1-4
//! are the mask, the rest is the message.
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use sockeye_ws::frame::{FrameHeader, OpCode};
use sockeye_ws::{CloseCode, Config, Connection, Event, Message, ProtocolError, apply_mask};

fuzz_target!(|data: &[u8]| {
    let &[shape, m0, m1, m2, m3, ref text @ ..] = data else {
        return;
    };
    let mask = [m0, m1, m2, m3];
    // Fragment boundaries: none, or up to three at positions drawn from the shape byte.
    let len = text.len();
    let mut cuts: Vec<usize> = match shape & 3 {
        0 => Vec::new(),
        n => (0..n)
            .map(|i| (usize::from(shape) * 37 * (usize::from(i) + 1)) % (len + 1))
            // A cut at the end would end the message early (FIN) before the last fragment.
            .filter(|&c| c < len)
            .collect(),
    };
    cuts.sort_unstable();
    let mut wire = Vec::new();
    let mut start = 0;
    for (i, end) in cuts.iter().copied().chain(std::iter::once(len)).enumerate() {
        let header = FrameHeader {
            fin: end == len,
            rsv: 0,
            opcode: if i == 0 { OpCode::Text } else { OpCode::Continuation },
            mask: Some(mask),
            payload_len: (end - start) as u64,
        };
        header.encode_to(&mut wire);
        let at = wire.len();
        wire.extend_from_slice(&text[start..end]);
        apply_mask(&mut wire[at..], mask, 0);
        start = end;
    }
    let now = Instant::now();
    let mut conn = Connection::server(Config::default(), now);
    // Fed whole, or in pieces of a size the shape byte picks; through `handle_data` (copied
    // and unmasked in one pass) or `read_buf` + `handle_read` (unmasked in place).
    let piece = match (shape >> 2) & 0x1f {
        0 => wire.len().max(1),
        n => usize::from(n) * 3,
    };
    for chunk in wire.chunks(piece) {
        if shape & 0x80 == 0 {
            conn.handle_data(now, chunk);
        } else {
            conn.read_buf().extend_from_slice(chunk);
            conn.handle_read(now);
        }
    }
    let mut got_text = None;
    let mut failed = None;
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Message(Message::Text(t)) => got_text = Some(t),
            Event::Failed(e) => failed = Some(e),
            _ => {}
        }
    }
    match std::str::from_utf8(text) {
        Ok(s) => {
            assert_eq!(failed, None);
            assert_eq!(got_text.as_deref(), Some(s));
        }
        Err(_) => {
            assert_eq!(got_text, None);
            let e = failed.expect("invalid text fails the connection");
            assert_eq!(e, ProtocolError::InvalidUtf8);
            assert_eq!(e.close_code(), CloseCode::INVALID_PAYLOAD);
        }
    }
});
