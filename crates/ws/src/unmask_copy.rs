//! Copying a masked payload into a receive buffer and unmasking it in the same pass: the
//! crate's one `unsafe` exception (STYLE.md: a benchmark, not a hunch, earns it).
//!
//! Decoding a large frame is memory-bound. Copying the input into the buffer and then
//! unmasking it there reads and writes every byte twice; writing the unmasked bytes straight
//! into the buffer's spare capacity does it once. Spare capacity is uninitialised, so the
//! bytes are written through `MaybeUninit` (safe) and the buffer's length is then set over
//! them with `BytesMut::set_len`, the one `unsafe` call here. Measured with the `ws` bench
//! (`cargo bench -p sockeye-benches --bench ws`, interleaved table; ratios to the fastest
//! peer, fastwebsockets, and to memcpy, on the decode cases):
//!
//! | | 64 KiB binary | 1 MiB binary | 1 MiB in 64 fragments |
//! |---|---|---|---|
//! | copy, then unmask in place (before) | 1.00× | 0.98×, 0.52× memcpy | 1.10× |
//! | safe: XOR into a 4 KiB stack block, then `extend_from_slice` | 1.25× | 1.09×, 0.59× memcpy | 1.67× |
//! | this module: XOR straight into spare capacity | 1.71× | 1.51×, 0.80× memcpy | 3.21× |
//!
//! The safe variant writes every byte twice (once in L1); zero-filling the spare capacity
//! first and XOR-copying over it measured slower still (0.4× memcpy, docs/benchmarks.md).
//!
//! The unmask also ORs the bytes it writes together, so a text payload that is all ASCII
//! needs no UTF-8 validation pass afterwards.

// The workspace forbids `unsafe`; sockeye-ws denies it (crates/ws/Cargo.toml) and allows it in
// this module only.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::mem::MaybeUninit;

use bytes::BytesMut;

/// Appends `src` to `dst` XORed with `mask` (as if `src` started at byte `offset` of a
/// masked payload; `None` copies it unchanged), and returns the OR of the bytes appended:
/// below 0x80 when they are all ASCII.
pub(crate) fn extend_unmasked(
    dst: &mut BytesMut,
    src: &[u8],
    mask: Option<[u8; 4]>,
    offset: usize,
) -> u8 {
    let key = match mask {
        Some(mask) => u32::from_le_bytes(mask).rotate_right(8 * (offset % 4) as u32),
        None => 0,
    };
    dst.reserve(src.len());
    let start = dst.len();
    let acc = match dst.spare_capacity_mut().get_mut(..src.len()) {
        Some(spare) => xor_into(spare, src, key),
        // Invariant: `reserve` made room for `src.len()` bytes.
        None => unreachable!("reserve guarantees the spare capacity"),
    };
    // SAFETY: `xor_into` wrote all `src.len()` bytes of `spare_capacity_mut()[..src.len()]`
    // (it writes `dst[i]` for every `i < src.len()`, see below), which `reserve` made
    // available, so the first `start + src.len()` bytes of the buffer are initialised and
    // within its capacity.
    unsafe { dst.set_len(start + src.len()) };
    acc
}

/// Writes `dst[i] = src[i] ^ key byte (i % 4)` for every `i` (`dst.len() == src.len()`),
/// returning the OR of the bytes written. Safe code: only `MaybeUninit::write`.
fn xor_into(dst: &mut [MaybeUninit<u8>], src: &[u8], key: u32) -> u8 {
    debug_assert_eq!(dst.len(), src.len());
    let word = u64::from(key) | (u64::from(key) << 32);
    let mut block = [0u8; 64];
    for c in block.chunks_exact_mut(8) {
        c.copy_from_slice(&word.to_le_bytes());
    }
    let mut acc = [0u8; 64];
    let mut d64 = dst.chunks_exact_mut(64);
    let mut s64 = src.chunks_exact(64);
    for (d, s) in (&mut d64).zip(&mut s64) {
        for i in 0..64 {
            let b = s[i] ^ block[i];
            acc[i] |= b;
            d[i].write(b);
        }
    }
    let mut or = acc.iter().fold(0, |a, b| a | b);
    let k = key.to_le_bytes();
    for ((d, s), k) in d64
        .into_remainder()
        .iter_mut()
        .zip(s64.remainder())
        .zip(k.iter().cycle())
    {
        let b = s ^ k;
        or |= b;
        d.write(b);
    }
    or
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply_mask;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn equals_copy_then_unmask(
            prefix in proptest::collection::vec(any::<u8>(), 0..20),
            data in proptest::collection::vec(any::<u8>(), 0..300),
            mask in any::<Option<[u8; 4]>>(),
            offset in 0usize..16,
        ) {
            let mut fused = BytesMut::from(&prefix[..]);
            let or = extend_unmasked(&mut fused, &data, mask, offset);
            let mut expected = prefix.clone();
            expected.extend_from_slice(&data);
            if let Some(mask) = mask {
                apply_mask(&mut expected[prefix.len()..], mask, offset);
            }
            prop_assert_eq!(&fused[..], &expected[..]);
            let want = expected[prefix.len()..].iter().fold(0, |a, b| a | b);
            prop_assert_eq!(or, want);
        }
    }
}
