#![no_main]
//! Fuzz target `whole_gzip`: see `fuzz/src/bodies.rs`.

#[path = "../src/bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::whole_gzip(data));
