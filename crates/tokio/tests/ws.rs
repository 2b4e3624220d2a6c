//! The tokio WebSocket adapter over real loopback sockets and in-memory pipes.

use std::time::Duration;

#[cfg(feature = "rustls")]
mod tls;

use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use sockeye_tokio::Error;
use sockeye_tokio::sockeye_ws::handshake::{Accept, ClientRequest, Rejection, ResponseError};
use sockeye_tokio::sockeye_ws::{CloseCode, Config, Message, ProtocolError};
use sockeye_tokio::ws::{self, ClientOptions, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback server that runs `serve` on each accepted WebSocket; returns its URL.
async fn server<F, Fut>(serve: F) -> String
where
    F: Fn(ws::WebSocketStream<tokio::net::TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serve = std::sync::Arc::new(serve);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let serve = serve.clone();
            tokio::spawn(async move {
                if let Ok(socket) = ws::accept(tcp).await {
                    serve(socket).await;
                }
            });
        }
    });
    format!("ws://{addr}")
}

async fn echo(mut socket: ws::WebSocketStream<tokio::net::TcpStream>) {
    while let Some(Ok(m)) = socket.next().await {
        if socket.send(m).await.is_err() {
            break;
        }
    }
}

#[tokio::test]
async fn text_and_binary_round_trip_over_tcp() {
    let url = server(echo).await;
    let (mut client, accepted) = ws::connect(&format!("{url}/echo")).await.unwrap();
    assert_eq!(accepted.protocol(), None);
    client.send(Message::from("héllo")).await.unwrap();
    client
        .send(Message::from(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    let big = vec![7u8; 1 << 20];
    client.send(Message::from(big.clone())).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::from("héllo")
    );
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::from(vec![0u8, 1, 2, 255])
    );
    assert_eq!(client.next().await.unwrap().unwrap().as_bytes(), &big[..]);
}

#[tokio::test]
async fn fragmented_sends_arrive_as_one_message() {
    use sockeye_tokio::sockeye_ws::DataKind;
    let url = server(echo).await;
    let (mut client, _) = ws::connect(&url).await.unwrap();
    let euro = "€".as_bytes();
    client
        .send_fragment(DataKind::Text, &euro[..2], false)
        .await
        .unwrap();
    client.ping(b"in between").await.unwrap();
    client
        .send_fragment(DataKind::Text, &euro[2..], true)
        .await
        .unwrap();
    assert_eq!(client.next().await.unwrap().unwrap(), Message::from("€"));
}

#[tokio::test]
async fn pongs_are_recorded() {
    let url = server(echo).await;
    let (mut client, _) = ws::connect(&url).await.unwrap();
    client.ping(b"are you there").await.unwrap();
    client.send(Message::from("after the ping")).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::from("after the ping")
    );
    assert_eq!(client.last_pong().unwrap().as_ref(), b"are you there");
}

#[tokio::test]
async fn close_with_code_and_reason_ends_both_streams_cleanly() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let url = server(move |mut socket| {
        let tx = tx.lock().unwrap().take();
        async move {
            while socket.next().await.is_some() {}
            if let Some(tx) = tx {
                let _ = tx.send(socket.close_frame().cloned());
            }
        }
    })
    .await;
    let (mut client, _) = ws::connect(&url).await.unwrap();
    client.close(CloseCode(4000), "done here").await.unwrap();
    assert!(client.next().await.is_none(), "the stream ends, no error");
    let echoed = client.close_frame().unwrap();
    assert_eq!(echoed.code, CloseCode(4000));
    let seen = rx.await.unwrap().unwrap();
    assert_eq!(seen.code, CloseCode(4000));
    assert_eq!(seen.reason, "done here");
}

#[tokio::test]
async fn server_close_reaches_the_client() {
    let url = server(|mut socket| async move {
        socket
            .close(CloseCode::GOING_AWAY, "restarting")
            .await
            .unwrap();
        while socket.next().await.is_some() {}
    })
    .await;
    let (mut client, _) = ws::connect(&url).await.unwrap();
    assert!(client.next().await.is_none());
    let frame = client.close_frame().unwrap();
    assert_eq!(frame.code, CloseCode::GOING_AWAY);
    assert_eq!(frame.reason, "restarting");
    assert!(client.connection().is_closed());
}

