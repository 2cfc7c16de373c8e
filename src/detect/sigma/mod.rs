//! A Sigma engine for web-server logs (Sigma specification 2.x, `webserver` logsource).

pub mod any_of;
pub mod atoms;
pub mod condition;
pub mod matcher;
pub mod rule;
pub mod run_prefix;
pub mod value;

pub use rule::{error_at, yaml_documents, Level, LogSource, Placeholders, Rule, RuleError};
