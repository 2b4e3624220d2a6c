//! The client side: one Engine.IO session from the client's end, Sans-IO.
//!
//! The [`Client`] asks the adapter for HTTP requests and WebSockets
//! ([`ClientTransmit`]), and is told their outcomes (`handle_*`). It performs the handshake
//! over polling or WebSocket, keeps one poll outstanding, sends queued packets in POSTs no
//! larger than the server's `maxPayload`, upgrades to WebSocket (probe, pause, `5`), answers
//! v4 pings, sends v3 pings, and detects a dead server.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;

use crate::packet::{Data, Packet, PacketType};
use crate::payload::{self, PayloadFormat};
use crate::server::{CloseReason, RequestMethod, Transport};
use crate::{ConfigError, Protocol, RequestId, SocketId, Transports};

/// Client options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    protocol: Protocol,
    transports: Transports,
    upgrade: bool,
    b64: bool,
    max_payload: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            protocol: Protocol::V4,
            transports: Transports::default(),
            upgrade: true,
            b64: false,
            max_payload: 16 << 20,
        }
    }
}

impl ClientConfig {
    /// A builder starting from the defaults: v4, polling then upgrade to WebSocket, binary
    /// allowed, responses and frames up to 16 MiB.
    pub fn builder() -> ClientConfigBuilder {
        ClientConfigBuilder {
            config: Self::default(),
        }
    }

    /// The protocol revision.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The transports the client may use; with polling on it starts with polling.
    pub fn transports(&self) -> Transports {
        self.transports
    }

    /// Whether the client upgrades from polling to WebSocket when the server offers it.
    pub fn upgrade(&self) -> bool {
        self.upgrade
    }

    /// Whether a v3 client asks for base64 instead of binary payloads (`b64=1`).
    pub fn b64(&self) -> bool {
        self.b64
    }

    /// Largest response body or WebSocket message accepted from the server, in bytes.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }
}

/// Builds a [`ClientConfig`].
#[derive(Debug, Clone)]
pub struct ClientConfigBuilder {
    config: ClientConfig,
}

impl ClientConfigBuilder {
    /// See [`ClientConfig::protocol`].
    pub fn protocol(mut self, value: Protocol) -> Self {
        self.config.protocol = value;
        self
    }

    /// See [`ClientConfig::transports`].
    pub fn transports(mut self, value: Transports) -> Self {
        self.config.transports = value;
        self
    }

    /// See [`ClientConfig::upgrade`].
    pub fn upgrade(mut self, value: bool) -> Self {
        self.config.upgrade = value;
        self
    }

    /// See [`ClientConfig::b64`].
    pub fn b64(mut self, value: bool) -> Self {
        self.config.b64 = value;
        self
    }

    /// See [`ClientConfig::max_payload`].
    pub fn max_payload(mut self, value: usize) -> Self {
        self.config.max_payload = value;
        self
    }

    /// Validates and returns the configuration.
    pub fn build(self) -> Result<ClientConfig, ConfigError> {
        let c = self.config;
        if c.max_payload == 0 {
            return Err(ConfigError::ZeroLimit("max_payload"));
        }
        if !c.transports.polling && !c.transports.websocket {
            return Err(ConfigError::NoTransport);
        }
        Ok(c)
    }
}

/// What the server said in its open packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInfo {
    /// The session id.
    pub sid: String,
    /// Transports the client may upgrade to.
    pub upgrades: Vec<String>,
    /// The server's ping interval.
    pub ping_interval: Duration,
    /// The server's ping timeout.
    pub ping_timeout: Duration,
    /// The largest POST body the server accepts (`maxPayload`; absent from older servers).
    pub max_payload: Option<usize>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenJson {
    sid: String,
    #[serde(default)]
    upgrades: Vec<String>,
    ping_interval: u64,
    ping_timeout: u64,
    #[serde(default)]
    max_payload: Option<usize>,
}

