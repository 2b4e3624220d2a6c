//! The client side: open a transport, run the opening handshake.

use std::time::Duration;

use sockeye_ws::Config;
use sockeye_ws::handshake::{Accepted, ClientHandshake, ClientRequest, HeadLimits, Progress};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::mask::{OsMasks, nonce};
use super::stream::{WebSocketStream, now};
use super::transport::MaybeTlsStream;
use crate::error::Error;

/// Options for opening WebSocket connections.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Limits and timers of the connection.
    pub config: Config,
    /// Caps on the handshake response head.
    pub limits: HeadLimits,
    /// How long connecting (TCP and TLS) and the opening handshake may take together;
    /// `None` waits forever.
    pub handshake_timeout: Option<Duration>,
    /// The TLS configuration for `wss://` URLs; `None` uses
    /// [`default_client_tls`](super::default_client_tls) (Mozilla roots).
    #[cfg(feature = "rustls")]
    pub tls: Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>,
    /// permessage-deflate: what the client offers; `None` offers nothing. On by default.
    #[cfg(feature = "deflate")]
    pub deflate: Option<sockeye_ws::deflate::DeflateConfig>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            config: Config::default(),
            limits: HeadLimits::default(),
            handshake_timeout: Some(Duration::from_secs(30)),
            #[cfg(feature = "rustls")]
            tls: None,
            #[cfg(feature = "deflate")]
            deflate: Some(sockeye_ws::deflate::DeflateConfig::default()),
        }
    }
}

/// Connects to a `ws://` or `wss://` URL with default options.
///
/// # Errors
///
/// [`Error::Build`] for a URL that cannot be used, [`Error::Response`] when the server
/// refuses or answers wrongly (a non-101 status is
/// [`ResponseError::UnexpectedStatus`], with its headers), [`Error::InvalidServerName`],
/// [`Error::HandshakeTimeout`], [`Error::Io`] (including TLS failures).
///
/// [`ResponseError::UnexpectedStatus`]: sockeye_ws::handshake::ResponseError::UnexpectedStatus
pub async fn connect(
    url: &str,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Accepted), Error> {
    connect_with(ClientRequest::new(url)?, &ClientOptions::default()).await
}

/// Connects with a prepared request (subprotocols, extensions, `Origin`, extra headers)
/// and options (limits, timeouts, TLS configuration).
///
/// # Errors
///
/// As [`connect`]; without the `rustls` feature a `wss://` URL is an [`Error::Io`] of kind
/// `Unsupported`.
pub async fn connect_with(
    request: ClientRequest,
    options: &ClientOptions,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Accepted), Error> {
    let run = async {
        let tcp = TcpStream::connect((request.host(), request.port())).await?;
        tcp.set_nodelay(true)?;
        let transport = if request.is_secure() {
            secure(tcp, &request, options).await?
        } else {
            MaybeTlsStream::Plain(tcp)
        };
        handshake(transport, request, options).await
    };
    with_timeout(options.handshake_timeout, run).await
}

#[cfg(feature = "rustls")]
async fn secure(
    tcp: TcpStream,
    request: &ClientRequest,
    options: &ClientOptions,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    use tokio_rustls::rustls::pki_types::ServerName;
    let config = options
        .tls
        .clone()
        .unwrap_or_else(super::transport::default_client_tls);
    let host = request.host().trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| Error::InvalidServerName(host.to_owned()))?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await?;
    Ok(MaybeTlsStream::Rustls(Box::new(tls)))
}

#[cfg(not(feature = "rustls"))]
async fn secure(
    _tcp: TcpStream,
    _request: &ClientRequest,
    _options: &ClientOptions,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    Err(Error::Io(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "wss:// needs the rustls feature of sockeye-tokio",
    )))
}

/// Runs the client's opening handshake over a transport that is already connected (TCP,
/// TLS, or anything else).
///
/// # Errors
///
/// As [`connect`].
pub async fn client_handshake<S>(
    stream: S,
    request: ClientRequest,
    options: &ClientOptions,
) -> Result<(WebSocketStream<S>, Accepted), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    with_timeout(
        options.handshake_timeout,
        handshake(stream, request, options),
    )
    .await
}

async fn handshake<S>(
    mut stream: S,
    request: ClientRequest,
    options: &ClientOptions,
) -> Result<(WebSocketStream<S>, Accepted), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    #[cfg(feature = "deflate")]
    let request = match &options.deflate {
        // Unless the application offered extensions itself.
        Some(config) if request.extensions().is_empty() => {
            sockeye_ws::deflate::client_offers(config)
                .into_iter()
                .try_fold(request, |r, offer| r.with_extension(offer))?
        }
        _ => request,
    };
    let mut handshake = ClientHandshake::with_limits(request, nonce(), options.limits);
    stream.write_all(&handshake.request_bytes()).await?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(Error::HandshakeEof);
        }
        if let Progress::Complete {
            value: accepted,
            consumed,
        } = handshake.handle_data(&buf[..n])?
        {
            #[allow(unused_mut)] // mutated only with the deflate feature
            let mut conn =
                sockeye_ws::Connection::client(options.config.clone(), OsMasks::new(), now());
            #[cfg(feature = "deflate")]
            if let Some(config) = &options.deflate {
                // RFC 7692 §7: a response the offers do not allow fails the connection.
                match sockeye_ws::deflate::negotiate_client(accepted.extensions(), config) {
                    Ok(Some(params)) => conn.enable_deflate(params, config),
                    Ok(None) => {}
                    Err(e) => return Err(Error::Deflate(e)),
                }
            }
            let ws = WebSocketStream::from_parts(stream, conn, &buf[consumed..n]);
            return Ok((ws, accepted));
        }
    }
}

async fn with_timeout<T>(
    limit: Option<Duration>,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match limit {
        Some(t) => tokio::time::timeout(t, work)
            .await
            .map_err(|_| Error::HandshakeTimeout)?,
        None => work.await,
    }
}
