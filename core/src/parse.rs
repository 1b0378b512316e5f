//! `text/event-stream` parsing: bytes in, lines and events out.
//!
//! Two layers, both sans-I/O and push/pull like the rest of the core:
//!
//! - [`Tokenizer`]: bytes → [`Line`]s (fields, comments, blank lines). It does
//!   BOM stripping, CR / LF / CRLF line splitting (including a CR at the end of
//!   one chunk and an LF at the start of the next), the field/value split and
//!   the one-space rule. Use it when you need comments or raw fields; it is the
//!   counterpart of the Go seed's `bufio.SplitFunc`.
//! - [`Parser`]: lines → [`Event`]s, the complete WHATWG HTML "event stream
//!   interpretation" (§9.2.6): `data` / `event` / `id` / `retry`, dispatch on a
//!   blank line, the last event ID, U+FFFD for invalid UTF-8, and the
//!   unfinished event dropped at end of stream.
//!
//! Feed bytes with `handle_bytes` in chunks of any size, then drain with
//! `poll_line` / `poll_event` until it returns `None`. Results never depend on
//! how the input was chunked.
//!
//! ```
//! use sse_core::parse::Parser;
//!
//! let mut parser = Parser::new();
//! parser.handle_bytes(b"id: 7\nevent: greet\ndata: hello\r");
//! parser.handle_bytes(b"\ndata: world\n\n");
//! let event = parser.poll_event().unwrap().unwrap();
//! assert_eq!(event.event_type(), "greet");
//! assert_eq!(event.data(), "hello\nworld");
//! assert_eq!(event.id(), "7");
//! assert!(parser.poll_event().is_none());
//! ```
//!
//! # Zero copy
//!
//! Input is copied once into an internal buffer; lines and field values are
//! [`Bytes`] slices of that buffer, and an [`Event`] is one shared handle to
//! it plus where its type, data and ID lie (a field from elsewhere, such as
//! an ID read from an earlier input, is a handle of its own). Once the
//! buffer has warmed up, an event whose data is one `data:` line costs no
//! heap allocation and one reference count update. Multi-line data is
//! joined into a reused scratch buffer, with the event's type and a short ID
//! copied after it, so that event is one handle too; once an event's data is
//! being joined, the `data:` lines that follow are copied from the input
//! straight into it, without going through the buffer.
//!
//! Line ends are found for a whole chunk at once, 64 bytes at a time: with
//! AVX-512 or AVX2 on x86-64 CPUs that have them (detected at run time,
//! feature `std`), SSE2 on other x86 targets, portable code elsewhere; no
//! `unsafe` in this crate.
//!
//! # Limits
//!
//! Memory is bounded by [`Limits`]:
//!
//! - a line longer than [`Limits::max_line_len`] bytes (terminator excluded)
//!   is skipped without being buffered past the limit, and reported as
//!   [`ParseError::LineTooLong`] (the event it belongs to is dropped) or
//!   [`ParseError::CommentTooLong`] (nothing else is affected);
//! - an event whose data would exceed [`Limits::max_event_size`] bytes (as
//!   read, or once invalid UTF-8 is replaced by 3-byte U+FFFD) is
//!   reported as [`ParseError::EventTooLarge`] and dropped.
//!
//! A dropped event still ends at its blank line, which still commits the last
//! event ID (so a reconnecting client does not ask for the dropped event
//! again and again). Parsing carries on with the next event. Whether an input
//! exceeds a limit depends only on the input, never on the chunking.
//!
//! The internal buffer holds at most `max_line_len` bytes of an unfinished line
//! plus the lines of the last chunk that have not been polled yet: drain the
//! outputs after each `handle_bytes`.
//!
//! # `retry`
//!
//! A `retry` value counts only when it is one or more ASCII digits. A value
//! too large for a `u64` of milliseconds is ignored, as Chromium does. An
//! empty value is ignored, as Firefox does.

use alloc::vec::Vec;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use core::fmt;

use crate::text::Utf8Bytes;
use event::Part;
use line_ends::LineEnds;

pub use event::Event;

mod event;
mod line_ends;

/// The UTF-8 byte order mark, stripped once at the start of a stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Capacity reserved at a time for copies of event IDs and types.
const SMALL_STORE_SIZE: usize = 1024;

/// The longest last event ID copied next to joined data, so that the event
/// is one handle; a longer one is shared with a handle of its own (an ID is
/// repeated in every event until the next `id` field: copying a long one
/// each time would cost more than the reference count).
const COPIED_ID_MAX: usize = 64;

/// The most the scratch buffer reserves ahead for joined data. If the
/// application still holds the previous event, the reservation allocates, so
/// it stays within what the buffer would allocate anyway.
const JOINED_HINT_MAX: usize = 128 * 1024;

/// The size of the fixed block in which `data` values of a run are copied
/// (see `Tokenizer::append_data_run`).
const RUN_COPY: usize = 128;

/// The least spare capacity of the joined data that the fast copy of
/// `data` runs (`DataRun::append_lf`) works in before growing the buffer.
const MIN_RUN_ROOM: usize = 8 * RUN_COPY;

/// The event type used when a block sets none.
const MESSAGE: Utf8Bytes = Utf8Bytes::from_static("message");

/// Memory limits for one stream.
///
/// The defaults are generous and consistent (16 MiB for a line and for an
/// event, so a single `data:` line may be as large as a whole event, as
/// feature-flag and document streams send them): they stop a broken or
/// hostile peer from exhausting memory without getting in the way of large
/// JSON payloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted line in bytes, excluding its terminator.
    pub max_line_len: usize,
    /// Largest accepted event data in bytes (all `data` values plus the line
    /// feeds that join them).
    pub max_event_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_len: 16 << 20,
            max_event_size: 16 << 20,
        }
    }
}

