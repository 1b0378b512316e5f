//! Sending to one subscriber from outside its connection.
//!
//! A subscriber's [`Stream`] belongs to whatever writes its connection (a
//! task, a thread), and [`Stream::send`] needs it by `&mut`. To send to one
//! subscriber from elsewhere (a user's own notifications, the answer to
//! something it asked for), the application and the connection share an
//! [`Outbox`] behind the adapter's lock: the application calls
//! [`Outbox::push`], which encodes and queues the message and says whether
//! the stream is still open; the connection calls [`Outbox::drain_into`]
//! whenever it runs, which hands each message to the stream, where its
//! queue bound and [`LagPolicy`] apply. When the stream ends, the
//! connection calls [`Outbox::close`] and later pushes fail, so the
//! application learns to forget the subscriber.
//!
//! The outbox is bounded like the stream's own queue (by
//! [`Config::max_queued_bytes`], with the same [`LagPolicy`]), so a
//! connection that does not run for a while cannot make it grow without
//! limit.
//!
//! ```
//! use sse_core::encode::Message;
//! use sse_core::outbox::Outbox;
//! use sse_core::server::{Config, Stream};
//! use sse_core::Instant;
//!
//! let config = Config::default();
//! let mut stream = Stream::new(Instant::ZERO, config.clone());
//! let mut outbox = Outbox::new(&config); // shared, e.g. in an Arc<Mutex<_>>
//! outbox.push(&Message::new("just for you")).unwrap();
//! outbox.drain_into(&mut stream);
//! assert_eq!(stream.poll_transmit(Instant::ZERO).as_deref(), Some(&b"data: just for you\n\n"[..]));
//! ```

use alloc::collections::VecDeque;
use bytes::{Bytes, BytesMut};

use crate::encode::{self, Message};
use crate::server::{CloseReason, Config, LagPolicy, SendError, Stream};

/// Messages waiting for one subscriber's connection. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Outbox {
    queue: VecDeque<Bytes>,
    bytes: usize,
    max: usize,
    lag: LagPolicy,
    /// Messages dropped for room ([`LagPolicy::SkipAhead`]), to report.
    dropped: u32,
    /// Overflowed under [`LagPolicy::Disconnect`]: the stream is to close.
    lagged: bool,
    closed: Option<CloseReason>,
}

impl Outbox {
    /// An empty outbox bounded like a stream with `config`.
    pub fn new(config: &Config) -> Self {
        Outbox {
            queue: VecDeque::new(),
            bytes: 0,
            max: config.max_queued_bytes,
            lag: config.lag,
            dropped: 0,
            lagged: false,
            closed: None,
        }
    }

    /// Encodes `msg` and queues it for the stream. Fails when the message
    /// cannot be encoded, or when the stream has ended (then forget the
    /// outbox). A full outbox applies the stream's [`LagPolicy`]: it drops
    /// the oldest messages (reported to the subscriber with a notice), or
    /// has the stream closed as lagging when the connection next drains it.
    pub fn push(&mut self, msg: &Message<'_>) -> Result<(), SendError> {
        if let Some(reason) = self.closed {
            return Err(SendError::Closed(reason));
        }
        let mut buf = BytesMut::with_capacity(msg.encoded_len());
        encode::message(&mut buf, msg)?;
        if self.lagged {
            return Ok(());
        }
        let len = buf.len();
        while self.bytes > 0 && self.bytes + len > self.max {
            if self.lag == LagPolicy::Disconnect {
                self.lagged = true;
                self.queue.clear();
                self.bytes = 0;
                return Ok(());
            }
            if let Some(old) = self.queue.pop_front() {
                self.bytes -= old.len();
                self.dropped = self.dropped.saturating_add(1);
            }
        }
        self.bytes += len;
        self.queue.push_back(buf.freeze());
        Ok(())
    }

    /// Whether nothing waits (and no overflow is to be reported).
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.dropped == 0 && !self.lagged
    }

    /// Hands every waiting message to `stream` ([`Stream::send`]'s bound
    /// and lag policy apply), after closing it if the outbox overflowed
    /// under [`LagPolicy::Disconnect`]. When the stream has ended, closes
    /// the outbox with its reason.
    pub fn drain_into(&mut self, stream: &mut Stream) {
        if core::mem::take(&mut self.lagged) {
            stream.close_with(CloseReason::Lagged);
        }
        stream.note_dropped(core::mem::take(&mut self.dropped));
        for bytes in self.queue.drain(..) {
            stream.enqueue(bytes);
        }
        self.bytes = 0;
        if let Some(reason) = stream.closed() {
            self.close(reason);
        }
    }

    /// The stream ended: later [`Outbox::push`]es fail with `reason`, and
    /// what waits is dropped.
    pub fn close(&mut self, reason: CloseReason) {
        self.closed.get_or_insert(reason);
        self.queue.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Notice;
    use crate::time::Instant;
    use alloc::vec::Vec;

    fn drain(stream: &mut Stream) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = stream.poll_transmit(Instant::ZERO) {
            out.extend_from_slice(&b);
        }
        out
    }

    fn config(lag: LagPolicy) -> Config {
        Config {
            max_queued_bytes: 20,
            lag,
            notice: Notice::Comment,
            ..Config::default()
        }
    }

    #[test]
    fn messages_reach_the_stream_in_order() {
        let config = Config::default();
        let mut stream = Stream::new(Instant::ZERO, config.clone());
        let mut outbox = Outbox::new(&config);
        outbox.push(&Message::new("a")).unwrap();
        outbox.push(&Message::new("b").event("x")).unwrap();
        assert!(!outbox.is_empty());
        outbox.drain_into(&mut stream);
        assert!(outbox.is_empty());
        assert_eq!(drain(&mut stream), b"data: a\n\nevent: x\ndata: b\n\n");
    }

    #[test]
    fn a_bad_message_is_refused_and_an_ended_stream_refuses_all() {
        let config = Config::default();
        let mut stream = Stream::new(Instant::ZERO, config.clone());
        let mut outbox = Outbox::new(&config);
        assert!(matches!(
            outbox.push(&Message::new("x").id("a\nb")),
            Err(SendError::Encode(_))
        ));
        stream.close();
        outbox.drain_into(&mut stream);
        assert_eq!(
            outbox.push(&Message::new("late")),
            Err(SendError::Closed(CloseReason::Finished))
        );
    }

    #[test]
    fn overflow_drops_the_oldest_or_closes_the_stream_per_lag_policy() {
        let mut stream = Stream::new(Instant::ZERO, config(LagPolicy::SkipAhead));
        let mut outbox = Outbox::new(&config(LagPolicy::SkipAhead));
        for data in ["one", "two", "three"] {
            outbox.push(&Message::new(data)).unwrap(); // 11-13 bytes each
        }
        outbox.drain_into(&mut stream);
        assert_eq!(
            drain(&mut stream),
            b": {\"reason\":\"lagged\",\"skipped\":2}\ndata: three\n\n"
        );

        let mut stream = Stream::new(Instant::ZERO, config(LagPolicy::Disconnect));
        let mut outbox = Outbox::new(&config(LagPolicy::Disconnect));
        for data in ["one", "two"] {
            outbox.push(&Message::new(data)).unwrap();
        }
        outbox.drain_into(&mut stream);
        assert_eq!(stream.closed(), Some(CloseReason::Lagged));
        assert_eq!(
            outbox.push(&Message::new("more")),
            Err(SendError::Closed(CloseReason::Lagged))
        );
    }
}
