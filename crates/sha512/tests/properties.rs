//! Properties over arbitrary input: streaming in any chunking gives the one-shot result, for
//! every variant, plain and keyed; every output encoding decodes back to the digest's bytes.

use base64::Engine as _;
use proptest::prelude::*;
use sockeye_sha512::{
    Algorithm, Digest, DynHasher, HmacSha384, HmacSha512, HmacSha512_224, HmacSha512_256, Sha384,
    Sha512, Sha512_224, Sha512_256,
};
use sockeye_test_support::vectors::hex_decode;

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop::sample::select(Algorithm::ALL.to_vec())
}

/// A message up to three blocks and a bit long, and cut points into it (any order,
/// duplicates allowed: an empty piece is a valid `update`).
fn chunked_message() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    prop::collection::vec(any::<u8>(), 0..400).prop_flat_map(|msg| {
        let cuts = prop::collection::vec(0..=msg.len(), 0..8);
        (Just(msg), cuts)
    })
}

/// Splits `msg` at the sorted `cuts`.
fn pieces<'a>(msg: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts = cuts.to_vec();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts {
        out.push(&msg[start..cut]);
        start = cut;
    }
    out.push(&msg[start..]);
    out
}

/// Streams `msg` in `cuts` through the typed hasher `$hash`, the typed HMAC `$hmac` and
/// `DynHasher`, and checks each against the one-shot result.
macro_rules! check_streaming {
    ($hash:ty, $hmac:ty, $algorithm:expr, $msg:expr, $cuts:expr, $key:expr) => {{
        let (msg, key) = ($msg, $key);
        let mut hasher = <$hash>::new();
        let mut mac = <$hmac>::new(key);
        let mut dyn_hasher = DynHasher::new($algorithm);
        let mut dyn_mac = DynHasher::hmac($algorithm, key);
        for piece in pieces(msg, $cuts) {
            hasher.update(piece);
            mac.update(piece);
            dyn_hasher.update(piece);
            dyn_mac.update(piece);
        }
        let digest = <$hash>::digest(msg);
        let tag = <$hmac>::digest(key, msg);
        prop_assert_eq!(hasher.finalize(), digest);
        prop_assert_eq!(mac.finalize(), tag);
        prop_assert!(mac.verify(tag.as_bytes()));
        let (dyn_digest, dyn_tag) = (dyn_hasher.finalize(), dyn_mac.finalize());
        prop_assert_eq!(dyn_digest.as_bytes(), digest.as_bytes());
        prop_assert_eq!(dyn_tag.as_bytes(), tag.as_bytes());
    }};
}

/// Checks that hex and base64 decode back to the digest's bytes.
fn check_encodings<const N: usize>(digest: Digest<N>) -> Result<(), TestCaseError> {
    let hex = digest.hex();
    prop_assert_eq!(hex.len(), 2 * N);
    prop_assert!(hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
    prop_assert_eq!(hex_decode(&hex).unwrap(), digest.as_bytes());
    prop_assert_eq!(digest.to_string(), hex);
    let base64 = base64::engine::general_purpose::STANDARD.decode(digest.base64());
    prop_assert_eq!(base64.unwrap(), digest.as_bytes());
    prop_assert_eq!(digest.into_bytes(), *digest.as_bytes());
    Ok(())
}

proptest! {
    #[test]
    fn streaming_in_any_chunking_equals_one_shot(
        algorithm in algorithm(),
        (msg, cuts) in chunked_message(),
        key in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        match algorithm {
            Algorithm::Sha512 => check_streaming!(Sha512, HmacSha512, algorithm, &msg, &cuts, &key),
            Algorithm::Sha384 => check_streaming!(Sha384, HmacSha384, algorithm, &msg, &cuts, &key),
            Algorithm::Sha512_256 => {
                check_streaming!(Sha512_256, HmacSha512_256, algorithm, &msg, &cuts, &key)
            }
            Algorithm::Sha512_224 => {
                check_streaming!(Sha512_224, HmacSha512_224, algorithm, &msg, &cuts, &key)
            }
        }
    }

    #[test]
    fn hex_and_base64_decode_back_to_the_bytes(
        msg in prop::collection::vec(any::<u8>(), 0..200),
        key in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        check_encodings(Sha512::digest(&msg))?;
        check_encodings(Sha384::digest(&msg))?;
        check_encodings(Sha512_256::digest(&msg))?;
        check_encodings(Sha512_224::digest(&msg))?;
        check_encodings(HmacSha512::digest(&key, &msg))?;
        check_encodings(HmacSha512_224::digest(&key, &msg))?;
        for algorithm in Algorithm::ALL {
            let digest = DynHasher::new(algorithm).update(&msg).finalize();
            prop_assert_eq!(hex_decode(&digest.hex()).unwrap(), digest.as_bytes());
            let base64 = base64::engine::general_purpose::STANDARD.decode(digest.base64());
            prop_assert_eq!(base64.unwrap(), digest.as_bytes());
        }
    }

    /// Any byte array round-trips through `Digest`, whatever its origin.
    #[test]
    fn arbitrary_bytes_round_trip(bytes in any::<[u8; 28]>()) {
        check_encodings(Digest::from(bytes))?;
    }
}
