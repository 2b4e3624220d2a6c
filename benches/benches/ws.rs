//! sockeye-ws frame throughput against peer crates, in one run, on the same inputs:
//! `tungstenite`, `fastwebsockets` and `soketto` (bench-only dependencies), plus `memcpy` of
//! the same bytes as the physical limit.
//!
//! ```text
//! cargo bench -p sockeye-benches --bench ws
//! ```
//!
//! # Cases
//!
//! Decode (server side, masked client frames, all in one buffer): 10,000 text frames of 16 B
//! and of 128 B; one 64 KiB and one 1 MiB binary frame; one 64 KiB text frame of ASCII and
//! one of mixed multi-byte UTF-8 (Greek, CJK, emoji, accented Latin, ASCII); a 1 MiB binary
//! message in 64 fragments of 16 KiB. Encode (server side, unmasked): 10,000 text messages of
//! 16 B and of 128 B, one 64 KiB and one 1 MiB binary message.
//!
//! # What every row does
//!
//! Decode: each iteration starts from the same prepared input and copies it into the
//! implementation's own buffer (that copy is part of every row, as a socket read would be),
//! unmasks, validates text as UTF-8, and hands each message's payload to a sink
//! (`black_box`).
//!
//! - **sockeye**: `Connection::server`; `handle_data` with the input (it copies the bytes
//!   into the receive buffer, as appending to `read_buf()` would), then `poll_event` until
//!   `None`; a text payload is handed out through `Utf8Bytes::into_bytes`, which does not
//!   re-validate.
//! - **sockeye_ref** (decode cases): the same, with `poll_event_ref`, which lends each
//!   payload out of the connection's buffers (`&[u8]`, or `TextRef::as_bytes`) until the
//!   next call instead of handing over a `Bytes`: like soketto's borrowed slices below.
//!   The "ours" ratios use the faster of `sockeye` and `sockeye_ref`.
//! - **sockeye `as_str`** (text cases only, informational, not in any ratio): the same, but
//!   the application reads each text message as `&str`, which today re-runs the UTF-8
//!   validation because the crate forbids `unsafe` (see `Utf8Bytes::as_str`).
//! - **tungstenite**: `WebSocketContext::read` over an in-memory `Read` that returns the
//!   prepared bytes (tungstenite copies them into its read buffer and validates text).
//! - **fastwebsockets**: `FragmentCollector::read_frame` (the API that reassembles and
//!   validates text), over an in-memory `tokio::io::AsyncRead`; its futures never pend on
//!   that stream, so they are polled once with a no-op waker.
//! - **soketto**: the Sans-IO `base::Codec`: `decode_header` and `Codec::apply_mask` over a
//!   `Vec` the input is copied into. soketto does not validate UTF-8, so this bench does it
//!   with `simdutf8::basic` (the validator the others use too); single-frame payloads are
//!   handed out as borrowed slices, fragmented ones are reassembled into a fresh `Vec`.
//! - **memcpy**: copies the input into a preallocated buffer, nothing else.
//!
//! Encode ends when the frame bytes are in the transport's send buffer: every
//! implementation's output is copied once into a `Vec` standing for the kernel's socket
//! buffer, as `write(2)` would copy it. Ours writes the `Vec` that `poll_transmit` fills
//! (it swaps its buffer in, no copy); tungstenite and fastwebsockets write through
//! `write` / `write_vectored` on an in-memory stream (fastwebsockets sends payloads over
//! 1 KiB with `write_vectored`, header and payload apart, so it copies them only there);
//! soketto's header from `encode_header` and the payload go into a `Vec` first. memcpy
//! copies the encoded bytes once: the limit for every row.
//!
//! Before measuring, every implementation's output is checked against the expected payloads
//! (decode) or wire bytes (encode).
//!
//! # How the table is timed
//!
//! Criterion measures every (case, implementation) pair and prints its own statistics. Those
//! runs are minutes apart, and this shared 2-core VM drifts 2–3× between runs, so the table
//! printed afterwards does its own timing instead of reading criterion's estimates: for each
//! case the implementations run in interleaved batches of about 4 ms (rotating which goes
//! first), spread over several passes across all cases, and each implementation's figure is
//! its fastest batch, the one least disturbed by other work on the machine. Ratios within
//! one table are therefore measured side by side; absolute figures are not comparable
//! across runs.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::hint::black_box;
use std::io::{self, IoSlice, Read, Write};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use sockeye_ws::frame::{FrameHeader, OpCode};
use sockeye_ws::{Config, Connection, Event, EventRef, Message, Transmit};

