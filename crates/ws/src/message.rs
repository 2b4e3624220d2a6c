//! Messages and the UTF-8 text buffer they carry.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// A complete data message (RFC 6455 §5.6), reassembled from its fragments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message: always valid UTF-8.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// The payload bytes, whatever the kind.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// The kind of message.
    pub fn kind(&self) -> DataKind {
        match self {
            Message::Text(_) => DataKind::Text,
            Message::Binary(_) => DataKind::Binary,
        }
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(Utf8Bytes::from(s))
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(Utf8Bytes::from(s))
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(Bytes::from(b))
    }
}

/// The two kinds of data message (opcodes 0x1 and 0x2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// Text: the payload must be UTF-8.
    Text,
    /// Binary: any bytes.
    Binary,
}

/// Reference-counted bytes that are guaranteed to be valid UTF-8.
///
/// Derefs to `str`; cloning is cheap; [`Utf8Bytes::into_bytes`] gives the [`Bytes`] back
/// without a copy.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// An empty string.
    pub const fn new() -> Self {
        Self(Bytes::new())
    }

    /// A string from a `&'static str`, without copying.
    pub const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    /// Validates `bytes` as UTF-8.
    ///
    /// # Errors
    ///
    /// Gives the bytes back when they are not valid UTF-8.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, Bytes> {
        if simdutf8::basic::from_utf8(&bytes).is_ok() {
            Ok(Self(bytes))
        } else {
            Err(bytes)
        }
    }

    /// Wraps bytes the caller has already validated.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Self(bytes)
    }

    /// The text.
    ///
    /// With `unsafe` forbidden in this crate the conversion re-checks the bytes with the
    /// SIMD validator (tens of GB/s on ASCII); an unchecked conversion would need an `unsafe`
    /// exception that a benchmark has to earn first (STYLE.md).
    pub fn as_str(&self) -> &str {
        // Invariant: every constructor validates or receives validated UTF-8, and the bytes
        // are immutable, so this never fails.
        match simdutf8::basic::from_utf8(&self.0) {
            Ok(s) => s,
            Err(_) => unreachable!("Utf8Bytes holds valid UTF-8 by construction"),
        }
    }

    /// The underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Self(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A text message lent by [`Connection::poll_event_ref`](crate::Connection::poll_event_ref):
/// bytes the connection validated as UTF-8.
///
/// [`as_bytes`](Self::as_bytes) is free. [`as_str`](Self::as_str) (and `Deref` to `str`)
/// re-checks the bytes with the SIMD validator, as [`Utf8Bytes::as_str`] does, because the
/// crate does not use `unsafe` for an unchecked conversion.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TextRef<'a>(pub(crate) &'a [u8]);

impl<'a> TextRef<'a> {
    /// The text's bytes, valid UTF-8.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The text.
    pub fn as_str(&self) -> &'a str {
        // Invariant: only the connection builds a TextRef, over validated text.
        match simdutf8::basic::from_utf8(self.0) {
            Ok(s) => s,
            Err(_) => unreachable!("TextRef holds valid UTF-8 by construction"),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Deref for TextRef<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for TextRef<'_> {
    fn as_ref(&self) -> &[u8] {
        self.0
    }
}

impl fmt::Debug for TextRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for TextRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for TextRef<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for TextRef<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}
