//! What the clean-room protocol tests (`protocol_eio.rs`, `protocol_sio.rs`) share: plain
//! HTTP requests over fresh connections, WebSockets through this crate's client, and a bound
//! on every wait so that a missing answer fails the test instead of hanging it.

#![allow(dead_code)] // each test file uses part of it

pub(crate) mod eio;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use sockeye_tokio::sockeye_ws::Message;
use sockeye_tokio::sockeye_ws::handshake::ResponseError;
use sockeye_tokio::ws::{self, MaybeTlsStream, WebSocketStream};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The longest any single step may take.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// `f`, or a panic once [`WAIT`] has passed.
pub(crate) async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(WAIT, f)
        .await
        .expect("no answer in time")
}

/// An HTTP response, read to its end.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Bytes,
}

impl Response {
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a text body")
    }
}

/// One request on a fresh connection; `Err` when the connection ends without a response.
pub(crate) async fn try_request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    body: &[u8],
) -> Result<Response, hyper::Error> {
    within(async {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let request = http::Request::builder()
            .method(method)
            .uri(target)
            .header(http::header::HOST, addr.to_string())
            .body(Full::new(Bytes::copy_from_slice(body)))
            .expect("a valid request");
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Response {
            status,
            content_type,
            body,
        })
    })
    .await
}

pub(crate) async fn get(addr: SocketAddr, target: &str) -> Response {
    try_request(addr, "GET", target, b"")
        .await
        .expect("a response")
}

pub(crate) async fn post(addr: SocketAddr, target: &str, body: &[u8]) -> Response {
    try_request(addr, "POST", target, body)
        .await
        .expect("a response")
}

/// Sends a GET and drops the connection after `after`, without reading an answer.
pub(crate) async fn abandoned_get(addr: SocketAddr, target: &str, after: Duration) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    tokio::time::sleep(after).await;
    drop(stream);
}

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket; a refused handshake gives the response status.
pub(crate) async fn try_ws(addr: SocketAddr, target: &str) -> Result<Ws, u16> {
    let url = format!("ws://{addr}{target}");
    match within(ws::connect(&url)).await {
        Ok((ws, _)) => Ok(ws),
        Err(sockeye_tokio::Error::Response(ResponseError::UnexpectedStatus { status, .. })) => {
            Err(status.as_u16())
        }
        Err(e) => panic!("connecting {url}: {e}"),
    }
}

pub(crate) async fn ws(addr: SocketAddr, target: &str) -> Ws {
    try_ws(addr, target).await.expect("a WebSocket")
}

/// The next message; `None` once the server has closed the connection.
pub(crate) async fn next(ws: &mut Ws) -> Option<Message> {
    match within(ws.next()).await {
        Some(Ok(m)) => Some(m),
        Some(Err(_)) | None => None,
    }
}

/// The next message, which must be text.
pub(crate) async fn next_text(ws: &mut Ws) -> String {
    match next(ws).await {
        Some(Message::Text(t)) => t.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

pub(crate) async fn send(ws: &mut Ws, message: impl Into<Message>) {
    within(ws.send(message.into())).await.expect("send");
}

/// Waits for the server to close the connection, skipping what it sends before.
pub(crate) async fn closed(ws: &mut Ws) {
    while next(ws).await.is_some() {}
}

/// Waits for the server to close the connection, which must come before any heartbeat could
/// have closed it (the servers under test send their first ping 300 ms after the handshake,
/// and give up on the client 200 ms later): the close answers what the test just sent.
pub(crate) async fn closed_at_once(ws: &mut Ws) {
    let started = std::time::Instant::now();
    closed(ws).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(250),
        "closed only after {took:?}"
    );
}
