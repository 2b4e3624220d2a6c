//! Sans-IO WebSocket codec (README is being written).
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod handshake;

/// Which end of the connection this endpoint is (RFC 6455 §5.1: clients mask, servers do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The endpoint that opened the connection; it masks every frame it sends.
    Client,
    /// The endpoint that accepted the connection; it never masks.
    Server,
}
