//! A WebSocket echo mounted on an axum route, next to ordinary routes.
//!
//! `cargo run -p sockeye-tokio --example ws_axum -- 127.0.0.1:3000`, then connect to
//! `ws://127.0.0.1:3000/ws` (offering the `echo` subprotocol is optional).

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use sockeye_tokio::sockeye_ws::handshake::Accept;
use sockeye_tokio::ws::{self, ServerOptions};

async fn websocket(mut request: Request) -> Response {
    let options = ServerOptions::default();
    let (response, pending) = ws::upgrade(&mut request, &options, |req| {
        let accept = Accept::new();
        Ok(if req.protocols().iter().any(|p| p == "echo") {
            accept.with_protocol("echo")
        } else {
            accept
        })
    });
    if let Some(pending) = pending {
        tokio::spawn(async move {
            let Ok(mut socket) = pending.await else {
                return;
            };
            while let Some(Ok(message)) = socket.next().await {
                if socket.send(message).await.is_err() {
                    break;
                }
            }
        });
    }
    response.map(Body::new).into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let app = Router::new()
        .route("/", get(|| async { "sockeye on axum: connect to /ws" }))
        .route("/ws", get(websocket));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
