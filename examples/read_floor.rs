//! What reading one large file costs on this machine before any search (BENCHMARKS.md, "One
//! pass over the bytes"): the least a scan that numbers its lines can take, beside ripgrep's
//! time on the same file. Each round runs on one thread and on two (the file cut in halves):
//! `read` into a 128 KiB buffer as wormtrace reads, alone and with the newlines counted; and
//! the file mapped, one byte touched per page (the page faults alone), and with the newlines
//! counted. Each figure is the median of seven runs, warm cache.
//! Usage: `cargo run --release --example read_floor FILE`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant};

const BUFFER: usize = 128 << 10;
const RUNS: usize = 7;
const PAGE: usize = 4096;

/// Work done on one part of the file: what it gives back only keeps the work from being
/// optimised away.
type Round = fn(&File, std::ops::Range<usize>) -> usize;

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).expect("usage: read_floor FILE");
    let file = File::open(&path)?;
    let size = file.metadata()?.len() as usize;
    let rounds: [(&str, Round); 4] = [
        ("read only", read_only),
        ("read, count newlines", read_counting),
        ("map, touch each page", map_touching),
        ("map, count newlines", map_counting),
    ];
    println!("{path}: {size} bytes");
    for (name, round) in rounds {
        for threads in [1, 2] {
            let time = median(|| run_on(&file, size, threads, round));
            let gbps = size as f64 / time.as_secs_f64() / 1e9;
            println!("{name:<24} {threads} thread(s): {time:>10.3?}  {gbps:.2} GB/s");
        }
    }
    Ok(())
}

fn median(mut once: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS).map(|_| once()).collect();
    times.sort();
    times[RUNS / 2]
}

/// Runs `round` over the file cut into `threads` parts, one thread each.
fn run_on(file: &File, size: usize, threads: usize, round: Round) -> Duration {
    let started = Instant::now();
    let part = size.div_ceil(threads);
    let total: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|i| {
                let range = (i * part).min(size)..((i + 1) * part).min(size);
                scope.spawn(move || round(file, range))
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    });
    std::hint::black_box(total);
    started.elapsed()
}

fn read_with(file: &File, range: std::ops::Range<usize>, each: impl Fn(&[u8]) -> usize) -> usize {
    let mut buffer = vec![0u8; BUFFER];
    let (mut at, mut total) = (range.start, 0);
    while at < range.end {
        let want = BUFFER.min(range.end - at);
        let n = file.read_at(&mut buffer[..want], at as u64).expect("read");
        if n == 0 {
            break;
        }
        total += each(&buffer[..n]);
        at += n;
    }
    total
}

fn read_only(file: &File, range: std::ops::Range<usize>) -> usize {
    read_with(file, range, |bytes| bytes.len())
}

fn read_counting(file: &File, range: std::ops::Range<usize>) -> usize {
    read_with(file, range, |bytes| {
        memchr::memchr_iter(b'\n', bytes).count()
    })
}

/// Maps `range` (its start rounded down to a page) and hands the mapped bytes to `each`.
fn mapped(file: &File, range: std::ops::Range<usize>, each: impl Fn(&[u8]) -> usize) -> usize {
    let start = range.start / PAGE * PAGE;
    let len = range.end - start;
    if len == 0 {
        return 0;
    }
    // SAFETY: a read-only private mapping of a file nobody truncates during the benchmark;
    // it is unmapped before returning and the slice does not outlive it.
    unsafe {
        let at = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            start as libc::off_t,
        );
        assert!(at != libc::MAP_FAILED, "mmap failed");
        let bytes = std::slice::from_raw_parts(at as *const u8, len);
        let total = each(&bytes[range.start - start..]);
        libc::munmap(at, len);
        total
    }
}

fn map_touching(file: &File, range: std::ops::Range<usize>) -> usize {
    mapped(file, range, |bytes| {
        bytes.iter().step_by(PAGE).map(|&b| usize::from(b)).sum()
    })
}

fn map_counting(file: &File, range: std::ops::Range<usize>) -> usize {
    mapped(file, range, |bytes| {
        memchr::memchr_iter(b'\n', bytes).count()
    })
}
