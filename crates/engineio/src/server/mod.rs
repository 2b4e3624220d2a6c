//! The server side: [`Server`] classifies each HTTP request, [`Session`] is one client's
//! state machine.
//!
//! The adapter owns the map from session id to [`Session`] (so sessions can be driven
//! concurrently). For every request to the Engine.IO path it calls [`Server::route`]:
//!
//! - [`Route::Open`]: a handshake. For polling, [`Server::open`] creates the session and
//!   registers the request as its first poll; for WebSocket, the adapter completes the
//!   WebSocket handshake first and then calls [`Server::open`].
//! - [`Route::Session`]: find the session by id (answer [`ErrorCode::UnknownSid`] when there
//!   is none) and hand the request to it ([`Session::handle_request`], or, for a WebSocket,
//!   [`Session::handle_websocket`] after the WebSocket handshake).
//! - [`Route::Reject`]: send the response as it is.

mod session;

use std::borrow::Cow;
use std::fmt;
use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};

pub use session::{CloseReason, Event, Session, SessionClosed, Transmit};

pub use crate::{RequestId, SocketId};

use crate::{Protocol, ServerConfig};

/// An Engine.IO transport, parsed from the `transport` query parameter (never looked up by
/// name in a map: CVE-2023-31125).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP long-polling (`polling`).
    Polling,
    /// WebSocket (`websocket`).
    WebSocket,
}

impl Transport {
    /// Parses the query value; only `polling` and `websocket` are transports.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "polling" => Some(Self::Polling),
            "websocket" => Some(Self::WebSocket),
            _ => None,
        }
    }

    /// The query value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::WebSocket => "websocket",
        }
    }
}

/// A session id: 20 URL-safe base64 characters made from 15 random bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid(String);

impl Sid {
    /// The id for 15 random bytes from the adapter's RNG (as the reference's `base64id`).
    pub fn from_random(bytes: [u8; 15]) -> Self {
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// An id given by the application (e.g. a custom generator); any string.
    pub fn from_string(id: String) -> Self {
        Self(id)
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The reference server's error codes, sent as `{"code":N,"message":"..."}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrorCode {
    /// 0: missing or unknown `transport`, or one the server does not enable.
    UnknownTransport = 0,
    /// 1: no session with that `sid`.
    UnknownSid = 1,
    /// 2: a handshake that is not a GET.
    BadHandshakeMethod = 2,
    /// 3: anything else wrong with the request.
    BadRequest = 3,
    /// 4: refused by the application (HTTP 403).
    Forbidden = 4,
    /// 5: an `EIO` the server does not speak.
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    /// The reference message.
    pub const fn message(self) -> &'static str {
        match self {
            Self::UnknownTransport => "Transport unknown",
            Self::UnknownSid => "Session ID unknown",
            Self::BadHandshakeMethod => "Bad handshake method",
            Self::BadRequest => "Bad request",
            Self::Forbidden => "Forbidden",
            Self::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The HTTP status: 403 for [`ErrorCode::Forbidden`], else 400.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::Forbidden => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The error response, with the reference message.
    pub fn response(self) -> http::Response<Bytes> {
        self.response_with(self.message())
    }

    /// The error response with a custom message (e.g. from an application's refusal).
    pub fn response_with(self, message: &str) -> http::Response<Bytes> {
        let mut body = Vec::with_capacity(32 + message.len());
        body.extend_from_slice(b"{\"code\":");
        body.push(b'0' + self as u8);
        body.extend_from_slice(b",\"message\":");
        // Writing a JSON string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut body, message);
        body.push(b'}');
        response(self.status(), "application/json", Bytes::from(body))
    }
}

pub(crate) fn response(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> http::Response<Bytes> {
    let mut res = http::Response::new(body);
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    res
}

/// The HTTP method of a request, as far as Engine.IO cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestMethod {
    /// GET: a handshake or a poll.
    Get,
    /// POST: packets from the client.
    Post,
    /// Anything else.
    Other,
}

/// The parts of an HTTP request the Engine.IO server reads.
#[derive(Debug, Clone)]
pub struct RequestHead<'a> {
    method: RequestMethod,
    query: &'a str,
    content_type: Option<&'a [u8]>,
    websocket: bool,
}

impl<'a> RequestHead<'a> {
    /// A request with `method` and the raw `query` string (without `?`). `websocket` says
    /// whether it asks for a WebSocket upgrade.
    pub fn new(method: RequestMethod, query: &'a str, websocket: bool) -> Self {
        Self {
            method,
            query,
            content_type: None,
            websocket,
        }
    }

    /// From `http` request parts; `websocket` when it carries `Upgrade: websocket`.
    pub fn from_http(method: &Method, uri: &'a http::Uri, headers: &'a HeaderMap) -> Self {
        let method = if method == Method::GET {
            RequestMethod::Get
        } else if method == Method::POST {
            RequestMethod::Post
        } else {
            RequestMethod::Other
        };
        let websocket = headers.get_all(header::UPGRADE).iter().any(|v| {
            v.as_bytes()
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"websocket"))
        });
        Self {
            method,
            query: uri.query().unwrap_or(""),
            content_type: headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
            websocket,
        }
    }

    /// Sets the `Content-Type` header's value (POST bodies).
    pub fn with_content_type(mut self, value: &'a [u8]) -> Self {
        self.content_type = Some(value);
        self
    }