/// A recoverable problem in the input stream. Parsing continues after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// A field line was longer than `limit` bytes; it was skipped and the
    /// event it belongs to is dropped.
    LineTooLong {
        /// The configured [`Limits::max_line_len`].
        limit: usize,
    },
    /// A comment line was longer than `limit` bytes; it was skipped.
    CommentTooLong {
        /// The configured [`Limits::max_line_len`].
        limit: usize,
    },
    /// An event's data grew past `limit` bytes; the event is dropped.
    EventTooLarge {
        /// The configured [`Limits::max_event_size`].
        limit: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::LineTooLong { limit } => {
                write!(f, "line longer than {limit} bytes; its event was dropped")
            }
            ParseError::CommentTooLong { limit } => {
                write!(f, "comment longer than {limit} bytes was skipped")
            }
            ParseError::EventTooLarge { limit } => {
                write!(
                    f,
                    "event data larger than {limit} bytes; the event was dropped"
                )
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ParseError {}

/// One line of an event stream, as split by the [`Tokenizer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// An empty line: the end of an event block.
    Blank,
    /// A line starting with `:`. Holds everything after the colon, unchanged.
    Comment(Bytes),
    /// A field. `name` is everything before the first colon (the whole line
    /// when there is none); `value` is everything after it, minus one leading
    /// U+0020 SPACE if present. Both are raw bytes: they may hold invalid
    /// UTF-8, which [`Parser`] replaces with U+FFFD.
    Field {
        /// The field name, compared byte for byte (case-sensitive).
        name: Bytes,
        /// The field value.
        value: Bytes,
    },
}

/// Splits a byte stream into [`Line`]s.
///
/// Push bytes with [`Tokenizer::handle_bytes`], pull lines with
/// [`Tokenizer::poll_line`], call [`Tokenizer::handle_eof`] at the end of the
/// stream and [`Tokenizer::reset`] before the next one.
///
/// Internally, the complete lines of the input are frozen into one shared
/// [`Bytes`] region at a time and walked with an index, so a line costs no
/// buffer bookkeeping and only the values a caller keeps become handles. The
/// line ends are found in one vectorised pass over each input chunk as it
/// arrives (a bitmap of its CR and LF bytes), not with a search per line.
/// The unfinished last line waits in a growable buffer for the rest of it.
#[derive(Debug)]
pub struct Tokenizer {
    /// Complete lines (the region ends with a line terminator).
    lines: Bytes,
    /// The CR and LF bytes of `lines`.
    ends: LineEnds,
    /// The CR and LF bytes of `buf`, marked as input arrives.
    buf_ends: LineEnds,
    /// The CR and LF bytes of the input, for `direct_data_run`.
    input_ends: LineEnds,
    /// Where the next line starts in `lines`.
    pos: usize,
    /// Where the line after the one found by `next_line` starts.
    next: usize,
    /// `lines[..valid]` is known to be valid UTF-8 up to a character
    /// boundary (or, past an invalid line, where checking resumes).
    valid: usize,
    /// Input after `lines`: an unfinished line, or lines not frozen yet.
    buf: BytesMut,
    /// Length of the prefix of `buf` known to hold no CR or LF.
    scanned: usize,
    /// How much of the front of `buf` the marking pass found all ASCII, and
    /// free of CR.
    clean: CleanPrefix,
    /// Every line of `lines` ends with LF (no CR in it): `data` runs in it
    /// can take the fast copy of [`DataRun::append_lf`].
    lines_lf_only: bool,
    /// The stream start has not been checked for a BOM yet.
    bom_pending: bool,
    /// The last line of `lines` ended with CR: an LF at the start of `buf`
    /// completes a CRLF.
    after_cr: bool,
    /// Inside an over-long line: bytes are dropped until its end.
    skipping: bool,
    /// The end of the stream was signalled.
    eof: bool,
    max_line_len: usize,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Tokenizer::new(Limits::default().max_line_len)
    }
}

impl Tokenizer {
    /// A tokenizer that rejects lines longer than `max_line_len` bytes.
    pub fn new(max_line_len: usize) -> Self {
        Tokenizer {
            lines: Bytes::new(),
            ends: LineEnds::default(),
            buf_ends: LineEnds::default(),
            input_ends: LineEnds::default(),
            pos: 0,
            next: 0,
            valid: 0,
            buf: BytesMut::new(),
            scanned: 0,
            clean: CleanPrefix::default(),
            lines_lf_only: false,
            bom_pending: true,
            after_cr: false,
            skipping: false,
            eof: false,
            max_line_len,
        }
    }

    /// Appends bytes of the stream. Call [`Tokenizer::poll_line`] until it
    /// returns `None` before the next call, or the buffer keeps those lines.
    ///
    /// Bytes after [`Tokenizer::handle_eof`] are ignored until
    /// [`Tokenizer::reset`].
    pub fn handle_bytes(&mut self, mut input: &[u8]) {
        if self.eof {
            return;
        }
        if self.skipping && self.buf.is_empty() {
            // Drop the rest of an over-long line without buffering it.
            match memchr::memchr2(b'\r', b'\n', input) {
                Some(end) => input = &input[end..],
                None => return,
            }
        }
        if self.pos >= self.lines.len() {
            // Done with: released before `reserve`, which can then reuse
            // its memory instead of allocating.
            self.release_lines();
        }
        // Marking the line ends reads a piece from memory (overlapping the
        // reads with its own work); the copy then reads it from cache.
        // Piece by piece, so that a large input is not read from memory
        // twice.
        self.buf.reserve(input.len());
        for piece in input.chunks(line_ends::PIECE) {
            let seen = self.buf_ends.push(self.buf.len(), piece);
            self.clean.append(self.buf.len(), piece.len(), seen);
            self.buf.extend_from_slice(piece);
        }
    }

    /// Marks the end of the stream. A final line without a terminator is
    /// discarded, as the specification requires. Repeating it changes nothing.
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// Bytes held for lines not returned yet. At most
    /// [`Limits::max_line_len`] plus the size of the input not yet drained.
    pub fn buffered_len(&self) -> usize {
        self.lines.len() + self.buf.len()
    }

    /// Whether [`Tokenizer::handle_eof`] was called since the last reset.
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// Forgets the current stream and expects a new one (with its own BOM).
    /// Keeps the buffer's memory for reuse.
    pub fn reset(&mut self) {
        self.release_lines();
        self.clear_buf();
        self.bom_pending = true;
        self.after_cr = false;
        self.skipping = false;
        self.eof = false;
    }

    /// The next complete line, a limit error, or `None` when more input is
    /// needed (or the stream has ended).
    pub fn poll_line(&mut self) -> Option<Result<Line, ParseError>> {
        let len = match self.next_line()? {
            Ok(len) => len,
            Err(err) => return Some(Err(err)),
        };
        let line = match split_field(self.line(len)) {
            None => {
                self.skip_line();
                Line::Blank
            }
            Some((0, _)) => Line::Comment(self.take_line(len, 1)),
            Some((colon, value_start)) => {
                let name = self.lines.slice(self.pos..self.pos + colon);
                let value = self.take_line(len, value_start);
                return Some(Ok(Line::Field { name, value }));
            }
        };
        Some(Ok(line))
    }

    /// Finds the next complete line and returns its length (terminator
    /// excluded). The line is [`Tokenizer::line`]`(len)`; the caller must then
    /// call [`Tokenizer::take_line`] or [`Tokenizer::skip_line`].
    #[inline(always)]
    fn next_line(&mut self) -> Option<Result<usize, ParseError>> {
        if self.pos < self.lines.len() {
            return Some(self.find_line());
        }
        self.next_region()
    }

