//! Payload checks without building a JSON tree: one left-to-right byte scan over the payload
//! (already UTF-8) that checks the JSON grammar, the shape the reference parser requires
//! (`isPayloadValid`), the event name, and every binary placeholder.
//!
//! It reproduces, decision for decision, the serde pass it replaced (serde_json 1.0 driven by
//! visitors, kept as `oracle` for the differential tests), including where that pass is
//! lenient, because what a server accepts must not change with its speed:
//!
//! - Values the old pass *skipped* (`IgnoredAny`: the arguments of events and acks that are not
//!   binary, the values of a CONNECT object's other keys, whatever is nested in a `_placeholder`
//!   or `num` value) are checked for grammar only: `\u` escapes need four hex digits but lone
//!   surrogates pass, numbers are not range-checked, and nesting is unbounded (an explicit
//!   stack, not recursion).
//! - Values the old pass *walked* (the top-level value, the event name, object keys, every
//!   value of a binary packet, `_placeholder` and `num` values themselves) are also checked as
//!   serde_json parses them: surrogate escapes must pair up, numbers must be finite as `f64`
//!   (`1e999` is refused), and such containers nest at most 127 deep (serde_json's recursion
//!   limit of 128).
//! - The first fault in text order decides the error: a shape fault (top-level type, event name,
//!   placeholder) where the walk would raise it, otherwise `InvalidJson` at the first grammar
//!   fault. A placeholder object is judged at its closing brace.

use serde_json::Number;

use crate::packet::{DecodeError, EventName, PacketType};

#[cfg(test)]
mod oracle;
#[cfg(test)]
mod tests;

/// Event names the reference refuses from peers: they collide with lifecycle events.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// serde_json's recursion limit: a walked container at this depth is refused.
const MAX_DEPTH: u32 = 128;

/// An integer part longer than this (without exponent) may overflow `f64` in serde_json's
/// parser; shorter ones cannot (at most about 1.9e19 × 10^281).
const SAFE_INT_DIGITS: usize = 300;

type Result<T> = std::result::Result<T, DecodeError>;

const ONES: u64 = u64::MAX / 255;
const HIGH: u64 = ONES << 7;

/// The high bit of each byte of `x` that equals `b`, at least for the lowest such byte (a
/// borrow may also flag bytes above it).
#[inline(always)]
const fn has_byte(x: u64, b: u8) -> u64 {
    let y = x ^ (ONES * b as u64);
    y.wrapping_sub(ONES) & !y & HIGH
}

/// The high bit of each byte of `x` below `n` (at most 0x80), as exact as [`has_byte`].
#[inline(always)]
const fn has_below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * n as u64) & !x & HIGH
}

/// Checks `json` as the payload of a `kind` packet with `attachments` binary attachments.
/// Returns the event name for (binary) events.
pub(crate) fn check_payload(
    kind: PacketType,
    json: &[u8],
    attachments: usize,
) -> Result<Option<EventName>> {
    let mut scan = Scanner {
        b: json,
        i: 0,
        depth: MAX_DEPTH,
        attachments: kind.is_binary().then_some(attachments),
    };
    let event = scan.top(kind)?;
    if scan.skip_ws().is_some() {
        return Err(DecodeError::InvalidJson);
    }
    Ok(event)
}

/// The start of an EVENT payload, `[` and the event name, checked as [`check_payload`] checks
/// them; the rest is left to the caller. Errors are those `check_payload` returns for a
/// payload with this start.
pub(crate) fn event_head(json: &[u8]) -> Result<EventName> {
    let mut scan = Scanner {
        b: json,
        i: 0,
        depth: MAX_DEPTH,
        attachments: None,
    };
    if scan.skip_ws() != Some(b'[') {
        // Not an array: the full check finds the fault.
        return match check_payload(PacketType::Event, json, 0) {
            Err(e) => Err(e),
            Ok(_) => json_error(),
        };
    }
    scan.enter()?;
    match scan.skip_ws() {
        None => json_error(),
        Some(b']') => Err(DecodeError::InvalidPayload),
        Some(_) => scan.event_name(),
    }
}

