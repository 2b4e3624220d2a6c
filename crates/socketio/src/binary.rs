//! Binary arguments: bytes in typed values become placeholders plus attachments on the way
//! out, and attachments fill their placeholders on the way in.

use std::io;

use bytes::Bytes;
use serde::Serialize;
use serde_json::ser::Formatter;

/// A JSON formatter that writes every byte array (what serde's `serialize_bytes` produces,
/// e.g. `bytes::Bytes` with its `serde` feature, or `serde_bytes`) as a placeholder
/// `{"_placeholder":true,"num":N}` and keeps the bytes as attachment `N`.
struct PlaceholderFormatter<'a> {
    attachments: &'a mut Vec<Bytes>,
}

impl Formatter for PlaceholderFormatter<'_> {
    fn write_byte_array<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        value: &[u8],
    ) -> io::Result<()> {
        let num = self.attachments.len();
        self.attachments.push(Bytes::copy_from_slice(value));
        write!(writer, "{{\"_placeholder\":true,\"num\":{num}}}")
    }
}

/// Serializes `value` to JSON, turning byte arrays into placeholders; returns the
/// attachments in placeholder order.
pub(crate) fn to_writer<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<Vec<Bytes>, serde_json::Error> {
    let mut attachments = Vec::new();
    let formatter = PlaceholderFormatter {
        attachments: &mut attachments,
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, formatter);
    value.serialize(&mut ser)?;
    Ok(attachments)
}

/// Replaces every placeholder in `value` by its attachment (as an array of byte values,
/// which `Bytes`, `Vec<u8>` and `serde_bytes` all deserialize from).
pub(crate) fn fill(value: &mut serde_json::Value, attachments: &[Bytes]) {
    match value {
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| fill(v, attachments)),
        serde_json::Value::Object(map) => {
            let index = (map.get("_placeholder") == Some(&serde_json::Value::Bool(true)))
                .then(|| map.get("num").and_then(placeholder_index))
                .flatten();
            match index.and_then(|i| attachments.get(i)) {
                Some(bytes) => {
                    *value = serde_json::Value::Array(bytes.iter().map(|&b| b.into()).collect());
                }
                None => map.values_mut().for_each(|v| fill(v, attachments)),
            }
        }
        _ => {}
    }
}

/// A placeholder's `num` as the decoder's validator reads it: an unsigned integer, or a
/// number with no fraction in `0..2^53` (`0.0`, `0e0` and `-0` are 0 to JavaScript).
fn placeholder_index(num: &serde_json::Value) -> Option<usize> {
    let n = num.as_u64().or_else(|| {
        num.as_f64()
            .filter(|v| v.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(v))
            .map(|v| v as u64)
    })?;
    usize::try_from(n).ok()
}
