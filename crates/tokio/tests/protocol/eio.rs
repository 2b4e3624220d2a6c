//! Engine.IO cases of the official suites, run by `protocol_eio.rs` against an Engine.IO
//! echo server and by `protocol_sio.rs` against a Socket.IO server (where Engine.IO messages
//! are Socket.IO packets, so the cases that echo raw messages leave that part out).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use sockeye_tokio::sockeye_ws::Message;

use super::{
    Ws, abandoned_get, closed, closed_at_once, get, next, next_text, post, send, try_request,
    try_ws, ws,
};

pub(crate) const PING_INTERVAL: Duration = Duration::from_millis(300);
pub(crate) const PING_TIMEOUT: Duration = Duration::from_millis(200);
/// Extra time past a deadline, so that "after the deadline" holds on a loaded machine.
pub(crate) const MARGIN: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Eio {
    V3,
    V4,
}

impl Eio {
    /// A text payload of `packets`: separated by a record separator (v4), or each behind
    /// its length (v3; the packets here are ASCII, so bytes count as UTF-16 units).
    pub(crate) fn payload(self, packets: &[&str]) -> String {
        match self {
            Eio::V4 => packets.join("\x1e"),
            Eio::V3 => packets.iter().map(|p| format!("{}:{p}", p.len())).collect(),
        }
    }
}

/// A server under test.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    pub(crate) eio: Eio,
    /// The Engine.IO path (`/engine.io/` or `/socket.io/`).
    pub(crate) path: &'static str,
    /// Whether the server echoes Engine.IO messages (not a Socket.IO server).
    pub(crate) echoes: bool,
}

impl Target {
    /// The Engine.IO path with this revision and `rest` as the query.
    pub(crate) fn url(&self, rest: &str) -> String {
        let n = if self.eio == Eio::V4 { 4 } else { 3 };
        if rest.is_empty() {
            format!("{}?EIO={n}", self.path)
        } else {
            format!("{}?EIO={n}&{rest}", self.path)
        }
    }

    pub(crate) fn session(&self, sid: &str) -> String {
        self.url(&format!("transport=polling&sid={sid}"))
    }
}

/// The open packet's JSON (`0{…}`).
pub(crate) fn open_json(packet: &str) -> Value {
    let json = packet.strip_prefix('0').expect("an open packet");
    serde_json::from_str(json).expect("open packet JSON")
}

