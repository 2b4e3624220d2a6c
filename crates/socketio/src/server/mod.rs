//! The server engine: namespaces, sockets, rooms, acks, broadcasts and connection state
//! recovery over Engine.IO connections, Sans-IO.
//!
//! The adapter tells the engine about Engine.IO connections ([`Server::handle_connection`],
//! [`Server::handle_message`], [`Server::handle_close`]) and sends what
//! [`Server::poll_transmit`] returns on them. Connect middleware is the application's:
//! every CONNECT becomes [`Event::Connecting`], answered with [`Server::accept`] or
//! [`Server::refuse`].

mod adapter;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use sockeye_engineio::{CloseReason, Data, Str};

pub use adapter::{Adapter, MemoryAdapter, Room};

use crate::packet::{Decoder, DecoderConfig, Packet, PacketType};

/// The Socket.IO protocol revision of a connection, fixed by its Engine.IO revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// Revision 4 (socket.io 2.x), over Engine.IO v3.
    V4,
    /// Revision 5 (socket.io 3.x and 4.x), over Engine.IO v4.
    V5,
}

impl ProtocolVersion {
    /// The revision that runs over an Engine.IO revision.
    pub fn for_engine(protocol: sockeye_engineio::Protocol) -> Self {
        match protocol {
            sockeye_engineio::Protocol::V3 => Self::V4,
            sockeye_engineio::Protocol::V4 => Self::V5,
        }
    }
}

/// Names one Engine.IO connection; the adapter chooses the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

/// A socket id: random in protocol v5 (never the Engine.IO session id), the session id (or
/// `/nsp#sid`) in v4, as the reference.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(Str);

impl SocketId {
    /// The id.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The id as a room name (every socket is in the room of its own id).
    pub fn room(&self) -> Room {
        self.0.clone()
    }
}

impl fmt::Debug for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// Random bytes for socket ids and recovery session ids, from the adapter's RNG.
pub trait IdSource: fmt::Debug {
    /// 15 fresh random bytes (made into a 20-character URL-safe id).
    fn next_id(&mut self) -> [u8; 15];
}

fn make_id(ids: &mut dyn IdSource) -> Str {
    use base64::Engine as _;
    Str::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ids.next_id()))
}

/// Why a socket left its namespace, named as the reference names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The server disconnected the socket.
    ServerNamespaceDisconnect,
    /// The client sent DISCONNECT.
    ClientNamespaceDisconnect,
    /// The transport closed.
    TransportClose,
    /// The transport failed.
    TransportError,
    /// No heartbeat in time.
    PingTimeout,
    /// The client sent something that could not be decoded, or out of turn.
    ParseError,
    /// The server shut down.
    ServerShuttingDown,
    /// The Engine.IO session was closed by the server.
    ForcedClose,
    /// The server closed the connection (e.g. a packet for a namespace not joined).
    ForcedServerClose,
}

impl DisconnectReason {
    /// The reference name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::ServerShuttingDown => "server shutting down",
            Self::ForcedClose => "forced close",
            Self::ForcedServerClose => "forced server close",
        }
    }

    /// Whether a socket disconnected for this reason may recover its session.
    pub const fn is_recoverable(self) -> bool {
        matches!(
            self,
            Self::TransportError
                | Self::TransportClose
                | Self::ForcedClose
                | Self::PingTimeout
                | Self::ServerShuttingDown
                | Self::ForcedServerClose
        )
    }

    fn from_engine(reason: CloseReason) -> Self {
        match reason {
            CloseReason::TransportClose => Self::TransportClose,
            CloseReason::TransportError => Self::TransportError,
            CloseReason::PingTimeout => Self::PingTimeout,
            CloseReason::ParseError => Self::ParseError,
            CloseReason::ForcedClose => Self::ForcedClose,
            CloseReason::ForcedServerClose => Self::ForcedServerClose,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Connection state recovery options (socket.io ≥ 4.6 semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a disconnected session, and the packets broadcast meanwhile, are kept;
    /// default 120 000 ms.
    pub max_disconnection_duration: Duration,
    /// Whether a recovered socket skips connect middleware ([`Event::Connecting`]); default
    /// true.
    pub skip_middlewares: bool,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            max_disconnection_duration: Duration::from_millis(120_000),
            skip_middlewares: true,
        }
    }
}

/// Server engine options, named after socket.io's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// A connection that joins no namespace within this time is closed; default 45 000 ms.
    pub connect_timeout: Duration,
    /// Default timeout of acks the server waits for; default 5 000 ms.
    pub ack_timeout: Duration,
    /// Attachment limits of the decoder (default 10 attachments, 1 000 000 bytes).
    pub decoder: DecoderConfig,
    /// Connection state recovery; off by default.
    pub recovery: Option<RecoveryConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(45_000),
            ack_timeout: Duration::from_millis(5_000),
            decoder: DecoderConfig::default(),
            recovery: None,
        }
    }
}

/// Something the adapter must do on an Engine.IO connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// Send `data` as one Engine.IO message.
    Send {
        /// The connection.
        client: ClientId,
        /// The message.
        data: Data,
        /// The application allows dropping it when the connection is backed up.
        volatile: bool,
        /// Whether it may be compressed (permessage-deflate, HTTP compression); the
        /// reference's `compress` flag, true unless turned off.
        compress: bool,
    },
    /// Close the Engine.IO connection (its sockets are already gone).
    Close {
        /// The connection.
        client: ClientId,
    },
}

