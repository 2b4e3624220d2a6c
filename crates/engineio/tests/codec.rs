//! Packet and payload vectors: every example of the engine.io-protocol documents (v3 and v4),
//! the byte strings the official test suites check, UTF-16 length cases, and malformed input.

use bytes::Bytes;
use sockeye_engineio::payload::{Decoded, PayloadDecoder, utf16_len};
use sockeye_engineio::{
    Data, DecodeError, Packet, PacketType, PayloadFormat, Protocol, Str, decode_payload,
    encode_payload,
};

const MAX: usize = 1_000_000;

fn msg(s: &'static str) -> Packet {
    Packet::message(s)
}

fn bin(b: &'static [u8]) -> Packet {
    Packet::message(Bytes::from_static(b))
}

fn decode_all(format: PayloadFormat, body: &[u8]) -> Result<Vec<Packet>, DecodeError> {
    decode_payload(format, Bytes::copy_from_slice(body), MAX).collect()
}

fn encode(format: PayloadFormat, packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_payload(format, packets, &mut out);
    out
}

/// Decodes `body` to `packets` and encodes `packets` back to `body`.
fn both_ways(format: PayloadFormat, body: &[u8], packets: &[Packet]) {
    assert_eq!(
        decode_all(format, body).as_deref(),
        Ok(packets),
        "decoding {body:?}"
    );
    assert_eq!(encode(format, packets), body, "encoding {packets:?}");
}

// ---- v4 (docs/engine.io-protocol/v4-current.md) -------------------------------------------

#[test]
fn v4_payload_of_text_and_ping() {
    both_ways(
        PayloadFormat::V4,
        b"4hello\x1e2\x1e4world",
        &[msg("hello"), Packet::new(PacketType::Ping), msg("world")],
    );
}

#[test]
fn v4_payload_with_base64_binary() {
    both_ways(
        PayloadFormat::V4,
        b"4hello\x1ebAQIDBA==",
        &[msg("hello"), bin(&[1, 2, 3, 4])],
    );
}

#[test]
fn v4_suite_payloads() {
    // The v4 suite's echo checks: one packet, three packets, text and binary.
    both_ways(PayloadFormat::V4, b"4hello", &[msg("hello")]);
    both_ways(
        PayloadFormat::V4,
        b"4test1\x1e4test2\x1e4test3",
        &[msg("test1"), msg("test2"), msg("test3")],
    );
    both_ways(
        PayloadFormat::V4,
        b"bAQIDBA==\x1e4hello",
        &[bin(&[1, 2, 3, 4]), msg("hello")],
    );
}

#[test]
fn v4_open_packet() {
    let open = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    let packets = decode_all(PayloadFormat::V4, open.as_bytes()).unwrap();
    assert_eq!(packets.len(), 1);
    assert_eq!(packets[0].kind, PacketType::Open);
    assert_eq!(packets[0].data, Data::from(&open[1..]));
}

#[test]
fn v4_websocket_frames() {
    let text = Str::from_static("4hello");
    assert_eq!(Packet::decode_text(Protocol::V4, &text), Ok(msg("hello")));
    assert_eq!(msg("hello").to_frame(Protocol::V4), Data::from("4hello"));
    // Binary frames are messages, sent as they are.
    let frame = Bytes::from_static(&[1, 2, 3, 4]);
    assert_eq!(
        Packet::decode_binary(Protocol::V4, frame.clone()),
        Ok(bin(&[1, 2, 3, 4]))
    );
    assert_eq!(
        bin(&[1, 2, 3, 4]).to_frame(Protocol::V4),
        Data::Binary(frame)
    );
    // Probes.
    assert_eq!(
        Packet::decode_text(Protocol::V4, &"2probe".into()),
        Ok(Packet::ping_probe())
    );
    assert_eq!(
        Packet::pong_probe().to_frame(Protocol::V4),
        Data::from("3probe")
    );
    // A base64 text frame is a binary message too, as in the reference decoder.
    assert_eq!(
        Packet::decode_text(Protocol::V4, &"bAQIDBA==".into()),
        Ok(bin(&[1, 2, 3, 4]))
    );
}

