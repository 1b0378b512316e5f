//! [`SharedHub`]: the core's broadcast hub shared between tasks, with
//! wakeups and publisher backpressure; [`Subscription`] and [`HubBody`]: one
//! subscriber of it; [`Sender`]: sends to that one subscriber from anywhere
//! (the core's [`Outbox`]).

use std::collections::VecDeque;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use event_listener::{Event as Signal, EventListener};
use futures_lite::{future, Stream};
use sse_core::encode::{EncodeError, Message};
use sse_core::hub::{Hub, PublishError, Subscriber};
use sse_core::outbox::Outbox;
use sse_core::replay::{LogLimits, MemoryLog, ReplayLog};
use sse_core::server::{CloseReason, Config, ResponseHead, SendError};
use sse_core::Instant;

use super::{Body, BodyReader, Deadline};
use crate::runtime::Timer;

/// How many [`SharedHub::end_streams`] calls are remembered: a stream
/// older than that many ends at once, without writing what was published
/// before.
const ENDS_KEPT: usize = 16;

/// A cloneable handle on a [`Hub`] (over any [`ReplayLog`], in memory by
/// default): publish from any task or thread, subscribe from each
/// connection. Clones share one hub.
///
/// Publishing locks the hub only to append the encoded event, then wakes
/// the subscribers waiting for it; each subscriber pulls the shared bytes
/// in its own task, so a slow one holds no one back. The hub holds every
/// event a subscriber has not been sent yet (see the core's
/// [hub](sse_core::hub#bursts-backpressure-and-lag)), up to its
/// [`BacklogLimits`](sse_core::hub::BacklogLimits): when they are reached,
/// [`SharedHub::publish`] waits until a subscriber progresses, leaves, or
/// is let go after refusing writes for its lag window, and
/// [`SharedHub::try_publish`] says [`PublishError::Full`].
pub struct SharedHub<L = MemoryLog> {
    inner: Arc<Inner<L>>,
}

