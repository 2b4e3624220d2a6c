//! Socket.IO packets: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`, followed by
//! the binary attachments of binary events and acks as separate Engine.IO messages.

use std::fmt;

use bytes::Bytes;
use serde::Serialize;
use sockeye_engineio::{Data, Str};

use crate::json;

/// The seven packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: join a namespace (client), or accept the join (server).
    Connect = 0,
    /// `1`: leave a namespace.
    Disconnect = 1,
    /// `2`: an event.
    Event = 2,
    /// `3`: the answer to an event sent with an ack id.
    Ack = 3,
    /// `4`: refusal of a CONNECT (`ERROR` in protocol v4).
    ConnectError = 4,
    /// `5`: an event with binary attachments.
    BinaryEvent = 5,
    /// `6`: an ack with binary attachments.
    BinaryAck = 6,
}

impl PacketType {
    /// The type for a digit value `0..=6`.
    pub const fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0 => Self::Connect,
            1 => Self::Disconnect,
            2 => Self::Event,
            3 => Self::Ack,
            4 => Self::ConnectError,
            5 => Self::BinaryEvent,
            6 => Self::BinaryAck,
            _ => return None,
        })
    }

    /// Whether packets of this type carry binary attachments.
    pub const fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }
}

/// The first element of an event's array: its name, a string or (rarely) a number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventName {
    /// A string name.
    Text(String),
    /// A number used as a name.
    Number(serde_json::Number),
}

impl EventName {
    /// The name as text (numbers as written in JSON).
    pub fn as_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Self::Text(s) => s.as_str().into(),
            Self::Number(n) => n.to_string().into(),
        }
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_text())
    }
}

/// Why a Socket.IO packet could not be decoded. The server closes the client with reason
/// "parse error" on any of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An empty packet.
    #[error("empty packet")]
    Empty,
    /// The first character is not `0`–`6`.
    #[error("unknown packet type")]
    UnknownType,
    /// The attachment count of a binary packet is missing or not a number.
    #[error("illegal attachments")]
    IllegalAttachments,
    /// More attachments than allowed.
    #[error("too many attachments (limit {limit})")]
    TooManyAttachments {
        /// The limit.
        limit: usize,
    },
    /// An ack id that does not fit in 64 bits.
    #[error("invalid ack id")]
    InvalidAckId,
    /// The payload is not JSON.
    #[error("invalid JSON")]
    InvalidJson,
    /// The payload's JSON type does not suit the packet type (e.g. an event that is not a
    /// non-empty array starting with a string or number).
    #[error("invalid payload")]
    InvalidPayload,
    /// An event named after a lifecycle event (`connect`, `disconnect`, …).
    #[error("reserved event name {0:?}")]
    ReservedEvent(String),
    /// A placeholder whose `num` is not an integer within the attachment count.
    #[error("illegal attachments: invalid placeholder")]
    IllegalPlaceholder,
    /// A binary message when no binary packet awaits attachments.
    #[error("unexpected binary data")]
    UnexpectedBinary,
    /// A text packet while a binary packet still awaits attachments.
    #[error("text packet while attachments are pending")]
    UnexpectedText,
    /// The attachments of one packet exceed the payload limit.
    #[error("attachments larger than {limit} bytes")]
    AttachmentsTooLarge {
        /// The limit.
        limit: usize,
    },
}

/// One Socket.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The packet type. For binary events and acks it is the binary type exactly when
    /// [`attachments`](Self::attachments) is not empty.
    pub kind: PacketType,
    /// The namespace, `/` by default (a v4 client's CONNECT may carry a query: `/admin?x=1`).
    pub namespace: Str,
    /// The ack id.
    pub id: Option<u64>,
    /// The JSON payload, validated for the type, as received (binary parts as placeholders).
    pub payload: Option<Str>,
    /// The binary attachments, in placeholder order.
    pub attachments: Vec<Bytes>,
    /// The event name of an event, read while validating.
    pub event: Option<EventName>,
}

const ROOT: Str = Str::from_static("/");

impl Packet {
    fn new(kind: PacketType, namespace: Str) -> Self {
        Self {
            kind,
            namespace,
            id: None,
            payload: None,
            attachments: Vec::new(),
            event: None,
        }
    }

    /// CONNECT for `namespace`, with an optional auth object (raw JSON).
    pub fn connect(namespace: impl Into<Str>, auth: Option<Str>) -> Self {
        Self {
            payload: auth,
            ..Self::new(PacketType::Connect, namespace.into())
        }
    }

