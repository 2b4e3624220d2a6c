//! What can go wrong in the opening handshake: the peer's faults ([`RequestError`] at a
//! server, [`ResponseError`] at a client) and local misuse ([`BuildError`]).

use http::header::{ALLOW, HeaderName, UPGRADE};
use http::{HeaderMap, HeaderValue, StatusCode, Version};

use super::extensions::ExtensionError;
use super::head::{HeadLimits, ScanError};
use super::response::Rejection;

/// Which part of an HTTP head breaks the HTTP/1.1 message syntax (RFC 9112).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyntaxError {
    /// The request line: method, spacing, or characters in the request target.
    RequestLine,
    /// The request target is not origin-form or an absolute `http`/`https` URI.
    RequestTarget,
    /// The status line of a response.
    StatusLine,
    /// The HTTP version is not `HTTP/1.0` or `HTTP/1.1`.
    Version,
    /// A header name (including a line folded onto the previous one, RFC 9112 §5.2).
    HeaderName,
    /// A header value.
    HeaderValue,
    /// A `\r` not followed by `\n`.
    LineEnding,
}

impl SyntaxError {
    fn as_str(self) -> &'static str {
        match self {
            Self::RequestLine => "request line",
            Self::RequestTarget => "request target",
            Self::StatusLine => "status line",
            Self::Version => "http version",
            Self::HeaderName => "header name",
            Self::HeaderValue => "header value",
            Self::LineEnding => "line ending",
        }
    }

    /// Maps an httparse error; `request` says which kind of head was parsed.
    pub(crate) fn from_httparse(err: httparse::Error, request: bool) -> Self {
        match err {
            httparse::Error::HeaderName => Self::HeaderName,
            httparse::Error::HeaderValue => Self::HeaderValue,
            httparse::Error::NewLine => Self::LineEnding,
            httparse::Error::Version => Self::Version,
            httparse::Error::Status => Self::StatusLine,
            // `Token` (method, target) and `TooManyHeaders` (the scanner counted the header
            // lines, so httparse cannot run out) belong to the first line.
            httparse::Error::Token | httparse::Error::TooManyHeaders if request => {
                Self::RequestLine
            }
            httparse::Error::Token | httparse::Error::TooManyHeaders => Self::StatusLine,
        }
    }
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a server refuses a client's opening handshake request (RFC 6455 §4.2.1).
///
/// Each error knows the HTTP status to answer with ([`status`](Self::status)) and builds
/// the whole refusal ([`rejection`](Self::rejection)). Messages never repeat the peer's
/// input, so they are safe to send back as the response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The request line is longer than [`HeadLimits::max_line_len`]. Status 414.
    #[error("request line longer than {limit} bytes")]
    RequestLineTooLong {
        /// The cap.
        limit: usize,
    },
    /// A header line is longer than [`HeadLimits::max_line_len`]. Status 431.
    #[error("header line longer than {limit} bytes")]
    HeaderLineTooLong {
        /// The cap.
        limit: usize,
    },
    /// More header lines than [`HeadLimits::max_headers`]. Status 431.
    #[error("more than {limit} header lines")]
    TooManyHeaders {
        /// The cap.
        limit: usize,
    },
    /// The head is longer than [`HeadLimits::max_head_len`]. Status 431.
    #[error("request head longer than {limit} bytes")]
    HeadTooLarge {
        /// The cap.
        limit: usize,
    },
    /// The bytes are not an HTTP/1.1 request. Status 400.
    #[error("malformed http request: invalid {0}")]
    Malformed(SyntaxError),
    /// The method is not `GET` (RFC 6455 §4.2.1 item 1). Status 405 with `Allow: GET`.
    #[error("method not allowed; expected GET")]
    MethodNotAllowed {
        /// The method received.
        method: http::Method,
    },
    /// The HTTP version is older than 1.1 (RFC 6455 §4.2.1 item 1). Status 505.
    #[error("http version not supported; expected HTTP/1.1")]
    UnsupportedHttpVersion {
        /// The version received.
        version: Version,
    },
    /// No `Host` header (RFC 6455 §4.2.1 item 2, RFC 9112 §3.2). Status 400.
    #[error("missing Host header")]
    MissingHost,
    /// A `Host` value that is not an authority without user information. Status 400.
    #[error("invalid Host header")]
    InvalidHost,
    /// A header that must appear once appeared on several lines: `Host` (RFC 9112 §3.2),
    /// `Origin` (RFC 6454 §7.3), `Sec-WebSocket-Key` or `Sec-WebSocket-Version` (RFC 6455
    /// §11.3.1, §11.3.5). Status 400.
    #[error("duplicate {name} header")]
    DuplicateHeader {
        /// The header's name.
        name: HeaderName,
    },
    /// `Upgrade` does not list `websocket` (RFC 6455 §4.2.1 item 3). Status 426 with
    /// `Upgrade: websocket` (RFC 9110 §15.5.22).
    #[error("no websocket in the Upgrade header")]
    UpgradeNotWebSocket,
    /// `Connection` does not list `upgrade` (RFC 6455 §4.2.1 item 4). Status 426 with
    /// `Upgrade: websocket`.
    #[error("no upgrade in the Connection header")]
    ConnectionNotUpgrade,
    /// No `Sec-WebSocket-Key` (RFC 6455 §4.2.1 item 5). Status 400.
    #[error("missing Sec-WebSocket-Key header")]
    MissingKey,
    /// A `Sec-WebSocket-Key` that is not the base64 form of 16 bytes (RFC 6455 §4.1
    /// item 7). Status 400.
    #[error("invalid Sec-WebSocket-Key header; expected 16 bytes in base64")]
    InvalidKey,
    /// `Sec-WebSocket-Version` missing or other than 13 (RFC 6455 §4.2.1 item 6, §4.4).
    /// Status 426 with `Sec-WebSocket-Version: 13` and `Upgrade: websocket`.
    #[error("unsupported websocket version; expected 13")]
    UnsupportedVersion {
        /// The value received, if any.
        found: Option<HeaderValue>,
    },
    /// An `Origin` value that is not visible ASCII. Status 400.
    #[error("invalid Origin header")]
    InvalidOrigin,
    /// A `Sec-WebSocket-Protocol` element that is not a token, or one offered twice (RFC
    /// 6455 §4.1 item 10: elements MUST be tokens and unique). Status 400.
    #[error("invalid Sec-WebSocket-Protocol header")]
    InvalidProtocols,
    /// A `Sec-WebSocket-Extensions` value that breaks the RFC 6455 §9.1 grammar.
    /// Status 400.
    #[error("invalid Sec-WebSocket-Extensions header: {0}")]
    InvalidExtensions(ExtensionError),
    /// A request body announced by `Content-Length` (other than 0) or `Transfer-Encoding`:
    /// its bytes would be read as WebSocket frames. Status 400.
    #[error("unexpected request body")]
    UnexpectedBody,
}

