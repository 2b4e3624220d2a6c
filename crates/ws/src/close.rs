//! Close codes and close frames (RFC 6455 §5.5.1, §7.4).

use std::fmt;

use crate::message::Utf8Bytes;

/// A close status code (RFC 6455 §7.4).
///
/// An open code space, so a newtype with constants rather than a closed enum: codes 3000–3999
/// are registered by libraries and frameworks, 4000–4999 are for private use.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose for which the connection was established has been fulfilled.
    pub const NORMAL: Self = Self(1000);
    /// 1001: an endpoint is going away (server shutdown, browser navigating away).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: the endpoint is terminating the connection due to a protocol error.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: the endpoint received a type of data it cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1005: reserved; stands for "no status code was present" and is never sent.
    pub const NO_STATUS_RECEIVED: Self = Self(1005);
    /// 1006: reserved; stands for "closed without a Close frame" and is never sent.
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: a message's data was not consistent with its type (such as invalid UTF-8 text).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message was too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: the client expected the server to negotiate an extension it did not.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later (temporary overload).
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: a gateway or proxy received an invalid response from upstream.
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: reserved; stands for "the TLS handshake failed" and is never sent.
    pub const TLS_HANDSHAKE: Self = Self(1015);

    /// Whether this code may appear in a Close frame on the wire.
    ///
    /// RFC 6455 §7.4.1 defines 1000–1003 and 1007–1011; the IANA registry adds 1012–1014;
    /// 3000–4999 are for libraries and applications. Everything else — 0–999, 1004, the
    /// never-sent 1005 / 1006 / 1015, 1016–2999, 5000 and up — is refused (Autobahn 7.9.x).
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        Self(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

/// The contents of a Close frame received from the peer.
///
/// A Close frame with an empty payload is reported with code
/// [`CloseCode::NO_STATUS_RECEIVED`] and an empty reason (RFC 6455 §7.1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason text, at most 123 bytes of UTF-8.
    pub reason: Utf8Bytes,
}

/// The most bytes of reason text a Close frame can carry: 125 bytes of control payload
/// less the 2-byte code (RFC 6455 §5.5).
pub const MAX_CLOSE_REASON: usize = 123;

/// Truncates `reason` to at most [`MAX_CLOSE_REASON`] bytes on a character boundary.
pub(crate) fn truncate_reason(reason: &str) -> &str {
    if reason.len() <= MAX_CLOSE_REASON {
        return reason;
    }
    let mut end = MAX_CLOSE_REASON;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_validity_matches_autobahn_7_7_and_7_9() {
        for ok in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            assert!(CloseCode(ok).is_valid_on_wire(), "{ok}");
        }
        for bad in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!CloseCode(bad).is_valid_on_wire(), "{bad}");
        }
    }

    #[test]
    fn reasons_truncate_on_char_boundaries() {
        let long = "é".repeat(100);
        let t = truncate_reason(&long);
        assert!(t.len() <= MAX_CLOSE_REASON);
        assert_eq!(t.len(), 122);
        assert_eq!(truncate_reason("short"), "short");
    }
}
