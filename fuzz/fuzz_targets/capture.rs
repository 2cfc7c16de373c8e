#![no_main]
//! Fuzz target `capture`: see `fuzz/src/bodies.rs`.

#[path = "../src/bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::capture(data));