impl RequestError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::RequestLineTooLong { .. } => StatusCode::URI_TOO_LONG,
            Self::HeaderLineTooLong { .. }
            | Self::TooManyHeaders { .. }
            | Self::HeadTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedHttpVersion { .. } => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            Self::UpgradeNotWebSocket
            | Self::ConnectionNotUpgrade
            | Self::UnsupportedVersion { .. } => StatusCode::UPGRADE_REQUIRED,
            Self::Malformed(_)
            | Self::MissingHost
            | Self::InvalidHost
            | Self::DuplicateHeader { .. }
            | Self::MissingKey
            | Self::InvalidKey
            | Self::InvalidOrigin
            | Self::InvalidProtocols
            | Self::InvalidExtensions(_)
            | Self::UnexpectedBody => StatusCode::BAD_REQUEST,
        }
    }

    /// The refusal to send: [`status`](Self::status), the headers that status requires
    /// (`Allow: GET` for 405 per RFC 9110 §15.5.6; `Upgrade: websocket` for 426 per RFC
    /// 9110 §15.5.22; `Sec-WebSocket-Version: 13` for a version mismatch per RFC 6455
    /// §4.4), `Connection: close`, and a short plain-text body naming the fault.
    pub fn rejection(&self) -> Rejection {
        let mut rejection = Rejection::unchecked(
            self.status(),
            format!("Failed to open a WebSocket connection: {self}.\n"),
        );
        match self {
            Self::MethodNotAllowed { .. } => {
                rejection.insert_header(ALLOW, HeaderValue::from_static("GET"));
            }
            Self::UpgradeNotWebSocket | Self::ConnectionNotUpgrade => {
                rejection.insert_header(UPGRADE, HeaderValue::from_static("websocket"));
            }
            Self::UnsupportedVersion { .. } => {
                rejection.insert_header(UPGRADE, HeaderValue::from_static("websocket"));
                rejection.insert_header(
                    http::header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static("13"),
                );
            }
            _ => {}
        }
        rejection
    }

    /// The bytes of [`rejection`](Self::rejection), ready to write before closing.
    pub fn response_bytes(&self) -> Vec<u8> {
        self.rejection().to_bytes()
    }

    pub(crate) fn from_scan(err: ScanError, limits: &HeadLimits) -> Self {
        match err {
            ScanError::FirstLineTooLong => Self::RequestLineTooLong {
                limit: limits.max_line_len,
            },
            ScanError::HeaderLineTooLong => Self::HeaderLineTooLong {
                limit: limits.max_line_len,
            },
            ScanError::TooManyHeaders => Self::TooManyHeaders {
                limit: limits.effective_max_headers(),
            },
            ScanError::HeadTooLarge => Self::HeadTooLarge {
                limit: limits.max_head_len,
            },
        }
    }
}

