//! Client side of the opening handshake, grouped by RFC 6455 section: the request a client
//! builds (§4.1), the checks it makes on the response (§4.1, items 1–6), the caps, and
//! chunking invariance; then both roles back to back.

use http::StatusCode;
use proptest::prelude::*;
use sockeye_test_support::strategies::{bare_lf, cuts, mutated};
use sockeye_test_support::vectors;
use sockeye_ws::handshake::{
    Accept, Accepted, ClientHandshake, ClientRequest, ExtensionOffer, HeadLimits, Progress,
    Rejection, RequestParser, ResponseError,
};

const NONCE: [u8; 16] = *b"the sample nonce";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A handshake offering `chat` and `superchat`, and permessage-deflate.
fn handshake() -> ClientHandshake {
    let request = ClientRequest::new("ws://server.example.com/chat")
        .unwrap()
        .with_protocol("chat")
        .unwrap()
        .with_protocol("superchat")
        .unwrap()
        .with_extension(
            ExtensionOffer::new("permessage-deflate").with_param("client_max_window_bits"),
        )
        .unwrap();
    ClientHandshake::new(request, NONCE)
}

/// The lines of a valid 101 answer to [`handshake`], without the final empty line.
fn base() -> Vec<String> {
    [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    ]
    .map(String::from)
    .to_vec()
}

fn build(lines: &[String]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n\r\n");
    s.into_bytes()
}

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

fn plus(extra: &[&str]) -> Vec<u8> {
    let mut lines = base();
    lines.extend(extra.iter().map(|s| s.to_string()));
    build(&lines)
}

fn check_with(h: &mut ClientHandshake, bytes: &[u8]) -> Result<(Accepted, usize), ResponseError> {
    match h.handle_data(bytes)? {
        Progress::Complete { value, consumed } => Ok((value, consumed)),
        Progress::Partial => panic!("head incomplete: {:?}", String::from_utf8_lossy(bytes)),
    }
}

fn check(bytes: &[u8]) -> Result<Accepted, ResponseError> {
    check_with(&mut handshake(), bytes).map(|(a, _)| a)
}

fn refused(bytes: &[u8]) -> ResponseError {
    check(bytes).expect_err("response should be refused")
}

fn feed_cut(
    mut h: ClientHandshake,
    data: &[u8],
    cuts: &[usize],
) -> Result<Option<(Accepted, usize)>, ResponseError> {
    let mut start = 0;
    let mut bounds: Vec<usize> = cuts.iter().copied().filter(|&c| c < data.len()).collect();
    bounds.push(data.len());
    for end in bounds {
        if let Progress::Complete { value, consumed } = h.handle_data(&data[start..end])? {
            return Ok(Some((value, start + consumed)));
        }
        start = end;
    }
    Ok(None)
}

// --- RFC 6455 §1.2: the RFC's example as data --------------------------------------------

#[test]
fn rfc6455_1_2_example_request_byte_for_byte_and_response_accepted() {
    let recs = vectors::load("tests/vectors/handshake_rfc6455.txt");
    let rec = recs
        .iter()
        .find(|r| r.try_get("name") == Some("rfc6455-1.2"))
        .unwrap();
    let nonce: [u8; 16] = rec.hex("nonce_hex").try_into().unwrap();
    let mut request = ClientRequest::new(rec.get("url"))
        .unwrap()
        .with_origin(rec.get("origin"))
        .unwrap();
    for p in rec.get("protocols").split(", ") {
        request = request.with_protocol(p).unwrap();
    }
    let mut h = ClientHandshake::new(request, nonce);
    assert_eq!(
        String::from_utf8(h.request_bytes()).unwrap(),
        String::from_utf8(rec.unescaped("request")).unwrap()
    );
    let response = rec.unescaped("response");
    let (accepted, consumed) = check_with(&mut h, &response).unwrap();
    assert_eq!(consumed, response.len());
    assert_eq!(accepted.protocol(), Some(rec.get("chosen")));
    assert!(accepted.extensions().is_empty());
}

#[test]
fn rfc6455_4_1_key_is_the_callers_nonce_in_base64() {
    let recs = vectors::load("tests/vectors/handshake_rfc6455.txt");
    let rec = recs.iter().find(|r| r.try_get("accept").is_some()).unwrap();
    let nonce: [u8; 16] = rec.hex("nonce_hex").try_into().unwrap();
    let h = ClientHandshake::new(ClientRequest::new("ws://h/").unwrap(), nonce);
    assert_eq!(h.key(), rec.get("key"));
}

