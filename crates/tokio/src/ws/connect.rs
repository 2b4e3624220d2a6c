//! The client side: open a transport, run the opening handshake.

use std::time::Duration;

use sockeye_ws::Config;
use sockeye_ws::handshake::{Accepted, ClientHandshake, ClientRequest, HeadLimits, Progress};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::mask::{OsMasks, nonce};
use super::stream::{WebSocketStream, now};
use crate::error::Error;

/// Options for opening WebSocket connections.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Limits and timers of the connection.
    pub config: Config,
    /// Caps on the handshake response head.
    pub limits: HeadLimits,
    /// How long connecting and the opening handshake may take together; `None` waits
    /// forever.
    pub handshake_timeout: Option<Duration>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            config: Config::default(),
            limits: HeadLimits::default(),
            handshake_timeout: Some(Duration::from_secs(30)),
        }
    }
}

/// Connects to a `ws://` URL with default options.
///
/// # Errors
///
/// [`Error::Build`] for a URL that cannot be used (`wss://` needs a TLS transport: use
/// [`client_handshake`] over one), [`Error::Response`] when the server refuses or answers
/// wrongly (a non-101 status is [`ResponseError::UnexpectedStatus`]), timeouts, I/O errors.
///
/// [`ResponseError::UnexpectedStatus`]: sockeye_ws::handshake::ResponseError::UnexpectedStatus
pub async fn connect(url: &str) -> Result<(WebSocketStream<TcpStream>, Accepted), Error> {
    connect_with(ClientRequest::new(url)?, &ClientOptions::default()).await
}

/// Connects with a prepared request (subprotocols, extensions, `Origin`, extra headers)
/// over plain TCP.
///
/// # Errors
///
/// As [`connect`].
pub async fn connect_with(
    request: ClientRequest,
    options: &ClientOptions,
) -> Result<(WebSocketStream<TcpStream>, Accepted), Error> {
    if request.is_secure() {
        return Err(Error::Io(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "wss:// needs a TLS transport; run client_handshake over one",
        )));
    }
    let run = async {
        let tcp = TcpStream::connect((request.host(), request.port())).await?;
        tcp.set_nodelay(true)?;
        handshake(tcp, request, options).await
    };
    with_timeout(options.handshake_timeout, run).await
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
            let conn =
                sockeye_ws::Connection::client(options.config.clone(), OsMasks::new(), now());
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
