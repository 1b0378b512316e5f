//! What the hub keeps for its subscribers beyond the replay log.
//!
//! The replay log evicts by its own limits, whoever still needs an event.
//! [`Holds`] keeps a second reference to every event from the oldest one a
//! *holding* subscriber has not been sent yet up to the tail (a ring of
//! shared [`Bytes`]: a reference count each, no copy), so a subscriber whose
//! task has not run yet never finds its next event evicted. Each held event
//! counts the holding subscribers whose cursor is at it (plus one count for
//! those at the tail), so moving a cursor, finding the oldest needed event
//! and dropping what nobody needs any more are O(1).
//!
//! Subscribers are registered in slots (index and generation, so a stale or
//! foreign [`Subscriber`](super::Subscriber) is recognised and ignored): a
//! slot holds its cursor's event, or is released (it reads from the log like
//! any subscriber of a bounded log, and lags when the log evicts its next
//! event), or is free.
//!
//! The part of the held events that the log no longer retains is the
//! *backlog*; [`Holds::backlog`] measures it, and the hub refuses publishes
//! while it is at its [`BacklogLimits`].

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use bytes::Bytes;
use core::time::Duration;

use crate::replay::ReplayLog;
use crate::time::Instant;

/// Bounds of what a [`Hub`](super::Hub) holds for its subscribers beyond
/// what its replay log retains.
///
/// A publish is refused ([`PublishError::Full`](super::PublishError::Full))
/// while the backlog is at either bound; a publish that is accepted may
/// add what it evicts from the log, so the hub holds at most these bounds
/// plus one log's worth beyond the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BacklogLimits {
    /// Most events held beyond the log.
    pub max_events: usize,
    /// Most encoded bytes held beyond the log.
    pub max_bytes: usize,
}

impl Default for BacklogLimits {
    /// 4,096 events and 4 MiB: four times the default log, so a burst of
    /// that size reaches subscribers whose tasks have not run yet before a
    /// publisher has to wait.
    fn default() -> Self {
        BacklogLimits {
            max_events: 4096,
            max_bytes: 4 << 20,
        }
    }
}

/// How much a hub holds beyond its replay log now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Events held that the log no longer retains.
    pub events: usize,
    /// Their encoded bytes.
    pub bytes: usize,
}

/// A subscriber's registration: index and generation of its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

impl Key {
    /// A key that names no slot.
    pub(crate) const NONE: Key = Key {
        index: u32::MAX,
        generation: 0,
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Free,
    /// Counted at `Slot::at`.
    Holding,
    Released,
}

#[derive(Clone, Debug)]
struct Slot {
    state: State,
    generation: u32,
    /// The sequence number this slot is counted at while holding.
    at: u64,
    /// Since when its transport has refused writes, if it does.
    blocked_since: Option<Instant>,
    /// When its transport last took bytes (or it subscribed).
    progress_at: Instant,
    /// How long refused writes may last before it stops holding.
    window: Duration,
}

#[derive(Clone, Debug)]
struct Held {
    bytes: Bytes,
    /// Holding subscribers whose cursor is at this event.
    holders: u32,
}

/// Held events and subscriber slots. See the [module docs](self).
#[derive(Clone, Debug)]
pub(crate) struct Holds {
    held: VecDeque<Held>,
    /// The sequence number of `held[0]`; `base + held.len()` is the log's
    /// tail.
    base: u64,
    /// Holding subscribers whose cursor is at the tail.
    at_tail: u32,
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    limits: BacklogLimits,
    /// The log's first sequence number when the backlog was last counted.
    counted_first: u64,
    /// Bytes of held events below `counted_first`.
    beyond_bytes: usize,
}

impl Holds {
    pub(crate) fn new(next_seq: u64, first_seq: u64, limits: BacklogLimits) -> Self {
        Holds {
            held: VecDeque::new(),
            base: next_seq,
            at_tail: 0,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            limits,
            counted_first: first_seq,
            beyond_bytes: 0,
        }
    }

    pub(crate) fn limits(&self) -> BacklogLimits {
        self.limits
    }

    pub(crate) fn set_limits(&mut self, limits: BacklogLimits) {
        self.limits = limits;
    }

    /// Registered subscribers.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    fn tail(&self) -> u64 {
        self.base + self.held.len() as u64
    }

    /// The bytes of event `seq` if held.
    pub(crate) fn get(&self, seq: u64) -> Option<&Bytes> {
        let index = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        self.held.get(index).map(|h| &h.bytes)
    }

