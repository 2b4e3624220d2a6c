//! An Engine.IO server over hyper: one task per session drives a
//! [`sockeye_engineio::server::Session`]; every protocol decision is the session's.
//!
//! [`EngineIo::handle`] serves any request to the Engine.IO path (polling GET and POST,
//! WebSocket upgrades). Opened sessions, their messages and their ends are reported as
//! [`EngineEvent`]s on the receiver given by [`EngineIo::new`]; what to send goes through the
//! [`SessionHandle`] each `Open` event carries.

use std::collections::HashMap;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use sockeye_engineio::server::{
    Attach, ErrorCode, Event, RequestHead, RequestMethod, Route, Server, Session, Sid, SocketId,
    Transmit, Transport,
};
use sockeye_engineio::{CloseReason, Data, Protocol, RequestId, ServerConfig, Str};
use sockeye_ws::Message;
use sockeye_ws::handshake::Accept;
use tokio::sync::{mpsc, oneshot};

use crate::ws::{self, ServerOptions, Upgraded, WebSocketStream};

/// How many messages may wait for one session before it counts as backed up.
const SESSION_QUEUE: usize = 1024;

/// Names one Engine.IO session in [`EngineEvent`]s.
pub type ConnectionId = u64;

/// What happened to Engine.IO sessions.
#[derive(Debug)]
pub enum EngineEvent {
    /// A session opened.
    Open {
        /// Its id in later events.
        id: ConnectionId,
        /// Its Engine.IO session id.
        sid: Sid,
        /// Its protocol revision.
        protocol: Protocol,
        /// The transport it opened with.
        transport: Transport,
        /// Where to send it messages.
        handle: SessionHandle,
    },
    /// A message from the client.
    Message {
        /// The session.
        id: ConnectionId,
        /// The message.
        data: Data,
    },
    /// The session upgraded to WebSocket.
    Upgraded {
        /// The session.
        id: ConnectionId,
    },
    /// The session ended.
    Closed {
        /// The session.
        id: ConnectionId,
        /// Why.
        reason: CloseReason,
    },
}

#[derive(Debug)]
enum Out {
    Send(Data),
    Close,
}

/// Sends messages to one session without waiting.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    tx: mpsc::Sender<Out>,
}

/// [`SessionHandle::try_send`] could not queue the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TrySendError {
    /// The session's queue is full: the client is not keeping up.
    #[error("the session is backed up")]
    Full,
    /// The session has ended.
    #[error("the session is closed")]
    Closed,
}

impl SessionHandle {
    /// Queues a message for the client.
    pub fn try_send(&self, data: Data) -> Result<(), TrySendError> {
        self.tx.try_send(Out::Send(data)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => TrySendError::Full,
            mpsc::error::TrySendError::Closed(_) => TrySendError::Closed,
        })
    }

    /// Closes the session from the server.
    pub fn close(&self) {
        // A full queue is flushed before the close is seen; a closed one needs nothing.
        let tx = self.tx.clone();
        if tx.try_send(Out::Close).is_err() {
            tokio::spawn(async move {
                let _ = tx.send(Out::Close).await;
            });
        }
    }
}

enum Input {
    Poll(oneshot::Sender<http::Response<Bytes>>),
    Post {
        binary: bool,
        body: Bytes,
        respond: oneshot::Sender<http::Response<Bytes>>,
    },
    WebSocket(Box<WebSocketStream<Upgraded>>),
    Frame(SocketId, Data),
    SocketClosed(SocketId),
}

struct Shared {
    server: Server,
    ws_options: ServerOptions,
    sessions: Mutex<HashMap<String, mpsc::Sender<Input>>>,
    next_id: AtomicU64,
    events: mpsc::UnboundedSender<EngineEvent>,
}

/// The Engine.IO server; cheap to clone.
#[derive(Clone)]
pub struct EngineIo {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for EngineIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineIo")
            .field("config", self.shared.server.config())
            .finish_non_exhaustive()
    }
}

fn full(res: http::Response<Bytes>) -> http::Response<Full<Bytes>> {
    res.map(Full::new)
}

fn new_sid() -> Sid {
    let mut bytes = [0u8; 15];
    // The OS RNG failing is not recoverable; a fixed id would be worse than stopping.
    getrandom::fill(&mut bytes).expect("the OS random number generator failed");
    Sid::from_random(bytes)
}

