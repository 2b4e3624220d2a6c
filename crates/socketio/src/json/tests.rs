//! Differential tests: the byte scanner (`check_payload`) against the serde-visitor pass it
//! replaced (`oracle::check_payload`), on every packet type and several attachment counts.
//! Both must return the same event name or the same error, for any UTF-8 input.

use proptest::prelude::*;

use super::{RESERVED_EVENTS, check_payload, oracle};
use crate::packet::PacketType;

const KINDS: [PacketType; 7] = [
    PacketType::Connect,
    PacketType::Disconnect,
    PacketType::Event,
    PacketType::Ack,
    PacketType::ConnectError,
    PacketType::BinaryEvent,
    PacketType::BinaryAck,
];

/// Compares both implementations on `json` for every packet type and attachment counts 0–3.
fn same(json: &str) -> Result<(), TestCaseError> {
    for kind in KINDS {
        for attachments in 0..4 {
            let ours = check_payload(kind, json.as_bytes(), attachments);
            let theirs = oracle::check_payload(kind, json.as_bytes(), attachments);
            prop_assert_eq!(
                &ours,
                &theirs,
                "kind {:?}, {} attachments, payload {:?}",
                kind,
                attachments,
                json
            );
        }
    }
    Ok(())
}

fn assert_same(json: &str) {
    if let Err(e) = same(json) {
        panic!("{e}");
    }
}

// ----- strategies -----

fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        6 => Just(""),
        1 => Just(" "),
        1 => Just("\n"),
        1 => Just("\t "),
        1 => Just("\r\n"),
    ]
}

/// Number texts: grammatical ones of every shape, edge values, and broken ones.
fn number() -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just("0"),
        Just("-0"),
        Just("-0.0"),
        Just("0.0"),
        Just("1.0"),
        Just("1.5"),
        Just("0.5"),
        Just("2.0"),
        Just("3"),
        Just("-1"),
        Just("1e0"),
        Just("1E1"),
        Just("10e-1"),
        Just("100e-2"),
        Just("1e999"),
        Just("-1e999"),
        Just("1e-999"),
        Just("0e99999999999"),
        Just("1e99999999999"),
        Just("1e-99999999999"),
        Just("0.99999999999999999999"),
        Just("9007199254740991"),
        Just("9007199254740992"),
        Just("9007199254740992.0"),
        Just("9007199254740991.0"),
        Just("18446744073709551615"),
        Just("18446744073709551616"),
        Just("-9223372036854775808"),
        Just("-9223372036854775809"),
        Just("1.7976931348623157e308"),
        Just("1.7976931348623159e308"),
        Just("01"),
        Just("-"),
        Just("1."),
        Just(".5"),
        Just("1e"),
        Just("1e+"),
        Just("+1"),
        Just("-01"),
        Just("1.e5"),
        Just("00"),
    ]
    .prop_map(str::to_owned);
    let long = (1usize..=3, 280usize..=330).prop_map(|(d, n)| {
        let digit = char::from(b'0' + d as u8);
        let mut s = String::new();
        s.push(digit);
        s.extend(std::iter::repeat_n('0', n));
        s
    });
    prop_oneof![
        4 => special,
        4 => "-?(0|[1-9][0-9]{0,22})(\\.[0-9]{1,4})?([eE][+-]?[0-9]{1,3})?",
        2 => "[0-9]{1,4}",
        1 => long,
    ]
}

