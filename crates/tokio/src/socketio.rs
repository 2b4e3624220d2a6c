//! A Socket.IO server on tokio and hyper: the [`sockeye_socketio`] engine driven by one task,
//! Engine.IO sessions from [`crate::engineio`], handlers in the spirit of socket.io.
//!
//! ```rust,no_run
//! use sockeye_tokio::socketio::{SocketIo, Socket, Message};
//!
//! # async fn run() -> std::io::Result<()> {
//! let io = SocketIo::builder().build();
//! io.ns("/", |socket: Socket| {
//!     socket.on("chat", |socket: Socket, msg: Message| async move {
//!         let (text,): (String,) = msg.args().unwrap_or_default();
//!         let _ = socket.broadcast().emit("chat", &(text,));
//!     });
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! io.serve(listener).await
//! # }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use serde::Serialize;
use sockeye_engineio::{Protocol, ServerConfig as EngineConfig, Str};
use sockeye_socketio::Packet;
use sockeye_socketio::server::{
    BroadcastOptions, ClientId, Event, IdSource, Room, Server, ServerConfig, SocketId, SocketInfo,
    Transmit,
};
use tokio::sync::{mpsc, oneshot};

use crate::engineio::{EngineEvent, EngineIo, SessionHandle, TrySendError};
pub use crate::sio_client::{Client, ClientBuilder, ClientMessage, ClientSocket};
pub use sockeye_engineio::{ConfigError, Transports};
pub use sockeye_socketio::client::{ClientDisconnectReason, Reconnection};
pub use sockeye_socketio::server::{DisconnectReason, ProtocolVersion, RecoveryConfig};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
type EventHandler = Arc<dyn Fn(Socket, Message) -> BoxFuture + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(Socket, DisconnectReason) -> BoxFuture + Send + Sync>;
type ConnectHandler = Arc<dyn Fn(Socket) + Send + Sync>;
type Predicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;
type PacketMiddleware = Arc<dyn Fn(&Socket, &Message) -> Result<(), String> + Send + Sync>;
type OutgoingHook = Arc<dyn Fn(&Socket, &str, &Packet) + Send + Sync>;
/// Connect middleware: decides whether a socket may join a namespace. Make one with
/// [`middleware`].
pub type Middleware = Arc<
    dyn Fn(ConnectRequest) -> Pin<Box<dyn Future<Output = Result<(), ConnectError>> + Send>>
        + Send
        + Sync,
>;

/// Wraps an async function as connect [`Middleware`].
pub fn middleware<F, Fut>(f: F) -> Middleware
where
    F: Fn(ConnectRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
{
    Arc::new(move |request| Box::pin(f(request)))
}

/// A refusal of a CONNECT: the client gets `CONNECT_ERROR {message, data}` (v4: the message).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// The message.
    pub message: String,
    /// Extra data (v5 only).
    pub data: Option<serde_json::Value>,
}

impl ConnectError {
    /// A refusal with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            data: None,
        }
    }
}

/// What connect middleware sees.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    /// The namespace.
    pub namespace: String,
    /// The CONNECT auth (v4: the namespace's query parameters), `Null` when none.
    pub auth: serde_json::Value,
}

/// Options, named after socket.io's `ServerOptions`.
#[derive(Debug, Clone)]
pub struct SocketIoBuilder {
    path: String,
    engine: sockeye_engineio::ServerConfigBuilder,
    sio: ServerConfig,
    cors_origins: Option<Vec<String>>,
    cors_credentials: bool,
    #[cfg(feature = "deflate")]
    per_message_deflate: Option<sockeye_ws::deflate::DeflateConfig>,
}