/// Whether `json` holds a control character (below U+0020): whitespace, or a fault inside a
/// string. serde_json reads byte strings (`deserialize_bytes`) without refusing the latter,
/// so a successful deserialization proves the payload valid only without them.
pub(crate) fn has_control(json: &[u8]) -> bool {
    let mut words = json.chunks_exact(8);
    let found = words.by_ref().any(|w| {
        has_below(
            u64::from_le_bytes(<[u8; 8]>::try_from(w).unwrap_or_default()),
            0x20,
        ) != 0
    });
    found || words.remainder().iter().any(|&c| c < 0x20)
}

const fn json_error<T>() -> Result<T> {
    Err(DecodeError::InvalidJson)
}

/// The text of `raw` (a slice of the payload between quotes, so UTF-8) as a `String`. Short
/// ASCII names, the usual case, are copied byte by byte: no UTF-8 check, no `memcpy` call.
#[inline]
fn owned(raw: &[u8]) -> Result<String> {
    if raw.len() <= 32 && raw.is_ascii() {
        let mut name = String::with_capacity(raw.len());
        name.extend(raw.iter().map(|&c| char::from(c)));
        return Ok(name);
    }
    match std::str::from_utf8(raw) {
        Ok(name) => Ok(name.to_owned()),
        Err(_) => json_error(),
    }
}

/// Skips JSON whitespace from `i`.
#[inline(always)]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if !matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
            break;
        }
        i += 1;
    }
    i
}

/// The next byte from `i` that is not JSON whitespace, and its index; the byte is 0 at the
/// end or at a control character, neither of which starts a token.
#[inline(always)]
fn next_token(b: &[u8], mut i: usize) -> (usize, u8) {
    loop {
        match b.get(i) {
            Some(&c) if c > b' ' => return (i, c),
            Some(b' ' | b'\n' | b'\t' | b'\r') => i += 1,
            _ => return (i, 0),
        }
    }
}

/// Scans string contents from `i` to the first `"`, `\` or control character (or the end),
/// eight bytes at a time. Returns its index, and whether it is a `"` (a plain closing quote).
#[inline(always)]
fn scan_plain(b: &[u8], mut i: usize) -> (usize, bool) {
    loop {
        // Past the end the word is padded with zeros, which count as control characters.
        let x = word(b, i);
        let quote = has_byte(x, b'"');
        let hits = quote | has_byte(x, b'\\') | has_below(x, 0x20);
        if hits != 0 {
            // The lowest flagged byte is a true hit of each mask that flags it (borrows only
            // carry upwards), so a closing quote is known without loading it.
            let closed = quote & hits & hits.wrapping_neg() != 0;
            return (i + (hits.trailing_zeros() / 8) as usize, closed);
        }
        i += 8;
    }
}

/// The eight bytes at `i`, little-endian, zero-padded past the end.
#[inline(always)]
fn word(b: &[u8], i: usize) -> u64 {
    if let Some(w) = b.get(i..i + 8) {
        return u64::from_le_bytes(<[u8; 8]>::try_from(w).unwrap_or_default());
    }
    tail_word(b, i)
}

/// [`word`] near the end: the last eight bytes shifted down, so that zeros come in past the
/// end.
#[inline(never)]
fn tail_word(b: &[u8], i: usize) -> u64 {
    let len = b.len();
    if i >= len {
        return 0;
    }
    match len.checked_sub(8).and_then(|start| b.get(start..)) {
        Some(last) => {
            let w = u64::from_le_bytes(<[u8; 8]>::try_from(last).unwrap_or_default());
            w >> ((i + 8 - len) * 8)
        }
        None => b[i..].iter().rev().fold(0, |w, &c| (w << 8) | u64::from(c)),
    }
}

/// A placeholder's `num`: a non-negative integer, or anything else.
#[derive(Clone, Copy)]
enum Num {
    Index(u64),
    Invalid,
}

/// What a `_placeholder` or `num` value turned out to be.
enum Probe {
    True,
    Num(Num),
    Other,
}

/// An object key that matters to placeholders.
enum Key {
    Placeholder,
    Num,
    Other,
}

/// A scanned number: its bytes, and whether it is a plain unsigned integer.
struct NumberToken {
    start: usize,
    end: usize,
    plain: bool,
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    /// serde_json's `remaining_depth`: walked containers left before the limit.
    depth: u32,
    /// The attachment count of a binary packet: its values are walked and its placeholders
    /// checked. `None` for other packets.
    attachments: Option<usize>,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips JSON whitespace; returns the next byte.
    #[inline(always)]
    fn skip_ws(&mut self) -> Option<u8> {
        self.i = skip_ws(self.b, self.i);
        self.peek()
    }

