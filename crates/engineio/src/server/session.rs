//! One client's Engine.IO session on the server: polling, WebSocket, upgrade, heartbeats.

use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

use bytes::Bytes;
use http::StatusCode;

use super::{Attach, ErrorCode, Handshake, RequestHead, RequestMethod, Sid, Transport, response};
use crate::packet::{Data, DecodeError, Packet, PacketType};
use crate::payload::{self, PayloadFormat};
use crate::{Protocol, RequestId, ServerConfig, SocketId, Str};

/// Something the adapter must do.
#[derive(Debug)]
pub enum Transmit {
    /// Answer HTTP request `request` with `response`; the request is then done.
    Response {
        /// The request.
        request: RequestId,
        /// The complete response (status, `Content-Type`, body).
        response: http::Response<Bytes>,
    },
    /// Send `frame` on WebSocket `socket` (a text or binary frame).
    Frame {
        /// The WebSocket.
        socket: SocketId,
        /// The frame's content.
        frame: Data,
    },
    /// Close WebSocket `socket` (with a normal close frame) and forget it.
    CloseSocket {
        /// The WebSocket.
        socket: SocketId,
    },
}

/// Why a session closed, named as the reference server names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client closed the transport (WebSocket closed, or a `1` packet).
    TransportClose,
    /// The transport failed: an aborted poll, overlapping requests, a heartbeat in the wrong
    /// direction, a forbidden content type, an oversized WebSocket message.
    TransportError,
    /// No heartbeat in time.
    PingTimeout,
    /// A packet that could not be decoded.
    ParseError,
    /// The application closed the session.
    ForcedClose,
    /// The server is shutting down.
    ForcedServerClose,
}

impl CloseReason {
    /// The reference name ("transport close", "ping timeout", …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::ForcedClose => "forced close",
            Self::ForcedServerClose => "forced server close",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened to the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message from the client.
    Message(Data),
    /// The client probed a WebSocket (`2probe`); the upgrade is under way.
    Upgrading,
    /// The session now runs on the WebSocket.
    Upgraded,
    /// The session is closed; no more events follow. The adapter drops it (later requests
    /// for the id get [`ErrorCode::UnknownSid`]).
    Closed(CloseReason),
}

/// [`Session::send`] on a session that is closing or closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the session is closed")]
pub struct SessionClosed;

#[derive(Debug)]
struct Post {
    id: RequestId,
    body: Vec<u8>,
    binary: bool,
}

/// A POST body whose packets are being delivered.
#[derive(Debug)]
struct PendingPost {
    id: RequestId,
    at: Instant,
    packets: payload::Packets,
    failed: bool,
}

#[derive(Debug)]
enum Active {
    Polling {
        get: Option<RequestId>,
        post: Option<Post>,
    },
    WebSocket(SocketId),
}

#[derive(Debug)]
struct Upgrade {
    socket: SocketId,
    probed: bool,
    deadline: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Closing { deadline: Instant },
    Closed,
}

/// What a parked poll is released with when the session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Release {
    Close,
    Noop,
}

/// One client's Engine.IO session (one `sid`), Sans-IO.
///
/// Inputs are the requests and WebSocket frames for this session (`handle_*`), commands are
/// [`send`](Self::send) and [`close`](Self::close); after any of them drain
/// [`poll_transmit`](Self::poll_transmit), then [`poll_event`](Self::poll_event), then read
/// [`poll_timeout`](Self::poll_timeout) and call [`handle_timeout`](Self::handle_timeout) when
/// it passes.
#[derive(Debug)]
pub struct Session {
    config: ServerConfig,
    sid: Sid,
    protocol: Protocol,
    b64: bool,
    jsonp: Option<String>,
    active: Active,
    upgrade: Option<Upgrade>,
    state: State,
    write_buffer: VecDeque<Packet>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    next_id: u64,
    /// v4: when the next ping goes out (fixed rate from the handshake).
    next_ping: Option<Instant>,
    /// v4: the pong deadline; v3: the deadline for the client's next ping.
    heartbeat_deadline: Option<Instant>,
    /// The reason a server-side close reports once the close packet is out.
    closing_reason: CloseReason,
    /// Why the session closed, once closed.
    closed_with: Option<CloseReason>,
    /// The POST whose packets `poll_event` is delivering.
    pending_post: Option<PendingPost>,
}

