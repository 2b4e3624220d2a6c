//! Known answers from sources independent of this crate and of `sha2`: the NIST examples
//! for FIPS 180-4, RFC 4231, and messages hashed by Python's `hashlib` / `hmac`
//! (`tests/vectors/generate.py`). Each is checked through every way the crate offers to
//! compute it: typed one-shot, typed streaming, [`DynHasher`], and each output encoding.

use base64::Engine as _;
use sockeye_sha512::{
    Algorithm, DynHasher, HmacSha384, HmacSha512, HmacSha512_224, HmacSha512_256, Sha384, Sha512,
    Sha512_224, Sha512_256,
};
use sockeye_test_support::vectors::{self, Record};

/// Runs `$body` with `$hash` and `$hmac` naming the typed hasher and HMAC for `$algorithm`.
macro_rules! typed {
    ($algorithm:expr, $hash:ident, $hmac:ident => $body:expr) => {
        match $algorithm {
            Algorithm::Sha512 => {
                type $hash = Sha512;
                type $hmac = HmacSha512;
                $body
            }
            Algorithm::Sha384 => {
                type $hash = Sha384;
                type $hmac = HmacSha384;
                $body
            }
            Algorithm::Sha512_256 => {
                type $hash = Sha512_256;
                type $hmac = HmacSha512_256;
                $body
            }
            Algorithm::Sha512_224 => {
                type $hash = Sha512_224;
                type $hmac = HmacSha512_224;
                $body
            }
        }
    };
}

