//! The virtual clock a loopback run drives adapters with.
//!
//! Two numbers: `now`, what the drivers read, and `released`, up to which
//! sleeps complete. At a scenario time `T` the runner first plays the
//! server's and the user's steps with `now` a nanosecond before `T` (so a
//! deadline at exactly `T` is not yet due, as in the in-process runner,
//! where the server step runs before the timers), then sets both to `T`
//! for the client's timers.
//!
//! The clock also knows what the drivers wait for: every pending sleep
//! (an async [`sse_futures::Timer::sleep_until`] future, a blocking
//! [`sse_blocking::Clock::sleep_until`], a blocking read with a timeout)
//! registers its deadline, and [`VirtualClock::next_deadline`] is the
//! earliest one. The runner moves time to the drivers' own deadlines, not
//! to the core's: a driver that forgets to arm a timer stalls, as it would
//! on a real clock.
//!
//! A thread that waits on the clock ([`VirtualClock::block_until`]) is
//! *parked* once it has seen, at the current epoch, that it has nothing to
//! do; every release of time (by [`VirtualClock::at`], or by
//! [`VirtualClock::before`] when it passes a pending deadline) and every
//! [`VirtualClock::poke`] starts a new epoch, so a stale "parked" never
//! counts. [`VirtualClock::parked`] also tells one wait from the next: the
//! thread may stop waiting, act (connect, write, drop a connection) and
//! park again at the same epoch, and a runner that looks at its own
//! counters between two looks at the thread must see that it did.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sse_core::Instant;

/// Shared virtual time; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct VirtualClock(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    now: AtomicU64,
    released: AtomicU64,
    /// A user action is waiting: blocked waits return early once.
    poked: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Tasks sleeping on the clock, woken whenever time is released.
    sleepers: Vec<Waker>,
    /// Pending sleep deadlines (ns) and how many sleeps wait for each.
    deadlines: BTreeMap<u64, usize>,
    /// Bumped by every release and poke.
    epoch: u64,
    /// The epoch at which the blocking waiter last found nothing to do.
    parked: Option<u64>,
    /// Bumped whenever the blocking waiter stops waiting: the same count
    /// while parked means the same wait.
    waits: u64,
}

/// Why [`VirtualClock::block_until`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woke {
    /// Time was released up to the deadline.
    Deadline,
    /// The readiness check said there is something to do.
    Ready,
    /// [`VirtualClock::poke`]: the runner has a user action.
    Poked,
}

impl VirtualClock {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current time.
    pub fn now(&self) -> Instant {
        Instant::from_nanos(self.0.now.load(Ordering::SeqCst))
    }

    /// Whether sleeps until `deadline` are over: time was released up to
    /// it, or it is not later than `now` (as a real clock returns at once
    /// from a sleep into the past).
    pub fn released(&self, deadline: Instant) -> bool {
        let ns = deadline.as_nanos();
        self.0.released.load(Ordering::SeqCst) >= ns || self.0.now.load(Ordering::SeqCst) >= ns
    }

    /// Steps of the server and the user at `ms`: just before it.
    ///
    /// Moving `now` ends the sleeps whose deadlines it passes (a sleep into
    /// the past returns at once): if it passes one, that starts a new epoch
    /// and wakes the blocked waiter, so that a waiter that is about to
    /// handle its timeout does not count as parked.
    pub fn before(&self, ms: u64) {
        let t = (ms * 1_000_000).saturating_sub(1);
        let released = {
            let mut state = self.lock();
            let was = self.0.now.fetch_max(t, Ordering::SeqCst);
            let was = was.max(self.0.released.load(Ordering::SeqCst));
            let released = t > was && state.deadlines.range(was + 1..=t).next().is_some();
            if released {
                state.epoch += 1;
            }
            released
        };
        if released {
            self.0.changed.notify_all();
        }
    }

    /// Timers at `ms`: time reaches it and sleeps until it end.
    pub fn at(&self, ms: u64) {
        let t = ms * 1_000_000;
        let sleepers = {
            let mut state = self.lock();
            self.0.now.fetch_max(t, Ordering::SeqCst);
            self.0.released.fetch_max(t, Ordering::SeqCst);
            state.epoch += 1;
            std::mem::take(&mut state.sleepers)
        };
        self.0.changed.notify_all();
        for waker in sleepers {
            waker.wake();
        }
    }

    /// The earliest deadline a driver waits for that is not released yet.
    pub fn next_deadline(&self) -> Option<Instant> {
        let released = self
            .0
            .released
            .load(Ordering::SeqCst)
            .max(self.0.now.load(Ordering::SeqCst));
        let state = self.lock();
        let (&ns, _) = state.deadlines.range(released + 1..).next()?;
        Some(Instant::from_nanos(ns))
    }

    fn register(&self, state: &mut State, deadline: Instant) {
        *state.deadlines.entry(deadline.as_nanos()).or_default() += 1;
    }

    fn unregister(&self, deadline: Instant) {
        let mut state = self.lock();
        let ns = deadline.as_nanos();
        if let Some(n) = state.deadlines.get_mut(&ns) {
            *n -= 1;
            if *n == 0 {
                state.deadlines.remove(&ns);
            }
        }
    }