    /// Whether a line is left in the current region (else `next_line`
    /// releases the region and takes the complete lines buffered since).
    #[inline(always)]
    fn in_region(&self) -> bool {
        self.pos < self.lines.len()
    }

    /// The current region: the complete lines being walked.
    fn region(&self) -> &[u8] {
        &self.lines
    }

    /// `next_line` once the current region is used up: once per chunk, so
    /// kept out of the per-line path.
    #[inline(never)]
    fn next_region(&mut self) -> Option<Result<usize, ParseError>> {
        loop {
            if let Err(err) = self.refill()? {
                return Some(Err(err));
            }
            if self.pos < self.lines.len() {
                return Some(self.find_line());
            }
        }
    }

    /// Finds the line that starts at `pos` (there is one: `lines` ends with
    /// a terminator) and where the line after it starts.
    #[inline(always)]
    fn find_line(&mut self) -> Result<usize, ParseError> {
        let last = self.lines.len() - 1;
        let end = self.ends.next(self.pos).unwrap_or(last);
        let mut next = end + 1;
        if self.lines[end] == b'\r' {
            match self.lines.get(next) {
                Some(b'\n') => next += 1,
                Some(_) => {}
                None => self.after_cr = true,
            }
        }
        self.next = next;
        let len = end - self.pos;
        if len > self.max_line_len {
            let err = self.too_long_error(self.lines[self.pos]);
            self.pos = next;
            return Err(err);
        }
        Ok(len)
    }

    /// Replaces the consumed region with the complete lines of `buf`:
    /// `None` when there are none yet, an error when the unfinished line has
    /// grown past the limit (it is then skipped up to its end).
    fn refill(&mut self) -> Option<Result<(), ParseError>> {
        loop {
            self.release_lines();
            if self.after_cr {
                let first = *self.buf.first()?;
                if first == b'\n' {
                    self.advance_buf(1);
                }
                self.after_cr = false;
            }
            if self.bom_pending {
                let n = self.buf.len().min(BOM.len());
                if self.buf[..n] != BOM[..n] {
                    self.bom_pending = false;
                } else if n == BOM.len() {
                    self.advance_buf(n);
                    self.bom_pending = false;
                } else {
                    return self.wait();
                }
            }
            if self.skipping {
                let Some(end) = self.buf_ends.next(self.scanned) else {
                    self.clear_buf();
                    return self.wait();
                };
                self.after_cr = self.buf[end] == b'\r';
                self.advance_buf(end + 1);
                self.skipping = false;
                continue;
            }
            let Some(last) = self.buf_ends.last(self.scanned) else {
                self.scanned = self.buf.len();
                if self.buf.len() > self.max_line_len {
                    let err = self.too_long_error(self.buf[0]);
                    self.clear_buf();
                    self.skipping = true;
                    return Some(Err(err));
                }
                return self.wait();
            };
            self.lines = self.buf.split_to(last + 1).freeze();
            if self.clean.ascii > last {
                self.valid = self.lines.len();
            }
            self.lines_lf_only = self.clean.lf_only > last;
            self.clean.advance(last + 1);
            // The rest of `buf` holds no line end: its bitmap starts empty.
            core::mem::swap(&mut self.ends, &mut self.buf_ends);
            self.buf_ends.clear();
            self.scanned = 0;
            return Some(Ok(()));
        }
    }

    /// Drops `n` bytes from the front of `buf`.
    fn advance_buf(&mut self, n: usize) {
        self.buf.advance(n);
        self.buf_ends.advance(n);
        self.scanned = self.scanned.saturating_sub(n);
        self.clean.advance(n);
    }

    /// The value of the line found by `next_line`, from `start` on.
    fn value(&self, len: usize, start: usize) -> &[u8] {
        self.line(len).get(start..).unwrap_or_default()
    }

    /// Where the value of the line found by `next_line` lies in the region,
    /// from `start` on.
    #[inline]
    fn span(&self, len: usize, start: usize) -> Span {
        Span {
            start: self.pos + start.min(len),
            end: self.pos + len,
        }
    }

    /// A handle to `span` of the current region.
    #[inline]
    fn slice(&self, span: Span) -> Bytes {
        self.lines.slice(span.start..span.end)
    }

    /// The line found by `next_line`.
    #[inline]
    fn line(&self, len: usize) -> &[u8] {
        self.lines.get(self.pos..self.pos + len).unwrap_or_default()
    }

    /// Consumes the line found by `next_line` and returns its bytes from
    /// `start` on, shared with the input (no copy).
    fn take_line(&mut self, len: usize, start: usize) -> Bytes {
        let value = self.lines.slice(self.pos + start.min(len)..self.pos + len);
        self.pos = self.next;
        value
    }

    /// Consumes the line found by `next_line`.
    #[inline]
    fn skip_line(&mut self) {
        self.pos = self.next;
    }

    /// Appends the values of the `data` lines that follow in the current
    /// region to `joined`, each followed by LF, and consumes them: the bulk
    /// path for events of many `data` lines, which skips the general
    /// per-line dispatch (see [`DataRun`]). Stops, leaving the line to the
    /// general path, at a line that is not valid UTF-8 too.
    ///
    /// A region whose lines all end with LF, that is valid UTF-8 and that
    /// cannot take the data past a limit gets the fast copy of
    /// [`DataRun::append_lf`] first.
    fn append_data_run(&mut self, joined: &mut BytesMut, data_len: &mut usize, limit: usize) {
        self.validate_rest();
        let mut run = DataRun::new(joined, *data_len, limit, self.max_line_len);
        let rest = self.lines.len().saturating_sub(self.pos);
        if self.lines_lf_only
            && self.valid >= self.lines.len()
            && run.data_len.saturating_add(rest) <= limit
            && rest <= self.max_line_len
        {
            self.pos = run.append_lf(&self.lines, &self.ends, self.pos, self.lines.len());
        }
        self.pos = run.append(&self.lines, &self.ends, self.pos, self.valid);
        *data_len = run.data_len;
        self.after_cr |= run.after_cr;
    }