impl SocketIoBuilder {
    /// The path Engine.IO is served at; default `/socket.io/`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut p: String = path.into();
        if !p.ends_with('/') {
            p.push('/');
        }
        self.path = p;
        self
    }

    /// See [`sockeye_engineio::ServerConfig::ping_interval`].
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.engine = self.engine.ping_interval(d);
        self
    }

    /// See [`sockeye_engineio::ServerConfig::ping_timeout`].
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.engine = self.engine.ping_timeout(d);
        self
    }

    /// See [`sockeye_engineio::ServerConfig::upgrade_timeout`].
    pub fn upgrade_timeout(mut self, d: Duration) -> Self {
        self.engine = self.engine.upgrade_timeout(d);
        self
    }

    /// See [`sockeye_engineio::ServerConfig::max_http_buffer_size`]; also caps attachments.
    pub fn max_http_buffer_size(mut self, bytes: usize) -> Self {
        self.engine = self.engine.max_http_buffer_size(bytes);
        self.sio.decoder.max_attachment_bytes = bytes;
        self
    }

    /// Accept socket.io 2.x clients (Engine.IO v3).
    pub fn allow_eio3(mut self, on: bool) -> Self {
        self.engine = self.engine.allow_eio3(on);
        self
    }

    /// The transports offered.
    pub fn transports(mut self, transports: Transports) -> Self {
        self.engine = self.engine.transports(transports);
        self
    }

    /// How long a connection may take to join a namespace; default 45 000 ms.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.sio.connect_timeout = d;
        self
    }

    /// Default ack timeout; default 5 000 ms.
    pub fn ack_timeout(mut self, d: Duration) -> Self {
        self.sio.ack_timeout = d;
        self
    }

    /// Turns on connection state recovery.
    pub fn connection_state_recovery(mut self, config: RecoveryConfig) -> Self {
        self.sio.recovery = Some(config);
        self
    }

    /// CORS: the origins allowed (`*` for any); off by default (same origin only).
    pub fn cors(mut self, origins: Vec<String>, credentials: bool) -> Self {
        self.cors_origins = Some(origins);
        self.cors_credentials = credentials;
        self
    }

    /// permessage-deflate on WebSockets, agreed with `config` when a client offers it;
    /// `None` (the default, as the reference's `perMessageDeflate: false`) leaves frames
    /// uncompressed.
    #[cfg(feature = "deflate")]
    pub fn per_message_deflate(
        mut self,
        config: Option<sockeye_ws::deflate::DeflateConfig>,
    ) -> Self {
        self.per_message_deflate = config;
        self
    }

    /// Builds the server and starts its engine task (call inside a tokio runtime).
    ///
    /// # Panics
    ///
    /// When the options are invalid (a zero timer or limit, no transport); see
    /// [`SocketIoBuilder::try_build`].
    pub fn build(self) -> SocketIo {
        match self.try_build() {
            Ok(io) => io,
            Err(e) => panic!("invalid Socket.IO server options: {e}"),
        }
    }

    /// Builds the server and starts its engine task (call inside a tokio runtime).
    ///
    /// # Errors
    ///
    /// The options are invalid: a zero timer or limit, or no transport.
    pub fn try_build(self) -> Result<SocketIo, ConfigError> {
        let engine_config: EngineConfig = self.engine.build()?;
        #[cfg(feature = "deflate")]
        let (engine, engine_events) =
            EngineIo::with_deflate(engine_config, self.per_message_deflate);
        #[cfg(not(feature = "deflate"))]
        let (engine, engine_events) = EngineIo::new(engine_config);
        let (commands, command_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            path: self.path,
            engine,
            commands,
            namespaces: Mutex::new(Namespaces::default()),
            cors_origins: self.cors_origins,
            cors_credentials: self.cors_credentials,
        });
        let io = SocketIo { inner };
        let task = EngineTask {
            io: io.clone(),
            server: Server::new(self.sio, OsRandom),
            sessions: HashMap::new(),
            clients: HashMap::new(),
            sockets: HashMap::new(),
            acks: HashMap::new(),
            broadcast_acks: HashMap::new(),
        };
        tokio::spawn(task.run(engine_events, command_rx));
        Ok(io)
    }
}

/// Ids (Socket.IO socket ids, the client's too) from the operating system's random source.
#[derive(Debug)]
pub(crate) struct OsRandom;

impl IdSource for OsRandom {
    fn next_id(&mut self) -> [u8; 15] {
        let mut b = [0u8; 15];
        getrandom::fill(&mut b).expect("the OS random number generator failed");
        b
    }
}

#[derive(Clone)]
struct NamespaceEntry {
    on_connect: ConnectHandler,
    middleware: Vec<Middleware>,
}

#[derive(Default)]
struct Namespaces {
    exact: HashMap<String, NamespaceEntry>,
    dynamic: Vec<(Predicate, NamespaceEntry)>,
}

impl Namespaces {
    fn find(&self, name: &str) -> Option<NamespaceEntry> {
        self.exact.get(name).cloned().or_else(|| {
            self.dynamic
                .iter()
                .find(|(p, _)| p(name))
                .map(|(_, e)| e.clone())
        })
    }
}

struct Inner {
    path: String,
    engine: EngineIo,
    commands: mpsc::UnboundedSender<Command>,
    namespaces: Mutex<Namespaces>,
    cors_origins: Option<Vec<String>>,
    cors_credentials: bool,
}