    /// DISCONNECT from `namespace`.
    pub fn disconnect(namespace: impl Into<Str>) -> Self {
        Self::new(PacketType::Disconnect, namespace.into())
    }

    /// CONNECT_ERROR with a raw JSON payload (an object in v5, a string in v4).
    pub fn connect_error(namespace: impl Into<Str>, payload: Str) -> Self {
        Self {
            payload: Some(payload),
            ..Self::new(PacketType::ConnectError, namespace.into())
        }
    }

    /// An event from a raw JSON array (`["name", args…]`) and its attachments, referenced
    /// by placeholders in the array.
    pub fn event_raw(namespace: impl Into<Str>, array: Str, attachments: Vec<Bytes>) -> Self {
        let kind = if attachments.is_empty() {
            PacketType::Event
        } else {
            PacketType::BinaryEvent
        };
        Self {
            payload: Some(array),
            attachments,
            ..Self::new(kind, namespace.into())
        }
    }

    /// An ack from a raw JSON array of arguments and its attachments.
    pub fn ack_raw(
        namespace: impl Into<Str>,
        id: u64,
        array: Str,
        attachments: Vec<Bytes>,
    ) -> Self {
        let kind = if attachments.is_empty() {
            PacketType::Ack
        } else {
            PacketType::BinaryAck
        };
        Self {
            id: Some(id),
            payload: Some(array),
            attachments,
            ..Self::new(kind, namespace.into())
        }
    }

    /// An event `name` with `args` (anything serde serializes as a sequence: a tuple, an
    /// array, a `Vec`), written straight to JSON without an intermediate tree. A value that
    /// is not a sequence is the one argument; `()` means none.
    pub fn event<T: Serialize + ?Sized>(
        namespace: impl Into<Str>,
        name: &str,
        args: &T,
    ) -> Result<Self, serde_json::Error> {
        let mut out = Vec::with_capacity(64);
        out.push(b'[');
        serde_json::to_writer(&mut out, name)?;
        let attachments = append_args(&mut out, args)?;
        Ok(Self::event_raw(namespace, to_str(out)?, attachments))
    }

    /// An ack with `args` (a sequence, as for [`event`](Self::event)).
    pub fn ack<T: Serialize + ?Sized>(
        namespace: impl Into<Str>,
        id: u64,
        args: &T,
    ) -> Result<Self, serde_json::Error> {
        let mut out = Vec::with_capacity(64);
        out.push(b'[');
        let len = out.len();
        let attachments = append_args(&mut out, args)?;
        // No leading comma in an ack's array.
        if out.get(len) == Some(&b',') {
            out.remove(len);
        }
        Ok(Self::ack_raw(namespace, id, to_str(out)?, attachments))
    }

    /// An event `name` whose arguments are the raw JSON array `args` (as
    /// [`args_array`](Self::args_array) returns) with its attachments: forwards what was
    /// received without decoding it.
    pub fn event_from_array(
        namespace: impl Into<Str>,
        name: &str,
        args: &Str,
        attachments: Vec<Bytes>,
    ) -> Self {
        let inner = args.as_bytes().strip_prefix(b"[").unwrap_or_default();
        let mut out = Vec::with_capacity(inner.len() + name.len() + 4);
        out.push(b'[');
        // Writing a JSON string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, name);
        if inner.iter().any(|b| !b.is_ascii_whitespace() && *b != b']') {
            out.push(b',');
        }
        out.extend_from_slice(inner);
        if !out.ends_with(b"]") {
            out.push(b']');
        }
        let array = Str::from_utf8(Bytes::from(out)).unwrap_or_else(|_| Str::from_static("[]"));
        Self::event_raw(namespace, array, attachments)
    }

    /// Sets the ack id.
    pub fn with_id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    /// Appends the text part (`<type>[<n>-][<nsp>,][<id>][<json>]`) to `out`.
    pub fn encode_text(&self, out: &mut Vec<u8>) {
        let kind = if self.kind.is_binary() && self.attachments.is_empty() {
            // A binary type without attachments is written as its plain type.
            match self.kind {
                PacketType::BinaryEvent => PacketType::Event,
                _ => PacketType::Ack,
            }
        } else {
            self.kind
        };
        out.push(b'0' + kind as u8);
        if kind.is_binary() {
            push_u64(out, self.attachments.len() as u64);
            out.push(b'-');
        }
        if self.namespace.as_bytes() != b"/" && !self.namespace.is_empty() {
            out.extend_from_slice(self.namespace.as_bytes());
            out.push(b',');
        }
        if let Some(id) = self.id {
            push_u64(out, id);
        }
        if let Some(payload) = &self.payload {
            out.extend_from_slice(payload.as_bytes());
        }
    }

