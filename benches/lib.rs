//! Benchmarks for the sockeye crates live in `benches/`; this library is empty.
//!
//! Run one group with `cargo bench -p sockeye-benches --bench <name>`.
