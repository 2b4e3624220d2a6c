//! sockeye-socketio's packet codec against `socketioxide-parser-common` (socketioxide's
//! default parser, a bench-only dependency, with its `Packet`, `Value` and `Str` types from
//! `socketioxide-core`), in one run, on the same inputs.
//!
//! ```text
//! cargo bench -p sockeye-benches --bench socketio
//! ```
//!
//! # Cases
//!
//! Socket.IO v5 packets in the root namespace, as the text (and binary) messages of one
//! Engine.IO connection carry them, decode and encode each:
//!
//! - **event**: `2["chat",{"user":"a","text":"hello world"}]` (43 B), as a raw packet: the
//!   JSON array kept as text;
//! - **typed event**: the same packet, to and from `Chat { user: String, text: String }`
//!   through serde;
//! - **binary event**: `51-["file",{"_placeholder":true,"num":0}]` (41 B) and one 1 KiB
//!   attachment, as two messages (the text part, then the binary one).
//!
//! # What every row does
//!
//! Both sides start from the same prepared input and hand what they produce to a sink
//! (`black_box`): decoded packets' namespace, event name, JSON text and attachments, or the
//! typed struct's fields; encoded messages' bytes. Messages are given as each crate's own
//! `Str` (text) or `Bytes` (binary), made once outside the loop and cloned per iteration (a
//! reference count): an Engine.IO layer hands them over that way, UTF-8 already validated.
//! Each side keeps its per-connection decoder state across iterations, as a connection does.
//!
//! - **Decode an event** (event, binary event): ours `Decoder::decode_text` (and, for the
//!   binary event, `Decoder::decode_binary` with the attachment), which returns the complete
//!   packet: it validates the JSON in one pass without building a tree, checks the payload's
//!   shape, the placeholders and the event name (reserved names are refused), and returns
//!   the name as an owned `String` in `Packet::event`; the JSON text and the attachment are
//!   slices of the input, not copies. socketioxide-parser-common: `CommonParser::decode_str`
//!   (then `decode_bin`, which copies the attachment, and checks a completion timeout with
//!   `Instant::now`) with a `ParserState` (a `Mutex`) and the default `ParseConfig`, then
//!   `read_event` on the packet's `Value`. `decode_str` only splits the header off and reads
//!   no JSON; socketioxide's server calls `read_event` on every event to route it (see
//!   `socketioxide_core::parser`), which reads the name as a borrowed `&str` and walks the
//!   rest of the array with `IgnoredAny`, so it is in the row: both sides then end with the
//!   JSON checked and the event name known.
//! - **Decode a typed event**: as above, then the arguments into `Chat`. Ours
//!   `packet.args::<(Chat,)>()` (a second pass over the JSON, straight into the struct);
//!   socketioxide-parser-common `CommonParser::decode_value::<Chat>(&mut value, true)` (what
//!   its `Data<Chat>` extractor calls) after `decode_str` and `read_event`.
//! - **peer_no_read_event** (decode cases only, informational, not in the ratio):
//!   socketioxide-parser-common without `read_event`: `decode_str` (and `decode_bin`) alone,
//!   which checks no JSON and leaves the event name unread; for the typed case
//!   `decode_str` + `decode_value`, which reads the JSON once while filling the struct.
//! - **Encode an event** (event, binary event): each iteration builds the packet from shared
//!   data (reference counts; the attachment list is a fresh one-element `Vec` / `VecDeque`
//!   on each side for the binary event) and encodes it into owned messages. Ours
//!   `Packet::event_raw("/", json, attachments).encode()`: a `Vec<Data>` of the text message
//!   and one binary message per attachment. socketioxide-parser-common
//!   `CommonParser::encode(Packet::event("/", Value::Str(json, attachments)))` (it consumes
//!   the packet): a `Value::Str` of the text and the attachments.
//! - **Encode a typed event**: from `&Chat` each iteration, serialized with serde_json
//!   without a tree on both sides. Ours `Packet::event("/", "chat", &(&chat,))` then
//!   `encode()`; socketioxide-parser-common `encode_value(&chat, Some("chat"))` (what
//!   `socket.emit("chat", &chat)` calls), `Packet::event("/", value)`, then `encode`.
//! - **sockeye_fused** (decode typed event only): ours through `Decoder::decode_text_args`,
//!   which returns what `decode_text` then `args::<(Chat,)>()` return (same packet, same
//!   errors, same arguments; a differential proptest in `sockeye-socketio` holds it to that)
//!   in one pass over the arguments: it checks the `[` and the event name as `decode_text`
//!   does, then lets serde_json deserialize the arguments, whose parse is at least as strict
//!   as the packet check, and runs the full check only when that fails (or the payload holds
//!   a control character). The work is the same as the row's: JSON checked, event name
//!   known and owned, `Chat` filled. The ratio takes sockeye's fastest column; all are
//!   printed.
//! - **sockeye, reused output** (encode cases only): the codec as a driver uses it: each
//!   iteration appends the text part to the same cleared `Vec` with `Packet::encode_text`
//!   (the attachments are handed out by reference), so the text is not allocated. For the
//!   raw and binary events the packet is built once, outside the loop; for the typed event
//!   each iteration still builds it with `Packet::event` (the serialization is the work).
//!   The peer has no such API (its encoder returns owned strings). The ratio takes
//!   sockeye's faster column; both columns are printed.
//!
//! Before measuring, every row's output is checked: decoded packets against the namespace,
//! event name, JSON text and attachment (or struct fields) the case was built from, encoded
//! messages against the input of the matching decode case.
//!
//! # How the table is timed
//!
//! As in the `ws` and `engineio` benches: criterion measures every (case, implementation)
//! pair and prints its own statistics; the table printed afterwards does its own timing,
//! because this shared 2-core VM drifts between runs minutes apart. For each case the
//! implementations run in interleaved batches of about 4 ms (rotating which goes first),
//! spread over several passes across all cases, and each implementation's figure is its
//! fastest batch. Ratios within one table are measured side by side; absolute figures are
//! not comparable across runs.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use serde::{Deserialize, Serialize};
use socketioxide_core as peer;
use socketioxide_core::parser::Parse;
use socketioxide_parser_common::CommonParser;
use sockeye_socketio::{Data, Decoder, DecoderConfig, EventName, Packet, PacketType, Str};