/// The inside of a string literal: plain text, escapes valid and not, surrogates paired and
/// lone, raw control characters.
fn string_body() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => "[a-z_ ]{0,6}",
        2 => "\\PC{0,3}",
        1 => Just("\\n".to_owned()),
        1 => Just("\\\"".to_owned()),
        1 => Just("\\\\".to_owned()),
        1 => Just("\\/".to_owned()),
        1 => Just("\\b\\f\\r\\t".to_owned()),
        1 => Just("\\u0041".to_owned()),
        1 => Just("\\u005f".to_owned()),
        1 => Just("\\u00E9".to_owned()),
        1 => Just("\\ud83d\\ude00".to_owned()),
        1 => Just("\\uD83D\\uDE00".to_owned()),
        1 => Just("\\ud800".to_owned()),
        1 => Just("\\udc00".to_owned()),
        1 => Just("\\ud800\\u0041".to_owned()),
        1 => Just("\\udbff\\udfff".to_owned()),
        1 => Just("\\udbff".to_owned()),
        1 => Just("\\ud7ff\\ue000".to_owned()),
        2 => "\\\\u[0-9a-fA-F]{4}",
        2 => "\\\\u[dD][89abAB][0-9a-fA-F]{2}(\\\\u[dD][0-9a-fA-F]{3})?",
        1 => Just("\\ud800\\n".to_owned()),
        1 => Just("\\ud800\\ud800".to_owned()),
        1 => Just("\\ud800x".to_owned()),
        1 => Just("\\x".to_owned()),
        1 => Just("\\u12g4".to_owned()),
        1 => Just("\\u12".to_owned()),
        1 => Just("\u{1}".to_owned()),
        1 => Just("\t".to_owned()),
        1 => Just("\u{7f}".to_owned()),
    ];
    proptest::collection::vec(piece, 0..4).prop_map(|v| v.concat())
}

/// String literals: names that matter (placeholder keys, reserved names, spelled with
/// escapes too) and generated ones.
fn string() -> impl Strategy<Value = String> {
    let named = prop_oneof![
        Just("_placeholder"),
        Just("num"),
        Just("\\u005fplaceholder"),
        Just("_placeholde\\u0072"),
        Just("n\\u0075m"),
        Just("\\u006e\\u0075\\u006d"),
        Just("chat"),
        Just("connect"),
        Just("conn\\u0065ct"),
        Just("disconnect"),
        Just("newListener"),
        Just("removeListener"),
        Just("connect_error"),
        Just("disconnecting"),
        Just(""),
    ]
    .prop_map(str::to_owned);
    prop_oneof![3 => named, 4 => string_body()].prop_map(|s| format!("\"{s}\""))
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("true"),
        3 => Just("false"),
        3 => Just("null"),
        1 => Just("tru"),
        1 => Just("nul"),
        1 => Just("True"),
    ]
    .prop_map(str::to_owned)
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![3 => number(), 3 => string(), 2 => literal()]
}

fn join(items: Vec<(String, &'static str, &'static str)>, open: &str, close: &str) -> String {
    let mut out = String::from(open);
    for (i, (item, before, after)) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(before);
        out.push_str(&item);
        out.push_str(after);
    }
    out.push_str(close);
    out
}

/// JSON values, mostly valid, with placeholder objects and event-like arrays.
fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(5, 48, 5, |inner| {
        let member = (string(), ws(), inner.clone(), ws())
            .prop_map(|(k, w, v, w2)| (format!("{k}{w}:{w2}{v}"), "", ""));
        let placeholder = (
            prop_oneof![
                4 => Just("true".to_owned()),
                1 => inner.clone(),
            ],
            prop_oneof![
                3 => "[0-3]".prop_map(|s| s),
                3 => number(),
                1 => inner.clone(),
            ],
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(flag, num, swap, escaped)| {
                let key = if escaped {
                    "\\u005fplaceholder"
                } else {
                    "_placeholder"
                };
                if swap {
                    format!("{{\"num\":{num},\"{key}\":{flag}}}")
                } else {
                    format!("{{\"{key}\":{flag},\"num\":{num}}}")
                }
            });
        prop_oneof![
            3 => proptest::collection::vec((inner.clone(), ws(), ws()), 0..5)
                .prop_map(|v| join(v, "[", "]")),
            3 => proptest::collection::vec(member, 0..5).prop_map(|v| join(v, "{", "}")),
            3 => placeholder,
        ]
    })
}

/// Top-level payloads: event arrays (name first), other values, with whitespace around.
fn payload() -> impl Strategy<Value = String> {
    let event = (
        prop_oneof![3 => string(), 1 => number(), 1 => value()],
        proptest::collection::vec((value(), ws(), ws()), 0..4),
    )
        .prop_map(|(name, args)| {
            let mut items = vec![(name, "", "")];
            items.extend(args);
            join(items, "[", "]")
        });
    (ws(), prop_oneof![3 => event, 2 => value()], ws()).prop_map(|(a, v, b)| format!("{a}{v}{b}"))
}

