//! The `sha512sum` example: coreutils' output format, every `--algo`, `--hmac-key`, standard
//! input, and a missing file among good ones.
//!
//! Most tests call the example's `run` in-process (the example's source is compiled into this
//! test, so it can never be stale); one runs the built binary to check the real exit status.

#[allow(dead_code)] // `main` is the binary's entry point, unused here.
#[path = "../examples/sha512sum.rs"]
mod sha512sum;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use sockeye_sha512::{Algorithm, DynHasher, HmacSha384, Sha512, Sha512_224};

/// What one in-process run produced.
struct Output {
    status: u8,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let status = sha512sum::run(&args, &mut &stdin[..], &mut stdout, &mut stderr);
    Output {
        status,
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// A fresh directory for one test under Cargo's per-package scratch directory.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("sha512sum")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn prints_hex_two_spaces_and_name_per_file() {
    let dir = scratch("format");
    let abc = write(&dir, "abc", b"abc");
    let empty = write(&dir, "empty", b"");
    let out = run(&[&abc, &empty], b"");
    assert_eq!(out.status, 0, "{}", out.stderr);
    let expected = format!(
        "{}  {abc}\n{}  {empty}\n",
        Sha512::digest("abc").hex(),
        Sha512::digest("").hex()
    );
    assert_eq!(out.stdout, expected);
    assert_eq!(out.stderr, "");
}

#[test]
fn reads_standard_input_without_files_or_for_dash() {
    let expected = format!("{}  -\n", Sha512::digest("from stdin").hex());
    assert_eq!(run(&[], b"from stdin").stdout, expected);
    assert_eq!(run(&["-"], b"from stdin").stdout, expected);
    assert_eq!(run(&["--", "-"], b"from stdin").stdout, expected);
}

#[test]
fn every_algo_spelling_selects_its_variant() {
    for (flag, algorithm) in [
        ("sha512", Algorithm::Sha512),
        ("sha384", Algorithm::Sha384),
        ("sha512-256", Algorithm::Sha512_256),
        ("sha512-224", Algorithm::Sha512_224),
        ("sha512_224", Algorithm::Sha512_224),
    ] {
        let expected = DynHasher::new(algorithm).update("x").finalize().hex();
        assert_eq!(
            run(&["--algo", flag], b"x").stdout,
            format!("{expected}  -\n")
        );
        let inline = format!("--algo={flag}");
        assert_eq!(run(&[&inline], b"x").stdout, format!("{expected}  -\n"));
    }
}

#[test]
fn hmac_key_gives_the_hmac_tag() {
    let expected = HmacSha384::digest("secret", "message").hex();
    let out = run(&["--algo", "sha384", "--hmac-key", "secret"], b"message");
    assert_eq!(out.stdout, format!("{expected}  -\n"));
    let out = run(&["--hmac-key=secret", "--algo=sha384", "-"], b"message");
    assert_eq!(out.stdout, format!("{expected}  -\n"));
}

#[test]
fn missing_file_is_reported_and_the_others_still_print() {
    let dir = scratch("missing");
    let good = write(&dir, "good", b"abc");
    let missing = dir.join("missing").to_str().unwrap().to_owned();
    let out = run(&[&missing, &good], b"");
    assert_eq!(out.status, 1);
    assert_eq!(
        out.stdout,
        format!("{}  {good}\n", Sha512::digest("abc").hex())
    );
    assert!(
        out.stderr.starts_with(&format!("sha512sum: {missing}: ")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("No such file"), "{}", out.stderr);
}

#[test]
fn a_directory_is_an_error_too() {
    let dir = scratch("directory");
    let out = run(&[dir.to_str().unwrap()], b"");
    assert_eq!(out.status, 1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("sha512sum: "), "{}", out.stderr);
}

#[test]
fn large_file_streams_to_the_one_shot_digest() {
    let dir = scratch("large");
    let contents: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
    let path = write(&dir, "large", &contents);
    let out = run(&["--algo", "sha512-224", &path], b"");
    let expected = Sha512_224::digest(&contents).hex();
    assert_eq!(out.stdout, format!("{expected}  {path}\n"));
}

#[test]
fn names_with_backslash_or_newline_are_escaped_like_coreutils() {
    let dir = scratch("escape");
    let path = write(&dir, "a\\b\nc", b"abc");
    let out = run(&[&path], b"");
    let escaped = path.replace('\\', "\\\\").replace('\n', "\\n");
    assert_eq!(
        out.stdout,
        format!("\\{}  {escaped}\n", Sha512::digest("abc").hex())
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        &["--algo", "md5"][..],
        &["--algo"],
        &["--hmac-key"],
        &["--frobnicate"],
        &["-x"],
    ] {
        let out = run(args, b"");
        assert_eq!(out.status, 2, "{args:?}");
        assert_eq!(out.stdout, "", "{args:?}");
        assert!(
            out.stderr.contains("usage: sha512sum"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let help = run(&["--help"], b"");
    assert_eq!((help.status, help.stderr.as_str()), (0, ""));
    assert!(help.stdout.starts_with("usage: sha512sum"));
}

/// The built example, next to this test binary: `cargo test` builds examples alongside
/// tests, in `<target>/<profile>/examples/`, while tests live in `<target>/<profile>/deps/`.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // Invariant: a test binary runs from `<target>/<profile>/deps/<name>`.
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir
        .join("examples")
        .join(format!("sha512sum{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the whole `cargo test -p sockeye-sha512`, which builds examples",
        path.display()
    );
    path
}

#[test]
fn the_binary_exits_non_zero_when_a_file_is_missing() {
    let dir = scratch("binary");
    let good = write(&dir, "good", b"abc");
    let missing = dir.join("missing");
    let out = Command::new(example_binary())
        .arg(&missing)
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout, format!("{}  {good}\n", Sha512::digest("abc").hex()));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(missing.to_str().unwrap()), "{stderr}");
}
