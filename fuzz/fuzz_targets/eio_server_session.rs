#![no_main]
//! Engine.IO server session driven as an adapter drives it, by an arbitrary sequence of
//! requests, body chunks, WebSocket frames and closes, timer ticks and commands. After every
//! step the driver drains `poll_transmit` and `poll_event` and reads `poll_timeout`.
//!
//! Oracles beyond "no panic": every request is answered at most once, never after it was
//! aborted, and (once the session is closed) every request not aborted has been answered;
//! every WebSocket is closed at most once, frames go only to live sockets, and once the
//! session is closed every socket has been closed by one side; no event follows
//! `Closed`, `Closed` and `Upgraded` come at most once, and `is_closed` agrees with them; an
//! open session always has a timer, and it is never at or before the last `handle_timeout`;
//! every poll response decodes (through our own payload decoder, JSONP unwrapped) to at most
//! `max_packets_per_poll` packets; the messages the client receives, over polling and
//! WebSocket, are a prefix of those `send` accepted, in order; a closed session refuses
//! `send`; and `close` followed by the timers always ends the session.
//!
//! Input: one configuration byte (bit 0: v4 or v3, bit 1: JSONP, bit 2: `b64`, bit 3:
//! handshake over WebSocket, bits 4-5: `max_http_buffer_size`, bits 6-7:
//! `max_packets_per_poll`), then operations, each an opcode byte (low 6 bits modulo 18 pick
//! the operation, bits 6-7 are its flags) and its arguments.
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sockeye_engineio::server::{
    Attach, Event, RequestHead, RequestId, RequestMethod, Route, Server, Session, Sid, SocketId,
    Transmit,
};
use sockeye_engineio::{
    Data, Packet, PacketType, PayloadFormat, Protocol, ServerConfig, Str, decode_payload,
};

const BUFFER_SIZES: [usize; 4] = [1_000_000, 64, 16, 4];
const PACKETS_PER_POLL: [usize; 4] = [16, 1, 2, 4];

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Reads the input front to back; `None` once it runs out.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Get,
    Post,
    Other,
}

/// The adapter's view of the session, and the invariants it checks.
struct Driver {
    session: Session,
    protocol: Protocol,
    jsonp: bool,
    max_per_poll: usize,
    now: Instant,
    last_timeout: Instant,
    requests: Vec<RequestId>,
    kinds: HashMap<RequestId, Kind>,
    answered: HashSet<RequestId>,
    aborted: HashSet<RequestId>,
    sockets: Vec<SocketId>,
    closed_by_us: HashSet<SocketId>,
    closed_by_peer: HashSet<SocketId>,
    started_on_polling: bool,
    upgraded: bool,
    closed: bool,
    /// Messages `send` accepted, and those the client got, in order.
    sent: Vec<Data>,
    delivered: Vec<Data>,
}

