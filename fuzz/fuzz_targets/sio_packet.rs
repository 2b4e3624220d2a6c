#![no_main]
//! Socket.IO packet text (`<type>[<n>-][<nsp>,][<id>][<JSON>]`) through
//! `Decoder::decode_text`: never panics, gives the same answer twice, keeps the error
//! contract, and every packet it completes passes the shared packet oracle (fields agree with
//! the type, `args` works, placeholders are all filled, re-encoding decodes to the same
//! packet).
//!
//! Input: the text (bytes that are not UTF-8 are replaced, so mutations stay useful). A
//! binary packet gets its announced attachments fed one by one until it completes.
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sockeye_engineio::Str;
use sockeye_socketio::{DecodeError, Decoder, DecoderConfig, Packet};

#[path = "sio_check.rs"]
mod sio_check;

/// Attachment `i`: distinct lengths and contents.
fn attachment(i: usize) -> Bytes {
    Bytes::from(vec![i as u8; i % 5])
}

/// Decodes `text`, completing a binary packet with its announced attachments.
fn decode(config: DecoderConfig, text: &Str) -> Result<Packet, DecodeError> {
    let mut decoder = Decoder::new(config);
    let first = decoder.decode_text(text.clone());
    if first.is_err() {
        assert!(
            !decoder.is_reconstructing(),
            "reconstructing after {first:?}"
        );
    }
    if let Some(p) = first? {
        assert!(!decoder.is_reconstructing());
        assert!(
            p.attachments.is_empty(),
            "a text message completed a packet with attachments"
        );
        assert!(
            sio_check::announced(text.as_bytes()).unwrap_or(0) == 0,
            "a packet announcing attachments completed without them"
        );
        return Ok(p);
    }
    let n = sio_check::announced(text.as_bytes())
        .unwrap_or_else(|| panic!("{text:?} awaits attachments it does not announce"));
    assert!(
        (1..=config.max_attachments).contains(&n),
        "{text:?} awaits {n} attachments, limit {}",
        config.max_attachments
    );
    for i in 0..n {
        assert!(
            decoder.is_reconstructing(),
            "stopped waiting after {i} of {n}"
        );
        match decoder.decode_binary(attachment(i)) {
            Ok(None) => assert!(i + 1 < n, "attachment {i} of {n} did not complete"),
            Ok(Some(p)) => {
                assert_eq!(i + 1, n, "completed after {} of {n} attachments", i + 1);
                assert!(!decoder.is_reconstructing());
                assert_eq!(p.attachments.len(), n);
                return Ok(p);
            }
            Err(e) => panic!("attachment {i} of {n} refused: {e}"),
        }
    }
    unreachable!("the last attachment completes the packet")
}

fuzz_target!(|data: &[u8]| {
    let text = Str::from(String::from_utf8_lossy(data).into_owned());
    let config = DecoderConfig::default();
    let result = decode(config, &text);
    assert_eq!(
        result,
        decode(config, &text),
        "decoding is not deterministic"
    );
    match result {
        Ok(packet) => sio_check::check_packet(&packet, config),
        Err(DecodeError::Empty) => assert!(data.is_empty()),
        Err(DecodeError::TooManyAttachments { limit }) => assert_eq!(limit, 10),
        Err(DecodeError::UnexpectedBinary | DecodeError::UnexpectedText) => {
            panic!("a fresh decoder reported {result:?}")
        }
        Err(DecodeError::AttachmentsTooLarge { .. }) => panic!("{result:?} from a small packet"),
        Err(_) => {}
    }
    // A binary message alone is always refused.
    let mut decoder = Decoder::new(config);
    assert_eq!(
        decoder.decode_binary(Bytes::from_static(b"x")),
        Err(DecodeError::UnexpectedBinary)
    );
});
