//! Our side of `conformance/engineio-parser.sh`: checks the codecs of this crate against what
//! the official JavaScript parsers (npm `engine.io-parser` for v4, the v3 parser vendored in
//! npm `engine.io`) produced for the cases in a JSON file written by
//! `conformance/engineio-parser/generate.js` (see there for its format).
//!
//! ```text
//! cargo run -p sockeye-engineio --example parser_conformance -- cases.json
//! ```
//!
//! Checks, each counted once:
//!
//! - encode: every packet list through [`encode_payload`] in each payload format, and every
//!   packet through [`Packet::to_frame`] for v4 and v3, byte for byte (and frame kind) equal
//!   to the official encoders' output;
//! - decode: every official encoding, every malformed input and every random frame through
//!   [`decode_payload`] (no size limit), [`Packet::decode_text`] or
//!   [`Packet::decode_binary`], compared with what the official decoder made of the same bytes.
//!
//! A decode check passes when both sides give the same packets and agree on an error; when
//! both fail, the packets before the error must match, except that the official XHR2 decoder
//! refuses a body with a framing error as a whole where ours first yields the packets of the
//! records before it (those records must then be exactly as the official encoder writes
//! them). A malformed input that the official decoder accepts (in full, or further
//! than ours) and ours refuses, with the same packets up to our error, is *strict*: listed
//! with its reason, not a failure, when the reason is one of the known deliberate differences
//! in [`strict_reason`]. Everything else that differs is a failure.
//!
//! Prints `engineio parser: N passed, M failed, K strict`; exits 1 on any failure.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::process::ExitCode;

use bytes::Bytes;
use serde::Deserialize;
use sockeye_engineio::{
    Data, DecodeError, Packet, PacketType, PayloadFormat, Protocol, Str, decode_payload,
    encode_payload,
};

#[derive(Deserialize)]
struct Cases {
    versions: BTreeMap<String, String>,
    cases: Vec<ListCase>,
    decode: Vec<DecodeCase>,
}

/// A packet list and the official encodings of it.
#[derive(Deserialize)]
struct ListCase {
    id: String,
    packets: Vec<JsPacket>,
    /// Form (`v4`, `v3_text`, `v3_binary`) to hex.
    payloads: BTreeMap<String, String>,
    frames: Frames,
}

/// One `[kind, hex]` per packet.
#[derive(Deserialize)]
struct Frames {
    v4: Vec<(String, String)>,
    v3: Vec<(String, String)>,
}

/// Bytes and what the official decoder made of them.
#[derive(Deserialize)]
struct DecodeCase {
    id: String,
    form: String,
    input: String,
    malformed: Option<String>,
    packets: Vec<JsPacket>,
    error: bool,
}

/// A packet as the JSON gives it: `type` is `null` where the official decoder yielded a packet
/// of type `undefined`; `utf16` holds a decoded string that is not well-formed UTF-16.
#[derive(Deserialize, Debug)]
struct JsPacket {
    #[serde(rename = "type")]
    kind: Option<u8>,
    text: Option<String>,
    binary: Option<String>,
    utf16: Option<Vec<u16>>,
}

impl JsPacket {
    /// The same packet in our terms; `None` where ours cannot express it.
    fn to_packet(&self) -> Result<Option<Packet>, String> {
        let Some(k) = self.kind else {
            return Ok(None);
        };
        let kind = PacketType::from_u8(k).ok_or_else(|| format!("packet type {k} out of range"))?;
        let data = match (&self.text, &self.binary, &self.utf16) {
            (Some(t), None, None) => Data::Text(Str::from(t.clone())),
            (None, Some(h), None) => Data::Binary(Bytes::from(hex_decode(h)?)),
            (None, None, Some(_)) => return Ok(None),
            _ => return Err(format!("malformed packet {self:?}")),
        };
        Ok(Some(Packet { kind, data }))
    }

