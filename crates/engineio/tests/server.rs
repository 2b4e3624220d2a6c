//! Server scenarios with simulated time: handshake on both transports, errors, batching,
//! duplicate and aborted polls, closing, upgrade (with noops), heartbeats in v3 and v4, limits.

use std::time::Duration;

use http::StatusCode;
use sockeye_engineio::server::{
    Attach, CloseReason, ErrorCode, Event, RequestMethod, Route, Transport,
};
use sockeye_engineio::{Data, ServerConfig};
use sockeye_test_support::engineio::{ServerHarness, fixed_sid};

const V4: &str = "EIO=4&transport=polling";
const V3: &str = "EIO=3&transport=polling";

fn config() -> ServerConfig {
    ServerConfig::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .allow_eio3(true)
        .build()
        .unwrap()
}

fn open_json(upgrades: &str) -> String {
    format!(
        r#"0{{"sid":"{}","upgrades":{upgrades},"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}}"#,
        fixed_sid()
    )
}

/// A polling session whose handshake poll has been answered.
fn polling(query: &str) -> ServerHarness {
    let mut h = ServerHarness::new(config());
    let Ok(Attach::Request(id)) = h.open(query, false) else {
        panic!("handshake failed")
    };
    assert!(h.response(id).is_some());
    h
}

fn error_body(code: ErrorCode) -> Vec<u8> {
    format!(
        r#"{{"code":{},"message":"{}"}}"#,
        code as u8,
        code.message()
    )
    .into_bytes()
}

fn assert_error(res: &http::Response<bytes::Bytes>, code: ErrorCode) {
    assert_eq!(res.status(), code.status());
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.body().as_ref(), error_body(code));
}

fn closed(h: &ServerHarness) -> Option<CloseReason> {
    h.events.iter().find_map(|e| match e {
        Event::Closed(r) => Some(*r),
        _ => None,
    })
}

// ---- handshake ---------------------------------------------------------------------------

