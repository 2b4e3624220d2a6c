#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod close;
mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
pub mod frame;
pub mod handshake;
mod mask;
mod message;
mod unmask_copy;
mod utf8;

pub use close::{CloseCode, CloseFrame, MAX_CLOSE_REASON};
pub use config::{Config, ConfigBuilder, Keepalive};
pub use connection::{Connection, Event, EventRef, MaskSource, State, Transmit};
pub use error::{ConfigError, ProtocolError, SendError};
pub use mask::apply_mask;
pub use message::{DataKind, Message, TextRef, Utf8Bytes};

/// Which end of the connection this endpoint is (RFC 6455 §5.1: clients mask, servers do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The endpoint that opened the connection; it masks every frame it sends.
    Client,
    /// The endpoint that accepted the connection; it never masks.
    Server,
}
