//! TCP reassembly of client-to-server streams up to the end of each HTTP request head.
//!
//! Segments may come out of order, twice, or overlapping: bytes already placed win over
//! later copies ("first wins", as the BSD stacks and most IDSs by default). Memory is
//! bounded per flow (a request head longer than the limit is given as cut) and in total
//! (the flows idle longest are closed first); flows idle longer than the timeout are closed.
//! A closed flow with an unfinished head gives it as a partial request.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::flows::{last_secs_of, FlowTable, Key, Slot};

/// Limits of the reassembler.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest request head kept per flow (bytes).
    pub head_bytes: usize,
    /// All flows together (bytes buffered).
    pub total_bytes: usize,
    /// Flows followed at once.
    pub flows: usize,
    /// Seconds without a segment after which a flow is closed.
    pub idle_secs: i64,
    /// Requests read from one connection.
    pub requests_per_flow: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            head_bytes: 16 * 1024,
            total_bytes: 64 << 20,
            flows: 200_000,
            idle_secs: 120,
            requests_per_flow: 100,
        }
    }
}

/// A request head taken out of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// The head up to (not including) the blank line, or what arrived of it.
    pub head: Vec<u8>,
    /// False when the flow ended, idled out or hit a limit before the head was complete.
    pub complete: bool,
    /// Frame and time of the head's first byte.
    pub frame: u64,
    pub secs: i64,
    pub nanos: u32,
}

/// Where a segment came from, for stamping requests.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub frame: u64,
    pub secs: i64,
    pub nanos: u32,
}

/// Pieces that came early, by stream offset, and their bytes in all.
#[derive(Debug, Default)]
struct Pending {
    pieces: BTreeMap<u32, Vec<u8>>,
    bytes: usize,
}

#[derive(Debug)]
struct Stream {
    /// Sequence number of stream offset 0.
    base: u32,
    /// Stream offset of `data[0]`.
    consumed: u32,
    data: Vec<u8>,
    /// Out-of-order pieces, boxed: nearly every flow of a capture has none, and the table
    /// holds up to 200,000 streams.
    pending: Option<Box<Pending>>,
    /// Body bytes still to pass over before the next head.
    skip: u64,
    head_at: Option<At>,
    last_secs: i64,
    requests: u32,
    /// Not HTTP, or done with: later segments are dropped.
    ignored: bool,
}

impl Stream {
    fn new(base: u32, secs: i64) -> Self {
        Stream {
            base,
            consumed: 0,
            data: Vec::new(),
            pending: None,
            skip: 0,
            head_at: None,
            last_secs: secs,
            requests: 0,
            ignored: false,
        }
    }

    fn buffered(&self) -> usize {
        self.data.len() + self.pending.as_ref().map_or(0, |p| p.bytes)
    }

    /// Stream offset just past the contiguous data.
    fn next_offset(&self) -> u32 {
        self.consumed.wrapping_add(self.data.len() as u32)
    }
}

/// Follows client-to-server streams and gives their request heads.
#[derive(Debug, Default)]
pub struct Reassembler {
    limits: Limits,
    flows: FlowTable<Stream>,
    buffered: usize,
    /// Streams opened so far.
    opened: u64,
    out: Vec<Request>,
    /// Reused by every ranking of flows to close (a capture of many short flows expires
    /// hundreds of them every few seconds): a word that orders each flow, and its slot.
    ranked: Vec<(u128, Slot)>,
    /// Flows closed early because of the total or flow-count limit.
    pub evicted: u64,
    /// Heads cut at the per-flow limit.
    pub cut_heads: u64,
}

/// Methods that open an HTTP request (WebDAV included: IIS-era exploits used `SEARCH`).
const METHODS: [&[u8]; 17] = [
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"TRACE",
    b"CONNECT",
    b"PATCH",
    b"SEARCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
];

/// Whether `data` may be the start of a request: Some(false) once it cannot be.
fn request_start(data: &[u8]) -> Option<bool> {
    match memchr::memchr(b' ', &data[..data.len().min(12)]) {
        Some(sp) => Some(METHODS.contains(&&data[..sp])),
        None if data.len() >= 12 => Some(false),
        None => None,
    }
}

