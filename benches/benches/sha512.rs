//! Placeholder while the sha512 benchmark is written.
fn main() {}