    /// The Engine.IO messages that carry this packet: the text part, then one binary
    /// message per attachment.
    pub fn encode(&self) -> Vec<Data> {
        let mut text = Vec::with_capacity(
            8 + self.namespace.len() + self.payload.as_ref().map_or(0, Str::len),
        );
        self.encode_text(&mut text);
        let mut out = Vec::with_capacity(1 + self.attachments.len());
        // The text part is built from UTF-8 pieces and ASCII.
        out.push(Data::Text(
            Str::from_utf8(Bytes::from(text)).unwrap_or_default(),
        ));
        out.extend(self.attachments.iter().cloned().map(Data::Binary));
        out
    }

    /// Deserializes the arguments after an event's name (or all of an ack's arguments) as a
    /// sequence: into a tuple, an array, a `Vec`, or a struct written as a sequence. Binary
    /// attachments fill their placeholders (deserialize them as `bytes::Bytes`, `Vec<u8>` or
    /// `serde_bytes::ByteBuf`).
    pub fn args<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        // The payload is a `Str`: parsing it as `&str` spares serde_json a UTF-8 check of
        // every string it reads.
        let payload = self.payload.as_ref().map_or("[]", Str::as_str);
        args_of(self.kind, payload, &self.attachments)
    }

    /// The JSON array of an event's arguments without its name (`["a",1,2]` → `[1,2]`), or
    /// of an ack's arguments, as raw text: placeholders stay as they are, so the array and
    /// [`attachments`](Self::attachments) can be sent on unchanged.
    pub fn args_array(&self) -> Str {
        let Some(payload) = &self.payload else {
            return Str::from_static("[]");
        };
        if !matches!(self.kind, PacketType::Event | PacketType::BinaryEvent) {
            return payload.clone();
        }
        let bytes = payload.as_bytes();
        // Skip `[`, the name, and the comma after it; the payload was validated on decode.
        let mut stream = serde_json::Deserializer::from_slice(bytes.get(1..).unwrap_or_default())
            .into_iter::<serde::de::IgnoredAny>();
        if !matches!(stream.next(), Some(Ok(_))) {
            return Str::from_static("[]");
        }
        let mut i = 1 + stream.byte_offset();
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if bytes.get(i) == Some(&b',') {
            i += 1;
        }
        let mut out = Vec::with_capacity(bytes.len() - i + 1);
        out.push(b'[');
        out.extend_from_slice(&bytes[i..]);
        Str::from_utf8(Bytes::from(out)).unwrap_or_else(|_| Str::from_static("[]"))
    }

    /// Deserializes a CONNECT's auth object or a CONNECT_ERROR's payload.
    pub fn payload_as<'a, T: serde::Deserialize<'a>>(
        &'a self,
    ) -> Result<Option<T>, serde_json::Error> {
        self.payload
            .as_ref()
            .map(|p| serde_json::from_slice(p.as_bytes()))
            .transpose()
    }
}

/// [`Packet::args`] of a packet of type `kind` with this payload and these attachments.
fn args_of<T: serde::de::DeserializeOwned>(
    kind: PacketType,
    payload: &str,
    attachments: &[Bytes],
) -> Result<T, serde_json::Error> {
    let skip = usize::from(matches!(kind, PacketType::Event | PacketType::BinaryEvent));
    let visitor = crate::args::ArgsVisitor::new(skip);
    if attachments.is_empty() {
        let mut de = serde_json::Deserializer::from_str(payload);
        let value = serde::Deserializer::deserialize_seq(&mut de, visitor)?;
        de.end()?;
        Ok(value)
    } else {
        let mut tree: serde_json::Value = serde_json::from_str(payload)?;
        crate::binary::fill(&mut tree, attachments);
        serde::Deserializer::deserialize_seq(tree, visitor)
    }
}

fn to_str(json: Vec<u8>) -> Result<Str, serde_json::Error> {
    Str::from_utf8(Bytes::from(json)).map_err(|_| serde::ser::Error::custom("invalid UTF-8"))
}

