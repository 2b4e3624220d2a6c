//! `Sec-WebSocket-Extensions` values (RFC 6455 §9.1): parsing and formatting.
//!
//! ```text
//! extension-list  = 1#extension
//! extension       = extension-token *( ";" extension-param )
//! extension-param = token [ "=" ( token | quoted-string ) ]
//!     ; When using the quoted-string syntax variant, the value after quoted-string
//!     ; unescaping MUST conform to the 'token' ABNF.
//! ```
//!
//! The tokenizer is one forward pass with no backtracking; whitespace (SP, HTAB) is allowed
//! around every separator, and empty list elements are skipped (RFC 9110 §5.6.1.2).

use std::fmt;

use super::list::{is_ows, is_tchar, is_token};

/// One element of a `Sec-WebSocket-Extensions` list: an extension offered by a client, or
/// one a server agreed to (RFC 6455 §9.1).
///
/// Offers keep their order and their parameters keep theirs, duplicates included: RFC 7692
/// (permessage-deflate) negotiation, built on this type, must see offers in preference
/// order and decline an offer that repeats a parameter. A quoted value is stored
/// unescaped (`x="10"` and `x=10` give the same value).
///
/// ```
/// use sockeye_ws::handshake::ExtensionOffer;
///
/// let offers =
///     ExtensionOffer::parse_list("permessage-deflate; client_max_window_bits, foo; x=\"1\"")?;
/// assert_eq!(offers[0].name, "permessage-deflate");
/// assert_eq!(offers[0].params, [("client_max_window_bits".to_owned(), None)]);
/// assert_eq!(offers[1].params, [("x".to_owned(), Some("1".to_owned()))]);
/// assert_eq!(
///     ExtensionOffer::format_list(&offers),
///     "permessage-deflate; client_max_window_bits, foo; x=1"
/// );
/// # Ok::<(), sockeye_ws::handshake::ExtensionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionOffer {
    /// The extension token, such as `permessage-deflate`.
    pub name: String,
    /// Parameters in order: name, and value if one was given.
    pub params: Vec<(String, Option<String>)>,
}

/// Why a `Sec-WebSocket-Extensions` value breaks the RFC 6455 §9.1 grammar. Offsets count
/// bytes from the start of the field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtensionError {
    /// An extension name or parameter name was expected.
    #[error("expected a token at offset {offset}")]
    ExpectedToken {
        /// Where the token should start.
        offset: usize,
    },
    /// A byte that the grammar does not allow here.
    #[error("unexpected byte at offset {offset}")]
    UnexpectedByte {
        /// Offset of the byte.
        offset: usize,
    },
    /// A quoted string without its closing quote.
    #[error("unterminated quoted string at offset {offset}")]
    UnterminatedQuote {
        /// Offset of the opening quote.
        offset: usize,
    },
    /// A quoted parameter value that is not a token once unescaped (RFC 6455 §9.1).
    #[error("quoted value at offset {offset} is not a token")]
    QuotedValueNotToken {
        /// Offset of the opening quote.
        offset: usize,
    },
}

impl ExtensionOffer {
    /// An offer of extension `name` with no parameters.
    ///
    /// The name is checked when the offer is used ([`ClientRequest::with_extension`]);
    /// see [`is_valid`](Self::is_valid).
    ///
    /// [`ClientRequest::with_extension`]: super::ClientRequest::with_extension
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter without a value, such as `client_max_window_bits`.
    #[must_use]
    pub fn with_param(mut self, name: impl Into<String>) -> Self {
        self.params.push((name.into(), None));
        self
    }