#[path = "harness/mod.rs"]
mod harness;
use harness::{BATCH, Column, Rng, Run, Sink, binary, fmt_rate, interleave};

// ----- cases -----

const OURS: &str = "sockeye";
const OURS_STR: &str = "sockeye_as_str";
const OURS_REF: &str = "sockeye_ref";
const MEMCPY: &str = "memcpy";
/// Columns of the table, in order; `OURS_STR` only appears on text decode cases, `OURS_REF`
/// on decode cases.
const IMPLS: [&str; 7] = [
    OURS,
    OURS_REF,
    "tungstenite",
    "fastwebsockets",
    "soketto",
    MEMCPY,
    OURS_STR,
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Text,
    Binary,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Decode,
    Encode,
}

/// What a case's throughput counts.
#[derive(Clone, Copy)]
enum Unit {
    Frames(u64),
    Bytes(u64),
}

/// The targets of issue 3, checked in the table.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    None,
    /// Ours at least this many times the fastest peer.
    Peer(f64),
    /// Ours at least this many times the fastest peer and this fraction of memcpy.
    PeerAndMemcpy(f64, f64),
}

struct Case {
    /// Criterion group name.
    id: &'static str,
    /// Table label.
    label: &'static str,
    direction: Direction,
    kind: Kind,
    messages: Vec<Vec<u8>>,
    unit: Unit,
    target: Target,
    /// Masked client frames (decode input) or unmasked server frames (encode output).
    wire: Vec<u8>,
}

impl Case {
    fn new(
        (id, label): (&'static str, &'static str),
        direction: Direction,
        kind: Kind,
        messages: Vec<Vec<u8>>,
        fragment: Option<usize>,
        target: Target,
    ) -> Self {
        let unit = if messages.len() > 1 {
            Unit::Frames(messages.len() as u64)
        } else {
            Unit::Bytes(messages.iter().map(|m| m.len() as u64).sum())
        };
        let wire = match direction {
            Direction::Decode => client_frames(kind, &messages, fragment),
            Direction::Encode => server_frames(kind, &messages),
        };
        Case {
            id,
            label,
            direction,
            kind,
            messages,
            unit,
            target,
            wire,
        }
    }

    /// The messages as `&str` for a text case, none for a binary one (converted once,
    /// outside the measured loop).
    fn texts(&self) -> Vec<&str> {
        match self.kind {
            Kind::Text => self
                .messages
                .iter()
                .map(|m| std::str::from_utf8(m).expect("text cases hold UTF-8"))
                .collect(),
            Kind::Binary => Vec::new(),
        }
    }

    fn implementations(&self) -> impl Iterator<Item = &'static str> + '_ {
        IMPLS.into_iter().filter(move |&name| {
            (name != OURS_STR || (self.direction == Direction::Decode && self.kind == Kind::Text))
                && (name != OURS_REF || self.direction == Direction::Decode)
        })
    }
}

