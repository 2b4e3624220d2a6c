//! sockeye-engineio's packet and payload codecs against `engineioxide-core` (a bench-only
//! dependency), in one run, on the same inputs.
//!
//! ```text
//! cargo bench -p sockeye-benches --bench engineio
//! ```
//!
//! # Cases
//!
//! Engine.IO v4, decode and encode each:
//!
//! - **message**: one message packet of 64 B in text form (`4hello world hello world …`), as a
//!   WebSocket text frame carries it;
//! - **binary**: one 1 KiB binary message in polling form, `b` + base64 (1,369 B);
//! - **payload**: a polling body of 20 text message packets of 40 B each, joined by `\x1e`
//!   (819 B).
//!
//! # What every row does
//!
//! Both sides start from the same prepared input, produce owned values (packets that own or
//! share their data; encoded bytes in a `Bytes`), and hand each to a sink (`black_box`). The
//! sink reads each decoded packet's data with a `match` that also checks its type.
//!
//! - **Decode a packet** (message, binary): from each crate's own `Str`, made once outside the
//!   loop from the frame's text, so neither side validates UTF-8 here (both types guarantee
//!   it; a WebSocket layer has validated the frame). Ours: `Packet::decode_text(V4, &str)`;
//!   engineioxide-core: `Packet::parse(V4, str.clone())` (it takes the `Str` by value; the
//!   clone is a reference count, as ours takes inside `decode_text`). Both slice the message
//!   text out of the input without copying, and both decode base64 with `base64` 0.22 into a
//!   fresh buffer.
//! - **Decode a payload**: from the body in a `Bytes` (cloned per iteration, a reference
//!   count), every packet decoded, UTF-8 validated and handed out as an owned packet. Ours:
//!   `decode_payload(PayloadFormat::V4, body, 1 MiB)`, iterated to the end. engineioxide-core:
//!   `payload::decoder(Full::new(body), None, V4, 1 MiB)`, the `Stream` its polling
//!   transport reads a request body with, over http-body-util's `Full`; it is polled with a
//!   no-op waker, once per packet (`Full` is always ready, so the stream never pends; an
//!   executor such as `futures::executor::block_on` would add its own per-call cost to the
//!   peer's side only).
//! - **Encode a packet**: each iteration builds the packet from shared data (a reference
//!   count) and encodes it into a fresh, exactly sized buffer. Message: ours
//!   `Packet::to_frame(V4)` (the text frame as a `Str`); engineioxide-core
//!   `Bytes::from(Packet::Message(str))`. Binary: ours `Packet::encode_text(V4, &mut out)` into
//!   `Vec::with_capacity(packet.text_len(V4))`, then `Bytes::from`; engineioxide-core
//!   `Bytes::from(Packet::Binary(data))` (both `b` + padded base64 through `base64` 0.22).
//! - **Encode a payload**: each iteration builds the 20 packets from shared texts (its API
//!   consumes its packets, and a session's send queue owns and then drops ours) and encodes
//!   them into one body. Ours: a `Vec<Packet>`, then `encode_payload(PayloadFormat::V4,
//!   &packets, &mut body)` into a `Vec` sized the way `Session` sizes a poll response
//!   (`text_len + 8` per packet), then `Bytes::from`. engineioxide-core: one `PacketBuf` of the
//!   20 packets through `payload::encoder(stream::iter([batch]), V4, false, 1 MiB)`, the future
//!   its polling transport awaits for a response body, polled once with a no-op waker (the
//!   stream is always ready, so the future completes on the first poll).
//! - **sockeye, reused output** (encode cases only): the codec as a driver uses it: the
//!   packets are built once, outside the loop, and each iteration appends the encoded form to
//!   the same cleared `Vec` (`encode_text` / `encode_payload`), so nothing is allocated. The
//!   peer has no such API (its encoders return owned strings). The ratio takes sockeye's
//!   faster column; both columns are printed.
//!
//! Before measuring, every row's output is checked: decoded packets against the data the
//! case was built from, encoded bytes against the input of the matching decode case.
//!
//! # How the table is timed
//!
//! As in the `ws` bench: criterion measures every (case, implementation) pair and prints its
//! own statistics; the table printed afterwards does its own timing, because this shared
//! 2-core VM drifts between runs minutes apart. For each case the implementations run in
//! interleaved batches of about 4 ms (rotating which goes first), spread over several passes
//! across all cases, and each implementation's figure is its fastest batch. Ratios within one
//! table are measured side by side; absolute figures are not comparable across runs.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use engineioxide_core as peer;
use futures_util::Stream;
use sockeye_engineio::{Data, Packet, PacketType, PayloadFormat, Protocol, Str};