    /// The method.
    pub fn method(&self) -> RequestMethod {
        self.method
    }

    /// The query parameters Engine.IO reads.
    pub fn query(&self) -> Query<'a> {
        Query::parse(self.query)
    }

    /// Whether the body is binary (`Content-Type: application/octet-stream`).
    pub fn is_binary(&self) -> bool {
        self.content_type.is_some_and(|v| {
            let essence = v.split(|&b| b == b';').next().unwrap_or_default();
            essence
                .trim_ascii()
                .eq_ignore_ascii_case(b"application/octet-stream")
        })
    }

    /// Whether this is a WebSocket upgrade request.
    pub fn is_websocket(&self) -> bool {
        self.websocket
    }
}

/// The Engine.IO query parameters (`EIO`, `transport`, `sid`, `b64`, `j`), percent-decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query<'a> {
    /// `EIO`: the protocol revision.
    pub eio: Option<Cow<'a, str>>,
    /// `transport`.
    pub transport: Option<Cow<'a, str>>,
    /// `sid`: the session id.
    pub sid: Option<Cow<'a, str>>,
    /// `b64`: present when the client cannot take binary (v3).
    pub b64: bool,
    /// `j`: the JSONP callback index.
    pub j: Option<Cow<'a, str>>,
}

impl<'a> Query<'a> {
    /// Parses a query string; the first occurrence of each parameter wins, others are ignored.
    pub fn parse(query: &'a str) -> Self {
        let mut q = Query::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "EIO" => &mut q.eio,
                "transport" => &mut q.transport,
                "sid" => &mut q.sid,
                "j" => &mut q.j,
                "b64" => {
                    // The reference tests the value's truthiness: any but the empty string.
                    q.b64 |= !value.is_empty();
                    continue;
                }
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        q
    }
}

/// A validated handshake request: what [`Server::open`] needs to create a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The protocol revision (`EIO`).
    pub protocol: Protocol,
    /// The first transport.
    pub transport: Transport,
    /// The client asked for base64 instead of binary (`b64`, v3).
    pub b64: bool,
    /// The JSONP callback index (digits only), for JSONP polling.
    pub jsonp: Option<String>,
}

/// What to do with a request; see the [module docs](self).
#[derive(Debug)]
pub enum Route {
    /// A new session.
    Open(Handshake),
    /// A request for an existing session.
    Session {
        /// Its id.
        sid: Sid,
        /// The transport the request is for.
        transport: Transport,
    },
    /// Answer this and stop.
    Reject(http::Response<Bytes>),
}

/// Where a new session's first request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// The handshake poll, answered through [`Session::poll_transmit`].
    Request(RequestId),
    /// The WebSocket that opened the session.
    Socket(SocketId),
}

/// The server front: validates requests and creates sessions. It holds only configuration.
#[derive(Debug, Clone)]
pub struct Server {
    config: ServerConfig,
}

impl Server {
    /// A server with `config`.
    pub fn new(config: ServerConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Classifies a request to the Engine.IO path, as the reference server's `verify` and
    /// `handshake` do.
    pub fn route(&self, head: &RequestHead<'_>) -> Route {
        let query = head.query();
        let transport = match query.transport.as_deref().and_then(Transport::parse) {
            Some(Transport::Polling) if self.config.transports.polling => Transport::Polling,
            Some(Transport::WebSocket) if self.config.transports.websocket => Transport::WebSocket,
            _ => return Route::Reject(ErrorCode::UnknownTransport.response()),
        };
        if head.is_websocket() != (transport == Transport::WebSocket) {
            // A WebSocket transport without an upgrade, or an upgrade for polling.
            return Route::Reject(ErrorCode::BadRequest.response());
        }
        if let Some(sid) = query.sid {
            if transport == Transport::Polling && head.method() == RequestMethod::Other {
                return Route::Reject(ErrorCode::BadRequest.response());
            }
            return Route::Session {
                sid: Sid(sid.into_owned()),
                transport,
            };
        }
        if head.method() != RequestMethod::Get {
            return Route::Reject(ErrorCode::BadHandshakeMethod.response());
        }
        // As the reference: anything but "4" is v3.
        let protocol = if query.eio.as_deref() == Some("4") {
            Protocol::V4
        } else {
            Protocol::V3
        };
        if protocol == Protocol::V3 && !self.config.allow_eio3 {
            return Route::Reject(ErrorCode::UnsupportedProtocolVersion.response());
        }
        let jsonp = match query.j {
            Some(_) if transport == Transport::WebSocket => None,
            Some(_) if !self.config.jsonp => {
                return Route::Reject(ErrorCode::BadRequest.response());
            }
            Some(j) => Some(j.chars().filter(char::is_ascii_digit).take(16).collect()),
            None => None,
        };
        Route::Open(Handshake {
            protocol,
            transport,
            b64: query.b64,
            jsonp,
        })
    }

    /// Creates the session for a handshake with a fresh `sid`. For polling the handshake
    /// request becomes the session's first poll, answered with the open packet.
    pub fn open(&self, now: Instant, handshake: Handshake, sid: Sid) -> (Session, Attach) {
        Session::open(self.config.clone(), now, handshake, sid)
    }
}
