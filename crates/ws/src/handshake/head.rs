//! Finding the end of an HTTP/1.1 head in a byte stream, under hard caps, in linear time.
//!
//! The scanner looks at every byte exactly once, whatever the split of the input, and
//! keeps only the head itself (never more than [`HeadLimits::max_head_len`] bytes). When
//! it sees the empty line that ends the head, the caller runs `httparse` once over the
//! buffered head. This is the fix for the quadratic re-parse of RUSTSEC-2023-0065, where
//! the whole buffer was parsed again on every read.
//!
//! Every check is tied to the byte at which it fails, so feeding the same bytes in any
//! split gives the same verdict at the same offset.

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue};

/// Caps on an HTTP head (request or response) received from the peer.
///
/// The defaults follow python-websockets (`MAX_LINE_LENGTH` 8192, `MAX_NUM_HEADERS` 128)
/// and the 64 KiB total that tungstenite adopted after RUSTSEC-2023-0065. A server answers
/// an overlong request line with 414 and the other caps with 431.
///
/// ```
/// use sockeye_ws::handshake::HeadLimits;
///
/// let mut limits = HeadLimits::default();
/// limits.max_headers = 32;
/// assert_eq!(limits.max_line_len, 8 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeadLimits {
    /// Longest request line, status line or header line, in bytes, not counting its line
    /// ending. Default 8 KiB.
    pub max_line_len: usize,
    /// Most header lines. Default 128. Values above [`MAX_HEADERS_CEILING`] act as that
    /// ceiling.
    ///
    /// [`MAX_HEADERS_CEILING`]: Self::MAX_HEADERS_CEILING
    pub max_headers: usize,
    /// Most bytes in the whole head, line endings and the final empty line included.
    /// Default 64 KiB.
    pub max_head_len: usize,
}

impl HeadLimits {
    /// Default [`max_line_len`](Self::max_line_len): 8 KiB.
    pub const DEFAULT_MAX_LINE_LEN: usize = 8 * 1024;
    /// Default [`max_headers`](Self::max_headers): 128.
    pub const DEFAULT_MAX_HEADERS: usize = 128;
    /// Default [`max_head_len`](Self::max_head_len): 64 KiB.
    pub const DEFAULT_MAX_HEAD_LEN: usize = 64 * 1024;
    /// The most header lines any head may have, whatever
    /// [`max_headers`](Self::max_headers) says: 16 384, half of what an `http::HeaderMap`
    /// can hold.
    pub const MAX_HEADERS_CEILING: usize = 16 * 1024;

    /// The header-line cap in force: [`max_headers`](Self::max_headers), at most
    /// [`MAX_HEADERS_CEILING`](Self::MAX_HEADERS_CEILING).
    pub fn effective_max_headers(&self) -> usize {
        self.max_headers.min(Self::MAX_HEADERS_CEILING)
    }
}

impl Default for HeadLimits {
    fn default() -> Self {
        Self {
            max_line_len: Self::DEFAULT_MAX_LINE_LEN,
            max_headers: Self::DEFAULT_MAX_HEADERS,
            max_head_len: Self::DEFAULT_MAX_HEAD_LEN,
        }
    }
}

/// A cap the scanner enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// The request line or status line is longer than `max_line_len`.
    FirstLineTooLong,
    /// A header line is longer than `max_line_len`.
    HeaderLineTooLong,
    /// More than `max_headers` header lines.
    TooManyHeaders,
    /// More than `max_head_len` bytes before the end of the head.
    HeadTooLarge,
}

/// Incremental end-of-head finder. See the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct HeadScanner {
    limits: HeadLimits,
    /// The head received so far; never longer than `limits.max_head_len`.
    buf: Vec<u8>,
    /// Bytes of the current line received so far, a trailing `\r` included.
    line_len: usize,
    /// Whether the last byte of the current line is `\r` (part of a CRLF, maybe).
    last_cr: bool,
    /// Whether the request or status line has been seen (leading empty lines are skipped,
    /// RFC 9112 §2.2, as httparse does).
    seen_first_line: bool,
    /// Complete header lines seen so far.
    headers: usize,
}

