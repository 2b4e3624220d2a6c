//! [`Str`]: UTF-8 text held in [`Bytes`], so decoded packets share the receive buffer.

use std::fmt;

use bytes::Bytes;

/// UTF-8 text stored in [`Bytes`]: cloning and slicing share the underlying buffer.
///
/// The bytes are validated once, when the value is made; [`as_bytes`](Self::as_bytes) is free
/// and [`as_str`](Self::as_str) re-checks with a SIMD validator (the crate has no `unsafe`).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Str(Bytes);

/// The bytes given to [`Str::from_utf8`] were not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTF-8")]
pub struct InvalidUtf8;

impl Str {
    /// The empty string.
    pub const fn new() -> Self {
        Self(Bytes::new())
    }

    /// Text from a static string, without copying.
    pub const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    /// Validates `bytes` as UTF-8 and wraps them without copying.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, InvalidUtf8> {
        match simdutf8::basic::from_utf8(&bytes) {
            Ok(_) => Ok(Self(bytes)),
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Wraps bytes the caller has already validated. Only this crate may skip validation.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Self(bytes)
    }

    /// The sub-string at byte `range`, sharing the buffer; `None` when the range is out of
    /// bounds or does not fall on character boundaries (checked in O(1), no re-validation).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Option<Self> {
        let boundary =
            |i: usize| i == self.0.len() || self.0.get(i).is_some_and(|&b| b & 0xc0 != 0x80);
        if range.start > range.end
            || range.end > self.0.len()
            || !boundary(range.start)
            || !boundary(range.end)
        {
            return None;
        }
        Some(Self(self.0.slice(range)))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Validated on construction; the check cannot fail, and costs a SIMD pass.
        simdutf8::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying buffer, borrowed.
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<&'static str> for Str {
    fn from(s: &'static str) -> Self {
        Self::from_static(s)
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<Str> for Bytes {
    fn from(s: Str) -> Self {
        s.0
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
