//! Events, comments and `retry` hints → `text/event-stream` wire bytes.
//!
//! The encoder is the parser's inverse: for every event it accepts,
//! parsing the bytes it writes gives the same event back. It checks the whole
//! input before writing anything, so a rejected event leaves the output
//! untouched. Output goes to any [`BufMut`] (`Vec<u8>`, `BytesMut`, …).
//!
//! ```
//! use sse_core::encode::{self, Message};
//!
//! let mut out = Vec::new();
//! encode::retry(&mut out, 5000);
//! encode::message(&mut out, &Message::new("line 1\nline 2").id("42").event("update")).unwrap();
//! encode::comment(&mut out, "keep-alive");
//! assert_eq!(
//!     out,
//!     b"retry: 5000\nid: 42\nevent: update\ndata: line 1\ndata: line 2\n\n: keep-alive\n"
//! );
//! ```
//!
//! Data is split into `data:` lines at every CR, LF or CRLF, so a CR or CRLF
//! in data comes back as LF: the one change the wire format forces.

use bytes::BufMut;
use core::fmt;

/// An event to encode. Build with [`Message::new`] and the setters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Message<'a> {
    /// `Some` writes an `id` line; `Some("")` resets the client's last event ID.
    pub id: Option<&'a str>,
    /// The event type; `None` or `""` writes no `event` line (type `message`).
    pub event: Option<&'a str>,
    /// The data, split into `data:` lines at CR, LF and CRLF.
    pub data: &'a str,
    /// Writes a `retry` line (milliseconds) before the event.
    pub retry: Option<u64>,
}

impl<'a> Message<'a> {
    /// A `message` event with this data and no ID.
    pub fn new(data: &'a str) -> Self {
        Message {
            data,
            ..Message::default()
        }
    }

    /// Sets the event ID.
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the event type.
    pub fn event(mut self, event: &'a str) -> Self {
        self.event = Some(event);
        self
    }

    /// Sets a reconnection time hint in milliseconds.
    pub fn retry(mut self, ms: u64) -> Self {
        self.retry = Some(ms);
        self
    }

    /// The number of bytes [`message`] writes for this event.
    pub fn encoded_len(&self) -> usize {
        let mut len = 0;
        if let Some(ms) = self.retry {
            len += "retry: \n".len() + decimal_len(ms);
        }
        if let Some(id) = self.id {
            len += "id: \n".len() + id.len();
        }
        if let Some(event) = self.event.filter(|e| !e.is_empty()) {
            len += "event: \n".len() + event.len();
        }
        for line in lines(self.data) {
            len += "data: \n".len() + line.len();
        }
        len + 1
    }
}

/// Why an event cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The ID contains CR or LF, which would end its line early.
    IdHasNewline,
    /// The ID contains U+0000 NULL, which makes clients ignore it.
    IdHasNull,
    /// The event type contains CR or LF, which would end its line early.
    EventHasNewline,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncodeError::IdHasNewline => "event id contains a line break",
            EncodeError::IdHasNull => "event id contains a NUL character",
            EncodeError::EventHasNewline => "event type contains a line break",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}

/// Checks that `msg` can be written without changing its meaning.
pub fn validate(msg: &Message<'_>) -> Result<(), EncodeError> {
    if let Some(id) = msg.id {
        if has_newline(id) {
            return Err(EncodeError::IdHasNewline);
        }
        if id.contains('\0') {
            return Err(EncodeError::IdHasNull);
        }
    }
    if msg.event.is_some_and(has_newline) {
        return Err(EncodeError::EventHasNewline);
    }
    Ok(())
}

/// Writes one event (with its `retry` line, if any) and the blank line that
/// dispatches it. On error nothing is written.
pub fn message<B: BufMut>(out: &mut B, msg: &Message<'_>) -> Result<(), EncodeError> {
    validate(msg)?;
    if let Some(ms) = msg.retry {
        retry(out, ms);
    }
    if let Some(id) = msg.id {
        field(out, b"id", id);
    }
    if let Some(event) = msg.event.filter(|e| !e.is_empty()) {
        field(out, b"event", event);
    }
    for line in lines(msg.data) {
        field(out, b"data", line);
    }
    out.put_u8(b'\n');
    Ok(())
}

/// Writes a comment; each line of `text` becomes its own `:` line. Clients
/// ignore comments: use them as keep-alives or for humans reading the stream.
pub fn comment<B: BufMut>(out: &mut B, text: &str) {
    for line in lines(text) {
        out.put_u8(b':');
        if !line.is_empty() {
            out.put_u8(b' ');
            out.put_slice(line.as_bytes());
        }
        out.put_u8(b'\n');
    }
}

/// Writes a `retry` line: clients wait `ms` milliseconds before reconnecting.
pub fn retry<B: BufMut>(out: &mut B, ms: u64) {
    let mut digits = [0u8; 20];
    let start = format_decimal(ms, &mut digits);
    out.put_slice(b"retry: ");
    out.put_slice(&digits[start..]);
    out.put_u8(b'\n');
}

fn field<B: BufMut>(out: &mut B, name: &[u8], value: &str) {
    out.put_slice(name);
    out.put_slice(b": ");
    out.put_slice(value.as_bytes());
    out.put_u8(b'\n');
}

