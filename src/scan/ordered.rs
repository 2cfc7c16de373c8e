//! Work on a list by several threads, delivered in list order as it is made.
//!
//! A worker keeps an item's events (findings) until it finishes, and posts them with the
//! result; an item that gives more than a channel's worth streams them through a small
//! bounded channel of its own instead. The caller takes the items in order. A worker ahead of
//! the one being drained blocks when its channel is full, so memory holds at most `threads`
//! channels' worth of events (and the few events of items finished ahead) whatever an input
//! gives, and the output is the same for any thread count. Workers take items
//! in list order, so the item being drained always has a worker: nothing can wait on a worker
//! that will never come.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Condvar, Mutex};

/// Events an item keeps before it streams them through a channel of its own (most items
/// give fewer and post them whole: no channel is made for them).
const EVENTS_IN_FLIGHT: usize = 128;

/// Events all streaming items together may have in flight before their workers wait for the
/// reader (each worker's channel holds its share). A channel's slots are allocated when it is
/// made, but only items of many events make one. With 128 a channel, a chunk of a
/// finding-heavy file ahead of the one being read stalled after its first 128 findings, and
/// two threads ran slower than one; shared, the memory they hold does not grow with `-j`.
const STREAM_IN_FLIGHT: usize = 8192;

/// What the caller is given for an item, in item order.
pub enum Delivery<E, R> {
    /// One event, in the order the item's work made them.
    Event(E),
    /// The item's result, after all its events.
    Done(R),
    /// The item's work panicked: its events so far were delivered, there is no result.
    Lost,
}

enum Sent<E, R> {
    Event(E),
    /// Boxed: every slot of a channel is as large as its largest message.
    Done(Box<R>),
}

/// Runs `work` on every item with up to `threads` threads and calls `deliver` with each
/// item's events and result, items in order. `work` gets the item and a function that hands
/// one event on.
pub fn in_order<T, E, R>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T, &mut dyn FnMut(E)) -> R + Sync,
    mut deliver: impl FnMut(usize, Delivery<E, R>),
) where
    T: Sync,
    E: Send,
    R: Send,
{
    let threads = threads.max(1).min(items.len());
    if threads <= 1 {
        for (i, item) in items.iter().enumerate() {
            let result = catch_unwind(AssertUnwindSafe(|| {
                work(item, &mut |e| deliver(i, Delivery::Event(e)))
            }));
            deliver(i, result.map_or(Delivery::Lost, Delivery::Done));
        }
        return;
    }
    let board = Board {
        stream_capacity: (STREAM_IN_FLIGHT / threads).max(EVENTS_IN_FLIGHT),
        ..Board::default()
    };
    board.total.store(items.len(), Ordering::Relaxed);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| board.work_on(items, &work));
        }
        let _abandon = Abandon(&board);
        let mut taken = VecDeque::with_capacity(POSTED_AHEAD * 2);
        let mut i = 0;
        while i < items.len() {
            board.take_run(i, &mut taken);
            while let Some(posted) = taken.pop_front() {
                match posted {
                    Posted::Finished(events, result) => {
                        events
                            .into_iter()
                            .for_each(|e| deliver(i, Delivery::Event(e)));
                        deliver(i, result.map_or(Delivery::Lost, Delivery::Done));
                    }
                    Posted::Streaming(receiver) => drain(i, &receiver, &mut deliver),
                }
                i += 1;
            }
        }
    });
}

/// Hands on the events of a streamed item, then its result (or its loss).
fn drain<E, R>(
    i: usize,
    receiver: &Receiver<Sent<E, R>>,
    deliver: &mut impl FnMut(usize, Delivery<E, R>),
) {
    loop {
        match receiver.recv() {
            Ok(Sent::Event(e)) => deliver(i, Delivery::Event(e)),
            Ok(Sent::Done(r)) => return deliver(i, Delivery::Done(*r)),
            Err(_) => return deliver(i, Delivery::Lost),
        }
    }
}

