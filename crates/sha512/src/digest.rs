//! Finished digests and HMAC tags, and their text encodings.

use std::fmt;

use base64::Engine as _;

use crate::Algorithm;

/// A finished digest or HMAC tag of `N` bytes: 64 for SHA-512, 48 for SHA-384, 32 for
/// SHA-512/256, 28 for SHA-512/224.
///
/// It reads out as bytes ([`as_bytes`](Self::as_bytes), [`into_bytes`](Self::into_bytes)),
/// lowercase hex ([`hex`](Self::hex), also its [`Display`](fmt::Display)) or padded base64
/// ([`base64`](Self::base64)).
///
/// `==` on two digests is an ordinary comparison that may stop at the first differing byte.
/// To check an HMAC tag received from someone else, use the `verify` method of the HMAC type
/// (for example [`HmacSha512::verify`](crate::HmacSha512::verify)), which runs in constant
/// time.
///
/// ```
/// use sockeye_sha512::Sha384;
///
/// let digest = Sha384::digest("abc");
/// let bytes: [u8; 48] = digest.into_bytes();
/// assert_eq!(bytes[..4], [0xcb, 0x00, 0x75, 0x3f]);
/// assert!(digest.hex().starts_with("cb00753f"));
/// assert_eq!(digest.to_string(), digest.hex());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest<const N: usize> {
    bytes: [u8; N],
}

impl<const N: usize> Digest<N> {
    /// Wraps `bytes`, for example a digest read back from storage, to compare or re-encode it.
    pub const fn from_bytes(bytes: [u8; N]) -> Self {
        Digest { bytes }
    }

    /// The digest's bytes.
    pub const fn as_bytes(&self) -> &[u8; N] {
        &self.bytes
    }

    /// The digest's bytes, by value.
    pub const fn into_bytes(self) -> [u8; N] {
        self.bytes
    }

    /// The digest as lowercase hex, two characters per byte (the form js-sha512's `hex()` and
    /// coreutils' `sha512sum` print).
    #[inline]
    pub fn hex(&self) -> String {
        encode_hex(&self.bytes)
    }

    /// The digest as base64 with the standard alphabet and `=` padding ([RFC 4648 §4]), the
    /// form of Node's `Buffer.toString('base64')`.
    ///
    /// [RFC 4648 §4]: https://www.rfc-editor.org/rfc/rfc4648#section-4
    pub fn base64(&self) -> String {
        encode_base64(&self.bytes)
    }
}

impl<const N: usize> From<[u8; N]> for Digest<N> {
    fn from(bytes: [u8; N]) -> Self {
        Digest::from_bytes(bytes)
    }
}

impl<const N: usize> From<Digest<N>> for [u8; N] {
    fn from(digest: Digest<N>) -> Self {
        digest.bytes
    }
}

impl<const N: usize> AsRef<[u8]> for Digest<N> {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl<const N: usize> fmt::Display for Digest<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.bytes)
    }
}

impl<const N: usize> fmt::Debug for Digest<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest<{N}>(")?;
        write_hex(f, &self.bytes)?;
        f.write_str(")")
    }
}

/// A finished digest or HMAC tag whose variant was chosen at run time, from
/// [`DynHasher::finalize`](crate::DynHasher::finalize).
///
/// Holds [`algorithm().output_len()`](Algorithm::output_len) bytes and reads out like
/// [`Digest`].
///
/// ```
/// use sockeye_sha512::{Algorithm, DynHasher};
///
/// let digest = DynHasher::new(Algorithm::Sha512_224).update("abc").finalize();
/// assert_eq!(digest.algorithm(), Algorithm::Sha512_224);
/// assert_eq!(digest.as_bytes().len(), 28);
/// assert_eq!(digest.hex(), "4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DynDigest {
    algorithm: Algorithm,
    /// The digest in the first `algorithm.output_len()` bytes; the rest stay zero, so the
    /// derived comparisons see only the digest.
    bytes: [u8; 64],
}

impl DynDigest {
    /// Copies a fixed-size digest; `N` is `algorithm.output_len()` by construction.
    pub(crate) fn new<const N: usize>(algorithm: Algorithm, digest: Digest<N>) -> Self {
        debug_assert_eq!(N, algorithm.output_len());
        let mut bytes = [0; 64];
        bytes[..N].copy_from_slice(digest.as_bytes());
        DynDigest { algorithm, bytes }
    }

    /// The variant that produced this digest.
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The digest's bytes; their length is `self.algorithm().output_len()`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.algorithm.output_len()]
    }

    /// The digest as lowercase hex, as [`Digest::hex`].
    pub fn hex(&self) -> String {
        encode_hex(self.as_bytes())
    }

    /// The digest as padded standard base64, as [`Digest::base64`].
    pub fn base64(&self) -> String {
        encode_base64(self.as_bytes())
    }
}

impl AsRef<[u8]> for DynDigest {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Display for DynDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, self.as_bytes())
    }
}

impl fmt::Debug for DynDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DynDigest({}, ", self.algorithm)?;
        write_hex(f, self.as_bytes())?;
        f.write_str(")")
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

#[inline]
fn encode_hex(bytes: &[u8]) -> String {
    let mut out = vec![0; bytes.len() * 2];
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        // Both indices are nibbles, below 16.
        pair[0] = HEX_DIGITS[usize::from(b >> 4)];
        pair[1] = HEX_DIGITS[usize::from(b & 0x0f)];
    }
    // Invariant: `out` holds only ASCII hex digits, so it is UTF-8.
    String::from_utf8(out).expect("hex digits are ASCII")
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_matches_display() {
        let digest = Digest::from_bytes([0x00, 0x0f, 0xa0, 0xff]);
        assert_eq!(digest.hex(), "000fa0ff");
        assert_eq!(digest.to_string(), "000fa0ff");
        assert_eq!(format!("{digest:?}"), "Digest<4>(000fa0ff)");
    }

    #[test]
    fn base64_is_standard_and_padded() {
        // RFC 4648 §10 test vectors.
        assert_eq!(Digest::from_bytes(*b"f").base64(), "Zg==");
        assert_eq!(Digest::from_bytes(*b"fo").base64(), "Zm8=");
        assert_eq!(Digest::from_bytes(*b"foo").base64(), "Zm9v");
        assert_eq!(Digest::from_bytes([0xfb, 0xff]).base64(), "+/8=");
    }

    #[test]
    fn dyn_digest_shows_only_its_own_bytes() {
        let digest = DynDigest::new(Algorithm::Sha512_224, Digest::from_bytes([7; 28]));
        assert_eq!(digest.as_bytes(), &[7; 28]);
        assert_eq!(digest.hex(), "07".repeat(28));
        assert_eq!(digest.base64().len(), 40);
        assert!(format!("{digest:?}").starts_with("DynDigest(sha512_224, 0707"));
    }
}
