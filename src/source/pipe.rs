//! Decompression on a thread of its own: the decoder fills blocks ahead of the scanner, so
//! decoding and scanning overlap instead of taking turns. A few blocks are in flight at most,
//! so memory stays bounded however much the data expands.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Bytes a block holds.
const BLOCK: usize = 1 << 20;
/// Blocks decoded ahead of the reader.
const AHEAD: usize = 3;

/// A reader whose bytes are produced by `inner` on another thread.
pub struct PipedReader {
    blocks: Option<Receiver<io::Result<Vec<u8>>>>,
    spare: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
    producer: Option<JoinHandle<()>>,
}

impl PipedReader {
    /// Starts reading `inner` on a new thread.
    pub fn spawn(mut inner: Box<dyn Read + Send>) -> PipedReader {
        let (send, blocks) = sync_channel::<io::Result<Vec<u8>>>(AHEAD);
        let (spare, spares) = sync_channel::<Vec<u8>>(AHEAD + 2);
        let producer = std::thread::spawn(move || loop {
            let mut block = spares.try_recv().unwrap_or_default();
            block.resize(BLOCK, 0);
            match fill(&mut *inner, &mut block) {
                Ok(0) => return,
                Ok(n) => {
                    block.truncate(n);
                    if send.send(Ok(block)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = send.send(Err(e));
                    return;
                }
            }
        });
        PipedReader {
            blocks: Some(blocks),
            spare,
            current: Vec::new(),
            at: 0,
            producer: Some(producer),
        }
    }
}

/// Reads until `block` is full or the input ends. What came before an error is given
/// first; the error comes again on the next read.
fn fill(inner: &mut dyn Read, block: &mut [u8]) -> io::Result<usize> {
    match super::fill(inner, block) {
        (0, Some(e)) => Err(e),
        (n, _) => Ok(n),
    }
}

impl Read for PipedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            let Some(blocks) = &self.blocks else {
                return Ok(0);
            };
            match blocks.recv() {
                Ok(Ok(block)) => {
                    let used = std::mem::replace(&mut self.current, block);
                    let _ = self.spare.try_send(used);
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.blocks = None;
                    return Err(e);
                }
                Err(_) => {
                    self.blocks = None;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for PipedReader {
    fn drop(&mut self) {
        // Closing the channel makes the producer stop at its next block; wait for it, so the
        // stream it reads is free again (the caller hashes the rest).
        self.blocks = None;
        if let Some(p) = self.producer.take() {
            let _ = p.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_pass_through_in_order() {
        let data: Vec<u8> = (0..3 * BLOCK + 123).map(|i| (i % 251) as u8).collect();
        let mut piped = PipedReader::spawn(Box::new(io::Cursor::new(data.clone())));
        let mut out = Vec::new();
        piped.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn an_error_after_data_comes_after_the_data() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt"));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(b'a');
                self.0 -= n;
                Ok(n)
            }
        }
        let mut piped = PipedReader::spawn(Box::new(Failing(10)));
        let mut out = Vec::new();
        let err = piped.read_to_end(&mut out).unwrap_err();
        assert_eq!(out.len(), 10);
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn dropping_early_stops_the_producer() {
        let endless = io::repeat(b'x');
        let mut piped = PipedReader::spawn(Box::new(endless));
        let mut first = [0u8; 10];
        piped.read_exact(&mut first).unwrap();
        drop(piped);
    }
}
