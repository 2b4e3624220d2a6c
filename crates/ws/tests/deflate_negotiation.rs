//! permessage-deflate negotiation (RFC 7692 §7.1), both roles: the vectors of
//! `tests/vectors/deflate_negotiation.txt`, the full handshake round trip, and properties
//! (whatever a server agrees to, a client accepts with the same parameters; a server never
//! accepts an offer it must decline).
#![cfg(feature = "deflate")]

use proptest::prelude::*;
use sockeye_test_support::vectors::{self, Record};
use sockeye_ws::deflate::DeflateParams;
use sockeye_ws::deflate::negotiate::{
    DeflateConfig, DeflateConfigBuilder, EXTENSION_NAME, NegotiationError, answer_offer,
    check_response, client_offers, negotiate_client, negotiate_server,
};
use sockeye_ws::handshake::{
    Accept, ClientHandshake, ClientRequest, ExtensionOffer, Progress, RequestParser,
};

// --- vectors -----------------------------------------------------------------------------

fn config(rec: &Record) -> DeflateConfig {
    let mut b = DeflateConfig::builder();
    for opt in rec.get("config").split(',').map(str::trim) {
        b = match opt.split_once('=') {
            None => match opt {
                "default" => b,
                "server_no_context_takeover" => b.server_no_context_takeover(true),
                "client_no_context_takeover" => b.client_no_context_takeover(true),
                "require_client_max_window_bits" => b.require_client_max_window_bits(true),
                "fallback_offer" => b.fallback_offer(true),
                other => panic!("line {}: unknown option {other}", rec.line),
            },
            Some((name, value)) => {
                let bits: u8 = value.parse().unwrap();
                match name {
                    "server_max_window_bits" => b.server_max_window_bits(bits),
                    "client_max_window_bits" => b.client_max_window_bits(bits),
                    other => panic!("line {}: unknown option {other}", rec.line),
                }
            }
        };
    }
    b.build()
        .unwrap_or_else(|e| panic!("line {}: {e}", rec.line))
}

fn params(rec: &Record) -> Option<DeflateParams> {
    let text = rec.get("params");
    if text == "none" {
        return None;
    }
    let mut p = DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 0,
        client_max_window_bits: 0,
    };
    for item in text.split(';').map(str::trim) {
        match item.split_once('=') {
            Some(("server_max_window_bits", v)) => p.server_max_window_bits = v.parse().unwrap(),
            Some(("client_max_window_bits", v)) => p.client_max_window_bits = v.parse().unwrap(),
            None if item == "server_no_context_takeover" => p.server_no_context_takeover = true,
            None if item == "client_no_context_takeover" => p.client_no_context_takeover = true,
            _ => panic!("line {}: bad params item {item:?}", rec.line),
        }
    }
    assert!(
        p.server_max_window_bits > 0 && p.client_max_window_bits > 0,
        "line {}",
        rec.line
    );
    Some(p)
}

/// The vector file's name for an error.
fn kind(e: &NegotiationError) -> String {
    match e {
        NegotiationError::UnknownParameter { .. } => "unknown-parameter".into(),
        NegotiationError::DuplicateParameter { parameter } => {
            format!("duplicate-parameter {parameter}")
        }
        NegotiationError::UnexpectedValue { parameter } => format!("unexpected-value {parameter}"),
        NegotiationError::MissingValue { parameter } => format!("missing-value {parameter}"),
        NegotiationError::InvalidValue { parameter, .. } => format!("invalid-value {parameter}"),
        NegotiationError::NotGranted { parameter } => format!("not-granted {parameter}"),
        NegotiationError::NotOffered { parameter } => format!("not-offered {parameter}"),
        NegotiationError::WindowTooLarge {
            parameter,
            offered,
            answered,
        } => format!("window-too-large {parameter} {offered} {answered}"),
        NegotiationError::Required { parameter } => format!("required {parameter}"),
        NegotiationError::DuplicateExtension { count } => format!("duplicate-extension {count}"),
        other => format!("{other:?}"),
    }
}

fn parse(value: &str) -> Vec<ExtensionOffer> {
    ExtensionOffer::parse_list(value).unwrap_or_else(|e| panic!("{value:?}: {e}"))
}