fn cases() -> Vec<Case> {
    use Direction::{Decode, Encode};
    let small = |len| (0..10_000).map(|i| ascii(len, i)).collect::<Vec<_>>();
    let ascii64k = vec![ascii(64 << 10, 1)];
    let decode_small = Target::Peer(1.5);
    let encode_small = Target::Peer(1.2);
    vec![
        Case::new(
            ("ws_decode_text_16B_x10k", "decode 10k × 16 B text"),
            Decode,
            Kind::Text,
            small(16),
            None,
            decode_small,
        ),
        Case::new(
            ("ws_decode_text_128B_x10k", "decode 10k × 128 B text"),
            Decode,
            Kind::Text,
            small(128),
            None,
            decode_small,
        ),
        Case::new(
            ("ws_decode_binary_64KiB", "decode 64 KiB binary"),
            Decode,
            Kind::Binary,
            vec![binary(64 << 10, 2)],
            None,
            Target::Peer(1.5),
        ),
        Case::new(
            ("ws_decode_binary_1MiB", "decode 1 MiB binary"),
            Decode,
            Kind::Binary,
            vec![binary(1 << 20, 3)],
            None,
            Target::PeerAndMemcpy(1.5, 0.7),
        ),
        Case::new(
            ("ws_decode_text_64KiB_ascii", "decode 64 KiB text, ASCII"),
            Decode,
            Kind::Text,
            ascii64k,
            None,
            Target::Peer(1.5),
        ),
        Case::new(
            (
                "ws_decode_text_64KiB_mixed",
                "decode 64 KiB text, mixed UTF-8",
            ),
            Decode,
            Kind::Text,
            vec![mixed_utf8(64 << 10, 4)],
            None,
            Target::Peer(1.5),
        ),
        Case::new(
            (
                "ws_decode_binary_1MiB_64frag",
                "decode 1 MiB in 64 × 16 KiB fragments",
            ),
            Decode,
            Kind::Binary,
            vec![binary(1 << 20, 5)],
            Some(16 << 10),
            Target::Peer(1.5),
        ),
        Case::new(
            ("ws_encode_text_16B_x10k", "encode 10k × 16 B text"),
            Encode,
            Kind::Text,
            small(16),
            None,
            encode_small,
        ),
        Case::new(
            ("ws_encode_text_128B_x10k", "encode 10k × 128 B text"),
            Encode,
            Kind::Text,
            small(128),
            None,
            encode_small,
        ),
        Case::new(
            ("ws_encode_binary_64KiB", "encode 64 KiB binary"),
            Encode,
            Kind::Binary,
            vec![binary(64 << 10, 6)],
            None,
            Target::None,
        ),
        Case::new(
            ("ws_encode_binary_1MiB", "encode 1 MiB binary"),
            Encode,
            Kind::Binary,
            vec![binary(1 << 20, 7)],
            None,
            Target::None,
        ),
    ]
}

// ----- inputs -----

/// Printable ASCII.
fn ascii(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed + 100);
    (0..len).map(|_| b' ' + (rng.next() % 95) as u8).collect()
}

/// Exactly `len` bytes of UTF-8 mixing 1-, 2-, 3- and 4-byte characters.
fn mixed_utf8(len: usize, seed: u64) -> Vec<u8> {
    const PIECES: [&str; 6] = [
        "Καλημέρα κόσμε ",
        "日本語のテキスト ",
        "中文字符 ",
        "😀🚀🎉 ",
        "plain ascii words ",
        "Ünïcödé façade ",
    ];
    let mut rng = Rng::new(seed + 300);
    let mut s = String::with_capacity(len);
    loop {
        let piece = PIECES[(rng.next() % PIECES.len() as u64) as usize];
        if s.len() + piece.len() > len {
            break;
        }
        s.push_str(piece);
    }
    while s.len() < len {
        s.push(' ');
    }
    s.into_bytes()
}

fn data_opcode(kind: Kind) -> OpCode {
    match kind {
        Kind::Text => OpCode::Text,
        Kind::Binary => OpCode::Binary,
    }
}

/// The frames a client sends: masked with a different key per frame, fragmented if asked.
fn client_frames(kind: Kind, messages: &[Vec<u8>], fragment: Option<usize>) -> Vec<u8> {
    let mut rng = Rng::new(42);
    let mut out = Vec::new();
    for message in messages {
        let pieces: Vec<&[u8]> = match fragment {
            Some(size) => message.chunks(size).collect(),
            None => vec![message],
        };
        for (i, piece) in pieces.iter().enumerate() {
            let mask = (rng.next() as u32).to_be_bytes();
            let header = FrameHeader {
                fin: i + 1 == pieces.len(),
                rsv: 0,
                opcode: if i == 0 {
                    data_opcode(kind)
                } else {
                    OpCode::Continuation
                },
                mask: Some(mask),
                payload_len: piece.len() as u64,
            };
            header.encode_to(&mut out);
            let start = out.len();
            out.extend_from_slice(piece);
            sockeye_ws::apply_mask(&mut out[start..], mask, 0);
        }
    }
    out
}

/// The frames a server sends: one unmasked frame per message.
fn server_frames(kind: Kind, messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for message in messages {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: data_opcode(kind),
            mask: None,
            payload_len: message.len() as u64,
        };
        header.encode_to(&mut out);
        out.extend_from_slice(message);
    }
    out
}

