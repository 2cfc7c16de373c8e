//! A saved `dir /s /a` listing from a live server (English or Japanese Windows, NT 4.0 to
//! 11): the files it names, with their sizes, for the file checks.

use serde::Serialize;

/// One file named in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedFile {
    /// Full Windows path, e.g. `C:\Inetpub\scripts\root.exe`.
    pub path: String,
    pub size: u64,
    /// Date and time as the listing printed them.
    pub written: String,
    /// 1-based line in the listing.
    pub line: u64,
}

/// Whether text looks like `dir` output: a "Directory of" (or Japanese) heading.
pub fn looks_like_listing(text: &str) -> bool {
    text.lines()
        .take(40)
        .any(|l| directory_heading(l).is_some())
}

/// The files of a listing (folders and summary lines are left out).
pub fn parse_listing(text: &str) -> Vec<ListedFile> {
    let mut files = Vec::new();
    each_listed(text, &mut |f| files.push(f.to_owned()));
    files
}

/// Hands each file of a listing to `on_file`, in order, keeping none.
pub fn each_listed(text: &str, on_file: &mut dyn FnMut(&Listed)) {
    let mut reader = ListingReader::default();
    text.lines().for_each(|line| reader.line(line, on_file));
}

/// Words of a file line's date and time: date, time and an AM/PM mark at most.
const STAMP_WORDS: usize = 4;

/// One file named in a listing, borrowed from its line: a listing of millions of files is
/// read without building a path for each (few sit at a place the checks know).
#[derive(Debug, Clone, Copy)]
pub struct Listed<'l> {
    /// The folder heading in force, e.g. `C:\Inetpub\scripts`.
    pub folder: &'l str,
    pub name: &'l str,
    stamp: [&'l str; STAMP_WORDS],
    stamp_words: usize,
    pub size: u64,
    /// 1-based line in the listing.
    pub line: u64,
}

impl Listed<'_> {
    /// Full Windows path, e.g. `C:\Inetpub\scripts\root.exe`.
    pub fn path(&self) -> String {
        format!(r"{}\{}", self.folder, self.name)
    }

    /// The path's components below the drive, in order.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        let below = self.folder.split_once(":\\").map_or("", |(_, b)| b);
        below
            .split('\\')
            .chain(std::iter::once(self.name))
            .filter(|c| !c.is_empty())
    }

    /// Date and time as the listing printed them, one space between words.
    pub fn written(&self) -> String {
        self.stamp[..self.stamp_words].join(" ")
    }

    /// The file with its path and time as text.
    pub fn to_owned(&self) -> ListedFile {
        ListedFile {
            path: self.path(),
            size: self.size,
            written: self.written(),
            line: self.line,
        }
    }
}

/// A listing read one line at a time: the folder heading in force, and the line number.
#[derive(Debug, Default)]
pub struct ListingReader {
    folder: Option<String>,
    lines: u64,
}

impl ListingReader {
    /// One line: a folder heading, a file (handed to `on_file`), or anything else.
    pub fn line(&mut self, line: &str, on_file: &mut dyn FnMut(&Listed)) {
        self.lines += 1;
        if let Some(dir) = directory_heading(line) {
            self.folder = Some(dir.trim_end_matches('\\').to_string());
            return;
        }
        let (Some(folder), Some(mut listed)) = (&self.folder, entry(line)) else {
            return;
        };
        listed.folder = folder;
        listed.line = self.lines;
        on_file(&listed);
    }
}

/// `str::trim_start`, with the ASCII blanks of a listing passed over a byte at a time (the
/// Unicode-aware trim decoded every character of the padding on every line). Where ASCII
/// trimming stops at a byte it does not treat as white space but Unicode does (vertical tab,
/// anything not ASCII), the full trim takes over, so the result is always `trim_start`'s.
fn trim_start(text: &str) -> &str {
    let rest = text.trim_ascii_start();
    match rest.as_bytes().first() {
        Some(&b) if b == 0x0b || b >= 0x80 => rest.trim_start(),
        _ => rest,
    }
}

/// `str::trim`, the same way as [`trim_start`].
fn trim(text: &str) -> &str {
    let rest = trim_start(text).trim_ascii_end();
    match rest.as_bytes().last() {
        Some(&b) if b == 0x0b || b >= 0x80 => rest.trim_end(),
        _ => rest,
    }
}

