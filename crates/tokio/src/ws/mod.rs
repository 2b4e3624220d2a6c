//! WebSocket over tokio: [`accept`] and [`connect`] run the opening handshake and give a
//! [`WebSocketStream`].

mod accept;
mod connect;
mod mask;
mod stream;
mod transport;

pub use accept::{ServerOptions, accept, accept_with};
pub use connect::{ClientOptions, client_handshake, connect, connect_with};
pub use stream::WebSocketStream;
pub use transport::MaybeTlsStream;
#[cfg(feature = "rustls")]
pub use transport::default_client_tls;
