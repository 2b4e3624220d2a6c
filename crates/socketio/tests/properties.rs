//! Property tests: packets round-trip through the codec, and arbitrary input never panics.

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::Value;
use sockeye_socketio::{Data, Decoder, DecoderConfig, Packet, PacketType, RESERVED_EVENTS, Str};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_string()), "/[a-z0-9_-]{1,10}"]
}

fn event_name() -> impl Strategy<Value = String> {
    "\\PC{0,10}".prop_filter("reserved", |n| !RESERVED_EVENTS.contains(&n.as_str()))
}

fn round_trip(packet: &Packet) -> Packet {
    let mut d = Decoder::new(DecoderConfig::default());
    let messages = packet.encode();
    let n = messages.len();
    let mut out = None;
    for (i, m) in messages.into_iter().enumerate() {
        let r = d.decode(m).unwrap();
        assert_eq!(
            r.is_some(),
            i + 1 == n,
            "complete only after the last attachment"
        );
        out = r;
    }
    out.unwrap()
}

proptest! {
    #[test]
    fn events_round_trip(
        ns in namespace(),
        name in event_name(),
        args in proptest::collection::vec(json_value(), 0..4),
        blobs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..16), 0..3),
        id in proptest::option::of(any::<u64>()),
    ) {
        let blobs: Vec<Bytes> = blobs.into_iter().map(Bytes::from).collect();
        let mut packet = Packet::event(ns.clone(), &name, &(&args, &blobs)).unwrap();
        if let Some(id) = id {
            packet = packet.with_id(id);
        }
        let back = round_trip(&packet);
        prop_assert_eq!(back.namespace.as_str(), ns.as_str());
        prop_assert_eq!(back.id, id);
        prop_assert_eq!(back.event.as_ref().map(|e| e.as_text().into_owned()), Some(name));
        let (args_back, blobs_back): (Vec<Value>, Vec<Bytes>) = back.args().unwrap();
        prop_assert_eq!(args_back, args);
        prop_assert_eq!(blobs_back, blobs);
        prop_assert_eq!(back.kind == PacketType::BinaryEvent, !back.attachments.is_empty());
    }

    #[test]
    fn acks_and_connects_round_trip(
        ns in namespace(),
        id in any::<u64>(),
        args in proptest::collection::vec(json_value(), 0..4),
        auth in proptest::collection::btree_map("[a-z]{1,5}", json_value(), 0..3),
    ) {
        let ack = Packet::ack(ns.clone(), id, &args).unwrap();
        let back = round_trip(&ack);
        prop_assert_eq!(back.id, Some(id));
        prop_assert_eq!(back.args::<Vec<Value>>().unwrap(), args);
        let auth = Value::Object(auth.into_iter().collect());
        let connect = Packet::connect(ns.clone(), Some(Str::from(auth.to_string())));
        let back = round_trip(&connect);
        prop_assert_eq!(back.payload_as::<Value>().unwrap(), Some(auth));
        prop_assert_eq!(back.namespace.as_str(), ns.as_str());
    }

    #[test]
    fn arbitrary_messages_never_panic(
        messages in proptest::collection::vec(
            prop_oneof![
                "[0-6]{0,2}[0-9-]{0,3}(/[a-z]{0,3},)?[0-9]{0,3}\\PC{0,20}".prop_map(|s| Data::Text(Str::from(s))),
                r#"5[0-3]-\["a",(\{"_placeholder":true,"num":[0-9.a"-]{1,3}\},?){0,3}\]"#.prop_map(|s| Data::Text(Str::from(s))),
                proptest::collection::vec(any::<u8>(), 0..8).prop_map(Data::from),
            ],
            0..8,
        ),
    ) {
        let mut d = Decoder::new(DecoderConfig::default());
        for m in messages {
            if let Ok(Some(p)) = d.decode(m) {
                // Whatever decodes re-encodes to something that decodes the same.
                prop_assert_eq!(round_trip(&p).payload, p.payload.clone());
            }
        }
    }
}