fn check_server(rec: &Record) {
    let line = rec.line;
    let config = config(rec);
    let offers = parse(rec.get("offers"));
    let got = negotiate_server(&offers, &config);
    // The reasons for the offers declined before the accepted one.
    let mut declined = Vec::new();
    let mut accepted = None;
    for offer in offers.iter().filter(|o| o.name == EXTENSION_NAME) {
        match answer_offer(offer, &config) {
            Ok(agreement) => {
                accepted = Some((offer, agreement));
                break;
            }
            Err(e) => declined.push(kind(&e)),
        }
    }
    let want_declined: Vec<String> = rec
        .try_get("declined")
        .map(|d| d.split('|').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    assert_eq!(declined, want_declined, "line {line}: declined offers");
    match rec.get("response") {
        "declined" => {
            assert_eq!(got, None, "line {line}");
            assert!(accepted.is_none(), "line {line}");
        }
        response => {
            let agreement = got.unwrap_or_else(|| panic!("line {line}: declined"));
            assert_eq!(agreement.response.to_string(), response, "line {line}");
            assert_eq!(Some(agreement.params), params(rec), "line {line}");
            // negotiate_server is answer_offer on the first acceptable offer.
            let (offer, first) = accepted.unwrap();
            assert_eq!(first, agreement, "line {line}");
            // The other side: the answer, sent and parsed, is valid for that offer.
            let [answer] = &parse(response)[..] else {
                panic!("line {line}: one element expected");
            };
            assert_eq!(
                check_response(answer, offer),
                Ok(agreement.params),
                "line {line}"
            );
        }
    }
}

fn check_client(rec: &Record) {
    let line = rec.line;
    let config = config(rec);
    assert_eq!(
        ExtensionOffer::format_list(&client_offers(&config)),
        rec.get("offers"),
        "line {line}: offers"
    );
    let got = negotiate_client(&parse(rec.get("response")), &config);
    match rec.try_get("error") {
        Some(error) => {
            let e = got.expect_err(&format!("line {line}: accepted"));
            assert_eq!(kind(&e), error, "line {line}");
        }
        None => assert_eq!(got, Ok(params(rec)), "line {line}"),
    }
}

#[test]
fn rfc7692_7_1_negotiation_vectors() {
    let recs = vectors::load("tests/vectors/deflate_negotiation.txt");
    let (mut servers, mut clients) = (0, 0);
    for rec in &recs {
        match rec.get("role") {
            "server" => {
                check_server(rec);
                servers += 1;
            }
            "client" => {
                check_client(rec);
                clients += 1;
            }
            other => panic!("line {}: role {other}", rec.line),
        }
    }
    assert!(
        servers >= 40 && clients >= 25,
        "{servers} server, {clients} client records"
    );
}

// --- through the handshake codecs ---------------------------------------------------------

/// A client and a server, each with its config, run the opening handshake through the
/// handshake codecs and agree on the same parameters.
#[test]
fn negotiation_through_the_handshake() {
    let client_config = DeflateConfig::builder()
        .server_max_window_bits(10)
        .client_no_context_takeover(true)
        .fallback_offer(true)
        .build()
        .unwrap();
    let server_config = DeflateConfig::builder()
        .server_max_window_bits(12)
        .client_max_window_bits(11)
        .build()
        .unwrap();

    let mut request = ClientRequest::new("ws://example.com/chat").unwrap();
    for offer in client_offers(&client_config) {
        request = request.with_extension(offer).unwrap();
    }
    let mut client = ClientHandshake::new(request, *b"the sample nonce");
    let to_server = client.request_bytes();

    let Ok(Progress::Complete { value: request, .. }) =
        RequestParser::new().handle_data(&to_server)
    else {
        panic!("the request is complete and valid");
    };
    assert_eq!(request.extensions().len(), 2);
    let agreement = negotiate_server(request.extensions(), &server_config).unwrap();
    let accept = Accept::new().with_extensions(agreement.response.to_string());
    let to_client = request.accept(&accept).unwrap();
    let text = String::from_utf8(to_client.clone()).unwrap();
    assert!(text.contains(
        "\r\nSec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=11\r\n"
    ));

    let Ok(Progress::Complete {
        value: accepted, ..
    }) = client.handle_data(&to_client)
    else {
        panic!("the response is complete and valid");
    };
    let params = negotiate_client(accepted.extensions(), &client_config)
        .unwrap()
        .unwrap();
    assert_eq!(params, agreement.params);
    assert_eq!(
        params,
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: true,
            server_max_window_bits: 10,
            client_max_window_bits: 11,
        }
    );
}

