//! The server side: run the opening handshake on an accepted transport.

use std::time::Duration;

use sockeye_ws::Config;
use sockeye_ws::handshake::{Accept, HeadLimits, Progress, Rejection, Request, RequestParser};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::stream::{WebSocketStream, now};
use crate::error::Error;

/// Options for accepting WebSocket connections.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Limits and timers of the connection.
    pub config: Config,
    /// Caps on the handshake request head (line length, header count, total size).
    pub limits: HeadLimits,
    /// How long the client may take to send its request; `None` waits forever.
    pub handshake_timeout: Option<Duration>,
    /// permessage-deflate: what the server agrees to when a client offers it; `None`
    /// declines every offer. On by default.
    #[cfg(feature = "deflate")]
    pub deflate: Option<sockeye_ws::deflate::DeflateConfig>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            config: Config::default(),
            limits: HeadLimits::default(),
            handshake_timeout: Some(Duration::from_secs(10)),
            #[cfg(feature = "deflate")]
            deflate: Some(sockeye_ws::deflate::DeflateConfig::default()),
        }
    }
}

/// Accepts a WebSocket connection on `stream` with default options, agreeing to any valid
/// opening handshake (no subprotocol, no extension).
///
/// # Errors
///
/// [`Error::Request`] for an invalid handshake request (its error response has been
/// sent), [`Error::HandshakeTimeout`], [`Error::HandshakeEof`], [`Error::Io`].
pub async fn accept<S>(stream: S) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(stream, &ServerOptions::default(), |_| Ok(Accept::new())).await
}

/// Accepts a WebSocket connection on `stream`, letting `decide` look at the validated
/// request (path, query, `Origin`, headers, offered subprotocols and extensions) and
/// accept it — choosing a subprotocol, adding headers — or refuse it with a status and
/// body.
///
/// # Errors
///
/// As [`accept`], plus [`Error::Rejected`] when `decide` refused (the rejection has been
/// sent) and [`Error::Build`] when its answer cannot be built (a subprotocol the client did
/// not offer).
pub async fn accept_with<S, F>(
    mut stream: S,
    options: &ServerOptions,
    decide: F,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<Accept, Rejection>,
{
    let handshake = async {
        let mut parser = RequestParser::with_limits(options.limits);
        let mut buf = vec![0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Err(Error::HandshakeEof);
            }
            match parser.handle_data(&buf[..n]) {
                Ok(Progress::Partial) => {}
                Ok(Progress::Complete {
                    value: request,
                    consumed,
                }) => {
                    buf.truncate(n);
                    buf.drain(..consumed);
                    return Ok((request, buf));
                }
                Err(e) => {
                    refuse(&mut stream, &e.response_bytes()).await;
                    return Err(Error::Request(e));
                }
            }
        }
    };
    let (request, leftover) = match options.handshake_timeout {
        Some(t) => tokio::time::timeout(t, handshake)
            .await
            .map_err(|_| Error::HandshakeTimeout)??,
        None => handshake.await?,
    };
    match decide(&request) {
        Ok(accept) => {
            let (accept, deflate) = negotiate(&request, accept, options);
            let response = request.accept(&accept)?;
            stream.write_all(&response).await?;
            let conn = server_connection(options, deflate);
            Ok(WebSocketStream::from_parts(stream, conn, &leftover))
        }
        Err(rejection) => {
            refuse(&mut stream, &rejection.to_bytes()).await;
            Err(Error::Rejected(rejection.status()))
        }
    }
}

/// Sends an error response and closes the write side; the peer may be gone already.
async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S, response: &[u8]) {
    let _ = stream.write_all(response).await;
    let _ = stream.shutdown().await;
}

/// What permessage-deflate agreement, if any, goes with an accepted request; the
/// application's own `Sec-WebSocket-Extensions` answer, if it gave one, wins.
#[cfg(feature = "deflate")]
pub(crate) type Agreed = Option<sockeye_ws::deflate::DeflateParams>;
#[cfg(not(feature = "deflate"))]
pub(crate) type Agreed = ();

#[cfg(feature = "deflate")]
pub(crate) fn negotiate(
    request: &Request,
    accept: Accept,
    options: &ServerOptions,
) -> (Accept, Agreed) {
    let Some(config) = &options.deflate else {
        return (accept, None);
    };
    if accept.extensions().is_some() {
        return (accept, None);
    }
    match sockeye_ws::deflate::negotiate_server(request.extensions(), config) {
        Some(agreement) => (
            accept.with_extensions(agreement.response.to_string()),
            Some(agreement.params),
        ),
        None => (accept, None),
    }
}

#[cfg(not(feature = "deflate"))]
pub(crate) fn negotiate(
    _request: &Request,
    accept: Accept,
    _options: &ServerOptions,
) -> (Accept, Agreed) {
    (accept, ())
}

/// The server connection, with permessage-deflate on when it was agreed.
pub(crate) fn server_connection(options: &ServerOptions, agreed: Agreed) -> sockeye_ws::Connection {
    #[allow(unused_mut)] // mutated only with the deflate feature
    let mut conn = sockeye_ws::Connection::server(options.config.clone(), now());
    #[cfg(feature = "deflate")]
    if let (Some(params), Some(config)) = (agreed, &options.deflate) {
        conn.enable_deflate(params, config);
    }
    #[cfg(not(feature = "deflate"))]
    let () = agreed;
    conn
}
