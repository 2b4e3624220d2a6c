//! Client and server sessions wired back to back (test-support's `Pair`), simulated time:
//! handshakes, upgrade, messages both ways, heartbeats in v3 and v4, closing from each side.

use std::time::Duration;

use bytes::Bytes;
use sockeye_engineio::client::{ClientConfig, ClientEvent, ClientTransmit};
use sockeye_engineio::server::{CloseReason, Event, Transport};
use sockeye_engineio::{Data, Protocol, ServerConfig, Transports};
use sockeye_test_support::engineio::Pair;

fn server() -> ServerConfig {
    ServerConfig::builder().allow_eio3(true).build().unwrap()
}

fn client(protocol: Protocol) -> ClientConfig {
    ClientConfig::builder().protocol(protocol).build().unwrap()
}

fn ws_only(protocol: Protocol) -> ClientConfig {
    ClientConfig::builder()
        .protocol(protocol)
        .transports(Transports {
            polling: false,
            websocket: true,
        })
        .build()
        .unwrap()
}

fn client_closed(p: &Pair) -> Option<CloseReason> {
    p.client_events.iter().find_map(|e| match e {
        ClientEvent::Closed(r) => Some(*r),
        _ => None,
    })
}

fn server_closed(p: &Pair) -> Option<CloseReason> {
    p.server.events.iter().find_map(|e| match e {
        Event::Closed(r) => Some(*r),
        _ => None,
    })
}

fn exchange(p: &mut Pair, tag: &str) {
    p.client.send(format!("c-{tag}")).unwrap();
    p.client.send(Bytes::from(tag.as_bytes().to_vec())).unwrap();
    p.server.session().send(format!("s-{tag}")).unwrap();
    p.server
        .session()
        .send(Bytes::from(tag.as_bytes().to_vec()))
        .unwrap();
    p.run();
}

fn expected(prefix: &str, tags: &[&str]) -> Vec<Data> {
    tags.iter()
        .flat_map(|t| {
            [
                Data::from(format!("{prefix}-{t}")),
                Data::from(t.as_bytes().to_vec()),
            ]
        })
        .collect()
}

#[test]
fn v4_polling_then_upgrade() {
    for protocol in [Protocol::V4, Protocol::V3] {
        let mut p = Pair::new(client(protocol), server());
        assert!(
            matches!(p.client_events[0], ClientEvent::Open(ref o) if o.sid == p.server.session().sid().as_str())
        );
        // The client upgraded on its own: probe, pause, `5`.
        assert!(
            p.client_events.contains(&ClientEvent::Upgraded),
            "{protocol:?}"
        );
        assert!(p.server.events.contains(&Event::Upgraded));
        assert_eq!(p.client.transport(), Transport::WebSocket);
        assert_eq!(p.server.session().transport(), Transport::WebSocket);
        exchange(&mut p, "one");
        exchange(&mut p, "two");
        assert_eq!(
            p.client_messages(),
            expected("s", &["one", "two"]),
            "{protocol:?}"
        );
        assert_eq!(
            p.server_messages(),
            expected("c", &["one", "two"]),
            "{protocol:?}"
        );
    }
}

#[test]
fn polling_only_both_protocols_and_b64() {
    for (protocol, b64) in [
        (Protocol::V4, false),
        (Protocol::V3, false),
        (Protocol::V3, true),
    ] {
        let config = ClientConfig::builder()
            .protocol(protocol)
            .upgrade(false)
            .b64(b64)
            .build()
            .unwrap();
        let mut p = Pair::new(config, server());
        assert_eq!(p.client.transport(), Transport::Polling);
        exchange(&mut p, "a");
        exchange(&mut p, "b");
        assert_eq!(
            p.client_messages(),
            expected("s", &["a", "b"]),
            "{protocol:?} b64={b64}"
        );
        assert_eq!(
            p.server_messages(),
            expected("c", &["a", "b"]),
            "{protocol:?} b64={b64}"
        );
    }
}

#[test]
fn messages_sent_before_the_handshake_completes_are_kept() {
    let config = client(Protocol::V4);
    let server_config = server();
    let mut p = Pair::new(config, server_config);
    // Queue many on both sides: polls carry 16 at most, POSTs respect maxPayload.
    for i in 0..40 {
        p.client.send(format!("c{i}")).unwrap();
        p.server.session().send(format!("s{i}")).unwrap();
    }
    p.run();
    let want = |prefix: &str| {
        (0..40)
            .map(|i| Data::from(format!("{prefix}{i}")))
            .collect::<Vec<_>>()
    };
    assert_eq!(p.client_messages(), want("s"));
    assert_eq!(p.server_messages(), want("c"));
}

