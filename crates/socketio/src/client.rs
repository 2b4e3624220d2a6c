//! The client engine: several namespaces over one Engine.IO connection, acks both ways,
//! buffering while disconnected, reconnection with backoff, connection state recovery.
//! Sans-IO: the adapter owns the Engine.IO client and tells this engine when it opens,
//! what it receives, and when it closes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;
use sockeye_engineio::{CloseReason, Data, Str};

use crate::packet::{Decoder, DecoderConfig, Packet, PacketType};
use crate::server::{IdSource, ProtocolVersion};

/// Reconnection policy, as socket.io-client's options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reconnection {
    /// First delay; default 1 000 ms.
    pub delay: Duration,
    /// Largest delay; default 5 000 ms.
    pub delay_max: Duration,
    /// Random spread around each delay, 0 to 1; default 0.5.
    pub randomization_factor: f64,
    /// Attempts before giving up; `None` (default) for ever.
    pub attempts: Option<u32>,
}

impl Default for Reconnection {
    fn default() -> Self {
        Self {
            delay: Duration::from_millis(1_000),
            delay_max: Duration::from_millis(5_000),
            randomization_factor: 0.5,
            attempts: None,
        }
    }
}

impl Reconnection {
    /// The delay before attempt `attempt` (0-based), with `random` in `[0, 1)`, as
    /// socket.io-client's backoff computes it.
    pub fn delay_for(&self, attempt: u32, random: f64) -> Duration {
        let base = self.delay.as_millis() as f64 * 2f64.powi(attempt.min(62) as i32);
        let mut ms = base;
        if self.randomization_factor > 0.0 {
            let deviation = (random * self.randomization_factor * base).floor();
            ms = if ((random * 10.0).floor() as u64) & 1 == 0 {
                base - deviation
            } else {
                base + deviation
            };
        }
        Duration::from_millis(ms.min(self.delay_max.as_millis() as f64).max(0.0) as u64)
    }
}

/// Client engine options.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// The protocol revision (v5 for socket.io 3.x/4.x servers, v4 for 2.x).
    pub protocol: ProtocolVersion,
    /// Reconnection; `None` to stay disconnected.
    pub reconnection: Option<Reconnection>,
    /// Default timeout of acks the client waits for; default 5 000 ms.
    pub ack_timeout: Duration,
    /// Attachment limits of the decoder.
    pub decoder: DecoderConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            protocol: ProtocolVersion::V5,
            reconnection: Some(Reconnection::default()),
            ack_timeout: Duration::from_millis(5_000),
            decoder: DecoderConfig::default(),
        }
    }
}

/// Something the adapter must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientTransmit {
    /// Send one Engine.IO message.
    Send(Data),
    /// Open a new Engine.IO connection (a reconnection attempt), then call
    /// [`Client::handle_open`] (or [`Client::handle_close`] if it fails).
    Open,
    /// Close the Engine.IO connection.
    Close,
}

/// Why a namespace disconnected, named as socket.io-client names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientDisconnectReason {
    /// The server sent DISCONNECT.
    IoServerDisconnect,
    /// The application disconnected.
    IoClientDisconnect,
    /// No heartbeat in time.
    PingTimeout,
    /// The transport closed.
    TransportClose,
    /// The transport failed.
    TransportError,
    /// The server sent something that could not be decoded.
    ParseError,
}

