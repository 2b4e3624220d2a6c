//! The Socket.IO client on tokio: the [`sockeye_socketio::client`] engine over the
//! [`sockeye_engineio::client`] session, driven by one task. Polling requests go over
//! hyper, WebSockets through [`crate::ws`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use sockeye_engineio::client::{
    Client as EngineClient, ClientConfig as EngineConfig, ClientEvent as EngineEvent,
    ClientTransmit as EngineTransmit,
};
use sockeye_engineio::server::RequestMethod;
use sockeye_engineio::{ConfigError, Data, Protocol, RequestId, SocketId, Str, Transports};
use sockeye_socketio::Packet;
use sockeye_socketio::client::{
    Client as SioClient, ClientConfig as SioConfig, ClientDisconnectReason, ClientEvent,
    ClientTransmit, Reconnection,
};
use sockeye_socketio::server::ProtocolVersion;
use sockeye_ws::Message as WsMessage;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::polling::{Pool, RequestError};
use crate::socketio::{EmitError, OsRandom};
use crate::ws::{MaybeTlsStream, WebSocketStream};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
type EventHandler = Arc<dyn Fn(ClientSocket, ClientMessage) -> BoxFuture + Send + Sync>;
type ConnectHandler = Arc<dyn Fn(ClientSocket, bool) -> BoxFuture + Send + Sync>;
type DisconnectHandler =
    Arc<dyn Fn(ClientSocket, ClientDisconnectReason) -> BoxFuture + Send + Sync>;
type ReconnectHandler = Arc<dyn Fn(Option<u32>) -> BoxFuture + Send + Sync>;
type ErrorHandler = Arc<dyn Fn(ClientSocket, serde_json::Value) -> BoxFuture + Send + Sync>;
type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Options for [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    url: String,
    path: String,
    transports: Transports,
    protocol: ProtocolVersion,
    reconnection: Option<Reconnection>,
    ack_timeout: Duration,
    namespaces: Vec<(String, Option<serde_json::Value>)>,
    #[cfg(feature = "rustls")]
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
}

impl ClientBuilder {
    /// A client for the server at `url` (`http://host[:port]`, or `https://` with the
    /// `rustls` feature).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into().trim_end_matches('/').to_owned(),
            path: "/socket.io/".into(),
            transports: Transports::default(),
            protocol: ProtocolVersion::V5,
            reconnection: Some(Reconnection::default()),
            ack_timeout: Duration::from_secs(5),
            namespaces: Vec::new(),
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }

    /// The TLS configuration for `https://` URLs (polling and WebSocket); by default
    /// [`default_client_tls`](crate::ws::default_client_tls) (Mozilla roots).
    #[cfg(feature = "rustls")]
    pub fn tls(mut self, config: Arc<tokio_rustls::rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// The Engine.IO path; default `/socket.io/`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut p: String = path.into();
        if !p.ends_with('/') {
            p.push('/');
        }
        self.path = p;
        self
    }

    /// The transports: polling then upgrade (default), or either alone.
    pub fn transports(mut self, transports: Transports) -> Self {
        self.transports = transports;
        self
    }

    /// Speak protocol v4 over Engine.IO v3, to reach socket.io 2.x servers.
    pub fn protocol(mut self, protocol: ProtocolVersion) -> Self {
        self.protocol = protocol;
        self
    }

    /// Reconnection policy (`None` to stay disconnected).
    pub fn reconnection(mut self, policy: Option<Reconnection>) -> Self {
        self.reconnection = policy;
        self
    }

    /// Default timeout of `emit_with_ack`.
    pub fn ack_timeout(mut self, d: Duration) -> Self {
        self.ack_timeout = d;
        self
    }

    /// Joins `namespace` (with an auth object) once connected; `/` is joined when no
    /// namespace is given.
    pub fn namespace(
        mut self,
        namespace: impl Into<String>,
        auth: Option<serde_json::Value>,
    ) -> Self {
        self.namespaces.push((namespace.into(), auth));
        self
    }

    /// Starts the client (inside a tokio runtime). Register handlers on
    /// [`Client::socket`] right away: events are delivered once the first connection opens.
    ///
    /// # Panics
    ///
    /// The options are invalid (see [`try_connect`](Self::try_connect)).
    pub fn connect(self) -> Client {
        self.try_connect()
            .unwrap_or_else(|e| panic!("invalid Socket.IO client options: {e}"))
    }

    /// Starts the client as [`connect`](Self::connect) does, refusing invalid options.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NoTransport`] when [`transports`](Self::transports) enables neither
    /// polling nor WebSocket.
    pub fn try_connect(mut self) -> Result<Client, ConfigError> {
        let engine = EngineConfig::builder()
            .protocol(match self.protocol {
                ProtocolVersion::V4 => Protocol::V3,
                ProtocolVersion::V5 => Protocol::V4,
            })
            .transports(self.transports)
            .build()?;
        if self.namespaces.is_empty() {
            self.namespaces.push(("/".into(), None));
        }
        let (commands, rx) = mpsc::unbounded_channel();
        let client = Client {
            commands,
            handlers: Arc::new(Mutex::new(HashMap::new())),
            reconnect: Arc::new(Mutex::new(Vec::new())),
        };
        let sio_config = SioConfig {
            protocol: self.protocol,
            reconnection: self.reconnection,
            ack_timeout: self.ack_timeout,
            ..SioConfig::default()
        };
        let mut sio = SioClient::new(sio_config, OsRandom);
        for (ns, auth) in &self.namespaces {
            sio.connect(
                Str::from(ns.clone()),
                auth.as_ref().map(|a| Str::from(a.to_string())),
            );
        }
        #[cfg(feature = "rustls")]
        let pool = Pool::new(
            self.tls
                .clone()
                .unwrap_or_else(crate::ws::default_client_tls),
        );
        #[cfg(not(feature = "rustls"))]
        let pool = Pool::new();
        let driver = Driver {
            pool,
            builder: self,
            engine,
            client: client.clone(),
            sio,
            eio: None,
            acks: HashMap::new(),
            requests: HashMap::new(),
            sinks: HashMap::new(),
        };
        tokio::spawn(driver.run(rx));
        Ok(client)
    }
}