/// The Socket.IO server; cheap to clone.
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SocketIo {
    /// Options, starting from socket.io's defaults.
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder {
            path: "/socket.io/".into(),
            engine: EngineConfig::builder(),
            sio: ServerConfig::default(),
            cors_origins: None,
            cors_credentials: false,
            #[cfg(feature = "deflate")]
            per_message_deflate: None,
        }
    }

    fn command(&self, command: Command) {
        let _ = self.inner.commands.send(command);
    }

    /// Declares namespace `path`; `on_connect` runs for each socket that joins it, before the
    /// client is told it joined (register the socket's handlers there).
    pub fn ns(&self, path: &str, on_connect: impl Fn(Socket) + Send + Sync + 'static) {
        self.ns_with(path, Vec::new(), on_connect);
    }

    /// As [`ns`](Self::ns), with connect middleware run in order before `on_connect`.
    pub fn ns_with(
        &self,
        path: &str,
        middleware: Vec<Middleware>,
        on_connect: impl Fn(Socket) + Send + Sync + 'static,
    ) {
        let entry = NamespaceEntry {
            on_connect: Arc::new(on_connect),
            middleware,
        };
        if let Ok(mut ns) = self.inner.namespaces.lock() {
            ns.exact.insert(path.to_owned(), entry);
        }
        self.command(Command::AddNamespace(path.to_owned()));
    }

    /// Dynamic namespaces: any name `predicate` accepts is created on its first CONNECT.
    pub fn dynamic_ns(
        &self,
        predicate: impl Fn(&str) -> bool + Send + Sync + 'static,
        middleware: Vec<Middleware>,
        on_connect: impl Fn(Socket) + Send + Sync + 'static,
    ) {
        let predicate: Predicate = Arc::new(predicate);
        let entry = NamespaceEntry {
            on_connect: Arc::new(on_connect),
            middleware,
        };
        if let Ok(mut ns) = self.inner.namespaces.lock() {
            ns.dynamic.push((predicate.clone(), entry));
        }
        self.command(Command::AddDynamic(predicate));
    }

    /// Broadcast operators on namespace `path`.
    pub fn of(&self, path: &str) -> Operators {
        Operators::new(
            self.clone(),
            BroadcastOptions::namespace(Str::from(path.to_owned())),
        )
    }

    /// Broadcast operators on `/` to `room`.
    pub fn to(&self, room: impl Into<String>) -> Operators {
        self.of("/").to(room)
    }

    /// Disconnects every client ("server shutting down").
    pub fn close(&self) {
        self.command(Command::Shutdown);
    }

    /// Whether `path` is served by this server (the Engine.IO path).
    pub fn handles(&self, path: &str) -> bool {
        path.starts_with(&self.inner.path) || path == self.inner.path.trim_end_matches('/')
    }

    /// Serves a request to the Engine.IO path (mount it in hyper, axum, …).
    pub async fn handle<B>(&self, req: http::Request<B>) -> http::Response<Full<Bytes>>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let origin = req.headers().get(http::header::ORIGIN).cloned();
        if req.method() == http::Method::OPTIONS {
            let mut res = http::Response::new(Full::default());
            *res.status_mut() = http::StatusCode::NO_CONTENT;
            self.cors_headers(&mut res, origin.as_ref());
            if res
                .headers()
                .contains_key(http::header::ACCESS_CONTROL_ALLOW_ORIGIN)
            {
                let h = res.headers_mut();
                h.insert(
                    http::header::ACCESS_CONTROL_ALLOW_METHODS,
                    http::HeaderValue::from_static("GET, POST"),
                );
                h.insert(
                    http::header::ACCESS_CONTROL_ALLOW_HEADERS,
                    http::HeaderValue::from_static("content-type"),
                );
            }
            return res;
        }
        let mut res = self.inner.engine.handle(req).await;
        if res.status() != http::StatusCode::SWITCHING_PROTOCOLS {
            res.headers_mut().insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
            self.cors_headers(&mut res, origin.as_ref());
        }
        res
    }

    fn cors_headers(
        &self,
        res: &mut http::Response<Full<Bytes>>,
        origin: Option<&http::HeaderValue>,
    ) {
        let Some(origins) = &self.inner.cors_origins else {
            return;
        };
        let allowed = match origin {
            Some(o)
                if origins
                    .iter()
                    .any(|a| a == "*" || a.as_bytes() == o.as_bytes()) =>
            {
                if origins.iter().any(|a| a == "*") && !self.inner.cors_credentials {
                    http::HeaderValue::from_static("*")
                } else {
                    o.clone()
                }
            }
            _ => return,
        };
        let h = res.headers_mut();
        h.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        h.insert(http::header::VARY, http::HeaderValue::from_static("Origin"));
        if self.inner.cors_credentials {
            h.insert(
                http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                http::HeaderValue::from_static("true"),
            );
        }
    }

    /// Binds `addr` and serves Socket.IO there (see [`SocketIo::serve`]); to learn the port
    /// of an address with port 0, bind the listener yourself and call `serve`.
    ///
    /// # Errors
    ///
    /// The bind's error, or accepting's.
    pub async fn bind(&self, addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        self.serve(listener).await
    }

    /// Serves Socket.IO on `listener` until the process ends; other paths get 404.
    ///
    /// # Errors
    ///
    /// Accepting a connection failed.
    pub async fn serve(&self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let io = self.clone();
        serve_with(listener, move |req| {
            let io = io.clone();
            async move {
                if io.handles(req.uri().path()) {
                    io.handle(req).await
                } else {
                    let mut res = http::Response::new(Full::new(Bytes::from_static(b"Not Found")));
                    *res.status_mut() = http::StatusCode::NOT_FOUND;
                    res
                }
            }
        })
        .await
    }
}

impl<B> tower_service::Service<http::Request<B>> for SocketIo
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    /// Serves a request to the Engine.IO path (mount the service at that path, e.g. with
    /// axum's `Router::route_service("/socket.io/", io)`).
    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let io = self.clone();
        Box::pin(async move { Ok(io.handle(req).await) })
    }
}