/// What a worker posts for an item: the whole of a small one, or the channel of one that
/// gave more events than a channel holds. Most inputs give few findings, so most items
/// cost one post and no channel.
enum Posted<E, R> {
    /// Every event and the result (None: the work panicked). The result is kept inline: a
    /// box made by a worker and freed by the reader took the worker's allocator arena lock,
    /// and on folders of many small files those waits were a quarter of all context switches.
    Finished(Vec<E>, Option<R>),
    /// Events so far were sent first; the rest follow, then the result.
    Streaming(Receiver<Sent<E, R>>),
}

/// Where a worker's events go: kept while few, streamed once they fill a channel's worth.
enum Outlet<E, R> {
    Kept(Vec<E>),
    Streaming(SyncSender<Sent<E, R>>),
}

/// Items posted and not yet taken, by their distance from the next one the reader takes.
/// A ring of slots that keeps its capacity, so posting and taking allocate nothing (a map
/// allocated its nodes in the workers and freed them in the reader).
struct Slots<E, R> {
    ring: VecDeque<Option<Posted<E, R>>>,
    /// The item in the ring's first slot: the next one the reader takes.
    first: usize,
    /// Slots that hold a posted item.
    ready: usize,
}

impl<E, R> Slots<E, R> {
    fn put(&mut self, i: usize, posted: Posted<E, R>) {
        let at = i - self.first;
        if at >= self.ring.len() {
            self.ring.resize_with(at + 1, || None);
        }
        self.ring[at] = Some(posted);
        self.ready += 1;
    }

    /// Ready items in a row from the first slot, counting up to `limit`.
    fn run(&self, limit: usize) -> usize {
        self.ring
            .iter()
            .take(limit)
            .take_while(|slot| slot.is_some())
            .count()
    }

    /// The first item, when it is posted.
    fn take_first(&mut self) -> Option<Posted<E, R>> {
        let posted = self.ring.front_mut()?.take()?;
        self.ring.pop_front();
        self.first += 1;
        self.ready -= 1;
        Some(posted)
    }
}

/// Where workers post each item they finish or start streaming.
struct Board<E, R> {
    next: AtomicUsize,
    stopped: AtomicBool,
    posted: Mutex<Slots<E, R>>,
    /// Whether the reader waits on `wake` for its next item.
    reader_waits: AtomicBool,
    /// How many items there are.
    total: AtomicUsize,
    /// Signalled when the item the reader waits for is posted.
    wake: Condvar,
    /// Signalled when the reader takes an item (a worker may be waiting for room).
    room: Condvar,
    /// Slots of a streaming item's channel: its worker's share of [`STREAM_IN_FLIGHT`].
    stream_capacity: usize,
}

/// Items posted ahead of the reader before workers wait: bounds what small items hold
/// while the reader is on a long one.
const POSTED_AHEAD: usize = 128;

/// Items ready in a row that wake the reader.
const WAKE_RUN: usize = 48;

impl<E, R> Default for Board<E, R> {
    fn default() -> Self {
        Board {
            next: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            posted: Mutex::new(Slots {
                ring: VecDeque::with_capacity(POSTED_AHEAD * 2),
                first: 0,
                ready: 0,
            }),
            reader_waits: AtomicBool::new(false),
            total: AtomicUsize::new(0),
            wake: Condvar::new(),
            room: Condvar::new(),
            stream_capacity: EVENTS_IN_FLIGHT,
        }
    }
}

impl<E: Send, R: Send> Board<E, R> {
    fn work_on<T>(&self, items: &[T], work: &(impl Fn(&T, &mut dyn FnMut(E)) -> R + Sync)) {
        loop {
            self.wait_for_room();
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= items.len() || self.stopped.load(Ordering::Relaxed) {
                return;
            }
            let mut outlet = Outlet::Kept(Vec::new());
            let result = catch_unwind(AssertUnwindSafe(|| {
                work(&items[i], &mut |e| self.hand_on(i, &mut outlet, e))
            }));
            match outlet {
                Outlet::Kept(events) => self.post(i, Posted::Finished(events, result.ok())),
                Outlet::Streaming(sender) => {
                    if let Ok(result) = result {
                        let _ = sender.send(Sent::Done(Box::new(result)));
                    }
                }
            }
        }
    }