#[derive(Default)]
struct NsHandlers {
    events: HashMap<String, EventHandler>,
    any: Option<EventHandler>,
    connect: Vec<ConnectHandler>,
    disconnect: Vec<DisconnectHandler>,
    connect_error: Vec<ErrorHandler>,
}

enum Command {
    Emit {
        ns: String,
        packet: Packet,
        volatile: bool,
    },
    EmitWithAck {
        ns: String,
        packet: Packet,
        timeout: Option<Duration>,
        reply: oneshot::Sender<Result<ClientMessage, EmitError>>,
    },
    Ack {
        ns: String,
        packet: Packet,
    },
    Connect {
        ns: String,
        auth: Option<serde_json::Value>,
    },
    Disconnect {
        ns: String,
    },
    Close,
}

/// A Socket.IO client: several namespaces over one Engine.IO connection; cheap to clone.
#[derive(Clone)]
pub struct Client {
    commands: mpsc::UnboundedSender<Command>,
    handlers: Arc<Mutex<HashMap<String, NsHandlers>>>,
    reconnect: Arc<Mutex<Vec<ReconnectHandler>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// Options for a client of the server at `url`.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    /// The socket of `namespace` (joined if it was given to the builder, or with
    /// [`ClientSocket::connect`]).
    pub fn socket(&self, namespace: &str) -> ClientSocket {
        ClientSocket {
            client: self.clone(),
            namespace: namespace.to_owned(),
        }
    }

    /// Leaves every namespace and closes the connection; no reconnection follows.
    pub fn close(&self) {
        let _ = self.commands.send(Command::Close);
    }

    /// Runs at each reconnection attempt with its number (from 1), and with `None` when the
    /// attempts ran out (socket.io-client's `reconnect_attempt` and `reconnect_failed`).
    pub fn on_reconnect_attempt<H, F>(&self, handler: H)
    where
        H: Fn(Option<u32>) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let h: ReconnectHandler = Arc::new(move |a| Box::pin(handler(a)));
        if let Ok(mut v) = self.reconnect.lock() {
            v.push(h);
        }
    }

    fn with_handlers(&self, ns: &str, f: impl FnOnce(&mut NsHandlers)) {
        if let Ok(mut map) = self.handlers.lock() {
            f(map.entry(ns.to_owned()).or_default());
        }
    }
}

