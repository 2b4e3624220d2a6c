//! A Socket.IO server mounted in an axum `Router` beside ordinary routes.
//!
//! ```text
//! cargo run -p sockeye-tokio --example sio_axum -- 127.0.0.1:3000
//! ```
//!
//! `GET /health` answers `ok`; `/socket.io/` is Socket.IO, with an `echo` event that acks
//! its arguments back.

use axum::Router;
use axum::routing::get;
use sockeye_tokio::socketio::{Message, Socket, SocketIo};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let io = SocketIo::builder().build();
    io.ns("/", |socket: Socket| {
        socket.on("echo", |_socket: Socket, msg: Message| async move {
            msg.ack_raw(msg.args_array(), msg.attachments().to_vec());
        });
    });
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route_service("/socket.io/", io);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("sio_axum on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
