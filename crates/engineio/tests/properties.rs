//! Property tests: every payload form round-trips, and decoding does not depend on how the
//! body is split into chunks (for valid and for arbitrary input).

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use sockeye_engineio::payload::{Decoded, PayloadDecoder};
use sockeye_engineio::{
    Data, DecodeError, Packet, PacketType, PayloadFormat, Protocol, Str, decode_payload,
    encode_payload,
};

const MAX: usize = 1 << 20;

fn any_kind() -> impl Strategy<Value = PacketType> {
    (0u8..=6).prop_map(|t| PacketType::from_u8(t).unwrap())
}

/// Packets as the protocol allows them: binary only on messages; in v4 no `\x1e` in text
/// (the separator is assumed absent from data, as the specification says).
fn any_packet(v4: bool) -> impl Strategy<Value = Packet> {
    let text = if v4 { "[^\u{1e}]{0,40}" } else { "\\PC{0,40}" };
    prop_oneof![
        (any_kind(), text).prop_map(|(k, s)| Packet::with_data(k, s)),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Packet::message),
    ]
}

fn format_and_packets() -> impl Strategy<Value = (PayloadFormat, Vec<Packet>)> {
    prop_oneof![
        proptest::collection::vec(any_packet(true), 1..8).prop_map(|p| (PayloadFormat::V4, p)),
        proptest::collection::vec(any_packet(false), 0..8).prop_map(|p| (PayloadFormat::V3Text, p)),
        proptest::collection::vec(any_packet(false), 1..8)
            .prop_map(|p| (PayloadFormat::V3Binary, p)),
    ]
}

fn any_format() -> impl Strategy<Value = PayloadFormat> {
    prop_oneof![
        Just(PayloadFormat::V4),
        Just(PayloadFormat::V3Text),
        Just(PayloadFormat::V3Binary)
    ]
}

/// Decodes `body` fed in pieces cut at `cuts`, dropping consumed bytes after each step.
fn decode_chunked(
    format: PayloadFormat,
    body: &[u8],
    cuts: &[usize],
    max: usize,
) -> Vec<Result<Packet, DecodeError>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    points.push(body.len());
    points.sort_unstable();
    let mut decoder = PayloadDecoder::new(format, max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    for (i, &p) in points.iter().enumerate() {
        buf.extend_from_slice(&body[fed..p.max(fed)]);
        fed = p.max(fed);
        let last = i + 1 == points.len();
        loop {
            let input = Bytes::copy_from_slice(&buf);
            match decoder.decode(&input, last) {
                Ok(Decoded::Packet(packet, n)) => {
                    let _ = buf.split_to(n);
                    out.push(Ok(packet));
                }
                Ok(Decoded::Skipped(n)) => {
                    let _ = buf.split_to(n);
                }
                Ok(Decoded::Incomplete | Decoded::End) => break,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

proptest! {
    #[test]
    fn payloads_round_trip((format, packets) in format_and_packets()) {
        let mut body = Vec::new();
        encode_payload(format, &packets, &mut body);
        let decoded: Result<Vec<_>, _> = decode_payload(format, Bytes::from(body), MAX).collect();
        prop_assert_eq!(decoded, Ok(packets));
    }

    #[test]
    fn chunking_does_not_change_valid_payloads(
        (format, packets) in format_and_packets(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut body = Vec::new();
        encode_payload(format, &packets, &mut body);
        let chunked = decode_chunked(format, &body, &cuts, MAX);
        let expected: Vec<_> = packets.into_iter().map(Ok).collect();
        prop_assert_eq!(chunked, expected);
    }

    #[test]
    fn byte_by_byte_equals_whole(
        (format, packets) in format_and_packets(),
    ) {
        let mut body = Vec::new();
        encode_payload(format, &packets, &mut body);
        let cuts: Vec<usize> = (0..body.len()).collect();
        let chunked = decode_chunked(format, &body, &cuts, MAX);
        let whole: Vec<_> = decode_payload(format, Bytes::from(body), MAX).collect();
        prop_assert_eq!(chunked, whole);
    }

    #[test]
    fn chunking_does_not_change_arbitrary_input(
        format in any_format(),
        body in proptest::collection::vec(
            prop_oneof![any::<u8>(), Just(0x1e), Just(b':'), Just(0xff), Just(b'4'), Just(0), Just(1)],
            0..64,
        ),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        max in 1usize..64,
    ) {
        let chunked = decode_chunked(format, &body, &cuts, max);
        let whole: Vec<_> = decode_payload(format, Bytes::from(body), max).collect();
        prop_assert_eq!(chunked, whole);
    }

    #[test]
    fn websocket_frames_round_trip(packet in any_packet(false), v4 in any::<bool>()) {
        let protocol = if v4 { Protocol::V4 } else { Protocol::V3 };
        let frame = packet.to_frame(protocol);
        prop_assert_eq!(Packet::decode_frame(protocol, frame), Ok(packet));
    }

    #[test]
    fn text_form_round_trips(packet in any_packet(false), v4 in any::<bool>()) {
        let protocol = if v4 { Protocol::V4 } else { Protocol::V3 };
        let mut out = Vec::new();
        packet.encode_text(protocol, &mut out);
        prop_assert_eq!(out.len(), packet.text_len(protocol));
        let text = Str::from_utf8(Bytes::from(out)).unwrap();
        let decoded = Packet::decode_text(protocol, &text);
        prop_assert_eq!(decoded, Ok(packet));
    }

    #[test]
    fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..32), v4 in any::<bool>()) {
        let protocol = if v4 { Protocol::V4 } else { Protocol::V3 };
        let _ = Packet::decode_frame(protocol, Data::Binary(Bytes::from(bytes.clone())));
        if let Ok(text) = Str::from_utf8(Bytes::from(bytes)) {
            let _ = Packet::decode_text(protocol, &text);
        }
    }
}