    /// The `data` lines at the start of `input`, appended to `joined` (each
    /// value followed by LF) without going through the buffer: for a block
    /// whose data is already being joined, most of a large event's input
    /// is copied once, into the joined data, and never into the buffer.
    /// An unfinished line held in the buffer is completed from `input`
    /// first, if it is a `data` line. Returns how much of `input` it
    /// consumed (the rest goes through [`Tokenizer::handle_bytes`]) and
    /// whether what it appended is valid UTF-8.
    ///
    /// Only when the current region is used up, the buffer holds at most
    /// one unfinished line, and the stream has started (BOM checked), is
    /// not over and is not skipping a long line: otherwise it consumes
    /// nothing. Stops at anything but a complete `data` line within the
    /// limits, as [`DataRun`] does, leaving it to the general path.
    fn direct_data_run(
        &mut self,
        input: &[u8],
        joined: &mut BytesMut,
        data_len: &mut usize,
        limit: usize,
    ) -> (usize, bool) {
        if self.pos < self.lines.len()
            || self.eof
            || self.skipping
            || self.bom_pending
            || self.buf_ends.next(0).is_some()
        {
            return (0, true);
        }
        let at = joined.len();
        let mut consumed = 0;
        if self.after_cr && self.buf.is_empty() {
            let Some(&first) = input.first() else {
                return (0, true);
            };
            consumed = usize::from(first == b'\n');
            self.after_cr = false;
        }
        let mut run = DataRun::new(joined, *data_len, limit, self.max_line_len);
        let mut ascii = true;
        if !self.buf.is_empty() {
            let Some(end) = memchr::memchr2(b'\r', b'\n', input) else {
                return (0, true);
            };
            if !run.complete(&self.buf, &input[..=end]) {
                return (0, true);
            }
            ascii = self.buf.is_ascii() && input[..end].is_ascii();
            self.clear_buf();
            consumed = end + 1;
            if input[end] == b'\r' {
                match input.get(consumed) {
                    Some(b'\n') => consumed += 1,
                    Some(_) => {}
                    None => run.after_cr = true,
                }
            }
        }
        if !input[consumed..].starts_with(b"data:") {
            // Nothing (more) to append: the rest is for the general path,
            // which marks it itself.
            *data_len = run.data_len;
            self.after_cr = run.after_cr;
            return (
                consumed,
                ascii || simdutf8::basic::from_utf8(&run.joined[at..]).is_ok(),
            );
        }
        // Marked piece by piece, so that a large input is read from memory
        // once: by the marking, then by the copy from cache.
        let input_ends = &mut self.input_ends;
        input_ends.clear();
        let mut marked = consumed;
        // Nothing in the input can break a limit: no checks per line.
        let unchecked =
            run.data_len.saturating_add(input.len()) <= limit && input.len() <= self.max_line_len;
        loop {
            let piece_end = (marked + line_ends::PIECE).min(input.len());
            let seen = input_ends.push(marked, &input[marked..piece_end]);
            ascii &= seen.ascii;
            marked = piece_end;
            if unchecked && seen.no_cr {
                consumed = run.append_lf(input, input_ends, consumed, marked);
            }
            // What the fast copy left (a CR, a long line, no room): line
            // by line.
            consumed = run.append(input, input_ends, consumed, usize::MAX);
            let stopped_early = input.get(consumed..).is_some_and(|rest| {
                input_ends.next(consumed).is_some() || !rest.starts_with(b"data:")
            });
            if stopped_early || marked == input.len() {
                break;
            }
        }
        *data_len = run.data_len;
        self.after_cr = run.after_cr;
        let appended = &run.joined[at..];
        let valid = ascii || simdutf8::basic::from_utf8(appended).is_ok();
        (consumed, valid)
    }

    /// Validates the rest of the region as UTF-8, up to its first invalid
    /// byte, unless that was done already.
    fn validate_rest(&mut self) {
        if self.valid < self.lines.len() {
            self.is_valid_utf8(self.lines.len() - self.pos.min(self.lines.len()));
        }
    }

    /// Whether the line found by `next_line` is valid UTF-8. Checks all the
    /// complete lines at once, so a chunk costs one validation pass, not one
    /// per field; each pass stops at the first invalid byte and records how
    /// far the input is good, so every byte is checked a bounded number of
    /// times.
    #[inline]
    fn is_valid_utf8(&mut self, len: usize) -> bool {
        let end = self.pos + len;
        if end <= self.valid {
            return true;
        }
        let from = self.valid.max(self.pos);
        let rest = &self.lines[from..];
        // The fast check first; where the input stops being valid only
        // when it is not.
        self.valid = if simdutf8::basic::from_utf8(rest).is_ok() {
            self.lines.len()
        } else {
            from + simdutf8::compat::from_utf8(rest)
                .map_or_else(|e| e.valid_up_to(), |_| rest.len())
        };
        end <= self.valid
    }

    /// Drops the consumed region so its memory can be reused.
    fn release_lines(&mut self) {
        self.lines = Bytes::new();
        self.ends.clear();
        self.pos = 0;
        self.next = 0;
        self.valid = 0;
        self.lines_lf_only = false;
    }

    fn clear_buf(&mut self) {
        self.buf.clear();
        self.buf_ends.clear();
        self.scanned = 0;
        self.clean = CleanPrefix::default();
    }

    /// `None`, dropping an unterminated last line if the stream has ended.
    fn wait<T>(&mut self) -> Option<T> {
        if self.eof {
            self.clear_buf();
        }
        None
    }

    fn too_long_error(&self, first: u8) -> ParseError {
        let limit = self.max_line_len;
        if first == b':' {
            ParseError::CommentTooLong { limit }
        } else {
            ParseError::LineTooLong { limit }
        }
    }
}

/// How long a prefix of the tokenizer's buffer its marking pass found all
/// ASCII (so valid UTF-8 without a validation pass) and free of CR (so
/// every line in it ends with LF). Each prefix grows only while every piece
/// appended so far had the property.
#[derive(Debug, Default)]
struct CleanPrefix {
    ascii: usize,
    lf_only: usize,
}

impl CleanPrefix {
    /// A piece of `len` bytes was appended to a buffer of `at` bytes, and
    /// its marking saw `seen`.
    fn append(&mut self, at: usize, len: usize, seen: line_ends::Seen) {
        if seen.ascii && self.ascii == at {
            self.ascii += len;
        }
        if seen.no_cr && self.lf_only == at {
            self.lf_only += len;
        }
    }

    /// `n` bytes were dropped from the front of the buffer.
    fn advance(&mut self, n: usize) {
        self.ascii = self.ascii.saturating_sub(n);
        self.lf_only = self.lf_only.saturating_sub(n);
    }
}

/// Appends runs of `data:` lines to a block's joined data, each value
/// followed by LF: the bulk path for events of many `data` lines. It stops,
/// leaving the line to the general per-line path, at the first line that
/// is not a `data:` field, at a line over the length limit, at a value that
/// would take the data past `limit` bytes and at the end of the marked
/// input.
///
/// A value and its terminator that fit in [`RUN_COPY`] bytes are copied as
/// one block of that fixed size, which compiles to a few vector moves
/// instead of a call to `memcpy`; the bytes copied past the terminator are
/// cut off again and the terminator is replaced with LF.
struct DataRun<'a> {
    joined: &'a mut BytesMut,
    /// Length of the joined data (the values and the LFs between them).
    data_len: usize,
    limit: usize,
    max_line_len: usize,
    /// The last line appended ended with a CR at the end of the input: an
    /// LF that starts the next input completes it.
    after_cr: bool,
}