#[path = "harness/mod.rs"]
mod harness;
use harness::{BATCH, Column, Run, Sink, binary, fmt_rate, interleave};

// ----- cases -----

const OURS: &str = "sockeye";
const PEER: &str = "engineioxide-core";
const OURS_REUSE: &str = "sockeye_reuse";
/// Columns of the table, in order; `OURS_REUSE` only appears on encode cases.
const IMPLS: [&str; 3] = [OURS, PEER, OURS_REUSE];

/// The target of the issue: ours at least this many times the peer's throughput, every case.
const TARGET: f64 = 1.5;

/// Packet (ours) and payload (engineioxide-core) size limit: far above every input, so it
/// never triggers.
const MAX: usize = 1 << 20;

/// Packets in the payload cases.
const PAYLOAD_PACKETS: usize = 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Decode,
    Encode,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One text message packet.
    Message,
    /// One binary message packet, base64 in text form.
    Binary,
    /// A v4 polling body of text message packets.
    Payload,
}

/// What a case's throughput counts.
#[derive(Clone, Copy)]
enum Unit {
    Packets(u64),
    Bytes(u64),
}

struct Case {
    /// Criterion group name.
    id: &'static str,
    /// Table label.
    label: &'static str,
    direction: Direction,
    shape: Shape,
    /// Each packet's data: UTF-8 text (message, payload) or raw bytes (binary).
    data: Vec<Vec<u8>>,
    /// The text form: the packet, or the payload body.
    wire: Vec<u8>,
    unit: Unit,
}

impl Case {
    fn new((id, label): (&'static str, &'static str), direction: Direction, shape: Shape) -> Self {
        let (data, wire, unit) = match shape {
            Shape::Message => {
                let text = text(63, "hello world ");
                let mut wire = vec![b'4'];
                wire.extend_from_slice(&text);
                (vec![text], wire, Unit::Packets(1))
            }
            Shape::Binary => {
                let data = binary(1024, 1);
                // The peer's encoder writes the input; the checks then hold ours to the same
                // bytes, and both decoders to the data.
                let wire = String::from(peer::Packet::Binary(Bytes::from(data.clone())));
                assert_eq!(wire.len(), 1 + 1368, "b + padded base64 of 1 KiB");
                (vec![data], wire.into_bytes(), Unit::Bytes(1024))
            }
            Shape::Payload => {
                let texts: Vec<Vec<u8>> = (0..PAYLOAD_PACKETS)
                    .map(|i| text(39, &format!("hello world {i:02} ")))
                    .collect();
                let mut wire = Vec::new();
                for (i, text) in texts.iter().enumerate() {
                    if i > 0 {
                        wire.push(0x1e);
                    }
                    wire.push(b'4');
                    wire.extend_from_slice(text);
                }
                (texts, wire, Unit::Packets(PAYLOAD_PACKETS as u64))
            }
        };
        Case {
            id,
            label,
            direction,
            shape,
            data,
            wire,
            unit,
        }
    }

    /// What a run hands to the sink: the packets' data (decode) or the wire bytes (encode).
    fn expected(&self) -> Vec<Vec<u8>> {
        match self.direction {
            Direction::Decode => self.data.clone(),
            Direction::Encode => vec![self.wire.clone()],
        }
    }

    /// The packets' texts as our `Str` (message, payload cases).
    fn our_texts(&self) -> Vec<Str> {
        self.data
            .iter()
            .map(|t| Str::from(String::from_utf8(t.clone()).expect("text cases hold UTF-8")))
            .collect()
    }

