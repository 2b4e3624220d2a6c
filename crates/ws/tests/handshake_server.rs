//! Server side of the opening handshake, grouped by RFC 6455 section: the request a server
//! reads (§4.2.1), the answer it builds (§4.2.2), the caps, and chunking invariance.

use http::header::{ALLOW, CONTENT_LENGTH, HeaderName, SEC_WEBSOCKET_VERSION, SET_COOKIE, UPGRADE};
use http::{HeaderValue, StatusCode};
use proptest::prelude::*;
use sockeye_test_support::strategies::{bare_lf, cuts, mutated};
use sockeye_test_support::vectors;
use sockeye_ws::handshake::{
    Accept, BuildError, ExtensionError, ExtensionOffer, HeadLimits, Progress, Rejection, Request,
    RequestError, RequestParser, SyntaxError, accept_key,
};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The lines of a valid request, without the final empty line.
fn base() -> Vec<String> {
    [
        "GET /chat?room=1 HTTP/1.1",
        "Host: server.example.com",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]
    .map(String::from)
    .to_vec()
}

fn build(lines: &[String]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n\r\n");
    s.into_bytes()
}

/// The base request with header `name` replaced by `value`, or removed when `None`.
fn with(name: &str, value: Option<&str>) -> Vec<u8> {
    let mut lines: Vec<String> = base()
        .into_iter()
        .filter(|l| {
            !l.split_once(':')
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
        })
        .collect();
    if let Some(v) = value {
        lines.push(format!("{name}: {v}"));
    }
    build(&lines)
}

/// The base request with extra header lines.
fn plus(extra: &[&str]) -> Vec<u8> {
    let mut lines = base();
    lines.extend(extra.iter().map(|s| s.to_string()));
    build(&lines)
}

fn parse_with(limits: HeadLimits, bytes: &[u8]) -> Result<(Request, usize), RequestError> {
    match RequestParser::with_limits(limits).handle_data(bytes)? {
        Progress::Complete { value, consumed } => Ok((value, consumed)),
        Progress::Partial => panic!("head incomplete: {:?}", String::from_utf8_lossy(bytes)),
    }
}

fn parse(bytes: &[u8]) -> Result<Request, RequestError> {
    parse_with(HeadLimits::default(), bytes).map(|(r, _)| r)
}

fn refused(bytes: &[u8]) -> RequestError {
    parse(bytes).expect_err("request should be refused")
}

/// Feeds `data` cut at `cuts` (sorted offsets) and reports the result with `consumed`
/// counted from the start of `data`.
fn feed_cut(data: &[u8], cuts: &[usize]) -> Result<Option<(Request, usize)>, RequestError> {
    let mut parser = RequestParser::new();
    let mut start = 0;
    let mut bounds: Vec<usize> = cuts.iter().copied().filter(|&c| c < data.len()).collect();
    bounds.push(data.len());
    for end in bounds {
        if end < start {
            continue;
        }
        if let Progress::Complete { value, consumed } = parser.handle_data(&data[start..end])? {
            return Ok(Some((value, start + consumed)));
        }
        start = end;
    }
    Ok(None)
}

/// Parses the bytes of a response the server built.
fn response_head(bytes: &[u8]) -> (u16, Vec<(String, String)>, usize) {
    let mut slots = [httparse::EMPTY_HEADER; 32];
    let mut r = httparse::Response::new(&mut slots);
    let httparse::Status::Complete(len) = r.parse(bytes).expect("valid response") else {
        panic!("incomplete response");
    };
    let headers = r
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8(h.value.to_vec()).unwrap(),
            )
        })
        .collect();
    (r.code.unwrap(), headers, len)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

// --- RFC 6455 §1.2, §1.3, §4.2.2: the RFC's own example, as data -------------------------

#[test]
fn rfc6455_1_3_accept_key_vector() {
    let recs = vectors::load("tests/vectors/handshake_rfc6455.txt");
    let mut seen = 0;
    for rec in recs.iter().filter(|r| r.try_get("accept").is_some()) {
        assert_eq!(
            accept_key(rec.get("key").as_bytes()),
            rec.get("accept"),
            "line {}",
            rec.line
        );
        seen += 1;
    }
    assert!(seen >= 1);
}

