//! The rooms chat: a Socket.IO server and the page that uses it.
//!
//! ```text
//! cargo run --release -p sockeye-tokio --example chat -- 127.0.0.1:3000
//! ```
//!
//! Open `http://127.0.0.1:3000/` in a browser (twice, to talk to yourself): join a room
//! with a name, send messages; who joins and leaves is shown, and messages only reach the
//! room. The page uses the official socket.io-client browser bundle: served at
//! `/socket.io/socket.io.min.js` from a local copy when one is found (the `SOCKEYE_SIO_CLIENT`
//! environment variable, or the npm package the tests install under `target/`), with an
//! `ETag` and a Subresource Integrity hash computed with sockeye-sha512; else the page loads
//! it from the official CDN.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use serde::{Deserialize, Serialize};
use sockeye_sha512::{Sha384, Sha512};
use sockeye_tokio::socketio::{Message, Socket, SocketIo, serve_with};

const PAGE: &str = include_str!("index.html");
const CDN: &str = "https://cdn.socket.io/4.8.1/socket.io.min.js";

#[derive(Deserialize)]
struct Join {
    name: String,
    room: String,
}

#[derive(Deserialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Said<'a> {
    name: &'a str,
    text: &'a str,
}

#[derive(Serialize, Clone)]
struct Presence {
    name: String,
    room: String,
}

/// The local copy of the browser bundle, with its ETag and SRI hash.
struct Bundle {
    body: Bytes,
    etag: String,
    integrity: String,
}

fn find_bundle() -> Option<Bundle> {
    let candidates = [
        std::env::var_os("SOCKEYE_SIO_CLIENT").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
            "../../target/conformance/socketio/node_modules/socket.io-client/dist/socket.io.min.js",
        )),
    ];
    candidates.into_iter().flatten().find_map(|path| {
        let body = Bytes::from(std::fs::read(&path).ok()?);
        Some(Bundle {
            etag: format!("\"{}\"", &Sha512::digest(&body).hex()[..32]),
            integrity: format!("sha384-{}", Sha384::digest(&body).base64()),
            body,
        })
    })
}

/// Who is where, so leaving can be announced.
type Members = Arc<Mutex<std::collections::HashMap<String, Presence>>>;

fn on_connect(socket: Socket, members: Members) {
    let m = members.clone();
    socket.on("join", move |socket: Socket, msg: Message| {
        let members = m.clone();
        async move {
            let Ok((join,)) = msg.args::<(Join,)>() else {
                return;
            };
            let previous = members.lock().ok().and_then(|mut m| {
                m.insert(
                    socket.id().to_owned(),
                    Presence {
                        name: join.name.clone(),
                        room: join.room.clone(),
                    },
                )
            });
            if let Some(old) = previous {
                socket.leave(old.room.clone());
                let _ = socket.to(old.room.clone()).emit("left", &(old,));
            }
            socket.join(join.room.clone());
            let presence = Presence {
                name: join.name,
                room: join.room,
            };
            let _ = socket
                .to(presence.room.clone())
                .emit("joined", &(presence.clone(),));
            let _ = msg.ack(&(presence,));
        }
    });
    let m = members.clone();
    socket.on("message", move |socket: Socket, msg: Message| {
        let members = m.clone();
        async move {
            let Ok((text,)) = msg.args::<(Text,)>() else {
                return;
            };
            let Some(me) = members
                .lock()
                .ok()
                .and_then(|m| m.get(socket.id()).cloned())
            else {
                return;
            };
            let said = Said {
                name: &me.name,
                text: &text.text,
            };
            // The whole room, sender included.
            let _ = socket.to(me.room.clone()).emit("message", &(&said,));
            let _ = socket.emit("message", &(&said,));
        }
    });
    socket.on_disconnect(move |socket: Socket, _reason| {
        let members = members.clone();
        async move {
            let gone = members.lock().ok().and_then(|mut m| m.remove(socket.id()));
            if let Some(p) = gone {
                let _ = socket.to(p.room.clone()).emit("left", &(p,));
            }
        }
    });
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let io = SocketIo::builder().build();
    let members: Members = Arc::default();
    io.ns("/", move |socket| on_connect(socket, members.clone()));

    let bundle = find_bundle().map(Arc::new);
    let script = match &bundle {
        Some(b) => format!(
            "<script src=\"/socket.io/socket.io.min.js\" integrity=\"{}\" crossorigin=\"anonymous\"></script>",
            b.integrity
        ),
        None => format!("<script src=\"{CDN}\" crossorigin=\"anonymous\"></script>"),
    };
    let page = Bytes::from(PAGE.replace("__SCRIPT_TAG__", &script));

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "chat on http://{} (socket.io-client bundle: {})",
        listener.local_addr()?,
        if bundle.is_some() {
            "local copy"
        } else {
            "CDN"
        }
    );
    serve_with(
        listener,
        move |req: http::Request<hyper::body::Incoming>| {
            let (io, page, bundle) = (io.clone(), page.clone(), bundle.clone());
            async move {
                let path = req.uri().path();
                if path == "/" {
                    let mut res = http::Response::new(Full::new(page));
                    res.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("text/html; charset=utf-8"),
                    );
                    return res;
                }
                if path == "/socket.io/socket.io.min.js"
                    && let Some(b) = bundle
                {
                    let fresh = req
                        .headers()
                        .get(http::header::IF_NONE_MATCH)
                        .is_some_and(|v| v.as_bytes() == b.etag.as_bytes());
                    let mut res = if fresh {
                        let mut r = http::Response::new(Full::default());
                        *r.status_mut() = http::StatusCode::NOT_MODIFIED;
                        r
                    } else {
                        http::Response::new(Full::new(b.body.clone()))
                    };
                    let h = res.headers_mut();
                    h.insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/javascript"),
                    );
                    if let Ok(v) = http::HeaderValue::from_str(&b.etag) {
                        h.insert(http::header::ETAG, v);
                    }
                    return res;
                }
                if io.handles(path) {
                    return io.handle(req).await;
                }
                let mut res = http::Response::new(Full::new(Bytes::from_static(b"Not Found")));
                *res.status_mut() = http::StatusCode::NOT_FOUND;
                res
            }
        },
    )
    .await
}
