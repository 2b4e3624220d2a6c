//! The server's side: reading and validating the client's request (RFC 6455 §4.2.1), then
//! accepting it (§4.2.2).

use std::collections::BTreeSet;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::header::{
    CONNECTION, CONTENT_LENGTH, HOST, HeaderName, ORIGIN, SEC_WEBSOCKET_EXTENSIONS,
    SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, TRANSFER_ENCODING, UPGRADE,
};
use http::uri::{Authority, Scheme};
use http::{HeaderMap, HeaderValue, Method, Uri, Version};

use super::errors::{BuildError, RequestError, SyntaxError};
use super::extensions::ExtensionOffer;
use super::head::{HeadLimits, HeadScanner, HeaderMapError, Scan, header_map};
use super::list::{any_line_lists, is_token, list_items, trim_ows};
use super::response::{Accept, Switching, switching_http, write_switching};
use super::{Progress, accept_key};

/// Reads a client's opening handshake request from raw bytes, in any split, in linear
/// time, under [`HeadLimits`].
///
/// Feed it what the socket gives with [`handle_data`](Self::handle_data) until it returns
/// [`Progress::Complete`] with the validated [`Request`], or an error to answer with
/// [`RequestError::response_bytes`]. See the [module documentation](super) for the loop.
#[derive(Debug, Clone)]
pub struct RequestParser {
    scanner: HeadScanner,
    failed: Option<RequestError>,
}

impl Default for RequestParser {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestParser {
    /// A parser with the default [`HeadLimits`].
    pub fn new() -> Self {
        Self::with_limits(HeadLimits::default())
    }

    /// A parser with `limits`.
    pub fn with_limits(limits: HeadLimits) -> Self {
        Self {
            scanner: HeadScanner::new(limits),
            failed: None,
        }
    }

    /// The caps in force.
    pub fn limits(&self) -> &HeadLimits {
        self.scanner.limits()
    }

    /// Bytes of an unfinished head held so far (at most
    /// [`HeadLimits::max_head_len`]).
    pub fn buffered(&self) -> usize {
        self.scanner.buffered()
    }

    /// Takes the next bytes received from the client.
    ///
    /// Returns [`Progress::Partial`] when every byte was taken and the head is not over,
    /// or [`Progress::Complete`] with the validated request and the number of bytes of
    /// `data` that belonged to the head; the bytes after them (a client MUST wait for the
    /// response before sending more, RFC 6455 §4.1, but a bad one may not) belong to the
    /// WebSocket connection. After `Complete` the parser starts over on a new head; after
    /// an error it returns the same error forever.
    ///
    /// Each byte is looked at once and the head is parsed once, when complete, so the
    /// total work is linear in the bytes fed however they are split.
    ///
    /// # Errors
    ///
    /// A [`RequestError`] when a cap is exceeded (414, 431, as soon as the offending byte
    /// arrives), when the head is not HTTP/1.1 (400), or when the request is not a valid
    /// opening handshake (RFC 6455 §4.2.1: 400, 405, 426, 505). Send
    /// [`RequestError::response_bytes`] and close the connection.
    pub fn handle_data(&mut self, data: &[u8]) -> Result<Progress<Request>, RequestError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = match self.scanner.feed(data) {
            Ok(Scan::Partial) => Ok(Progress::Partial),
            Ok(Scan::Complete { consumed, headers }) => {
                let parsed = parse_head(self.scanner.head(), headers);
                self.scanner.reset();
                parsed.map(|value| Progress::Complete { value, consumed })
            }
            Err(err) => Err(RequestError::from_scan(err, self.scanner.limits())),
        };
        if let Err(err) = &result {
            self.failed = Some(err.clone());
            self.scanner.reset();
        }
        result
    }
}

/// A validated opening handshake request: what the application looks at to decide,
/// before it [accepts](Self::accept) or refuses with a
/// [`Rejection`](super::Rejection).
///
/// Built from raw bytes by [`RequestParser`], or from a hyper/axum request with
/// [`from_parts`](Self::from_parts) or [`from_http`](Self::from_http); both go through
/// the same checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    host: String,
    origin: Option<String>,
    key: String,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
}

impl Request {
    /// Validates a request that an HTTP stack (hyper, axum) already parsed.
    ///
    /// # Errors
    ///
    /// The same [`RequestError`]s as [`RequestParser::handle_data`] except the caps and
    /// syntax errors the HTTP stack took care of. Answer with
    /// [`RequestError::rejection`]'s [`to_http`](super::Rejection::to_http).
    pub fn from_parts(parts: &http::request::Parts) -> Result<Self, RequestError> {
        validate(&parts.method, &parts.uri, parts.version, &parts.headers)
    }