/// Runs a hyper HTTP/1.1 server (with upgrades) on `listener` with `handler`.
pub async fn serve_with<F, Fut>(
    listener: tokio::net::TcpListener,
    handler: F,
) -> std::io::Result<()>
where
    F: Fn(http::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Full<Bytes>>> + Send + 'static,
{
    loop {
        let (stream, _) = listener.accept().await?;
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, std::convert::Infallible>(handler(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

/// Broadcast operators: rooms to reach, rooms to skip, flags; then emit or act.
#[derive(Debug, Clone)]
pub struct Operators {
    io: SocketIo,
    opts: BroadcastOptions,
    timeout: Option<Duration>,
}

/// Answers gathered by [`Operators::emit_with_ack`].
#[derive(Debug, Clone)]
pub struct BroadcastAck {
    /// Each answering socket and its ack.
    pub responses: Vec<(String, Message)>,
    /// How many sockets were asked.
    pub expected: usize,
    /// Whether the time ran out first.
    pub timed_out: bool,
}

impl Operators {
    fn new(io: SocketIo, opts: BroadcastOptions) -> Self {
        Self {
            io,
            opts,
            timeout: None,
        }
    }

    /// Adds a room to reach (`to` / `in`).
    pub fn to(mut self, room: impl Into<String>) -> Self {
        self.opts.rooms.push(Str::from(room.into()));
        self
    }

    /// Adds a room to skip.
    pub fn except(mut self, room: impl Into<String>) -> Self {
        self.opts.except.push(Str::from(room.into()));
        self
    }

    /// Drop for clients that are backed up.
    pub fn volatile(mut self) -> Self {
        self.opts.volatile = true;
        self
    }

    /// Only this server.
    pub fn local(mut self) -> Self {
        self.opts.local = true;
        self
    }

    /// The `compress` flag.
    pub fn compress(mut self, on: bool) -> Self {
        self.opts.uncompressed = !on;
        self
    }

    /// The ack timeout of [`emit_with_ack`](Self::emit_with_ack).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Emits to every selected socket.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let packet = build_event(&self.opts.namespace, event, args)?;
        self.io.command(Command::Broadcast {
            opts: self.opts.clone(),
            packet,
        });
        Ok(())
    }

    /// Emits `event` with a raw JSON array of arguments and its attachments.
    pub fn emit_raw(&self, event: &str, args: &Str, attachments: Vec<Bytes>) {
        let packet =
            Packet::event_from_array(self.opts.namespace.clone(), event, args, attachments);
        self.io.command(Command::Broadcast {
            opts: self.opts.clone(),
            packet,
        });
    }

    /// Emits to every selected socket and gathers their acks.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<BroadcastAck, EmitError> {
        let packet = build_event(&self.opts.namespace, event, args)?;
        let (reply, rx) = oneshot::channel();
        self.io.command(Command::BroadcastWithAck {
            opts: self.opts.clone(),
            packet,
            timeout: self.timeout,
            reply,
        });
        rx.await.map_err(|_| EmitError::Closed)
    }

    /// The selected sockets.
    pub async fn fetch_sockets(&self) -> Vec<SocketInfo> {
        let (reply, rx) = oneshot::channel();
        self.io.command(Command::Fetch {
            opts: self.opts.clone(),
            reply,
        });
        rx.await.unwrap_or_default()
    }

    /// Makes the selected sockets join `rooms`.
    pub fn sockets_join(&self, rooms: &[&str]) {
        let rooms = rooms.iter().map(|r| Str::from((*r).to_owned())).collect();
        self.io.command(Command::SocketsJoin {
            opts: self.opts.clone(),
            rooms,
        });
    }

    /// Makes the selected sockets leave `rooms`.
    pub fn sockets_leave(&self, rooms: &[&str]) {
        let rooms = rooms.iter().map(|r| Str::from((*r).to_owned())).collect();
        self.io.command(Command::SocketsLeave {
            opts: self.opts.clone(),
            rooms,
        });
    }

    /// Disconnects the selected sockets (closing their connections with `close`).
    pub fn disconnect_sockets(&self, close: bool) {
        self.io.command(Command::DisconnectSockets {
            opts: self.opts.clone(),
            close,
        });
    }
}

/// Emitting failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The arguments could not be serialized, or the event name is reserved.
    #[error("invalid event: {0}")]
    Invalid(String),
    /// The server or the socket is gone.
    #[error("closed")]
    Closed,
    /// No ack in time.
    #[error("ack timeout")]
    Timeout,
}

fn build_event<T: Serialize + ?Sized>(
    ns: &Str,
    event: &str,
    args: &T,
) -> Result<Packet, EmitError> {
    if sockeye_socketio::RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::Invalid(format!("reserved event name {event:?}")));
    }
    Packet::event(ns.clone(), event, args).map_err(|e| EmitError::Invalid(e.to_string()))
}

/// An incoming event (or ack): its arguments and, when the sender asked for one, the means to
/// answer.
#[derive(Debug, Clone)]
pub struct Message {
    packet: Packet,
    ack: Option<AckSender>,
}

impl Message {
    /// The event name (empty for acks).
    pub fn event(&self) -> String {
        self.packet
            .event
            .as_ref()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    /// The arguments (after the name) as a sequence type: a tuple, a `Vec`, …
    pub fn args<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.packet.args()
    }

    /// The packet as received.
    pub fn packet(&self) -> &Packet {
        &self.packet
    }

    /// The arguments as a raw JSON array (binary parts as placeholders), to forward as they
    /// are with [`attachments`](Self::attachments).
    pub fn args_array(&self) -> Str {
        self.packet.args_array()
    }

    /// The binary attachments, in placeholder order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.packet.attachments
    }

    /// Answers with a raw JSON array of arguments and its attachments.
    pub fn ack_raw(&self, args: Str, attachments: Vec<Bytes>) {
        if let Some(a) = &self.ack {
            let packet = Packet::ack_raw(a.namespace.clone(), a.id, args, attachments);
            a.io.command(Command::Emit {
                socket: a.socket.clone(),
                packet,
            });
        }
    }

    /// Whether the sender waits for an ack.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Answers the sender (no-op when it asked for no ack).
    pub fn ack<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        match &self.ack {
            Some(a) => a.send(args),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone)]