// --- §4.1 item 1: status ------------------------------------------------------------------

#[test]
fn rfc6455_4_1_status_other_than_101_is_reported_with_the_status() {
    for (code, reason) in [
        (200, "OK"),
        (302, "Found"),
        (401, "Unauthorized"),
        (403, "Forbidden"),
    ] {
        let mut lines = base();
        lines[0] = format!("HTTP/1.1 {code} {reason}");
        lines.push("Location: wss://elsewhere.example/".into());
        lines.push("Content-Length: 4".into());
        let mut bytes = build(&lines);
        bytes.extend_from_slice(b"nope");
        match refused(&bytes) {
            ResponseError::UnexpectedStatus { status, headers } => {
                assert_eq!(status.as_u16(), code);
                // Kept for HTTP procedures such as following a redirect.
                assert_eq!(headers[http::header::LOCATION], "wss://elsewhere.example/");
            }
            other => panic!("{other:?}"),
        }
    }
    // A rejection built by our own server reads back as its status.
    let rejection = Rejection::new(StatusCode::NOT_FOUND)
        .unwrap()
        .with_body("no such endpoint")
        .to_bytes();
    assert!(matches!(
        refused(&rejection),
        ResponseError::UnexpectedStatus {
            status: StatusCode::NOT_FOUND,
            ..
        }
    ));
}

#[test]
fn rfc6455_4_1_http_1_0_101_is_refused() {
    let mut lines = base();
    lines[0] = "HTTP/1.0 101 Switching Protocols".into();
    assert_eq!(
        refused(&build(&lines)),
        ResponseError::UnsupportedHttpVersion {
            version: http::Version::HTTP_10
        }
    );
}

// --- §4.1 items 2 and 3: Upgrade and Connection --------------------------------------------

#[test]
fn rfc6455_4_1_upgrade_must_be_websocket_case_insensitively() {
    check(&with("Upgrade", Some("WebSocket"))).unwrap();
    for value in [None, Some("websocket, h2c"), Some("h2c"), Some("")] {
        assert_eq!(
            refused(&with("Upgrade", value)),
            ResponseError::UpgradeNotWebSocket,
            "{value:?}"
        );
    }
    assert_eq!(
        refused(&plus(&["Upgrade: websocket"])),
        ResponseError::UpgradeNotWebSocket
    );
}

#[test]
fn rfc6455_4_1_connection_must_list_upgrade() {
    check(&with("Connection", Some("keep-alive, UPGRADE"))).unwrap();
    for value in [None, Some("keep-alive"), Some("upgrades")] {
        assert_eq!(
            refused(&with("Connection", value)),
            ResponseError::ConnectionNotUpgrade,
            "{value:?}"
        );
    }
}

// --- §4.1 item 4: Sec-WebSocket-Accept ---------------------------------------------------

#[test]
fn rfc6455_4_1_accept_must_match_the_key() {
    assert_eq!(
        refused(&with("Sec-WebSocket-Accept", None)),
        ResponseError::MissingAccept
    );
    for wrong in [
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOp=",
        "S3PPLMBITXAQ9KYGZZHZRBK+XOO=",
        "",
        "dGhlIHNhbXBsZSBub25jZQ==",
    ] {
        assert_eq!(
            refused(&with("Sec-WebSocket-Accept", Some(wrong))),
            ResponseError::AcceptMismatch,
            "{wrong:?}"
        );
    }
    assert_eq!(
        refused(&plus(&[&format!("Sec-WebSocket-Accept: {ACCEPT}")])),
        ResponseError::DuplicateHeader {
            name: http::header::SEC_WEBSOCKET_ACCEPT
        }
    );
    // Another key gives another accept value.
    let mut other = ClientHandshake::new(ClientRequest::new("ws://h/").unwrap(), [7; 16]);
    assert_eq!(
        check_with(&mut other, &build(&base())).unwrap_err(),
        ResponseError::AcceptMismatch
    );
}

// --- §4.1 item 5: extensions --------------------------------------------------------------