/// Something the adapter must do for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientTransmit {
    /// Make an HTTP request to the Engine.IO path with this query string (append the
    /// application's own parameters and a cache buster as you like); answer with
    /// [`Client::handle_response`] or [`Client::handle_request_failed`].
    Request {
        /// The request's id.
        id: RequestId,
        /// GET (handshake, poll) or POST (packets).
        method: RequestMethod,
        /// The Engine.IO query parameters.
        query: String,
        /// The POST body and its `Content-Type`.
        body: Option<(Bytes, &'static str)>,
    },
    /// Open a WebSocket to the Engine.IO path with this query string; report with
    /// [`Client::handle_socket_open`] or [`Client::handle_socket_closed`].
    OpenSocket {
        /// The socket's id.
        id: SocketId,
        /// The Engine.IO query parameters.
        query: String,
    },
    /// Send a frame on a WebSocket.
    Frame {
        /// The socket.
        socket: SocketId,
        /// The frame's content.
        frame: Data,
    },
    /// Close a WebSocket and forget it.
    CloseSocket {
        /// The socket.
        socket: SocketId,
    },
    /// Give up on a request still in flight (the parked poll, when the session ends).
    Cancel {
        /// The request.
        request: RequestId,
    },
}

/// Something that happened to the client session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The handshake completed.
    Open(OpenInfo),
    /// A message from the server.
    Message(Data),
    /// The session now runs on a WebSocket upgraded from polling.
    Upgraded,
    /// The session ended; nothing follows.
    Closed(CloseReason),
}

/// [`Client::send`] on a closed session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the client session is closed")]
pub struct ClientClosed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Opening,
    Open,
    Closing,
    Closed,
}

#[derive(Debug)]
enum Active {
    Polling {
        get: Option<RequestId>,
        post: Option<RequestId>,
    },
    WebSocket(SocketId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UpgradeState {
    /// The WebSocket is being opened.
    Connecting,
    /// `2probe` sent, waiting for `3probe`.
    Probing,
    /// Probe answered; waiting for the poll and POST in flight to finish.
    Pausing,
}

#[derive(Debug)]
struct Upgrade {
    socket: SocketId,
    state: UpgradeState,
}

/// An Engine.IO client session, Sans-IO. After any input or command drain
/// [`poll_transmit`](Self::poll_transmit), then [`poll_event`](Self::poll_event), then read
/// [`poll_timeout`](Self::poll_timeout).
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    state: State,
    active: Active,
    upgrade: Option<Upgrade>,
    sid: Option<String>,
    ping_interval: Duration,
    ping_timeout: Duration,
    server_max_payload: usize,
    write_buffer: VecDeque<Packet>,
    transmits: VecDeque<ClientTransmit>,
    events: VecDeque<ClientEvent>,
    next_id: u64,
    /// v3: when the next ping goes out.
    next_ping: Option<Instant>,
    /// v4: the server's next ping is due by then; v3: the pong is due by then.
    heartbeat_deadline: Option<Instant>,
    /// A poll response whose packets are being delivered.
    pending_poll: Option<(Instant, payload::Packets)>,
}

impl Client {
    /// Starts a session: the first transmit is the handshake (a poll, or a WebSocket when
    /// polling is off).
    pub fn new(config: ClientConfig, _now: Instant) -> Self {
        let mut client = Self {
            state: State::Opening,
            active: Active::Polling {
                get: None,
                post: None,
            },
            upgrade: None,
            sid: None,
            ping_interval: Duration::ZERO,
            ping_timeout: Duration::ZERO,
            server_max_payload: usize::MAX,
            write_buffer: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 0,
            next_ping: None,
            heartbeat_deadline: None,
            pending_poll: None,
            config,
        };
        if client.config.transports.polling {
            let id = client.request(RequestMethod::Get, None);
            client.active = Active::Polling {
                get: Some(id),
                post: None,
            };
        } else {
            let id = SocketId(client.next_id());
            let query = client.query(Transport::WebSocket);
            client
                .transmits
                .push_back(ClientTransmit::OpenSocket { id, query });
            client.active = Active::WebSocket(id);
        }
        client
    }