/// One namespace of a [`Client`].
#[derive(Clone, Debug)]
pub struct ClientSocket {
    client: Client,
    namespace: String,
}

impl ClientSocket {
    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Handles event `event` (the handler runs as its own task).
    pub fn on<H, F>(&self, event: &str, handler: H)
    where
        H: Fn(ClientSocket, ClientMessage) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let h: EventHandler = Arc::new(move |s, m| Box::pin(handler(s, m)));
        self.client.with_handlers(&self.namespace, |n| {
            n.events.insert(event.to_owned(), h);
        });
    }

    /// Handles every event without its own handler.
    pub fn on_any<H, F>(&self, handler: H)
    where
        H: Fn(ClientSocket, ClientMessage) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let h: EventHandler = Arc::new(move |s, m| Box::pin(handler(s, m)));
        self.client
            .with_handlers(&self.namespace, |n| n.any = Some(h));
    }

    /// Runs on every (re)connection of this namespace; the flag says whether the server
    /// recovered the session.
    pub fn on_connect<H, F>(&self, handler: H)
    where
        H: Fn(ClientSocket, bool) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let h: ConnectHandler = Arc::new(move |s, r| Box::pin(handler(s, r)));
        self.client
            .with_handlers(&self.namespace, |n| n.connect.push(h));
    }

    /// Runs when this namespace disconnects, with socket.io-client's reason.
    pub fn on_disconnect<H, F>(&self, handler: H)
    where
        H: Fn(ClientSocket, ClientDisconnectReason) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let h: DisconnectHandler = Arc::new(move |s, r| Box::pin(handler(s, r)));
        self.client
            .with_handlers(&self.namespace, |n| n.disconnect.push(h));
    }

    /// Runs when the server refuses this namespace (the payload as JSON).
    pub fn on_connect_error<H, F>(&self, handler: H)
    where
        H: Fn(ClientSocket, serde_json::Value) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let h: ErrorHandler = Arc::new(move |s, e| Box::pin(handler(s, e)));
        self.client
            .with_handlers(&self.namespace, |n| n.connect_error.push(h));
    }

    /// Joins this namespace (with auth).
    pub fn connect(&self, auth: Option<serde_json::Value>) {
        let _ = self.client.commands.send(Command::Connect {
            ns: self.namespace.clone(),
            auth,
        });
    }

    /// Leaves this namespace.
    pub fn disconnect(&self) {
        let _ = self.client.commands.send(Command::Disconnect {
            ns: self.namespace.clone(),
        });
    }

    /// Emits `event` with `args` (a sequence); buffered until connected.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let packet = build(&self.namespace, event, args)?;
        let _ = self.client.commands.send(Command::Emit {
            ns: self.namespace.clone(),
            packet,
            volatile: false,
        });
        Ok(())
    }

    /// Emits and waits for the server's ack (at most `timeout`, default from the builder).
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        timeout: Option<Duration>,
    ) -> Result<ClientMessage, EmitError> {
        let packet = build(&self.namespace, event, args)?;
        let (reply, rx) = oneshot::channel();
        let _ = self.client.commands.send(Command::EmitWithAck {
            ns: self.namespace.clone(),
            packet,
            timeout,
            reply,
        });
        rx.await.map_err(|_| EmitError::Closed)?
    }
}

fn build<T: Serialize + ?Sized>(ns: &str, event: &str, args: &T) -> Result<Packet, EmitError> {
    if sockeye_socketio::RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::Invalid(format!("reserved event name {event:?}")));
    }
    Packet::event(Str::from(ns.to_owned()), event, args)
        .map_err(|e| EmitError::Invalid(e.to_string()))
}

/// An event (or ack) from the server.
#[derive(Debug, Clone)]
pub struct ClientMessage {
    packet: Packet,
    ack: Option<(Client, String, u64)>,
}

impl ClientMessage {
    /// The event name (empty for acks).
    pub fn event(&self) -> String {
        self.packet
            .event
            .as_ref()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    /// The arguments as a sequence type.
    pub fn args<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.packet.args()
    }

    /// The packet as received.
    pub fn packet(&self) -> &Packet {
        &self.packet
    }

