//! Two threads that split one short loop in halves, tens of thousands of times in a row.
//!
//! The nearest-neighbour chain scans and updates the active clusters once per step, each time
//! a few tens of microseconds of memory-bound work. Handing one half to a pool costs a wake-up
//! per step, about as much as the half itself; here a helper thread spins (yielding now and
//! then) waiting for the next half, so a split costs a store and a load.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Spins before a waiting thread starts yielding its core.
const SPINS: u32 = 4096;

/// The job the helper runs next: the caller's closure, its lifetime erased (the caller waits
/// for it before the closure goes away).
type Job = *mut (dyn FnMut() + Send + 'static);

struct Shared {
    /// Number of the latest job handed over.
    seq: AtomicU64,
    /// Number of the latest job finished.
    done: AtomicU64,
    stop: AtomicBool,
    panicked: AtomicBool,
    job: UnsafeCell<Option<Job>>,
}

// SAFETY: `job` is written by the caller before it publishes `seq` (Release) and read by the
// helper after it sees the new `seq` (Acquire); the caller does not touch it again until the
// helper has published `done` (Release) and the caller has seen it (Acquire).
unsafe impl Sync for Shared {}

/// The caller's side of a pair of threads; see [`with_pair`].
pub struct Pair<'s> {
    shared: &'s Shared,
    /// Whether the helper thread is running (if the system refused it, both halves run here).
    helper: bool,
}

/// Runs `body` with a helper thread that [`Pair::join`] hands half of the work to; the helper
/// ends when `body` returns.
pub fn with_pair<R>(body: impl FnOnce(&Pair<'_>) -> R) -> R {
    let shared = Shared {
        seq: AtomicU64::new(0),
        done: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        panicked: AtomicBool::new(false),
        job: UnsafeCell::new(None),
    };
    std::thread::scope(|s| {
        let helper = std::thread::Builder::new().name("embedmap-pair".into()).spawn_scoped(s, || serve(&shared)).is_ok();
        // The helper stops when `body` returns or unwinds (the scope waits for it either way).
        let _stop = Stop(&shared);
        body(&Pair { shared: &shared, helper })
    })
}

fn serve(shared: &Shared) {
    let mut last = 0;
    loop {
        let mut spins = 0u32;
        let seq = loop {
            if shared.stop.load(Ordering::Acquire) {
                return;
            }
            let s = shared.seq.load(Ordering::Acquire);
            if s != last {
                break s;
            }
            spins = spins.saturating_add(1);
            if spins < SPINS {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        };
        last = seq;
        // SAFETY: see `Shared`: the caller wrote the job before publishing `seq`.
        if let Some(job) = unsafe { *shared.job.get() } {
            // SAFETY: the closure lives until the caller has seen `done == seq`.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { (*job)() }));
            if ran.is_err() {
                shared.panicked.store(true, Ordering::Release);
            }
        }
        shared.done.store(seq, Ordering::Release);
    }
}

/// Tells the helper to stop when dropped.
struct Stop<'a>(&'a Shared);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Release);
    }
}

/// Waits for the helper to finish job `seq`, also when the caller's own half panicked.
struct Wait<'a>(&'a Shared, u64);

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let mut spins = 0u32;
        while self.0.done.load(Ordering::Acquire) != self.1 {
            // Let the helper have the core if it is waiting for one (more threads than cores).
            spins = spins.saturating_add(1);
            if spins < SPINS {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

impl Pair<'_> {
    /// Runs `a` here and `b` on the helper at the same time; returns both results.
    ///
    /// # Panics
    /// If `b` panicked on the helper.
    pub fn join<RA, RB: Send>(&self, a: impl FnOnce() -> RA, b: impl FnOnce() -> RB + Send) -> (RA, RB) {
        if !self.helper {
            return (a(), b());
        }
        let mut b = Some(b);
        let mut out: Option<RB> = None;
        let mut job = || {
            if let Some(f) = b.take() {
                out = Some(f());
            }
        };
        let ptr: *mut (dyn FnMut() + Send + '_) = &mut job;
        // SAFETY: only the lifetime is erased; `Wait` below keeps this frame (and `job`) alive
        // until the helper has finished with it.
        let ptr: Job = unsafe { std::mem::transmute(ptr) };
        // SAFETY: the helper reads `job` only after seeing the new `seq`, and has finished the
        // previous job (this thread waited for it), so nobody reads it now.
        unsafe { *self.shared.job.get() = Some(ptr) };
        let seq = self.shared.seq.fetch_add(1, Ordering::AcqRel) + 1;
        let ra = {
            let _wait = Wait(self.shared, seq);
            a()
        };
        // SAFETY: the helper is done with the job (waited above); clear the stale pointer.
        unsafe { *self.shared.job.get() = None };
        assert!(!self.shared.panicked.load(Ordering::Acquire), "a parallel half panicked");
        (ra, out.expect("the helper ran the job"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_run_and_return_their_results_many_times() {
        let v: Vec<u64> = (0..10_000).collect();
        let total = with_pair(|p| {
            let mut total = 0;
            for round in 0..2_000u64 {
                let (l, r) = v.split_at(v.len() / 2);
                let (a, b) = p.join(|| l.iter().sum::<u64>() + round, || r.iter().sum::<u64>());
                total += a + b;
            }
            total
        });
        let once: u64 = v.iter().sum();
        assert_eq!(total, 2_000 * once + (0..2_000u64).sum::<u64>());
    }

    #[test]
    fn a_panicking_half_ends_the_pair_instead_of_hanging() {
        let caught = std::panic::catch_unwind(|| {
            with_pair(|p| {
                p.join(|| 1, || -> u32 { panic!("helper half") });
            });
        });
        assert!(caught.is_err());
        let caught = std::panic::catch_unwind(|| {
            with_pair(|p| {
                p.join(|| -> u32 { panic!("own half") }, || 1);
            });
        });
        assert!(caught.is_err());
    }

    #[test]
    fn halves_may_write_disjoint_parts_of_one_buffer() {
        let mut buf = vec![0u32; 1000];
        with_pair(|p| {
            for round in 1..=100u32 {
                let (l, r) = buf.split_at_mut(500);
                p.join(|| l.iter_mut().for_each(|x| *x += round), || r.iter_mut().for_each(|x| *x += 2 * round));
            }
        });
        assert!(buf[..500].iter().all(|&x| x == 5050) && buf[500..].iter().all(|&x| x == 10100));
    }
}
