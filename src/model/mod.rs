//! The one model every stage shares: findings, verdicts, inputs, problems, their typed
//! states, and time. Producers (logs, hosts, network) emit it; sinks render it. It knows no
//! producer, no rule engine and no language.

mod client;
mod finding;
mod input;
mod network;
mod problem;
mod states;
mod time;
mod verdict;

pub use client::{ClientFrom, ClientPolicy};
pub use finding::{
    CorrelationEvidence, CorrelationTag, Evidence, Finding, FindingOut, FindingRecord,
    ProxyEvidence, RequestEvidence, ScanEvidence, ScanSource, TraceEvidence, Wire,
    MAX_LINKED_FINDINGS,
};
pub use input::{InputRecord, InputTag, Repeat, StreamFacts};
pub use network::{BestModel, Locality, LocalityFit, ModelFit, ScanDetail, WindowPeak};
pub use problem::{full as problems_whole, Problem, ProblemKind, Severity};
pub use states::{Confidence, EvidenceKind, Exposure, Level, PatchStatus, Role, State};
pub use time::{TimeWindow, Timestamp, WindowCheck};
pub use verdict::{
    DiskDetail, ExposureCounts, HostDetail, PatchState, ScriptMaps, ServedDetail, SourceDetail,
    StatusCounts, Verdict, VerdictTag,
};