impl Driver {
    fn open(config_byte: u8) -> Self {
        let v4 = config_byte & 1 != 0;
        let jsonp = config_byte & 2 != 0;
        let b64 = config_byte & 4 != 0;
        let websocket = config_byte & 8 != 0;
        let max_per_poll = PACKETS_PER_POLL[usize::from(config_byte >> 6)];
        let config = ServerConfig::builder()
            .allow_eio3(true)
            .jsonp(jsonp)
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(200))
            .upgrade_timeout(Duration::from_millis(250))
            .close_timeout(Duration::from_millis(500))
            .max_http_buffer_size(BUFFER_SIZES[usize::from((config_byte >> 4) & 3)])
            .max_packets_per_poll(max_per_poll)
            .build()
            .expect("valid config");
        let server = Server::new(config);
        let query = format!(
            "EIO={}&transport={}{}{}",
            if v4 { 4 } else { 3 },
            if websocket { "websocket" } else { "polling" },
            if jsonp { "&j=3" } else { "" },
            if b64 { "&b64=1" } else { "" },
        );
        let head = RequestHead::new(RequestMethod::Get, &query, websocket);
        let Route::Open(handshake) = server.route(&head) else {
            panic!("a valid handshake was refused: {query}");
        };
        // JSONP applies to polling only.
        let jsonp = handshake.jsonp.is_some();
        let now = base();
        let (session, attach) = server.open(now, handshake, Sid::from_random([7; 15]));
        let mut driver = Self {
            session,
            protocol: if v4 { Protocol::V4 } else { Protocol::V3 },
            jsonp,
            max_per_poll,
            now,
            last_timeout: now,
            requests: Vec::new(),
            kinds: HashMap::new(),
            answered: HashSet::new(),
            aborted: HashSet::new(),
            sockets: Vec::new(),
            closed_by_us: HashSet::new(),
            closed_by_peer: HashSet::new(),
            started_on_polling: !websocket,
            upgraded: false,
            closed: false,
            sent: Vec::new(),
            delivered: Vec::new(),
        };
        match attach {
            Attach::Request(id) => {
                assert!(!websocket);
                driver.requests.push(id);
                driver.kinds.insert(id, Kind::Get);
            }
            Attach::Socket(id) => {
                assert!(websocket);
                driver.sockets.push(id);
            }
        }
        driver.drain();
        driver
    }

    /// Picks a request handed in so far; 0 is the latest.
    fn request(&self, pick: u8) -> Option<RequestId> {
        let n = self.requests.len();
        (n > 0).then(|| self.requests[n - 1 - usize::from(pick) % n])
    }

    /// Picks a socket handed over so far; 0 is the latest.
    fn socket(&self, pick: u8) -> Option<SocketId> {
        let n = self.sockets.len();
        (n > 0).then(|| self.sockets[n - 1 - usize::from(pick) % n])
    }

    fn handle_request(&mut self, kind: Kind, binary: bool) -> RequestId {
        let method = match kind {
            Kind::Get => RequestMethod::Get,
            Kind::Post => RequestMethod::Post,
            Kind::Other => RequestMethod::Other,
        };
        let content_type: &[u8] = if binary {
            b"application/octet-stream"
        } else {
            b"text/plain;charset=UTF-8"
        };
        let head = RequestHead::new(method, "EIO=4&transport=polling&sid=x", false)
            .with_content_type(content_type);
        let id = self.session.handle_request(self.now, &head);
        assert!(
            !self.kinds.contains_key(&id),
            "request id {id:?} handed out twice"
        );
        self.requests.push(id);
        self.kinds.insert(id, kind);
        id
    }

    fn handle_websocket(&mut self) {
        let id = self.session.handle_websocket(self.now);
        assert!(
            !self.sockets.contains(&id),
            "socket id {id:?} handed out twice"
        );
        self.sockets.push(id);
    }

    /// A message for the client: text (never holding the v4 payload separator, which the
    /// protocol assumes absent from data) or binary.
    fn send(&mut self, binary: bool, bytes: &[u8]) {
        let data = if binary {
            Data::Binary(Bytes::copy_from_slice(bytes))
        } else {
            let mut text = String::from_utf8_lossy(bytes).into_owned();
            if self.protocol == Protocol::V4 {
                text = text.replace('\u{1e}', " ");
            }
            Data::Text(Str::from(text))
        };
        match self.session.send(data.clone()) {
            Ok(()) => {
                assert!(!self.closed, "send accepted after Closed");
                self.sent.push(data);
            }
            Err(_) => {}
        }
    }

    fn handle_timeout(&mut self) {
        self.session.handle_timeout(self.now);
        self.last_timeout = self.now;
    }

    /// Drains as the contract says: transmits, then events, until neither is left; then
    /// reads the timer.
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.session.poll_transmit() {
                progressed = true;
                self.on_transmit(t);
            }
            while let Some(e) = self.session.poll_event() {
                progressed = true;
                self.on_event(e);
            }
            if !progressed {
                break;
            }
        }
        assert_eq!(
            self.session.is_closed(),
            self.closed,
            "is_closed disagrees with Closed"
        );
        match self.session.poll_timeout() {
            Some(at) => {
                assert!(!self.closed, "a timer on a closed session");
                assert!(
                    at > self.last_timeout,
                    "poll_timeout {:?} not after the last handle_timeout {:?}",
                    at - base(),
                    self.last_timeout - base()
                );
            }
            None => assert!(self.closed, "an open session without a timer"),
        }
        assert!(
            self.delivered.len() <= self.sent.len()
                && self.delivered[..] == self.sent[..self.delivered.len()],
            "delivered messages are not a prefix of those sent:\n sent {:?}\n delivered {:?}",
            self.sent,
            self.delivered
        );
    }

    fn on_transmit(&mut self, t: Transmit) {
        match t {
            Transmit::Response { request, response } => {
                let kind = *self
                    .kinds
                    .get(&request)
                    .unwrap_or_else(|| panic!("response to unknown request {request:?}"));
                assert!(
                    !self.aborted.contains(&request),
                    "response to aborted {request:?}"
                );
                assert!(self.answered.insert(request), "{request:?} answered twice");
                if kind == Kind::Get && response.status().as_u16() == 200 {
                    let content_type = response
                        .headers()
                        .get("content-type")
                        .map(|v| v.as_bytes().to_vec())
                        .unwrap_or_default();
                    self.on_poll_body(&content_type, response.into_body());
                }
            }
            Transmit::Frame { socket, frame } => {
                assert!(
                    self.sockets.contains(&socket),
                    "frame to unknown {socket:?}"
                );
                assert!(
                    !self.closed_by_us.contains(&socket),
                    "frame to closed {socket:?}"
                );
                assert!(
                    !self.closed_by_peer.contains(&socket),
                    "frame to {socket:?} after the peer closed it"
                );
                let packet = Packet::decode_frame(self.protocol, frame.clone())
                    .unwrap_or_else(|e| panic!("undecodable frame {frame:?}: {e}"));
                if packet.kind == PacketType::Message {
                    self.delivered.push(packet.data);
                }
            }
            Transmit::CloseSocket { socket } => {
                assert!(
                    self.sockets.contains(&socket),
                    "close of unknown {socket:?}"
                );
                assert!(self.closed_by_us.insert(socket), "{socket:?} closed twice");
            }
        }
    }

    fn on_poll_body(&mut self, content_type: &[u8], body: Bytes) {
        let format = match self.protocol {
            Protocol::V4 => PayloadFormat::V4,
            Protocol::V3 if content_type == b"application/octet-stream" => {
                assert!(!self.jsonp, "binary poll response under JSONP");
                PayloadFormat::V3Binary
            }
            Protocol::V3 => PayloadFormat::V3Text,
        };
        let payload = if self.jsonp {
            let text = std::str::from_utf8(&body).expect("JSONP response is UTF-8");
            let json = text
                .strip_prefix("___eio[3](")
                .and_then(|t| t.strip_suffix(");"))
                .unwrap_or_else(|| panic!("malformed JSONP response {text:?}"));
            let inner: String = serde_json::from_str(json)
                .unwrap_or_else(|e| panic!("JSONP argument is not a JSON string ({e}): {json}"));
            Bytes::from(inner)
        } else {
            body
        };
        let packets: Vec<Packet> = decode_payload(format, payload.clone(), usize::MAX)
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("undecodable {format:?} poll response {payload:?}: {e}"));
        assert!(!packets.is_empty(), "empty poll response {payload:?}");
        assert!(
            packets.len() <= self.max_per_poll,
            "{} packets in one poll, limit {}",
            packets.len(),
            self.max_per_poll
        );
        for p in packets {
            if p.kind == PacketType::Message {
                self.delivered.push(p.data);
            }
        }
    }

    fn on_event(&mut self, e: Event) {
        assert!(!self.closed, "event {e:?} after Closed");
        match e {
            Event::Closed(_) => self.closed = true,
            Event::Upgraded => {
                assert!(self.started_on_polling, "Upgraded on a WebSocket session");
                assert!(!self.upgraded, "Upgraded twice");
                self.upgraded = true;
            }
            Event::Message(_) | Event::Upgrading => {}
        }
    }

    /// Runs one operation; `None` when the input ran out.
    fn step(&mut self, input: &mut Input<'_>) -> Option<()> {
        let op = input.byte()?;
        match (op & 0x3f) % 18 {
            0 => {
                self.handle_request(Kind::Get, false);
            }
            1 => {
                self.handle_request(Kind::Post, op & 0x80 != 0);
            }
            2 => {
                let pick = input.byte()?;
                let chunk = input.bytes()?;
                if let Some(id) = self.request(pick) {
                    self.session.handle_post_data(self.now, id, chunk);
                }
            }
            3 => {
                if let Some(id) = self.request(input.byte()?) {
                    self.session.handle_post_end(self.now, id);
                }
            }
            4 => {
                // A whole POST: request, body, end.
                let body = input.bytes()?;
                let id = self.handle_request(Kind::Post, op & 0x80 != 0);
                self.drain();
                self.session.handle_post_data(self.now, id, body);
                self.drain();
                self.session.handle_post_end(self.now, id);
            }
            5 => {
                self.handle_request(Kind::Other, false);
            }
            6 => {
                if let Some(id) = self.request(input.byte()?) {
                    self.session.handle_request_aborted(self.now, id);
                    if !self.answered.contains(&id) {
                        self.aborted.insert(id);
                    }
                }
            }
            7 => self.handle_websocket(),
            8 => {
                let pick = input.byte()?;
                let bytes = input.bytes()?;
                if let Some(socket) = self.socket(pick) {
                    let frame = if op & 0x80 != 0 {
                        Data::Binary(Bytes::copy_from_slice(bytes))
                    } else {
                        Data::Text(Str::from(String::from_utf8_lossy(bytes).into_owned()))
                    };
                    self.session.handle_ws_frame(self.now, socket, frame);
                }
            }
            9 => {
                // The usual upgrade frames, so that short inputs reach them.
                let pick = input.byte()?;
                if let Some(socket) = self.socket(pick) {
                    let frame = match op >> 6 {
                        0 => "2probe",
                        1 => "5",
                        2 => "2",
                        _ => "3",
                    };
                    self.session
                        .handle_ws_frame(self.now, socket, Data::from(frame));
                }
            }
            10 => {
                if let Some(socket) = self.socket(input.byte()?) {
                    // The adapter reports a close only for a socket it still holds.
                    if !self.closed_by_us.contains(&socket) && self.closed_by_peer.insert(socket) {
                        self.session.handle_ws_closed(self.now, socket);
                    }
                }
            }
            11 => {
                let b = u64::from(input.byte()?);
                self.now += Duration::from_millis(b * b);
            }
            12 => self.handle_timeout(),
            13 => {
                // The timer fires when due.
                if let Some(at) = self.session.poll_timeout() {
                    self.now = self.now.max(at);
                }
                self.handle_timeout();
            }
            14 => {
                let bytes = input.bytes()?;
                self.send(op & 0x80 != 0, bytes);
            }
            15 => self.session.close(self.now),
            16 => self.session.shutdown(self.now),
            _ => {
                // Time passes and the timer fires, in one step.
                let b = u64::from(input.byte()?);
                self.now += Duration::from_millis(b * b);
                self.handle_timeout();
            }
        }
        self.drain();
        Some(())
    }

    /// `close`, then the timers as they come due: the session must end, leaving no request
    /// unanswered and no socket open.
    fn finish(&mut self) {
        self.session.close(self.now);
        self.drain();
        for _ in 0..64 {
            if self.closed {
                break;
            }
            let at = self
                .session
                .poll_timeout()
                .expect("an open session has a timer");
            self.now = self.now.max(at);
            self.handle_timeout();
            self.drain();
        }
        assert!(
            self.closed,
            "close and 64 timer ticks did not end the session"
        );
        assert!(
            self.session.send("late").is_err(),
            "a closed session accepted send"
        );
        for id in &self.requests {
            assert!(
                self.answered.contains(id) || self.aborted.contains(id),
                "{id:?} ({:?}) never answered",
                self.kinds[id]
            );
        }
        for socket in &self.sockets {
            assert!(
                self.closed_by_us.contains(socket) || self.closed_by_peer.contains(socket),
                "{socket:?} left open"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&config, ops)) = data.split_first() else {
        return;
    };
    let mut driver = Driver::open(config);
    let mut input = Input(ops);
    let mut steps = 0;
    while steps < 256 && driver.step(&mut input).is_some() {
        steps += 1;
    }
    driver.finish();
});
