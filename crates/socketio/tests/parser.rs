//! Parser vectors (socket.io-protocol v5 document and the official v5 suite's byte strings)
//! and a regression test for each bad input behind a Node CVE.

use bytes::Bytes;
use sockeye_socketio::{
    Data, DecodeError, Decoder, DecoderConfig, EventName, Packet, PacketType, Str,
};

fn decode_one(text: &'static str) -> Result<Packet, DecodeError> {
    let mut d = Decoder::new(DecoderConfig::default());
    match d.decode_text(Str::from_static(text))? {
        Some(p) => Ok(p),
        None => panic!("{text}: waiting for attachments"),
    }
}

fn encode_text(p: &Packet) -> String {
    let mut out = Vec::new();
    p.encode_text(&mut out);
    String::from_utf8(out).unwrap()
}

/// Decodes `text` and encodes it back unchanged.
fn both_ways(text: &'static str) -> Packet {
    let p = decode_one(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(encode_text(&p), text);
    p
}

#[test]
fn document_examples() {
    let p = both_ways("0");
    assert_eq!(
        (p.kind, p.namespace.as_str(), p.payload.as_ref()),
        (PacketType::Connect, "/", None)
    );
    let p = both_ways(r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#);
    assert_eq!(p.namespace, "/admin");
    assert_eq!(p.payload.unwrap(), r#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#);
    let p = both_ways(r#"4{"message":"Not authorized"}"#);
    assert_eq!(p.kind, PacketType::ConnectError);
    let p = both_ways(r#"2/admin,456["project:delete",123]"#);
    assert_eq!(
        (p.kind, p.namespace.as_str(), p.id),
        (PacketType::Event, "/admin", Some(456))
    );
    assert_eq!(p.event, Some(EventName::Text("project:delete".into())));
    let p = both_ways(r#"3/admin,13["bar"]"#);
    assert_eq!((p.kind, p.id), (PacketType::Ack, Some(13)));
    let p = both_ways("1/admin,");
    assert_eq!(
        (p.kind, p.namespace.as_str()),
        (PacketType::Disconnect, "/admin")
    );
    both_ways(r#"2["foo"]"#);
    both_ways(r#"2["hello",1,"2",{"3":[4]}]"#);
    // v4: a string CONNECT_ERROR.
    both_ways(r#"4"Not authorized""#);
}

#[test]
fn namespace_without_a_trailing_comma() {
    // `40/custom` and `40/custom,` both name the namespace (the suite sends both).
    let p = decode_one("0/custom").unwrap();
    assert_eq!(p.namespace, "/custom");
    assert_eq!(encode_text(&p), "0/custom,");
    let p = decode_one("0/random").unwrap();
    assert_eq!(p.namespace, "/random");
    // v4 auth rides in the namespace's query string.
    let p = decode_one("0/admin?token=1234,").unwrap();
    assert_eq!(p.namespace, "/admin?token=1234");
}

#[test]
fn binary_event_with_attachments() {
    let mut d = Decoder::new(DecoderConfig::default());
    let text = r#"51-["baz",{"_placeholder":true,"num":0}]"#;
    assert_eq!(d.decode_text(Str::from_static(text)), Ok(None));
    assert!(d.is_reconstructing());
    let p = d
        .decode_binary(Bytes::from_static(&[1, 2, 3, 4]))
        .unwrap()
        .unwrap();
    assert_eq!(p.kind, PacketType::BinaryEvent);
    assert_eq!(p.attachments, [Bytes::from_static(&[1, 2, 3, 4])]);
    assert_eq!(encode_text(&p), text);
    assert_eq!(
        p.encode(),
        [
            Data::from(text),
            Data::Binary(Bytes::from_static(&[1, 2, 3, 4]))
        ]
    );
}

#[test]
fn suite_byte_strings() {
    // Binary echo: two attachments.
    let mut d = Decoder::new(DecoderConfig::default());
    let text = r#"52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    assert_eq!(d.decode_text(Str::from_static(text)), Ok(None));
    assert_eq!(d.decode_binary(Bytes::from_static(&[1])), Ok(None));
    let p = d.decode_binary(Bytes::from_static(&[2])).unwrap().unwrap();
    assert_eq!(p.attachments.len(), 2);
    assert_eq!(encode_text(&p), text);
    // Acks.
    let p = both_ways(r#"3456["foo",1]"#);
    assert_eq!(p.id, Some(456));
    let mut d = Decoder::new(DecoderConfig::default());
    let text = r#"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    assert_eq!(d.decode_text(Str::from_static(text)), Ok(None));
    d.decode_binary(Bytes::from_static(&[1])).unwrap();
    let p = d.decode_binary(Bytes::from_static(&[2])).unwrap().unwrap();
    assert_eq!((p.kind, p.id), (PacketType::BinaryAck, Some(789)));
    // The refusal of an unknown namespace.
    let p = Packet::connect_error(
        "/random",
        Str::from_static(r#"{"message":"Invalid namespace"}"#),
    );
    assert_eq!(
        encode_text(&p),
        r#"4/random,{"message":"Invalid namespace"}"#
    );
}

#[test]
fn zero_attachments_complete_at_once() {
    let p = decode_one(r#"50-["a"]"#).unwrap();
    assert!(p.attachments.is_empty());
    assert_eq!(encode_text(&p), r#"2["a"]"#);
}

#[test]
fn typed_arguments() {
    #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
    struct Chat {
        user: String,
        text: String,
    }
    let p = decode_one(r#"2["chat",{"user":"a","text":"hello world"},7]"#).unwrap();
    let (chat, n): (Chat, u32) = p.args().unwrap();
    assert_eq!(
        chat,
        Chat {
            user: "a".into(),
            text: "hello world".into()
        }
    );
    assert_eq!(n, 7);
    // Fewer than there are: the rest is skipped.
    let (chat,): (Chat,) = p.args().unwrap();
    assert_eq!(chat.user, "a");
    let all: Vec<serde_json::Value> = p.args().unwrap();
    assert_eq!(all.len(), 2);
    // Acks have no name to skip.
    let p = decode_one(r#"31[1,2]"#).unwrap();
    assert_eq!(p.args::<(u8, u8)>().unwrap(), (1, 2));
    // Encoding from typed values.
    let e = Packet::event(
        "/",
        "chat",
        &(Chat {
            user: "a".into(),
            text: "hi".into(),
        },),
    )
    .unwrap();
    assert_eq!(encode_text(&e), r#"2["chat",{"user":"a","text":"hi"}]"#);
    let e = Packet::event("/chat", "ping", &()).unwrap();
    assert_eq!(encode_text(&e), r#"2/chat,["ping"]"#);
    let e = Packet::event("/", "one", &42).unwrap();
    assert_eq!(encode_text(&e), r#"2["one",42]"#);
    let a = Packet::ack("/", 3, &("x", 1)).unwrap();
    assert_eq!(encode_text(&a), r#"33["x",1]"#);
    let a = Packet::ack("/", 3, &()).unwrap();
    assert_eq!(encode_text(&a), r#"33[]"#);
}

#[test]
fn malformed_packets() {
    let cases: &[(&str, DecodeError)] = &[
        ("", DecodeError::Empty),
        ("7", DecodeError::UnknownType),
        ("a", DecodeError::UnknownType),
        // The official suite's invalid packets.
        ("4abc", DecodeError::InvalidJson),
        ("2{}", DecodeError::InvalidPayload),
        ("2abc[]", DecodeError::InvalidJson),
        ("2[]", DecodeError::InvalidPayload),
        ("2[true]", DecodeError::InvalidPayload),
        ("2", DecodeError::InvalidPayload),
        ("3{}", DecodeError::InvalidPayload),
        ("0[]", DecodeError::InvalidPayload),
        ("0\"x\"", DecodeError::InvalidPayload),
        ("1{}", DecodeError::InvalidPayload),
        ("4[]", DecodeError::InvalidPayload),
        ("2[\"a\"] x", DecodeError::InvalidJson),
        ("5-[\"a\"]", DecodeError::IllegalAttachments),
        ("5[\"a\"]", DecodeError::IllegalAttachments),
        ("5x-[\"a\"]", DecodeError::IllegalAttachments),
        ("299999999999999999999[\"a\"]", DecodeError::InvalidAckId),
    ];
    for (text, err) in cases {
        let mut d = Decoder::new(DecoderConfig::default());
        assert_eq!(
            d.decode_text(Str::from(text.to_string())),
            Err(err.clone()),
            "{text}"
        );
    }
}

#[test]
fn deep_nesting_never_overflows_the_stack() {
    // Skipped values are checked iteratively by serde_json; walked values (binary packets)
    // stop at its nesting limit.
    let deep = format!("2[\"a\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
    let mut d = Decoder::new(DecoderConfig::default());
    let p = d.decode_text(Str::from(deep)).unwrap().unwrap();
    assert!(p.args::<Vec<serde_json::Value>>().is_err());
    let deep = format!("51-[\"a\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        d.decode_text(Str::from(deep)),
        Err(DecodeError::InvalidJson)
    );
}

// ---- CVE regressions -------------------------------------------------------------------------

#[test]
fn cve_2022_2421_placeholder_num_must_be_an_index() {
    for text in [
        r#"51-["hello",{"_placeholder":true,"num":"splice"}]"#,
        r#"51-["hello",{"_placeholder":true,"num":1}]"#,
        r#"51-["hello",{"_placeholder":true,"num":-1}]"#,
        r#"51-["hello",{"_placeholder":true,"num":0.5}]"#,
        r#"51-["hello",{"_placeholder":true}]"#,
        r#"51-["hello",{"_placeholder":true,"num":null}]"#,
        r#"51-["hello",{"nested":[{"num":3,"_placeholder":true}]}]"#,
        r#"61-1[{"_placeholder":true,"num":{"valueOf":0}}]"#,
    ] {
        let mut d = Decoder::new(DecoderConfig::default());
        assert_eq!(
            d.decode_text(Str::from(text.to_string())),
            Err(DecodeError::IllegalPlaceholder),
            "{text}"
        );
    }
    // `_placeholder` other than `true` is plain data; `1.0` is an integer to JavaScript.
    let mut d = Decoder::new(DecoderConfig::default());
    assert_eq!(
        d.decode_text(Str::from_static(
            r#"51-["a",{"_placeholder":"yes","num":"x"},{"_placeholder":true,"num":0.0}]"#
        )),
        Ok(None)
    );
    // In a packet that is not binary, placeholders are plain data.
    assert!(decode_one(r#"2["a",{"_placeholder":true,"num":"splice"}]"#).is_ok());
}

#[test]
fn placeholder_nums_written_as_whole_floats_are_filled() {
    // The validator takes `0.0`, `0e0` and `-0` as index 0 (JavaScript does); the typed
    // arguments must then carry the attachment, not the placeholder object.
    for text in [
        r#"51-["a",{"_placeholder":true,"num":0.0}]"#,
        r#"51-["a",{"_placeholder":true,"num":0e0}]"#,
        r#"51-["a",{"_placeholder":true,"num":-0}]"#,
        r#"51-["a",{"_placeholder":true,"num":-0.0}]"#,
    ] {
        let mut d = Decoder::new(DecoderConfig::default());
        assert_eq!(d.decode_text(Str::from_static(text)), Ok(None), "{text}");
        let p = d
            .decode_binary(Bytes::from_static(&[7, 8]))
            .unwrap()
            .unwrap();
        let (bytes,) = p.args::<(Vec<u8>,)>().expect(text);
        assert_eq!(bytes, [7, 8], "{text}");
    }
}

#[test]
fn cve_2026_33151_attachments_are_capped() {
    // Count over the limit: refused before anything is buffered.
    let mut d = Decoder::new(DecoderConfig::default());
    assert_eq!(
        d.decode_text(Str::from_static(r#"511-["a"]"#)),
        Err(DecodeError::TooManyAttachments { limit: 10 })
    );
    assert_eq!(
        d.decode_text(Str::from_static(r#"599999999999999999999999-["a"]"#)),
        Err(DecodeError::TooManyAttachments { limit: 10 })
    );
    // Endless binary frames: the byte budget of the pending packet runs out.
    let mut d = Decoder::new(DecoderConfig {
        max_attachments: 10,
        max_attachment_bytes: 100,
    });
    let text = r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    assert_eq!(d.decode_text(Str::from_static(text)), Ok(None));
    assert_eq!(d.decode_binary(Bytes::from(vec![0; 60])), Ok(None));
    assert_eq!(
        d.decode_binary(Bytes::from(vec![0; 60])),
        Err(DecodeError::AttachmentsTooLarge { limit: 100 })
    );
    // Binary with nothing pending, text while pending.
    assert_eq!(
        d.decode_binary(Bytes::from_static(b"x")),
        Err(DecodeError::UnexpectedBinary)
    );
    assert_eq!(d.decode_text(Str::from_static(text)), Ok(None));
    assert_eq!(
        d.decode_text(Str::from_static(r#"2["a"]"#)),
        Err(DecodeError::UnexpectedText)
    );
}

#[test]
fn cve_2020_36049_giant_counts_are_scanned_in_bounded_space() {
    // `99999991:422222…`: a giant declared count followed by a long run of digits.
    let text = format!("5{}-[\"a\"]", "2".repeat(1_000_000));
    let mut d = Decoder::new(DecoderConfig::default());
    assert_eq!(
        d.decode_text(Str::from(text)),
        Err(DecodeError::TooManyAttachments { limit: 10 })
    );
    let text = format!("2{}[\"a\"]", "2".repeat(1_000_000));
    assert_eq!(
        d.decode_text(Str::from(text)),
        Err(DecodeError::InvalidAckId)
    );
}

#[test]
fn cve_2023_32695_event_names_must_be_strings_or_numbers() {
    for text in [
        r#"2[{}]"#,
        r#"2[[]]"#,
        r#"2[null]"#,
        r#"2[{"toString":"x"}]"#,
        r#"2[["a"],1]"#,
    ] {
        assert_eq!(decode_one(text), Err(DecodeError::InvalidPayload), "{text}");
    }
    let p = decode_one(r#"2[42,"x"]"#).unwrap();
    assert_eq!(p.event, Some(EventName::Number(42.into())));
}

#[test]
fn reserved_event_names_are_refused() {
    for name in sockeye_socketio::RESERVED_EVENTS {
        let text = format!(r#"2["{name}"]"#);
        assert_eq!(
            Decoder::new(DecoderConfig::default()).decode_text(Str::from(text)),
            Err(DecodeError::ReservedEvent(name.into()))
        );
    }
    // CVE-2024-38355: "error" has no meaning to the engine; it is an ordinary event.
    let p = decode_one(r#"2["error"]"#).unwrap();
    assert_eq!(p.event, Some(EventName::Text("error".into())));
}

#[test]
fn binary_arguments_both_ways() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct File {
        name: String,
        content: Bytes,
    }
    let file = File {
        name: "a.bin".into(),
        content: Bytes::from_static(&[1, 2, 3]),
    };
    let p = Packet::event("/", "upload", &(&file, Bytes::from_static(&[9]))).unwrap();
    assert_eq!(p.kind, PacketType::BinaryEvent);
    assert_eq!(
        encode_text(&p),
        r#"52-["upload",{"name":"a.bin","content":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(
        p.attachments,
        [Bytes::from_static(&[1, 2, 3]), Bytes::from_static(&[9])]
    );
    // Through the wire and back into the typed value.
    let mut d = Decoder::new(DecoderConfig::default());
    let mut decoded = None;
    for message in p.encode() {
        decoded = d.decode(message).unwrap();
    }
    let decoded = decoded.unwrap();
    let (back, extra): (File, Bytes) = decoded.args().unwrap();
    assert_eq!(back, file);
    assert_eq!(extra, Bytes::from_static(&[9]));
    // A binary ack.
    let a = Packet::ack("/", 5, &(Bytes::from_static(b"ok"),)).unwrap();
    assert_eq!(encode_text(&a), r#"61-5[{"_placeholder":true,"num":0}]"#);
}

#[test]
fn args_array_drops_the_event_name() {
    assert_eq!(
        decode_one(r#"2["a",1,{"b":[2]}]"#).unwrap().args_array(),
        r#"[1,{"b":[2]}]"#
    );
    assert_eq!(decode_one(r#"2["a"]"#).unwrap().args_array(), "[]");
    assert_eq!(decode_one(r#"2[ "a" , 1]"#).unwrap().args_array(), "[ 1]");
    assert_eq!(decode_one(r#"31[1,2]"#).unwrap().args_array(), "[1,2]");
    let p = Packet::event_from_array("/", "back", &Str::from_static("[1,2]"), Vec::new());
    assert_eq!(encode_text(&p), r#"2["back",1,2]"#);
    let p = Packet::event_from_array("/", "back", &Str::from_static("[]"), Vec::new());
    assert_eq!(encode_text(&p), r#"2["back"]"#);
}
