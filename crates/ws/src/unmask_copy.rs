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
//! needs no UTF-8 validation pass afterwards; text that is not is validated in the same pass
//! where the CPU allows ([`extend_unmasked_text`]: explicit AVX2 intrinsics and simdutf8's
//! block validator, both `unsafe` because they need that CPU).

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

/// What [`extend_unmasked_text`] learnt of the bytes it appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    /// Nothing: they still need validating.
    Nothing,
    /// They are all ASCII.
    Ascii,
    /// `bytes[skip..bytes.len() - tail]` is valid UTF-8 (whole characters), where `tail` is
    /// how many bytes at the end start a character they cut off (0 to 3).
    Utf8 { skip: usize, tail: usize },
}

/// Appends a piece of a text payload to `dst` as [`extend_unmasked`] does, and where the CPU
/// allows (x86-64 with AVX2) validates it as UTF-8 in the same pass, 64 bytes at a time while
/// they are still in registers, skipping the first `skip` bytes (the end of a character cut
/// off before this piece). Validating afterwards reads every byte a second time: in the `ws`
/// bench (decode of a 64 KiB masked text frame of mixed 1- to 4-byte characters, ratio to
/// fastwebsockets in the same run) the separate passes ran 1.08×, this one 1.43×; the
/// validator's own work is then nearly all the time.
pub(crate) fn extend_unmasked_text(
    dst: &mut BytesMut,
    src: &[u8],
    mask: Option<[u8; 4]>,
    offset: usize,
    skip: usize,
) -> Checked {
    extend_text(dst, src, mask, offset, skip, simd_available())
}

/// Whether the fused unmask-and-validate pass can run on this CPU.
fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`extend_unmasked_text`], with the fused pass allowed or not (tests take both roads).
fn extend_text(
    dst: &mut BytesMut,
    src: &[u8],
    mask: Option<[u8; 4]>,
    offset: usize,
    skip: usize,
    simd: bool,
) -> Checked {
    // The bytes that start a character cut off by the end of the piece, from the unmasked
    // last three bytes.
    let tail = {
        let n = src.len().min(3);
        let mut last = [0u8; 3];
        for (i, b) in last[..n].iter_mut().enumerate() {
            let at = src.len() - n + i;
            *b = src[at] ^ mask.map_or(0, |m| m[(offset + at) % 4]);
        }
        crate::utf8::incomplete_tail(&last[..n])
    };
    if !simd || src.len() < skip + tail + 64 {
        return match extend_unmasked(dst, src, mask, offset) {
            0x00..=0x7f => Checked::Ascii,
            _ => Checked::Nothing,
        };
    }
    let key = |at: usize| match mask {
        Some(mask) => u32::from_le_bytes(mask).rotate_right(8 * ((offset + at) % 4) as u32),
        None => 0,
    };
    dst.reserve(src.len());
    let start = dst.len();
    let valid = match dst.spare_capacity_mut().get_mut(..src.len()) {
        Some(spare) => {
            let (head, body) = spare.split_at_mut(skip);
            xor_into(head, &src[..skip], key(0));
            fused(body, &src[skip..], key(skip), tail)
        }
        // Invariant: `reserve` made room for `src.len()` bytes.
        None => unreachable!("reserve guarantees the spare capacity"),
    };
    // SAFETY: `xor_into` wrote the first `skip` bytes of `spare_capacity_mut()[..src.len()]`
    // and `fused` all the others (it writes every byte of `body`, see below), which `reserve`
    // made available, so the first `start + src.len()` bytes of the buffer are initialised
    // and within its capacity.
    unsafe { dst.set_len(start + src.len()) };
    if valid {
        Checked::Utf8 { skip, tail }
    } else {
        Checked::Nothing
    }
}