impl Session {
    pub(crate) fn open(
        config: ServerConfig,
        now: Instant,
        handshake: Handshake,
        sid: Sid,
    ) -> (Self, Attach) {
        let (active, attach) = match handshake.transport {
            Transport::Polling => {
                let id = RequestId(0);
                (
                    Active::Polling {
                        get: Some(id),
                        post: None,
                    },
                    Attach::Request(id),
                )
            }
            Transport::WebSocket => {
                let id = SocketId(0);
                (Active::WebSocket(id), Attach::Socket(id))
            }
        };
        let upgrades = handshake.transport == Transport::Polling && config.transports.websocket;
        let mut open = Vec::with_capacity(128);
        open.extend_from_slice(b"{\"sid\":");
        // Writing a JSON string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut open, sid.as_str());
        open.extend_from_slice(if upgrades {
            b",\"upgrades\":[\"websocket\"]"
        } else {
            b",\"upgrades\":[]"
        });
        open.extend_from_slice(
            format!(
                ",\"pingInterval\":{},\"pingTimeout\":{},\"maxPayload\":{}}}",
                config.ping_interval.as_millis(),
                config.ping_timeout.as_millis(),
                config.max_http_buffer_size
            )
            .as_bytes(),
        );
        let open = Str::from_validated(Bytes::from(open));
        let (next_ping, heartbeat_deadline) = match handshake.protocol {
            Protocol::V4 => (Some(now + config.ping_interval), None),
            Protocol::V3 => (None, Some(now + config.ping_interval + config.ping_timeout)),
        };
        let session = Self {
            sid,
            protocol: handshake.protocol,
            b64: handshake.b64,
            jsonp: handshake.jsonp,
            active,
            upgrade: None,
            state: State::Open,
            write_buffer: VecDeque::from([Packet::with_data(PacketType::Open, open)]),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 1,
            next_ping,
            heartbeat_deadline,
            closing_reason: CloseReason::ForcedClose,
            closed_with: None,
            pending_post: None,
            config,
        };
        (session, attach)
    }

    /// The session id.
    pub fn sid(&self) -> &Sid {
        &self.sid
    }