impl<L> Clone for SharedHub<L> {
    fn clone(&self) -> Self {
        SharedHub {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl Default for SharedHub<MemoryLog> {
    /// A hub with an in-memory log and the default limits.
    fn default() -> Self {
        SharedHub::from_hub(Hub::default())
    }
}

struct Inner<L> {
    hub: Mutex<Hub<L>>,
    /// Notified after every publish and by [`SharedHub::end_streams`].
    published: Signal,
    /// Notified when a refused publish may go through.
    room: Signal,
    /// Bumped by [`SharedHub::end_streams`].
    generation: AtomicU64,
    /// The log's tail at the last few [`SharedHub::end_streams`], by the
    /// generation they started: where the streams they ended end.
    ends: Mutex<VecDeque<(u64, u64)>>,
    /// Lets a waiting publisher release stalled subscribers.
    timer: OnceLock<Arc<dyn Timer>>,
}

impl SharedHub<MemoryLog> {
    /// A hub whose replay log is bounded by `limits`.
    pub fn new(limits: LogLimits) -> Self {
        SharedHub::from_hub(Hub::new(limits))
    }
}

impl<L: ReplayLog> SharedHub<L> {
    /// Shares an existing hub (e.g. one already holding history, or one
    /// over another [`ReplayLog`]).
    pub fn from_hub(hub: Hub<L>) -> Self {
        SharedHub {
            inner: Arc::new(Inner {
                hub: Mutex::new(hub),
                published: Signal::new(),
                room: Signal::new(),
                generation: AtomicU64::new(0),
                ends: Mutex::new(VecDeque::new()),
                timer: OnceLock::new(),
            }),
        }
    }

    /// Gives the hub a clock, so that a publish waiting for room can let go
    /// of subscribers that took nothing for their lag window although they
    /// cannot report refused writes: response bodies ([`HubBody`]) that
    /// their server stopped polling ([`Hub::release_stalled`]). Streams
    /// served by [`serve_connection`](super::serve_connection) report
    /// refused writes themselves and need no clock here. Only the first
    /// clock given is kept.
    pub fn with_timer(self, timer: impl Timer) -> Self {
        let _ = self.inner.timer.set(Arc::new(timer));
        self
    }

    /// Publishes `msg` to every subscriber (see [`Hub::publish`]); returns
    /// its sequence number, which is also its ID when it has none. While
    /// the hub's backlog is full, waits until a subscriber made room
    /// (backpressure: a publisher never outruns a subscriber that reads,
    /// and never evicts what it has not been sent yet).
    pub async fn publish(&self, msg: &Message<'_>) -> Result<u64, EncodeError> {
        loop {
            let room = self.inner.room.listen();
            match self.try_publish(msg) {
                Ok(seq) => return Ok(seq),
                Err(PublishError::Encode(e)) => return Err(e),
                Err(_) => self.wait_for_room(room).await,
            }
        }
    }

    /// Publishes `msg` if the hub has room now: [`PublishError::Full`]
    /// when it does not (publish again later, or use
    /// [`SharedHub::publish`], which waits).
    pub fn try_publish(&self, msg: &Message<'_>) -> Result<u64, PublishError> {
        self.lock().publish(msg)
    }

    /// Publishes `value` as one line of JSON data (see
    /// [`Hub::publish_json`]), with an optional event type and ID; waits
    /// for room like [`SharedHub::publish`].
    #[cfg(feature = "json")]
    pub async fn publish_json<T: serde::Serialize + ?Sized>(
        &self,
        event: Option<&str>,
        id: Option<&str>,
        value: &T,
    ) -> Result<u64, sse_core::json::JsonError> {
        loop {
            let room = self.inner.room.listen();
            match self.try_publish_json(event, id, value) {
                Err(sse_core::json::JsonError::Full) => self.wait_for_room(room).await,
                other => return other,
            }
        }
    }

    /// [`SharedHub::publish_json`] if the hub has room now, else
    /// [`JsonError::Full`](sse_core::json::JsonError::Full).
    #[cfg(feature = "json")]
    pub fn try_publish_json<T: serde::Serialize + ?Sized>(
        &self,
        event: Option<&str>,
        id: Option<&str>,
        value: &T,
    ) -> Result<u64, sse_core::json::JsonError> {
        self.lock().publish_json(event, id, value)
    }

    /// Completes once a publish would be accepted (the backlog is below
    /// its limits): for a publisher that waits before it produces an event
    /// at all, e.g. one appending to a shared log that feeds this hub.
    pub async fn room(&self) {
        loop {
            let room = self.inner.room.listen();
            if self.lock().check_room() {
                return;
            }
            self.wait_for_room(room).await;
        }
    }

    /// Waits until room may have been made (`room` was made before the
    /// refused publish, so no signal is missed), releasing stalled
    /// subscribers on the way if the hub has a clock.
    async fn wait_for_room(&self, room: EventListener) {
        let Some(timer) = self.inner.timer.get() else {
            return room.await;
        };
        let next = self.lock().release_stalled(timer.now());
        if let Some(at) = next {
            future::or(room, timer.sleep_until(at)).await;
        }
    }

    /// A new subscriber at `now`, resuming after `last_event_id` (from
    /// [`sse_core::server::last_event_id`]) or live-only when `None`; see
    /// [`Hub::subscribe`].
    pub fn subscribe(
        &self,
        now: Instant,
        last_event_id: Option<&str>,
        config: Config,
    ) -> Subscription<L> {
        let sub = self.lock().subscribe(now, last_event_id, config);
        Subscription {
            mailbox: None,
            hub: self.clone(),
            generation: self.inner.generation.load(Ordering::Acquire),
            sub,
            listener: None,
            deadline: Deadline::default(),
            ended: false,
            end_at: None,
        }
    }

    /// Ends every stream open now (their bodies end, their connections
    /// close) once each has written what was published before (a stream
    /// whose socket refuses writes ends at once); clients reconnect and
    /// resume by their last event ID. For a deploy, or to test clients.
    /// Later subscriptions are unaffected.
    pub fn end_streams(&self) {
        {
            let hub = self.lock();
            let generation = self.inner.generation.fetch_add(1, Ordering::AcqRel) + 1;
            let mut ends = lock(&self.inner.ends);
            if ends.len() == ENDS_KEPT {
                ends.pop_front();
            }
            ends.push_back((generation, hub.log().next_seq()));
        }
        self.inner.published.notify(usize::MAX);
    }

    /// Where a stream subscribed in `generation` ends: the log's tail at
    /// the first [`SharedHub::end_streams`] after it (0, at once, if that is
    /// no longer known).
    fn end_of(&self, generation: u64) -> u64 {
        lock(&self.inner.ends)
            .iter()
            .find(|(g, _)| *g > generation)
            .map_or(0, |(_, tail)| *tail)
    }

    /// Runs `f` on the hub itself (e.g. to read the replay log), then wakes
    /// the subscribers in case `f` published.
    pub fn with_hub<R>(&self, f: impl FnOnce(&mut Hub<L>) -> R) -> R {
        let r = f(&mut self.lock());
        self.inner.published.notify(usize::MAX);
        r
    }

    /// The hub, locked: hold it briefly. When the guard is dropped,
    /// subscribers are woken if an event was published through it, and
    /// waiting publishers if room was made (so driving subscribers by hand
    /// through it keeps publishers going).
    pub fn lock(&self) -> HubGuard<'_, L> {
        // A panic while holding the lock cannot leave the hub half-updated
        // in a way that matters more than stopping every stream would.
        let guard = self
            .inner
            .hub
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let tail = guard.log().next_seq();
        HubGuard {
            guard: Some(guard),
            inner: &self.inner,
            tail,
        }
    }

    /// A listener that fires at the next publish (or
    /// [`SharedHub::end_streams`]); make it before looking.
    pub fn listen(&self) -> EventListener {
        self.inner.published.listen()
    }
}

/// The locked hub of a [`SharedHub`] (see [`SharedHub::lock`]).
pub struct HubGuard<'a, L: ReplayLog> {
    guard: Option<MutexGuard<'a, Hub<L>>>,
    inner: &'a Inner<L>,
    /// The log's tail when locked.
    tail: u64,
}

impl<L: ReplayLog> Deref for HubGuard<'_, L> {
    type Target = Hub<L>;