impl ClientDisconnectReason {
    /// The reference name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::IoServerDisconnect => "io server disconnect",
            Self::IoClientDisconnect => "io client disconnect",
            Self::PingTimeout => "ping timeout",
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::ParseError => "parse error",
        }
    }

    fn from_engine(reason: CloseReason) -> Self {
        match reason {
            CloseReason::PingTimeout => Self::PingTimeout,
            CloseReason::ParseError => Self::ParseError,
            CloseReason::TransportError => Self::TransportError,
            CloseReason::ForcedClose => Self::IoClientDisconnect,
            CloseReason::TransportClose | CloseReason::ForcedServerClose => Self::TransportClose,
        }
    }
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A namespace is connected.
    Connected {
        /// The namespace.
        namespace: Str,
        /// The socket id the server gave (v5), or none (v4).
        sid: Option<Str>,
        /// Whether the server recovered the previous session.
        recovered: bool,
    },
    /// The server refused a namespace; the payload is raw JSON (an object in v5, a string in
    /// v4).
    ConnectError {
        /// The namespace.
        namespace: Str,
        /// The refusal.
        payload: Option<Str>,
    },
    /// An event from the server; when it has an id, answer with [`Client::ack`].
    Event {
        /// The namespace.
        namespace: Str,
        /// The packet.
        packet: Packet,
    },
    /// The answer to [`Client::emit_with_ack`].
    Ack {
        /// The namespace.
        namespace: Str,
        /// The id `emit_with_ack` returned.
        id: u64,
        /// The ack packet.
        packet: Packet,
    },
    /// No answer to [`Client::emit_with_ack`] in time (or the connection was lost first).
    AckTimeout {
        /// The namespace.
        namespace: Str,
        /// The id.
        id: u64,
    },
    /// A namespace disconnected.
    Disconnected {
        /// The namespace.
        namespace: Str,
        /// Why.
        reason: ClientDisconnectReason,
    },
    /// A reconnection attempt starts (a [`ClientTransmit::Open`] follows).
    ReconnectAttempt {
        /// The attempt number, from 1.
        attempt: u32,
    },
    /// The attempts ran out.
    ReconnectFailed,
}

/// Local misuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The namespace was never asked for with [`Client::connect`].
    #[error("unknown namespace")]
    UnknownNamespace,
    /// The event name is reserved.
    #[error("reserved event name {0:?}")]
    ReservedEvent(String),
    /// The arguments could not be serialized.
    #[error("arguments could not be serialized: {0}")]
    Serialize(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NsState {
    Disconnected,
    Connecting,
    Connected,
}

#[derive(Debug)]
struct Namespace {
    state: NsState,
    /// Whether the application wants it connected (reconnect it after a drop).
    wanted: bool,
    auth: Option<Str>,
    sid: Option<Str>,
    pid: Option<Str>,
    last_offset: Option<String>,
    /// Emits queued while not connected.
    buffer: Vec<Packet>,
    /// v4: `/`, joined by the server before the application asked for it.
    implicit: bool,
    /// Events that arrived before the CONNECT answer (a recovering server replays missed
    /// packets first), delivered right after it, as socket.io-client does.
    early: Vec<Packet>,
}

/// Most events kept for a namespace before its CONNECT answer arrives.
const MAX_EARLY_EVENTS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Ack(Str, u64),
    Reconnect,
}

