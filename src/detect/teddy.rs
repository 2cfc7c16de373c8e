//! A caseless search for a few dozen literals in one pass over the raw bytes, after
//! Hyperscan's Teddy: no lower-cased copy of the text is made.
//!
//! Each literal has a fingerprint: three of its bytes at some offset. A literal belongs to one
//! of 8 buckets; for each fingerprint byte `k`, two 16-entry tables (indexed by the low and
//! the high nibble of a text byte) say which buckets allow that byte there. ASCII letters
//! allow both cases: they share their low nibble, so only the high-nibble table grows. With
//! AVX2, 32 positions are judged at once by six byte shuffles; positions where a bucket
//! passes every fingerprint byte are then compared in full, caselessly.
//!
//! Fingerprints are taken where a literal has its least common bytes, so `/default.ida`
//! waits on `.id`, not on `/de`, which benign paths are full of.

use super::Hits;

/// Buckets (one bit each in a table entry).
const BUCKETS: usize = 8;
/// Buckets kept for literals whose fingerprint is one byte repeated.
const MAX_RUN_BUCKETS: usize = 2;
/// Fingerprint bytes per literal.
const WIDTH: usize = 3;

/// One literal in a bucket.
#[derive(Debug, Clone)]
struct Member {
    /// In ASCII lower case.
    text: Vec<u8>,
    /// Where its fingerprint starts within it.
    offset: usize,
    /// Its index among the literals given to [`Teddy::new`].
    id: usize,
    /// Up to 8 bytes from the fingerprint on, as a little-endian word with letters' case
    /// bit cleared, and the bits to compare: one masked word test turns away most
    /// look-alikes the nibble tables pass before any byte-wise comparison.
    probe: u64,
    probe_mask: u64,
    /// Made of one byte alone (`nnnn`): it matches anywhere in a long enough run.
    uniform: bool,
}

/// The nibble tables of all buckets.
#[derive(Debug, Clone, Copy, Default)]
struct Masks {
    /// `lo[k][n]`: buckets allowing a byte with low nibble `n` as fingerprint byte `k`.
    lo: [[u8; 16]; WIDTH],
    hi: [[u8; 16]; WIDTH],
    /// Buckets with a literal shorter than `k + 1` bytes (any byte, or none, passes there).
    wild: [u8; WIDTH],
}

/// The compiled search.
#[derive(Debug, Clone)]
pub struct Teddy {
    masks: Masks,
    members: [Vec<Member>; BUCKETS],
    /// Per bucket, where the members whose fingerprint starts with each (lower-case) byte
    /// begin: members `[b][c]..[b][c + 1]`. A position is compared only with those.
    first_byte: Box<[[u16; 257]; BUCKETS]>,
    /// Literal lengths, by id.
    lengths: Vec<usize>,
    avx2: bool,
}

/// What the literals still wanted whose fingerprint starts with one byte `c` compare around
/// a position holding `c`: the largest fingerprint offset (`back`), the most bytes a literal
/// runs on from its fingerprint's start (`ahead`), and whether one is made of `c` alone.
#[derive(Debug, Clone, Copy, Default)]
struct Reach {
    back: usize,
    ahead: usize,
    uniform: bool,
}

impl Teddy {
    /// Compiles non-empty `literals`, compared ignoring ASCII case.
    pub fn new(literals: &[Vec<u8>]) -> Teddy {
        let mut members: Vec<Member> = literals
            .iter()
            .enumerate()
            .map(|(id, text)| {
                let text = text.to_ascii_lowercase();
                let offset = fingerprint_offset(&text);
                let (probe, probe_mask) = probe_of(&text[offset..]);
                Member {
                    offset,
                    uniform: text.iter().all(|&b| b == text[0]),
                    text,
                    id,
                    probe,
                    probe_mask,
                }
            })
            .collect();
        members.sort_by(|a, b| a.fingerprint().cmp(b.fingerprint()).then(a.id.cmp(&b.id)));
        let mut teddy = Teddy {
            masks: Masks::default(),
            members: Default::default(),
            first_byte: Box::new([[0; 257]; BUCKETS]),
            lengths: literals.iter().map(Vec::len).collect(),
            avx2: avx2_available(),
        };
        // A literal whose fingerprint is one byte repeated (`xxx` of Code Red II's `X` run)
        // gets a bucket of its own: found once on a line, the bucket is dropped from the
        // search, and the thousands of positions of the run cost nothing more.
        let mut runs: Vec<Vec<u8>> = Vec::new();
        for m in &members {
            let f = m.fingerprint();
            if f.iter().all(|&b| b == f[0])
                && !runs.iter().any(|r| r == f)
                && runs.len() < MAX_RUN_BUCKETS
            {
                runs.push(f.to_vec());
            }
        }
        let shared = BUCKETS - runs.len();
        for member in members {
            let bucket = match runs.iter().position(|r| r == member.fingerprint()) {
                Some(i) => shared + i,
                None => teddy.cheapest_bucket(member.fingerprint(), shared),
            };
            teddy.masks.allow(bucket, member.fingerprint());
            teddy.members[bucket].push(member);
        }
        teddy.index_first_bytes();
        teddy
    }

