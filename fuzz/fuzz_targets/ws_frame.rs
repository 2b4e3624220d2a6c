#![no_main]
//! Frame header decoder: never panics, never claims more than it was given, every prefix of
//! a complete header is "incomplete", and re-encoding a decoded header decodes to the same
//! header.
use libfuzzer_sys::fuzz_target;
use sockeye_ws::frame::{FrameHeader, MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    match FrameHeader::decode(data) {
        Ok(Some((header, consumed))) => {
            assert!(consumed <= data.len() && consumed <= MAX_HEADER_LEN);
            for cut in 0..consumed {
                assert_eq!(FrameHeader::decode(&data[..cut]), Ok(None));
            }
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut out);
            assert_eq!(n, header.encoded_len());
            assert_eq!(FrameHeader::decode(&out[..n]), Ok(Some((header, n))));
        }
        Ok(None) => assert!(data.len() < MAX_HEADER_LEN),
        Err(e) => {
            // Every error is a documented 1002 fault found in the header alone.
            assert_eq!(e.close_code(), sockeye_ws::CloseCode::PROTOCOL_ERROR);
        }
    }
});
