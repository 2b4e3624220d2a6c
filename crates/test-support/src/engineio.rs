//! Deterministic harness for `sockeye-engineio`: a server session driven by requests and
//! WebSocket frames in memory, with simulated time, recording every response, frame and event.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
use sockeye_engineio::client::{Client, ClientConfig, ClientEvent, ClientTransmit};
use sockeye_engineio::server::{
    Attach, Event, RequestHead, RequestId, RequestMethod, Route, Server, Session, Sid, SocketId,
    Transmit,
};
use sockeye_engineio::{Data, ServerConfig};

/// The fixed session id the harness hands out: 15 bytes 0x00, 0x01, … as base64url.
pub fn fixed_sid() -> Sid {
    Sid::from_random(core::array::from_fn(|i| i as u8))
}

/// A server front plus the one session it opened, driven as an adapter would.
#[derive(Debug)]
pub struct ServerHarness {
    /// The front.
    pub server: Server,
    /// The session, once opened.
    pub session: Option<Session>,
    /// Simulated time.
    pub now: Instant,
    /// Answered requests, by id.
    pub responses: BTreeMap<RequestId, http::Response<Bytes>>,
    /// Requests in the order they were answered.
    pub answered: Vec<RequestId>,
    /// Frames sent, in order, with their socket (a [`Pair`] moves them to
    /// `delivered_frames` as it delivers them).
    pub frames: Vec<(SocketId, Data)>,
    /// Frames a [`Pair`] delivered to the client.
    pub delivered_frames: Vec<(SocketId, Data)>,
    /// Sockets the session closed.
    pub closed_sockets: Vec<SocketId>,
    /// Events, in order.
    pub events: Vec<Event>,
}

impl ServerHarness {
    /// A harness for `config`.
    pub fn new(config: ServerConfig) -> Self {
        Self {
            server: Server::new(config),
            session: None,
            now: Instant::now(),
            responses: BTreeMap::new(),
            answered: Vec::new(),
            frames: Vec::new(),
            delivered_frames: Vec::new(),
            closed_sockets: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Sends a handshake with `query` (`websocket` for an upgrade request); on success the
    /// session is opened with [`fixed_sid`].
    pub fn open(
        &mut self,
        query: &str,
        websocket: bool,
    ) -> Result<Attach, Box<http::Response<Bytes>>> {
        let head = RequestHead::new(RequestMethod::Get, query, websocket);
        match self.server.route(&head) {
            Route::Open(handshake) => {
                let (session, attach) = self.server.open(self.now, handshake, fixed_sid());
                self.session = Some(session);
                self.drain();
                Ok(attach)
            }
            Route::Reject(res) => Err(Box::new(res)),
            Route::Session { .. } => panic!("a handshake query routed to a session"),
        }
    }

    /// The session (panics when none is open).
    pub fn session(&mut self) -> &mut Session {
        self.session.as_mut().expect("no session")
    }

    /// Routes a request with `method` and `query` through the front.
    pub fn route(&self, method: RequestMethod, query: &str, websocket: bool) -> Route {
        self.server
            .route(&RequestHead::new(method, query, websocket))
    }

    /// A poll (GET) for the session.
    pub fn get(&mut self) -> RequestId {
        let now = self.now;
        let id = self
            .session()
            .handle_request(now, &RequestHead::new(RequestMethod::Get, "", false));
        self.drain();
        id
    }

    /// A complete text POST for the session.
    pub fn post(&mut self, body: &[u8]) -> RequestId {
        self.post_with(body, false)
    }

    /// A complete POST, binary (`application/octet-stream`) or text.
    pub fn post_with(&mut self, body: &[u8], binary: bool) -> RequestId {
        let id = self.post_start(binary);
        self.post_chunk(id, body);
        self.post_end(id);
        id
    }

    /// The head of a POST; its body follows with [`post_chunk`](Self::post_chunk).
    pub fn post_start(&mut self, binary: bool) -> RequestId {
        let now = self.now;
        let mut head = RequestHead::new(RequestMethod::Post, "", false);
        if binary {
            head = head.with_content_type(b"application/octet-stream");
        }
        let id = self.session().handle_request(now, &head);
        self.drain();
        id
    }

    /// A chunk of a POST body.
    pub fn post_chunk(&mut self, id: RequestId, chunk: &[u8]) {
        let now = self.now;
        self.session().handle_post_data(now, id, chunk);
        self.drain();
    }

    /// The end of a POST body.
    pub fn post_end(&mut self, id: RequestId) {
        let now = self.now;
        self.session().handle_post_end(now, id);
        self.drain();
    }

    /// The client gave up on request `id`.
    pub fn abort(&mut self, id: RequestId) {
        let now = self.now;
        self.session().handle_request_aborted(now, id);
        self.drain();
    }

    /// A WebSocket for the session completed its handshake.
    pub fn websocket(&mut self) -> SocketId {
        let now = self.now;
        let id = self.session().handle_websocket(now);
        self.drain();
        id
    }

    /// A frame from the client on `socket`.
    pub fn frame(&mut self, socket: SocketId, frame: impl Into<Data>) {
        let now = self.now;
        self.session().handle_ws_frame(now, socket, frame.into());
        self.drain();
    }

    /// The client's WebSocket closed.
    pub fn ws_closed(&mut self, socket: SocketId) {
        let now = self.now;
        self.session().handle_ws_closed(now, socket);
        self.drain();
    }

    /// Advances simulated time by `by`, firing every timer due on the way, at its deadline.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(at) = self.session.as_ref().and_then(Session::poll_timeout) {
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            let now = self.now;
            self.session().handle_timeout(now);
            self.drain();
        }
        self.now = target;
    }