    /// Fills [`Teddy::first_byte`]; each bucket's members are already in fingerprint order.
    fn index_first_bytes(&mut self) {
        for (bucket, members) in self.members.iter().enumerate() {
            let index = &mut self.first_byte[bucket];
            for m in members {
                index[usize::from(m.text[m.offset]) + 1] += 1;
            }
            for c in 1..257 {
                index[c] += index[c - 1];
            }
        }
    }

    /// The bucket whose tables would pass the fewest more positions with `fingerprint` in
    /// them. The nibble tables let through every mix of the nibbles a bucket allows, so
    /// unlike fingerprints in one bucket pass far more than either alone.
    /// What decides first is how many more positions of [`ORDINARY_TRAFFIC`] would pass:
    /// the byte model alone cannot see that `i`, `n` and `u` allowed by three fingerprints
    /// spell the `inu` of every `Linux` agent.
    fn cheapest_bucket(&self, fingerprint: &[u8], buckets: usize) -> usize {
        // A bucket's bit in the tables does not depend on the others' bits: the fingerprint
        // added to every bucket at once gives each bucket's passes with it in one walk.
        let before = self.masks.sample_passes();
        let mut everywhere = self.masks;
        (0..buckets).for_each(|bucket| everywhere.allow(bucket, fingerprint));
        let after = everywhere.sample_passes();
        (0..buckets)
            .min_by_key(|&bucket| {
                let mut with = self.masks;
                with.allow(bucket, fingerprint);
                let weight = with.pass_weight(bucket) - self.masks.pass_weight(bucket);
                (after[bucket] - before[bucket], weight)
            })
            .unwrap_or(0)
    }

    /// Length of the literal `id`.
    pub fn literal_len(&self, id: usize) -> usize {
        self.lengths[id]
    }

