//! Server engine scenarios with simulated time: namespaces, connect middleware decisions,
//! events and acks, rooms and every broadcast operator, broadcast acks, disconnections,
//! protocol v4, connection state recovery.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sockeye_engineio::CloseReason;
use sockeye_socketio::server::{
    BroadcastOptions, ClientId, DisconnectReason, Error, Event, IdSource, ProtocolVersion,
    RecoveryConfig, Server, ServerConfig, SocketId, Transmit,
};
use sockeye_socketio::{Data, Str};

#[derive(Debug, Default)]
struct CountingIds(u8);

impl IdSource for CountingIds {
    fn next_id(&mut self) -> [u8; 15] {
        self.0 += 1;
        [self.0; 15]
    }
}

struct H {
    server: Server,
    now: Instant,
    sent: Vec<(ClientId, Data, bool)>,
    closed: Vec<ClientId>,
    events: Vec<Event>,
}

impl H {
    fn new(config: ServerConfig) -> Self {
        let mut server = Server::new(config, CountingIds::default());
        server.add_namespace("/custom");
        Self {
            server,
            now: Instant::now(),
            sent: Vec::new(),
            closed: Vec::new(),
            events: Vec::new(),
        }
    }

    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.server.poll_transmit() {
                progressed = true;
                match t {
                    Transmit::Send {
                        client,
                        data,
                        volatile,
                        ..
                    } => self.sent.push((client, data, volatile)),
                    Transmit::Close { client } => self.closed.push(client),
                }
            }
            if let Some(e) = self.server.poll_event() {
                progressed = true;
                self.events.push(e);
            }
            if !progressed {
                break;
            }
        }
    }

    fn connection(&mut self, client: u64, protocol: ProtocolVersion) -> ClientId {
        let id = ClientId(client);
        self.server
            .handle_connection(self.now, id, &format!("engine-sid-{client}"), protocol);
        self.drain();
        id
    }

    fn message(&mut self, client: ClientId, text: &str) {
        self.server
            .handle_message(self.now, client, Data::Text(Str::from(text.to_owned())));
        self.drain();
    }

    fn binary(&mut self, client: ClientId, bytes: &'static [u8]) {
        self.server
            .handle_message(self.now, client, Data::Binary(Bytes::from_static(bytes)));
        self.drain();
    }

    /// Connects `client` (v5) to `namespace` and accepts it; returns the socket.
    fn join(&mut self, client: u64, namespace: &str) -> (ClientId, SocketId) {
        let id = ClientId(client);
        if !self.server_has_client(id) {
            self.connection(client, ProtocolVersion::V5);
        }
        let text = if namespace == "/" {
            "0".to_string()
        } else {
            format!("0{namespace},")
        };
        self.message(id, &text);
        let socket = self.take_connecting();
        self.server.accept(self.now, &socket).unwrap();
        self.drain();
        (id, socket)
    }

    fn server_has_client(&self, id: ClientId) -> bool {
        self.sent.iter().any(|(c, _, _)| *c == id)
            || self
                .events
                .iter()
                .any(|e| matches!(e, Event::Connecting { client, .. } if *client == id))
    }

    fn take_connecting(&mut self) -> SocketId {
        let i = self
            .events
            .iter()
            .position(|e| matches!(e, Event::Connecting { .. }))
            .expect("no Connecting event");
        match self.events.remove(i) {
            Event::Connecting { socket, .. } => socket,
            _ => unreachable!(),
        }
    }

    /// Text messages sent to `client`, in order, and forgets them.
    fn texts(&mut self, client: ClientId) -> Vec<String> {
        let out = self
            .sent
            .iter()
            .filter(|(c, _, _)| *c == client)
            .map(|(_, d, _)| match d {
                Data::Text(t) => t.to_string(),
                Data::Binary(b) => format!("<{} bytes>", b.len()),
            })
            .collect();
        self.sent.retain(|(c, _, _)| *c != client);
        out
    }

    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(at) = self.server.poll_timeout().filter(|&t| t <= target) {
            self.now = self.now.max(at);
            self.server.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    fn disconnected(&self) -> Vec<(SocketId, DisconnectReason)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Disconnected { socket, reason, .. } => Some((socket.clone(), *reason)),
                _ => None,
            })
            .collect()
    }
}