impl EngineIo {
    /// A server with `config`, and the receiver of its [`EngineEvent`]s. WebSockets are
    /// not compressed, as with the reference's default `perMessageDeflate: false` (see
    /// [`EngineIo::with_deflate`]).
    pub fn new(config: ServerConfig) -> (Self, mpsc::UnboundedReceiver<EngineEvent>) {
        #[cfg(feature = "deflate")]
        return Self::with_deflate(config, None);
        #[cfg(not(feature = "deflate"))]
        Self::start(config, ServerOptions::default())
    }

    /// A server whose WebSockets agree to permessage-deflate with `deflate` when a client
    /// offers it (the reference's `perMessageDeflate` option; `None`: off, the default).
    /// Compression costs memory per connection (see
    /// [`DeflateConfig`](sockeye_ws::deflate::DeflateConfig)'s presets).
    #[cfg(feature = "deflate")]
    pub fn with_deflate(
        config: ServerConfig,
        deflate: Option<sockeye_ws::deflate::DeflateConfig>,
    ) -> (Self, mpsc::UnboundedReceiver<EngineEvent>) {
        let ws_options = ServerOptions {
            deflate,
            ..ServerOptions::default()
        };
        Self::start(config, ws_options)
    }

    fn start(
        config: ServerConfig,
        ws_options: ServerOptions,
    ) -> (Self, mpsc::UnboundedReceiver<EngineEvent>) {
        let (events, rx) = mpsc::unbounded_channel();
        // The WebSocket layer enforces the same message limit as the session.
        let ws_options = ServerOptions {
            config: sockeye_ws::Config::builder()
                .max_message_size(config.max_http_buffer_size())
                .max_frame_size(config.max_http_buffer_size())
                .build()
                // The one limit set here is never zero: `ServerConfig` refuses that.
                .expect("max_http_buffer_size is greater than zero"),
            ..ws_options
        };
        let shared = Shared {
            server: Server::new(config),
            ws_options,
            sessions: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            events,
        };
        (
            Self {
                shared: Arc::new(shared),
            },
            rx,
        )
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        self.shared.server.config()
    }