    /// A literal starting at or after `from` that `accept(start, id)` takes, and its start.
    ///
    /// Positions are tried in the order of the literals' fingerprints, not of their starts:
    /// two hits a few bytes apart may come out of order, but a literal (which holds no line
    /// break) on an earlier line always comes first.
    pub fn find(&self, text: &[u8], from: usize, accept: &mut dyn Hits) -> Option<(usize, usize)> {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only when the CPU has AVX2.
            return unsafe { self.find_avx2(text, from, accept) };
        }
        self.find_scalar(text, from, from, 0xff, accept)
    }

    /// Tries fingerprint positions `at..` one by one, in the buckets of `live`.
    fn find_scalar(
        &self,
        text: &[u8],
        at: usize,
        from: usize,
        mut live: u8,
        accept: &mut dyn Hits,
    ) -> Option<(usize, usize)> {
        let mut p = at;
        while p < text.len() {
            let buckets = self.buckets_at(text, p) & live;
            if buckets != 0 {
                if in_run(text, p) {
                    if let Some(next) = self.past_run(text, p, accept) {
                        p = next;
                        continue;
                    }
                }
                if let Some(hit) = self.verify(text, p, from, buckets, &mut live, accept) {
                    return Some(hit);
                }
            }
            p += 1;
        }
        None
    }

    /// Where to go on from position `p` inside a run of one byte (Code Red's `N` and `X`
    /// padding, thousands long in hostile logs): while every comparison from a position lies
    /// inside the run, the positions compare alike, and none can match unless a wanted
    /// literal is made of that byte alone. Then the search goes on from the first position
    /// whose comparisons reach past the run's end; None: `p` must be verified.
    #[cold]
    fn past_run(&self, text: &[u8], p: usize, accept: &dyn Hits) -> Option<usize> {
        // Runs shorter than this are not worth the bookkeeping (and `...` or `000` are
        // everywhere in ordinary lines).
        const SHORTEST_RUN: usize = 16;
        let c = text[p];
        if text.get(p..p + SHORTEST_RUN)?.iter().any(|&b| b != c) {
            return None;
        }
        let reach = self.reach(c, accept);
        let behind = text[..p].iter().rev().take(reach.back);
        if reach.uniform || behind.take_while(|&&b| b == c).count() < reach.back {
            return None;
        }
        let run_end = run_end(text, p);
        // A comparison from a position reaches at least the position itself.
        let last_alike = run_end.checked_sub(reach.ahead.max(1))?;
        (p <= last_alike).then_some(last_alike + 1)
    }

    /// How far the comparisons at a position holding `c` reach, over the literals `accept`
    /// still wants: once a line's `N` run has given its literals, the rest of the run is
    /// passed over up to where the literals still looked for could start.
    fn reach(&self, c: u8, accept: &dyn Hits) -> Reach {
        let c = usize::from(c.to_ascii_lowercase());
        let mut reach = Reach::default();
        for (members, index) in self.members.iter().zip(self.first_byte.iter()) {
            let same_first = usize::from(index[c])..usize::from(index[c + 1]);
            for m in members[same_first].iter().filter(|m| accept.wanted(m.id)) {
                reach.back = reach.back.max(m.offset);
                reach.ahead = reach.ahead.max(m.text.len() - m.offset);
                reach.uniform |= m.uniform;
            }
        }
        reach
    }

    /// Whether `bucket` still holds a literal `accept` wants.
    fn bucket_live(&self, bucket: usize, accept: &dyn Hits) -> bool {
        self.members[bucket].iter().any(|m| accept.wanted(m.id))
    }

    /// The buckets whose fingerprint tables pass the bytes at `p`.
    fn buckets_at(&self, text: &[u8], p: usize) -> u8 {
        (0..WIDTH).fold(0xff, |passed, k| {
            passed
                & match text.get(p + k) {
                    Some(&b) => {
                        self.masks.lo[k][usize::from(b & 0x0f)]
                            & self.masks.hi[k][usize::from(b >> 4)]
                    }
                    None => self.masks.wild[k],
                }
        })
    }

    /// Compares the members of `buckets` whose fingerprint would sit at `p`. When a search
    /// wants each literal once, buckets whose literals were all found leave `live`: a run
    /// of 8,000 `X` then costs one comparison, not 8,000.
    fn verify(
        &self,
        text: &[u8],
        p: usize,
        from: usize,
        buckets: u8,
        live: &mut u8,
        accept: &mut dyn Hits,
    ) -> Option<(usize, usize)> {
        let mut remaining = buckets;
        while remaining != 0 {
            let bucket = remaining.trailing_zeros() as usize;
            remaining &= remaining - 1;
            let index = &self.first_byte[bucket];
            let c = usize::from(text[p].to_ascii_lowercase());
            let same_first = usize::from(index[c])..usize::from(index[c + 1]);
            for m in &self.members[bucket][same_first] {
                let Some(start) = p.checked_sub(m.offset).filter(|&s| s >= from) else {
                    continue;
                };
                // The bytes from the fingerprint on first: the nibble tables pass look-alikes.
                let probe_passes = match text.get(p..p + 8) {
                    Some(word) => {
                        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
                        word & m.probe_mask == m.probe
                    }
                    None => text[p].eq_ignore_ascii_case(&m.text[m.offset]),
                };
                let found = probe_passes
                    && accept.wanted(m.id)
                    && text
                        .get(start..start + m.text.len())
                        .is_some_and(|t| eq_folded(t, &m.text));
                if found {
                    if accept.found(start, m.id) {
                        return Some((start, m.id));
                    }
                    // Only a find changes what is wanted, and only in its own bucket.
                    if accept.once_each() && !self.bucket_live(bucket, accept) {
                        *live &= !(1 << bucket);
                    }
                }
            }
        }
        None
    }

    /// [`Teddy::find`] judging 32 positions per step.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn find_avx2(&self, text: &[u8], from: usize, accept: &mut dyn Hits) -> Option<(usize, usize)> {
        let mut p = from;
        let mut live = 0xffu8;
        loop {
            let block = match self.next_passing_block(text, p) {
                Ok(block) => block,
                Err(rest) => return self.find_scalar(text, rest, from, live, accept),
            };
            let (at, mut hits) = (block.at, block.hits);
            // A run of one byte passes the tables at every position of a block. The block's
            // first fresh position is `at`, or `p` for the last block, which is moved back.
            let first = at.max(p);
            if hits == block.fresh && in_run(text, first) {
                if let Some(next) = self.past_run(text, first, accept) {
                    p = next;
                    continue;
                }
            }
            while hits != 0 {
                let j = hits.trailing_zeros() as usize;
                hits &= hits - 1;
                let candidates = block.buckets[j] & live;
                if candidates == 0 {
                    continue;
                }
                if let Some(found) = self.verify(text, at + j, from, candidates, &mut live, accept)
                {
                    return Some(found);
                }
            }
            p = at + 32;
        }
    }

    /// The first block from `p` with a position the nibble tables pass; when none has, the
    /// position from which too few are left for a block (to be judged one by one). Apart
    /// from [`Teddy::find_avx2`], so that no call in this loop makes the compiler keep the
    /// tables on the stack (9 loads a step instead of 3 ran at 9.8 GB/s on text in cache).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    fn next_passing_block(&self, text: &[u8], mut p: usize) -> Result<PassingBlock, usize> {
        use std::arch::x86_64::*;
        let table = |t: &[u8; 16]| {
            // SAFETY: `t` holds 16 bytes, the size of the unaligned load.
            let half = unsafe { _mm_loadu_si128(t.as_ptr().cast()) };
            _mm256_broadcastsi128_si256(half)
        };
        let Masks { lo, hi, .. } = &self.masks;
        let lo = [table(&lo[0]), table(&lo[1]), table(&lo[2])];
        let hi = [table(&hi[0]), table(&hi[1]), table(&hi[2])];
        let low_nibble = _mm256_set1_epi8(0x0f);
        while let Some((at, fresh)) = block_at(text.len(), p) {
            let mut passed = _mm256_set1_epi8(-1);
            for k in 0..WIDTH {
                // SAFETY: at + k + 32 <= text.len() (see `block_at`).
                let bytes = unsafe { _mm256_loadu_si256(text.as_ptr().add(at + k).cast()) };
                let low = _mm256_and_si256(bytes, low_nibble);
                let high = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_nibble);
                let allowed = _mm256_and_si256(
                    _mm256_shuffle_epi8(lo[k], low),
                    _mm256_shuffle_epi8(hi[k], high),
                );
                passed = _mm256_and_si256(passed, allowed);
            }
            let block = PassingBlock::of(at, fresh, passed);
            if block.hits != 0 {
                return Ok(block);
            }
            p = at + 32;
        }
        Err(p)
    }
}