#[path = "harness/mod.rs"]
mod harness;
use harness::{BATCH, Column, Run, Sink, binary, fmt_rate, interleave};

// ----- cases -----

const OURS: &str = "sockeye";
const PEER: &str = "socketioxide-parser-common";
const OURS_REUSE: &str = "sockeye_reuse";
const OURS_FUSED: &str = "sockeye_fused";
const PEER_BARE: &str = "peer_no_read_event";
/// Columns of the table, in order; `OURS_REUSE` only appears on encode cases, `OURS_FUSED`
/// only on the typed decode case, `PEER_BARE` only on decode cases.
const IMPLS: [&str; 5] = [OURS, PEER, OURS_REUSE, OURS_FUSED, PEER_BARE];

/// The target of the issue: ours at least this many times the peer's throughput, every case.
const TARGET: f64 = 1.5;

/// The namespace of every packet.
const NAMESPACE: &str = "/";

/// The event and typed event cases: name, JSON array, and the struct it holds.
const CHAT_EVENT: &str = "chat";
const CHAT_JSON: &str = r#"["chat",{"user":"a","text":"hello world"}]"#;
const CHAT_USER: &str = "a";
const CHAT_TEXT: &str = "hello world";

/// The binary event case: name, JSON array with its placeholder, attachment size.
const FILE_EVENT: &str = "file";
const FILE_JSON: &str = r#"["file",{"_placeholder":true,"num":0}]"#;
const FILE_LEN: usize = 1024;

/// The typed event's argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Chat {
    user: String,
    text: String,
}

