//! Our Socket.IO client against a real server (the npm `socket.io` package, driven by
//! `conformance/socketio/node-server.js`): namespaces and auth, acks both ways with binary,
//! rooms, reconnection and (protocol v5) session recovery.
//!
//! ```text
//! cargo run --release -p sockeye-tokio --example sio_client_interop -- http://127.0.0.1:3200 v5 upgrade
//! ```
//!
//! Protocol `v5` (socket.io 3.x/4.x servers) or `v4` (2.x); mode `websocket`, `polling` or
//! `upgrade`. Prints `rust-client/<protocol>/<mode>: N passed, M failed`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use sockeye_tokio::socketio::{
    Client, ClientMessage, ClientSocket, ProtocolVersion, Reconnection, Transports,
};
use tokio::sync::mpsc;

struct Checks {
    label: String,
    passed: AtomicUsize,
    failed: AtomicUsize,
}

impl Checks {
    fn check(&self, name: &str, ok: bool, detail: impl std::fmt::Debug) {
        if ok {
            self.passed.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed.fetch_add(1, Ordering::Relaxed);
            println!("FAIL {} {name}: {detail:?}", self.label);
        }
    }
}

/// Collects `event`'s first argument on `socket` into a channel.
fn collect(socket: &ClientSocket, event: &str) -> mpsc::UnboundedReceiver<Value> {
    let (tx, rx) = mpsc::unbounded_channel();
    socket.on(event, move |_s: ClientSocket, msg: ClientMessage| {
        let tx = tx.clone();
        async move {
            let args: Vec<Value> = msg.args().unwrap_or_default();
            let _ = tx.send(Value::Array(args));
        }
    });
    rx
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .ok()
        .flatten()
        .unwrap_or(Value::Null)
}

