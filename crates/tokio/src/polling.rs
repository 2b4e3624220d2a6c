//! HTTP requests of the client's polling transport, over kept-alive HTTP/1.1 connections.
//!
//! Long-polling keeps at most two requests in flight (one GET waiting for packets, one POST
//! carrying them), so a small pool of idle connections, reused in turn, serves a whole
//! session: no TCP (or TLS) handshake per request, as browsers and socket.io-client do with
//! keep-alive. A request sent on a reused connection that the server had already closed comes
//! back from hyper unsent; it is then sent once more on a fresh connection (never a request
//! that may have reached the server).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::ws::MaybeTlsStream;

/// Idle connections kept for reuse: a GET and a POST may be in flight at once.
const MAX_IDLE: usize = 2;

/// Why a polling request failed (the Engine.IO session takes any failure as a transport
/// error; the reason is for traces).
#[derive(Debug)]
pub(crate) enum RequestError {
    /// The URL cannot be used.
    Url,
    /// Connecting, TLS or the HTTP exchange failed.
    Io,
    /// The response body is larger than the limit.
    TooLarge,
}

/// Connections to one origin (`http://` or `https://`), shared by the requests of a client.
#[derive(Clone)]
pub(crate) struct Pool {
    idle: Arc<Mutex<Vec<SendRequest<Full<Bytes>>>>>,
    #[cfg(feature = "rustls")]
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

impl Pool {
    /// An empty pool; `https://` URLs use `tls`.
    #[cfg(feature = "rustls")]
    pub(crate) fn new(tls: Arc<tokio_rustls::rustls::ClientConfig>) -> Self {
        Self {
            idle: Arc::default(),
            tls,
        }
    }

    /// An empty pool (`http://` only).
    #[cfg(not(feature = "rustls"))]
    pub(crate) fn new() -> Self {
        Self {
            idle: Arc::default(),
        }
    }

    /// Drops every idle connection (after the Engine.IO session ended: the next session
    /// starts on fresh connections).
    pub(crate) fn clear(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    /// Sends one request and reads the response body up to `limit` bytes: the status,
    /// whether the body is binary (`application/octet-stream`), and the body.
    pub(crate) async fn request(
        &self,
        url: &str,
        method: http::Method,
        body: Option<(Bytes, &'static str)>,
        limit: usize,
    ) -> Result<(http::StatusCode, bool, Bytes), RequestError> {
        let uri: http::Uri = url.parse().map_err(|_| RequestError::Url)?;
        let secure = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(RequestError::Url),
        };
        let host = uri.host().ok_or(RequestError::Url)?.to_owned();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let mut req = http::Request::builder()
            .method(method)
            .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(http::header::HOST, authority(&host, port, secure));
        let body = match body {
            Some((bytes, content_type)) => {
                req = req.header(http::header::CONTENT_TYPE, content_type);
                bytes
            }
            None => Bytes::new(),
        };
        let mut req = req.body(Full::new(body)).map_err(|_| RequestError::Url)?;

        let (mut sender, res) = loop {
            let (mut sender, reused) = match self.take_idle().await {
                Some(sender) => (sender, true),
                None => (self.open(&host, port, secure).await?, false),
            };
            match sender.try_send_request(req).await {
                Ok(res) => break (sender, res),
                Err(mut e) => match e.take_message() {
                    // Never written: the connection was closed while idle. Once more, fresh.
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(RequestError::Io),
                },
            }
        };
        let status = res.status();
        let binary = res
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/octet-stream"));
        let body = Limited::new(res.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    RequestError::TooLarge
                } else {
                    RequestError::Io
                }
            })?
            .to_bytes();
        // The response is read to its end: the connection can carry the next request once
        // hyper has seen the exchange through, which is at once in practice; the answer never
        // waits for it.
        match futures_util::FutureExt::now_or_never(sender.ready()) {
            Some(Ok(())) => self.keep(sender),
            Some(Err(_)) => {}
            None => {
                let pool = self.clone();
                tokio::spawn(async move {
                    if sender.ready().await.is_ok() {
                        pool.keep(sender);
                    }
                });
            }
        }
        Ok((status, binary, body))
    }

    /// Keeps a ready connection for the next request, if there is room.
    fn keep(&self, sender: SendRequest<Full<Bytes>>) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(sender);
        }
    }

    /// An idle connection that is still open, if any.
    async fn take_idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        loop {
            let mut sender = self.idle.lock().ok()?.pop()?;
            if !sender.is_closed() && sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    /// A new connection, its HTTP/1.1 state driven by a task of its own.
    async fn open(
        &self,
        host: &str,
        port: u16,
        secure: bool,
    ) -> Result<SendRequest<Full<Bytes>>, RequestError> {
        let tcp = TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
            .await
            .map_err(|_| RequestError::Io)?;
        let _ = tcp.set_nodelay(true);
        let stream = if secure {
            self.secure(host, tcp).await?
        } else {
            MaybeTlsStream::Plain(tcp)
        };
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| RequestError::Io)?;
        tokio::spawn(conn);
        Ok(sender)
    }

    #[cfg(feature = "rustls")]
    async fn secure(
        &self,
        host: &str,
        tcp: TcpStream,
    ) -> Result<MaybeTlsStream<TcpStream>, RequestError> {
        use tokio_rustls::rustls::pki_types::ServerName;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned()).map_err(|_| RequestError::Url)?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|_| RequestError::Io)?;
        Ok(MaybeTlsStream::Rustls(Box::new(tls)))
    }

    #[cfg(not(feature = "rustls"))]
    #[allow(clippy::unused_async)]
    async fn secure(
        &self,
        _host: &str,
        _tcp: TcpStream,
    ) -> Result<MaybeTlsStream<TcpStream>, RequestError> {
        Err(RequestError::Url)
    }
}

/// The `Host` header: the port only when it is not the scheme's default.
fn authority(host: &str, port: u16, secure: bool) -> String {
    if port == if secure { 443 } else { 80 } {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    }
}
