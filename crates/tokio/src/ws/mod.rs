//! WebSocket over tokio: [`accept`] and [`connect`] run the opening handshake and give a
//! [`WebSocketStream`]; with the `hyper` feature, [`upgrade`] takes a request that hyper or
//! axum already parsed.

mod accept;
mod connect;
mod mask;
mod stream;
mod transport;
#[cfg(feature = "hyper")]
mod upgrade;

pub use accept::{ServerOptions, accept, accept_with};
pub use connect::{ClientOptions, client_handshake, connect, connect_with};
pub use stream::WebSocketStream;
pub use transport::MaybeTlsStream;
#[cfg(feature = "rustls")]
pub use transport::default_client_tls;
#[cfg(feature = "native-roots")]
pub use transport::native_client_tls;
#[cfg(feature = "hyper")]
pub use upgrade::{PendingUpgrade, Upgraded, upgrade};
