//! Engine.IO packets: types, data, and the single-packet codec used on WebSocket frames.

use base64::Engine as _;
use bytes::{BufMut, Bytes};

use crate::{Protocol, Str};

/// The seven Engine.IO packet types, the same in v3 and v4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: sent by the server when a session opens; its data is the handshake JSON.
    Open = 0,
    /// `1`: the transport can be closed.
    Close = 1,
    /// `2`: heartbeat request (v4: from the server; v3: from the client); `2probe` starts an
    /// upgrade.
    Ping = 2,
    /// `3`: heartbeat reply; `3probe` answers the upgrade probe.
    Pong = 3,
    /// `4`: application data.
    Message = 4,
    /// `5`: sent by the client on the new transport to complete an upgrade.
    Upgrade = 5,
    /// `6`: nothing; releases a pending poll.
    Noop = 6,
}

impl PacketType {
    /// The type for a type digit value `0..=6`.
    pub const fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0 => Self::Open,
            1 => Self::Close,
            2 => Self::Ping,
            3 => Self::Pong,
            4 => Self::Message,
            5 => Self::Upgrade,
            6 => Self::Noop,
            _ => return None,
        })
    }

    /// The type for an ASCII digit `b'0'..=b'6'`.
    pub const fn from_ascii(digit: u8) -> Option<Self> {
        match digit.checked_sub(b'0') {
            Some(v) => Self::from_u8(v),
            None => None,
        }
    }

    /// The ASCII digit that encodes this type in text.
    pub const fn as_ascii(self) -> u8 {
        b'0' + self as u8
    }
}

/// The data a packet carries: text, or binary (only message packets carry binary).
///
/// The same type names a WebSocket frame's content where the crate hands frames to an
/// adapter: [`Data::Text`] is a text frame, [`Data::Binary`] a binary frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Data {
    /// UTF-8 text; empty when the packet has no data.
    Text(Str),
    /// Binary data.
    Binary(Bytes),
}

impl Data {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(s) => s.len(),
            Self::Binary(b) => b.len(),
        }
    }

    /// Whether there is no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is binary data.
    pub fn is_binary(&self) -> bool {
        matches!(self, Self::Binary(_))
    }
}

impl Default for Data {
    fn default() -> Self {
        Self::Text(Str::new())
    }
}

impl From<&'static str> for Data {
    fn from(s: &'static str) -> Self {
        Self::Text(Str::from_static(s))
    }
}

impl From<String> for Data {
    fn from(s: String) -> Self {
        Self::Text(Str::from(s))
    }
}

impl From<Str> for Data {
    fn from(s: Str) -> Self {
        Self::Text(s)
    }
}

impl From<Bytes> for Data {
    fn from(b: Bytes) -> Self {
        Self::Binary(b)
    }
}

impl From<Vec<u8>> for Data {
    fn from(b: Vec<u8>) -> Self {
        Self::Binary(Bytes::from(b))
    }
}

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Packet {
    /// The packet type.
    pub kind: PacketType,
    /// Its data (empty text when it has none). Only [`PacketType::Message`] carries binary.
    pub data: Data,
}

/// Why bytes could not be decoded as Engine.IO packets. Every malformed input maps to one of
/// these; a session closes with reason "parse error" on any of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An empty packet (an empty body, or two separators in a row).
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type (`0`–`6`, or `b` for base64).
    #[error("unknown packet type {0:#04x}")]
    UnknownType(u8),
    /// Text that is not UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A `b` packet whose data is not base64.
    #[error("invalid base64")]
    InvalidBase64,
    /// Binary data on a packet type other than message.
    #[error("binary data on a {0:?} packet")]
    BinaryNotMessage(PacketType),
    /// A v3 length prefix that is not a decimal number, too long, or does not match the
    /// packet that follows.
    #[error("invalid length prefix")]
    InvalidLength,
    /// A v3 binary payload record that does not start with 0 (string) or 1 (binary).
    #[error("invalid binary payload record marker {0:#04x}")]
    InvalidMarker(u8),
    /// The payload ended inside a packet.
    #[error("payload truncated")]
    Truncated,
    /// A packet larger than the payload limit.
    #[error("packet larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// JSONP data that is not a form with a `d` field.
    #[error("invalid JSONP form body")]
    InvalidJsonp,
}

pub(crate) const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

impl Packet {
    /// A packet of `kind` with no data.
    pub const fn new(kind: PacketType) -> Self {
        Self {
            kind,
            data: Data::Text(Str::new()),
        }
    }

    /// A packet of `kind` with `data`.
    pub fn with_data(kind: PacketType, data: impl Into<Data>) -> Self {
        Self {
            kind,
            data: data.into(),
        }
    }

    /// A message packet.
    pub fn message(data: impl Into<Data>) -> Self {
        Self::with_data(PacketType::Message, data)
    }

    /// `2probe`.
    pub const fn ping_probe() -> Self {
        Self {
            kind: PacketType::Ping,
            data: Data::Text(Str::from_static("probe")),
        }
    }

    /// `3probe`.
    pub const fn pong_probe() -> Self {
        Self {
            kind: PacketType::Pong,
            data: Data::Text(Str::from_static("probe")),
        }
    }

    /// Whether this is a ping or pong carrying `probe`.
    pub fn is_probe(&self) -> bool {
        matches!((&self.kind, &self.data), (PacketType::Ping | PacketType::Pong, Data::Text(s)) if s == "probe")
    }

