//! Payload masking (RFC 6455 §5.3).
//!
//! Masking is a XOR with a 4-byte key repeated over the payload. It runs on every byte a
//! client sends and a server receives, so it is written to let the compiler vectorise it:
//! 64-byte blocks XORed with a 64-byte key pattern, then 8-byte words, then single bytes.
//! Everything here is safe code. The connection itself unmasks large payload pieces with
//! explicit AVX2 where the CPU has it (`unmask_copy.rs`, the crate's `unsafe` exception,
//! earned by the `ws` benchmark).

/// XORs `buf` with `mask`, as if `buf` started at byte `offset` of a masked payload.
///
/// Masking is its own inverse, so this both masks and unmasks. The `offset` lets a payload
/// that arrives in pieces be unmasked piece by piece: pass the number of payload bytes
/// already processed.
///
/// ```
/// let mut data = *b"Hello";
/// sockeye_ws::apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]); // RFC 6455 §5.7
/// sockeye_ws::apply_mask(&mut data[..2], [0x37, 0xfa, 0x21, 0x3d], 0);
/// sockeye_ws::apply_mask(&mut data[2..], [0x37, 0xfa, 0x21, 0x3d], 2);
/// assert_eq!(&data, b"Hello");
/// ```
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    // Rotate as an integer, splat the key as a u64, build the 64-byte block only
    // when there is a block to XOR.
    let key = u32::from_le_bytes(mask).rotate_right(8 * (offset % 4) as u32);
    let m = key.to_le_bytes();
    let word = u64::from(key) | (u64::from(key) << 32);
    let mut rest = buf;
    if rest.len() >= 64 {
        let mut block = [0u8; 64];
        for c in block.chunks_exact_mut(8) {
            c.copy_from_slice(&word.to_le_bytes());
        }
        let mut blocks = rest.chunks_exact_mut(64);
        for chunk in &mut blocks {
            for (b, k) in chunk.iter_mut().zip(block.iter()) {
                *b ^= k;
            }
        }
        rest = blocks.into_remainder();
    }
    let mut words = rest.chunks_exact_mut(8);
    for chunk in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_le_bytes(w) ^ word).to_le_bytes());
    }
    for (b, k) in words.into_remainder().iter_mut().zip(m.iter().cycle()) {
        *b ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(buf: &mut [u8], mask: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= mask[(i + offset) % 4];
        }
    }

    proptest! {
        #[test]
        fn matches_byte_at_a_time(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            mask in any::<[u8; 4]>(),
            offset in 0usize..16,
        ) {
            let mut fast = data.clone();
            let mut slow = data.clone();
            apply_mask(&mut fast, mask, offset);
            naive(&mut slow, mask, offset);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn piecewise_equals_whole(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            mask in any::<[u8; 4]>(),
            cut in 0usize..300,
        ) {
            let cut = cut.min(data.len());
            let mut whole = data.clone();
            apply_mask(&mut whole, mask, 0);
            let mut parts = data.clone();
            let (a, b) = parts.split_at_mut(cut);
            apply_mask(a, mask, 0);
            apply_mask(b, mask, cut);
            prop_assert_eq!(whole, parts);
        }
    }
}