// --- properties ---------------------------------------------------------------------------

fn any_config() -> impl Strategy<Value = DeflateConfig> {
    (any::<[bool; 5]>(), 8u8..=15, 8u8..=15).prop_map(|(flags, s, c)| {
        let b: DeflateConfigBuilder = DeflateConfig::builder()
            .server_no_context_takeover(flags[0])
            .client_no_context_takeover(flags[1])
            .require_client_max_window_bits(flags[2])
            .fallback_offer(flags[3])
            .server_max_window_bits(s)
            .client_max_window_bits(c);
        let b = if flags[4] { b.threshold(0) } else { b };
        b.build().unwrap()
    })
}

/// One parameter as it may appear on the wire: the four names (and near misses), with no
/// value, a valid value, an invalid one, or a quoted one.
fn any_param() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
        "server_max_window_bits",
        "client_max_window_bits",
        "x",
        "Client_max_window_bits",
    ]);
    let values = prop::sample::select(vec![
        "", "", "", "=8", "=9", "=10", "=12", "=15", "=7", "=16", "=08", "=\"11\"", "=\"016\"",
        "=+9", "=x",
    ]);
    (names, values).prop_map(|(n, v)| format!("{n}{v}"))
}

fn any_offer_list() -> impl Strategy<Value = String> {
    let offer = (
        prop::sample::select(vec![
            "permessage-deflate",
            "permessage-deflate",
            "x-deflate",
        ]),
        prop::collection::vec(any_param(), 0..5),
    )
        .prop_map(|(name, params)| {
            let mut s = name.to_owned();
            for p in params {
                s.push_str("; ");
                s.push_str(&p);
            }
            s
        });
    prop::collection::vec(offer, 0..4).prop_map(|offers| offers.join(", "))
}

proptest! {
    /// Whatever configs both ends have, our server accepts our client's main offer, and the
    /// client, reading the answer off the wire, computes the same parameters, within both
    /// configs' limits.
    #[test]
    fn our_server_and_client_always_agree(server in any_config(), client in any_config()) {
        let offers = client_offers(&client);
        let wire = ExtensionOffer::format_list(&offers);
        let received = ExtensionOffer::parse_list(&wire).unwrap();
        prop_assert_eq!(&received, &offers);
        let agreement = negotiate_server(&received, &server);
        // Our client always offers client_max_window_bits, so nothing is declined.
        let agreement = agreement.unwrap();
        prop_assert_eq!(Ok(agreement.clone()), answer_offer(&offers[0], &server));
        let answer = ExtensionOffer::parse_list(agreement.response.to_string()).unwrap();
        let params = negotiate_client(&answer, &client).unwrap().unwrap();
        prop_assert_eq!(params, agreement.params);
        prop_assert!(params.server_max_window_bits <= server.server_max_window_bits());
        prop_assert!(params.server_max_window_bits <= client.server_max_window_bits());
        prop_assert!(params.client_max_window_bits <= server.client_max_window_bits());
        prop_assert!(params.client_max_window_bits <= client.client_max_window_bits());
        prop_assert!(params.server_no_context_takeover
            >= (server.server_no_context_takeover() || client.server_no_context_takeover()));
        prop_assert!(params.client_no_context_takeover
            >= (server.client_no_context_takeover() || client.client_no_context_takeover()));
    }

    /// For any offers, valid or not: the server accepts the first offer answer_offer
    /// accepts, and its answer is one a client that made that offer accepts, with the same
    /// parameters.
    #[test]
    fn any_agreement_is_accepted_by_the_offering_client(
        value in any_offer_list(),
        server in any_config(),
    ) {
        let Ok(offers) = ExtensionOffer::parse_list(&value) else {
            return Ok(());
        };
        let first_ok = offers
            .iter()
            .filter(|o| o.name == EXTENSION_NAME)
            .find_map(|o| answer_offer(o, &server).ok().map(|a| (o, a)));
        let agreement = negotiate_server(&offers, &server);
        prop_assert_eq!(agreement.as_ref(), first_ok.as_ref().map(|(_, a)| a));
        if let Some((offer, agreement)) = first_ok {
            let p = agreement.params;
            prop_assert!((8..=15).contains(&p.server_max_window_bits));
            prop_assert!((8..=15).contains(&p.client_max_window_bits));
            prop_assert!(p.server_max_window_bits <= server.server_max_window_bits());
            let answer = ExtensionOffer::parse_list(agreement.response.to_string()).unwrap();
            prop_assert_eq!(answer.len(), 1);
            prop_assert_eq!(check_response(&answer[0], offer), Ok(p));
        }
    }

    /// A client never panics on any answer, and what it accepts stays within its offer.
    #[test]
    fn any_answer_is_checked(value in any_offer_list(), client in any_config()) {
        let Ok(answer) = ExtensionOffer::parse_list(&value) else {
            return Ok(());
        };
        if let Ok(Some(p)) = negotiate_client(&answer, &client) {
            prop_assert!((8..=15).contains(&p.server_max_window_bits));
            prop_assert!(p.client_max_window_bits <= client.client_max_window_bits());
            prop_assert!(p.client_no_context_takeover >= client.client_no_context_takeover());
            if !client.fallback_offer() {
                prop_assert!(p.server_max_window_bits <= client.server_max_window_bits());
                prop_assert!(p.server_no_context_takeover >= client.server_no_context_takeover());
            }
        }
    }
}

