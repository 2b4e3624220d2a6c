//! The opening handshake (RFC 6455 §4), both roles, as Sans-IO codecs: bytes in, a
//! validated value or the bytes of an answer out. No I/O, no clock, no randomness (the
//! client's nonce is an argument).
//!
//! # Driving it as a server
//!
//! Feed what the socket gives to a [`RequestParser`] with
//! [`handle_data`](RequestParser::handle_data), in any split, until it returns
//! [`Progress::Complete`] with a validated [`Request`] and the count of bytes that belonged
//! to the head. Look at the request (path, `Host`, `Origin`, subprotocols, extension
//! offers) and either [`accept`](Request::accept) it, which gives the 101 response, or
//! refuse it with a [`Rejection`]. A faulty request gives a [`RequestError`] that knows
//! its status (400, 405, 414, 426, 431, 505) and the bytes to answer with. Bytes after the
//! head are WebSocket frames: hand them to a server [`Connection`](crate::Connection).
//!
//! ```
//! use http::StatusCode;
//! use sockeye_ws::handshake::{Accept, Progress, Rejection, RequestParser};
//!
//! let mut parser = RequestParser::new();
//! let mut to_client = Vec::new();
//! // What the socket gives, here in two reads; the second ends with a frame.
//! let reads: [&[u8]; 2] = [
//!     b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n",
//!     b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!       Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n\x81\x80",
//! ];
//! for data in reads {
//!     match parser.handle_data(data) {
//!         Ok(Progress::Partial) => continue, // read more
//!         Ok(Progress::Complete { value: request, consumed }) => {
//!             if request.path() != "/chat" {
//!                 to_client = Rejection::new(StatusCode::NOT_FOUND)?.to_bytes();
//!                 break; // write, then close
//!             }
//!             let accept = Accept::new().with_protocol("chat");
//!             to_client = request.accept(&accept)?;
//!             // Write `to_client`, then give `&data[consumed..]` to the connection.
//!             assert_eq!(&data[consumed..], b"\x81\x80");
//!             break;
//!         }
//!         Err(err) => {
//!             to_client = err.response_bytes();
//!             break; // write, then close
//!         }
//!     }
//! }
//! let response = String::from_utf8(to_client).expect("the response is ASCII");
//! assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
//! assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
//! assert!(response.contains("Sec-WebSocket-Protocol: chat\r\n"));
//! # Ok::<(), sockeye_ws::handshake::BuildError>(())
//! ```
//!
//! With hyper or axum, the HTTP stack has parsed the request already:
//! [`Request::from_parts`] runs the same checks, [`Request::accept_http`] gives an
//! `http::Response<()>`, and [`RequestError::rejection`] gives a [`Rejection`] with
//! [`to_http`](Rejection::to_http).
//!
//! # Driving it as a client
//!
//! Build a [`ClientRequest`] from a `ws://` or `wss://` URL and options, start a
//! [`ClientHandshake`] with 16 random bytes from the adapter's secure source, and write
//! its [`request_bytes`](ClientHandshake::request_bytes). Feed the server's bytes to
//! [`handle_data`](ClientHandshake::handle_data) until it returns [`Progress::Complete`]
//! with what the server [`Accepted`]; bytes after the head are the first frames for a
//! client [`Connection`](crate::Connection). A status other than 101 is
//! [`ResponseError::UnexpectedStatus`], carrying the status and headers (a redirect and its
//! `Location`, 401, 403, 404).
//!
//! ```
//! use sockeye_ws::handshake::{ClientHandshake, ClientRequest, Progress};
//!
//! let request = ClientRequest::new("ws://server.example.com/chat")?
//!     .with_origin("http://example.com")?
//!     .with_protocol("chat")?;
//! let key = *b"the sample nonce"; // from the OS RNG in real code
//! let mut handshake = ClientHandshake::new(request, key);
//! let to_server = handshake.request_bytes();
//! assert!(to_server.starts_with(b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"));
//!
//! let from_server = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
//!     Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
//!     Sec-WebSocket-Protocol: chat\r\n\r\n\x81\x05hello";
//! match handshake.handle_data(from_server) {
//!     Ok(Progress::Complete { value: accepted, consumed }) => {
//!         assert_eq!(accepted.protocol(), Some("chat"));
//!         // `&from_server[consumed..]` goes to the client connection.
//!         assert_eq!(&from_server[consumed..], b"\x81\x05hello");
//!     }
//!     Ok(Progress::Partial) => unreachable!("the response is complete"),
//!     Err(err) => panic!("fail the connection: {err}"),
//! }
//! # Ok::<(), sockeye_ws::handshake::BuildError>(())
//! ```
//!
//! # Why `handle_data` and not a re-parsed buffer
//!
//! The input API is `handle_data(&[u8])`, like the rest of the crate, rather than
//! httparse's "parse the whole buffer again" style: the parser keeps the head it has seen
//! (never more than [`HeadLimits::max_head_len`]) and looks at each byte once, so a peer
//! that trickles a 64 KiB head one byte at a time costs linear work and is refused with
//! 431 at the first byte past the cap (the quadratic re-parse was RUSTSEC-2023-0065).
//! `httparse` runs once, on the complete head.
//!
//! # Limits and errors
//!
//! [`HeadLimits`]: 8 KiB per line, 128 header lines, 64 KiB per head by default. Peer
//! faults are [`RequestError`] (server) and [`ResponseError`] (client); local misuse, such
//! as choosing a subprotocol the client did not offer, is [`BuildError`].

// Decoder code: no index may panic on peer input.
#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

mod client;
mod errors;
mod extensions;
mod head;
mod list;
mod response;
mod server;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

pub use client::{Accepted, ClientHandshake, ClientRequest};
pub use errors::{BuildError, RequestError, ResponseError, SyntaxError};
pub use extensions::{ExtensionError, ExtensionOffer};
pub use head::HeadLimits;
pub use response::{Accept, Rejection};
pub use server::{Request, RequestParser};

/// The GUID that RFC 6455 §1.3 appends to the key before hashing.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Where an incremental handshake parser stands after some input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Progress<T> {
    /// Every byte was taken; the head is not over. Feed more.
    Partial,
    /// The head is over.
    Complete {
        /// What the head said.
        value: T,
        /// How many bytes of the last input belonged to the head; the rest, if any, are
        /// WebSocket frames.
        consumed: usize,
    },
}

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` value (RFC 6455 §4.2.2
/// item 5.4): base64 of the SHA-1 of the key, as sent, followed by [`GUID`].
///
/// ```
/// use sockeye_ws::handshake::accept_key;
///
/// assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(GUID.as_bytes());
    STANDARD.encode(sha1.finalize())
}
