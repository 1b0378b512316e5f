//! The parser as it was before the line-end bitmap (commit 6849abb), kept
//! as an oracle: the property tests check that the optimised parser gives
//! exactly the same events, errors, last event ID and retry on any input and
//! any chunking. Test-only code; not compiled into the library.
#![allow(dead_code, missing_docs)]

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::parse::{Event, Limits, Line, ParseError};
use crate::text::Utf8Bytes;

/// The UTF-8 byte order mark, stripped once at the start of a stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Capacity reserved at a time for copies of event IDs.
const ID_STORE_SIZE: usize = 1024;

/// The event type used when a block sets none.
const MESSAGE: Utf8Bytes = Utf8Bytes::from_static("message");

/// Splits a byte stream into [`Line`]s.
///
/// Push bytes with [`Tokenizer::handle_bytes`], pull lines with
/// [`Tokenizer::poll_line`], call [`Tokenizer::handle_eof`] at the end of the
/// stream and [`Tokenizer::reset`] before the next one.
///
/// Internally, the complete lines of the input are frozen into one shared
/// [`Bytes`] region at a time and walked with an index, so a line costs no
/// buffer bookkeeping and only the values a caller keeps become handles. The
/// unfinished last line waits in a growable buffer for the rest of it.
#[derive(Debug)]
pub struct Tokenizer {
    /// Complete lines (the region ends with a line terminator).
    lines: Bytes,
    /// Where the next line starts in `lines`.
    pos: usize,
    /// `lines[..valid]` is known to be valid UTF-8 up to a character
    /// boundary (or, past an invalid line, where checking resumes).
    valid: usize,
    /// Input after `lines`: an unfinished line, or lines not frozen yet.
    buf: BytesMut,
    /// Length of the prefix of `buf` known to hold no CR or LF.
    scanned: usize,
    /// The stream start has not been checked for a BOM yet.
    bom_pending: bool,
    /// The last line ended with CR: an LF that follows completes a CRLF.
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
            pos: 0,
            valid: 0,
            buf: BytesMut::new(),
            scanned: 0,
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
        self.buf.extend_from_slice(input);
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
                self.skip_line(len);
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
    fn next_line(&mut self) -> Option<Result<usize, ParseError>> {
        loop {
            if let Some(rest) = self.lines.get(self.pos..).filter(|r| !r.is_empty()) {
                if core::mem::take(&mut self.after_cr) && rest[0] == b'\n' {
                    self.pos += 1;
                    continue;
                }
                // The region ends with a terminator, so one is always found.
                let len = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len() - 1);
                self.after_cr = rest[len] == b'\r';
                if len > self.max_line_len {
                    let err = self.too_long_error(rest[0]);
                    self.pos += len + 1;
                    return Some(Err(err));
                }
                return Some(Ok(len));
            }
            self.release_lines();
            if self.after_cr {
                let first = *self.buf.first()?;
                if first == b'\n' {
                    self.buf.advance(1);
                }
                self.after_cr = false;
            }
            if self.bom_pending {
                let n = self.buf.len().min(BOM.len());
                if self.buf[..n] != BOM[..n] {
                    self.bom_pending = false;
                } else if n == BOM.len() {
                    self.buf.advance(n);
                    self.bom_pending = false;
                } else {
                    return self.wait();
                }
            }
            let unscanned = &self.buf[self.scanned..];
            if self.skipping {
                let Some(end) = memchr::memchr2(b'\r', b'\n', unscanned) else {
                    self.clear_buf();
                    return self.wait();
                };
                self.after_cr = unscanned[end] == b'\r';
                self.buf.advance(self.scanned + end + 1);
                self.scanned = 0;
                self.skipping = false;
                continue;
            }
            let Some(last) = memchr::memrchr2(b'\r', b'\n', unscanned) else {
                self.scanned = self.buf.len();
                if self.buf.len() > self.max_line_len {
                    let err = self.too_long_error(self.buf[0]);
                    self.clear_buf();
                    self.skipping = true;
                    return Some(Err(err));
                }
                return self.wait();
            };
            let end = self.scanned + last + 1;
            self.lines = self.buf.split_to(end).freeze();
            self.scanned = 0;
        }
    }

    /// The value of the line found by `next_line`, from `start` on.
    fn value(&self, len: usize, start: usize) -> &[u8] {
        self.line(len).get(start..).unwrap_or_default()
    }

    /// The line found by `next_line`.
    fn line(&self, len: usize) -> &[u8] {
        self.lines.get(self.pos..self.pos + len).unwrap_or_default()
    }

    /// Consumes the line found by `next_line` and returns its bytes from
    /// `start` on, shared with the input (no copy).
    fn take_line(&mut self, len: usize, start: usize) -> Bytes {
        let value = self.lines.slice(self.pos + start.min(len)..self.pos + len);
        self.pos += len + 1;
        value
    }

    /// Consumes the line found by `next_line`.
    fn skip_line(&mut self, len: usize) {
        self.pos += len + 1;
    }

    /// Whether the line found by `next_line` is valid UTF-8. Checks all the
    /// complete lines at once, so a chunk costs one validation pass, not one
    /// per field; each pass stops at the first invalid byte and records how
    /// far the input is good, so every byte is checked a bounded number of
    /// times.
    fn is_valid_utf8(&mut self, len: usize) -> bool {
        let end = self.pos + len;
        if end <= self.valid {
            return true;
        }
        let from = self.valid.max(self.pos);
        self.valid = match simdutf8::compat::from_utf8(&self.lines[from..]) {
            Ok(_) => self.lines.len(),
            Err(e) => from + e.valid_up_to(),
        };
        end <= self.valid
    }

    /// Drops the consumed region so its memory can be reused.
    fn release_lines(&mut self) {
        self.lines = Bytes::new();
        self.pos = 0;
        self.valid = 0;
    }

    fn clear_buf(&mut self) {
        self.buf.clear();
        self.scanned = 0;
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

/// The fields the interpreter acts on.
enum Field {
    Data,
    Event,
    Id,
    Ignored,
}

/// The data buffer of the block being read.
#[derive(Debug)]
enum Data {
    /// No `data` field yet.
    Empty,
    /// Exactly one `data` field: its value, shared with the input.
    One(Bytes),
    /// Several: joined in the parser's scratch buffer.
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
    data_len: usize,
    event_type: Option<Utf8Bytes>,
    /// Every `data` value of the block so far was valid UTF-8.
    data_valid: bool,
    /// Storage the IDs are copied into.
    id_store: BytesMut,
    /// The spec's "last event ID buffer", set by `id` fields.
    id_buffer: Utf8Bytes,
    /// The spec's "last event ID string", committed at each dispatch.
    last_event_id: Utf8Bytes,
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
            event_type: None,
            data_valid: true,
            id_store: BytesMut::new(),
            id_buffer: Utf8Bytes::default(),
            last_event_id: Utf8Bytes::default(),
            retry: None,
            dropping: false,
            max_event_size: limits.max_event_size,
        }
    }

    /// Appends bytes of the stream. Drain [`Parser::poll_event`] before the
    /// next call.
    pub fn handle_bytes(&mut self, input: &[u8]) {
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
        self.tokenizer.reset();
        self.clear_block();
        self.id_buffer = self.last_event_id.clone();
    }

    /// The next event or limit error, or `None` when more input is needed.
    pub fn poll_event(&mut self) -> Option<Result<Event, ParseError>> {
        loop {
            let len = match self.tokenizer.next_line() {
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
            let Some((name_len, value_start)) = split_field(self.tokenizer.line(len)) else {
                self.tokenizer.skip_line(len);
                match self.dispatch() {
                    Some(result) => return Some(result),
                    None => continue,
                }
            };
            let field = match &self.tokenizer.line(len)[..name_len] {
                b"data" => Field::Data,
                b"event" => Field::Event,
                b"id" => Field::Id,
                b"retry" => {
                    if let Some(ms) = parse_retry(self.tokenizer.value(len, value_start)) {
                        self.retry = Some(ms);
                    }
                    Field::Ignored
                }
                _ => Field::Ignored,
            };
            if matches!(field, Field::Ignored) || (self.dropping && matches!(field, Field::Data)) {
                self.tokenizer.skip_line(len);
                continue;
            }
            let valid = self.tokenizer.is_valid_utf8(len);
            match field {
                Field::Data => {
                    if let Some(err) = self.data_line(len, value_start, valid) {
                        return Some(Err(err));
                    }
                }
                Field::Event => {
                    let value = self.tokenizer.take_line(len, value_start);
                    self.event_type = Some(Utf8Bytes::from_parts(value, valid));
                }
                Field::Id => {
                    let value = self.tokenizer.value(len, value_start);
                    if memchr::memchr(0, value).is_none() {
                        set_id_buffer(&mut self.id_store, &mut self.id_buffer, value, valid);
                    }
                    self.tokenizer.skip_line(len);
                }
                Field::Ignored => {}
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
    /// dispatch, or what [`Parser::set_last_event_id`] set.
    pub fn last_event_id(&self) -> &Utf8Bytes {
        &self.last_event_id
    }

    /// Sets the last event ID, e.g. to resume a stream saved earlier.
    pub fn set_last_event_id(&mut self, id: Utf8Bytes) {
        self.id_buffer = id.clone();
        self.last_event_id = id;
    }

    /// The reconnection time in milliseconds from the last valid `retry`
    /// field, or `None` if there was none.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Adds the `data` line found by the tokenizer to the block. A first
    /// line stays a shared slice of the input; from the second line on, the
    /// values are copied into the scratch buffer, which joins them.
    fn data_line(&mut self, len: usize, value_start: usize, valid: bool) -> Option<ParseError> {
        self.data_valid &= valid;
        let limit = self.max_event_size;
        let result = match core::mem::replace(&mut self.data, Data::Joined) {
            Data::Empty => {
                let value = self.tokenizer.take_line(len, value_start);
                if value.len() <= limit {
                    self.data_len = value.len();
                    self.data = Data::One(value);
                    return None;
                }
                Some(ParseError::EventTooLarge { limit })
            }
            joined => {
                if let Data::One(first) = joined {
                    self.scratch.put_slice(&first);
                }
                let value = self.tokenizer.value(len, value_start);
                let result = append_joined(&mut self.scratch, &mut self.data_len, value, limit);
                self.tokenizer.skip_line(len);
                result
            }
        };
        if result.is_some() {
            self.drop_block();
        }
        result
    }

    /// The blank-line step: commit the last event ID, then build the event
    /// if the block had data.
    fn dispatch(&mut self) -> Option<Result<Event, ParseError>> {
        self.last_event_id = self.id_buffer.clone();
        let data = match core::mem::replace(&mut self.data, Data::Empty) {
            Data::Empty => None,
            Data::One(value) => Some(value),
            Data::Joined => Some(self.scratch.split().freeze()),
        };
        let event_type = self.event_type.take();
        let dropping = core::mem::take(&mut self.dropping);
        self.data_len = 0;
        if dropping {
            return None;
        }
        let data_valid = core::mem::replace(&mut self.data_valid, true);
        let event_type = match event_type {
            Some(t) if !t.is_empty() => t,
            _ => MESSAGE,
        };
        let data = Utf8Bytes::from_parts(data?, data_valid);
        if data.len() > self.max_event_size {
            // Each invalid byte became a 3-byte U+FFFD: the limit holds for
            // what the application receives, not only for what was read.
            return Some(Err(ParseError::EventTooLarge {
                limit: self.max_event_size,
            }));
        }
        Some(Ok(Event::new(event_type, data, self.last_event_id.clone())))
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

/// Sets the last event ID buffer to a copy of `value`. The ID outlives the
/// input it came from (the parser keeps it), so it is copied into a small
/// store of its own instead of pinning a whole input region; the store is
/// reused once the IDs handed out before are dropped.
fn set_id_buffer(store: &mut BytesMut, id_buffer: &mut Utf8Bytes, value: &[u8], valid: bool) {
    if value == id_buffer.as_bytes() {
        return;
    }
    if store.capacity() == 0 {
        // Fresh buffers keep this as their minimum size when replaced.
        *store = BytesMut::with_capacity(ID_STORE_SIZE.max(value.len()));
    }
    store.reserve(value.len());
    store.put_slice(value);
    *id_buffer = Utf8Bytes::from_parts(store.split().freeze(), valid);
}

/// Appends LF and `value` to joined data of `len` bytes, unless that would
/// exceed `limit`.
fn append_joined(
    scratch: &mut BytesMut,
    len: &mut usize,
    value: &[u8],
    limit: usize,
) -> Option<ParseError> {
    let new_len = *len + 1 + value.len();
    if new_len > limit {
        return Some(ParseError::EventTooLarge { limit });
    }
    *len = new_len;
    scratch.put_u8(b'\n');
    scratch.put_slice(value);
    None
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