fn builder(
    url: &str,
    protocol: ProtocolVersion,
    mode: &str,
) -> sockeye_tokio::socketio::ClientBuilder {
    let transports = match mode {
        "websocket" => Transports {
            polling: false,
            websocket: true,
        },
        _ => Transports {
            polling: true,
            websocket: true,
        },
    };
    let b = Client::builder(url)
        .protocol(protocol)
        .transports(transports)
        .reconnection(Some(Reconnection {
            delay: Duration::from_millis(100),
            delay_max: Duration::from_millis(500),
            ..Reconnection::default()
        }));
    if mode == "polling" {
        b.transports(Transports {
            polling: true,
            websocket: false,
        })
    } else {
        b
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:3200".into());
    let protocol = match args.next().as_deref() {
        Some("v4") => ProtocolVersion::V4,
        _ => ProtocolVersion::V5,
    };
    let mode = args.next().unwrap_or_else(|| "upgrade".into());
    let v5 = protocol == ProtocolVersion::V5;
    let checks = Arc::new(Checks {
        label: format!("rust-client/{}/{mode}", if v5 { "v5" } else { "v4" }),
        passed: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
    });
    let run = tokio::time::timeout(
        Duration::from_secs(60),
        scenario(&url, protocol, &mode, checks.clone()),
    );
    if run.await.is_err() {
        checks.check("scenario", false, "timed out");
    }
    let (p, f) = (
        checks.passed.load(Ordering::Relaxed),
        checks.failed.load(Ordering::Relaxed),
    );
    println!("{}: {p} passed, {f} failed", checks.label);
    std::process::exit(i32::from(f > 0));
}

async fn scenario(url: &str, protocol: ProtocolVersion, mode: &str, checks: Arc<Checks>) {
    let v5 = protocol == ProtocolVersion::V5;
    let auth = json!({"token": "secret"});
    let client = builder(url, protocol, mode)
        .namespace("/", None)
        .namespace("/chat", Some(auth))
        .connect();
    let root = client.socket("/");
    let chat = client.socket("/chat");
    let mut welcome_root = collect(&root, "welcome");
    let mut welcome_chat = collect(&chat, "welcome");
    let (connected_tx, mut connected) = mpsc::unbounded_channel();
    root.on_connect(move |_s, recovered| {
        let tx = connected_tx.clone();
        async move {
            let _ = tx.send(recovered);
        }
    });
    root.on("ask", |_s: ClientSocket, msg: ClientMessage| async move {
        let (payload,): (Value,) = msg.args().unwrap_or((Value::Null,));
        let q = payload.get("q").and_then(Value::as_i64).unwrap_or(0);
        let _ = msg.ack(&(json!({"answer": q * 2}),));
    });
    let w = next(&mut welcome_root).await;
    checks.check("welcome on /", w[0]["nsp"] == "/", &w);
    let w = next(&mut welcome_chat).await;
    checks.check(
        "welcome on /chat (auth accepted)",
        w[0]["nsp"] == "/chat",
        &w,
    );
    checks.check(
        "connected",
        next_bool(&mut connected).await == Some(false),
        "",
    );

    // Refused namespace.
    let refused = builder(url, protocol, mode)
        .namespace("/chat", Some(json!({"token": "wrong"})))
        .connect();
    let (err_tx, mut err_rx) = mpsc::unbounded_channel();
    refused
        .socket("/chat")
        .on_connect_error(move |_s, payload| {
            let tx = err_tx.clone();
            async move {
                let _ = tx.send(payload);
            }
        });
    let e = tokio::time::timeout(Duration::from_secs(5), err_rx.recv())
        .await
        .ok()
        .flatten();
    let message = e.as_ref().map(|v| {
        if v.is_string() {
            v.clone()
        } else {
            v["message"].clone()
        }
    });
    checks.check(
        "wrong auth refused",
        message == Some(json!("unauthorized")),
        &e,
    );
    refused.close();

    // Acks both ways, binary included.
    let reply = root
        .emit_with_ack("echo", &(1, "two", json!({"three": [3]})), None)
        .await;
    let got: Option<(u8, String, Value)> = reply.as_ref().ok().and_then(|m| m.args().ok());
    checks.check(
        "echo ack",
        got == Some((1, "two".into(), json!({"three": [3]}))),
        &got,
    );
    let reply = root
        .emit_with_ack("echo", &(Bytes::from_static(&[1, 2, 3]),), None)
        .await;
    let got: Option<(Bytes,)> = reply.as_ref().ok().and_then(|m| m.args().ok());
    checks.check(
        "binary echo ack",
        got.as_ref().map(|g| g.0.as_ref()) == Some(&[1u8, 2, 3][..]),
        &got,
    );
    let reply = root
        .emit_with_ack("request-ack", &(json!({"q": 21}),), None)
        .await;
    let got: Option<(Value,)> = reply.as_ref().ok().and_then(|m| m.args().ok());
    checks.check(
        "server emit with ack answered",
        got.as_ref().map(|g| &g.0["answer"]) == Some(&json!(42)),
        &got,
    );

    // Rooms.
    let other = builder(url, protocol, mode).connect();
    let mut room_msgs = collect(&root, "room-message");
    let joined = root.emit_with_ack("join", &("news",), None).await;
    checks.check("join ack", joined.is_ok(), "");
    let _ = next(&mut collect(&other.socket("/"), "welcome")).await;
    let _ = other
        .socket("/")
        .emit("to-room", &("news", json!({"hi": 1})));
    let m = next(&mut room_msgs).await;
    // With recovery on, the server appends an offset argument (as Node's clients see too).
    checks.check(
        "room message",
        m.get(0) == Some(&json!("news")) && m.get(1) == Some(&json!({"hi": 1})),
        &m,
    );

    // The server closes the transport: reconnection (and, in v5, recovery of what was
    // sent meanwhile).
    let mut headlines = collect(&root, "headline");
    let (attempt_tx, mut attempts) = mpsc::unbounded_channel();
    client.on_reconnect_attempt(move |n| {
        let tx = attempt_tx.clone();
        async move {
            let _ = tx.send(n);
        }
    });
    if std::env::var_os("SIO_DEBUG").is_some() {
        root.on_any(|_s: ClientSocket, msg: ClientMessage| async move {
            println!(
                "debug: unhandled event {} {:?}",
                msg.event(),
                msg.packet().payload
            );
        });
    }
    let _ = root.emit("close-transport", &());
    let recovered = next_bool(&mut connected).await;
    checks.check("reconnected", recovered.is_some(), recovered);
    let attempt = tokio::time::timeout(Duration::from_secs(1), attempts.recv())
        .await
        .ok()
        .flatten();
    checks.check(
        "reconnect attempt reported",
        attempt == Some(Some(1)),
        attempt,
    );
    if v5 {
        checks.check("session recovered", recovered == Some(true), recovered);
        let h = next(&mut headlines).await;
        checks.check("missed packet replayed", h[0] == "while you were away", &h);
    }
    let reply = root.emit_with_ack("echo", &("after",), None).await;
    checks.check("works after reconnecting", reply.is_ok(), "");
    other.close();
    client.close();
}

async fn next_bool(rx: &mut mpsc::UnboundedReceiver<bool>) -> Option<bool> {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .ok()
        .flatten()
}
