//! The replay log: recent encoded events kept for resume by `Last-Event-ID`.
//!
//! Every event the [`hub`](crate::hub) publishes is encoded once into shared
//! [`Bytes`] and appended here together with its ID. The log gives each event
//! a *sequence number* (`seq`): 1 for the first event ever appended, then one
//! more for each following event. Subscribers are cursors into this sequence,
//! so a publish costs the same whether one or ten thousand subscribers read it.
//!
//! The log is bounded twice, by event count and by encoded bytes
//! ([`LogLimits`]); the oldest events are evicted first. The newest event is
//! always kept, even when it alone is larger than the byte limit, so live
//! subscribers still receive it.
//!
//! A reconnecting subscriber names the last event it saw; [`ReplayLog::resume`]
//! turns that ID into a typed [`Resume`] outcome, and the server's
//! [`ResumePolicy`](crate::server::ResumePolicy) decides what to send when the
//! ID is older than the log or unknown.
//!
//! The log sits behind the [`ReplayLog`] trait (append, read by sequence
//! number, find by ID, head and tail), so a shared backend (e.g. Redis Streams:
//! `XADD` to append, `XRANGE` for resume) can replace the in-memory
//! [`MemoryLog`] when several server instances serve one stream.
//!
//! ```
//! use sse_core::replay::{LogLimits, MemoryLog, ReplayLog, Resume};
//!
//! let mut log = MemoryLog::new(LogLimits { max_events: 2, max_bytes: 1 << 20 });
//! for data in ["a", "b", "c"] {
//!     let seq = log.next_seq();
//!     log.append(seq.to_string().into(), bytes::Bytes::from(format!("id: {seq}\ndata: {data}\n\n")));
//! }
//! assert_eq!((log.first_seq(), log.next_seq()), (2, 4));
//! assert_eq!(log.resume("2"), Resume::From(3));
//! assert_eq!(log.resume("1"), Resume::From(2)); // evicted, but nothing after it was
//! assert_eq!(log.resume("0"), Resume::Unknown); // ids start at 1
//! assert_eq!(log.resume("nope"), Resume::Unknown);
//! ```

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use bytes::Bytes;

use crate::text::Utf8Bytes;

/// The ID a subscriber may send to ask for everything the log retains
/// (the Mercure convention).
pub const EARLIEST: &str = "earliest";

/// One retained event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its sequence number in the log.
    pub seq: u64,
    /// Its event ID (what clients send back as `Last-Event-ID`).
    pub id: Utf8Bytes,
    /// The complete encoded event, ready to write.
    pub bytes: Bytes,
}

/// Where a resuming subscriber's stream starts, from the ID it sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resume {
    /// The ID is in the log, or just before it: every event from this
    /// sequence number on is still retained, so nothing is lost.
    From(u64),
    /// The ID was assigned by this log but events after it were evicted:
    /// the subscriber missed events. `oldest_retained` is the first sequence
    /// number still in the log (the next one to be appended when empty).
    Gap {
        /// The sequence number the ID names.
        requested: u64,
        /// The oldest sequence number the log still has.
        oldest_retained: u64,
    },
    /// The log does not know the ID: a foreign ID, one evicted that the log
    /// did not assign itself, or one from before a server restart.
    Unknown,
}

/// Bounds for a [`MemoryLog`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLimits {
    /// Most events retained (at least one is always kept).
    pub max_events: usize,
    /// Most encoded bytes retained; the newest event is kept even if larger.
    pub max_bytes: usize,
}

impl Default for LogLimits {
    /// 1,024 events and 1 MiB: about a minute of a busy feed, enough to ride
    /// out a reconnect.
    fn default() -> Self {
        LogLimits {
            max_events: 1024,
            max_bytes: 1 << 20,
        }
    }
}

/// Storage for encoded events, addressed by sequence number.
///
/// Sequence numbers start at 1 and grow by one per append. Implementations
/// evict from the front; `first_seq()..next_seq()` is what they retain.
pub trait ReplayLog {
    /// Appends an encoded event and its ID; returns its sequence number,
    /// which is the `next_seq()` from before the call.
    fn append(&mut self, id: Utf8Bytes, bytes: Bytes) -> u64;

    /// The sequence number the next append gets (the tail).
    fn next_seq(&self) -> u64;

    /// The oldest retained sequence number (the head); equal to
    /// `next_seq()` when the log is empty.
    fn first_seq(&self) -> u64;

    /// The event with this sequence number, if retained. Cloning an entry
    /// only bumps reference counts.
    fn get(&self, seq: u64) -> Option<Entry>;

    /// The newest retained sequence number carrying this ID.
    fn find(&self, id: &str) -> Option<u64>;

    /// Range read: appends up to `max` retained entries from `from` on to
    /// `out`; returns how many.
    fn read(&self, from: u64, max: usize, out: &mut Vec<Entry>) -> usize {
        let start = from.max(self.first_seq());
        let mut n = 0;
        let mut seq = start;
        while n < max {
            let Some(entry) = self.get(seq) else { break };
            out.push(entry);
            n += 1;
            seq += 1;
        }
        n
    }

