#![no_main]
//! The Socket.IO server engine driven as an adapter and an application drive it, by an
//! arbitrary sequence of connections (v4 and v5), client messages (well-formed packets from a
//! dictionary, acks to what the server asked, recovery CONNECTs with a pid and offset the
//! clients were given, arbitrary text and binary), closes with every reason, time steps and
//! timer ticks, connect decisions, and commands on the sockets seen in events (emit, emit
//! with ack, ack, join, leave, broadcast with rooms/except/volatile/compress, broadcast with
//! ack, disconnect, disconnect_sockets, sockets_join/leave, fetch_sockets, shutdown). After
//! every step the driver drains `poll_transmit` and `poll_event`; every client decodes what
//! it is sent with its own `Decoder`.
//!
//! Oracles beyond "no panic":
//! - sends go only to connections the adapter opened, never after the engine closed them
//!   (`Transmit::Close`) or the adapter reported them closed; each is closed at most once;
//!   every message a client is sent decodes;
//! - socket lifecycle: `Connecting` only for a live connection and a socket not in use,
//!   `Connected` only after `Connecting` (or as a recovery of a socket that was connected
//!   before), `Disconnected` only for a connected socket and once per connection; events and
//!   acks only from connected sockets; once a connection is closed none of its sockets is
//!   connected; the engine's view (`rooms`, `client_of`, `accept`/`refuse`/`emit` results)
//!   agrees with the events;
//! - the CONNECT answer carries the socket id (v5) and a pid exactly with recovery on;
//! - acks: ids are never reused; `Ack`/`AckTimeout` only for an id `emit_with_ack` returned
//!   for that socket, at most once, and never after the socket disconnected; `BroadcastAck`
//!   at most once per id, with at most `expected` distinct responders, all of them when not
//!   timed out;
//! - recovery: every non-volatile plain event carries an offset, increasing per connection
//!   and namespace;
//! - after `handle_timeout(now)`, `poll_timeout` is after `now` or `None`;
//! - `shutdown` closes every connection and disconnects every socket, and the timers then
//!   report every broadcast ack and leave nothing scheduled.
//!
//! Input: one configuration byte (bit 0: recovery, bit 1: recovery skips middlewares, bit 2:
//! small decoder limits), then operations, each an opcode byte (low 6 bits modulo 24 pick the
//! operation, bits 6-7 are its flags) and its arguments.
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use sockeye_engineio::{CloseReason, Data, Str};
use sockeye_socketio::server::{
    BroadcastOptions, ClientId, Error, Event, IdSource, ProtocolVersion, RecoveryConfig, Server,
    ServerConfig, SocketId, Transmit,
};
use sockeye_socketio::{Decoder, DecoderConfig, Packet, PacketType};

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Client packets, mostly well-formed, so that short inputs reach every state.
const TEXTS: [&str; 24] = [
    "0",
    "0/chat,",
    "0/chat,{\"token\":\"1\"}",
    "0/admin,{\"token\":\"1\"}",
    "0/dyn-1,",
    "0/chat?token=abc,",
    "1",
    "1/chat,",
    "2[\"hello\",1]",
    "2/chat,[\"hi\",{\"a\":[1,2]}]",
    "212[\"question\"]",
    "2/chat,456[\"project:delete\",123]",
    "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]",
    "52-/chat,9[\"two\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
    "4{\"message\":\"x\"}",
    "3[\"stray\"]",
    "2[\"disconnect\"]",
    "51-[\"hello\",{\"_placeholder\":true,\"num\":\"splice\"}]",
    "0/dyn-2,{\"x\":1}",
    "1/dyn-1,",
    "2/dyn-1,[\"dyn\"]",
    "0{}",
    "0{\"pid\":\"nope\",\"offset\":\"0\"}",
    "1/admin,",
];

const NAMESPACES: [&str; 5] = ["", "/", "/chat", "/dyn-1", "/admin"];
const ROOMS: [&str; 3] = ["a", "b", "c"];
const EVENT_NAMES: [&str; 4] = ["news", "message", "disconnect", "x"];
const TIMEOUTS: [Option<Duration>; 4] = [
    None,
    Some(Duration::ZERO),
    Some(Duration::from_millis(50)),
    Some(Duration::from_millis(2_000)),
];
const REASONS: [CloseReason; 6] = [
    CloseReason::TransportClose,
    CloseReason::TransportError,
    CloseReason::PingTimeout,
    CloseReason::ParseError,
    CloseReason::ForcedClose,
    CloseReason::ForcedServerClose,
];