    /// Records an event just appended to the log as `seq`: held when a
    /// subscriber is at the tail or an older event is held.
    pub(crate) fn appended(&mut self, seq: u64, bytes: &Bytes, log: &impl ReplayLog) {
        if seq != self.tail() {
            // The log numbered it differently from what it announced: start
            // over from its tail, holding nothing (subscribers read the log).
            log::warn!("replay log sequence numbers jumped: the hub holds nothing until re-synced");
            self.reset(log);
            return;
        }
        if self.held.is_empty() && self.at_tail == 0 {
            self.base = seq + 1;
        } else {
            self.held.push_back(Held {
                bytes: bytes.clone(),
                holders: core::mem::take(&mut self.at_tail),
            });
        }
        self.count_backlog(log);
    }

    fn reset(&mut self, log: &impl ReplayLog) {
        self.held.clear();
        self.base = log.next_seq();
        self.at_tail = 0;
        for slot in &mut self.slots {
            if slot.state == State::Holding {
                slot.state = State::Released;
            }
        }
        self.counted_first = log.first_seq();
        self.beyond_bytes = 0;
    }

    /// Counts held events the log evicted since the last count.
    pub(crate) fn count_backlog(&mut self, log: &impl ReplayLog) {
        let first = log.first_seq();
        if first <= self.counted_first {
            return;
        }
        let from = self.counted_first.max(self.base);
        let to = first.min(self.tail());
        for seq in from..to {
            if let Some(bytes) = self.get(seq) {
                self.beyond_bytes += bytes.len();
            }
        }
        self.counted_first = first;
    }

    /// What is held beyond the log, as of the last count.
    pub(crate) fn backlog(&self) -> Backlog {
        let events = self.counted_first.saturating_sub(self.base);
        Backlog {
            events: usize::try_from(events).map_or(self.held.len(), |e| e.min(self.held.len())),
            bytes: self.beyond_bytes,
        }
    }

    /// Whether the backlog is at its limits (publishes wait).
    pub(crate) fn is_full(&self) -> bool {
        let backlog = self.backlog();
        backlog.events > 0
            && (backlog.events >= self.limits.max_events || backlog.bytes >= self.limits.max_bytes)
    }

    /// Registers a subscriber at `cursor`, holding it if the log still has
    /// it (or it is the tail).
    pub(crate) fn register(
        &mut self,
        cursor: u64,
        now: Instant,
        window: Duration,
        log: &impl ReplayLog,
    ) -> Key {
        let slot = Slot {
            state: State::Released,
            generation: 0,
            at: cursor,
            blocked_since: None,
            progress_at: now,
            window,
        };
        let index = match self.free.pop() {
            Some(i) => {
                let generation = self.slots[i as usize].generation;
                self.slots[i as usize] = Slot { generation, ..slot };
                i
            }
            None => match u32::try_from(self.slots.len()) {
                Ok(i) if i < u32::MAX => {
                    self.slots.push(slot);
                    i
                }
                _ => return Key::NONE,
            },
        };
        self.live += 1;
        let key = Key {
            index,
            generation: self.slots[index as usize].generation,
        };
        self.hold(key, cursor, log);
        key
    }

    fn slot(&self, key: Key) -> Option<&Slot> {
        self.slots
            .get(key.index as usize)
            .filter(|s| s.generation == key.generation && s.state != State::Free)
    }

    fn slot_mut(&mut self, key: Key) -> Option<&mut Slot> {
        self.slots
            .get_mut(key.index as usize)
            .filter(|s| s.generation == key.generation && s.state != State::Free)
    }

    /// Whether the subscriber holds its events.
    pub(crate) fn is_holding(&self, key: Key) -> bool {
        self.slot(key).is_some_and(|s| s.state == State::Holding)
    }

    /// Counts the subscriber at `cursor` (extending what is held back to it
    /// from the log if needed). Fails, leaving it released, when the log no
    /// longer has `cursor`.
    fn hold(&mut self, key: Key, cursor: u64, log: &impl ReplayLog) -> bool {
        if self.slot(key).is_none() || cursor > self.tail() {
            return false;
        }
        self.count_backlog(log);
        while cursor < self.base {
            let Some(entry) = log.get(self.base - 1) else {
                return false;
            };
            self.held.push_front(Held {
                bytes: entry.bytes,
                holders: 0,
            });
            self.base -= 1;
        }
        self.count_at(cursor, true);
        if let Some(slot) = self.slot_mut(key) {
            slot.state = State::Holding;
            slot.at = cursor;
        }
        true
    }

