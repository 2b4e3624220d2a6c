//! The server's answer: what an acceptance holds ([`Accept`], RFC 6455 §4.2.2) and a
//! refusal ([`Rejection`]), written as HTTP/1.1 bytes or as `http` types.

use bytes::Bytes;
use http::header::{
    CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL, TRANSFER_ENCODING, UPGRADE,
};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::errors::BuildError;

/// What the application adds when it accepts a handshake: the subprotocol it chose, the
/// extensions it agreed to, and extra response headers. Pass it to
/// [`Request::accept`](super::Request::accept), which checks it against the request.
///
/// ```
/// use http::header::{HeaderName, HeaderValue};
/// use sockeye_ws::handshake::Accept;
///
/// let accept = Accept::new()
///     .with_protocol("chat")
///     .with_header(HeaderName::from_static("x-served-by"), HeaderValue::from_static("a1"))?;
/// assert_eq!(accept.protocol(), Some("chat"));
/// # Ok::<(), sockeye_ws::handshake::BuildError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept {
    protocol: Option<String>,
    extensions: Option<String>,
    headers: HeaderMap,
}

impl Accept {
    /// An acceptance with no subprotocol, no extension and no extra header.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses `protocol`, which must be one the client offered
    /// ([`Request::protocols`](super::Request::protocols)); checked by `accept`.
    #[must_use]
    pub fn with_protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }

    /// Sets the `Sec-WebSocket-Extensions` value agreed to, such as
    /// `permessage-deflate; server_no_context_takeover`. `accept` checks its grammar and
    /// that every extension named was offered; it is sent in normalized form.
    #[must_use]
    pub fn with_extensions(mut self, value: impl Into<String>) -> Self {
        self.extensions = Some(value.into());
        self
    }

    /// Appends a response header, such as `Set-Cookie`.
    ///
    /// # Errors
    ///
    /// [`BuildError::ReservedHeader`] for a header the handshake writes itself (`Upgrade`,
    /// `Connection`, `Sec-WebSocket-Accept`, `-Protocol`, `-Extensions`) or one that a 101
    /// response must not carry (`Content-Length`, `Transfer-Encoding`: RFC 9110 §8.6,
    /// RFC 9112 §6.1).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Result<Self, BuildError> {
        const RESERVED: [HeaderName; 7] = [
            UPGRADE,
            CONNECTION,
            SEC_WEBSOCKET_ACCEPT,
            SEC_WEBSOCKET_PROTOCOL,
            SEC_WEBSOCKET_EXTENSIONS,
            CONTENT_LENGTH,
            TRANSFER_ENCODING,
        ];
        if RESERVED.contains(&name) {
            return Err(BuildError::ReservedHeader { name });
        }
        self.headers.append(name, value);
        Ok(self)
    }

    /// The subprotocol chosen, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The `Sec-WebSocket-Extensions` value agreed to, if any, as given.
    pub fn extensions(&self) -> Option<&str> {
        self.extensions.as_deref()
    }

    /// The extra response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// A refusal of the handshake: a final status, headers and a body, sent with
/// `Connection: close`.
///
/// Build one for an application decision (401, 403, 404, a redirect) with
/// [`new`](Self::new), or take the one a [`RequestError`](super::RequestError) gives.
///
/// ```
/// use http::StatusCode;
/// use sockeye_ws::handshake::Rejection;
///
/// let bytes = Rejection::new(StatusCode::FORBIDDEN)?.with_body("no").to_bytes();
/// assert!(bytes.starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
/// assert!(bytes.ends_with(b"\r\n\r\nno"));
/// # Ok::<(), sockeye_ws::handshake::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    status: StatusCode,
    // Boxed so that `Result<Accept, Rejection>`, what an application's accept callback
    // returns, stays small (clippy's result_large_err).
    headers: Box<HeaderMap>,
    body: Bytes,
}

impl Rejection {
    /// A refusal with `status` and an empty body.
    ///
    /// # Errors
    ///
    /// [`BuildError::InvalidRejectionStatus`] for a status that cannot end the exchange
    /// with content: 1xx (interim, RFC 9110 §15.2), 204, 205 and 304 (RFC 9110 §15.3.5,
    /// §15.3.6, §15.4.5).
    pub fn new(status: StatusCode) -> Result<Self, BuildError> {
        let forbids_content = matches!(status.as_u16(), 204 | 205 | 304);
        if status.is_informational() || forbids_content {
            return Err(BuildError::InvalidRejectionStatus { status });
        }
        Ok(Self::unchecked(status, Bytes::new()))
    }

    /// A refusal whose status the caller knows to be a final one that permits content.
    pub(crate) fn unchecked(status: StatusCode, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: Box::default(),
            body: body.into(),
        }
    }

    /// Sets the body. Without a `Content-Type` header, a non-empty body is sent as
    /// `text/plain; charset=utf-8`.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Appends a response header, such as `Location` or `WWW-Authenticate`.
    ///
    /// # Errors
    ///
    /// [`BuildError::ReservedHeader`] for `Content-Length`, `Transfer-Encoding` and
    /// `Connection`, which the rejection writes itself.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Result<Self, BuildError> {
        if [CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION].contains(&name) {
            return Err(BuildError::ReservedHeader { name });
        }
        self.headers.append(name, value);
        Ok(self)
    }

    pub(crate) fn insert_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.insert(name, value);
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers added to the ones the rejection writes itself.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The whole HTTP/1.1 response: status line, `Content-Type` (unless set), exact
    /// `Content-Length`, `Connection: close`, the headers, and the body. Close the
    /// connection after writing it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.body.len());
        write_status_line(&mut out, self.status);
        if !self.body.is_empty() && !self.headers.contains_key(CONTENT_TYPE) {
            write_header(&mut out, "Content-Type", b"text/plain; charset=utf-8");
        }
        write_header(
            &mut out,
            "Content-Length",
            self.body.len().to_string().as_bytes(),
        );
        write_header(&mut out, "Connection", b"close");
        write_headers(&mut out, &self.headers);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }

    /// The same response as an `http::Response`, for servers built on hyper or axum. The
    /// HTTP stack writes `Content-Length` itself.
    pub fn to_http(&self) -> http::Response<Bytes> {
        let mut response = http::Response::new(self.body.clone());
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if !self.body.is_empty() && !self.headers.contains_key(CONTENT_TYPE) {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
        }
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        for (name, value) in self.headers.iter() {
            headers.append(name, value.clone());
        }
        response
    }
}