/// The open packet's JSON from a polling handshake body (`0{…}`, or `<len>:0{…}` in a v3
/// payload).
pub(crate) fn open_packet(eio: Eio, body: &str) -> Value {
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
pub(crate) fn check_open(eio: Eio, open: &Value, upgrades: &[&str]) {
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
pub(crate) async fn open_polling(t: Target, binary: bool) -> String {
    let (addr, eio) = (t.addr, t.eio);
    let query = if eio == Eio::V3 && !binary {
        "transport=polling&b64=1"
    } else {
        "transport=polling"
    };
    let res = get(addr, &t.url(query)).await;
    assert_eq!(res.status, 200);
    open_packet(eio, res.text())["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A WebSocket session whose open packet has been read.
pub(crate) async fn open_ws(t: Target) -> Ws {
    let addr = t.addr;
    let mut socket = ws(addr, &t.url("transport=websocket")).await;
    let open = next_text(&mut socket).await;
    assert!(open.starts_with('0'), "{open:?}");
    socket
}

// ---- handshake ---------------------------------------------------------------------------

/// Suites: handshake / HTTP long-polling / successfully opens a session.
pub(crate) async fn handshake_polling_opens_a_session(t: Target) {
    let (addr, eio) = (t.addr, t.eio);
    let res = get(addr, &t.url("transport=polling")).await;
    assert_eq!(res.status, 200);
    check_open(eio, &open_packet(eio, res.text()), &["websocket"]);
}

/// v4 and v5 suites: handshake / HTTP long-polling / fails with an invalid 'EIO' query
/// parameter (with v3 off: see `v3_handshake_without_a_valid_eio_is_taken_as_v3`).
pub(crate) async fn handshake_polling_refuses_an_invalid_eio(t: Target) {
    for query in ["transport=polling", "EIO=abc&transport=polling"] {
        let url = format!("{}?{query}", t.path);
        assert_eq!(get(t.addr, &url).await.status, 400, "{url}");
    }
}

/// Suites: handshake / HTTP long-polling / fails with an invalid 'transport' query parameter.
pub(crate) async fn handshake_polling_refuses_an_invalid_transport(t: Target) {
    let addr = t.addr;
    assert_eq!(get(addr, &t.url("")).await.status, 400);
    assert_eq!(get(addr, &t.url("transport=abc")).await.status, 400);
}

/// Suites: handshake / HTTP long-polling / fails with an invalid request method.
pub(crate) async fn handshake_polling_refuses_an_invalid_method(t: Target) {
    let addr = t.addr;
    let url = t.url("transport=polling");
    assert_eq!(post(addr, &url, b"").await.status, 400);
    let put = try_request(addr, "PUT", &url, b"").await.unwrap();
    assert_eq!(put.status, 400);
}

/// Suites: handshake / WebSocket / successfully opens a session.
pub(crate) async fn handshake_ws_opens_a_session(t: Target) {
    let (addr, eio) = (t.addr, t.eio);
    let mut socket = ws(addr, &t.url("transport=websocket")).await;
    // No length prefix over WebSocket, in either revision.
    let open = open_json(&next_text(&mut socket).await);
    check_open(eio, &open, &[]);
}

/// v4 and v5 suites: handshake / WebSocket / fails with an invalid 'EIO' query parameter.
pub(crate) async fn handshake_ws_refuses_an_invalid_eio(t: Target) {
    for query in ["transport=websocket", "EIO=abc&transport=websocket"] {
        let url = format!("{}?{query}", t.path);
        assert_eq!(try_ws(t.addr, &url).await.err(), Some(400), "{url}");
    }
}

/// Suites: handshake / WebSocket / fails with an invalid 'transport' query parameter.
pub(crate) async fn handshake_ws_refuses_an_invalid_transport(t: Target) {
    let addr = t.addr;
    assert_eq!(try_ws(addr, &t.url("")).await.err(), Some(400));
    assert_eq!(try_ws(addr, &t.url("transport=abc")).await.err(), Some(400));
}

// ---- message -----------------------------------------------------------------------------

/// POSTs `packets` as one payload, then polls them back.
async fn echo_through_polling(t: Target, packets: &[&str]) {
    let (addr, eio) = (t.addr, t.eio);
    let sid = open_polling(t, false).await;
    let body = eio.payload(packets);
    let pushed = post(addr, &t.session(&sid), body.as_bytes()).await;
    assert_eq!((pushed.status, pushed.text()), (200, "ok"));
    let polled = get(addr, &t.session(&sid)).await;
    assert_eq!((polled.status, polled.text()), (200, body.as_str()));
}

/// Suites: message / HTTP long-polling / sends and receives a payload containing one plain
/// text packet.
pub(crate) async fn message_polling_one_text_packet(t: Target) {
    echo_through_polling(t, &["4hello"]).await;
}

/// Suites: message / HTTP long-polling / sends and receives a payload containing several
/// plain text packets.
pub(crate) async fn message_polling_several_text_packets(t: Target) {
    echo_through_polling(t, &["4test1", "4test2", "4test3"]).await;
}

/// Suites: message / HTTP long-polling / sends and receives a payload containing plain text
/// and binary packets (v3: "(base64 encoded)").
pub(crate) async fn message_polling_text_and_base64_binary(t: Target) {
    let binary = match t.eio {
        Eio::V4 => "bAQIDBA==",
        Eio::V3 => "b4AQIDBA==",
    };
    echo_through_polling(t, &["4hello", binary]).await;
}

/// Suites: message / HTTP long-polling / closes the session upon invalid packet format.
pub(crate) async fn message_polling_invalid_packet_closes(t: Target) {
    let addr = t.addr;
    let sid = open_polling(t, false).await;
    // A 400, or the connection closed without an answer: either way the session is over.
    if let Ok(res) = try_request(addr, "POST", &t.session(&sid), b"abc").await {
        assert_eq!(res.status, 400);
    }
    assert_eq!(get(addr, &t.session(&sid)).await.status, 400);
}

/// Suites: message / HTTP long-polling / closes the session upon duplicate poll requests
/// (v4; skipped in the v3 suite, checked here for both: the first poll gets a CLOSE packet,
/// the second an error, and the session is gone).
pub(crate) async fn message_polling_duplicate_poll_closes(t: Target) {
    let (addr, eio) = (t.addr, t.eio);
    let sid = open_polling(t, false).await;
    let url = t.session(&sid);
    let first = tokio::spawn(async move { get(addr, &url).await });
    tokio::time::sleep(MARGIN).await;
    let second = get(addr, &format!("{}&t=burst", t.session(&sid))).await;
    assert!(matches!(second.status, 400 | 500), "{second:?}");
    let first = first.await.unwrap();
    assert_eq!(
        (first.status, first.text()),
        (200, eio.payload(&["1"]).as_str())
    );
    assert_eq!(get(addr, &t.session(&sid)).await.status, 400);
}

/// Suites: message / HTTP long-polling / closes the session upon cancelled polling request
/// (v4 only; v3 sessions close the same way).
pub(crate) async fn message_polling_cancelled_poll_closes(t: Target) {
    let addr = t.addr;
    let sid = open_polling(t, false).await;
    abandoned_get(addr, &t.session(&sid), Duration::from_millis(5)).await;
    // The server learns of the abort from the closed connection.
    tokio::time::sleep(MARGIN).await;
    assert_eq!(get(addr, &t.session(&sid)).await.status, 400);
}

/// Suites: message / WebSocket / sends and receives a plain text packet.
pub(crate) async fn message_ws_text_packet(t: Target) {
    let mut socket = open_ws(t).await;
    send(&mut socket, "4hello").await;
    assert_eq!(next_text(&mut socket).await, "4hello");
}

/// Suites: message / WebSocket / sends and receives a binary packet (v4: raw bytes; v3: the
/// bytes behind a type byte 4).
pub(crate) async fn message_ws_binary_packet(t: Target) {
    let eio = t.eio;
    let mut socket = open_ws(t).await;
    let bytes: Vec<u8> = match eio {
        Eio::V4 => vec![1, 2, 3, 4],
        Eio::V3 => vec![4, 1, 2, 3, 4],
    };
    send(&mut socket, bytes.clone()).await;
    assert_eq!(next(&mut socket).await, Some(Message::from(bytes)));
}

/// Suites: message / WebSocket / closes the session upon invalid packet format.
pub(crate) async fn message_ws_invalid_packet_closes(t: Target) {
    let mut socket = open_ws(t).await;
    send(&mut socket, "abc").await;
    closed_at_once(&mut socket).await;
}

// ---- heartbeat ---------------------------------------------------------------------------

/// Suites: heartbeat / HTTP long-polling / sends ping/pong packets (v4: the server pings and
/// the client answers; v3: the client pings and the server answers).
pub(crate) async fn heartbeat_polling_ping_pong(t: Target) {
    let (addr, eio) = (t.addr, t.eio);
    let sid = open_polling(t, false).await;
    for _ in 0..3 {
        match eio {
            Eio::V4 => {
                let polled = get(addr, &t.session(&sid)).await;
                assert_eq!((polled.status, polled.text()), (200, "2"));
                assert_eq!(post(addr, &t.session(&sid), b"3").await.status, 200);
            }
            Eio::V3 => {
                assert_eq!(post(addr, &t.session(&sid), b"1:2").await.status, 200);
                let polled = get(addr, &t.session(&sid)).await;
                assert_eq!((polled.status, polled.text()), (200, "1:3"));
            }
        }
    }
}

/// Suites: heartbeat / HTTP long-polling / closes the session upon ping timeout.
pub(crate) async fn heartbeat_polling_timeout_closes(t: Target) {
    let (addr, eio) = (t.addr, t.eio);
    let sid = open_polling(t, false).await;
    tokio::time::sleep(PING_INTERVAL + PING_TIMEOUT + MARGIN).await;
    let status = match eio {
        Eio::V4 => get(addr, &t.session(&sid)).await.status,
        Eio::V3 => post(addr, &t.session(&sid), b"1:2").await.status,
    };
    assert_eq!(status, 400);
}

/// Suites: heartbeat / WebSocket / sends ping/pong packets.
pub(crate) async fn heartbeat_ws_ping_pong(t: Target) {
    let eio = t.eio;
    let mut socket = open_ws(t).await;
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
pub(crate) async fn heartbeat_ws_timeout_closes(t: Target) {
    let started = Instant::now();
    let mut socket = open_ws(t).await;
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
pub(crate) async fn close_polling_forcefully(t: Target) {
    let (addr, eio) = (t.addr, t.eio);
    let sid = open_polling(t, false).await;
    let url = t.session(&sid);
    let poll = tokio::spawn(async move { get(addr, &url).await });
    tokio::time::sleep(MARGIN).await;
    let closing = post(addr, &t.session(&sid), eio.payload(&["1"]).as_bytes()).await;
    assert_eq!(closing.status, 200);
    let poll = poll.await.unwrap();
    assert_eq!(
        (poll.status, poll.text()),
        (200, eio.payload(&["6"]).as_str())
    );
    assert_eq!(get(addr, &t.session(&sid)).await.status, 400);
}

/// Suites: close / WebSocket / forcefully closes the session.
pub(crate) async fn close_ws_forcefully(t: Target) {
    let mut socket = open_ws(t).await;
    send(&mut socket, "1").await;
    closed_at_once(&mut socket).await;
}

// ---- upgrade -----------------------------------------------------------------------------

/// A polling session and a WebSocket for it that has been probed.
pub(crate) async fn probed(t: Target) -> (String, Ws) {
    let addr = t.addr;
    let sid = open_polling(t, false).await;
    let mut socket = ws(addr, &t.url(&format!("transport=websocket&sid={sid}"))).await;
    send(&mut socket, "2probe").await;
    assert_eq!(next_text(&mut socket).await, "3probe");
    (sid, socket)
}

/// Suites: upgrade / successfully upgrades from HTTP long-polling to WebSocket.
pub(crate) async fn upgrade_succeeds(t: Target) {
    let (addr, eio) = (t.addr, t.eio);
    let (sid, mut socket) = probed(t).await;
    // A poll during the upgrade is released with a NOOP.
    let polled = get(addr, &t.session(&sid)).await;
    assert_eq!(
        (polled.status, polled.text()),
        (200, eio.payload(&["6"]).as_str())
    );
    send(&mut socket, "5").await;
    echo_after_upgrade(t, &mut socket).await;
}

/// Suites: upgrade / ignores HTTP requests with same sid after upgrade.
pub(crate) async fn upgrade_then_polling_is_refused(t: Target) {
    let addr = t.addr;
    let (sid, mut socket) = probed(t).await;
    send(&mut socket, "5").await;
    assert_eq!(get(addr, &t.session(&sid)).await.status, 400);
    echo_after_upgrade(t, &mut socket).await;
}

/// Suites: upgrade / ignores WebSocket connection with same sid after upgrade.
pub(crate) async fn upgrade_then_a_second_websocket_is_closed(t: Target) {
    let addr = t.addr;
    let (sid, mut socket) = probed(t).await;
    send(&mut socket, "5").await;
    // Refused at the handshake, or accepted and closed at once.
    if let Ok(mut second) = try_ws(addr, &t.url(&format!("transport=websocket&sid={sid}"))).await {
        closed_at_once(&mut second).await;
    }
    echo_after_upgrade(t, &mut socket).await;
}

/// The upgraded socket carries messages (an echo server only; the v5 suite stops at the
/// upgrade).
async fn echo_after_upgrade(t: Target, socket: &mut Ws) {
    if t.echoes {
        send(socket, "4hello").await;
        assert_eq!(next_text(socket).await, "4hello");
    }
}
