//! What `sse listen` prints: one line per notification, written straight
//! into a buffered standard output (no intermediate JSON value, no flush
//! per line). The caller flushes when the stream has nothing more to give
//! without waiting — once the socket read is drained — so a line appears as
//! soon as the read that carried it is handled, and a burst costs one
//! write.
//!
//! `--json` lines (stable: the conformance client protocol reads them):
//! `{"kind":"open"}`, `{"kind":"message","type","data","id","origin"}`,
//! `{"kind":"error","reconnecting","message"}`, `{"kind":"closed"}`,
//! `{"kind":"parse_error","message"}` and, with `--comments`,
//! `{"kind":"comment","text"}`. Strings are escaped by `serde_json`, so the
//! bytes are those `serde_json` gives for the same object.
//!
//! Readable lines: messages as `[type id=…] data` (continuation lines
//! indented) and comments as `:text`, as on the wire, on stdout; the
//! connection's status on stderr.

use std::io::{self, BufWriter, StdoutLock, Write};

use sse_core::client::{MessageEvent, Notification};

/// Standard output buffer size: a read's worth of events per write.
const BUFFER: usize = 64 * 1024;

/// Writes notifications as lines.
pub struct Output {
    out: BufWriter<StdoutLock<'static>>,
    json: bool,
}

impl Output {
    /// Lines on this process's standard output, JSON or readable.
    pub fn stdout(json: bool) -> Output {
        Output {
            out: BufWriter::with_capacity(BUFFER, io::stdout().lock()),
            json,
        }
    }

    /// Writes the line for `n`, if it has one. Errors are those of
    /// standard output (a closed pipe).
    pub fn write(&mut self, n: &Notification) -> io::Result<()> {
        if self.json {
            write_json(&mut self.out, n)
        } else {
            write_readable(&mut self.out, n)
        }
    }

    /// Hands what was written to the reader.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A JSON string, escaped as `serde_json` escapes it.
fn json_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(out, s).map_err(io::Error::from)
}

fn write_json(out: &mut impl Write, n: &Notification) -> io::Result<()> {
    match n {
        Notification::Open => out.write_all(b"{\"kind\":\"open\"}\n"),
        Notification::Message(m) => write_json_message(out, m),
        Notification::Error {
            reconnecting,
            error,
        } => {
            let head: &[u8] = if *reconnecting {
                b"{\"kind\":\"error\",\"reconnecting\":true,\"message\":"
            } else {
                b"{\"kind\":\"error\",\"reconnecting\":false,\"message\":"
            };
            out.write_all(head)?;
            json_str(out, &error.to_string())?;
            out.write_all(b"}\n")
        }
        Notification::Closed => out.write_all(b"{\"kind\":\"closed\"}\n"),
        Notification::ParseError(e) => {
            out.write_all(b"{\"kind\":\"parse_error\",\"message\":")?;
            json_str(out, &e.to_string())?;
            out.write_all(b"}\n")
        }
        Notification::Comment(text) => {
            out.write_all(b"{\"kind\":\"comment\",\"text\":")?;
            json_str(out, text.as_str())?;
            out.write_all(b"}\n")
        }
        _ => Ok(()),
    }
}

fn write_json_message(out: &mut impl Write, m: &MessageEvent) -> io::Result<()> {
    out.write_all(b"{\"kind\":\"message\",\"type\":")?;
    json_str(out, m.event.event_type.as_str())?;
    out.write_all(b",\"data\":")?;
    json_str(out, m.event.data.as_str())?;
    out.write_all(b",\"id\":")?;
    json_str(out, m.event.id.as_str())?;
    out.write_all(b",\"origin\":")?;
    json_str(out, m.origin.as_str())?;
    out.write_all(b"}\n")
}

fn write_readable(out: &mut impl Write, n: &Notification) -> io::Result<()> {
    let status = match n {
        Notification::Message(m) => {
            out.write_all(b"[")?;
            out.write_all(m.event.event_type.as_bytes())?;
            if !m.event.id.is_empty() {
                out.write_all(b" id=")?;
                out.write_all(m.event.id.as_bytes())?;
            }
            out.write_all(b"] ")?;
            let mut lines = m.event.data.as_str().split('\n');
            out.write_all(lines.next().unwrap_or_default().as_bytes())?;
            for line in lines {
                out.write_all(b"\n    ")?;
                out.write_all(line.as_bytes())?;
            }
            return out.write_all(b"\n");
        }
        Notification::Comment(text) => {
            out.write_all(b":")?;
            out.write_all(text.as_bytes())?;
            return out.write_all(b"\n");
        }
        Notification::Open => "* open".to_string(),
        Notification::Error {
            reconnecting: true,
            error,
        } => format!("* {error}; reconnecting"),
        Notification::Closed => "* closed".into(),
        Notification::ParseError(e) => format!("* skipped: {e}"),
        _ => return Ok(()),
    };
    // Status lines are not part of the output: stderr, unbuffered. A
    // closed stderr is no reason to stop.
    let _ = writeln!(io::stderr(), "{status}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sse_core::client::{ClientError, TransportError};
    use sse_core::parse::{Event, ParseError};

    fn message(event_type: &str, data: &str, id: &str) -> Notification {
        let mut event = Event::message(data.to_string());
        event.event_type = event_type.to_string().into();
        event.id = id.to_string().into();
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
                json!({"kind": "error", "reconnecting": true,
                       "message": "stream broken: connection reset"}),
            ),
            (
                Notification::Error {
                    reconnecting: false,
                    error: ClientError::TooManyRedirects { limit: 10 },
                },
                json!({"kind": "error", "reconnecting": false,
                       "message": "more than 10 redirects"}),
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
            write_json(&mut out, &n).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), format!("{value}\n"));
        }
    }

    #[test]
    fn readable_lines() {
        let mut out = Vec::new();
        write_readable(&mut out, &message("tick", "a\nb", "3")).unwrap();
        write_readable(&mut out, &message("message", "x", "")).unwrap();
        write_readable(&mut out, &Notification::Comment(" ping".into())).unwrap();
        write_readable(&mut out, &Notification::Open).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[tick id=3] a\n    b\n[message] x\n: ping\n"
        );
    }
}
