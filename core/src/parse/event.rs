//! [`Event`]: what the [`Parser`](super::Parser) dispatches.
//!
//! An event the parser makes keeps one shared handle to the buffer its data
//! lies in (the input region for one-line data, the joined data otherwise)
//! and where each field lies in it, so that making, cloning and dropping an
//! event costs one reference count update whatever fields it has. A field
//! that lies elsewhere (the default type `message`, an ID or type read from
//! an earlier input) is a handle of its own.

use bytes::{Buf, Bytes};
use core::fmt;
use core::hash::{Hash, Hasher};

use super::{Span, MESSAGE};
use crate::text::{Utf8Bytes, Utf8Ref};

/// A dispatched event: its type, its data and the stream's last event ID.
///
/// The fields are read through [`Event::event_type`], [`Event::data`] and
/// [`Event::id`], which borrow them as [`Utf8Ref`]s: length, bytes and
/// comparisons for free, [`Utf8Ref::as_str`] for a `&str`,
/// [`Utf8Ref::to_utf8_bytes`] (or [`Event::into_data`]) for an owned
/// handle that shares the event's buffer.
///
/// ```
/// use sse_core::parse::{parse_all, Event};
///
/// let events = parse_all(b"id: 7\nevent: greet\ndata: hello\n\n");
/// let event = events[0].as_ref().unwrap();
/// assert_eq!(event.event_type(), "greet");
/// assert_eq!(event.data().len(), 5);
/// assert_eq!(event.id().as_str(), "7");
/// assert_eq!(event, &Event::new("greet", "hello", "7"));
/// ```
///
/// Cloning is cheap (one reference count increment in the common case);
/// equality and hashing look at the three fields' text only.
#[derive(Clone)]
pub struct Event {
    /// The buffer `data` and the `Part::In` fields lie in.
    bytes: Bytes,
    /// Where the data lies in `bytes`.
    data: Span,
    event_type: Part,
    id: Part,
}

/// Where a field other than the data lies.
#[derive(Clone)]
pub(super) enum Part {
    /// In the event's buffer.
    In(Span),
    /// In a handle of its own.
    Own(Utf8Bytes),
}

impl Part {
    /// The default type, `message`.
    pub(super) const MESSAGE: Part = Part::Own(MESSAGE);

    fn get<'a>(&'a self, bytes: &'a Bytes) -> Utf8Ref<'a> {
        match self {
            Part::In(span) => Utf8Ref::new(bytes, span.start, span.end),
            Part::Own(text) => Utf8Ref::whole(text),
        }
    }
}

impl Event {
    /// An event of the given type, data and last event ID.
    ///
    /// The parser never dispatches an empty type (it uses `message`); this
    /// constructor keeps what it is given.
    pub fn new(
        event_type: impl Into<Utf8Bytes>,
        data: impl Into<Utf8Bytes>,
        id: impl Into<Utf8Bytes>,
    ) -> Self {
        let bytes = data.into().into_bytes();
        Event {
            data: Span {
                start: 0,
                end: bytes.len(),
            },
            bytes,
            event_type: Part::Own(event_type.into()),
            id: Part::Own(id.into()),
        }
    }

    /// An event of type `message` with the given data and no ID.
    pub fn message(data: impl Into<Utf8Bytes>) -> Self {
        Event::new(MESSAGE, data, Utf8Bytes::default())
    }

    /// An event whose data is `bytes[data]` and whose other fields are
    /// `event_type` and `id`: the caller has checked that every span is in
    /// bounds and valid UTF-8.
    #[inline]
    pub(super) fn from_parts(bytes: Bytes, data: Span, event_type: Part, id: Part) -> Self {
        Event {
            bytes,
            data,
            event_type,
            id,
        }
    }

    /// The event type: the last `event` field of the block, or `message`.
    #[inline]
    pub fn event_type(&self) -> Utf8Ref<'_> {
        self.event_type.get(&self.bytes)
    }

    /// The `data` values joined with line feeds.
    #[inline]
    pub fn data(&self) -> Utf8Ref<'_> {
        Utf8Ref::new(&self.bytes, self.data.start, self.data.end)
    }

    /// The stream's last event ID when this event was dispatched (possibly
    /// set by an earlier block); empty when none.
    #[inline]
    pub fn id(&self) -> Utf8Ref<'_> {
        self.id.get(&self.bytes)
    }

    /// The buffer the data lies in (for tests of where fields lie).
    #[cfg(test)]
    pub(super) fn buffer(&self) -> &Bytes {
        &self.bytes
    }

    /// The data as an owned handle, without a copy (and, for an event the
    /// parser made, without a reference count update).
    pub fn into_data(self) -> Utf8Bytes {
        let Event {
            mut bytes, data, ..
        } = self;
        bytes.truncate(data.end);
        bytes.advance(data.start.min(bytes.len()));
        Utf8Bytes::from_checked(bytes)
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.data() == other.data()
            && self.event_type() == other.event_type()
            && self.id() == other.id()
    }
}

impl Eq for Event {}

impl Hash for Event {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.event_type().hash(state);
        self.data().hash(state);
        self.id().hash(state);
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("event_type", &self.event_type())
            .field("data", &self.data())
            .field("id", &self.id())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn an_event_can_move_between_threads() {
        assert_send_sync::<Event>();
    }

    #[test]
    fn made_events_compare_hash_and_print_by_their_text() {
        use crate::text::tests::hash_of;
        let made = Event::new("greet", String::from("hi"), "7");
        let region = Bytes::from_static(b"id: 7\nevent: greet\ndata: hi\n");
        let parsed = Event::from_parts(
            region,
            Span { start: 25, end: 27 },
            Part::In(Span { start: 13, end: 18 }),
            Part::In(Span { start: 4, end: 5 }),
        );
        assert_eq!(parsed, made);
        assert_eq!(
            format!("{parsed:?}"),
            r#"Event { event_type: "greet", data: "hi", id: "7" }"#
        );
        assert_eq!(hash_of(&parsed), hash_of(&made));
        assert_ne!(parsed, Event::new("greet", "hi", "8"));
        assert_ne!(parsed, Event::new("greet", "hj", "7"));
        assert_ne!(parsed, Event::message("hi"));
        let message = Event::message("x");
        assert_eq!(
            (message.event_type().as_str(), message.data().as_str()),
            ("message", "x")
        );
        assert!(message.id().is_empty());
        let data = parsed.clone().into_data();
        assert_eq!(data, "hi");
        assert_eq!(data.as_bytes().as_ptr(), parsed.data().as_bytes().as_ptr());
        assert_eq!(made.into_data(), "hi");
    }
}