    /// The packets' texts as engineioxide-core's `Str` (message, payload cases).
    fn peer_texts(&self) -> Vec<peer::Str> {
        self.data
            .iter()
            .map(|t| peer::Str::from(String::from_utf8(t.clone()).expect("text cases hold UTF-8")))
            .collect()
    }

    fn implementations(&self) -> impl Iterator<Item = &'static str> + '_ {
        IMPLS
            .into_iter()
            .filter(move |&name| name != OURS_REUSE || self.direction == Direction::Encode)
    }
}

fn cases() -> Vec<Case> {
    use Direction::{Decode, Encode};
    vec![
        Case::new(
            ("eio_decode_message_64B", "decode message, 64 B"),
            Decode,
            Shape::Message,
        ),
        Case::new(
            ("eio_encode_message_64B", "encode message, 64 B"),
            Encode,
            Shape::Message,
        ),
        Case::new(
            ("eio_decode_binary_1KiB_b64", "decode 1 KiB binary, base64"),
            Decode,
            Shape::Binary,
        ),
        Case::new(
            ("eio_encode_binary_1KiB_b64", "encode 1 KiB binary, base64"),
            Encode,
            Shape::Binary,
        ),
        Case::new(
            ("eio_decode_payload_20x40B", "decode payload, 20 × 40 B"),
            Decode,
            Shape::Payload,
        ),
        Case::new(
            ("eio_encode_payload_20x40B", "encode payload, 20 × 40 B"),
            Encode,
            Shape::Payload,
        ),
    ]
}

// ----- inputs -----

/// `len` bytes of `words` repeated.
fn text(len: usize, words: &str) -> Vec<u8> {
    words.bytes().cycle().take(len).collect()
}

// ----- plumbing shared by the implementations -----

// Per-implementation outputs into the shared `Sink`.
impl Sink {
    /// Our decoded packet's data; it must be a message.
    fn put_ours(&mut self, packet: &Packet) {
        assert!(packet.kind == PacketType::Message, "a message packet");
        match &packet.data {
            Data::Text(text) => self.put(text.as_bytes()),
            Data::Binary(data) => self.put(data),
        }
    }

    /// engineioxide-core's decoded packet's data; it must be a message.
    fn put_peer(&mut self, packet: &peer::Packet) {
        match packet {
            peer::Packet::Message(text) => self.put(text.as_bytes()),
            peer::Packet::Binary(data) => self.put(data),
            other => panic!("a message packet expected, got {other:?}"),
        }
    }
}

/// Runs a future that never pends (its inputs are in memory and always ready), polling it
/// once with a no-op waker: no executor state to set up, so no cost beyond the peer's own.
fn block_on<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory future never pends"),
    }
}

// A measured operation (`harness::Run`) is a case run by one implementation; it returns
// packets handed out (decode) or bytes produced (encode).

/// Builds `name`'s run of `case`; every run hands its output to `sink`.
fn runner<'a>(case: &'a Case, name: &str, sink: Sink) -> Run<'a> {
    match case.direction {
        Direction::Decode => decoder(case, name, sink),
        Direction::Encode => encoder(case, name, sink),
    }
}

// ----- decoders -----

fn decoder<'a>(case: &'a Case, name: &str, mut sink: Sink) -> Run<'a> {
    let text = String::from_utf8(case.wire.clone()).expect("every input is text");
    match (name, case.shape) {
        (OURS, Shape::Message | Shape::Binary) => {
            let text = Str::from(text);
            Box::new(move || {
                let packet = Packet::decode_text(Protocol::V4, &text).expect("valid input");
                sink.put_ours(&packet);
                1
            })
        }
        (OURS, Shape::Payload) => {
            let body = Bytes::from(text);
            Box::new(move || {
                let mut n = 0;
                for packet in sockeye_engineio::decode_payload(PayloadFormat::V4, body.clone(), MAX)
                {
                    sink.put_ours(&packet.expect("valid input"));
                    n += 1;
                }
                n
            })
        }
        (PEER, Shape::Message | Shape::Binary) => {
            let text = peer::Str::from(text);
            Box::new(move || {
                let packet = peer::Packet::parse(peer::ProtocolVersion::V4, text.clone())
                    .expect("valid input");
                sink.put_peer(&packet);
                1
            })
        }
        (PEER, Shape::Payload) => {
            let body = Bytes::from(text);
            Box::new(move || {
                let stream = peer::payload::decoder(
                    http_body_util::Full::new(body.clone()),
                    None,
                    peer::ProtocolVersion::V4,
                    MAX as u64,
                );
                let mut stream = pin!(stream);
                let mut cx = Context::from_waker(Waker::noop());
                let mut n = 0;
                loop {
                    match stream.as_mut().poll_next(&mut cx) {
                        Poll::Ready(Some(packet)) => {
                            sink.put_peer(&packet.expect("valid input"));
                            n += 1;
                        }
                        Poll::Ready(None) => return n,
                        Poll::Pending => panic!("a `Full` body never pends"),
                    }
                }
            })
        }
        _ => unreachable!("no decode run for {name}"),
    }
}

