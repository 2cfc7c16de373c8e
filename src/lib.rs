//! wormtrace: hunts the traces that Code Red-family web worms leave in web-server logs.
//!
//! The pipeline, one module a stage: [`source`] (inputs) → [`record`] (parsed lines; [`net`]
//! turns captures and connection tables into requests and connection tallies) →
//! [`detect`] (Sigma rules as data) → [`finding`] → [`verdict`] → [`sink`] (outputs).

pub mod detect;
pub mod finding;
pub mod host;
pub mod i18n;
pub mod identity;
pub mod model;
pub mod net;
pub mod record;
pub mod run;
pub mod scan;
pub mod sink;
pub mod source;
pub mod verdict;
pub mod words;