    fn describe(&self) -> String {
        let kind = self.kind.map_or("undefined".to_owned(), |k| k.to_string());
        match (&self.text, &self.binary, &self.utf16) {
            (Some(t), _, _) => format!("{kind}{}", clip(&format!("{t:?}"))),
            (_, Some(h), _) => format!("{kind}<binary {}>", clip(h)),
            (_, _, Some(u)) => format!("{kind}<UTF-16 {}>", clip(&format!("{u:04x?}"))),
            _ => format!("{kind}?"),
        }
    }
}

/// What a decoder made of some bytes: packets, then maybe an error.
struct Outcome {
    packets: Vec<Option<Packet>>,
    descriptions: Vec<String>,
    error: Option<String>,
}

impl Outcome {
    fn describe(&self) -> String {
        let mut s = format!("[{}]", self.descriptions.join(", "));
        if let Some(e) = &self.error {
            let _ = write!(s, " then error ({e})");
        }
        s
    }
}

fn describe_packet(p: &Packet) -> String {
    match &p.data {
        Data::Text(t) => format!("{}{}", p.kind as u8, clip(&format!("{:?}", t.as_str()))),
        Data::Binary(b) => format!("{}<binary {}>", p.kind as u8, clip(&hex(b))),
    }
}

fn ours(form: &str, input: Bytes) -> Result<(Vec<Packet>, Option<DecodeError>), String> {
    let payload = |format| {
        let mut packets = Vec::new();
        for item in decode_payload(format, input.clone(), usize::MAX) {
            match item {
                Ok(p) => packets.push(p),
                Err(e) => return (packets, Some(e)),
            }
        }
        (packets, None)
    };
    let single = |r: Result<Packet, DecodeError>| match r {
        Ok(p) => (vec![p], None),
        Err(e) => (vec![], Some(e)),
    };
    let text = |protocol| {
        let s = Str::from_utf8(input.clone())
            .map_err(|_| format!("{form} input is not UTF-8 (a WebSocket text frame must be)"))?;
        Ok::<_, String>(single(Packet::decode_text(protocol, &s)))
    };
    Ok(match form {
        "v4" => payload(PayloadFormat::V4),
        "v3_text" => payload(PayloadFormat::V3Text),
        "v3_binary" => payload(PayloadFormat::V3Binary),
        "v4_text_frame" => text(Protocol::V4)?,
        "v3_text_frame" => text(Protocol::V3)?,
        "v4_binary_frame" => single(Packet::decode_binary(Protocol::V4, input)),
        "v3_binary_frame" => single(Packet::decode_binary(Protocol::V3, input)),
        _ => return Err(format!("unknown form {form}")),
    })
}

/// The known, deliberate differences: malformed input the official decoders accept and ours
/// refuses, by the form, the input and the error ours gives.
fn strict_reason(form: &str, input: &[u8], error: &DecodeError) -> Option<&'static str> {
    use DecodeError as E;
    let text_body = matches!(form, "v4" | "v3_text");
    Some(match error {
        // Our v3 text length walker reports invalid UTF-8 that changes the count as a length
        // error.
        E::InvalidUtf8 | E::InvalidLength if text_body && std::str::from_utf8(input).is_err() => {
            "invalid UTF-8 in a text body: the reference reads the body as text with U+FFFD \
             replacements"
        }
        E::InvalidUtf8 if form == "v3_binary" => {
            "invalid UTF-8 in an XHR2 string record: the reference's utf8.js (non-strict) turns \
             encoded surrogates into U+FFFD"
        }
        E::Empty if form == "v3_binary" && input.is_empty() => {
            "empty XHR2 body: the reference decodes no packets"
        }
        E::InvalidBase64 => {
            "invalid base64: the reference's Buffer.from(s, 'base64') skips characters outside \
             the alphabet and stops at padding"
        }
        E::BinaryNotMessage(_) => {
            "binary data on a packet type other than message: the reference keeps the type"
        }
        E::UnknownType(_) | E::Empty
            if matches!(
                form,
                "v3_binary" | "v3_binary_frame" | "v3_text" | "v3_text_frame"
            ) =>
        {
            "v3 binary packet of unknown type (a type byte outside 0-6, a `b` without a type \
             digit, an empty binary record or frame): the reference yields a packet of type \
             undefined"
        }
        E::InvalidMarker(_) => {
            "XHR2 record marker other than 0 or 1: the reference reads any non-zero marker as \
             binary"
        }
        E::InvalidLength if form == "v3_text" => {
            "v3 text length prefix: the reference parses it with Number() (white space, signs, \
             hex, exponents, any number of leading zeros), or the length ends inside a \
             surrogate pair and the reference yields a lone surrogate"
        }
        E::InvalidLength if form == "v3_binary" => {
            "XHR2 length that is empty, has digit bytes above 9 or more than 10 digits: the \
             reference joins the bytes' decimal forms and reads them with parseInt()"
        }
        E::Truncated if form == "v3_binary" => {
            "XHR2 record shorter than its length: the reference takes the bytes that are there"
        }
        _ => return None,
    })
}

