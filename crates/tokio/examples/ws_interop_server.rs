//! The server that real peers (npm `ws`, Python `websockets`) test in
//! `conformance/ws-interop.sh`: an echo server with a few scripted behaviours.
//!
//! `cargo run -p sockeye-tokio --example ws_interop_server -- 127.0.0.1:0 [CERT.pem KEY.pem]`
//!
//! Once bound it prints `listening PORT` on stdout. With a certificate and key it serves
//! `wss://` (rustls). What a client can check:
//!
//! - a request for `/forbidden` is refused with 403 and a body;
//! - the subprotocol `sockeye.test` is chosen when the client offers it, none otherwise;
//! - text `close-me`: the server closes with 4001 "bye from sockeye";
//! - text `fragments-please`: the server sends a 1 MiB binary message (byte `i` is
//!   `i % 251`) in 16 fragments of 64 KiB;
//! - text `last-close`: the server answers `CODE REASON` of the last closing handshake a
//!   client started with a code other than 1000 (`none` before any), so a client can see
//!   that its code and reason arrived (the 1000 closes of the connections asking do not
//!   overwrite it);
//! - text `deflate-stats`: the server answers, as JSON, the permessage-deflate parameters
//!   of this connection (`null` without permessage-deflate) and what crossed the wire
//!   before this answer, counted from the frame headers by a tap on the transport
//!   (`support/frame_tap.rs`), not by the codec: `{"params":{…},"received":{"messages":…,
//!   "compressed":…,"frames":…,"payload_bytes":…},"sent":{…}}`, where `compressed` counts
//!   the data messages whose first frame had RSV1 set;
//! - every other text or binary message is echoed.
//!
//! permessage-deflate is agreed to with the default configuration, so whatever parameters
//! a client requests are granted, and every message is compressed (threshold 0), the
//! replies to the commands above included.
//!
//! `ws_interop_server --gen-cert CERT.pem KEY.pem` writes a self-signed certificate for
//! `localhost` and `127.0.0.1` (rcgen), for machines without the `openssl` tool.

use std::sync::{Arc, Mutex};

#[path = "support/frame_tap.rs"]
mod frame_tap;

use frame_tap::{FrameCounts, FrameTap};
use futures_util::StreamExt;
use http::StatusCode;
use sockeye_tokio::sockeye_ws::deflate::{DeflateConfig, DeflateParams};
use sockeye_tokio::sockeye_ws::handshake::{Accept, Rejection};
use sockeye_tokio::sockeye_ws::{CloseCode, DataKind, Message};
use sockeye_tokio::ws::{self, ServerOptions};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The subprotocol chosen when offered.
const SUBPROTOCOL: &str = "sockeye.test";
/// Size and fragment size of the `fragments-please` message.
const FRAGMENTED_LEN: usize = 1 << 20;
const FRAGMENT_LEN: usize = 64 << 10;