impl Reassembler {
    /// A reassembler with these limits.
    pub fn new(limits: Limits) -> Self {
        Reassembler {
            limits,
            flows: FlowTable::with_bound(limits.flows),
            ..Reassembler::default()
        }
    }

    /// Brings the index word where the lookup of this segment's flow starts into the cache.
    pub fn prefetch(&self, src: SocketAddr, dst: SocketAddr) {
        self.flows.prefetch(&Key::new(src, dst));
    }

    /// Feeds one segment of either direction.
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        syn: bool,
        ack: bool,
        end: bool,
        payload: &[u8],
        at: At,
    ) {
        let key = Key::new(src, dst);
        if syn {
            if !ack {
                self.open(key, seq.wrapping_add(1), at.secs);
            }
            return;
        }
        if !payload.is_empty() {
            self.data(key, seq, payload, at);
        }
        if end {
            self.close(&key);
        }
    }

    fn open(&mut self, key: Key, base: u32, secs: i64) {
        if let Some(old) = self.flows.find(&key) {
            if self.flows.state_mut(old).base == base {
                return;
            }
            self.close(&key);
        }
        self.make_room(secs);
        self.flows
            .insert(key, Stream::new(base, secs), secs, self.opened);
        self.opened += 1;
    }

    fn data(&mut self, key: Key, seq: u32, payload: &[u8], at: At) {
        let slot = match self.flows.find(&key) {
            Some(slot) => slot,
            None => {
                if request_start(payload) != Some(true) {
                    return;
                }
                self.make_room(at.secs);
                self.opened += 1;
                let stream = Stream::new(seq, at.secs);
                self.flows.insert(key, stream, at.secs, self.opened - 1)
            }
        };
        self.flows.touch(slot, at.secs);
        let limits = self.limits;
        let stream = self.flows.state_mut(slot);
        stream.last_secs = at.secs;
        if stream.ignored {
            return;
        }
        let before = stream.buffered();
        place(
            stream,
            seq.wrapping_sub(stream.base),
            payload,
            at,
            limits.head_bytes,
        );
        let heads = take_heads(stream, key, &limits);
        let after = stream.buffered();
        self.cut_heads += heads.iter().filter(|r| !r.complete).count() as u64;
        self.out.extend(heads);
        self.buffered = self.buffered - before + after;
        if self.buffered > limits.total_bytes {
            let keep = limits.total_bytes - limits.total_bytes / 8;
            let likely = self.flows.len() / 8;
            self.evicted += self.close_oldest(None, likely, |r| r.buffered <= keep);
        }
    }

    /// Closes a flow, giving what it holds of an unfinished head.
    fn close(&mut self, key: &Key) {
        if let Some(stream) = self.flows.remove(key) {
            self.give_up(stream, *key);
        }
    }

    /// Lets go of a closed flow's stream: its bytes leave the total, its unfinished head
    /// becomes a partial request.
    fn give_up(&mut self, stream: Stream, key: Key) {
        self.buffered -= stream.buffered();
        if let Some(r) = partial(stream, key) {
            self.out.push(r);
        }
    }

    /// Closes flows idle since before `now - idle_secs`, oldest first.
    pub fn expire(&mut self, now: i64) {
        let cutoff = now.saturating_sub(self.limits.idle_secs);
        self.close_oldest(Some(cutoff), usize::MAX, |_| false);
    }

    /// Closes the flows idle longest (only those idle since before `cutoff`, if given), flows
    /// idle since the same second in the order they opened, until `done`. `likely` is how
    /// many will be closed, if known: only that many are sorted at first (a partial
    /// selection, then twice as many at a time), as a memory limit closes an eighth of a
    /// table of 200,000 flows. Returns how many were closed.
    fn close_oldest(
        &mut self,
        cutoff: Option<i64>,
        likely: usize,
        done: impl Fn(&Reassembler) -> bool,
    ) -> u64 {
        let mut ranked = std::mem::take(&mut self.ranked);
        ranked.extend(
            self.flows
                .activity()
                .filter(|&(word, _)| cutoff.is_none_or(|c| last_secs_of(word) < c)),
        );
        let (mut closed, mut from, mut batch) = (0, 0, likely.max(1));
        'batches: while from < ranked.len() {
            let rest = &mut ranked[from..];
            let n = batch.min(rest.len());
            if n < rest.len() {
                rest.select_nth_unstable_by_key(n - 1, |&(word, _)| word);
            }
            // Activity words are unique (each holds its flow's opening count).
            rest[..n].sort_unstable_by_key(|&(word, _)| word);
            for &(_, slot) in &ranked[from..from + n] {
                if done(self) {
                    break 'batches;
                }
                if let Some((key, stream)) = self.flows.remove_slot(slot) {
                    self.give_up(stream, key);
                }
                closed += 1;
            }
            from += n;
            batch = batch.saturating_mul(2);
        }
        ranked.clear();
        self.ranked = ranked;
        closed
    }

    fn make_room(&mut self, now: i64) {
        if self.flows.len() >= self.limits.flows {
            self.expire(now);
        }
        if self.flows.len() >= self.limits.flows {
            // An eighth of the table at once: ranking every flow for each new one made a
            // capture of 260,000 flows opened in one second take minutes.
            let keep = self.limits.flows - (self.limits.flows / 8).max(1).min(self.limits.flows);
            let likely = self.flows.len() - keep;
            self.evicted += self.close_oldest(None, likely, |r| r.flows.len() <= keep);
        }
    }

    /// Requests completed since the last call, in the order they completed.
    pub fn take(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.out)
    }

    /// Swaps the requests completed since the last call into `done` (which must be empty),
    /// so that both vectors keep their room: most segments complete no request, and a fresh
    /// vector for each expiry grew by copying.
    pub fn take_into(&mut self, done: &mut Vec<Request>) {
        debug_assert!(done.is_empty());
        std::mem::swap(&mut self.out, done);
    }

    /// Closes every flow (end of capture), giving each partial head to `each` in the order
    /// the heads began (flows without a head last), flows of one rank in the order they
    /// opened; requests completed before are given first. One at a time: a table of 200,000
    /// unfinished heads gathered into one vector took 24 MB more.
    pub fn finish(&mut self, mut each: impl FnMut(Request)) {
        self.out.drain(..).for_each(&mut each);
        let mut ranked = std::mem::take(&mut self.ranked);
        ranked.extend(self.flows.iter().map(|(slot, _, stream)| {
            let began = stream.head_at.map_or(u64::MAX, |a| a.frame);
            (
                u128::from(began) << 64 | u128::from(self.flows.opened(slot)),
                slot,
            )
        }));
        ranked.sort_unstable_by_key(|&(word, _)| word);
        let mut flows = self.flows.take_all();
        for &(_, slot) in &ranked {
            if let Some((key, stream)) = flows[slot as usize].take() {
                self.buffered -= stream.buffered();
                partial(stream, key).into_iter().for_each(&mut each);
            }
        }
        ranked.clear();
        self.ranked = ranked;
    }
}