enum Verdict {
    Pass,
    /// Both refuse; ours yields packets first where the reference yields none.
    PassEarlier,
    /// A known difference, and the detail.
    Strict(&'static str, String),
    Fail(String),
}

fn judge(
    form: &str,
    input: &[u8],
    malformed: bool,
    theirs: &[JsPacket],
    their_error: bool,
) -> Result<Verdict, String> {
    let (our_packets, our_error) = ours(form, Bytes::copy_from_slice(input))?;
    let theirs_converted = theirs
        .iter()
        .map(JsPacket::to_packet)
        .collect::<Result<Vec<_>, _>>()?;
    let their = Outcome {
        packets: theirs_converted,
        descriptions: theirs.iter().map(JsPacket::describe).collect(),
        error: their_error.then(|| "parser error".to_owned()),
    };
    let our = Outcome {
        packets: our_packets.iter().cloned().map(Some).collect(),
        descriptions: our_packets.iter().map(describe_packet).collect(),
        error: our_error.as_ref().map(|e| format!("{e:?}")),
    };
    let same = |a: &[Option<Packet>], b: &[Option<Packet>]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.is_some() && x == y)
    };
    let detail = || {
        format!(
            "decode {}: ours {}; theirs {}",
            clip(&hex(input)),
            our.describe(),
            their.describe()
        )
    };
    let verdict = match (&our_error, their_error) {
        (None, false) if same(&our.packets, &their.packets) => Verdict::Pass,
        (Some(_), true) if same(&our.packets, &their.packets) => Verdict::Pass,
        // The reference's XHR2 decoder splits the whole body into records before decoding any,
        // and a framing error anywhere loses them all; ours yields the packets before the
        // malformed part, then refuses. Those must be the body's first records exactly as the
        // reference's encoder writes them (which the encode checks show ours matches).
        (Some(_), true)
            if form == "v3_binary"
                && their.packets.is_empty()
                && input.starts_with(&{
                    let mut canonical = Vec::new();
                    encode_payload(PayloadFormat::V3Binary, &our_packets, &mut canonical);
                    canonical
                }) =>
        {
            Verdict::PassEarlier
        }
        // Ours stops earlier than theirs on the same packets: theirs accepts more.
        (Some(e), _)
            if malformed
                && (our.packets.len() < their.packets.len()
                    || (our.packets.len() == their.packets.len() && !their_error))
                && same(&our.packets, &their.packets[..our.packets.len()]) =>
        {
            match strict_reason(form, input, e) {
                Some(reason) => Verdict::Strict(reason, detail()),
                None => Verdict::Fail(format!(
                    "{} (refused here for a reason not among the known differences)",
                    detail()
                )),
            }
        }
        _ => Verdict::Fail(detail()),
    };
    Ok(verdict)
}