// --- §7.1.2: agreeing to an 8-bit window ----------------------------------------------------

/// Negotiation agrees to `server_max_window_bits=8` (and `client_max_window_bits=8`) although
/// zlib-rs cannot compress raw deflate with an 8-bit window, because the codec compresses
/// with 9 bits and zlib's compressor never emits a match distance beyond
/// `2^9 − MIN_LOOKAHEAD` = 250, which a 256-byte window decodes. This checks that bound on
/// what flate2 + zlib-rs actually emit, at every level, across sync-flushed messages with
/// context takeover, on data whose repeats sit just past 256 bytes.
#[test]
fn rfc7692_7_1_2_eight_bit_agreement_holds_with_a_nine_bit_compressor() {
    use flate2::{Compress, Compression, FlushCompress};

    let mut inputs: Vec<Vec<u8>> = Vec::new();
    let mut x: u32 = 0x9e37_79b9;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for period in [200usize, 250, 251, 255, 256, 257, 260, 300, 511] {
        let block: Vec<u8> = (0..period).map(|_| b'a' + (next() % 5) as u8).collect();
        inputs.push(block.repeat(30));
    }
    inputs.push(
        (0..20_000)
            .map(|_| b"{\"user\":\"ann\",\"text\":\"hi\"}"[(next() % 26) as usize])
            .collect(),
    );

    for level in 0..=9 {
        for input in &inputs {
            let mut c = Compress::new_with_window_bits(Compression::new(level), false, 9);
            let mut wire = Vec::with_capacity(input.len() * 2 + 64);
            // Several messages through one compressor, as with context takeover.
            for message in input.chunks(700) {
                wire.reserve(message.len() + 64);
                c.compress_vec(message, &mut wire, FlushCompress::Sync)
                    .unwrap();
                assert!(wire.capacity() > wire.len(), "sync flush incomplete");
            }
            c.compress_vec(&[], &mut wire, FlushCompress::Finish)
                .unwrap();
            let (out, max_distance) = puff::inflate(&wire);
            assert_eq!(&out, input, "level {level}: our checker misread the stream");
            assert!(
                max_distance <= 256,
                "level {level}: a distance of {max_distance} needs more than an 8-bit window"
            );
        }
    }
}