    fn count_at(&mut self, seq: u64, add: bool) {
        let counter = if seq == self.tail() {
            Some(&mut self.at_tail)
        } else {
            let index = usize::try_from(seq.wrapping_sub(self.base)).unwrap_or(usize::MAX);
            self.held.get_mut(index).map(|h| &mut h.holders)
        };
        if let Some(n) = counter {
            *n = if add {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            };
        }
    }

    /// Drops held events at the front that nobody holds.
    fn trim(&mut self) {
        while self.held.front().is_some_and(|h| h.holders == 0) {
            if let Some(h) = self.held.pop_front() {
                if self.base < self.counted_first {
                    self.beyond_bytes = self.beyond_bytes.saturating_sub(h.bytes.len());
                }
            }
            self.base += 1;
        }
    }

    /// The subscriber's transport took bytes at `now` and its cursor is now
    /// `cursor`: it is no longer blocked, and it holds from `cursor` (again,
    /// if it had been released and the log still has `cursor`).
    pub(crate) fn progressed(&mut self, key: Key, cursor: u64, now: Instant, log: &impl ReplayLog) {
        let Some(slot) = self.slot_mut(key) else {
            return;
        };
        slot.blocked_since = None;
        slot.progress_at = slot.progress_at.max(now);
        match slot.state {
            State::Holding if slot.at != cursor => {
                let old = slot.at;
                slot.at = cursor;
                self.count_at(cursor, true);
                self.count_at(old, false);
                self.trim();
            }
            State::Released => {
                self.hold(key, cursor, log);
            }
            _ => {}
        }
    }

    /// The subscriber's transport refused a write at `now`; returns when it
    /// is to stop holding if that goes on (`None` if it holds nothing).
    pub(crate) fn blocked(&mut self, key: Key, now: Instant) -> Option<Instant> {
        let slot = self.slot_mut(key)?;
        let since = *slot.blocked_since.get_or_insert(now);
        (slot.state == State::Holding).then(|| since + slot.window)
    }

    /// Stops holding for the subscriber if its transport has refused writes
    /// for its whole window at `now`; returns whether it does not hold (any
    /// more).
    pub(crate) fn release_if_blocked_out(&mut self, key: Key, now: Instant) -> bool {
        let Some(slot) = self.slot(key) else {
            return true;
        };
        match (slot.state, slot.blocked_since) {
            (State::Holding, Some(since)) if since + slot.window <= now => {
                self.release(key);
                true
            }
            (State::Holding, _) => false,
            _ => true,
        }
    }

    /// Stops holding for the subscriber (it stays registered).
    pub(crate) fn release(&mut self, key: Key) {
        let Some(slot) = self.slot_mut(key) else {
            return;
        };
        if slot.state != State::Holding {
            return;
        }
        slot.state = State::Released;
        let at = slot.at;
        self.count_at(at, false);
        self.trim();
    }

    /// Forgets the subscriber.
    pub(crate) fn unregister(&mut self, key: Key) {
        self.release(key);
        let Some(slot) = self.slot_mut(key) else {
            return;
        };
        slot.state = State::Free;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(key.index);
        self.live -= 1;
    }

    /// While the backlog is full at `now`: releases the subscribers holding
    /// its oldest event that are stalled for their window — their transport
    /// refused writes that long, or (for drivers that cannot see refusals)
    /// they took nothing that long while the backlog was full since
    /// `full_since`. Returns when to ask again, if still full.
    pub(crate) fn release_stalled(
        &mut self,
        now: Instant,
        full_since: Instant,
        log: &impl ReplayLog,
    ) -> Option<Instant> {
        loop {
            self.count_backlog(log);
            if !self.is_full() {
                return None;
            }
            let front = self.base;
            let mut next: Option<Instant> = None;
            let mut released = false;
            for slot in &mut self.slots {
                if slot.state != State::Holding || slot.at != front {
                    continue;
                }
                let since = slot
                    .blocked_since
                    .unwrap_or_else(|| slot.progress_at.max(full_since));
                let due = since + slot.window;
                if due <= now {
                    slot.state = State::Released;
                    released = true;
                } else {
                    next = Some(next.map_or(due, |n| n.min(due)));
                }
            }
            if !released {
                return next;
            }
            log::warn!("publishing was held back by stalled subscribers: releasing them");
            // Every holder at the front was released or is still due later.
            if let Some(h) = self.held.front_mut() {
                let remaining = self
                    .slots
                    .iter()
                    .filter(|s| s.state == State::Holding && s.at == front)
                    .count();
                h.holders = u32::try_from(remaining).unwrap_or(u32::MAX);
            }
            self.trim();
            if self.base == front {
                return next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_slot_is_small() {
        assert!(core::mem::size_of::<super::Slot>() <= 64);
    }
}