/// Puts a segment's bytes at stream offset `rel`: appended when it joins the contiguous
/// data, kept aside when it comes early, trimmed where it repeats bytes already placed.
fn place(stream: &mut Stream, rel: u32, payload: &[u8], at: At, head_limit: usize) {
    let next = stream.next_offset();
    let ahead = rel.wrapping_sub(next);
    if ahead == 0 || ahead > u32::MAX / 2 {
        let overlap = next.wrapping_sub(rel) as usize;
        if overlap < payload.len() && overlap <= u32::MAX as usize / 2 {
            append(stream, &payload[overlap..], at);
        }
        drain_pending(stream, at);
    } else if (ahead as usize) < head_limit * 4 {
        let pending = stream.pending.get_or_insert_default();
        if pending.bytes + payload.len() <= head_limit && !pending.pieces.contains_key(&rel) {
            pending.bytes += payload.len();
            pending.pieces.insert(rel, payload.to_vec());
        }
    }
}

fn append(stream: &mut Stream, bytes: &[u8], at: At) {
    // A body is only skipped once the data before it is consumed, so `data` is empty here.
    let skipped = (stream.skip.min(bytes.len() as u64)) as usize;
    stream.skip -= skipped as u64;
    stream.consumed = stream.consumed.wrapping_add(skipped as u32);
    let rest = &bytes[skipped..];
    if !rest.is_empty() && stream.head_at.is_none() {
        stream.head_at = Some(at);
    }
    stream.data.extend_from_slice(rest);
}

