//! The frame header codec (RFC 6455 §5.2).
//!
//! [`FrameHeader::decode`] is a push parser in the style of `httparse`: it borrows the input,
//! returns the header and the number of bytes it used, or `Ok(None)` when more input is
//! needed. It checks what a header alone can break; checks that depend on the connection
//! (masking direction, fragmentation order, limits, negotiated extensions) live in
//! [`Connection`](crate::Connection).

use crate::error::ProtocolError;

/// A frame opcode (RFC 6455 §5.2). The reserved opcodes 0x3–0x7 and 0xB–0xF are refused
/// when decoding, so they have no variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: the closing handshake.
    Close,
    /// 0x9: a ping.
    Ping,
    /// 0xA: a pong.
    Pong,
}

impl OpCode {
    /// The opcode for its 4-bit wire value, or `None` for a reserved value.
    pub const fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Whether this is a control opcode (close, ping, pong).
    pub const fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// RSV1, the bit permessage-deflate uses (RFC 7692 §6).
pub const RSV1: u8 = 0b100;
/// RSV2.
pub const RSV2: u8 = 0b010;
/// RSV3.
pub const RSV3: u8 = 0b001;

/// The longest control frame payload (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The longest frame header: 2 bytes, an 8-byte extended length and a 4-byte mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the last frame of its message.
    pub fin: bool,
    /// The RSV1–3 bits, as [`RSV1`] | [`RSV2`] | [`RSV3`].
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on frames a client sends.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Decodes a header from the start of `buf`.
    ///
    /// Returns `Ok(Some((header, consumed)))` for a complete header, `Ok(None)` when `buf`
    /// holds only part of one (any split is fine; nothing is kept between calls).
    ///
    /// # Errors
    ///
    /// Returns the [`ProtocolError`] for a header that is invalid whatever the connection
    /// state: a reserved opcode (RFC 6455 §5.2), a control frame that is fragmented or
    /// longer than 125 bytes (§5.5), a 64-bit length with its top bit set (§5.2).
    pub fn decode(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let (b0, b1) = match buf {
            [b0, b1, ..] => (*b0, *b1),
            _ => return Ok(None),
        };
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0b111;
        let opcode = OpCode::from_u8(b0 & 0x0f)
            .ok_or(ProtocolError::ReservedOpcode { opcode: b0 & 0x0f })?;
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7f;
        let ext = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let Some(ext_bytes) = buf.get(2..2 + ext) else {
            return Ok(None);
        };
        let payload_len = match ext_bytes {
            [a, b] => u64::from(u16::from_be_bytes([*a, *b])),
            [a, b, c, d, e, f, g, h] => u64::from_be_bytes([*a, *b, *c, *d, *e, *f, *g, *h]),
            _ => u64::from(len7),
        };
        if opcode.is_control() {
            // RFC 6455 §5.5: control frames MUST have a payload of 125 bytes or less and
            // MUST NOT be fragmented.
            if payload_len > 125 {
                return Err(ProtocolError::ControlFrameTooLong { len: payload_len });
            }
            if !fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
        }
        // RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0.
        if payload_len >> 63 != 0 {
            return Err(ProtocolError::InvalidLength);
        }
        let total = 2 + ext + if masked { 4 } else { 0 };
        let mask = match buf.get(2 + ext..total) {
            None => return Ok(None),
            Some([a, b, c, d]) => Some([*a, *b, *c, *d]),
            Some(_) => None,
        };
        Ok(Some((
            FrameHeader {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            total,
        )))
    }

    /// The encoded length of this header: 2 to 14 bytes.
    pub fn encoded_len(&self) -> usize {
        2 + match self.payload_len {
            0..=125 => 0,
            126..=0xffff => 2,
            _ => 8,
        } + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encodes the header with the minimal length form (RFC 6455 §5.2) into `out`, returning
    /// the number of bytes written.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0b111) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = match self.payload_len {
            len @ 0..=125 => {
                out[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xffff => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(mask) = self.mask {
            out[n..n + 4].copy_from_slice(&mask);
            n += 4;
        }
        n
    }

    /// Appends the encoded header to `out`, byte by byte rather than through a scratch
    /// array: a small frame's header is two pushes (this is on every send).
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        let b0 = (u8::from(self.fin) << 7) | ((self.rsv & 0b111) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        match self.payload_len {
            len @ 0..=125 => out.extend_from_slice(&[b0, mask_bit | len as u8]),
            len @ 126..=0xffff => {
                let [hi, lo] = (len as u16).to_be_bytes();
                out.extend_from_slice(&[b0, mask_bit | 126, hi, lo]);
            }
            len => {
                out.extend_from_slice(&[b0, mask_bit | 127]);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        if let Some(mask) = self.mask {
            out.extend_from_slice(&mask);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(buf: &[u8]) -> (FrameHeader, usize) {
        FrameHeader::decode(buf).unwrap().unwrap()
    }

    #[test]
    fn rfc6455_5_7_single_frame_unmasked_text() {
        let (h, n) = decode_all(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(n, 2);
        assert!(h.fin);
        assert_eq!(h.opcode, OpCode::Text);
        assert_eq!(h.payload_len, 5);
        assert_eq!(h.mask, None);
    }

    #[test]
    fn rfc6455_5_7_masked_text() {
        let (h, n) = decode_all(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f]);
        assert_eq!(n, 6);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
    }

    #[test]
    fn every_prefix_of_a_header_is_incomplete() {
        let mut h = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::Binary,
            mask: Some([1, 2, 3, 4]),
            payload_len: 1 << 40,
        };
        for len in [0u64, 125, 126, 65535, 65536, 1 << 40] {
            h.payload_len = len;
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = h.encode(&mut out);
            assert_eq!(n, h.encoded_len());
            for cut in 0..n {
                assert_eq!(FrameHeader::decode(&out[..cut]), Ok(None), "{len} {cut}");
            }
            assert_eq!(FrameHeader::decode(&out[..n]), Ok(Some((h, n))));
            let mut vec = Vec::new();
            h.encode_to(&mut vec);
            assert_eq!(vec, &out[..n]);
        }
    }

    #[test]
    fn header_faults() {
        assert_eq!(
            FrameHeader::decode(&[0x83, 0x00]),
            Err(ProtocolError::ReservedOpcode { opcode: 3 })
        );
        assert_eq!(
            FrameHeader::decode(&[0x09, 0x00]),
            Err(ProtocolError::FragmentedControlFrame)
        );
        assert_eq!(
            FrameHeader::decode(&[0x89, 0x7e, 0x00, 0x7e]),
            Err(ProtocolError::ControlFrameTooLong { len: 126 })
        );
        assert_eq!(FrameHeader::decode(&[0x89, 0x7e, 0x00]), Ok(None));
        assert_eq!(
            FrameHeader::decode(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::InvalidLength)
        );
    }
}
