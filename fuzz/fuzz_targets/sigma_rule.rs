#![no_main]
//! Fuzz target `sigma_rule`: see `fuzz/src/bodies.rs`.

#[path = "../src/bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::sigma_rule(data));
