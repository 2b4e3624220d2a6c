#![no_main]
//! Placeholder target while the frame decoder is written.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = data;
});
