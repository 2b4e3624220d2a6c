//! Clean-room conformance tests for Engine.IO v4 and v3: every case the official
//! engine.io-protocol test suites (`docs/engine.io-protocol/v4-test-suite` and
//! `v3-test-suite` in socketio/socket.io) check, written from the behaviour they describe and
//! run against this crate's Engine.IO server configured as those suites expect (path
//! `/engine.io/`, ping interval 300 ms, ping timeout 200 ms, max payload 1 000 000, every
//! message echoed). Each case runs for both revisions where the suites have it for both
//! (`v4::…` and `v3::…`); docs/conformance.md maps suite cases to test names.
//!
//! The suites race requests on separate connections in a few places (a poll next to the POST
//! that closes the session); where they do, these tests leave the first request a moment to
//! reach the server, so they check the behaviour and not the scheduling.

mod protocol;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use protocol::{
    Ws, abandoned_get, closed, get, next, next_text, post, send, try_request, try_ws, ws,
};
use serde_json::Value;
use sockeye_engineio::ServerConfig;
use sockeye_tokio::engineio::{EngineEvent, EngineIo};
use sockeye_tokio::socketio::serve_with;
use sockeye_tokio::sockeye_ws::Message;

const PING_INTERVAL: Duration = Duration::from_millis(300);
const PING_TIMEOUT: Duration = Duration::from_millis(200);
/// Extra time past a deadline, so that "after the deadline" holds on a loaded machine.
const MARGIN: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eio {
    V3,
    V4,
}

impl Eio {
    /// The Engine.IO path with this revision and `rest` as the query.
    fn url(self, rest: &str) -> String {
        let n = if self == Eio::V4 { 4 } else { 3 };
        if rest.is_empty() {
            format!("/engine.io/?EIO={n}")
        } else {
            format!("/engine.io/?EIO={n}&{rest}")
        }
    }

    fn session(self, sid: &str) -> String {
        self.url(&format!("transport=polling&sid={sid}"))
    }

    /// A text payload of `packets`: separated by a record separator (v4), or each behind
    /// its length (v3; the packets here are ASCII, so bytes count as UTF-16 units).
    fn payload(self, packets: &[&str]) -> String {
        match self {
            Eio::V4 => packets.join("\x1e"),
            Eio::V3 => packets.iter().map(|p| format!("{}:{p}", p.len())).collect(),
        }
    }
}

