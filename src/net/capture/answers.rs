//! Findings of a request wait for the server's answer, so that its status says what the
//! server was, as in logs: 404 (no `.ida` mapping), 200 (mapped and patched), anything else or
//! no answer at all (the worm may have taken the server over, which leaves it silent). Only
//! requests that gave findings wait; they are released in the order their answers come.

use std::collections::VecDeque;
use std::net::SocketAddr;

use crate::finding::set_answer;
use crate::model::Finding;

/// Requests waiting at once, and the bytes their findings may hold together (a finding
/// carries its request's URI, up to the line cap); when either is reached, all waiting are
/// released without a status.
const MAX_WAITING: usize = 10_000;
const MAX_WAITING_BYTES: usize = 32 << 20;

#[derive(Debug)]
struct Waiting {
    findings: Vec<Finding>,
    since: i64,
}

impl Waiting {
    /// About what its findings take in memory.
    fn bytes(&self) -> usize {
        self.findings.iter().map(finding_bytes).sum()
    }
}

fn finding_bytes(f: &Finding) -> usize {
    let request = f.request();
    let uri = request.and_then(|r| r.uri.as_ref()).map_or(0, String::len);
    let text = request.map_or(0, |r| r.text.len());
    512 + uri + text
}

/// Findings waiting for answers, by (server, client).
#[derive(Debug, Default)]
pub struct Answers {
    waiting: foldhash::HashMap<(SocketAddr, SocketAddr), VecDeque<Waiting>>,
    count: usize,
    bytes: usize,
}

impl Answers {
    /// Holds the findings of a request from `client` to `server` until its answer.
    pub fn wait(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        findings: Vec<Finding>,
        secs: i64,
        out: &mut Vec<Finding>,
    ) {
        if findings.is_empty() {
            return;
        }
        let waiting = Waiting {
            findings,
            since: secs,
        };
        let bytes = waiting.bytes();
        if self.count >= MAX_WAITING || self.bytes + bytes > MAX_WAITING_BYTES {
            self.release_where(|_| true, out);
        }
        self.count += 1;
        self.bytes += bytes;
        self.waiting
            .entry((server, client))
            .or_default()
            .push_back(waiting);
    }

    /// A segment from `src` to `dst`: when it starts an answer to a waiting request, that
    /// request's findings get its status; when it ends the flow, the rest go unanswered.
    pub fn segment(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
        ends: bool,
        out: &mut Vec<Finding>,
    ) {
        if self.waiting.is_empty() {
            return;
        }
        let key = (src, dst);
        let Some(queue) = self.waiting.get_mut(&key) else {
            return;
        };
        if let Some(status) = status_of(payload) {
            if let Some(w) = queue.pop_front() {
                self.count -= 1;
                self.bytes -= w.bytes();
                out.extend(w.findings.into_iter().map(|mut f| {
                    set_answer(&mut f, status);
                    f
                }));
            }
        }
        if ends || queue.is_empty() {
            if let Some(rest) = self.waiting.remove(&key) {
                self.count -= rest.len();
                self.bytes -= rest.iter().map(Waiting::bytes).sum::<usize>();
                out.extend(rest.into_iter().flat_map(|w| w.findings));
            }
        }
    }

    /// Releases, unanswered, requests waiting since before `cutoff`.
    pub fn expire(&mut self, cutoff: i64, out: &mut Vec<Finding>) {
        self.release_where(|w| w.since < cutoff, out);
    }

    /// Releases everything (end of capture).
    pub fn finish(&mut self, out: &mut Vec<Finding>) {
        self.release_where(|_| true, out);
    }

    /// Releases the matching requests in the order they were made.
    fn release_where(&mut self, pick: impl Fn(&Waiting) -> bool, out: &mut Vec<Finding>) {
        let mut released: Vec<Waiting> = Vec::new();
        for queue in self.waiting.values_mut() {
            let (go, stay): (Vec<Waiting>, Vec<Waiting>) = queue.drain(..).partition(&pick);
            released.extend(go);
            queue.extend(stay);
        }
        self.waiting.retain(|_, q| !q.is_empty());
        self.count -= released.len();
        self.bytes -= released.iter().map(Waiting::bytes).sum::<usize>();
        released.sort_by_key(|w| {
            w.findings
                .first()
                .and_then(Finding::request)
                .map_or(0, |r| r.line)
        });
        out.extend(released.into_iter().flat_map(|w| w.findings));
    }
}

/// The status code of an answer's first segment (`HTTP/1.1 404 ...`).
fn status_of(payload: &[u8]) -> Option<&str> {
    let rest = payload.strip_prefix(b"HTTP/")?;
    let space = memchr::memchr(b' ', &rest[..rest.len().min(8)])?;
    let code = rest.get(space + 1..space + 4)?;
    if code.iter().all(u8::is_ascii_digit) {
        std::str::from_utf8(code).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read() {
        assert_eq!(status_of(b"HTTP/1.1 404 Not Found\r\n"), Some("404"));
        assert_eq!(status_of(b"HTTP/1.0 200 OK"), Some("200"));
        assert_eq!(status_of(b"HTTP/1.1 20"), None);
        assert_eq!(status_of(b"<html>"), None);
    }
}
