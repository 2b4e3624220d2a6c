//! Property tests: frame and message round trips, and chunking invariance (any split of the
//! input gives the same events and the same transmitted bytes).

use bytes::Bytes;
use proptest::prelude::*;
use sockeye_test_support::ws::{Pair, client_frame, drain, start_time};
use sockeye_ws::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use sockeye_ws::{Config, Connection, DataKind, Event, EventRef, Message, Transmit, Utf8Bytes};

fn opcode() -> impl Strategy<Value = OpCode> {
    prop_oneof![
        Just(OpCode::Continuation),
        Just(OpCode::Text),
        Just(OpCode::Binary),
        Just(OpCode::Close),
        Just(OpCode::Ping),
        Just(OpCode::Pong),
    ]
}

fn header() -> impl Strategy<Value = FrameHeader> {
    (
        any::<bool>(),
        0u8..8,
        opcode(),
        proptest::option::of(any::<[u8; 4]>()),
        prop_oneof![0u64..=125, 126u64..=65535, 65536u64..(1 << 63)],
    )
        .prop_map(|(fin, rsv, opcode, mask, payload_len)| FrameHeader {
            fin: fin || opcode.is_control(),
            rsv,
            opcode,
            mask,
            payload_len: if opcode.is_control() {
                payload_len % 126
            } else {
                payload_len
            },
        })
}

/// One message to send: its kind, its bytes, and where to cut it into fragments.
#[derive(Debug, Clone)]
struct Outgoing {
    message: Message,
    cuts: Vec<usize>,
}

fn outgoing() -> impl Strategy<Value = Outgoing> {
    let msg = prop_oneof![
        "\\PC{0,200}".prop_map(Message::from),
        proptest::collection::vec(any::<u8>(), 0..2000).prop_map(Message::from),
    ];
    (msg, proptest::collection::vec(0usize..2000, 0..4)).prop_map(|(message, cuts)| {
        let len = message.len();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(len)).collect();
        cuts.sort_unstable();
        Outgoing { message, cuts }
    })
}

fn send(conn: &mut Connection, o: &Outgoing) {
    let bytes = o.message.as_bytes();
    if o.cuts.is_empty() {
        match &o.message {
            Message::Text(t) => conn.send_text(t).unwrap(),
            Message::Binary(b) => conn.send_binary(b).unwrap(),
        }
        return;
    }
    let mut start = 0;
    for &cut in &o.cuts {
        conn.send_fragment(o.message.kind(), &bytes[start..cut], false)
            .unwrap();
        start = cut;
    }
    conn.send_fragment(o.message.kind(), &bytes[start..], true)
        .unwrap();
}

/// Runs a server over `input` delivered in the given chunks; returns events and bytes sent.
fn run_server(input: &[u8], cuts: &[usize]) -> (Vec<Event>, Vec<u8>, bool) {
    let now = start_time();
    let mut conn = Connection::server(
        Config::builder()
            .max_frame_size(4096)
            .max_message_size(8192)
            .max_fragments(8)
            .build()
            .unwrap(),
        now,
    );
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        conn.handle_data(now, &input[start..cut]);
        start = cut;
    }
    let (events, sent, shut) = drain(&mut conn);
    (events, sent, shut)
}

/// How input reaches the connection in [`run_server_fed`].
#[derive(Debug, Clone, Copy)]
enum Feed {
    /// `handle_data`.
    Data,
    /// Appended to `read_buf`, then `handle_read`.
    ReadBuf,
    /// Appended to `read_buf` with no `handle_read` (the next call frames it).
    ReadBufUnannounced,
}

/// As [`run_server`], but draining events and transmits after every chunk, with each chunk
/// fed as `feed[i % feed.len()]` says.
fn run_server_fed(input: &[u8], cuts: &[usize], feed: &[Feed]) -> (Vec<Event>, Vec<u8>, bool) {
    run_server_polled(input, cuts, feed, &[false])
}