    /// The protocol revision.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        match self.active {
            Active::Polling { .. } => Transport::Polling,
            Active::WebSocket(_) => Transport::WebSocket,
        }
    }

    /// Whether an upgrade is under way.
    pub fn is_upgrading(&self) -> bool {
        self.upgrade.is_some()
    }

    /// Whether the session is closed.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Packets queued and not yet handed to a transport.
    pub fn buffered(&self) -> usize {
        self.write_buffer.len()
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    // ---- inputs -------------------------------------------------------------------------

    /// A polling request (GET or POST) for this session. A POST's body follows through
    /// [`handle_post_data`](Self::handle_post_data) and [`handle_post_end`](Self::handle_post_end).
    pub fn handle_request(&mut self, now: Instant, head: &RequestHead<'_>) -> RequestId {
        self.settle();
        let id = RequestId(self.next_id());
        if self.state == State::Closed {
            self.respond(id, ErrorCode::UnknownSid.response());
            return id;
        }
        match head.method() {
            RequestMethod::Get => self.on_poll(id),
            RequestMethod::Post => self.on_post(now, id, head.is_binary()),
            RequestMethod::Other => self.respond(id, ErrorCode::BadRequest.response()),
        }
        id
    }

    fn on_poll(&mut self, id: RequestId) {
        match &mut self.active {
            Active::WebSocket(_) => self.respond(id, ErrorCode::BadRequest.response()),
            Active::Polling { get: Some(_), .. } => {
                // Overlapping polls: refuse the new one, close the session; the parked one
                // is released with a close packet.
                self.respond(id, ErrorCode::BadRequest.response());
                self.terminate(CloseReason::TransportError, Release::Close);
            }
            Active::Polling { get, .. } => *get = Some(id),
        }
    }

    fn on_post(&mut self, _now: Instant, id: RequestId, binary: bool) {
        let refuse = match &self.active {
            Active::WebSocket(_) => Some(false),
            Active::Polling { post: Some(_), .. } => Some(true),
            Active::Polling { .. } if self.pending_post.is_some() => Some(true),
            Active::Polling { .. }
                if binary && (self.protocol == Protocol::V4 || self.jsonp.is_some()) =>
            {
                Some(true)
            }
            Active::Polling { .. } => None,
        };
        match refuse {
            Some(close) => {
                self.respond(id, ErrorCode::BadRequest.response());
                if close {
                    self.terminate(CloseReason::TransportError, Release::Close);
                }
            }
            None => {
                if let Active::Polling { post, .. } = &mut self.active {
                    *post = Some(Post {
                        id,
                        body: Vec::new(),
                        binary,
                    });
                }
            }
        }
    }

    /// A chunk of a POST body. Past `max_http_buffer_size` bytes the request is answered with
    /// 413 and the rest of its body is ignored (the session stays open, as in the reference).
    pub fn handle_post_data(&mut self, _now: Instant, request: RequestId, chunk: &[u8]) {
        self.settle();
        let limit = self.config.max_http_buffer_size;
        let Active::Polling {
            post: slot @ Some(_),
            ..
        } = &mut self.active
        else {
            return;
        };
        let Some(post) = slot.as_mut().filter(|p| p.id == request) else {
            return;
        };
        if post.body.len().saturating_add(chunk.len()) > limit {
            *slot = None;
            self.respond(
                request,
                response(StatusCode::PAYLOAD_TOO_LARGE, "text/html", Bytes::new()),
            );
            return;
        }
        post.body.extend_from_slice(chunk);
    }

    /// The end of a POST body: its packets are decoded and handled, and the request is
    /// answered (`200 ok`, or 400 when the body was malformed and the session closed).
    pub fn handle_post_end(&mut self, now: Instant, request: RequestId) {
        self.settle();
        let Active::Polling {
            post: slot @ Some(_),
            ..
        } = &mut self.active
        else {
            return;
        };
        if slot.as_ref().is_none_or(|p| p.id != request) {
            return;
        }
        let Some(post) = slot.take() else { return };
        let (format, body) = match self.post_body(post) {
            Ok(parts) => parts,
            Err(_) => {
                self.terminate(CloseReason::ParseError, Release::Close);
                self.respond(request, ErrorCode::BadRequest.response());
                return;
            }
        };
        // Packets are decoded one at a time as events are polled, so a body of many tiny
        // packets never becomes a queue of events; the POST is answered once they are all
        // handled.
        self.pending_post = Some(PendingPost {
            id: request,
            at: now,
            packets: payload::decode_payload(format, body, self.config.max_http_buffer_size),
            failed: false,
        });
    }

    /// Delivers what is left of a POST body at once: a driver that did not drain events
    /// before its next input still sees every packet, in order, before that input.
    fn settle(&mut self) {
        while self.pending_post.is_some() {
            if !self.next_post_packet() {
                self.finish_post();
            }
        }
    }

    /// Handles packets of the POST being delivered until one queues an event; with `finish`,
    /// answers the POST once its packets are all handled (from `poll_transmit`, so the answer
    /// is seen by a driver that drains transmits, then events, until neither is left).
    fn advance_post(&mut self, finish: bool) {
        while self.events.is_empty() && self.pending_post.is_some() {
            if !self.next_post_packet() {
                if finish {
                    self.finish_post();
                }
                return;
            }
        }
    }

    /// Handles the next packet of the pending POST; false when there is none left (or the
    /// session closed).
    fn next_post_packet(&mut self) -> bool {
        let Some(pending) = &mut self.pending_post else {
            return false;
        };
        if self.state == State::Closed {
            return false;
        }
        match pending.packets.next() {
            Some(Ok(packet)) => {
                let at = pending.at;
                self.on_packet(at, packet);
                true
            }
            Some(Err(_)) => {
                pending.failed = true;
                self.terminate(CloseReason::ParseError, Release::Close);
                true
            }
            None => false,
        }
    }

    fn finish_post(&mut self) {
        let Some(pending) = self.pending_post.take() else {
            return;
        };
        // A POST is fine if it was decoded entirely, or ended the session with a close packet.
        let ok = !pending.failed
            && (self.state != State::Closed
                || self.closed_with == Some(CloseReason::TransportClose));
        let res = if ok {
            response(StatusCode::OK, "text/html", Bytes::from_static(b"ok"))
        } else {
            ErrorCode::BadRequest.response()
        };
        self.respond(pending.id, res);
    }

    fn post_body(&self, post: Post) -> Result<(PayloadFormat, Bytes), DecodeError> {
        let format = match (self.protocol, post.binary) {
            (Protocol::V4, _) => PayloadFormat::V4,
            (Protocol::V3, true) => PayloadFormat::V3Binary,
            (Protocol::V3, false) => PayloadFormat::V3Text,
        };
        if self.jsonp.is_none() {
            return Ok((format, Bytes::from(post.body)));
        }
        // JSONP: an url-encoded form whose `d` field is the payload, with `\n` escaped by
        // the client as `\\n` and literal `\\n` as `\\\\n`.
        let d = form_urlencoded::parse(&post.body)
            .find(|(k, _)| k == "d")
            .map(|(_, v)| v.into_owned())
            .ok_or(DecodeError::InvalidJsonp)?;
        Ok((format, Bytes::from(unescape_jsonp(&d))))
    }

    /// The client went away before request `request` was answered (an aborted poll or
    /// POST): the session closes with [`CloseReason::TransportError`] ("poll connection
    /// closed prematurely"). No-op for requests already answered.
    pub fn handle_request_aborted(&mut self, _now: Instant, request: RequestId) {
        self.settle();
        if self.pending_post.as_ref().is_some_and(|p| p.id == request) {
            self.pending_post = None;
            self.terminate(CloseReason::TransportError, Release::Close);
            return;
        }
        let Active::Polling { get, post } = &mut self.active else {
            return;
        };
        if *get == Some(request) {
            *get = None;
        } else if post.as_ref().is_some_and(|p| p.id == request) {
            *post = None;
        } else {
            return;
        }
        self.terminate(CloseReason::TransportError, Release::Close);
    }

    /// A WebSocket for this session completed its handshake (an upgrade from polling). It is
    /// closed at once when the session already runs on, or is upgrading to, a WebSocket.
    pub fn handle_websocket(&mut self, now: Instant) -> SocketId {
        self.settle();
        let socket = SocketId(self.next_id());
        let refuse = self.state == State::Closed
            || self.upgrade.is_some()
            || matches!(self.active, Active::WebSocket(_))
            || !self.config.transports.websocket;
        if refuse {
            self.transmits.push_back(Transmit::CloseSocket { socket });
        } else {
            self.upgrade = Some(Upgrade {
                socket,
                probed: false,
                deadline: now + self.config.upgrade_timeout,
            });
        }
        socket
    }

    /// A frame (text or binary message) arrived on WebSocket `socket`.
    pub fn handle_ws_frame(&mut self, now: Instant, socket: SocketId, frame: Data) {
        self.settle();
        if self.state == State::Closed {
            return;
        }
        let too_large = frame.len() > self.config.max_http_buffer_size;
        if self.upgrade.as_ref().is_some_and(|u| u.socket == socket) {
            match (too_large, Packet::decode_frame(self.protocol, frame)) {
                (false, Ok(p)) if p.kind == PacketType::Ping && p.is_probe() => {
                    self.transmits.push_back(Transmit::Frame {
                        socket,
                        frame: Packet::pong_probe().to_frame(self.protocol),
                    });
                    if let Some(u) = &mut self.upgrade {
                        u.probed = true;
                    }
                    self.events.push_back(Event::Upgrading);
                }
                (false, Ok(p)) if p.kind == PacketType::Upgrade => self.complete_upgrade(),
                _ => self.abort_upgrade(),
            }
            return;
        }
        if !matches!(self.active, Active::WebSocket(s) if s == socket) {
            return;
        }
        if too_large {
            self.terminate(CloseReason::TransportError, Release::Close);
            return;
        }
        match Packet::decode_frame(self.protocol, frame) {
            Ok(packet) => self.on_packet(now, packet),
            Err(_) => self.terminate(CloseReason::ParseError, Release::Close),
        }
    }

    /// WebSocket `socket` closed (by the peer or a network error).
    pub fn handle_ws_closed(&mut self, _now: Instant, socket: SocketId) {
        self.settle();
        if self.upgrade.as_ref().is_some_and(|u| u.socket == socket) {
            self.upgrade = None;
        } else if matches!(self.active, Active::WebSocket(s) if s == socket)
            && self.state != State::Closed
        {
            self.terminate(CloseReason::TransportClose, Release::Noop);
            // The peer closed it: nothing to ask the adapter to close.
            self.transmits
                .retain(|t| !matches!(t, Transmit::CloseSocket { socket: s } if *s == socket));
        }
    }

    /// Advances timers to `now`: pings, heartbeat and upgrade timeouts, the close timeout.
    /// Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.settle();
        if self.state == State::Closed {
            return;
        }
        if self.upgrade.as_ref().is_some_and(|u| u.deadline <= now) {
            self.abort_upgrade();
        }
        if let State::Closing { deadline } = self.state
            && deadline <= now
        {
            let reason = self.closing_reason;
            self.terminate(reason, Release::Close);
            return;
        }
        if self.heartbeat_deadline.is_some_and(|d| d <= now) {
            self.terminate(CloseReason::PingTimeout, Release::Close);
            return;
        }
        if let Some(mut at) = self.next_ping
            && at <= now
        {
            if self.state == State::Open {
                self.write_buffer.push_back(Packet::new(PacketType::Ping));
            }
            if self.heartbeat_deadline.is_none() {
                // Counted from when the ping was due, not from when the timer fired, so a
                // late wake-up does not stretch the heartbeat (interval + timeout after the
                // last pong, as the client computes it); a driver stalled past that still
                // gives the client the whole timeout.
                let due = at + self.config.ping_timeout;
                self.heartbeat_deadline = Some(if due > now {
                    due
                } else {
                    now + self.config.ping_timeout
                });
            }
            while at <= now {
                at += self.config.ping_interval;
            }
            self.next_ping = Some(at);
        }
    }

    fn on_packet(&mut self, now: Instant, packet: Packet) {
        match packet.kind {
            PacketType::Ping => match self.protocol {
                Protocol::V3 => {
                    self.heartbeat_deadline =
                        Some(now + self.config.ping_interval + self.config.ping_timeout);
                    // One pong answers any number of pings not yet answered.
                    let queued = self
                        .write_buffer
                        .back()
                        .is_some_and(|p| p.kind == PacketType::Pong);
                    if self.state == State::Open && !queued {
                        self.write_buffer.push_back(Packet::new(PacketType::Pong));
                    }
                }
                Protocol::V4 => self.terminate(CloseReason::TransportError, Release::Close),
            },
            PacketType::Pong => match self.protocol {
                Protocol::V4 => self.heartbeat_deadline = None,
                Protocol::V3 => self.terminate(CloseReason::TransportError, Release::Close),
            },
            PacketType::Message => self.events.push_back(Event::Message(packet.data)),
            // The client ends the session; a parked poll is released with a noop.
            PacketType::Close => self.terminate(CloseReason::TransportClose, Release::Noop),
            PacketType::Open | PacketType::Upgrade | PacketType::Noop => {}
        }
    }

    fn complete_upgrade(&mut self) {
        let Some(upgrade) = self.upgrade.take() else {
            return;
        };
        if let Active::Polling { get, post } = &mut self.active {
            let (get, post) = (get.take(), post.take());
            if let Some(get) = get {
                let res = self.poll_response(&[Packet::new(PacketType::Noop)]);
                self.respond(get, res);
            }
            if let Some(post) = post {
                self.respond(post.id, ErrorCode::BadRequest.response());
            }
        }
        self.active = Active::WebSocket(upgrade.socket);
        self.events.push_back(Event::Upgraded);
    }

    fn abort_upgrade(&mut self) {
        if let Some(upgrade) = self.upgrade.take() {
            self.transmits.push_back(Transmit::CloseSocket {
                socket: upgrade.socket,
            });
        }
    }

    // ---- commands -----------------------------------------------------------------------

    /// Queues a message for the client.
    ///
    /// In v4 polling payloads, packets are joined by `\x1e` with no escape (as in the
    /// protocol and the reference implementation): text containing `\x1e` reaches a polling
    /// client split in two. Send such data as binary.
    pub fn send(&mut self, data: impl Into<Data>) -> Result<(), SessionClosed> {
        if self.state != State::Open {
            return Err(SessionClosed);
        }
        self.write_buffer.push_back(Packet::message(data));
        Ok(())
    }

    /// Closes the session from the server ([`CloseReason::ForcedClose`]): queued packets go
    /// out first, then a close packet (polling) or the WebSocket's close.
    pub fn close(&mut self, now: Instant) {
        self.settle();
        if self.state == State::Open {
            self.state = State::Closing {
                deadline: now + self.config.close_timeout,
            };
            self.closing_reason = CloseReason::ForcedClose;
        }
    }

    /// As [`close`](Self::close), with [`CloseReason::ForcedServerClose`] (server shutdown).
    pub fn shutdown(&mut self, now: Instant) {
        self.settle();
        if self.state == State::Open {
            self.state = State::Closing {
                deadline: now + self.config.close_timeout,
            };
            self.closing_reason = CloseReason::ForcedServerClose;
        }
    }

    // ---- outputs ------------------------------------------------------------------------

    /// The next thing to do on the wire. Queued packets are batched into a parked poll (at
    /// most `max_packets_per_poll` per response) or sent as WebSocket frames.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.transmits.is_empty() {
            self.advance_post(true);
        }
        if self.transmits.is_empty() {
            self.flush();
        }
        self.transmits.pop_front()
    }

    /// The next event. The packets of a POST body are decoded here, one event at a time.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.events.is_empty() {
            self.advance_post(false);
        }
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        let closing = match self.state {
            State::Closing { deadline } => Some(deadline),
            _ => None,
        };
        [
            self.next_ping,
            self.heartbeat_deadline,
            self.upgrade.as_ref().map(|u| u.deadline),
            closing,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn flush(&mut self) {
        if self.state == State::Closed {
            return;
        }
        let closing = matches!(self.state, State::Closing { .. });
        match &mut self.active {
            Active::Polling { get, .. } => {
                let Some(id) = *get else { return };
                let max = self.config.max_packets_per_poll;
                if self.write_buffer.is_empty() && !closing {
                    if self.upgrade.as_ref().is_some_and(|u| u.probed) {
                        *get = None;
                        let res = self.poll_response(&[Packet::new(PacketType::Noop)]);
                        self.respond(id, res);
                    }
                    return;
                }
                *get = None;
                let n = self.write_buffer.len().min(max);
                let mut batch: Vec<Packet> = self.write_buffer.drain(..n).collect();
                let finish = closing && self.write_buffer.is_empty() && batch.len() < max;
                if finish {
                    batch.push(Packet::new(PacketType::Close));
                }
                let res = self.poll_response(&batch);
                self.respond(id, res);
                if finish {
                    let reason = self.closing_reason;
                    self.terminate(reason, Release::Close);
                }
            }
            Active::WebSocket(socket) => {
                let socket = *socket;
                while let Some(packet) = self.write_buffer.pop_front() {
                    let frame = packet.to_frame(self.protocol);
                    self.transmits.push_back(Transmit::Frame { socket, frame });
                }
                if closing {
                    let reason = self.closing_reason;
                    self.terminate(reason, Release::Close);
                }
            }
        }
    }

    fn poll_response(&self, packets: &[Packet]) -> http::Response<Bytes> {
        let format = match self.protocol {
            Protocol::V4 => PayloadFormat::V4,
            Protocol::V3 if self.jsonp.is_some() => PayloadFormat::V3Text,
            Protocol::V3 => payload::v3_format_for(packets, self.b64),
        };
        let mut body =
            Vec::with_capacity(packets.iter().map(|p| p.text_len(self.protocol) + 8).sum());
        payload::encode_payload(format, packets, &mut body);
        if let Some(j) = &self.jsonp {
            body = jsonp_wrap(j, &body);
        }
        let content_type = if self.jsonp.is_some() {
            "text/plain; charset=UTF-8"
        } else {
            format.content_type()
        };
        response(StatusCode::OK, content_type, Bytes::from(body))
    }

    fn respond(&mut self, request: RequestId, response: http::Response<Bytes>) {
        self.transmits
            .push_back(Transmit::Response { request, response });
    }

    fn terminate(&mut self, reason: CloseReason, release: Release) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.closed_with = Some(reason);
        match &mut self.active {
            Active::Polling { get, post } => {
                let (get, post) = (get.take(), post.take());
                if let Some(get) = get {
                    let packet = match release {
                        Release::Close => Packet::new(PacketType::Close),
                        Release::Noop => Packet::new(PacketType::Noop),
                    };
                    let res = self.poll_response(&[packet]);
                    self.respond(get, res);
                }
                if let Some(post) = post {
                    self.respond(post.id, ErrorCode::BadRequest.response());
                }
            }
            Active::WebSocket(socket) => {
                let socket = *socket;
                self.transmits.push_back(Transmit::CloseSocket { socket });
            }
        }
        if let Some(upgrade) = self.upgrade.take() {
            self.transmits.push_back(Transmit::CloseSocket {
                socket: upgrade.socket,
            });
        }
        self.write_buffer.clear();
        self.next_ping = None;
        self.heartbeat_deadline = None;
        self.events.push_back(Event::Closed(reason));
    }
}

/// Wraps a text payload as the reference JSONP transport does: `___eio[j]("<JSON string>");`
/// with U+2028 and U+2029 escaped (valid JavaScript, not only valid JSON).
fn jsonp_wrap(j: &str, payload: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(payload);
    let json = serde_json::to_string(&text).unwrap_or_default();
    let json = json
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    format!("___eio[{j}]({json});").into_bytes()
}

/// Undoes the JSONP client's newline escaping: `\\n` (backslash, n) is a newline, and
/// `\\\\n` (two backslashes, n) is a literal backslash-n.
fn unescape_jsonp(d: &str) -> Vec<u8> {
    let b = d.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'\\') && b.get(i + 2) == Some(&b'n') {
            out.extend_from_slice(b"\\n");
            i += 3;
        } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'n') {
            out.push(b'\n');
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}