#[derive(Default)]
struct Report {
    /// Print every strict case (`PARSER_CONFORMANCE_VERBOSE=1`).
    verbose: bool,
    passed: usize,
    failed: usize,
    failures: Vec<String>,
    failures_by_check: BTreeMap<String, usize>,
    /// Passes where ours yielded packets before refusing and the reference yielded none.
    earlier: BTreeMap<String, usize>,
    /// By reason.
    strict: BTreeMap<&'static str, StrictGroup>,
}

/// The strict cases of one reason.
#[derive(Default)]
struct StrictGroup {
    count: usize,
    /// Cases by check.
    checks: BTreeMap<String, usize>,
    /// The case with the shortest input, and that length.
    example: Option<(String, usize)>,
}

impl Report {
    fn record(&mut self, id: &str, check: &str, verdict: Verdict, input: &[u8]) {
        match verdict {
            Verdict::Pass => self.passed += 1,
            Verdict::PassEarlier => {
                self.passed += 1;
                *self.earlier.entry(check.to_owned()).or_default() += 1;
            }
            Verdict::Strict(reason, detail) => {
                if self.verbose {
                    println!("STRICT {id} [{check}] {detail}");
                }
                let group = self.strict.entry(reason).or_default();
                group.count += 1;
                *group.checks.entry(check.to_owned()).or_default() += 1;
                // The shortest input makes the clearest example.
                if group
                    .example
                    .as_ref()
                    .is_none_or(|(_, len)| input.len() < *len)
                {
                    group.example = Some((format!("{id} [{check}] {detail}"), input.len()));
                }
            }
            Verdict::Fail(detail) => {
                self.failed += 1;
                *self.failures_by_check.entry(check.to_owned()).or_default() += 1;
                self.failures.push(format!("FAIL {id} [{check}] {detail}"));
            }
        }
    }
}