// ----- plumbing shared by the implementations -----

/// Where decoded payloads go (the harness's `Sink`).
type Payloads = Sink;

/// The transport's send buffer: encoded bytes are copied into it, as `write(2)` copies them
/// into the kernel's socket buffer. Every encoder's output passes through it once; each
/// iteration starts by emptying it.
#[derive(Clone, Default)]
struct Wire(Rc<RefCell<Vec<u8>>>);

impl Wire {
    fn put(&self, bytes: &[u8]) {
        self.0.borrow_mut().extend_from_slice(bytes);
    }

    fn clear(&self) {
        self.0.borrow_mut().clear();
    }

    fn len(&self) -> usize {
        self.0.borrow().len()
    }
}

/// A transport in memory: reads return the prepared input from `pos` on; writes go to a
/// [`Wire`]. Both `std::io` and tokio's traits, for tungstenite and fastwebsockets.
struct MemStream<'a> {
    input: &'a [u8],
    pos: Rc<Cell<usize>>,
    out: Wire,
}

impl MemStream<'_> {
    fn read_into(&mut self, buf: &mut [u8]) -> usize {
        let pos = self.pos.get();
        let n = (self.input.len() - pos).min(buf.len());
        buf[..n].copy_from_slice(&self.input[pos..pos + n]);
        self.pos.set(pos + n);
        n
    }
}

impl Read for MemStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.read_into(buf) {
            // Like a non-blocking socket with nothing more to read, not end of stream.
            0 if !buf.is_empty() => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }
}

impl Write for MemStream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.put(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for MemStream<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let pos = this.pos.get();
        let n = (this.input.len() - pos).min(buf.remaining());
        if n == 0 && buf.remaining() > 0 {
            return Poll::Pending;
        }
        buf.put_slice(&this.input[pos..pos + n]);
        this.pos.set(pos + n);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for MemStream<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().out.put(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut n = 0;
        for buf in bufs {
            self.out.put(buf);
            n += buf.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs a future that never pends: [`MemStream`] is always ready while input remains, and
/// each run reads exactly the frames its input holds.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory stream never blocks"),
    }
}

// A measured operation (`harness::Run`) is a case run by one implementation; it returns
// messages handed out (decode) or bytes produced (encode).

/// Builds `name`'s run of `case`; decoders hand payloads to `payloads`, encoders write to
/// `wire`.
fn runner<'a>(case: &'a Case, name: &str, payloads: Payloads, wire: Wire) -> Run<'a> {
    match case.direction {
        Direction::Decode => decoder(case, name, payloads),
        Direction::Encode => encoder(case, name, wire),
    }
}

// ----- decoders -----

fn decoder<'a>(case: &'a Case, name: &str, mut sink: Payloads) -> Run<'a> {
    let input = &case.wire[..];
    let messages = case.messages.len();
    match name {
        OURS | OURS_STR => {
            let as_str = name == OURS_STR;
            let mut conn = Connection::server(Config::default(), Instant::now());
            Box::new(move || {
                conn.handle_data(Instant::now(), input);
                let mut n = 0;
                while let Some(event) = conn.poll_event() {
                    match event {
                        Event::Message(Message::Text(text)) if as_str => {
                            sink.put(text.as_str().as_bytes())
                        }
                        Event::Message(Message::Text(text)) => sink.put(&text.into_bytes()),
                        Event::Message(Message::Binary(data)) => sink.put(&data),
                        other => panic!("unexpected event {other:?}"),
                    }
                    n += 1;
                }
                n
            })
        }
        "tungstenite" => {
            use tungstenite::protocol::{Role, WebSocketContext};
            let mut ctx = WebSocketContext::new(Role::Server, None);
            let mut stream = MemStream {
                input,
                pos: Rc::default(),
                out: Wire::default(),
            };
            Box::new(move || {
                stream.pos.set(0);
                for _ in 0..messages {
                    match ctx.read(&mut stream).expect("valid input") {
                        tungstenite::Message::Text(text) => sink.put(text.as_bytes()),
                        tungstenite::Message::Binary(data) => sink.put(&data),
                        other => panic!("unexpected message {other:?}"),
                    }
                }
                messages
            })
        }
        "fastwebsockets" => {
            use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
            let pos = Rc::new(Cell::new(0));
            let stream = MemStream {
                input,
                pos: pos.clone(),
                out: Wire::default(),
            };
            let mut ws = FragmentCollector::new(WebSocket::after_handshake(stream, Role::Server));
            Box::new(move || {
                pos.set(0);
                for _ in 0..messages {
                    let frame = block_on(ws.read_frame()).expect("valid input");
                    assert!(matches!(frame.opcode, OpCode::Text | OpCode::Binary));
                    sink.put(&frame.payload);
                }
                messages
            })
        }
        OURS_REF => {
            let mut conn = Connection::server(Config::default(), Instant::now());
            Box::new(move || {
                conn.handle_data(Instant::now(), input);
                let mut n = 0;
                while let Some(event) = conn.poll_event_ref() {
                    match event {
                        EventRef::Text(text) => sink.put(text.as_bytes()),
                        EventRef::Binary(data) => sink.put(data),
                        other => panic!("unexpected event {other:?}"),
                    }
                    n += 1;
                }
                n
            })
        }
        "soketto" => {
            let mut decoder = SokettoDecoder::default();
            Box::new(move || decoder.run(input, &mut sink))
        }
        MEMCPY => {
            let mut buf = vec![0u8; input.len()];
            Box::new(move || {
                buf.copy_from_slice(input);
                black_box(&mut buf);
                messages
            })
        }
        _ => unreachable!("unknown implementation {name}"),
    }
}