    /// Validates a request that an HTTP stack already parsed; its body is ignored.
    ///
    /// # Errors
    ///
    /// As [`from_parts`](Self::from_parts).
    pub fn from_http<B>(request: &http::Request<B>) -> Result<Self, RequestError> {
        validate(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
        )
    }

    /// The method; always `GET`.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request target, origin-form (`/chat?room=1`) or absolute-form.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The HTTP version; HTTP/1.1 or later.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The path of the request target, still percent-encoded (`/chat`).
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The query of the request target, still percent-encoded, without its `?`.
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// The `Host` header: the authority the client asked for (RFC 6455 §4.2.1 item 2).
    /// Check it against the names this server answers to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Origin` header, sent by browsers (RFC 6455 §4.2.1 item 7, §10.2). Refuse
    /// origins you do not trust (403) to stop cross-site WebSocket hijacking.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Every header of the request.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The `Sec-WebSocket-Key`, as sent (base64 of 16 bytes).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The `Sec-WebSocket-Accept` value that answers [`key`](Self::key).
    pub fn accept_key(&self) -> String {
        accept_key(self.key.as_bytes())
    }

    /// Subprotocols offered, in the client's order of preference, from every
    /// `Sec-WebSocket-Protocol` line; empty elements are skipped (RFC 9110 §5.6.1.2).
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// Extensions offered, in order, from every `Sec-WebSocket-Extensions` line.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// Accepts the handshake: the bytes of the 101 response (RFC 6455 §4.2.2 item 5).
    /// Write them, then hand the connection to a server
    /// [`Connection`](crate::Connection).
    ///
    /// # Errors
    ///
    /// [`BuildError::ProtocolNotOffered`] when `accept` chose a subprotocol the client did
    /// not offer; [`BuildError::InvalidExtensions`] or [`BuildError::ExtensionNotOffered`]
    /// when its extensions value is not valid or names an extension not offered.
    pub fn accept(&self, accept: &Accept) -> Result<Vec<u8>, BuildError> {
        let switching = self.switching(accept)?;
        let mut out = Vec::with_capacity(160);
        write_switching(&mut out, &switching);
        Ok(out)
    }

    /// Accepts the handshake with an `http::Response`, for servers built on hyper or axum.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub fn accept_http(&self, accept: &Accept) -> Result<http::Response<()>, BuildError> {
        Ok(switching_http(&self.switching(accept)?))
    }

    fn switching<'a>(&self, accept: &'a Accept) -> Result<Switching<'a>, BuildError> {
        // RFC 6455 §4.2.2 item 5.4: the subprotocol "MUST be one of the values from the
        // client's handshake".
        if let Some(p) = accept.protocol()
            && !self.protocols.iter().any(|offered| offered == p)
        {
            return Err(BuildError::ProtocolNotOffered);
        }
        let extensions = match accept.extensions() {
            None => None,
            Some(value) => {
                let agreed =
                    ExtensionOffer::parse_list(value).map_err(BuildError::InvalidExtensions)?;
                // RFC 6455 §9.1: the server lists only extensions the client offered. A set,
                // so that echoing thousands of offers stays n log n.
                let offered: BTreeSet<&str> =
                    self.extensions.iter().map(|o| o.name.as_str()).collect();
                if let Some(extra) = agreed.iter().find(|a| !offered.contains(a.name.as_str())) {
                    return Err(BuildError::ExtensionNotOffered {
                        name: extra.name.clone(),
                    });
                }
                (!agreed.is_empty()).then(|| ExtensionOffer::format_list(&agreed))
            }
        };
        Ok(Switching {
            accept_key: self.accept_key(),
            protocol: accept.protocol(),
            extensions,
            headers: accept.headers(),
        })
    }
}

/// Runs httparse once over a complete head and validates the result.
fn parse_head(head: &[u8], header_lines: usize) -> Result<Request, RequestError> {
    let mut slots = vec![httparse::EMPTY_HEADER; header_lines];
    let mut parsed = httparse::Request::new(&mut slots);
    match parsed.parse(head) {
        Ok(httparse::Status::Complete(len)) if len == head.len() => {}
        // The scanner and httparse agree on where a head ends; a disagreement is still
        // only a malformed request, never a panic.
        Ok(_) => return Err(RequestError::Malformed(SyntaxError::RequestLine)),
        Err(err) => {
            return Err(RequestError::Malformed(SyntaxError::from_httparse(
                err, true,
            )));
        }
    }
    let malformed = RequestError::Malformed;
    let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
        .map_err(|_| malformed(SyntaxError::RequestLine))?;
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        Some(1) => Version::HTTP_11,
        _ => return Err(malformed(SyntaxError::Version)),
    };
    let target = parsed.path.unwrap_or_default();
    // A request target is ASCII (RFC 3986 §2) and has no fragment (RFC 9112 §3.2); http::Uri
    // would accept the first and drop the second silently.
    if !target.is_ascii() || target.contains('#') {
        return Err(malformed(SyntaxError::RequestTarget));
    }
    let uri = Uri::from_str(target).map_err(|_| malformed(SyntaxError::RequestTarget))?;
    let headers = header_map(parsed.headers).map_err(|e| match e {
        HeaderMapError::Name => malformed(SyntaxError::HeaderName),
        HeaderMapError::Value => malformed(SyntaxError::HeaderValue),
        HeaderMapError::Full => RequestError::TooManyHeaders {
            limit: header_lines,
        },
    })?;
    validate(&method, &uri, version, &headers)
}