fn args(pick: u8) -> Value {
    match pick % 4 {
        0 => json!([]),
        1 => json!([1]),
        2 => json!(["x", {"y": null}]),
        _ => json!([[1, 2], "two", 3.5]),
    }
}

/// A binary event or ack with one attachment.
fn binary_event(bytes: &[u8]) -> Packet {
    Packet::event_raw(
        "/",
        Str::from_static("[\"bin\",{\"_placeholder\":true,\"num\":0}]"),
        vec![Bytes::copy_from_slice(bytes)],
    )
}

#[derive(Debug, Default)]
struct CountingIds(u64);

impl IdSource for CountingIds {
    fn next_id(&mut self) -> [u8; 15] {
        self.0 += 1;
        let mut id = [0; 15];
        id[..8].copy_from_slice(&self.0.to_le_bytes());
        id
    }
}

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// A length byte, then up to that many bytes.
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.byte()?).min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
}

/// An Engine.IO connection, as the adapter and its client see it.
struct Client {
    id: ClientId,
    protocol: ProtocolVersion,
    /// The client's decoder for what the server sends.
    decoder: Decoder,
    /// The engine asked to close it.
    closed_by_engine: bool,
    /// The adapter reported it closed (`handle_close`).
    closed_by_us: bool,
    /// Namespace → index in `Driver::tokens`, from CONNECT answers with a pid.
    tokens: HashMap<Str, usize>,
    /// Last recovery offset received per namespace.
    offsets: HashMap<Str, u64>,
    /// (namespace, sid) of every CONNECT answer.
    answers: HashSet<(Str, Str)>,
}

impl Client {
    fn closed(&self) -> bool {
        self.closed_by_engine || self.closed_by_us
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    Connected,
    Gone,
}

struct Sock {
    state: State,
    client: ClientId,
    namespace: Str,
    /// How many times it was connected.
    connections: u32,
}

/// What a client keeps to recover a session: its namespace, pid and last offset.
struct Token {
    namespace: Str,
    pid: String,
    offset: Option<u64>,
}

struct Driver {
    server: Server,
    recovery: bool,
    skip_middlewares: bool,
    now: Instant,
    clients: Vec<Client>,
    index: HashMap<ClientId, usize>,
    next_client: u64,
    /// Every socket seen in an event, in order.
    seen: Vec<SocketId>,
    sockets: HashMap<SocketId, Sock>,
    /// Sockets waiting for accept/refuse.
    connecting: Vec<SocketId>,
    /// Ack ids ever returned.
    ack_ids: HashSet<u64>,
    /// `emit_with_ack` ids not reported yet.
    emit_acks: HashSet<(SocketId, u64)>,
    /// `broadcast_with_ack` ids not reported yet.
    broadcast_acks: HashSet<u64>,
    /// Events with an ack id the clients sent.
    client_requests: Vec<(SocketId, u64)>,
    /// Events with an ack id the server sent: (client, namespace, id).
    server_requests: Vec<(ClientId, Str, u64)>,
    tokens: Vec<Token>,
}

impl Driver {
    fn new(control: u8) -> Self {
        let recovery = control & 1 != 0;
        let skip_middlewares = control & 2 != 0;
        let decoder = if control & 4 != 0 {
            DecoderConfig {
                max_attachments: 2,
                max_attachment_bytes: 16,
            }
        } else {
            DecoderConfig::default()
        };
        let config = ServerConfig {
            connect_timeout: Duration::from_millis(400),
            ack_timeout: Duration::from_millis(300),
            decoder,
            recovery: recovery.then_some(RecoveryConfig {
                max_disconnection_duration: Duration::from_millis(1_000),
                skip_middlewares,
            }),
        };
        let mut server = Server::new(config, CountingIds::default());
        server.add_namespace("/chat");
        server.add_dynamic_namespace(|name| name.starts_with("/dyn-"));
        Self {
            server,
            recovery,
            skip_middlewares,
            now: base(),
            clients: Vec::new(),
            index: HashMap::new(),
            next_client: 0,
            seen: Vec::new(),
            sockets: HashMap::new(),
            connecting: Vec::new(),
            ack_ids: HashSet::new(),
            emit_acks: HashSet::new(),
            broadcast_acks: HashSet::new(),
            client_requests: Vec::new(),
            server_requests: Vec::new(),
            tokens: Vec::new(),
        }
    }