/// The pieces of a 101 response, checked; written by [`write_switching`] or
/// [`switching_http`].
#[derive(Debug)]
pub(crate) struct Switching<'a> {
    pub(crate) accept_key: String,
    pub(crate) protocol: Option<&'a str>,
    pub(crate) extensions: Option<String>,
    pub(crate) headers: &'a HeaderMap,
}

/// RFC 6455 §4.2.2 item 5: the server's 101 response.
pub(crate) fn write_switching(out: &mut Vec<u8>, s: &Switching<'_>) {
    write_status_line(out, StatusCode::SWITCHING_PROTOCOLS);
    write_header(out, "Upgrade", b"websocket");
    write_header(out, "Connection", b"Upgrade");
    write_header(out, "Sec-WebSocket-Accept", s.accept_key.as_bytes());
    if let Some(protocol) = s.protocol {
        write_header(out, "Sec-WebSocket-Protocol", protocol.as_bytes());
    }
    if let Some(extensions) = &s.extensions {
        write_header(out, "Sec-WebSocket-Extensions", extensions.as_bytes());
    }
    write_headers(out, s.headers);
    out.extend_from_slice(b"\r\n");
}

/// The same 101 response as an `http::Response`.
pub(crate) fn switching_http(s: &Switching<'_>) -> http::Response<()> {
    let mut response = http::Response::new(());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    // Values below are base64 or tokens checked by the caller, so always valid.
    if let Ok(v) = HeaderValue::from_str(&s.accept_key) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    if let Some(Ok(v)) = s.protocol.map(HeaderValue::from_str) {
        headers.insert(SEC_WEBSOCKET_PROTOCOL, v);
    }
    if let Some(Ok(v)) = s.extensions.as_deref().map(HeaderValue::from_str) {
        headers.insert(SEC_WEBSOCKET_EXTENSIONS, v);
    }
    for (name, value) in s.headers {
        headers.append(name, value.clone());
    }
    response
}

pub(crate) fn write_status_line(out: &mut Vec<u8>, status: StatusCode) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
}

pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

pub(crate) fn write_headers(out: &mut Vec<u8>, headers: &HeaderMap) {
    for (name, value) in headers {
        write_header(out, name.as_str(), value.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{LOCATION, SET_COOKIE};

    #[test]
    fn rejection_bytes_are_an_exact_http_response() {
        let r = Rejection::new(StatusCode::FOUND)
            .unwrap()
            .with_header(LOCATION, HeaderValue::from_static("/elsewhere"))
            .unwrap()
            .with_body("moved");
        assert_eq!(
            r.to_bytes(),
            b"HTTP/1.1 302 Found\r\nContent-Type: text/plain; charset=utf-8\r\n\
              Content-Length: 5\r\nConnection: close\r\nlocation: /elsewhere\r\n\r\nmoved"
        );
        let h = r.to_http();
        assert_eq!(h.status(), StatusCode::FOUND);
        assert_eq!(h.headers()[LOCATION], "/elsewhere");
        assert_eq!(h.headers()[CONNECTION], "close");
        assert_eq!(h.body(), "moved");
    }

    #[test]
    fn empty_rejection_has_no_content_type() {
        let r = Rejection::new(StatusCode::NOT_FOUND).unwrap();
        assert_eq!(
            r.to_bytes(),
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn unknown_status_has_an_empty_reason() {
        let r = Rejection::new(StatusCode::from_u16(599).unwrap()).unwrap();
        assert!(r.to_bytes().starts_with(b"HTTP/1.1 599 \r\n"));
    }

    #[test]
    fn statuses_that_cannot_reject_are_refused() {
        for code in [100, 101, 103, 204, 205, 304] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(
                Rejection::new(status),
                Err(BuildError::InvalidRejectionStatus { status })
            );
        }
        assert!(Rejection::new(StatusCode::OK).is_ok());
    }

    #[test]
    fn reserved_headers_are_refused() {
        let v = HeaderValue::from_static("x");
        for name in [CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION] {
            let r = Rejection::new(StatusCode::FORBIDDEN).unwrap();
            assert_eq!(
                r.with_header(name.clone(), v.clone()),
                Err(BuildError::ReservedHeader { name })
            );
        }
        for name in [UPGRADE, SEC_WEBSOCKET_ACCEPT, CONTENT_LENGTH] {
            assert_eq!(
                Accept::new().with_header(name.clone(), v.clone()),
                Err(BuildError::ReservedHeader { name })
            );
        }
        assert!(Accept::new().with_header(SET_COOKIE, v).is_ok());
    }
}