    /// Decodes a text packet: `<type digit><text>`, or a base64 binary message (`b<base64>` in
    /// v4, `b<type digit><base64>` in v3). This is the form of a WebSocket text frame and of
    /// each packet in a text payload.
    pub fn decode_text(protocol: Protocol, text: &Str) -> Result<Self, DecodeError> {
        decode_text_at(protocol, text.bytes(), 0, text.len(), false)
    }

    /// Decodes a WebSocket binary frame: in v4 the whole frame is a binary message; in v3 the
    /// first byte is the packet type.
    pub fn decode_binary(protocol: Protocol, frame: Bytes) -> Result<Self, DecodeError> {
        match protocol {
            Protocol::V4 => Ok(Self {
                kind: PacketType::Message,
                data: Data::Binary(frame),
            }),
            Protocol::V3 => {
                let &first = frame.first().ok_or(DecodeError::Empty)?;
                let kind = PacketType::from_u8(first).ok_or(DecodeError::UnknownType(first))?;
                if kind != PacketType::Message {
                    return Err(DecodeError::BinaryNotMessage(kind));
                }
                Ok(Self {
                    kind,
                    data: Data::Binary(frame.slice(1..)),
                })
            }
        }
    }

    /// Decodes one WebSocket frame's content.
    pub fn decode_frame(protocol: Protocol, frame: Data) -> Result<Self, DecodeError> {
        match frame {
            Data::Text(text) => Self::decode_text(protocol, &text),
            Data::Binary(bytes) => Self::decode_binary(protocol, bytes),
        }
    }

    /// Appends the text form (binary as base64) to `out`.
    pub fn encode_text(&self, protocol: Protocol, out: &mut Vec<u8>) {
        match &self.data {
            Data::Text(s) => {
                out.reserve(1 + s.len());
                out.push(self.kind.as_ascii());
                out.extend_from_slice(s.as_bytes());
            }
            Data::Binary(b) => {
                out.push(b'b');
                if protocol == Protocol::V3 {
                    out.push(self.kind.as_ascii());
                }
                base64_simd::STANDARD.encode_append(b.as_ref(), out);
            }
        }
    }

    /// Length of the text form in bytes.
    pub fn text_len(&self, protocol: Protocol) -> usize {
        match &self.data {
            Data::Text(s) => 1 + s.len(),
            Data::Binary(b) => {
                1 + usize::from(protocol == Protocol::V3)
                    + base64::encoded_len(b.len(), true).unwrap_or(usize::MAX)
            }
        }
    }

    /// The WebSocket frame that carries this packet: a text frame for text packets; for binary
    /// messages a binary frame (the data itself in v4, zero copy; prefixed with the type byte
    /// in v3).
    pub fn to_frame(&self, protocol: Protocol) -> Data {
        match &self.data {
            Data::Text(s) => {
                let mut out = Vec::with_capacity(1 + s.len());
                out.push(self.kind.as_ascii());
                out.extend_from_slice(s.as_bytes());
                Data::Text(Str::from_validated(Bytes::from(out)))
            }
            Data::Binary(b) => match protocol {
                Protocol::V4 => Data::Binary(b.clone()),
                Protocol::V3 => {
                    let mut out = Vec::with_capacity(1 + b.len());
                    out.put_u8(self.kind as u8);
                    out.extend_from_slice(b);
                    Data::Binary(Bytes::from(out))
                }
            },
        }
    }
}

/// Decodes the text packet at `input[start..end]`. `validate` is false when the caller has
/// checked UTF-8 already (one slice of `input`, no other reference-count traffic).
pub(crate) fn decode_text_at(
    protocol: Protocol,
    input: &Bytes,
    start: usize,
    end: usize,
    validate: bool,
) -> Result<Packet, DecodeError> {
    let raw = &input[start..end];
    let &first = raw.first().ok_or(DecodeError::Empty)?;
    if first == b'b' {
        let (kind, b64) = match protocol {
            Protocol::V4 => (PacketType::Message, &raw[1..]),
            Protocol::V3 => {
                let &digit = raw.get(1).ok_or(DecodeError::Empty)?;
                let kind = PacketType::from_ascii(digit).ok_or(DecodeError::UnknownType(digit))?;
                (kind, &raw[2..])
            }
        };
        if kind != PacketType::Message {
            return Err(DecodeError::BinaryNotMessage(kind));
        }
        return Ok(Packet {
            kind,
            data: Data::Binary(Bytes::from(base64_decode(b64)?)),
        });
    }
    let kind = PacketType::from_ascii(first).ok_or(DecodeError::UnknownType(first))?;
    let rest = &raw[1..];
    if validate && simdutf8::basic::from_utf8(rest).is_err() {
        return Err(DecodeError::InvalidUtf8);
    }
    let data = if rest.is_empty() {
        Str::new()
    } else {
        Str::from_validated(input.slice(start + 1..end))
    };
    Ok(Packet {
        kind,
        data: Data::Text(data),
    })
}

/// Standard-alphabet base64 with optional padding, decoded with SIMD. Anything else (other
/// characters, whitespace, a lone final character) is an error.
pub(crate) fn base64_decode(b64: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let padded = b64.len().is_multiple_of(4);
    let engine = if padded {
        base64_simd::STANDARD
    } else {
        base64_simd::STANDARD_NO_PAD
    };
    match engine.decode_to_vec(b64) {
        Ok(v) => Ok(v),
        // Leftover bits in the last character are tolerated, as the reference does.
        Err(_) => BASE64.decode(b64).map_err(|_| DecodeError::InvalidBase64),
    }
}