    /// Drains transmits and events as a driver does.
    pub fn drain(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        loop {
            let mut progressed = false;
            while let Some(t) = session.poll_transmit() {
                progressed = true;
                match t {
                    Transmit::Response { request, response } => {
                        let previous = self.responses.insert(request, response);
                        assert!(previous.is_none(), "request {request:?} answered twice");
                        self.answered.push(request);
                    }
                    Transmit::Frame { socket, frame } => self.frames.push((socket, frame)),
                    Transmit::CloseSocket { socket } => self.closed_sockets.push(socket),
                }
            }
            if let Some(e) = session.poll_event() {
                progressed = true;
                self.events.push(e);
            }
            if !progressed {
                break;
            }
        }
    }

    /// The status and body of the answer to `id`, if answered.
    pub fn response(&self, id: RequestId) -> Option<(StatusCode, &[u8])> {
        self.responses
            .get(&id)
            .map(|r| (r.status(), r.body().as_ref()))
    }

    /// The body of the `200` answer to `id` (panics otherwise).
    pub fn body(&self, id: RequestId) -> &[u8] {
        match self.response(id) {
            Some((StatusCode::OK, body)) => body,
            other => panic!("request {id:?}: expected a 200 answer, got {other:?}"),
        }
    }

    /// The frames sent on `socket` so far, as text (binary frames shown as `<hex>`).
    pub fn frames_on(&self, socket: SocketId) -> Vec<String> {
        self.frames
            .iter()
            .filter(|(s, _)| *s == socket)
            .map(|(_, f)| match f {
                Data::Text(t) => t.to_string(),
                Data::Binary(b) => format!(
                    "<{}>",
                    b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                ),
            })
            .collect()
    }

    /// Takes the events so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

/// A [`Client`] and a server ([`ServerHarness`]) wired back to back in memory with simulated
/// time: every request, response, WebSocket and frame is delivered at once, in order.
#[derive(Debug)]
pub struct Pair {
    /// The client.
    pub client: Client,
    /// The server side.
    pub server: ServerHarness,
    /// Client events, in order.
    pub client_events: Vec<ClientEvent>,
    /// Every transmit the client made, in order.
    pub client_transmits: Vec<ClientTransmit>,
    /// Client request id → server request id.
    requests: BTreeMap<RequestId, RequestId>,
    /// Client socket id ↔ server socket id.
    sockets: Vec<(SocketId, SocketId)>,
}

impl Pair {
    /// A client with `client_config` connecting to a server with `server_config`; the
    /// handshake runs before this returns.
    pub fn new(client_config: ClientConfig, server_config: ServerConfig) -> Self {
        let server = ServerHarness::new(server_config);
        let client = Client::new(client_config, server.now);
        let mut pair = Self {
            client,
            server,
            client_events: Vec::new(),
            client_transmits: Vec::new(),
            requests: BTreeMap::new(),
            sockets: Vec::new(),
        };
        pair.run();
        pair
    }

    /// The simulated time.
    pub fn now(&self) -> Instant {
        self.server.now
    }

    /// Delivers everything both sides want to send until neither has anything left.
    pub fn run(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.client.poll_transmit() {
                progressed = true;
                self.client_transmits.push(t.clone());
                self.deliver_to_server(t);
                // The driver contract: drain after every input.
                self.server.drain();
            }
            while let Some(e) = self.client.poll_event() {
                progressed = true;
                self.client_events.push(e);
            }
            self.server.drain();
            progressed |= self.deliver_to_client();
            if !progressed {
                break;
            }
        }
    }

    fn server_socket(&self, client: SocketId) -> Option<SocketId> {
        self.sockets
            .iter()
            .find(|(c, _)| *c == client)
            .map(|(_, s)| *s)
    }

    fn client_socket(&self, server: SocketId) -> Option<SocketId> {
        self.sockets
            .iter()
            .find(|(_, s)| *s == server)
            .map(|(c, _)| *c)
    }