/// Why a client refuses a server's opening handshake response (RFC 6455 §4.1, "the client
/// MUST _Fail the WebSocket Connection_").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The status line is longer than [`HeadLimits::max_line_len`].
    #[error("status line longer than {limit} bytes")]
    StatusLineTooLong {
        /// The cap.
        limit: usize,
    },
    /// A header line is longer than [`HeadLimits::max_line_len`].
    #[error("header line longer than {limit} bytes")]
    HeaderLineTooLong {
        /// The cap.
        limit: usize,
    },
    /// More header lines than [`HeadLimits::max_headers`].
    #[error("more than {limit} header lines")]
    TooManyHeaders {
        /// The cap.
        limit: usize,
    },
    /// The head is longer than [`HeadLimits::max_head_len`].
    #[error("response head longer than {limit} bytes")]
    HeadTooLarge {
        /// The cap.
        limit: usize,
    },
    /// The bytes are not an HTTP/1.1 response.
    #[error("malformed http response: invalid {0}")]
    Malformed(SyntaxError),
    /// A status other than 101 (RFC 6455 §4.1: "If the status code received from the
    /// server is not 101, the client handles the response per HTTP procedures"); a
    /// redirect, 401, 403 or 404 ends the handshake here. The headers are kept for those
    /// procedures (`Location`, `WWW-Authenticate`, `Retry-After`); a body is not read.
    #[error("unexpected status {status}")]
    UnexpectedStatus {
        /// The status received.
        status: StatusCode,
        /// The response's headers.
        headers: Box<HeaderMap>,
    },
    /// A 101 in an HTTP/1.0 response, which has no such status.
    #[error("http version not supported; expected HTTP/1.1")]
    UnsupportedHttpVersion {
        /// The version received.
        version: Version,
    },
    /// `Upgrade` is missing or is not exactly `websocket` (RFC 6455 §4.1, client item 2).
    #[error("the Upgrade header is not websocket")]
    UpgradeNotWebSocket,
    /// `Connection` does not list `upgrade` (RFC 6455 §4.1, client item 3).
    #[error("no upgrade in the Connection header")]
    ConnectionNotUpgrade,
    /// A header that must appear once appeared on several lines.
    #[error("duplicate {name} header")]
    DuplicateHeader {
        /// The header's name.
        name: HeaderName,
    },
    /// No `Sec-WebSocket-Accept` (RFC 6455 §4.1, client item 4).
    #[error("missing Sec-WebSocket-Accept header")]
    MissingAccept,
    /// `Sec-WebSocket-Accept` does not match the key sent (RFC 6455 §4.1, client item 4).
    #[error("the Sec-WebSocket-Accept value does not match the key")]
    AcceptMismatch,
    /// `Sec-WebSocket-Protocol` is not a single token.
    #[error("invalid Sec-WebSocket-Protocol header")]
    InvalidProtocol,
    /// The server chose a subprotocol the client did not offer (RFC 6455 §4.1, client
    /// item 6).
    #[error("server chose a subprotocol that was not offered")]
    ProtocolNotOffered {
        /// The subprotocol chosen.
        protocol: String,
    },
    /// `Sec-WebSocket-Extensions` breaks the RFC 6455 §9.1 grammar.
    #[error("invalid Sec-WebSocket-Extensions header: {0}")]
    InvalidExtensions(ExtensionError),
    /// The server agreed to an extension the client did not offer (RFC 6455 §4.1, client
    /// item 5).
    #[error("server agreed to an extension that was not offered")]
    ExtensionNotOffered {
        /// The extension's name.
        name: String,
    },
}

impl ResponseError {
    pub(crate) fn from_scan(err: ScanError, limits: &HeadLimits) -> Self {
        match err {
            ScanError::FirstLineTooLong => Self::StatusLineTooLong {
                limit: limits.max_line_len,
            },
            ScanError::HeaderLineTooLong => Self::HeaderLineTooLong {
                limit: limits.max_line_len,
            },
            ScanError::TooManyHeaders => Self::TooManyHeaders {
                limit: limits.effective_max_headers(),
            },
            ScanError::HeadTooLarge => Self::HeadTooLarge {
                limit: limits.max_head_len,
            },
        }
    }
}