#[test]
fn rfc6455_1_2_example_request_is_answered_byte_for_byte() {
    let recs = vectors::load("tests/vectors/handshake_rfc6455.txt");
    let rec = recs
        .iter()
        .find(|r| r.try_get("name") == Some("rfc6455-1.2"))
        .unwrap();
    let request = parse(&rec.unescaped("request")).unwrap();
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.host(), "server.example.com");
    assert_eq!(request.origin(), Some(rec.get("origin")));
    assert_eq!(request.protocols(), ["chat", "superchat"]);
    let response = request
        .accept(&Accept::new().with_protocol(rec.get("chosen")))
        .unwrap();
    assert_eq!(
        String::from_utf8(response).unwrap(),
        String::from_utf8(rec.unescaped("response")).unwrap()
    );
}

// --- §4.2.1 item 1: GET, HTTP/1.1 or later, request target -------------------------------

#[test]
fn rfc6455_4_2_1_method_must_be_get_else_405_with_allow() {
    for method in ["POST", "HEAD", "get", "CONNECT"] {
        let mut lines = base();
        lines[0] = format!("{method} /chat HTTP/1.1");
        let err = refused(&build(&lines));
        assert!(
            matches!(err, RequestError::MethodNotAllowed { .. }),
            "{err:?}"
        );
        assert_eq!(err.status(), StatusCode::METHOD_NOT_ALLOWED);
        let (code, headers, _) = response_head(&err.response_bytes());
        assert_eq!(code, 405);
        // RFC 9110 §15.5.6: a 405 MUST carry Allow.
        assert_eq!(header(&headers, "allow"), Some("GET"));
    }
}

#[test]
fn rfc6455_4_2_1_http_1_0_is_refused_with_505() {
    let mut lines = base();
    lines[0] = "GET /chat HTTP/1.0".into();
    let err = refused(&build(&lines));
    assert_eq!(
        err,
        RequestError::UnsupportedHttpVersion {
            version: http::Version::HTTP_10
        }
    );
    assert_eq!(err.status(), StatusCode::HTTP_VERSION_NOT_SUPPORTED);
}

#[test]
fn rfc6455_4_2_1_other_versions_are_malformed() {
    for version in ["HTTP/2.0", "HTTP/1.2", "HTTP/1", "http/1.1"] {
        let mut lines = base();
        lines[0] = format!("GET /chat {version}");
        let err = refused(&build(&lines));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{version}: {err:?}");
    }
}

#[test]
fn rfc6455_4_2_1_request_target_forms() {
    let target = |t: &str| {
        let mut lines = base();
        lines[0] = format!("GET {t} HTTP/1.1");
        parse(&build(&lines))
    };
    let r = target("/").unwrap();
    assert_eq!((r.path(), r.query()), ("/", None));
    let r = target("/a/b%20c?x=1&y").unwrap();
    assert_eq!((r.path(), r.query()), ("/a/b%20c", Some("x=1&y")));
    let r = target("https://server.example.com/chat?q").unwrap();
    assert_eq!((r.path(), r.query()), ("/chat", Some("q")));
    for bad in [
        "*",
        "chat",
        "ws://server.example.com/chat",
        "/chat#frag",
        "/caf\u{e9}",
    ] {
        assert_eq!(
            target(bad),
            Err(RequestError::Malformed(SyntaxError::RequestTarget)),
            "{bad}"
        );
    }
}

// --- §4.2.1 item 2: Host ----------------------------------------------------------------

#[test]
fn rfc6455_4_2_1_host_required_once_and_valid() {
    assert_eq!(refused(&with("Host", None)), RequestError::MissingHost);
    assert_eq!(
        refused(&plus(&["Host: other.example.com"])),
        RequestError::DuplicateHeader {
            name: http::header::HOST
        }
    );
    for bad in ["a b", "user@server.example.com", "", "h:port"] {
        let err = refused(&with("Host", Some(bad)));
        assert_eq!(err, RequestError::InvalidHost, "{bad:?}");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        parse(&with("Host", Some("[::1]:8080"))).unwrap().host(),
        "[::1]:8080"
    );
}

// --- §4.2.1 items 3 and 4: Upgrade and Connection token lists ----------------------------

#[test]
fn rfc6455_4_2_1_upgrade_and_connection_are_case_insensitive_token_lists() {
    let ok = [
        with("Upgrade", Some("WebSocket")),
        with("Upgrade", Some("h2c, websocket")),
        with("Connection", Some("keep-alive, UPGRADE")),
        with("Connection", Some("upgrade,keep-alive")),
    ];
    for req in ok {
        parse(&req).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&req)));
    }
    // A token list may span several lines.
    let mut lines = base();
    lines.retain(|l| !l.starts_with("Connection"));
    lines.push("Connection: keep-alive".into());
    lines.push("Connection: Upgrade".into());
    parse(&build(&lines)).unwrap();
}