fn chat() -> Chat {
    Chat {
        user: CHAT_USER.to_owned(),
        text: CHAT_TEXT.to_owned(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Decode,
    Encode,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// An event kept as its JSON text.
    Raw,
    /// An event to and from `Chat`.
    Typed,
    /// A binary event with one attachment.
    Binary,
}

struct Case {
    /// Criterion group name.
    id: &'static str,
    /// Table label.
    label: &'static str,
    direction: Direction,
    shape: Shape,
    /// The event name.
    event: &'static str,
    /// The JSON array.
    json: &'static str,
    /// The text message: header and JSON.
    wire: String,
    /// The binary messages: the attachments.
    attachments: Vec<Vec<u8>>,
}

impl Case {
    fn new((id, label): (&'static str, &'static str), direction: Direction, shape: Shape) -> Self {
        let (event, json, wire, attachments) = match shape {
            Shape::Raw | Shape::Typed => (CHAT_EVENT, CHAT_JSON, format!("2{CHAT_JSON}"), vec![]),
            Shape::Binary => (
                FILE_EVENT,
                FILE_JSON,
                format!("51-{FILE_JSON}"),
                vec![binary(FILE_LEN, 1)],
            ),
        };
        Case {
            id,
            label,
            direction,
            shape,
            event,
            json,
            wire,
            attachments,
        }
    }

    /// What `name`'s run hands to the sink.
    fn expected(&self, name: &str) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        let with_event = name != PEER_BARE;
        match (self.direction, self.shape) {
            (Direction::Decode, Shape::Raw | Shape::Binary) => {
                out.push(NAMESPACE.into());
                if with_event {
                    out.push(self.event.into());
                }
                out.push(self.json.into());
                out.extend(self.attachments.iter().cloned());
            }
            (Direction::Decode, Shape::Typed) => {
                if with_event {
                    out.push(self.event.into());
                }
                out.push(CHAT_USER.into());
                out.push(CHAT_TEXT.into());
            }
            (Direction::Encode, _) => {
                out.push(self.wire.clone().into_bytes());
                out.extend(self.attachments.iter().cloned());
            }
        }
        out
    }

    /// What a run returns: packets decoded, or bytes encoded (text and attachments).
    fn count(&self) -> usize {
        match self.direction {
            Direction::Decode => 1,
            Direction::Encode => {
                self.wire.len() + self.attachments.iter().map(Vec::len).sum::<usize>()
            }
        }
    }

    fn attachment_bytes(&self) -> Vec<Bytes> {
        self.attachments.iter().cloned().map(Bytes::from).collect()
    }

    fn implementations(&self) -> impl Iterator<Item = &'static str> + '_ {
        IMPLS.into_iter().filter(move |&name| match name {
            OURS_REUSE => self.direction == Direction::Encode,
            OURS_FUSED => self.direction == Direction::Decode && self.shape == Shape::Typed,
            PEER_BARE => self.direction == Direction::Decode,
            _ => true,
        })
    }
}

fn cases() -> Vec<Case> {
    use Direction::{Decode, Encode};
    vec![
        Case::new(
            ("sio_decode_event", "decode event, 43 B"),
            Decode,
            Shape::Raw,
        ),
        Case::new(
            ("sio_encode_event", "encode event, 43 B"),
            Encode,
            Shape::Raw,
        ),
        Case::new(
            ("sio_decode_typed", "decode typed event (Chat)"),
            Decode,
            Shape::Typed,
        ),
        Case::new(
            ("sio_encode_typed", "encode typed event (Chat)"),
            Encode,
            Shape::Typed,
        ),
        Case::new(
            (
                "sio_decode_binary_1KiB",
                "decode binary event, 1 KiB attachment",
            ),
            Decode,
            Shape::Binary,
        ),
        Case::new(
            (
                "sio_encode_binary_1KiB",
                "encode binary event, 1 KiB attachment",
            ),
            Encode,
            Shape::Binary,
        ),
    ]
}

// ----- inputs -----

// ----- plumbing shared by the implementations -----

// Per-implementation outputs into the shared `Sink`.
impl Sink {
    /// Our decoded packet's event name; it must be a named event.
    fn put_our_event(&mut self, packet: &Packet) {
        match &packet.event {
            Some(EventName::Text(name)) => self.put(name.as_bytes()),
            other => panic!("an event name expected, got {other:?}"),
        }
    }

    /// Our decoded packet: namespace, event name, JSON, attachments; it must be an event.
    fn put_ours(&mut self, packet: &Packet) {
        assert!(
            matches!(packet.kind, PacketType::Event | PacketType::BinaryEvent)
                && packet.id.is_none(),
            "an event without ack id"
        );
        self.put(packet.namespace.as_bytes());
        self.put_our_event(packet);
        self.put(packet.payload.as_ref().map_or(&b""[..], Str::as_bytes));
        for attachment in &packet.attachments {
            self.put(attachment);
        }
    }

    /// socketioxide's decoded packet's value; it must be an event.
    fn peer_value(data: &mut peer::packet::PacketData) -> &mut peer::Value {
        match data {
            peer::packet::PacketData::Event(value, None)
            | peer::packet::PacketData::BinaryEvent(value, None) => value,
            other => panic!("an event without ack id expected, got {other:?}"),
        }
    }

    /// A `Value::Str`'s text and attachments (decoded packet or encoded messages).
    fn put_peer_value(&mut self, value: &peer::Value) {
        match value {
            peer::Value::Str(text, bins) => {
                self.put(text.as_bytes());
                for bin in bins.iter().flatten() {
                    self.put(bin);
                }
            }
            peer::Value::Bytes(_) => panic!("the common parser makes text values"),
        }
    }

    fn put_chat(&mut self, chat: &Chat) {
        self.put(chat.user.as_bytes());
        self.put(chat.text.as_bytes());
    }

    /// Our encoded messages; returns their bytes.
    fn put_messages(&mut self, messages: &[Data]) -> usize {
        let mut n = 0;
        for message in messages {
            let bytes = match message {
                Data::Text(text) => text.as_bytes(),
                Data::Binary(data) => data,
            };
            self.put(bytes);
            n += bytes.len();
        }
        n
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

/// Our decoder fed the case's messages: the text one, then the attachments.
fn decode_ours(decoder: &mut Decoder, text: &Str, attachments: &[Bytes]) -> Packet {
    let mut packet = decoder.decode_text(text.clone()).expect("valid input");
    for attachment in attachments {
        assert!(packet.is_none(), "the packet awaits its attachments");
        packet = decoder
            .decode_binary(attachment.clone())
            .expect("valid input");
    }
    packet.expect("a complete packet")
}

/// socketioxide's parser fed the case's messages: the text one, then the attachments.
fn decode_peer(
    config: &peer::parser::ParseConfig,
    state: &peer::parser::ParserState,
    text: &peer::Str,
    attachments: &[Bytes],
) -> peer::packet::Packet {
    let mut packet = CommonParser.decode_str(config, state, text.clone());
    for attachment in attachments {
        assert!(
            matches!(packet, Err(peer::parser::ParseError::NeedsMoreBinaryData)),
            "the packet awaits its attachments"
        );
        packet = CommonParser.decode_bin(config, state, attachment.clone());
    }
    packet.expect("valid input")
}

fn decoder<'a>(case: &'a Case, name: &str, mut sink: Sink) -> Run<'a> {
    let attachments = case.attachment_bytes();
    match (name, case.shape) {
        (OURS, shape) => {
            let text = Str::from(case.wire.clone());
            let mut decoder = Decoder::new(DecoderConfig::default());
            Box::new(move || {
                let packet = decode_ours(&mut decoder, &text, &attachments);
                if shape == Shape::Typed {
                    let (chat,): (Chat,) = packet.args().expect("a Chat");
                    sink.put_our_event(&packet);
                    sink.put_chat(&chat);
                } else {
                    sink.put_ours(&packet);
                }
                1
            })
        }
        (OURS_FUSED, Shape::Typed) => {
            let text = Str::from(case.wire.clone());
            let mut decoder = Decoder::new(DecoderConfig::default());
            Box::new(move || {
                let (packet, args) = decoder
                    .decode_text_args::<(Chat,)>(text.clone())
                    .expect("valid input")
                    .expect("a complete packet");
                let (chat,) = args.expect("a Chat");
                sink.put_our_event(&packet);
                sink.put_chat(&chat);
                1
            })
        }
        (PEER | PEER_BARE, shape) => {
            let read_event = name == PEER;
            let text = peer::Str::from(case.wire.clone());
            let config = peer::parser::ParseConfig::default();
            let state = peer::parser::ParserState::default();
            Box::new(move || {
                let mut packet = decode_peer(&config, &state, &text, &attachments);
                let value = Sink::peer_value(&mut packet.inner);
                if shape == Shape::Typed {
                    if read_event {
                        sink.put(CommonParser.read_event(value).expect("an event").as_bytes());
                    }
                    let chat: Chat = CommonParser.decode_value(value, true).expect("a Chat");
                    sink.put_chat(&chat);
                } else {
                    sink.put(packet.ns.as_bytes());
                    if read_event {
                        sink.put(CommonParser.read_event(value).expect("an event").as_bytes());
                    }
                    sink.put_peer_value(value);
                }
                1
            })
        }
        _ => unreachable!("no decode run for {name}"),
    }
}

// ----- encoders -----

fn encoder<'a>(case: &'a Case, name: &str, mut sink: Sink) -> Run<'a> {
    let attachments = case.attachment_bytes();
    match (name, case.shape) {
        (OURS, Shape::Raw | Shape::Binary) => {
            let json = Str::from(case.json.to_owned());
            Box::new(move || {
                let packet = Packet::event_raw(NAMESPACE, json.clone(), attachments.clone());
                sink.put_messages(&packet.encode())
            })
        }
        (OURS, Shape::Typed) => {
            let chat = chat();
            Box::new(move || {
                let packet = Packet::event(NAMESPACE, CHAT_EVENT, &(&chat,)).expect("a Chat");
                sink.put_messages(&packet.encode())
            })
        }
        (OURS_REUSE, shape) => {
            let chat = chat();
            let built = Packet::event_raw(NAMESPACE, Str::from(case.json.to_owned()), attachments);
            let mut out = Vec::new();
            Box::new(move || {
                out.clear();
                let typed;
                let packet = if shape == Shape::Typed {
                    typed = Packet::event(NAMESPACE, CHAT_EVENT, &(&chat,)).expect("a Chat");
                    &typed
                } else {
                    &built
                };
                packet.encode_text(&mut out);
                sink.put(&out);
                let mut n = out.len();
                for attachment in &packet.attachments {
                    sink.put(attachment);
                    n += attachment.len();
                }
                n
            })
        }
        (PEER, Shape::Raw | Shape::Binary) => {
            let json = peer::Str::from(case.json.to_owned());
            Box::new(move || {
                let bins = (!attachments.is_empty())
                    .then(|| attachments.iter().cloned().collect::<VecDeque<Bytes>>());
                let packet =
                    peer::packet::Packet::event(NAMESPACE, peer::Value::Str(json.clone(), bins));
                let messages = CommonParser.encode(packet);
                sink.put_peer_value(&messages);
                peer_len(&messages)
            })
        }
        (PEER, Shape::Typed) => {
            let chat = chat();
            Box::new(move || {
                let value = CommonParser
                    .encode_value(&chat, Some(CHAT_EVENT))
                    .expect("a Chat");
                let packet = peer::packet::Packet::event(NAMESPACE, value);
                let messages = CommonParser.encode(packet);
                sink.put_peer_value(&messages);
                peer_len(&messages)
            })
        }
        _ => unreachable!("no encode run for {name}"),
    }
}

