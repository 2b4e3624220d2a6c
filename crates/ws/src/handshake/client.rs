//! The client's side: building the request from a `ws://` or `wss://` URL (RFC 6455 §4.1)
//! and validating the server's response.

use std::collections::BTreeSet;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::header::{
    CONNECTION, CONTENT_LENGTH, HOST, HeaderName, ORIGIN, SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION,
    TRANSFER_ENCODING, UPGRADE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, Version};

use super::errors::{BuildError, ResponseError, SyntaxError};
use super::extensions::ExtensionOffer;
use super::head::{HeadLimits, HeadScanner, HeaderMapError, Scan, header_map};
use super::list::{any_line_lists, is_token, list_items, trim_ows};
use super::response::write_header;
use super::{Progress, accept_key};

/// What a client asks for: the URL and the handshake options, checked as they are set.
///
/// ```
/// use sockeye_ws::handshake::{ClientRequest, ExtensionOffer};
///
/// let request = ClientRequest::new("wss://example.com:8443/chat?room=1")?
///     .with_origin("https://example.com")?
///     .with_protocol("chat")?
///     .with_extension(ExtensionOffer::new("permessage-deflate").with_param("client_max_window_bits"))?;
/// assert!(request.is_secure());
/// assert_eq!((request.host(), request.port()), ("example.com", 8443));
/// assert_eq!(request.resource(), "/chat?room=1");
/// # Ok::<(), sockeye_ws::handshake::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    secure: bool,
    host: String,
    port: u16,
    host_header: String,
    resource: String,
    origin: Option<HeaderValue>,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
    headers: HeaderMap,
}

