//! Server and client engines back to back (test-support's `Pair`), simulated time:
//! namespaces multiplexed over one connection, middleware, acks both ways (binary too),
//! buffering, reconnection with backoff, connection state recovery, protocol v4.

use std::time::Duration;

use bytes::Bytes;
use sockeye_engineio::CloseReason;
use sockeye_socketio::Str;
use sockeye_socketio::client::{ClientConfig, ClientDisconnectReason, ClientEvent, Reconnection};
use sockeye_socketio::server::{
    BroadcastOptions, DisconnectReason, Event, ProtocolVersion, RecoveryConfig, ServerConfig,
};
use sockeye_test_support::socketio::Pair;

fn pair() -> Pair {
    let mut p = Pair::new(ServerConfig::default());
    p.server.add_namespace("/chat");
    p
}

fn connected(events: &[ClientEvent]) -> Vec<(String, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Connected {
                namespace,
                recovered,
                ..
            } => Some((namespace.to_string(), *recovered)),
            _ => None,
        })
        .collect()
}

#[test]
fn several_namespaces_over_one_connection() {
    let mut p = pair();
    let c = p.add_client(ClientConfig::default());
    p.clients[c].client.connect("/", None);
    p.clients[c]
        .client
        .connect("/chat", Some(Str::from_static(r#"{"token":"secret"}"#)));
    p.run();
    assert_eq!(
        connected(&p.clients[c].events),
        [("/".into(), false), ("/chat".into(), false)]
    );
    let root = p.socket_of(c, "/").unwrap();
    let chat = p.socket_of(c, "/chat").unwrap();
    assert_ne!(root, chat);
    assert_eq!(p.server.auth(&chat).unwrap(), r#"{"token":"secret"}"#);
    assert_eq!(
        p.server.client_of(&root),
        p.server.client_of(&chat),
        "one Engine.IO connection"
    );
    p.clients[c]
        .client
        .emit("/chat", "hello", &("world",), false)
        .unwrap();
    p.run();
    let Some(Event::Event { socket, packet }) = p.server_events.last().cloned() else {
        panic!()
    };
    assert_eq!(socket, chat);
    assert_eq!(packet.args::<(String,)>().unwrap().0, "world");
    let now = p.now;
    p.server.emit(now, &root, "welcome", &(1,)).unwrap();
    p.run();
    let Some(ClientEvent::Event { namespace, packet }) = p.clients[c].events.last().cloned() else {
        panic!()
    };
    assert_eq!(
        (namespace.as_str(), packet.args::<(u8,)>().unwrap().0),
        ("/", 1)
    );
}

#[test]
fn middleware_refusals_reach_the_client() {
    let mut p = pair();
    p.middleware = Box::new(|ns, auth| {
        if ns == "/chat" && auth.map(Str::as_str) != Some(r#"{"token":"secret"}"#) {
            Err((
                "unauthorized".into(),
                Some(Str::from_static(r#"{"retry":false}"#)),
            ))
        } else {
            Ok(())
        }
    });
    let c = p.add_client(ClientConfig::default());
    p.clients[c]
        .client
        .connect("/chat", Some(Str::from_static(r#"{"token":"wrong"}"#)));
    p.clients[c].client.connect("/nowhere", None);
    p.run();
    let errors: Vec<_> = p.clients[c]
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::ConnectError { namespace, payload } => {
                Some((namespace.to_string(), payload.clone().unwrap().to_string()))
            }
            _ => None,
        })
        .collect();
    let mut errors = errors;
    errors.sort();
    assert_eq!(
        errors,
        [
            (
                "/chat".to_string(),
                r#"{"message":"unauthorized","data":{"retry":false}}"#.to_string()
            ),
            (
                "/nowhere".to_string(),
                r#"{"message":"Invalid namespace"}"#.to_string()
            ),
        ]
    );
}

#[test]
fn acks_both_ways_with_binary() {
    let mut p = pair();
    let c = p.add_client(ClientConfig::default());
    p.clients[c].client.connect("/", None);
    p.run();
    let socket = p.socket_of(c, "/").unwrap();
    // Client asks, server answers.
    let now = p.now;
    let id = p.clients[c]
        .client
        .emit_with_ack(now, "/", "sum", &(1, 2, Bytes::from_static(&[7])), None)
        .unwrap();
    p.run();
    let Some(Event::Event { packet, .. }) = p.server_events.last().cloned() else {
        panic!()
    };
    let (a, b, blob): (u32, u32, Bytes) = packet.args().unwrap();
    assert_eq!(blob.as_ref(), [7]);
    p.server
        .ack(
            &socket,
            packet.id.unwrap(),
            &(a + b, Bytes::from_static(&[8, 9])),
        )
        .unwrap();
    p.run();
    let Some(ClientEvent::Ack {
        id: got, packet, ..
    }) = p.clients[c].events.last().cloned()
    else {
        panic!()
    };
    assert_eq!(got, id);
    let (sum, bytes): (u32, Bytes) = packet.args().unwrap();
    assert_eq!((sum, bytes.as_ref()), (3, &[8u8, 9][..]));
    // Server asks, client answers.
    let now = p.now;
    let id = p
        .server
        .emit_with_ack(now, &socket, "ping", &(), None)
        .unwrap();
    p.run();
    let Some(ClientEvent::Event { packet, .. }) = p.clients[c].events.last().cloned() else {
        panic!()
    };
    p.clients[c]
        .client
        .ack("/", packet.id.unwrap(), &("pong", Bytes::from_static(b"!")))
        .unwrap();
    p.run();
    let Some(Event::Ack {
        id: got, packet, ..
    }) = p.server_events.last().cloned()
    else {
        panic!()
    };
    assert_eq!(got, id);
    assert_eq!(packet.args::<(String, Bytes)>().unwrap().0, "pong");
    // Client ack timeout.
    let now = p.now;
    let id = p.clients[c]
        .client
        .emit_with_ack(now, "/", "ignored", &(), Some(Duration::from_millis(100)))
        .unwrap();
    p.advance(Duration::from_millis(100));
    assert_eq!(
        p.clients[c].events.last(),
        Some(&ClientEvent::AckTimeout {
            namespace: "/".into(),
            id
        })
    );
}

#[test]
fn emits_are_buffered_until_connected_and_volatile_ones_dropped() {
    let mut p = pair();
    let c = p.add_client(ClientConfig::default());
    p.middleware = Box::new(|_, _| Ok(()));
    // Not yet asked to connect: register the namespace, queue, then connect.
    p.clients[c].client.connect("/chat", None);
    p.drop_connection(c, CloseReason::TransportClose);
    p.clients[c]
        .client
        .emit("/chat", "queued", &(1,), false)
        .unwrap();
    p.clients[c]
        .client
        .emit("/chat", "volatile", &(2,), true)
        .unwrap();
    p.advance(Duration::from_secs(10));
    let names: Vec<String> = p
        .server_events
        .iter()
        .filter_map(|e| match e {
            Event::Event { packet, .. } => Some(packet.event.as_ref().unwrap().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["queued"]);
}

#[test]
fn reconnection_with_backoff() {
    let mut p = pair();
    let c = p.add_client(ClientConfig::default());
    p.clients[c].client.connect("/", None);
    p.run();
    p.unreachable = true;
    p.drop_connection(c, CloseReason::TransportClose);
    assert!(p.clients[c].events.contains(&ClientEvent::Disconnected {
        namespace: "/".into(),
        reason: ClientDisconnectReason::TransportClose
    }));
    p.advance(Duration::from_secs(30));
    let attempts = p.clients[c]
        .events
        .iter()
        .filter(|e| matches!(e, ClientEvent::ReconnectAttempt { .. }))
        .count();
    // 1 s doubling to a 5 s cap with ±50 % spread: between 6 and 20 attempts in 30 s.
    assert!((6..=20).contains(&attempts), "{attempts} attempts");
    p.unreachable = false;
    p.advance(Duration::from_secs(6));
    assert_eq!(
        connected(&p.clients[c].events).len(),
        2,
        "reconnected and rejoined"
    );
    assert!(p.clients[c].client.is_connected("/"));
}

#[test]
fn reconnection_gives_up_after_its_attempts() {
    let mut p = pair();
    let config = ClientConfig {
        reconnection: Some(Reconnection {
            attempts: Some(3),
            ..Default::default()
        }),
        ..Default::default()
    };
    let c = p.add_client(config);
    p.clients[c].client.connect("/", None);
    p.run();
    p.unreachable = true;
    p.drop_connection(c, CloseReason::PingTimeout);
    p.advance(Duration::from_secs(60));
    let attempts = p.clients[c]
        .events
        .iter()
        .filter(|e| matches!(e, ClientEvent::ReconnectAttempt { .. }))
        .count();
    assert_eq!(attempts, 3);
    assert_eq!(
        p.clients[c].events.last(),
        Some(&ClientEvent::ReconnectFailed)
    );
}

#[test]
fn backoff_delays_follow_socket_io_client() {
    let r = Reconnection::default();
    // No randomization: 1, 2, 4, 5, 5 s.
    let plain = Reconnection {
        randomization_factor: 0.0,
        ..r
    };
    let d: Vec<u64> = (0..5)
        .map(|a| plain.delay_for(a, 0.3).as_millis() as u64)
        .collect();
    assert_eq!(d, [1000, 2000, 4000, 5000, 5000]);
    // With 0.5: random 0.3 → floor(3) odd → +; 0.25 → floor(2.5)=2 even → −.
    assert_eq!(r.delay_for(0, 0.3).as_millis(), 1150);
    assert_eq!(r.delay_for(0, 0.25).as_millis(), 875);
}

#[test]
fn closing_and_server_disconnects_do_not_reconnect() {
    let mut p = pair();
    let c = p.add_client(ClientConfig::default());
    p.clients[c].client.connect("/", None);
    p.run();
    let socket = p.socket_of(c, "/").unwrap();
    let now = p.now;
    p.server.disconnect(now, &socket, false).unwrap();
    p.run();
    assert_eq!(
        p.clients[c].events.last(),
        Some(&ClientEvent::Disconnected {
            namespace: "/".into(),
            reason: ClientDisconnectReason::IoServerDisconnect
        })
    );
    // The client reconnects the namespace by asking again, then closes for good.
    p.clients[c].client.connect("/", None);
    p.run();
    assert!(p.clients[c].client.is_connected("/"));
    p.clients[c].client.close();
    p.run();
    p.advance(Duration::from_secs(30));
    assert!(
        !p.clients[c]
            .events
            .iter()
            .any(|e| matches!(e, ClientEvent::ReconnectAttempt { .. }))
    );
    assert!(p.server_events.iter().any(|e| matches!(
        e,
        Event::Disconnected {
            reason: DisconnectReason::ClientNamespaceDisconnect,
            ..
        }
    )));
}

#[test]
fn recovery_after_a_dropped_connection() {
    let mut p = Pair::new(ServerConfig {
        recovery: Some(RecoveryConfig::default()),
        ..Default::default()
    });
    let c = p.add_client(ClientConfig::default());
    p.clients[c].client.connect("/", None);
    p.run();
    let socket = p.socket_of(c, "/").unwrap();
    p.server.join(&socket, &["news".into()]).unwrap();
    let now = p.now;
    p.server
        .broadcast(
            now,
            &BroadcastOptions::namespace("/").to("news"),
            "headline",
            &(1,),
        )
        .unwrap();
    p.run();
    p.drop_connection(c, CloseReason::TransportClose);
    let now = p.now;
    p.server
        .broadcast(
            now,
            &BroadcastOptions::namespace("/").to("news"),
            "headline",
            &(2,),
        )
        .unwrap();
    p.advance(Duration::from_secs(10));
    assert_eq!(
        connected(&p.clients[c].events),
        [("/".into(), false), ("/".into(), true)]
    );
    assert_eq!(p.socket_of(c, "/"), Some(socket.clone()), "same socket id");
    let got: Vec<u32> = p.clients[c]
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Event { packet, .. } => Some(packet.args::<(u32, String)>().unwrap().0),
            _ => None,
        })
        .collect();
    assert_eq!(got, [1, 2], "the missed headline was replayed");
    assert!(p.server.rooms(&socket).unwrap().contains(&"news".into()));
}

#[test]
fn protocol_v4_clients() {
    let mut p = pair();
    let config = ClientConfig {
        protocol: ProtocolVersion::V4,
        ..Default::default()
    };
    let c = p.add_client(config);
    p.clients[c].client.connect("/", None);
    p.clients[c]
        .client
        .connect("/chat", Some(Str::from_static(r#"{"token":"secret"}"#)));
    p.run();
    assert_eq!(
        connected(&p.clients[c].events),
        [("/".into(), false), ("/chat".into(), false)]
    );
    let chat = p.server_events.iter().find_map(|e| match e {
        Event::Connected {
            socket, namespace, ..
        } if namespace == "/chat" => Some(socket.clone()),
        _ => None,
    });
    let chat = chat.unwrap();
    assert_eq!(chat.as_str(), "/chat#eio-1");
    assert_eq!(p.server.auth(&chat).unwrap(), r#"{"token":"secret"}"#);
    p.clients[c].client.emit("/chat", "hi", &(), false).unwrap();
    p.run();
    assert!(matches!(p.server_events.last(), Some(Event::Event { socket, .. }) if *socket == chat));
}

#[test]
fn events_before_the_connect_answer_follow_it() {
    // A recovering Node server replays missed packets before its CONNECT answer.
    use sockeye_socketio::Data;
    use sockeye_test_support::socketio::CountingIds;
    let mut client =
        sockeye_socketio::client::Client::new(ClientConfig::default(), CountingIds::default());
    let now = std::time::Instant::now();
    client.connect("/", None);
    client.handle_open(now);
    while client.poll_transmit().is_some() {}
    client.handle_message(now, Data::Text(Str::from_static(r#"2["missed",1]"#)));
    assert_eq!(client.poll_event(), None, "held until connected");
    client.handle_message(now, Data::Text(Str::from_static(r#"0{"sid":"abc"}"#)));
    assert!(matches!(
        client.poll_event(),
        Some(ClientEvent::Connected { .. })
    ));
    let Some(ClientEvent::Event { packet, .. }) = client.poll_event() else {
        panic!()
    };
    assert_eq!(packet.args::<(u8,)>().unwrap().0, 1);
}