/// Writes `dst[i] = src[i] ^ key byte (i % 4)` for every `i` (`dst.len() == src.len()`,
/// `src.len() >= tail`) and returns whether `dst[..dst.len() - tail]` is valid UTF-8: on
/// x86-64, through [`avx2::fused`] (the caller checked that the CPU has AVX2).
fn fused(dst: &mut [MaybeUninit<u8>], src: &[u8], key: u32, tail: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: the only precondition of `avx2::fused` beyond its arguments' types is a
        // CPU with AVX2, which `extend_text`'s caller detected (`simd_available`).
        unsafe { avx2::fused(dst, src, key, tail) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (dst, src, key, tail);
        unreachable!("the fused pass is only taken on x86-64")
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m256i, _mm256_loadu_si256, _mm256_set1_epi32, _mm256_storeu_si256, _mm256_xor_si256,
    };
    use std::mem::MaybeUninit;

    use simdutf8::basic::imp::ChunkedUtf8Validator;
    use simdutf8::basic::imp::x86::avx2::ChunkedUtf8ValidatorImp;

    use super::xor_into;

    /// XORs `src` into `dst` (same length, at least `tail`) with `key` repeated, 64 bytes at a
    /// time: two 32-byte XORs, stored, then handed to simdutf8's AVX2 validator while in L1;
    /// the last partial block is XORed by `xor_into` and validated with `finalize`. Returns
    /// whether `dst[..dst.len() - tail]` is valid UTF-8. (LLVM does not fuse this itself: the
    /// validator reads the block back as its own loads; the XOR is written with explicit AVX2
    /// because the auto-vectorised one, at 512 bits where allowed, ran 10 times slower.)
    ///
    /// # Safety
    ///
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn fused(
        dst: &mut [MaybeUninit<u8>],
        src: &[u8],
        key: u32,
        tail: usize,
    ) -> bool {
        assert!(dst.len() == src.len() && src.len() >= tail);
        let len = src.len();
        let blocks = (len - tail) / 64;
        let done = 64 * blocks;
        let (body, rest) = dst.split_at_mut(done);
        // A multiple of 4 bytes on: the key needs no rotation.
        xor_into(rest, &src[done..], key);
        // SAFETY: `xor_into` wrote every byte of `rest` (it writes `dst[i]` for every `i`).
        let rest = unsafe { std::slice::from_raw_parts(rest.as_ptr().cast::<u8>(), rest.len()) };
        // SAFETY: the CPU has AVX2 (this function's precondition), which is the precondition
        // of `ChunkedUtf8ValidatorImp`'s methods, here and below.
        let mut validator = unsafe { ChunkedUtf8ValidatorImp::new() };
        let k = _mm256_set1_epi32(key as i32);
        let (s, d) = (src.as_ptr(), body.as_mut_ptr().cast::<u8>());
        for b in 0..blocks {
            // SAFETY: block `b` covers bytes `64 * b .. 64 * b + 64`, within `src` and `body`
            // (`64 * blocks == body.len() <= src.len()`); loads and stores are unaligned;
            // `src` and `body` do not overlap (`body` is a `&mut`). After the two stores the
            // block's 64 bytes are initialised, and they are read as a `&[u8]` while nothing
            // writes them.
            unsafe {
                let (s, d) = (s.add(64 * b), d.add(64 * b));
                let lo = _mm256_xor_si256(_mm256_loadu_si256(s.cast::<__m256i>()), k);
                let hi = _mm256_xor_si256(_mm256_loadu_si256(s.add(32).cast::<__m256i>()), k);
                _mm256_storeu_si256(d.cast::<__m256i>(), lo);
                _mm256_storeu_si256(d.add(32).cast::<__m256i>(), hi);
                validator.update_from_chunks(std::slice::from_raw_parts(d, 64));
            }
        }
        // SAFETY: AVX2, as above.
        unsafe { validator.finalize(Some(&rest[..rest.len() - tail])) }.is_ok()
    }
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

    /// Text of one- to four-byte characters, `len` bytes or a few more.
    fn mixed_text(len: usize, seed: usize) -> Vec<u8> {
        let chars = ["a", "é", "€", "𝄞", "z", "ж", "中", " "];
        let mut s = Vec::with_capacity(len + 4);
        let mut i = seed;
        while s.len() < len {
            s.extend_from_slice(chars[i % chars.len()].as_bytes());
            i = i.wrapping_mul(31).wrapping_add(7);
        }
        s
    }

    /// Runs `extend_text` on `plain` masked with `mask` (from payload byte `offset`) and
    /// checks what it wrote and what it claims against the standard library.
    fn check_text(plain: &[u8], mask: [u8; 4], offset: usize, skip: usize, simd: bool) -> Checked {
        let mut masked = plain.to_vec();
        apply_mask(&mut masked, mask, offset);
        let mut dst = BytesMut::from(&b"xy"[..]);
        let checked = extend_text(&mut dst, &masked, Some(mask), offset, skip, simd);
        assert_eq!(&dst[2..], plain);
        match checked {
            Checked::Nothing => {}
            Checked::Ascii => assert!(plain.is_ascii()),
            Checked::Utf8 { skip: s, tail } => {
                assert_eq!(s, skip);
                assert!(std::str::from_utf8(&plain[skip..plain.len() - tail]).is_ok());
                assert_eq!(tail, crate::utf8::incomplete_tail(plain));
            }
        }
        checked
    }

    #[test]
    fn fused_pass_validates_and_rejects() {
        // Without AVX2 the fused pass is not taken; the checks below hold on either road.
        let simd = simd_available();
        for len in [64, 65, 127, 128, 1000, 40_001, 65_536] {
            for offset in 0..4 {
                let text = mixed_text(len, offset);
                let valid = check_text(&text, [0x37, 0xfa, 0x21, 0x3d], offset, 0, simd);
                assert_eq!(valid, Checked::Utf8 { skip: 0, tail: 0 }, "{len} {offset}");
                // An invalid byte anywhere is not passed as valid.
                for at in [0, 100, 40_000, text.len() - 1] {
                    if at >= text.len() {
                        continue;
                    }
                    let mut bad = text.clone();
                    bad[at] = 0xff;
                    let got = check_text(&bad, [1, 2, 3, 4], offset, 0, simd);
                    assert_eq!(got, Checked::Nothing, "{len} {offset} {at}");
                }
            }
        }
    }

    #[test]
    fn fused_pass_skips_and_carries_cut_characters() {
        let simd = simd_available();
        let text = mixed_text(300, 3);
        let s = std::str::from_utf8(&text).unwrap();
        for cut in 1..text.len() - 1 {
            let head = (0..4).find(|k| s.is_char_boundary(cut + k)).unwrap();
            let got = check_text(&text[cut..], [9, 8, 7, 6], cut, head, simd);
            if simd && text.len() - cut >= head + 64 + 3 {
                assert!(matches!(got, Checked::Utf8 { .. }), "{cut}");
            }
            let got = check_text(&text[..cut], [9, 8, 7, 6], 0, 0, simd);
            if simd && cut >= 64 + 3 {
                assert!(matches!(got, Checked::Utf8 { skip: 0, .. }), "{cut}");
            }
        }
    }

    #[test]
    fn without_simd_ascii_is_still_recognised() {
        let text = b"plain ascii text ".repeat(10);
        assert_eq!(check_text(&text, [1, 2, 3, 4], 1, 0, false), Checked::Ascii);
        let text = mixed_text(200, 1);
        assert_eq!(
            check_text(&text, [1, 2, 3, 4], 1, 0, false),
            Checked::Nothing
        );
    }

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

        #[test]
        fn fused_text_equals_copy_then_validate(
            text in "\\PC{0,200}",
            noise in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..2),
            lo in any::<prop::sample::Index>(),
            hi in any::<prop::sample::Index>(),
            mask in any::<[u8; 4]>(),
            offset in 0usize..8,
            simd in any::<bool>(),
        ) {
            let mut bytes = text.into_bytes();
            for (at, b) in noise {
                if !bytes.is_empty() {
                    let at = at.index(bytes.len());
                    bytes[at] = b;
                }
            }
            let (a, b) = (lo.index(bytes.len() + 1), hi.index(bytes.len() + 1));
            let piece = &bytes[a.min(b)..a.max(b)];
            // Any skip the caller might pass: what a cut character needs, or 0.
            let skip = (0..4).find(|&k| piece.get(k).is_none_or(|&b| b & 0xc0 != 0x80)).unwrap_or(0);
            let simd = simd && simd_available();
            check_text(piece, mask, offset, skip, simd);
        }
    }
}
