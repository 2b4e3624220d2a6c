//! The adapter's error type.

use std::io;

use sockeye_ws::handshake::{BuildError, RequestError, ResponseError};
use sockeye_ws::{ProtocolError, SendError};

/// What can go wrong on a WebSocket connection driven by this crate.
///
/// A normal close is not an error: the stream simply ends.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// The peer broke the WebSocket protocol; the Close frame with the matching code has
    /// been sent.
    #[error("protocol: {0}")]
    Protocol(ProtocolError),
    /// The client's opening handshake request was refused (the error response was sent).
    #[error("handshake request: {0}")]
    Request(#[from] RequestError),
    /// The server's opening handshake response was refused (or was not a 101).
    #[error("handshake response: {0}")]
    Response(#[from] ResponseError),
    /// The application refused the handshake; the rejection was sent.
    #[error("handshake rejected with status {0}")]
    Rejected(http::StatusCode),
    /// The URL or a header the application gave cannot be used.
    #[error("request: {0}")]
    Build(#[from] BuildError),
    /// A command the connection cannot carry out now (local misuse).
    #[error("send: {0}")]
    Send(#[from] SendError),
    /// The server's permessage-deflate answer does not fit the client's offers (RFC 7692
    /// §7); the connection was not used.
    #[cfg(feature = "deflate")]
    #[error("permessage-deflate: {0}")]
    Deflate(sockeye_ws::deflate::NegotiationError),
    /// The host of a `wss://` URL is not a valid TLS server name.
    #[error("invalid tls server name {0:?}")]
    InvalidServerName(String),
    /// The opening handshake did not finish in time.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// The transport closed during the opening handshake.
    #[error("connection closed during the handshake")]
    HandshakeEof,
}