impl ClientRequest {
    /// A request for `url`, a `ws://` or `wss://` URI (RFC 6455 §3).
    ///
    /// # Errors
    ///
    /// A [`BuildError`] when `url` is not an absolute ASCII URI ([`InvalidUrl`]), its
    /// scheme is not `ws` or `wss` ([`UnsupportedScheme`]), it has no host
    /// ([`MissingHost`]), a port outside 1–65535 ([`InvalidPort`]), user information
    /// ([`UrlHasUserinfo`]) or a fragment ([`UrlHasFragment`]).
    ///
    /// [`InvalidUrl`]: BuildError::InvalidUrl
    /// [`UnsupportedScheme`]: BuildError::UnsupportedScheme
    /// [`MissingHost`]: BuildError::MissingHost
    /// [`InvalidPort`]: BuildError::InvalidPort
    /// [`UrlHasUserinfo`]: BuildError::UrlHasUserinfo
    /// [`UrlHasFragment`]: BuildError::UrlHasFragment
    pub fn new(url: &str) -> Result<Self, BuildError> {
        if !url.is_ascii() {
            return Err(BuildError::InvalidUrl);
        }
        // RFC 6455 §3: fragments "MUST NOT be used" (and http::Uri would drop one quietly).
        if url.contains('#') {
            return Err(BuildError::UrlHasFragment);
        }
        let uri = Uri::from_str(url).map_err(|_| BuildError::InvalidUrl)?;
        let (secure, default_port) = match uri.scheme_str() {
            None => return Err(BuildError::InvalidUrl),
            Some(s) if s.eq_ignore_ascii_case("ws") => (false, 80),
            Some(s) if s.eq_ignore_ascii_case("wss") => (true, 443),
            Some(_) => return Err(BuildError::UnsupportedScheme),
        };
        let authority = uri.authority().ok_or(BuildError::MissingHost)?;
        if authority.as_str().contains('@') {
            return Err(BuildError::UrlHasUserinfo);
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(BuildError::MissingHost);
        }
        // What follows the host in the authority: nothing, ":" (empty port, RFC 3986
        // §3.2.3: the default), or ":digits".
        let after_host = authority.as_str().get(host.len()..).unwrap_or_default();
        let port = match after_host.strip_prefix(':') {
            None | Some("") => default_port,
            Some(digits) => match digits.parse::<u16>() {
                Ok(p) if p != 0 && digits.bytes().all(|b| b.is_ascii_digit()) => p,
                _ => return Err(BuildError::InvalidPort),
            },
        };
        // RFC 6455 §4.1 item 4: the port only when it is not the default one.
        let host_header = if port == default_port {
            host.to_owned()
        } else {
            format!("{host}:{port}")
        };
        // RFC 6455 §3: the resource name is the path ("/" if empty), then "?" and the query
        // if there is one.
        let mut resource = uri.path().to_owned();
        if let Some(query) = uri.query() {
            resource.push('?');
            resource.push_str(query);
        }
        Ok(Self {
            secure,
            host: host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host)
                .to_owned(),
            port,
            host_header,
            resource,
            origin: None,
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: HeaderMap::new(),
        })
    }

    /// Sends `Origin: origin` (RFC 6455 §4.1 item 8; browsers always do).
    ///
    /// # Errors
    ///
    /// [`BuildError::InvalidOrigin`] unless `origin` is non-empty visible ASCII.
    pub fn with_origin(mut self, origin: &str) -> Result<Self, BuildError> {
        if origin.is_empty() || !origin.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(BuildError::InvalidOrigin);
        }
        self.origin = Some(HeaderValue::from_str(origin).map_err(|_| BuildError::InvalidOrigin)?);
        Ok(self)
    }

    /// Offers subprotocol `protocol`, after those already offered (order is preference).
    ///
    /// # Errors
    ///
    /// [`BuildError::InvalidProtocol`] if it is not a token, [`BuildError::DuplicateProtocol`]
    /// if already offered (RFC 6455 §4.1 item 10).
    pub fn with_protocol(mut self, protocol: &str) -> Result<Self, BuildError> {
        if !is_token(protocol.as_bytes()) {
            return Err(BuildError::InvalidProtocol);
        }
        if self.protocols.iter().any(|p| p == protocol) {
            return Err(BuildError::DuplicateProtocol);
        }
        self.protocols.push(protocol.to_owned());
        Ok(self)
    }

    /// Offers an extension, after those already offered. The same extension may be offered
    /// several times with different parameters, in order of preference (RFC 7692 §5).
    ///
    /// # Errors
    ///
    /// [`BuildError::InvalidExtension`] unless every name and value is a token.
    pub fn with_extension(mut self, offer: ExtensionOffer) -> Result<Self, BuildError> {
        if !offer.is_valid() {
            return Err(BuildError::InvalidExtension);
        }
        self.extensions.push(offer);
        Ok(self)
    }

    /// Appends a request header, such as `Authorization` or `Cookie`.
    ///
    /// # Errors
    ///
    /// [`BuildError::ReservedHeader`] for a header the handshake writes itself (`Host`,
    /// `Upgrade`, `Connection`, `Origin`, `Sec-WebSocket-*`) or one that would announce a
    /// body (`Content-Length`, `Transfer-Encoding`).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Result<Self, BuildError> {
        const RESERVED: [HeaderName; 11] = [
            HOST,
            UPGRADE,
            CONNECTION,
            ORIGIN,
            SEC_WEBSOCKET_KEY,
            SEC_WEBSOCKET_VERSION,
            SEC_WEBSOCKET_PROTOCOL,
            SEC_WEBSOCKET_EXTENSIONS,
            SEC_WEBSOCKET_ACCEPT,
            CONTENT_LENGTH,
            TRANSFER_ENCODING,
        ];
        if RESERVED.contains(&name) {
            return Err(BuildError::ReservedHeader { name });
        }
        self.headers.append(name, value);
        Ok(self)
    }

    /// Whether the URL was `wss://`: the adapter must speak TLS.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The host to connect to, without the brackets of an IPv6 literal.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to: the URL's, or 80 for `ws` and 443 for `wss`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `Host` header value: host, and `:port` when the port is not the default.
    pub fn host_header(&self) -> &str {
        &self.host_header
    }

    /// The resource name sent in the request line: path and query (RFC 6455 §3).
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The `Origin` to send, if any.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_ref().and_then(|o| o.to_str().ok())
    }

    /// The subprotocols offered, in order.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions offered, in order.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// The extra headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// A client's opening handshake in progress: the request to send, then the validation of