struct AckSender {
    io: SocketIo,
    socket: SocketId,
    namespace: Str,
    id: u64,
}

impl AckSender {
    fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        let packet = Packet::ack(self.namespace.clone(), self.id, args)
            .map_err(|e| EmitError::Invalid(e.to_string()))?;
        self.io.command(Command::Emit {
            socket: self.socket.clone(),
            packet,
        });
        Ok(())
    }
}

#[derive(Default)]
struct SocketHandlers {
    events: HashMap<String, EventHandler>,
    any: Option<EventHandler>,
    disconnect: Vec<DisconnectHandler>,
    middleware: Vec<PacketMiddleware>,
    outgoing: Vec<OutgoingHook>,
}

/// Per-connection facts sockets can read.
#[derive(Debug, Clone)]
struct ConnectionInfo {
    /// The Engine.IO session id, for traces.
    sid: String,
    protocol: Protocol,
    transport: sockeye_engineio::server::Transport,
    upgraded: bool,
}

struct SocketShared {
    handlers: Mutex<SocketHandlers>,
    auth: serde_json::Value,
    connection: Arc<Mutex<ConnectionInfo>>,
}

/// One client's socket in one namespace.
#[derive(Clone)]
pub struct Socket {
    io: SocketIo,
    id: SocketId,
    namespace: Str,
    shared: Arc<SocketShared>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl Socket {
    /// The socket id (never the Engine.IO session id in v5).
    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        self.namespace.as_str()
    }

    /// The server.
    pub fn io(&self) -> &SocketIo {
        &self.io
    }

    /// The CONNECT auth (`Null` when none).
    pub fn auth(&self) -> &serde_json::Value {
        &self.shared.auth
    }

    /// The Engine.IO revision of the connection (3 or 4).
    pub fn eio(&self) -> u8 {
        match self.shared.connection.lock().map(|c| c.protocol) {
            Ok(Protocol::V3) => 3,
            _ => 4,
        }
    }

    /// The transport now: `websocket` once upgraded (or WebSocket from the start), else
    /// `polling`.
    pub fn transport(&self) -> &'static str {
        let websocket = self.shared.connection.lock().is_ok_and(|c| {
            c.upgraded || c.transport == sockeye_engineio::server::Transport::WebSocket
        });
        if websocket { "websocket" } else { "polling" }
    }

    /// The span handlers of this socket run in: its id, namespace, Engine.IO session id and
    /// the transport when it connected (payloads are never logged).
    /// The field values are only computed when the span is enabled.
    fn span(&self) -> tracing::Span {
        tracing::debug_span!(
            "socketio",
            socket = %self.id,
            namespace = %self.namespace,
            sid = %self.engine_sid(),
            transport = self.transport(),
        )
    }

    /// The Engine.IO session id (for traces).
    fn engine_sid(&self) -> String {
        self.shared
            .connection
            .lock()
            .map(|c| c.sid.clone())
            .unwrap_or_default()
    }

    /// Whether the connection upgraded from polling.
    pub fn upgraded(&self) -> bool {
        self.shared
            .connection
            .lock()
            .map(|c| c.upgraded)
            .unwrap_or(false)
    }

    /// Handles event `event`; the handler runs as its own task.
    pub fn on<H, F>(&self, event: &str, handler: H)
    where
        H: Fn(Socket, Message) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let handler: EventHandler = Arc::new(move |s, m| Box::pin(handler(s, m)));
        if let Ok(mut h) = self.shared.handlers.lock() {
            h.events.insert(event.to_owned(), handler);
        }
    }

    /// Handles every event without its own handler (catch-all).
    pub fn on_any<H, F>(&self, handler: H)
    where
        H: Fn(Socket, Message) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let handler: EventHandler = Arc::new(move |s, m| Box::pin(handler(s, m)));
        if let Ok(mut h) = self.shared.handlers.lock() {
            h.any = Some(handler);
        }
    }

    /// Runs when the socket disconnects, with the reference's reason.
    pub fn on_disconnect<H, F>(&self, handler: H)
    where
        H: Fn(Socket, DisconnectReason) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let handler: DisconnectHandler = Arc::new(move |s, r| Box::pin(handler(s, r)));
        if let Ok(mut h) = self.shared.handlers.lock() {
            h.disconnect.push(handler);
        }
    }

    /// Emits `event` with `args` (a sequence) to this socket.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let packet = build_event(&self.namespace, event, args)?;
        self.outgoing(event, &packet);
        self.io.command(Command::Emit {
            socket: self.id.clone(),
            packet,
        });
        Ok(())
    }

    fn outgoing(&self, event: &str, packet: &Packet) {
        let hooks = self
            .shared
            .handlers
            .lock()
            .map(|h| h.outgoing.clone())
            .unwrap_or_default();
        for hook in hooks {
            hook(self, event, packet);
        }
    }

    /// Per-packet middleware, as the reference's `socket.use`: runs on every incoming event
    /// before its handler, in the order added; an `Err` drops the event (its handler does
    /// not run) and is logged.
    pub fn use_packet(
        &self,
        middleware: impl Fn(&Socket, &Message) -> Result<(), String> + Send + Sync + 'static,
    ) {
        if let Ok(mut h) = self.shared.handlers.lock() {
            h.middleware.push(Arc::new(middleware));
        }
    }

    /// Sees every event this socket emits, with its name (the reference's `onAnyOutgoing`).
    pub fn on_any_outgoing(&self, hook: impl Fn(&Socket, &str, &Packet) + Send + Sync + 'static) {
        if let Ok(mut h) = self.shared.handlers.lock() {
            h.outgoing.push(Arc::new(hook));
        }
    }

    /// Emits `event` with a raw JSON array of arguments and its attachments.
    pub fn emit_raw(&self, event: &str, args: &Str, attachments: Vec<Bytes>) {
        let packet = Packet::event_from_array(self.namespace.clone(), event, args, attachments);
        self.outgoing(event, &packet);
        self.io.command(Command::Emit {
            socket: self.id.clone(),
            packet,
        });
    }

    /// Emits and waits for the client's ack (at most `timeout`, default `ack_timeout`).
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        timeout: Option<Duration>,
    ) -> Result<Message, EmitError> {
        let packet = build_event(&self.namespace, event, args)?;
        self.outgoing(event, &packet);
        let (reply, rx) = oneshot::channel();
        self.io.command(Command::EmitWithAck {
            socket: self.id.clone(),
            packet,
            timeout,
            reply,
        });
        rx.await.map_err(|_| EmitError::Closed)?
    }

    /// Joins `room`.
    pub fn join(&self, room: impl Into<String>) {
        self.io.command(Command::Join {
            socket: self.id.clone(),
            room: Str::from(room.into()),
        });
    }

    /// Leaves `room`.
    pub fn leave(&self, room: impl Into<String>) {
        self.io.command(Command::Leave {
            socket: self.id.clone(),
            room: Str::from(room.into()),
        });
    }

    /// The rooms this socket is in.
    pub async fn rooms(&self) -> Vec<String> {
        let (reply, rx) = oneshot::channel();
        self.io.command(Command::Rooms {
            socket: self.id.clone(),
            reply,
        });
        rx.await
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.to_string())
            .collect()
    }

    /// Operators reaching `room` in this namespace, without this socket.
    pub fn to(&self, room: impl Into<String>) -> Operators {
        self.broadcast().to(room)
    }

    /// Operators reaching every other socket of this namespace.
    pub fn broadcast(&self) -> Operators {
        Operators::new(
            self.io.clone(),
            BroadcastOptions::namespace(self.namespace.clone()).except(self.id.room()),
        )
    }

    /// Disconnects this socket from its namespace ("server namespace disconnect").
    pub fn disconnect(&self) {
        self.io.command(Command::Disconnect {
            socket: self.id.clone(),
            close: false,
        });
    }

    /// Disconnects this socket and closes its whole Engine.IO connection, as the
    /// reference's `disconnect(true)`: the client is told (no reconnection follows).
    pub fn disconnect_all(&self) {
        self.io.command(Command::Disconnect {
            socket: self.id.clone(),
            close: true,
        });
    }

    /// Closes the Engine.IO connection under this socket without a word, as the reference's
    /// `socket.conn.close()`: the client sees "transport close" and reconnects; the server
    /// reports "forced close".
    pub fn close_transport(&self) {
        self.io.command(Command::CloseConnection {
            socket: self.id.clone(),
        });
    }
}

