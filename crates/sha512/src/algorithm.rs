//! The four members of the SHA-512 family as a value, for choosing one at run time.

use std::fmt;
use std::str::FromStr;

/// A member of the SHA-512 family ([FIPS 180-4] §6.4–§6.7).
///
/// All four share the SHA-512 compression function and its 128-byte block; they differ in
/// initial hash value and in how much of the final state they output. Use it to pick a
/// variant at run time ([`DynHasher`](crate::DynHasher)); when the variant is known at compile
/// time, the typed hashers ([`Sha512`](crate::Sha512) and friends) are simpler.
///
/// [`Display`](fmt::Display) writes the js-sha512 name (`sha512_256`); [`FromStr`] accepts
/// that name and the usual spellings of the standard one, ignoring case: `sha512/256`,
/// `SHA-512/256`, `sha512-256`.
///
/// ```
/// use sockeye_sha512::Algorithm;
///
/// let algorithm: Algorithm = "SHA-512/256".parse()?;
/// assert_eq!(algorithm, Algorithm::Sha512_256);
/// assert_eq!(algorithm.name(), "sha512_256");
/// assert_eq!(algorithm.output_len(), 32);
/// # Ok::<(), sockeye_sha512::ParseAlgorithmError>(())
/// ```
///
/// [FIPS 180-4]: https://nvlpubs.nist.gov/nistpubs/FIPS/NIST.FIPS.180-4.pdf
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-512: 64-byte output.
    Sha512,
    /// SHA-384: 48-byte output.
    Sha384,
    /// SHA-512/256: 32-byte output.
    Sha512_256,
    /// SHA-512/224: 28-byte output.
    Sha512_224,
}

impl Algorithm {
    /// Every variant, in the order js-sha512 exports them.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Sha512,
        Algorithm::Sha384,
        Algorithm::Sha512_256,
        Algorithm::Sha512_224,
    ];

    /// The name js-sha512 exports this variant under: `sha512`, `sha384`, `sha512_256` or
    /// `sha512_224`.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Sha512 => "sha512",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512_256 => "sha512_256",
            Algorithm::Sha512_224 => "sha512_224",
        }
    }

    /// Length of the digest (and of the HMAC tag) in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            Algorithm::Sha512 => 64,
            Algorithm::Sha384 => 48,
            Algorithm::Sha512_256 => 32,
            Algorithm::Sha512_224 => 28,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = ParseAlgorithmError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("sha-")
            .or_else(|| lower.strip_prefix("sha"));
        let algorithm = match rest {
            Some("512") => Algorithm::Sha512,
            Some("384") => Algorithm::Sha384,
            Some("512_256" | "512/256" | "512-256") => Algorithm::Sha512_256,
            Some("512_224" | "512/224" | "512-224") => Algorithm::Sha512_224,
            _ => {
                return Err(ParseAlgorithmError {
                    input: s.to_owned(),
                });
            }
        };
        Ok(algorithm)
    }
}

/// A string that names no member of the SHA-512 family, from [`Algorithm::from_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseAlgorithmError {
    /// The string that was given.
    pub input: String,
}

impl fmt::Display for ParseAlgorithmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown algorithm {:?}: expected sha512, sha384, sha512-256 or sha512-224",
            self.input
        )
    }
}

impl std::error::Error for ParseAlgorithmError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str() {
        for algorithm in Algorithm::ALL {
            assert_eq!(algorithm.name().parse::<Algorithm>(), Ok(algorithm));
            assert_eq!(algorithm.to_string(), algorithm.name());
        }
    }

    #[test]
    fn accepts_standard_spellings() {
        for (s, algorithm) in [
            ("SHA-512", Algorithm::Sha512),
            ("sha-384", Algorithm::Sha384),
            ("SHA512/256", Algorithm::Sha512_256),
            ("sha512-256", Algorithm::Sha512_256),
            ("SHA-512/224", Algorithm::Sha512_224),
            ("sha512-224", Algorithm::Sha512_224),
        ] {
            assert_eq!(s.parse::<Algorithm>(), Ok(algorithm), "{s}");
        }
    }

    #[test]
    fn rejects_other_names() {
        for s in ["", "sha", "sha256", "sha512_384", "md5", "sha-512 "] {
            let err = s.parse::<Algorithm>().unwrap_err();
            assert_eq!(err.input, s);
            assert!(err.to_string().starts_with("unknown algorithm"));
        }
    }
}