/// The suites' server: an Engine.IO echo; v3 clients accepted only on the v3 server, as
/// with the reference's default `allowEIO3: false`.
async fn server(eio: Eio) -> SocketAddr {
    let config = ServerConfig::builder()
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
        .max_http_buffer_size(1_000_000)
        .allow_eio3(eio == Eio::V3)
        .build()
        .unwrap();
    let (engine, mut events) = EngineIo::new(config);
    tokio::spawn(async move {
        let mut sessions = HashMap::new();
        while let Some(event) = events.recv().await {
            match event {
                EngineEvent::Open { id, handle, .. } => {
                    sessions.insert(id, handle);
                }
                EngineEvent::Message { id, data } => {
                    if let Some(handle) = sessions.get(&id) {
                        let _ = handle.try_send(data);
                    }
                }
                EngineEvent::Closed { id, .. } => {
                    sessions.remove(&id);
                }
                EngineEvent::Upgraded { .. } => {}
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with(listener, move |req| {
        let engine = engine.clone();
        async move {
            if req.uri().path() == "/engine.io/" {
                engine.handle(req).await
            } else {
                let mut res = http::Response::new(Full::new(Bytes::new()));
                *res.status_mut() = http::StatusCode::NOT_FOUND;
                res
            }
        }
    }));
    addr
}

/// The open packet's JSON (`0{…}`).
fn open_json(packet: &str) -> Value {
    let json = packet.strip_prefix('0').expect("an open packet");
    serde_json::from_str(json).expect("open packet JSON")
}

/// The open packet's JSON from a polling handshake body (`0{…}`, or `<len>:0{…}` in a v3
/// payload).
fn open_packet(eio: Eio, body: &str) -> Value {
    match eio {
        Eio::V4 => open_json(body),
        Eio::V3 => {
            let (len, packet) = body.split_once(':').expect("a v3 payload");
            assert_eq!(
                len,
                packet.len().to_string(),
                "v3 length prefix of {body:?}"
            );
            open_json(packet)
        }
    }
}

/// Checks the open packet's fields; `upgrades` as expected for the transport.
fn check_open(eio: Eio, open: &Value, upgrades: &[&str]) {
    let map = open.as_object().expect("an object");
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    // v4 has exactly these; v3 may leave maxPayload out.
    let all = [
        "maxPayload",
        "pingInterval",
        "pingTimeout",
        "sid",
        "upgrades",
    ];
    if eio == Eio::V4 || map.contains_key("maxPayload") {
        assert_eq!(keys, all);
    } else {
        assert_eq!(keys, all[1..]);
    }
    assert!(open["sid"].is_string());
    assert_eq!(open["upgrades"], serde_json::json!(upgrades));
    assert_eq!(open["pingInterval"], 300);
    assert_eq!(open["pingTimeout"], 200);
    if eio == Eio::V4 || map.contains_key("maxPayload") {
        assert_eq!(open["maxPayload"], 1_000_000);
    }
}

/// Opens a polling session (v3: with `b64=1`, as the suite's helper does unless it tests
/// XHR2 binary payloads) and returns its id.
async fn open_polling(addr: SocketAddr, eio: Eio, binary: bool) -> String {
    let query = if eio == Eio::V3 && !binary {
        "transport=polling&b64=1"
    } else {
        "transport=polling"
    };
    let res = get(addr, &eio.url(query)).await;
    assert_eq!(res.status, 200);
    open_packet(eio, res.text())["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A WebSocket session whose open packet has been read.
async fn open_ws(addr: SocketAddr, eio: Eio) -> Ws {
    let mut socket = ws(addr, &eio.url("transport=websocket")).await;
    let open = next_text(&mut socket).await;
    assert!(open.starts_with('0'), "{open:?}");
    socket
}

// ---- handshake ---------------------------------------------------------------------------

/// Suites: handshake / HTTP long-polling / successfully opens a session.
async fn handshake_polling_opens_a_session(eio: Eio) {
    let addr = server(eio).await;
    let res = get(addr, &eio.url("transport=polling")).await;
    assert_eq!(res.status, 200);
    check_open(eio, &open_packet(eio, res.text()), &["websocket"]);
}

/// v4 suite: handshake / HTTP long-polling / fails with an invalid 'EIO' query parameter.
#[tokio::test]
async fn v4_handshake_polling_refuses_an_invalid_eio() {
    let addr = server(Eio::V4).await;
    assert_eq!(get(addr, "/engine.io/?transport=polling").await.status, 400);
    assert_eq!(
        get(addr, "/engine.io/?EIO=abc&transport=polling")
            .await
            .status,
        400
    );
}

/// Suites: handshake / HTTP long-polling / fails with an invalid 'transport' query parameter.
async fn handshake_polling_refuses_an_invalid_transport(eio: Eio) {
    let addr = server(eio).await;
    assert_eq!(get(addr, &eio.url("")).await.status, 400);
    assert_eq!(get(addr, &eio.url("transport=abc")).await.status, 400);
}

/// Suites: handshake / HTTP long-polling / fails with an invalid request method.
async fn handshake_polling_refuses_an_invalid_method(eio: Eio) {
    let addr = server(eio).await;
    let url = eio.url("transport=polling");
    assert_eq!(post(addr, &url, b"").await.status, 400);
    let put = try_request(addr, "PUT", &url, b"").await.unwrap();
    assert_eq!(put.status, 400);
}

/// Suites: handshake / WebSocket / successfully opens a session.
async fn handshake_ws_opens_a_session(eio: Eio) {
    let addr = server(eio).await;
    let mut socket = ws(addr, &eio.url("transport=websocket")).await;
    // No length prefix over WebSocket, in either revision.
    let open = open_json(&next_text(&mut socket).await);
    check_open(eio, &open, &[]);
}

/// v4 suite: handshake / WebSocket / fails with an invalid 'EIO' query parameter.
#[tokio::test]
async fn v4_handshake_ws_refuses_an_invalid_eio() {
    let addr = server(Eio::V4).await;
    assert_eq!(
        try_ws(addr, "/engine.io/?transport=websocket").await.err(),
        Some(400)
    );
    assert_eq!(
        try_ws(addr, "/engine.io/?EIO=abc&transport=websocket")
            .await
            .err(),
        Some(400)
    );
}

/// Suites: handshake / WebSocket / fails with an invalid 'transport' query parameter.
async fn handshake_ws_refuses_an_invalid_transport(eio: Eio) {
    let addr = server(eio).await;
    assert_eq!(try_ws(addr, &eio.url("")).await.err(), Some(400));
    assert_eq!(
        try_ws(addr, &eio.url("transport=abc")).await.err(),
        Some(400)
    );
}

// ---- message -----------------------------------------------------------------------------

/// POSTs `packets` as one payload, then polls them back.
async fn echo_through_polling(eio: Eio, packets: &[&str]) {
    let addr = server(eio).await;
    let sid = open_polling(addr, eio, false).await;
    let body = eio.payload(packets);
    let pushed = post(addr, &eio.session(&sid), body.as_bytes()).await;
    assert_eq!((pushed.status, pushed.text()), (200, "ok"));
    let polled = get(addr, &eio.session(&sid)).await;
    assert_eq!((polled.status, polled.text()), (200, body.as_str()));
}

/// Suites: message / HTTP long-polling / sends and receives a payload containing one plain
/// text packet.
async fn message_polling_one_text_packet(eio: Eio) {
    echo_through_polling(eio, &["4hello"]).await;
}

/// Suites: message / HTTP long-polling / sends and receives a payload containing several
/// plain text packets.
async fn message_polling_several_text_packets(eio: Eio) {
    echo_through_polling(eio, &["4test1", "4test2", "4test3"]).await;
}

/// Suites: message / HTTP long-polling / sends and receives a payload containing plain text
/// and binary packets (v3: "(base64 encoded)").
async fn message_polling_text_and_base64_binary(eio: Eio) {
    let binary = match eio {
        Eio::V4 => "bAQIDBA==",
        Eio::V3 => "b4AQIDBA==",
    };
    echo_through_polling(eio, &["4hello", binary]).await;
}

/// Suites: message / HTTP long-polling / closes the session upon invalid packet format.
async fn message_polling_invalid_packet_closes(eio: Eio) {
    let addr = server(eio).await;
    let sid = open_polling(addr, eio, false).await;
    // A 400, or the connection closed without an answer: either way the session is over.
    if let Ok(res) = try_request(addr, "POST", &eio.session(&sid), b"abc").await {
        assert_eq!(res.status, 400);
    }
    assert_eq!(get(addr, &eio.session(&sid)).await.status, 400);
}

/// Suites: message / HTTP long-polling / closes the session upon duplicate poll requests
/// (v4; skipped in the v3 suite, checked here for both: the first poll gets a CLOSE packet,
/// the second an error, and the session is gone).
async fn message_polling_duplicate_poll_closes(eio: Eio) {
    let addr = server(eio).await;
    let sid = open_polling(addr, eio, false).await;
    let url = eio.session(&sid);
    let first = tokio::spawn(async move { get(addr, &url).await });
    tokio::time::sleep(MARGIN).await;
    let second = get(addr, &format!("{}&t=burst", eio.session(&sid))).await;
    assert!(matches!(second.status, 400 | 500), "{second:?}");
    let first = first.await.unwrap();
    assert_eq!(
        (first.status, first.text()),
        (200, eio.payload(&["1"]).as_str())
    );
    assert_eq!(get(addr, &eio.session(&sid)).await.status, 400);
}

/// Suites: message / HTTP long-polling / closes the session upon cancelled polling request
/// (v4 only; v3 sessions close the same way).
async fn message_polling_cancelled_poll_closes(eio: Eio) {
    let addr = server(eio).await;
    let sid = open_polling(addr, eio, false).await;
    abandoned_get(addr, &eio.session(&sid), Duration::from_millis(5)).await;
    // The server learns of the abort from the closed connection.
    tokio::time::sleep(MARGIN).await;
    assert_eq!(get(addr, &eio.session(&sid)).await.status, 400);
}

/// Suites: message / WebSocket / sends and receives a plain text packet.
async fn message_ws_text_packet(eio: Eio) {
    let addr = server(eio).await;
    let mut socket = open_ws(addr, eio).await;
    send(&mut socket, "4hello").await;
    assert_eq!(next_text(&mut socket).await, "4hello");
}

/// Suites: message / WebSocket / sends and receives a binary packet (v4: raw bytes; v3: the
/// bytes behind a type byte 4).
async fn message_ws_binary_packet(eio: Eio) {
    let addr = server(eio).await;
    let mut socket = open_ws(addr, eio).await;
    let bytes: Vec<u8> = match eio {
        Eio::V4 => vec![1, 2, 3, 4],
        Eio::V3 => vec![4, 1, 2, 3, 4],
    };
    send(&mut socket, bytes.clone()).await;
    assert_eq!(next(&mut socket).await, Some(Message::from(bytes)));
}

/// Suites: message / WebSocket / closes the session upon invalid packet format.
async fn message_ws_invalid_packet_closes(eio: Eio) {
    let addr = server(eio).await;
    let mut socket = open_ws(addr, eio).await;
    send(&mut socket, "abc").await;
    closed(&mut socket).await;
}

// ---- heartbeat ---------------------------------------------------------------------------

/// Suites: heartbeat / HTTP long-polling / sends ping/pong packets (v4: the server pings and
/// the client answers; v3: the client pings and the server answers).
async fn heartbeat_polling_ping_pong(eio: Eio) {
    let addr = server(eio).await;
    let sid = open_polling(addr, eio, false).await;
    for _ in 0..3 {
        match eio {
            Eio::V4 => {
                let polled = get(addr, &eio.session(&sid)).await;
                assert_eq!((polled.status, polled.text()), (200, "2"));
                assert_eq!(post(addr, &eio.session(&sid), b"3").await.status, 200);
            }
            Eio::V3 => {
                assert_eq!(post(addr, &eio.session(&sid), b"1:2").await.status, 200);
                let polled = get(addr, &eio.session(&sid)).await;
                assert_eq!((polled.status, polled.text()), (200, "1:3"));
            }
        }
    }
}

/// Suites: heartbeat / HTTP long-polling / closes the session upon ping timeout.
async fn heartbeat_polling_timeout_closes(eio: Eio) {
    let addr = server(eio).await;
    let sid = open_polling(addr, eio, false).await;
    tokio::time::sleep(PING_INTERVAL + PING_TIMEOUT + MARGIN).await;
    let status = match eio {
        Eio::V4 => get(addr, &eio.session(&sid)).await.status,
        Eio::V3 => post(addr, &eio.session(&sid), b"1:2").await.status,
    };
    assert_eq!(status, 400);
}

/// Suites: heartbeat / WebSocket / sends ping/pong packets.
async fn heartbeat_ws_ping_pong(eio: Eio) {
    let addr = server(eio).await;
    let mut socket = open_ws(addr, eio).await;
    for _ in 0..3 {
        match eio {
            Eio::V4 => {
                assert_eq!(next_text(&mut socket).await, "2");
                send(&mut socket, "3").await;
            }
            Eio::V3 => {
                send(&mut socket, "2").await;
                assert_eq!(next_text(&mut socket).await, "3");
            }
        }
    }
}

/// Suites: heartbeat / WebSocket / closes the session upon ping timeout.
async fn heartbeat_ws_timeout_closes(eio: Eio) {
    let addr = server(eio).await;
    let started = Instant::now();
    let mut socket = open_ws(addr, eio).await;
    closed(&mut socket).await;
    // Not before the client could have answered (v4) or pinged (v3).
    assert!(
        started.elapsed() >= PING_INTERVAL + PING_TIMEOUT,
        "{:?}",
        started.elapsed()
    );
}

// ---- close -------------------------------------------------------------------------------

/// Suites: close / HTTP long-polling / forcefully closes the session: a CLOSE packet from the
/// client releases the waiting poll with a NOOP, then the session is gone.
async fn close_polling_forcefully(eio: Eio) {
    let addr = server(eio).await;
    let sid = open_polling(addr, eio, false).await;
    let url = eio.session(&sid);
    let poll = tokio::spawn(async move { get(addr, &url).await });
    tokio::time::sleep(MARGIN).await;
    let closing = post(addr, &eio.session(&sid), eio.payload(&["1"]).as_bytes()).await;
    assert_eq!(closing.status, 200);
    let poll = poll.await.unwrap();
    assert_eq!(
        (poll.status, poll.text()),
        (200, eio.payload(&["6"]).as_str())
    );
    assert_eq!(get(addr, &eio.session(&sid)).await.status, 400);
}

/// Suites: close / WebSocket / forcefully closes the session.
async fn close_ws_forcefully(eio: Eio) {
    let addr = server(eio).await;
    let mut socket = open_ws(addr, eio).await;
    send(&mut socket, "1").await;
    closed(&mut socket).await;
}

// ---- upgrade -----------------------------------------------------------------------------

/// A polling session and a WebSocket for it that has been probed.
async fn probed(addr: SocketAddr, eio: Eio) -> (String, Ws) {
    let sid = open_polling(addr, eio, false).await;
    let mut socket = ws(addr, &eio.url(&format!("transport=websocket&sid={sid}"))).await;
    send(&mut socket, "2probe").await;
    assert_eq!(next_text(&mut socket).await, "3probe");
    (sid, socket)
}

/// Suites: upgrade / successfully upgrades from HTTP long-polling to WebSocket.
async fn upgrade_succeeds(eio: Eio) {
    let addr = server(eio).await;
    let (sid, mut socket) = probed(addr, eio).await;
    // A poll during the upgrade is released with a NOOP.
    let polled = get(addr, &eio.session(&sid)).await;
    assert_eq!(
        (polled.status, polled.text()),
        (200, eio.payload(&["6"]).as_str())
    );
    send(&mut socket, "5").await;
    send(&mut socket, "4hello").await;
    assert_eq!(next_text(&mut socket).await, "4hello");
}

/// Suites: upgrade / ignores HTTP requests with same sid after upgrade.
async fn upgrade_then_polling_is_refused(eio: Eio) {
    let addr = server(eio).await;
    let (sid, mut socket) = probed(addr, eio).await;
    send(&mut socket, "5").await;
    assert_eq!(get(addr, &eio.session(&sid)).await.status, 400);
    send(&mut socket, "4hello").await;
    assert_eq!(next_text(&mut socket).await, "4hello");
}

/// Suites: upgrade / ignores WebSocket connection with same sid after upgrade.
async fn upgrade_then_a_second_websocket_is_closed(eio: Eio) {
    let addr = server(eio).await;
    let (sid, mut socket) = probed(addr, eio).await;
    send(&mut socket, "5").await;
    // Refused at the handshake, or accepted and closed at once.
    if let Ok(mut second) = try_ws(addr, &eio.url(&format!("transport=websocket&sid={sid}"))).await
    {
        closed(&mut second).await;
    }
    send(&mut socket, "4hello").await;
    assert_eq!(next_text(&mut socket).await, "4hello");
}

// ---- v3 only -----------------------------------------------------------------------------

/// v3 suite: handshake / WebSocket / fails with an invalid 'EIO' query parameter. The suite
/// opens the sockets without waiting for the outcome, and has no such case for polling:
/// with v3 allowed, the reference takes a missing or unknown `EIO` as revision 3 (only
/// `EIO=4` is 4), and so does this server; v3 off, as in the v4 tests, it is refused.
#[tokio::test]
async fn v3_handshake_without_a_valid_eio_is_taken_as_v3() {
    let addr = server(Eio::V3).await;
    for query in ["transport=polling", "EIO=abc&transport=polling"] {
        let res = get(addr, &format!("/engine.io/?{query}")).await;
        assert_eq!(res.status, 200, "{query}");
        check_open(Eio::V3, &open_packet(Eio::V3, res.text()), &["websocket"]);
    }
    for query in ["transport=websocket", "EIO=abc&transport=websocket"] {
        let mut socket = ws(addr, &format!("/engine.io/?{query}")).await;
        check_open(Eio::V3, &open_json(&next_text(&mut socket).await), &[]);
    }
}

/// v3 suite: message / HTTP long-polling / sends and receives a payload containing plain
/// text and binary packets (binary): a session opened without `b64` gets XHR2 binary
/// payloads back.
#[tokio::test]
async fn v3_message_polling_text_and_xhr2_binary() {
    let eio = Eio::V3;
    let addr = server(eio).await;
    let sid = open_polling(addr, eio, true).await;
    let pushed = post(addr, &eio.session(&sid), b"6:4hello10:b4AQIDBA==").await;
    assert_eq!((pushed.status, pushed.text()), (200, "ok"));
    let polled = get(addr, &eio.session(&sid)).await;
    assert_eq!(polled.status, 200);
    assert_eq!(polled.content_type, "application/octet-stream");
    // Per packet: 0 (string) or 1 (binary), the length's decimal digits as bytes, 255, data.
    assert_eq!(
        polled.body.as_ref(),
        [
            0, 6, 255, b'4', b'h', b'e', b'l', b'l', b'o', 1, 5, 255, 4, 1, 2, 3, 4
        ]
    );
}

macro_rules! both_revisions {
    ($($case:ident),* $(,)?) => {
        /// The cases against an Engine.IO v4 server (the v4 suite).
        mod v4 {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Eio::V4).await;
                }
            )*
        }
        /// The cases against a server that also accepts Engine.IO v3 (the v3 suite).
        mod v3 {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Eio::V3).await;
                }
            )*
        }
    };
}

both_revisions!(
    handshake_polling_opens_a_session,
    handshake_polling_refuses_an_invalid_transport,
    handshake_polling_refuses_an_invalid_method,
    handshake_ws_opens_a_session,
    handshake_ws_refuses_an_invalid_transport,
    message_polling_one_text_packet,
    message_polling_several_text_packets,
    message_polling_text_and_base64_binary,
    message_polling_invalid_packet_closes,
    message_polling_duplicate_poll_closes,
    message_polling_cancelled_poll_closes,
    message_ws_text_packet,
    message_ws_binary_packet,
    message_ws_invalid_packet_closes,
    heartbeat_polling_ping_pong,
    heartbeat_polling_timeout_closes,
    heartbeat_ws_ping_pong,
    heartbeat_ws_timeout_closes,
    close_polling_forcefully,
    close_ws_forcefully,
    upgrade_succeeds,
    upgrade_then_polling_is_refused,
    upgrade_then_a_second_websocket_is_closed,
);
