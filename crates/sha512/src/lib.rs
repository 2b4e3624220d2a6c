//! SHA-512 family helpers (placeholder while the crate is written).