    fn deref(&self) -> &Hub<L> {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<L: ReplayLog> DerefMut for HubGuard<'_, L> {
    fn deref_mut(&mut self) -> &mut Hub<L> {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl<L: ReplayLog> Drop for HubGuard<'_, L> {
    fn drop(&mut self) {
        let Some(mut hub) = self.guard.take() else {
            return;
        };
        let published = hub.log().next_seq() != self.tail;
        let room = hub.poll_room();
        drop(hub);
        if published {
            self.inner.published.notify(usize::MAX);
        }
        if room {
            self.inner.room.notify(usize::MAX);
        }
    }
}

/// One subscriber of a [`SharedHub`]: the core's [`Subscriber`] plus what
/// it needs to wait for publishes. Make it a response body with
/// [`Subscription::into_body`], or drive it by hand with
/// [`Subscription::poll_bytes`] (or, over a socket,
/// [`Subscription::poll_ready`], [`Subscription::peek`],
/// [`Subscription::handle_written`] and [`Subscription::handle_blocked`]).
/// Dropping it unsubscribes it from the hub.
pub struct Subscription<L: ReplayLog = MemoryLog> {
    hub: SharedHub<L>,
    /// Made by the first [`Subscription::sender`].
    mailbox: Option<Arc<Mutex<Mailbox>>>,
    generation: u64,
    sub: Subscriber,
    listener: Option<EventListener>,
    deadline: Deadline,
    /// `poll_bytes` has returned `Ready(None)`.
    ended: bool,
    /// Once ended by the hub: the log's tail then (written before ending).
    end_at: Option<u64>,
}

impl<L: ReplayLog> Subscription<L> {
    /// The response status and headers to send first.
    pub fn response_head(&self) -> &ResponseHead {
        self.sub.response_head()
    }

    /// The core's subscriber: e.g. [`Subscriber::stream`] to send a message
    /// to this subscriber alone, or to close its stream.
    pub fn subscriber(&mut self) -> &mut Subscriber {
        &mut self.sub
    }

    /// A handle that sends to this subscriber alone from any task or
    /// thread, while its stream lasts. Clones and later calls share one
    /// outbox.
    pub fn sender(&mut self) -> Sender {
        let config = self.sub.stream().config().clone();
        let mailbox = self.mailbox.get_or_insert_with(|| {
            Arc::new(Mutex::new(Mailbox {
                outbox: Outbox::new(&config),
                waker: None,
            }))
        });
        Sender(Arc::clone(mailbox))
    }

    /// Why the stream ended, once it has: the core closed it (finished,
    /// or lagged behind), or [`SharedHub::end_streams`] was called.
    pub fn closed(&self) -> Option<CloseReason> {
        if self.ended_by_hub() {
            return Some(CloseReason::Finished);
        }
        self.sub.closed()
    }

    /// The next bytes to write, taken: `Ready(Some)` with bytes,
    /// `Ready(None)` once the stream has ended ([`Subscription::closed`]
    /// says why), `Pending` until a publish or the keep-alive deadline
    /// (waited for with `timer`). For a body whose reader takes what it
    /// writes; a socket writer uses [`Subscription::poll_ready`] and peeks.
    pub fn poll_bytes(&mut self, cx: &mut Context<'_>, timer: &impl Timer) -> Poll<Option<Bytes>> {
        loop {
            let Some(now) = std::task::ready!(self.poll_ready(cx, timer)) else {
                return Poll::Ready(None);
            };
            if let Some(bytes) = self.hub.lock().poll_transmit(&mut self.sub, now) {
                return Poll::Ready(Some(bytes));
            }
        }
    }

    /// Waits until the subscriber has bytes to write: `Ready(Some(now))`
    /// with the time to [`peek`](Subscription::peek) and
    /// [`commit`](Subscription::handle_written) at (a keep-alive deadline
    /// that passed is handled at its own time, and what it queues counts as
    /// written then), `Ready(None)` once the stream has ended, `Pending`
    /// until a publish or the keep-alive deadline (waited for with `timer`).
    pub fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        timer: &impl Timer,
    ) -> Poll<Option<Instant>> {
        if self.ended {
            return Poll::Ready(None);
        }
        loop {
            // Ended by the hub: what was published before is written first.
            let end_at = self.ended_by_hub().then(|| {
                *self
                    .end_at
                    .get_or_insert_with(|| self.hub.end_of(self.generation))
            });
            if end_at.is_some_and(|end| self.sub.cursor() >= end) {
                self.ended = true;
                self.close_mailbox();
                return Poll::Ready(None);
            }
            if let Some(mailbox) = &self.mailbox {
                let mut mailbox = lock(mailbox);
                mailbox.outbox.drain_into(self.sub.stream());
                mailbox.waker = Some(cx.waker().clone());
            }
            let now = match self.deadline.poll(cx, timer, self.sub.poll_timeout()) {
                Poll::Ready(at) => {
                    self.hub.lock().handle_timeout(&mut self.sub, at);
                    at
                }
                Poll::Pending => timer.now(),
            };
            if self.hub.lock().has_pending(&self.sub) {
                return Poll::Ready(Some(now));
            }
            if self.sub.closed().is_some() {
                self.ended = true;
                self.listener = None;
                self.close_mailbox();
                return Poll::Ready(None);
            }
            // Listen first, then look again, so no publish slips between.
            let Some(listener) = &mut self.listener else {
                self.listener = Some(self.hub.listen());
                continue;
            };
            if Pin::new(listener).poll(cx).is_ready() {
                self.listener = None;
                continue;
            }
            if self
                .deadline
                .poll(cx, timer, self.sub.poll_timeout())
                .is_ready()
            {
                // Re-armed for a later deadline and already over: go round.
                self.deadline = Default::default();
                continue;
            }
            return Poll::Pending;
        }
    }

    /// For a writer whose socket takes nothing (a client that stopped
    /// reading, maybe in the middle of an event; report it with
    /// [`Subscription::handle_blocked`] first): `Ready(reason)` once the
    /// stream must end anyway — the socket refused writes for the lag
    /// window and the subscriber fell out of the replay log
    /// ([`Hub::close_if_lagging`](sse_core::hub::Hub::close_if_lagging)) or
    /// [`SharedHub::end_streams`] was called — and the connection may be
    /// dropped (the client discards an event cut short and resumes from the
    /// last one it got whole); `Pending` until then, woken by publishes and
    /// by the end of the lag window (waited for with `timer`).
    pub fn poll_stuck(&mut self, cx: &mut Context<'_>, timer: &impl Timer) -> Poll<CloseReason> {
        loop {
            if self.ended_by_hub() {
                return Poll::Ready(CloseReason::Finished);
            }
            let fired = match self.deadline.poll(cx, timer, self.sub.poll_timeout()) {
                Poll::Ready(at) => {
                    self.hub.lock().handle_timeout(&mut self.sub, at);
                    true
                }
                Poll::Pending => false,
            };
            if self.hub.lock().close_if_lagging(&mut self.sub) {
                return Poll::Ready(CloseReason::Lagged);
            }
            if fired {
                continue; // arm the sleep for the next deadline
            }
            let Some(listener) = &mut self.listener else {
                self.listener = Some(self.hub.listen());
                continue;
            };
            if Pin::new(listener).poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.listener = None;
        }
    }

    /// Offers the subscriber's next bytes, up to `max` (at least one
    /// chunk), to `take` without taking them; returns how many. `0` with
    /// [`Subscription::closed`] set means it lagged. See
    /// [`Hub::peek_transmit`].
    pub fn peek(&mut self, now: Instant, max: usize, take: impl FnMut(&Bytes)) -> usize {
        self.hub.lock().peek_transmit(&mut self.sub, now, max, take)
    }

    /// The socket took (the start of) what [`Subscription::peek`] offered:
    /// takes it all; call it again for each later write of the rest that
    /// goes through. See [`Hub::handle_written`].
    pub fn handle_written(&mut self, now: Instant) {
        self.hub.lock().handle_written(&mut self.sub, now);
    }

    /// The socket took none of a write at `now` (it is full): only such
    /// time counts toward dropping the subscriber. See
    /// [`Hub::handle_blocked`].
    pub fn handle_blocked(&mut self, now: Instant) {
        self.hub.lock().handle_blocked(&mut self.sub, now);
    }

    /// A response body streaming this subscription, with keep-alives on
    /// `timer`.
    pub fn into_body<T: Timer>(self, timer: T) -> HubBody<T, L> {
        HubBody { sub: self, timer }
    }

    fn ended_by_hub(&self) -> bool {
        self.hub.inner.generation.load(Ordering::Acquire) != self.generation
    }

    /// Tells senders the stream is over.
    fn close_mailbox(&mut self) {
        let reason = self.closed().unwrap_or(CloseReason::Finished);
        if let Some(mailbox) = self.mailbox.take() {
            lock(&mailbox).outbox.close(reason);
        }
    }
}

impl<L: ReplayLog> Drop for Subscription<L> {
    fn drop(&mut self) {
        self.close_mailbox();
        self.hub.lock().unsubscribe(&mut self.sub);
    }
}

/// Sends to one subscriber alone (its own queue: not logged, not
/// replayed, no ID unless the message has one), from any task or thread;
/// from [`Subscription::sender`] or a [`Service`](super::Service)'s
/// `on_stream` hook. Clones send to the same subscriber.
#[derive(Clone)]
pub struct Sender(Arc<Mutex<Mailbox>>);

/// A subscription's outbox and the waker of the task writing it.
struct Mailbox {
    outbox: Outbox,
    waker: Option<Waker>,
}

impl Sender {
    /// Queues `msg` (see [`Outbox::push`]) and wakes the connection. Fails
    /// when the message cannot be encoded, or once the stream has ended:
    /// then drop the sender.
    pub fn send(&self, msg: &Message<'_>) -> Result<(), SendError> {
        let mut mailbox = lock(&self.0);
        mailbox.outbox.push(msg)?;
        if let Some(waker) = mailbox.waker.take() {
            waker.wake();
        }
        Ok(())
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A response body streaming a [`Subscription`]: a `Stream` of the bytes to
/// write, ending when the subscriber is closed. See [`Subscription::poll_bytes`].
///
/// A body cannot tell whether its client reads: a server that stops
/// polling it (its client stopped reading) looks like a slow task. Give the
/// hub a clock ([`SharedHub::with_timer`]) so that, once publishers wait
/// for it, a body that took nothing for its lag window is let go.
pub struct HubBody<T, L: ReplayLog = MemoryLog> {
    sub: Subscription<L>,
    timer: T,
}

impl<T: Timer, L: ReplayLog> HubBody<T, L> {
    /// The subscription, e.g. to send to this subscriber alone.
    pub fn subscription(&mut self) -> &mut Subscription<L> {
        &mut self.sub
    }

    /// An `AsyncRead` + `AsyncBufRead` of the same bytes.
    pub fn into_reader(self) -> BodyReader<Self> {
        BodyReader::new(self)
    }
}

impl<T, L: ReplayLog> Unpin for HubBody<T, L> {}

impl<T: Timer, L: ReplayLog> Stream for HubBody<T, L> {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = self.get_mut();
        this.sub.poll_bytes(cx, &this.timer)
    }
}

impl<T: Timer, L: ReplayLog> Body for HubBody<T, L> {
    fn response_head(&self) -> &ResponseHead {
        self.sub.response_head()
    }
}
