//! Work on a list by several threads, delivered in list order as it is made.
//!
//! Each item's events (findings) travel through a small bounded channel of their own, and the
//! caller drains the channels in item order. A worker ahead of the one being drained blocks
//! when its channel is full, so memory holds at most `threads` channels' worth of events
//! whatever an input gives, and the output is the same for any thread count. Workers take items
//! in list order, so the item being drained always has a worker: nothing can wait on a worker
//! that will never come.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Condvar, Mutex};

/// Events an item may have in flight before its worker waits for the reader.
const EVENTS_IN_FLIGHT: usize = 1024;

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
    Done(R),
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
    let board = Board::default();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| board.work_on(items, &work));
        }
        let _abandon = Abandon(&board);
        for i in 0..items.len() {
            let receiver = board.receiver(i);
            loop {
                match receiver.recv() {
                    Ok(Sent::Event(e)) => deliver(i, Delivery::Event(e)),
                    Ok(Sent::Done(r)) => {
                        deliver(i, Delivery::Done(r));
                        break;
                    }
                    Err(_) => {
                        deliver(i, Delivery::Lost);
                        break;
                    }
                }
            }
        }
    });
}

/// Where workers post the channel of each item they start.
struct Board<E, R> {
    next: AtomicUsize,
    stopped: AtomicBool,
    posted: Mutex<BTreeMap<usize, Receiver<Sent<E, R>>>>,
    wake: Condvar,
}

impl<E, R> Default for Board<E, R> {
    fn default() -> Self {
        Board {
            next: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            posted: Mutex::new(BTreeMap::new()),
            wake: Condvar::new(),
        }
    }
}

impl<E: Send, R: Send> Board<E, R> {
    fn work_on<T>(&self, items: &[T], work: &(impl Fn(&T, &mut dyn FnMut(E)) -> R + Sync)) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= items.len() || self.stopped.load(Ordering::Relaxed) {
                return;
            }
            let (sender, receiver) = sync_channel(EVENTS_IN_FLIGHT);
            self.lock().insert(i, receiver);
            self.wake.notify_all();
            let result = catch_unwind(AssertUnwindSafe(|| {
                work(&items[i], &mut |e| {
                    // The reader only goes away when the run is being abandoned.
                    let _ = sender.send(Sent::Event(e));
                })
            }));
            if let Ok(result) = result {
                let _ = sender.send(Sent::Done(result));
            }
        }
    }

    /// The channel of item `i`, once its worker has posted it.
    fn receiver(&self, i: usize) -> Receiver<Sent<E, R>> {
        let mut posted = self.lock();
        loop {
            if let Some(r) = posted.remove(&i) {
                return r;
            }
            posted = self
                .wake
                .wait(posted)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, Receiver<Sent<E, R>>>> {
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
            posted.clear();
        }
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
