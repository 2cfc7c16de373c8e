//! Detection: Sigma rules kept as data, compiled together behind one literal prefilter.

pub mod sigma;