fn sid_json(socket: &SocketId) -> String {
    format!(r#"{{"sid":"{socket}"}}"#)
}

#[test]
fn connect_to_the_main_namespace() {
    let mut h = H::new(ServerConfig::default());
    let c = h.connection(1, ProtocolVersion::V5);
    h.message(c, "0");
    let Some(Event::Connecting {
        socket,
        namespace,
        auth,
        client,
    }) = h.events.pop()
    else {
        panic!()
    };
    assert_eq!((namespace.as_str(), auth, client), ("/", None, c));
    assert_eq!(socket.as_str().len(), 20);
    assert!(
        !socket.as_str().contains("engine-sid"),
        "the socket id is not the engine sid"
    );
    h.server.accept(h.now, &socket).unwrap();
    h.drain();
    assert_eq!(h.texts(c), [format!("0{}", sid_json(&socket))]);
    assert_eq!(
        h.events,
        [Event::Connected {
            socket: socket.clone(),
            namespace: "/".into(),
            recovered: false
        }]
    );
    assert_eq!(h.server.rooms(&socket).unwrap(), [socket.room()]);
}

#[test]
fn connect_with_auth_and_to_custom_namespaces() {
    let mut h = H::new(ServerConfig::default());
    let c = h.connection(1, ProtocolVersion::V5);
    h.message(c, r#"0{"token":"123"}"#);
    let Some(Event::Connecting { auth, .. }) = h.events.pop() else {
        panic!()
    };
    assert_eq!(auth.unwrap(), r#"{"token":"123"}"#);
    h.message(c, r#"0/custom,{"token":"abc"}"#);
    let Some(Event::Connecting {
        socket,
        namespace,
        auth,
        ..
    }) = h.events.pop()
    else {
        panic!()
    };
    assert_eq!(
        (namespace.as_str(), auth.unwrap().as_str()),
        ("/custom", r#"{"token":"abc"}"#)
    );
    h.server.accept(h.now, &socket).unwrap();
    h.drain();
    assert_eq!(h.texts(c), [format!("0/custom,{}", sid_json(&socket))]);
}

#[test]
fn unknown_namespaces_are_refused() {
    let mut h = H::new(ServerConfig::default());
    let c = h.connection(1, ProtocolVersion::V5);
    h.message(c, "0/random");
    assert_eq!(h.texts(c), [r#"4/random,{"message":"Invalid namespace"}"#]);
    assert!(h.events.is_empty());
    assert!(h.closed.is_empty());
}

#[test]
fn dynamic_namespaces() {
    let mut h = H::new(ServerConfig::default());
    h.server
        .add_dynamic_namespace(|name| name.starts_with("/dyn-"));
    let c = h.connection(1, ProtocolVersion::V5);
    h.message(c, "0/dyn-42,");
    let socket = h.take_connecting();
    h.server.accept(h.now, &socket).unwrap();
    h.drain();
    assert!(h.server.namespaces().iter().any(|n| n == "/dyn-42"));
    h.message(c, "0/other,");
    assert_eq!(h.texts(c)[1], r#"4/other,{"message":"Invalid namespace"}"#);
}

#[test]
fn middleware_refusal() {
    let mut h = H::new(ServerConfig::default());
    let c = h.connection(1, ProtocolVersion::V5);
    h.message(c, "0");
    let socket = h.take_connecting();
    h.server
        .refuse(
            &socket,
            "unauthorized",
            Some(Str::from_static(r#"{"code":7}"#)),
        )
        .unwrap();
    h.drain();
    assert_eq!(
        h.texts(c),
        [r#"4{"message":"unauthorized","data":{"code":7}}"#]
    );
    assert_eq!(h.server.accept(h.now, &socket), Err(Error::UnknownSocket));
    // It may try again.
    h.message(c, "0");
    let socket = h.take_connecting();
    h.server.refuse(&socket, "no \"way\"", None).unwrap();
    h.drain();
    assert_eq!(h.texts(c), [r#"4{"message":"no \"way\""}"#]);
}

#[test]
fn connect_timeout_closes_the_connection() {
    let mut h = H::new(ServerConfig {
        connect_timeout: Duration::from_millis(1000),
        ..Default::default()
    });
    let c = h.connection(1, ProtocolVersion::V5);
    h.advance(Duration::from_millis(999));
    assert!(h.closed.is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(h.closed, [c]);
    // A connection that joined a namespace is not closed.
    let (c2, _) = h.join(2, "/");
    h.advance(Duration::from_secs(10));
    assert!(!h.closed.contains(&c2));
}

#[test]
fn events_and_acks_from_the_client() {
    let mut h = H::new(ServerConfig::default());
    let (c, socket) = h.join(1, "/");
    h.texts(c);
    h.events.clear();
    h.message(c, r#"2["message",1,"two"]"#);
    let Some(Event::Event { socket: s, packet }) = h.events.pop() else {
        panic!()
    };
    assert_eq!(s, socket);
    assert_eq!(packet.event.as_ref().unwrap().to_string(), "message");
    assert_eq!(packet.args::<(u8, String)>().unwrap(), (1, "two".into()));
    // With an ack id: the application answers.
    h.message(c, r#"2456["message-with-ack",1,"2"]"#);
    let Some(Event::Event { packet, .. }) = h.events.pop() else {
        panic!()
    };
    assert_eq!(packet.id, Some(456));
    h.server.ack(&socket, 456, &(1, "2")).unwrap();
    h.drain();
    assert_eq!(h.texts(c), [r#"3456[1,"2"]"#]);
}

#[test]
fn binary_events_and_binary_acks() {
    let mut h = H::new(ServerConfig::default());
    let (c, socket) = h.join(1, "/");
    h.texts(c);
    h.events.clear();
    h.message(
        c,
        r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
            .trim_start_matches('4'),
    );
    assert!(h.events.is_empty(), "waiting for attachments");
    h.binary(c, &[1, 2, 3]);
    h.binary(c, &[4]);
    let Some(Event::Event { packet, .. }) = h.events.pop() else {
        panic!()
    };
    let (a, b): (Bytes, Bytes) = packet.args().unwrap();
    assert_eq!((a.as_ref(), b.as_ref()), (&[1u8, 2, 3][..], &[4u8][..]));
    // Echo them back the way the reference suite's server does.
    h.server
        .emit(h.now, &socket, "message-back", &(a.clone(), b.clone()))
        .unwrap();
    h.server.ack(&socket, 789, &(a, b)).unwrap();
    h.drain();
    assert_eq!(
        h.texts(c),
        [
            r#"52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            "<3 bytes>",
            "<1 bytes>",
            r#"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            "<3 bytes>",
            "<1 bytes>",
        ]
    );
}

#[test]
fn invalid_packets_close_the_connection_with_parse_error() {
    for bad in [
        "4abc",
        "2{}",
        "2abc[]",
        "7",
        r#"51-["a",{"_placeholder":true,"num":"splice"}]"#,
        r#"2["disconnect"]"#,
    ] {
        let mut h = H::new(ServerConfig::default());
        let (c, socket) = h.join(1, "/");
        h.message(c, bad);
        assert_eq!(h.closed, [c], "{bad}");
        assert_eq!(
            h.disconnected(),
            [(socket, DisconnectReason::ParseError)],
            "{bad}"
        );
    }
    // Binary data with nothing pending.
    let mut h = H::new(ServerConfig::default());
    let (c, _) = h.join(1, "/");
    h.binary(c, b"x");
    assert_eq!(h.closed, [c]);
}

#[test]
fn out_of_turn_packets_close_the_connection() {
    // An event for a namespace not joined.
    let mut h = H::new(ServerConfig::default());
    let (c, socket) = h.join(1, "/");
    h.message(c, r#"2/custom,["x"]"#);
    assert_eq!(h.closed, [c]);
    assert_eq!(
        h.disconnected(),
        [(socket, DisconnectReason::ForcedServerClose)]
    );
    // A second CONNECT to a namespace already joined.
    let mut h = H::new(ServerConfig::default());
    let (c, _) = h.join(1, "/");
    h.message(c, "0");
    assert_eq!(h.closed, [c]);
    // An event while the connect decision is pending.
    let mut h = H::new(ServerConfig::default());
    let c = h.connection(1, ProtocolVersion::V5);
    h.message(c, "0");
    h.message(c, r#"2["early"]"#);
    assert_eq!(h.closed, [c]);
}

#[test]
fn disconnections() {
    let mut h = H::new(ServerConfig::default());
    let (c, root) = h.join(1, "/");
    let (_, custom) = h.join(1, "/custom");
    h.texts(c);
    // The client leaves /custom; the connection stays.
    h.message(c, "1/custom,");
    assert_eq!(
        h.disconnected(),
        [(custom.clone(), DisconnectReason::ClientNamespaceDisconnect)]
    );
    assert!(h.closed.is_empty());
    // The server disconnects the root socket.
    h.server.disconnect(h.now, &root, false).unwrap();
    h.drain();
    assert_eq!(h.texts(c), ["1"]);
    assert_eq!(
        h.disconnected()[1],
        (root.clone(), DisconnectReason::ServerNamespaceDisconnect)
    );
    assert!(h.closed.is_empty());
    assert_eq!(
        h.server.emit(h.now, &root, "x", &()),
        Err(Error::UnknownSocket)
    );
    // Transport loss: every socket of the connection, with the engine's reason.
    let (c2, s2) = h.join(2, "/");
    h.server.join(&s2, &["room".into()]).unwrap();
    h.server.handle_close(h.now, c2, CloseReason::PingTimeout);
    h.drain();
    let Some(Event::Disconnected {
        socket,
        reason,
        rooms,
        ..
    }) = h.events.pop()
    else {
        panic!()
    };
    assert_eq!(
        (socket, reason),
        (s2.clone(), DisconnectReason::PingTimeout)
    );
    assert_eq!(rooms.len(), 2, "the rooms it was in are reported");
    // disconnect(close) closes the connection.
    let (c3, s3) = h.join(3, "/");
    h.server.disconnect(h.now, &s3, true).unwrap();
    h.drain();
    assert_eq!(h.closed, [c3]);
}

#[test]
fn rooms_and_broadcast_operators() {
    let mut h = H::new(ServerConfig::default());
    let (c1, s1) = h.join(1, "/");
    let (c2, s2) = h.join(2, "/");
    let (c3, s3) = h.join(3, "/");
    let (c4, _) = h.join(4, "/custom");
    h.server.join(&s1, &["a".into()]).unwrap();
    h.server.join(&s2, &["a".into(), "b".into()]).unwrap();
    h.server.join(&s3, &["b".into()]).unwrap();
    for c in [c1, c2, c3, c4] {
        h.texts(c);
    }
    let all = BroadcastOptions::namespace("/");
    assert_eq!(h.server.broadcast(h.now, &all, "all", &()).unwrap(), 3);
    assert_eq!(
        h.server
            .broadcast(h.now, &all.clone().to("a"), "a", &())
            .unwrap(),
        2
    );
    assert_eq!(
        h.server
            .broadcast(h.now, &all.clone().to("a").to("b"), "ab", &())
            .unwrap(),
        3
    );
    assert_eq!(
        h.server
            .broadcast(h.now, &all.clone().to("a").except("b"), "a-b", &())
            .unwrap(),
        1
    );
    assert_eq!(
        h.server
            .broadcast(h.now, &all.clone().except(s1.room()), "not1", &())
            .unwrap(),
        2
    );
    assert_eq!(
        h.server
            .broadcast(h.now, &all.clone().to(s3.room()).volatile(), "v", &1)
            .unwrap(),
        1
    );
    h.drain();
    assert_eq!(
        h.texts(c1),
        [r#"2["all"]"#, r#"2["a"]"#, r#"2["ab"]"#, r#"2["a-b"]"#]
    );
    assert_eq!(
        h.texts(c2),
        [r#"2["all"]"#, r#"2["a"]"#, r#"2["ab"]"#, r#"2["not1"]"#]
    );
    assert!(h.sent.iter().any(|(c, _, volatile)| *c == c3 && *volatile));
    assert_eq!(
        h.texts(c3),
        [r#"2["all"]"#, r#"2["ab"]"#, r#"2["not1"]"#, r#"2["v",1]"#]
    );
    assert!(h.texts(c4).is_empty(), "other namespaces are not reached");
    // Leaving a room.
    h.server.leave(&s2, &"a".into()).unwrap();
    assert_eq!(
        h.server
            .broadcast(h.now, &all.clone().to("a"), "a", &())
            .unwrap(),
        1
    );
    // fetch_sockets, sockets_join / sockets_leave, disconnect_sockets.
    let found = h.server.fetch_sockets(&all.clone().to("b"));
    assert_eq!(found.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), {
        let mut v = vec![s2.clone(), s3.clone()];
        v.sort();
        v
    });
    h.server.sockets_join(&all.clone().to("b"), &["c".into()]);
    assert_eq!(h.server.fetch_sockets(&all.clone().to("c")).len(), 2);
    h.server.sockets_leave(&all.clone(), &["c".into()]);
    assert!(h.server.fetch_sockets(&all.clone().to("c")).is_empty());
    h.server
        .disconnect_sockets(h.now, &all.clone().to("b"), false);
    h.drain();
    assert_eq!(h.disconnected().len(), 2);
    assert_eq!(h.server.fetch_sockets(&all).len(), 1);
    assert_eq!(h.server.server_side_emit(&"/".into(), "hello", &()), Ok(0));
}

#[test]
fn emit_with_ack_and_timeouts() {
    let mut h = H::new(ServerConfig {
        ack_timeout: Duration::from_millis(200),
        ..Default::default()
    });
    let (c, socket) = h.join(1, "/");
    h.texts(c);
    h.events.clear();
    let id = h
        .server
        .emit_with_ack(h.now, &socket, "question", &("?",), None)
        .unwrap();
    h.drain();
    assert_eq!(h.texts(c), [format!(r#"2{id}["question","?"]"#)]);
    h.message(c, &format!(r#"3{id}["answer"]"#));
    let Some(Event::Ack {
        socket: s,
        id: got,
        packet,
    }) = h.events.pop()
    else {
        panic!()
    };
    assert_eq!((s, got), (socket.clone(), id));
    assert_eq!(packet.args::<(String,)>().unwrap().0, "answer");
    // A second answer to the same id is ignored.
    h.message(c, &format!(r#"3{id}["again"]"#));
    assert!(h.events.is_empty());
    // No answer: a timeout, with a per-emit duration.
    let id = h
        .server
        .emit_with_ack(h.now, &socket, "q2", &(), Some(Duration::from_millis(50)))
        .unwrap();
    h.advance(Duration::from_millis(49));
    assert!(h.events.is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(
        h.events,
        [Event::AckTimeout {
            socket: socket.clone(),
            id
        }]
    );
    // A late answer is ignored.
    h.events.clear();
    h.message(c, &format!(r#"3{id}[]"#));
    assert!(h.events.is_empty());
}

#[test]
fn broadcast_with_acks_gathers_answers() {
    let mut h = H::new(ServerConfig::default());
    let (c1, s1) = h.join(1, "/");
    let (c2, s2) = h.join(2, "/");
    let (_, _s3) = h.join(3, "/");
    h.events.clear();
    let all = BroadcastOptions::namespace("/");
    let id = h
        .server
        .broadcast_with_ack(h.now, &all, "poll", &(), Some(Duration::from_secs(1)))
        .unwrap();
    h.drain();
    h.message(c1, &format!("3{id}[1]"));
    h.message(c2, &format!("3{id}[2]"));
    assert!(h.events.is_empty(), "one socket has not answered");
    h.advance(Duration::from_secs(1));
    let Some(Event::BroadcastAck {
        id: got,
        responses,
        expected,
        timed_out,
    }) = h.events.pop()
    else {
        panic!()
    };
    assert_eq!((got, expected, timed_out), (id, 3, true));
    assert_eq!(
        responses.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>(),
        [s1, s2]
    );
    // Everyone answers: reported at once.
    let id = h
        .server
        .broadcast_with_ack(h.now, &all.clone().to("nobody"), "poll", &(), None)
        .unwrap();
    h.drain();
    assert!(
        matches!(h.events.pop(), Some(Event::BroadcastAck { id: i, expected: 0, timed_out: false, .. }) if i == id)
    );
}

#[test]
fn reserved_event_names_cannot_be_emitted() {
    let mut h = H::new(ServerConfig::default());
    let (_, socket) = h.join(1, "/");
    assert_eq!(
        h.server.emit(h.now, &socket, "disconnect", &()),
        Err(Error::ReservedEvent("disconnect".into()))
    );
}

#[test]
fn shutdown_disconnects_everyone() {
    let mut h = H::new(ServerConfig::default());
    let (c1, s1) = h.join(1, "/");
    let (c2, s2) = h.join(2, "/custom");
    h.server.shutdown(h.now);
    h.drain();
    let mut closed = h.closed.clone();
    closed.sort();
    assert_eq!(closed, [c1, c2]);
    let mut d = h.disconnected();
    d.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want = vec![
        (s1, DisconnectReason::ServerShuttingDown),
        (s2, DisconnectReason::ServerShuttingDown),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(d, want);
}

// ---- protocol v4 (socket.io-client 2.x) ------------------------------------------------------

#[test]
fn v4_clients_join_the_main_namespace_on_connection() {
    let mut h = H::new(ServerConfig::default());
    let c = h.connection(1, ProtocolVersion::V4);
    let socket = h.take_connecting();
    assert_eq!(
        socket.as_str(),
        "engine-sid-1",
        "v4 socket ids are the engine sid"
    );
    h.server.accept(h.now, &socket).unwrap();
    h.drain();
    assert_eq!(h.texts(c), ["0"]);
    // A custom namespace with auth in its query string.
    h.message(c, "0/custom?token=secret&x=1,");
    let Some(Event::Connecting {
        socket,
        namespace,
        auth,
        ..
    }) = h.events.pop()
    else {
        panic!()
    };
    assert_eq!(socket.as_str(), "/custom#engine-sid-1");
    assert_eq!(namespace, "/custom");
    assert_eq!(auth.unwrap(), r#"{"token":"secret","x":"1"}"#);
    h.server.refuse(&socket, "unauthorized", None).unwrap();
    h.drain();
    // v4 refusals are a string.
    assert_eq!(h.texts(c), [r#"4/custom,"unauthorized""#]);
    h.message(c, "0/custom?token=secret,");
    let socket = h.take_connecting();
    h.server.accept(h.now, &socket).unwrap();
    h.drain();
    assert_eq!(h.texts(c), ["0/custom,"]);
    h.message(c, r#"2/custom,["hi"]"#);
    assert!(matches!(h.events.last(), Some(Event::Event { .. })));
}

// ---- connection state recovery ---------------------------------------------------------------

fn recovery() -> ServerConfig {
    ServerConfig {
        recovery: Some(RecoveryConfig::default()),
        ..Default::default()
    }
}

#[test]
fn recovery_restores_the_socket_and_replays_missed_packets() {
    let mut h = H::new(recovery());
    let (c, socket) = h.join(1, "/");
    let connect = h.texts(c).remove(0);
    let reply: serde_json::Value = serde_json::from_str(&connect[1..]).unwrap();
    let pid = reply["pid"].as_str().unwrap().to_owned();
    assert_eq!(reply["sid"], socket.as_str());
    h.server.join(&socket, &["room".into()]).unwrap();
    // Broadcasts carry an offset as their last argument; so does a plain emit.
    let all = BroadcastOptions::namespace("/");
    h.server.broadcast(h.now, &all, "news", &(1,)).unwrap();
    h.server.emit(h.now, &socket, "direct", &()).unwrap();
    h.drain();
    let texts = h.texts(c);
    assert_eq!(texts, [r#"2["news",1,"0"]"#, r#"2["direct","1"]"#]);
    // The connection drops; packets keep coming.
    h.server.handle_close(h.now, c, CloseReason::TransportClose);
    h.drain();
    h.server
        .broadcast(h.now, &all.clone().to("room"), "missed", &(2,))
        .unwrap();
    h.server
        .broadcast(h.now, &all.clone().to("elsewhere"), "not for us", &())
        .unwrap();
    h.server
        .broadcast(h.now, &all.clone().volatile(), "volatile", &())
        .unwrap();
    h.advance(Duration::from_secs(60));
    // It comes back with its pid and last offset.
    let c2 = h.connection(2, ProtocolVersion::V5);
    h.message(
        c2,
        &format!(r#"0{{"pid":"{pid}","offset":"1","token":"t"}}"#),
    );
    // Middlewares are skipped: connected at once, same id, rooms back, missed packet replayed.
    assert!(h.events.iter().any(|e| *e
        == Event::Connected {
            socket: socket.clone(),
            namespace: "/".into(),
            recovered: true
        }));
    assert_eq!(
        h.texts(c2),
        [
            format!(r#"0{{"sid":"{socket}","pid":"{pid}"}}"#),
            r#"2["missed",2,"2"]"#.to_string()
        ]
    );
    assert!(h.server.rooms(&socket).unwrap().contains(&"room".into()));
    assert_eq!(h.server.auth(&socket).unwrap(), r#"{"token":"t"}"#);
}

#[test]
fn recovery_expires() {
    let mut h = H::new(recovery());
    let (c, _) = h.join(1, "/");
    let connect = h.texts(c).remove(0);
    let reply: serde_json::Value = serde_json::from_str(&connect[1..]).unwrap();
    let pid = reply["pid"].as_str().unwrap().to_owned();
    h.server
        .broadcast(h.now, &BroadcastOptions::namespace("/"), "x", &())
        .unwrap();
    h.server.handle_close(h.now, c, CloseReason::TransportClose);
    h.advance(Duration::from_secs(121));
    let c2 = h.connection(2, ProtocolVersion::V5);
    h.message(c2, &format!(r#"0{{"pid":"{pid}","offset":"0"}}"#));
    // Not recovered: an ordinary connect decision, with a fresh id.
    let Some(Event::Connecting { auth, .. }) = h.events.pop() else {
        panic!()
    };
    assert_eq!(auth.unwrap(), "{}");
}

#[test]
fn a_client_namespace_disconnect_is_not_recoverable() {
    let mut h = H::new(recovery());
    let (c, _) = h.join(1, "/");
    let connect = h.texts(c).remove(0);
    let reply: serde_json::Value = serde_json::from_str(&connect[1..]).unwrap();
    let pid = reply["pid"].as_str().unwrap().to_owned();
    h.server
        .broadcast(h.now, &BroadcastOptions::namespace("/"), "x", &())
        .unwrap();
    h.message(c, "1");
    h.message(c, &format!(r#"0{{"pid":"{pid}","offset":"0"}}"#));
    assert!(matches!(h.events.last(), Some(Event::Connecting { .. })));
}
