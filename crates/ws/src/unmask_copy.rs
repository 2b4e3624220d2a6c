//! Unmasking payloads as they are copied into (or sit in) the receive buffer, and validating
//! text in the same pass: the crate's one `unsafe` module (STYLE.md: a benchmark, not a
//! hunch, earns it). Three kinds of `unsafe`, each measured with the `ws` bench (`cargo bench
//! -p sockeye-benches --bench ws`, interleaved table; ratios to the fastest peer,
//! fastwebsockets, and to memcpy, on the decode cases; figures in docs/benchmarks.md):
//!
//! 1. **`BytesMut::set_len` over spare capacity written through `MaybeUninit`.** Decoding a
//!    large frame is memory-bound. Copying the input into the buffer and then unmasking it
//!    there reads and writes every byte twice; writing the unmasked bytes straight into the
//!    buffer's spare capacity does it once:
//!
//!    | | 64 KiB binary | 1 MiB binary | 1 MiB in 64 fragments |
//!    |---|---|---|---|
//!    | copy, then unmask in place (before) | 1.00× | 0.98×, 0.52× memcpy | 1.10× |
//!    | safe: XOR into a 4 KiB stack block, then `extend_from_slice` | 1.25× | 1.09×, 0.59× memcpy | 1.67× |
//!    | XOR straight into spare capacity | 1.71× | 1.51×, 0.80× memcpy | 3.21× |
//!
//!    The safe variant writes every byte twice (once in L1); zero-filling the spare capacity
//!    first and XOR-copying over it measured slower still (0.4× memcpy).
//! 2. **AVX2 intrinsics for pieces of 1 KiB and more** ([`SIMD_XOR_MIN`]), behind runtime
//!    detection: the safe loops get 16-byte SSE2 on the baseline target.
//! 3. **Text validated in the unmasking pass** ([`extend_unmasked_text`],
//!    [`unmask_text_in_place`]): each 64-byte block is validated from the register it was
//!    XORed in (AVX-512: [`avx512`], our port of the lookup validator simdutf8 has only up to
//!    AVX2) or from L1 (AVX2: simdutf8's block validator, `unsafe` because it needs that
//!    CPU). Validating afterwards reads every byte again: mixed UTF-8 went 1.08× → 1.43×
//!    (AVX2) → 1.87× (AVX-512).
//!
//! The safe unmask also ORs the bytes it writes together, so a short text payload that is
//! all ASCII needs no UTF-8 validation pass afterwards.

// The workspace forbids `unsafe`; sockeye-ws denies it (crates/ws/Cargo.toml) and allows it in
// this module only.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::mem::MaybeUninit;

use bytes::BytesMut;

/// Appends `src` to `dst` XORed with `mask` (as if `src` started at byte `offset` of a
/// masked payload; `None` copies it unchanged), and returns the OR of the bytes appended:
/// below 0x80 when they are all ASCII; pieces of [`SIMD_XOR_MIN`] bytes and more are XORed
/// with AVX2 where the CPU has it, and answer 0xff.
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
    let wide = src.len() >= SIMD_XOR_MIN && wide_xor_available();
    dst.reserve(src.len());
    let start = dst.len();
    let acc = match dst.spare_capacity_mut().get_mut(..src.len()) {
        Some(spare) if wide => {
            xor_wide(Io::Copy { dst: spare, src }, key);
            // Not looked at: the caller validates (large pieces of text mostly take
            // `extend_unmasked_text`).
            0xff
        }
        Some(spare) => xor_into(spare, src, key),
        // Invariant: `reserve` made room for `src.len()` bytes.
        None => unreachable!("reserve guarantees the spare capacity"),
    };
    // SAFETY: `xor_wide` or `xor_into` wrote all `src.len()` bytes of
    // `spare_capacity_mut()[..src.len()]` (each writes every byte of its destination, see
    // them), which `reserve` made available, so the first `start + src.len()` bytes of the
    // buffer are initialised and within its capacity.
    unsafe { dst.set_len(start + src.len()) };
    acc
}

/// Unmasks `buf` in place, as [`apply_mask`](crate::apply_mask) does, with AVX2 for pieces
/// of [`SIMD_XOR_MIN`] bytes and more where the CPU has it.
pub(crate) fn unmask_in_place(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    if buf.len() < SIMD_XOR_MIN || !wide_xor_available() {
        return crate::apply_mask(buf, mask, offset);
    }
    let key = u32::from_le_bytes(mask).rotate_right(8 * (offset % 4) as u32);
    xor_wide(Io::InPlace(buf), key);
}

/// The shortest piece XORed with explicit vector instructions. Compiled for the baseline
/// x86-64 target, the safe loops get 16-byte SSE2; AVX2 XORs with stores aligned to cache
/// lines measured faster (`ws` bench, decode, same run: a 64 KiB masked binary frame 31.6 ->
/// 41 GB/s, 1 MiB 27 -> 30, at memcpy's rate); the CPU detection and alignment are not worth
/// it on short pieces.
const SIMD_XOR_MIN: usize = 1024;