fn drain_pending(stream: &mut Stream, at: At) {
    loop {
        let next = stream.next_offset();
        let Some(pending) = stream.pending.as_mut() else {
            return;
        };
        let Some(piece) = pending.pieces.first_entry() else {
            stream.pending = None;
            return;
        };
        let rel = *piece.key();
        let ahead = rel.wrapping_sub(next);
        if ahead != 0 && ahead <= u32::MAX / 2 {
            return;
        }
        let piece = piece.remove();
        pending.bytes -= piece.len();
        let overlap = next.wrapping_sub(rel) as usize;
        if overlap < piece.len() {
            append(stream, &piece[overlap..], at);
        }
    }
}

/// Takes every complete head out of the contiguous data.
fn take_heads(stream: &mut Stream, key: Key, limits: &Limits) -> Vec<Request> {
    let mut heads = Vec::new();
    loop {
        if stream.data.is_empty() {
            stream.head_at = None;
            return heads;
        }
        match request_start(&stream.data) {
            Some(false) => {
                stream.ignored = true;
                drop_data(stream);
                return heads;
            }
            None => return heads,
            Some(true) => {}
        }
        let Some((head_len, blank_len)) = head_end(&stream.data) else {
            if stream.data.len() >= limits.head_bytes {
                heads.extend(cut_head(stream, key, limits.head_bytes));
            }
            return heads;
        };
        let head = stream.data[..head_len].to_vec();
        let body = content_length(&head);
        heads.push(request(stream, key, head, true));
        consume(stream, head_len + blank_len);
        stream.skip = body;
        let skipped = stream.skip.min(stream.data.len() as u64) as usize;
        stream.skip -= skipped as u64;
        consume(stream, skipped);
        stream.head_at = None;
        stream.requests += 1;
        if stream.requests >= limits.requests_per_flow {
            stream.ignored = true;
            drop_data(stream);
            return heads;
        }
    }
}

fn cut_head(stream: &mut Stream, key: Key, limit: usize) -> Option<Request> {
    let head = stream.data[..limit].to_vec();
    let r = request(stream, key, head, false);
    stream.ignored = true;
    drop_data(stream);
    Some(r)
}

fn request(stream: &Stream, key: Key, head: Vec<u8>, complete: bool) -> Request {
    let at = stream.head_at.unwrap_or(At {
        frame: 0,
        secs: stream.last_secs,
        nanos: 0,
    });
    Request {
        client: key.client(),
        server: key.server(),
        head,
        complete,
        frame: at.frame,
        secs: at.secs,
        nanos: at.nanos,
    }
}

fn consume(stream: &mut Stream, n: usize) {
    stream.data.drain(..n);
    stream.consumed = stream.consumed.wrapping_add(n as u32);
}

fn drop_data(stream: &mut Stream) {
    let n = stream.data.len();
    consume(stream, n);
    stream.pending = None;
}

/// What is left of a closed stream: a partial head, if one had begun.
fn partial(mut stream: Stream, key: Key) -> Option<Request> {
    if stream.ignored || stream.data.is_empty() || request_start(&stream.data) == Some(false) {
        return None;
    }
    let head = std::mem::take(&mut stream.data);
    Some(request(&stream, key, head, false))
}