impl<'a> DataRun<'a> {
    /// A run appending to `joined`, which holds `data_len` bytes of data.
    fn new(joined: &'a mut BytesMut, data_len: usize, limit: usize, max_line_len: usize) -> Self {
        DataRun {
            joined,
            data_len,
            limit,
            max_line_len,
            after_cr: false,
        }
    }

    /// Appends the `data` lines of `lines` from `pos` on, whose line ends
    /// are marked in `ends`, up to `valid` (lines past it are left to the
    /// general path); returns where it stopped.
    fn append(&mut self, lines: &[u8], ends: &LineEnds, mut pos: usize, valid: usize) -> usize {
        let mut len_so_far = self.data_len;
        while let Some(rest) = lines.get(pos..) {
            if !rest.starts_with(b"data:") {
                break;
            }
            let Some(end) = ends.next(pos) else {
                break;
            };
            let len = end - pos;
            // The space is part of the line only if it comes before the end.
            let start = 5 + usize::from(rest[5] == b' ');
            let new_len = len_so_far + 1 + (len - start.min(len));
            if len > self.max_line_len || new_len > self.limit || end > valid {
                break;
            }
            let from = pos + start.min(len);
            let copied = end + 1 - from;
            let at = self.joined.len();
            match lines.get(from..from + RUN_COPY) {
                Some(block) if copied <= RUN_COPY => {
                    self.joined.extend_from_slice(block);
                    self.joined.truncate(at + copied);
                }
                _ => self.joined.extend_from_slice(&lines[from..=end]),
            }
            let terminator = lines[end];
            if let Some(last) = self.joined.last_mut() {
                *last = b'\n';
            }
            len_so_far = new_len;
            pos = end + 1;
            if terminator == b'\r' {
                match lines.get(pos) {
                    Some(b'\n') => pos += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.data_len = len_so_far;
        pos
    }

    /// [`DataRun::append`] for lines that end with LF and cannot break a
    /// limit: no byte of `lines` from the line at `pos` to the last line
    /// end marked in `ends` is CR, and adding every byte of `lines` to the
    /// data would not reach a limit. `marked` is where the marked input
    /// ends. Each value is copied with its LF as a fixed-size block into
    /// room made once for all of them (zero-filled: safe code cannot write
    /// into spare capacity), each block starting where the last value
    /// ended; the room left over is cut off at the end. Keeping the write
    /// position in a register, instead of the buffer's length in memory,
    /// pays for the zero fill.
    fn append_lf(&mut self, lines: &[u8], ends: &LineEnds, pos: usize, marked: usize) -> usize {
        let base = self.joined.len();
        // Every value copied ends at a marked line end, so this much room
        // is enough; it is taken from the spare capacity only, so that
        // this path never makes the buffer grow (the general path does,
        // a line at a time, when the block outgrows what was reserved).
        let needed = marked.saturating_sub(pos) + RUN_COPY;
        let room = needed.min(self.joined.capacity() - base);
        if room < MIN_RUN_ROOM.min(needed) {
            return pos;
        }
        self.joined.resize(base + room, 0);
        let (pos, len) = line_ends::widest(CopyLfValues {
            lines,
            ends,
            pos,
            out: &mut self.joined[base..],
        });
        self.joined.truncate(base + len);
        self.data_len += len;
        pos
    }

    /// Appends the line made of `head` (an unfinished line, no line end)
    /// and `tail` (the rest of it, ending with its terminator) if it is a
    /// `data:` line within the limits; `false` (and nothing appended) if
    /// not.
    fn complete(&mut self, head: &[u8], tail: &[u8]) -> bool {
        let len = head.len() + tail.len() - 1;
        let byte = |i: usize| head.get(i).or_else(|| tail.get(i - head.len())).copied();
        let is_data = (0..5).all(|i| byte(i) == Some(b"data:"[i]));
        let start = 5 + usize::from(byte(5) == Some(b' '));
        if !is_data || len > self.max_line_len {
            return false;
        }
        let new_len = self.data_len + 1 + (len - start.min(len));
        if new_len > self.limit {
            return false;
        }
        let (head_from, tail_from) = match start.checked_sub(head.len()) {
            None => (start, 0),
            Some(skip) => (head.len(), skip),
        };
        self.joined.extend_from_slice(&head[head_from..]);
        self.joined
            .extend_from_slice(&tail[tail_from.min(tail.len() - 1)..tail.len() - 1]);
        self.joined.put_u8(b'\n');
        self.data_len = new_len;
        true
    }
}

/// The loop of [`DataRun::append_lf`]: appends the values of the `data`
/// lines of `lines` from `pos` on (each with its LF, the line ends marked in
/// `ends`) to `out`, which has capacity for all of them plus [`RUN_COPY`]
/// bytes; returns where it stopped. Compiled for the widest vectors the CPU
/// has: the fixed-size copies then take half the instructions.
struct CopyLfValues<'a> {
    lines: &'a [u8],
    ends: &'a LineEnds,
    pos: usize,
    out: &'a mut [u8],
}

impl line_ends::Vectorized for CopyLfValues<'_> {
    type Output = (usize, usize);

    #[inline(always)]
    fn call(self) -> (usize, usize) {
        copy_lf_values(self.lines, self.ends, self.pos, self.out)
    }
}

/// See [`CopyLfValues`]; returns where it stopped and how much it wrote.
#[inline(always)]
fn copy_lf_values(lines: &[u8], ends: &LineEnds, mut pos: usize, out: &mut [u8]) -> (usize, usize) {
    const DATA: u64 = u64::from_le_bytes(*b"data:\0\0\0");
    let mut len = 0;
    let mut line_ends = ends.iter_from(pos);
    while let Some(head) = lines.get(pos..pos + 8) {
        let head = u64::from_le_bytes(head.try_into().unwrap_or_default());
        if head & 0xFF_FFFF_FFFF != DATA {
            break;
        }
        let Some(end) = line_ends.next() else {
            break;
        };
        // Byte 5 is the space or the first byte of the value, or the
        // line's LF: never a space then.
        let start = pos + 5 + usize::from((head >> 40) as u8 == b' ');
        let copied = end + 1 - start;
        match (
            lines.get(start..start + RUN_COPY),
            out.get_mut(len..len + RUN_COPY),
        ) {
            (Some(from), Some(to)) if copied <= RUN_COPY => to.copy_from_slice(from),
            _ => match (lines.get(start..=end), out.get_mut(len..len + copied)) {
                (Some(from), Some(to)) => to.copy_from_slice(from),
                _ => break,
            },
        }
        len += copied;
        pos = end + 1;
    }
    (pos, len)
}

/// Where a line's field name ends and its value starts: `None` for a blank
/// line, `Some((0, 1))` for a comment, `Some((name_len, value_start))` for a
/// field (`value_start` skips the colon and one space; a line without a colon
/// is all name, with an empty value past its end).
fn split_field(line: &[u8]) -> Option<(usize, usize)> {
    if line.is_empty() {
        return None;
    }
    Some(match memchr::memchr(b':', line) {
        None => (line.len(), line.len() + 1),
        Some(colon) => {
            let space = usize::from(line.get(colon + 1) == Some(&b' '));
            (colon, colon + 1 + space)
        }
    })
}

/// What a line is, as far as the interpreter cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Blank,
    Data,
    Event,
    Id,
    Retry,
    /// A comment or a field the interpreter ignores.
    Ignored,
}