    /// The session id, once open.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        match self.active {
            Active::Polling { .. } => Transport::Polling,
            Active::WebSocket(_) => Transport::WebSocket,
        }
    }

    /// Whether the session is closed.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn query(&self, transport: Transport) -> String {
        let mut q = format!(
            "EIO={}&transport={}",
            self.config.protocol.as_str(),
            transport.as_str()
        );
        if let Some(sid) = &self.sid {
            q.push_str("&sid=");
            q.extend(form_urlencoded::byte_serialize(sid.as_bytes()));
        }
        if self.config.protocol == Protocol::V3
            && self.config.b64
            && transport == Transport::Polling
        {
            q.push_str("&b64=1");
        }
        q
    }

    fn request(&mut self, method: RequestMethod, body: Option<(Bytes, &'static str)>) -> RequestId {
        let id = RequestId(self.next_id());
        let query = self.query(Transport::Polling);
        self.transmits.push_back(ClientTransmit::Request {
            id,
            method,
            query,
            body,
        });
        id
    }

    // ---- inputs -------------------------------------------------------------------------

    /// The answer to request `id`: its status, whether its `Content-Type` is
    /// `application/octet-stream`, and its body (at most
    /// [`max_payload`](ClientConfig::max_payload) bytes; the adapter stops reading beyond
    /// and reports [`handle_request_failed`](Self::handle_request_failed)).
    pub fn handle_response(
        &mut self,
        now: Instant,
        id: RequestId,
        status: StatusCode,
        binary: bool,
        body: Bytes,
    ) {
        self.settle();
        if self.state == State::Closed {
            return;
        }
        let Active::Polling { get, post } = &mut self.active else {
            return;
        };
        if *get == Some(id) {
            *get = None;
            if status != StatusCode::OK || body.len() > self.config.max_payload {
                self.terminate(CloseReason::TransportError);
                return;
            }
            let format = match self.config.protocol {
                Protocol::V4 => PayloadFormat::V4,
                Protocol::V3 if binary => PayloadFormat::V3Binary,
                Protocol::V3 => PayloadFormat::V3Text,
            };
            // Decoded lazily, one packet per event (see `poll_event`).
            self.pending_poll = Some((
                now,
                payload::decode_payload(format, body, self.config.max_payload),
            ));
        } else if *post == Some(id) {
            *post = None;
            if status != StatusCode::OK {
                self.terminate(CloseReason::TransportError);
                return;
            }
            self.maybe_finish_upgrade();
        }
    }

    /// Request `id` failed (connection error, or a body over the limit).
    pub fn handle_request_failed(&mut self, _now: Instant, id: RequestId) {
        self.settle();
        if let Active::Polling { get, post } = &self.active
            && (*get == Some(id) || *post == Some(id))
        {
            self.terminate(CloseReason::TransportError);
        }
    }

    /// WebSocket `id` completed its handshake.
    pub fn handle_socket_open(&mut self, _now: Instant, id: SocketId) {
        self.settle();
        if let Some(upgrade) = &mut self.upgrade
            && upgrade.socket == id
            && upgrade.state == UpgradeState::Connecting
        {
            upgrade.state = UpgradeState::Probing;
            let frame = Packet::ping_probe().to_frame(self.config.protocol);
            self.transmits
                .push_back(ClientTransmit::Frame { socket: id, frame });
        }
    }

    /// A frame arrived on WebSocket `id`.
    pub fn handle_socket_frame(&mut self, now: Instant, id: SocketId, frame: Data) {
        self.settle();
        if self.state == State::Closed {
            return;
        }
        let too_large = frame.len() > self.config.max_payload;
        if self.upgrade.as_ref().is_some_and(|u| u.socket == id) {
            let probing = self
                .upgrade
                .as_ref()
                .is_some_and(|u| u.state == UpgradeState::Probing);
            match Packet::decode_frame(self.config.protocol, frame) {
                Ok(p) if probing && !too_large && p.kind == PacketType::Pong && p.is_probe() => {
                    if let Some(u) = &mut self.upgrade {
                        u.state = UpgradeState::Pausing;
                    }
                    self.maybe_finish_upgrade();
                }
                _ => self.abort_upgrade(),
            }
            return;
        }
        if !matches!(self.active, Active::WebSocket(s) if s == id) {
            return;
        }
        if too_large {
            self.terminate(CloseReason::TransportError);
            return;
        }
        match Packet::decode_frame(self.config.protocol, frame) {
            Ok(packet) => self.on_packet(now, packet),
            Err(_) => self.terminate(CloseReason::ParseError),
        }
    }

    /// WebSocket `id` closed, or could not be opened.
    pub fn handle_socket_closed(&mut self, _now: Instant, id: SocketId) {
        self.settle();
        if self.upgrade.as_ref().is_some_and(|u| u.socket == id) {
            self.upgrade = None;
            self.after_poll();
        } else if matches!(self.active, Active::WebSocket(s) if s == id)
            && self.state != State::Closed
        {
            self.terminate(CloseReason::TransportClose);
        }
    }

    /// Advances timers to `now`. Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.settle();
        if self.state == State::Closed {
            return;
        }
        if self.heartbeat_deadline.is_some_and(|d| d <= now) {
            self.terminate(CloseReason::PingTimeout);
            return;
        }
        if let Some(mut at) = self.next_ping
            && at <= now
        {
            self.write_buffer.push_back(Packet::new(PacketType::Ping));
            if self.heartbeat_deadline.is_none() {
                self.heartbeat_deadline = Some(now + self.ping_timeout);
            }
            while at <= now {
                at += self.ping_interval;
            }
            self.next_ping = Some(at);
        }
    }

    fn on_packet(&mut self, now: Instant, packet: Packet) {
        if self.state == State::Opening {
            if packet.kind != PacketType::Open {
                self.terminate(CloseReason::ParseError);
                return;
            }
            let Data::Text(text) = &packet.data else {
                self.terminate(CloseReason::ParseError);
                return;
            };
            let Ok(open) = serde_json::from_slice::<OpenJson>(text.as_bytes()) else {
                self.terminate(CloseReason::ParseError);
                return;
            };
            self.on_open(now, open);
            return;
        }
        match packet.kind {
            PacketType::Ping if self.config.protocol == Protocol::V4 => {
                self.heartbeat_deadline = Some(now + self.ping_interval + self.ping_timeout);
                if self.state == State::Open {
                    self.write_buffer.push_back(Packet::new(PacketType::Pong));
                }
            }
            PacketType::Pong if self.config.protocol == Protocol::V3 => {
                self.heartbeat_deadline = None
            }
            PacketType::Message => self.events.push_back(ClientEvent::Message(packet.data)),
            PacketType::Close => self.terminate(CloseReason::TransportClose),
            _ => {}
        }
    }

    fn on_open(&mut self, now: Instant, open: OpenJson) {
        self.state = State::Open;
        self.sid = Some(open.sid.clone());
        self.ping_interval = Duration::from_millis(open.ping_interval);
        self.ping_timeout = Duration::from_millis(open.ping_timeout);
        self.server_max_payload = open.max_payload.unwrap_or(usize::MAX).max(1);
        match self.config.protocol {
            Protocol::V4 => {
                self.heartbeat_deadline = Some(now + self.ping_interval + self.ping_timeout)
            }
            Protocol::V3 => self.next_ping = Some(now + self.ping_interval),
        }
        let wants_upgrade = self.config.upgrade
            && self.config.transports.websocket
            && matches!(self.active, Active::Polling { .. })
            && open.upgrades.iter().any(|u| u == "websocket");
        self.events.push_back(ClientEvent::Open(OpenInfo {
            sid: open.sid,
            upgrades: open.upgrades,
            ping_interval: self.ping_interval,
            ping_timeout: self.ping_timeout,
            max_payload: open.max_payload,
        }));
        if wants_upgrade {
            let id = SocketId(self.next_id());
            let query = self.query(Transport::WebSocket);
            self.transmits
                .push_back(ClientTransmit::OpenSocket { id, query });
            self.upgrade = Some(Upgrade {
                socket: id,
                state: UpgradeState::Connecting,
            });
        }
    }

    /// After a poll's packets: poll again, unless pausing for an upgrade.
    fn after_poll(&mut self) {
        if self.state == State::Closed || self.state == State::Closing {
            return;
        }
        if self
            .upgrade
            .as_ref()
            .is_some_and(|u| u.state == UpgradeState::Pausing)
        {
            self.maybe_finish_upgrade();
            return;
        }
        if let Active::Polling { get: None, .. } = self.active {
            let id = self.request(RequestMethod::Get, None);
            if let Active::Polling { get, .. } = &mut self.active {
                *get = Some(id);
            }
        }
    }

    fn maybe_finish_upgrade(&mut self) {
        let Some(upgrade) = &self.upgrade else { return };
        if upgrade.state != UpgradeState::Pausing {
            return;
        }
        if !matches!(
            self.active,
            Active::Polling {
                get: None,
                post: None
            }
        ) {
            return;
        }
        let socket = upgrade.socket;
        self.upgrade = None;
        let frame = Packet::new(PacketType::Upgrade).to_frame(self.config.protocol);
        self.transmits
            .push_back(ClientTransmit::Frame { socket, frame });
        self.active = Active::WebSocket(socket);
        self.events.push_back(ClientEvent::Upgraded);
    }

    fn abort_upgrade(&mut self) {
        if let Some(upgrade) = self.upgrade.take() {
            self.transmits.push_back(ClientTransmit::CloseSocket {
                socket: upgrade.socket,
            });
            self.after_poll();
        }
    }

    // ---- commands -----------------------------------------------------------------------

    /// Queues a message; it goes out once the session is open.
    pub fn send(&mut self, data: impl Into<Data>) -> Result<(), ClientClosed> {
        if matches!(self.state, State::Closing | State::Closed) {
            return Err(ClientClosed);
        }
        self.write_buffer.push_back(Packet::message(data));
        Ok(())
    }

    /// Closes the session ([`CloseReason::ForcedClose`]): queued packets go out first, then a
    /// close packet (polling) or the WebSocket's close.
    pub fn close(&mut self, _now: Instant) {
        self.settle();
        match self.state {
            State::Open => {
                self.state = State::Closing;
                if let Active::Polling { .. } = self.active {
                    self.write_buffer.push_back(Packet::new(PacketType::Close));
                }
            }
            State::Opening => self.terminate(CloseReason::ForcedClose),
            State::Closing | State::Closed => {}
        }
    }

    // ---- outputs ------------------------------------------------------------------------

    /// The next thing to do on the wire.
    pub fn poll_transmit(&mut self) -> Option<ClientTransmit> {
        if self.transmits.is_empty() {
            self.advance_poll(true);
        }
        if self.transmits.is_empty() {
            self.flush();
        }
        self.transmits.pop_front()
    }

    /// The next event. The packets of a poll response are decoded here, one event at a
    /// time.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        if self.events.is_empty() {
            self.advance_poll(false);
        }
        self.events.pop_front()
    }

    /// Handles packets of the poll response being delivered until one queues an event; with
    /// `finish`, polls again once they are all handled.
    fn advance_poll(&mut self, finish: bool) {
        while self.events.is_empty() {
            let Some((at, packets)) = &mut self.pending_poll else {
                return;
            };
            let at = *at;
            match packets.next() {
                Some(Ok(packet)) if self.state != State::Closed => self.on_packet(at, packet),
                Some(Err(_)) if self.state != State::Closed => {
                    self.terminate(CloseReason::ParseError)
                }
                _ => {
                    if finish {
                        self.pending_poll = None;
                        self.after_poll();
                    }
                    return;
                }
            }
        }
    }

    /// Delivers what is left of a poll response at once, before another input.
    fn settle(&mut self) {
        while let Some((at, packets)) = &mut self.pending_poll {
            let at = *at;
            match packets.next() {
                Some(Ok(packet)) if self.state != State::Closed => self.on_packet(at, packet),
                Some(Err(_)) if self.state != State::Closed => {
                    self.terminate(CloseReason::ParseError)
                }
                _ => {
                    self.pending_poll = None;
                    self.after_poll();
                }
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        [self.next_ping, self.heartbeat_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    fn flush(&mut self) {
        if !matches!(self.state, State::Open | State::Closing) || self.write_buffer.is_empty() {
            if self.state == State::Closing && self.write_buffer.is_empty() {
                if let Active::WebSocket(socket) = self.active {
                    self.transmits
                        .push_back(ClientTransmit::CloseSocket { socket });
                }
                self.terminate(CloseReason::ForcedClose);
            }
            return;
        }
        let pausing = self
            .upgrade
            .as_ref()
            .is_some_and(|u| u.state == UpgradeState::Pausing);
        match self.active {
            Active::Polling { post: None, .. } if !pausing => {
                // As many packets as fit in the server's maxPayload (at least one).
                let protocol = self.config.protocol;
                let mut size = 0usize;
                let mut n = 0;
                for p in &self.write_buffer {
                    let len = p.text_len(protocol) + 12;
                    if n > 0 && size + len > self.server_max_payload {
                        break;
                    }
                    size += len;
                    n += 1;
                }
                let batch: Vec<Packet> = self.write_buffer.drain(..n).collect();
                let format = match protocol {
                    Protocol::V4 => PayloadFormat::V4,
                    Protocol::V3 if self.config.b64 => PayloadFormat::V3Text,
                    Protocol::V3 => payload::v3_format_for(&batch, false),
                };
                let mut body = Vec::with_capacity(size);
                payload::encode_payload(format, &batch, &mut body);
                let id = self.request(
                    RequestMethod::Post,
                    Some((Bytes::from(body), format.content_type())),
                );
                if let Active::Polling { post, .. } = &mut self.active {
                    *post = Some(id);
                }
                if batch.last().is_some_and(|p| p.kind == PacketType::Close) {
                    self.terminate(CloseReason::ForcedClose);
                }
            }
            Active::Polling { .. } => {}
            Active::WebSocket(socket) => {
                while let Some(packet) = self.write_buffer.pop_front() {
                    let frame = packet.to_frame(self.config.protocol);
                    self.transmits
                        .push_back(ClientTransmit::Frame { socket, frame });
                }
                if self.state == State::Closing {
                    self.transmits
                        .push_back(ClientTransmit::CloseSocket { socket });
                    self.terminate(CloseReason::ForcedClose);
                }
            }
        }
    }

    fn terminate(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        match &mut self.active {
            Active::Polling { get, .. } => {
                if let Some(request) = get.take() {
                    self.transmits.push_back(ClientTransmit::Cancel { request });
                }
            }
            Active::WebSocket(socket) => {
                let socket = *socket;
                if reason != CloseReason::ForcedClose {
                    self.transmits
                        .push_back(ClientTransmit::CloseSocket { socket });
                }
            }
        }
        if let Some(upgrade) = self.upgrade.take() {
            self.transmits.push_back(ClientTransmit::CloseSocket {
                socket: upgrade.socket,
            });
        }
        self.write_buffer.clear();
        self.next_ping = None;
        self.heartbeat_deadline = None;
        self.events.push_back(ClientEvent::Closed(reason));
    }
}