/// The Socket.IO client engine, Sans-IO.
pub struct Client {
    config: ClientConfig,
    random: Box<dyn IdSource + Send>,
    decoder: Decoder,
    open: bool,
    closing: bool,
    namespaces: BTreeMap<Str, Namespace>,
    next_ack: u64,
    acks: HashMap<(Str, u64), ()>,
    attempts: u32,
    timers: BTreeMap<(Instant, u64), Timer>,
    timer_seq: u64,
    transmits: VecDeque<ClientTransmit>,
    events: VecDeque<ClientEvent>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("open", &self.open)
            .field("namespaces", &self.namespaces)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client engine; `random` feeds the reconnection jitter. The adapter opens the first
    /// Engine.IO connection itself and calls [`handle_open`](Self::handle_open).
    pub fn new(config: ClientConfig, random: impl IdSource + Send + 'static) -> Self {
        Self {
            decoder: Decoder::new(config.decoder),
            config,
            random: Box::new(random),
            open: false,
            closing: false,
            namespaces: BTreeMap::new(),
            next_ack: 0,
            acks: HashMap::new(),
            attempts: 0,
            timers: BTreeMap::new(),
            timer_seq: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The protocol revision.
    pub fn protocol(&self) -> ProtocolVersion {
        self.config.protocol
    }

    /// Whether `namespace` is connected.
    pub fn is_connected(&self, namespace: &str) -> bool {
        self.find(namespace)
            .is_some_and(|(_, n)| n.state == NsState::Connected)
    }

    /// The socket id of a connected namespace (v5).
    pub fn sid(&self, namespace: &str) -> Option<&Str> {
        self.find(namespace).and_then(|(_, n)| n.sid.as_ref())
    }

    /// The namespace named `name` (a handful per client: a scan, no allocation).
    fn find(&self, name: &str) -> Option<(&Str, &Namespace)> {
        self.namespaces
            .iter()
            .find(|(k, _)| k.as_bytes() == name.as_bytes())
    }

    fn schedule(&mut self, at: Instant, timer: Timer) {
        self.timer_seq += 1;
        self.timers.insert((at, self.timer_seq), timer);
    }

    fn send_packet(&mut self, packet: &Packet) {
        for data in packet.encode() {
            self.transmits.push_back(ClientTransmit::Send(data));
        }
    }

    fn connect_packet(&self, namespace: &Str, ns: &Namespace) -> Option<Packet> {
        match self.config.protocol {
            ProtocolVersion::V4 => {
                // `/` is joined by the server on connection; others carry auth as a query.
                if namespace.as_bytes() == b"/" {
                    return None;
                }
                let mut name = namespace.to_string();
                if let Some(auth) = &ns.auth
                    && let Ok(serde_json::Value::Object(map)) =
                        serde_json::from_slice(auth.as_bytes())
                {
                    let mut query = form_urlencoded::Serializer::new(String::new());
                    for (k, v) in map {
                        match v {
                            serde_json::Value::String(s) => query.append_pair(&k, &s),
                            other => query.append_pair(&k, &other.to_string()),
                        };
                    }
                    let query = query.finish();
                    if !query.is_empty() {
                        name.push('?');
                        name.push_str(&query);
                    }
                }
                Some(Packet::connect(Str::from(name), None))
            }
            ProtocolVersion::V5 => {
                // With a recovery session, `pid` and `offset` ride along with the auth.
                let auth = match (&ns.pid, &ns.last_offset) {
                    (Some(pid), Some(offset)) => {
                        let mut map = ns
                            .auth
                            .as_ref()
                            .and_then(|a| {
                                serde_json::from_slice::<
                                        serde_json::Map<String, serde_json::Value>,
                                    >(a.as_bytes())
                                    .ok()
                            })
                            .unwrap_or_default();
                        map.insert("pid".into(), pid.as_str().into());
                        map.insert("offset".into(), offset.as_str().into());
                        Some(Str::from(serde_json::Value::Object(map).to_string()))
                    }
                    _ => ns.auth.clone(),
                };
                Some(Packet::connect(namespace.clone(), auth))
            }
        }
    }

    // ---- commands -----------------------------------------------------------------------

    /// Asks to join `namespace` with an optional auth object (raw JSON); sent at once when
    /// the connection is open, else when it opens.
    pub fn connect(&mut self, namespace: impl Into<Str>, auth: Option<Str>) {
        let namespace = namespace.into();
        let ns = self
            .namespaces
            .entry(namespace.clone())
            .or_insert(Namespace {
                state: NsState::Disconnected,
                wanted: true,
                auth: None,
                sid: None,
                pid: None,
                last_offset: None,
                buffer: Vec::new(),
                implicit: false,
                early: Vec::new(),
            });
        ns.wanted = true;
        ns.auth = auth;
        if ns.implicit {
            // v4 `/`: already joined on connection; report it now that it is asked for.
            ns.implicit = false;
            self.events.push_back(ClientEvent::Connected {
                namespace,
                sid: None,
                recovered: false,
            });
            return;
        }
        if self.open && ns.state == NsState::Disconnected {
            self.start_connect(&namespace);
        }
    }

    fn start_connect(&mut self, namespace: &Str) {
        let Some(ns) = self.namespaces.get(namespace) else {
            return;
        };
        let packet = self.connect_packet(namespace, ns);
        if let Some(ns) = self.namespaces.get_mut(namespace) {
            ns.state = NsState::Connecting;
        }
        if let Some(p) = packet {
            self.send_packet(&p);
        }
    }

    fn event_packet<T: Serialize + ?Sized>(
        namespace: &Str,
        name: &str,
        args: &T,
    ) -> Result<Packet, ClientError> {
        if crate::RESERVED_EVENTS.contains(&name) {
            return Err(ClientError::ReservedEvent(name.to_owned()));
        }
        Packet::event(namespace.clone(), name, args)
            .map_err(|e| ClientError::Serialize(e.to_string()))
    }

    /// Emits `name` with `args` (a sequence) on `namespace`; buffered while it is not
    /// connected, unless `volatile` (then dropped).
    pub fn emit<T: Serialize + ?Sized>(
        &mut self,
        namespace: &str,
        name: &str,
        args: &T,
        volatile: bool,
    ) -> Result<(), ClientError> {
        let (key, connected) = self.ns_key(namespace)?;
        let packet = Self::event_packet(&key, name, args)?;
        self.send_or_buffer(&key, connected, packet, volatile);
        Ok(())
    }

    fn ns_key(&self, namespace: &str) -> Result<(Str, bool), ClientError> {
        let (key, ns) = self.find(namespace).ok_or(ClientError::UnknownNamespace)?;
        Ok((key.clone(), ns.state == NsState::Connected && self.open))
    }

    fn send_or_buffer(&mut self, key: &Str, connected: bool, packet: Packet, volatile: bool) {
        if connected {
            self.send_packet(&packet);
        } else if !volatile && let Some(ns) = self.namespaces.get_mut(key) {
            ns.buffer.push(packet);
        }
    }

    /// Emits an event packet built by the caller (its namespace is set to `namespace`).
    pub fn emit_packet(
        &mut self,
        namespace: &str,
        mut packet: Packet,
        volatile: bool,
    ) -> Result<(), ClientError> {
        let (key, connected) = self.ns_key(namespace)?;
        packet.namespace = key.clone();
        self.send_or_buffer(&key, connected, packet, volatile);
        Ok(())
    }

    /// As [`emit_with_ack`](Self::emit_with_ack), for a packet built by the caller.
    pub fn emit_packet_with_ack(
        &mut self,
        now: Instant,
        namespace: &str,
        packet: Packet,
        timeout: Option<Duration>,
    ) -> Result<u64, ClientError> {
        let (key, connected) = self.ns_key(namespace)?;
        let id = self.next_ack;
        self.next_ack += 1;
        let mut packet = packet.with_id(id);
        packet.namespace = key.clone();
        self.send_or_buffer(&key, connected, packet, false);
        self.acks.insert((key.clone(), id), ());
        let deadline = now + timeout.unwrap_or(self.config.ack_timeout);
        self.schedule(deadline, Timer::Ack(key, id));
        Ok(id)
    }

    /// Answers the server's event with a packet built by the caller (an ack packet).
    pub fn ack_packet(&mut self, namespace: &str, mut packet: Packet) -> Result<(), ClientError> {
        let (key, _) = self.ns_key(namespace)?;
        packet.namespace = key;
        self.send_packet(&packet);
        Ok(())
    }

    /// Emits and waits for the server's ack: [`ClientEvent::Ack`] or
    /// [`ClientEvent::AckTimeout`] after `timeout` (default `ack_timeout`).
    pub fn emit_with_ack<T: Serialize + ?Sized>(
        &mut self,
        now: Instant,
        namespace: &str,
        name: &str,
        args: &T,
        timeout: Option<Duration>,
    ) -> Result<u64, ClientError> {
        let (key, connected) = self.ns_key(namespace)?;
        let id = self.next_ack;
        self.next_ack += 1;
        let packet = Self::event_packet(&key, name, args)?.with_id(id);
        self.send_or_buffer(&key, connected, packet, false);
        self.acks.insert((key.clone(), id), ());
        let deadline = now + timeout.unwrap_or(self.config.ack_timeout);
        self.schedule(deadline, Timer::Ack(key, id));
        Ok(id)
    }

    /// Answers the server's event `id` on `namespace`.
    pub fn ack<T: Serialize + ?Sized>(
        &mut self,
        namespace: &str,
        id: u64,
        args: &T,
    ) -> Result<(), ClientError> {
        let (key, _) = self.ns_key(namespace)?;
        let packet =
            Packet::ack(key, id, args).map_err(|e| ClientError::Serialize(e.to_string()))?;
        self.send_packet(&packet);
        Ok(())
    }

    /// Leaves `namespace` (DISCONNECT; "io client disconnect").
    pub fn disconnect(&mut self, namespace: &str) -> Result<(), ClientError> {
        let (key, _) = self.ns_key(namespace)?;
        let Some(ns) = self.namespaces.get_mut(&key) else {
            return Err(ClientError::UnknownNamespace);
        };
        let was = ns.state;
        ns.wanted = false;
        ns.state = NsState::Disconnected;
        ns.pid = None;
        if was != NsState::Disconnected && self.open {
            self.send_packet(&Packet::disconnect(key.clone()));
        }
        if was == NsState::Connected {
            self.events.push_back(ClientEvent::Disconnected {
                namespace: key,
                reason: ClientDisconnectReason::IoClientDisconnect,
            });
        }
        Ok(())
    }

    /// Leaves every namespace and closes the connection; no reconnection follows.
    pub fn close(&mut self) {
        let names: Vec<Str> = self.namespaces.keys().cloned().collect();
        for n in names {
            let _ = self.disconnect(n.as_str());
        }
        self.closing = true;
        self.timers.retain(|_, t| *t != Timer::Reconnect);
        if self.open {
            self.open = false;
            self.transmits.push_back(ClientTransmit::Close);
        }
    }

    // ---- inputs -------------------------------------------------------------------------

    /// The Engine.IO connection opened (first time or after a reconnection): every wanted
    /// namespace is (re)joined.
    pub fn handle_open(&mut self, _now: Instant) {
        self.open = true;
        self.closing = false;
        self.attempts = 0;
        self.decoder = Decoder::new(self.config.decoder);
        self.timers.retain(|_, t| *t != Timer::Reconnect);
        let names: Vec<Str> = self
            .namespaces
            .iter()
            .filter(|(_, n)| n.wanted)
            .map(|(k, _)| k.clone())
            .collect();
        for n in names {
            self.start_connect(&n);
        }
    }

    /// An Engine.IO message from the server.
    pub fn handle_message(&mut self, now: Instant, data: Data) {
        if !self.open {
            return;
        }
        match self.decoder.decode(data) {
            Ok(Some(packet)) => self.on_packet(now, packet),
            Ok(None) => {}
            Err(_) => {
                // As socket.io-client: a decode error closes the connection.
                self.transmits.push_back(ClientTransmit::Close);
                self.handle_close(now, CloseReason::ParseError);
            }
        }
    }

    fn on_packet(&mut self, now: Instant, packet: Packet) {
        let namespace = packet.namespace.clone();
        let protocol = self.config.protocol;
        if protocol == ProtocolVersion::V4
            && packet.kind == PacketType::Connect
            && namespace.as_bytes() == b"/"
            && self.namespaces.get(&namespace).is_none_or(|n| !n.wanted)
        {
            // The server joins v4 clients to `/` on connection.
            let ns = self.namespaces.entry(namespace).or_insert(Namespace {
                state: NsState::Connected,
                wanted: false,
                auth: None,
                sid: None,
                pid: None,
                last_offset: None,
                buffer: Vec::new(),
                implicit: true,
                early: Vec::new(),
            });
            ns.state = NsState::Connected;
            ns.implicit = !ns.wanted;
            return;
        }
        let Some(ns) = self.namespaces.get_mut(&namespace) else {
            return;
        };
        match packet.kind {
            PacketType::Connect => {
                if ns.state == NsState::Connected && protocol == ProtocolVersion::V4 {
                    return;
                }
                let (sid, pid) = match protocol {
                    ProtocolVersion::V5 => {
                        #[derive(serde::Deserialize)]
                        struct Reply {
                            sid: String,
                            pid: Option<String>,
                        }
                        let Ok(Some(reply)) = packet.payload_as::<Reply>() else {
                            return;
                        };
                        (Some(Str::from(reply.sid)), reply.pid.map(Str::from))
                    }
                    ProtocolVersion::V4 => (None, None),
                };
                let recovered = pid.is_some() && ns.pid == pid && ns.sid == sid;
                if !recovered {
                    ns.last_offset = None;
                }
                ns.state = NsState::Connected;
                ns.sid = sid.clone();
                ns.pid = pid;
                let buffered = std::mem::take(&mut ns.buffer);
                let early = std::mem::take(&mut ns.early);
                self.events.push_back(ClientEvent::Connected {
                    namespace: namespace.clone(),
                    sid,
                    recovered,
                });
                for packet in early {
                    self.events.push_back(ClientEvent::Event {
                        namespace: namespace.clone(),
                        packet,
                    });
                }
                for p in buffered {
                    self.send_packet(&p);
                }
            }
            PacketType::ConnectError => {
                ns.state = NsState::Disconnected;
                ns.wanted = false;
                self.events.push_back(ClientEvent::ConnectError {
                    namespace,
                    payload: packet.payload,
                });
            }
            PacketType::Event | PacketType::BinaryEvent => {
                if ns.state == NsState::Connecting {
                    if ns.pid.is_some()
                        && let Some(offset) = last_string_arg(&packet)
                    {
                        ns.last_offset = Some(offset);
                    }
                    if ns.early.len() < MAX_EARLY_EVENTS {
                        ns.early.push(packet);
                    }
                    return;
                }
                if ns.state != NsState::Connected {
                    return;
                }
                if ns.pid.is_some()
                    && let Some(offset) = last_string_arg(&packet)
                {
                    ns.last_offset = Some(offset);
                }
                self.events
                    .push_back(ClientEvent::Event { namespace, packet });
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let Some(id) = packet.id else { return };
                if self.acks.remove(&(namespace.clone(), id)).is_some() {
                    self.events.push_back(ClientEvent::Ack {
                        namespace,
                        id,
                        packet,
                    });
                }
            }
            PacketType::Disconnect => {
                let was = ns.state;
                ns.state = NsState::Disconnected;
                ns.wanted = false;
                ns.pid = None;
                if was == NsState::Connected {
                    self.events.push_back(ClientEvent::Disconnected {
                        namespace,
                        reason: ClientDisconnectReason::IoServerDisconnect,
                    });
                }
            }
        }
        let _ = now;
    }

    /// The Engine.IO connection closed (or a reconnection attempt failed). Connected
    /// namespaces disconnect with the reason; a reconnection is scheduled when the policy
    /// allows.
    pub fn handle_close(&mut self, now: Instant, reason: CloseReason) {
        let was_open = self.open;
        self.open = false;
        let reason = ClientDisconnectReason::from_engine(reason);
        for (name, ns) in &mut self.namespaces {
            if ns.state == NsState::Connected {
                self.events.push_back(ClientEvent::Disconnected {
                    namespace: name.clone(),
                    reason,
                });
            }
            if ns.state != NsState::Disconnected {
                ns.state = NsState::Disconnected;
            }
        }
        let _ = was_open;
        if self.closing || reason == ClientDisconnectReason::IoClientDisconnect {
            return;
        }
        let Some(policy) = self.config.reconnection else {
            return;
        };
        if !self.namespaces.values().any(|n| n.wanted) {
            return;
        }
        if policy.attempts.is_some_and(|max| self.attempts >= max) {
            self.events.push_back(ClientEvent::ReconnectFailed);
            return;
        }
        let bytes = self.random.next_id();
        let random = f64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            / (f64::from(u32::MAX) + 1.0);
        let delay = policy.delay_for(self.attempts, random);
        self.schedule(now + delay, Timer::Reconnect);
    }

    /// Fires the timers due at `now`. Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            match entry.remove() {
                Timer::Ack(namespace, id) => {
                    if self.acks.remove(&(namespace.clone(), id)).is_some() {
                        self.events
                            .push_back(ClientEvent::AckTimeout { namespace, id });
                    }
                }
                Timer::Reconnect => {
                    if !self.open && !self.closing {
                        self.attempts += 1;
                        self.events.push_back(ClientEvent::ReconnectAttempt {
                            attempt: self.attempts,
                        });
                        self.transmits.push_back(ClientTransmit::Open);
                    }
                }
            }
        }
    }

    // ---- outputs ------------------------------------------------------------------------

    /// The next thing to do.
    pub fn poll_transmit(&mut self) -> Option<ClientTransmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.keys().next().map(|(at, _)| *at)
    }
}

/// The last argument of an event when it is a string (the recovery offset).
fn last_string_arg(packet: &Packet) -> Option<String> {
    let args: Vec<serde_json::Value> = packet.args().ok()?;
    match args.last()? {
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}