// ----- encoders -----

fn encoder<'a>(case: &'a Case, name: &str, mut sink: Sink) -> Run<'a> {
    match (name, case.shape) {
        (OURS, Shape::Message) => {
            let [text] = <[Str; 1]>::try_from(case.our_texts()).expect("one packet");
            Box::new(
                move || match Packet::message(text.clone()).to_frame(Protocol::V4) {
                    Data::Text(frame) => {
                        sink.put(frame.as_bytes());
                        frame.len()
                    }
                    Data::Binary(_) => panic!("a text packet makes a text frame"),
                },
            )
        }
        (OURS, Shape::Binary) => {
            let data = Bytes::from(case.data[0].clone());
            Box::new(move || {
                let packet = Packet::message(data.clone());
                let mut out = Vec::with_capacity(packet.text_len(Protocol::V4));
                packet.encode_text(Protocol::V4, &mut out);
                let out = Bytes::from(out);
                sink.put(&out);
                out.len()
            })
        }
        (OURS, Shape::Payload) => {
            let texts = case.our_texts();
            Box::new(move || {
                let packets: Vec<Packet> =
                    texts.iter().map(|t| Packet::message(t.clone())).collect();
                // As `Session::poll_response` sizes a response body.
                let mut body =
                    Vec::with_capacity(packets.iter().map(|p| p.text_len(Protocol::V4) + 8).sum());
                sockeye_engineio::encode_payload(PayloadFormat::V4, &packets, &mut body);
                let body = Bytes::from(body);
                sink.put(&body);
                body.len()
            })
        }
        (OURS_REUSE, shape) => {
            let packets: Vec<Packet> = match shape {
                Shape::Message | Shape::Payload => {
                    case.our_texts().into_iter().map(Packet::message).collect()
                }
                Shape::Binary => vec![Packet::message(case.data[0].clone())],
            };
            let mut out = Vec::new();
            Box::new(move || {
                out.clear();
                match shape {
                    Shape::Message | Shape::Binary => {
                        packets[0].encode_text(Protocol::V4, &mut out)
                    }
                    Shape::Payload => {
                        sockeye_engineio::encode_payload(PayloadFormat::V4, &packets, &mut out)
                    }
                }
                sink.put(&out);
                out.len()
            })
        }
        (PEER, Shape::Message) => {
            let [text] = <[peer::Str; 1]>::try_from(case.peer_texts()).expect("one packet");
            Box::new(move || {
                let frame = Bytes::from(peer::Packet::Message(text.clone()));
                sink.put(&frame);
                frame.len()
            })
        }
        (PEER, Shape::Binary) => {
            let data = Bytes::from(case.data[0].clone());
            Box::new(move || {
                let out = Bytes::from(peer::Packet::Binary(data.clone()));
                sink.put(&out);
                out.len()
            })
        }
        (PEER, Shape::Payload) => {
            let texts = case.peer_texts();
            Box::new(move || {
                let batch: peer::PacketBuf = texts
                    .iter()
                    .map(|t| peer::Packet::Message(t.clone()))
                    .collect();
                let payload = block_on(peer::payload::encoder(
                    futures_util::stream::iter([batch]),
                    peer::ProtocolVersion::V4,
                    false,
                    MAX as u64,
                ));
                sink.put(&payload.data);
                payload.data.len()
            })
        }
        _ => unreachable!("no encode run for {name}"),
    }
}