    /// Enters a walked container (serde_json's `check_recursion`).
    #[inline]
    fn enter(&mut self) -> Result<()> {
        self.depth -= 1;
        if self.depth == 0 {
            return json_error();
        }
        self.i += 1;
        Ok(())
    }

    #[inline]
    fn leave(&mut self) {
        self.depth += 1;
    }

    // ----- the packet's shape -----

    /// The top-level value, whose type must suit the packet type.
    fn top(&mut self, kind: PacketType) -> Result<Option<EventName>> {
        let Some(c) = self.skip_ws() else {
            return json_error();
        };
        match c {
            b'[' => {
                self.enter()?;
                let event = match kind {
                    PacketType::Event | PacketType::BinaryEvent => {
                        match self.skip_ws() {
                            None => return json_error(),
                            Some(b']') => return Err(DecodeError::InvalidPayload),
                            Some(_) => {}
                        }
                        let name = self.event_name()?;
                        self.elements(false)?;
                        Some(name)
                    }
                    PacketType::Ack | PacketType::BinaryAck => {
                        self.elements(true)?;
                        None
                    }
                    _ => return Err(DecodeError::InvalidPayload),
                };
                self.leave();
                Ok(event)
            }
            b'{' => match kind {
                PacketType::Connect | PacketType::ConnectError => {
                    self.enter()?;
                    self.object()?;
                    self.leave();
                    Ok(None)
                }
                _ => Err(DecodeError::InvalidPayload),
            },
            b'"' => {
                self.i += 1;
                self.string(true)?;
                match kind {
                    PacketType::ConnectError => Ok(None),
                    _ => Err(DecodeError::InvalidPayload),
                }
            }
            _ => {
                self.scalar(true)?;
                Err(DecodeError::InvalidPayload)
            }
        }
    }

    /// The first element of an event: a string that is not reserved, or a number.
    fn event_name(&mut self) -> Result<EventName> {
        match self.peek() {
            Some(b'"') => {
                self.i += 1;
                let start = self.i;
                let escaped = self.string(true)?;
                let raw = &self.b[start..self.i - 1];
                let name = if escaped {
                    // Rare: let serde_json unescape what the scan has validated.
                    serde_json::from_slice::<String>(&self.b[start - 1..self.i])
                        .map_err(|_| DecodeError::InvalidJson)?
                } else {
                    if RESERVED_EVENTS.iter().any(|r| r.as_bytes() == raw) {
                        return Err(DecodeError::ReservedEvent(owned(raw)?));
                    }
                    owned(raw)?
                };
                if escaped && RESERVED_EVENTS.contains(&name.as_str()) {
                    return Err(DecodeError::ReservedEvent(name));
                }
                Ok(EventName::Text(name))
            }
            Some(b'-' | b'0'..=b'9') => {
                let token = self.number(true)?;
                Ok(EventName::Number(self.parse_number(&token)?))
            }
            Some(b'[' | b'{') => {
                self.enter()?;
                Err(DecodeError::InvalidPayload)
            }
            _ => {
                self.scalar(true)?;
                Err(DecodeError::InvalidPayload)
            }
        }
    }

    /// The remaining elements of an array whose `[` is consumed, up to and including `]`;
    /// `first` when no element was read yet. Binary packets walk them; others skip them.
    fn elements(&mut self, mut first: bool) -> Result<()> {
        if self.attachments.is_none() {
            return self.skip(true, first);
        }
        loop {
            let Some(c) = self.skip_ws() else {
                return json_error();
            };
            if c == b']' {
                self.i += 1;
                return Ok(());
            }
            if first {
                first = false;
            } else if c == b',' {
                self.i += 1;
                match self.skip_ws() {
                    Some(b']') | None => return json_error(),
                    Some(_) => {}
                }
            } else {
                return json_error();
            }
            self.walk()?;
        }
    }

    // ----- walked values -----