fn vector_file(name: &str) -> Vec<Record> {
    vectors::load(format!(
        "{}/tests/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

/// The message a record describes: `msg` (text, optionally `repeat`ed), `msg_hex`, or
/// `msg_lcg` + `len` (the generator described in generate.py).
fn message(record: &Record) -> Vec<u8> {
    let msg = if let Some(text) = record.try_get("msg") {
        let repeat = record.try_get("repeat").map_or(1, |n| n.parse().unwrap());
        text.repeat(repeat).into_bytes()
    } else if let Some(seed) = record.try_get("msg_lcg") {
        let len = record.get("len").parse().unwrap();
        lcg_bytes(seed.parse().unwrap(), len)
    } else {
        record.hex("msg_hex")
    };
    if let Some(len) = record.try_get("len") {
        assert_eq!(msg.len().to_string(), len, "record at line {}", record.line);
    }
    msg
}

fn lcg_bytes(seed: u32, len: usize) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect()
}

/// Three pieces at a third and two thirds, so streaming crosses block boundaries for
/// messages longer than 384 bytes and splits unevenly for short ones.
fn thirds(msg: &[u8]) -> [&[u8]; 3] {
    let (a, rest) = msg.split_at(msg.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    [a, b, c]
}

/// Checks every route to the hash of `msg` under `algorithm` against `expected_hex`.
fn check_hash(algorithm: Algorithm, msg: &[u8], expected_hex: &str, line: usize) {
    let ctx = format!("{algorithm} of the record at line {line}");
    let expected = vectors::hex_decode(expected_hex).unwrap();
    typed!(algorithm, H, _M => {
        let one_shot = H::digest(msg);
        assert_eq!(one_shot.hex(), expected_hex, "one-shot {ctx}");
        assert_eq!(one_shot.as_bytes()[..], expected[..], "bytes {ctx}");
        let b64 = base64::engine::general_purpose::STANDARD.decode(one_shot.base64()).unwrap();
        assert_eq!(b64, expected, "base64 {ctx}");

        let mut streamed = H::new();
        for piece in thirds(msg) {
            streamed.update(piece);
        }
        assert_eq!(streamed.finalize(), one_shot, "streamed {ctx}");
    });
    let mut dynamic = DynHasher::new(algorithm);
    for piece in thirds(msg) {
        dynamic.update(piece);
    }
    assert_eq!(dynamic.finalize().hex(), expected_hex, "DynHasher {ctx}");
}

/// Checks every route to the HMAC of `msg` under `key` against `expected_hex`, whose length
/// may be cut short (RFC 4231 case 5).
fn check_hmac(algorithm: Algorithm, key: &[u8], msg: &[u8], expected_hex: &str, line: usize) {
    let ctx = format!("HMAC-{algorithm} of the record at line {line}");
    let truncated = expected_hex.len() < 2 * algorithm.output_len();
    typed!(algorithm, _H, M => {
        let one_shot = M::digest(key, msg);
        assert!(one_shot.hex().starts_with(expected_hex), "one-shot {ctx}");

        let mut streamed = M::new(key);
        for piece in thirds(msg) {
            streamed.update(piece);
        }
        assert_eq!(streamed.finalize(), one_shot, "streamed {ctx}");
        assert!(streamed.verify(one_shot.as_bytes()), "verify {ctx}");
        if !truncated {
            let expected = vectors::hex_decode(expected_hex).unwrap();
            assert!(streamed.verify(&expected), "verify expected {ctx}");
            let b64 = base64::engine::general_purpose::STANDARD.decode(one_shot.base64());
            assert_eq!(b64.unwrap(), expected, "base64 {ctx}");
        }
    });
    let tag = DynHasher::hmac(algorithm, key).update(msg).finalize();
    assert!(tag.hex().starts_with(expected_hex), "DynHasher {ctx}");
}

/// The NIST examples for FIPS 180-4 §6.4–§6.7: "abc", the 896-bit two-block message, and
/// one million 'a', for all four variants.
#[test]
fn fips_180_4_examples() {
    let records = vector_file("fips180-4.txt");
    assert_eq!(records.len(), 3);
    for record in &records {
        let msg = message(record);
        for algorithm in Algorithm::ALL {
            check_hash(algorithm, &msg, record.get(algorithm.name()), record.line);
        }
    }
}

/// RFC 4231 §4.2–§4.8, test cases 1–7 for HMAC-SHA-384 and HMAC-SHA-512; case 5 lists only
/// the first 128 bits of each tag.
#[test]
fn rfc_4231_test_cases() {
    let records = vector_file("rfc4231.txt");
    assert_eq!(records.len(), 7);
    for record in &records {
        let (key, data) = (record.hex("key_hex"), record.hex("data_hex"));
        for algorithm in [Algorithm::Sha384, Algorithm::Sha512] {
            let expected = record.get(&format!("hmac_{}", algorithm.name()));
            match record.try_get("truncate_bits") {
                Some(bits) => assert_eq!(expected.len() * 4, bits.parse::<usize>().unwrap()),
                None => assert_eq!(expected.len(), 2 * algorithm.output_len()),
            }
            check_hmac(algorithm, &key, &data, expected, record.line);
        }
    }
}

/// Messages of every length 0..=300 and a few large ones, hashed by Python's hashlib.
#[test]
fn random_messages_match_hashlib() {
    let records = vector_file("random.txt");
    assert_eq!(records.len(), 305);
    for record in &records {
        let msg = message(record);
        for algorithm in Algorithm::ALL {
            check_hash(algorithm, &msg, record.get(algorithm.name()), record.line);
        }
    }
}

/// The same messages under random keys of 0 to 300 bytes (either side of the 128-byte
/// block), authenticated by Python's hmac.
#[test]
fn random_messages_match_python_hmac() {
    let records = vector_file("random.txt");
    let mut long_keys = 0;
    for record in &records {
        let (key, msg) = (record.hex("key_hex"), message(record));
        long_keys += usize::from(key.len() > 128);
        for algorithm in Algorithm::ALL {
            let expected = record.get(&format!("hmac_{}", algorithm.name()));
            check_hmac(algorithm, &key, &msg, expected, record.line);
        }
    }
    assert!(
        long_keys > 10,
        "too few keys longer than a block: {long_keys}"
    );
}
