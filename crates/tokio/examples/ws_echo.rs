//! Echoes every text and binary message back; the Autobahn TestSuite's target server.
//!
//! `cargo run --release -p sockeye-tokio --example ws_echo -- 127.0.0.1:9001`
//!
//! Limits are sized for the Autobahn 9.* cases (16 MiB messages).

use futures_util::StreamExt;
use sockeye_tokio::sockeye_ws::Config;
use sockeye_tokio::ws::{self, ServerOptions};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("ws_echo listening on ws://{}", listener.local_addr()?);
    let options = ServerOptions {
        config: Config::builder()
            .max_frame_size(16 << 20)
            .max_message_size(64 << 20)
            .build()
            .expect("valid limits"),
        ..ServerOptions::default()
    };
    loop {
        let (tcp, peer) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let options = options.clone();
        tokio::spawn(async move {
            let mut socket = match ws::accept_with(tcp, &options, |_| Ok(Default::default())).await
            {
                Ok(s) => s,
                Err(e) => return eprintln!("{peer}: handshake failed: {e}"),
            };
            while let Some(message) = socket.next().await {
                let sent = match message {
                    Ok(m) => socket.send(m).await,
                    Err(e) => {
                        eprintln!("{peer}: {e}");
                        continue;
                    }
                };
                if let Err(e) = sent {
                    eprintln!("{peer}: {e}");
                    break;
                }
            }
        });
    }
}
