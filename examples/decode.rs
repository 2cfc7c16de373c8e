//! Decoder alone, for the benchmark of compressed input (bench/run.sh): decompresses a .gz
//! (flate2 with zlib-rs, as wormtrace) or .zst (libzstd, as wormtrace) file to nothing and
//! prints the decompressed size. Usage: `cargo run --release --example decode FILE`.

use std::fs::File;
use std::io::{self, BufReader, Read};

fn main() -> io::Result<()> {
    let path = std::env::args().nth(1).expect("usage: decode FILE");
    let file = BufReader::with_capacity(256 * 1024, File::open(&path)?);
    let mut decoder: Box<dyn Read> = if path.ends_with(".zst") {
        Box::new(zstd::stream::read::Decoder::with_buffer(file)?)
    } else {
        Box::new(flate2::bufread::MultiGzDecoder::new(file))
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = decoder.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    println!("{total}");
    Ok(())
}