#[test]
fn rfc6455_4_2_1_missing_upgrade_tokens_are_426_with_upgrade_header() {
    let cases = [
        (with("Upgrade", None), RequestError::UpgradeNotWebSocket),
        (
            with("Upgrade", Some("websockets")),
            RequestError::UpgradeNotWebSocket,
        ),
        (
            with("Upgrade", Some("web socket")),
            RequestError::UpgradeNotWebSocket,
        ),
        (with("Connection", None), RequestError::ConnectionNotUpgrade),
        (
            with("Connection", Some("keep-alive")),
            RequestError::ConnectionNotUpgrade,
        ),
        (
            with("Connection", Some("upgraded")),
            RequestError::ConnectionNotUpgrade,
        ),
    ];
    for (req, want) in cases {
        let err = refused(&req);
        assert_eq!(err, want);
        assert_eq!(err.status(), StatusCode::UPGRADE_REQUIRED);
        let (_, headers, _) = response_head(&err.response_bytes());
        // RFC 9110 §15.5.22: a 426 MUST carry Upgrade.
        assert_eq!(header(&headers, "upgrade"), Some("websocket"));
    }
}

// --- §4.2.1 item 5: Sec-WebSocket-Key ----------------------------------------------------

#[test]
fn rfc6455_4_2_1_key_is_16_bytes_of_base64_once() {
    assert_eq!(
        refused(&with("Sec-WebSocket-Key", None)),
        RequestError::MissingKey
    );
    assert_eq!(
        refused(&plus(&["Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=="])),
        RequestError::DuplicateHeader {
            name: http::header::SEC_WEBSOCKET_KEY
        }
    );
    for bad in [
        "",
        "dGhlIHNhbXBsZSBub25j",         // 15 bytes
        "dGhlIHNhbXBsZSBub25jZXM=",     // 17 bytes
        "dGhlIHNhbXBsZSBub25jZQ",       // missing padding
        "dGhlIHNhbXBsZSBub25jZQ==,abc", // two values folded into one line
        "dGhlIHNhbXBsZSBub25jZQ.=",
    ] {
        let err = refused(&with("Sec-WebSocket-Key", Some(bad)));
        assert_eq!(err, RequestError::InvalidKey, "{bad:?}");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
}

// --- §4.2.1 item 6 and §4.4: Sec-WebSocket-Version ---------------------------------------

#[test]
fn rfc6455_4_4_version_other_than_13_is_426_with_supported_version() {
    for value in [None, Some("8"), Some("12"), Some("13, 8"), Some("")] {
        let err = refused(&with("Sec-WebSocket-Version", value));
        assert!(
            matches!(err, RequestError::UnsupportedVersion { .. }),
            "{value:?}: {err:?}"
        );
        assert_eq!(err.status(), StatusCode::UPGRADE_REQUIRED);
        let rejection = err.rejection();
        assert_eq!(rejection.headers()[SEC_WEBSOCKET_VERSION], "13");
        assert_eq!(rejection.headers()[UPGRADE], "websocket");
        let (code, headers, _) = response_head(&err.response_bytes());
        assert_eq!(code, 426);
        assert_eq!(header(&headers, "sec-websocket-version"), Some("13"));
    }
}

#[test]
fn rfc6455_11_3_5_duplicate_version_is_400() {
    let err = refused(&plus(&["Sec-WebSocket-Version: 13"]));
    assert_eq!(
        err,
        RequestError::DuplicateHeader {
            name: SEC_WEBSOCKET_VERSION
        }
    );
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
}

// --- §4.2.1 item 7 and §10.2: Origin ----------------------------------------------------

#[test]
fn rfc6455_10_2_origin_is_exposed_and_must_be_single() {
    let r = parse(&plus(&["Origin: https://app.example.com"])).unwrap();
    assert_eq!(r.origin(), Some("https://app.example.com"));
    assert_eq!(
        refused(&plus(&[
            "Origin: https://a.example",
            "Origin: https://b.example"
        ])),
        RequestError::DuplicateHeader {
            name: http::header::ORIGIN
        }
    );
    assert_eq!(
        refused(&plus(&["Origin: null x"])),
        RequestError::InvalidOrigin
    );
}

// --- §4.2.1 item 8 (subprotocols) --------------------------------------------------------

#[test]
fn rfc6455_4_1_subprotocols_over_all_lines_empty_elements_skipped() {
    let r = parse(&plus(&[
        "Sec-WebSocket-Protocol: chat, superchat",
        "Sec-WebSocket-Protocol: ,v2.json,, ",
        "Sec-WebSocket-Protocol:",
    ]))
    .unwrap();
    assert_eq!(r.protocols(), ["chat", "superchat", "v2.json"]);
}

#[test]
fn rfc6455_4_1_subprotocols_must_be_unique_tokens() {
    for lines in [
        &["Sec-WebSocket-Protocol: chat, chat"][..],
        &[
            "Sec-WebSocket-Protocol: chat",
            "Sec-WebSocket-Protocol: chat",
        ],
        &["Sec-WebSocket-Protocol: a b"],
        &["Sec-WebSocket-Protocol: a/b"],
        &["Sec-WebSocket-Protocol: \"chat\""],
    ] {
        let err = refused(&plus(lines));
        assert_eq!(err, RequestError::InvalidProtocols, "{lines:?}");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
}

// --- §9.1: extension offers --------------------------------------------------------------

#[test]
fn rfc6455_9_1_extension_vectors() {
    let recs = vectors::load("tests/vectors/handshake_extensions.txt");
    assert!(recs.len() > 15);
    for rec in recs {
        let input = rec.unescaped("input");
        let got = ExtensionOffer::parse_list(&input);
        match rec.try_get("format") {
            Some(format) => {
                let offers = got.unwrap_or_else(|e| panic!("line {}: {e}", rec.line));
                assert_eq!(
                    ExtensionOffer::format_list(&offers),
                    format,
                    "line {}",
                    rec.line
                );
            }
            None => {
                let (kind, offset) = rec.get("error").split_once(' ').unwrap();
                let offset: usize = offset.parse().unwrap();
                let want = match kind {
                    "expected-token" => ExtensionError::ExpectedToken { offset },
                    "unexpected-byte" => ExtensionError::UnexpectedByte { offset },
                    "quoted-not-token" => ExtensionError::QuotedValueNotToken { offset },
                    "unterminated-quote" => ExtensionError::UnterminatedQuote { offset },
                    other => panic!("unknown error kind {other}"),
                };
                assert_eq!(got, Err(want), "line {}", rec.line);
                // The same value in a request is a 400.
                let mut lines = base();
                lines.push(format!(
                    "Sec-WebSocket-Extensions: {}",
                    String::from_utf8(input).unwrap()
                ));
                let bytes = build(&lines);
                let err = parse(&bytes);
                // A control byte is already refused by the HTTP syntax; either way, 400.
                assert_eq!(err.unwrap_err().status(), StatusCode::BAD_REQUEST);
            }
        }
    }
}

#[test]
fn rfc6455_9_1_extension_offers_keep_order_across_lines() {
    let r = parse(&plus(&[
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\"",
        "Sec-WebSocket-Extensions: permessage-deflate, x-custom",
    ]))
    .unwrap();
    let names: Vec<&str> = r.extensions().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["permessage-deflate", "permessage-deflate", "x-custom"]
    );
    assert_eq!(
        r.extensions()[0].params,
        [
            ("client_max_window_bits".to_owned(), None),
            ("server_max_window_bits".to_owned(), Some("10".to_owned())),
        ]
    );
}

#[test]
fn rfc6455_9_1_bad_extension_grammar_is_400() {
    let err = refused(&plus(&[
        "Sec-WebSocket-Extensions: permessage-deflate; x=\"a b\"",
    ]));
    assert!(matches!(err, RequestError::InvalidExtensions(_)), "{err:?}");
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
}

// --- A body would be read as frames ------------------------------------------------------

#[test]
fn request_body_is_refused() {
    parse(&plus(&["Content-Length: 0"])).unwrap();
    for extra in ["Content-Length: 5", "Transfer-Encoding: chunked"] {
        let err = refused(&plus(&[extra]));
        assert_eq!(err, RequestError::UnexpectedBody, "{extra}");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
}

// --- HTTP/1.1 syntax ---------------------------------------------------------------------

#[test]
fn malformed_heads_are_400() {
    let cases: [&[u8]; 7] = [
        b"\x00\r\n\r\n",
        b"GET /chat HTTP/1.1 extra\r\nHost: h\r\n\r\n",
        b"GET  /chat HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /chat HTTP/1.1\r\nHost : h\r\n\r\n",
        b"GET /chat HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
        b"GET /chat HTTP/1.1\r\nHost: h\rx\r\n\r\n",
        b"GET /chat HTTP/1.1\r\nHo\x01st: h\r\n\r\n",
    ];
    for case in cases {
        let err = refused(case);
        assert!(
            matches!(err, RequestError::Malformed(_)),
            "{case:?}: {err:?}"
        );
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn bare_lf_line_endings_and_leading_empty_lines_are_accepted() {
    let crlf = build(&base());
    let lf = String::from_utf8(crlf.clone())
        .unwrap()
        .replace("\r\n", "\n");
    assert_eq!(parse(lf.as_bytes()).unwrap().key(), KEY);
    let mut leading = b"\r\n".to_vec();
    leading.extend_from_slice(&crlf);
    assert_eq!(parse(&leading).unwrap().key(), KEY);
}

// --- Caps: at and past the edge ----------------------------------------------------------

/// The base request with its request line padded to exactly `len` bytes.
fn request_line_of(len: usize) -> Vec<u8> {
    let mut lines = base();
    let fixed = "GET /? HTTP/1.1".len();
    lines[0] = format!("GET /?{} HTTP/1.1", "a".repeat(len - fixed));
    assert_eq!(lines[0].len(), len);
    build(&lines)
}

/// The base request plus one header line of exactly `len` bytes.
fn header_line_of(len: usize) -> Vec<u8> {
    let line = format!("X-Pad: {}", "a".repeat(len - "X-Pad: ".len()));
    plus(&[&line])
}

#[test]
fn request_line_cap_is_414_past_the_edge() {
    parse(&request_line_of(8192)).unwrap();
    let err = refused(&request_line_of(8193));
    assert_eq!(err, RequestError::RequestLineTooLong { limit: 8192 });
    assert_eq!(err.status(), StatusCode::URI_TOO_LONG);
}

#[test]
fn header_line_cap_is_431_past_the_edge() {
    parse(&header_line_of(8192)).unwrap();
    let err = refused(&header_line_of(8193));
    assert_eq!(err, RequestError::HeaderLineTooLong { limit: 8192 });
    assert_eq!(err.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

#[test]
fn header_count_cap_is_431_past_the_edge() {
    let pad = |n: usize| -> Vec<u8> {
        let extra: Vec<String> = (0..n).map(|i| format!("X-{i}: v")).collect();
        let mut lines = base();
        lines.extend(extra);
        build(&lines)
    };
    let base_headers = base().len() - 1;
    parse(&pad(128 - base_headers)).unwrap();
    let err = refused(&pad(129 - base_headers));
    assert_eq!(err, RequestError::TooManyHeaders { limit: 128 });
    assert_eq!(err.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

/// The base request padded with header lines to exactly `total` bytes.
fn head_of(total: usize) -> Vec<u8> {
    let mut lines = base();
    let mut len = build(&lines).len();
    while len < total {
        // Each line adds its length plus CRLF; keep lines under the line cap.
        let room = total - len;
        let line_len = room.saturating_sub(2).min(4000);
        let line = if line_len >= "X: ".len() {
            format!("X: {}", "a".repeat(line_len - 3))
        } else {
            // Too little room for a line: lengthen the previous one instead.
            let last = lines.pop().unwrap();
            format!("{last}{}", "a".repeat(room))
        };
        lines.push(line);
        len = build(&lines).len();
    }
    let bytes = build(&lines);
    assert_eq!(bytes.len(), total);
    bytes
}

#[test]
fn head_cap_is_431_past_the_edge() {
    parse(&head_of(64 * 1024)).unwrap();
    let err = refused(&head_of(64 * 1024 + 1));
    assert_eq!(err, RequestError::HeadTooLarge { limit: 64 * 1024 });
    assert_eq!(err.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

#[test]
fn head_over_64_kib_fed_one_byte_at_a_time_is_431() {
    // No timing assertion: linear time is a benchmark matter. This checks that trickled
    // input hits the cap at the first byte past it and is refused, without ever
    // completing, whatever follows.
    let mut data = b"GET /chat HTTP/1.1\r\nHost: h\r\n".to_vec();
    for _ in 0..20 {
        data.extend_from_slice(b"X-Pad: ");
        data.extend(std::iter::repeat_n(b'a', 4000));
        data.extend_from_slice(b"\r\n");
    }
    assert!(data.len() > 64 * 1024);
    let mut parser = RequestParser::new();
    let mut failed_at = None;
    for (i, b) in data.iter().enumerate() {
        match parser.handle_data(std::slice::from_ref(b)) {
            Ok(Progress::Partial) => {}
            Ok(Progress::Complete { .. }) => panic!("completed at {i}"),
            Err(err) => {
                assert_eq!(err, RequestError::HeadTooLarge { limit: 65536 });
                assert_eq!(err.status().as_u16(), 431);
                failed_at = Some(i);
                break;
            }
        }
        assert!(parser.buffered() <= 64 * 1024);
    }
    assert_eq!(failed_at, Some(64 * 1024));
}

#[test]
fn one_long_line_fed_one_byte_at_a_time_is_refused_at_the_first_byte_past_the_cap() {
    let mut parser = RequestParser::new();
    let line = vec![b'a'; 100_000];
    let mut fed = 0;
    let err = loop {
        match parser.handle_data(&line[fed..=fed]) {
            Ok(Progress::Partial) => fed += 1,
            Ok(Progress::Complete { .. }) => panic!("completed"),
            Err(err) => break err,
        }
    };
    assert_eq!(fed, 8192);
    assert_eq!(err, RequestError::RequestLineTooLong { limit: 8192 });
}

#[test]
fn limits_are_configurable() {
    let mut limits = HeadLimits::default();
    limits.max_line_len = 64;
    limits.max_headers = 6;
    limits.max_head_len = 512;
    let req = build(&base());
    parse_with(limits, &req).unwrap();
    assert_eq!(
        parse_with(limits, &header_line_of(65)).unwrap_err(),
        RequestError::HeaderLineTooLong { limit: 64 }
    );
    assert_eq!(
        parse_with(limits, &plus(&["A: 1", "B: 2"])).unwrap_err(),
        RequestError::TooManyHeaders { limit: 6 }
    );
    let many: Vec<String> = (0..6)
        .map(|i| format!("X{i}: {}", "b".repeat(60)))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    limits.max_headers = 100;
    assert_eq!(
        parse_with(limits, &plus(&many)).unwrap_err(),
        RequestError::HeadTooLarge { limit: 512 }
    );
}

// --- After the head ----------------------------------------------------------------------

#[test]
fn bytes_after_the_head_are_left_for_the_connection() {
    let mut data = build(&base());
    let head_len = data.len();
    data.extend_from_slice(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    let (_, consumed) = parse_with(HeadLimits::default(), &data).unwrap();
    assert_eq!(consumed, head_len);
    assert_eq!(
        feed_cut(&data, &[3, 50, head_len - 1]).unwrap().unwrap().1,
        head_len
    );
}

// --- §4.2.2: accepting -------------------------------------------------------------------

#[test]
fn rfc6455_4_2_2_accept_response_fields() {
    let req = parse(&plus(&[
        "Sec-WebSocket-Protocol: chat, superchat",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo",
    ]))
    .unwrap();
    let accept = Accept::new()
        .with_protocol("superchat")
        .with_extensions("permessage-deflate;server_no_context_takeover")
        .with_header(SET_COOKIE, HeaderValue::from_static("id=1"))
        .unwrap();
    let bytes = req.accept(&accept).unwrap();
    let (code, headers, len) = response_head(&bytes);
    assert_eq!(code, 101);
    assert_eq!(len, bytes.len(), "nothing after the head");
    assert_eq!(header(&headers, "upgrade"), Some("websocket"));
    assert_eq!(header(&headers, "connection"), Some("Upgrade"));
    assert_eq!(
        header(&headers, "sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert_eq!(
        header(&headers, "sec-websocket-protocol"),
        Some("superchat")
    );
    assert_eq!(
        header(&headers, "sec-websocket-extensions"),
        Some("permessage-deflate; server_no_context_takeover")
    );
    assert_eq!(header(&headers, "set-cookie"), Some("id=1"));
    assert_eq!(header(&headers, "content-length"), None);

    let http = req.accept_http(&accept).unwrap();
    assert_eq!(http.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        http.headers()[http::header::SEC_WEBSOCKET_ACCEPT],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(
        http.headers()[http::header::SEC_WEBSOCKET_PROTOCOL],
        "superchat"
    );
    assert_eq!(http.headers()[SET_COOKIE], "id=1");
}

#[test]
fn rfc6455_4_2_2_plain_accept_has_no_optional_fields() {
    let req = parse(&build(&base())).unwrap();
    let bytes = req.accept(&Accept::new()).unwrap();
    assert_eq!(
        bytes,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
}

#[test]
fn rfc6455_4_2_2_choosing_what_was_not_offered_is_local_misuse() {
    let req = parse(&plus(&[
        "Sec-WebSocket-Protocol: chat",
        "Sec-WebSocket-Extensions: permessage-deflate",
    ]))
    .unwrap();
    assert_eq!(
        req.accept(&Accept::new().with_protocol("superchat")),
        Err(BuildError::ProtocolNotOffered)
    );
    assert_eq!(
        req.accept(&Accept::new().with_protocol("CHAT")),
        Err(BuildError::ProtocolNotOffered)
    );
    assert_eq!(
        req.accept(&Accept::new().with_extensions("x-foo")),
        Err(BuildError::ExtensionNotOffered {
            name: "x-foo".into()
        })
    );
    assert!(matches!(
        req.accept_http(&Accept::new().with_extensions("permessage-deflate;")),
        Err(BuildError::InvalidExtensions(_))
    ));
    // An empty extension list sends no header.
    let bytes = req.accept(&Accept::new().with_extensions(" , ")).unwrap();
    assert!(!String::from_utf8(bytes).unwrap().contains("Extensions"));
    // No subprotocol offered: none may be chosen.
    let bare = parse(&build(&base())).unwrap();
    assert_eq!(
        bare.accept(&Accept::new().with_protocol("chat")),
        Err(BuildError::ProtocolNotOffered)
    );
}

// --- Rejecting ---------------------------------------------------------------------------

#[test]
fn application_rejection_is_a_complete_response() {
    let bytes = Rejection::new(StatusCode::FORBIDDEN)
        .unwrap()
        .with_header(
            HeaderName::from_static("x-reason"),
            HeaderValue::from_static("origin"),
        )
        .unwrap()
        .with_body("forbidden origin\n")
        .to_bytes();
    let (code, headers, len) = response_head(&bytes);
    assert_eq!(code, 403);
    assert_eq!(header(&headers, "connection"), Some("close"));
    assert_eq!(header(&headers, "x-reason"), Some("origin"));
    assert_eq!(&bytes[len..], b"forbidden origin\n");
    assert_eq!(
        header(&headers, "content-length"),
        Some(bytes[len..].len().to_string().as_str())
    );
}

#[test]
fn error_rejections_have_exact_content_length_and_no_peer_input() {
    let evil = "<script>alert(1)</script>";
    let errors = [
        refused(&with("Sec-WebSocket-Key", Some(evil))),
        refused(&with("Sec-WebSocket-Version", Some(evil))),
        refused(&with("Upgrade", Some(evil))),
    ];
    for err in errors {
        let bytes = err.response_bytes();
        let (code, headers, len) = response_head(&bytes);
        assert_eq!(code, err.status().as_u16());
        let body = &bytes[len..];
        assert_eq!(
            header(&headers, CONTENT_LENGTH.as_str()),
            Some(body.len().to_string().as_str())
        );
        assert!(!String::from_utf8_lossy(body).contains("script"));
        assert_eq!(err.rejection().to_http().status(), err.status());
    }
    assert!(ALLOW.as_str() == "allow");
}

// --- hyper / axum: Request::from_parts shares the checks ---------------------------------

fn http_request(lines: &[String]) -> http::Request<()> {
    let (method, rest) = lines[0].split_once(' ').unwrap();
    let (target, version) = rest.rsplit_once(' ').unwrap();
    let mut b = http::Request::builder()
        .method(method)
        .uri(target)
        .version(match version {
            "HTTP/1.0" => http::Version::HTTP_10,
            _ => http::Version::HTTP_11,
        });
    for line in &lines[1..] {
        let (n, v) = line.split_once(':').unwrap();
        b = b.header(n.trim(), v.trim());
    }
    b.body(()).unwrap()
}

#[test]
fn from_parts_gives_the_same_verdicts_as_raw_bytes() {
    let variants: Vec<Vec<String>> = vec![
        base(),
        {
            let mut l = base();
            l[0] = "POST /chat HTTP/1.1".into();
            l
        },
        {
            let mut l = base();
            l[0] = "GET /chat HTTP/1.0".into();
            l
        },
        base()
            .into_iter()
            .filter(|l| !l.starts_with("Host"))
            .collect(),
        base()
            .into_iter()
            .filter(|l| !l.starts_with("Upgrade"))
            .collect(),
        {
            let mut l = base();
            l.push("Sec-WebSocket-Version: 8".into());
            l
        },
        {
            let mut l = base();
            l.retain(|x| !x.starts_with("Sec-WebSocket-Version"));
            l.push("Sec-WebSocket-Version: 8".into());
            l
        },
        {
            let mut l = base();
            l.push("Sec-WebSocket-Protocol: chat, superchat".into());
            l.push("Sec-WebSocket-Extensions: permessage-deflate; a=\"1\"".into());
            l.push("Origin: http://example.com".into());
            l
        },
        {
            let mut l = base();
            l.push("Sec-WebSocket-Extensions: a;".into());
            l
        },
    ];
    for lines in variants {
        let raw = parse(&build(&lines));
        let req = http_request(&lines);
        let from_http = Request::from_http(&req);
        let (parts, ()) = req.into_parts();
        let from_parts = Request::from_parts(&parts);
        assert_eq!(raw, from_http, "{lines:?}");
        assert_eq!(raw, from_parts, "{lines:?}");
    }
}

// --- Chunking invariance -----------------------------------------------------------------

fn valid_request() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::btree_set("[a-z]{1,8}", 0..4),
        prop::option::of("[a-z]{1,6}(; [a-z_]{1,10}(=[0-9]{1,2})?)?"),
        "[a-zA-Z0-9/]{0,30}",
        any::<bool>(),
    )
        .prop_map(|(protocols, ext, path, lf)| {
            let mut lines = base();
            lines[0] = format!("GET /{path} HTTP/1.1");
            if !protocols.is_empty() {
                let protocols: Vec<String> = protocols.into_iter().collect();
                lines.push(format!("Sec-WebSocket-Protocol: {}", protocols.join(", ")));
            }
            if let Some(e) = ext {
                lines.push(format!("Sec-WebSocket-Extensions: {e}"));
            }
            let mut bytes = build(&lines);
            if lf {
                bytes = bare_lf(&bytes);
            }
            bytes
        })
}

proptest! {
    #[test]
    fn any_split_of_a_valid_request_gives_the_same_result(
        data in valid_request(),
        cuts in cuts(400),
        tail in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut data = data;
        data.extend(tail);
        let whole = feed_cut(&data, &[]);
        prop_assert!(matches!(whole, Ok(Some(_))), "{:?}", whole);
        prop_assert_eq!(feed_cut(&data, &cuts), whole.clone());
        let bytewise: Vec<usize> = (1..data.len()).collect();
        prop_assert_eq!(feed_cut(&data, &bytewise), whole);
    }

    #[test]
    fn any_split_of_a_mutated_request_gives_the_same_result(
        data in mutated(valid_request()),
        cuts in cuts(400),
    ) {
        let whole = feed_cut(&data, &[]);
        prop_assert_eq!(feed_cut(&data, &cuts), whole.clone());
        let bytewise: Vec<usize> = (1..data.len()).collect();
        let bytewise = feed_cut(&data, &bytewise);
        prop_assert_eq!(&bytewise, &whole);
        if let Ok(Some((_, consumed))) = whole {
            prop_assert!(consumed <= data.len());
        }
        if let Err(err) = bytewise {
            let status = err.status().as_u16();
            prop_assert!([400, 405, 414, 426, 431, 505].contains(&status), "{}", status);
        }
    }

    #[test]
    fn any_split_of_random_bytes_gives_the_same_result(
        data in prop::collection::vec(any::<u8>(), 0..300),
        cuts in cuts(400),
    ) {
        prop_assert_eq!(feed_cut(&data, &cuts), feed_cut(&data, &[]));
    }

    #[test]
    fn any_split_past_the_caps_gives_the_same_error(
        line in 1usize..300,
        head in 1usize..600,
        headers in 0usize..20,
        data in valid_request(),
        cuts in cuts(400),
    ) {
        let mut limits = HeadLimits::default();
        limits.max_line_len = line;
        limits.max_head_len = head;
        limits.max_headers = headers;
        let feed = |cuts: &[usize]| {
            let mut parser = RequestParser::with_limits(limits);
            let mut start = 0;
            let mut bounds: Vec<usize> = cuts.iter().copied().filter(|&c| c < data.len()).collect();
            bounds.push(data.len());
            for end in bounds {
                match parser.handle_data(&data[start..end]) {
                    Ok(Progress::Partial) => start = end,
                    Ok(Progress::Complete { consumed, .. }) => return Ok(Some(start + consumed)),
                    Err(e) => return Err(e),
                }
            }
            Ok(None)
        };
        prop_assert_eq!(feed(&cuts), feed(&[]));
    }
}