    /// Keeps an event of item `i`, or streams it once the item has given a channel's worth.
    fn hand_on(&self, i: usize, outlet: &mut Outlet<E, R>, event: E) {
        match outlet {
            Outlet::Kept(events) if events.len() < EVENTS_IN_FLIGHT => events.push(event),
            Outlet::Kept(events) => {
                let (sender, receiver) = sync_channel(self.stream_capacity);
                let kept = std::mem::take(events);
                self.post(i, Posted::Streaming(receiver));
                // The reader only goes away when the run is being abandoned.
                for e in kept.into_iter().chain(std::iter::once(event)) {
                    let _ = sender.send(Sent::Event(e));
                }
                *outlet = Outlet::Streaming(sender);
            }
            Outlet::Streaming(sender) => {
                let _ = sender.send(Sent::Event(event));
            }
        }
    }

    /// Waits while many items are posted ahead of the reader. The item the reader waits for
    /// was taken before any posted one (items are taken in order) and its worker is not
    /// here, so the reader always gets it.
    fn wait_for_room(&self) {
        let mut posted = self.lock();
        while posted.ready >= POSTED_AHEAD && !self.stopped.load(Ordering::Relaxed) {
            posted = self
                .room
                .wait(posted)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Posts item `i`. A waiting reader is woken only when there is a run of [`WAKE_RUN`]
    /// items ready from the one it waits for, or the last items, or a streaming item (whose
    /// worker may soon wait for it), or the board is full: on folders of many small files a
    /// wake per item cost more than the scans.
    fn post(&self, i: usize, posted: Posted<E, R>) {
        let streaming = matches!(posted, Posted::Streaming(_));
        let mut board = self.lock();
        board.put(i, posted);
        let wake = self.reader_waits.load(Ordering::Relaxed) && {
            let run = board.run(WAKE_RUN);
            streaming
                || run == WAKE_RUN
                || (run > 0 && board.first + run >= self.total.load(Ordering::Relaxed))
                || board.ready >= POSTED_AHEAD
        };
        if wake {
            // Cleared under the lock: later posts do not signal a reader already woken.
            self.reader_waits.store(false, Ordering::Relaxed);
        }
        drop(board);
        if wake {
            self.wake.notify_one();
        }
    }

    /// Item `i` (the next in order) and every item posted in a row after it, into `taken`.
    fn take_run(&self, i: usize, taken: &mut VecDeque<Posted<E, R>>) {
        let mut posted = self.lock();
        debug_assert_eq!(posted.first, i, "items are taken in order");
        loop {
            let full = posted.ready >= POSTED_AHEAD;
            if let Some(p) = posted.take_first() {
                taken.push_back(p);
                while let Some(p) = posted.take_first() {
                    taken.push_back(p);
                }
                if full {
                    self.room.notify_all();
                }
                return;
            }
            // Set under the lock: a worker posting after this sees it and wakes the reader.
            self.reader_waits.store(true, Ordering::Relaxed);
            posted = self
                .wake
                .wait(posted)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots<E, R>> {
        self.posted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Lets the workers go if the reader stops early (a panic while delivering): their channels
/// close, so none waits forever on a full one.
struct Abandon<'b, E, R>(&'b Board<E, R>);

impl<E, R> Drop for Abandon<'_, E, R> {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::Relaxed);
        if let Ok(mut posted) = self.0.posted.lock() {
            posted.ring.clear();
            posted.ready = 0;
        }
        self.0.room.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliveries(items: &[u32], threads: usize) -> Vec<String> {
        let mut got = Vec::new();
        in_order(
            items,
            threads,
            |&n, emit| {
                (0..n).for_each(&mut *emit);
                n * 10
            },
            |i, d| match d {
                Delivery::Event(k) => got.push(format!("{i}:e{k}")),
                Delivery::Done(r) => got.push(format!("{i}:done{r}")),
                Delivery::Lost => got.push(format!("{i}:lost")),
            },
        );
        got
    }

    #[test]
    fn events_and_results_come_in_item_order_whatever_the_threads() {
        // Item 0 gives more events than a channel holds, so later workers must wait.
        let items = [3000, 2, 0, 5, 1, 1500];
        let one = deliveries(&items, 1);
        assert_eq!(one.len(), 3000 + 2 + 5 + 1 + 1500 + items.len());
        assert_eq!(one[0], "0:e0");
        assert_eq!(one[3000], "0:done30000");
        assert_eq!(deliveries(&items, 2), one);
        assert_eq!(deliveries(&items, 7), one);
    }

    #[test]
    fn many_small_items_behind_a_streaming_one_keep_their_order() {
        // Workers finish small items far ahead of the reader, which is held by item 0 (it
        // streams): they wait for room instead of piling up, and nothing is lost.
        let mut items = vec![1u32; 500];
        items[0] = 5000;
        items[250] = 300;
        let one = deliveries(&items, 1);
        assert_eq!(one.len(), 5000 + 300 + 498 + items.len());
        assert_eq!(deliveries(&items, 2), one);
        assert_eq!(deliveries(&items, 5), one);
    }

    #[test]
    fn workers_waiting_for_room_are_let_go_when_a_slow_first_item_ends() {
        // The reader waits for a slow first item while the other workers fill the board and
        // wait for room. Taking the first item must let them go, although the board was not
        // full when the reader began to wait: nothing hangs, nothing is lost.
        let items: Vec<u32> = (0..(POSTED_AHEAD as u32 * 8)).collect();
        let (done, finished) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            let mut results = Vec::new();
            in_order(
                &items,
                3,
                |&n, _emit: &mut dyn FnMut(u32)| {
                    if n == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(200));
                    }
                    n
                },
                |_, d| {
                    if let Delivery::Done(n) = d {
                        results.push(n);
                    }
                },
            );
            let _ = done.send(results);
        });
        let results = finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the run ends: workers waiting for room are woken");
        handle.join().unwrap();
        assert_eq!(results, (0..(POSTED_AHEAD as u32 * 8)).collect::<Vec<_>>());
    }