/// As [`run_server_fed`], with the `k`-th event taken by `poll_event_ref` when
/// `lend[k % lend.len()]` (its payload copied out), else by `poll_event`.
fn run_server_polled(
    input: &[u8],
    cuts: &[usize],
    feed: &[Feed],
    lend: &[bool],
) -> (Vec<Event>, Vec<u8>, bool) {
    let now = start_time();
    let mut conn = Connection::server(
        Config::builder()
            .max_frame_size(4096)
            .max_message_size(8192)
            .max_fragments(8)
            .build()
            .unwrap(),
        now,
    );
    let (mut events, mut sent, mut shut) = (Vec::new(), Vec::new(), false);
    let mut start = 0;
    for (i, &cut) in cuts.iter().chain(std::iter::once(&input.len())).enumerate() {
        let cut = cut.clamp(start, input.len());
        let chunk = &input[start..cut];
        match feed[i % feed.len()] {
            Feed::Data => conn.handle_data(now, chunk),
            Feed::ReadBuf => {
                conn.read_buf().extend_from_slice(chunk);
                conn.handle_read(now);
            }
            Feed::ReadBufUnannounced => conn.read_buf().extend_from_slice(chunk),
        }
        start = cut;
        shut |= drain_mixed(&mut conn, lend, &mut events, &mut sent);
    }
    (events, sent, shut)
}

/// `drain`, taking events with `poll_event_ref` or `poll_event` as `lend` says; returns
/// whether a shutdown was asked for.
fn drain_mixed(
    conn: &mut Connection,
    lend: &[bool],
    events: &mut Vec<Event>,
    sent: &mut Vec<u8>,
) -> bool {
    let mut shut = false;
    let mut buf = Vec::new();
    loop {
        let mut progressed = false;
        while let Some(t) = conn.poll_transmit(&mut buf) {
            progressed = true;
            match t {
                Transmit::Data { .. } => sent.append(&mut buf),
                Transmit::Shutdown => shut = true,
            }
        }
        let event = if lend[events.len() % lend.len()] {
            conn.poll_event_ref().map(|e| match e {
                EventRef::Text(t) => {
                    assert!(std::str::from_utf8(t.as_bytes()).is_ok());
                    Event::Message(Message::Text(Utf8Bytes::from(t.as_str())))
                }
                EventRef::Binary(b) => Event::Message(Message::Binary(Bytes::copy_from_slice(b))),
                EventRef::Other(e) => {
                    assert!(!matches!(e, Event::Message(_)), "messages are lent");
                    e
                }
                _ => unreachable!("no other variants"),
            })
        } else {
            conn.poll_event()
        };
        if let Some(e) = event {
            progressed = true;
            events.push(e);
        }
        if !progressed {
            return shut;
        }
    }
}