/// The kind of a line and where its value starts (past the colon and one
/// space). The usual field names followed by a colon are recognised from
/// their first bytes, without searching for the colon.
#[inline]
fn classify(line: &[u8]) -> (Field, usize) {
    let value_start = |colon: usize| colon + 1 + usize::from(line.get(colon + 1) == Some(&b' '));
    if line.starts_with(b"data:") {
        return (Field::Data, value_start(4));
    }
    if line.starts_with(b"id:") {
        return (Field::Id, value_start(2));
    }
    if line.starts_with(b"event:") {
        return (Field::Event, value_start(5));
    }
    let Some((name_len, value_start)) = split_field(line) else {
        return (Field::Blank, 0);
    };
    let field = match &line[..name_len] {
        b"data" => Field::Data,
        b"event" => Field::Event,
        b"id" => Field::Id,
        b"retry" => Field::Retry,
        _ => Field::Ignored,
    };
    (field, value_start)
}

/// Where a value lies in the tokenizer's current region: `start..end`.
/// A value of the block being read stays a span, with no handle, until the
/// event is dispatched (then the event's fields are sliced from the region
/// straight into place) or the region is released (then it is copied).
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
}

/// An `event` or `id` value of the block being read, or the last event ID.
#[derive(Debug)]
enum Value {
    /// In the current region; `valid` says whether it is valid UTF-8.
    Span(Span, bool),
    /// Copied out of a released region (valid UTF-8 or made so).
    Kept(Utf8Bytes),
}

/// The data buffer of the block being read.
#[derive(Debug)]
enum Data {
    /// No `data` field yet.
    Empty,
    /// Exactly one `data` field, its value in the current region.
    One(Span),
    /// Several, or one whose region was released: joined in the parser's
    /// scratch buffer, each value followed by an LF (the last one is cut
    /// off at dispatch).
    Joined,
}

/// The WHATWG event stream interpreter: bytes in, [`Event`]s out.
///
/// One `Parser` belongs to one event source: the last event ID and the
/// reconnection time survive [`Parser::reset`], which starts a new stream
/// (new connection) and clears everything else.
#[derive(Debug)]
pub struct Parser {
    tokenizer: Tokenizer,
    data: Data,
    scratch: BytesMut,
    /// Length of the block's data (the values and the LFs between them).
    data_len: usize,
    /// Room the scratch buffer reserves when a block's data starts to be
    /// joined: the size of the last joined data, at most
    /// [`JOINED_HINT_MAX`]. Reserving it while the buffer is still empty lets
    /// it move back to the start of its memory for free, instead of copying
    /// the data it holds halfway through a large event.
    joined_hint: usize,
    /// The block's event type buffer.
    event_type: Option<Value>,
    /// Every `data` value of the block so far was valid UTF-8.
    data_valid: bool,
    /// Storage for the IDs and event types still held when their input
    /// region is released (see `Parser::rehome`).
    small_store: BytesMut,
    /// The spec's "last event ID buffer", set by `id` fields, when it differs
    /// from `last_event_id`; `None` when they are the same, so an event
    /// that does not change the ID costs no new handle.
    id_buffer: Option<Value>,
    /// The spec's "last event ID string", committed at each dispatch. A
    /// span while it lies in the current region, so that an event with a
    /// new ID costs no handle of its own.
    last_event_id: Value,
    retry: Option<u64>,
    /// The current block broke a limit and will not be dispatched.
    dropping: bool,
    max_event_size: usize,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

impl Parser {
    /// A parser with the default [`Limits`].
    pub fn new() -> Self {
        Parser::with_limits(Limits::default())
    }

