//! What `sse listen` prints: one line per notification, written straight
//! into an output buffer (no intermediate JSON value, no write or flush per
//! line). The caller flushes when the stream has nothing more to give
//! without waiting — once the socket read is drained — so a line appears as
//! soon as the read that carried it is handled, and a burst costs one
//! write.
//!
//! `--json` lines (stable: the conformance client protocol reads them):
//! `{"kind":"open"}`, `{"kind":"message","type","data","id","origin"}`,
//! `{"kind":"error","reconnecting","reason","status"?,"message"}` (with
//! `--max-error-body` also `"content_type"` and `"error_body"` for a failed
//! response), `{"kind":"closed"}`,
//! `{"kind":"parse_error","message"}` and, with `--comments`,
//! `{"kind":"comment","text"}`. Strings are escaped here, from the bytes
//! (no UTF-8 re-check, no `serde_json` value or serializer), exactly as
//! `serde_json` escapes them: the lines are byte for byte what it printed
//! for the same objects (tested).
//!
//! Readable lines: messages as `[type id=…] data` (continuation lines
//! indented) and comments as `:text`, as on the wire, on stdout; the
//! connection's status on stderr.

use std::io::{self, Stdout, Write};

use sse_conformance::client::{error_status, reason_name};
use sse_core::client::{ClientError, MessageEvent, Notification};

/// Bytes gathered before they are written out even without a flush: a
/// read's worth of events per write, and a bound on the buffer.
const BUFFER: usize = 64 * 1024;

/// Writes notifications as lines.
pub struct Output {
    buf: Vec<u8>,
    stdout: Stdout,
    /// `Some` for `--json`.
    json: Option<JsonLines>,
}

impl Output {
    /// Lines on this process's standard output, JSON or readable.
    pub fn stdout(json: bool) -> Output {
        Output {
            buf: Vec::with_capacity(BUFFER),
            stdout: io::stdout(),
            json: json.then(JsonLines::default),
        }
    }

    /// With `--json`: error lines carry the failed response's content type
    /// and kept body (`--max-error-body`).
    pub fn show_error_bodies(&mut self, on: bool) {
        if let Some(lines) = &mut self.json {
            lines.error_bodies = on;
        }
    }

    /// Writes the line for `n`, if it has one. Errors are those of
    /// standard output (a closed pipe).
    pub fn write(&mut self, n: &Notification) -> io::Result<()> {
        match &mut self.json {
            Some(lines) => lines.write(&mut self.buf, n),
            None => write_readable(&mut self.buf, n),
        }
        if self.buf.len() >= BUFFER {
            self.write_out()?;
        }
        Ok(())
    }

    /// Hands what was written to the reader.
    pub fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        self.stdout.flush()
    }

    fn write_out(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let written = self.stdout.lock().write_all(&self.buf);
        self.buf.clear();
        // A 12 MiB event needs a 12 MiB buffer once, not for ever.
        if self.buf.capacity() > 4 * BUFFER {
            self.buf.shrink_to(BUFFER);
        }
        written
    }
}

/// The `--json` lines, with the escaped event type and origin of the last
/// message kept: they usually repeat.
#[derive(Default)]
struct JsonLines {
    event_type: Escaped,
    origin: Escaped,
    /// Error lines carry the content type and kept body of a failed
    /// response (`--max-error-body`).
    error_bodies: bool,
}

impl JsonLines {
    /// Appends the line for `n`, if it has one.
    fn write(&mut self, out: &mut Vec<u8>, n: &Notification) {
        match n {
            Notification::Open => out.extend_from_slice(b"{\"kind\":\"open\"}\n"),
            Notification::Message(m) => self.message(out, m),
            Notification::Error {
                reconnecting,
                error,
            } => self.error(out, *reconnecting, error),
            Notification::Closed => out.extend_from_slice(b"{\"kind\":\"closed\"}\n"),
            Notification::ParseError(e) => {
                out.extend_from_slice(b"{\"kind\":\"parse_error\",\"message\":");
                json_str(out, e.to_string().as_bytes());
                out.extend_from_slice(b"}\n");
            }
            Notification::Comment(text) => {
                out.extend_from_slice(b"{\"kind\":\"comment\",\"text\":");
                json_str(out, text.as_bytes());
                out.extend_from_slice(b"}\n");
            }
            _ => {}
        }
    }

    /// `{"kind":"error","reconnecting","reason","status"?, "content_type"?,
    /// "error_body"?, "message"}`: the status where the error has one, the
    /// content type and kept body of a failed response with
    /// `--max-error-body`.
    fn error(&self, out: &mut Vec<u8>, reconnecting: bool, error: &ClientError) {
        out.extend_from_slice(if reconnecting {
            b"{\"kind\":\"error\",\"reconnecting\":true,\"reason\":\""
        } else {
            b"{\"kind\":\"error\",\"reconnecting\":false,\"reason\":\""
        });
        out.extend_from_slice(reason_name(error).as_bytes());
        out.push(b'"');
        if let Some(status) = error_status(error) {
            out.extend_from_slice(format!(",\"status\":{status}").as_bytes());
        }
        if let (
            true,
            ClientError::Status {
                content_type, body, ..
            }
            | ClientError::ContentType { content_type, body },
        ) = (self.error_bodies, error)
        {
            out.extend_from_slice(b",\"content_type\":");
            match content_type {
                Some(t) => json_str(out, t.as_bytes()),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"error_body\":");
            json_str(out, String::from_utf8_lossy(body).as_bytes());
        }
        out.extend_from_slice(b",\"message\":");
        json_str(out, error.to_string().as_bytes());
        out.extend_from_slice(b"}\n");
    }