/// Something the application must know or decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A client asks to join `namespace`: run connect middleware, then
    /// [`Server::accept`] or [`Server::refuse`].
    Connecting {
        /// The socket it will be.
        socket: SocketId,
        /// The namespace.
        namespace: Str,
        /// The CONNECT auth object (raw JSON; in v4, the namespace's query parameters).
        auth: Option<Str>,
        /// The Engine.IO connection.
        client: ClientId,
    },
    /// A socket joined its namespace (accepted, or recovered).
    Connected {
        /// The socket.
        socket: SocketId,
        /// The namespace.
        namespace: Str,
        /// Whether its session was recovered (same id, rooms, missed packets replayed).
        recovered: bool,
    },
    /// An event from a socket; when the packet has an id, answer with [`Server::ack`].
    Event {
        /// The socket.
        socket: SocketId,
        /// The packet (name in `event`, arguments through [`Packet::args`]).
        packet: Packet,
    },
    /// The answer to [`Server::emit_with_ack`].
    Ack {
        /// The socket.
        socket: SocketId,
        /// The ack id that was returned by `emit_with_ack`.
        id: u64,
        /// The ack packet.
        packet: Packet,
    },
    /// No answer to [`Server::emit_with_ack`] in time.
    AckTimeout {
        /// The socket.
        socket: SocketId,
        /// The ack id.
        id: u64,
    },
    /// The answers to [`Server::broadcast_with_ack`]: every target answered, or the time
    /// ran out.
    BroadcastAck {
        /// The id returned by `broadcast_with_ack`.
        id: u64,
        /// The answers received.
        responses: Vec<(SocketId, Packet)>,
        /// How many sockets were asked.
        expected: usize,
        /// Whether the time ran out before all answered.
        timed_out: bool,
    },
    /// A socket left its namespace.
    Disconnected {
        /// The socket.
        socket: SocketId,
        /// Its namespace.
        namespace: Str,
        /// Why.
        reason: DisconnectReason,
        /// The rooms it was in (what the reference's `disconnecting` handlers read).
        rooms: Vec<Room>,
    },
}

/// Local misuse of the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No connected socket with that id.
    #[error("unknown socket")]
    UnknownSocket,
    /// The socket is not waiting for a connect decision.
    #[error("the socket is not connecting")]
    NotConnecting,
    /// The event name is one the reference reserves.
    #[error("reserved event name {0:?}")]
    ReservedEvent(String),
    /// The arguments could not be serialized.
    #[error("arguments could not be serialized: {0}")]
    Serialize(String),
}

/// Which sockets a broadcast reaches: the reference's `to` / `in`, `except`, and flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// The namespace (`/` when empty).
    pub namespace: Str,
    /// Rooms to reach (all sockets of the namespace when empty).
    pub rooms: Vec<Room>,
    /// Rooms whose sockets are left out.
    pub except: Vec<Room>,
    /// May be dropped for connections that are backed up.
    pub volatile: bool,
    /// Only this server (matters with a cluster adapter).
    pub local: bool,
    /// Ask the transport not to compress (the reference's `compress(false)`).
    pub uncompressed: bool,
}

impl BroadcastOptions {
    /// Every socket of `namespace`.
    pub fn namespace(namespace: impl Into<Str>) -> Self {
        Self {
            namespace: namespace.into(),
            ..Self::default()
        }
    }

    /// Adds a room to reach (`to` / `in`).
    pub fn to(mut self, room: impl Into<Room>) -> Self {
        self.rooms.push(room.into());
        self
    }

    /// Adds a room to leave out.
    pub fn except(mut self, room: impl Into<Room>) -> Self {
        self.except.push(room.into());
        self
    }

    /// Sets the reference's `compress` flag (on by default).
    pub fn compress(mut self, compress: bool) -> Self {
        self.uncompressed = !compress;
        self
    }

    /// Marks the broadcast volatile.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Marks the broadcast local.
    pub fn local(mut self) -> Self {
        self.local = true;
        self
    }

    fn ns(&self) -> Str {
        if self.namespace.is_empty() {
            Str::from_static("/")
        } else {
            self.namespace.clone()
        }
    }
}

/// What [`Server::fetch_sockets`] reports of a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketInfo {
    /// Its id.
    pub id: SocketId,
    /// Its namespace.
    pub namespace: Str,
    /// Its rooms.
    pub rooms: Vec<Room>,
    /// The auth it connected with.
    pub auth: Option<Str>,
}

/// A dynamic namespace predicate: whether a namespace name (without query) may be created.
pub type NamespacePredicate = Box<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SocketState {
    Connecting,
    Connected,
}

#[derive(Debug)]
struct SocketEntry {
    client: ClientId,
    namespace: Str,
    state: SocketState,
    auth: Option<Str>,
    pid: Option<Str>,
    /// A session recovered at CONNECT, applied on accept.
    restore: Option<Restore>,
}

#[derive(Debug)]
struct Restore {
    rooms: Vec<Room>,
    missed: Vec<Vec<Data>>,
}

#[derive(Debug)]
struct ClientEntry {
    protocol: ProtocolVersion,
    engine_sid: Str,
    decoder: Decoder,
    /// Namespace → socket.
    sockets: BTreeMap<Str, SocketId>,
    connected_once: bool,
}

#[derive(Debug)]
struct PendingAck {
    broadcast: bool,
}

