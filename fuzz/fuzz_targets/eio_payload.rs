//! Shared oracle for the Engine.IO payload targets (included by eio_payload_v4 and
//! eio_payload_v3).
//!
//! Input: one control byte (bit 0 picks the format where there is a choice, bits 1-2 the
//! packet limit), one byte placing the cut between the two chunks (as a fraction of the
//! body), then the body.

use bytes::{Bytes, BytesMut};
use sockeye_engineio::payload::{Decoded, PayloadDecoder};
use sockeye_engineio::{
    DecodeError, Packet, PacketType, PayloadFormat, decode_payload, encode_payload,
};

/// The packets decoded from a body, and the error that ended it, if any.
type Outcome = (Vec<Packet>, Option<DecodeError>);

/// Packet limits the control byte chooses from: a realistic one, and small ones so that
/// short inputs reach the limit.
const LIMITS: [usize; 4] = [1_000_000, 100, 10, 2];

/// The complete body through `decode_payload`.
fn whole(format: PayloadFormat, body: Bytes, max: usize) -> Outcome {
    let mut packets = Vec::new();
    for item in decode_payload(format, body, max) {
        match item {
            Ok(p) => packets.push(p),
            Err(e) => return (packets, Some(e)),
        }
    }
    (packets, None)
}

/// The body fed as two chunks (`body[..split]`, then the rest with `last`), through
/// `PayloadDecoder`, dropping what each step consumed. Checks the step contract on the way.
fn chunked(format: PayloadFormat, body: &[u8], split: usize, max: usize) -> Outcome {
    let mut decoder = PayloadDecoder::new(format, max);
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    for (chunk, last) in [(&body[..split], false), (&body[split..], true)] {
        buf.extend_from_slice(chunk);
        loop {
            let input = Bytes::copy_from_slice(&buf);
            match decoder.decode(&input, last) {
                Ok(Decoded::Packet(p, n)) => {
                    assert!(
                        n >= 1 && n <= input.len(),
                        "packet consumed {n} of {}",
                        input.len()
                    );
                    let _ = buf.split_to(n);
                    packets.push(p);
                }
                Ok(Decoded::Skipped(n)) => {
                    assert!(
                        n >= 1 && n <= input.len(),
                        "skip consumed {n} of {}",
                        input.len()
                    );
                    let _ = buf.split_to(n);
                }
                Ok(Decoded::Incomplete) => {
                    assert!(!last, "Incomplete although the body is complete");
                    break;
                }
                Ok(Decoded::End) => {
                    assert!(last, "End before the body is complete");
                    assert!(input.is_empty(), "End with {} bytes left", input.len());
                    return (packets, None);
                }
                Err(e) => return (packets, Some(e)),
            }
        }
    }
    unreachable!("the last chunk ends in End or an error")
}

/// The oracle: whole == chunked; decoded packets respect the limit and carry binary only on
/// messages; a successfully decoded body re-encodes to one that decodes to the same packets.
pub fn check(formats: &[PayloadFormat], data: &[u8]) {
    let [control, cut, body @ ..] = data else {
        return;
    };
    let format = formats[usize::from(control & 1) % formats.len()];
    let max = LIMITS[usize::from((control >> 1) & 3)];
    let split = body.len() * usize::from(*cut) / 255;

    let outcome = whole(format, Bytes::copy_from_slice(body), max);
    let split_outcome = chunked(format, body, split, max);
    assert_eq!(
        outcome, split_outcome,
        "{format:?}: cut at {split} differs from whole"
    );

    let (packets, error) = outcome;
    for p in &packets {
        assert!(
            p.data.len() <= max,
            "{format:?}: {} data bytes over the limit {max}",
            p.data.len()
        );
        if p.data.is_binary() {
            assert_eq!(
                p.kind,
                PacketType::Message,
                "binary data on a {:?} packet",
                p.kind
            );
        }
    }
    match error {
        Some(DecodeError::TooLarge { limit }) => assert_eq!(limit, max),
        Some(_) => {}
        None => {
            let mut encoded = Vec::new();
            encode_payload(format, &packets, &mut encoded);
            // No limit here: the canonical form may be longer (base64 padding).
            let again = whole(format, Bytes::from(encoded), usize::MAX);
            assert_eq!(
                again,
                (packets, None),
                "{format:?}: re-encoded payload decodes differently"
            );
        }
    }
}