/// RFC 6455 §4.2.1: the checks a server makes, shared by raw and pre-parsed requests.
fn validate(
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
) -> Result<Request, RequestError> {
    // RFC 6455 §4.2.1 item 1: "An HTTP/1.1 or higher GET request". A wrong method is
    // answered 405 with `Allow: GET` (RFC 9110 §15.5.6), as python-websockets does.
    if method != Method::GET {
        return Err(RequestError::MethodNotAllowed {
            method: method.clone(),
        });
    }
    if version < Version::HTTP_11 {
        return Err(RequestError::UnsupportedHttpVersion { version });
    }
    // RFC 6455 §4.2.1 item 1: the target is a resource name (origin-form) or an absolute
    // http/https URI containing one.
    let origin_form = uri.scheme().is_none() && uri.path().starts_with('/');
    let absolute_form = (uri.scheme() == Some(&Scheme::HTTP)
        || uri.scheme() == Some(&Scheme::HTTPS))
        && uri.authority().is_some();
    if !origin_form && !absolute_form {
        return Err(RequestError::Malformed(SyntaxError::RequestTarget));
    }

    // RFC 6455 §4.2.1 item 2 and RFC 9112 §3.2: exactly one valid Host.
    let host = single(headers, &HOST)?.ok_or(RequestError::MissingHost)?;
    let host = host
        .to_str()
        .ok()
        .filter(|h| is_valid_host(h))
        .ok_or(RequestError::InvalidHost)?
        .to_owned();

    // RFC 6455 §4.2.1 items 3 and 4: token lists, case-insensitive.
    if !any_line_lists(headers, &UPGRADE, "websocket") {
        return Err(RequestError::UpgradeNotWebSocket);
    }
    if !any_line_lists(headers, &CONNECTION, "upgrade") {
        return Err(RequestError::ConnectionNotUpgrade);
    }

    // RFC 6455 §4.2.1 item 5 and §4.1 item 7: a base64-encoded 16-byte nonce, once.
    let key = single(headers, &SEC_WEBSOCKET_KEY)?.ok_or(RequestError::MissingKey)?;
    let key = trim_ows(key.as_bytes());
    if !is_valid_key(key) {
        return Err(RequestError::InvalidKey);
    }
    let key = String::from_utf8_lossy(key).into_owned();

    // RFC 6455 §4.2.1 item 6: version 13, once; otherwise 426 with the version we speak
    // (§4.4).
    let ws_version = single(headers, &SEC_WEBSOCKET_VERSION)?;
    if ws_version.map(|v| trim_ows(v.as_bytes())) != Some(b"13") {
        return Err(RequestError::UnsupportedVersion {
            found: ws_version.cloned(),
        });
    }

    // RFC 6454 §7.3: at most one Origin; its serialization is visible ASCII.
    let origin = match single(headers, &ORIGIN)? {
        None => None,
        Some(v) => {
            let bytes = v.as_bytes();
            if bytes.is_empty() || !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
                return Err(RequestError::InvalidOrigin);
            }
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
    };

    let protocols = offered_protocols(headers)?;

    let mut extensions = Vec::new();
    for line in headers.get_all(SEC_WEBSOCKET_EXTENSIONS) {
        extensions.extend(
            ExtensionOffer::parse_list(line.as_bytes()).map_err(RequestError::InvalidExtensions)?,
        );
    }

    // Bytes after the head are WebSocket frames; a body would be read as frames.
    if headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get_all(CONTENT_LENGTH)
            .iter()
            .any(|v| trim_ows(v.as_bytes()) != b"0")
    {
        return Err(RequestError::UnexpectedBody);
    }

    Ok(Request {
        method: method.clone(),
        uri: uri.clone(),
        version,
        headers: headers.clone(),
        host,
        origin,
        key,
        protocols,
        extensions,
    })
}

/// The value of a header that may appear on one line at most.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'a HeaderValue>, RequestError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(RequestError::DuplicateHeader { name: name.clone() });
    }
    Ok(first)
}

