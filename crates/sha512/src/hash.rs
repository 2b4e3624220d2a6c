//! The typed hashers, one per variant: [`Sha512`], [`Sha384`], [`Sha512_256`], [`Sha512_224`].

use std::{fmt, io};

use crate::{Algorithm, Digest};

/// Defines one typed hasher over the `sha2` type `$inner`; every variant shares this code.
macro_rules! hasher {
    (
        $(#[$doc:meta])*
        $name:ident($inner:ty, $len:literal, $algorithm:expr, $std:literal)
    ) => {
        $(#[$doc])*
        #[derive(Clone, Default)]
        pub struct $name {
            inner: $inner,
        }

        impl $name {
            /// The variant this type computes.
            pub const ALGORITHM: Algorithm = $algorithm;

            #[doc = concat!("The ", $std, " digest of `data`, in one call.")]
            ///
            /// `data` is anything that reads as bytes: `&[u8]`, `&str` (hashed as its UTF-8
            /// bytes), `Vec<u8>`, `String`, a byte array.
            #[inline]
            #[must_use]
            pub fn digest(data: impl AsRef<[u8]>) -> Digest<$len> {
                Digest::from_bytes(<$inner as sha2::Digest>::digest(data).into())
            }

            #[doc = concat!("A hasher for a new ", $std, " message.")]
            #[inline]
            #[must_use]
            pub fn new() -> Self {
                Self::default()
            }

            /// Appends `data` to the message.
            ///
            /// Call it any number of times, with pieces of any size: the digest depends
            /// only on the concatenation. Returns `self` so that calls chain.
            #[inline]
            pub fn update(&mut self, data: impl AsRef<[u8]>) -> &mut Self {
                sha2::Digest::update(&mut self.inner, data);
                self
            }

            /// The digest of everything passed to [`update`](Self::update) so far.
            ///
            /// The hasher is left as it was: more `update` calls extend the same message,
            /// and a later `finalize` covers all of it. That costs a copy of the ~200-byte
            /// state, a few nanoseconds; the one-call [`digest`](Self::digest) avoids it.
            #[inline]
            #[must_use]
            pub fn finalize(&self) -> Digest<$len> {
                Digest::from_bytes(sha2::Digest::finalize(self.inner.clone()).into())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        /// Feeds the hasher from a reader with [`std::io::copy`]; never fails.
        impl io::Write for $name {
            #[inline]
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.update(buf);
                Ok(buf.len())
            }

            #[inline]
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
    };
}

hasher! {
    /// SHA-512 ([FIPS 180-4] §6.4): 64-byte digests.
    ///
    /// ```
    /// use sockeye_sha512::Sha512;
    ///
    /// // FIPS 180-4 example: SHA-512("abc").
    /// let expected = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
    ///                 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
    /// assert_eq!(Sha512::digest("abc").hex(), expected);
    /// assert_eq!(Sha512::new().update("a").update(b"bc").finalize().hex(), expected);
    /// ```
    ///
    /// [FIPS 180-4]: https://nvlpubs.nist.gov/nistpubs/FIPS/NIST.FIPS.180-4.pdf
    Sha512(sha2::Sha512, 64, Algorithm::Sha512, "SHA-512")
}

hasher! {
    /// SHA-384 ([FIPS 180-4] §6.5): SHA-512 with its own initial value, cut to 48 bytes.
    ///
    /// ```
    /// use sockeye_sha512::Sha384;
    ///
    /// // FIPS 180-4 example: SHA-384("abc").
    /// let expected = "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163\
    ///                 1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7";
    /// assert_eq!(Sha384::digest("abc").hex(), expected);
    /// assert_eq!(Sha384::new().update("ab").update("c").finalize().hex(), expected);
    /// ```
    ///
    /// [FIPS 180-4]: https://nvlpubs.nist.gov/nistpubs/FIPS/NIST.FIPS.180-4.pdf
    Sha384(sha2::Sha384, 48, Algorithm::Sha384, "SHA-384")
}

hasher! {
    /// SHA-512/256 ([FIPS 180-4] §6.7): SHA-512 with its own initial value, cut to 32 bytes.
    ///
    /// ```
    /// use sockeye_sha512::Sha512_256;
    ///
    /// // FIPS 180-4 example: SHA-512/256("abc").
    /// let expected = "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23";
    /// assert_eq!(Sha512_256::digest("abc").hex(), expected);
    /// assert_eq!(Sha512_256::new().update("abc").finalize().hex(), expected);
    /// ```
    ///
    /// [FIPS 180-4]: https://nvlpubs.nist.gov/nistpubs/FIPS/NIST.FIPS.180-4.pdf
    Sha512_256(sha2::Sha512_256, 32, Algorithm::Sha512_256, "SHA-512/256")
}

hasher! {
    /// SHA-512/224 ([FIPS 180-4] §6.7): SHA-512 with its own initial value, cut to 28 bytes.
    ///
    /// ```
    /// use sockeye_sha512::Sha512_224;
    ///
    /// // FIPS 180-4 example: SHA-512/224("abc").
    /// let expected = "4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa";
    /// assert_eq!(Sha512_224::digest("abc").hex(), expected);
    /// assert_eq!(Sha512_224::new().update("").update("abc").finalize().hex(), expected);
    /// ```
    ///
    /// [FIPS 180-4]: https://nvlpubs.nist.gov/nistpubs/FIPS/NIST.FIPS.180-4.pdf
    Sha512_224(sha2::Sha512_224, 28, Algorithm::Sha512_224, "SHA-512/224")
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn finalize_leaves_the_hasher_usable() {
        let mut hasher = Sha512::new();
        hasher.update("ab");
        assert_eq!(hasher.finalize(), Sha512::digest("ab"));
        hasher.update("c");
        assert_eq!(hasher.finalize(), Sha512::digest("abc"));
    }

    #[test]
    fn io_write_feeds_the_message() {
        let mut hasher = Sha384::new();
        hasher
            .write_all(b"a")
            .and_then(|()| hasher.write_all(b"bc"))
            .unwrap();
        assert_eq!(hasher.finalize(), Sha384::digest("abc"));
    }

    #[test]
    fn debug_shows_no_state() {
        assert_eq!(format!("{:?}", Sha512_224::new()), "Sha512_224 { .. }");
    }
}