    /// Where a subscriber whose last seen event had `last_event_id` resumes.
    ///
    /// [`EARLIEST`] asks for everything retained. An ID that is not in the
    /// log but is a decimal number below the log's head is taken as one this
    /// log assigned (see [`hub`](crate::hub)): if the event right after it is
    /// still retained the outcome is [`Resume::From`], else [`Resume::Gap`].
    fn resume(&self, last_event_id: &str) -> Resume {
        let first = self.first_seq();
        if last_event_id == EARLIEST {
            return Resume::From(first);
        }
        if let Some(seq) = self.find(last_event_id) {
            return Resume::From(seq.saturating_add(1));
        }
        match parse_seq(last_event_id) {
            Some(n) if n >= 1 && n < first => {
                if n + 1 == first {
                    Resume::From(first)
                } else {
                    Resume::Gap {
                        requested: n,
                        oldest_retained: first,
                    }
                }
            }
            _ => Resume::Unknown,
        }
    }
}

/// A canonical decimal sequence number (no sign, no leading zeros).
pub(crate) fn parse_seq(id: &str) -> Option<u64> {
    if id.is_empty() || id.len() > 20 || (id.len() > 1 && id.starts_with('0')) {
        return None;
    }
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

/// The default, in-memory [`ReplayLog`]: a ring of shared encoded events.
///
/// Memory is the retained encoded bytes (IDs are slices of them when the
/// encoder wrote them, so they cost nothing extra) plus one [`Entry`] header
/// per event. `find` is O(1) for IDs the log assigned (decimal sequence
/// numbers) and a scan from the newest event otherwise.
#[derive(Clone, Debug)]
pub struct MemoryLog {
    entries: VecDeque<Entry>,
    first_seq: u64,
    bytes: usize,
    limits: LogLimits,
}

impl Default for MemoryLog {
    fn default() -> Self {
        MemoryLog::new(LogLimits::default())
    }
}

impl MemoryLog {
    /// An empty log with these bounds.
    pub fn new(limits: LogLimits) -> Self {
        MemoryLog {
            entries: VecDeque::new(),
            first_seq: 1,
            bytes: 0,
            limits,
        }
    }

    /// Number of retained events.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is retained.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Encoded bytes retained.
    pub fn retained_bytes(&self) -> usize {
        self.bytes
    }

    /// The bounds.
    pub fn limits(&self) -> LogLimits {
        self.limits
    }

    fn evict(&mut self) {
        while self.entries.len() > 1
            && (self.entries.len() > self.limits.max_events || self.bytes > self.limits.max_bytes)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.bytes.len();
                self.first_seq += 1;
            }
        }
    }
}

impl ReplayLog for MemoryLog {
    fn append(&mut self, id: Utf8Bytes, bytes: Bytes) -> u64 {
        let seq = self.next_seq();
        self.bytes += bytes.len();
        self.entries.push_back(Entry { seq, id, bytes });
        self.evict();
        seq
    }

    fn next_seq(&self) -> u64 {
        self.first_seq + self.entries.len() as u64
    }

    fn first_seq(&self) -> u64 {
        self.first_seq
    }

    fn get(&self, seq: u64) -> Option<Entry> {
        let index = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.entries.get(index).cloned()
    }

    fn find(&self, id: &str) -> Option<u64> {
        if let Some(seq) = parse_seq(id) {
            if let Some(entry) = self.get(seq) {
                if entry.id == id {
                    return Some(seq);
                }
            }
        }
        self.entries
            .iter()
            .rev()
            .find(|e| e.id == id)
            .map(|e| e.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn push(log: &mut MemoryLog, id: &str, len: usize) -> u64 {
        let body = Bytes::from(alloc::vec![b'x'; len]);
        log.append(Utf8Bytes::from(alloc::string::String::from(id)), body)
    }

    #[test]
    fn evicts_by_count_and_by_bytes_keeping_the_newest() {
        let mut log = MemoryLog::new(LogLimits {
            max_events: 3,
            max_bytes: 100,
        });
        for i in 1..=5 {
            assert_eq!(push(&mut log, &format!("{i}"), 10), i);
        }
        assert_eq!((log.first_seq(), log.next_seq(), log.len()), (3, 6, 3));
        push(&mut log, "big", 95);
        assert_eq!(
            (log.first_seq(), log.len(), log.retained_bytes()),
            (6, 1, 95)
        );
        push(&mut log, "huge", 500);
        assert_eq!(
            (log.first_seq(), log.len(), log.retained_bytes()),
            (7, 1, 500)
        );
    }

    #[test]
    fn resume_outcomes() {
        let mut log = MemoryLog::new(LogLimits {
            max_events: 3,
            max_bytes: 1000,
        });
        assert_eq!(log.resume("1"), Resume::Unknown);
        assert_eq!(log.resume(EARLIEST), Resume::From(1));
        for i in 1..=6 {
            push(&mut log, &format!("{i}"), 1);
        }
        push(&mut log, "custom", 1);
        // retained: 5, 6, custom(7)
        assert_eq!(log.resume("6"), Resume::From(7));
        assert_eq!(log.resume("custom"), Resume::From(8));
        assert_eq!(log.resume("4"), Resume::From(5));
        assert_eq!(
            log.resume("2"),
            Resume::Gap {
                requested: 2,
                oldest_retained: 5
            }
        );
        assert_eq!(log.resume("7"), Resume::Unknown);
        assert_eq!(log.resume("99"), Resume::Unknown);
        assert_eq!(log.resume("02"), Resume::Unknown);
        assert_eq!(log.resume(""), Resume::Unknown);
        assert_eq!(log.resume(EARLIEST), Resume::From(5));
        let mut out = Vec::new();
        assert_eq!(log.read(0, 10, &mut out), 3);
        assert_eq!(out.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 6, 7]);
    }
}