/// the server's response, fed in any split, in linear time, under [`HeadLimits`].
///
/// See the [module documentation](super) for the loop.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    request: ClientRequest,
    key: String,
    expected_accept: String,
    scanner: HeadScanner,
    failed: Option<ResponseError>,
}

impl ClientHandshake {
    /// Starts a handshake for `request` with nonce `key`, which the caller draws from a
    /// secure random source (RFC 6455 §4.1 item 7: "randomly selected"; this crate has no
    /// randomness of its own). Uses the default [`HeadLimits`].
    pub fn new(request: ClientRequest, key: [u8; 16]) -> Self {
        Self::with_limits(request, key, HeadLimits::default())
    }

    /// As [`new`](Self::new), with caps on the response head.
    pub fn with_limits(request: ClientRequest, key: [u8; 16], limits: HeadLimits) -> Self {
        let key = STANDARD.encode(key);
        Self {
            request,
            expected_accept: accept_key(key.as_bytes()),
            key,
            scanner: HeadScanner::new(limits),
            failed: None,
        }
    }

    /// The request being made.
    pub fn request(&self) -> &ClientRequest {
        &self.request
    }

    /// The `Sec-WebSocket-Key` sent: the nonce in base64.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The caps on the response head.
    pub fn limits(&self) -> &HeadLimits {
        self.scanner.limits()
    }

