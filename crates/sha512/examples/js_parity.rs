//! Our side of `conformance/js-sha512.sh`: hashes the cases it reads on standard input and
//! prints every output form, for `conformance/js-sha512/compare.js` to set beside js-sha512's.
//!
//! Input, one case per line, tab-separated (hex fields may be empty):
//!
//! ```text
//! <algorithm>\t<key hex, or - for a plain hash>\t<chunk size>\t<message hex>
//! ```
//!
//! `algorithm` is a js-sha512 name (`sha512`, `sha384`, `sha512_256`, `sha512_224`). A chunk
//! size of 0 hashes in one call through the typed API (`Sha384::digest`,
//! `HmacSha384::digest` …); any other size streams the message through [`DynHasher`] in
//! pieces of that many bytes.
//!
//! Output, one line per case: `<hex>\t<base64>\t<bytes as comma-separated decimals>`, the last
//! in the form of js-sha512's `array().join(',')`.

use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use sockeye_sha512::{
    Algorithm, DynHasher, HmacSha384, HmacSha512, HmacSha512_224, HmacSha512_256, Sha384, Sha512,
    Sha512_224, Sha512_256,
};
use sockeye_test_support::vectors::hex_decode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("js_parity: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for (number, line) in io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| format!("reading input: {e}"))?;
        let (hex, base64, bytes) =
            hash_case(&line).map_err(|e| format!("line {}: {e}", number + 1))?;
        writeln!(out, "{hex}\t{base64}\t{bytes}").map_err(|e| format!("writing: {e}"))?;
    }
    out.flush().map_err(|e| format!("writing: {e}"))
}

/// Hashes one input line and returns its hex, base64 and decimal-bytes forms.
fn hash_case(line: &str) -> Result<(String, String, String), String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [algorithm, key, chunk, message] = fields[..] else {
        return Err(format!(
            "expected 4 tab-separated fields, got {}",
            fields.len()
        ));
    };
    let algorithm: Algorithm = algorithm.parse().map_err(|e| format!("{e}"))?;
    let key = match key {
        "-" => None,
        hex => Some(hex_decode(hex).map_err(|e| format!("key: {e}"))?),
    };
    let chunk: usize = chunk.parse().map_err(|e| format!("chunk size: {e}"))?;
    let message = hex_decode(message).map_err(|e| format!("message: {e}"))?;

    if chunk == 0 {
        return Ok(one_shot(algorithm, key.as_deref(), &message));
    }
    let mut hasher = match &key {
        Some(key) => DynHasher::hmac(algorithm, key),
        None => DynHasher::new(algorithm),
    };
    for piece in message.chunks(chunk) {
        hasher.update(piece);
    }
    let digest = hasher.finalize();
    Ok((digest.hex(), digest.base64(), decimal(digest.as_bytes())))
}

/// The typed one-shot route: `Sha512::digest(message)`, `HmacSha512::digest(key, message)` …
fn one_shot(algorithm: Algorithm, key: Option<&[u8]>, message: &[u8]) -> (String, String, String) {
    macro_rules! forms {
        ($digest:expr) => {{
            let digest = $digest;
            (digest.hex(), digest.base64(), decimal(&digest.into_bytes()))
        }};
    }
    match (algorithm, key) {
        (Algorithm::Sha512, None) => forms!(Sha512::digest(message)),
        (Algorithm::Sha384, None) => forms!(Sha384::digest(message)),
        (Algorithm::Sha512_256, None) => forms!(Sha512_256::digest(message)),
        (Algorithm::Sha512_224, None) => forms!(Sha512_224::digest(message)),
        (Algorithm::Sha512, Some(key)) => forms!(HmacSha512::digest(key, message)),
        (Algorithm::Sha384, Some(key)) => forms!(HmacSha384::digest(key, message)),
        (Algorithm::Sha512_256, Some(key)) => forms!(HmacSha512_256::digest(key, message)),
        (Algorithm::Sha512_224, Some(key)) => forms!(HmacSha512_224::digest(key, message)),
    }
}

fn decimal(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(u8::to_string).collect();
    parts.join(",")
}
