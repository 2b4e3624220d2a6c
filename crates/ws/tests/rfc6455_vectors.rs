//! RFC 6455 §5.7 examples, kept as data in `tests/vectors/rfc6455_5_7.txt`.

use sockeye_test_support::vectors::{hex_decode, load};
use sockeye_test_support::ws::{CountingMask, drain, start_time};
use sockeye_ws::{Config, Connection, Event, Message};

fn describe(e: &Event) -> String {
    match e {
        Event::Message(Message::Text(t)) => format!("text:{t}"),
        Event::Message(Message::Binary(b)) => format!("binary:{}", b.len()),
        Event::Ping(p) => format!("ping:{}", String::from_utf8_lossy(p)),
        Event::Pong(p) => format!("pong:{}", String::from_utf8_lossy(p)),
        other => format!("{other:?}"),
    }
}

#[test]
fn rfc6455_5_7_examples() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/rfc6455_5_7.txt");
    let records = load(path);
    assert_eq!(records.len(), 8);
    for r in records {
        let name = r.get("name");
        let mut input = hex_decode(&r.get("input").replace(' ', "")).unwrap();
        if let Some(fill) = r.try_get("fill") {
            let (count, byte) = fill.split_once(' ').unwrap();
            let byte = hex_decode(byte).unwrap()[0];
            input.extend(std::iter::repeat_n(byte, count.parse().unwrap()));
        }
        let now = start_time();
        let mut conn = match r.get("receiver") {
            "server" => Connection::server(Config::default(), now),
            "client" => Connection::client(Config::default(), CountingMask::default(), now),
            other => panic!("{name}: unknown receiver {other}"),
        };
        conn.handle_data(now, &input);
        let (events, sent, _) = drain(&mut conn);
        let got: Vec<String> = events.iter().map(describe).collect();
        let want: Vec<&str> = r.get("events").split(';').map(str::trim).collect();
        assert_eq!(got, want, "{name}");
        if let Some(replies) = r.try_get("replies") {
            assert_eq!(sent, hex_decode(replies).unwrap(), "{name}");
        }
    }
}