/// What one call to [`HeadScanner::feed`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// Every byte was taken; the head goes on.
    Partial,
    /// The head ended after `consumed` bytes of this input; [`HeadScanner::head`] holds it.
    Complete {
        /// Bytes of this input that belonged to the head.
        consumed: usize,
        /// Header lines in the head.
        headers: usize,
    },
}

impl HeadScanner {
    pub(crate) fn new(limits: HeadLimits) -> Self {
        Self {
            limits,
            buf: Vec::new(),
            line_len: 0,
            last_cr: false,
            seen_first_line: false,
            headers: 0,
        }
    }

    pub(crate) fn limits(&self) -> &HeadLimits {
        &self.limits
    }

    /// Bytes buffered for the head in progress.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The complete head, after `feed` returned [`Scan::Complete`].
    pub(crate) fn head(&self) -> &[u8] {
        &self.buf
    }

    /// Forgets the head, ready for the next one, and frees its buffer: a parser kept
    /// after the handshake holds no memory.
    pub(crate) fn reset(&mut self) {
        self.buf = Vec::new();
        self.line_len = 0;
        self.last_cr = false;
        self.seen_first_line = false;
        self.headers = 0;
    }

    /// Scans `data`, the next bytes of the stream.
    ///
    /// After an error or [`Scan::Complete`] the caller must [`reset`](Self::reset) before
    /// feeding again.
    pub(crate) fn feed(&mut self, data: &[u8]) -> Result<Scan, ScanError> {
        let room = self.limits.max_head_len.saturating_sub(self.buf.len());
        for (i, &byte) in data.iter().enumerate() {
            if i >= room {
                return Err(ScanError::HeadTooLarge);
            }
            if byte == b'\n' {
                let content = self.line_len - usize::from(self.last_cr);
                self.line_len = 0;
                self.last_cr = false;
                if content == 0 {
                    if self.seen_first_line {
                        let consumed = i + 1;
                        self.buf
                            .extend_from_slice(data.get(..consumed).unwrap_or(data));
                        return Ok(Scan::Complete {
                            consumed,
                            headers: self.headers,
                        });
                    }
                } else if !self.seen_first_line {
                    self.seen_first_line = true;
                } else {
                    self.headers += 1;
                    if self.headers > self.limits.effective_max_headers() {
                        return Err(ScanError::TooManyHeaders);
                    }
                }
            } else {
                // `line_len` is bounded by `max_line_len + 2` here, never overflows.
                self.line_len += 1;
                self.last_cr = byte == b'\r';
                // A trailing `\r` may be half of the line ending: not counted until the
                // next byte says otherwise.
                let content = self.line_len - usize::from(self.last_cr);
                if content > self.limits.max_line_len {
                    return Err(if self.seen_first_line {
                        ScanError::HeaderLineTooLong
                    } else {
                        ScanError::FirstLineTooLong
                    });
                }
            }
        }
        self.buf.extend_from_slice(data);
        Ok(Scan::Partial)
    }
}

/// Why httparse's headers did not convert into an `http::HeaderMap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderMapError {
    /// A name `http` refuses.
    Name,
    /// A value `http` refuses.
    Value,
    /// More headers than the map holds (not reached under the scanner's ceiling).
    Full,
}