    /// Answers the server (no-op when it asked for no ack).
    pub fn ack<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        let Some((client, ns, id)) = &self.ack else {
            return Ok(());
        };
        let packet = Packet::ack(Str::from(ns.clone()), *id, args)
            .map_err(|e| EmitError::Invalid(e.to_string()))?;
        let _ = client.commands.send(Command::Ack {
            ns: ns.clone(),
            packet,
        });
        Ok(())
    }
}

/// What finished among the driver's I/O.
enum Done {
    Response {
        id: RequestId,
        result: Result<(http::StatusCode, bool, Bytes), RequestError>,
    },
    Socket {
        id: SocketId,
        result: Result<Box<Ws>, ()>,
    },
}

enum WsInput {
    Frame(SocketId, Data),
    Closed(SocketId),
}

struct Driver {
    builder: ClientBuilder,
    pool: Pool,
    /// The Engine.IO options, checked by `try_connect`.
    engine: EngineConfig,
    client: Client,
    sio: SioClient,
    eio: Option<EngineClient>,
    acks: HashMap<(String, u64), oneshot::Sender<Result<ClientMessage, EmitError>>>,
    requests: HashMap<RequestId, tokio::task::AbortHandle>,
    sinks: HashMap<SocketId, SplitSink<Ws, WsMessage>>,
}

impl Driver {
    fn ws_options(&self) -> crate::ws::ClientOptions {
        crate::ws::ClientOptions {
            #[cfg(feature = "rustls")]
            tls: self.builder.tls.clone(),
            ..crate::ws::ClientOptions::default()
        }
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let (done_tx, mut done) = mpsc::unbounded_channel::<Done>();
        let (ws_tx, mut ws_rx) = mpsc::channel::<WsInput>(256);
        self.eio = Some(EngineClient::new(self.engine.clone(), Instant::now()));
        let mut closing = false;
        loop {
            self.drain(&done_tx, &ws_tx).await;
            if closing && self.eio.is_none() {
                break;
            }
            let deadline = [
                self.eio.as_ref().and_then(EngineClient::poll_timeout),
                self.sio.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(d) = done.recv() => self.done(d, &ws_tx),
                Some(w) = ws_rx.recv() => {
                    let now = Instant::now();
                    if let Some(eio) = &mut self.eio {
                        match w {
                            WsInput::Frame(id, data) => eio.handle_socket_frame(now, id, data),
                            WsInput::Closed(id) => {
                                self.sinks.remove(&id);
                                eio.handle_socket_closed(now, id);
                            }
                        }
                    }
                }
                command = commands.recv() => match command {
                    Some(c) => {
                        if matches!(c, Command::Close) {
                            closing = true;
                        }
                        self.command(c);
                    }
                    None => {
                        closing = true;
                        self.sio.close();
                    }
                },
                () = sleep => {
                    let now = Instant::now();
                    if let Some(eio) = &mut self.eio {
                        eio.handle_timeout(now);
                    }
                    self.sio.handle_timeout(now);
                }
            }
        }
        for (_, mut sink) in self.sinks.drain() {
            let _ = sink.close().await;
        }
    }