/// A block of 32 positions where the nibble tables passed some.
struct PassingBlock {
    /// Its first position.
    at: usize,
    /// Its positions not judged before (as bits).
    fresh: u32,
    /// The positions passed (as bits).
    hits: u32,
    /// The buckets passed at each position.
    buckets: [u8; 32],
}

impl PassingBlock {
    /// The block at `at` with the buckets `passed` at each of its positions, of which those
    /// in `fresh` count.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn of(at: usize, fresh: u32, passed: std::arch::x86_64::__m256i) -> PassingBlock {
        use std::arch::x86_64::*;
        let none = _mm256_cmpeq_epi8(passed, _mm256_setzero_si256());
        let hits = !(_mm256_movemask_epi8(none) as u32) & fresh;
        let mut buckets = [0u8; 32];
        // SAFETY: `buckets` holds 32 bytes, the size of the unaligned store.
        unsafe { _mm256_storeu_si256(buckets.as_mut_ptr().cast(), passed) };
        PassingBlock {
            at,
            fresh,
            hits,
            buckets,
        }
    }
}

/// The block of 32 positions to judge next, from `p` in a text of `len` bytes, and the
/// positions in it not judged yet (as bits). Near the end the block is moved back to end
/// where the last full one can, and re-judges nothing: only the last `WIDTH - 1` positions
/// (whose fingerprints run past the end) are left to the one-by-one search.
fn block_at(len: usize, p: usize) -> Option<(usize, u32)> {
    const SPAN: usize = 32 + WIDTH - 1;
    if p + SPAN <= len {
        return Some((p, u32::MAX));
    }
    let at = len.checked_sub(SPAN)?;
    (p + WIDTH - 1 < len).then(|| (at, u32::MAX << (p - at)))
}

/// Whether the fingerprint at `p` is one byte three times: the cheap test before
/// [`Teddy::past_run`], which ordinary positions fail at once.
#[inline(always)]
fn in_run(text: &[u8], p: usize) -> bool {
    matches!(text.get(p..p + 3), Some(&[a, b, c]) if a == b && b == c)
}

/// Where the run of `text[p]` that starts at `p` ends, judged 8 bytes at a time.
fn run_end(text: &[u8], p: usize) -> usize {
    let spread = u64::from(text[p]) * ONES;
    let mut end = p;
    for chunk in text[p..].chunks_exact(8) {
        let differ = word(chunk) ^ spread;
        if differ != 0 {
            return end + differ.trailing_zeros() as usize / 8;
        }
        end += 8;
    }
    end + text[end..].iter().take_while(|&&b| b == text[p]).count()
}