    /// Any value of a binary packet (whitespace skipped): every object is checked for
    /// placeholders.
    fn walk(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'[') => {
                self.enter()?;
                self.elements(true)?;
                self.leave();
                Ok(())
            }
            Some(b'{') => {
                self.enter()?;
                self.object()?;
                self.leave();
                Ok(())
            }
            _ => self.scalar(true),
        }
    }

    /// The members of an object whose `{` is consumed, up to and including `}`: keys are
    /// read, `_placeholder` and `num` values probed, other values walked (binary packets) or
    /// skipped. In a binary packet, an object with `"_placeholder": true` needs an integer
    /// `num` within the attachment count.
    fn object(&mut self) -> Result<()> {
        let mut placeholder = false;
        let mut num = None;
        let mut first = true;
        loop {
            if !self.next_key(&mut first)? {
                break;
            }
            match self.key()? {
                Key::Placeholder => {
                    placeholder = matches!(self.probe()?, Probe::True);
                }
                Key::Num => {
                    num = Some(match self.probe()? {
                        Probe::Num(n) => n,
                        _ => Num::Invalid,
                    });
                }
                Key::Other => {
                    if self.attachments.is_some() {
                        self.skip_ws();
                        self.walk()?;
                    } else {
                        self.skip_value()?;
                    }
                }
            }
        }
        if placeholder && let Some(attachments) = self.attachments {
            let valid = matches!(num, Some(Num::Index(n)) if n < attachments as u64);
            if !valid {
                return Err(DecodeError::IllegalPlaceholder);
            }
        }
        self.i += 1; // `}`
        Ok(())
    }

    /// Whether another member follows in an object (serde_json's `has_next_key`); leaves `i`
    /// at its key's quote, or at the closing brace.
    #[inline]
    fn next_key(&mut self, first: &mut bool) -> Result<bool> {
        let Some(c) = self.skip_ws() else {
            return json_error();
        };
        if c == b'}' {
            return Ok(false);
        }
        if *first {
            *first = false;
            if c != b'"' {
                return json_error();
            }
        } else if c == b',' {
            self.i += 1;
            if self.skip_ws() != Some(b'"') {
                return json_error();
            }
        } else {
            return json_error();
        }
        Ok(true)
    }

    /// A key (at its quote) and the colon after it. Keys are parsed as strings, so their
    /// escapes are validated.
    fn key(&mut self) -> Result<Key> {
        self.i += 1;
        let start = self.i;
        let escaped = self.string(true)?;
        let key = if escaped {
            // Rare: an escaped key may still spell `_placeholder` or `num`.
            match serde_json::from_slice::<String>(&self.b[start - 1..self.i]) {
                Ok(s) => Self::key_kind(s.as_bytes()),
                Err(_) => return json_error(),
            }
        } else {
            Self::key_kind(&self.b[start..self.i - 1])
        };
        self.colon()?;
        Ok(key)
    }

    #[inline]
    fn key_kind(key: &[u8]) -> Key {
        match key {
            b"_placeholder" => Key::Placeholder,
            b"num" => Key::Num,
            _ => Key::Other,
        }
    }

    #[inline]
    fn colon(&mut self) -> Result<()> {
        if self.skip_ws() != Some(b':') {
            return json_error();
        }
        self.i += 1;
        Ok(())
    }

    /// A `_placeholder` or `num` value: parsed itself (strings validated, numbers
    /// range-checked, containers counted against the depth limit), its contents skipped
    /// (object keys still parsed).
    fn probe(&mut self) -> Result<Probe> {
        let Some(c) = self.skip_ws() else {
            return json_error();
        };
        match c {
            b'[' => {
                self.enter()?;
                let mut first = true;
                loop {
                    let Some(c) = self.skip_ws() else {
                        return json_error();
                    };
                    if c == b']' {
                        self.i += 1;
                        break;
                    }
                    if first {
                        first = false;
                    } else if c == b',' {
                        self.i += 1;
                        match self.skip_ws() {
                            Some(b']') | None => return json_error(),
                            Some(_) => {}
                        }
                    } else {
                        return json_error();
                    }
                    self.skip_value()?;
                }
                self.leave();
                Ok(Probe::Other)
            }
            b'{' => {
                self.enter()?;
                let mut first = true;
                while self.next_key(&mut first)? {
                    self.i += 1;
                    self.string(true)?;
                    self.colon()?;
                    self.skip_value()?;
                }
                self.i += 1;
                self.leave();
                Ok(Probe::Other)
            }
            b't' => {
                self.literal(b"true")?;
                Ok(Probe::True)
            }
            b'-' | b'0'..=b'9' => {
                let token = self.number(true)?;
                Ok(Probe::Num(self.index(&token)?))
            }
            _ => {
                self.scalar(true)?;
                Ok(Probe::Other)
            }
        }
    }

    /// A placeholder index as the old walk read it: an unsigned integer, or a float with no
    /// fraction below 2^53 (`1.0` is an integer to JavaScript).
    fn index(&self, token: &NumberToken) -> Result<Num> {
        if token.plain && token.end - token.start <= 19 {
            let n = self.b[token.start..token.end]
                .iter()
                .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
            return Ok(Num::Index(n));
        }
        let n = self.parse_number(token)?;
        Ok(if let Some(u) = n.as_u64() {
            Num::Index(u)
        } else if n.is_i64() {
            Num::Invalid
        } else {
            match n.as_f64() {
                Some(v) if v.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&v) => {
                    Num::Index(v as u64)
                }
                _ => Num::Invalid,
            }
        })
    }

    /// The number serde_json reads from `token` (a grammatical number).
    fn parse_number(&self, token: &NumberToken) -> Result<Number> {
        serde_json::from_slice::<Number>(&self.b[token.start..token.end])
            .map_err(|_| DecodeError::InvalidJson)
    }

    /// A string, literal or number at `i`; anything else is a grammar fault. `walked`:
    /// strings validated and numbers range-checked.
    #[inline]
    fn scalar(&mut self, walked: bool) -> Result<()> {
        match self.peek() {
            Some(b'"') => {
                self.i += 1;
                self.string(walked)?;
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number(walked)?;
                Ok(())
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => json_error(),
        }
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Result<()> {
        if self
            .b
            .get(self.i..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            self.i += word.len();
            Ok(())
        } else {
            json_error()
        }
    }

    // ----- tokens -----

    /// A string whose opening quote is consumed; leaves `i` after the closing quote. Returns
    /// whether it held escapes. `validate`: `\u` escapes must form valid code points
    /// (serde_json's `parse_str`); otherwise any four hex digits pass (its `ignore_str`).
    #[inline(always)]
    fn string(&mut self, validate: bool) -> Result<bool> {
        let (i, closed) = scan_plain(self.b, self.i);
        if closed {
            self.i = i + 1;
            return Ok(false);
        }
        self.i = i;
        self.string_rest(validate)
    }

    /// The rest of a string from an escape, a control character or the end.
    #[inline(never)]
    fn string_rest(&mut self, validate: bool) -> Result<bool> {
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(true);
                }
                Some(b'\\') => {
                    self.i += 1;
                    self.escape(validate)?;
                }
                // A control character, or the end.
                _ => return json_error(),
            }
            while let Some(&c) = self.b.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
        }
    }

    /// An escape whose backslash is consumed.
    fn escape(&mut self, validate: bool) -> Result<()> {
        let Some(c) = self.peek() else {
            return json_error();
        };
        self.i += 1;
        match c {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(()),
            b'u' => {
                let n = self.hex4()?;
                if !validate {
                    return Ok(());
                }
                match n {
                    0xDC00..=0xDFFF => json_error(),
                    0xD800..=0xDBFF => {
                        // A leading surrogate must be followed by a trailing one.
                        if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                            return json_error();
                        }
                        self.i += 2;
                        match self.hex4()? {
                            0xDC00..=0xDFFF => Ok(()),
                            _ => json_error(),
                        }
                    }
                    _ => Ok(()),
                }
            }
            _ => json_error(),
        }
    }

    fn hex4(&mut self) -> Result<u16> {
        let Some(digits) = self.b.get(self.i..self.i + 4) else {
            return json_error();
        };
        let mut n = 0u16;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return json_error(),
            };
            n = (n << 4) | u16::from(v);
        }
        self.i += 4;
        Ok(n)
    }

    /// A number at `i` (a `-` or a digit): `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    /// `range`: it must also be finite as serde_json parses it.
    #[inline]
    fn number(&mut self, range: bool) -> Result<NumberToken> {
        let start = self.i;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        let int_start = self.i;
        match self.peek() {
            Some(b'0') => {
                self.i += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return json_error();
                }
            }
            Some(b'1'..=b'9') => {
                self.i += 1;
                self.digits();
            }
            _ => return json_error(),
        }
        let int_digits = self.i - int_start;
        let mut plain = !negative;
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return json_error();
            }
            plain = false;
        }
        let mut exponent = false;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return json_error();
            }
            plain = false;
            exponent = true;
        }
        let token = NumberToken {
            start,
            end: self.i,
            plain,
        };
        if range && (exponent || int_digits > SAFE_INT_DIGITS) {
            self.parse_number(&token)?;
        }
        Ok(token)
    }

    /// Skips ASCII digits; returns how many.
    #[inline]
    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    // ----- skipped values -----

    /// Skips one value (leading whitespace included), checking its grammar only (serde_json's
    /// `ignore_value`).
    #[inline]
    fn skip_value(&mut self) -> Result<()> {
        self.skip(false, false)
    }

    /// Skips values checking their grammar only (serde_json's `ignore_value`), at any depth
    /// (an explicit stack of the open containers, not recursion). `in_array`: the elements of
    /// an array whose `[` is consumed, up to and including its `]` (`first`: no element read
    /// yet); otherwise one value.
    fn skip(&mut self, in_array: bool, first: bool) -> Result<()> {
        let b = self.b;
        let mut i = self.i;
        let mut open = Frames::default();
        // Whether a value comes next (otherwise a separator or a closing bracket).
        let mut value = true;
        if in_array {
            open.push(false);
            if first {
                let (j, c) = next_token(b, i);
                if c == b']' {
                    self.i = j + 1;
                    return Ok(());
                }
                i = j;
            } else {
                value = false;
            }
        }
        loop {
            if value {
                let (j, c) = next_token(b, i);
                i = j;
                match c {
                    b'"' => i = self.skip_string(i)?,
                    b'[' => {
                        let (j, c) = next_token(b, i + 1);
                        i = j;
                        if c == b']' {
                            i += 1;
                        } else {
                            open.push(false);
                            continue;
                        }
                    }
                    b'{' => {
                        let (j, c) = next_token(b, i + 1);
                        i = j;
                        match c {
                            b'}' => i += 1,
                            b'"' => {
                                i = self.skip_key(i)?;
                                open.push(true);
                                continue;
                            }
                            _ => return json_error(),
                        }
                    }
                    _ => {
                        self.i = i;
                        self.scalar(false)?;
                        i = self.i;
                    }
                }
            }
            value = true;
            // After a value: close containers until one continues.
            loop {
                let Some(object) = open.last() else {
                    self.i = i;
                    return Ok(());
                };
                let (j, c) = next_token(b, i);
                i = j;
                match c {
                    b',' => {
                        if object {
                            let (j, c) = next_token(b, i + 1);
                            if c != b'"' {
                                return json_error();
                            }
                            i = self.skip_key(j)?;
                        } else {
                            i += 1;
                        }
                        break;
                    }
                    b']' if !object => {
                        i += 1;
                        open.pop();
                    }
                    b'}' if object => {
                        i += 1;
                        open.pop();
                    }
                    _ => return json_error(),
                }
            }
        }
    }

    /// A skipped string at `i` (its quote); returns the index after it.
    #[inline(always)]
    fn skip_string(&mut self, i: usize) -> Result<usize> {
        let (end, closed) = scan_plain(self.b, i + 1);
        if closed {
            return Ok(end + 1);
        }
        self.i = end;
        self.string_rest(false)?;
        Ok(self.i)
    }

    /// A skipped object's key at `i` (its quote) and the colon after it; returns the index
    /// after the colon.
    #[inline(always)]
    fn skip_key(&mut self, i: usize) -> Result<usize> {
        let i = self.skip_string(i)?;
        let (i, c) = next_token(self.b, i);
        if c != b':' {
            return json_error();
        }
        Ok(i + 1)
    }
}

/// The open containers of a skipped value, one bit each (set for objects): 64 levels inline,
/// deeper ones spilled to the heap.
#[derive(Default)]
struct Frames {
    /// The innermost (up to) 64 levels.
    top: u64,
    len: usize,
    /// Full words of outer levels.
    spilled: Vec<u64>,
}

impl Frames {
    #[inline]
    fn push(&mut self, object: bool) {
        if self.len > 0 && self.len.is_multiple_of(64) {
            self.spilled.push(self.top);
            self.top = 0;
        }
        self.top |= u64::from(object) << (self.len % 64);
        self.len += 1;
    }

    #[inline]
    fn last(&self) -> Option<bool> {
        let last = self.len.checked_sub(1)?;
        Some((self.top >> (last % 64)) & 1 == 1)
    }

    #[inline]
    fn pop(&mut self) {
        self.len -= 1;
        self.top &= !(1 << (self.len % 64));
        if self.len > 0 && self.len.is_multiple_of(64) {
            self.top = self.spilled.pop().unwrap_or_default();
        }
    }
}
