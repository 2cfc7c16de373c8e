//! Packet captures: frames → TCP segments → (a) request heads, reassembled and run through
//! the rules like log lines, and (b) SYNs to port 80, tallied per source for scan behaviour.

pub mod answers;
mod flows;
pub mod frames;
pub mod http;
mod huge;
pub mod link;
mod places;
pub mod reassembly;
pub mod syn;

use std::collections::BTreeMap;
use std::io::Read;

use crate::detect::Detector;
use crate::model::{Finding, FindingOut, WindowCheck};
use crate::record::NetworkConnection;

use super::spread::{SpreadSource, Subject, Tally};
use answers::Answers;
pub use frames::{read_frames, CaptureError, CaptureKind, Frame};
use link::{tcp_segment, Skip};
pub use reassembly::Request;
use reassembly::{At, Limits, Reassembler};
use syn::SynTracker;

/// How a capture is read.
#[derive(Debug, Clone, Default)]
pub struct CaptureOptions {
    /// Reassembly bounds.
    pub limits: Limits,
    /// Sliding window for counted SYNs, in seconds.
    pub window_secs: i64,
    /// Which SYNs count towards spreading (none without it).
    pub spreading: Option<crate::detect::spreading::Spreading>,
    /// Report every rule that hit a request, not only the most specific family.
    pub all_hits: bool,
    /// Times whose requests are checked (`--since`/`--until`).
    pub window: crate::model::TimeWindow,
    /// Which address of a proxied request is its client.
    pub client: std::sync::Arc<crate::model::ClientPolicy>,
}

/// What a capture gave.
#[derive(Debug, Default)]
pub struct CaptureReport {
    /// Packet blocks read.
    pub frames: u64,
    /// Frames that held a TCP segment.
    pub tcp_segments: u64,
    /// Frames passed over, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Request heads reassembled.
    pub requests: u64,
    /// Findings of those requests (handed on in the order their answers came).
    pub findings: u64,
    /// Port-80 SYN tallies of the sources with more than a handful of targets.
    pub tallies: Vec<(Subject, Tally)>,
    /// Flows closed early by the memory limits, and heads cut at the per-flow limit.
    pub evicted_flows: u64,
    pub cut_heads: u64,
    /// Requests outside the time window (not checked).
    pub outside_window: u64,
    /// Why reading stopped early (frames before it were used).
    pub error: Option<CaptureError>,
}

/// How often (in capture seconds) idle flows are looked for.
const EXPIRE_EVERY_SECS: i64 = 10;

/// What a capture gives as it is read: each reassembled request, and each SYN without
/// ACK (a connection opened) as a `network_connection` record with its frame's time.
pub enum CaptureItem<'a> {
    Request(&'a Request),
    Syn {
        frame: u64,
        secs: i64,
        nanos: u32,
        connection: NetworkConnection,
    },
}

/// What is done with each item: the findings it gives (a SYN gives none).
pub type OnCaptureItem<'d> = dyn FnMut(CaptureItem<'_>) -> Vec<Finding> + 'd;

struct CaptureScan<'d> {
    on_item: &'d mut OnCaptureItem<'d>,
    /// Findings whose answers have come, not yet handed on.
    ready: Vec<Finding>,
    /// Requests the reassembler completed, handed over with their vector's room kept.
    done: Vec<Request>,
    options: CaptureOptions,
    reassembler: Reassembler,
    syns: SynTracker,
    answers: Answers,
    last_expiry: i64,
    report: CaptureReport,
}

/// Reads a whole capture, running each request through the rules; findings go to `out`.
pub fn scan_capture<R: Read + Send>(
    reader: R,
    kind: CaptureKind,
    detector: &Detector,
    path: &str,
    options: CaptureOptions,
    out: &mut FindingOut<'_>,
) -> CaptureReport {
    let format = kind.name();
    let mut outside_window = 0;
    let (window, all_hits, client) = (options.window, options.all_hits, options.client.clone());
    // A worm sends one request from many clients: the rules judge each set of values once.
    let mut memo = crate::detect::memo::RuleMemo::default();
    let mut findings = |item: CaptureItem<'_>| {
        let CaptureItem::Request(request) = item else {
            return Vec::new();
        };
        // Every request has its frame's time, so none is untimed.
        if window.check(super::timestamp(request.secs)) == WindowCheck::Outside {
            outside_window += 1;
            return Vec::new();
        }
        let rules = http::RequestRules {
            detector,
            memo: &mut memo,
            all_hits,
        };
        http::request_findings(request, rules, (path, format), &client)
    };
    let mut report = read_capture(reader, options, &mut findings, out);
    report.outside_window = outside_window;
    report
}

