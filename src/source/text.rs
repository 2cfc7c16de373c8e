//! Text from evidence bytes, shared by every reader: UTF-16LE (regedit exports, PowerShell
//! `>` files, registry strings).

/// UTF-16LE bytes as text (a trailing odd byte is dropped, bad pairs replaced by U+FFFD).
pub fn utf16le_text(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Text evidence as lines, read as a stream: UTF-16 (told by its byte order mark) is decoded
/// on the way, a UTF-8 byte order mark is dropped, and each line is taken as UTF-8 or else as
/// CP932 (a Japanese console), like [`crate::finding::display_text`]. Lines are handed to
/// `on_line` without their line ending; a line longer than `max_line` bytes is cut there.
/// Returns the lines read, or the read error that stopped it (lines before it were handed on).
pub fn each_text_line(
    reader: &mut dyn std::io::Read,
    max_line: usize,
    on_line: &mut dyn FnMut(&str),
) -> std::io::Result<u64> {
    use std::io::{BufRead, Read};
    let mut source = text_stream(reader)?;
    let mut line = Vec::new();
    let mut lines = 0;
    loop {
        line.clear();
        let n = (&mut source)
            .take(max_line as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(lines);
        }
        if line.last() != Some(&b'\n') && n == max_line {
            skip_to_newline(&mut *source)?;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        lines += 1;
        on_line(&crate::finding::display_cow(text));
    }
}

/// Text evidence as UTF-8 bytes: UTF-16 (told by its byte order mark) decoded on the way, a
/// UTF-8 byte order mark dropped; other bytes as they are.
pub fn text_stream<'a>(
    reader: &'a mut dyn std::io::Read,
) -> std::io::Result<Box<dyn std::io::BufRead + 'a>> {
    use std::io::{BufRead, BufReader};
    let mut buffered = BufReader::with_capacity(64 * 1024, reader);
    let head = buffered.fill_buf()?;
    Ok(match utf16_encoding(head) {
        Some(encoding) => Box::new(BufReader::new(Utf16Reader::new(buffered, encoding))),
        None => {
            if head.starts_with(&[0xef, 0xbb, 0xbf]) {
                buffered.consume(3);
            }
            Box::new(buffered)
        }
    })
}

/// Passes over the rest of an over-long line.
fn skip_to_newline(source: &mut dyn std::io::BufRead) -> std::io::Result<()> {
    loop {
        let buf = source.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match memchr::memchr(b'\n', buf) {
            Some(i) => {
                source.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                source.consume(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_bytes_and_lone_surrogates_never_fail() {
        assert_eq!(utf16le_text(&[0x41, 0, 0x42, 0x30, 0x43]), "A\u{3042}");
        assert_eq!(utf16le_text(&[0x00, 0xd8]), "\u{fffd}");
    }
}

/// UTF-16 text (PowerShell's `Out-File`, Notepad's "Unicode"), told by its byte order mark.
pub fn utf16_encoding(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    if head.starts_with(&[0xff, 0xfe]) {
        Some(encoding_rs::UTF_16LE)
    } else if head.starts_with(&[0xfe, 0xff]) {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// A reader that turns UTF-16 text into UTF-8 as it is read (the byte order mark dropped,
/// bad units replaced by U+FFFD), so UTF-16 logs go through the same parsers.
pub struct Utf16Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    raw: Vec<u8>,
    out: Vec<u8>,
    at: usize,
    done: bool,
}

impl<R: std::io::Read> Utf16Reader<R> {
    /// Decodes `inner` as `encoding` (UTF-16LE or UTF-16BE).
    pub fn new(inner: R, encoding: &'static encoding_rs::Encoding) -> Self {
        Utf16Reader {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            raw: vec![0; 64 * 1024],
            out: Vec::new(),
            at: 0,
            done: false,
        }
    }

    fn refill(&mut self) -> std::io::Result<()> {
        let n = self.inner.read(&mut self.raw)?;
        let last = n == 0;
        let needed = self.decoder.max_utf8_buffer_length(n).unwrap_or(n * 3 + 16);
        self.out.clear();
        self.out.resize(needed, 0);
        let (_, _, written, _) = self
            .decoder
            .decode_to_utf8(&self.raw[..n], &mut self.out, last);
        self.out.truncate(written);
        self.at = 0;
        self.done = last;
        Ok(())
    }
}

impl<R: std::io::Read> std::io::Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod utf16_tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn utf16_logs_read_as_utf8_in_small_and_odd_pieces() {
        let text = "#Fields: date time\r\n2001-08-04 10:00:00 攻撃\r\n";
        for (bom, encode) in [
            (
                vec![0xff, 0xfe],
                text.encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect::<Vec<u8>>(),
            ),
            (
                vec![0xfe, 0xff],
                text.encode_utf16()
                    .flat_map(u16::to_be_bytes)
                    .collect::<Vec<u8>>(),
            ),
        ] {
            let bytes: Vec<u8> = bom.into_iter().chain(encode).collect();
            let encoding = utf16_encoding(&bytes).unwrap();
            // One byte at a time, so code units and pairs are split across reads.
            struct Trickle<'a>(&'a [u8]);
            impl Read for Trickle<'_> {
                fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                    let n = self.0.len().min(1).min(buf.len());
                    buf[..n].copy_from_slice(&self.0[..n]);
                    self.0 = &self.0[n..];
                    Ok(n)
                }
            }
            let mut out = String::new();
            Utf16Reader::new(Trickle(&bytes), encoding)
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, text);
        }
        assert!(utf16_encoding(b"#Fields").is_none());
    }
}