/// The last Close a client started, unless its code was 1000: `CODE REASON`.
type LastClose = Arc<Mutex<Option<String>>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--gen-cert") {
        let (Some(cert), Some(key)) = (args.get(1), args.get(2)) else {
            return Err("usage: ws_interop_server --gen-cert CERT.pem KEY.pem".into());
        };
        return generate_certificate(cert, key);
    }
    let addr = args.first().map_or("127.0.0.1:0", String::as_str);
    let tls = match (args.get(1), args.get(2)) {
        (Some(cert), Some(key)) => Some(acceptor(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    // The harness reads the port from this line.
    println!("listening {}", listener.local_addr()?.port());
    let last_close = LastClose::default();
    loop {
        let (tcp, peer) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let last_close = last_close.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let result = match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => serve(stream, last_close).await,
                    Err(e) => Err(format!("tls: {e}")),
                },
                None => serve(tcp, last_close).await,
            };
            if let Err(e) = result {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// A self-signed end-entity certificate for `localhost` and `127.0.0.1`, with the
/// extensions strict verifiers want (Python 3.13 turns on OpenSSL's strict mode).
fn generate_certificate(cert: &str, key: &str) -> Result<(), Box<dyn std::error::Error>> {
    use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let signing_key = KeyPair::generate()?;
    let certificate = params.self_signed(&signing_key)?;
    std::fs::write(cert, certificate.pem())?;
    std::fs::write(key, signing_key.serialize_pem())?;
    Ok(())
}

fn acceptor(cert: &str, key: &str) -> Result<TlsAcceptor, Box<dyn std::error::Error>> {
    let certs = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn serve<S>(stream: S, last_close: LastClose) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let options = ServerOptions {
        // Invariant: the default windows and levels are valid, and so is any threshold.
        deflate: Some(
            DeflateConfig::builder()
                .threshold(0)
                .build()
                .expect("defaults with threshold 0 are valid"),
        ),
        ..ServerOptions::default()
    };
    let mut socket = ws::accept_with(FrameTap::new(stream), &options, |request| {
        if request.path() == "/forbidden" {
            // Invariant: 403 is a valid rejection status.
            let rejection = Rejection::new(StatusCode::FORBIDDEN).expect("403 is an error status");
            return Err(rejection.with_body("forbidden by sockeye\n"));
        }
        let mut accept = Accept::new();
        if request.protocols().iter().any(|p| p == SUBPROTOCOL) {
            accept = accept.with_protocol(SUBPROTOCOL);
        }
        Ok(accept)
    })
    .await
    .map_err(|e| format!("handshake: {e}"))?;
    let mut we_closed = false;
    while let Some(message) = socket.next().await {
        let message = message.map_err(|e| e.to_string())?;
        let sent = match &message {
            Message::Text(t) if t.as_str() == "close-me" => {
                we_closed = true;
                socket.close(CloseCode(4001), "bye from sockeye").await
            }
            Message::Text(t) if t.as_str() == "fragments-please" => {
                send_fragmented(&mut socket).await
            }
            Message::Text(t) if t.as_str() == "last-close" => {
                let last = last_close.lock().expect("no panic while held").clone();
                let answer = last.unwrap_or_else(|| "none".to_owned());
                socket.send(Message::from(answer)).await
            }
            Message::Text(t) if t.as_str() == "deflate-stats" => {
                let tap = socket.get_ref();
                let stats = format!(
                    r#"{{"params":{},"received":{},"sent":{}}}"#,
                    params_json(socket.connection().deflate_params()),
                    counts_json(tap.received()),
                    counts_json(tap.sent()),
                );
                socket.send(Message::from(stats)).await
            }
            _ => socket.send(message).await,
        };
        sent.map_err(|e| e.to_string())?;
    }
    if let Some(frame) = socket
        .close_frame()
        .filter(|f| !we_closed && f.code != CloseCode::NORMAL)
    {
        let seen = format!("{} {}", frame.code.0, frame.reason.as_str());
        *last_close.lock().expect("no panic while held") = Some(seen);
    }
    Ok(())
}

fn params_json(params: Option<DeflateParams>) -> String {
    let Some(p) = params else {
        return "null".to_owned();
    };
    format!(
        r#"{{"server_no_context_takeover":{},"client_no_context_takeover":{},"server_max_window_bits":{},"client_max_window_bits":{}}}"#,
        p.server_no_context_takeover,
        p.client_no_context_takeover,
        p.server_max_window_bits,
        p.client_max_window_bits,
    )
}

fn counts_json(c: FrameCounts) -> String {
    format!(
        r#"{{"messages":{},"compressed":{},"frames":{},"payload_bytes":{}}}"#,
        c.messages, c.compressed, c.frames, c.payload_bytes
    )
}

async fn send_fragmented<S>(socket: &mut ws::WebSocketStream<S>) -> Result<(), sockeye_tokio::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let data: Vec<u8> = (0..FRAGMENTED_LEN).map(|i| (i % 251) as u8).collect();
    let mut chunks = data.chunks(FRAGMENT_LEN).peekable();
    while let Some(chunk) = chunks.next() {
        let fin = chunks.peek().is_none();
        socket.send_fragment(DataKind::Binary, chunk, fin).await?;
    }
    Ok(())
}