    /// The request bytes to write first (RFC 6455 §4.1), headers in the order of the
    /// RFC 6455 §1.2 example, extra headers last.
    pub fn request_bytes(&self) -> Vec<u8> {
        let r = &self.request;
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(r.resource.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        write_header(&mut out, "Host", r.host_header.as_bytes());
        write_header(&mut out, "Upgrade", b"websocket");
        write_header(&mut out, "Connection", b"Upgrade");
        write_header(&mut out, "Sec-WebSocket-Key", self.key.as_bytes());
        if let Some(origin) = &r.origin {
            write_header(&mut out, "Origin", origin.as_bytes());
        }
        if !r.protocols.is_empty() {
            write_header(
                &mut out,
                "Sec-WebSocket-Protocol",
                r.protocols.join(", ").as_bytes(),
            );
        }
        if !r.extensions.is_empty() {
            write_header(
                &mut out,
                "Sec-WebSocket-Extensions",
                ExtensionOffer::format_list(&r.extensions).as_bytes(),
            );
        }
        write_header(&mut out, "Sec-WebSocket-Version", b"13");
        for (name, value) in &r.headers {
            write_header(&mut out, name.as_str(), value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The same request as an `http::Request` with an origin-form URI, for clients built
    /// on hyper; check the response with [`validate_response`](Self::validate_response).
    pub fn to_http_request(&self) -> http::Request<()> {
        let r = &self.request;
        let mut request = http::Request::new(());
        *request.method_mut() = Method::GET;
        *request.version_mut() = Version::HTTP_11;
        // The resource and the values below were checked when the request was built
        // (ASCII URI parts, tokens, base64), so these conversions do not fail.
        if let Ok(uri) = Uri::from_str(&r.resource) {
            *request.uri_mut() = uri;
        }
        let headers = request.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&r.host_header) {
            headers.insert(HOST, v);
        }
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        if let Ok(v) = HeaderValue::from_str(&self.key) {
            headers.insert(SEC_WEBSOCKET_KEY, v);
        }
        headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        if let Some(origin) = &r.origin {
            headers.insert(ORIGIN, origin.clone());
        }
        if !r.protocols.is_empty()
            && let Ok(v) = HeaderValue::from_str(&r.protocols.join(", "))
        {
            headers.insert(SEC_WEBSOCKET_PROTOCOL, v);
        }
        if !r.extensions.is_empty()
            && let Ok(v) = HeaderValue::from_str(&ExtensionOffer::format_list(&r.extensions))
        {
            headers.insert(SEC_WEBSOCKET_EXTENSIONS, v);
        }
        for (name, value) in &r.headers {
            headers.append(name, value.clone());
        }
        request
    }

    /// Takes the next bytes received from the server.
    ///
    /// Returns [`Progress::Partial`] when every byte was taken and the head is not over,
    /// or [`Progress::Complete`] with what the server [`Accepted`] and the number of bytes
    /// of `data` that belonged to the head: the bytes after them are the first WebSocket
    /// frames and belong to the client [`Connection`](crate::Connection). After
    /// `Complete` the handshake starts over on a new head; after an error it returns the
    /// same error forever.
    ///
    /// # Errors
    ///
    /// A [`ResponseError`] when a cap is exceeded, the head is not HTTP/1.1, the status is
    /// not 101 ([`ResponseError::UnexpectedStatus`], for redirects and refusals), or the
    /// response breaks RFC 6455 §4.1. The client MUST then fail the connection.
    pub fn handle_data(&mut self, data: &[u8]) -> Result<Progress<Accepted>, ResponseError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = match self.scanner.feed(data) {
            Ok(Scan::Partial) => Ok(Progress::Partial),
            Ok(Scan::Complete { consumed, headers }) => {
                let parsed = self.parse_head(headers);
                self.scanner.reset();
                parsed.map(|value| Progress::Complete { value, consumed })
            }
            Err(err) => Err(ResponseError::from_scan(err, self.scanner.limits())),
        };
        if let Err(err) = &result {
            self.failed = Some(err.clone());
            self.scanner.reset();
        }
        result
    }

    /// Validates a response that an HTTP stack (hyper) already parsed, with the same
    /// checks as [`handle_data`](Self::handle_data).
    ///
    /// # Errors
    ///
    /// As [`handle_data`](Self::handle_data), less the caps and syntax errors.
    pub fn validate_response(
        &self,
        response: &http::response::Parts,
    ) -> Result<Accepted, ResponseError> {
        self.validate(response.status, response.version, &response.headers)
    }

    fn parse_head(&self, header_lines: usize) -> Result<Accepted, ResponseError> {
        let head = self.scanner.head();
        let mut slots = vec![httparse::EMPTY_HEADER; header_lines];
        let mut parsed = httparse::Response::new(&mut slots);
        let malformed = ResponseError::Malformed;
        match parsed.parse(head) {
            Ok(httparse::Status::Complete(len)) if len == head.len() => {}
            // The scanner and httparse agree on where a head ends; a disagreement is still
            // only a malformed response, never a panic.
            Ok(_) => return Err(malformed(SyntaxError::StatusLine)),
            Err(err) => return Err(malformed(SyntaxError::from_httparse(err, false))),
        }
        let status = parsed
            .code
            .and_then(|c| StatusCode::from_u16(c).ok())
            .ok_or(malformed(SyntaxError::StatusLine))?;
        let version = match parsed.version {
            Some(0) => Version::HTTP_10,
            Some(1) => Version::HTTP_11,
            _ => return Err(malformed(SyntaxError::Version)),
        };
        let headers = header_map(parsed.headers).map_err(|e| match e {
            HeaderMapError::Name => malformed(SyntaxError::HeaderName),
            HeaderMapError::Value => malformed(SyntaxError::HeaderValue),
            HeaderMapError::Full => ResponseError::TooManyHeaders {
                limit: header_lines,
            },
        })?;
        self.validate(status, version, &headers)
    }

    /// RFC 6455 §4.1: the client's checks of the server's handshake, in the RFC's order.
    fn validate(
        &self,
        status: StatusCode,
        version: Version,
        headers: &HeaderMap,
    ) -> Result<Accepted, ResponseError> {
        // Item 1: anything but 101 ends the handshake; the caller sees the status.
        if status != StatusCode::SWITCHING_PROTOCOLS {
            return Err(ResponseError::UnexpectedStatus {
                status,
                headers: Box::new(headers.clone()),
            });
        }
        if version < Version::HTTP_11 {
            return Err(ResponseError::UnsupportedHttpVersion { version });
        }
        // Item 2: Upgrade is "websocket", case-insensitively, and nothing else.
        let mut upgrade = headers
            .get_all(UPGRADE)
            .iter()
            .flat_map(|v| list_items(v.as_bytes()));
        let only_websocket = upgrade
            .next()
            .is_some_and(|p| p.eq_ignore_ascii_case(b"websocket"))
            && upgrade.next().is_none();
        if !only_websocket {
            return Err(ResponseError::UpgradeNotWebSocket);
        }
        // Item 3: Connection lists "upgrade", case-insensitively.
        if !any_line_lists(headers, &CONNECTION, "upgrade") {
            return Err(ResponseError::ConnectionNotUpgrade);
        }
        // Item 4: Sec-WebSocket-Accept is base64(SHA-1(key + GUID)), once.
        let accept = single(headers, &SEC_WEBSOCKET_ACCEPT)?.ok_or(ResponseError::MissingAccept)?;
        if trim_ows(accept.as_bytes()) != self.expected_accept.as_bytes() {
            return Err(ResponseError::AcceptMismatch);
        }
        // Item 5: only extensions we offered.
        let mut extensions = Vec::new();
        for line in headers.get_all(SEC_WEBSOCKET_EXTENSIONS) {
            extensions.extend(
                ExtensionOffer::parse_list(line.as_bytes())
                    .map_err(ResponseError::InvalidExtensions)?,
            );
        }
        let offered: BTreeSet<&str> = self
            .request
            .extensions
            .iter()
            .map(|o| o.name.as_str())
            .collect();
        if let Some(extra) = extensions
            .iter()
            .find(|e| !offered.contains(e.name.as_str()))
        {
            return Err(ResponseError::ExtensionNotOffered {
                name: extra.name.clone(),
            });
        }
        // Item 6: one token, among those we offered (none offered: none may be chosen).
        let protocol = match single(headers, &SEC_WEBSOCKET_PROTOCOL)? {
            None => None,
            Some(v) => {
                let p = trim_ows(v.as_bytes());
                if !is_token(p) {
                    return Err(ResponseError::InvalidProtocol);
                }
                let p = String::from_utf8_lossy(p).into_owned();
                if !self.request.protocols.contains(&p) {
                    return Err(ResponseError::ProtocolNotOffered { protocol: p });
                }
                Some(p)
            }
        };
        Ok(Accepted {
            protocol,
            extensions,
            headers: headers.clone(),
        })
    }
}

/// What the server agreed to in its 101 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    protocol: Option<String>,
    extensions: Vec<ExtensionOffer>,
    headers: HeaderMap,
}

impl Accepted {
    /// The subprotocol the server chose, one of those offered.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions the server agreed to, with its parameters, in its order; each was
    /// offered. Negotiation of their parameters (RFC 7692) happens on top of this.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// Every header of the response (`Set-Cookie` and the like).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// The value of a header that may appear on one line at most.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'a HeaderValue>, ResponseError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(ResponseError::DuplicateHeader { name: name.clone() });
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let r = ClientRequest::new("ws://example.com").unwrap();
        assert_eq!(
            (
                r.is_secure(),
                r.host(),
                r.port(),
                r.host_header(),
                r.resource()
            ),
            (false, "example.com", 80, "example.com", "/")
        );
        let r = ClientRequest::new("WSS://[::1]:9000/a/b?c=d&e").unwrap();
        assert_eq!(
            (
                r.is_secure(),
                r.host(),
                r.port(),
                r.host_header(),
                r.resource()
            ),
            (true, "::1", 9000, "[::1]:9000", "/a/b?c=d&e")
        );
        let r = ClientRequest::new("ws://h:80/?").unwrap();
        assert_eq!((r.host_header(), r.resource()), ("h", "/?"));
        let r = ClientRequest::new("wss://h:/x").unwrap();
        assert_eq!((r.port(), r.host_header()), (443, "h"));
        let r = ClientRequest::new("wss://h:80").unwrap();
        assert_eq!(r.host_header(), "h:80");
    }

