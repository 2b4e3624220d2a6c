//! Clean-room conformance tests for Socket.IO v5: every case the official socket.io-protocol
//! v5 test suite (`docs/socket.io-protocol/v5-test-suite` in socketio/socket.io) checks,
//! written from the behaviour it describes and run against this crate's Socket.IO server
//! configured as that suite expects: path `/socket.io/`, ping interval 300 ms, ping timeout
//! 200 ms, max payload 1 000 000, connect timeout 1 000 ms; namespace `/` emits `auth` (the
//! handshake auth, `{}` without one) on connection, answers `message` with `message-back`
//! and acks `message-with-ack` with the same arguments; `/custom` emits `auth`; any other
//! namespace is refused.
//!
//! The suite's Engine.IO part (`engineio::…`) runs the shared cases of `protocol/eio.rs`
//! against this server; the Socket.IO part (`socketio::…`) is below. docs/conformance.md maps
//! suite cases to test names.

mod protocol;

use std::time::{Duration, Instant};

use protocol::eio::*;
use protocol::{Ws, closed_at_once, next, send};
use serde_json::Value;
use sockeye_tokio::socketio::{Message as Event, Socket, SocketIo};
use sockeye_tokio::sockeye_ws::Message;

const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);

/// `socket.emit("auth", socket.handshake.auth)`, `{}` when the client sent no auth.
fn emit_auth(socket: &Socket) {
    let auth = match socket.auth() {
        Value::Null => Value::Object(serde_json::Map::new()),
        auth => auth.clone(),
    };
    let _ = socket.emit("auth", &(auth,));
}

/// The suite's server.
async fn server() -> Target {
    let io = SocketIo::builder()
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
        .max_http_buffer_size(1_000_000)
        .connect_timeout(CONNECT_TIMEOUT)
        .build();
    io.ns("/", |socket: Socket| {
        emit_auth(&socket);
        // The arguments go back as received: raw JSON, placeholders and attachments.
        socket.on("message", |socket: Socket, msg: Event| async move {
            socket.emit_raw(
                "message-back",
                &msg.args_array(),
                msg.attachments().to_vec(),
            );
        });
        socket.on(
            "message-with-ack",
            |_socket: Socket, msg: Event| async move {
                msg.ack_raw(msg.args_array(), msg.attachments().to_vec());
            },
        );
    });
    io.ns("/custom", |socket: Socket| emit_auth(&socket));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { io.serve(listener).await });
    Target {
        addr,
        eio: Eio::V4,
        path: "/socket.io/",
        echoes: false,
    }
}

/// The next message other than a ping; pings are answered, as a client does.
async fn packet(socket: &mut Ws) -> Message {
    loop {
        match next(socket).await {
            Some(Message::Text(t)) if t.as_str() == "2" => send(socket, "3").await,
            Some(m) => return m,
            None => panic!("the server closed the connection"),
        }
    }
}