/// Local misuse while building a handshake message: a client request from a URL and
/// options, a server's acceptance or rejection. Nothing the peer sent causes these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The URL does not parse as an absolute ASCII URI.
    #[error("invalid url")]
    InvalidUrl,
    /// The URL's scheme is not `ws` or `wss` (RFC 6455 §3).
    #[error("unsupported url scheme; expected ws or wss")]
    UnsupportedScheme,
    /// The URL has no host.
    #[error("url has no host")]
    MissingHost,
    /// The URL's port is not a number from 1 to 65535.
    #[error("invalid port in url")]
    InvalidPort,
    /// The URL has user information, which WebSocket URIs do not allow (RFC 6455 §3).
    #[error("url has user information")]
    UrlHasUserinfo,
    /// The URL has a fragment (RFC 6455 §3: fragment identifiers "MUST NOT be used").
    #[error("url has a fragment")]
    UrlHasFragment,
    /// An `Origin` that is not a valid header value of visible ASCII.
    #[error("invalid origin")]
    InvalidOrigin,
    /// A subprotocol that is not a token (RFC 6455 §4.1 item 10).
    #[error("subprotocol is not a token")]
    InvalidProtocol,
    /// A subprotocol offered twice (RFC 6455 §4.1 item 10: elements MUST be unique).
    #[error("subprotocol offered twice")]
    DuplicateProtocol,
    /// An extension offer whose name, parameter names or values are not tokens.
    #[error("extension offer is not made of tokens")]
    InvalidExtension,
    /// A header the handshake writes itself, or one that would frame a body.
    #[error("header {name} is set by the handshake")]
    ReservedHeader {
        /// The header's name.
        name: HeaderName,
    },
    /// The server chose a subprotocol the client did not offer (RFC 6455 §4.2.2: the
    /// value "MUST be one of the values from the client's handshake").
    #[error("subprotocol was not offered by the client")]
    ProtocolNotOffered,
    /// The server's `Sec-WebSocket-Extensions` breaks the RFC 6455 §9.1 grammar.
    #[error("invalid extensions: {0}")]
    InvalidExtensions(ExtensionError),
    /// The server agreed to an extension the client did not offer (RFC 6455 §9.1).
    #[error("extension was not offered by the client")]
    ExtensionNotOffered {
        /// The extension's name.
        name: String,
    },
    /// A rejection status that cannot carry the refusal: informational (1xx), or one that
    /// forbids content (204, 205, 304).
    #[error("status {status} cannot reject a handshake")]
    InvalidRejectionStatus {
        /// The status given.
        status: StatusCode,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_error_has_a_client_error_status() {
        let all = [
            RequestError::RequestLineTooLong { limit: 1 },
            RequestError::HeaderLineTooLong { limit: 1 },
            RequestError::TooManyHeaders { limit: 1 },
            RequestError::HeadTooLarge { limit: 1 },
            RequestError::Malformed(SyntaxError::HeaderName),
            RequestError::MethodNotAllowed {
                method: http::Method::POST,
            },
            RequestError::UnsupportedHttpVersion {
                version: Version::HTTP_10,
            },
            RequestError::MissingHost,
            RequestError::InvalidHost,
            RequestError::DuplicateHeader {
                name: http::header::HOST,
            },
            RequestError::UpgradeNotWebSocket,
            RequestError::ConnectionNotUpgrade,
            RequestError::MissingKey,
            RequestError::InvalidKey,
            RequestError::UnsupportedVersion { found: None },
            RequestError::InvalidOrigin,
            RequestError::InvalidProtocols,
            RequestError::InvalidExtensions(ExtensionError::ExpectedToken { offset: 0 }),
            RequestError::UnexpectedBody,
        ];
        for err in all {
            let status = err.status();
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{err:?}"
            );
            let msg = err.to_string();
            assert!(msg.starts_with(|c: char| !c.is_ascii_uppercase()), "{msg}");
            assert_eq!(err.rejection().status(), status);
        }
    }

    #[test]
    fn rejection_headers_follow_the_status() {
        let r = RequestError::MethodNotAllowed {
            method: http::Method::POST,
        }
        .rejection();
        assert_eq!(r.headers()[ALLOW], "GET");
        let r = RequestError::UnsupportedVersion { found: None }.rejection();
        assert_eq!(r.headers()[http::header::SEC_WEBSOCKET_VERSION], "13");
        assert_eq!(r.headers()[UPGRADE], "websocket");
        let r = RequestError::ConnectionNotUpgrade.rejection();
        assert_eq!(r.headers()[UPGRADE], "websocket");
    }
}