/// Small edits: delete, insert or replace a character with a JSON-significant token.
fn mutated() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("["),
        Just("]"),
        Just("{"),
        Just("}"),
        Just(","),
        Just(":"),
        Just("\""),
        Just("\\"),
        Just("\\u"),
        Just("d800"),
        Just("e"),
        Just("."),
        Just("-"),
        Just("0"),
        Just(" "),
        Just("\u{1}"),
        Just("true"),
        Just("é"),
    ];
    let edit = (any::<prop::sample::Index>(), 0u8..3, token);
    (payload(), proptest::collection::vec(edit, 1..4)).prop_map(|(doc, edits)| {
        let mut chars: Vec<String> = doc.chars().map(String::from).collect();
        for (at, op, token) in edits {
            let i = at.index(chars.len() + 1);
            match op {
                0 if i < chars.len() => {
                    chars.remove(i);
                }
                1 if i < chars.len() => chars[i] = token.to_owned(),
                _ => chars.insert(i.min(chars.len()), token.to_owned()),
            }
        }
        chars.concat()
    })
}

/// Token soup: JSON-ish fragments in any order.
fn soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("["),
        Just("]"),
        Just("{"),
        Just("}"),
        Just(","),
        Just(":"),
        Just(" "),
        Just("\"a\""),
        Just("\"_placeholder\""),
        Just("\"num\""),
        Just("\"chat\""),
        Just("\"connect\""),
        Just("\"\\ud800\""),
        Just("true"),
        Just("false"),
        Just("null"),
        Just("0"),
        Just("1"),
        Just("-1"),
        Just("1.0"),
        Just("1e999"),
        Just("\""),
    ];
    proptest::collection::vec(token, 0..16).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn valid_json_values(json in payload()) {
        same(&json)?;
    }

    #[test]
    fn mutated_json(json in mutated()) {
        same(&json)?;
    }

    #[test]
    fn token_soup(json in soup()) {
        same(&json)?;
    }

    #[test]
    fn arbitrary_text(json in "\\PC{0,24}") {
        same(&json)?;
    }

    #[test]
    fn arbitrary_ascii(json in "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,32}") {
        same(&json)?;
    }
}

// ----- fixed cases -----

#[test]
fn examples() {
    for json in [
        r#"["chat",{"user":"a","text":"hello world"}]"#,
        r#"["file",{"_placeholder":true,"num":0}]"#,
        r#"[{"_placeholder":true,"num":0}]"#,
        r#"["a",{"_placeholder":true,"num":1.0}]"#,
        r#"["a",{"_placeholder":true,"num":-0}]"#,
        r#"["a",{"_placeholder":true,"num":-0.0}]"#,
        r#"["a",{"_placeholder":true,"num":0e5}]"#,
        r#"["a",{"_placeholder":true,"num":1e-999}]"#,
        r#"["a",{"_placeholder":true,"num":0.99999999999999999999}]"#,
        r#"["a",{"_placeholder":true,"num":1e999}]"#,
        r#"["a",{"\u005fplaceholder":true,"num":7}]"#,
        r#"["a",{"_placeholder":true,"n\u0075m":0}]"#,
        r#"["a",{"_placeholder":true,"num":0,"_placeholder":false}]"#,
        r#"["a",{"_placeholder":true,"num":0,"num":"x"}]"#,
        r#"["a",{"_placeholder":[{"_placeholder":true}],"num":9}]"#,
        r#"["a",{"_placeholder":{"\ud800":1},"num":9}]"#,
        r#"["a",{"_placeholder":{"a":"\ud800"},"num":9}]"#,
        r#"["a",{"_placeholder":true,"num":0} x]"#,
        r#"["a","\ud800"]"#,
        r#"["\ud800"]"#,
        r#"["a",1e999]"#,
        r#"[1e999]"#,
        r#"[1.5,2]"#,
        r#"[-0]"#,
        r#"[18446744073709551616]"#,
        r#"["conn\u0065ct"]"#,
        r#"["connect" x"#,
        r#"["connect""#,
        r#"[true x"#,
        r#"[[x"#,
        r#"[{x"#,
        r#"[ ]"#,
        r#"[,]"#,
        r#"["a",]"#,
        r#"{"a":1,}"#,
        r#"{"num":1e999}"#,
        r#"{"x":1e999}"#,
        r#"{"\ud800":1}"#,
        r#"{"a":"\ud800"}"#,
        r#""\ud800""#,
        r#""abc"x"#,
        r#"123abc"#,
        r#"1e999"#,
        r#"tru"#,
        r#"truex"#,
        r#" "#,
        r#"[1] "#,
        r#"[1] x"#,
        "[\"a\",\"\u{1}\"]",
        "[\"a\",\"\u{7f}\"]",
    ] {
        assert_same(json);
    }
}

