//! Times the prefilter alone over a file held in memory: `prefilter_bench LOG [RULES_DIR]`.
use std::time::Instant;

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
