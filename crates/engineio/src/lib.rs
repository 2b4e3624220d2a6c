#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod client;
mod config;
pub mod packet;
pub mod payload;
pub mod server;
mod str;

pub use config::{ConfigError, ServerConfig, ServerConfigBuilder, Transports};
pub use packet::{Data, DecodeError, Packet, PacketType};
pub use payload::{PayloadFormat, decode_payload, encode_payload};
pub use server::CloseReason;
pub use str::{InvalidUtf8, Str};

/// The Engine.IO protocol revision a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// Revision 3 (`EIO=3`): socket.io-client 2.x; the client sends pings.
    V3,
    /// Revision 4 (`EIO=4`): engine.io-client 4+, socket.io-client 3.x and 4.x; the server
    /// sends pings.
    V4,
}

impl Protocol {
    /// The value of the `EIO` query parameter for this revision.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V3 => "3",
            Self::V4 => "4",
        }
    }
}

/// Names one HTTP request: handed to a server [`Session`](server::Session) by the adapter, or
/// asked of the adapter by a [`Client`](client::Client). Its answer carries the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

/// Names one WebSocket attached to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub(crate) u64);