    /// A parser with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        Parser {
            tokenizer: Tokenizer::new(limits.max_line_len),
            data: Data::Empty,
            scratch: BytesMut::new(),
            data_len: 0,
            joined_hint: 0,
            event_type: None,
            data_valid: true,
            small_store: BytesMut::new(),
            id_buffer: None,
            last_event_id: Value::Kept(Utf8Bytes::default()),
            retry: None,
            dropping: false,
            max_event_size: limits.max_event_size,
        }
    }

    /// Appends bytes of the stream. Drain [`Parser::poll_event`] before the
    /// next call.
    pub fn handle_bytes(&mut self, mut input: &[u8]) {
        if !self.tokenizer.in_region() {
            // The tokenizer releases the region it is done with: the values
            // kept beyond it must not pin it.
            self.rehome();
            if matches!(self.data, Data::Joined) && !self.dropping {
                let (used, valid) = self.tokenizer.direct_data_run(
                    input,
                    &mut self.scratch,
                    &mut self.data_len,
                    self.max_event_size,
                );
                self.data_valid &= valid;
                input = &input[used..];
            }
        }
        self.tokenizer.handle_bytes(input);
    }

    /// Marks the end of the stream: the event being read, if unfinished, is
    /// discarded once the complete ones have been polled.
    pub fn handle_eof(&mut self) {
        self.tokenizer.handle_eof();
    }

    /// Starts a new stream, e.g. after a reconnect: a new BOM is accepted and
    /// any unfinished line or event is discarded. The last event ID and the
    /// reconnection time are kept, as the EventSource keeps them.
    pub fn reset(&mut self) {
        self.id_buffer = None;
        self.rehome();
        self.tokenizer.reset();
        self.clear_block();
    }

    /// Copies what the parser keeps beyond the tokenizer's current region,
    /// which is about to be released, out of it: the last event ID and the
    /// ID buffer (kept for as long as the stream lasts) and the event type
    /// into the small store, the data of a block that has one `data` line
    /// so far into the scratch buffer. A few bytes must not keep a whole
    /// input region alive: the tokenizer could not reuse its memory. Once
    /// per region, so these values cost one slice per event instead of a
    /// copy.
    #[inline(never)]
    fn rehome(&mut self) {
        let region = self.tokenizer.region();
        for value in [
            Some(&mut self.last_event_id),
            self.id_buffer.as_mut(),
            self.event_type.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if let Value::Span(span, valid) = *value {
                let bytes = &region[span.start..span.end];
                *value = Value::Kept(if valid {
                    copy_small(&mut self.small_store, bytes)
                } else {
                    Utf8Bytes::from_bytes_lossy(Bytes::copy_from_slice(bytes))
                });
            }
        }
        if let Data::One(span) = self.data {
            let value = &region[span.start..span.end];
            self.scratch.reserve(value.len() + 1);
            self.scratch.extend_from_slice(value);
            self.scratch.put_u8(b'\n');
            self.data = Data::Joined;
        }
    }

    /// The next event or limit error, or `None` when more input is needed.
    pub fn poll_event(&mut self) -> Option<Result<Event, ParseError>> {
        loop {
            let next = if self.tokenizer.in_region() {
                Some(self.tokenizer.find_line())
            } else {
                // The current region is about to be released: the IDs kept
                // beyond it must not pin it.
                self.rehome();
                self.tokenizer.next_region()
            };
            let len = match next {
                Some(Ok(len)) => len,
                Some(Err(err)) => {
                    if matches!(err, ParseError::LineTooLong { .. }) {
                        self.drop_block();
                    }
                    return Some(Err(err));
                }
                None => {
                    if self.tokenizer.is_eof() {
                        self.clear_block();
                    }
                    return None;
                }
            };
            let (field, value_start) = classify(self.tokenizer.line(len));
            match field {
                Field::Blank => {
                    self.tokenizer.skip_line();
                    if let Some(result) = self.dispatch() {
                        return Some(result);
                    }
                }
                Field::Data if !self.dropping => {
                    let valid = self.tokenizer.is_valid_utf8(len);
                    if let Some(err) = self.data_line(len, value_start, valid) {
                        return Some(Err(err));
                    }
                }
                Field::Event => {
                    let valid = self.tokenizer.is_valid_utf8(len);
                    let span = self.tokenizer.span(len, value_start);
                    self.tokenizer.skip_line();
                    self.event_type = Some(Value::Span(span, valid));
                }
                Field::Id => {
                    let valid = self.tokenizer.is_valid_utf8(len);
                    let span = self.tokenizer.span(len, value_start);
                    self.tokenizer.skip_line();
                    let region = self.tokenizer.region();
                    let value = &region[span.start..span.end];
                    if !value.contains(&0)
                        && !id_buffer_unchanged(
                            region,
                            &self.last_event_id,
                            &mut self.id_buffer,
                            value,
                        )
                    {
                        // Copied only if still held when the input region
                        // is released (see `Parser::rehome`).
                        self.id_buffer = Some(Value::Span(span, valid));
                    }
                }
                Field::Retry => {
                    if let Some(ms) = parse_retry(self.tokenizer.value(len, value_start)) {
                        self.retry = Some(ms);
                    }
                    self.tokenizer.skip_line();
                }
                Field::Data | Field::Ignored => self.tokenizer.skip_line(),
            }
        }
    }

    /// Bytes held for input not parsed yet (see [`Tokenizer::buffered_len`]);
    /// the event being built is bounded separately by
    /// [`Limits::max_event_size`].
    pub fn buffered_len(&self) -> usize {
        self.tokenizer.buffered_len()
    }

    /// The last event ID: the value of the last `id` field committed by a
    /// dispatch, or what [`Parser::set_last_event_id`] set. A handle that
    /// shares the parser's copy (no copy is made).
    pub fn last_event_id(&self) -> Utf8Bytes {
        self.handle(&self.last_event_id)
    }

    /// Sets the last event ID, e.g. to resume a stream saved earlier.
    pub fn set_last_event_id(&mut self, id: Utf8Bytes) {
        self.id_buffer = None;
        self.last_event_id = Value::Kept(id);
    }

    /// The reconnection time in milliseconds from the last valid `retry`
    /// field, or `None` if there was none.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Adds the `data` line found by the tokenizer to the block. A first
    /// line stays a shared slice of the input; from the second line on, the
    /// values are copied into the scratch buffer, which joins them, and the
    /// `data` lines that follow in the same region are appended in bulk.
    fn data_line(&mut self, len: usize, value_start: usize, valid: bool) -> Option<ParseError> {
        self.data_valid &= valid;
        let limit = self.max_event_size;
        let span = self.tokenizer.span(len, value_start);
        let value_len = span.end - span.start;
        if let Data::Empty = self.data {
            self.tokenizer.skip_line();
            if value_len <= limit {
                self.data_len = value_len;
                self.data = Data::One(span);
                return None;
            }
            self.drop_block();
            return Some(ParseError::EventTooLarge { limit });
        }
        if let Data::One(first) = core::mem::replace(&mut self.data, Data::Joined) {
            self.scratch.reserve(self.joined_hint);
            self.scratch
                .extend_from_slice(&self.tokenizer.region()[first.start..first.end]);
            self.scratch.put_u8(b'\n');
        }
        let new_len = self.data_len + 1 + value_len;
        if new_len > limit {
            self.drop_block();
            return Some(ParseError::EventTooLarge { limit });
        }
        self.scratch
            .extend_from_slice(&self.tokenizer.region()[span.start..span.end]);
        self.scratch.put_u8(b'\n');
        self.data_len = new_len;
        self.tokenizer.skip_line();
        self.tokenizer
            .append_data_run(&mut self.scratch, &mut self.data_len, limit);
        None
    }

    /// The blank-line step: commit the last event ID, then build the event
    /// if the block had data.
    ///
    /// The event is one handle wherever possible: one-line data, the type
    /// and the ID read from the same input are spans of one handle to the
    /// input region; joined data gets the type and a short ID copied after
    /// it. Only invalid UTF-8 (replaced, so copied) and values that lie
    /// elsewhere take handles of their own.
    fn dispatch(&mut self) -> Option<Result<Event, ParseError>> {
        if let Some(id) = self.id_buffer.take() {
            self.last_event_id = id;
        }
        let data = core::mem::replace(&mut self.data, Data::Empty);
        let event_type = self.event_type.take();
        let data_len = core::mem::take(&mut self.data_len);
        let data_valid = core::mem::replace(&mut self.data_valid, true);
        if core::mem::take(&mut self.dropping) {
            self.scratch.clear();
            return None;
        }
        let event = match data {
            Data::Empty => return None,
            Data::One(span) if data_valid => Event::from_parts(
                self.tokenizer.lines.clone(),
                span,
                self.type_part(event_type),
                match self.last_event_id {
                    Value::Span(span, true) => Part::In(span),
                    ref id => Part::Own(self.handle(id)),
                },
            ),
            Data::One(span) => {
                let data = Utf8Bytes::from_bytes_lossy(self.tokenizer.slice(span));
                self.event_with(data, event_type)
            }
            Data::Joined => {
                self.scratch.truncate(data_len);
                if data_valid {
                    self.joined_event(data_len, event_type)
                } else {
                    self.joined_hint = joined_hint(data_len + 1);
                    let data = Utf8Bytes::from_bytes_lossy(self.scratch.split().freeze());
                    self.event_with(data, event_type)
                }
            }
        };
        if event.data().len() > self.max_event_size {
            // Each invalid byte became a 3-byte U+FFFD: the limit holds for
            // what the application receives, not only for what was read.
            return Some(Err(ParseError::EventTooLarge {
                limit: self.max_event_size,
            }));
        }
        Some(Ok(event))
    }

    /// The event type of an event whose buffer is the current region.
    #[inline]
    fn type_part(&self, event_type: Option<Value>) -> Part {
        match event_type {
            None => Part::MESSAGE,
            Some(Value::Span(span, true)) if span.start == span.end => Part::MESSAGE,
            Some(Value::Span(span, true)) => Part::In(span),
            Some(value) => match self.handle(&value) {
                t if t.is_empty() => Part::MESSAGE,
                t => Part::Own(t),
            },
        }
    }

    /// The event of valid joined data, the `data_len` bytes of the scratch
    /// buffer: the type and a short last event ID are copied after the data
    /// (the buffer reserves room for them), so the event is one handle.
    fn joined_event(&mut self, data_len: usize, event_type: Option<Value>) -> Event {
        let region = self.tokenizer.region();
        let event_type = match &event_type {
            None => Part::MESSAGE,
            Some(value) => match value.text(region) {
                Some([]) => Part::MESSAGE,
                Some(text) => append_part(&mut self.scratch, text),
                None => self.type_part(event_type),
            },
        };
        let id = match self.last_event_id.text(region) {
            Some(text) if text.len() <= COPIED_ID_MAX => append_part(&mut self.scratch, text),
            _ => Part::Own(self.handle(&self.last_event_id)),
        };
        self.joined_hint = joined_hint(self.scratch.len() + 1);
        let bytes = self.scratch.split().freeze();
        let data = Span {
            start: 0,
            end: data_len,
        };
        Event::from_parts(bytes, data, event_type, id)
    }

    /// An event of data that was not one span of the region or of the
    /// scratch buffer (it held invalid UTF-8, now replaced): every other
    /// field is a handle of its own.
    #[cold]
    fn event_with(&self, data: Utf8Bytes, event_type: Option<Value>) -> Event {
        let event_type = match event_type.map(|t| self.handle(&t)) {
            Some(t) if !t.is_empty() => t,
            _ => MESSAGE,
        };
        Event::new(event_type, data, self.handle(&self.last_event_id))
    }

    /// The handle for a value: a slice of the current region (valid UTF-8
    /// or made so), or the copy already made.
    fn handle(&self, value: &Value) -> Utf8Bytes {
        match value {
            Value::Span(span, valid) => Utf8Bytes::from_parts(self.tokenizer.slice(*span), *valid),
            Value::Kept(kept) => kept.clone(),
        }
    }

    /// Marks the block as dropped and frees its data.
    fn drop_block(&mut self) {
        self.clear_block();
        self.dropping = true;
    }

    /// Empties the data and event type buffers.
    fn clear_block(&mut self) {
        self.data = Data::Empty;
        self.scratch.clear();
        self.data_len = 0;
        self.event_type = None;
        self.data_valid = true;
        self.dropping = false;
    }
}