#[test]
fn rfc6455_4_1_only_offered_extensions_may_be_agreed() {
    let a = check(&plus(&[
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10",
    ]))
    .unwrap();
    assert_eq!(a.extensions().len(), 1);
    assert_eq!(
        a.extensions()[0].param("client_max_window_bits"),
        Some(Some("10"))
    );
    assert_eq!(
        refused(&plus(&["Sec-WebSocket-Extensions: x-webkit-deflate-frame"])),
        ResponseError::ExtensionNotOffered {
            name: "x-webkit-deflate-frame".into()
        }
    );
    assert_eq!(
        refused(&plus(&[
            "Sec-WebSocket-Extensions: permessage-deflate",
            "Sec-WebSocket-Extensions: mux",
        ])),
        ResponseError::ExtensionNotOffered { name: "mux".into() }
    );
    assert!(matches!(
        refused(&plus(&[
            "Sec-WebSocket-Extensions: permessage-deflate; x=\"a b\""
        ])),
        ResponseError::InvalidExtensions(_)
    ));
    // Nothing offered: nothing may be agreed.
    let mut bare = ClientHandshake::new(ClientRequest::new("ws://h/").unwrap(), NONCE);
    assert!(matches!(
        check_with(
            &mut bare,
            &plus(&["Sec-WebSocket-Extensions: permessage-deflate"])
        ),
        Err(ResponseError::ExtensionNotOffered { .. })
    ));
}

// --- §4.1 item 6: subprotocol -------------------------------------------------------------

#[test]
fn rfc6455_4_1_subprotocol_must_be_one_offered() {
    assert_eq!(
        check(&plus(&["Sec-WebSocket-Protocol: superchat"]))
            .unwrap()
            .protocol(),
        Some("superchat")
    );
    assert_eq!(check(&build(&base())).unwrap().protocol(), None);
    assert_eq!(
        refused(&plus(&["Sec-WebSocket-Protocol: mqtt"])),
        ResponseError::ProtocolNotOffered {
            protocol: "mqtt".into()
        }
    );
    assert_eq!(
        refused(&plus(&["Sec-WebSocket-Protocol: Chat"])),
        ResponseError::ProtocolNotOffered {
            protocol: "Chat".into()
        }
    );
    for bad in ["chat, superchat", "", "a b"] {
        assert_eq!(
            refused(&plus(&[&format!("Sec-WebSocket-Protocol: {bad}")])),
            ResponseError::InvalidProtocol,
            "{bad:?}"
        );
    }
    assert_eq!(
        refused(&plus(&[
            "Sec-WebSocket-Protocol: chat",
            "Sec-WebSocket-Protocol: chat"
        ])),
        ResponseError::DuplicateHeader {
            name: http::header::SEC_WEBSOCKET_PROTOCOL
        }
    );
    // None offered: none may be chosen; none chosen is fine.
    let mut bare = ClientHandshake::new(ClientRequest::new("ws://h/").unwrap(), NONCE);
    assert!(matches!(
        check_with(&mut bare, &plus(&["Sec-WebSocket-Protocol: chat"])),
        Err(ResponseError::ProtocolNotOffered { .. })
    ));
    let mut bare = ClientHandshake::new(ClientRequest::new("ws://h/").unwrap(), NONCE);
    assert_eq!(
        check_with(&mut bare, &build(&base())).unwrap().0.protocol(),
        None
    );
}

// --- HTTP/1.1 syntax and caps --------------------------------------------------------------

#[test]
fn malformed_responses_are_refused() {
    let cases: [&[u8]; 5] = [
        b"HTTP/1.1 1O1 Switching\r\n\r\n",
        b"HTTP/2 101 Switching\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 101 Switching\r\nUpgrade : websocket\r\n\r\n",
        b"HTTP/1.1 101 Switching\r\nUpgrade: web\rsocket\r\n\r\n",
    ];
    for case in cases {
        assert!(
            matches!(refused(case), ResponseError::Malformed(_)),
            "{:?}",
            String::from_utf8_lossy(case)
        );
    }
}

