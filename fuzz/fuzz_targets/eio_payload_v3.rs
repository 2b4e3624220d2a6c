#![no_main]
//! Engine.IO v3 polling payloads, text (`<UTF-16 length>:<packet>`) and binary (XHR2), picked
//! by bit 0 of the first byte: never panics, decoding in two chunks equals decoding whole, the
//! decoder keeps its step contract, and a decoded payload round-trips through the encoder.
use libfuzzer_sys::fuzz_target;
use sockeye_engineio::PayloadFormat;

#[path = "eio_payload.rs"]
mod eio_payload;

fuzz_target!(|data: &[u8]| {
    eio_payload::check(&[PayloadFormat::V3Text, PayloadFormat::V3Binary], data)
});