// ----- correctness check -----

/// Runs every implementation twice (to cover reused state) and compares what it handed out
/// with what the case holds.
fn check(case: &Case) {
    let expected = case.expected();
    for name in case.implementations() {
        let kept = Rc::<RefCell<Vec<Vec<u8>>>>::default();
        let sink = Sink::keeping(&kept);
        let mut run = runner(case, name, sink);
        for round in 0..2 {
            let n = run();
            let what = format!("{} / {name} / round {round}", case.id);
            let want = match case.direction {
                Direction::Decode => case.data.len(),
                Direction::Encode => case.wire.len(),
            };
            assert_eq!(n, want, "{what}: count");
            assert!(*kept.borrow() == expected, "{what}: output differs");
            kept.borrow_mut().clear();
        }
    }
}

// ----- criterion -----

fn criterion_benches(c: &mut Criterion, cases: &[Case]) {
    for case in cases {
        let mut group = c.benchmark_group(case.id);
        group.throughput(match case.unit {
            Unit::Packets(n) => Throughput::Elements(n),
            Unit::Bytes(n) => Throughput::Bytes(n),
        });
        for name in case.implementations() {
            let mut run = runner(case, name, Sink::default());
            group.bench_function(name, |b| b.iter(&mut run));
        }
        group.finish();
    }
}

// ----- side-by-side table -----

/// Passes over all cases; each case's batches are spread over the passes, so a burst of
/// load elsewhere on the machine cannot spoil all of one case's batches.
const PASSES: usize = 4;
/// Rounds per case in each pass; each round times one batch of every implementation.
const ROUNDS: usize = 20;
fn ratio_table(cases: &[Case]) {
    let mut rows: Vec<Vec<Column<'_>>> = cases
        .iter()
        .map(|case| {
            case.implementations()
                .map(|name| Column::new(name, runner(case, name, Sink::default())))
                .collect()
        })
        .collect();
    interleave(&mut rows, PASSES, ROUNDS);
    print_table(cases, &rows);
}

fn print_table(cases: &[Case], rows: &[Vec<Column<'_>>]) {
    println!();
    println!(
        "sockeye-engineio codec throughput, best of {} interleaved batches of ~{} ms per cell",
        PASSES * ROUNDS,
        BATCH.as_millis()
    );
    println!(
        "(sockeye_reuse: encoding into the caller's buffer, the API a driver uses; the ratio \
         takes sockeye's faster column, and both are shown)"
    );
    println!();
    println!(
        "| case | unit | {OURS} | {PEER} | {OURS_REUSE} | {OURS} ns/op | {PEER} ns/op \
         | {OURS} / {PEER} | ≥{TARGET}× |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|");
    for (case, columns) in cases.iter().zip(rows) {
        let (scale, unit) = match case.unit {
            Unit::Packets(n) => (n as f64 / 1e6, "M packets/s"),
            Unit::Bytes(n) => (n as f64 / 1e6, "MB/s"),
        };
        let best = |name: &str| columns.iter().find(|c| c.name == name).map(|c| c.best);
        let rate = |name: &str| best(name).map(|secs| scale / secs);
        let cell = |name: &str| rate(name).map_or_else(|| "—".to_string(), fmt_rate);
        let ours = rate(OURS)
            .expect("ours runs every case")
            .max(rate(OURS_REUSE).unwrap_or(0.0));
        let theirs = rate(PEER).expect("the peer runs every case");
        let ns = |name: &str| best(name).map_or(0.0, |secs| secs * 1e9);
        let ratio = ours / theirs;
        let verdict = if ratio >= TARGET { "met" } else { "MISSED" };
        println!(
            "| {} | {unit} | {} | {} | {} | {:.0} | {:.0} | {ratio:.2} | {verdict} |",
            case.label,
            cell(OURS),
            cell(PEER),
            cell(OURS_REUSE),
            ns(OURS),
            ns(PEER),
        );
    }
    println!();
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