#[test]
fn reserved_names() {
    for name in RESERVED_EVENTS {
        assert_same(&format!("[\"{name}\",1]"));
        assert_same(&format!("[\"{name}\""));
    }
}

/// The depth limit applies to walked containers only, and is reached at the same depth.
#[test]
fn nesting_depth() {
    for depth in (1..=8).chain(120..=135).chain([1000, 100_000]) {
        let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        let mixed = format!(
            "{}1{}",
            "[{\"a\":".repeat(depth / 2),
            "}]".repeat(depth / 2)
        );
        for inner in [&arrays, &objects, &mixed] {
            assert_same(inner);
            assert_same(&format!("[\"a\",{inner}]"));
            assert_same(&format!("[{inner}]"));
            assert_same(&format!("{{\"_placeholder\":{inner}}}"));
            assert_same(&format!("[{{\"_placeholder\":{inner},\"num\":0}}]"));
            assert_same(&format!("[{{\"num\":{inner}}}]"));
            assert_same(&format!("{{\"x\":{inner}}}"));
            // Unclosed.
            assert_same(&format!("[\"a\",{}", &inner[..inner.len() / 2]));
        }
    }
}

/// Long strings cross the scanner's 8-byte chunks at every offset.
#[test]
fn string_chunks() {
    for len in 0..40 {
        for special in ["\"", "\\n", "\\u0041", "\u{1}", "é", "\\ud800"] {
            for at in 0..=len {
                let body = format!("{}{special}{}", "a".repeat(at), "b".repeat(len - at));
                assert_same(&format!("[\"{body}\"]"));
                assert_same(&format!("[\"x\",\"{body}\"]"));
                assert_same(&format!("[{{\"{body}\":1}}]"));
            }
        }
    }
}

// ----- Decoder::decode_text_args against decode_text + args -----

mod fused {
    use std::collections::BTreeMap;

