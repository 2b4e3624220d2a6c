//! Payload masking (RFC 6455 §5.3).
//!
//! Masking is a XOR with a 4-byte key repeated over the payload. It runs on every byte a
//! client sends and a server receives, so it is written to let the compiler vectorise it:
//! 64-byte blocks XORed with a 64-byte key pattern, then 8-byte words, then single bytes.
//! Everything is safe code; the benchmark in `benches/` decides whether an explicit SIMD
//! path is ever worth an `unsafe` exception.

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
    let mask = rotate(mask, offset);
    if buf.len() < 8 {
        apply_bytes(buf, mask);
        return;
    }
    let word = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut block = [0u8; 64];
    for (i, b) in block.iter_mut().enumerate() {
        *b = mask[i % 4];
    }
    let mut blocks = buf.chunks_exact_mut(64);
    for chunk in &mut blocks {
        for (b, m) in chunk.iter_mut().zip(block.iter()) {
            *b ^= m;
        }
    }
    // 64 and 8 are multiples of 4, so every remaining chunk starts at mask phase 0.
    let rest = blocks.into_remainder();
    let mut words = rest.chunks_exact_mut(8);
    for chunk in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(w) ^ word).to_ne_bytes());
    }
    apply_bytes(words.into_remainder(), mask);
}

/// The key as seen from byte `offset` of the payload.
fn rotate(mask: [u8; 4], offset: usize) -> [u8; 4] {
    let mut m = mask;
    m.rotate_left(offset % 4);
    m
}

fn apply_bytes(buf: &mut [u8], mask: [u8; 4]) {
    for (b, m) in buf.iter_mut().zip(mask.iter().cycle()) {
        *b ^= m;
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