    #[test]
    fn bad_urls() {
        let cases = [
            ("http://h/", BuildError::UnsupportedScheme),
            ("ftp://h/", BuildError::UnsupportedScheme),
            ("/chat", BuildError::InvalidUrl),
            ("ws:/chat", BuildError::InvalidUrl),
            ("ws://h/a b", BuildError::InvalidUrl),
            ("ws://h/é", BuildError::InvalidUrl),
            ("ws://h/#frag", BuildError::UrlHasFragment),
            ("ws://u:p@h/", BuildError::UrlHasUserinfo),
            ("ws://h:0/", BuildError::InvalidPort),
            ("ws://h:65536/", BuildError::InvalidPort),
            ("ws://h:+80/", BuildError::InvalidPort),
        ];
        for (url, want) in cases {
            assert_eq!(ClientRequest::new(url), Err(want), "{url}");
        }
    }

    #[test]
    fn option_checks() {
        let r = ClientRequest::new("ws://h/").unwrap();
        assert_eq!(
            r.clone().with_protocol("a b"),
            Err(BuildError::InvalidProtocol)
        );
        assert_eq!(
            r.clone()
                .with_protocol("chat")
                .unwrap()
                .with_protocol("chat"),
            Err(BuildError::DuplicateProtocol)
        );
        assert_eq!(
            r.clone().with_origin("http://a b"),
            Err(BuildError::InvalidOrigin)
        );
        assert_eq!(r.clone().with_origin(""), Err(BuildError::InvalidOrigin));
        assert_eq!(
            r.clone().with_extension(ExtensionOffer::new("x;y")),
            Err(BuildError::InvalidExtension)
        );
        assert_eq!(
            r.with_header(HOST, HeaderValue::from_static("x")),
            Err(BuildError::ReservedHeader { name: HOST })
        );
    }

