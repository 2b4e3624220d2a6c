//! proptest strategies the codec tests share: inputs damaged at random, and where to cut them.

use proptest::prelude::*;

/// Inputs from `valid` with up to three bytes changed, cut at a random point, and up to 15
/// random bytes appended: mostly invalid, often only at the end.
pub fn mutated(valid: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        valid,
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<prop::sample::Index>(),
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(|(mut bytes, flips, cut, tail)| {
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            bytes.truncate(cut.index(bytes.len() + 1));
            bytes.extend(tail);
            bytes
        })
}

/// Up to 11 sorted positions below `max` at which to split an input.
pub fn cuts(max: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..max, 0..12).prop_map(|mut v| {
        v.sort_unstable();
        v
    })
}

/// `bytes` with every CRLF turned into a bare LF (HTTP/1.1 parsers accept both line ends).
pub fn bare_lf(bytes: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .into_bytes()
}