enum Command {
    AddNamespace(String),
    AddDynamic(Predicate),
    Decision {
        socket: SocketId,
        namespace: Str,
        result: Result<(), ConnectError>,
    },
    Emit {
        socket: SocketId,
        packet: Packet,
    },
    EmitWithAck {
        socket: SocketId,
        packet: Packet,
        timeout: Option<Duration>,
        reply: oneshot::Sender<Result<Message, EmitError>>,
    },
    Broadcast {
        opts: BroadcastOptions,
        packet: Packet,
    },
    BroadcastWithAck {
        opts: BroadcastOptions,
        packet: Packet,
        timeout: Option<Duration>,
        reply: oneshot::Sender<BroadcastAck>,
    },
    Join {
        socket: SocketId,
        room: Room,
    },
    Leave {
        socket: SocketId,
        room: Room,
    },
    Rooms {
        socket: SocketId,
        reply: oneshot::Sender<Vec<Room>>,
    },
    Disconnect {
        socket: SocketId,
        close: bool,
    },
    CloseConnection {
        socket: SocketId,
    },
    Fetch {
        opts: BroadcastOptions,
        reply: oneshot::Sender<Vec<SocketInfo>>,
    },
    SocketsJoin {
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    },
    SocketsLeave {
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    },
    DisconnectSockets {
        opts: BroadcastOptions,
        close: bool,
    },
    Shutdown,
}

struct EngineTask {
    io: SocketIo,
    server: Server,
    sessions: HashMap<ClientId, SessionHandle>,
    clients: HashMap<ClientId, Arc<Mutex<ConnectionInfo>>>,
    sockets: HashMap<SocketId, Arc<SocketShared>>,
    acks: HashMap<(SocketId, u64), oneshot::Sender<Result<Message, EmitError>>>,
    broadcast_acks: HashMap<u64, oneshot::Sender<BroadcastAck>>,
}