/// Serializes `args` (a sequence) and appends its elements after what `out` holds, each
/// preceded by a comma, then the closing bracket. Byte arrays become placeholders; their
/// bytes are returned as attachments.
fn append_args<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    args: &T,
) -> Result<Vec<Bytes>, serde_json::Error> {
    let start = out.len();
    let attachments = crate::binary::to_writer(out, args)?;
    match out.get(start) {
        // `()` (JSON `null`) means no arguments.
        Some(b'n') if out.len() == start + 4 => {
            out.truncate(start);
            out.push(b']');
        }
        Some(b'[') if out.get(start + 1) == Some(&b']') => {
            out.truncate(start);
            out.push(b']');
        }
        Some(b'[') => out[start] = b',',
        _ => {
            // A single value that is not a sequence: it is the one argument.
            out.insert(start, b',');
            out.push(b']');
        }
    }
    Ok(attachments)
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Decoder limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Most attachments one packet may announce; default 10, as the reference.
    pub max_attachments: usize,
    /// Most bytes of attachments one packet may gather; default 1 000 000.
    pub max_attachment_bytes: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            max_attachments: 10,
            max_attachment_bytes: 1_000_000,
        }
    }
}

/// Decodes the Engine.IO messages of one connection into packets, gathering the
/// attachments of binary packets.
#[derive(Debug)]
pub struct Decoder {
    config: DecoderConfig,
    pending: Option<Pending>,
}

#[derive(Debug)]
struct Pending {
    packet: Packet,
    expected: usize,
    bytes: usize,
}

impl Decoder {
    /// A decoder with `config`.
    pub fn new(config: DecoderConfig) -> Self {
        Self {
            config,
            pending: None,
        }
    }

    /// Whether a binary packet awaits attachments.
    pub fn is_reconstructing(&self) -> bool {
        self.pending.is_some()
    }

    /// Decodes one Engine.IO message; `Some` when a packet is complete.
    pub fn decode(&mut self, data: Data) -> Result<Option<Packet>, DecodeError> {
        match data {
            Data::Text(text) => self.decode_text(text),
            Data::Binary(bytes) => self.decode_binary(bytes),
        }
    }

    /// Decodes a text message. A binary packet is held until its attachments arrive.
    pub fn decode_text(&mut self, text: Str) -> Result<Option<Packet>, DecodeError> {
        if self.pending.is_some() {
            self.pending = None;
            return Err(DecodeError::UnexpectedText);
        }
        let mut expected = 0;
        let packet = decode_str(&text, self.config.max_attachments, &mut expected)?;
        if expected == 0 {
            return Ok(Some(packet));
        }
        self.pending = Some(Pending {
            packet,
            expected,
            bytes: 0,
        });
        Ok(None)
    }

    /// Decodes a text message and deserializes its arguments: the same as
    /// [`decode_text`](Self::decode_text) followed by [`Packet::args`] on the complete packet
    /// (same packets, same errors, same arguments), in one pass over the JSON for events and
    /// acks without attachments.
    ///
    /// For those, the event name is checked, then serde_json deserializes the arguments; its
    /// parse is at least as strict as the packet check (every byte of the array is read, with
    /// the same grammar), so when it succeeds the packet is valid and the check of the
    /// arguments is not repeated. When it fails, or the payload holds a control character
    /// (which serde_json lets through in strings read as bytes), the packet is checked as
    /// `decode_text` checks it, which also tells a refused packet from arguments that do not
    /// fit `T`. Other packets are decoded
    /// by `decode_text` and their arguments read by `args`; a binary packet is held as
    /// `decode_text` holds it (`Ok(None)`), and its arguments are read with `args` once
    /// [`decode_binary`](Self::decode_binary) completes it.
    #[allow(clippy::type_complexity)]
    pub fn decode_text_args<T: serde::de::DeserializeOwned>(
        &mut self,
        text: Str,
    ) -> Result<Option<(Packet, Result<T, serde_json::Error>)>, DecodeError> {
        if self.pending.is_some() {
            self.pending = None;
            return Err(DecodeError::UnexpectedText);
        }
        let Header {
            kind,
            attachments: _,
            namespace,
            id,
            start,
        } = decode_header(&text, self.config.max_attachments)?;
        let b = text.as_bytes();
        if !matches!(kind, PacketType::Event | PacketType::Ack) || start >= b.len() {
            let Some(packet) = self.decode_text(text)? else {
                return Ok(None);
            };
            let args = packet.args();
            return Ok(Some((packet, args)));
        }
        let json = &b[start..];
        // An event's name first: what serde_json skips, the packet check reads.
        let event = match kind {
            PacketType::Event => Some(json::event_head(json)?),
            _ => None,
        };
        let payload = text
            .slice(start..b.len())
            .ok_or(DecodeError::InvalidPayload)?;
        let args = args_of(kind, payload.as_str(), &[]);
        if args.is_err() || json::has_control(json) {
            json::check_payload(kind, json, 0)?;
        }
        Ok(Some((
            Packet {
                kind,
                namespace,
                id,
                payload: Some(payload),
                attachments: Vec::new(),
                event,
            },
            args,
        )))
    }