    #[test]
    fn random_mixes_of_small_and_streaming_items_keep_their_order() {
        // Runs of small items, with streaming ones anywhere, on more threads than cores:
        // whatever wakes the reader, every event comes, in order, and nothing hangs.
        let mut state = 0x2001_0804_u64;
        for round in 0..20 {
            let items: Vec<u32> = (0..300)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    match state % 50 {
                        0 => 400 + (state % 400) as u32,
                        1..=9 => 0,
                        _ => (state % 6) as u32,
                    }
                })
                .collect();
            let one = deliveries(&items, 1);
            for threads in [2, 3, 8] {
                assert_eq!(
                    deliveries(&items, threads),
                    one,
                    "round {round}, {threads} threads"
                );
            }
        }
    }

    #[test]
    fn a_panicking_item_is_lost_and_the_rest_go_on() {
        for threads in [1, 3] {
            let mut got = Vec::new();
            in_order(
                &[1u32, 0, 2],
                threads,
                |&n, emit| {
                    emit(n);
                    assert!(n != 0, "item zero fails");
                    n
                },
                |i, d| {
                    got.push(match d {
                        Delivery::Event(e) => format!("{i}:e{e}"),
                        Delivery::Done(r) => format!("{i}:d{r}"),
                        Delivery::Lost => format!("{i}:lost"),
                    })
                },
            );
            assert_eq!(got, ["0:e1", "0:d1", "1:e0", "1:lost", "2:e2", "2:d2"]);
        }
    }
}
