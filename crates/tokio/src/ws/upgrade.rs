//! Upgrading a request that hyper (or axum, which runs on hyper) has already parsed.

use bytes::Bytes;
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use sockeye_ws::Connection;
use sockeye_ws::handshake::{Accept, Rejection, Request};

use super::stream::WebSocketStream;
use crate::error::Error;

/// The transport of a WebSocket upgraded from hyper.
pub type Upgraded = TokioIo<hyper::upgrade::Upgraded>;

/// Checks a hyper (or axum) request as a WebSocket opening handshake (RFC 6455 §4.2.1)
/// and lets `decide` accept or refuse it.
///
/// Returns the response to send — the 101, or the error or refusal with its status — and,
/// when the handshake was accepted, a [`PendingUpgrade`] to await once the response is on
/// its way (hyper hands the connection over after sending it).
///
/// ```rust,no_run
/// use sockeye_tokio::ws::{self, ServerOptions};
/// use sockeye_tokio::sockeye_ws::handshake::Accept;
///
/// async fn handle(
///     mut request: http::Request<hyper::body::Incoming>,
/// ) -> http::Response<http_body_util::Full<bytes::Bytes>> {
///     let options = ServerOptions::default();
///     let (response, pending) = ws::upgrade(&mut request, &options, |_| Ok(Accept::new()));
///     if let Some(pending) = pending {
///         tokio::spawn(async move {
///             if let Ok(mut socket) = pending.await {
///                 // read and write messages
///             }
///         });
///     }
///     response
/// }
/// ```
pub fn upgrade<B, F>(
    request: &mut http::Request<B>,
    options: &super::ServerOptions,
    decide: F,
) -> (http::Response<Full<Bytes>>, Option<PendingUpgrade>)
where
    F: FnOnce(&Request) -> Result<Accept, Rejection>,
{
    let refuse = |r: Rejection| (r.to_http().map(Full::new), None);
    let checked = match Request::from_http(request) {
        Ok(checked) => checked,
        Err(e) => return refuse(e.rejection()),
    };
    let accept = match decide(&checked) {
        Ok(accept) => accept,
        Err(rejection) => return refuse(rejection),
    };
    let (accept, agreed) = super::accept::negotiate(&checked, accept, options);
    match checked.accept_http(&accept) {
        Ok(response) => {
            let pending = PendingUpgrade {
                on_upgrade: hyper::upgrade::on(request),
                conn: super::accept::server_connection(options, agreed),
            };
            (response.map(|()| Full::default()), Some(pending))
        }
        // The application's answer cannot be built (say, a subprotocol the client did not
        // offer): a server fault, so a 500 without details.
        Err(_) => {
            let mut response = http::Response::new(Full::default());
            *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            (response, None)
        }
    }
}

/// A WebSocket waiting for hyper to hand over the connection; `.await` it after returning
/// the 101 response from the service.
#[derive(Debug)]
pub struct PendingUpgrade {
    on_upgrade: OnUpgrade,
    conn: Connection,
}

impl IntoFuture for PendingUpgrade {
    type Output = Result<WebSocketStream<Upgraded>, Error>;
    type IntoFuture = std::pin::Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let upgraded = self
                .on_upgrade
                .await
                .map_err(|e| Error::Io(std::io::Error::other(e)))?;
            // hyper keeps bytes it read past the request inside `Upgraded`.
            Ok(WebSocketStream::from_parts(
                TokioIo::new(upgraded),
                self.conn,
                &[],
            ))
        })
    }
}