/// Client-side input: a mix of valid frames and arbitrary bytes.
fn client_stream() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => (0u8..=0xff, proptest::collection::vec(any::<u8>(), 0..200))
            .prop_map(|(b0, p)| client_frame(b0, &p)),
        4 => (prop_oneof![Just(0x81u8), Just(0x01), Just(0x80), Just(0x00)], "\\PC{0,30}")
            .prop_map(|(b0, s)| client_frame(b0, s.as_bytes())),
        // Longer text, sometimes with one byte changed: the fused unmask-and-validate pass
        // takes pieces of 1 KiB and more, in 64-byte blocks.
        3 => (
            prop_oneof![Just(0x81u8), Just(0x01), Just(0x80)],
            "\\PC{16,100}|\\PC{400,700}",
            proptest::option::of((any::<proptest::sample::Index>(), any::<u8>())),
        )
            .prop_map(|(b0, s, noise)| {
                let mut p = s.into_bytes();
                if let Some((at, b)) = noise {
                    let at = at.index(p.len());
                    p[at] = b;
                }
                client_frame(b0, &p)
            }),
        2 => (prop_oneof![Just(0x89u8), Just(0x8a)], proptest::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(b0, p)| client_frame(b0, &p)),
        1 => proptest::collection::vec(any::<u8>(), 0..20),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn frame_headers_round_trip(h in header()) {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut out);
        prop_assert_eq!(n, h.encoded_len());
        prop_assert_eq!(FrameHeader::decode(&out[..n]), Ok(Some((h, n))));
        for cut in 0..n {
            prop_assert_eq!(FrameHeader::decode(&out[..cut]), Ok(None));
        }
    }

    #[test]
    fn header_decode_never_overreads(input in proptest::collection::vec(any::<u8>(), 0..20)) {
        if let Ok(Some((_, n))) = FrameHeader::decode(&input) {
            prop_assert!(n <= input.len());
        }
    }

    #[test]
    fn messages_round_trip_both_ways(
        msgs in proptest::collection::vec(outgoing(), 0..8),
        chunk in 1usize..64,
    ) {
        let mut p = Pair::default_config();
        p.chunk = chunk;
        for m in &msgs {
            send(&mut p.client.conn, m);
            send(&mut p.server.conn, m);
        }
        p.run();
        let want: Vec<Event> = msgs.iter().map(|m| Event::Message(m.message.clone())).collect();
        prop_assert_eq!(p.server.take_events(), want.clone());
        prop_assert_eq!(p.client.take_events(), want);
    }

    #[test]
    fn server_output_is_independent_of_input_chunking(
        input in client_stream(),
        cuts in proptest::collection::vec(0usize..3000, 0..10),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let whole = run_server(&input, &[]);
        let chunked = run_server(&input, &cuts);
        prop_assert_eq!(&whole, &chunked);
        // One byte at a time too.
        let bytewise: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(&whole, &run_server(&input, &bytewise));
    }

    #[test]
    fn events_do_not_depend_on_how_or_when_input_is_fed(
        input in client_stream(),
        cuts in proptest::collection::vec(0usize..3000, 0..10),
        feed in proptest::collection::vec(
            prop_oneof![Just(Feed::Data), Just(Feed::ReadBuf), Just(Feed::ReadBufUnannounced)],
            1..4,
        ),
    ) {
        // Payloads are unmasked and text validated as bytes arrive, in `handle_data` (copying)
        // or `handle_read` (in place), while frames are decoded only when events are polled:
        // every way of feeding gives what one whole `handle_data` gives.
        let mut cuts = cuts;
        cuts.sort_unstable();
        let whole = run_server(&input, &[]);
        prop_assert_eq!(&whole, &run_server_fed(&input, &cuts, &feed));
        let bytewise: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(&whole, &run_server_fed(&input, &bytewise, &feed));
    }

    #[test]
    fn lent_events_equal_owned_events(
        input in client_stream(),
        cuts in proptest::collection::vec(0usize..3000, 0..10),
        feed in proptest::collection::vec(
            prop_oneof![Just(Feed::Data), Just(Feed::ReadBuf), Just(Feed::ReadBufUnannounced)],
            1..4,
        ),
        lend in proptest::collection::vec(any::<bool>(), 1..4),
    ) {
        // `poll_event_ref` lends what `poll_event` would hand over, whichever is used for
        // each event and however input arrives; a lent payload is released by the next call.
        let mut cuts = cuts;
        cuts.sort_unstable();
        let whole = run_server(&input, &[]);
        prop_assert_eq!(&whole, &run_server_polled(&input, &cuts, &feed, &lend));
        let bytewise: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(&whole, &run_server_polled(&input, &bytewise, &feed, &lend));
    }

    #[test]
    fn text_events_are_valid_and_failures_close(input in client_stream()) {
        let (events, _, shut) = run_server(&input, &[]);
        for e in &events {
            if let Event::Message(Message::Text(t)) = e {
                prop_assert!(std::str::from_utf8(t.as_bytes()).is_ok());
            }
        }
        let failed = events.iter().any(|e| matches!(e, Event::Failed(_)));
        if failed {
            prop_assert!(shut);
            prop_assert_eq!(events.last(), Some(&Event::Closed { clean: false }));
        }
    }
}

#[test]
fn utf8_bytes_rejects_invalid_input() {
    assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(b"\xff")).is_err());
    assert_eq!(
        Utf8Bytes::try_from_bytes(Bytes::from_static(b"ok")).unwrap(),
        "ok"
    );
    assert_eq!(Message::from("x").kind(), DataKind::Text);
}