    /// Adds a parameter with a value, such as `server_max_window_bits=10`.
    #[must_use]
    pub fn with_param_value(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), Some(value.into())));
        self
    }

    /// The first value of parameter `name`: `None` when absent, `Some(None)` when present
    /// without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref())
    }

    /// Whether the name, every parameter name and every value are tokens, as RFC 6455 §9.1
    /// requires (a value is always sent unquoted, since it must be a token anyway).
    pub fn is_valid(&self) -> bool {
        is_token(self.name.as_bytes())
            && self.params.iter().all(|(n, v)| {
                is_token(n.as_bytes()) && v.as_ref().is_none_or(|v| is_token(v.as_bytes()))
            })
    }

    /// Parses one `Sec-WebSocket-Extensions` field value into its elements, in order.
    ///
    /// Empty elements are skipped, so an empty value gives an empty list (RFC 9110
    /// §5.6.1.2). When a header has several lines, parse each and concatenate.
    ///
    /// # Errors
    ///
    /// [`ExtensionError`] when the value breaks the RFC 6455 §9.1 grammar.
    pub fn parse_list(value: impl AsRef<[u8]>) -> Result<Vec<Self>, ExtensionError> {
        Parser {
            bytes: value.as_ref(),
            pos: 0,
        }
        .list()
    }

    /// Formats offers as one `Sec-WebSocket-Extensions` value: `a; p=1, b`.
    pub fn format_list(offers: &[Self]) -> String {
        let mut out = String::new();
        for (i, offer) in offers.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&offer.to_string());
        }
        out
    }
}

impl fmt::Display for ExtensionOffer {
    /// The RFC 6455 §9.1 form: `name; param; param=value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            write!(f, "; {name}")?;
            if let Some(value) = value {
                write!(f, "={value}")?;
            }
        }
        Ok(())
    }
}

/// The single-pass tokenizer over one field value.
struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Result<String, ExtensionError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        match self.bytes.get(start..self.pos) {
            // tchar is ASCII, so the lossy conversion never replaces anything.
            Some(tok) if !tok.is_empty() => Ok(String::from_utf8_lossy(tok).into_owned()),
            _ => Err(ExtensionError::ExpectedToken { offset: start }),
        }
    }

    fn list(mut self) -> Result<Vec<ExtensionOffer>, ExtensionError> {
        let mut offers = Vec::new();
        loop {
            self.skip_ows();
            match self.peek() {
                None => return Ok(offers),
                Some(b',') => {
                    // An empty element.
                    self.pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            offers.push(self.extension()?);
            self.skip_ows();
            match self.peek() {
                None => return Ok(offers),
                Some(b',') => self.pos += 1,
                Some(_) => return Err(ExtensionError::UnexpectedByte { offset: self.pos }),
            }
        }
    }

    fn extension(&mut self) -> Result<ExtensionOffer, ExtensionError> {
        let name = self.token()?;
        let mut params = Vec::new();
        loop {
            self.skip_ows();
            if self.peek() != Some(b';') {
                return Ok(ExtensionOffer { name, params });
            }
            self.pos += 1;
            self.skip_ows();
            let param = self.token()?;
            self.skip_ows();
            let value = if self.peek() == Some(b'=') {
                self.pos += 1;
                self.skip_ows();
                Some(self.value()?)
            } else {
                None
            };
            params.push((param, value));
        }
    }

    fn value(&mut self) -> Result<String, ExtensionError> {
        if self.peek() != Some(b'"') {
            return self.token();
        }
        let open = self.pos;
        self.pos += 1;
        let mut unescaped = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(ExtensionError::UnterminatedQuote { offset: open });
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    // RFC 9110 §5.6.4: quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                    match self.peek() {
                        None => return Err(ExtensionError::UnterminatedQuote { offset: open }),
                        Some(e) if is_qpair_char(e) => {
                            unescaped.push(e);
                            self.pos += 1;
                        }
                        Some(_) => return Err(ExtensionError::UnexpectedByte { offset: self.pos }),
                    }
                }
                b if is_qdtext(b) => unescaped.push(b),
                _ => {
                    return Err(ExtensionError::UnexpectedByte {
                        offset: self.pos - 1,
                    });
                }
            }
        }
        // RFC 6455 §9.1: the unescaped value MUST conform to the token ABNF.
        if !is_token(&unescaped) {
            return Err(ExtensionError::QuotedValueNotToken { offset: open });
        }
        Ok(String::from_utf8_lossy(&unescaped).into_owned())
    }
}

/// RFC 9110 §5.6.4: `qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text`.
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..=0xFF)
}