#[derive(Debug)]
struct BroadcastAck {
    expected: usize,
    targets: Vec<SocketId>,
    responses: Vec<(SocketId, Packet)>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    ConnectTimeout(ClientId),
    Ack(SocketId, u64),
    BroadcastAck(u64),
    Prune,
}

#[derive(Debug)]
struct StoredPacket {
    offset: u64,
    at: Instant,
    namespace: Str,
    rooms: Vec<Room>,
    except: Vec<Room>,
    messages: Vec<Data>,
}

#[derive(Debug)]
struct SavedSession {
    socket: SocketId,
    namespace: Str,
    rooms: Vec<Room>,
    until: Instant,
}

/// The Socket.IO server engine, Sans-IO.
pub struct Server<A: Adapter = MemoryAdapter> {
    config: ServerConfig,
    ids: Box<dyn IdSource + Send>,
    adapter: A,
    namespaces: Vec<Str>,
    dynamic: Vec<NamespacePredicate>,
    clients: HashMap<ClientId, ClientEntry>,
    sockets: HashMap<SocketId, SocketEntry>,
    next_ack: u64,
    acks: HashMap<(SocketId, u64), PendingAck>,
    broadcast_acks: HashMap<u64, BroadcastAck>,
    timers: BTreeMap<(Instant, u64), Timer>,
    timer_seq: u64,
    packets: VecDeque<StoredPacket>,
    next_offset: u64,
    sessions: HashMap<Str, SavedSession>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl<A: Adapter> fmt::Debug for Server<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("namespaces", &self.namespaces)
            .field("clients", &self.clients.len())
            .field("sockets", &self.sockets.len())
            .finish_non_exhaustive()
    }
}

impl Server<MemoryAdapter> {
    /// A server with `config`, ids from `ids`, and rooms in memory.
    pub fn new(config: ServerConfig, ids: impl IdSource + Send + 'static) -> Self {
        Self::with_adapter(config, ids, MemoryAdapter::default())
    }
}

