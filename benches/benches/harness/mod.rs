//! The side-by-side timing the codec benches (`ws`, `engineio`, `socketio`) share, included
//! by each with `#[path]`.
//!
//! Criterion's estimates come from runs minutes apart on a machine whose speed drifts, so the
//! table does not use them: every implementation of a case runs in interleaved batches of
//! about 4 ms, rotating which goes first, over several passes, and each keeps its fastest
//! batch.

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::Criterion;

/// One implementation's work on one case: returns something to keep it from being optimised
/// away (a length).
pub type Run<'a> = Box<dyn FnMut() -> usize + 'a>;

/// Target duration of one batch.
pub const BATCH: Duration = Duration::from_millis(4);

/// One implementation in the table, timed batch by batch.
pub struct Column<'a> {
    /// The implementation's name, as the table's header has it.
    pub name: &'static str,
    run: Run<'a>,
    iters: usize,
    /// Fastest batch so far, in seconds per iteration.
    pub best: f64,
}

impl<'a> Column<'a> {
    /// A column for `run`, calibrated to batches of about [`BATCH`].
    pub fn new(name: &'static str, mut run: Run<'a>) -> Self {
        let iters = calibrate(&mut run);
        Self {
            name,
            run,
            iters,
            best: f64::INFINITY,
        }
    }
}

/// Times every column of every row (a row per case): `passes` passes over all rows, so that a
/// burst of load elsewhere cannot spoil all of one case's batches, each with `rounds` rounds
/// per row timing one batch of every column, rotating which goes first.
pub fn interleave(rows: &mut [Vec<Column<'_>>], passes: usize, rounds: usize) {
    for _ in 0..passes {
        for columns in rows.iter_mut() {
            for round in 0..rounds {
                let k = columns.len();
                for i in 0..k {
                    let col = &mut columns[(round + i) % k];
                    let secs = time(&mut col.run, col.iters);
                    col.best = col.best.min(secs / col.iters as f64);
                }
            }
        }
    }
}

/// A rate with three significant digits at most (two decimals below 10).
pub fn fmt_rate(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else if r >= 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    }
}

/// Iterations of `run` that take about one batch.
fn calibrate(run: &mut Run<'_>) -> usize {
    let mut iters = 1;
    loop {
        let secs = time(run, iters);
        if secs >= BATCH.as_secs_f64() / 4.0 {
            return ((iters as f64) * BATCH.as_secs_f64() / secs).ceil() as usize;
        }
        iters *= 4;
    }
}

/// Seconds taken by `iters` calls of `run`.
fn time(run: &mut Run<'_>, iters: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(run());
    }
    start.elapsed().as_secs_f64()
}

/// The cases `SOCKEYE_BENCH_CASES` keeps: those whose id contains one of its comma-separated
/// words (for quick profiling loops; the recorded tables use all cases), or all when unset.
pub fn selected<C>(cases: Vec<C>, id: impl Fn(&C) -> &str) -> Vec<C> {
    let filter = std::env::var("SOCKEYE_BENCH_CASES").ok();
    cases
        .into_iter()
        .filter(|c| {
            filter
                .as_deref()
                .is_none_or(|f| f.split(',').any(|w| id(c).contains(w)))
        })
        .collect()
}

/// Runs the criterion benchmarks as every codec bench configures them, then the table, unless
/// this is `cargo test --benches` (each benchmark once, as a smoke test), a listing, or a run
/// for a profiler (`--profile-time`).
pub fn run(benches: impl FnOnce(&mut Criterion), table: impl FnOnce()) {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
    let quick = std::env::args().any(|a| a == "--test" || a == "--list" || a == "--profile-time");
    if !quick {
        table();
    }
}

/// Where decoded data and encoded bytes go: `black_box` while measuring, a copy while
/// checking. The branch is the same for every implementation.
#[derive(Clone, Default)]
pub struct Sink {
    keep: Option<Rc<RefCell<Vec<Vec<u8>>>>>,
}

impl Sink {
    /// A sink that keeps a copy of everything put into it in `kept`.
    pub fn keeping(kept: &Rc<RefCell<Vec<Vec<u8>>>>) -> Self {
        Self {
            keep: Some(kept.clone()),
        }
    }

    /// Takes one output.
    pub fn put(&mut self, bytes: &[u8]) {
        match &self.keep {
            Some(kept) => kept.borrow_mut().push(bytes.to_vec()),
            None => {
                black_box(bytes);
            }
        }
    }
}

/// xorshift64*: deterministic filler, so every run sees the same bytes.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// `len` bytes from [`Rng`] (the top byte of each draw).
pub fn binary(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| (rng.next() >> 56) as u8).collect()
}