/// XORs every byte of `io` with `key` repeated: the bytes up to the destination's first
/// 64-byte boundary and those after the last by safe code, the blocks between with AVX2 (the
/// caller detected it: [`wide_xor_available`]).
fn xor_wide(io: Io<'_>, key: u32) {
    let len = io.len();
    let h = io.dst_ptr().align_offset(64).min(len);
    let done = h + (len - h) / 64 * 64;
    let (head, io) = io.split_at(h);
    let (body, rest) = io.split_at(done - h);
    head.xor(key);
    let key = key.rotate_right(8 * (h % 4) as u32);
    rest.xor(key);
    let (s, d, n) = body.raw();
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `s` is readable and `d` writable for `n` bytes, a multiple of 64, and they are
    // equal (in place) or do not overlap (`Io::Copy` holds a `&mut` and a `&`); the remaining
    // precondition, AVX2, the caller detected.
    unsafe {
        avx2::xor(s, d, n, key)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (s, d, n);
        unreachable!("the vector XOR is only taken where the CPU has it")
    }
}

/// Whether [`xor_wide`] can run: x86-64 with AVX2. (AVX-512 is not used for it: with 64-byte
/// loads from a source not aligned to cache lines, every load splits two lines, and the
/// fragmented-message decode ran 10% slower than with AVX2.)
fn wide_xor_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
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
/// allows (x86-64 with AVX2 or AVX-512) validates it as UTF-8 in the same pass, 64 bytes at a
/// time while they are still in registers, skipping the first `skip` bytes (the end of a
/// character cut off before this piece). Validating afterwards reads every byte a second
/// time: in the `ws` bench (decode of a 64 KiB masked text frame of mixed 1- to 4-byte
/// characters, ratio to fastwebsockets in the same run) the separate passes ran 1.08×, this
/// one 1.43× with AVX2 and 1.87× with AVX-512.
pub(crate) fn extend_unmasked_text(
    dst: &mut BytesMut,
    src: &[u8],
    mask: Option<[u8; 4]>,
    offset: usize,
    skip: usize,
) -> Checked {
    if src.len() < skip + FUSED_TEXT_MIN {
        // Not even the CPU is asked: small frames come many at a time.
        return match extend_unmasked(dst, src, mask, offset) {
            0x00..=0x7f => Checked::Ascii,
            _ => Checked::Nothing,
        };
    }
    extend_text(dst, src, mask, offset, skip, simd_available())
}

/// Unmasks a piece of a text payload where it is, validating it as UTF-8 in the same pass as
/// [`extend_unmasked_text`] does (for input read straight into the receive buffer).
pub(crate) fn unmask_text_in_place(
    buf: &mut [u8],
    mask: Option<[u8; 4]>,
    offset: usize,
    skip: usize,
) -> Checked {
    let simd = match buf.len() {
        n if n < skip + FUSED_TEXT_MIN => Simd::None,
        _ => simd_available(),
    };
    text_pass(Io::InPlace(buf), mask, offset, skip, simd)
}

/// Which fused unmask-and-validate pass this CPU can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Simd {
    /// None: unmask, then validate.
    None,
    /// x86-64 with AVX2: simdutf8's AVX2 block validator.
    Avx2,
    /// x86-64 with AVX-512 F and BW: [`avx512`], 64 bytes a step.
    Avx512,
}

fn simd_available() -> Simd {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
        {
            return Simd::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return Simd::Avx2;
        }
    }
    Simd::None
}

/// Where a pass reads the masked bytes and writes the unmasked ones.
#[derive(Debug)]
enum Io<'a> {
    /// From `src` into `dst`, of the same length.
    Copy {
        dst: &'a mut [MaybeUninit<u8>],
        src: &'a [u8],
    },
    /// In place.
    InPlace(&'a mut [u8]),
}

impl<'a> Io<'a> {
    fn len(&self) -> usize {
        match self {
            Io::Copy { src, .. } => src.len(),
            Io::InPlace(buf) => buf.len(),
        }
    }

    /// The masked byte at `i`.
    fn masked(&self, i: usize) -> u8 {
        match self {
            Io::Copy { src, .. } => src[i],
            Io::InPlace(buf) => buf[i],
        }
    }

    /// Where the unmasked bytes go.
    fn dst_ptr(&self) -> *const u8 {
        match self {
            Io::Copy { dst, .. } => dst.as_ptr().cast(),
            Io::InPlace(buf) => buf.as_ptr(),
        }
    }