    /// Picks a connection opened so far; 0 is the latest.
    fn client(&self, pick: u8) -> Option<ClientId> {
        let n = self.clients.len();
        (n > 0).then(|| self.clients[n - 1 - usize::from(pick) % n].id)
    }

    /// Picks a socket seen so far; 0 is the latest.
    fn socket(&self, pick: u8) -> Option<SocketId> {
        let n = self.seen.len();
        (n > 0).then(|| self.seen[n - 1 - usize::from(pick) % n].clone())
    }

    fn state(&self, socket: &SocketId) -> State {
        self.sockets.get(socket).map_or(State::Gone, |s| s.state)
    }

    fn connection(&mut self, protocol: ProtocolVersion) -> ClientId {
        self.next_client += 1;
        let id = ClientId(self.next_client);
        self.server
            .handle_connection(self.now, id, &format!("eio{}", self.next_client), protocol);
        self.index.insert(id, self.clients.len());
        self.clients.push(Client {
            id,
            protocol,
            decoder: Decoder::new(DecoderConfig::default()),
            closed_by_engine: false,
            closed_by_us: false,
            tokens: HashMap::new(),
            offsets: HashMap::new(),
            answers: HashSet::new(),
        });
        id
    }

    fn message(&mut self, client: ClientId, data: Data) {
        self.server.handle_message(self.now, client, data);
    }

    fn send_packet(&mut self, client: ClientId, packet: &Packet) {
        for data in packet.encode() {
            self.message(client, data);
        }
    }

    fn opts(&self, b1: u8, b2: u8) -> BroadcastOptions {
        let mut opts = BroadcastOptions::namespace(NAMESPACES[usize::from(b1 % 5)]);
        opts.volatile = b1 & 0x10 != 0;
        opts.uncompressed = b1 & 0x20 != 0;
        opts.local = b1 & 0x40 != 0;
        let latest = self.seen.last().map(SocketId::room);
        for (i, room) in ROOMS.iter().enumerate() {
            if b2 & (1 << i) != 0 {
                opts.rooms.push(Str::from_static(room));
            }
            if b2 & (0x10 << i) != 0 {
                opts.except.push(Str::from_static(room));
            }
        }
        if let Some(room) = latest {
            if b2 & 0x08 != 0 {
                opts.rooms.push(room.clone());
            }
            if b2 & 0x80 != 0 {
                opts.except.push(room);
            }
        }
        opts
    }

    /// A command on a socket failed or succeeded as the model says.
    fn agree(&self, socket: &SocketId, result: &Result<(), Error>, what: &str) {
        let connected = self.state(socket) == State::Connected;
        match result {
            Ok(()) => assert!(
                connected,
                "{what} on {socket:?} ({:?}) succeeded",
                self.state(socket)
            ),
            Err(Error::UnknownSocket) => {
                assert!(!connected, "{what} on connected {socket:?}: unknown socket")
            }
            Err(Error::ReservedEvent(_)) => assert!(connected, "{what}: checked name first"),
            Err(e) => panic!("{what} on {socket:?}: {e}"),
        }
    }

    fn new_ack_id(&mut self, id: u64) {
        assert!(self.ack_ids.insert(id), "ack id {id} returned twice");
    }