#[tokio::test]
async fn rejected_handshake_reports_the_status() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let result = ws::accept_with(tcp, &ServerOptions::default(), |req| {
            if req.origin() == Some("https://good.example") {
                Ok(Accept::new())
            } else {
                Err(Rejection::new(StatusCode::FORBIDDEN)
                    .unwrap()
                    .with_body("origin"))
            }
        })
        .await;
        assert!(matches!(
            result,
            Err(Error::Rejected(StatusCode::FORBIDDEN))
        ));
    });
    let request = ClientRequest::new(&format!("ws://{addr}/"))
        .unwrap()
        .with_origin("https://evil.example")
        .unwrap();
    let err = ws::connect_with(request, &ClientOptions::default())
        .await
        .unwrap_err();
    match err {
        Error::Response(ResponseError::UnexpectedStatus { status, .. }) => {
            assert_eq!(status, StatusCode::FORBIDDEN)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn subprotocol_is_negotiated() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let socket = ws::accept_with(tcp, &ServerOptions::default(), |req| {
            assert_eq!(req.protocols(), ["chat.v2", "chat.v1"]);
            Ok(Accept::new().with_protocol("chat.v1"))
        })
        .await
        .unwrap();
        echo(socket).await;
    });
    let request = ClientRequest::new(&format!("ws://{addr}/"))
        .unwrap()
        .with_protocol("chat.v2")
        .unwrap()
        .with_protocol("chat.v1")
        .unwrap();
    let (_, accepted) = ws::connect_with(request, &ClientOptions::default())
        .await
        .unwrap();
    assert_eq!(accepted.protocol(), Some("chat.v1"));
}

#[tokio::test]
async fn bad_handshake_gets_an_http_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        ws::accept(tcp).await.map(|_| ())
    });
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    )
    .await
    .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 426 "), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13\r\n")
    );
    assert!(matches!(server.await.unwrap(), Err(Error::Request(_))));
}

#[tokio::test]
async fn protocol_fault_is_reported_once_then_the_stream_ends() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        // A hand-written server that answers the handshake, then sends a masked frame.
        let mut buf = vec![0u8; 4096];
        let n = tcp.read(&mut buf).await.unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .trim()
            .to_owned();
        let accept = sockeye_tokio::sockeye_ws::handshake::accept_key(key.as_bytes());
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        tcp.write_all(response.as_bytes()).await.unwrap();
        tcp.write_all(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2])
            .await
            .unwrap();
        // Expect the client's Close 1002, then close.
        let n = tcp.read(&mut buf).await.unwrap();
        assert_eq!(buf[0], 0x88);
        let mut body = buf[6..n].to_vec();
        sockeye_tokio::sockeye_ws::apply_mask(&mut body, [buf[2], buf[3], buf[4], buf[5]], 0);
        assert_eq!(&body[..2], &1002u16.to_be_bytes());
    });
    let (mut client, _) = ws::connect(&format!("ws://{addr}/")).await.unwrap();
    match client.next().await {
        Some(Err(Error::Protocol(ProtocolError::MaskedFrame))) => {}
        other => panic!("{other:?}"),
    }
    assert!(client.next().await.is_none());
}

#[tokio::test]
async fn dropping_a_read_future_loses_nothing() {
    let (a, b) = tokio::io::duplex(64);
    let server = tokio::spawn(async move { ws::accept(a).await.unwrap() });
    let (mut client, _) = ws::client_handshake(
        b,
        ClientRequest::new("ws://localhost/").unwrap(),
        &ClientOptions::default(),
    )
    .await
    .unwrap();
    let mut server = server.await.unwrap();
    // A message larger than the pipe: the server's read stalls mid-frame while the client
    // writes, and each stalled read is cancelled by a timeout.
    let payload = "x".repeat(10_000);
    let send = tokio::spawn(async move {
        client.send(Message::from(payload.as_str())).await.unwrap();
        client
    });
    let message = loop {
        tokio::select! {
            m = server.next() => break m.unwrap().unwrap(),
            _ = tokio::time::sleep(Duration::from_micros(10)) => continue,
        }
    };
    assert_eq!(message.len(), 10_000);
    let _client = send.await.unwrap();
}