#[test]
fn posts_are_split_to_the_servers_max_payload() {
    let server_config = ServerConfig::builder()
        .max_http_buffer_size(100)
        .build()
        .unwrap();
    let config = ClientConfig::builder().upgrade(false).build().unwrap();
    let mut p = Pair::new(config, server_config);
    for i in 0..10 {
        p.client.send(format!("{i:040}")).unwrap();
    }
    p.run();
    assert_eq!(p.server_messages().len(), 10);
    let posts = p
        .client_transmits
        .iter()
        .filter_map(|t| match t {
            ClientTransmit::Request {
                body: Some((b, _)), ..
            } => Some(b.len()),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert!(posts.len() >= 5, "{posts:?}");
    assert!(posts.iter().all(|&n| n <= 100), "{posts:?}");
    assert_eq!(server_closed(&p), None);
}

#[test]
fn websocket_only_sessions() {
    for protocol in [Protocol::V4, Protocol::V3] {
        let mut p = Pair::new(ws_only(protocol), server());
        assert!(matches!(p.client_events[0], ClientEvent::Open(ref o) if o.upgrades.is_empty()));
        assert_eq!(p.server.session().transport(), Transport::WebSocket);
        exchange(&mut p, "x");
        assert_eq!(p.client_messages(), expected("s", &["x"]));
        assert_eq!(p.server_messages(), expected("c", &["x"]));
    }
}

#[test]
fn heartbeats_keep_both_protocols_alive() {
    for protocol in [Protocol::V4, Protocol::V3] {
        for config in [client(protocol), ws_only(protocol)] {
            let mut p = Pair::new(config, server());
            p.advance(Duration::from_secs(600));
            assert_eq!(client_closed(&p), None, "{protocol:?}");
            assert_eq!(server_closed(&p), None, "{protocol:?}");
        }
    }
}

#[test]
fn the_client_detects_a_silent_server() {
    for protocol in [Protocol::V4, Protocol::V3] {
        let mut p = Pair::new(ws_only(protocol), server());
        // The server vanishes without closing anything.
        p.server.session = None;
        p.advance(Duration::from_millis(44_999));
        assert_eq!(client_closed(&p), None, "{protocol:?}");
        p.advance(Duration::from_secs(30));
        assert_eq!(
            client_closed(&p),
            Some(CloseReason::PingTimeout),
            "{protocol:?}"
        );
    }
}

#[test]
fn the_server_detects_a_silent_client() {
    for protocol in [Protocol::V4, Protocol::V3] {
        let mut p = Pair::new(ws_only(protocol), server());
        // The client stops reading its timers (and so stops answering or pinging).
        let now = p.now();
        p.server.advance(Duration::from_secs(46));
        let _ = now;
        assert_eq!(
            p.server.events.last(),
            Some(&Event::Closed(CloseReason::PingTimeout)),
            "{protocol:?}"
        );
    }
}

#[test]
fn closing_from_the_client() {
    for config in [
        client(Protocol::V4),
        ClientConfig::builder().upgrade(false).build().unwrap(),
        ws_only(Protocol::V3),
    ] {
        let mut p = Pair::new(config, server());
        p.client.send("last words").unwrap();
        let now = p.now();
        p.client.close(now);
        assert!(p.client.send("too late").is_err());
        p.run();
        assert_eq!(client_closed(&p), Some(CloseReason::ForcedClose));
        assert_eq!(p.server_messages(), [Data::from("last words")]);
        assert_eq!(server_closed(&p), Some(CloseReason::TransportClose));
    }
}

#[test]
fn closing_from_the_server() {
    for config in [
        client(Protocol::V4),
        ClientConfig::builder().upgrade(false).build().unwrap(),
        ws_only(Protocol::V3),
    ] {
        let mut p = Pair::new(config, server());
        p.server.session().send("bye").unwrap();
        let now = p.now();
        p.server.session().close(now);
        p.run();
        assert_eq!(server_closed(&p), Some(CloseReason::ForcedClose));
        assert_eq!(p.client_messages(), [Data::from("bye")]);
        assert_eq!(client_closed(&p), Some(CloseReason::TransportClose));
    }
}

#[test]
fn a_failed_upgrade_falls_back_to_polling() {
    // The server refuses WebSocket upgrades for this session (one is already under way).
    let config = ClientConfig::builder().build().unwrap();
    let server_config = ServerConfig::builder()
        .transports(Transports {
            polling: true,
            websocket: false,
        })
        .build()
        .unwrap();
    let mut p = Pair::new(config, server_config);
    assert_eq!(p.client.transport(), Transport::Polling);
    exchange(&mut p, "still");
    assert_eq!(p.client_messages(), expected("s", &["still"]));
}