/// A minimal raw-deflate decoder (RFC 1951) after zlib's `contrib/puff`, written for this
/// test: it only needs to report the largest match distance.
mod puff {
    struct Bits<'a> {
        data: &'a [u8],
        pos: usize,
        bit: u32,
    }

    impl Bits<'_> {
        fn bits(&mut self, n: u32) -> usize {
            let mut v = 0usize;
            for i in 0..n {
                let byte = self.data[self.pos];
                v |= usize::from((byte >> self.bit) & 1) << i;
                self.bit += 1;
                if self.bit == 8 {
                    self.bit = 0;
                    self.pos += 1;
                }
            }
            v
        }

        fn align(&mut self) {
            if self.bit != 0 {
                self.bit = 0;
                self.pos += 1;
            }
        }
    }

    /// Canonical Huffman code: how many codes of each length, and symbols in code order.
    struct Huffman {
        counts: [usize; 16],
        symbols: Vec<usize>,
    }

    impl Huffman {
        fn new(lengths: &[usize]) -> Self {
            let mut counts = [0usize; 16];
            for &l in lengths {
                counts[l] += 1;
            }
            counts[0] = 0;
            let mut offsets = [0usize; 16];
            for l in 1..15 {
                offsets[l + 1] = offsets[l] + counts[l];
            }
            let mut symbols = vec![0; lengths.len()];
            for (sym, &l) in lengths.iter().enumerate() {
                if l != 0 {
                    symbols[offsets[l]] = sym;
                    offsets[l] += 1;
                }
            }
            Self { counts, symbols }
        }

        fn decode(&self, bits: &mut Bits<'_>) -> usize {
            let (mut code, mut first, mut index) = (0usize, 0usize, 0usize);
            for len in 1..16 {
                code |= bits.bits(1);
                let count = self.counts[len];
                if code < first + count {
                    return self.symbols[index + code - first];
                }
                index += count;
                first = (first + count) << 1;
                code <<= 1;
            }
            panic!("invalid huffman code");
        }
    }

    const LEN_BASE: [usize; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    const LEN_EXTRA: [u32; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    const DIST_BASE: [usize; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];
    const DIST_EXTRA: [u32; 30] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
        13, 13,
    ];

    /// The decompressed bytes and the largest match distance in the stream.
    pub(super) fn inflate(data: &[u8]) -> (Vec<u8>, usize) {
        let mut bits = Bits {
            data,
            pos: 0,
            bit: 0,
        };
        let mut out = Vec::new();
        let mut max_distance = 0;
        loop {
            let last = bits.bits(1) == 1;
            match bits.bits(2) {
                0 => {
                    bits.align();
                    let len = usize::from(u16::from_le_bytes([data[bits.pos], data[bits.pos + 1]]));
                    bits.pos += 4;
                    out.extend_from_slice(&data[bits.pos..bits.pos + len]);
                    bits.pos += len;
                }
                kind @ (1 | 2) => {
                    let (litlen, dist) = if kind == 1 {
                        let mut l = vec![8; 144];
                        l.extend([9; 112]);
                        l.extend([7; 24]);
                        l.extend([8; 8]);
                        (Huffman::new(&l), Huffman::new(&[5; 30]))
                    } else {
                        dynamic_codes(&mut bits)
                    };
                    loop {
                        let sym = litlen.decode(&mut bits);
                        match sym {
                            0..=255 => out.push(sym as u8),
                            256 => break,
                            _ => {
                                let i = sym - 257;
                                let len = LEN_BASE[i] + bits.bits(LEN_EXTRA[i]);
                                let d = dist.decode(&mut bits);
                                let distance = DIST_BASE[d] + bits.bits(DIST_EXTRA[d]);
                                max_distance = max_distance.max(distance);
                                for _ in 0..len {
                                    out.push(out[out.len() - distance]);
                                }
                            }
                        }
                    }
                }
                _ => panic!("invalid block type"),
            }
            if last {
                return (out, max_distance);
            }
        }
    }

    fn dynamic_codes(bits: &mut Bits<'_>) -> (Huffman, Huffman) {
        const ORDER: [usize; 19] = [
            16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
        ];
        let nlen = bits.bits(5) + 257;
        let ndist = bits.bits(5) + 1;
        let ncode = bits.bits(4) + 4;
        let mut code_lengths = [0usize; 19];
        for &i in &ORDER[..ncode] {
            code_lengths[i] = bits.bits(3);
        }
        let code = Huffman::new(&code_lengths);
        let mut lengths = Vec::with_capacity(nlen + ndist);
        while lengths.len() < nlen + ndist {
            match code.decode(bits) {
                sym @ 0..=15 => lengths.push(sym),
                16 => {
                    let prev = *lengths.last().unwrap();
                    let n = 3 + bits.bits(2);
                    lengths.extend(std::iter::repeat_n(prev, n));
                }
                17 => {
                    let n = 3 + bits.bits(3);
                    lengths.extend(std::iter::repeat_n(0, n));
                }
                _ => {
                    let n = 11 + bits.bits(7);
                    lengths.extend(std::iter::repeat_n(0, n));
                }
            }
        }
        (
            Huffman::new(&lengths[..nlen]),
            Huffman::new(&lengths[nlen..]),
        )
    }
}
