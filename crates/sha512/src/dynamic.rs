//! A hasher or HMAC whose variant is chosen at run time.

use std::{fmt, io};

use crate::{
    Algorithm, DynDigest, HmacSha384, HmacSha512, HmacSha512_224, HmacSha512_256, Sha384, Sha512,
    Sha512_224, Sha512_256,
};

/// A streaming hash or HMAC over a variant picked at run time, for tools that take the
/// algorithm as input (a command-line flag, a protocol field).
///
/// It behaves like the typed hashers ([`Sha512`] …) and HMACs ([`HmacSha512`] …) it wraps,
/// and gives a [`DynDigest`].
///
/// ```
/// use sockeye_sha512::{Algorithm, DynHasher, HmacSha384};
///
/// let algorithm: Algorithm = "sha384".parse()?;
/// let mut mac = DynHasher::hmac(algorithm, "key");
/// mac.update("mess").update("age");
/// assert_eq!(mac.finalize().as_bytes(), HmacSha384::digest("key", "message").as_bytes());
/// # Ok::<(), sockeye_sha512::ParseAlgorithmError>(())
/// ```
#[derive(Clone)]
pub struct DynHasher {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Sha512(Sha512),
    Sha384(Sha384),
    Sha512_256(Sha512_256),
    Sha512_224(Sha512_224),
    HmacSha512(HmacSha512),
    HmacSha384(HmacSha384),
    HmacSha512_256(HmacSha512_256),
    HmacSha512_224(HmacSha512_224),
}

/// Runs `$body` with `$h` bound to whichever typed hasher or HMAC `$inner` holds.
macro_rules! dispatch {
    ($inner:expr, $h:ident => $body:expr) => {
        match $inner {
            Inner::Sha512($h) => $body,
            Inner::Sha384($h) => $body,
            Inner::Sha512_256($h) => $body,
            Inner::Sha512_224($h) => $body,
            Inner::HmacSha512($h) => $body,
            Inner::HmacSha384($h) => $body,
            Inner::HmacSha512_256($h) => $body,
            Inner::HmacSha512_224($h) => $body,
        }
    };
}

impl DynHasher {
    /// A hasher for a new message under `algorithm`.
    pub fn new(algorithm: Algorithm) -> Self {
        let inner = match algorithm {
            Algorithm::Sha512 => Inner::Sha512(Sha512::new()),
            Algorithm::Sha384 => Inner::Sha384(Sha384::new()),
            Algorithm::Sha512_256 => Inner::Sha512_256(Sha512_256::new()),
            Algorithm::Sha512_224 => Inner::Sha512_224(Sha512_224::new()),
        };
        DynHasher { inner }
    }

    /// An HMAC over `algorithm` for a new message under `key`; keys of any length work.
    pub fn hmac(algorithm: Algorithm, key: impl AsRef<[u8]>) -> Self {
        let inner = match algorithm {
            Algorithm::Sha512 => Inner::HmacSha512(HmacSha512::new(key)),
            Algorithm::Sha384 => Inner::HmacSha384(HmacSha384::new(key)),
            Algorithm::Sha512_256 => Inner::HmacSha512_256(HmacSha512_256::new(key)),
            Algorithm::Sha512_224 => Inner::HmacSha512_224(HmacSha512_224::new(key)),
        };
        DynHasher { inner }
    }

    /// The variant this hasher computes.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            Inner::Sha512(_) | Inner::HmacSha512(_) => Algorithm::Sha512,
            Inner::Sha384(_) | Inner::HmacSha384(_) => Algorithm::Sha384,
            Inner::Sha512_256(_) | Inner::HmacSha512_256(_) => Algorithm::Sha512_256,
            Inner::Sha512_224(_) | Inner::HmacSha512_224(_) => Algorithm::Sha512_224,
        }
    }

    /// Whether this is an HMAC (made by [`hmac`](Self::hmac)) rather than a plain hash.
    pub fn is_hmac(&self) -> bool {
        matches!(
            self.inner,
            Inner::HmacSha512(_)
                | Inner::HmacSha384(_)
                | Inner::HmacSha512_256(_)
                | Inner::HmacSha512_224(_)
        )
    }

    /// Appends `data` to the message; calls chain, pieces of any size.
    pub fn update(&mut self, data: impl AsRef<[u8]>) -> &mut Self {
        let data = data.as_ref();
        dispatch!(&mut self.inner, h => { h.update(data); });
        self
    }

    /// The digest or tag of everything passed to [`update`](Self::update) so far; the
    /// hasher is left as it was.
    #[must_use]
    pub fn finalize(&self) -> DynDigest {
        let algorithm = self.algorithm();
        dispatch!(&self.inner, h => DynDigest::new(algorithm, h.finalize()))
    }
}

/// Prints the variant and whether it is keyed, never key material.
impl fmt::Debug for DynHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynHasher")
            .field("algorithm", &self.algorithm())
            .field("hmac", &self.is_hmac())
            .finish()
    }
}

/// Feeds the hasher from a reader with [`std::io::copy`]; never fails.
impl io::Write for DynHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_its_algorithm_and_kind() {
        for algorithm in Algorithm::ALL {
            let plain = DynHasher::new(algorithm);
            let keyed = DynHasher::hmac(algorithm, "k");
            assert_eq!(plain.algorithm(), algorithm);
            assert_eq!(keyed.algorithm(), algorithm);
            assert!(!plain.is_hmac());
            assert!(keyed.is_hmac());
            assert_eq!(plain.finalize().as_bytes().len(), algorithm.output_len());
            assert_eq!(keyed.finalize().as_bytes().len(), algorithm.output_len());
        }
    }

    #[test]
    fn matches_the_typed_hashers() {
        let d = DynHasher::new(Algorithm::Sha512_256)
            .update("abc")
            .finalize();
        assert_eq!(d.as_bytes(), Sha512_256::digest("abc").as_bytes());
        let t = DynHasher::hmac(Algorithm::Sha512, "k")
            .update("abc")
            .finalize();
        assert_eq!(t.as_bytes(), HmacSha512::digest("k", "abc").as_bytes());
    }

    #[test]
    fn debug_hides_the_key() {
        let shown = format!("{:?}", DynHasher::hmac(Algorithm::Sha384, "secret"));
        assert_eq!(shown, "DynHasher { algorithm: Sha384, hmac: true }");
    }
}