/// What the scratch buffer reserves for the joined data of the block after
/// one of `len` bytes: an eighth more, so that a block a little larger
/// than the last does not make the buffer grow (and copy what it holds)
/// near its end, plus the room the fast copy of `data` runs works in.
fn joined_hint(len: usize) -> usize {
    (len + len / 8 + MIN_RUN_ROOM).min(JOINED_HINT_MAX)
}

/// Handles an `id` value that needs no new handle: one equal to the last
/// event ID empties the ID buffer (`None` means "the same as the last event
/// ID"), one equal to the ID buffer leaves it. `false` when `value` is new.
/// Spans are in `region`.
fn id_buffer_unchanged(
    region: &[u8],
    last: &Value,
    id_buffer: &mut Option<Value>,
    value: &[u8],
) -> bool {
    let last = last.raw(region);
    // IDs that change usually differ in their last byte: check it first.
    if value.last() == last.last() && value == last {
        *id_buffer = None;
        return true;
    }
    id_buffer.as_ref().is_some_and(|id| value == id.raw(region))
}

impl Value {
    /// The bytes of the value, as read (spans are in `region`).
    #[inline]
    fn raw<'a>(&'a self, region: &'a [u8]) -> &'a [u8] {
        match self {
            Value::Span(span, _) => region.get(span.start..span.end).unwrap_or_default(),
            Value::Kept(kept) => kept.as_bytes(),
        }
    }

    /// The value as valid UTF-8 (spans are in `region`), or `None` if it is
    /// a span that is not.
    #[inline]
    fn text<'a>(&'a self, region: &'a [u8]) -> Option<&'a [u8]> {
        match self {
            Value::Span(_, false) => None,
            value => Some(value.raw(region)),
        }
    }
}

/// A copy of `value` (valid UTF-8) in the small store, a buffer of its own
/// that is reused once the values handed out from it are dropped.
fn copy_small(store: &mut BytesMut, value: &[u8]) -> Utf8Bytes {
    if value.is_empty() {
        return Utf8Bytes::default();
    }
    if store.capacity() < value.len() {
        // Reuses the memory if no value handed out is held any more, else
        // replaces it; a fresh buffer keeps this as its minimum size.
        store.reserve(SMALL_STORE_SIZE.max(value.len()));
    }
    store.put_slice(value);
    // Only valid UTF-8 is copied here.
    Utf8Bytes::from_parts(store.split().freeze(), true)
}

/// Appends `text` (valid UTF-8) to `buf`: where it lies there.
fn append_part(buf: &mut BytesMut, text: &[u8]) -> Part {
    let start = buf.len();
    buf.extend_from_slice(text);
    Part::In(Span {
        start,
        end: buf.len(),
    })
}

/// A `retry` value: one or more ASCII digits that fit a `u64`.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Parses a complete stream in one go: every event and limit error, in order.
/// A convenience for tests and one-shot use; streams should use [`Parser`].
pub fn parse_all(input: &[u8]) -> Vec<Result<Event, ParseError>> {
    let mut parser = Parser::new();
    parser.handle_bytes(input);
    parser.handle_eof();
    core::iter::from_fn(|| parser.poll_event()).collect()
}

#[cfg(test)]
mod tests;