impl<A: Adapter> Server<A> {
    /// A server with a room adapter of your choice.
    pub fn with_adapter(
        config: ServerConfig,
        ids: impl IdSource + Send + 'static,
        adapter: A,
    ) -> Self {
        Self {
            config,
            ids: Box::new(ids),
            adapter,
            namespaces: vec![Str::from_static("/")],
            dynamic: Vec::new(),
            clients: HashMap::new(),
            sockets: HashMap::new(),
            next_ack: 0,
            acks: HashMap::new(),
            broadcast_acks: HashMap::new(),
            timers: BTreeMap::new(),
            timer_seq: 0,
            packets: VecDeque::new(),
            next_offset: 0,
            sessions: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The room adapter.
    pub fn adapter(&self) -> &A {
        &self.adapter
    }

    /// Declares a namespace (`/` always exists).
    pub fn add_namespace(&mut self, name: impl Into<Str>) {
        let name = name.into();
        if !self.namespaces.contains(&name) {
            self.namespaces.push(name);
        }
    }

    /// Declares dynamic namespaces: a CONNECT to an unknown namespace whose name satisfies
    /// `predicate` creates it (the reference's `io.of(regex | fn)`).
    pub fn add_dynamic_namespace(
        &mut self,
        predicate: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) {
        self.dynamic.push(Box::new(predicate));
    }

    /// The namespaces that exist now (declared, and created dynamically).
    pub fn namespaces(&self) -> &[Str] {
        &self.namespaces
    }

    fn schedule(&mut self, at: Instant, timer: Timer) {
        self.timer_seq += 1;
        self.timers.insert((at, self.timer_seq), timer);
    }

    fn send(&mut self, client: ClientId, packet: &Packet, volatile: bool) {
        self.send_encoded(client, &packet.encode(), volatile, true);
    }

    fn send_encoded(
        &mut self,
        client: ClientId,
        messages: &[Data],
        volatile: bool,
        compress: bool,
    ) {
        for data in messages {
            self.transmits.push_back(Transmit::Send {
                client,
                data: data.clone(),
                volatile,
                compress,
            });
        }
    }

    // ---- connections --------------------------------------------------------------------

    /// A new Engine.IO connection. v4 clients are connected to `/` at once (an
    /// [`Event::Connecting`] follows); v5 clients must CONNECT within `connect_timeout`.
    pub fn handle_connection(
        &mut self,
        now: Instant,
        client: ClientId,
        engine_sid: &str,
        protocol: ProtocolVersion,
    ) {
        self.clients.insert(
            client,
            ClientEntry {
                protocol,
                engine_sid: Str::from(engine_sid.to_owned()),
                decoder: Decoder::new(self.config.decoder),
                sockets: BTreeMap::new(),
                connected_once: false,
            },
        );
        match protocol {
            ProtocolVersion::V4 => self.connect(now, client, Str::from_static("/"), None),
            ProtocolVersion::V5 => {
                self.schedule(
                    now + self.config.connect_timeout,
                    Timer::ConnectTimeout(client),
                );
            }
        }
    }

    /// An Engine.IO message from connection `client`.
    pub fn handle_message(&mut self, now: Instant, client: ClientId, data: Data) {
        let Some(entry) = self.clients.get_mut(&client) else {
            return;
        };
        match entry.decoder.decode(data) {
            Ok(Some(packet)) => self.on_packet(now, client, packet),
            Ok(None) => {}
            Err(_) => self.close_client(now, client, DisconnectReason::ParseError),
        }
    }

    /// Engine.IO connection `client` closed.
    pub fn handle_close(&mut self, now: Instant, client: ClientId, reason: CloseReason) {
        self.drop_client(now, client, DisconnectReason::from_engine(reason));
    }

    fn on_packet(&mut self, now: Instant, client: ClientId, packet: Packet) {
        let Some(entry) = self.clients.get(&client) else {
            return;
        };
        let protocol = entry.protocol;
        let (namespace, query_auth) = match protocol {
            ProtocolVersion::V5 => (packet.namespace.clone(), None),
            ProtocolVersion::V4 => split_v4_namespace(&packet.namespace),
        };
        let socket = entry.sockets.get(&namespace).cloned();
        match (socket, packet.kind) {
            (None, PacketType::Connect) => {
                let auth = match protocol {
                    ProtocolVersion::V5 => packet.payload.clone(),
                    ProtocolVersion::V4 => query_auth,
                };
                self.connect(now, client, namespace, auth);
            }
            // socket.io-client 2.x never asks for `/` (it is joined on connection).
            (Some(_), PacketType::Connect) if protocol == ProtocolVersion::V4 => {}
            (Some(socket), kind)
                if kind != PacketType::Connect
                    && kind != PacketType::ConnectError
                    && self
                        .sockets
                        .get(&socket)
                        .is_some_and(|s| s.state == SocketState::Connected) =>
            {
                self.on_socket_packet(now, socket, packet);
            }
            _ => self.close_client(now, client, DisconnectReason::ForcedServerClose),
        }
    }

    fn on_socket_packet(&mut self, now: Instant, socket: SocketId, packet: Packet) {
        match packet.kind {
            PacketType::Event | PacketType::BinaryEvent => {
                self.events.push_back(Event::Event { socket, packet });
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let Some(id) = packet.id else { return };
                let Some(pending) = self.acks.remove(&(socket.clone(), id)) else {
                    return;
                };
                if pending.broadcast {
                    self.on_broadcast_ack(id, socket, packet);
                } else {
                    self.events.push_back(Event::Ack { socket, id, packet });
                }
            }
            PacketType::Disconnect => {
                self.remove_socket(now, &socket, DisconnectReason::ClientNamespaceDisconnect);
            }
            PacketType::Connect | PacketType::ConnectError => {}
        }
    }

    fn connect(&mut self, now: Instant, client: ClientId, namespace: Str, auth: Option<Str>) {
        let Some(entry) = self.clients.get(&client) else {
            return;
        };
        let protocol = entry.protocol;
        if !self.namespaces.contains(&namespace) {
            if self.dynamic.iter().any(|p| p(namespace.as_str())) {
                self.namespaces.push(namespace.clone());
            } else {
                let payload = Str::from_static(r#"{"message":"Invalid namespace"}"#);
                self.send(client, &Packet::connect_error(namespace, payload), false);
                return;
            }
        }
        // Recovery: a v5 CONNECT with `pid` and `offset` (taken out of the auth the
        // application sees) from a session disconnected recently.
        let mut restore = None;
        let mut recovered_id = None;
        let mut pid = None;
        let mut auth = auth;
        if self.config.recovery.is_some() && protocol == ProtocolVersion::V5 {
            if let Some((old_pid, offset, rest)) = auth.as_ref().and_then(recovery_fields) {
                auth = rest;
                if let Some((id, found)) = self.restore_session(now, &old_pid, &offset, &namespace)
                {
                    recovered_id = Some(id);
                    restore = Some(found);
                    pid = Some(old_pid);
                }
            }
            if pid.is_none() {
                pid = Some(make_id(self.ids.as_mut()));
            }
        }
        let socket = match (recovered_id, protocol) {
            (Some(id), _) => id,
            (None, ProtocolVersion::V5) => SocketId(make_id(self.ids.as_mut())),
            (None, ProtocolVersion::V4) => {
                let sid = &self.clients[&client].engine_sid;
                if namespace.as_bytes() == b"/" {
                    SocketId(sid.clone())
                } else {
                    SocketId(Str::from(format!("{namespace}#{sid}")))
                }
            }
        };
        let recovered = restore.is_some();
        self.sockets.insert(
            socket.clone(),
            SocketEntry {
                client,
                namespace: namespace.clone(),
                state: SocketState::Connecting,
                auth: auth.clone(),
                pid,
                restore,
            },
        );
        if let Some(entry) = self.clients.get_mut(&client) {
            entry.sockets.insert(namespace.clone(), socket.clone());
        }
        let skip = recovered && self.config.recovery.is_some_and(|r| r.skip_middlewares);
        if skip {
            let _ = self.accept(now, &socket);
        } else {
            self.events.push_back(Event::Connecting {
                socket,
                namespace,
                auth,
                client,
            });
        }
    }

    fn restore_session(
        &mut self,
        now: Instant,
        pid: &Str,
        offset: &str,
        namespace: &Str,
    ) -> Option<(SocketId, Restore)> {
        let session = self.sessions.get(pid)?;
        if session.until < now
            || &session.namespace != namespace
            || self.sockets.contains_key(&session.socket)
        {
            return None;
        }
        let offset: u64 = offset.parse().ok()?;
        let index = self.packets.iter().position(|p| p.offset == offset)?;
        let session = self.sessions.remove(pid)?;
        let missed = self
            .packets
            .iter()
            .skip(index + 1)
            .filter(|p| {
                &p.namespace == namespace
                    && (p.rooms.is_empty() || p.rooms.iter().any(|r| session.rooms.contains(r)))
                    && !p.except.iter().any(|r| session.rooms.contains(r))
            })
            .map(|p| p.messages.clone())
            .collect();
        Some((
            session.socket,
            Restore {
                rooms: session.rooms,
                missed,
            },
        ))
    }

    /// Accepts a connecting socket: it joins its namespace and its own room, the client gets
    /// the CONNECT answer (and, when recovered, the packets it missed).
    pub fn accept(&mut self, now: Instant, socket: &SocketId) -> Result<(), Error> {
        let entry = self.sockets.get_mut(socket).ok_or(Error::UnknownSocket)?;
        if entry.state != SocketState::Connecting {
            return Err(Error::NotConnecting);
        }
        entry.state = SocketState::Connected;
        let (client, namespace, pid, restore) = (
            entry.client,
            entry.namespace.clone(),
            entry.pid.clone(),
            entry.restore.take(),
        );
        let Some(client_entry) = self.clients.get_mut(&client) else {
            return Err(Error::UnknownSocket);
        };
        client_entry.connected_once = true;
        let protocol = client_entry.protocol;
        let mut rooms = vec![socket.room()];
        if let Some(r) = &restore {
            rooms.extend(r.rooms.iter().filter(|x| **x != socket.room()).cloned());
        }
        self.adapter.add_all(&namespace, socket, &rooms);
        let reply = match protocol {
            ProtocolVersion::V4 => Packet::connect(namespace.clone(), None),
            ProtocolVersion::V5 => {
                let mut json = String::with_capacity(64);
                json.push_str("{\"sid\":");
                json.push_str(&serde_json::to_string(socket.as_str()).unwrap_or_default());
                if let Some(pid) = &pid {
                    json.push_str(",\"pid\":");
                    json.push_str(&serde_json::to_string(pid.as_str()).unwrap_or_default());
                }
                json.push('}');
                Packet::connect(namespace.clone(), Some(Str::from(json)))
            }
        };
        self.send(client, &reply, false);
        let recovered = restore.is_some();
        if let Some(restore) = restore {
            for messages in restore.missed {
                self.send_encoded(client, &messages, false, true);
            }
        }
        let _ = now;
        self.events.push_back(Event::Connected {
            socket: socket.clone(),
            namespace,
            recovered,
        });
        Ok(())
    }

    /// Refuses a connecting socket: the client gets CONNECT_ERROR with `message` (and
    /// `data`, raw JSON) in v5, the message as a string in v4.
    pub fn refuse(
        &mut self,
        socket: &SocketId,
        message: &str,
        data: Option<Str>,
    ) -> Result<(), Error> {
        let entry = self.sockets.get(socket).ok_or(Error::UnknownSocket)?;
        if entry.state != SocketState::Connecting {
            return Err(Error::NotConnecting);
        }
        let Some(entry) = self.sockets.remove(socket) else {
            return Err(Error::UnknownSocket);
        };
        let protocol = self
            .clients
            .get(&entry.client)
            .map_or(ProtocolVersion::V5, |c| c.protocol);
        if let Some(c) = self.clients.get_mut(&entry.client) {
            c.sockets.remove(&entry.namespace);
        }
        let message_json = serde_json::to_string(message).unwrap_or_default();
        let payload = match (protocol, data) {
            (ProtocolVersion::V4, _) => message_json,
            (ProtocolVersion::V5, None) => format!("{{\"message\":{message_json}}}"),
            (ProtocolVersion::V5, Some(data)) => {
                format!("{{\"message\":{message_json},\"data\":{}}}", data.as_str())
            }
        };
        self.send(
            entry.client,
            &Packet::connect_error(entry.namespace, Str::from(payload)),
            false,
        );
        Ok(())
    }

    fn remove_socket(&mut self, now: Instant, socket: &SocketId, reason: DisconnectReason) {
        let Some(entry) = self.sockets.remove(socket) else {
            return;
        };
        if let Some(c) = self.clients.get_mut(&entry.client) {
            c.sockets.remove(&entry.namespace);
        }
        self.acks.retain(|(s, _), _| s != socket);
        if entry.state != SocketState::Connected {
            return;
        }
        let rooms = self.adapter.rooms_of(&entry.namespace, socket);
        self.adapter.del_all(&entry.namespace, socket);
        if let (Some(recovery), Some(pid)) = (self.config.recovery, &entry.pid)
            && reason.is_recoverable()
        {
            self.sessions.insert(
                pid.clone(),
                SavedSession {
                    socket: socket.clone(),
                    namespace: entry.namespace.clone(),
                    rooms: rooms.clone(),
                    until: now + recovery.max_disconnection_duration,
                },
            );
            self.schedule(now + recovery.max_disconnection_duration, Timer::Prune);
        }
        self.events.push_back(Event::Disconnected {
            socket: socket.clone(),
            namespace: entry.namespace,
            reason,
            rooms,
        });
    }

    fn drop_client(&mut self, now: Instant, client: ClientId, reason: DisconnectReason) {
        let Some(entry) = self.clients.remove(&client) else {
            return;
        };
        for socket in entry.sockets.values() {
            self.remove_socket(now, socket, reason);
        }
    }

    fn close_client(&mut self, now: Instant, client: ClientId, reason: DisconnectReason) {
        self.drop_client(now, client, reason);
        self.transmits.push_back(Transmit::Close { client });
    }

    // ---- commands on sockets ------------------------------------------------------------

    fn connected(&self, socket: &SocketId) -> Result<&SocketEntry, Error> {
        match self.sockets.get(socket) {
            Some(e) if e.state == SocketState::Connected => Ok(e),
            _ => Err(Error::UnknownSocket),
        }
    }

    /// Emits event `name` with `args` (a sequence; see [`Packet::event`]) to one socket.
    /// With recovery on, the packet gets an offset and is kept for replay.
    pub fn emit<T: Serialize + ?Sized>(
        &mut self,
        now: Instant,
        socket: &SocketId,
        name: &str,
        args: &T,
    ) -> Result<(), Error> {
        let namespace = self.connected(socket)?.namespace.clone();
        let packet = event_packet(&namespace, name, args)?;
        self.emit_packet(now, socket, packet)
    }

    /// Sends a packet as it is to one socket (its namespace is set to the socket's).
    pub fn emit_packet(
        &mut self,
        now: Instant,
        socket: &SocketId,
        mut packet: Packet,
    ) -> Result<(), Error> {
        let entry = self.connected(socket)?;
        packet.namespace = entry.namespace.clone();
        if self.config.recovery.is_some() && is_plain_event(&packet) {
            // As the reference: with recovery on, an emit is a broadcast to the socket's room.
            let opts = BroadcastOptions {
                namespace: packet.namespace.clone(),
                rooms: vec![socket.room()],
                ..Default::default()
            };
            self.broadcast_packet(now, &opts, packet);
            return Ok(());
        }
        let client = entry.client;
        self.send(client, &packet, false);
        Ok(())
    }

    /// Emits `name` with `args` and waits for the client's ack: [`Event::Ack`] with the
    /// returned id, or [`Event::AckTimeout`] after `timeout` (default `ack_timeout`).
    pub fn emit_with_ack<T: Serialize + ?Sized>(
        &mut self,
        now: Instant,
        socket: &SocketId,
        name: &str,
        args: &T,
        timeout: Option<Duration>,
    ) -> Result<u64, Error> {
        let namespace = self.connected(socket)?.namespace.clone();
        let packet = event_packet(&namespace, name, args)?;
        self.emit_packet_with_ack(now, socket, packet, timeout)
    }

    /// As [`emit_with_ack`](Self::emit_with_ack), for an event packet built already (its
    /// id and namespace are set here).
    pub fn emit_packet_with_ack(
        &mut self,
        now: Instant,
        socket: &SocketId,
        packet: Packet,
        timeout: Option<Duration>,
    ) -> Result<u64, Error> {
        let entry = self.connected(socket)?;
        let (client, namespace) = (entry.client, entry.namespace.clone());
        let id = self.next_ack;
        self.next_ack += 1;
        let mut packet = packet.with_id(id);
        packet.namespace = namespace;
        self.send(client, &packet, false);
        self.acks
            .insert((socket.clone(), id), PendingAck { broadcast: false });
        let deadline = now + timeout.unwrap_or(self.config.ack_timeout);
        self.schedule(deadline, Timer::Ack(socket.clone(), id));
        Ok(id)
    }

    /// Answers event packet `id` of `socket` with `args` (a sequence).
    pub fn ack<T: Serialize + ?Sized>(
        &mut self,
        socket: &SocketId,
        id: u64,
        args: &T,
    ) -> Result<(), Error> {
        let entry = self.connected(socket)?;
        let packet = Packet::ack(entry.namespace.clone(), id, args)
            .map_err(|e| Error::Serialize(e.to_string()))?;
        let client = entry.client;
        self.send(client, &packet, false);
        Ok(())
    }

    /// Adds `socket` to `rooms`.
    pub fn join(&mut self, socket: &SocketId, rooms: &[Room]) -> Result<(), Error> {
        let namespace = self.connected(socket)?.namespace.clone();
        self.adapter.add_all(&namespace, socket, rooms);
        Ok(())
    }

    /// Removes `socket` from `room`.
    pub fn leave(&mut self, socket: &SocketId, room: &Room) -> Result<(), Error> {
        let namespace = self.connected(socket)?.namespace.clone();
        self.adapter.del(&namespace, socket, room);
        Ok(())
    }

    /// The rooms `socket` is in.
    pub fn rooms(&self, socket: &SocketId) -> Result<Vec<Room>, Error> {
        let namespace = &self.connected(socket)?.namespace;
        Ok(self.adapter.rooms_of(namespace, socket))
    }

    /// The auth a socket connected with.
    pub fn auth(&self, socket: &SocketId) -> Option<&Str> {
        self.sockets.get(socket).and_then(|s| s.auth.as_ref())
    }

    /// The Engine.IO connection of a socket.
    pub fn client_of(&self, socket: &SocketId) -> Option<ClientId> {
        self.sockets.get(socket).map(|s| s.client)
    }

    /// Disconnects `socket` from its namespace ("server namespace disconnect"); with
    /// `close`, closes its whole Engine.IO connection too.
    pub fn disconnect(
        &mut self,
        now: Instant,
        socket: &SocketId,
        close: bool,
    ) -> Result<(), Error> {
        let entry = self.connected(socket)?;
        let (client, namespace) = (entry.client, entry.namespace.clone());
        self.send(client, &Packet::disconnect(namespace), false);
        if close {
            self.drop_client(now, client, DisconnectReason::ServerNamespaceDisconnect);
            self.transmits.push_back(Transmit::Close { client });
        } else {
            self.remove_socket(now, socket, DisconnectReason::ServerNamespaceDisconnect);
        }
        Ok(())
    }

    // ---- broadcasts ---------------------------------------------------------------------

    /// Emits `name` with `args` to every socket `opts` selects. The packet is encoded once.
    pub fn broadcast<T: Serialize + ?Sized>(
        &mut self,
        now: Instant,
        opts: &BroadcastOptions,
        name: &str,
        args: &T,
    ) -> Result<usize, Error> {
        let packet = event_packet(&opts.ns(), name, args)?;
        Ok(self.broadcast_packet(now, opts, packet))
    }

    /// Sends a packet to every socket `opts` selects; returns how many.
    pub fn broadcast_packet(
        &mut self,
        now: Instant,
        opts: &BroadcastOptions,
        mut packet: Packet,
    ) -> usize {
        let namespace = opts.ns();
        packet.namespace = namespace.clone();
        let targets = self.adapter.sockets(&namespace, &opts.rooms, &opts.except);
        if let (Some(_), false, true) =
            (self.config.recovery, opts.volatile, is_plain_event(&packet))
        {
            let offset = self.next_offset;
            self.next_offset += 1;
            append_offset(&mut packet, offset);
            self.packets.push_back(StoredPacket {
                offset,
                at: now,
                namespace: namespace.clone(),
                rooms: opts.rooms.clone(),
                except: opts.except.clone(),
                messages: packet.encode(),
            });
        }
        let messages = packet.encode();
        let mut n = 0;
        for socket in &targets {
            if let Some(entry) = self
                .sockets
                .get(socket)
                .filter(|e| e.state == SocketState::Connected)
            {
                let client = entry.client;
                self.send_encoded(client, &messages, opts.volatile, !opts.uncompressed);
                n += 1;
            }
        }
        n
    }

    /// Emits to every selected socket with one ack id and gathers the answers:
    /// [`Event::BroadcastAck`] once all answered or after `timeout` (default
    /// `ack_timeout`). Returns the id.
    pub fn broadcast_with_ack<T: Serialize + ?Sized>(
        &mut self,
        now: Instant,
        opts: &BroadcastOptions,
        name: &str,
        args: &T,
        timeout: Option<Duration>,
    ) -> Result<u64, Error> {
        let packet = event_packet(&opts.ns(), name, args)?;
        Ok(self.broadcast_packet_with_ack(now, opts, packet, timeout))
    }

    /// As [`broadcast_with_ack`](Self::broadcast_with_ack), for an event packet built
    /// already (its id and namespace are set here).
    pub fn broadcast_packet_with_ack(
        &mut self,
        now: Instant,
        opts: &BroadcastOptions,
        packet: Packet,
        timeout: Option<Duration>,
    ) -> u64 {
        let namespace = opts.ns();
        let id = self.next_ack;
        self.next_ack += 1;
        let mut packet = packet.with_id(id);
        packet.namespace = namespace.clone();
        let messages = packet.encode();
        let mut targets = Vec::new();
        for socket in self.adapter.sockets(&namespace, &opts.rooms, &opts.except) {
            if let Some(entry) = self
                .sockets
                .get(&socket)
                .filter(|e| e.state == SocketState::Connected)
            {
                let client = entry.client;
                self.send_encoded(client, &messages, opts.volatile, !opts.uncompressed);
                self.acks
                    .insert((socket.clone(), id), PendingAck { broadcast: true });
                targets.push(socket);
            }
        }
        let expected = targets.len();
        self.broadcast_acks.insert(
            id,
            BroadcastAck {
                expected,
                targets,
                responses: Vec::new(),
            },
        );
        if expected == 0 {
            self.finish_broadcast_ack(id, false);
        } else {
            self.schedule(
                now + timeout.unwrap_or(self.config.ack_timeout),
                Timer::BroadcastAck(id),
            );
        }
        id
    }

    fn on_broadcast_ack(&mut self, id: u64, socket: SocketId, packet: Packet) {
        let Some(b) = self.broadcast_acks.get_mut(&id) else {
            return;
        };
        b.responses.push((socket, packet));
        if b.responses.len() == b.expected {
            self.finish_broadcast_ack(id, false);
        }
    }

    fn finish_broadcast_ack(&mut self, id: u64, timed_out: bool) {
        let Some(b) = self.broadcast_acks.remove(&id) else {
            return;
        };
        for socket in &b.targets {
            self.acks.remove(&(socket.clone(), id));
        }
        self.events.push_back(Event::BroadcastAck {
            id,
            responses: b.responses,
            expected: b.expected,
            timed_out,
        });
    }

    /// The sockets `opts` selects, with their rooms.
    pub fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketInfo> {
        let namespace = opts.ns();
        self.adapter
            .sockets(&namespace, &opts.rooms, &opts.except)
            .into_iter()
            .filter_map(|id| {
                let entry = self.sockets.get(&id)?;
                Some(SocketInfo {
                    rooms: self.adapter.rooms_of(&namespace, &id),
                    namespace: namespace.clone(),
                    auth: entry.auth.clone(),
                    id,
                })
            })
            .collect()
    }

    /// Makes every socket `opts` selects join `rooms`.
    pub fn sockets_join(&mut self, opts: &BroadcastOptions, rooms: &[Room]) {
        let namespace = opts.ns();
        for socket in self.adapter.sockets(&namespace, &opts.rooms, &opts.except) {
            self.adapter.add_all(&namespace, &socket, rooms);
        }
    }

    /// Makes every socket `opts` selects leave `rooms`.
    pub fn sockets_leave(&mut self, opts: &BroadcastOptions, rooms: &[Room]) {
        let namespace = opts.ns();
        for socket in self.adapter.sockets(&namespace, &opts.rooms, &opts.except) {
            for room in rooms {
                self.adapter.del(&namespace, &socket, room);
            }
        }
    }

    /// Disconnects every socket `opts` selects (closing their connections with `close`).
    pub fn disconnect_sockets(&mut self, now: Instant, opts: &BroadcastOptions, close: bool) {
        let namespace = opts.ns();
        for socket in self.adapter.sockets(&namespace, &opts.rooms, &opts.except) {
            let _ = self.disconnect(now, &socket, close);
        }
    }

    /// Emits to the other servers of a cluster through the adapter; returns how many will
    /// receive it (none in memory).
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &mut self,
        namespace: &Str,
        name: &str,
        args: &T,
    ) -> Result<usize, Error> {
        let packet = event_packet(namespace, name, args)?;
        Ok(self.adapter.server_side_emit(namespace, &packet))
    }

    /// Shuts down: every socket disconnects with "server shutting down" and every
    /// connection is closed.
    pub fn shutdown(&mut self, now: Instant) {
        let clients: Vec<ClientId> = self.clients.keys().copied().collect();
        for client in clients {
            self.close_client(now, client, DisconnectReason::ServerShuttingDown);
        }
    }

    // ---- time and outputs ---------------------------------------------------------------

    /// Fires the timers due at `now`. Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let timer = entry.remove();
            match timer {
                Timer::ConnectTimeout(client) => {
                    if self
                        .clients
                        .get(&client)
                        .is_some_and(|c| !c.connected_once && c.sockets.is_empty())
                    {
                        self.clients.remove(&client);
                        self.transmits.push_back(Transmit::Close { client });
                    }
                }
                Timer::Ack(socket, id) => {
                    if self.acks.remove(&(socket.clone(), id)).is_some() {
                        self.events.push_back(Event::AckTimeout { socket, id });
                    }
                }
                Timer::BroadcastAck(id) => self.finish_broadcast_ack(id, true),
                Timer::Prune => self.prune(now),
            }
        }
    }