    /// Serves one request to the Engine.IO path.
    pub async fn handle<B>(&self, mut req: http::Request<B>) -> http::Response<Full<Bytes>>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let head = RequestHead::from_http(req.method(), req.uri(), req.headers());
        let binary = head.is_binary();
        let method = head.method();
        match self.shared.server.route(&head) {
            Route::Reject(res) => full(res),
            Route::Open(handshake) => match handshake.transport {
                Transport::Polling => {
                    let (session, attach) =
                        self.shared
                            .server
                            .open(Instant::now(), handshake, new_sid());
                    let (respond, answer) = oneshot::channel();
                    let Attach::Request(first) = attach else {
                        return full(ErrorCode::BadRequest.response());
                    };
                    self.spawn_session(session, Some((first, respond)), None);
                    match answer.await {
                        Ok(res) => full(res),
                        Err(_) => full(ErrorCode::BadRequest.response()),
                    }
                }
                Transport::WebSocket => {
                    let (res, pending) =
                        ws::upgrade(&mut req, &self.shared.ws_options, |_| Ok(Accept::new()));
                    if let Some(pending) = pending {
                        let this = self.clone();
                        tokio::spawn(async move {
                            let Ok(stream) = pending.await else { return };
                            let (session, attach) =
                                this.shared
                                    .server
                                    .open(Instant::now(), handshake, new_sid());
                            if let Attach::Socket(id) = attach {
                                this.spawn_session(session, None, Some((id, stream)));
                            }
                        });
                    }
                    res
                }
            },
            Route::Session { sid, transport } => {
                let tx = self
                    .shared
                    .sessions
                    .lock()
                    .ok()
                    .and_then(|s| s.get(sid.as_str()).cloned());
                let Some(tx) = tx else {
                    return full(ErrorCode::UnknownSid.response());
                };
                match transport {
                    Transport::WebSocket => {
                        let (res, pending) =
                            ws::upgrade(&mut req, &self.shared.ws_options, |_| Ok(Accept::new()));
                        if let Some(pending) = pending {
                            tokio::spawn(async move {
                                if let Ok(stream) = pending.await {
                                    let _ = tx.send(Input::WebSocket(Box::new(stream))).await;
                                }
                            });
                        }
                        res
                    }
                    Transport::Polling => {
                        let (respond, answer) = oneshot::channel();
                        let input = if method == RequestMethod::Post {
                            // Never buffer more than the limit: a longer body is answered 413
                            // (the session stays, as in the reference), a broken one 400.
                            let limit = self.config().max_http_buffer_size();
                            let body = match Limited::new(req.into_body(), limit).collect().await {
                                Ok(collected) => collected.to_bytes(),
                                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                                    let mut res = http::Response::new(Full::default());
                                    *res.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
                                    return res;
                                }
                                Err(_) => return full(ErrorCode::BadRequest.response()),
                            };
                            Input::Post {
                                binary,
                                body,
                                respond,
                            }
                        } else {
                            Input::Poll(respond)
                        };
                        if tx.send(input).await.is_err() {
                            return full(ErrorCode::UnknownSid.response());
                        }
                        match answer.await {
                            Ok(res) => full(res),
                            Err(_) => full(ErrorCode::UnknownSid.response()),
                        }
                    }
                }
            }
        }
    }

    fn spawn_session(
        &self,
        session: Session,
        first_request: Option<(RequestId, oneshot::Sender<http::Response<Bytes>>)>,
        first_socket: Option<(SocketId, WebSocketStream<Upgraded>)>,
    ) {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(SESSION_QUEUE);
        let (out_tx, out_rx) = mpsc::channel(SESSION_QUEUE);
        let sid = session.sid().clone();
        if let Ok(mut sessions) = self.shared.sessions.lock() {
            sessions.insert(sid.as_str().to_owned(), tx.clone());
        }
        let _ = self.shared.events.send(EngineEvent::Open {
            id,
            sid: sid.clone(),
            protocol: session.protocol(),
            transport: session.transport(),
            handle: SessionHandle { tx: out_tx },
        });
        let driver = Driver {
            id,
            session,
            inputs: tx,
            events: self.shared.events.clone(),
            pending: HashMap::new(),
            sockets: HashMap::new(),
        };
        let shared = self.shared.clone();
        // One span per session: its id and first transport; payloads are never logged.
        let span = tracing::debug_span!(
            "engineio",
            sid = %sid,
            transport = driver.session.transport().as_str(),
            eio = driver.session.protocol().as_str(),
        );
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                tracing::debug!("session opened");
                driver.run(rx, out_rx, first_request, first_socket).await;
                if let Ok(mut sessions) = shared.sessions.lock() {
                    sessions.remove(sid.as_str());
                }
            },
            span,
        ));
    }
}

type Sink = futures_util::stream::SplitSink<WebSocketStream<Upgraded>, Message>;

struct Driver {
    id: ConnectionId,
    session: Session,
    inputs: mpsc::Sender<Input>,
    events: mpsc::UnboundedSender<EngineEvent>,
    pending: HashMap<RequestId, oneshot::Sender<http::Response<Bytes>>>,
    sockets: HashMap<SocketId, Sink>,
}