/// RFC 9110 §5.6.4: the byte after a backslash, `HTAB / SP / VCHAR / obs-text`.
fn is_qpair_char(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7E | 0x80..=0xFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<ExtensionOffer>, ExtensionError> {
        ExtensionOffer::parse_list(s)
    }

    #[test]
    fn parses_names_params_and_values_in_order() {
        let got = parse("a;x;y=1 ;z = \"2\" , b,a; x").unwrap();
        assert_eq!(
            got,
            [
                ExtensionOffer::new("a")
                    .with_param("x")
                    .with_param_value("y", "1")
                    .with_param_value("z", "2"),
                ExtensionOffer::new("b"),
                ExtensionOffer::new("a").with_param("x"),
            ]
        );
        assert_eq!(got[0].param("y"), Some(Some("1")));
        assert_eq!(got[0].param("x"), Some(None));
        assert_eq!(got[0].param("w"), None);
    }

    #[test]
    fn empty_elements_are_skipped() {
        assert_eq!(parse("").unwrap(), []);
        assert_eq!(parse(" , ,").unwrap(), []);
        assert_eq!(parse(",a,,b,").unwrap().len(), 2);
    }

    #[test]
    fn quoted_values_are_unescaped_and_must_be_tokens() {
        assert_eq!(
            parse(r#"a; x="1\0""#).unwrap()[0].param("x"),
            Some(Some("10"))
        );
        assert_eq!(
            parse(r#"a; x="1 0""#),
            Err(ExtensionError::QuotedValueNotToken { offset: 5 })
        );
        assert_eq!(
            parse(r#"a; x="""#),
            Err(ExtensionError::QuotedValueNotToken { offset: 5 })
        );
        assert_eq!(
            parse(r#"a; x="1,2", b"#),
            Err(ExtensionError::QuotedValueNotToken { offset: 5 })
        );
        assert_eq!(
            parse(r#"a; x="10"#),
            Err(ExtensionError::UnterminatedQuote { offset: 5 })
        );
        assert_eq!(
            parse(r#"a; x="10\"#),
            Err(ExtensionError::UnterminatedQuote { offset: 5 })
        );
        assert_eq!(
            parse("a; x=\"1\x010\""),
            Err(ExtensionError::UnexpectedByte { offset: 7 })
        );
    }

    #[test]
    fn bad_grammar_is_refused_with_its_offset() {
        let cases: &[(&str, ExtensionError)] = &[
            (";x", ExtensionError::ExpectedToken { offset: 0 }),
            ("a;", ExtensionError::ExpectedToken { offset: 2 }),
            ("a; =1", ExtensionError::ExpectedToken { offset: 3 }),
            ("a; x=", ExtensionError::ExpectedToken { offset: 5 }),
            ("a; x==1", ExtensionError::ExpectedToken { offset: 5 }),
            ("a b", ExtensionError::UnexpectedByte { offset: 2 }),
            ("a; x=1 2", ExtensionError::UnexpectedByte { offset: 7 }),
            ("a; x=1/2", ExtensionError::UnexpectedByte { offset: 6 }),
            ("\"a\"", ExtensionError::ExpectedToken { offset: 0 }),
            ("a\x00", ExtensionError::UnexpectedByte { offset: 1 }),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), Err(*want), "{input:?}");
        }
    }

    #[test]
    fn format_round_trips() {
        let s = "permessage-deflate; client_max_window_bits; server_max_window_bits=10, x";
        let offers = parse(s).unwrap();
        assert_eq!(ExtensionOffer::format_list(&offers), s);
        assert_eq!(
            parse(&ExtensionOffer::format_list(&offers)).unwrap(),
            offers
        );
    }

    #[test]
    fn validity() {
        assert!(
            ExtensionOffer::new("a")
                .with_param_value("b", "1")
                .is_valid()
        );
        assert!(!ExtensionOffer::new("a b").is_valid());
        assert!(!ExtensionOffer::new("a").with_param("").is_valid());
        assert!(
            !ExtensionOffer::new("a")
                .with_param_value("b", "1 2")
                .is_valid()
        );
    }
}
