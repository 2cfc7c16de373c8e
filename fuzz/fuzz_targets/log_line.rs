#![no_main]
//! Fuzz target `log_line`: see `fuzz/src/bodies.rs`.

#[path = "../src/bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::log_line(data));