    fn prune(&mut self, now: Instant) {
        let Some(recovery) = self.config.recovery else {
            return;
        };
        self.sessions.retain(|_, s| s.until > now);
        while self
            .packets
            .front()
            .is_some_and(|p| p.at + recovery.max_disconnection_duration <= now)
        {
            self.packets.pop_front();
        }
    }

    /// The next message to send or connection to close.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.keys().next().map(|(at, _)| *at)
    }
}

fn event_packet<T: Serialize + ?Sized>(
    namespace: &Str,
    name: &str,
    args: &T,
) -> Result<Packet, Error> {
    if crate::RESERVED_EVENTS.contains(&name) {
        return Err(Error::ReservedEvent(name.to_owned()));
    }
    Packet::event(namespace.clone(), name, args).map_err(|e| Error::Serialize(e.to_string()))
}

/// An event without an ack id: what recovery numbers and replays.
fn is_plain_event(packet: &Packet) -> bool {
    matches!(packet.kind, PacketType::Event | PacketType::BinaryEvent) && packet.id.is_none()
}

/// Appends the recovery offset as the event's last argument.
fn append_offset(packet: &mut Packet, offset: u64) {
    let Some(payload) = &packet.payload else {
        return;
    };
    let bytes = payload.as_bytes();
    if bytes.last() != Some(&b']') {
        return;
    }
    let mut out = Vec::with_capacity(bytes.len() + 24);
    out.extend_from_slice(&bytes[..bytes.len() - 1]);
    out.extend_from_slice(format!(",\"{offset}\"]").as_bytes());
    packet.payload = Str::from_utf8(Bytes::from(out)).ok();
}

