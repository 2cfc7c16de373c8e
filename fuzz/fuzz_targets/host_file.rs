#![no_main]
//! Fuzz target `host_file`: see `fuzz/src/bodies.rs`.

#[path = "../src/bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::host_file(data));
