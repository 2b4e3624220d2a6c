#![no_main]
//! Server handshake request parser over arbitrary client bytes. Oracles beyond "no panic":
//! whole, byte-by-byte and irregularly chunked feeding agree (request and consumed count);
//! consumed <= input; errors carry only the documented statuses and their refusal reads
//! back, through our own client parser, as that status with an exact body; an accepted
//! request can always be answered, and the 101 carries the right accept key. Run with the
//! default caps and with small ones, so the caps are reached by short inputs too.
use libfuzzer_sys::fuzz_target;
use sockeye_ws::handshake::{
    Accept, ClientHandshake, ClientRequest, ExtensionOffer, HeadLimits, Progress, Request,
    RequestError, RequestParser, ResponseError, accept_key,
};

type Outcome = Result<Option<(Request, usize)>, RequestError>;

/// Feeds `data` in chunks of `size(i)` bytes (i = chunk index); `consumed` counts from the
/// start of `data`.
fn feed(limits: HeadLimits, data: &[u8], size: impl Fn(usize) -> usize) -> Outcome {
    let mut parser = RequestParser::with_limits(limits);
    let mut start = 0;
    let mut i = 0;
    while start < data.len() {
        let end = start.saturating_add(size(i).max(1)).min(data.len());
        match parser.handle_data(&data[start..end])? {
            Progress::Partial => {}
            Progress::Complete { value, consumed } => {
                assert!(consumed <= end - start, "consumed more than given");
                return Ok(Some((value, start + consumed)));
            }
        }
        assert!(parser.buffered() <= limits.max_head_len);
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
        feed(limits, data, |i| 1 + (i * 7 + salt) % 29),
        whole,
        "chunked differs"
    );
    match whole {
        Ok(None) => {}
        Ok(Some((request, consumed))) => {
            assert!(consumed <= data.len());
            assert!(data[..consumed].ends_with(b"\n"));
            let bytes = request
                .accept(&Accept::new())
                .expect("a plain accept never fails");
            assert!(bytes.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            assert!(bytes.ends_with(b"\r\n\r\n"));
            let line = format!(
                "\r\nSec-WebSocket-Accept: {}\r\n",
                accept_key(request.key().as_bytes())
            );
            assert!(bytes.windows(line.len()).any(|w| w == line.as_bytes()));
            if let Some(p) = request.protocols().first() {
                request
                    .accept(&Accept::new().with_protocol(p.clone()))
                    .expect("an offered subprotocol can be chosen");
            }
            if !request.extensions().is_empty() {
                let all = ExtensionOffer::format_list(request.extensions());
                request
                    .accept_http(&Accept::new().with_extensions(all))
                    .expect("offered extensions can be agreed");
            }
        }
        Err(err) => {
            let status = err.status();
            assert!(
                matches!(status.as_u16(), 400 | 405 | 414 | 426 | 431 | 505),
                "undocumented status {status} for {err:?}"
            );
            // The refusal is a well-formed response: our client reads back its status,
            // and the body after the head is exactly Content-Length bytes.
            let bytes = err.response_bytes();
            let mut client =
                ClientHandshake::new(ClientRequest::new("ws://h/").expect("valid url"), [0; 16]);
            match client.handle_data(&bytes) {
                Err(ResponseError::UnexpectedStatus {
                    status: got,
                    headers,
                }) => {
                    assert_eq!(got, status);
                    assert_eq!(
                        headers.get("connection").map(|v| v.as_bytes()),
                        Some(&b"close"[..])
                    );
                }
                other => panic!("refusal read back as {other:?}"),
            }
            let body = err.rejection().body().clone();
            assert!(bytes.ends_with(&body));
            let cl = format!("\r\nContent-Length: {}\r\n", body.len());
            assert!(bytes.windows(cl.len()).any(|w| w == cl.as_bytes()));
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