#[test]
fn caps_at_and_past_the_edge() {
    let status_line = |len: usize| {
        let mut lines = base();
        let fixed = "HTTP/1.1 101 ".len();
        lines[0] = format!("HTTP/1.1 101 {}", "S".repeat(len - fixed));
        build(&lines)
    };
    check(&status_line(8192)).unwrap();
    assert_eq!(
        refused(&status_line(8193)),
        ResponseError::StatusLineTooLong { limit: 8192 }
    );
    let header_line = |len: usize| plus(&[&format!("X: {}", "a".repeat(len - 3))]);
    check(&header_line(8192)).unwrap();
    assert_eq!(
        refused(&header_line(8193)),
        ResponseError::HeaderLineTooLong { limit: 8192 }
    );
    let headers = |n: usize| {
        let extra: Vec<String> = (0..n).map(|i| format!("X-{i}: v")).collect();
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        plus(&extra)
    };
    check(&headers(125)).unwrap();
    assert_eq!(
        refused(&headers(126)),
        ResponseError::TooManyHeaders { limit: 128 }
    );
    let mut limits = HeadLimits::default();
    limits.max_head_len = 200;
    let mut small = ClientHandshake::with_limits(
        ClientRequest::new("ws://server.example.com/chat").unwrap(),
        NONCE,
        limits,
    );
    assert_eq!(small.limits().max_head_len, 200);
    assert_eq!(
        check_with(&mut small, &plus(&[&format!("X: {}", "a".repeat(100))])).unwrap_err(),
        ResponseError::HeadTooLarge { limit: 200 }
    );
}

#[test]
fn response_head_over_64_kib_fed_one_byte_at_a_time_is_refused() {
    let mut data = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
    while data.len() <= 64 * 1024 {
        data.extend_from_slice(b"X-Pad: ");
        data.extend(std::iter::repeat_n(b'a', 4000));
        data.extend_from_slice(b"\r\n");
    }
    let mut h = handshake();
    let mut result = Ok(Progress::Partial);
    for b in &data {
        result = h.handle_data(std::slice::from_ref(b));
        if result.is_err() {
            break;
        }
    }
    assert_eq!(
        result.unwrap_err(),
        ResponseError::HeadTooLarge { limit: 65536 }
    );
}

// --- After the head ----------------------------------------------------------------------

#[test]
fn bytes_after_the_head_belong_to_the_connection() {
    let mut data = build(&base());
    let head_len = data.len();
    data.extend_from_slice(b"\x81\x05Hello\x89\x00");
    let (_, consumed) = check_with(&mut handshake(), &data).unwrap();
    assert_eq!(consumed, head_len);
    let (_, consumed) = feed_cut(handshake(), &data, &[1, 20, head_len - 2, head_len + 3])
        .unwrap()
        .unwrap();
    assert_eq!(consumed, head_len);
}

#[test]
fn errors_are_sticky() {
    let mut h = handshake();
    let err = h
        .handle_data(b"HTTP/1.1 403 Forbidden\r\n\r\n")
        .unwrap_err();
    assert_eq!(h.handle_data(&build(&base())), Err(err));
}

// --- hyper: validate_response shares the checks -------------------------------------------

#[test]
fn validate_response_gives_the_same_verdicts_as_raw_bytes() {
    let variants = [
        build(&base()),
        with("Upgrade", None),
        with("Sec-WebSocket-Accept", Some("x")),
        plus(&["Sec-WebSocket-Protocol: chat"]),
        plus(&["Sec-WebSocket-Protocol: mqtt"]),
        plus(&["Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"]),
        plus(&["Sec-WebSocket-Extensions: mux"]),
        b"HTTP/1.1 403 Forbidden\r\n\r\n".to_vec(),
    ];
    for bytes in variants {
        let raw = check(&bytes);
        let mut slots = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Response::new(&mut slots);
        parsed.parse(&bytes).unwrap();
        let mut b = http::Response::builder().status(parsed.code.unwrap());
        for h in parsed.headers.iter() {
            b = b.header(h.name, h.value);
        }
        let (parts, ()) = b.body(()).unwrap().into_parts();
        assert_eq!(handshake().validate_response(&parts), raw);
    }
}

#[test]
fn to_http_request_matches_request_bytes() {
    let h = handshake();
    let req = h.to_http_request();
    assert_eq!(req.method(), http::Method::GET);
    assert_eq!(req.uri(), "/chat");
    let text = String::from_utf8(h.request_bytes()).unwrap();
    for (name, value) in req.headers() {
        let line = format!("\r\n{}: {}\r\n", name, value.to_str().unwrap()).to_lowercase();
        assert!(text.to_lowercase().contains(&line), "{line:?} in {text:?}");
    }
}

// --- Both roles back to back ---------------------------------------------------------------

