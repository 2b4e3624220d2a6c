//! permessage-deflate (RFC 7692): negotiation and the per-message codec.
//!
//! Enabled by the `deflate` feature. Negotiation ([`negotiate`]) turns the
//! `Sec-WebSocket-Extensions` offers and answers of the opening handshake into agreed
//! [`DeflateParams`]; a [`Connection`](crate::Connection) built with them compresses and
//! decompresses messages (RSV1 on the first frame of a compressed message).

pub(crate) mod codec;
pub mod negotiate;

pub use negotiate::{
    Agreement, DeflateConfig, DeflateConfigBuilder, DeflateConfigError, NegotiationError,
    client_offers, negotiate_client, negotiate_server,
};

/// The parameters both ends agreed on for one connection (RFC 7692 §7.1).
///
/// "Server" and "client" name the sender: `server_max_window_bits` bounds the LZ77 window
/// of what the server compresses (and so what the client must be able to inflate), and
/// `server_no_context_takeover` says the server resets its compressor after every
/// message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// The server resets its compression context after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after each message.
    pub client_no_context_takeover: bool,
    /// The base-2 logarithm of the server's LZ77 window, 8–15.
    pub server_max_window_bits: u8,
    /// The base-2 logarithm of the client's LZ77 window, 8–15.
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// No parameters: context takeover both ways, 15-bit windows both ways.
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}