/// soketto's Sans-IO codec driven the way its own `Receiver` drives it, minus the I/O.
#[derive(Default)]
struct SokettoDecoder {
    codec: soketto::base::Codec,
    buf: Vec<u8>,
    /// A fragmented message being reassembled: whether it is text, and the data so far.
    message: Option<(bool, Vec<u8>)>,
}

impl SokettoDecoder {
    fn run(&mut self, input: &[u8], sink: &mut Payloads) -> usize {
        use soketto::Parsing;
        use soketto::base::{Codec, OpCode};
        self.buf.clear();
        self.buf.extend_from_slice(input);
        let mut pos = 0;
        let mut n = 0;
        while pos < self.buf.len() {
            let (header, header_len) = match self.codec.decode_header(&self.buf[pos..]) {
                Ok(Parsing::Done { value, offset }) => (value, offset),
                other => panic!("a complete, valid frame expected: {other:?}"),
            };
            // RFC 6455 §5.1, which soketto's codec leaves to its caller.
            assert!(header.is_masked(), "client frames are masked");
            let start = pos + header_len;
            pos = start + header.payload_len();
            let payload = &mut self.buf[start..pos];
            Codec::apply_mask(&header, payload);
            match (header.opcode(), header.is_fin()) {
                (OpCode::Text, true) => {
                    let text = simdutf8::basic::from_utf8(payload).expect("valid UTF-8");
                    sink.put(text.as_bytes());
                    n += 1;
                }
                (OpCode::Binary, true) => {
                    sink.put(payload);
                    n += 1;
                }
                (OpCode::Text | OpCode::Binary, false) => {
                    assert!(self.message.is_none(), "no message in progress");
                    let text = header.opcode() == OpCode::Text;
                    self.message = Some((text, payload.to_vec()));
                }
                (OpCode::Continue, fin) => {
                    let (_, data) = self.message.as_mut().expect("a message in progress");
                    data.extend_from_slice(payload);
                    if fin {
                        let (text, data) = self.message.take().expect("checked above");
                        if text {
                            simdutf8::basic::from_utf8(&data).expect("valid UTF-8");
                        }
                        sink.put(&data);
                        n += 1;
                    }
                }
                (other, _) => panic!("unexpected opcode {other}"),
            }
        }
        n
    }
}

// ----- encoders -----