impl Driver {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Input>,
        mut out: mpsc::Receiver<Out>,
        first_request: Option<(RequestId, oneshot::Sender<http::Response<Bytes>>)>,
        first_socket: Option<(SocketId, WebSocketStream<Upgraded>)>,
    ) {
        if let Some((id, respond)) = first_request {
            self.pending.insert(id, respond);
        }
        if let Some((id, stream)) = first_socket {
            self.attach(id, stream);
        }
        loop {
            if self.drain().await {
                break;
            }
            let deadline = self.session.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let aborted = poll_fn(|cx| {
                for (id, tx) in &mut self.pending {
                    if tx.poll_closed(cx).is_ready() {
                        return Poll::Ready(*id);
                    }
                }
                Poll::Pending
            });
            tokio::select! {
                input = rx.recv() => match input {
                    Some(input) => {
                        self.expire();
                        self.input(input);
                    }
                    None => break,
                },
                message = out.recv() => {
                    self.expire();
                    match message {
                        Some(Out::Send(data)) => {
                            let _ = self.session.send(data);
                        }
                        Some(Out::Close) | None => self.session.close(Instant::now()),
                    }
                }
                () = sleep => self.session.handle_timeout(Instant::now()),
                id = aborted => {
                    self.expire();
                    self.pending.remove(&id);
                    self.session.handle_request_aborted(Instant::now(), id);
                }
            }
        }
        for (_, mut sink) in self.sockets.drain() {
            let _ = sink.close().await;
        }
    }

    /// Time passes before anything else is handled: a request that arrives once the
    /// session's deadline has passed finds the timeout (a ping timeout, say) already taken,
    /// whichever of the two the runtime happened to wake first.
    fn expire(&mut self) {
        let now = Instant::now();
        if self.session.poll_timeout().is_some_and(|at| at <= now) {
            self.session.handle_timeout(now);
        }
    }

    fn attach(&mut self, id: SocketId, stream: WebSocketStream<Upgraded>) {
        let (sink, mut stream) = stream.split();
        self.sockets.insert(id, sink);
        let inputs = self.inputs.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let data = match message {
                    Message::Text(text) => match Str::from_utf8(text.into_bytes()) {
                        Ok(s) => Data::Text(s),
                        Err(_) => break,
                    },
                    Message::Binary(bytes) => Data::Binary(bytes),
                };
                if inputs.send(Input::Frame(id, data)).await.is_err() {
                    return;
                }
            }
            let _ = inputs.send(Input::SocketClosed(id)).await;
        });
    }

    fn input(&mut self, input: Input) {
        let now = Instant::now();
        match input {
            Input::Poll(respond) => {
                let id = self
                    .session
                    .handle_request(now, &RequestHead::new(RequestMethod::Get, "", false));
                self.pending.insert(id, respond);
            }
            Input::Post {
                binary,
                body,
                respond,
            } => {
                let mut head = RequestHead::new(RequestMethod::Post, "", false);
                if binary {
                    head = head.with_content_type(b"application/octet-stream");
                }
                let id = self.session.handle_request(now, &head);
                self.pending.insert(id, respond);
                self.session.handle_post_data(now, id, &body);
                self.session.handle_post_end(now, id);
            }
            Input::WebSocket(stream) => {
                let id = self.session.handle_websocket(now);
                self.attach(id, *stream);
            }
            Input::Frame(id, data) => self.session.handle_ws_frame(now, id, data),
            Input::SocketClosed(id) => {
                self.sockets.remove(&id);
                self.session.handle_ws_closed(now, id);
            }
        }
    }

    /// Drains transmits and events; true once the session is closed and drained.
    async fn drain(&mut self) -> bool {
        let mut closed = false;
        loop {
            let mut progressed = false;
            while let Some(t) = self.session.poll_transmit() {
                progressed = true;
                match t {
                    Transmit::Response { request, response } => {
                        if let Some(tx) = self.pending.remove(&request) {
                            let _ = tx.send(response);
                        }
                    }
                    Transmit::Frame { socket, frame } => {
                        let message = match frame {
                            Data::Text(text) => {
                                match sockeye_ws::Utf8Bytes::try_from_bytes(text.into_bytes()) {
                                    Ok(t) => Message::Text(t),
                                    Err(_) => continue,
                                }
                            }
                            Data::Binary(bytes) => Message::Binary(bytes),
                        };
                        if let Some(sink) = self.sockets.get_mut(&socket)
                            && sink.send(message).await.is_err()
                        {
                            self.sockets.remove(&socket);
                            self.session.handle_ws_closed(Instant::now(), socket);
                        }
                    }
                    Transmit::CloseSocket { socket } => {
                        if let Some(mut sink) = self.sockets.remove(&socket) {
                            tokio::spawn(async move {
                                let _ = sink.close().await;
                            });
                        }
                    }
                }
            }
            if let Some(event) = self.session.poll_event() {
                progressed = true;
                let event = match event {
                    Event::Message(data) => EngineEvent::Message { id: self.id, data },
                    Event::Upgraded => {
                        tracing::debug!("upgraded to websocket");
                        EngineEvent::Upgraded { id: self.id }
                    }
                    Event::Upgrading => continue,
                    Event::Closed(reason) => {
                        tracing::debug!(%reason, "session closed");
                        closed = true;
                        EngineEvent::Closed {
                            id: self.id,
                            reason,
                        }
                    }
                };
                let _ = self.events.send(event);
            }
            if !progressed {
                return closed;
            }
        }
    }
}