/// Splits a v4 CONNECT namespace `"/admin?token=1"` into the name and an auth object made
/// of its query parameters (`{"token":"1"}`).
fn split_v4_namespace(namespace: &Str) -> (Str, Option<Str>) {
    let text = namespace.as_str();
    let Some(q) = text.find('?') else {
        return (namespace.clone(), None);
    };
    let name = namespace
        .slice(0..q)
        .unwrap_or_else(|| Str::from_static("/"));
    let map: serde_json::Map<String, serde_json::Value> =
        form_urlencoded::parse(&text.as_bytes()[q + 1..])
            .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
            .collect();
    (
        name,
        Some(Str::from(serde_json::Value::Object(map).to_string())),
    )
}

/// `pid` and `offset` from a CONNECT auth object, and the auth without them.
fn recovery_fields(auth: &Str) -> Option<(Str, String, Option<Str>)> {
    let serde_json::Value::Object(mut map) = serde_json::from_slice(auth.as_bytes()).ok()? else {
        return None;
    };
    let pid = match map.remove("pid")? {
        serde_json::Value::String(s) => s,
        _ => return None,
    };
    let offset = match map.remove("offset")? {
        serde_json::Value::String(s) => s,
        _ => return None,
    };
    let rest = Str::from(serde_json::Value::Object(map).to_string());
    Some((Str::from(pid), offset, Some(rest)))
}