#[test]
fn all_packet_types_round_trip() {
    for t in 0..=6u8 {
        let kind = PacketType::from_u8(t).unwrap();
        let p = Packet::with_data(kind, "data");
        for format in [
            PayloadFormat::V4,
            PayloadFormat::V3Text,
            PayloadFormat::V3Binary,
        ] {
            let body = encode(format, std::slice::from_ref(&p));
            assert_eq!(
                decode_all(format, &body),
                Ok(vec![p.clone()]),
                "{format:?} {kind:?}"
            );
        }
    }
}

#[test]
fn v4_malformed() {
    let cases: &[(&[u8], DecodeError)] = &[
        (b"", DecodeError::Empty),
        (b"abc", DecodeError::UnknownType(b'a')),
        (b"7", DecodeError::UnknownType(b'7')),
        (b"4a\x1e", DecodeError::Empty),
        (b"4a\x1e\x1e4b", DecodeError::Empty),
        (b"b!!!", DecodeError::InvalidBase64),
        (b"4\xff", DecodeError::InvalidUtf8),
    ];
    for (body, err) in cases {
        let got: Vec<_> =
            decode_payload(PayloadFormat::V4, Bytes::copy_from_slice(body), MAX).collect();
        assert_eq!(got.last(), Some(&Err(err.clone())), "{body:?}");
    }
}

#[test]
fn packets_before_an_error_are_kept() {
    let got: Vec<_> = decode_payload(
        PayloadFormat::V4,
        Bytes::from_static(b"4one\x1e4two\x1ex"),
        MAX,
    )
    .collect();
    assert_eq!(
        got,
        vec![
            Ok(msg("one")),
            Ok(msg("two")),
            Err(DecodeError::UnknownType(b'x'))
        ]
    );
}

#[test]
fn v4_limit_applies_before_buffering() {
    let mut d = PayloadDecoder::new(PayloadFormat::V4, 8);
    // Nine bytes without a separator: refused without waiting for the rest.
    let input = Bytes::from_static(b"412345678");
    assert_eq!(
        d.decode(&input, false),
        Err(DecodeError::TooLarge { limit: 8 })
    );
    let mut d = PayloadDecoder::new(PayloadFormat::V4, 8);
    assert!(matches!(
        d.decode(&Bytes::from_static(b"41234567"), false),
        Ok(Decoded::Incomplete)
    ));
}

// ---- v3 (docs/engine.io-protocol/v3.md) ---------------------------------------------------

#[test]
fn v3_text_payload_counts_utf16_units() {
    both_ways(
        PayloadFormat::V3Text,
        "6:4hello2:4€".as_bytes(),
        &[msg("hello"), msg("€")],
    );
    // An astral-plane character counts two units.
    both_ways(PayloadFormat::V3Text, "3:4😀".as_bytes(), &[msg("😀")]);
    both_ways(
        PayloadFormat::V3Text,
        "6:4a😀€b".as_bytes(),
        &[msg("a😀€b")],
    );
    assert_eq!(utf16_len("€".as_bytes()), 1);
    assert_eq!(utf16_len("😀".as_bytes()), 2);
    assert_eq!(utf16_len("hello".as_bytes()), 5);
}

#[test]
fn v3_handshake_sample_is_96_characters() {
    let open = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}"#;
    let body = format!("96:{open}");
    let packets = decode_all(PayloadFormat::V3Text, body.as_bytes()).unwrap();
    assert_eq!(packets[0].kind, PacketType::Open);
    assert_eq!(encode(PayloadFormat::V3Text, &packets), body.as_bytes());
}

#[test]
fn v3_text_payload_with_base64_binary() {
    both_ways(
        PayloadFormat::V3Text,
        "2:4€10:b4AQIDBA==".as_bytes(),
        &[msg("€"), bin(&[1, 2, 3, 4])],
    );
}