/// Copies parsed headers into a map, in order, without a path that panics.
pub(crate) fn header_map(headers: &[httparse::Header<'_>]) -> Result<HeaderMap, HeaderMapError> {
    let mut map = HeaderMap::try_with_capacity(headers.len()).map_err(|_| HeaderMapError::Full)?;
    for h in headers {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| HeaderMapError::Name)?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| HeaderMapError::Value)?;
        map.try_append(name, value)
            .map_err(|_| HeaderMapError::Full)?;
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(line: usize, headers: usize, head: usize) -> HeadLimits {
        HeadLimits {
            max_line_len: line,
            max_headers: headers,
            max_head_len: head,
        }
    }

    fn scan_whole(limits: HeadLimits, data: &[u8]) -> Result<Scan, ScanError> {
        HeadScanner::new(limits).feed(data)
    }

    fn scan_bytewise(limits: HeadLimits, data: &[u8]) -> Result<Scan, ScanError> {
        let mut s = HeadScanner::new(limits);
        for (i, b) in data.iter().enumerate() {
            match s.feed(std::slice::from_ref(b))? {
                Scan::Partial => {}
                Scan::Complete { consumed, headers } => {
                    return Ok(Scan::Complete {
                        consumed: i + consumed,
                        headers,
                    });
                }
            }
        }
        Ok(Scan::Partial)
    }

    #[test]
    fn finds_end_of_head_with_crlf_and_lf() {
        for head in [
            &b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest"[..],
            b"GET / HTTP/1.1\nA: b\n\nrest",
        ] {
            let want = Scan::Complete {
                consumed: head.len() - 4,
                headers: 1,
            };
            assert_eq!(scan_whole(HeadLimits::default(), head), Ok(want));
            assert_eq!(scan_bytewise(HeadLimits::default(), head), Ok(want));
        }
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let head = b"\r\n\nGET / HTTP/1.1\r\n\r\n";
        assert_eq!(
            scan_whole(HeadLimits::default(), head),
            Ok(Scan::Complete {
                consumed: head.len(),
                headers: 0
            })
        );
    }

    #[test]
    fn line_cap_counts_content_not_line_ending() {
        // 4 content bytes fit a cap of 4, with CRLF, LF, or a CR that arrives alone.
        let ok = b"abcd\r\nefgh\r\n\r\n";
        assert!(matches!(
            scan_bytewise(limits(4, 8, 100), ok),
            Ok(Scan::Complete { .. })
        ));
        assert_eq!(
            scan_whole(limits(4, 8, 100), b"abcde"),
            Err(ScanError::FirstLineTooLong)
        );
        assert_eq!(
            scan_whole(limits(4, 8, 100), b"abcd\r\r"),
            Err(ScanError::FirstLineTooLong)
        );
        assert_eq!(
            scan_whole(limits(4, 8, 100), b"abcd\r\nefghi"),
            Err(ScanError::HeaderLineTooLong)
        );
    }

    #[test]
    fn header_count_cap_at_and_past_the_edge() {
        let two = b"GET\r\na\r\nb\r\n\r\n";
        assert!(matches!(
            scan_whole(limits(10, 2, 100), two),
            Ok(Scan::Complete { .. })
        ));
        assert_eq!(
            scan_whole(limits(10, 1, 100), two),
            Err(ScanError::TooManyHeaders)
        );
    }

    #[test]
    fn head_cap_includes_final_empty_line() {
        let head = b"GET\r\n\r\n";
        assert!(matches!(
            scan_whole(limits(10, 1, 7), head),
            Ok(Scan::Complete { .. })
        ));
        assert_eq!(
            scan_whole(limits(10, 1, 6), head),
            Err(ScanError::HeadTooLarge)
        );
        assert_eq!(
            scan_bytewise(limits(10, 1, 6), head),
            Err(ScanError::HeadTooLarge)
        );
    }

    #[test]
    fn header_count_ceiling_applies_to_huge_limits() {
        let l = limits(8192, usize::MAX, usize::MAX);
        assert_eq!(l.effective_max_headers(), HeadLimits::MAX_HEADERS_CEILING);
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        for _ in 0..=HeadLimits::MAX_HEADERS_CEILING {
            head.extend_from_slice(b"a: b\r\n");
        }
        assert_eq!(scan_whole(l, &head), Err(ScanError::TooManyHeaders));
    }

    #[test]
    fn header_map_keeps_order_and_repeats() {
        let parsed = [
            httparse::Header {
                name: "A",
                value: b"1",
            },
            httparse::Header {
                name: "b",
                value: b"2",
            },
            httparse::Header {
                name: "a",
                value: b"3",
            },
        ];
        let map = header_map(&parsed).unwrap();
        let a: Vec<_> = map.get_all("a").iter().collect();
        assert_eq!(a, ["1", "3"]);
        let bad = [httparse::Header {
            name: "a",
            value: b"\x00",
        }];
        assert_eq!(header_map(&bad), Err(HeaderMapError::Value));
    }

    #[test]
    fn reset_forgets_the_previous_head() {
        let mut s = HeadScanner::new(HeadLimits::default());
        assert!(matches!(s.feed(b"A\r\n\r\n"), Ok(Scan::Complete { .. })));
        s.reset();
        assert_eq!(s.buffered(), 0);
        assert_eq!(s.feed(b"B\r\n"), Ok(Scan::Partial));
        assert_eq!(s.head(), b"B\r\n");
    }
}
