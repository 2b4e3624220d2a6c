//! A Socket.IO server configured as the official socket.io-protocol v5 test suite
//! (`docs/socket.io-protocol/v5-test-suite` in socketio/socket.io) expects: path
//! `/socket.io/`, `pingInterval` 300 ms, `pingTimeout` 200 ms, `maxPayload` 1 000 000,
//! `connectTimeout` 1 000 ms, CORS for any origin, and:
//!
//! - namespace `/`: on connection, emit `auth` with the handshake auth (`{}` when the client
//!   sent none, as `socket.handshake.auth` in the reference); `message` is answered with
//!   `message-back` and the same arguments (binary ones included); `message-with-ack` is
//!   acknowledged with the same arguments;
//! - namespace `/custom`: on connection, emit `auth`;
//! - any other namespace is refused (`{"message":"Invalid namespace"}`).
//!
//! ```text
//! cargo run --release -p sockeye-tokio --example sio_suite -- 127.0.0.1:3000
//! ```
//!
//! See `docs/conformance.md` for how to run the suite.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use sockeye_socketio::PacketType;
use sockeye_tokio::socketio::{Message, Socket, SocketIo};

/// A JSON value that keeps the order of object keys (as JavaScript does), so arguments are
/// echoed exactly as received.
enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
                Ok(Json::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
                Ok(Json::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
                serde_json::Number::from_f64(v)
                    .map(Json::Number)
                    .ok_or_else(|| E::custom("not a JSON number"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
                Ok(Json::String(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
                Ok(Json::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Json::Object(entries))
            }
        }
        d.deserialize_any(V)
    }
}

impl Json {
    /// The attachment index when this is a placeholder `{"_placeholder":true,"num":N}`.
    fn placeholder(&self) -> Option<usize> {
        let Json::Object(entries) = self else {
            return None;
        };
        let get = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        match (get("_placeholder"), get("num")) {
            (Some(Json::Bool(true)), Some(Json::Number(n))) => {
                n.as_u64().and_then(|n| usize::try_from(n).ok())
            }
            _ => None,
        }
    }
}

/// A value of a received packet with its attachments: placeholders serialize as byte arrays,
/// which the emitting side turns back into placeholders and attachments.
struct WithBinary<'a> {
    value: &'a Json,
    attachments: &'a [Bytes],
}

impl Serialize for WithBinary<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let attachments = self.attachments;
        if let Some(bytes) = self.value.placeholder().and_then(|i| attachments.get(i)) {
            return s.serialize_bytes(bytes);
        }
        match self.value {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(v) => s.serialize_str(v),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for value in items {
                    seq.serialize_element(&WithBinary { value, attachments })?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, value) in entries {
                    map.serialize_entry(k, &WithBinary { value, attachments })?;
                }
                map.end()
            }
        }
    }
}

/// The arguments of a received event (after its name), as received.
struct Args {
    values: Vec<Json>,
    attachments: Vec<Bytes>,
}

impl Args {
    fn of(msg: &Message) -> Option<Self> {
        let packet = msg.packet();
        let payload = packet.payload.as_ref()?;
        let mut values: Vec<Json> = serde_json::from_slice(payload.as_bytes()).ok()?;
        if matches!(packet.kind, PacketType::Event | PacketType::BinaryEvent) && !values.is_empty()
        {
            values.remove(0);
        }
        Some(Self {
            values,
            attachments: packet.attachments.clone(),
        })
    }
}

impl Serialize for Args {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.values.len()))?;
        for value in &self.values {
            seq.serialize_element(&WithBinary {
                value,
                attachments: &self.attachments,
            })?;
        }
        seq.end()
    }
}

/// `socket.emit("auth", socket.handshake.auth)`: the reference's auth is `{}` when the
/// client sent none.
fn emit_auth(socket: &Socket) {
    let auth = match socket.auth() {
        serde_json::Value::Null => serde_json::Value::Object(serde_json::Map::new()),
        auth => auth.clone(),
    };
    let _ = socket.emit("auth", &(auth,));
}

fn parse_addr() -> String {
    std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into())
}

// One thread, like the reference's event loop: the suites race requests on separate
// connections (a GET next to the POST that closes the session, a GET right after the
// WebSocket frame that completes an upgrade) and expect them handled in the order they
// arrived. A multi-threaded runtime may run the later one first (its LIFO slot runs the
// task woken last), and the suites then see a 400 where they expect a 200, or the reverse.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = parse_addr();
    let io = SocketIo::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_http_buffer_size(1_000_000)
        .connect_timeout(Duration::from_millis(1000))
        .cors(vec!["*".into()], false)
        .build();

    io.ns("/", |socket: Socket| {
        emit_auth(&socket);
        socket.on("message", |socket: Socket, msg: Message| async move {
            if let Some(args) = Args::of(&msg) {
                let _ = socket.emit("message-back", &args);
            }
        });
        socket.on(
            "message-with-ack",
            |_socket: Socket, msg: Message| async move {
                if let Some(args) = Args::of(&msg) {
                    let _ = msg.ack(&args);
                }
            },
        );
    });
    io.ns("/custom", |socket: Socket| emit_auth(&socket));

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "Socket.IO server on http://{}/socket.io/",
        listener.local_addr()?
    );
    io.serve(listener).await
}
