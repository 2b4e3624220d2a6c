#![no_main]
//! Client handshake response validation over arbitrary server bytes, for a client that
//! offered `chat`, `superchat` and permessage-deflate with the RFC 6455 sample nonce.
//! Oracles beyond "no panic": whole, byte-by-byte and irregularly chunked feeding agree;
//! consumed <= input; an accepted response chose only what was offered and carried the
//! right accept key; every error is a documented variant with a lowercase message. Run
//! with the default caps and with small ones.
use libfuzzer_sys::fuzz_target;
use sockeye_ws::handshake::{
    Accepted, ClientHandshake, ClientRequest, ExtensionOffer, HeadLimits, Progress, ResponseError,
};

type Outcome = Result<Option<(Accepted, usize)>, ResponseError>;

fn handshake(limits: HeadLimits) -> ClientHandshake {
    let request = ClientRequest::new("ws://server.example.com/chat")
        .and_then(|r| r.with_protocol("chat"))
        .and_then(|r| r.with_protocol("superchat"))
        .and_then(|r| {
            r.with_extension(
                ExtensionOffer::new("permessage-deflate").with_param("client_max_window_bits"),
            )
        })
        .expect("valid request");
    ClientHandshake::with_limits(request, *b"the sample nonce", limits)
}

fn feed(limits: HeadLimits, data: &[u8], size: impl Fn(usize) -> usize) -> Outcome {
    let mut h = handshake(limits);
    let mut start = 0;
    let mut i = 0;
    while start < data.len() {
        let end = start.saturating_add(size(i).max(1)).min(data.len());
        match h.handle_data(&data[start..end])? {
            Progress::Partial => {}
            Progress::Complete { value, consumed } => {
                assert!(consumed <= end - start, "consumed more than given");
                return Ok(Some((value, start + consumed)));
            }
        }
        start = end;
        i += 1;
    }
    Ok(None)
}

fn check(limits: HeadLimits, data: &[u8]) {
    let whole = feed(limits, data, |_| usize::MAX);
    assert_eq!(feed(limits, data, |_| 1), whole, "byte-by-byte differs");
    let salt = usize::from(data.first().copied().unwrap_or(0));
    assert_eq!(
        feed(limits, data, |i| 1 + (i * 5 + salt) % 31),
        whole,
        "chunked differs"
    );
    match whole {
        Ok(None) => {}
        Ok(Some((accepted, consumed))) => {
            assert!(consumed <= data.len());
            let head = &data[..consumed];
            assert!(head.ends_with(b"\n"));
            let accept = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
            assert!(head.windows(accept.len()).any(|w| w == accept));
            if let Some(p) = accepted.protocol() {
                assert!(p == "chat" || p == "superchat", "unoffered {p}");
            }
            for e in accepted.extensions() {
                assert_eq!(e.name, "permessage-deflate");
            }
        }
        Err(err) => {
            let msg = err.to_string();
            assert!(!msg.is_empty() && !msg.starts_with(|c: char| c.is_ascii_uppercase()));
            if let ResponseError::UnexpectedStatus { status, .. } = err {
                assert_ne!(status.as_u16(), 101);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(HeadLimits::default(), data);
    let mut small = HeadLimits::default();
    small.max_line_len = 48;
    small.max_headers = 8;
    small.max_head_len = 400;
    check(small, data);
});