/// Bytes in an encoded `Value`: the text and the attachments.
fn peer_len(value: &peer::Value) -> usize {
    match value {
        peer::Value::Str(text, bins) => {
            text.len() + bins.iter().flatten().map(Bytes::len).sum::<usize>()
        }
        peer::Value::Bytes(data) => data.len(),
    }
}

// ----- correctness check -----

/// Runs every implementation twice (to cover reused state) and compares what it handed out
/// with what the case holds.
fn check(case: &Case) {
    for name in case.implementations() {
        let expected = case.expected(name);
        let kept = Rc::<RefCell<Vec<Vec<u8>>>>::default();
        let sink = Sink::keeping(&kept);
        let mut run = runner(case, name, sink);
        for round in 0..2 {
            let n = run();
            let what = format!("{} / {name} / round {round}", case.id);
            assert_eq!(n, case.count(), "{what}: count");
            assert!(*kept.borrow() == expected, "{what}: output differs");
            kept.borrow_mut().clear();
        }
    }
}

// ----- criterion -----

fn criterion_benches(c: &mut Criterion, cases: &[Case]) {
    for case in cases {
        let mut group = c.benchmark_group(case.id);
        group.throughput(Throughput::Elements(1));
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
        "sockeye-socketio codec throughput, best of {} interleaved batches of ~{} ms per cell",
        PASSES * ROUNDS,
        BATCH.as_millis()
    );
    println!(
        "(sockeye_reuse: encoding the text part into the caller's buffer, the API a driver \
         uses; {OURS_FUSED}: decode_text_args, the packet and its typed arguments with one \
         pass over the arguments; the ratio takes sockeye's fastest column, and all are \
         shown. {PEER_BARE}: the peer's decode without `read_event`, so without reading the \
         JSON (typed: without the separate pass); informational, not in the ratio)"
    );
    println!();
    println!(
        "| case | unit | {OURS} | {PEER} | {OURS_REUSE} | {OURS_FUSED} | {PEER_BARE} \
         | {OURS} ns/op | {PEER} ns/op | {OURS} / {PEER} | ≥{TARGET}× |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for (case, columns) in cases.iter().zip(rows) {
        let (scale, unit) = (1e-6, "M packets/s");
        let best = |name: &str| columns.iter().find(|c| c.name == name).map(|c| c.best);
        let rate = |name: &str| best(name).map(|secs| scale / secs);
        let cell = |name: &str| rate(name).map_or_else(|| "—".to_string(), fmt_rate);
        let ours = rate(OURS)
            .expect("ours runs every case")
            .max(rate(OURS_REUSE).unwrap_or(0.0))
            .max(rate(OURS_FUSED).unwrap_or(0.0));
        let theirs = rate(PEER).expect("the peer runs every case");
        let ns = |name: &str| best(name).map_or(0.0, |secs| secs * 1e9);
        let ratio = ours / theirs;
        let verdict = if ratio >= TARGET { "met" } else { "MISSED" };
        println!(
            "| {} | {unit} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {ratio:.2} | {verdict} |",
            case.label,
            cell(OURS),
            cell(PEER),
            cell(OURS_REUSE),
            cell(OURS_FUSED),
            cell(PEER_BARE),
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
