//! An echo server over TLS (wss://) with a rustls acceptor.
//!
//! `cargo run -p sockeye-tokio --example wss_echo -- 127.0.0.1:9443 [CERT.pem KEY.pem]`
//!
//! Without a certificate it makes a self-signed one for `localhost` (rcgen) and writes it to
//! `target/wss_echo_cert.pem`, so a client can trust it:
//! `SSL_CERT_FILE=target/wss_echo_cert.pem python3 -m websockets wss://localhost:9443/`.

use std::sync::Arc;

use futures_util::StreamExt;
use sockeye_tokio::ws;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args.first().map_or("127.0.0.1:9443", String::as_str);
    let (certs, key) = match (args.get(1), args.get(2)) {
        (Some(cert), Some(key)) => (
            CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?,
            PrivateKeyDer::from_pem_file(key)?,
        ),
        _ => {
            let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
            std::fs::create_dir_all("target")?;
            std::fs::write("target/wss_echo_cert.pem", generated.cert.pem())?;
            eprintln!("self-signed certificate for localhost in target/wss_echo_cert.pem");
            (
                vec![generated.cert.der().clone()],
                PrivateKeyDer::try_from(generated.signing_key.serialize_der())?,
            )
        }
    };
    let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("wss_echo listening on wss://{}", listener.local_addr()?);
    loop {
        let (tcp, peer) = listener.accept().await?;
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => return eprintln!("{peer}: tls: {e}"),
            };
            let Ok(mut socket) = ws::accept(tls).await else {
                return;
            };
            while let Some(Ok(message)) = socket.next().await {
                if socket.send(message).await.is_err() {
                    break;
                }
            }
        });
    }
}
