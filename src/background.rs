//! Work the window does besides the job a user waits for (map layouts and their trust figures,
//! cluster descriptions, agreement figures, sweeps, neighbour look-ups) runs here: on a thread
//! pool of its own whose threads, like the thread that hands the work in, have the idle CPU
//! priority. When a clustering wants the cores, the scheduler gives them to it and the
//! background work waits; when nothing else runs, the background work has the whole machine.
//! No algorithm needs to know: the priority lives in the threads, not in the code.
//!
//! Linux's idle policy (`SCHED_IDLE`), not a high nice value: a clustering's threads sleep and
//! wake many times a second (between the parallel passes of an iteration), and a woken thread
//! preempts an idle-policy thread at once, where a nice-19 thread may finish its slice first.
//! Priority alone is still not enough on two cores: beside two CPU-bound competitors the command
//! line's K-means on the Debian set went from 358 ms to 650 ms at nice 19 and to 490 ms at the
//! idle policy. So background work also waits at a gate while a foreground job runs
//! ([`foreground`], [`pause_for_foreground`]), at every check of its `Control`.
//!
//! A priority once lowered is not raised again (that needs privileges), so only threads that
//! serve background work call [`run`].

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// The `nice` value of background threads, for systems where the idle policy is refused.
const NICE: i32 = 19;

fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("embedmap-background-{i}"))
            .start_handler(|_| lower_this_thread())
            .build()
            .ok()
    })
    .as_ref()
}

/// Foreground jobs running now.
static FOREGROUND: AtomicUsize = AtomicUsize::new(0);
static GATE: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());

/// Marks a job the user waits for (a load, a clustering) while it lives: background work
/// that checks its [`Control`](crate::engine::Control) pauses meanwhile.
#[derive(Debug)]
#[must_use = "the job counts as foreground only while the guard lives"]
pub struct Foreground(());

/// Starts a foreground job; it ends when the guard drops.
pub fn foreground() -> Foreground {
    FOREGROUND.fetch_add(1, Ordering::SeqCst);
    Foreground(())
}

impl Drop for Foreground {
    fn drop(&mut self) {
        if FOREGROUND.fetch_sub(1, Ordering::SeqCst) == 1 {
            let _g = GATE.0.lock().unwrap_or_else(PoisonError::into_inner);
            GATE.1.notify_all();
        }
    }
}

/// Whether a foreground job runs now.
#[must_use]
pub fn foreground_running() -> bool {
    FOREGROUND.load(Ordering::Relaxed) > 0
}

/// Waits while a foreground job runs, or until `cancel` is set. Called by background work
/// between blocks (from [`Control::check`](crate::engine::Control::check)); it holds no lock
/// a foreground job could wait for, so the pause cannot deadlock: the engine's caches compute
/// outside their locks.
pub fn pause_for_foreground(cancel: &AtomicBool) {
    if !foreground_running() {
        return;
    }
    let mut g = GATE.0.lock().unwrap_or_else(PoisonError::into_inner);
    while foreground_running() && !cancel.load(Ordering::Relaxed) {
        // A cancel sets no condition variable: look at it a few times a second.
        g = GATE.1.wait_timeout(g, Duration::from_millis(50)).unwrap_or_else(PoisonError::into_inner).0;
    }
}

/// Lowers the calling thread's CPU priority to the lowest (Linux; elsewhere nothing changes).
pub fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    // SAFETY: `gettid`, `sched_setscheduler` (given a valid `sched_param`) and `setpriority` take
    // and return plain values, and with a thread id they change that thread only.
    unsafe {
        let tid = libc::gettid();
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(tid, libc::SCHED_IDLE, &raw const param) != 0 {
            // A refusal of both leaves the thread at normal priority: only slower for the foreground.
            #[expect(clippy::cast_sign_loss, reason = "a thread id is positive")]
            let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICE);
        }
    }
}

/// Runs `f` at background priority once no foreground job runs: the calling thread's priority
/// is lowered for good, and the parallel loops inside `f` run on the background pool.
pub fn run<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    lower_this_thread();
    // Work without a `Control` to pause it (descriptions, look-ups) waits for a running
    // foreground job before it starts.
    pause_for_foreground(&AtomicBool::new(false));
    match pool() {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// Whether the calling thread has the idle policy (Linux), for tests.
#[cfg(all(test, target_os = "linux"))]
fn idle_this_thread() -> bool {
    // SAFETY: as above.
    unsafe { libc::sched_getscheduler(libc::gettid()) == libc::SCHED_IDLE }
}

#[cfg(test)]
mod gate_tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn background_work_pauses_while_a_foreground_job_runs_and_a_cancel_ends_the_pause() {
        let cancel = Arc::new(AtomicBool::new(false));
        let fg = foreground();
        let (c, started) = (Arc::clone(&cancel), Instant::now());
        let waited = std::thread::scope(|s| {
            let waiter = s.spawn(move || {
                pause_for_foreground(&c);
                started.elapsed()
            });
            std::thread::sleep(Duration::from_millis(150));
            assert!(!waiter.is_finished(), "the background work waits while the foreground runs");
            drop(fg);
            waiter.join().unwrap()
        });
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
        // A cancelled background job does not wait for the foreground to end.
        let _fg = foreground();
        cancel.store(true, Ordering::Relaxed);
        let t = Instant::now();
        pause_for_foreground(&cancel);
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn background_work_runs_at_the_lowest_priority_on_its_own_pool() {
        assert!(!idle_this_thread());
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(!idle_this_thread(), "a new thread starts at normal priority");
                let (name, idle, inner) = run(|| {
                    let inner: Vec<bool> = rayon::broadcast(|_| idle_this_thread());
                    (std::thread::current().name().map(str::to_string), idle_this_thread(), inner)
                });
                assert!(name.is_some_and(|n| n.starts_with("embedmap-background-")), "the work runs on the background pool");
                assert!(idle);
                assert!(inner.iter().all(|&v| v), "every thread of the pool is lowered: {inner:?}");
                assert!(idle_this_thread(), "the thread that handed the work in is lowered too");
            })
            .join()
            .unwrap();
        });
        // Other threads are untouched.
        assert!(!idle_this_thread());
    }
}
