//! HMAC ([RFC 2104]) over each variant: [`HmacSha512`], [`HmacSha384`], [`HmacSha512_256`],
//! [`HmacSha512_224`].
//!
//! [RFC 2104]: https://www.rfc-editor.org/rfc/rfc2104

use std::{fmt, io};

use ::hmac::{KeyInit as _, Mac as _};

use crate::{Algorithm, Digest};

/// Defines one typed HMAC over the `sha2` type `$hash`; every variant shares this code.
macro_rules! hmac {
    (
        $(#[$doc:meta])*
        $name:ident($hash:ty, $len:literal, $algorithm:expr, $std:literal)
    ) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            inner: ::hmac::Hmac<$hash>,
        }

        impl $name {
            /// The variant this type is built on.
            pub const ALGORITHM: Algorithm = $algorithm;

            #[doc = concat!("The HMAC-", $std, " tag of `data` under `key`, in one call.")]
            ///
            /// Keys and data of any length are accepted, as bytes or `&str`.
            #[inline]
            #[must_use]
            pub fn digest(key: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Digest<$len> {
                let mut mac = Self::new(key);
                mac.update(data);
                Digest::from_bytes(mac.inner.finalize().into_bytes().into())
            }

            #[doc = concat!("An HMAC-", $std, " for a new message under `key`.")]
            ///
            /// Any key length works: RFC 2104 §2 hashes a key longer than the 128-byte
            /// block and zero-pads a shorter one.
            #[must_use]
            pub fn new(key: impl AsRef<[u8]>) -> Self {
                let inner = ::hmac::Hmac::<$hash>::new_from_slice(key.as_ref())
                    // Invariant: HMAC's key-length check never fails (RFC 2104 §2 takes
                    // keys of any length; the `hmac` crate documents the same).
                    .expect("HMAC accepts keys of any length");
                Self { inner }
            }

            /// Appends `data` to the message.
            ///
            /// Call it any number of times, with pieces of any size: the tag depends only on
            /// the concatenation. Returns `self` so that calls chain.
            #[inline]
            pub fn update(&mut self, data: impl AsRef<[u8]>) -> &mut Self {
                self.inner.update(data.as_ref());
                self
            }

            /// The tag of everything passed to [`update`](Self::update) so far.
            ///
            /// The HMAC is left as it was: more `update` calls extend the same message.
            #[inline]
            #[must_use]
            pub fn finalize(&self) -> Digest<$len> {
                Digest::from_bytes(self.inner.clone().finalize().into_bytes().into())
            }

            /// Whether `tag` is the tag of the message so far, compared in constant time.
            ///
            #[doc = concat!("A `tag` shorter or longer than ", stringify!($len), " bytes never matches.")]
            /// Use this rather than `==` on [`finalize`](Self::finalize)'s result when
            /// checking a tag someone else sent, so the time taken reveals nothing about
            /// where the tags differ.
            #[must_use]
            pub fn verify(&self, tag: &[u8]) -> bool {
                self.inner.clone().verify_slice(tag).is_ok()
            }
        }

        /// Prints no key material.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        /// Feeds the HMAC from a reader with [`std::io::copy`]; never fails.
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

hmac! {
    /// HMAC-SHA-512 ([RFC 2104], test vectors in [RFC 4231]): 64-byte tags.
    ///
    /// ```
    /// use sockeye_sha512::HmacSha512;
    ///
    /// // RFC 4231 §4.3, test case 2.
    /// let expected = "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
    ///                 9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737";
    /// let tag = HmacSha512::digest("Jefe", "what do ya want for nothing?");
    /// assert_eq!(tag.hex(), expected);
    ///
    /// let mut mac = HmacSha512::new(b"Jefe");
    /// mac.update("what do ya want ").update("for nothing?");
    /// assert_eq!(mac.finalize(), tag);
    /// assert!(mac.verify(tag.as_bytes()));
    /// ```
    ///
    /// [RFC 2104]: https://www.rfc-editor.org/rfc/rfc2104
    /// [RFC 4231]: https://www.rfc-editor.org/rfc/rfc4231
    HmacSha512(sha2::Sha512, 64, Algorithm::Sha512, "SHA-512")
}

hmac! {
    /// HMAC-SHA-384 ([RFC 2104], test vectors in [RFC 4231]): 48-byte tags.
    ///
    /// ```
    /// use sockeye_sha512::HmacSha384;
    ///
    /// // RFC 4231 §4.3, test case 2.
    /// let expected = "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47\
    ///                 e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649";
    /// let tag = HmacSha384::digest("Jefe", "what do ya want for nothing?");
    /// assert_eq!(tag.hex(), expected);
    /// ```
    ///
    /// [RFC 2104]: https://www.rfc-editor.org/rfc/rfc2104
    /// [RFC 4231]: https://www.rfc-editor.org/rfc/rfc4231
    HmacSha384(sha2::Sha384, 48, Algorithm::Sha384, "SHA-384")
}

hmac! {
    /// HMAC-SHA-512/256 ([RFC 2104]): 32-byte tags.
    ///
    /// ```
    /// use sockeye_sha512::HmacSha512_256;
    ///
    /// let tag = HmacSha512_256::digest("key", "message");
    /// assert_eq!(tag.as_bytes().len(), 32);
    /// assert!(HmacSha512_256::new("key").update("message").verify(tag.as_bytes()));
    /// ```
    ///
    /// [RFC 2104]: https://www.rfc-editor.org/rfc/rfc2104
    HmacSha512_256(sha2::Sha512_256, 32, Algorithm::Sha512_256, "SHA-512/256")
}

hmac! {
    /// HMAC-SHA-512/224 ([RFC 2104]): 28-byte tags.
    ///
    /// ```
    /// use sockeye_sha512::HmacSha512_224;
    ///
    /// let tag = HmacSha512_224::digest("key", "message");
    /// assert_eq!(tag.as_bytes().len(), 28);
    /// assert!(HmacSha512_224::new("key").update("message").verify(tag.as_bytes()));
    /// ```
    ///
    /// [RFC 2104]: https://www.rfc-editor.org/rfc/rfc2104
    HmacSha512_224(sha2::Sha512_224, 28, Algorithm::Sha512_224, "SHA-512/224")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_rejects_wrong_and_truncated_tags() {
        let mut mac = HmacSha384::new("key");
        mac.update("data");
        let tag = mac.finalize();
        let mut wrong = tag.into_bytes();
        wrong[47] ^= 1;
        assert!(mac.verify(tag.as_bytes()));
        assert!(!mac.verify(&wrong));
        assert!(!mac.verify(&tag.as_bytes()[..16]));
        assert!(!mac.verify(&[]));
    }

    #[test]
    fn finalize_leaves_the_mac_usable() {
        let mut mac = HmacSha512_224::new([0xaa; 200]);
        mac.update("ab");
        assert_eq!(mac.finalize(), HmacSha512_224::digest([0xaa; 200], "ab"));
        mac.update("c");
        assert_eq!(mac.finalize(), HmacSha512_224::digest([0xaa; 200], "abc"));
    }

    #[test]
    fn debug_hides_the_key() {
        let shown = format!("{:?}", HmacSha512::new("secret"));
        assert_eq!(shown, "HmacSha512 { .. }");
    }
}
