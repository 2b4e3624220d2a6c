//! The Socket.IO server and client of this crate against each other over real sockets on
//! 127.0.0.1: acks both ways, per-packet middleware, outgoing and catch-all hooks, rooms,
//! connect middleware, in every transport mode.

use std::sync::{Arc, Mutex};
use std::time::Duration;

#[cfg(feature = "rustls")]
mod tls;

use serde_json::{Value, json};
use sockeye_tokio::socketio::{
    Client, ClientMessage, ClientSocket, ConnectError, Message, Socket, SocketIo, Transports,
    middleware,
};
use tokio::sync::mpsc;

async fn server() -> (SocketIo, String, Arc<Mutex<Vec<String>>>) {
    let io = SocketIo::builder().build();
    let outgoing: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = outgoing.clone();
    io.ns("/", move |socket: Socket| {
        let seen = seen.clone();
        socket.on_any_outgoing(move |_s, event, _packet| {
            seen.lock().unwrap().push(event.to_owned());
        });
        socket.use_packet(|_s, msg| {
            if msg.event() == "forbidden" {
                Err("not allowed".into())
            } else {
                Ok(())
            }
        });
        socket.on("echo", |_s: Socket, msg: Message| async move {
            msg.ack_raw(msg.args_array(), msg.attachments().to_vec());
        });
        socket.on("forbidden", |_s: Socket, msg: Message| async move {
            let _ = msg.ack(&("should not run",));
        });
        socket.on("join", |s: Socket, msg: Message| async move {
            let (room,): (String,) = msg.args().unwrap();
            s.join(room.clone());
            let _ = msg.ack(&(room,));
        });
        socket.on("shout", |s: Socket, msg: Message| async move {
            let (room, text): (String, String) = msg.args().unwrap();
            let _ = s.to(room).emit("shout", &(text,));
        });
        socket.on_any(|s: Socket, msg: Message| async move {
            let _ = s.emit("unknown", &(msg.event(),));
        });
        let _ = socket.emit("hello", &());
    });
    let gate = middleware(|req| async move {
        if req.auth["token"] == "secret" {
            Ok(())
        } else {
            Err(ConnectError::new("unauthorized"))
        }
    });
    io.ns_with("/admin", vec![gate], |_socket| {});
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let serving = io.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    (io, url, outgoing)
}

fn collect(socket: &ClientSocket, event: &str) -> mpsc::UnboundedReceiver<Value> {
    let (tx, rx) = mpsc::unbounded_channel();
    socket.on(event, move |_s: ClientSocket, msg: ClientMessage| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(Value::Array(msg.args().unwrap_or_default()));
        }
    });
    rx
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_and_server_in_every_transport_mode() {
    let (_io, url, outgoing) = server().await;
    for transports in [
        Transports {
            polling: false,
            websocket: true,
        },
        Transports {
            polling: true,
            websocket: false,
        },
        Transports {
            polling: true,
            websocket: true,
        },
    ] {
        let client = Client::builder(url.clone())
            .transports(transports)
            .connect();
        let root = client.socket("/");
        let mut hello = collect(&root, "hello");
        let mut unknown = collect(&root, "unknown");
        next(&mut hello).await;
        // Acks with nested binary.
        let blob = bytes::Bytes::from_static(&[1, 2, 3]);
        let reply = root
            .emit_with_ack("echo", &(1, json!({"a": "b"}), &blob), None)
            .await
            .unwrap();
        let (n, obj, back): (u8, Value, bytes::Bytes) = reply.args().unwrap();
        assert_eq!((n, obj, back), (1, json!({"a": "b"}), blob));
        // Per-packet middleware drops the event: its handler never answers.
        let refused = root
            .emit_with_ack("forbidden", &(), Some(Duration::from_millis(300)))
            .await;
        assert!(refused.is_err(), "{transports:?}");
        // The catch-all handler.
        root.emit("no-such-event", &()).unwrap();
        assert_eq!(next(&mut unknown).await, json!(["no-such-event"]));
        // Rooms: a second client in the room hears the first one.
        let other = Client::builder(url.clone())
            .transports(transports)
            .connect();
        let other_root = other.socket("/");
        let mut shouts = collect(&other_root, "shout");
        let joined = other_root
            .emit_with_ack("join", &("r",), None)
            .await
            .unwrap();
        assert_eq!(joined.args::<(String,)>().unwrap().0, "r");
        root.emit("shout", &("r", "hey")).unwrap();
        assert_eq!(next(&mut shouts).await, json!(["hey"]));
        other.close();
        client.close();
    }
    // The outgoing hook saw what the server emitted to its sockets.
    let seen = outgoing.lock().unwrap().clone();
    assert!(
        seen.iter().filter(|e| *e == "hello").count() >= 3,
        "{seen:?}"
    );
    assert!(seen.iter().any(|e| e == "unknown"), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_middleware_refuses_and_accepts() {
    let (_io, url, _) = server().await;
    let client = Client::builder(url.clone())
        .namespace("/admin", Some(json!({"token": "wrong"})))
        .connect();
    let (tx, mut rx) = mpsc::unbounded_channel();
    client
        .socket("/admin")
        .on_connect_error(move |_s, payload| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(payload);
            }
        });
    let payload = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payload, json!({"message": "unauthorized"}));
    client.close();
    let client = Client::builder(url)
        .namespace("/admin", Some(json!({"token": "secret"})))
        .connect();
    let (tx, mut rx) = mpsc::unbounded_channel();
    client.socket("/admin").on_connect(move |_s, recovered| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(recovered);
        }
    });
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap(),
        Some(false)
    );
    client.close();
}