    /// Decodes a binary message: the next attachment of the pending packet.
    pub fn decode_binary(&mut self, bytes: Bytes) -> Result<Option<Packet>, DecodeError> {
        let Some(pending) = &mut self.pending else {
            return Err(DecodeError::UnexpectedBinary);
        };
        pending.bytes = pending.bytes.saturating_add(bytes.len());
        if pending.bytes > self.config.max_attachment_bytes {
            self.pending = None;
            return Err(DecodeError::AttachmentsTooLarge {
                limit: self.config.max_attachment_bytes,
            });
        }
        pending.packet.attachments.push(bytes);
        if pending.packet.attachments.len() < pending.expected {
            return Ok(None);
        }
        Ok(self.pending.take().map(|p| p.packet))
    }
}

/// The header of a text packet: everything before the JSON payload.
struct Header {
    kind: PacketType,
    /// The attachments announced by a binary packet.
    attachments: usize,
    namespace: Str,
    id: Option<u64>,
    /// Where the payload starts (the text's length without one).
    start: usize,
}

/// Reads the header of a text packet.
#[inline(always)]
fn decode_header(text: &Str, max_attachments: usize) -> Result<Header, DecodeError> {
    let b = text.as_bytes();
    let &first = b.first().ok_or(DecodeError::Empty)?;
    let kind = first
        .checked_sub(b'0')
        .and_then(PacketType::from_u8)
        .ok_or(DecodeError::UnknownType)?;
    let mut i = 1;
    let mut attachments = 0usize;
    if kind.is_binary() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            attachments = attachments
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(b[i] - b'0')))
                .filter(|&n| n <= max_attachments)
                .ok_or(DecodeError::TooManyAttachments {
                    limit: max_attachments,
                })?;
            i += 1;
        }
        if i == start || b.get(i) != Some(&b'-') {
            return Err(DecodeError::IllegalAttachments);
        }
        i += 1;
    }
    let namespace = if b.get(i) == Some(&b'/') {
        let start = i;
        while i < b.len() && b[i] != b',' {
            i += 1;
        }
        let end = i;
        if i < b.len() {
            i += 1; // the comma
        }
        // Cut at ASCII bytes: always on character boundaries.
        text.slice(start..end).ok_or(DecodeError::InvalidPayload)?
    } else {
        ROOT
    };
    let mut id = None;
    if b.get(i).is_some_and(u8::is_ascii_digit) {
        let mut n: u64 = 0;
        while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or(DecodeError::InvalidAckId)?;
            i += 1;
        }
        id = Some(n);
    }
    Ok(Header {
        kind,
        attachments,
        namespace,
        id,
        start: i,
    })
}

/// Decodes the text part of a packet; sets `expected` to the number of attachments to await.
/// Inlined so that the packet is built where the caller returns it.
#[inline(always)]
fn decode_str(
    text: &Str,
    max_attachments: usize,
    expected: &mut usize,
) -> Result<Packet, DecodeError> {
    let Header {
        kind,
        attachments,
        namespace,
        id,
        start: i,
    } = decode_header(text, max_attachments)?;
    let b = text.as_bytes();
    let (payload, event) = if i < b.len() {
        let event = json::check_payload(kind, &b[i..], attachments)?;
        let payload = text.slice(i..b.len()).ok_or(DecodeError::InvalidPayload)?;
        (Some(payload), event)
    } else if matches!(kind, PacketType::Event | PacketType::BinaryEvent) {
        // The reference skips the check without a payload; an event without a name cannot
        // be dispatched, so it is refused here.
        return Err(DecodeError::InvalidPayload);
    } else {
        (None, None)
    };
    if kind == PacketType::Disconnect && payload.is_some() {
        return Err(DecodeError::InvalidPayload);
    }
    // `5<0>-…` carries no attachments: it is complete now.
    *expected = attachments;
    Ok(Packet {
        kind,
        namespace,
        id,
        payload,
        // Sized once for the attachments to come (no allocation when there are none).
        attachments: Vec::with_capacity(attachments),
        event,
    })
}