/// ` Directory of C:\x` (English) or ` C:\x のディレクトリ` (Japanese).
fn directory_heading(line: &str) -> Option<&str> {
    let line = trim(line);
    let dir = line
        .strip_prefix("Directory of ")
        .or_else(|| line.strip_suffix("のディレクトリ"))?;
    let dir = trim(dir);
    let bytes = dir.as_bytes();
    (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':').then_some(dir)
}

/// `08/04/2001  11:22 AM      18,432 root.exe`, `2001/08/04  11:22   18,432 root.exe`,
/// `08/04/01  11:22a   18,432 root.exe`: the date and time, size and name (folder and line
/// left for the caller). `<DIR>` lines and totals give `None`.
fn entry(line: &str) -> Option<Listed<'_>> {
    let mut rest = trim_start(line);
    let mut stamp = [""; STAMP_WORDS];
    let mut stamp_words = 0;
    let mut size = None;
    // Date, time, an optional AM/PM (or 午前/午後), then the size.
    for _ in 0..5 {
        let (token, after) = split_token(rest)?;
        rest = after;
        let numeric = token.bytes().next().is_some_and(|b| b.is_ascii_digit());
        if stamp_words >= 2 && numeric && !token.contains(':') {
            size = Some(token);
            break;
        }
        *stamp.get_mut(stamp_words)? = token;
        stamp_words += 1;
    }
    let size = listed_size(size?)?;
    let date = stamp[0];
    let has_time = stamp[1..stamp_words].iter().any(|t| t.contains(':'));
    if !date.contains(['/', '-', '.']) || !has_time {
        return None;
    }
    let name = trim(rest);
    (!name.is_empty()).then_some(Listed {
        folder: "",
        name,
        stamp,
        stamp_words,
        size,
        line: 0,
    })
}

/// `18,432` or `18.432` (a thousands mark of either kind).
fn listed_size(text: &str) -> Option<u64> {
    let mut size: u64 = 0;
    let mut digits = 0;
    for b in text.bytes() {
        match b {
            b'0'..=b'9' => {
                size = size.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
                digits += 1;
            }
            b',' | b'.' => {}
            _ => return None,
        }
    }
    (digits > 0).then_some(size)
}

fn split_token(text: &str) -> Option<(&str, &str)> {
    let text = trim_start(text);
    if text.is_empty() {
        return None;
    }
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    Some((&text[..end], &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn trims_are_the_standard_trims(text in "[ \t\x0b\x0c\r\u{85}\u{a0}\u{3000}a日]{0,12}") {
            proptest::prop_assert_eq!(trim_start(&text), text.trim_start());
            proptest::prop_assert_eq!(trim(&text), text.trim());
        }
    }

    #[test]
    fn english_and_japanese_listings() {
        let text = " Volume in drive C has no label.\r\n\r\n Directory of C:\\Inetpub\\scripts\r\n\r\n08/04/2001  11:22 AM    <DIR>          .\r\n08/04/2001  11:22 AM            18,432 root.exe\r\n               1 File(s)         18,432 bytes\r\n\r\n Directory of C:\\\r\n\r\n08/04/01  11:22a                 8,192 explorer.exe\r\n\r\n D:\\Program Files\\Common Files\\System\\MSADC のディレクトリ\r\n\r\n2001/08/04  11:22            18,432 root.exe\r\n2001/08/04  午前 11:22       1,024 a b.txt\r\n";
        assert!(looks_like_listing(text));
        let files = parse_listing(text);
        let shown: Vec<(&str, u64)> = files.iter().map(|f| (f.path.as_str(), f.size)).collect();
        assert_eq!(
            shown,
            vec![
                (r"C:\Inetpub\scripts\root.exe", 18432),
                (r"C:\explorer.exe", 8192),
                (
                    r"D:\Program Files\Common Files\System\MSADC\root.exe",
                    18432
                ),
                (r"D:\Program Files\Common Files\System\MSADC\a b.txt", 1024),
            ]
        );
        assert_eq!(files[0].written, "08/04/2001 11:22 AM");
        assert_eq!(files[0].line, 6);
        assert!(!looks_like_listing("2001-08-04 00:00:01 GET /default.ida"));
    }
}
