#![no_main]
//! Server connection over arbitrary client bytes: no panic, and chunked == whole.
use libfuzzer_sys::fuzz_target;

#[path = "ws_connection.rs"]
mod ws_connection;

fuzz_target!(|data: &[u8]| ws_connection::check(false, data));
