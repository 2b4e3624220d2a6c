//! Deterministic harness for `sockeye-socketio`: a server engine and any number of client
//! engines wired back to back (each client's Engine.IO connection is a direct message
//! pipe), simulated time, counting ids, and a connect middleware given as a closure.

use std::time::{Duration, Instant};

use sockeye_engineio::CloseReason;
use sockeye_socketio::Str;
use sockeye_socketio::client::{Client, ClientConfig, ClientEvent, ClientTransmit};
use sockeye_socketio::server::{
    ClientId, Event, IdSource, Server, ServerConfig, SocketId, Transmit,
};

/// Ids 0x01…, 0x02…: distinct and reproducible.
#[derive(Debug, Default, Clone)]
pub struct CountingIds(u8);

impl IdSource for CountingIds {
    fn next_id(&mut self) -> [u8; 15] {
        self.0 = self.0.wrapping_add(1);
        [self.0; 15]
    }
}

/// Connect middleware: `Ok` accepts, `Err((message, data))` refuses.
pub type Middleware = Box<dyn Fn(&Str, Option<&Str>) -> Result<(), (String, Option<Str>)>>;

/// One client of a [`Pair`].
#[derive(Debug)]
pub struct PeerClient {
    /// The client engine.
    pub client: Client,
    /// Its events, in order.
    pub events: Vec<ClientEvent>,
    /// Its current connection, while open.
    pub connection: Option<ClientId>,
}

/// A server engine and its clients, back to back.
pub struct Pair {
    /// The server engine.
    pub server: Server,
    /// The clients, by index.
    pub clients: Vec<PeerClient>,
    /// Server events, in order.
    pub server_events: Vec<Event>,
    /// Simulated time.
    pub now: Instant,
    /// Decides every CONNECT; accepts all by default.
    pub middleware: Middleware,
    /// While set, new connections fail (the server is unreachable).
    pub unreachable: bool,
    next_connection: u64,
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("server", &self.server)
            .field("clients", &self.clients)
            .finish_non_exhaustive()
    }
}

impl Pair {
    /// A server with `config` (namespaces are added on `pair.server`).
    pub fn new(config: ServerConfig) -> Self {
        Self {
            server: Server::new(config, CountingIds(100)),
            clients: Vec::new(),
            server_events: Vec::new(),
            now: Instant::now(),
            middleware: Box::new(|_, _| Ok(())),
            unreachable: false,
            next_connection: 0,
        }
    }

    /// Adds a client and opens its connection; returns its index.
    pub fn add_client(&mut self, config: ClientConfig) -> usize {
        let client = Client::new(config, CountingIds(200));
        self.clients.push(PeerClient {
            client,
            events: Vec::new(),
            connection: None,
        });
        let i = self.clients.len() - 1;
        self.open(i);
        i
    }

    fn open(&mut self, i: usize) {
        if self.unreachable {
            self.clients[i]
                .client
                .handle_close(self.now, CloseReason::TransportError);
            return;
        }
        self.next_connection += 1;
        let id = ClientId(self.next_connection);
        let protocol = self.clients[i].client.protocol();
        self.clients[i].connection = Some(id);
        self.server
            .handle_connection(self.now, id, &format!("eio-{}", id.0), protocol);
        self.clients[i].client.handle_open(self.now);
        self.run();
    }

    /// The client's connection drops (both sides see `reason`).
    pub fn drop_connection(&mut self, i: usize, reason: CloseReason) {
        if let Some(id) = self.clients[i].connection.take() {
            self.server.handle_close(self.now, id, reason);
            self.clients[i].client.handle_close(self.now, reason);
        }
        self.run();
    }

    /// Delivers everything until no side has anything left.
    pub fn run(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.server.poll_transmit() {
                progressed = true;
                match t {
                    Transmit::Send { client, data, .. } => {
                        if let Some(c) = self
                            .clients
                            .iter_mut()
                            .find(|c| c.connection == Some(client))
                        {
                            c.client.handle_message(self.now, data);
                        }
                    }
                    Transmit::Close { client } => {
                        if let Some(c) = self
                            .clients
                            .iter_mut()
                            .find(|c| c.connection == Some(client))
                        {
                            c.connection = None;
                            c.client.handle_close(self.now, CloseReason::TransportClose);
                        }
                    }
                }
            }
            while let Some(e) = self.server.poll_event() {
                progressed = true;
                if let Event::Connecting {
                    socket,
                    namespace,
                    auth,
                    ..
                } = &e
                {
                    match (self.middleware)(namespace, auth.as_ref()) {
                        Ok(()) => {
                            let _ = self.server.accept(self.now, socket);
                        }
                        Err((message, data)) => {
                            let _ = self.server.refuse(socket, &message, data);
                        }
                    }
                }
                self.server_events.push(e);
            }
            for i in 0..self.clients.len() {
                while let Some(t) = self.clients[i].client.poll_transmit() {
                    progressed = true;
                    match t {
                        ClientTransmit::Send(data) => {
                            if let Some(id) = self.clients[i].connection {
                                self.server.handle_message(self.now, id, data);
                            }
                        }
                        ClientTransmit::Close => {
                            if let Some(id) = self.clients[i].connection.take() {
                                self.server
                                    .handle_close(self.now, id, CloseReason::TransportClose);
                                self.clients[i]
                                    .client
                                    .handle_close(self.now, CloseReason::ForcedClose);
                            }
                        }
                        ClientTransmit::Open => self.open(i),
                    }
                }
                while let Some(e) = self.clients[i].client.poll_event() {
                    progressed = true;
                    self.clients[i].events.push(e);
                }
            }
            if !progressed {
                break;
            }
        }
    }

    /// Advances time by `by`, firing every timer on both sides at its deadline.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        loop {
            let next = std::iter::once(self.server.poll_timeout())
                .chain(self.clients.iter().map(|c| c.client.poll_timeout()))
                .flatten()
                .min();
            let Some(at) = next.filter(|&t| t <= target) else {
                break;
            };
            self.now = self.now.max(at);
            let now = self.now;
            self.server.handle_timeout(now);
            for c in &mut self.clients {
                c.client.handle_timeout(now);
            }
            self.run();
        }
        self.now = target;
    }

    /// The server-side socket of client `i` in `namespace` (from the Connected events).
    pub fn socket_of(&self, i: usize, namespace: &str) -> Option<SocketId> {
        let sid = self.clients[i].client.sid(namespace)?;
        self.server_events.iter().rev().find_map(|e| match e {
            Event::Connected { socket, .. } if socket.as_str() == sid.as_str() => {
                Some(socket.clone())
            }
            _ => None,
        })
    }
}
