//! Loading test vectors kept as data files under a crate's `tests/vectors/`.
//!
//! The format is deliberately tiny so that vectors produced by other tools (Python's
//! `hashlib`, the RFC texts) can be written without a serialisation library:
//!
//! ```text
//! # a comment
//! key = value
//! other = value
//!
//! key = value      <- a blank line ends a record
//! ```
//!
//! Keys are case-sensitive; values are trimmed. Hex-encoded values are decoded with
//! [`hex_decode`]; values with C-style escapes (multi-line HTTP heads) with [`unescape`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// One record of a vector file: its `key = value` pairs in file order, and the line it began on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line number of the record's first line, for failure messages.
    pub line: usize,
    fields: BTreeMap<String, String>,
}

impl Record {
    /// The value of `key`.
    ///
    /// # Panics
    ///
    /// Panics (failing the test) when the record has no such key.
    pub fn get(&self, key: &str) -> &str {
        match self.fields.get(key) {
            Some(v) => v,
            None => panic!("vector record at line {} has no `{key}`", self.line),
        }
    }

    /// The value of `key`, if present.
    pub fn try_get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    /// The value of `key` decoded from hex.
    ///
    /// # Panics
    ///
    /// Panics (failing the test) when the key is missing or the value is not hex.
    pub fn hex(&self, key: &str) -> Vec<u8> {
        hex_decode(self.get(key))
            .unwrap_or_else(|e| panic!("vector record at line {}: `{key}`: {e}", self.line))
    }

    /// The value of `key` with its escapes decoded (see [`unescape`]).
    ///
    /// # Panics
    ///
    /// Panics (failing the test) when the key is missing or an escape is invalid.
    pub fn unescaped(&self, key: &str) -> Vec<u8> {
        unescape(self.get(key))
            .unwrap_or_else(|e| panic!("vector record at line {}: `{key}`: {e}", self.line))
    }
}

/// Parses the text of a vector file into records.
///
/// # Panics
///
/// Panics (failing the test) on a line that is neither blank, a comment, nor `key = value`,
/// or on a key repeated within one record.
pub fn parse(text: &str) -> Vec<Record> {
    let mut records = Vec::new();
    let mut current: Option<Record> = None;
    for (idx, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            if let Some(rec) = current.take() {
                records.push(rec);
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            panic!(
                "vector line {}: expected `key = value`, got {raw:?}",
                idx + 1
            );
        };
        let rec = current.get_or_insert_with(|| Record {
            line: idx + 1,
            fields: BTreeMap::new(),
        });
        let key = key.trim().to_owned();
        if rec.fields.contains_key(&key) {
            panic!(
                "vector line {}: key `{key}` repeated in one record",
                idx + 1
            );
        }
        rec.fields.insert(key, value.trim().to_owned());
    }
    if let Some(rec) = current.take() {
        records.push(rec);
    }
    records
}

/// Reads and parses a vector file.
///
/// # Panics
///
/// Panics (failing the test) when the file cannot be read or parsed.
pub fn load(path: impl AsRef<Path>) -> Vec<Record> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()));
    parse(&text)
}

/// Why a hex string did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexError {
    /// Byte offset of the offending character, or the length for an odd-length input.
    pub offset: usize,
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid hex at offset {}", self.offset)
    }
}

impl std::error::Error for HexError {}

/// Decodes a hex string (either case; no separators).
///
/// # Errors
///
/// Returns [`HexError`] for an odd length or a non-hex character.
pub fn hex_decode(s: &str) -> Result<Vec<u8>, HexError> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(HexError {
            offset: bytes.len(),
        });
    }
    let nibble = |i: usize| -> Result<u8, HexError> {
        let c = bytes[i];
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(HexError { offset: i }),
        }
    };
    (0..bytes.len() / 2)
        .map(|i| Ok(nibble(2 * i)? << 4 | nibble(2 * i + 1)?))
        .collect()
}

/// Why an escaped string did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapeError {
    /// Byte offset of the backslash that starts the bad escape.
    pub offset: usize,
}

impl fmt::Display for EscapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid escape at offset {}", self.offset)
    }
}

impl std::error::Error for EscapeError {}

/// Decodes C-style escapes: `\r`, `\n`, `\t`, `\\`, `\s` (a space, since values are
/// trimmed), `\0` and `\xHH`. Other bytes stand for themselves.
///
/// # Errors
///
/// Returns [`EscapeError`] for an unknown escape or a bad `\x` sequence.
pub fn unescape(s: &str) -> Result<Vec<u8>, EscapeError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let err = EscapeError { offset: i };
        let decoded = match bytes.get(i + 1) {
            Some(b'r') => b'\r',
            Some(b'n') => b'\n',
            Some(b't') => b'\t',
            Some(b's') => b' ',
            Some(b'0') => 0,
            Some(b'\\') => b'\\',
            Some(b'x') => {
                let hex = s.get(i + 2..i + 4).ok_or(err.clone())?;
                let v = hex_decode(hex).map_err(|_| err.clone())?;
                out.extend_from_slice(&v);
                i += 4;
                continue;
            }
            _ => return Err(err),
        };
        out.push(decoded);
        i += 2;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_records_separated_by_blank_lines() {
        let recs = parse("# c\na = 1\nb = x y\n\n\na = 2\n");
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].get("b"), "x y");
        assert_eq!(recs[1].get("a"), "2");
        assert_eq!(recs[1].line, 6);
    }

    #[test]
    fn unescapes_http_heads() {
        assert_eq!(
            unescape(r"GET / HTTP/1.1\r\nA:\sb\x00\\\t\n").unwrap(),
            b"GET / HTTP/1.1\r\nA: b\x00\\\t\n"
        );
        assert_eq!(unescape(r"a\q"), Err(EscapeError { offset: 1 }));
        assert_eq!(unescape(r"\x4"), Err(EscapeError { offset: 0 }));
        assert_eq!(unescape(r"\xzz"), Err(EscapeError { offset: 0 }));
        assert_eq!(unescape("\\"), Err(EscapeError { offset: 0 }));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(hex_decode("00fF10").unwrap(), vec![0, 255, 16]);
        assert_eq!(hex_decode("abc"), Err(HexError { offset: 3 }));
        assert_eq!(hex_decode("zz"), Err(HexError { offset: 0 }));
    }
}