    /// Splits at `at` into two disjoint halves.
    fn split_at(self, at: usize) -> (Io<'a>, Io<'a>) {
        match self {
            Io::Copy { dst, src } => {
                let ((d0, d1), (s0, s1)) = (dst.split_at_mut(at), src.split_at(at));
                (Io::Copy { dst: d0, src: s0 }, Io::Copy { dst: d1, src: s1 })
            }
            Io::InPlace(buf) => {
                let (b0, b1) = buf.split_at_mut(at);
                (Io::InPlace(b0), Io::InPlace(b1))
            }
        }
    }

    /// XORs every byte with `key` repeated (safe code) and returns the unmasked bytes, and
    /// their OR where it came free with the copy (`Io::Copy`; in place it would be another
    /// pass, which only the caller that needs it makes).
    fn xor(self, key: u32) -> (&'a [u8], Option<u8>) {
        match self {
            Io::Copy { dst, src } => {
                let or = xor_into(dst, src, key);
                // SAFETY: `xor_into` wrote every byte of `dst` (it writes `dst[i]` for every
                // `i`), so all of it is initialised.
                let done =
                    unsafe { std::slice::from_raw_parts(dst.as_ptr().cast::<u8>(), dst.len()) };
                (done, Some(or))
            }
            Io::InPlace(buf) => {
                if key != 0 {
                    // (Unmasked input, a server's frames at a client, needs no pass.)
                    crate::apply_mask(buf, key.to_le_bytes(), 0);
                }
                (buf, None)
            }
        }
    }

    /// Raw pointers to read from and write to, and the length.
    fn raw(self) -> (*const u8, *mut u8, usize) {
        match self {
            Io::Copy { dst, src } => (src.as_ptr(), dst.as_mut_ptr().cast(), src.len()),
            Io::InPlace(buf) => {
                let d = buf.as_mut_ptr();
                (d.cast_const(), d, buf.len())
            }
        }
    }
}

/// [`extend_unmasked_text`], on the road given (tests take every road).
fn extend_text(
    dst: &mut BytesMut,
    src: &[u8],
    mask: Option<[u8; 4]>,
    offset: usize,
    skip: usize,
    simd: Simd,
) -> Checked {
    dst.reserve(src.len());
    let start = dst.len();
    let checked = match dst.spare_capacity_mut().get_mut(..src.len()) {
        Some(spare) => text_pass(Io::Copy { dst: spare, src }, mask, offset, skip, simd),
        // Invariant: `reserve` made room for `src.len()` bytes.
        None => unreachable!("reserve guarantees the spare capacity"),
    };
    // SAFETY: `text_pass` wrote all `src.len()` bytes of `spare_capacity_mut()[..src.len()]`
    // (it writes every byte of its `Io`, see `fused` and `Io::xor`), which `reserve` made
    // available, so the first `start + src.len()` bytes of the buffer are initialised and
    // within its capacity.
    unsafe { dst.set_len(start + src.len()) };
    checked
}

/// The shortest piece (besides the bytes of cut characters at either end) unmasked and
/// validated in one pass. Below it, the pass's fixed costs (the bytes before and after the
/// 64-byte blocks go through byte loops and padded blocks) outweigh a second pass over bytes
/// still in L1, which all-ASCII text (seen in the unmasking) skips altogether: in the `ws`
/// bench's 128 B text decode the fused pass ran at 0.4 times the rate of the two passes.
const FUSED_TEXT_MIN: usize = 1024;

/// Unmasks every byte of `io` (as payload bytes from `offset` on) and says what it knows of
/// them as UTF-8, validated on the road given where it is worth it.
fn text_pass(io: Io<'_>, mask: Option<[u8; 4]>, offset: usize, skip: usize, simd: Simd) -> Checked {
    let len = io.len();
    let key = |at: usize| match mask {
        Some(mask) => u32::from_le_bytes(mask).rotate_right(8 * ((offset + at) % 4) as u32),
        None => 0,
    };
    // The bytes that start a character cut off by the end of the piece, from the unmasked
    // last three bytes.
    let tail = {
        let n = len.min(3);
        let mut last = [0u8; 3];
        for (i, b) in last[..n].iter_mut().enumerate() {
            let at = len - n + i;
            *b = io.masked(at) ^ mask.map_or(0, |m| m[(offset + at) % 4]);
        }
        crate::utf8::incomplete_tail(&last[..n])
    };
    if simd == Simd::None || len < skip + tail + FUSED_TEXT_MIN {
        let (bytes, or) = io.xor(key(0));
        return match or.unwrap_or_else(|| bytes.iter().fold(0, |a, b| a | b)) {
            0x00..=0x7f => Checked::Ascii,
            _ => Checked::Nothing,
        };
    }
    let (head, body) = io.split_at(skip);
    head.xor(key(0));
    if fused(body, key(skip), tail, simd) {
        Checked::Utf8 { skip, tail }
    } else {
        Checked::Nothing
    }
}

