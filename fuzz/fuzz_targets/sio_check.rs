//! Shared oracle for a complete Socket.IO packet (included by sio_packet and
//! sio_binary_reassembly).

use serde_json::Value;
use sockeye_engineio::Data;
use sockeye_socketio::{Decoder, DecoderConfig, EventName, Packet, PacketType};

/// The type a packet is written as: a binary type without attachments is written as its
/// plain type.
pub fn wire_kind(packet: &Packet) -> PacketType {
    match packet.kind {
        PacketType::BinaryEvent if packet.attachments.is_empty() => PacketType::Event,
        PacketType::BinaryAck if packet.attachments.is_empty() => PacketType::Ack,
        kind => kind,
    }
}

/// The attachment count a text packet announces (`<5|6><n>-…`), read by hand.
pub fn announced(text: &[u8]) -> Option<usize> {
    if !matches!(text.first(), Some(b'5' | b'6')) {
        return None;
    }
    let digits = text[1..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&text[1..1 + digits]).ok()?.parse().ok()
}

/// An object the reference reconstructor would replace: `"_placeholder": true`.
fn is_placeholder(map: &serde_json::Map<String, Value>) -> bool {
    map.get("_placeholder") == Some(&Value::Bool(true))
}

/// Placeholders left in a value after the attachments filled it.
fn find_placeholder(value: &Value) -> Option<&Value> {
    match value {
        Value::Object(map) if is_placeholder(map) => Some(value),
        Value::Object(map) => map.values().find_map(find_placeholder),
        Value::Array(items) => items.iter().find_map(find_placeholder),
        _ => None,
    }
}

/// serde_json errors for valid JSON it cannot represent.
const UNREPRESENTABLE: [&str; 3] = [
    "number out of range",
    "lone leading surrogate in hex escape",
    "unexpected end of hex escape",
];

/// Checks a packet a decoder completed (with `config`, so that re-decoding fits the same
/// limits):
/// - its fields agree with its type (event name exactly for events, no payload on
///   DISCONNECT, attachments only on binary types, at most `max_attachments`);
/// - the event name is the first element of the JSON array;
/// - `args::<Vec<Value>>()` never panics, and succeeds for events and acks;
/// - in a binary packet every placeholder is filled by its attachment (none is left, the
///   validator having accepted each `num`);
/// - it re-encodes (`Packet::encode`) to messages a fresh decoder turns back into the same
///   packet (a binary type without attachments coming back as the plain type).
pub fn check_packet(packet: &Packet, config: DecoderConfig) {
    let is_event = matches!(packet.kind, PacketType::Event | PacketType::BinaryEvent);
    let is_ack = matches!(packet.kind, PacketType::Ack | PacketType::BinaryAck);
    assert_eq!(
        packet.event.is_some(),
        is_event,
        "event name presence disagrees with the type: {packet:?}"
    );
    assert!(
        packet.attachments.is_empty() || packet.kind.is_binary(),
        "attachments on a {:?}",
        packet.kind
    );
    assert!(
        packet.attachments.len() <= config.max_attachments,
        "{} attachments, limit {}",
        packet.attachments.len(),
        config.max_attachments
    );
    assert!(
        packet.kind != PacketType::Disconnect || packet.payload.is_none(),
        "DISCONNECT with a payload"
    );
    assert!(
        packet.namespace.as_bytes().first() == Some(&b'/'),
        "namespace {:?} does not start with /",
        packet.namespace
    );
    if is_event {
        assert!(packet.payload.is_some(), "event without payload");
    }

    // The validator skips values without reading them, as JSON.parse accepts them: any
    // number (JSON.parse reads `1e400` as Infinity) and any `\u` escape, lone surrogates
    // included (`"\uDDDD"`). serde_json cannot represent those: then there is no tree, and
    // `args` must fail cleanly.
    let tree: Option<Value> =
        packet
            .payload
            .as_ref()
            .and_then(|p| match serde_json::from_str(p.as_str()) {
                Ok(tree) => Some(tree),
                Err(e) if UNREPRESENTABLE.iter().any(|m| e.to_string().starts_with(m)) => None,
                Err(e) => panic!("accepted payload is not JSON ({e}): {p:?}"),
            });
    let unrepresentable = packet.payload.is_some() && tree.is_none();
    if let (Some(name), Some(tree)) = (&packet.event, &tree) {
        let first = tree.as_array().and_then(|a| a.first());
        let same = match (name, first) {
            (EventName::Text(s), Some(Value::String(t))) => s == t,
            (EventName::Number(n), Some(Value::Number(m))) => n == m,
            _ => false,
        };
        assert!(
            same,
            "event name {name:?} is not the first element of {tree}"
        );
    }

    let args = packet.args::<Vec<Value>>();
    if unrepresentable {
        assert!(args.is_err(), "args read a value serde_json cannot");
    } else if is_event || is_ack {
        let args = args.unwrap_or_else(|e| panic!("args of {packet:?} failed: {e}"));
        if !packet.attachments.is_empty() {
            if let Some(left) = args.iter().find_map(find_placeholder) {
                panic!(
                    "placeholder {left} left unfilled in {:?} ({} attachments)",
                    packet.payload,
                    packet.attachments.len()
                );
            }
        }
    }

    let messages = packet.encode();
    assert_eq!(
        messages.len(),
        1 + packet.attachments.len(),
        "encode gave {} messages for {} attachments",
        messages.len(),
        packet.attachments.len()
    );
    let mut decoder = Decoder::new(config);
    let mut again = None;
    for (i, data) in messages.into_iter().enumerate() {
        if i == 0 {
            assert!(matches!(data, Data::Text(_)), "first message is not text");
        } else {
            assert!(
                matches!(&data, Data::Binary(b) if *b == packet.attachments[i - 1]),
                "message {i} is not attachment {}",
                i - 1
            );
        }
        let text = match &data {
            Data::Text(t) => Some(t.clone()),
            Data::Binary(_) => None,
        };
        match decoder.decode(data) {
            Ok(Some(p)) => {
                assert!(again.is_none(), "two packets from one encoding");
                again = Some(p);
            }
            Ok(None) => {}
            Err(e) => panic!("re-encoded {text:?} of {packet:?} does not decode: {e}"),
        }
    }
    let again = again.unwrap_or_else(|| panic!("re-encoded {packet:?} left incomplete"));
    assert!(!decoder.is_reconstructing());
    assert_eq!(wire_kind(&again), wire_kind(packet), "kind changed");
    assert_eq!(again.namespace, packet.namespace, "namespace changed");
    assert_eq!(again.id, packet.id, "id changed");
    assert_eq!(again.payload, packet.payload, "payload changed");
    assert_eq!(again.attachments, packet.attachments, "attachments changed");
    assert_eq!(again.event, packet.event, "event name changed");
}
