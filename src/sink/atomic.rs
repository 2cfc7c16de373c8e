//! Output files written whole or not at all: bytes go to a temporary name in the same
//! folder, and [`AtomicFile::commit`] renames it into place. A run that fails half-way leaves
//! no half-written report, and never a truncated copy of an older one.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written under a temporary name (or, for a device or FIFO such as
/// `/dev/null`, written where it is: renaming onto it would replace the device).
pub struct AtomicFile {
    target: PathBuf,
    /// None when writing straight into a device or FIFO.
    temporary: Option<PathBuf>,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Starts writing what will become `target`.
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        if std::fs::metadata(target).is_ok_and(|m| !m.is_file()) {
            let file = std::fs::OpenOptions::new().write(true).open(target)?;
            return Ok(AtomicFile {
                target: target.to_path_buf(),
                temporary: None,
                out: Some(BufWriter::new(file)),
            });
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let temporary =
            target.with_file_name(format!(".{name}.wormtrace-{}.tmp", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temporary: Some(temporary),
            out: Some(BufWriter::new(file)),
        })
    }

    /// Flushes the bytes to disk and moves the file to its name.
    pub fn commit(mut self) -> io::Result<()> {
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let file = out.into_inner().map_err(|e| e.into_error())?;
        match &self.temporary {
            Some(temporary) => {
                file.sync_all()?;
                std::fs::rename(temporary, &self.target)
            }
            None => Ok(()),
        }
    }
}

impl AtomicFile {
    /// A writer that takes the file's name at its first `flush` (sinks flush once, at the
    /// end of the run); dropped unflushed, it leaves nothing behind.
    pub fn committing(self) -> Committing {
        Committing(Some(self))
    }
}

/// See [`AtomicFile::committing`].
pub struct Committing(Option<AtomicFile>);

impl Write for Committing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.0 {
            Some(file) => file.write(buf),
            None => Err(io::Error::other("output already written")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.0.take() {
            Some(file) => file.commit(),
            None => Ok(()),
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.out {
            Some(out) => out.write(buf),
            None => Err(io::Error::other("output already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().map_or(Ok(()), |o| o.flush())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let (Some(_), Some(temporary)) = (&self.out, &self.temporary) {
            // Never committed: the partial bytes must not linger beside the evidence.
            let _ = std::fs::remove_file(temporary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report.txt");
        std::fs::write(&target, b"old").unwrap();
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"half").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }
}
