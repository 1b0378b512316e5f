//! What a subscriber's stream means, step by step: the events a client
//! dispatches (type, data, last event ID, by this project's parser), the
//! `retry:` values and the comments. Two streams are compared this way,
//! not byte for byte: servers may frame the same events differently
//! (`data:x` or `data: x`, `id` before or after `data`, CRLF, comment text).

use std::fmt::Write as _;

use sse_core::parse::{Line, Parser, Tokenizer};

/// A stream being interpreted, with what it said since the last [`View::take`].
pub(super) struct View {
    parser: Parser,
    lines: Tokenizer,
    new: Items,
}

/// What part of a stream said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Items {
    /// Dispatched events: type, data, last event ID.
    pub events: Vec<(String, String, String)>,
    /// Valid `retry:` values.
    pub retries: Vec<u64>,
    /// Comment lines.
    pub comments: usize,
}

impl Default for View {
    fn default() -> Self {
        View {
            parser: Parser::new(),
            lines: Tokenizer::new(usize::MAX),
            new: Items::default(),
        }
    }
}

impl View {
    /// Bytes of the stream.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.parser.handle_bytes(bytes);
        while let Some(event) = self.parser.poll_event() {
            if let Ok(e) = event {
                self.new.events.push((
                    e.event_type().to_string(),
                    e.data().to_string(),
                    e.id().to_string(),
                ));
            }
        }
        self.lines.handle_bytes(bytes);
        while let Some(line) = self.lines.poll_line() {
            match line {
                Ok(Line::Comment(_)) => self.new.comments += 1,
                Ok(Line::Field { name, value }) if &name[..] == b"retry" => {
                    let digits = !value.is_empty() && value.iter().all(u8::is_ascii_digit);
                    if let Some(ms) = digits
                        .then(|| std::str::from_utf8(&value).ok()?.parse().ok())
                        .flatten()
                    {
                        self.new.retries.push(ms);
                    }
                }
                _ => {}
            }
        }
    }

    /// Adds an event as if it had been read.
    pub fn push_event(&mut self, event: (String, String, String)) {
        self.new.events.push(event);
    }

    /// What was said since the last call.
    pub fn take(&mut self) -> Items {
        std::mem::take(&mut self.new)
    }

    /// What was said since the last [`View::take`], without taking it.
    pub fn peek(&self) -> &Items {
        &self.new
    }
}

impl Items {
    /// Whether `self` (what arrived) has at least as much as `want`.
    pub fn covers(&self, want: &Items) -> bool {
        self.events.len() >= want.events.len()
            && self.retries.len() >= want.retries.len()
            && (want.comments == 0 || self.comments > 0)
    }

    /// Why `self` (what arrived) is not `want`, or `None`. With
    /// `any_comments`, comments are not compared (a stream's preamble);
    /// otherwise one or more comments are expected exactly when `want` has
    /// some.
    pub fn mismatch(&self, want: &Items, any_comments: bool) -> Option<String> {
        let mut why = Vec::new();
        if self.events != want.events {
            why.push(format!(
                "events:\n      expected {}\n      got      {}",
                show(&want.events),
                show(&self.events)
            ));
        }
        // A server may send a retry: hint of its own; only an expected
        // one is compared.
        if !want.retries.is_empty() && self.retries != want.retries {
            why.push(format!(
                "retry: expected {:?}, got {:?}",
                want.retries, self.retries
            ));
        }
        if !any_comments && (want.comments > 0) != (self.comments > 0) {
            why.push(if want.comments > 0 {
                "expected a comment (keep-alive), got none".to_string()
            } else {
                format!("expected no comment, got {}", self.comments)
            });
        }
        (!why.is_empty()).then(|| why.join("\n    "))
    }
}

fn show(events: &[(String, String, String)]) -> String {
    if events.is_empty() {
        return "nothing".into();
    }
    let mut out = String::new();
    for (i, (t, d, id)) in events.iter().enumerate() {
        if i == 8 && events.len() > 10 {
            let _ = write!(out, " … ({} more)", events.len() - 8);
            break;
        }
        let d = if d.len() > 40 {
            format!(
                "{}…({} bytes)",
                &d[..d.floor_char_boundary_compat(40)],
                d.len()
            )
        } else {
            d.clone()
        };
        let _ = write!(out, "{}[{t} {d:?} id={id:?}]", if i > 0 { " " } else { "" });
    }
    out
}

/// `str::floor_char_boundary` for the toolchains this crate supports.
trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, at: usize) -> usize;
}

impl FloorCharBoundary for String {
    fn floor_char_boundary_compat(&self, at: usize) -> usize {
        (0..=at.min(self.len()))
            .rev()
            .find(|i| self.is_char_boundary(*i))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_differences_do_not_matter() {
        let mut a = View::default();
        a.feed(b"id: 1\nevent: t\ndata: x\ndata: y\n\n:\nretry: 5\n");
        let mut b = View::default();
        b.feed(b"event:t\r\ndata:x\r\ndata:y\r\nid:1\r\n\r\n: ping 12:00\r\nretry:5\r\n");
        let (a, b) = (a.take(), b.take());
        assert_eq!(a, b);
        assert_eq!(a.events, [("t".into(), "x\ny".into(), "1".into())]);
        assert_eq!(a.mismatch(&b, false), None);
    }

    #[test]
    fn comments_count_only_when_asked() {
        let mut want = View::default();
        want.feed(b":\n");
        let mut got = View::default();
        got.feed(b"");
        let (want, got) = (want.take(), got.take());
        assert!(got
            .mismatch(&want, false)
            .unwrap()
            .contains("expected a comment"));
        assert_eq!(got.mismatch(&want, true), None);
        assert!(want
            .mismatch(&got, false)
            .unwrap()
            .contains("expected no comment"));
    }
}
