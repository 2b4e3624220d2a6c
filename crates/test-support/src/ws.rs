//! Deterministic harness for `sockeye-ws`: a client and a server [`Connection`] wired back to
//! back in memory, with simulated time and injected masking keys, so every byte on the wire
//! is reproducible.

use std::time::{Duration, Instant};

use sockeye_ws::{CloseCode, Config, Connection, Event, MaskSource, Transmit};

/// Masking keys 0x01020304, 0x05060708, … : deterministic and distinct per frame.
#[derive(Debug, Clone, Default)]
pub struct CountingMask {
    next: u32,
}

impl MaskSource for CountingMask {
    fn next_mask(&mut self) -> [u8; 4] {
        self.next = self.next.wrapping_add(1);
        self.next
            .wrapping_mul(0x0404_0404)
            .wrapping_sub(0x0302_0100)
            .to_be_bytes()
    }
}

/// A start instant for simulated time. Only differences between instants matter.
pub fn start_time() -> Instant {
    Instant::now()
}

/// One endpoint's view in a [`Pair`]: its connection, the events it reported, and whether it
/// has shut down its write side.
#[derive(Debug)]
pub struct Side {
    /// The state machine.
    pub conn: Connection,
    /// Every event polled so far, in order.
    pub events: Vec<Event>,
    /// Every byte it transmitted so far.
    pub sent: Vec<u8>,
    /// Whether it asked for its write side to be shut down.
    pub shut_down: bool,
    delivered: usize,
    eof_delivered: bool,
}

impl Side {
    fn new(conn: Connection) -> Self {
        Self {
            conn,
            events: Vec::new(),
            sent: Vec::new(),
            shut_down: false,
            delivered: 0,
            eof_delivered: false,
        }
    }

    /// Drains transmits and events, as a driver does after every input: transmits, then one
    /// event, until neither is left.
    pub fn drain(&mut self) {
        let (events, sent, shut_down) = drain(&mut self.conn);
        self.events.extend(events);
        self.sent.extend(sent);
        self.shut_down |= shut_down;
    }

    /// The events reported since the last call, removing them.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

/// Drains a connection as a driver does: transmits, then one event, until neither is left.
/// Returns the events, the bytes sent, and whether it asked for a shutdown.
pub fn drain(conn: &mut Connection) -> (Vec<Event>, Vec<u8>, bool) {
    let (mut events, mut sent, mut shut_down) = (Vec::new(), Vec::new(), false);
    let mut buf = Vec::new();
    loop {
        let mut progressed = false;
        while let Some(t) = conn.poll_transmit(&mut buf) {
            progressed = true;
            match t {
                Transmit::Data { .. } => sent.append(&mut buf),
                Transmit::Shutdown => shut_down = true,
            }
        }
        if let Some(e) = conn.poll_event() {
            progressed = true;
            events.push(e);
        }
        if !progressed {
            return (events, sent, shut_down);
        }
    }
}

/// A client and a server connection back to back, with simulated time.
#[derive(Debug)]
pub struct Pair {
    /// The client end.
    pub client: Side,
    /// The server end.
    pub server: Side,
    /// The simulated clock.
    pub now: Instant,
    /// Largest chunk delivered per `handle_data` call (to exercise partial input).
    pub chunk: usize,
}

impl Pair {
    /// A pair with the given configurations, masking with [`CountingMask`].
    pub fn new(client: Config, server: Config) -> Self {
        let now = start_time();
        Self {
            client: Side::new(Connection::client(client, CountingMask::default(), now)),
            server: Side::new(Connection::server(server, now)),
            now,
            chunk: usize::MAX,
        }
    }

    /// A pair with default configurations.
    pub fn default_config() -> Self {
        Self::new(Config::default(), Config::default())
    }

    /// Moves bytes both ways until neither side has anything left to send or report.
    /// A side's shutdown reaches the other side as end of input.
    pub fn run(&mut self) {
        loop {
            self.client.drain();
            self.server.drain();
            let moved = deliver(&mut self.client, &mut self.server, self.now, self.chunk)
                | deliver(&mut self.server, &mut self.client, self.now, self.chunk);
            if !moved {
                self.client.drain();
                self.server.drain();
                return;
            }
        }
    }

    /// Advances simulated time by `by`, fires due timers on both sides, and runs.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.conn.handle_timeout(self.now);
        self.server.conn.handle_timeout(self.now);
        self.run();
    }
}

/// Delivers `from`'s new bytes (and its shutdown, as EOF) to `to`. Returns whether anything
/// moved.
fn deliver(from: &mut Side, to: &mut Side, now: Instant, chunk: usize) -> bool {
    let mut moved = false;
    while from.delivered < from.sent.len() {
        let end = from.sent.len().min(from.delivered.saturating_add(chunk));
        to.conn.handle_data(now, &from.sent[from.delivered..end]);
        from.delivered = end;
        moved = true;
    }
    if from.shut_down && !from.eof_delivered {
        to.conn.handle_eof(now);
        from.eof_delivered = true;
        moved = true;
    }
    moved
}

/// Splits a byte stream into its frames' headers, for assertions about what a side sent.
///
/// # Panics
///
/// Panics (failing the test) on bytes that are not a sequence of complete valid frames.
pub fn frames(mut bytes: &[u8]) -> Vec<(sockeye_ws::frame::FrameHeader, Vec<u8>)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (h, n) = sockeye_ws::frame::FrameHeader::decode(bytes)
            .expect("valid frame header")
            .expect("complete frame header");
        let len = usize::try_from(h.payload_len).expect("payload fits in memory");
        let mut payload = bytes[n..n + len].to_vec();
        if let Some(mask) = h.mask {
            sockeye_ws::apply_mask(&mut payload, mask, 0);
        }
        out.push((h, payload));
        bytes = &bytes[n + len..];
    }
    out
}

/// Asserts that the last frame in `bytes` is a Close frame with `code`.
///
/// # Panics
///
/// Panics (failing the test) otherwise.
#[track_caller]
pub fn assert_sent_close(bytes: &[u8], code: CloseCode) {
    let frames = frames(bytes);
    let Some((h, payload)) = frames.last() else {
        panic!("nothing was sent; expected a Close frame with {code}");
    };
    assert_eq!(
        h.opcode,
        sockeye_ws::frame::OpCode::Close,
        "last frame is not a Close"
    );
    assert!(
        payload.len() >= 2,
        "Close frame without a code; expected {code}"
    );
    let got = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
    assert_eq!(
        got,
        code,
        "close code (reason: {:?})",
        String::from_utf8_lossy(&payload[2..])
    );
}

/// Builds one frame from raw parts, without any validation, for feeding a connection
/// hand-made (also invalid) input. `b0` is the first header byte (FIN, RSV, opcode); the
/// payload is masked with `mask` when given.
pub fn raw_frame(b0: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        len @ 0..=125 => out.push(mask_bit | len as u8),
        len @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    let start = out.len();
    match mask {
        Some(m) => {
            out.extend_from_slice(&m);
            out.extend_from_slice(payload);
            sockeye_ws::apply_mask(&mut out[start + 4..], m, 0);
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A frame as a client sends it: masked with a fixed key. `b0` as in [`raw_frame`].
pub fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(b0, Some([0x37, 0xfa, 0x21, 0x3d]), payload)
}