#[test]
fn polling_handshake_answers_the_open_packet() {
    let mut h = ServerHarness::new(config());
    let Ok(Attach::Request(id)) = h.open(V4, false) else {
        panic!()
    };
    assert_eq!(h.body(id), open_json(r#"["websocket"]"#).as_bytes());
    assert_eq!(
        h.responses[&id].headers()["content-type"],
        "text/plain; charset=UTF-8"
    );
    // The open JSON has exactly the five keys.
    let json: serde_json::Value = serde_json::from_slice(&h.body(id)[1..]).unwrap();
    let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(fixed_sid().as_str().len(), 20);
}

#[test]
fn websocket_handshake_sends_the_open_packet_as_a_frame() {
    let mut h = ServerHarness::new(config());
    let Ok(Attach::Socket(s)) = h.open("EIO=4&transport=websocket", true) else {
        panic!()
    };
    assert_eq!(h.frames_on(s), [open_json("[]")]);
    assert_eq!(h.session().transport(), Transport::WebSocket);
}

#[test]
fn v3_handshake_uses_length_prefixes() {
    let mut h = ServerHarness::new(config());
    let Ok(Attach::Request(id)) = h.open(V3, false) else {
        panic!()
    };
    let open = open_json(r#"["websocket"]"#);
    assert_eq!(h.body(id), format!("{}:{open}", open.len()).as_bytes());
}

#[test]
fn no_upgrades_offered_when_websocket_is_off() {
    let config = ServerConfig::builder()
        .transports(sockeye_engineio::Transports {
            polling: true,
            websocket: false,
        })
        .build()
        .unwrap();
    let mut h = ServerHarness::new(config);
    let Ok(Attach::Request(id)) = h.open(V4, false) else {
        panic!()
    };
    assert!(
        std::str::from_utf8(h.body(id))
            .unwrap()
            .contains(r#""upgrades":[]"#)
    );
    assert!(h.open("EIO=4&transport=websocket", true).is_err());
}

#[test]
fn handshake_errors_use_the_reference_codes() {
    let h = ServerHarness::new(ServerConfig::default());
    let cases: &[(RequestMethod, &str, bool, ErrorCode)] = &[
        (
            RequestMethod::Get,
            "EIO=4",
            false,
            ErrorCode::UnknownTransport,
        ),
        (
            RequestMethod::Get,
            "EIO=4&transport=abc",
            false,
            ErrorCode::UnknownTransport,
        ),
        // CVE-2023-31125: prototype names are not transports.
        (
            RequestMethod::Get,
            "EIO=4&transport=__proto__",
            false,
            ErrorCode::UnknownTransport,
        ),
        (
            RequestMethod::Get,
            "EIO=4&transport=constructor",
            false,
            ErrorCode::UnknownTransport,
        ),
        (
            RequestMethod::Get,
            "EIO=4&transport=webtransport",
            false,
            ErrorCode::UnknownTransport,
        ),
        (
            RequestMethod::Post,
            "EIO=4&transport=polling",
            false,
            ErrorCode::BadHandshakeMethod,
        ),
        (
            RequestMethod::Other,
            "EIO=4&transport=polling",
            false,
            ErrorCode::BadHandshakeMethod,
        ),
        (
            RequestMethod::Get,
            "EIO=3&transport=polling",
            false,
            ErrorCode::UnsupportedProtocolVersion,
        ),
        (
            RequestMethod::Get,
            "transport=polling",
            false,
            ErrorCode::UnsupportedProtocolVersion,
        ),
        (
            RequestMethod::Get,
            "EIO=abc&transport=polling",
            false,
            ErrorCode::UnsupportedProtocolVersion,
        ),
        (
            RequestMethod::Get,
            "EIO=4&transport=websocket",
            false,
            ErrorCode::BadRequest,
        ),
        (
            RequestMethod::Get,
            "EIO=4&transport=polling",
            true,
            ErrorCode::BadRequest,
        ),
        (
            RequestMethod::Get,
            "EIO=4&transport=polling&j=0",
            false,
            ErrorCode::BadRequest,
        ),
        (
            RequestMethod::Other,
            "EIO=4&transport=polling&sid=x",
            false,
            ErrorCode::BadRequest,
        ),
    ];
    for (method, query, ws, code) in cases {
        match h.route(*method, query, *ws) {
            Route::Reject(res) => assert_error(&res, *code),
            other => panic!("{query}: expected {code:?}, got {other:?}"),
        }
    }
    assert_error(&ErrorCode::UnknownSid.response(), ErrorCode::UnknownSid);
    assert_eq!(
        ErrorCode::Forbidden.response().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ErrorCode::Forbidden
            .response_with("no \"way\"")
            .body()
            .as_ref(),
        br#"{"code":4,"message":"no \"way\""}"#
    );
}

#[test]
fn allow_eio3_takes_anything_but_4_as_v3() {
    let h = ServerHarness::new(config());
    for query in [
        "transport=polling",
        "EIO=3&transport=polling",
        "EIO=x&transport=polling",
    ] {
        let Route::Open(hs) = h.route(RequestMethod::Get, query, false) else {
            panic!("{query}")
        };
        assert_eq!(hs.protocol, sockeye_engineio::Protocol::V3);
    }
}

#[test]
fn requests_with_a_sid_route_to_the_session() {
    let h = ServerHarness::new(config());
    let Route::Session { sid, transport } = h.route(
        RequestMethod::Post,
        "EIO=4&transport=polling&sid=abc%2Dd&t=1",
        false,
    ) else {
        panic!()
    };
    assert_eq!((sid.as_str(), transport), ("abc-d", Transport::Polling));
    let Route::Session { transport, .. } = h.route(
        RequestMethod::Get,
        "EIO=4&transport=websocket&sid=abc",
        true,
    ) else {
        panic!()
    };
    assert_eq!(transport, Transport::WebSocket);
}

// ---- polling -------------------------------------------------------------------------------

#[test]
fn a_poll_waits_for_data_and_batches_everything_buffered() {
    let mut h = polling(V4);
    let get = h.get();
    assert!(h.response(get).is_none(), "the poll is parked");
    h.session().send("test1").unwrap();
    h.session().send("test2").unwrap();
    h.session()
        .send(bytes::Bytes::from_static(&[1, 2, 3, 4]))
        .unwrap();
    h.drain();
    assert_eq!(h.body(get), b"4test1\x1e4test2\x1ebAQIDBA==");
    // Nothing left: the next poll parks again.
    let next = h.get();
    assert!(h.response(next).is_none());
}

#[test]
fn a_poll_carries_at_most_16_packets() {
    let mut h = polling(V4);
    for i in 0..20 {
        h.session().send(format!("m{i}")).unwrap();
    }
    let first = h.get();
    assert_eq!(h.body(first).split(|&b| b == 0x1e).count(), 16);
    let second = h.get();
    assert_eq!(h.body(second), b"4m16\x1e4m17\x1e4m18\x1e4m19");
}

#[test]
fn posts_deliver_messages_and_answer_ok() {
    let mut h = polling(V4);
    let post = h.post(b"4hello\x1ebAQIDBA==\x1e4world");
    assert_eq!(h.body(post), b"ok");
    assert_eq!(h.responses[&post].headers()["content-type"], "text/html");
    assert_eq!(
        h.take_events(),
        [
            Event::Message(Data::from("hello")),
            Event::Message(Data::from(vec![1u8, 2, 3, 4])),
            Event::Message(Data::from("world")),
        ]
    );
}

#[test]
fn a_post_body_may_arrive_in_chunks() {
    let mut h = polling(V4);
    let post = h.post_start(false);
    for b in b"4hel\x1e4lo" {
        h.post_chunk(post, &[*b]);
    }
    assert!(h.response(post).is_none());
    h.post_end(post);
    assert_eq!(h.body(post), b"ok");
    assert_eq!(
        h.take_events(),
        [
            Event::Message(Data::from("hel")),
            Event::Message(Data::from("lo"))
        ]
    );
}

#[test]
fn v3_posts_in_text_and_binary_form() {
    let mut h = polling(V3);
    let post = h.post("6:4hello2:4€10:b4AQIDBA==".as_bytes());
    assert_eq!(h.body(post), b"ok");
    let post = h.post_with(
        &[
            0x00, 0x06, 0xff, 0x34, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x01, 0x05, 0xff, 0x04, 1, 2, 3,
            4,
        ],
        true,
    );
    assert_eq!(h.body(post), b"ok");
    assert_eq!(
        h.take_events(),
        [
            Event::Message(Data::from("hello")),
            Event::Message(Data::from("€")),
            Event::Message(Data::from(vec![1u8, 2, 3, 4])),
            Event::Message(Data::from("hello")),
            Event::Message(Data::from(vec![1u8, 2, 3, 4])),
        ]
    );
}

#[test]
fn v3_polls_answer_binary_in_xhr2_form_unless_b64() {
    let mut h = polling(V3);
    h.session().send("hello").unwrap();
    h.session().send(vec![1u8, 2, 3, 4]).unwrap();
    let get = h.get();
    assert_eq!(
        h.body(get),
        [
            0x00, 0x06, 0xff, 0x34, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x01, 0x05, 0xff, 0x04, 1, 2, 3,
            4
        ]
    );
    assert_eq!(
        h.responses[&get].headers()["content-type"],
        "application/octet-stream"
    );

    let mut h = polling("EIO=3&transport=polling&b64=1");
    h.session().send("hello").unwrap();
    h.session().send(vec![1u8, 2, 3, 4]).unwrap();
    let get = h.get();
    assert_eq!(h.body(get), b"6:4hello10:b4AQIDBA==");
}

#[test]
fn a_second_poll_closes_the_session() {
    let mut h = polling(V4);
    let first = h.get();
    let second = h.get();
    assert_eq!(h.body(first), b"1");
    assert_error(&h.responses[&second], ErrorCode::BadRequest);
    assert_eq!(closed(&h), Some(CloseReason::TransportError));
    // Later requests: the session is gone.
    let later = h.get();
    assert_error(&h.responses[&later], ErrorCode::UnknownSid);
}

#[test]
fn a_second_post_closes_the_session() {
    let mut h = polling(V4);
    let first = h.post_start(false);
    let second = h.post(b"4x");
    assert_error(&h.responses[&second], ErrorCode::BadRequest);
    assert_error(&h.responses[&first], ErrorCode::BadRequest);
    assert_eq!(closed(&h), Some(CloseReason::TransportError));
}

#[test]
fn an_aborted_poll_closes_the_session() {
    let mut h = polling(V4);
    let get = h.get();
    h.abort(get);
    assert_eq!(closed(&h), Some(CloseReason::TransportError));
    assert!(h.response(get).is_none(), "nobody to answer");
    // Aborting a request already answered changes nothing.
    let mut h = polling(V4);
    let post = h.post(b"4a");
    h.abort(post);
    assert_eq!(closed(&h), None);
}

#[test]
fn posting_close_releases_the_poll_with_a_noop() {
    let mut h = polling(V4);
    let get = h.get();
    let post = h.post(b"1");
    assert_eq!(h.body(post), b"ok");
    assert_eq!(h.body(get), b"6");
    assert_eq!(closed(&h), Some(CloseReason::TransportClose));
    let later = h.get();
    assert_eq!(h.response(later).unwrap().0, StatusCode::BAD_REQUEST);
}

#[test]
fn v3_close_by_post() {
    let mut h = polling(V3);
    let get = h.get();
    let post = h.post(b"1:1");
    assert_eq!(h.body(post), b"ok");
    assert_eq!(h.body(get), b"1:6");
    assert_eq!(closed(&h), Some(CloseReason::TransportClose));
}

#[test]
fn a_malformed_post_closes_with_parse_error_after_the_good_packets() {
    let mut h = polling(V4);
    let get = h.get();
    let post = h.post(b"4good\x1eabc");
    assert_error(&h.responses[&post], ErrorCode::BadRequest);
    assert_eq!(h.body(get), b"1");
    assert_eq!(
        h.take_events(),
        [
            Event::Message(Data::from("good")),
            Event::Closed(CloseReason::ParseError)
        ]
    );
}

#[test]
fn oversized_posts_get_413_and_the_session_stays() {
    let config = ServerConfig::builder()
        .max_http_buffer_size(10)
        .build()
        .unwrap();
    let mut h = ServerHarness::new(config);
    h.open(V4, false).unwrap();
    let post = h.post_start(false);
    h.post_chunk(post, b"4123456");
    assert!(h.response(post).is_none());
    h.post_chunk(post, b"7890");
    assert_eq!(
        h.response(post),
        Some((StatusCode::PAYLOAD_TOO_LARGE, &b""[..]))
    );
    // The rest of that body is ignored; the session goes on.
    h.post_chunk(post, b"more");
    h.post_end(post);
    assert_eq!(closed(&h), None);
    let ok = h.post(b"4fits");
    assert_eq!(h.body(ok), b"ok");
    assert_eq!(h.take_events(), [Event::Message(Data::from("fits"))]);
}

#[test]
fn binary_posts_are_refused_in_v4() {
    let mut h = polling(V4);
    let post = h.post_with(b"\x04\x01", true);
    assert_error(&h.responses[&post], ErrorCode::BadRequest);
    assert_eq!(closed(&h), Some(CloseReason::TransportError));
}

// ---- close ---------------------------------------------------------------------------------

#[test]
fn a_forced_close_goes_out_with_the_next_poll() {
    let mut h = polling(V4);
    h.session().send("last").unwrap();
    let now = h.now;
    h.session().close(now);
    assert!(h.session().send("too late").is_err());
    let get = h.get();
    assert_eq!(h.body(get), b"4last\x1e1");
    assert_eq!(closed(&h), Some(CloseReason::ForcedClose));
}

#[test]
fn a_forced_close_gives_up_waiting_for_a_poll() {
    let mut h = ServerHarness::new(ServerConfig::default());
    h.open(V4, false).unwrap();
    let now = h.now;
    h.session().close(now);
    h.advance(Duration::from_secs(29));
    assert_eq!(closed(&h), None);
    h.advance(Duration::from_secs(1));
    assert_eq!(closed(&h), Some(CloseReason::ForcedClose));
}

#[test]
fn a_forced_close_on_websocket_flushes_then_closes_the_socket() {
    let mut h = ServerHarness::new(config());
    let Ok(Attach::Socket(s)) = h.open("EIO=4&transport=websocket", true) else {
        panic!()
    };
    h.session().send("bye").unwrap();
    let now = h.now;
    h.session().shutdown(now);
    h.drain();
    assert_eq!(h.frames_on(s)[1..], ["4bye"]);
    assert_eq!(h.closed_sockets, [s]);
    assert_eq!(closed(&h), Some(CloseReason::ForcedServerClose));
}

// ---- websocket -----------------------------------------------------------------------------

#[test]
fn websocket_messages_both_ways() {
    let mut h = ServerHarness::new(config());
    let Ok(Attach::Socket(s)) = h.open("EIO=4&transport=websocket", true) else {
        panic!()
    };
    h.frame(s, "4hello");
    h.frame(s, Data::from(vec![1u8, 2, 3]));
    assert_eq!(
        h.take_events(),
        [
            Event::Message(Data::from("hello")),
            Event::Message(Data::from(vec![1u8, 2, 3]))
        ]
    );
    h.session().send("hi").unwrap();
    h.session().send(vec![9u8]).unwrap();
    h.drain();
    assert_eq!(h.frames_on(s)[1..], ["4hi", "<09>"]);
}

#[test]
fn v3_websocket_binary_frames_have_a_type_byte() {
    let mut h = ServerHarness::new(config());
    let Ok(Attach::Socket(s)) = h.open("EIO=3&transport=websocket", true) else {
        panic!()
    };
    h.frame(s, Data::from(vec![4u8, 1, 2, 3, 4]));
    assert_eq!(
        h.take_events(),
        [Event::Message(Data::from(vec![1u8, 2, 3, 4]))]
    );
    h.session().send(vec![1u8, 2, 3, 4]).unwrap();
    h.drain();
    assert_eq!(h.frames_on(s)[1..], ["<0401020304>"]);
}

#[test]
fn websocket_close_packet_parse_errors_and_size_limit() {
    for (frame, reason) in [
        (Data::from("1"), CloseReason::TransportClose),
        (Data::from("x"), CloseReason::ParseError),
        (Data::from(""), CloseReason::ParseError),
        (Data::from(vec![0u8; 11]), CloseReason::TransportError),
    ] {
        let config = ServerConfig::builder()
            .max_http_buffer_size(10)
            .build()
            .unwrap();
        let mut h = ServerHarness::new(config);
        let Ok(Attach::Socket(s)) = h.open("EIO=4&transport=websocket", true) else {
            panic!()
        };
        h.frame(s, frame.clone());
        assert_eq!(closed(&h), Some(reason), "{frame:?}");
        assert_eq!(h.closed_sockets, [s]);
    }
}

#[test]
fn the_client_closing_its_websocket_ends_the_session() {
    let mut h = ServerHarness::new(config());
    let Ok(Attach::Socket(s)) = h.open("EIO=4&transport=websocket", true) else {
        panic!()
    };
    h.ws_closed(s);
    assert_eq!(closed(&h), Some(CloseReason::TransportClose));
    assert!(h.closed_sockets.is_empty(), "the peer closed it already");
}

// ---- upgrade -------------------------------------------------------------------------------

#[test]
fn upgrade_from_polling_with_noops_while_upgrading() {
    let mut h = polling(V4);
    let parked = h.get();
    let ws = h.websocket();
    assert!(h.session().is_upgrading());
    h.frame(ws, "2probe");
    assert_eq!(h.frames_on(ws), ["3probe"]);
    // The parked poll is released with a noop, and so is every poll while upgrading.
    assert_eq!(h.body(parked), b"6");
    let again = h.get();
    assert_eq!(h.body(again), b"6");
    // Data queued during the upgrade still goes out on polling if a poll comes.
    h.session().send("during").unwrap();
    let with_data = h.get();
    assert_eq!(h.body(with_data), b"4during");
    h.frame(ws, "5");
    assert_eq!(h.session().transport(), Transport::WebSocket);
    assert!(h.take_events().contains(&Event::Upgraded));
    // Now everything runs on the WebSocket; polling with the sid is refused.
    h.session().send("after").unwrap();
    h.drain();
    assert_eq!(h.frames_on(ws), ["3probe", "4after"]);
    let late = h.get();
    assert_error(&h.responses[&late], ErrorCode::BadRequest);
    let late_post = h.post(b"4x");
    assert_error(&h.responses[&late_post], ErrorCode::BadRequest);
    // A second WebSocket for the sid is closed.
    let second = h.websocket();
    assert_eq!(h.closed_sockets, [second]);
    assert_eq!(closed(&h), None);
}

#[test]
fn a_poll_parked_at_upgrade_completion_gets_a_noop() {
    // The reference accepts `5` without a probe; a poll parked then is released.
    let mut h = polling(V4);
    let parked = h.get();
    let ws = h.websocket();
    assert!(h.response(parked).is_none(), "no noop before the probe");
    h.frame(ws, "5");
    assert_eq!(h.body(parked), b"6");
    assert_eq!(h.session().transport(), Transport::WebSocket);
}

#[test]
fn data_queued_before_the_probe_rides_the_parked_poll() {
    let mut h = polling(V4);
    let parked = h.get();
    let ws = h.websocket();
    let now = h.now;
    h.session().send("x").unwrap();
    h.session().handle_ws_frame(now, ws, Data::from("2probe"));
    h.drain();
    assert_eq!(h.body(parked), b"4x");
}

#[test]
fn a_second_websocket_while_upgrading_is_closed() {
    let mut h = polling(V4);
    let first = h.websocket();
    let second = h.websocket();
    assert_eq!(h.closed_sockets, [second]);
    h.frame(first, "2probe");
    h.frame(first, "5");
    assert_eq!(h.session().transport(), Transport::WebSocket);
}

#[test]
fn anything_else_on_the_probing_socket_aborts_the_upgrade() {
    let mut h = polling(V4);
    let ws = h.websocket();
    h.frame(ws, "4hello");
    assert_eq!(h.closed_sockets, [ws]);
    assert!(!h.session().is_upgrading());
    assert_eq!(h.session().transport(), Transport::Polling);
    assert_eq!(closed(&h), None);
    // A new attempt may follow.
    let ws2 = h.websocket();
    h.frame(ws2, "2probe");
    h.frame(ws2, "5");
    assert_eq!(h.session().transport(), Transport::WebSocket);
}

#[test]
fn the_upgrade_times_out() {
    let mut h = ServerHarness::new(ServerConfig::default());
    h.open(V4, false).unwrap();
    let ws = h.websocket();
    h.frame(ws, "2probe");
    h.advance(Duration::from_millis(9_999));
    assert!(h.session().is_upgrading());
    h.advance(Duration::from_millis(1));
    assert!(!h.session().is_upgrading());
    assert_eq!(h.closed_sockets, [ws]);
    assert_eq!(h.session().transport(), Transport::Polling);
}

#[test]
fn v3_upgrade() {
    let mut h = polling(V3);
    let parked = h.get();
    let ws = h.websocket();
    h.frame(ws, "2probe");
    assert_eq!(h.frames_on(ws), ["3probe"]);
    assert_eq!(h.body(parked), b"1:6");
    h.frame(ws, "5");
    h.session().send(vec![1u8]).unwrap();
    h.drain();
    assert_eq!(h.frames_on(ws), ["3probe", "<0401>"]);
}

// ---- heartbeat -----------------------------------------------------------------------------

#[test]
fn v4_server_pings_at_a_fixed_rate_and_times_out() {
    let mut h = polling(V4);
    let get = h.get();
    h.advance(Duration::from_millis(299));
    assert!(h.response(get).is_none());
    h.advance(Duration::from_millis(1));
    assert_eq!(h.body(get), b"2");
    h.advance(Duration::from_millis(50));
    let pong = h.post(b"3");
    assert_eq!(h.body(pong), b"ok");
    // The next ping is due 300 ms after the first, whatever the pong's timing.
    let get = h.get();
    h.advance(Duration::from_millis(249));
    assert!(h.response(get).is_none());
    h.advance(Duration::from_millis(1));
    assert_eq!(h.body(get), b"2");
    // No pong this time: closed 200 ms after the ping.
    h.advance(Duration::from_millis(199));
    assert_eq!(closed(&h), None);
    h.advance(Duration::from_millis(1));
    assert_eq!(closed(&h), Some(CloseReason::PingTimeout));
}

#[test]
fn v4_ping_timeout_counts_from_when_the_ping_was_due() {
    let mut h = polling(V4);
    let get = h.get();
    // The driver's timer fires 10 ms late: the ping goes out then, but the client's 200 ms
    // run from when it was due (300 ms), as the client's own interval + timeout do.
    h.now += Duration::from_millis(310);
    let now = h.now;
    h.session().handle_timeout(now);
    h.drain();
    assert_eq!(h.body(get), b"2");
    h.advance(Duration::from_millis(189));
    assert_eq!(closed(&h), None);
    h.advance(Duration::from_millis(1));
    assert_eq!(closed(&h), Some(CloseReason::PingTimeout));
    // A driver stalled past the whole timeout still gives the client all of it.
    let mut h = polling(V4);
    let get = h.get();
    h.now += Duration::from_millis(600);
    let now = h.now;
    h.session().handle_timeout(now);
    h.drain();
    assert_eq!(h.body(get), b"2");
    assert_eq!(closed(&h), None);
    h.advance(Duration::from_millis(199));
    assert_eq!(closed(&h), None);
    h.advance(Duration::from_millis(1));
    assert_eq!(closed(&h), Some(CloseReason::PingTimeout));
}

#[test]
fn v4_websocket_heartbeat() {
    let mut h = ServerHarness::new(config());
    let Ok(Attach::Socket(s)) = h.open("EIO=4&transport=websocket", true) else {
        panic!()
    };
    for _ in 0..3 {
        h.advance(Duration::from_millis(300));
        h.frame(s, "3");
    }
    assert_eq!(h.frames_on(s)[1..], ["2", "2", "2"]);
    assert_eq!(closed(&h), None);
    h.advance(Duration::from_millis(500));
    assert_eq!(closed(&h), Some(CloseReason::PingTimeout));
}

#[test]
fn a_v4_client_ping_is_an_error() {
    let mut h = polling(V4);
    h.post(b"2");
    assert_eq!(closed(&h), Some(CloseReason::TransportError));
}

#[test]
fn v3_client_pings_and_the_server_pongs() {
    let mut h = polling(V3);
    h.advance(Duration::from_millis(400));
    let post = h.post(b"1:2");
    assert_eq!(h.body(post), b"ok");
    let get = h.get();
    assert_eq!(h.body(get), b"1:3");
    // The timeout is ping_interval + ping_timeout after the last ping.
    h.advance(Duration::from_millis(499));
    assert_eq!(closed(&h), None);
    h.advance(Duration::from_millis(1));
    assert_eq!(closed(&h), Some(CloseReason::PingTimeout));
}

#[test]
fn a_v3_client_pong_is_an_error() {
    let mut h = polling(V3);
    h.post(b"1:3");
    assert_eq!(closed(&h), Some(CloseReason::TransportError));
}

#[test]
fn spurious_timeouts_do_nothing() {
    let mut h = polling(V4);
    let now = h.now;
    for _ in 0..3 {
        h.session().handle_timeout(now);
    }
    h.drain();
    assert!(h.events.is_empty());
    assert_eq!(
        h.session().poll_timeout(),
        Some(now + Duration::from_millis(300))
    );
}

// ---- JSONP ---------------------------------------------------------------------------------

#[test]
fn jsonp_polling_when_enabled() {
    let config = ServerConfig::builder()
        .allow_eio3(true)
        .jsonp(true)
        .build()
        .unwrap();
    let mut h = ServerHarness::new(config);
    let Ok(Attach::Request(id)) = h.open("EIO=3&transport=polling&j=4", false) else {
        panic!()
    };
    let body = std::str::from_utf8(h.body(id)).unwrap();
    assert!(
        body.starts_with("___eio[4](\"") && body.ends_with("\");"),
        "{body}"
    );
    assert!(body.contains(r#"0{\"sid\":"#));
    // The client posts an url-encoded form; `\\n` stands for a newline.
    let post = h.post(b"d=11%3A4line%5Cnbreak");
    assert_eq!(h.body(post), b"ok");
    assert_eq!(h.take_events(), [Event::Message(Data::from("line\nbreak"))]);
    h.session().send("a\u{2028}b").unwrap();
    let get = h.get();
    assert_eq!(h.body(get), "___eio[4](\"4:4a\\u2028b\");".as_bytes());
    // A form without `d` is malformed.
    let bad = h.post(b"x=1");
    assert_error(&h.responses[&bad], ErrorCode::BadRequest);
    assert_eq!(closed(&h), Some(CloseReason::ParseError));
}

// ---- bounded memory ------------------------------------------------------------------------

#[test]
fn a_post_of_many_packets_is_delivered_one_event_at_a_time() {
    let mut h = polling(V4);
    let body = vec![&b"4"[..]; 100_000].join(&b"\x1e"[..]);
    let now = h.now;
    let head = sockeye_engineio::server::RequestHead::new(RequestMethod::Post, "", false);
    let session = h.session();
    let post = session.handle_request(now, &head);
    session.handle_post_data(now, post, &body);
    session.handle_post_end(now, post);
    // Drive it by hand: each poll_event decodes one packet; the answer follows the last.
    let mut events = 0;
    loop {
        if let Some(t) = session.poll_transmit() {
            let sockeye_engineio::server::Transmit::Response { request, response } = t else {
                panic!()
            };
            assert_eq!((request, response.body().as_ref()), (post, &b"ok"[..]));
            assert_eq!(events, 100_000);
            break;
        }
        assert_eq!(session.poll_event(), Some(Event::Message(Data::from(""))));
        events += 1;
    }
}

#[test]
fn a_driver_that_skips_draining_still_sees_every_packet_first() {
    let mut h = polling(V4);
    let now = h.now;
    let head = sockeye_engineio::server::RequestHead::new(RequestMethod::Post, "", false);
    let session = h.session();
    let post = session.handle_request(now, &head);
    session.handle_post_data(now, post, b"4a\x1e4b");
    session.handle_post_end(now, post);
    // Another input before draining: the POST's packets are handled before it.
    let get = session.handle_request(
        now,
        &sockeye_engineio::server::RequestHead::new(RequestMethod::Get, "", false),
    );
    h.drain();
    assert_eq!(
        h.take_events(),
        [
            Event::Message(Data::from("a")),
            Event::Message(Data::from("b"))
        ]
    );
    assert_eq!(h.body(post), b"ok");
    assert!(h.response(get).is_none());
}

#[test]
fn many_v3_pings_in_one_post_get_one_pong() {
    let mut h = polling(V3);
    let post = h.post(&b"1:2".repeat(1000));
    assert_eq!(h.body(post), b"ok");
    let get = h.get();
    assert_eq!(h.body(get), b"1:3");
}