/// A TCP proxy in front of `target` that counts the connections it accepts.
async fn counting_proxy(target: String) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    let target = target.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (url, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_reuses_its_http_connections() {
    let (_io, url, _) = server().await;
    let (proxied, connections) = counting_proxy(url).await;
    let client = Client::builder(proxied)
        .transports(Transports {
            polling: true,
            websocket: false,
        })
        .connect();
    let root = client.socket("/");
    let mut hello = collect(&root, "hello");
    next(&mut hello).await;
    // Each ack is a POST and a GET answered with the reply: 20 requests at least.
    for i in 0..10 {
        let reply = root.emit_with_ack("echo", &(i,), None).await.unwrap();
        assert_eq!(reply.args::<(u32,)>().unwrap(), (i,));
    }
    // One connection for the waiting GET, one for the POSTs (and a spare for the moment a
    // GET is answered while the next one starts).
    let n = connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!(n <= 3, "{n} connections for about 22 requests");
    client.close();
}

#[cfg(feature = "rustls")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_and_upgrade_over_tls() {
    let (io, _, _) = server().await;
    let (acceptor, client_config) = tls::localhost();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, io) = (acceptor.clone(), io.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req| {
                    let io = io.clone();
                    async move { Ok::<_, std::convert::Infallible>(io.handle(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .with_upgrades()
                    .await;
            });
        }
    });

    for websocket in [false, true] {
        let client = Client::builder(format!("https://localhost:{port}"))
            .tls(Arc::new(client_config.clone()))
            .transports(Transports {
                polling: true,
                websocket,
            })
            .connect();
        let root = client.socket("/");
        let mut hello = collect(&root, "hello");
        next(&mut hello).await;
        let reply = root
            .emit_with_ack("echo", &("over tls",), None)
            .await
            .unwrap();
        assert_eq!(reply.args::<(String,)>().unwrap().0, "over tls");
        client.close();
    }
}

#[tokio::test]
async fn invalid_options_are_refused_not_replaced() {
    let none = Transports {
        polling: false,
        websocket: false,
    };
    let err = SocketIo::builder()
        .transports(none)
        .try_build()
        .unwrap_err();
    assert_eq!(err, sockeye_tokio::socketio::ConfigError::NoTransport);
    assert!(
        SocketIo::builder()
            .ping_timeout(Duration::ZERO)
            .try_build()
            .is_err()
    );
}

/// Collects what the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn handlers_run_in_a_span_naming_the_socket_and_no_payload_is_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // One thread: the server's tasks and the handlers run on this one, under this default.
    let _guard = tracing::subscriber::set_default(subscriber);
    let io = SocketIo::builder().build();
    io.ns("/", |socket: Socket| {
        tracing::info!("connection handler");
        socket.on("secret", |_s: Socket, msg: Message| async move {
            tracing::info!("event handler");
            let _ = msg.ack(&());
        });
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let serving = io.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    let client = Client::builder(url).connect();
    let root = client.socket("/");
    root.emit_with_ack("secret", &("hunter2-payload",), None)
        .await
        .unwrap();
    client.close();
    let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for handler in ["connection handler", "event handler"] {
        let line = out
            .lines()
            .find(|l| l.contains(handler))
            .unwrap_or_else(|| panic!("no {handler:?} line in:\n{out}"));
        for field in ["socketio{", "socket=", "namespace=/", "sid=", "transport="] {
            assert!(line.contains(field), "{field} missing from {line:?}");
        }
    }
    assert!(
        out.contains("engineio{"),
        "the Engine.IO session span:\n{out}"
    );
    assert!(!out.contains("hunter2"), "a payload was logged:\n{out}");
    assert!(!out.contains("sid= "), "an empty session id:\n{out}");
}

/// A client with neither transport is refused when it starts, not silently given both.
#[test]
fn client_without_a_transport_is_refused() {
    let none = Transports {
        polling: false,
        websocket: false,
    };
    let err = Client::builder("http://127.0.0.1:1")
        .transports(none)
        .try_connect()
        .expect_err("no transport");
    assert_eq!(err, sockeye_tokio::socketio::ConfigError::NoTransport);
    let panicked = std::panic::catch_unwind(|| {
        Client::builder("http://127.0.0.1:1")
            .transports(none)
            .connect()
    });
    assert!(panicked.is_err());
}