fn encoder<'a>(case: &'a Case, name: &str, wire: Wire) -> Run<'a> {
    let messages = &case.messages;
    let kind = case.kind;
    match name {
        OURS => {
            let texts = case.texts();
            let mut conn = Connection::server(Config::default(), Instant::now());
            let mut out = Vec::new();
            Box::new(move || {
                wire.clear();
                match kind {
                    Kind::Text => {
                        for text in &texts {
                            conn.send_text(text).expect("open connection");
                        }
                    }
                    Kind::Binary => {
                        for data in messages {
                            conn.send_binary(data).expect("open connection");
                        }
                    }
                }
                let mut len = 0;
                while let Some(transmit) = conn.poll_transmit(&mut out) {
                    match transmit {
                        Transmit::Data { len: n } => len += n,
                        Transmit::Shutdown => panic!("no shutdown while open"),
                    }
                }
                wire.put(&out);
                out.clear();
                len
            })
        }
        "tungstenite" => {
            use tungstenite::protocol::{Role, WebSocketContext};
            let prepared: Vec<tungstenite::Message> = messages
                .iter()
                .map(|m| match kind {
                    Kind::Text => tungstenite::Message::Text(
                        tungstenite::Utf8Bytes::try_from(m.clone()).expect("UTF-8"),
                    ),
                    Kind::Binary => tungstenite::Message::Binary(Bytes::from(m.clone())),
                })
                .collect();
            let mut ctx = WebSocketContext::new(Role::Server, None);
            let mut stream = MemStream {
                input: &[],
                pos: Rc::default(),
                out: wire.clone(),
            };
            Box::new(move || {
                wire.clear();
                for message in &prepared {
                    ctx.write(&mut stream, message.clone())
                        .expect("in-memory writes succeed");
                }
                ctx.flush(&mut stream).expect("in-memory writes succeed");
                wire.len()
            })
        }
        "fastwebsockets" => {
            use fastwebsockets::{Frame, Payload, Role, WebSocket};
            let stream = MemStream {
                input: &[],
                pos: Rc::default(),
                out: wire.clone(),
            };
            let mut ws = WebSocket::after_handshake(stream, Role::Server);
            Box::new(move || {
                wire.clear();
                for data in messages {
                    let payload = Payload::Borrowed(data);
                    let frame = match kind {
                        Kind::Text => Frame::text(payload),
                        Kind::Binary => Frame::binary(payload),
                    };
                    block_on(ws.write_frame(frame)).expect("in-memory writes succeed");
                }
                block_on(ws.flush()).expect("in-memory writes succeed");
                wire.len()
            })
        }
        "soketto" => {
            use soketto::base::{Codec, Header, OpCode};
            let mut codec = Codec::new();
            let mut out = Vec::new();
            let opcode = match kind {
                Kind::Text => OpCode::Text,
                Kind::Binary => OpCode::Binary,
            };
            Box::new(move || {
                wire.clear();
                for data in messages {
                    let mut header = Header::new(opcode);
                    header.set_fin(true);
                    header.set_payload_len(data.len());
                    out.extend_from_slice(codec.encode_header(&header));
                    out.extend_from_slice(data);
                }
                wire.put(&out);
                out.clear();
                wire.len()
            })
        }
        MEMCPY => {
            let encoded = &case.wire[..];
            let mut buf = vec![0u8; encoded.len()];
            Box::new(move || {
                buf.copy_from_slice(encoded);
                black_box(&mut buf);
                encoded.len()
            })
        }
        _ => unreachable!("unknown implementation {name}"),
    }
}

// ----- correctness check -----

/// Runs every implementation once (twice, to cover buffer reuse) and compares what it
/// handed out with what the case holds.
fn check(case: &Case) {
    for name in case.implementations() {
        let kept = Rc::<RefCell<Vec<Vec<u8>>>>::default();
        let payloads = Payloads::keeping(&kept);
        let wire = Wire::default();
        let mut run = runner(case, name, payloads, wire.clone());
        for round in 0..2 {
            let n = run();
            let what = format!("{} / {name} / round {round}", case.id);
            match case.direction {
                Direction::Decode => {
                    assert_eq!(n, case.messages.len(), "{what}: message count");
                    if name != MEMCPY {
                        assert!(*kept.borrow() == case.messages, "{what}: payloads differ");
                    }
                    kept.borrow_mut().clear();
                }
                Direction::Encode => {
                    assert_eq!(n, case.wire.len(), "{what}: encoded length");
                    if name != MEMCPY {
                        assert!(
                            *wire.0.borrow() == case.wire,
                            "{what}: encoded bytes differ"
                        );
                    }
                }
            }
        }
    }
}

// ----- criterion -----

