//! Times the prefilter alone over a file held in memory: `prefilter_bench LOG [RULES_DIR]`.
//! First over the file's first 128 KiB again and again (text in cache, as the scan's read
//! buffer is), beside the `aho-corasick` crate's packed searcher over ripgrep's literals and
//! a newline count; then over the whole file.
use std::time::Instant;

use aho_corasick::packed::Searcher;

use wormtrace::detect::pack::{load_rules, RuleOptions};
use wormtrace::detect::{AtomHit, Detector, Prefilter};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read(&args[1]).expect("log");
    let options = RuleOptions {
        paths: args.get(2).map(|p| vec![p.into()]).unwrap_or_default(),
        ..RuleOptions::default()
    };
    let detector = Detector::new(load_rules(&options).rules);
    let Prefilter::Atoms(atoms) = detector.prefilter() else {
        panic!("no atom prefilter")
    };
    in_cache(&text[..text.len().min(CACHED)], atoms);
    for _ in 0..3 {
        let t = Instant::now();
        let (mut pos, mut hits, mut directives) = (0, 0, 0);
        while let Some(hit) = atoms.find_at(&text, pos) {
            let at = match hit {
                AtomHit::Atom(at) => {
                    hits += 1;
                    at
                }
                AtomHit::Directive(at) => {
                    directives += 1;
                    at
                }
                AtomHit::Nul(at) => at,
            };
            pos = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |e| at + e);
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{hits} candidate lines, {directives} directives, {secs:.3} s, {:.2} GB/s",
            text.len() as f64 / secs / 1e9
        );
    }
}

/// Bytes searched again and again for the in-cache figures (the scan's read size).
const CACHED: usize = 128 << 10;
/// The literals of the `rg -c` pattern of BENCHMARKS.md, case-sensitive as ripgrep runs it.
const RIPGREP_LITERALS: [&str; 6] = [
    "default.ida",
    "root.exe",
    "cmd.exe",
    "..%255c",
    "..%c0",
    "..%c1",
];

/// Times, over `slice` in cache, our search, the packed searcher and a newline count.
fn in_cache(slice: &[u8], atoms: &wormtrace::detect::AtomSearcher) {
    let rounds = (2 << 30) / slice.len().max(1);
    let ours = |pos: usize| match atoms.find_at(slice, pos)? {
        AtomHit::Atom(at) | AtomHit::Directive(at) | AtomHit::Nul(at) => Some(at),
    };
    time_lines("ours, in cache", slice, rounds, ours);
    let packed = Searcher::new(RIPGREP_LITERALS.iter()).expect("packed searcher");
    let theirs = |pos: usize| {
        Some(
            packed
                .find_in(slice, aho_corasick::Span::from(pos..slice.len()))?
                .start(),
        )
    };
    time_lines(
        "aho-corasick packed, ripgrep's literals",
        slice,
        rounds,
        theirs,
    );
    let started = Instant::now();
    let newlines: usize = (0..rounds)
        .map(|_| memchr::memchr_iter(b'\n', slice).count())
        .sum();
    report(
        "newline count, in cache",
        newlines,
        started,
        slice.len() * rounds,
    );
}

/// Runs `next` (the next hit from a position) over `slice` `rounds` times, a hit's line at a
/// time, and reports the pace.
fn time_lines(name: &str, slice: &[u8], rounds: usize, next: impl Fn(usize) -> Option<usize>) {
    let started = Instant::now();
    let mut hits = 0;
    for _ in 0..rounds {
        let mut pos = 0;
        while let Some(at) = next(pos) {
            hits += 1;
            pos = memchr::memchr(b'\n', &slice[at..]).map_or(slice.len(), |e| at + e);
        }
    }
    report(name, hits, started, slice.len() * rounds);
}

fn report(name: &str, count: usize, started: Instant, bytes: usize) {
    let secs = started.elapsed().as_secs_f64();
    let pace = bytes as f64 / secs / 1e9;
    println!("{name}: {count} found, {secs:.3} s, {pace:.2} GB/s");
}