    fn deliver_to_server(&mut self, t: ClientTransmit) {
        let now = self.server.now;
        match t {
            ClientTransmit::Request {
                id,
                method,
                query,
                body,
            } => match self.server.route(method, &query, false) {
                Route::Open(handshake) => {
                    let (session, attach) = self.server.server.open(now, handshake, fixed_sid());
                    self.server.session = Some(session);
                    if let Attach::Request(sid) = attach {
                        self.requests.insert(id, sid);
                    }
                }
                Route::Session { .. } => {
                    let mut head = RequestHead::new(method, &query, false);
                    if let Some((_, ct)) = &body {
                        head = head.with_content_type(ct.as_bytes());
                    }
                    let session = self.server.session.as_mut().expect("no session");
                    let sid = session.handle_request(now, &head);
                    self.requests.insert(id, sid);
                    if let Some((body, _)) = body {
                        session.handle_post_data(now, sid, &body);
                        session.handle_post_end(now, sid);
                    }
                }
                Route::Reject(res) => {
                    self.client
                        .handle_response(now, id, res.status(), false, res.into_body());
                }
            },
            ClientTransmit::OpenSocket { id, query } => {
                match self.server.route(RequestMethod::Get, &query, true) {
                    Route::Open(handshake) => {
                        let (session, attach) =
                            self.server.server.open(now, handshake, fixed_sid());
                        self.server.session = Some(session);
                        if let Attach::Socket(sid) = attach {
                            self.sockets.push((id, sid));
                        }
                        self.client.handle_socket_open(now, id);
                    }
                    Route::Session { .. } => {
                        let session = self.server.session.as_mut().expect("no session");
                        let sid = session.handle_websocket(now);
                        self.sockets.push((id, sid));
                        self.client.handle_socket_open(now, id);
                    }
                    Route::Reject(_) => self.client.handle_socket_closed(now, id),
                }
            }
            ClientTransmit::Frame { socket, frame } => {
                if let (Some(s), Some(session)) =
                    (self.server_socket(socket), self.server.session.as_mut())
                {
                    session.handle_ws_frame(now, s, frame);
                }
            }
            ClientTransmit::CloseSocket { socket } => {
                if let (Some(s), Some(session)) =
                    (self.server_socket(socket), self.server.session.as_mut())
                {
                    session.handle_ws_closed(now, s);
                }
                self.sockets.retain(|(c, _)| *c != socket);
            }
            ClientTransmit::Cancel { request } => {
                if let (Some(&s), Some(session)) =
                    (self.requests.get(&request), self.server.session.as_mut())
                {
                    session.handle_request_aborted(now, s);
                }
            }
        }
    }

    /// Hands the server's new responses, frames and socket closes to the client.
    fn deliver_to_client(&mut self) -> bool {
        let now = self.server.now;
        let mut progressed = false;
        let answered: Vec<RequestId> = std::mem::take(&mut self.server.answered);
        for server_id in answered {
            let Some((&client_id, _)) = self.requests.iter().find(|(_, s)| **s == server_id) else {
                continue;
            };
            self.requests.remove(&client_id);
            let res = &self.server.responses[&server_id];
            let binary = res
                .headers()
                .get("content-type")
                .is_some_and(|v| v == "application/octet-stream");
            self.client
                .handle_response(now, client_id, res.status(), binary, res.body().clone());
            progressed = true;
        }
        let frames: Vec<(SocketId, Data)> = self.server.frames.drain(..).collect();
        for (s, frame) in frames {
            self.server.delivered_frames.push((s, frame.clone()));
            if let Some(c) = self.client_socket(s) {
                self.client.handle_socket_frame(now, c, frame);
                progressed = true;
            }
        }
        let closed: Vec<SocketId> = self.server.closed_sockets.drain(..).collect();
        for s in closed {
            if let Some(c) = self.client_socket(s) {
                self.sockets.retain(|(_, x)| *x != s);
                self.client.handle_socket_closed(now, c);
                progressed = true;
            }
        }
        progressed
    }

    /// Advances simulated time by `by`, firing both sides' timers at their deadlines and
    /// delivering what they send.
    pub fn advance(&mut self, by: Duration) {
        let target = self.server.now + by;
        loop {
            let next = [
                self.client.poll_timeout(),
                self.server.session.as_ref().and_then(Session::poll_timeout),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(at) = next.filter(|&at| at <= target) else {
                break;
            };
            self.server.now = self.server.now.max(at);
            let now = self.server.now;
            if self.client.poll_timeout().is_some_and(|t| t <= now) {
                self.client.handle_timeout(now);
            }
            if let Some(session) = self.server.session.as_mut()
                && session.poll_timeout().is_some_and(|t| t <= now)
            {
                session.handle_timeout(now);
            }
            self.run();
        }
        self.server.now = target;
    }

    /// The client's messages received so far.
    pub fn client_messages(&self) -> Vec<Data> {
        self.client_events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Message(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }

    /// The server's messages received so far.
    pub fn server_messages(&self) -> Vec<Data> {
        self.server
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Message(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }
}