fn criterion_benches(c: &mut Criterion, cases: &[Case]) {
    for case in cases {
        let mut group = c.benchmark_group(case.id);
        group.throughput(match case.unit {
            Unit::Frames(n) => Throughput::Elements(n),
            Unit::Bytes(n) => Throughput::Bytes(n),
        });
        for name in case.implementations() {
            let mut run = runner(case, name, Payloads::default(), Wire::default());
            group.bench_function(name, |b| b.iter(&mut run));
        }
        group.finish();
    }
}

// ----- side-by-side table -----

/// Passes over all cases; each case's batches are spread over the passes, so a burst of
/// load elsewhere on the machine cannot spoil all of one case's batches.
const PASSES: usize = 3;
/// Rounds per case in each pass; each round times one batch of every implementation.
const ROUNDS: usize = 15;
fn ratio_table(cases: &[Case]) {
    let mut rows: Vec<Vec<Column<'_>>> = cases
        .iter()
        .map(|case| {
            case.implementations()
                .map(|name| {
                    Column::new(
                        name,
                        runner(case, name, Payloads::default(), Wire::default()),
                    )
                })
                .collect()
        })
        .collect();
    interleave(&mut rows, PASSES, ROUNDS);
    print_table(cases, &rows);
}

fn print_table(cases: &[Case], rows: &[Vec<Column<'_>>]) {
    println!();
    println!(
        "sockeye-ws frame throughput, best of {} interleaved batches of ~{} ms per cell",
        PASSES * ROUNDS,
        BATCH.as_millis()
    );
    println!("(×N: ratio to the fastest peer of tungstenite, fastwebsockets and soketto)");
    println!();
    let header: Vec<&str> = IMPLS.to_vec();
    println!(
        "| case | unit | {} | ours / best peer | ours / memcpy | target |",
        header.join(" | ")
    );
    println!("|---|---|{}---|---|---|", "---|".repeat(header.len()));
    for (case, columns) in cases.iter().zip(rows) {
        let (scale, unit) = match case.unit {
            Unit::Frames(n) => (n as f64 / 1e6, "M frames/s"),
            Unit::Bytes(n) => (n as f64 / 1e9, "GB/s"),
        };
        let rate = |name: &str| {
            columns
                .iter()
                .find(|c| c.name == name)
                .map(|c| scale / c.best)
        };
        let best_peer = ["tungstenite", "fastwebsockets", "soketto"]
            .iter()
            .filter_map(|name| rate(name))
            .fold(0.0, f64::max);
        let cells: Vec<String> = IMPLS
            .iter()
            .map(|&name| match rate(name) {
                Some(r) => format!("{} (×{:.2})", fmt_rate(r), r / best_peer),
                None => "—".to_string(),
            })
            .collect();
        // Ours: the faster of the owned (`poll_event`) and lending (`poll_event_ref`) APIs.
        let ours = rate(OURS)
            .expect("ours runs every case")
            .max(rate(OURS_REF).unwrap_or(0.0));
        let memcpy = rate(MEMCPY).expect("memcpy runs every case");
        let vs_peer = ours / best_peer;
        let vs_memcpy = ours / memcpy;
        let verdict = match case.target {
            Target::None => "—".to_string(),
            Target::Peer(want) => verdict(&[(vs_peer, want, "peer")]),
            Target::PeerAndMemcpy(want_peer, want_memcpy) => verdict(&[
                (vs_peer, want_peer, "peer"),
                (vs_memcpy, want_memcpy, "memcpy"),
            ]),
        };
        println!(
            "| {} | {unit} | {} | {vs_peer:.2} | {vs_memcpy:.2} | {verdict} |",
            case.label,
            cells.join(" | ")
        );
    }
    println!();
}

/// "met" or "MISSED", per (measured, wanted, against) triple.
fn verdict(checks: &[(f64, f64, &str)]) -> String {
    checks
        .iter()
        .map(|&(got, want, against)| {
            let status = if got >= want { "met" } else { "MISSED" };
            format!("≥{want}× {against}: {status}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn main() {
    let cases = harness::selected(cases(), |c| c.id);
    for case in &cases {
        check(case);
    }
    harness::run(
        |criterion| criterion_benches(criterion, &cases),
        || ratio_table(&cases),
    );
}