    fn message(&mut self, out: &mut Vec<u8>, m: &MessageEvent) {
        out.extend_from_slice(b"{\"kind\":\"message\",\"type\":");
        self.event_type.write(out, m.event.event_type().as_bytes());
        out.extend_from_slice(b",\"data\":");
        json_str(out, m.event.data().as_bytes());
        out.extend_from_slice(b",\"id\":");
        json_str(out, m.event.id().as_bytes());
        out.extend_from_slice(b",\"origin\":");
        self.origin.write(out, m.origin.as_bytes());
        out.extend_from_slice(b"}\n");
    }
}

/// How each byte is written inside a JSON string: 0 as is, `u` as
/// `\u00XX`, anything else as a backslash and that byte. The escapes
/// `serde_json` uses (so the lines are byte for byte what it prints).
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// `0x01` in every byte.
const ONES: u64 = u64::from_ne_bytes([1; 8]);
/// `0x80` in every byte.
const HIGH: u64 = ONES * 0x80;

/// The high bit of each byte of `x` (8 bytes of text, little endian) that
/// must be escaped: `"`, `\\` or a control character. The lowest one is
/// exact; bits above it may be false (a borrow), which does not matter as
/// only the lowest is used.
fn to_escape(x: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\\'))) | below_space
}

/// Appends the escape of byte `b`.
fn escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match ESCAPE[usize::from(b)] {
        b'u' => {
            let hex = [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]];
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex[0], hex[1]]);
        }
        e => out.extend_from_slice(&[b'\\', e]),
    }
}

/// Appends `s` (UTF-8: the escapes are all ASCII, so working on bytes
/// keeps the other characters whole) as a JSON string.
///
/// Eight bytes at a time: a word without anything to escape is copied as
/// a whole; otherwise the bytes before the first escape are (by copying
/// the word and cutting the copy back), then the escape. JSON payloads
/// escape every few bytes, so a copy call per run would cost more than
/// the text. The last bytes go one by one.
fn json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut rest = s;
    while let Some((word, _)) = rest.split_first_chunk::<8>() {
        let special = to_escape(u64::from_le_bytes(*word));
        if special == 0 {
            out.extend_from_slice(word);
            rest = &rest[8..];
            continue;
        }
        let clean = (special.trailing_zeros() / 8) as usize;
        out.extend_from_slice(word);
        out.truncate(out.len() - 8 + clean);
        escape(out, word[clean]);
        rest = &rest[clean + 1..];
    }
    for &b in rest {
        if ESCAPE[usize::from(b)] == 0 {
            out.push(b);
        } else {
            escape(out, b);
        }
    }
    out.push(b'"');
}

/// The JSON string of the last value seen, for values that repeat from one
/// message to the next (the event type, the origin).
///
/// The value is kept as a copy: a handle would keep the whole input
/// region it came from alive (an event type is a span of the event's
/// buffer), and the parser could not reuse that memory.
#[derive(Default)]
struct Escaped {
    raw: Vec<u8>,
    json: Vec<u8>,
}

impl Escaped {
    /// Appends `value` (UTF-8) as a JSON string.
    fn write(&mut self, out: &mut Vec<u8>, value: &[u8]) {
        if value != self.raw {
            self.json.clear();
            json_str(&mut self.json, value);
            self.raw.clear();
            self.raw.extend_from_slice(value);
        }
        out.extend_from_slice(&self.json);
    }
}

