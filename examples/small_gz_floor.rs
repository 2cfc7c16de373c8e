//! What a folder of many small gzip files costs before any scanning (BENCHMARKS.md, "Many
//! small compressed logs"): the system calls to read every file, then inflating them all,
//! streamed with a fresh flate2/zlib-rs decoder per file and whole with libdeflate as
//! wormtrace does. One thread, files read into memory first for the inflating rounds. A last
//! round on two threads does all of it per file (open, read, close, inflate, count the lines):
//! the least any scanner of the folder pays on this machine, to set beside a scan's time.
//! Usage: `cargo run --release --example small_gz_floor FOLDER`.

use std::io::Read;
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let folder = std::env::args()
        .nth(1)
        .expect("usage: small_gz_floor FOLDER");
    let mut paths: Vec<_> = std::fs::read_dir(&folder)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.sort();
    let mut buffer = vec![0u8; 1 << 18];
    let started = Instant::now();
    let mut read = 0usize;
    for path in &paths {
        read += std::fs::File::open(path)?.read(&mut buffer)?;
    }
    report("open, one read, close", started, paths.len(), read);
    let stored: Vec<Vec<u8>> = paths.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let started = Instant::now();
    let mut decoded = 0usize;
    for bytes in &stored {
        let mut stream = flate2::read::MultiGzDecoder::new(&bytes[..]);
        loop {
            match stream.read(&mut buffer)? {
                0 => break,
                n => decoded += n,
            }
        }
    }
    report(
        "inflate, streamed (zlib-rs)",
        started,
        stored.len(),
        decoded,
    );
    let started = Instant::now();
    let mut decoded = 0usize;
    for bytes in &stored {
        let whole = wormtrace::source::whole_gzip::decode(bytes).expect("a whole gzip file");
        decoded += whole.unread().len();
    }
    report(
        "inflate, whole (libdeflate)",
        started,
        stored.len(),
        decoded,
    );
    floor_on_two_threads(&paths);
    Ok(())
}

/// Each thread takes every other file; lines are counted so the decoded bytes are touched.
fn floor_on_two_threads(paths: &[std::path::PathBuf]) {
    let started = Instant::now();
    let (bytes, lines) = std::thread::scope(|scope| {
        let halves: Vec<_> = (0..2)
            .map(|half| {
                scope.spawn(move || {
                    let mut buffer = vec![0u8; 1 << 18];
                    let (mut bytes, mut lines) = (0usize, 0usize);
                    for path in paths.iter().skip(half).step_by(2) {
                        let read = std::fs::File::open(path)
                            .and_then(|mut file| file.read(&mut buffer))
                            .expect("a readable file");
                        let whole = wormtrace::source::whole_gzip::decode(&buffer[..read])
                            .expect("a whole gzip file");
                        bytes += whole.unread().len();
                        lines += memchr::memchr_iter(b'\n', whole.unread()).count();
                    }
                    (bytes, lines)
                })
            })
            .collect();
        halves
            .into_iter()
            .map(|h| h.join().expect("a floor thread"))
            .fold((0, 0), |(b, l), (hb, hl)| (b + hb, l + hl))
    });
    report(
        &format!("two threads: open, read, close, inflate, {lines} lines counted"),
        started,
        paths.len(),
        bytes,
    );
}

fn report(what: &str, started: Instant, files: usize, bytes: usize) {
    let took = started.elapsed();
    let per_file = took.as_secs_f64() * 1e6 / files.max(1) as f64;
    println!("{what}: {took:.3?} for {files} files ({per_file:.2} µs a file, {bytes} bytes)");
}
