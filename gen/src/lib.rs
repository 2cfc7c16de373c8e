//! Generators of wormtrace's test and sample evidence (used by the `wormtrace-gen` binary
//! and by the test suite).

pub mod host;
pub mod hostile;
pub mod net;
pub mod regf;
pub mod requests;
pub mod weblogs;