#[test]
fn v3_samples() {
    both_ways(PayloadFormat::V3Text, b"4:4hey", &[msg("hey")]);
    both_ways(
        PayloadFormat::V3Text,
        b"6:4hello6:4world",
        &[msg("hello"), msg("world")],
    );
    // The suite's heartbeat: the client posts `1:2`, the server answers `1:3`.
    both_ways(
        PayloadFormat::V3Text,
        b"1:2",
        &[Packet::new(PacketType::Ping)],
    );
    both_ways(
        PayloadFormat::V3Text,
        b"1:3",
        &[Packet::new(PacketType::Pong)],
    );
    both_ways(
        PayloadFormat::V3Text,
        b"1:6",
        &[Packet::new(PacketType::Noop)],
    );
}

#[test]
fn v3_empty_payload_is_0_colon() {
    assert_eq!(encode(PayloadFormat::V3Text, &[]), b"0:");
    assert_eq!(decode_all(PayloadFormat::V3Text, b"0:"), Ok(vec![]));
    assert_eq!(
        decode_all(PayloadFormat::V3Text, b""),
        Err(DecodeError::Empty)
    );
}

#[test]
fn v3_binary_payload_as_the_suite_checks_it() {
    both_ways(
        PayloadFormat::V3Binary,
        &[
            0x00, 0x06, 0xff, 0x34, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x01, 0x05, 0xff, 0x04, 1, 2, 3,
            4,
        ],
        &[msg("hello"), bin(&[1, 2, 3, 4])],
    );
    // The v3 document's `€` example: the string length counts UTF-8 bytes with the type.
    // (The document's binary half omits the type byte; the reference encoder writes it.)
    both_ways(
        PayloadFormat::V3Binary,
        &[
            0x00, 0x04, 0xff, 0x34, 0xe2, 0x82, 0xac, 0x01, 0x05, 0xff, 0x04, 1, 2, 3, 4,
        ],
        &[msg("€"), bin(&[1, 2, 3, 4])],
    );
    // Lengths of several digits: one byte per digit.
    let long = "x".repeat(122);
    let packets = vec![Packet::message(long.clone())];
    let body = encode(PayloadFormat::V3Binary, &packets);
    assert_eq!(&body[..5], &[0x00, 1, 2, 3, 0xff]);
    assert_eq!(decode_all(PayloadFormat::V3Binary, &body), Ok(packets));
}

#[test]
fn v3_format_follows_binary_and_b64() {
    use sockeye_engineio::payload::v3_format_for;
    let text = [msg("a")];
    let mixed = [msg("a"), bin(&[1])];
    assert_eq!(v3_format_for(&text, false), PayloadFormat::V3Text);
    assert_eq!(v3_format_for(&mixed, false), PayloadFormat::V3Binary);
    assert_eq!(v3_format_for(&mixed, true), PayloadFormat::V3Text);
}

#[test]
fn v3_websocket_binary_frames_carry_a_type_byte() {
    let frame = Bytes::from_static(&[4, 1, 2, 3, 4]);
    assert_eq!(
        Packet::decode_binary(Protocol::V3, frame.clone()),
        Ok(bin(&[1, 2, 3, 4]))
    );
    assert_eq!(
        bin(&[1, 2, 3, 4]).to_frame(Protocol::V3),
        Data::Binary(frame)
    );
    assert_eq!(
        Packet::decode_binary(Protocol::V3, Bytes::from_static(&[9, 1])),
        Err(DecodeError::UnknownType(9))
    );
    assert_eq!(
        Packet::decode_binary(Protocol::V3, Bytes::from_static(&[2, 1])),
        Err(DecodeError::BinaryNotMessage(PacketType::Ping))
    );
    assert_eq!(
        Packet::decode_binary(Protocol::V3, Bytes::new()),
        Err(DecodeError::Empty)
    );
    assert_eq!(
        Packet::decode_text(Protocol::V3, &"b4AQIDBA==".into()),
        Ok(bin(&[1, 2, 3, 4]))
    );
}