    fn command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Emit {
                ns,
                packet,
                volatile,
            } => {
                let _ = self.sio.emit_packet(&ns, packet, volatile);
            }
            Command::EmitWithAck {
                ns,
                packet,
                timeout,
                reply,
            } => match self.sio.emit_packet_with_ack(now, &ns, packet, timeout) {
                Ok(id) => {
                    self.acks.insert((ns, id), reply);
                }
                Err(_) => {
                    let _ = reply.send(Err(EmitError::Closed));
                }
            },
            Command::Ack { ns, packet } => {
                let _ = self.sio.ack_packet(&ns, packet);
            }
            Command::Connect { ns, auth } => self
                .sio
                .connect(Str::from(ns), auth.map(|a| Str::from(a.to_string()))),
            Command::Disconnect { ns } => {
                let _ = self.sio.disconnect(&ns);
            }
            Command::Close => self.sio.close(),
        }
    }

    fn done(&mut self, d: Done, ws_tx: &mpsc::Sender<WsInput>) {
        let now = Instant::now();
        let Some(eio) = &mut self.eio else { return };
        match d {
            Done::Response { id, result } => {
                self.requests.remove(&id);
                match result {
                    Ok((status, binary, body)) => {
                        eio.handle_response(now, id, status, binary, body)
                    }
                    Err(e) => {
                        tracing::debug!(error = ?e, "polling request failed");
                        eio.handle_request_failed(now, id);
                    }
                }
            }
            Done::Socket { id, result } => match result {
                Ok(ws) => {
                    let (sink, mut stream) = (*ws).split();
                    self.sinks.insert(id, sink);
                    eio.handle_socket_open(now, id);
                    let tx = ws_tx.clone();
                    tokio::spawn(async move {
                        while let Some(Ok(message)) = stream.next().await {
                            let data = match message {
                                WsMessage::Text(t) => match Str::from_utf8(t.into_bytes()) {
                                    Ok(s) => Data::Text(s),
                                    Err(_) => break,
                                },
                                WsMessage::Binary(b) => Data::Binary(b),
                            };
                            if tx.send(WsInput::Frame(id, data)).await.is_err() {
                                return;
                            }
                        }
                        let _ = tx.send(WsInput::Closed(id)).await;
                    });
                }
                Err(()) => eio.handle_socket_closed(now, id),
            },
        }
    }

    fn url(&self, query: &str, ws: bool) -> String {
        let base = if ws {
            self.builder
                .url
                .replacen("http://", "ws://", 1)
                .replacen("https://", "wss://", 1)
        } else {
            self.builder.url.clone()
        };
        format!("{base}{}?{query}", self.builder.path)
    }

    async fn drain(
        &mut self,
        done_tx: &mpsc::UnboundedSender<Done>,
        ws_tx: &mpsc::Sender<WsInput>,
    ) {
        loop {
            let mut progressed = false;
            // Engine.IO transmits: requests and sockets start as tasks; frames go out now.
            while let Some(t) = self.eio.as_mut().and_then(EngineClient::poll_transmit) {
                progressed = true;
                match t {
                    EngineTransmit::Request {
                        id,
                        method,
                        query,
                        body,
                    } => {
                        let url = self.url(&query, false);
                        let tx = done_tx.clone();
                        let limit = self.engine.max_payload();
                        let pool = self.pool.clone();
                        let method = match method {
                            RequestMethod::Post => http::Method::POST,
                            _ => http::Method::GET,
                        };
                        let task = tokio::spawn(async move {
                            let result = pool.request(&url, method, body, limit).await;
                            let _ = tx.send(Done::Response { id, result });
                        });
                        self.requests.insert(id, task.abort_handle());
                    }
                    EngineTransmit::OpenSocket { id, query } => {
                        let url = self.url(&query, true);
                        let tx = done_tx.clone();
                        let options = self.ws_options();
                        tokio::spawn(async move {
                            let result = async {
                                let request = sockeye_ws::handshake::ClientRequest::new(&url)?;
                                crate::ws::connect_with(request, &options).await
                            }
                            .await
                            .map(|(ws, _)| Box::new(ws))
                            .map_err(|_| ());
                            let _ = tx.send(Done::Socket { id, result });
                        });
                    }
                    EngineTransmit::Frame { socket, frame } => {
                        let message = match frame {
                            Data::Text(t) => {
                                match sockeye_ws::Utf8Bytes::try_from_bytes(t.into_bytes()) {
                                    Ok(t) => WsMessage::Text(t),
                                    Err(_) => continue,
                                }
                            }
                            Data::Binary(b) => WsMessage::Binary(b),
                        };
                        if let Some(sink) = self.sinks.get_mut(&socket)
                            && sink.send(message).await.is_err()
                        {
                            self.sinks.remove(&socket);
                            let _ = ws_tx.send(WsInput::Closed(socket)).await;
                        }
                    }
                    EngineTransmit::CloseSocket { socket } => {
                        if let Some(mut sink) = self.sinks.remove(&socket) {
                            tokio::spawn(async move {
                                let _ = sink.close().await;
                            });
                        }
                    }
                    EngineTransmit::Cancel { request } => {
                        if let Some(task) = self.requests.remove(&request) {
                            task.abort();
                        }
                    }
                }
            }
            // Engine.IO events feed the Socket.IO engine.
            while let Some(e) = self.eio.as_mut().and_then(EngineClient::poll_event) {
                progressed = true;
                let now = Instant::now();
                match e {
                    EngineEvent::Open(_) => self.sio.handle_open(now),
                    EngineEvent::Message(data) => self.sio.handle_message(now, data),
                    EngineEvent::Upgraded => {}
                    EngineEvent::Closed(reason) => {
                        self.eio = None;
                        for (_, task) in self.requests.drain() {
                            task.abort();
                        }
                        self.sinks.clear();
                        self.pool.clear();
                        self.sio.handle_close(now, reason);
                    }
                }
            }
            // Socket.IO transmits go through the Engine.IO session.
            while let Some(t) = self.sio.poll_transmit() {
                progressed = true;
                let now = Instant::now();
                match t {
                    ClientTransmit::Send(data) => {
                        if let Some(eio) = &mut self.eio {
                            let _ = eio.send(data);
                        }
                    }
                    ClientTransmit::Open => {
                        self.eio = Some(EngineClient::new(self.engine.clone(), now));
                    }
                    ClientTransmit::Close => {
                        if let Some(eio) = &mut self.eio {
                            eio.close(now);
                        }
                    }
                }
            }
            if let Some(event) = self.sio.poll_event() {
                progressed = true;
                self.event(event);
            }
            if !progressed {
                return;
            }
        }
    }

    fn event(&mut self, event: ClientEvent) {
        let handlers = |ns: &str| {
            let map = self.client.handlers.lock().ok()?;
            let h = map.get(ns)?;
            Some((
                h.events.clone(),
                h.any.clone(),
                h.connect.clone(),
                h.disconnect.clone(),
                h.connect_error.clone(),
            ))
        };
        match event {
            ClientEvent::Connected {
                namespace,
                recovered,
                ..
            } => {
                let socket = self.client.socket(namespace.as_str());
                if let Some((_, _, connect, _, _)) = handlers(namespace.as_str()) {
                    for h in connect {
                        tokio::spawn(h(socket.clone(), recovered));
                    }
                }
            }
            ClientEvent::ConnectError { namespace, payload } => {
                let socket = self.client.socket(namespace.as_str());
                let value = payload
                    .and_then(|p| serde_json::from_slice(p.as_bytes()).ok())
                    .unwrap_or(serde_json::Value::Null);
                if let Some((_, _, _, _, errors)) = handlers(namespace.as_str()) {
                    for h in errors {
                        tokio::spawn(h(socket.clone(), value.clone()));
                    }
                }
            }
            ClientEvent::Event { namespace, packet } => {
                let Some((events, any, ..)) = handlers(namespace.as_str()) else {
                    return;
                };
                let name = packet
                    .event
                    .as_ref()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                let Some(handler) = events.get(&name).cloned().or(any) else {
                    return;
                };
                let ack = packet
                    .id
                    .map(|id| (self.client.clone(), namespace.to_string(), id));
                let socket = self.client.socket(namespace.as_str());
                tokio::spawn(handler(socket, ClientMessage { packet, ack }));
            }
            ClientEvent::Ack {
                namespace,
                id,
                packet,
            } => {
                if let Some(reply) = self.acks.remove(&(namespace.to_string(), id)) {
                    let _ = reply.send(Ok(ClientMessage { packet, ack: None }));
                }
            }
            ClientEvent::AckTimeout { namespace, id } => {
                if let Some(reply) = self.acks.remove(&(namespace.to_string(), id)) {
                    let _ = reply.send(Err(EmitError::Timeout));
                }
            }
            ClientEvent::Disconnected { namespace, reason } => {
                let socket = self.client.socket(namespace.as_str());
                if let Some((_, _, _, disconnect, _)) = handlers(namespace.as_str()) {
                    for h in disconnect {
                        tokio::spawn(h(socket.clone(), reason));
                    }
                }
            }
            ClientEvent::ReconnectAttempt { attempt } => {
                let handlers = self
                    .client
                    .reconnect
                    .lock()
                    .map(|h| h.clone())
                    .unwrap_or_default();
                for h in handlers {
                    tokio::spawn(h(Some(attempt)));
                }
            }
            ClientEvent::ReconnectFailed => {
                let handlers = self
                    .client
                    .reconnect
                    .lock()
                    .map(|h| h.clone())
                    .unwrap_or_default();
                for h in handlers {
                    tokio::spawn(h(None));
                }
            }
        }
    }
}