fn has_newline(s: &str) -> bool {
    memchr::memchr2(b'\r', b'\n', s.as_bytes()).is_some()
}

/// The lines of `text` split at CR, LF and CRLF; always at least one.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr2(b'\r', b'\n', current.as_bytes()) {
            None => {
                rest = None;
                Some(current)
            }
            Some(i) => {
                let skip = if current[i..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[i + skip..]);
                Some(&current[..i])
            }
        }
    })
}

/// Writes `n` in decimal at the end of `buf`; returns where the digits start.
fn format_decimal(mut n: u64, buf: &mut [u8; 20]) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return i;
        }
    }
}

fn decimal_len(n: u64) -> usize {
    let mut digits = [0u8; 20];
    20 - format_decimal(n, &mut digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_all, Event};
    use alloc::string::String;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn encode(msg: &Message<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        message(&mut out, msg).unwrap();
        assert_eq!(out.len(), msg.encoded_len());
        out
    }

    #[test]
    fn writes_fields_in_order() {
        let out = encode(&Message::new("a").id("1").event("e").retry(10));
        assert_eq!(out, b"retry: 10\nid: 1\nevent: e\ndata: a\n\n");
    }

    #[test]
    fn splits_data_on_every_line_ending() {
        assert_eq!(
            encode(&Message::new("a\rb\nc\r\nd")),
            b"data: a\ndata: b\ndata: c\ndata: d\n\n"
        );
        assert_eq!(encode(&Message::new("")), b"data: \n\n");
        assert_eq!(encode(&Message::new("\n")), b"data: \ndata: \n\n");
        assert_eq!(encode(&Message::new("x\r")), b"data: x\ndata: \n\n");
    }

    #[test]
    fn empty_id_resets_and_empty_event_is_omitted() {
        assert_eq!(
            encode(&Message::new("a").id("").event("")),
            b"id: \ndata: a\n\n"
        );
    }

    #[test]
    fn rejects_what_cannot_round_trip_and_writes_nothing() {
        let mut out = Vec::new();
        let cases = [
            (Message::new("a").id("1\n2"), EncodeError::IdHasNewline),
            (Message::new("a").id("1\r"), EncodeError::IdHasNewline),
            (Message::new("a").id("\0"), EncodeError::IdHasNull),
            (
                Message::new("a").event("x\ny"),
                EncodeError::EventHasNewline,
            ),
            (Message::new("a").event("\r"), EncodeError::EventHasNewline),
        ];
        for (msg, err) in cases {
            assert_eq!(message(&mut out, &msg), Err(err));
        }
        assert!(out.is_empty());
    }

    #[test]
    fn comments_and_retry() {
        let mut out = Vec::new();
        comment(&mut out, "one\ntwo\r\n");
        comment(&mut out, "");
        retry(&mut out, 0);
        retry(&mut out, u64::MAX);
        assert_eq!(
            out,
            b": one\n: two\n:\n:\nretry: 0\nretry: 18446744073709551615\n"
        );
        let events = parse_all(&out);
        assert!(events.is_empty());
    }

    /// What the parser gives back for `msg` on a fresh stream.
    fn expected(msg: &Message<'_>) -> Event {
        let data: String = msg.data.replace("\r\n", "\n").replace('\r', "\n");
        Event::new(
            String::from(msg.event.filter(|e| !e.is_empty()).unwrap_or("message")),
            data,
            String::from(msg.id.unwrap_or("")),
        )
    }

    fn text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("(.|\r|\n|\r\n| |:|\u{FEFF}|\0){0,40}").unwrap()
    }

    fn line_text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[^\r\n\0]{0,20}").unwrap()
    }

    proptest! {
        #[test]
        fn parse_inverts_encode(
            data in text(),
            id in proptest::option::of(line_text()),
            event in proptest::option::of(line_text()),
            retry_ms in proptest::option::of(any::<u64>()),
        ) {
            let msg = Message { id: id.as_deref(), event: event.as_deref(), data: &data, retry: retry_ms };
            let bytes = encode(&msg);
            let mut parser = crate::parse::Parser::new();
            parser.handle_bytes(&bytes);
            let got: Vec<_> = core::iter::from_fn(|| parser.poll_event()).collect();
            prop_assert_eq!(got, alloc::vec![Ok(expected(&msg))]);
            prop_assert_eq!(parser.retry(), retry_ms);
        }

        #[test]
        fn comments_never_produce_events(text in text()) {
            let mut out = Vec::new();
            comment(&mut out, &text);
            out.extend_from_slice(b"\n");
            prop_assert!(parse_all(&out).is_empty());
        }

        #[test]
        fn a_sequence_round_trips(msgs in proptest::collection::vec((text(), proptest::option::of(line_text())), 0..8)) {
            let mut out = Vec::new();
            let mut want = Vec::new();
            let mut last_id = String::new();
            for (data, id) in &msgs {
                let msg = Message { id: id.as_deref(), data, ..Message::default() };
                message(&mut out, &msg).unwrap();
                if let Some(id) = id { last_id = id.clone(); }
                let ev = expected(&msg);
                want.push(Ok(Event::new(ev.event_type(), ev.data(), last_id.clone())));
            }
            prop_assert_eq!(parse_all(&out), want);
        }
    }
}