    #[test]
    fn request_bytes_and_http_request_agree() {
        let r = ClientRequest::new("ws://example.com:8080/chat?x")
            .unwrap()
            .with_origin("http://example.com")
            .unwrap()
            .with_protocol("chat")
            .unwrap()
            .with_protocol("superchat")
            .unwrap()
            .with_extension(ExtensionOffer::new("permessage-deflate").with_param("a"))
            .unwrap()
            .with_header(
                HeaderName::from_static("x-token"),
                HeaderValue::from_static("t"),
            )
            .unwrap();
        let h = ClientHandshake::new(r, *b"the sample nonce");
        assert_eq!(h.key(), "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(
            String::from_utf8(h.request_bytes()).unwrap(),
            "GET /chat?x HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; a\r\n\
             Sec-WebSocket-Version: 13\r\nx-token: t\r\n\r\n"
        );
        let req = h.to_http_request();
        assert_eq!(req.uri(), "/chat?x");
        assert_eq!(req.headers()[HOST], "example.com:8080");
        assert_eq!(req.headers()[SEC_WEBSOCKET_PROTOCOL], "chat, superchat");
        assert_eq!(
            req.headers()[SEC_WEBSOCKET_EXTENSIONS],
            "permessage-deflate; a"
        );
        assert_eq!(req.headers()["x-token"], "t");
        assert_eq!(req.headers().len(), 9);
    }
}