/// Length of the head and of the blank line after it (`\r\n\r\n` or `\n\n`, whichever
/// comes first). One pass over the line ends: two substring searches over every segment's
/// data were a tenth of a capture of many short flows.
fn head_end(data: &[u8]) -> Option<(usize, usize)> {
    for nl in memchr::memchr_iter(b'\n', data) {
        let crlf = nl >= 1 && data[nl - 1] == b'\r' && data.get(nl + 1..nl + 3) == Some(b"\r\n");
        if crlf {
            return Some((nl - 1, 4));
        }
        if data.get(nl + 1) == Some(&b'\n') {
            return Some((nl, 2));
        }
    }
    None
}

/// The `Content-Length` of a head (0 when absent or unreadable).
fn content_length(head: &[u8]) -> u64 {
    head.split(|&b| b == b'\n')
        .skip(1)
        .find_map(|line| {
            let (name, value) = line.split_at(memchr::memchr(b':', line)?);
            name.trim_ascii()
                .eq_ignore_ascii_case(b"content-length")
                .then(|| std::str::from_utf8(&value[1..]).ok()?.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The blank line found by two substring searches, the earlier one winning.
    fn head_end_by_search(data: &[u8]) -> Option<(usize, usize)> {
        let crlf = memchr::memmem::find(data, b"\r\n\r\n").map(|i| (i, 4));
        let lf = memchr::memmem::find(data, b"\n\n").map(|i| (i, 2));
        match (crlf, lf) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    proptest! {
        #[test]
        fn head_end_finds_the_first_blank_line(
            data in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'a')], 0..40)
        ) {
            prop_assert_eq!(head_end(&data), head_end_by_search(&data));
        }
    }

    const C: &str = "192.0.2.10:1025";
    const S: &str = "198.51.100.5:80";

    fn at(frame: u64) -> At {
        At {
            frame,
            secs: 1_000 + frame as i64,
            nanos: 0,
        }
    }

    fn feed(r: &mut Reassembler, seq: u32, payload: &[u8], frame: u64) {
        let (c, s) = (C.parse().unwrap(), S.parse().unwrap());
        r.segment(c, s, seq, false, true, false, payload, at(frame));
    }

    fn opened() -> Reassembler {
        let mut r = Reassembler::new(Limits::default());
        r.segment(
            C.parse().unwrap(),
            S.parse().unwrap(),
            999,
            true,
            false,
            false,
            b"",
            at(0),
        );
        r
    }

    const REQ: &[u8] = b"GET /default.ida?XXXX HTTP/1.0\r\nHost: www\r\n\r\n";

    #[test]
    fn a_flow_takes_at_most_136_bytes_of_the_slab() {
        // A capture of 200,000 open flows touches this many bytes per flow (176 before the
        // pieces that came early were boxed and the key aligned to 8).
        assert!(std::mem::size_of::<Option<(Key, Stream)>>() <= 136);
    }

    #[test]
    fn in_order_segments_give_one_head() {
        let mut r = opened();
        feed(&mut r, 1000, &REQ[..10], 1);
        feed(&mut r, 1010, &REQ[10..30], 2);
        assert!(r.take().is_empty());
        feed(&mut r, 1030, &REQ[30..], 3);
        let got = r.take();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].head, &REQ[..REQ.len() - 4]);
        assert!(got[0].complete);
        assert_eq!(got[0].frame, 1);
    }

    #[test]
    fn reordered_retransmitted_and_overlapping() {
        let mut r = opened();
        feed(&mut r, 1030, &REQ[30..], 1);
        feed(&mut r, 1010, &REQ[10..35], 2);
        feed(&mut r, 1010, &REQ[10..35], 3);
        feed(&mut r, 1000, &REQ[..12], 4);
        let got = r.take();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].head, &REQ[..REQ.len() - 4]);
    }

    #[test]
    fn first_copy_wins_on_overlap() {
        let mut r = opened();
        feed(&mut r, 1000, b"GET /a", 1);
        feed(&mut r, 1004, b"/b HTTP/1.0\r\n\r\n", 2);
        assert_eq!(r.take()[0].head, b"GET /a HTTP/1.0");
    }

    #[test]
    fn body_is_skipped_before_the_next_head() {
        let mut r = opened();
        let two = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /y HTTP/1.1\r\n\r\n";
        feed(&mut r, 1000, two, 1);
        let heads: Vec<Vec<u8>> = r.take().into_iter().map(|q| q.head).collect();
        assert_eq!(heads.len(), 2);
        assert!(heads[1].starts_with(b"GET /y"));
    }

    #[test]
    fn fin_gives_a_partial_head() {
        let mut r = opened();
        feed(&mut r, 1000, b"GET /default.ida?NNNN", 1);
        let (c, s) = (C.parse().unwrap(), S.parse().unwrap());
        r.segment(c, s, 1021, false, true, true, b"", at(2));
        let got = r.take();
        assert_eq!(got.len(), 1);
        assert!(!got[0].complete);
    }

    #[test]
    fn non_http_streams_are_dropped() {
        let mut r = opened();
        feed(&mut r, 1000, b"SSH-2.0-OpenSSH_9.2\r\n", 1);
        let mut closed = 0;
        r.finish(|_| closed += 1);
        assert_eq!(closed, 0);
        assert_eq!(r.buffered, 0);
    }

    #[test]
    fn a_head_over_the_limit_is_cut_and_memory_stays_bounded() {
        let mut r = Reassembler::new(Limits {
            head_bytes: 64,
            ..Limits::default()
        });
        feed(
            &mut r,
            1000,
            &[b"GET /".as_slice(), &[b'A'; 200]].concat(),
            1,
        );
        let got = r.take();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].head.len(), 64);
        assert!(!got[0].complete);
        assert_eq!(r.buffered, 0);
    }

    /// A flow from 192.0.2.1 at `port` sends the start of a head in frame `frame`.
    fn start_head_from(r: &mut Reassembler, port: u16, frame: u64) {
        let c = SocketAddr::new("192.0.2.1".parse().unwrap(), port);
        r.segment(
            c,
            S.parse().unwrap(),
            0,
            false,
            true,
            false,
            b"GET /",
            at(frame),
        );
    }

    #[test]
    fn a_full_table_closes_its_oldest_flows_in_the_order_they_opened() {
        let mut r = Reassembler::new(Limits {
            flows: 16,
            ..Limits::default()
        });
        for port in 0..100u16 {
            start_head_from(&mut r, 2000 + port, 0);
            assert!(r.flows.len() <= 16);
        }
        let closed: Vec<u16> = r.take().iter().map(|q| q.client.port() - 2000).collect();
        assert_eq!(r.evicted as usize, closed.len());
        assert_eq!(closed.len() + r.flows.len(), 100);
        assert_eq!(closed, (0..closed.len() as u16).collect::<Vec<_>>());
    }

    #[test]
    fn the_byte_limit_closes_oldest_flows_past_the_first_guess() {
        let mut r = Reassembler::new(Limits {
            total_bytes: 1000,
            ..Limits::default()
        });
        for port in 0..40u16 {
            start_head_from(&mut r, 2000 + port, u64::from(port));
        }
        assert_eq!(r.buffered, 200);
        let c = SocketAddr::new("192.0.2.1".parse().unwrap(), 3000);
        let big = [b"GET /".as_slice(), &[b'A'; 845]].concat();
        r.segment(c, S.parse().unwrap(), 0, false, true, false, &big, at(99));
        // 1,050 bytes held; closing an eighth of the flows (5) cannot bring them to 875: the
        // next batches (10, then 20) close the oldest until they do.
        let closed: Vec<u16> = r.take().iter().map(|q| q.client.port() - 2000).collect();
        assert_eq!(closed, (0..35).collect::<Vec<u16>>());
        assert_eq!(r.buffered, 875);
        assert_eq!(r.evicted, 35);
    }

    #[test]
    fn idle_flows_expire_and_the_flow_limit_holds() {
        let mut r = Reassembler::new(Limits {
            flows: 2,
            ..Limits::default()
        });
        for port in 0..5u16 {
            start_head_from(&mut r, 2000 + port, port as u64);
        }
        assert!(r.flows.len() <= 2);
        assert_eq!(r.take().len(), 3);
        r.expire(1_000_000);
        assert!(r.flows.len() == 0);
        assert_eq!(r.take().len(), 2);
    }
}