/// Unmasks every byte of `io` with `key` repeated and returns whether the bytes but the last
/// `tail` are valid UTF-8: whole 64-byte blocks by the `simd` road (which the caller
/// detected), the bytes before and after them by safe code.
fn fused(io: Io<'_>, key: u32, tail: usize, simd: Simd) -> bool {
    let len = io.len() - tail;
    // Blocks start where the destination is 64-byte aligned, so that no store splits a cache
    // line; the bytes before are a block of their own.
    let h = io.dst_ptr().align_offset(64).min(len);
    let done = h + (len - h) / 64 * 64;
    let (head, io) = io.split_at(h);
    let (body, rest) = io.split_at(done - h);
    // (Outside the `target_feature` functions on purpose: auto-vectorised there at 512 bits,
    // this loop ran 10 times slower.)
    let (head, _) = head.xor(key);
    let key = key.rotate_right(8 * (h % 4) as u32);
    // A multiple of 4 bytes on from `h`: no further rotation.
    let (rest, _) = rest.xor(key);
    let rest = &rest[..rest.len() - tail];
    let (s, d, n) = body.raw();
    match simd {
        // SAFETY: `s` and `d` come from `body`, which `head` and `rest` do not overlap: `s` is
        // readable and `d` writable for `n` bytes, a multiple of 64 (`done - h`), and they
        // are equal (in place) or do not overlap (`Io::Copy` holds a `&mut` and a `&`). The
        // remaining precondition is the CPU feature each function is named for, which
        // `simd_available` detected.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { avx2::fused(head, s, d, n, key, rest) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { avx512::fused(head, s, d, n, key, rest) },
        _ => {
            let _ = (head, s, d, n, rest);
            unreachable!("the fused pass is only taken where the CPU has it")
        }
    }
}

/// `bytes` (at most 64) at the end of a 64-byte block of zeros: as valid as they are, since
/// what comes before them is ASCII.
#[cfg(target_arch = "x86_64")]
fn padded_left(bytes: &[u8]) -> [u8; 64] {
    let mut block = [0u8; 64];
    block[64 - bytes.len()..].copy_from_slice(bytes);
    block
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use simdutf8::basic::imp::ChunkedUtf8Validator;
    use simdutf8::basic::imp::x86::avx2::ChunkedUtf8ValidatorImp;

    /// Writes the `n` bytes at `s` (a multiple of 64) XORed with `key` repeated to `d`.
    ///
    /// # Safety
    ///
    /// `s` must be valid for reads and `d` for writes of `n` bytes; `s` and `d` are equal or
    /// their `n` bytes do not overlap. The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn xor(s: *const u8, d: *mut u8, n: usize, key: u32) {
        assert!(n.is_multiple_of(64));
        let k = _mm256_set1_epi32(key as i32);
        for b in 0..n / 64 {
            // SAFETY: block `b` covers bytes `64 * b .. 64 * b + 64`, within the `n` bytes `s`
            // may be read and `d` written at; `s` and `d` are equal or do not overlap; AVX2.
            unsafe { xor_block(s.add(64 * b), d.add(64 * b), k) };
        }
    }

    /// Writes the 64 bytes at `s` XORed with `k` to `d`: two 32-byte unaligned loads, XORs
    /// and stores.
    ///
    /// # Safety
    ///
    /// `s` must be valid for reads and `d` for writes of 64 bytes, equal or not overlapping
    /// (so the stores change no byte still to be loaded). The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn xor_block(s: *const u8, d: *mut u8, k: __m256i) {
        // SAFETY: the caller's precondition: 64 readable bytes at `s`, 64 writable at `d`.
        unsafe {
            let lo = _mm256_xor_si256(_mm256_loadu_si256(s.cast::<__m256i>()), k);
            let hi = _mm256_xor_si256(_mm256_loadu_si256(s.add(32).cast::<__m256i>()), k);
            _mm256_storeu_si256(d.cast::<__m256i>(), lo);
            _mm256_storeu_si256(d.add(32).cast::<__m256i>(), hi);
        }
    }
    use std::arch::x86_64::{
        __m256i, _mm256_loadu_si256, _mm256_set1_epi32, _mm256_storeu_si256, _mm256_xor_si256,
    };

    /// Writes the `n` bytes at `s` (a multiple of 64) XORed with `key` repeated to `d`, 64
    /// bytes at a time: two 32-byte XORs, stored, then handed to simdutf8's AVX2 validator
    /// while in L1. Returns whether `head` (at most 64 bytes), then those `n` bytes, then
    /// `rest` is valid UTF-8.
    ///
    /// # Safety
    ///
    /// `s` must be valid for reads and `d` for writes of `n` bytes, not overlapping `head`
    /// or `rest`; `s` and `d` are equal or their `n` bytes do not overlap. The CPU must have
    /// AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn fused(
        head: &[u8],
        s: *const u8,
        d: *mut u8,
        n: usize,
        key: u32,
        rest: &[u8],
    ) -> bool {
        assert!(n.is_multiple_of(64));
        // SAFETY: the CPU has AVX2 (this function's precondition), which is the precondition
        // of `ChunkedUtf8ValidatorImp`'s methods, here and below.
        let mut validator = unsafe { ChunkedUtf8ValidatorImp::new() };
        if !head.is_empty() {
            // SAFETY: AVX2, as above.
            unsafe { validator.update_from_chunks(&super::padded_left(head)) };
        }
        let k = _mm256_set1_epi32(key as i32);
        for b in 0..n / 64 {
            // SAFETY: block `b` covers bytes `64 * b .. 64 * b + 64`, within the `n` bytes `s`
            // may be read and `d` written at; `s` and `d` are equal or do not overlap; AVX2.
            // After `xor_block` the block's 64 bytes at `d` are initialised, and they are read
            // as a `&[u8]` while nothing writes them.
            unsafe {
                let d = d.add(64 * b);
                xor_block(s.add(64 * b), d, k);
                validator.update_from_chunks(std::slice::from_raw_parts(d, 64));
            }
        }
        // SAFETY: AVX2, as above.
        unsafe { validator.finalize(Some(rest)) }.is_ok()
    }
}

