//! WebSocket over tokio: [`accept`] and [`connect`] run the opening handshake and give a
//! [`WebSocketStream`].

mod accept;
mod connect;
mod mask;
mod stream;

pub use accept::{ServerOptions, accept, accept_with};
pub use connect::{ClientOptions, client_handshake, connect, connect_with};
pub use stream::WebSocketStream;