async fn text(socket: &mut Ws) -> String {
    match packet(socket).await {
        Message::Text(t) => t.as_str().to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// Checks a CONNECT answer `40<nsp>{"sid":…}`: the namespace prefix, then an object with
/// only a string `sid`.
fn check_connected(packet: &str, prefix: &str) {
    let json = packet
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{packet:?} does not start with {prefix:?}"));
    let value: Value = serde_json::from_str(json).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["sid"]);
    assert!(value["sid"].is_string());
}

/// A WebSocket session connected to the main namespace, its `auth` event read.
async fn connected() -> Ws {
    let mut socket = open_ws(server().await).await;
    send(&mut socket, "40").await;
    check_connected(&text(&mut socket).await, "40");
    assert_eq!(text(&mut socket).await, r#"42["auth",{}]"#);
    socket
}

// ---- connect -----------------------------------------------------------------------------

/// Sends a CONNECT and checks the answer and the `auth` event.
async fn connect(request: &str, answer_prefix: &str, auth_event: &str) {
    let mut socket = open_ws(server().await).await;
    send(&mut socket, request).await;
    check_connected(&text(&mut socket).await, answer_prefix);
    assert_eq!(text(&mut socket).await, auth_event);
}

mod socketio {
    use super::*;

    /// v5 suite: connect / should allow connection to the main namespace.
    #[tokio::test]
    async fn connect_main_namespace() {
        connect("40", "40", r#"42["auth",{}]"#).await;
    }

    /// v5 suite: connect / should allow connection to the main namespace with a payload.
    #[tokio::test]
    async fn connect_main_namespace_with_a_payload() {
        connect(
            r#"40{"token":"123"}"#,
            "40",
            r#"42["auth",{"token":"123"}]"#,
        )
        .await;
    }

    /// v5 suite: connect / should allow connection to a custom namespace.
    #[tokio::test]
    async fn connect_custom_namespace() {
        connect("40/custom,", "40/custom,", r#"42/custom,["auth",{}]"#).await;
    }

    /// v5 suite: connect / should allow connection to a custom namespace with a payload.
    #[tokio::test]
    async fn connect_custom_namespace_with_a_payload() {
        connect(
            r#"40/custom,{"token":"abc"}"#,
            "40/custom,",
            r#"42/custom,["auth",{"token":"abc"}]"#,
        )
        .await;
    }

    /// v5 suite: connect / should disallow connection to an unknown namespace.
    #[tokio::test]
    async fn connect_unknown_namespace_is_refused() {
        let mut socket = open_ws(server().await).await;
        send(&mut socket, "40/random").await;
        assert_eq!(
            text(&mut socket).await,
            r#"44/random,{"message":"Invalid namespace"}"#
        );
    }

    /// v5 suite: connect / should disallow connection with an invalid handshake.
    #[tokio::test]
    async fn connect_invalid_handshake_closes() {
        let mut socket = open_ws(server().await).await;
        send(&mut socket, "4abc").await;
        closed_at_once(&mut socket).await;
    }

    /// v5 suite: connect / should close the connection if no handshake is received. Pings
    /// are answered, so what closes the connection is the connect timeout, not the
    /// heartbeat.
    #[tokio::test]
    async fn connect_timeout_closes_without_a_handshake() {
        let started = Instant::now();
        let mut socket = open_ws(server().await).await;
        loop {
            match next(&mut socket).await {
                Some(Message::Text(t)) if t.as_str() == "2" => send(&mut socket, "3").await,
                Some(other) => panic!("unexpected {other:?}"),
                None => break,
            }
        }
        assert!(
            started.elapsed() >= CONNECT_TIMEOUT,
            "{:?}",
            started.elapsed()
        );
    }

    // ---- disconnect ----------------------------------------------------------------------

    /// v5 suite: disconnect / should disconnect from the main namespace: the connection
    /// stays open (the next message is a ping) and nothing answers the DISCONNECT.
    #[tokio::test]
    async fn disconnect_main_namespace() {
        let mut socket = connected().await;
        send(&mut socket, "41").await;
        match next(&mut socket).await {
            Some(Message::Text(t)) => assert_eq!(t.as_str(), "2"),
            other => panic!("expected a ping, got {other:?}"),
        }
    }

    /// v5 suite: disconnect / should connect then disconnect from a custom namespace; the
    /// main namespace still works.
    #[tokio::test]
    async fn connect_then_disconnect_custom_namespace() {
        let mut socket = connected().await;
        send(&mut socket, "40/custom").await;
        check_connected(&text(&mut socket).await, "40/custom,");
        assert_eq!(text(&mut socket).await, r#"42/custom,["auth",{}]"#);
        send(&mut socket, "41/custom").await;
        send(&mut socket, r#"42["message","message to main namespace"]"#).await;
        assert_eq!(
            text(&mut socket).await,
            r#"42["message-back","message to main namespace"]"#
        );
    }

    // ---- message -------------------------------------------------------------------------

    /// v5 suite: message / should send a plain-text packet.
    #[tokio::test]
    async fn message_plain_text() {
        let mut socket = connected().await;
        send(&mut socket, r#"42["message",1,"2",{"3":[true]}]"#).await;
        assert_eq!(
            text(&mut socket).await,
            r#"42["message-back",1,"2",{"3":[true]}]"#
        );
    }

    /// Sends a binary packet with two attachments and checks the three messages back.
    async fn binary_round_trip(request: &str, answer: &str) {
        let mut socket = connected().await;
        send(&mut socket, request).await;
        send(&mut socket, vec![1u8, 2, 3]).await;
        send(&mut socket, vec![4u8, 5, 6]).await;
        assert_eq!(text(&mut socket).await, answer);
        assert_eq!(packet(&mut socket).await, Message::from(vec![1u8, 2, 3]));
        assert_eq!(packet(&mut socket).await, Message::from(vec![4u8, 5, 6]));
    }

    /// v5 suite: message / should send a packet with binary attachments.
    #[tokio::test]
    async fn message_with_binary_attachments() {
        binary_round_trip(
            r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        )
        .await;
    }

    /// v5 suite: message / should send a plain-text packet with an ack.
    #[tokio::test]
    async fn message_plain_text_with_an_ack() {
        let mut socket = connected().await;
        send(
            &mut socket,
            r#"42456["message-with-ack",1,"2",{"3":[false]}]"#,
        )
        .await;
        assert_eq!(text(&mut socket).await, r#"43456[1,"2",{"3":[false]}]"#);
    }

    /// v5 suite: message / should send a packet with binary attachments and an ack.
    #[tokio::test]
    async fn message_with_binary_attachments_and_an_ack() {
        binary_round_trip(
            r#"452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            r#"462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        )
        .await;
    }

    /// Sends `bad` on a connected session; the server closes the connection.
    async fn closes_upon(bad: &str) {
        let mut socket = connected().await;
        send(&mut socket, bad).await;
        closed_at_once(&mut socket).await;
    }

    /// v5 suite: message / should close the connection upon invalid format (unknown packet
    /// type).
    #[tokio::test]
    async fn message_unknown_packet_type_closes() {
        closes_upon("4abc").await;
    }

    /// v5 suite: message / should close the connection upon invalid format (invalid payload
    /// format).
    #[tokio::test]
    async fn message_invalid_payload_format_closes() {
        closes_upon("42{}").await;
    }

    /// v5 suite: message / should close the connection upon invalid format (invalid ack
    /// id).
    #[tokio::test]
    async fn message_invalid_ack_id_closes() {
        closes_upon(r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#).await;
    }
}

/// The v5 suite's Engine.IO part: the shared cases against the Socket.IO server.
macro_rules! engine_cases {
    ($($case:ident),* $(,)?) => {
        mod engineio {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::server().await).await;
                }
            )*
        }
    };
}

engine_cases!(
    handshake_polling_opens_a_session,
    handshake_polling_refuses_an_invalid_eio,
    handshake_polling_refuses_an_invalid_transport,
    handshake_polling_refuses_an_invalid_method,
    handshake_ws_opens_a_session,
    handshake_ws_refuses_an_invalid_eio,
    handshake_ws_refuses_an_invalid_transport,
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