#[tokio::test]
async fn split_halves_work_from_different_tasks() {
    let url = server(echo).await;
    let (client, _) = ws::connect(&url).await.unwrap();
    let (mut writer, mut reader) = client.split();
    let writing = tokio::spawn(async move {
        for i in 0..100 {
            writer.send(Message::from(format!("{i}"))).await.unwrap();
        }
        writer
    });
    for i in 0..100 {
        let m = reader.next().await.unwrap().unwrap();
        assert_eq!(m, Message::from(format!("{i}")));
    }
    let _writer = writing.await.unwrap();
}

#[tokio::test]
async fn backpressure_holds_sends_while_the_peer_does_not_read() {
    let (a, b) = tokio::io::duplex(1024);
    let server = tokio::spawn(async move { ws::accept(a).await.unwrap() });
    let options = ClientOptions {
        config: Config::builder().high_water_mark(4096).build().unwrap(),
        ..ClientOptions::default()
    };
    let (mut client, _) =
        ws::client_handshake(b, ClientRequest::new("ws://localhost/").unwrap(), &options)
            .await
            .unwrap();
    let _server = server.await.unwrap(); // never reads
    let chunk = vec![0u8; 1000];
    let mut sent = 0;
    let stalled = loop {
        let feed = client.feed(Message::from(chunk.clone()));
        match tokio::time::timeout(Duration::from_millis(50), feed).await {
            Ok(r) => {
                r.unwrap();
                sent += 1;
            }
            Err(_) => break true,
        }
        assert!(sent < 100, "sends never stall");
    };
    assert!(stalled);
    // What is queued stays bounded by the pipe plus the high-water mark.
    assert!(client.connection().buffered_amount() <= 4096 + 1010);
}

#[tokio::test(start_paused = true)]
async fn keepalive_fails_a_silent_peer_with_1011() {
    let (a, b) = tokio::io::duplex(4096);
    let server = tokio::spawn(async move {
        let options = ServerOptions {
            config: Config::builder()
                .keepalive(Duration::from_secs(20), Duration::from_secs(10))
                .build()
                .unwrap(),
            ..ServerOptions::default()
        };
        ws::accept_with(a, &options, |_| Ok(Accept::new()))
            .await
            .unwrap()
    });
    // A raw client that completes the handshake and then never answers anything.
    let mut raw = b;
    raw.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut server = server.await.unwrap();
    match server.next().await {
        Some(Err(Error::Protocol(ProtocolError::KeepaliveTimeout))) => {}
        other => panic!("{other:?}"),
    }
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n) = raw.read(&mut buf).await {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    let frames = &seen[seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
    // A ping (4-byte payload), then a Close 1011.
    assert_eq!(frames[0], 0x89);
    assert_eq!(&frames[6..10], &[0x88, 16, 0x03, 0xf3]);
}

#[cfg(feature = "rustls")]
#[tokio::test]
async fn wss_with_a_generated_certificate() {
    use std::sync::Arc;

    let (acceptor, client_config) = tls::localhost();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let mut socket = ws::accept(tls).await.unwrap();
        while let Some(Ok(m)) = socket.next().await {
            socket.send(m).await.unwrap();
        }
    });

    let options = ClientOptions {
        tls: Some(Arc::new(client_config)),
        ..ClientOptions::default()
    };
    let request = ClientRequest::new(&format!("wss://localhost:{port}/secure")).unwrap();
    let (mut client, _) = ws::connect_with(request, &options).await.unwrap();
    assert!(matches!(client.get_ref(), ws::MaybeTlsStream::Rustls(_)));
    client.send(Message::from("over tls")).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::from("over tls")
    );
    client.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(client.next().await.is_none());

    // The default configuration (Mozilla roots) refuses the self-signed certificate.
    let request = ClientRequest::new(&format!("wss://localhost:{port}/")).unwrap();
    assert!(matches!(
        ws::connect_with(request, &ClientOptions::default()).await,
        Err(Error::Io(_))
    ));
}