/// UTF-8 validation 64 bytes a step with AVX-512, fused with the unmasking copy.
///
/// simdutf8 has no AVX-512 validator, and its AVX2 one is bound by the shuffle port (the
/// nibble table lookups and byte shifts are shuffles, one per 32 bytes each); AVX-512 does
/// each for 64 bytes at the same cost. The algorithm is the one simdutf8 and simdjson use
/// (Keiser and Lemire, "Validating UTF-8 in less than one instruction per byte", 2021): every
/// byte is classified from the high nibble of the byte before it, the low nibble of the byte
/// before it and its own high nibble (three 16-entry tables whose bits name the errors a
/// pair can show); the AND of the three is non-zero exactly where a two-byte pattern is
/// invalid. Third and fourth bytes of a character are checked by whether the byte two or
/// three back is a three- or four-byte lead; a block ending inside a character that the next
/// block does not complete is caught through its "incomplete" mask.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::{
        __m512i, _mm_setr_epi8, _mm512_alignr_epi8, _mm512_alignr_epi64, _mm512_and_si512,
        _mm512_broadcast_i32x4, _mm512_loadu_si512, _mm512_movepi8_mask, _mm512_or_si512,
        _mm512_set1_epi8, _mm512_set1_epi32, _mm512_setzero_si512, _mm512_shuffle_epi8,
        _mm512_srli_epi16, _mm512_storeu_si512, _mm512_subs_epu8, _mm512_test_epi8_mask,
        _mm512_xor_si512,
    };

    // The error bits of the tables: which invalid two-byte pattern a pair may show.
    /// A lead byte (or `11______`) not followed by a continuation byte.
    const TOO_SHORT: u8 = 1 << 0;
    /// A continuation byte after an ASCII byte.
    const TOO_LONG: u8 = 1 << 1;
    /// `11100000 100_____`: a three-byte form of a two-byte character.
    const OVERLONG_3: u8 = 1 << 2;
    /// `11110100 1001____`, `11110100 101_____` and leads above `11110100`: above U+10FFFF.
    const TOO_LARGE: u8 = 1 << 3;
    /// `11101101 101_____`: a UTF-16 surrogate.
    const SURROGATE: u8 = 1 << 4;
    /// `1100000_ 10______`: a two-byte form of an ASCII character.
    const OVERLONG_2: u8 = 1 << 5;
    /// `11110101 1000____` and above (with `TOO_LARGE`); shares its bit with `OVERLONG_4`.
    const TOO_LARGE_1000: u8 = 1 << 6;
    /// `11110000 1000____`: a four-byte form of a three-byte character.
    const OVERLONG_4: u8 = 1 << 6;
    /// Two continuation bytes in a row: only an error where the byte before is no lead,
    /// which the third- and fourth-byte check decides.
    const TWO_CONTS: u8 = 1 << 7;
    /// The bits a lead byte's low nibble does not matter for.
    const CARRY: u8 = TOO_SHORT | TOO_LONG | TWO_CONTS;

    /// By the high nibble of the first byte of a pair.
    const BYTE_1_HIGH: [u8; 16] = [
        // 0___: ASCII
        TOO_LONG,
        TOO_LONG,
        TOO_LONG,
        TOO_LONG,
        TOO_LONG,
        TOO_LONG,
        TOO_LONG,
        TOO_LONG,
        // 10__: continuation
        TWO_CONTS,
        TWO_CONTS,
        TWO_CONTS,
        TWO_CONTS,
        // 1100: two-byte lead C0-CF
        TOO_SHORT | OVERLONG_2,
        // 1101: two-byte lead D0-DF
        TOO_SHORT,
        // 1110: three-byte lead
        TOO_SHORT | OVERLONG_3 | SURROGATE,
        // 1111: four-byte lead (or above)
        TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4,
    ];

    /// By the low nibble of the first byte of a pair.
    const BYTE_1_LOW: [u8; 16] = [
        CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4,
        CARRY | OVERLONG_2,
        CARRY,
        CARRY,
        CARRY | TOO_LARGE,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
    ];

    /// By the high nibble of the second byte of a pair.
    const BYTE_2_HIGH: [u8; 16] = [
        // 0___: ASCII
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        // 1000
        TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
        // 1001
        TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
        // 101_
        TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
        // 11__: a lead
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
    ];

    /// A 16-entry table in every 128-bit lane.
    #[target_feature(enable = "avx512f,avx512bw")]
    fn table(t: [u8; 16]) -> __m512i {
        let t = t.map(|b| b as i8);
        _mm512_broadcast_i32x4(_mm_setr_epi8(
            t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12], t[13],
            t[14], t[15],
        ))
    }

    /// The validator's state between blocks.
    struct Validator {
        byte_1_high: __m512i,
        byte_1_low: __m512i,
        byte_2_high: __m512i,
        /// The previous block (zeros before the first: as if after ASCII).
        prev: __m512i,
        /// Where the previous block ends inside a character: the next must continue it.
        incomplete: __m512i,
        /// Non-zero once an error is seen.
        error: __m512i,
        /// 0xff but in the last three bytes, where it is the largest lead byte whose
        /// character can end within the block: what exceeds it there is a character cut off.
        max: __m512i,
    }

    impl Validator {
        #[target_feature(enable = "avx512f,avx512bw")]
        fn new() -> Self {
            Self {
                byte_1_high: table(BYTE_1_HIGH),
                byte_1_low: table(BYTE_1_LOW),
                byte_2_high: table(BYTE_2_HIGH),
                prev: _mm512_setzero_si512(),
                incomplete: _mm512_setzero_si512(),
                error: _mm512_setzero_si512(),
                max: {
                    let mut max = [0xffu8; 64];
                    max[61..].copy_from_slice(&[0xf0 - 1, 0xe0 - 1, 0xc0 - 1]);
                    // SAFETY: reads 64 bytes from a 64-byte array.
                    unsafe { _mm512_loadu_si512(max.as_ptr().cast()) }
                },
            }
        }

        /// Checks the next 64 bytes.
        #[target_feature(enable = "avx512f,avx512bw")]
        fn block(&mut self, input: __m512i) {
            if _mm512_movepi8_mask(input) == 0 {
                // All ASCII: valid unless the previous block left a character unfinished.
                self.error = _mm512_or_si512(self.error, self.incomplete);
                self.incomplete = _mm512_setzero_si512();
            } else {
                // The 128-bit lanes [prev lane 3, input lanes 0-2]: what byte-shifting each
                // lane of `input` right by N pulls in from below.
                let below = _mm512_alignr_epi64::<6>(input, self.prev);
                let prev1 = _mm512_alignr_epi8::<15>(input, below);
                let prev2 = _mm512_alignr_epi8::<14>(input, below);
                let prev3 = _mm512_alignr_epi8::<13>(input, below);
                let low = _mm512_set1_epi8(0x0f);
                let high = |v| _mm512_and_si512(_mm512_srli_epi16::<4>(v), low);
                let special = _mm512_and_si512(
                    _mm512_and_si512(
                        _mm512_shuffle_epi8(self.byte_1_high, high(prev1)),
                        _mm512_shuffle_epi8(self.byte_1_low, _mm512_and_si512(prev1, low)),
                    ),
                    _mm512_shuffle_epi8(self.byte_2_high, high(input)),
                );
                // Only `111_____` two back and `1111____` three back reach 0x80 here: the
                // byte must be a continuation, which `special` says (TWO_CONTS) exactly
                // where it is one.
                let third = _mm512_subs_epu8(prev2, _mm512_set1_epi8((0xe0u8 - 0x80) as i8));
                let fourth = _mm512_subs_epu8(prev3, _mm512_set1_epi8((0xf0u8 - 0x80) as i8));
                let must_be_cont = _mm512_and_si512(
                    _mm512_or_si512(third, fourth),
                    _mm512_set1_epi8(0x80u8 as i8),
                );
                self.error = _mm512_or_si512(self.error, _mm512_xor_si512(must_be_cont, special));
                self.incomplete = _mm512_subs_epu8(input, self.max);
            }
            self.prev = input;
        }

        /// Whether everything checked is valid UTF-8 ending on a character boundary.
        #[target_feature(enable = "avx512f,avx512bw")]
        fn finish(&self) -> bool {
            let error = _mm512_or_si512(self.error, self.incomplete);
            _mm512_test_epi8_mask(error, error) == 0
        }
    }

    /// Writes the `n` bytes at `s` (a multiple of 64) XORed with `key` repeated to `d`, 64
    /// bytes a step, validating each block from the register it was XORed in. Returns whether
    /// `head` (at most 64 bytes), then those `n` bytes, then `rest` is valid UTF-8.
    ///
    /// # Safety
    ///
    /// `s` must be valid for reads and `d` for writes of `n` bytes, not overlapping `head`
    /// or `rest`; `s` and `d` are equal or their `n` bytes do not overlap. The CPU must have
    /// AVX-512 F and BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn fused(
        head: &[u8],
        s: *const u8,
        d: *mut u8,
        n: usize,
        key: u32,
        rest: &[u8],
    ) -> bool {
        assert!(n.is_multiple_of(64));
        let mut v = Validator::new();
        if !head.is_empty() {
            let block = super::padded_left(head);
            // SAFETY: reads 64 bytes from a 64-byte array.
            v.block(unsafe { _mm512_loadu_si512(block.as_ptr().cast()) });
        }
        let k = _mm512_set1_epi32(key as i32);
        for b in 0..n / 64 {
            // SAFETY: block `b` covers bytes `64 * b .. 64 * b + 64`, within the `n` bytes `s`
            // may be read and `d` written at; the load and store are unaligned; `s` and `d`
            // are equal or do not overlap, so the store changes no byte still to be loaded.
            let x = unsafe {
                let x = _mm512_xor_si512(_mm512_loadu_si512(s.add(64 * b).cast()), k);
                _mm512_storeu_si512(d.add(64 * b).cast(), x);
                x
            };
            v.block(x);
        }
        for piece in rest.chunks(64) {
            // The last bytes, padded with zeros (ASCII: an unfinished character before them
            // is an error, as it should be).
            let mut last = [0u8; 64];
            last[..piece.len()].copy_from_slice(piece);
            // SAFETY: reads 64 bytes from a 64-byte array.
            v.block(unsafe { _mm512_loadu_si512(last.as_ptr().cast()) });
        }
        v.finish()
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
    fn check_text(plain: &[u8], mask: [u8; 4], offset: usize, skip: usize, simd: Simd) -> Checked {
        let mut masked = plain.to_vec();
        apply_mask(&mut masked, mask, offset);
        let mut dst = BytesMut::from(&b"xy"[..]);
        let checked = extend_text(&mut dst, &masked, Some(mask), offset, skip, simd);
        assert_eq!(&dst[2..], plain);
        // In place, from a different distance to a cache line: the same bytes, the same word.
        let mut buf = vec![0u8; 7];
        buf.extend_from_slice(&masked);
        let in_place = text_pass(Io::InPlace(&mut buf[7..]), Some(mask), offset, skip, simd);
        assert_eq!(&buf[7..], plain);
        assert_eq!(in_place, checked);
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
    fn wide_xor_equals_apply_mask() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        for len in [SIMD_XOR_MIN, SIMD_XOR_MIN + 1, 1100, 4099] {
            for offset in 0..5 {
                let mut want = data[..len].to_vec();
                apply_mask(&mut want, mask, offset);
                if wide_xor_available() {
                    for at in [0, 1, 7, 63] {
                        // Copied into a buffer at `at` bytes past its start.
                        let mut dst = BytesMut::with_capacity(len + 128);
                        dst.extend_from_slice(&data[..at]);
                        let key = u32::from_le_bytes(mask).rotate_right(8 * (offset % 4) as u32);
                        let spare = &mut dst.spare_capacity_mut()[..len];
                        xor_wide(
                            Io::Copy {
                                dst: spare,
                                src: &data[..len],
                            },
                            key,
                        );
                        // SAFETY: `xor_wide` wrote all `len` bytes (what this test checks).
                        unsafe { dst.set_len(at + len) };
                        assert_eq!(&dst[at..], &want[..], "{len} {offset} {at}");
                        // In place.
                        let mut buf = vec![0u8; at];
                        buf.extend_from_slice(&data[..len]);
                        xor_wide(Io::InPlace(&mut buf[at..]), key);
                        assert_eq!(&buf[at..], &want[..], "{len} {offset} {at} in place");
                    }
                }
                // Through the crate's entry points, whatever road this CPU takes.
                let mut dst = BytesMut::new();
                extend_unmasked(&mut dst, &data[..len], Some(mask), offset);
                assert_eq!(&dst[..], &want[..]);
                let mut buf = data[..len].to_vec();
                unmask_in_place(&mut buf, mask, offset);
                assert_eq!(buf, want);
            }
        }
    }

    /// The roads this CPU can take: the two passes always, and the fused passes it has.
    fn roads() -> Vec<Simd> {
        let mut roads = vec![Simd::None];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                roads.push(Simd::Avx2);
            }
            if simd_available() == Simd::Avx512 {
                roads.push(Simd::Avx512);
            }
        }
        roads
    }

    #[test]
    fn fused_pass_validates_and_rejects() {
        // The checks hold on every road; a fused one must also say the text is valid.
        for simd in roads() {
            fused_pass_validates_and_rejects_on(simd);
        }
    }

    fn fused_pass_validates_and_rejects_on(simd: Simd) {
        for len in [
            64,
            1000,
            FUSED_TEXT_MIN,
            FUSED_TEXT_MIN + 1,
            1100,
            4097,
            40_001,
            65_536,
        ] {
            for offset in 0..4 {
                let text = mixed_text(len, offset);
                let valid = check_text(&text, [0x37, 0xfa, 0x21, 0x3d], offset, 0, simd);
                if simd != Simd::None && text.len() >= FUSED_TEXT_MIN {
                    assert_eq!(valid, Checked::Utf8 { skip: 0, tail: 0 }, "{len} {offset}");
                }
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
        for simd in roads() {
            skips_and_carries_on(simd);
        }
    }

    fn skips_and_carries_on(simd: Simd) {
        let fused = simd != Simd::None;
        let text = mixed_text(FUSED_TEXT_MIN + 200, 3);
        let s = std::str::from_utf8(&text).unwrap();
        for cut in 1..text.len() - 1 {
            let head = (0..4).find(|k| s.is_char_boundary(cut + k)).unwrap();
            let got = check_text(&text[cut..], [9, 8, 7, 6], cut, head, simd);
            if fused && text.len() - cut >= head + FUSED_TEXT_MIN + 3 {
                assert!(matches!(got, Checked::Utf8 { .. }), "{cut}");
            }
            let got = check_text(&text[..cut], [9, 8, 7, 6], 0, 0, simd);
            if fused && cut >= FUSED_TEXT_MIN + 3 {
                assert!(matches!(got, Checked::Utf8 { skip: 0, .. }), "{cut}");
            }
        }
    }

    /// Every two-byte sequence, and the three- and four-byte sequences that start with a
    /// lead byte, at block boundaries and at the end, judged by each fused road as by std.
    #[test]
    fn fused_roads_judge_every_short_sequence_as_std_does() {
        let fused_roads: Vec<Simd> = roads().into_iter().filter(|&r| r != Simd::None).collect();
        // Two full blocks and 22 bytes more: sequences placed across each boundary.
        let mut buf = [b'a'; 150];
        // Written at a different distance from a 64-byte boundary each time, so that the
        // head block before the aligned ones takes every length.
        let mut dst = [MaybeUninit::uninit(); 150 + 64];
        let mut in_place = [0u8; 150 + 64];
        let mut n = 0usize;
        let mut check = |seq: &[u8], at: usize| {
            buf.fill(b'a');
            buf[at..at + seq.len()].copy_from_slice(seq);
            let want = std::str::from_utf8(&buf).is_ok();
            n += 1;
            let o = n * 13 % 64;
            let p = n * 29 % 64;
            for &road in &fused_roads {
                let io = Io::Copy {
                    dst: &mut dst[o..o + 150],
                    src: &buf,
                };
                assert_eq!(fused(io, 0, 0, road), want, "{seq:x?} at {at} {road:?} {o}");
                in_place[p..p + 150].copy_from_slice(&buf);
                let io = Io::InPlace(&mut in_place[p..p + 150]);
                assert_eq!(
                    fused(io, 0, 0, road),
                    want,
                    "{seq:x?} at {at} {road:?} in place {p}"
                );
            }
        };
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                for at in [0, 63, 127, 148] {
                    check(&[a, b], at);
                }
            }
        }
        let conts: Vec<u8> = (0x7f..=0xc0).collect();
        for a in 0xc0..=0xffu8 {
            for &b in &conts {
                for &c in &conts {
                    for at in [62, 147] {
                        check(&[a, b, c], at);
                    }
                }
            }
        }
        for a in 0xf0..=0xf7u8 {
            for &b in &conts {
                for c in [0x7f, 0x80, 0xbf, 0xc0] {
                    for d in [0x41, 0x80, 0x8f, 0x90, 0xbf, 0xc2, 0xf0] {
                        for at in [61, 62, 63, 146] {
                            check(&[a, b, c, d], at);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn without_simd_ascii_is_still_recognised() {
        let text = b"plain ascii text ".repeat(10);
        assert_eq!(
            check_text(&text, [1, 2, 3, 4], 1, 0, Simd::None),
            Checked::Ascii
        );
        let text = mixed_text(200, 1);
        assert_eq!(
            check_text(&text, [1, 2, 3, 4], 1, 0, Simd::None),
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
            text in "\\PC{0,200}|\\PC{250,700}",
            noise in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..2),
            lo in any::<prop::sample::Index>(),
            hi in any::<prop::sample::Index>(),
            mask in any::<[u8; 4]>(),
            offset in 0usize..8,
            road in any::<prop::sample::Index>(),
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
            let roads = roads();
            check_text(piece, mask, offset, skip, roads[road.index(roads.len())]);
        }
    }
}
