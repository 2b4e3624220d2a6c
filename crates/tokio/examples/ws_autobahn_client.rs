//! Drives the Autobahn TestSuite's fuzzing server with our client.
//!
//! `cargo run --release -p sockeye-tokio --example ws_autobahn_client -- ws://127.0.0.1:9001 sockeye`
//!
//! Asks `/getCaseCount`, runs `/runCase?case=N&agent=AGENT` for every case (echoing each
//! message back), then calls `/updateReports?agent=AGENT` so the server writes its reports.

use futures_util::StreamExt;
use sockeye_tokio::sockeye_ws::Config;
use sockeye_tokio::sockeye_ws::deflate::DeflateConfig;
use sockeye_tokio::sockeye_ws::handshake::ClientRequest;
use sockeye_tokio::ws::{self, ClientOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args.next().unwrap_or_else(|| "sockeye".to_owned());
    // The fuzzing server's 13.x cases agree to request `client_no_context_takeover` only
    // from a client that offered it (Autobahn reads the offer's parameter as "supports
    // it"), so this driver offers it, together with a bare `client_max_window_bits`. The
    // hint binds our client to compress without context takeover in every case.
    let options = ClientOptions {
        config: Config::builder()
            .max_frame_size(16 << 20)
            .max_message_size(64 << 20)
            .build()?,
        deflate: Some(
            DeflateConfig::builder()
                .client_no_context_takeover(true)
                .build()?,
        ),
        ..ClientOptions::default()
    };

    let count = {
        let (mut socket, _) = ws::connect(&format!("{base}/getCaseCount")).await?;
        let message = socket.next().await.ok_or("no case count")??;
        let text = std::str::from_utf8(message.as_bytes())?.trim().to_owned();
        while socket.next().await.is_some() {}
        text.parse::<u32>()?
    };
    eprintln!("running {count} cases as {agent}");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        let mut socket = match ws::connect_with(ClientRequest::new(&url)?, &options).await {
            Ok((socket, _)) => socket,
            Err(e) => {
                eprintln!("case {case}: connect failed: {e}");
                continue;
            }
        };
        while let Some(message) = socket.next().await {
            // Errors were reported to the peer with the right close code; keep reading to
            // finish the closing handshake. A send fails only once the connection closes.
            if let Ok(m) = message {
                let _ = socket.send(m).await;
            }
        }
    }
    let (mut socket, _) = ws::connect(&format!("{base}/updateReports?agent={agent}")).await?;
    while socket.next().await.is_some() {}
    eprintln!("reports updated");
    Ok(())
}
