//! An Engine.IO echo server configured as the official engine.io-protocol test suites
//! (`docs/engine.io-protocol/v4-test-suite` and `v3-test-suite` in socketio/socket.io)
//! expect: path `/engine.io/`, `pingInterval` 300 ms, `pingTimeout` 200 ms, `maxPayload`
//! 1 000 000, CORS for any origin, and every message (text or binary) sent back to the
//! session it came from.
//!
//! ```text
//! cargo run --release -p sockeye-tokio --example eio_suite -- --eio 4 127.0.0.1:3000
//! cargo run --release -p sockeye-tokio --example eio_suite -- --eio 3 127.0.0.1:3000
//! ```
//!
//! `--eio 4` (the default) refuses Engine.IO v3 clients, as the reference does by default;
//! `--eio 3` accepts them (`allowEIO3`). See `docs/conformance.md` for how to run the suites.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use sockeye_engineio::ServerConfig;
use sockeye_tokio::engineio::{EngineEvent, EngineIo};
use sockeye_tokio::socketio::serve_with;

const PATH: &str = "/engine.io/";

struct Args {
    allow_eio3: bool,
    addr: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        allow_eio3: false,
        addr: "127.0.0.1:3000".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--eio" => match it.next().as_deref() {
                Some("4") => args.allow_eio3 = false,
                Some("3") => args.allow_eio3 = true,
                other => return Err(format!("--eio takes 3 or 4, not {other:?}")),
            },
            a if a.starts_with('-') => return Err(format!("unknown option {a}")),
            a => args.addr = a.to_owned(),
        }
    }
    Ok(args)
}

/// The reference's `cors: { origin: "*" }`: any origin, no credentials.
fn cors(res: &mut http::Response<Full<Bytes>>) {
    res.headers_mut().insert(
        http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        http::HeaderValue::from_static("*"),
    );
}

async fn route(
    engine: EngineIo,
    req: http::Request<hyper::body::Incoming>,
) -> http::Response<Full<Bytes>> {
    let path = req.uri().path();
    if path != PATH && path != PATH.trim_end_matches('/') {
        let mut res = http::Response::new(Full::new(Bytes::from_static(b"Not Found")));
        *res.status_mut() = http::StatusCode::NOT_FOUND;
        return res;
    }
    if req.method() == http::Method::OPTIONS {
        let mut res = http::Response::new(Full::default());
        *res.status_mut() = http::StatusCode::NO_CONTENT;
        cors(&mut res);
        let h = res.headers_mut();
        h.insert(
            http::header::ACCESS_CONTROL_ALLOW_METHODS,
            http::HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
        );
        if let Some(asked) = req
            .headers()
            .get(http::header::ACCESS_CONTROL_REQUEST_HEADERS)
        {
            h.insert(http::header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        return res;
    }
    let mut res = engine.handle(req).await;
    if res.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        cors(&mut res);
    }
    res
}

// One thread, like the reference's event loop: the suites race requests on separate
// connections (a GET next to the POST that closes the session, a GET right after the
// WebSocket frame that completes an upgrade) and expect them handled in the order they
// arrived. A multi-threaded runtime may run the later one first (its LIFO slot runs the
// task woken last), and the suites then see a 400 where they expect a 200, or the reverse.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}\nusage: eio_suite [--eio 3|4] [ADDR]");
            std::process::exit(2);
        }
    };
    let config = ServerConfig::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_http_buffer_size(1_000_000)
        .allow_eio3(args.allow_eio3)
        .build()
        .map_err(std::io::Error::other)?;
    let (engine, mut events) = EngineIo::new(config);

    // The echo: every message goes back, unchanged, through its session's handle.
    tokio::spawn(async move {
        let mut sessions = HashMap::new();
        while let Some(event) = events.recv().await {
            match event {
                EngineEvent::Open { id, handle, .. } => {
                    sessions.insert(id, handle);
                }
                EngineEvent::Message { id, data } => {
                    if let Some(handle) = sessions.get(&id) {
                        let _ = handle.try_send(data);
                    }
                }
                EngineEvent::Upgraded { .. } => {}
                EngineEvent::Closed { id, .. } => {
                    sessions.remove(&id);
                }
            }
        }
    });

    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    println!(
        "Engine.IO echo on http://{}{PATH} (EIO=4{})",
        listener.local_addr()?,
        if args.allow_eio3 {
            " and EIO=3"
        } else {
            " only"
        }
    );
    serve_with(listener, move |req| route(engine.clone(), req)).await
}