#[cfg(feature = "hyper")]
mod hyper_upgrade {
    use super::*;
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    async fn handle(
        mut request: http::Request<hyper::body::Incoming>,
    ) -> Result<http::Response<Full<Bytes>>, std::convert::Infallible> {
        let (response, pending) = ws::upgrade(&mut request, &ServerOptions::default(), |req| {
            if req.path() == "/ws" {
                Ok(Accept::new())
            } else {
                Err(Rejection::new(StatusCode::NOT_FOUND).unwrap())
            }
        });
        if let Some(pending) = pending {
            tokio::spawn(async move {
                let mut socket = pending.await.unwrap();
                while let Some(Ok(m)) = socket.next().await {
                    socket.send(m).await.unwrap();
                }
            });
        }
        Ok(response)
    }

    #[tokio::test]
    async fn upgrade_from_a_hyper_request() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service_fn(handle))
                        .with_upgrades(),
                );
            }
        });
        let (mut client, _) = ws::connect(&format!("ws://{addr}/ws")).await.unwrap();
        client.send(Message::from("through hyper")).await.unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            Message::from("through hyper")
        );
        // A path the service refuses, and a request that is not a handshake.
        match ws::connect(&format!("ws://{addr}/other")).await {
            Err(Error::Response(ResponseError::UnexpectedStatus { status, .. })) => {
                assert_eq!(status, StatusCode::NOT_FOUND)
            }
            other => panic!("{other:?}"),
        }
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        tcp.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 426 "), "{response}");
    }

    #[tokio::test]
    async fn upgrade_on_an_axum_route() {
        use axum::body::Body;
        use axum::response::IntoResponse;

        async fn route(mut request: axum::extract::Request) -> axum::response::Response {
            let (response, pending) = ws::upgrade(&mut request, &ServerOptions::default(), |_| {
                Ok(Accept::new())
            });
            if let Some(pending) = pending {
                tokio::spawn(async move {
                    let mut socket = pending.await.unwrap();
                    while let Some(Ok(m)) = socket.next().await {
                        socket.send(m).await.unwrap();
                    }
                });
            }
            response.map(Body::new).into_response()
        }

        let app = axum::Router::new().route("/ws", axum::routing::get(route));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let (mut client, _) = ws::connect(&format!("ws://{addr}/ws")).await.unwrap();
        client.send(Message::from(vec![1u8, 2, 3])).await.unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            Message::from(vec![1u8, 2, 3])
        );
    }
}

#[cfg(feature = "native-roots")]
#[test]
fn the_system_certificate_store_loads() {
    // Debian's ca-certificates is on every machine this runs on; the call fails when the
    // store yields no usable certificate.
    ws::native_client_tls().unwrap();
}

#[tokio::test]
async fn a_failing_server_lingers_so_a_still_sending_client_reads_the_close_code() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept(tcp).await.unwrap();
        let first = socket.next().await;
        assert!(matches!(
            first,
            Some(Err(Error::Protocol(ProtocolError::ReservedOpcode { .. })))
        ));
        assert!(socket.next().await.is_none());
    });
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = tcp.into_split();
    wr.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    // A frame with a reserved opcode, then 800 KiB of frames the server will not decode.
    let writer = tokio::spawn(async move {
        wr.write_all(&[0x83, 0x80, 1, 2, 3, 4]).await.unwrap();
        let frame = [0x82, 0xfe, 0x10, 0x00, 1, 2, 3, 4];
        let mut chunk = frame.to_vec();
        chunk.extend(std::iter::repeat_n(0u8, 0x1000));
        let mut written = 0;
        for _ in 0..200 {
            if wr.write_all(&chunk).await.is_err() {
                break;
            }
            written += 1;
        }
        let _ = wr.shutdown().await;
        written
    });
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) => panic!(
                "the server reset the connection: {e} (got {} bytes)",
                seen.len()
            ),
        }
    }
    let frames = &seen[seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
    assert_eq!(&frames[..4], &[0x88, frames[1], 0x03, 0xea], "Close 1002");
    // The server drained instead of closing with unread input (which resets the
    // connection and fails the client's writes).
    assert_eq!(writer.await.unwrap(), 200);
    server.await.unwrap();
}
