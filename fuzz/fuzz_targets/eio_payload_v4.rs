#![no_main]
//! Engine.IO v4 polling payloads (`\x1e`-separated, binary as `b` + base64): never panics,
//! decoding in two chunks equals decoding whole, the decoder keeps its step contract, and a
//! decoded payload round-trips through the encoder.
use libfuzzer_sys::fuzz_target;
use sockeye_engineio::PayloadFormat;

#[path = "eio_payload.rs"]
mod eio_payload;

fuzz_target!(|data: &[u8]| eio_payload::check(&[PayloadFormat::V4], data));