impl EngineTask {
    async fn run(
        mut self,
        mut engine: mpsc::UnboundedReceiver<EngineEvent>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        loop {
            self.drain();
            let deadline = self.server.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                event = engine.recv() => match event {
                    Some(event) => self.engine_event(event),
                    None => break,
                },
                command = commands.recv() => match command {
                    Some(command) => self.command(command),
                    None => break,
                },
                () = sleep => self.server.handle_timeout(Instant::now()),
            }
        }
    }

    fn engine_event(&mut self, event: EngineEvent) {
        let now = Instant::now();
        match event {
            EngineEvent::Open {
                id,
                sid,
                protocol,
                transport,
                handle,
            } => {
                let client = ClientId(id);
                self.sessions.insert(client, handle);
                self.clients.insert(
                    client,
                    Arc::new(Mutex::new(ConnectionInfo {
                        sid: sid.as_str().to_owned(),
                        protocol,
                        transport,
                        upgraded: false,
                    })),
                );
                self.server.handle_connection(
                    now,
                    client,
                    sid.as_str(),
                    ProtocolVersion::for_engine(protocol),
                );
            }
            EngineEvent::Message { id, data } => {
                self.server.handle_message(now, ClientId(id), data)
            }
            EngineEvent::Upgraded { id } => {
                if let Some(info) = self.clients.get(&ClientId(id))
                    && let Ok(mut info) = info.lock()
                {
                    info.upgraded = true;
                }
            }
            EngineEvent::Closed { id, reason } => {
                let client = ClientId(id);
                self.sessions.remove(&client);
                self.server.handle_close(now, client, reason);
                self.clients.remove(&client);
            }
        }
    }

    fn command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::AddNamespace(name) => self.server.add_namespace(Str::from(name)),
            Command::AddDynamic(predicate) => {
                self.server.add_dynamic_namespace(move |n| predicate(n))
            }
            Command::Decision {
                socket,
                namespace,
                result,
            } => match result {
                Ok(()) => self.connect_socket(now, socket, namespace, true),
                Err(e) => {
                    let data = e.data.map(|d| Str::from(d.to_string()));
                    let _ = self.server.refuse(&socket, &e.message, data);
                }
            },
            Command::Emit { socket, packet } => {
                let _ = self.server.emit_packet(now, &socket, packet);
            }
            Command::EmitWithAck {
                socket,
                packet,
                timeout,
                reply,
            } => {
                match self
                    .server
                    .emit_packet_with_ack(now, &socket, packet, timeout)
                {
                    Ok(id) => {
                        self.acks.insert((socket, id), reply);
                    }
                    Err(_) => {
                        let _ = reply.send(Err(EmitError::Closed));
                    }
                }
            }
            Command::Broadcast { opts, packet } => {
                self.server.broadcast_packet(now, &opts, packet);
            }
            Command::BroadcastWithAck {
                opts,
                packet,
                timeout,
                reply,
            } => {
                let id = self
                    .server
                    .broadcast_packet_with_ack(now, &opts, packet, timeout);
                self.broadcast_acks.insert(id, reply);
            }
            Command::Join { socket, room } => {
                let _ = self.server.join(&socket, &[room]);
            }
            Command::Leave { socket, room } => {
                let _ = self.server.leave(&socket, &room);
            }
            Command::Rooms { socket, reply } => {
                let _ = reply.send(self.server.rooms(&socket).unwrap_or_default());
            }
            Command::Disconnect { socket, close } => {
                let _ = self.server.disconnect(now, &socket, close);
            }
            Command::CloseConnection { socket } => {
                if let Some(session) = self
                    .server
                    .client_of(&socket)
                    .and_then(|c| self.sessions.get(&c))
                {
                    session.close();
                }
            }
            Command::Fetch { opts, reply } => {
                let _ = reply.send(self.server.fetch_sockets(&opts));
            }
            Command::SocketsJoin { opts, rooms } => self.server.sockets_join(&opts, &rooms),
            Command::SocketsLeave { opts, rooms } => self.server.sockets_leave(&opts, &rooms),
            Command::DisconnectSockets { opts, close } => {
                self.server.disconnect_sockets(now, &opts, close)
            }
            Command::Shutdown => self.server.shutdown(now),
        }
    }

    /// Creates the socket's handle, runs the namespace's connection handler, and (unless
    /// the engine already did, for a recovered session) accepts it.
    fn connect_socket(&mut self, now: Instant, socket: SocketId, namespace: Str, accept: bool) {
        let Some(entry) = self
            .io
            .inner
            .namespaces
            .lock()
            .ok()
            .and_then(|n| n.find(namespace.as_str()))
        else {
            let _ = self.server.refuse(&socket, "Invalid namespace", None);
            return;
        };
        let auth = self
            .server
            .auth(&socket)
            .and_then(|a| serde_json::from_slice(a.as_bytes()).ok())
            .unwrap_or(serde_json::Value::Null);
        let connection = self
            .server
            .client_of(&socket)
            .and_then(|c| self.clients.get(&c).cloned())
            .unwrap_or_else(|| {
                Arc::new(Mutex::new(ConnectionInfo {
                    sid: String::new(),
                    protocol: Protocol::V4,
                    transport: sockeye_engineio::server::Transport::Polling,
                    upgraded: false,
                }))
            });
        let shared = Arc::new(SocketShared {
            handlers: Mutex::new(SocketHandlers::default()),
            auth,
            connection,
        });
        self.sockets.insert(socket.clone(), shared.clone());
        tracing::debug!(socket = %socket, namespace = %namespace, "socket connected");
        let handle = Socket {
            io: self.io.clone(),
            id: socket.clone(),
            namespace,
            shared,
        };
        let span = handle.span();
        span.in_scope(|| (entry.on_connect)(handle));
        if accept {
            let _ = self.server.accept(now, &socket);
        }
    }

    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.server.poll_transmit() {
                progressed = true;
                match t {
                    Transmit::Send {
                        client,
                        data,
                        volatile,
                        ..
                    } => {
                        let Some(session) = self.sessions.get(&client) else {
                            continue;
                        };
                        match session.try_send(data) {
                            Ok(()) | Err(TrySendError::Closed) => {}
                            // A backed-up client: volatile messages are dropped; anything
                            // else would be lost, so the connection is closed instead.
                            Err(TrySendError::Full) if volatile => {}
                            Err(TrySendError::Full) => session.close(),
                        }
                    }
                    Transmit::Close { client } => {
                        if let Some(session) = self.sessions.get(&client) {
                            session.close();
                        }
                    }
                }
            }
            if let Some(event) = self.server.poll_event() {
                progressed = true;
                self.event(event);
            }
            if !progressed {
                return;
            }
        }
    }

    fn event(&mut self, event: Event) {
        let now = Instant::now();
        match event {
            Event::Connecting {
                socket,
                namespace,
                auth,
                ..
            } => {
                let entry = self
                    .io
                    .inner
                    .namespaces
                    .lock()
                    .ok()
                    .and_then(|n| n.find(namespace.as_str()));
                match entry {
                    Some(entry) if !entry.middleware.is_empty() => {
                        let request = ConnectRequest {
                            namespace: namespace.to_string(),
                            auth: auth
                                .and_then(|a| serde_json::from_slice(a.as_bytes()).ok())
                                .unwrap_or(serde_json::Value::Null),
                        };
                        let io = self.io.clone();
                        tokio::spawn(async move {
                            let mut result = Ok(());
                            for m in &entry.middleware {
                                result = m(request.clone()).await;
                                if result.is_err() {
                                    break;
                                }
                            }
                            io.command(Command::Decision {
                                socket,
                                namespace,
                                result,
                            });
                        });
                    }
                    _ => self.connect_socket(now, socket, namespace, true),
                }
            }
            Event::Connected {
                socket,
                namespace,
                recovered,
            } => {
                if recovered && !self.sockets.contains_key(&socket) {
                    self.connect_socket(now, socket, namespace, false);
                }
            }
            Event::Event { socket, packet } => {
                let Some(shared) = self.sockets.get(&socket).cloned() else {
                    return;
                };
                let name = packet
                    .event
                    .as_ref()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                let (handler, middleware) = shared
                    .handlers
                    .lock()
                    .map(|h| {
                        let handler = h.events.get(&name).cloned().or_else(|| h.any.clone());
                        (handler, h.middleware.clone())
                    })
                    .unwrap_or_default();
                let Some(handler) = handler else { return };
                let namespace = packet.namespace.clone();
                let ack = packet.id.map(|id| AckSender {
                    io: self.io.clone(),
                    socket: socket.clone(),
                    namespace: namespace.clone(),
                    id,
                });
                let handle = Socket {
                    io: self.io.clone(),
                    id: socket,
                    namespace,
                    shared,
                };
                let message = Message { packet, ack };
                for m in &middleware {
                    if let Err(reason) = m(&handle, &message) {
                        tracing::debug!(socket = %handle.id, event = %name, %reason, "event refused by middleware");
                        return;
                    }
                }
                let span = handle.span();
                tokio::spawn(tracing::Instrument::instrument(
                    handler(handle, message),
                    span,
                ));
            }
            Event::Ack { socket, id, packet } => {
                if let Some(reply) = self.acks.remove(&(socket, id)) {
                    let _ = reply.send(Ok(Message { packet, ack: None }));
                }
            }
            Event::AckTimeout { socket, id } => {
                if let Some(reply) = self.acks.remove(&(socket, id)) {
                    let _ = reply.send(Err(EmitError::Timeout));
                }
            }
            Event::BroadcastAck {
                id,
                responses,
                expected,
                timed_out,
            } => {
                if let Some(reply) = self.broadcast_acks.remove(&id) {
                    let responses = responses
                        .into_iter()
                        .map(|(s, packet)| (s.to_string(), Message { packet, ack: None }))
                        .collect();
                    let _ = reply.send(BroadcastAck {
                        responses,
                        expected,
                        timed_out,
                    });
                }
            }
            Event::Disconnected {
                socket,
                namespace,
                reason,
                ..
            } => {
                tracing::debug!(socket = %socket, namespace = %namespace, %reason, "socket disconnected");
                self.acks.retain(|(s, _), _| *s != socket);
                let Some(shared) = self.sockets.remove(&socket) else {
                    return;
                };
                let handlers = shared
                    .handlers
                    .lock()
                    .map(|h| h.disconnect.clone())
                    .unwrap_or_default();
                let handle = Socket {
                    io: self.io.clone(),
                    id: socket,
                    namespace,
                    shared,
                };
                let span = handle.span();
                for h in handlers {
                    tokio::spawn(tracing::Instrument::instrument(
                        h(handle.clone(), reason),
                        span.clone(),
                    ));
                }
            }
        }
    }
}