#[test]
fn v3_malformed() {
    let text: &[(&[u8], DecodeError)] = &[
        (b"", DecodeError::Empty),
        (b":4a", DecodeError::InvalidLength),
        (b"x:4a", DecodeError::InvalidLength),
        (b"2:4", DecodeError::InvalidLength),
        (b"3", DecodeError::Truncated),
        (b"1:9", DecodeError::UnknownType(b'9')),
        // The length ends inside a surrogate pair.
        ("2:4😀".as_bytes(), DecodeError::InvalidLength),
        (b"12345678901:4", DecodeError::TooLarge { limit: MAX }),
        // Over ten digits, whatever their value.
        (b"00000000001:4", DecodeError::InvalidLength),
        (b"2:4\xc3\x28", DecodeError::InvalidUtf8),
        (b"5:b4!!!", DecodeError::InvalidBase64),
        (b"4:b2AQ", DecodeError::BinaryNotMessage(PacketType::Ping)),
    ];
    for (body, err) in text {
        let got: Vec<_> =
            decode_payload(PayloadFormat::V3Text, Bytes::copy_from_slice(body), MAX).collect();
        assert_eq!(got.last(), Some(&Err(err.clone())), "{body:?}");
    }
    let binary: &[(&[u8], DecodeError)] = &[
        (&[], DecodeError::Empty),
        (&[2, 1, 0xff, 0x34], DecodeError::InvalidMarker(2)),
        (&[0, 10, 0xff, 0x34], DecodeError::InvalidLength),
        (&[0, 0xff, 0x34], DecodeError::InvalidLength),
        (&[0, 0, 0xff], DecodeError::Empty),
        (&[0, 5, 0xff, 0x34], DecodeError::Truncated),
        (&[0, 1, 2], DecodeError::Truncated),
        (
            &[0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0xff],
            DecodeError::TooLarge { limit: MAX },
        ),
        (
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff],
            DecodeError::InvalidLength,
        ),
    ];
    for (body, err) in binary {
        let got: Vec<_> =
            decode_payload(PayloadFormat::V3Binary, Bytes::copy_from_slice(body), MAX).collect();
        assert_eq!(got.last(), Some(&Err(err.clone())), "{body:?}");
    }
}

#[test]
fn v3_declared_lengths_over_the_limit_fail_before_the_data() {
    let mut d = PayloadDecoder::new(PayloadFormat::V3Text, 100);
    assert_eq!(
        d.decode(&Bytes::from_static(b"101:"), false),
        Err(DecodeError::TooLarge { limit: 100 })
    );
    let mut d = PayloadDecoder::new(PayloadFormat::V3Binary, 100);
    assert_eq!(
        d.decode(&Bytes::from_static(&[1, 1, 0, 1]), false),
        Err(DecodeError::TooLarge { limit: 100 })
    );
}

#[test]
fn incremental_decoding_reports_consumption() {
    let body = Bytes::from_static("6:4hello2:4€".as_bytes());
    let mut d = PayloadDecoder::new(PayloadFormat::V3Text, MAX);
    assert_eq!(d.decode(&body.slice(..5), false), Ok(Decoded::Incomplete));
    assert_eq!(d.decode(&body, false), Ok(Decoded::Packet(msg("hello"), 8)));
    let rest = body.slice(8..);
    assert_eq!(d.decode(&rest.slice(..4), false), Ok(Decoded::Incomplete));
    assert_eq!(
        d.decode(&rest, true),
        Ok(Decoded::Packet(msg("€"), rest.len()))
    );
    assert_eq!(d.decode(&Bytes::new(), true), Ok(Decoded::End));
}

#[test]
fn decoded_text_shares_the_input_buffer() {
    let body = Bytes::from(b"4hello\x1e4world".to_vec());
    let packets = decode_all(PayloadFormat::V4, &body).unwrap();
    let mut d = PayloadDecoder::new(PayloadFormat::V4, MAX);
    let Ok(Decoded::Packet(p, _)) = d.decode(&body, true) else {
        panic!()
    };
    let Data::Text(s) = &p.data else { panic!() };
    // Same memory: a slice of the body, not a copy.
    assert_eq!(s.as_bytes().as_ptr(), body[1..].as_ptr());
    assert_eq!(packets.len(), 2);
}
