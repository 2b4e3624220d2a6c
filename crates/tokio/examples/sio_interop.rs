//! The Socket.IO interop server the conformance tests drive with the official clients
//! (socket.io-client 4.x and 2.x, engine.io-client, python-socketio).
//!
//! ```text
//! cargo run --release -p sockeye-tokio --example sio_interop -- 127.0.0.1:3100
//! ```
//!
//! `/` is open; `/chat` admits only auth `{"token":"secret"}` (socket.io 2.x clients send it
//! as `/chat?token=secret`), else `CONNECT_ERROR {"message":"unauthorized"}`; every other
//! namespace is refused with `{"message":"Invalid namespace"}`. Engine.IO v3 clients are
//! accepted; the payload limit is 1 MB. On both namespaces:
//!
//! - on connect: emit `welcome {nsp, sid, auth, transport, eio}`;
//! - `echo(...args, ack)` → `ack(...args)`; `emit-back(...args)` → `emitted-back(...args)`;
//! - `binary(...args, [ack])` → `binary-back(...args)` and `ack(...args)`;
//! - `request-ack(payload, ack)` → emits `ask(payload)` with an ack and passes the answer to
//!   `ack` (after 5 s: `{error: "timeout"}`);
//! - `conn-info(ack)` → `ack({transport, upgraded, eio, rooms})`;
//! - `join(room, [ack])` / `leave(room, [ack])` → `ack(room)`;
//! - `to-room(room, payload, [ack])` → `room-message(room, payload)` to the room, then `ack()`;
//! - `broadcast(payload, [ack])` → `broadcast-message(payload)` to the namespace, then `ack()`;
//! - `disconnect-me` → server-side namespace disconnect; `close-transport` → close the
//!   Engine.IO connection;
//! - `last-disconnect(sid, ack)` → `ack(reason or null)`: the server-side reason recorded
//!   for that socket id (the reference's strings).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sockeye_tokio::socketio::{ConnectError, Message, Socket, SocketIo, middleware};

type Reasons = Arc<Mutex<HashMap<String, String>>>;

fn on_connect(socket: Socket, reasons: Reasons) {
    let _ = socket.emit(
        "welcome",
        &(json!({
            "nsp": socket.namespace(),
            "sid": socket.id(),
            "auth": socket.auth(),
            "transport": socket.transport(),
            "eio": socket.eio(),
        }),),
    );
    socket.on("echo", |_socket: Socket, msg: Message| async move {
        msg.ack_raw(msg.args_array(), msg.attachments().to_vec());
    });
    socket.on("emit-back", |socket: Socket, msg: Message| async move {
        socket.emit_raw(
            "emitted-back",
            &msg.args_array(),
            msg.attachments().to_vec(),
        );
    });
    socket.on("binary", |socket: Socket, msg: Message| async move {
        socket.emit_raw("binary-back", &msg.args_array(), msg.attachments().to_vec());
        msg.ack_raw(msg.args_array(), msg.attachments().to_vec());
    });
    socket.on("request-ack", |socket: Socket, msg: Message| async move {
        let payload: Value = msg.args::<(Value,)>().map(|a| a.0).unwrap_or(Value::Null);
        match socket
            .emit_with_ack("ask", &(payload,), Some(Duration::from_secs(5)))
            .await
        {
            Ok(answer) => msg.ack_raw(answer.args_array(), answer.attachments().to_vec()),
            Err(_) => {
                let _ = msg.ack(&(json!({"error": "timeout"}),));
            }
        }
    });
    socket.on("conn-info", |socket: Socket, msg: Message| async move {
        let rooms = socket.rooms().await;
        let _ = msg.ack(&(json!({
            "transport": socket.transport(),
            "upgraded": socket.upgraded(),
            "eio": socket.eio(),
            "rooms": rooms,
        }),));
    });
    socket.on("join", |socket: Socket, msg: Message| async move {
        let Ok((room,)) = msg.args::<(String,)>() else {
            return;
        };
        socket.join(room.clone());
        // Commands reach the engine in order: the join is applied before the ack goes out.
        let _ = msg.ack(&(room,));
    });
    socket.on("leave", |socket: Socket, msg: Message| async move {
        let Ok((room,)) = msg.args::<(String,)>() else {
            return;
        };
        socket.leave(room.clone());
        let _ = msg.ack(&(room,));
    });
    socket.on("to-room", |socket: Socket, msg: Message| async move {
        let Ok((room, payload)) = msg.args::<(String, Value)>() else {
            return;
        };
        let _ = socket
            .io()
            .of(socket.namespace())
            .to(room.clone())
            .emit("room-message", &(room, payload));
        let _ = msg.ack(&());
    });
    socket.on("broadcast", |socket: Socket, msg: Message| async move {
        let Ok((payload,)) = msg.args::<(Value,)>() else {
            return;
        };
        let _ = socket
            .io()
            .of(socket.namespace())
            .emit("broadcast-message", &(payload,));
        let _ = msg.ack(&());
    });
    socket.on(
        "disconnect-me",
        |socket: Socket, _msg: Message| async move {
            socket.disconnect();
        },
    );
    socket.on(
        "close-transport",
        |socket: Socket, _msg: Message| async move {
            socket.close_transport();
        },
    );
    let r = reasons.clone();
    socket.on("last-disconnect", move |_socket: Socket, msg: Message| {
        let reasons = r.clone();
        async move {
            let Ok((sid,)) = msg.args::<(String,)>() else {
                return;
            };
            let reason = reasons.lock().ok().and_then(|m| m.get(&sid).cloned());
            let _ = msg.ack(&(reason,));
        }
    });
    socket.on_disconnect(move |socket: Socket, reason| {
        let reasons = reasons.clone();
        async move {
            if let Ok(mut m) = reasons.lock() {
                m.insert(socket.id().to_owned(), reason.as_str().to_owned());
            }
        }
    });
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3100".into());
    let io = SocketIo::builder()
        .allow_eio3(true)
        .max_http_buffer_size(1_000_000)
        .cors(vec!["*".into()], false)
        .build();
    let reasons: Reasons = Arc::default();
    let r = reasons.clone();
    io.ns("/", move |socket| on_connect(socket, r.clone()));
    let secret = middleware(|request| async move {
        if request.auth.get("token").and_then(Value::as_str) == Some("secret") {
            Ok(())
        } else {
            Err(ConnectError::new("unauthorized"))
        }
    });
    io.ns_with("/chat", vec![secret], move |socket| {
        on_connect(socket, reasons.clone())
    });
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("sio_interop on http://{}", listener.local_addr()?);
    io.serve(listener).await
}
