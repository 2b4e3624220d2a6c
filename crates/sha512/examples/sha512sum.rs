//! `sha512sum` for the whole SHA-512 family, with optional HMAC, printing what coreutils'
//! `sha512sum` prints.
//!
//! ```text
//! cargo run -p sockeye-sha512 --example sha512sum -- \
//!     [--algo sha384|sha512|sha512-256|sha512-224] [--hmac-key KEY] [FILE...]
//! ```
//!
//! Prints `<hex>  <name>` per file; with no file, or for `-`, reads standard input. Files are
//! streamed, never read into memory whole. A file that cannot be read is reported on standard
//! error and the others still print; the exit status is then 1 (2 for a usage error).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::process::ExitCode;

use sockeye_sha512::{Algorithm, DynHasher};

const USAGE: &str = "usage: sha512sum [--algo sha384|sha512|sha512-256|sha512-224] \
                     [--hmac-key KEY] [FILE...]";
/// Exit status when some file could not be read.
const EXIT_FILE_ERROR: u8 = 1;
/// Exit status for bad arguments.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let status = run(
        &args,
        &mut io::stdin().lock(),
        &mut io::stdout().lock(),
        &mut io::stderr().lock(),
    );
    ExitCode::from(status)
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
struct Options {
    algorithm: Algorithm,
    hmac_key: Option<Vec<u8>>,
    files: Vec<OsString>,
}

/// Runs the command over `args` (without the program name) and returns the exit status.
pub(crate) fn run(
    args: &[OsString],
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    // A failed write to stderr leaves nowhere to report it; the exit status still tells.
    let options = match parse_args(args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            return match writeln!(stdout, "{USAGE}") {
                Ok(()) => 0,
                Err(_) => EXIT_FILE_ERROR,
            };
        }
        Err(message) => {
            let _ = writeln!(stderr, "sha512sum: {message}\n{USAGE}");
            return EXIT_USAGE;
        }
    };
    let mut status = 0;
    for name in &options.files {
        let hasher = match &options.hmac_key {
            Some(key) => DynHasher::hmac(options.algorithm, key),
            None => DynHasher::new(options.algorithm),
        };
        let result = if name == "-" {
            hash_reader(hasher, stdin)
        } else {
            File::open(name).and_then(|mut file| hash_reader(hasher, &mut file))
        };
        match result {
            Ok(hex) => {
                if let Err(e) = writeln!(stdout, "{}", checksum_line(&hex, name)) {
                    let _ = writeln!(stderr, "sha512sum: write error: {e}");
                    return EXIT_FILE_ERROR;
                }
            }
            Err(e) => {
                let _ = writeln!(stderr, "sha512sum: {}: {e}", name.to_string_lossy());
                status = EXIT_FILE_ERROR;
            }
        }
    }
    status
}

/// Parses the arguments; `Ok(None)` asks for the usage text.
fn parse_args(args: &[OsString]) -> Result<Option<Options>, String> {
    let mut options = Options {
        algorithm: Algorithm::Sha512,
        hmac_key: None,
        files: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else {
            if arg.as_encoded_bytes().starts_with(b"-") {
                return Err(
                    "an option that is not UTF-8 (pass such a key as its own argument)".into(),
                );
            }
            options.files.push(arg.clone());
            continue;
        };
        let (flag, inline_value) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(OsStr::new(value))),
            _ => (text, None),
        };
        let mut value = |flag: &str| {
            inline_value
                .or_else(|| args.next().map(OsString::as_os_str))
                .ok_or_else(|| format!("option {flag} needs a value"))
        };
        match flag {
            "--algo" => {
                let name = value(flag)?;
                let name = name.to_str().ok_or("--algo: not UTF-8")?;
                options.algorithm = name.parse().map_err(|e| format!("--algo: {e}"))?;
            }
            // The key's bytes as given: UTF-8 text on the usual command line.
            "--hmac-key" => options.hmac_key = Some(value(flag)?.as_encoded_bytes().to_vec()),
            "-h" | "--help" => return Ok(None),
            "--" => {
                options.files.extend(args.by_ref().cloned());
            }
            _ if text.starts_with('-') && text != "-" => {
                return Err(format!("unknown option {}", arg.to_string_lossy()));
            }
            _ => options.files.push(arg.clone()),
        }
    }
    if options.files.is_empty() {
        options.files.push(OsString::from("-"));
    }
    Ok(Some(options))
}

/// Streams `reader` through `hasher` and returns the hex digest.
fn hash_reader(mut hasher: DynHasher, reader: &mut dyn Read) -> io::Result<String> {
    io::copy(reader, &mut hasher)?;
    Ok(hasher.finalize().hex())
}

/// One output line as coreutils writes it: `<hex>  <name>`, and for a name holding a
/// backslash or a newline, a leading backslash with those escaped as `\\` and `\n`.
fn checksum_line(hex: &str, name: &OsStr) -> String {
    let name = name.to_string_lossy();
    if name.contains(['\\', '\n']) {
        let escaped = name.replace('\\', "\\\\").replace('\n', "\\n");
        format!("\\{hex}  {escaped}")
    } else {
        format!("{hex}  {name}")
    }
}
