//! sockeye-sha512 against raw `sha2`, SHA-512 over 64 B, 1 KiB and 1 MiB, in one run:
//! one-shot digest to bytes, one-shot digest to hex, and streaming (`new`, `update`,
//! `finalize`).
//!
//! ```text
//! cargo bench -p sockeye-benches --bench sha512
//! ```
//!
//! Criterion measures each case and prints its throughput. Then, because criterion compares
//! a benchmark only with its own earlier runs, a second pass prints a table of throughput
//! ratios, ours over raw: the two sides run in alternating batches, and each side's figure is
//! its fastest batch, which on a shared machine is the one least disturbed by other work. A
//! ratio of 1.00 means no measurable overhead.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use sha2::Digest as _;
use sockeye_sha512::Sha512;

const SIZES: [(usize, &str); 3] = [(64, "64 B"), (1024, "1 KiB"), (1 << 20, "1 MiB")];

/// One measured operation: a name, our implementation and the raw `sha2` baseline. Each
/// returns something derived from the digest so the work cannot be optimised away.
struct Case {
    name: &'static str,
    ours: fn(&[u8]) -> u8,
    raw: fn(&[u8]) -> u8,
}

const CASES: [Case; 3] = [
    Case {
        name: "digest",
        ours: |data| Sha512::digest(data).into_bytes()[0],
        raw: |data| sha2::Sha512::digest(data)[0],
    },
    Case {
        name: "hex",
        ours: |data| Sha512::digest(data).hex().as_bytes()[0],
        raw: |data| raw_hex(&sha2::Sha512::digest(data)).as_bytes()[0],
    },
    Case {
        name: "streaming",
        ours: |data| Sha512::new().update(data).finalize().into_bytes()[0],
        raw: |data| {
            let mut hasher = sha2::Sha512::new();
            hasher.update(data);
            hasher.finalize()[0]
        },
    },
];

/// Hex over raw `sha2` output for the "hex" baseline: the same encoder as ours, so the
/// ratio shows only the cost of our wrapping.
fn raw_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = vec![0; bytes.len() * 2];
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
    // Invariant: only ASCII hex digits were written.
    String::from_utf8(out).expect("hex digits are ASCII")
}

fn input(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn criterion_benches(c: &mut Criterion) {
    for case in &CASES {
        let mut group = c.benchmark_group(format!("sha512_{}", case.name));
        for (len, label) in SIZES {
            let data = input(len);
            group.throughput(Throughput::Bytes(len as u64));
            group.bench_with_input(BenchmarkId::new("sockeye", label), &data, |b, data| {
                b.iter(|| (case.ours)(black_box(data)))
            });
            group.bench_with_input(BenchmarkId::new("sha2", label), &data, |b, data| {
                b.iter(|| (case.raw)(black_box(data)))
            });
        }
        group.finish();
    }
}

/// Passes over all cases; each case's batches are spread over the passes, so a burst of
/// load elsewhere on the machine cannot spoil all of one case's batches.
const PASSES: usize = 4;
/// Rounds per case in each pass; each round times one batch of ours and one of raw.
const ROUNDS: usize = 100;
/// Target duration of one batch.
const BATCH: Duration = Duration::from_millis(2);

/// Prints, per case and size, both throughputs (the best batch of each side) and their ratio,
/// ours / raw.
fn ratio_table() {
    struct Row {
        case: &'static Case,
        label: &'static str,
        data: Vec<u8>,
        iters: usize,
        best_ours: f64,
        best_raw: f64,
    }
    let mut rows = Vec::new();
    for case in &CASES {
        for (len, label) in SIZES {
            let data = input(len);
            let iters = calibrate(case.raw, &data);
            let (best_ours, best_raw) = (f64::INFINITY, f64::INFINITY);
            rows.push(Row {
                case,
                label,
                data,
                iters,
                best_ours,
                best_raw,
            });
        }
    }
    for _ in 0..PASSES {
        for row in &mut rows {
            for round in 0..ROUNDS {
                // Alternate which side goes first, so drift in machine load cancels.
                let ours_first = round % 2 == 0;
                if ours_first {
                    row.best_ours = row.best_ours.min(time(row.case.ours, &row.data, row.iters));
                }
                row.best_raw = row.best_raw.min(time(row.case.raw, &row.data, row.iters));
                if !ours_first {
                    row.best_ours = row.best_ours.min(time(row.case.ours, &row.data, row.iters));
                }
            }
        }
    }

    println!();
    println!(
        "sockeye-sha512 vs raw sha2, SHA-512 (best of {} interleaved batches each)",
        PASSES * ROUNDS
    );
    println!(
        "{:<10} {:<10} {:>14} {:>14} {:>12}",
        "case", "size", "ours MiB/s", "sha2 MiB/s", "ours/sha2"
    );
    for row in &rows {
        let mib_per_s = |secs: f64| (row.data.len() * row.iters) as f64 / secs / (1 << 20) as f64;
        println!(
            "{:<10} {:<10} {:>14.1} {:>14.1} {:>12.3}",
            row.case.name,
            row.label,
            mib_per_s(row.best_ours),
            mib_per_s(row.best_raw),
            row.best_raw / row.best_ours
        );
    }
}

/// Iterations of `f` that take about one batch.
fn calibrate(f: fn(&[u8]) -> u8, data: &[u8]) -> usize {
    let mut iters = 1;
    loop {
        let secs = time(f, data, iters);
        if secs >= BATCH.as_secs_f64() / 4.0 {
            return ((iters as f64) * BATCH.as_secs_f64() / secs).ceil() as usize;
        }
        iters *= 4;
    }
}

/// Seconds taken by `iters` calls of `f`.
fn time(f: fn(&[u8]) -> u8, data: &[u8], iters: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(f(black_box(data)));
    }
    start.elapsed().as_secs_f64()
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    criterion_benches(&mut criterion);
    criterion.final_summary();
    // `cargo test --benches` runs each benchmark once as a smoke test; no table then.
    let quick = std::env::args().any(|a| a == "--test" || a == "--list");
    if !quick {
        ratio_table();
    }
}