fn run(path: &str) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let cases: Cases = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let versions: Vec<String> = cases
        .versions
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("reference: {}", versions.join(", "));

    // Official encodings the official decoders do not give back as their list: the decode
    // check of those uses what the decoder said (from `decode`).
    let anomalies: HashSet<(&str, &str)> = cases
        .decode
        .iter()
        .filter(|d| d.malformed.is_none())
        .map(|d| (d.id.as_str(), d.form.as_str()))
        .collect();

    let mut report = Report {
        verbose: std::env::var_os("PARSER_CONFORMANCE_VERBOSE").is_some_and(|v| v == "1"),
        ..Report::default()
    };
    for case in &cases.cases {
        let packets = case
            .packets
            .iter()
            .map(|p| {
                p.to_packet()?
                    .ok_or_else(|| format!("{}: bad input packet", case.id))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (form, official) in &case.payloads {
            let official = hex_decode(official)?;
            let format = match form.as_str() {
                "v4" => PayloadFormat::V4,
                "v3_text" => PayloadFormat::V3Text,
                "v3_binary" => PayloadFormat::V3Binary,
                _ => return Err(format!("{}: unknown payload form {form}", case.id)),
            };
            let mut encoded = Vec::new();
            encode_payload(format, &packets, &mut encoded);
            let verdict = if encoded == official {
                Verdict::Pass
            } else {
                Verdict::Fail(format!(
                    "encode {}: ours {}; theirs {}",
                    describe_list(&packets),
                    clip(&hex(&encoded)),
                    clip(&hex(&official))
                ))
            };
            report.record(&case.id, &format!("encode {form}"), verdict, &official);
            if official.is_empty() || anomalies.contains(&(case.id.as_str(), form.as_str())) {
                continue;
            }
            let verdict = judge(form, &official, false, &case.packets, false)?;
            report.record(&case.id, &format!("decode {form}"), verdict, &official);
        }
        for (protocol, name, frames) in [
            (Protocol::V4, "v4", &case.frames.v4),
            (Protocol::V3, "v3", &case.frames.v3),
        ] {
            if frames.len() != packets.len() {
                return Err(format!(
                    "{}: {name} frames do not match the packets",
                    case.id
                ));
            }
            for (i, ((kind, official), packet)) in frames.iter().zip(&packets).enumerate() {
                let id = format!("{}#{i}", case.id);
                let official = hex_decode(official)?;
                let (our_kind, ours) = match packet.to_frame(protocol) {
                    Data::Text(s) => ("text", s.into_bytes()),
                    Data::Binary(b) => ("binary", b),
                };
                let verdict = if our_kind == kind && ours[..] == official[..] {
                    Verdict::Pass
                } else {
                    Verdict::Fail(format!(
                        "encode {}: ours {our_kind} frame {}; theirs {kind} frame {}",
                        describe_packet(packet),
                        clip(&hex(&ours)),
                        clip(&hex(&official))
                    ))
                };
                report.record(&id, &format!("encode {name}_frame"), verdict, &official);
                let form = format!("{name}_{kind}_frame");
                if anomalies.contains(&(id.as_str(), form.as_str())) {
                    continue;
                }
                let expected = std::slice::from_ref(&case.packets[i]);
                let verdict = judge(&form, &official, false, expected, false)?;
                report.record(&id, &format!("decode {form}"), verdict, &official);
            }
        }
    }
    for case in &cases.decode {
        let input = hex_decode(&case.input)?;
        let verdict = judge(
            &case.form,
            &input,
            case.malformed.is_some(),
            &case.packets,
            case.error,
        )?;
        let verdict = match (verdict, &case.malformed) {
            (Verdict::Fail(detail), Some(m)) => Verdict::Fail(format!("{detail} [input: {m}]")),
            (v, _) => v,
        };
        report.record(&case.id, &format!("decode {}", case.form), verdict, &input);
    }
    Ok(report)
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parser_conformance <cases.json>");
        return ExitCode::from(2);
    };
    let report = match run(&path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("parser_conformance: {e}");
            return ExitCode::from(2);
        }
    };
    const SHOWN: usize = 60;
    for line in report.failures.iter().take(SHOWN) {
        println!("{line}");
    }
    if report.failures.len() > SHOWN {
        println!("... and {} more failures", report.failures.len() - SHOWN);
    }
    for (check, n) in &report.failures_by_check {
        println!("failed: {n} x {check}");
    }
    if !report.earlier.is_empty() {
        let checks: Vec<String> = report
            .earlier
            .iter()
            .map(|(c, n)| format!("{c} x{n}"))
            .collect();
        println!(
            "note: both refuse, ours after yielding the packets before the malformed part, the \
             reference yielding none: {}",
            checks.join(", ")
        );
    }
    let strict: usize = report.strict.values().map(|g| g.count).sum();
    for (reason, group) in &report.strict {
        let n = group.count;
        let checks: Vec<String> = group
            .checks
            .iter()
            .map(|(c, n)| format!("{c} x{n}"))
            .collect();
        let example = group.example.as_ref().map_or("", |(e, _)| e.as_str());
        println!(
            "strict: {n} x {reason}\n        ({}; e.g. {example})",
            checks.join(", ")
        );
    }
    println!(
        "engineio parser: {} passed, {} failed, {strict} strict (refused here, accepted by the \
         reference)",
        report.passed, report.failed
    );
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn describe_list(packets: &[Packet]) -> String {
    let items: Vec<String> = packets.iter().map(describe_packet).collect();
    clip(&format!("[{}]", items.join(", ")))
}

/// Shortens long descriptions to keep a report readable.
fn clip(s: &str) -> String {
    const MAX: usize = 160;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…({} bytes)", &s[..end], s.len())
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn hex_decode(s: &str) -> Result<Vec<u8>, String> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(format!("bad hex digit {:?}", c as char)),
    };
    if !s.len().is_multiple_of(2) {
        return Err("odd-length hex".to_owned());
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}
