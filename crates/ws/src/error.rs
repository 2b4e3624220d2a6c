//! Errors: peer faults ([`ProtocolError`], each with its close code), local misuse
//! ([`SendError`]) and bad configuration ([`ConfigError`]).

use crate::close::CloseCode;

/// A fault of the peer that fails the connection (RFC 6455 §7.1.7).
///
/// Never returned as an `Err`: the connection queues a Close frame with
/// [`ProtocolError::close_code`] and reports the fault as
/// [`Event::Failed`](crate::Event::Failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode the RFC reserves (0x3–0x7, 0xB–0xF). RFC 6455 §5.2.
    #[error("reserved opcode {opcode:#x}")]
    ReservedOpcode {
        /// The opcode received.
        opcode: u8,
    },
    /// RSV1–3 set without a negotiated extension that defines them. RFC 6455 §5.2.
    #[error("reserved bits set without a negotiated extension")]
    ReservedBits,
    /// A control frame with a payload over 125 bytes. RFC 6455 §5.5.
    #[error("control frame payload of {len} bytes exceeds 125")]
    ControlFrameTooLong {
        /// The declared payload length.
        len: u64,
    },
    /// A control frame without FIN. RFC 6455 §5.5.
    #[error("fragmented control frame")]
    FragmentedControlFrame,
    /// A 64-bit payload length with the most significant bit set. RFC 6455 §5.2.
    #[error("payload length with the most significant bit set")]
    InvalidLength,
    /// An unmasked frame received by a server. RFC 6455 §5.1.
    #[error("unmasked frame from a client")]
    UnmaskedFrame,
    /// A masked frame received by a client. RFC 6455 §5.1.
    #[error("masked frame from a server")]
    MaskedFrame,
    /// A continuation frame with no fragmented message in progress. RFC 6455 §5.4.
    #[error("continuation frame without a message in progress")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress. RFC 6455 §5.4.
    #[error("new data frame while a fragmented message is in progress")]
    ExpectedContinuation,
    /// A Close frame whose payload is a single byte. RFC 6455 §5.5.1.
    #[error("close frame payload of one byte")]
    InvalidClosePayload,
    /// A Close frame with a code that may not be sent. RFC 6455 §7.4.
    #[error("invalid close code {code}")]
    InvalidCloseCode {
        /// The code received.
        code: u16,
    },
    /// A text message, or a close reason, that is not valid UTF-8. RFC 6455 §8.1.
    #[error("invalid utf-8 in text")]
    InvalidUtf8,
    /// A compressed message that is not valid deflate data (RFC 7692 §7.2.2).
    #[error("invalid compressed data")]
    InvalidCompressedData,
    /// A frame larger than the configured maximum.
    #[error("frame of {len} bytes exceeds the limit of {limit}")]
    FrameTooLarge {
        /// The declared payload length.
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message larger than the configured maximum.
    #[error("message of {len} bytes or more exceeds the limit of {limit}")]
    MessageTooLarge {
        /// The message length the frame would bring it to.
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message in more fragments than the configured maximum.
    #[error("message in more than {limit} fragments")]
    TooManyFragments {
        /// The configured limit.
        limit: usize,
    },
    /// The peer did not answer a keepalive ping in time.
    #[error("keepalive ping timeout")]
    KeepaliveTimeout,
}

impl ProtocolError {
    /// The close code that reports this fault to the peer; the one place faults map to codes.
    pub fn close_code(&self) -> CloseCode {
        use ProtocolError::*;
        match self {
            ReservedOpcode { .. }
            | ReservedBits
            | ControlFrameTooLong { .. }
            | FragmentedControlFrame
            | InvalidLength
            | UnmaskedFrame
            | MaskedFrame
            | UnexpectedContinuation
            | ExpectedContinuation
            | InvalidClosePayload
            | InvalidCloseCode { .. } => CloseCode::PROTOCOL_ERROR,
            InvalidUtf8 | InvalidCompressedData => CloseCode::INVALID_PAYLOAD,
            FrameTooLarge { .. } | MessageTooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            TooManyFragments { .. } => CloseCode::POLICY_VIOLATION,
            // 1011 goes out with a generic reason; see `close_reason`.
            KeepaliveTimeout => CloseCode::INTERNAL_ERROR,
        }
    }

    /// The reason text sent in the Close frame: the error message, except for 1011, whose
    /// reason never describes internals.
    pub(crate) fn close_reason(&self) -> String {
        match self.close_code() {
            CloseCode::INTERNAL_ERROR => String::from("internal error"),
            _ => self.to_string(),
        }
    }
}

/// A command the connection cannot carry out in its current state: local misuse, not a
/// peer fault. The connection is unchanged when a command returns one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A Close frame has been sent or the connection is closed; no more data may be sent
    /// (RFC 6455 §5.5.1).
    #[error("the connection is closing or closed")]
    Closed,
    /// A fragmented message is in progress; finish it before starting another message.
    #[error("a fragmented message is in progress")]
    FragmentInProgress,
    /// A continuation fragment of a different kind than the message in progress.
    #[error("fragment kind does not match the message in progress")]
    FragmentKindMismatch,
    /// A control frame payload over 125 bytes (RFC 6455 §5.5).
    #[error("control frame payload of {len} bytes exceeds 125")]
    ControlTooLong {
        /// The payload length given.
        len: usize,
    },
    /// A close code that may not be sent (RFC 6455 §7.4).
    #[error("close code {code} may not be sent")]
    InvalidCloseCode {
        /// The code given.
        code: u16,
    },
    /// Text fragments that are not valid UTF-8 so far (RFC 6455 §5.6).
    #[error("text fragment is not valid utf-8")]
    InvalidUtf8,
}

/// A configuration value out of range, found when the configuration is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A limit that must be at least one was zero.
    #[error("{name} must be at least 1")]
    Zero {
        /// The option's name.
        name: &'static str,
    },
    /// The frame limit exceeds the message limit.
    #[error("max_frame_size ({frame}) exceeds max_message_size ({message})")]
    FrameOverMessage {
        /// The frame limit.
        frame: usize,
        /// The message limit.
        message: usize,
    },
}
