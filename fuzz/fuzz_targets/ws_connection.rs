//! Shared oracle for the connection targets (included by ws_server_connection and
//! ws_client_connection).

use std::time::{Duration, Instant};

use bytes::Bytes;
use sockeye_ws::{Config, Connection, Event, EventRef, Message, Transmit, Utf8Bytes};

/// Runs a fresh connection over `input` split at `cuts`, with one timer tick in the middle;
/// returns everything it reported and sent. The `k`-th event is taken with `poll_event_ref`
/// when bit `k % 8` of `lend` is set (its payload copied out), else with `poll_event`.
pub fn run(
    client: bool,
    deflate: Option<sockeye_ws::deflate::DeflateParams>,
    input: &[u8],
    cuts: &[usize],
    lend: u8,
) -> (Vec<Event>, Vec<u8>, bool) {
    let now = base();
    let config = Config::builder()
        .max_frame_size(1 << 16)
        .max_message_size(1 << 18)
        .max_fragments(64)
        .max_queued_control_frames(4)
        .build()
        .expect("valid config");
    let mut conn = if client {
        let mut n = 0u32;
        Connection::client(
            config,
            move || {
                n = n.wrapping_add(0x0101_0101);
                n.to_be_bytes()
            },
            now,
        )
    } else {
        Connection::server(config, now)
    };
    if let Some(params) = deflate {
        let config = sockeye_ws::deflate::DeflateConfig::builder()
            .threshold(16)
            .build()
            .expect("valid deflate config");
        conn.enable_deflate(params, &config);
    }
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        conn.handle_data(now, &input[start..cut]);
        start = cut;
    }
    let (mut events, mut sent, mut shut) = drain(&mut conn, lend);
    conn.handle_timeout(now + Duration::from_secs(1));
    let (more_events, more_sent, more_shut) = drain(&mut conn, lend);
    events.extend(more_events);
    sent.extend(more_sent);
    shut |= more_shut;
    for e in &events {
        if let Event::Message(Message::Text(t)) = e {
            assert!(std::str::from_utf8(t.as_bytes()).is_ok());
        }
    }
    conn.handle_eof(now);
    let _ = drain(&mut conn, lend);
    assert!(conn.is_closed());
    (events, sent, shut)
}

/// Drains as a driver does: transmits, then one event, until neither is left.
fn drain(conn: &mut Connection, lend: u8) -> (Vec<Event>, Vec<u8>, bool) {
    let (mut events, mut sent, mut shut) = (Vec::new(), Vec::new(), false);
    let mut buf = Vec::new();
    loop {
        let mut progressed = false;
        while let Some(t) = conn.poll_transmit(&mut buf) {
            progressed = true;
            match t {
                Transmit::Data { len } => {
                    assert_eq!(len, buf.len());
                    sent.append(&mut buf);
                }
                Transmit::Shutdown => {
                    assert!(!shut, "shutdown is reported once");
                    shut = true;
                }
            }
        }
        let event = if lend & (1 << (events.len() % 8)) != 0 {
            conn.poll_event_ref().map(|e| match e {
                EventRef::Text(t) => Event::Message(Message::Text(Utf8Bytes::from(t.as_str()))),
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
            return (events, sent, shut);
        }
    }
}

fn base() -> Instant {
    use std::sync::OnceLock;
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// The oracle: the whole input and the same input in chunks (chosen by the first bytes)
/// give the same events, the same bytes on the wire, and the same shutdown; so does taking
/// events with `poll_event_ref` (which ones, chosen by the first byte too).
pub fn check(client: bool, data: &[u8]) {
    let (split, input) = match data.split_first() {
        Some((s, rest)) => (*s, rest),
        None => return,
    };
    let step = usize::from(split % 17) + 1;
    // The top bits choose permessage-deflate and its parameters.
    let deflate = (split & 0x80 != 0).then(|| sockeye_ws::deflate::DeflateParams {
        server_no_context_takeover: split & 0x40 != 0,
        client_no_context_takeover: split & 0x20 != 0,
        server_max_window_bits: 15,
        client_max_window_bits: if split & 0x10 != 0 { 9 } else { 15 },
    });
    let cuts: Vec<usize> = (1..input.len()).filter(|i| i % step == 0).collect();
    let whole = run(client, deflate, input, &[], 0);
    let chunked = run(client, deflate, input, &cuts, 0);
    assert_eq!(whole, chunked);
    let lent = run(client, deflate, input, &cuts, split.rotate_left(3) | 1);
    assert_eq!(whole, lent);
}