#[test]
fn client_and_server_agree() {
    let request = ClientRequest::new("ws://localhost:9001/echo?x=1")
        .unwrap()
        .with_origin("http://localhost")
        .unwrap()
        .with_protocol("v1.chat")
        .unwrap()
        .with_protocol("v2.chat")
        .unwrap()
        .with_extension(
            ExtensionOffer::new("permessage-deflate")
                .with_param_value("server_max_window_bits", "10"),
        )
        .unwrap()
        .with_extension(ExtensionOffer::new("permessage-deflate"))
        .unwrap();
    let mut client = ClientHandshake::new(request, [0x5a; 16]);
    let mut parser = RequestParser::new();
    let Progress::Complete {
        value: req,
        consumed,
    } = parser.handle_data(&client.request_bytes()).unwrap()
    else {
        panic!("partial")
    };
    assert_eq!(consumed, client.request_bytes().len());
    assert_eq!(
        (req.host(), req.path(), req.query()),
        ("localhost:9001", "/echo", Some("x=1"))
    );
    assert_eq!(req.origin(), Some("http://localhost"));
    assert_eq!(req.protocols(), ["v1.chat", "v2.chat"]);
    assert_eq!(req.extensions(), client.request().extensions());
    let response = req
        .accept(
            &Accept::new()
                .with_protocol("v2.chat")
                .with_extensions("permessage-deflate; server_max_window_bits=10"),
        )
        .unwrap();
    let (accepted, consumed) = check_with(&mut client, &response).unwrap();
    assert_eq!(consumed, response.len());
    assert_eq!(accepted.protocol(), Some("v2.chat"));
    assert_eq!(
        accepted.extensions(),
        [ExtensionOffer::new("permessage-deflate")
            .with_param_value("server_max_window_bits", "10")]
    );
}

// --- Chunking invariance -------------------------------------------------------------------

fn valid_response() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::option::of(prop::sample::select(vec!["chat", "superchat"])),
        any::<bool>(),
        prop::collection::vec("[A-Za-z-]{1,10}: [ -~]{0,20}", 0..4),
        any::<bool>(),
    )
        .prop_map(|(protocol, deflate, extra, lf)| {
            let mut lines = base();
            if let Some(p) = protocol {
                lines.push(format!("Sec-WebSocket-Protocol: {p}"));
            }
            if deflate {
                lines.push("Sec-WebSocket-Extensions: permessage-deflate".into());
            }
            lines.extend(extra);
            let mut bytes = build(&lines);
            if lf {
                bytes = bare_lf(&bytes);
            }
            bytes
        })
}

proptest! {
    #[test]
    fn any_split_of_a_valid_response_gives_the_same_result(
        data in valid_response(),
        cuts in cuts(300),
    ) {
        let whole = feed_cut(handshake(), &data, &[]);
        // Extra headers may collide with checked ones (a second Upgrade, say); the point
        // is agreement, and most cases are accepted.
        prop_assert_eq!(feed_cut(handshake(), &data, &cuts), whole.clone());
        let bytewise: Vec<usize> = (1..data.len()).collect();
        prop_assert_eq!(feed_cut(handshake(), &data, &bytewise), whole);
    }

    #[test]
    fn any_split_of_a_mutated_response_gives_the_same_result(
        data in mutated(valid_response()),
        cuts in cuts(300),
    ) {
        let whole = feed_cut(handshake(), &data, &[]);
        prop_assert_eq!(feed_cut(handshake(), &data, &cuts), whole.clone());
        let bytewise: Vec<usize> = (1..data.len()).collect();
        prop_assert_eq!(feed_cut(handshake(), &data, &bytewise), whole.clone());
        if let Ok(Some((accepted, consumed))) = whole {
            prop_assert!(consumed <= data.len());
            if let Some(p) = accepted.protocol() {
                prop_assert!(p == "chat" || p == "superchat");
            }
            for e in accepted.extensions() {
                prop_assert_eq!(e.name.as_str(), "permessage-deflate");
            }
        }
    }

    #[test]
    fn any_split_of_random_bytes_gives_the_same_result(
        data in prop::collection::vec(any::<u8>(), 0..300),
        cuts in cuts(300),
    ) {
        prop_assert_eq!(
            feed_cut(handshake(), &data, &cuts),
            feed_cut(handshake(), &data, &[])
        );
    }
}
