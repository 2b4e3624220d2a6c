//! HTTP tokens and comma-separated lists (RFC 9110 §5.6), as the handshake headers use them.
//!
//! Single pass, no regular expression, no backtracking (CVE-2021-32640 was a ReDoS in a
//! `Sec-WebSocket-Protocol` split).

use http::HeaderMap;
use http::header::HeaderName;

/// RFC 9110 §5.6.2: `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// RFC 9110 §5.6.2: `token = 1*tchar`.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// RFC 9110 §5.6.3: `OWS = *( SP / HTAB )`.
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading and trailing OWS.
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

/// The elements of one list-valued field line, OWS trimmed. Empty elements are skipped:
/// RFC 9110 §5.6.1.2, "a recipient MUST parse and ignore a reasonable number of empty list
/// elements". Only for lists whose elements hold no quoted strings.
pub(crate) fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|item| !item.is_empty())
}

/// Whether any line of header `name` lists `token`, compared ASCII case-insensitively.
pub(crate) fn any_line_lists(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        list_items(value.as_bytes()).any(|item| item.eq_ignore_ascii_case(token.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header::{CONNECTION, UPGRADE};

    #[test]
    fn tokens() {
        assert!(is_token(b"permessage-deflate"));
        assert!(is_token(b"!#$%&'*+-.^_`|~09azAZ"));
        for bad in [
            &b""[..],
            b"a b",
            b"a,b",
            b"a/b",
            b"\"a\"",
            b"a=b",
            b"\xc3\xa9",
        ] {
            assert!(!is_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn trims_ows_only() {
        assert_eq!(trim_ows(b" \t a b\t "), b"a b");
        assert_eq!(trim_ows(b"  "), b"");
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b"\r a"), b"\r a");
    }

    #[test]
    fn list_items_skip_empty_elements() {
        let items: Vec<&[u8]> = list_items(b" ,a , ,b,, c ,").collect();
        assert_eq!(items, [&b"a"[..], b"b", b"c"]);
        assert_eq!(list_items(b"").count(), 0);
    }

    #[test]
    fn token_found_in_any_line_case_insensitively() {
        let mut h = HeaderMap::new();
        h.append(CONNECTION, HeaderValue::from_static("keep-alive"));
        h.append(CONNECTION, HeaderValue::from_static("foo, UpGrade"));
        assert!(any_line_lists(&h, &CONNECTION, "upgrade"));
        assert!(!any_line_lists(&h, &UPGRADE, "websocket"));
        h.append(UPGRADE, HeaderValue::from_static("websocket2, xwebsocket"));
        assert!(!any_line_lists(&h, &UPGRADE, "websocket"));
    }
}