/// RFC 9110 §7.2: `Host = uri-host [ ":" port ]`, port being digits; no user information.
fn is_valid_host(value: &str) -> bool {
    let Ok(authority) = Authority::from_str(value) else {
        return false;
    };
    let host = authority.host();
    // http's Authority checks the characters but takes any port text and userinfo.
    let port_ok = match value.get(host.len()..) {
        Some(rest) => {
            rest.is_empty()
                || rest
                    .strip_prefix(':')
                    .is_some_and(|port| port.bytes().all(|b| b.is_ascii_digit()))
        }
        None => false,
    };
    !host.is_empty() && !value.contains('@') && port_ok
}

/// RFC 6455 §4.1 item 7: the base64 (with padding) of exactly 16 bytes, which is 24
/// characters. Decoding is strict: no whitespace, canonical trailing bits.
pub(crate) fn is_valid_key(key: &[u8]) -> bool {
    let mut raw = [0u8; 18];
    key.len() == 24 && matches!(STANDARD.decode_slice(key, &mut raw), Ok(16))
}

/// RFC 6455 §4.1 item 10: tokens, unique, over every `Sec-WebSocket-Protocol` line.
fn offered_protocols(headers: &HeaderMap) -> Result<Vec<String>, RequestError> {
    let mut protocols = Vec::new();
    // A BTreeSet, not a HashSet: no random seed in a Sans-IO crate, and n log n on a
    // head full of one-letter duplicates.
    let mut seen = BTreeSet::new();
    for line in headers.get_all(SEC_WEBSOCKET_PROTOCOL) {
        for item in list_items(line.as_bytes()) {
            if !is_token(item) || !seen.insert(item) {
                return Err(RequestError::InvalidProtocols);
            }
            protocols.push(String::from_utf8_lossy(item).into_owned());
        }
    }
    Ok(protocols)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    fn parse(bytes: &[u8]) -> Result<Request, RequestError> {
        match RequestParser::new().handle_data(bytes)? {
            Progress::Complete { value, .. } => Ok(value),
            Progress::Partial => panic!("partial"),
        }
    }

    #[test]
    fn keys() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(is_valid_key(b"AAAAAAAAAAAAAAAAAAAAAA=="));
        for bad in [
            &b""[..],
            b"dGhlIHNhbXBsZSBub25jZQ",       // no padding
            b"dGhlIHNhbXBsZSBub25jZR==",     // non-canonical trailing bits
            b"dGhlIHNhbXBsZSBub25jZQ==AAAA", // 19 bytes
            b"dGhlIHNhbXBsZSBub25j",         // 15 bytes
            b"dGhlIHNhbXBsZSBub25jZQ.=",     // not base64
            b"dGhlIHNhbXBsZSBub25jZQ-_",     // URL-safe alphabet
        ] {
            assert!(!is_valid_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn parses_the_sample_and_exposes_its_parts() {
        let r = parse(SAMPLE).unwrap();
        assert_eq!(r.path(), "/chat");
        assert_eq!(r.query(), Some("x=1"));
        assert_eq!(r.host(), "server.example.com");
        assert_eq!(r.origin(), None);
        assert_eq!(r.key(), "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(r.accept_key(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(r.version(), Version::HTTP_11);
        assert!(r.protocols().is_empty());
        assert!(r.extensions().is_empty());
    }

    #[test]
    fn absolute_form_targets_are_accepted_for_http_schemes_only() {
        let with_target = |t: &str| {
            let s = String::from_utf8(SAMPLE.to_vec())
                .unwrap()
                .replace("/chat?x=1", t);
            parse(s.as_bytes())
        };
        assert_eq!(
            with_target("http://server.example.com/chat")
                .unwrap()
                .path(),
            "/chat"
        );
        for bad in [
            "ws://server.example.com/chat",
            "*",
            "chat",
            "server.example.com:80",
        ] {
            assert_eq!(
                with_target(bad),
                Err(RequestError::Malformed(SyntaxError::RequestTarget)),
                "{bad}"
            );
        }
    }

    #[test]
    fn parser_starts_over_after_a_complete_head() {
        let mut p = RequestParser::new();
        let mut two = SAMPLE.to_vec();
        two.extend_from_slice(SAMPLE);
        match p.handle_data(&two).unwrap() {
            Progress::Complete { consumed, .. } => assert_eq!(consumed, SAMPLE.len()),
            Progress::Partial => panic!("partial"),
        }
        assert_eq!(p.buffered(), 0);
        assert!(matches!(
            p.handle_data(SAMPLE),
            Ok(Progress::Complete { consumed, .. }) if consumed == SAMPLE.len()
        ));
    }

    #[test]
    fn errors_are_sticky() {
        let mut p = RequestParser::new();
        let err = p.handle_data(b"\x00\r\n\r\n").unwrap_err();
        assert_eq!(p.handle_data(SAMPLE), Err(err));
    }
}