    use bytes::Bytes;
    use proptest::prelude::*;
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    use crate::packet::{Decoder, DecoderConfig, Packet};
    use sockeye_engineio::Str;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Chat {
        user: String,
        text: String,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    enum Choice {
        A,
        B(u32),
        C { x: i64 },
    }

    type Outcome<T> = Result<Option<(Packet, Result<T, String>)>, crate::DecodeError>;

    fn fused<T: DeserializeOwned>(text: &str) -> Outcome<T> {
        let mut d = Decoder::new(DecoderConfig::default());
        d.decode_text_args::<T>(Str::from(text.to_owned()))
            .map(|p| p.map(|(p, a)| (p, a.map_err(|e| e.to_string()))))
    }

    fn separate<T: DeserializeOwned>(text: &str) -> Outcome<T> {
        let mut d = Decoder::new(DecoderConfig::default());
        d.decode_text(Str::from(text.to_owned())).map(|p| {
            p.map(|p| {
                let a = p.args::<T>().map_err(|e| e.to_string());
                (p, a)
            })
        })
    }

    fn same_as<T: DeserializeOwned + PartialEq + std::fmt::Debug>(
        text: &str,
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(fused::<T>(text), separate::<T>(text), "text {:?}", text);
        Ok(())
    }

    /// Every argument type on `text`: typed, dynamic, byte strings (read by serde_json
    /// without refusing control characters), numbers, enums, maps.
    fn all_types(text: &str) -> Result<(), TestCaseError> {
        same_as::<Value>(text)?;
        same_as::<Vec<Value>>(text)?;
        same_as::<(Chat,)>(text)?;
        same_as::<(String,)>(text)?;
        same_as::<(String, Value)>(text)?;
        same_as::<(Bytes,)>(text)?;
        same_as::<(Value, Bytes)>(text)?;
        same_as::<Vec<Bytes>>(text)?;
        same_as::<(u64,)>(text)?;
        same_as::<(i128,)>(text)?;
        same_as::<(f64, f64)>(text)?;
        same_as::<(Option<u8>,)>(text)?;
        same_as::<(Choice,)>(text)?;
        same_as::<(BTreeMap<String, Value>,)>(text)?;
        same_as::<(BTreeMap<u32, Value>,)>(text)?;
        same_as::<(bool, char)>(text)?;
        same_as::<()>(text)?;
        Ok(())
    }

    /// Packets around `json`: events and acks (the fused path), and other types.
    fn packets(json: &str) -> Vec<String> {
        vec![
            format!("2{json}"),
            format!("2/a,7{json}"),
            format!("3{json}"),
            format!("312{json}"),
            format!("0{json}"),
            format!("4{json}"),
            format!("51-{json}"),
        ]
    }

    fn arg() -> impl Strategy<Value = String> {
        prop_oneof![
            2 => super::value(),
            1 => Just(r#"{"user":"a","text":"hello world"}"#.to_owned()),
            1 => Just("\"B\"".to_owned()),
            1 => Just(r#"{"B":7}"#.to_owned()),
            1 => Just(r#"{"C":{"x":-1}}"#.to_owned()),
            1 => Just("\"A\"".to_owned()),
            1 => Just("\"bytes\u{1}raw\"".to_owned()),
            1 => Just("\"\\ud800\"".to_owned()),
            1 => Just(r#"{"1":2,"3":[4]}"#.to_owned()),
            1 => Just("\"x\"".to_owned()),
            1 => Just("1e999".to_owned()),
            1 => Just("12345678901234567890123".to_owned()),
        ]
    }

    fn array() -> impl Strategy<Value = String> {
        (
            prop_oneof![3 => super::string(), 1 => super::number(), 1 => arg()],
            proptest::collection::vec((arg(), super::ws(), super::ws()), 0..3),
            any::<bool>(),
        )
            .prop_map(|(name, args, with_name)| {
                let mut items = Vec::new();
                if with_name {
                    items.push((name, "", ""));
                }
                items.extend(args);
                super::join(items, "[", "]")
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        #[test]
        fn same_packets_errors_and_arguments(json in array()) {
            for text in packets(&json) {
                all_types(&text)?;
            }
        }

        #[test]
        fn same_on_mutated_json(json in super::mutated()) {
            for text in packets(&json) {
                all_types(&text)?;
            }
        }
    }

    #[test]
    fn examples() {
        for json in [
            r#"["chat",{"user":"a","text":"hello world"}]"#,
            r#"["chat",{"user":"a","text":"hello world"},7]"#,
            "[\"chat\",\"a\u{1}b\"]",
            "[\"chat\",\t\"ab\"]",
            "[\"chat\", \"a\u{1}b\"]",
            "[\"a\u{1}\",\"b\"]",
            r#"["chat","\ud800"]"#,
            r#"["connect",1]"#,
            r#"[1,2]"#,
            r#"[]"#,
            r#"{}"#,
            r#"["a",1e999]"#,
            r#"["a",[[[[[[[[[[1]]]]]]]]]]]"#,
            r#"["a"] x"#,
            r#"["a",]"#,
            "",
        ] {
            for text in packets(json) {
                if let Err(e) = all_types(&text) {
                    panic!("{e}");
                }
            }
        }
        let deep = format!("[\"a\",{}{}]", "[".repeat(200), "]".repeat(200));
        for text in packets(&deep) {
            if let Err(e) = all_types(&text) {
                panic!("{e}");
            }
        }
    }
}
