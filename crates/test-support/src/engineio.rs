//! Deterministic harness for `sockeye-engineio`: a server session driven by requests and
//! WebSocket frames in memory, with simulated time, recording every response, frame and event.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
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
    /// Frames sent, in order, with their socket.
    pub frames: Vec<(SocketId, Data)>,
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