/// Reads a whole capture, giving each reassembled request and each SYN to `on_item` (which
/// returns a request's findings; `wormtrace parse` returns none and prints the item
/// instead). Findings go to `out` once their answer is seen (or given up on).
pub fn read_capture<'d, R: Read + Send>(
    reader: R,
    options: CaptureOptions,
    on_item: &'d mut OnCaptureItem<'d>,
    out: &mut FindingOut<'_>,
) -> CaptureReport {
    let mut scan = CaptureScan {
        on_item,
        ready: Vec::new(),
        done: Vec::new(),
        reassembler: Reassembler::new(options.limits),
        syns: SynTracker::new(options.window_secs.max(1)),
        options,
        answers: Answers::default(),
        last_expiry: i64::MIN,
        report: CaptureReport::default(),
    };
    let result = read_frames(reader, &mut |frame| {
        scan.frame(frame);
        scan.hand_on(out);
    });
    let mut reassembler = std::mem::take(&mut scan.reassembler);
    reassembler.finish(|request| {
        scan.request(request);
        scan.hand_on(out);
    });
    scan.answers.finish(&mut scan.ready);
    scan.hand_on(out);
    let mut report = scan.report;
    match result {
        Ok(n) => report.frames = n,
        Err(e) => report.error = Some(e),
    }
    report.evicted_flows = reassembler.evicted;
    report.cut_heads = reassembler.cut_heads;
    report.tallies = scan
        .syns
        .into_tallies()
        .into_iter()
        .map(|(address, tally)| {
            let subject = Subject {
                source: SpreadSource::Capture,
                host: None,
                address,
            };
            (subject, tally)
        })
        .collect();
    report
}

impl CaptureScan<'_> {
    /// Hands on the findings whose answers have come.
    fn hand_on(&mut self, out: &mut FindingOut<'_>) {
        self.report.findings += self.ready.len() as u64;
        self.ready.drain(..).for_each(out);
    }

    fn frame(&mut self, frame: &Frame) {
        self.report.frames = frame.number;
        let segment = match tcp_segment(frame.link_type, frame.data) {
            Ok(s) => s,
            Err(skip) => {
                *self.report.skipped.entry(skip_name(skip)).or_default() += 1;
                return;
            }
        };
        self.report.tcp_segments += 1;
        // The flow's and the SYN source's index words are fetched while the segment is
        // looked at: in a capture of many new flows each is a cache miss.
        self.reassembler.prefetch(segment.src, segment.dst);
        let counted_syn = segment.syn && !segment.ack && self.syn(frame, &segment);
        if counted_syn {
            self.syns.prefetch(segment.src.ip());
        }
        let at = At {
            frame: frame.number,
            secs: frame.secs,
            nanos: frame.nanos,
        };
        let ends = segment.fin || segment.rst;
        self.answers.segment(
            segment.src,
            segment.dst,
            segment.payload,
            ends,
            &mut self.ready,
        );
        self.reassembler.segment(
            segment.src,
            segment.dst,
            segment.seq,
            segment.syn,
            segment.ack,
            ends,
            segment.payload,
            at,
        );
        if counted_syn {
            self.syns
                .syn(segment.src.ip(), segment.dst.ip(), frame.secs);
        }
        if frame.secs >= self.last_expiry.saturating_add(EXPIRE_EVERY_SECS) {
            self.reassembler.expire(frame.secs);
            let cutoff = frame.secs.saturating_sub(self.options.limits.idle_secs);
            self.answers.expire(cutoff, &mut self.ready);
            self.last_expiry = frame.secs;
        }
        self.reassembler.take_into(&mut self.done);
        self.requests();
    }

    /// A SYN without ACK: its source opened the connection. Returns whether the spreading
    /// correlation's rules count it.
    fn syn(&mut self, frame: &Frame, segment: &link::Segment<'_>) -> bool {
        let connection = NetworkConnection {
            source: segment.src.ip(),
            destination: segment.dst.ip(),
            port: segment.dst.port(),
            initiated: true,
        };
        (self.on_item)(CaptureItem::Syn {
            frame: frame.number,
            secs: frame.secs,
            nanos: frame.nanos,
            connection,
        });
        let counted = self.options.spreading.as_ref();
        counted.is_some_and(|s| s.counts(&connection))
    }

    fn requests(&mut self) {
        let mut done = std::mem::take(&mut self.done);
        done.drain(..).for_each(|request| self.request(request));
        self.done = done;
    }

    fn request(&mut self, request: Request) {
        self.report.requests += 1;
        let findings = (self.on_item)(CaptureItem::Request(&request));
        self.answers.wait(
            request.client,
            request.server,
            findings,
            request.secs,
            &mut self.ready,
        );
    }
}

fn skip_name(skip: Skip) -> &'static str {
    match skip {
        Skip::LinkType => "link-type",
        Skip::NotTcp => "not-tcp",
        Skip::Fragment => "ip-fragment",
        Skip::Malformed => "malformed",
    }
}