    /// Drains as an adapter does: transmits, then events, until neither is left.
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.server.poll_transmit() {
                progressed = true;
                self.on_transmit(t);
            }
            while let Some(e) = self.server.poll_event() {
                progressed = true;
                self.on_event(e);
            }
            if !progressed {
                break;
            }
        }
        // Connecting sockets of closed connections are dropped silently.
        let closed: HashSet<ClientId> = self
            .clients
            .iter()
            .filter(|c| c.closed())
            .map(|c| c.id)
            .collect();
        for (id, s) in &mut self.sockets {
            if closed.contains(&s.client) {
                assert!(
                    s.state != State::Connected,
                    "{id:?} still connected on closed {:?}",
                    s.client
                );
                s.state = State::Gone;
            }
        }
        self.connecting.retain(|s| {
            self.sockets
                .get(s)
                .is_some_and(|s| s.state == State::Connecting)
        });
        // The engine agrees with the events.
        for (id, s) in &self.sockets {
            let connected = s.state == State::Connected;
            assert_eq!(
                self.server.rooms(id).is_ok(),
                connected,
                "rooms() of {id:?} disagrees with {:?}",
                s.state
            );
            if s.state != State::Gone {
                assert_eq!(
                    self.server.client_of(id),
                    Some(s.client),
                    "client of {id:?}"
                );
            }
        }
    }

    fn on_transmit(&mut self, t: Transmit) {
        match t {
            Transmit::Send {
                client,
                data,
                volatile,
                ..
            } => {
                let i = *self
                    .index
                    .get(&client)
                    .unwrap_or_else(|| panic!("send to unknown {client:?}"));
                let c = &mut self.clients[i];
                assert!(!c.closed_by_engine, "send to {client:?} after Close");
                assert!(!c.closed_by_us, "send to {client:?} after handle_close");
                match c.decoder.decode(data.clone()) {
                    Ok(Some(packet)) => self.on_client_packet(i, packet, volatile),
                    Ok(None) => {}
                    Err(e) => panic!("{client:?} cannot decode {data:?}: {e}"),
                }
            }
            Transmit::Close { client } => {
                let i = *self
                    .index
                    .get(&client)
                    .unwrap_or_else(|| panic!("close of unknown {client:?}"));
                let c = &mut self.clients[i];
                assert!(!c.closed_by_engine, "{client:?} closed twice");
                assert!(!c.closed_by_us, "close of {client:?} after handle_close");
                c.closed_by_engine = true;
            }
        }
    }

    /// A packet the server sent, as the client decodes it.
    fn on_client_packet(&mut self, i: usize, packet: Packet, volatile: bool) {
        let client = self.clients[i].id;
        let protocol = self.clients[i].protocol;
        let ns = packet.namespace.clone();
        match packet.kind {
            PacketType::Connect => {
                let answer: Option<Value> = packet
                    .payload_as()
                    .unwrap_or_else(|e| panic!("CONNECT answer {packet:?}: {e}"));
                let (sid, pid) = match (&answer, protocol) {
                    (None, ProtocolVersion::V4) => (String::new(), None),
                    (Some(v), ProtocolVersion::V5) => (
                        v["sid"]
                            .as_str()
                            .unwrap_or_else(|| panic!("CONNECT answer without sid: {v}"))
                            .to_owned(),
                        v.get("pid")
                            .map(|p| p.as_str().expect("pid is a string").to_owned()),
                    ),
                    _ => panic!("CONNECT answer {answer:?} in {protocol:?}"),
                };
                assert_eq!(
                    pid.is_some(),
                    self.recovery && protocol == ProtocolVersion::V5,
                    "pid {pid:?} with recovery {}",
                    self.recovery
                );
                // A new connection of the namespace starts a new offset sequence.
                self.clients[i].offsets.remove(&ns);
                self.clients[i].answers.insert((ns.clone(), Str::from(sid)));
                if let Some(pid) = pid {
                    let token = match self.tokens.iter().position(|t| t.pid == pid) {
                        Some(t) => t,
                        None => {
                            self.tokens.push(Token {
                                namespace: ns.clone(),
                                pid,
                                offset: None,
                            });
                            self.tokens.len() - 1
                        }
                    };
                    self.clients[i].tokens.insert(ns.clone(), token);
                }
            }
            PacketType::Event | PacketType::BinaryEvent => {
                if let Some(id) = packet.id {
                    self.server_requests.push((client, ns, id));
                } else if self.recovery && !volatile {
                    let args: Vec<Value> = packet
                        .args()
                        .unwrap_or_else(|e| panic!("event args {packet:?}: {e}"));
                    let offset: u64 = args
                        .last()
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or_else(|| panic!("event without offset: {packet:?}"));
                    let c = &mut self.clients[i];
                    if let Some(&last) = c.offsets.get(&ns) {
                        assert!(
                            offset > last,
                            "offset {offset} after {last} on {client:?} {ns:?}"
                        );
                    }
                    c.offsets.insert(ns.clone(), offset);
                    if let Some(&t) = c.tokens.get(&ns) {
                        self.tokens[t].offset = Some(offset);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::Connecting {
                socket,
                namespace,
                client,
                ..
            } => {
                let i = *self
                    .index
                    .get(&client)
                    .unwrap_or_else(|| panic!("Connecting on unknown {client:?}"));
                assert!(!self.clients[i].closed(), "Connecting on closed {client:?}");
                assert_eq!(
                    self.state(&socket),
                    State::Gone,
                    "Connecting for {socket:?} in use"
                );
                let connections = self.sockets.get(&socket).map_or(0, |s| s.connections);
                if !self.sockets.contains_key(&socket) {
                    self.seen.push(socket.clone());
                }
                self.sockets.insert(
                    socket.clone(),
                    Sock {
                        state: State::Connecting,
                        client,
                        namespace,
                        connections,
                    },
                );
                self.connecting.push(socket);
            }
            Event::Connected {
                socket,
                namespace,
                recovered,
            } => {
                let state = self.state(&socket);
                match state {
                    State::Connecting => {}
                    State::Gone => assert!(
                        recovered && self.skip_middlewares,
                        "Connected without Connecting: {socket:?}"
                    ),
                    State::Connected => panic!("{socket:?} Connected twice"),
                }
                let client = match self.sockets.get(&socket) {
                    Some(s) if state == State::Connecting => {
                        assert_eq!(s.namespace, namespace, "Connected to another namespace");
                        s.client
                    }
                    _ => self
                        .server
                        .client_of(&socket)
                        .unwrap_or_else(|| panic!("recovered {socket:?} has no connection")),
                };
                let previous = self.sockets.get(&socket).map_or(0, |s| s.connections);
                if recovered {
                    assert!(previous > 0, "{socket:?} recovered but never connected");
                }
                let c = &self.clients[self.index[&client]];
                let sid = match c.protocol {
                    ProtocolVersion::V4 => Str::from_static(""),
                    ProtocolVersion::V5 => Str::from(socket.as_str().to_owned()),
                };
                assert!(
                    c.answers.contains(&(namespace.clone(), sid)),
                    "{socket:?} Connected before its CONNECT answer"
                );
                if !self.sockets.contains_key(&socket) {
                    self.seen.push(socket.clone());
                }
                self.sockets.insert(
                    socket.clone(),
                    Sock {
                        state: State::Connected,
                        client,
                        namespace,
                        connections: previous + 1,
                    },
                );
                self.connecting.retain(|s| *s != socket);
            }
            Event::Disconnected {
                socket, namespace, ..
            } => {
                let s = self
                    .sockets
                    .get_mut(&socket)
                    .unwrap_or_else(|| panic!("Disconnected for unknown {socket:?}"));
                assert_eq!(s.state, State::Connected, "Disconnected for {socket:?}");
                assert_eq!(
                    s.namespace, namespace,
                    "Disconnected from another namespace"
                );
                s.state = State::Gone;
                // Its pending acks are dropped, never reported.
                self.emit_acks.retain(|(s, _)| *s != socket);
            }
            Event::Event { socket, packet } => {
                assert_eq!(
                    self.state(&socket),
                    State::Connected,
                    "Event from {socket:?}"
                );
                assert!(packet.event.is_some(), "Event without a name");
                if let Some(id) = packet.id {
                    self.client_requests.push((socket, id));
                }
            }
            Event::Ack { socket, id, packet } => {
                assert_eq!(self.state(&socket), State::Connected, "Ack from {socket:?}");
                assert_eq!(packet.id, Some(id));
                assert!(
                    self.emit_acks.remove(&(socket.clone(), id)),
                    "Ack {id} from {socket:?} not pending"
                );
            }
            Event::AckTimeout { socket, id } => {
                assert_eq!(
                    self.state(&socket),
                    State::Connected,
                    "AckTimeout for {socket:?}"
                );
                assert!(
                    self.emit_acks.remove(&(socket.clone(), id)),
                    "AckTimeout {id} for {socket:?} not pending"
                );
            }
            Event::BroadcastAck {
                id,
                responses,
                expected,
                timed_out,
            } => {
                assert!(
                    self.broadcast_acks.remove(&id),
                    "BroadcastAck {id} not pending"
                );
                assert!(
                    responses.len() <= expected,
                    "{} responses of {expected}",
                    responses.len()
                );
                if !timed_out {
                    assert_eq!(responses.len(), expected, "finished early");
                }
                let distinct: HashSet<&SocketId> = responses.iter().map(|(s, _)| s).collect();
                assert_eq!(distinct.len(), responses.len(), "a socket answered twice");
                for (_, p) in &responses {
                    assert_eq!(p.id, Some(id));
                }
            }
        }
    }

    fn handle_timeout(&mut self) {
        self.server.handle_timeout(self.now);
        if let Some(at) = self.server.poll_timeout() {
            assert!(
                at > self.now,
                "poll_timeout {:?} not after handle_timeout {:?}",
                at - base(),
                self.now - base()
            );
        }
    }

    /// Runs one operation; `None` when the input ran out.
    fn step(&mut self, input: &mut Input<'_>) -> Option<()> {
        let op = input.byte()?;
        let flag = op & 0x40 != 0;
        let flag2 = op & 0x80 != 0;
        match (op & 0x3f) % 24 {
            0 => {
                let protocol = if flag {
                    ProtocolVersion::V4
                } else {
                    ProtocolVersion::V5
                };
                self.connection(protocol);
            }
            1 => {
                let client = input.byte()?;
                let text = TEXTS[usize::from(input.byte()?) % TEXTS.len()];
                if let Some(c) = self.client(client) {
                    self.message(c, Data::from(text));
                }
            }
            2 => {
                let client = input.byte()?;
                let bytes = input.bytes()?;
                if let Some(c) = self.client(client) {
                    let text = String::from_utf8_lossy(bytes).into_owned();
                    self.message(c, Data::from(text));
                }
            }
            3 => {
                let client = input.byte()?;
                let bytes = input.bytes()?;
                if let Some(c) = self.client(client) {
                    self.message(c, Data::Binary(Bytes::copy_from_slice(bytes)));
                }
            }
            4 => {
                // A client answers an event the server sent with an ack id.
                let pick = usize::from(input.byte()?);
                if !self.server_requests.is_empty() {
                    let n = self.server_requests.len();
                    let (client, ns, id) = self.server_requests[n - 1 - pick % n].clone();
                    let packet = if flag {
                        Packet::ack_raw(
                            ns,
                            id,
                            Str::from_static("[{\"_placeholder\":true,\"num\":0}]"),
                            vec![Bytes::from_static(b"\x01\x02")],
                        )
                    } else {
                        Packet::ack_raw(ns, id, Str::from_static("[\"ok\"]"), Vec::new())
                    };
                    self.send_packet(client, &packet);
                }
            }
            5 => {
                // A client comes back with the pid and offset it was given.
                let pick = usize::from(input.byte()?);
                let client = input.byte()?;
                if !self.tokens.is_empty() {
                    let n = self.tokens.len();
                    let t = &self.tokens[n - 1 - pick % n];
                    let offset = t.offset.map_or_else(|| "0".to_owned(), |o| o.to_string());
                    let auth = json!({"pid": t.pid, "offset": offset, "token": "t"});
                    let packet =
                        Packet::connect(t.namespace.clone(), Some(Str::from(auth.to_string())));
                    let c = match self.client(client) {
                        Some(c) if !flag => c,
                        _ => self.connection(ProtocolVersion::V5),
                    };
                    self.send_packet(c, &packet);
                }
            }
            6 => {
                let client = input.byte()?;
                let reason = REASONS[usize::from(input.byte()?) % REASONS.len()];
                if let Some(c) = self.client(client) {
                    self.server.handle_close(self.now, c, reason);
                    let i = self.index[&c];
                    self.clients[i].closed_by_us = true;
                }
            }
            7 => {
                let b = u64::from(input.byte()?);
                self.now += Duration::from_millis(b * b);
            }
            8 => self.handle_timeout(),
            9 => {
                if let Some(at) = self.server.poll_timeout() {
                    self.now = self.now.max(at);
                }
                self.handle_timeout();
            }
            10 => {
                let pick = input.byte()?;
                let socket = if flag {
                    self.socket(pick)
                } else {
                    let n = self.connecting.len();
                    (n > 0).then(|| self.connecting[usize::from(pick) % n].clone())
                };
                if let Some(socket) = socket {
                    let state = self.state(&socket);
                    match self.server.accept(self.now, &socket) {
                        Ok(()) => assert_eq!(state, State::Connecting, "accepted {socket:?}"),
                        Err(Error::NotConnecting) => assert_eq!(state, State::Connected),
                        Err(Error::UnknownSocket) => assert_eq!(state, State::Gone),
                        Err(e) => panic!("accept: {e}"),
                    }
                }
            }
            11 => {
                let pick = input.byte()?;
                let socket = if flag {
                    self.socket(pick)
                } else {
                    let n = self.connecting.len();
                    (n > 0).then(|| self.connecting[usize::from(pick) % n].clone())
                };
                if let Some(socket) = socket {
                    let state = self.state(&socket);
                    let data = flag2.then(|| Str::from_static("{\"code\":1}"));
                    match self.server.refuse(&socket, "not authorized", data) {
                        Ok(()) => {
                            assert_eq!(state, State::Connecting, "refused {socket:?}");
                            if let Some(s) = self.sockets.get_mut(&socket) {
                                s.state = State::Gone;
                            }
                            self.connecting.retain(|s| *s != socket);
                        }
                        Err(Error::NotConnecting) => assert_eq!(state, State::Connected),
                        Err(Error::UnknownSocket) => assert_eq!(state, State::Gone),
                        Err(e) => panic!("refuse: {e}"),
                    }
                }
            }
            12 => {
                let pick = input.byte()?;
                let what = input.byte()?;
                if let Some(socket) = self.socket(pick) {
                    let result = if flag {
                        self.server
                            .emit_packet(self.now, &socket, binary_event(&[what]))
                    } else {
                        let name = EVENT_NAMES[usize::from(what) % EVENT_NAMES.len()];
                        self.server.emit(self.now, &socket, name, &args(what >> 2))
                    };
                    self.agree(&socket, &result, "emit");
                }
            }
            13 => {
                let pick = input.byte()?;
                let what = input.byte()?;
                if let Some(socket) = self.socket(pick) {
                    let timeout = TIMEOUTS[usize::from(what >> 6)];
                    let result = if flag {
                        self.server.emit_packet_with_ack(
                            self.now,
                            &socket,
                            binary_event(&[what]),
                            timeout,
                        )
                    } else {
                        let name = EVENT_NAMES[usize::from(what) % EVENT_NAMES.len()];
                        self.server.emit_with_ack(
                            self.now,
                            &socket,
                            name,
                            &args(what >> 2),
                            timeout,
                        )
                    };
                    match result {
                        Ok(id) => {
                            self.agree(&socket, &Ok(()), "emit_with_ack");
                            self.new_ack_id(id);
                            self.emit_acks.insert((socket, id));
                        }
                        Err(e) => self.agree(&socket, &Err(e), "emit_with_ack"),
                    }
                }
            }
            14 => {
                // The application answers an event a client sent with an ack id.
                let pick = usize::from(input.byte()?);
                let what = input.byte()?;
                if !self.client_requests.is_empty() {
                    let n = self.client_requests.len();
                    let (socket, id) = self.client_requests[n - 1 - pick % n].clone();
                    let result = self.server.ack(&socket, id, &args(what));
                    self.agree(&socket, &result, "ack");
                }
            }
            15 => {
                let pick = input.byte()?;
                let mask = input.byte()?;
                if let Some(socket) = self.socket(pick) {
                    let rooms: Vec<Str> = ROOMS
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << i) != 0)
                        .map(|(_, r)| Str::from_static(r))
                        .collect();
                    let result = self.server.join(&socket, &rooms);
                    self.agree(&socket, &result, "join");
                }
            }
            16 => {
                let pick = input.byte()?;
                let room = input.byte()?;
                if let Some(socket) = self.socket(pick) {
                    // Leaving its own room too.
                    let room = match ROOMS.get(usize::from(room % 4)) {
                        Some(r) => Str::from_static(r),
                        None => socket.room(),
                    };
                    let result = self.server.leave(&socket, &room);
                    self.agree(&socket, &result, "leave");
                }
            }
            17 => {
                let opts = self.opts(input.byte()?, input.byte()?);
                let what = input.byte()?;
                let n = if flag {
                    self.server
                        .broadcast_packet(self.now, &opts, binary_event(&[what]))
                } else {
                    let name = EVENT_NAMES[usize::from(what) % EVENT_NAMES.len()];
                    match self
                        .server
                        .broadcast(self.now, &opts, name, &args(what >> 2))
                    {
                        Ok(n) => n,
                        Err(Error::ReservedEvent(_)) => {
                            assert!(sockeye_socketio::RESERVED_EVENTS.contains(&name));
                            0
                        }
                        Err(e) => panic!("broadcast: {e}"),
                    }
                };
                let reachable = self
                    .sockets
                    .values()
                    .filter(|s| s.state == State::Connected)
                    .count();
                assert!(n <= reachable, "broadcast to {n} of {reachable} sockets");
            }
            18 => {
                let opts = self.opts(input.byte()?, input.byte()?);
                let what = input.byte()?;
                let timeout = TIMEOUTS[usize::from(what >> 6)];
                let id = if flag {
                    Some(self.server.broadcast_packet_with_ack(
                        self.now,
                        &opts,
                        binary_event(&[what]),
                        timeout,
                    ))
                } else {
                    let name = EVENT_NAMES[usize::from(what) % EVENT_NAMES.len()];
                    match self.server.broadcast_with_ack(
                        self.now,
                        &opts,
                        name,
                        &args(what >> 2),
                        timeout,
                    ) {
                        Ok(id) => Some(id),
                        Err(Error::ReservedEvent(_)) => None,
                        Err(e) => panic!("broadcast_with_ack: {e}"),
                    }
                };
                if let Some(id) = id {
                    self.new_ack_id(id);
                    self.broadcast_acks.insert(id);
                }
            }
            19 => {
                let pick = input.byte()?;
                if let Some(socket) = self.socket(pick) {
                    let result = self.server.disconnect(self.now, &socket, flag);
                    self.agree(&socket, &result, "disconnect");
                }
            }
            20 => {
                let opts = self.opts(input.byte()?, input.byte()?);
                self.server.disconnect_sockets(self.now, &opts, flag);
            }
            21 => self.server.shutdown(self.now),
            22 => {
                let opts = self.opts(input.byte()?, input.byte()?);
                let mask = input.byte()?;
                let rooms: Vec<Str> = ROOMS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, r)| Str::from_static(r))
                    .collect();
                if flag {
                    self.server.sockets_leave(&opts, &rooms);
                } else {
                    self.server.sockets_join(&opts, &rooms);
                }
                for info in self.server.fetch_sockets(&opts) {
                    assert_eq!(
                        self.state(&info.id),
                        State::Connected,
                        "fetch_sockets returned {:?}",
                        info.id
                    );
                }
            }
            _ => {
                // Time passes and the timers fire, in one step.
                let b = u64::from(input.byte()?);
                self.now += Duration::from_millis(b * b);
                self.handle_timeout();
            }
        }
        self.drain();
        Some(())
    }

    /// Shutdown, then the timers: every connection closed, every socket gone, every
    /// broadcast ack reported, nothing left scheduled.
    fn finish(&mut self) {
        self.server.shutdown(self.now);
        self.drain();
        for c in &self.clients {
            assert!(c.closed(), "{:?} left open by shutdown", c.id);
        }
        for (id, s) in &self.sockets {
            assert_ne!(s.state, State::Connected, "{id:?} connected after shutdown");
        }
        assert!(
            self.emit_acks.is_empty(),
            "acks pending after shutdown: {:?}",
            self.emit_acks
        );
        self.now += Duration::from_secs(86_400);
        self.handle_timeout();
        self.drain();
        assert!(
            self.broadcast_acks.is_empty(),
            "broadcast acks never reported: {:?}",
            self.broadcast_acks
        );
        assert_eq!(
            self.server.poll_timeout(),
            None,
            "timers left after shutdown"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, ops)) = data.split_first() else {
        return;
    };
    let mut driver = Driver::new(control);
    let mut input = Input(ops);
    let mut steps = 0;
    while steps < 256 && driver.step(&mut input).is_some() {
        steps += 1;
    }
    driver.finish();
});