    /// Interrupts a blocked waiter once (it returns [`Woke::Poked`]) so
    /// that its thread can take a user action.
    pub fn poke(&self) {
        {
            let mut state = self.lock();
            self.0.poked.store(true, Ordering::SeqCst);
            state.epoch += 1;
        }
        self.0.changed.notify_all();
    }

    /// Has a blocked waiter look at its readiness check now rather than at
    /// its next 100 µs tick (the runner wrote to its socket); time and
    /// epoch stay.
    pub fn nudge(&self) {
        self.0.changed.notify_all();
    }

    /// Whether the blocking waiter has found nothing to do since the last
    /// release or poke: `Some` id of its wait, which stays the same until
    /// it stops waiting. The same id seen twice means the waiter did
    /// nothing in between.
    pub fn parked(&self) -> Option<u64> {
        let state = self.lock();
        (state.parked == Some(state.epoch)).then_some(state.waits)
    }

    /// Marks the blocking waiter busy (it found something to do).
    pub fn unpark(&self) {
        Self::busy(&mut self.lock());
    }

    fn busy(state: &mut State) {
        state.parked = None;
        state.waits += 1;
    }

    /// Blocks the calling thread until time is released up to `deadline`
    /// (never, for `None`), `ready()` holds, or the runner pokes. `ready`
    /// is checked every 100 µs of real time; it must not block.
    pub fn block_until(&self, deadline: Option<Instant>, ready: impl Fn() -> bool) -> Woke {
        if let Some(d) = deadline {
            let mut state = self.lock();
            self.register(&mut state, d);
        }
        // Busy from the moment it decides to return: whatever woke it is
        // being handled.
        let woke = loop {
            let epoch = {
                let mut state = self.lock();
                if deadline.is_some_and(|d| self.released(d)) {
                    Self::busy(&mut state);
                    break Woke::Deadline;
                }
                if self.0.poked.swap(false, Ordering::SeqCst) {
                    Self::busy(&mut state);
                    break Woke::Poked;
                }
                state.epoch
            };
            // What makes it true (bytes or an end the runner wrote and the
            // client has not read, a command) the runner sees too, so the
            // stale "parked" until this `unpark` does not count.
            if ready() {
                self.unpark();
                break Woke::Ready;
            }
            let mut state = self.lock();
            if state.epoch != epoch {
                continue;
            }
            state.parked = Some(epoch);
            let _unused = self
                .0
                .changed
                .wait_timeout(state, Duration::from_micros(100))
                .map(drop);
        };
        if let Some(d) = deadline {
            self.unregister(d);
        }
        woke
    }

    fn sleep(&self, deadline: Instant) -> Sleep {
        Sleep {
            clock: self.clone(),
            deadline,
            registered: false,
        }
    }
}

/// An async sleep on the virtual clock; its deadline counts as pending
/// from its first poll until it completes or is dropped.
struct Sleep {
    clock: VirtualClock,
    deadline: Instant,
    registered: bool,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.clock.released(this.deadline) {
            return Poll::Ready(());
        }
        let mut state = this.clock.lock();
        if !this.registered {
            this.registered = true;
            this.clock.register(&mut state, this.deadline);
        }
        state.sleepers.push(cx.waker().clone());
        // Released in between: do not miss it.
        if this.clock.released(this.deadline) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if self.registered {
            self.clock.unregister(self.deadline);
        }
    }
}

impl sse_futures::Timer for VirtualClock {
    fn now(&self) -> Instant {
        VirtualClock::now(self)
    }

    fn sleep_until(&self, deadline: Instant) -> sse_futures::BoxFuture<()> {
        Box::pin(self.sleep(deadline))
    }
}

impl sse_blocking::Clock for VirtualClock {
    fn now(&self) -> Instant {
        VirtualClock::now(self)
    }

    /// Blocks until the runner releases time up to `deadline` (or pokes
    /// the thread for a user action: the driver then sees an early wake-up,
    /// which the core ignores).
    fn sleep_until(&self, deadline: Instant) {
        self.block_until(Some(deadline), || false);
    }
}

/// Rounds a deadline up to whole milliseconds, as the in-process runner does.
pub fn ceil_ms(t: Instant) -> u64 {
    let ns = t.as_nanos();
    ns / 1_000_000 + u64::from(!ns.is_multiple_of(1_000_000))
}

/// How long the runner waits for loopback bytes to settle before it calls
/// a scenario stuck.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// How long one scenario or case may take in real time before the runner
/// fails it as stuck (a normal one takes milliseconds), besides
/// [`STEP_TIME`] per step it took.
pub const SCENARIO_LIMIT: Duration = Duration::from_secs(10);

/// Real time allowed per step of a client scenario on top of
/// [`SCENARIO_LIMIT`]: a scenario with many steps is slow, not stuck (a
/// 10,000-byte parse case written a byte at a time is 10,000 steps, about
/// 7 s through reqwest on an idle machine and over 10 s on a loaded one).
/// Each step's settling is bounded on its own by [`SETTLE_LIMIT`].
pub const STEP_TIME: Duration = Duration::from_millis(10);