fn write_readable(out: &mut Vec<u8>, n: &Notification) {
    let status = match n {
        Notification::Message(m) => {
            out.push(b'[');
            out.extend_from_slice(m.event.event_type().as_bytes());
            if !m.event.id().is_empty() {
                out.extend_from_slice(b" id=");
                out.extend_from_slice(m.event.id().as_bytes());
            }
            out.extend_from_slice(b"] ");
            let mut lines = m.event.data().as_bytes().split(|&b| b == b'\n');
            out.extend_from_slice(lines.next().unwrap_or_default());
            for line in lines {
                out.extend_from_slice(b"\n    ");
                out.extend_from_slice(line);
            }
            out.push(b'\n');
            return;
        }
        Notification::Comment(text) => {
            out.push(b':');
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
            return;
        }
        Notification::Open => "* open".to_string(),
        Notification::Error {
            reconnecting: true,
            error,
        } => format!("* {error}; reconnecting"),
        Notification::Closed => "* closed".into(),
        Notification::ParseError(e) => format!("* skipped: {e}"),
        _ => return,
    };
    // Status lines are not part of the output: stderr, unbuffered. A
    // closed stderr is no reason to stop.
    let _ = writeln!(io::stderr(), "{status}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sse_core::client::{ClientError, TransportError};
    use sse_core::parse::{Event, ParseError};

    fn message(event_type: &str, data: &str, id: &str) -> Notification {
        let event = Event::new(event_type.to_string(), data.to_string(), id.to_string());
        Notification::Message(MessageEvent {
            event,
            origin: "http://x.test:8080".into(),
        })
    }

    /// The lines are exactly what `serde_json` prints for the same objects
    /// (as `sse listen --json` did before it wrote them directly).
    #[test]
    fn json_lines_match_serde_json() {
        let tricky = "a\"b\\c\n\r\t\u{0}\u{1f}\u{7f} é 😀 </script>";
        let cases = [
            (Notification::Open, json!({"kind": "open"})),
            (
                message("delta", tricky, "7\u{2028}"),
                json!({"kind": "message", "type": "delta", "data": tricky,
                       "id": "7\u{2028}", "origin": "http://x.test:8080"}),
            ),
            (
                Notification::Error {
                    reconnecting: true,
                    error: ClientError::Transport(TransportError::Reset),
                },
                json!({"kind": "error", "reconnecting": true, "reason": "transport",
                       "message": "stream broken: connection reset"}),
            ),
            (
                Notification::Error {
                    reconnecting: false,
                    error: ClientError::TooManyRedirects { limit: 10 },
                },
                json!({"kind": "error", "reconnecting": false, "reason": "too_many_redirects",
                       "message": "more than 10 redirects"}),
            ),
            (
                Notification::Error {
                    reconnecting: false,
                    error: status_error(),
                },
                json!({"kind": "error", "reconnecting": false, "reason": "status",
                       "status": 400, "message": "unexpected status 400"}),
            ),
            (Notification::Closed, json!({"kind": "closed"})),
            (
                Notification::ParseError(ParseError::LineTooLong { limit: 5 }),
                json!({"kind": "parse_error",
                       "message": "line longer than 5 bytes; its event was dropped"}),
            ),
            (
                Notification::Comment(" keep\"alive".into()),
                json!({"kind": "comment", "text": " keep\"alive"}),
            ),
        ];
        for (n, value) in cases {
            let mut out = Vec::new();
            JsonLines::default().write(&mut out, &n);
            assert_eq!(String::from_utf8(out).unwrap(), format!("{value}\n"));
        }
    }

    fn status_error() -> ClientError {
        ClientError::Status {
            status: 400,
            content_type: Some("application/json".into()),
            body: bytes::Bytes::from_static(b"{\"error\":\"bad\xff\"}"),
        }
    }

    /// With `--max-error-body`, a failed response's content type and kept
    /// body (invalid UTF-8 replaced) are on its error line.
    #[test]
    fn error_bodies_on_request() {
        let lines = |error: ClientError| {
            let mut out = Vec::new();
            let mut json = JsonLines {
                error_bodies: true,
                ..JsonLines::default()
            };
            json.write(
                &mut out,
                &Notification::Error {
                    reconnecting: false,
                    error,
                },
            );
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            lines(status_error()),
            format!(
                "{}\n",
                json!({"kind": "error", "reconnecting": false, "reason": "status",
                       "status": 400, "content_type": "application/json",
                       "error_body": "{\"error\":\"bad\u{fffd}\"}",
                       "message": "unexpected status 400"})
            )
        );
        let wrong_type = ClientError::ContentType {
            content_type: None,
            body: bytes::Bytes::new(),
        };
        let line = lines(wrong_type);
        assert!(
            line.contains(r#""status":200,"content_type":null,"error_body":"","#),
            "{line}"
        );
        // Errors without a response have neither.
        let line = lines(ClientError::ConnectTimeout);
        assert!(!line.contains("error_body"), "{line}");
    }

    #[test]
    fn escapes_at_every_offset_of_a_word() {
        for len in 0..24 {
            for at in 0..len {
                for special in ["\"", "\\", "\n", "\u{1}", "\u{1f}", "é"] {
                    let mut text: String = "abcdefghijklmnopqrstuvwx"[..len].into();
                    text.replace_range(at..at + 1, special);
                    text.push_str(special);
                    let mut out = Vec::new();
                    json_str(&mut out, text.as_bytes());
                    assert_eq!(out, serde_json::to_vec(&text).unwrap(), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn every_character_class_is_escaped_as_serde_json_does() {
        let all: String = (0u32..0x800)
            .chain([0xFFFD, 0x1F600, 0x2028])
            .filter_map(char::from_u32)
            .collect();
        let mut out = Vec::new();
        json_str(&mut out, all.as_bytes());
        assert_eq!(out, serde_json::to_vec(&all).unwrap());
    }

    #[test]
    fn readable_lines() {
        let mut out = Vec::new();
        write_readable(&mut out, &message("tick", "a\nb", "3"));
        write_readable(&mut out, &message("message", "x", ""));
        write_readable(&mut out, &Notification::Comment(" ping".into()));
        write_readable(&mut out, &Notification::Open);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[tick id=3] a\n    b\n[message] x\n: ping\n"
        );
    }
}