/// Whether `text` equals `lower` (in ASCII lower case) ignoring ASCII case, 8 bytes at a
/// time: Code Red's 224-byte padding literals are compared whole at every candidate.
fn eq_folded(text: &[u8], lower: &[u8]) -> bool {
    if text.len() != lower.len() {
        return false;
    }
    let (mut a, mut b) = (text.chunks_exact(8), lower.chunks_exact(8));
    let words_equal = (&mut a)
        .zip(&mut b)
        .all(|(x, y)| fold_case(word(x)) == word(y));
    words_equal
        && a.remainder()
            .iter()
            .zip(b.remainder())
            .all(|(x, y)| x.to_ascii_lowercase() == *y)
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// Up to 8 bytes as a little-endian word (zero-padded).
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = bytes.len().min(8);
    w[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(w)
}

/// The word with its bytes `A`..=`Z` lowered (others, and bytes above ASCII, untouched):
/// adding to each byte's low 7 bits sets its top bit at a bound, without carries between
/// bytes.
fn fold_case(w: u64) -> u64 {
    let low7 = w & (0x7f * ONES);
    let from_a = low7 + u64::from(0x80 - b'A') * ONES;
    let past_z = low7 + u64::from(0x7f - b'Z') * ONES;
    let upper = from_a & !past_z & !w & (0x80 * ONES);
    w | (upper >> 2)
}

/// Lines of the traffic most of a log is made of (stamps, addresses, static pages, common
/// agents and referers), on which the tables of each bucket should pass as little as they can.
const ORDINARY_TRAFFIC: &[u8] =
    b"2001-08-04 00:00:01 192.0.2.10 - 10.0.0.5 80 GET /index.html - 200 \
Mozilla/4.0+(compatible;+MSIE+6.0;+Windows+NT+5.1;+SV1)
2001-08-04 00:00:02 198.51.100.7 - 10.0.0.5 80 GET /images/logo.gif - 304 \
Mozilla/5.0+(X11;+U;+Linux+i686;+en-US;+rv:1.7.12)+Gecko/20050915+Firefox/1.0.7
203.0.113.9 - - [04/Aug/2001:00:00:03 +0900] \"GET /css/site.css HTTP/1.1\" 200 5120 \
\"http://www.example.com/products/list.php?page=2&sort=name\" \"Mozilla/5.0 (Windows NT 10.0; \
Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\"
192.0.2.44 - - [04/Aug/2001:00:00:04 +0000] \"POST /login HTTP/1.1\" 302 0 \"-\" \
\"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) \
Version/17.1 Safari/605.1.15\"
198.51.100.23 - - [04/Aug/2001:00:00:05 +0000] \"GET /robots.txt HTTP/1.0\" 404 209 \"-\" \
\"Googlebot/2.1 (+http://www.google.com/bot.html)\"
2001-08-04 00:00:06 203.0.113.80 - 10.0.0.5 80 HEAD /favicon.ico - 200 \
Mozilla/5.0+(iPhone;+CPU+iPhone+OS+17_0+like+Mac+OS+X)+Mobile/15E148
192.0.2.61 - - [04/Aug/2001:00:00:07 +0000] \"GET /news/2001/08/article.htm?id=4711 HTTP/1.1\" \
200 18433 \"https://www.example.org/\" \"curl/7.81.0\"
203.0.113.5 - - [04/Aug/2001:00:00:08 +0000] \"GET /static/app.js?v=3 HTTP/2.0\" 200 734 \"-\" \
\"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 \
Mobile Safari/537.36\"
2001-08-04 00:00:09 198.51.100.3 - 10.0.0.5 80 GET /default.htm - 200 \
Mozilla/5.0+(Linux;+Android+13;+SM-S911B)+AppleWebKit/537.36+(KHTML,+like+Gecko)
2001-08-04 00:00:10 192.0.2.77 - 10.0.0.5 80 GET /downloads/linux/index.htm - 200 \
Mozilla/5.0+(X11;+Linux+x86_64;+rv:109.0)+Gecko/20100101+Firefox/115.0
";

impl Masks {
    /// How many positions of [`ORDINARY_TRAFFIC`] each bucket's tables pass.
    fn sample_passes(&self) -> [u32; BUCKETS] {
        // How many positions pass each set of buckets, then each bucket's share.
        let mut by_set = [0u32; 256];
        for p in 0..ORDINARY_TRAFFIC.len() {
            let passed = (0..WIDTH).fold(0xffu8, |passed, k| {
                passed
                    & match ORDINARY_TRAFFIC.get(p + k) {
                        Some(&b) => {
                            self.lo[k][usize::from(b & 0x0f)] & self.hi[k][usize::from(b >> 4)]
                        }
                        None => self.wild[k],
                    }
            });
            by_set[usize::from(passed)] += 1;
        }
        let mut passes = [0u32; BUCKETS];
        for (set, &count) in by_set.iter().enumerate().skip(1) {
            for (bucket, total) in passes.iter_mut().enumerate() {
                *total += count * (set as u32 >> bucket & 1);
            }
        }
        passes
    }

    /// How often a bucket's tables pass a position of a typical log, in relative units: the
    /// product over fingerprint bytes of the commonness of the bytes allowed.
    fn pass_weight(&self, bucket: usize) -> u64 {
        let bit = 1u8 << bucket;
        (0..WIDTH)
            .map(|k| {
                (0..=255u8)
                    .filter(|&b| {
                        self.lo[k][usize::from(b & 0x0f)] & self.hi[k][usize::from(b >> 4)] & bit
                            != 0
                    })
                    .map(|b| u64::from(commonness(b)))
                    .sum::<u64>()
            })
            .product()
    }

    fn allow(&mut self, bucket: usize, fingerprint: &[u8]) {
        let bit = 1u8 << bucket;
        for k in 0..WIDTH {
            match fingerprint.get(k) {
                Some(&b) => {
                    for variant in [b.to_ascii_lowercase(), b.to_ascii_uppercase()] {
                        self.lo[k][usize::from(variant & 0x0f)] |= bit;
                        self.hi[k][usize::from(variant >> 4)] |= bit;
                    }
                }
                None => {
                    self.wild[k] |= bit;
                    self.lo[k].iter_mut().for_each(|e| *e |= bit);
                    self.hi[k].iter_mut().for_each(|e| *e |= bit);
                }
            }
        }
    }
}

/// The probe word of a literal's bytes from its fingerprint on (see [`Member::probe`]), and
/// of a whole literal for FDR: the first (up to) 8 bytes of `bytes` as a little-endian word, with letters' case bit
/// cleared, and the mask that clears it in a haystack word (0 where `bytes` is shorter): a
/// haystack word `w` can start `bytes` only if `w & mask == probe`.
pub(super) fn probe_of(bytes: &[u8]) -> (u64, u64) {
    let (mut probe, mut mask) = (0u64, 0u64);
    for (i, &b) in bytes.iter().take(8).enumerate() {
        let byte_mask: u8 = if b.is_ascii_alphabetic() { 0xdf } else { 0xff };
        probe |= u64::from(b & byte_mask) << (8 * i);
        mask |= u64::from(byte_mask) << (8 * i);
    }
    (probe, mask)
}

impl Member {
    fn fingerprint(&self) -> &[u8] {
        &self.text[self.offset..(self.offset + WIDTH).min(self.text.len())]
    }
}

#[cfg(target_arch = "x86_64")]
fn avx2_available() -> bool {
    std::is_x86_feature_detected!("avx2")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2_available() -> bool {
    false
}

/// Where the literal's rarest bytes start (its first, for shorter literals). A letter counts
/// twice over: both its cases pass.
fn fingerprint_offset(text: &[u8]) -> usize {
    if text.len() <= WIDTH {
        return 0;
    }
    let weight = |b: u8| commonness(b) * if b.is_ascii_alphabetic() { 2 } else { 1 };
    (0..=text.len() - WIDTH)
        .min_by_key(|&o| {
            text[o..o + WIDTH]
                .iter()
                .map(|&b| weight(b))
                .product::<u32>()
        })
        .unwrap_or(0)
}

/// How often a byte turns up in web-server logs, roughly (higher: more often). Digits,
/// separators and the usual letters of paths and agents are everywhere; `%`, `_`, `x` and
/// bytes above ASCII are rare.
fn commonness(b: u8) -> u32 {
    const EVERYWHERE: &[u8] = b" /.-:0123456789eatoinsrhlcdmp";
    const OFTEN: &[u8] = b"ugfwybvk=?&\"";
    if EVERYWHERE.contains(&b) {
        8
    } else if OFTEN.contains(&b) {
        4
    } else if b.is_ascii_graphic() {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line (count of newlines before) of the first caseless match at or after `from`.
    fn first_line(text: &[u8], from: usize, literals: &[Vec<u8>]) -> Option<usize> {
        (from..text.len())
            .find(|&i| {
                literals.iter().any(|l| {
                    text.get(i..i + l.len())
                        .is_some_and(|t| t.eq_ignore_ascii_case(l))
                })
            })
            .map(|i| text[..i].iter().filter(|&&b| b == b'\n').count())
    }

    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    fn literals() -> Vec<Vec<u8>> {
        [
            "/default.ida",
            ".ida",
            ".idq",
            "xxxxxxxxxxxxxxxxxxxx",
            "%u9090%u6858",
            "/root.exe",
            "cmd.exe",
            "search",
            "\n#",
            "ab",
            "q",
            "..\u{7f}%c1%1c",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect()
    }

    /// The one-by-one search costs about twenty times the blocks' per byte: it must be left
    /// only the positions too close to the end for a block, not the stretch the blocks judged.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_blocks_hand_on_only_the_last_positions() {
        assert!(avx2_available(), "this test runs the AVX2 loop");
        let teddy = Teddy::new(&literals());
        let text = vec![b'z'; 1000];
        // SAFETY: the CPU has AVX2 (asserted above).
        let rest = unsafe { teddy.next_passing_block(&text, 3) };
        let rest = rest.err().expect("no position of a run of z passes");
        assert!(
            (text.len() - 32 - WIDTH..=text.len()).contains(&rest),
            "{rest}"
        );
    }

    #[test]
    fn finds_the_first_line_a_naive_caseless_search_finds() {
        let literals = literals();
        let teddy = Teddy::new(&literals);
        let scalar = Teddy {
            avx2: false,
            ..teddy.clone()
        };
        let alphabet = b"aAbBdDxXqQiIsS/.%u9 \n#ecmRrOoT";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..2000 {
            let len = (next(&mut seed) % 200) as usize;
            let mut text: Vec<u8> = (0..len)
                .map(|_| alphabet[(next(&mut seed) % alphabet.len() as u64) as usize])
                .collect();
            if round % 2 == 0 && len > 30 {
                let l = &literals[(next(&mut seed) % literals.len() as u64) as usize];
                let at = (next(&mut seed) as usize) % (len - l.len());
                for (i, &b) in l.iter().enumerate() {
                    let upper = next(&mut seed) % 2 == 0;
                    text[at + i] = if upper { b.to_ascii_uppercase() } else { b };
                }
            }
            for from in [0, 1, 7, len / 2] {
                let expected = first_line(&text, from, &literals);
                for searcher in [&teddy, &scalar] {
                    let got = searcher.find(&text, from, &mut |_, _| true);
                    let got_line =
                        got.map(|(s, _)| text[..s].iter().filter(|&&b| b == b'\n').count());
                    assert_eq!(got_line, expected, "round {round} from {from}: {text:?}");
                    if let Some((start, id)) = got {
                        let l = &literals[id];
                        assert!(start >= from);
                        assert!(text[start..start + l.len()].eq_ignore_ascii_case(l));
                    }
                }
            }
            // Every hit, near the end of short texts too (the last block overlaps the one
            // before it).
            for searcher in [&teddy, &scalar] {
                let got = every_hit(searcher, &text);
                assert_eq!(got, all_hits(&text, &literals), "round {round}: {text:?}");
            }
        }
    }

    /// Every (start, id) the search reports in `text`, in order.
    fn every_hit(searcher: &Teddy, text: &[u8]) -> Vec<(usize, usize)> {
        let mut got = Vec::new();
        searcher.find(text, 0, &mut |start, id| {
            got.push((start, id));
            false
        });
        got.sort_unstable();
        got
    }

    /// Every (start, id) of every literal in `text`, by brute force.
    fn all_hits(text: &[u8], literals: &[Vec<u8>]) -> Vec<(usize, usize)> {
        let mut hits: Vec<(usize, usize)> = (0..text.len())
            .flat_map(|i| (0..literals.len()).map(move |id| (i, id)))
            .filter(|&(i, id)| {
                let l = &literals[id];
                text.get(i..i + l.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(l))
            })
            .collect();
        hits.sort_unstable();
        hits
    }

    /// Texts of runs of one byte (up to 120 long) and a few pieces of Code Red requests.
    fn runs_and_pieces(seed: &mut u64, pieces: &[&[u8]]) -> Vec<u8> {
        let mut text = Vec::new();
        while text.len() < 400 {
            let piece = pieces[(next(seed) % pieces.len() as u64) as usize];
            let times = if piece.len() == 1 {
                next(seed) % 120
            } else {
                1
            };
            (0..times).for_each(|_| text.extend_from_slice(piece));
        }
        text
    }

    /// A run met after ordinary text is passed over from the first block it fills, not
    /// compared position by position (Code Red II's `X` padding follows its request path).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_run_after_ordinary_text_is_passed_over_at_once() {
        /// Counts the literals' comparisons, each of which asks whether its literal is wanted.
        struct Counting(std::cell::Cell<usize>);
        impl Hits for Counting {
            fn wanted(&self, _id: usize) -> bool {
                self.0.set(self.0.get() + 1);
                true
            }
            fn found(&mut self, _start: usize, _id: usize) -> bool {
                false
            }
            fn once_each(&self) -> bool {
                false
            }
        }
        let literals: Vec<Vec<u8>> = ["xxxxxxxxa", "/default.ida"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let teddy = Teddy::new(&literals);
        // Ten blocks that pass nothing, then the run from a block's first position: the
        // search meets it after passing over blocks, not where it started.
        let mut text = b"abcdefgh".repeat(40);
        text.extend(std::iter::repeat_n(b'x', 5000));
        text.extend_from_slice(b" 200\n");
        let mut counting = Counting(std::cell::Cell::new(0));
        assert_eq!(teddy.find(&text, 0, &mut counting), None);
        assert!(counting.0.get() < 8, "{} comparisons", counting.0.get());
    }

    /// Each literal wanted once, as the per-line listing of literals asks.
    struct Once(Vec<usize>);

    impl Hits for Once {
        fn wanted(&self, id: usize) -> bool {
            !self.0.contains(&id)
        }
        fn found(&mut self, _start: usize, id: usize) -> bool {
            self.0.push(id);
            false
        }
        fn once_each(&self) -> bool {
            true
        }
    }

    #[test]
    fn runs_of_one_byte_are_passed_over_without_missing_a_hit() {
        let sets: [&[&str]; 3] = [
            // Literals made of the run's byte alone: no run is passed over while wanted.
            &[
                "nnnnnnnn%u9090",
                "?nnnn",
                "xxxxxxxxxxxxxxxxxxxx",
                "x%u78",
                "nnnn",
                "aaa",
            ],
            // None: runs are passed over, and what ends or starts in them is still found.
            &[
                "nnnnnnnn%u9090",
                "?nnnn",
                "x%u78",
                "/default.ida",
                "xxxxxxxxa",
                "nnnnnnnnnnnnnnnnnnnnnnnn?",
            ],
            // A fingerprint (`qqq`) after the literal's first byte: comparisons reach back.
            &["eqqqqq", "qqqqqz"],
        ];
        let pieces: [&[u8]; 11] = [
            b"N",
            b"n",
            b"X",
            b"x",
            b"a",
            b"%u9090",
            b"?",
            b"/default.ida",
            b"e",
            b"q",
            b"z",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for set in sets {
            let literals: Vec<Vec<u8>> = set.iter().map(|s| s.as_bytes().to_vec()).collect();
            let teddy = Teddy::new(&literals);
            let scalar = Teddy {
                avx2: false,
                ..teddy.clone()
            };
            for round in 0..600 {
                let text = runs_and_pieces(&mut seed, &pieces);
                let expected = all_hits(&text, &literals);
                let mut ids: Vec<usize> = expected.iter().map(|&(_, id)| id).collect();
                ids.sort_unstable();
                ids.dedup();
                for searcher in [&teddy, &scalar] {
                    let mut got = every_hit(searcher, &text);
                    got.dedup();
                    let shown = String::from_utf8_lossy(&text);
                    assert_eq!(got, expected, "round {round}: {shown}");
                    let mut once = Once(Vec::new());
                    searcher.find(&text, 0, &mut once);
                    once.0.sort_unstable();
                    assert_eq!(once.0, ids, "once each, round {round}: {shown}");
                }
            }
        }
    }

    #[test]
    fn a_skip_over_a_run_passes_no_fingerprint_of_a_hit() {
        let literals: Vec<Vec<u8>> = ["?nnnn", "nnnnnnnn%u", "x%u", "%u78", "~~q", "qq", "nnnn"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let teddy = Teddy::new(&literals);
        let offset = |id: usize| {
            let members = teddy.members.iter().flatten();
            members
                .filter(|m| m.id == id)
                .map(|m| m.offset)
                .next()
                .unwrap()
        };
        let pieces: [&[u8]; 8] = [b"n", b"N", b"x", b"~", b"?", b"%u", b"q", b"a"];
        let mut seed = 0x1234_5678_9abc_def1u64;
        for round in 0..3000 {
            let text = runs_and_pieces(&mut seed, &pieces);
            // Some literals found already (wanted: false): a skip may pass over their hits.
            let found: Vec<usize> = (0..literals.len())
                .filter(|_| next(&mut seed) % 3 == 0)
                .collect();
            let accept = Once(found.clone());
            let p = (next(&mut seed) as usize) % text.len();
            let Some(skip_to) = teddy.past_run(&text, p, &accept) else {
                continue;
            };
            assert!(skip_to > p);
            for (start, id) in all_hits(&text, &literals) {
                if found.contains(&id) {
                    continue;
                }
                let at = start + offset(id);
                assert!(
                    !(p..skip_to).contains(&at),
                    "round {round}: {id} at {at} passed over ({p}..{skip_to})"
                );
            }
        }
    }

    #[test]
    fn words_fold_case_as_bytes_do() {
        let mut seed = 0x0bad_cafe_u64;
        for _ in 0..20_000 {
            let w = next(&mut seed);
            let bytes = w.to_le_bytes().map(|b| b.to_ascii_lowercase());
            assert_eq!(fold_case(w), u64::from_le_bytes(bytes), "{w:#x}");
        }
        for b in 0..=255u8 {
            let lowered = u64::from(b.to_ascii_lowercase()) * ONES;
            assert_eq!(fold_case(u64::from(b) * ONES), lowered, "{b:#x}");
        }
        assert!(eq_folded(
            b"GET /Default.IDA?NNNNNNNNNx",
            b"get /default.ida?nnnnnnnnnx"
        ));
        assert!(!eq_folded(
            b"GET /Default.IDA?NNNNNNNNNx",
            b"get /default.ida?nnnnnnnnny"
        ));
        assert!(!eq_folded(b"[", b"{"), "case folds letters only");
        assert_eq!(run_end(b"xNNNNNNNNNNNNa", 1), 13);
        assert_eq!(run_end(b"NNNNNNNNNNNNNNNN", 3), 16);
    }

    #[test]
    fn a_rejected_hit_is_passed_over() {
        let teddy = Teddy::new(&[b"search".to_vec(), b"root.exe".to_vec()]);
        let text = b"GET /SEARCH.asp x /scripts/Root.EXE?/c+dir 200 ....................";
        let found = teddy.find(text, 0, &mut |_, id| id == 1);
        assert_eq!(found, Some((27, 1)));
    }

    #[test]
    fn fingerprints_avoid_common_bytes() {
        assert_ne!(fingerprint_offset(b"/default.ida"), 0, "not on `/de`");
        assert_eq!(fingerprint_offset(b"%u9090%u6858"), 0);
        assert_eq!(fingerprint_offset(b"ab"), 0);
    }

    /// The tables of the built-in rules' atoms pass almost no position of ordinary agents:
    /// each pass is a verification, and mixing fingerprints in a bucket once let `i`, `n`
    /// and `u` from three of them through at the `inu` of every Linux agent.
    #[test]
    fn the_builtin_atoms_pass_almost_no_position_of_ordinary_agents() {
        let rules = crate::detect::pack::load_rules(&Default::default()).rules;
        let detector = crate::detect::Detector::new(rules);
        let searcher = detector.searcher.as_ref().expect("atoms");
        let crate::detect::LiteralSearch::Teddy(teddy) = &searcher.search else {
            panic!("the built-in atoms fit Teddy");
        };
        let agents = "Mozilla/5.0+(X11;+U;+Linux+i686;+en-US;+rv:0.9.2) \
            Mozilla/4.0 (compatible; MSIE 5.5; Windows 98) \
            Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
            Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0 \
            Mozilla/4.0+(compatible;+MSIE+6.0;+Windows+NT+5.0) Opera/9.80 (X11; Linux x86_64)\n";
        let text = agents.repeat(20).into_bytes();
        let passes = (0..text.len())
            .filter(|&p| teddy.buckets_at(&text, p) != 0)
            .count();
        assert!(
            passes * 200 < text.len(),
            "{passes} of {} positions",
            text.len()
        );
    }
}
