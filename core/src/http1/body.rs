//! Body framing: a sans-I/O decoder for chunked, `Content-Length` and
//! read-until-close bodies.
//!
//! The [`Framing`] comes from the head ([`super::ResponseHead::framing`] or
//! [`super::RequestHead::framing`]). Bytes go in with
//! [`BodyDecoder::handle_bytes`]; body data comes out of
//! [`BodyDecoder::poll_body`] as [`Bytes`] slices of the decoder's buffer
//! (copied once on the way in, never again), followed by
//! [`BodyEvent::End`] or a [`BodyError`].
//!
//! Framing bytes (chunk sizes, extensions, CRLFs, trailers) are consumed as
//! they are polled and never kept, and the decoder remembers where it is, so
//! input that trickles in one byte at a time costs linear time. The buffer
//! holds only input that has not been polled yet: drain `poll_body` after
//! every `handle_bytes`.

use bytes::{Buf, Bytes, BytesMut};
use core::fmt;

/// How a message body is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Framing {
    /// No body at all (`HEAD` response, `204`, `304`, a request without
    /// `Content-Length` or `Transfer-Encoding`).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the peer closes the connection (responses only).
    UntilClose,
}

/// Limits on the framing bytes of a chunked body. Data is never buffered
/// beyond what the caller has pushed and not polled, so it needs no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimits {
    /// Longest chunk-size line (size digits and extensions, CRLF excluded).
    /// Default 4 KiB.
    pub max_chunk_line_len: usize,
    /// Largest trailer section in bytes, counting each field line with its
    /// CRLF but not the final empty line. Default 16 KiB.
    pub max_trailers_len: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            max_chunk_line_len: 4 << 10,
            max_trailers_len: 16 << 10,
        }
    }
}

/// What [`BodyDecoder::poll_body`] gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyEvent {
    /// The next piece of body data; never empty.
    Data(Bytes),
    /// The body is complete. Nothing follows.
    End,
}

/// The peer sent a body that breaks its framing. The connection should be
/// closed: where the next message starts is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// A chunk size is missing or holds a non-hexadecimal character.
    InvalidChunkSize,
    /// A chunk size does not fit a `u64`.
    ChunkSizeOverflow,
    /// A chunk extension holds a control character.
    InvalidChunkExtension,
    /// A chunk-size line is longer than `limit` bytes.
    ChunkLineTooLong {
        /// The configured [`BodyLimits::max_chunk_line_len`].
        limit: usize,
    },
    /// A chunk-size line, chunk data or trailer line is not followed by CRLF.
    MissingCrlf,
    /// A trailer line is malformed (no colon, control character, folded).
    InvalidTrailer,
    /// The trailer section is longer than `limit` bytes.
    TrailersTooLarge {
        /// The configured [`BodyLimits::max_trailers_len`].
        limit: usize,
    },
    /// The connection closed before the body was complete (inside a chunked
    /// body, or before `Content-Length` bytes arrived).
    Truncated,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::InvalidChunkSize => f.write_str("invalid chunk size"),
            BodyError::ChunkSizeOverflow => f.write_str("chunk size too large"),
            BodyError::InvalidChunkExtension => f.write_str("invalid chunk extension"),
            BodyError::ChunkLineTooLong { limit } => {
                write!(f, "chunk size line longer than {limit} bytes")
            }
            BodyError::MissingCrlf => f.write_str("missing crlf in chunked body"),
            BodyError::InvalidTrailer => f.write_str("invalid trailer field"),
            BodyError::TrailersTooLarge { limit } => {
                write!(f, "trailers larger than {limit} bytes")
            }
            BodyError::Truncated => f.write_str("connection closed before the body ended"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for BodyError {}

/// Where the decoder is in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// `Content-Length` body with this many bytes to go.
    Length(u64),
    /// Close-delimited body.
    UntilClose,
    /// Chunk-size digits; `line` counts the line's bytes so far.
    Size { size: u64, line: usize },
    /// After the size digits: whitespace and extensions up to CR.
    Ext { size: u64, line: usize },
    /// After the CR of a chunk-size line.
    SizeLf { size: u64 },
    /// Chunk data with this many bytes to go.
    Data(u64),
    /// After chunk data: expecting CR.
    DataCr,
    /// After chunk data and CR: expecting LF.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart { len: usize },
    /// Inside a trailer line; `colon` says a colon was seen.
    TrailerLine { len: usize, colon: bool },
    /// After the CR of a trailer line.
    TrailerLf { len: usize },
    /// After the CR of the final empty line.
    LastLf,
    /// The body is complete; `End` not reported yet.
    Done,
    /// `End` or an error was reported.
    Finished,
}

/// Decodes one message body: push bytes with [`BodyDecoder::handle_bytes`],
/// pull [`BodyEvent`]s with [`BodyDecoder::poll_body`].
///
/// Data comes out as [`Bytes`] slices of the decoder's buffer (input is
/// copied once on the way in, never again). Framing bytes are consumed as
/// they are polled and the decoder keeps its position, so input trickling in
/// one byte at a time costs linear time. The buffer holds only input not yet
/// polled: drain `poll_body` after every `handle_bytes` and memory stays
/// bounded by what one read delivers.
#[derive(Debug)]
pub struct BodyDecoder {
    buf: BytesMut,
    state: State,
    eof: bool,
    failed: bool,
    limits: BodyLimits,
}

impl BodyDecoder {
    /// A decoder for a body with this framing and the default limits.
    pub fn new(framing: Framing) -> Self {
        BodyDecoder::with_limits(framing, BodyLimits::default())
    }

    /// A decoder for a body with this framing and the given limits.
    pub fn with_limits(framing: Framing, limits: BodyLimits) -> Self {
        let state = match framing {
            Framing::Empty => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Size { size: 0, line: 0 },
            Framing::UntilClose => State::UntilClose,
        };
        BodyDecoder {
            buf: BytesMut::new(),
            state,
            eof: false,
            failed: false,
            limits,
        }
    }

    /// Appends bytes from the connection. Drain [`BodyDecoder::poll_body`]
    /// before the next call. Bytes after an error or after
    /// [`BodyDecoder::handle_eof`] are ignored; bytes after the end of the
    /// body are kept for [`BodyDecoder::take_remaining`].
    pub fn handle_bytes(&mut self, input: &[u8]) {
        if !self.eof && !self.failed {
            self.buf.extend_from_slice(input);
        }
    }

    /// Marks the end of the connection. [`BodyDecoder::poll_body`] then gives
    /// what is left of the body and [`BodyEvent::End`] if the body was
    /// close-delimited or already complete, or [`BodyError::Truncated`] if
    /// it was cut short. Repeating it changes nothing.
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// Bytes held in the buffer (input not yet polled, or after the end).
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether the body ended or failed and that was reported.
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// Takes the bytes pushed after the end of the body (a pipelined next
    /// message). Empty until the body is complete.
    pub fn take_remaining(&mut self) -> BytesMut {
        if matches!(self.state, State::Done | State::Finished) && !self.failed {
            self.buf.split()
        } else {
            BytesMut::new()
        }
    }

    /// The next piece of body data, the end, an error, or `None` when more
    /// input is needed. After `End` or an error it returns `None`.
    pub fn poll_body(&mut self) -> Option<Result<BodyEvent, BodyError>> {
        loop {
            match self.state {
                State::Finished => return None,
                State::Done => {
                    self.state = State::Finished;
                    return Some(Ok(BodyEvent::End));
                }
                State::Length(0) => self.state = State::Done,
                State::Length(remaining) => {
                    let Some(data) = self.take_data(remaining) else {
                        return self.starved();
                    };
                    self.state = State::Length(remaining - data.len() as u64);
                    return Some(Ok(BodyEvent::Data(data)));
                }
                State::UntilClose => {
                    if self.buf.is_empty() {
                        if self.eof {
                            self.state = State::Done;
                            continue;
                        }
                        return None;
                    }
                    return Some(Ok(BodyEvent::Data(self.buf.split().freeze())));
                }
                State::Data(0) => self.state = State::DataCr,
                State::Data(remaining) => {
                    let Some(data) = self.take_data(remaining) else {
                        return self.starved();
                    };
                    self.state = State::Data(remaining - data.len() as u64);
                    return Some(Ok(BodyEvent::Data(data)));
                }
                framing => {
                    let Some(&byte) = self.buf.first() else {
                        return self.starved();
                    };
                    self.buf.advance(1);
                    match self.step(framing, byte) {
                        Ok(next) => self.state = next,
                        Err(err) => return Some(Err(self.fail(err))),
                    }
                }
            }
        }
    }

    /// Decodes body bytes where they are, without buffering or copying
    /// them: the next piece of body data as a slice of `input`, the end of
    /// the body, an error, or `None` once `input` is used up. Advances
    /// `input` past what it consumed; bytes after the end of the body are
    /// left in it. The same decoding as [`BodyDecoder::handle_bytes`] and
    /// [`BodyDecoder::poll_body`], for a driver that has the bytes in hand
    /// (chunk-size lines split across reads are fine: framing is consumed
    /// byte by byte). At the end of the connection, call
    /// [`BodyDecoder::handle_eof`] and drain `poll_body`.
    ///
    /// Use it only on a decoder that is given no bytes with `handle_bytes`.
    pub(crate) fn decode_in_place<'a>(
        &mut self,
        input: &mut &'a [u8],
    ) -> Option<Result<InPlace<'a>, BodyError>> {
        debug_assert!(self.buf.is_empty(), "bytes pushed with handle_bytes");
        if self.eof || self.failed {
            return None;
        }
        loop {
            match self.state {
                State::Finished => return None,
                State::Done => {
                    self.state = State::Finished;
                    return Some(Ok(InPlace::End));
                }
                State::Length(0) => self.state = State::Done,
                State::Length(remaining) => {
                    let data = take_slice(input, remaining)?;
                    self.state = State::Length(remaining - data.len() as u64);
                    return Some(Ok(InPlace::Data(data)));
                }
                State::UntilClose => {
                    let data = take_slice(input, u64::MAX)?;
                    return Some(Ok(InPlace::Data(data)));
                }
                State::Data(0) => self.state = State::DataCr,
                State::Data(remaining) => {
                    let data = take_slice(input, remaining)?;
                    self.state = State::Data(remaining - data.len() as u64);
                    return Some(Ok(InPlace::Data(data)));
                }
                framing => {
                    let (&byte, rest) = input.split_first()?;
                    *input = rest;
                    match self.step(framing, byte) {
                        Ok(next) => self.state = next,
                        Err(err) => return Some(Err(self.fail(err))),
                    }
                }
            }
        }
    }

    /// Up to `remaining` buffered bytes, or `None` if there are none.
    fn take_data(&mut self, remaining: u64) -> Option<Bytes> {
        if self.buf.is_empty() {
            return None;
        }
        let n = usize::try_from(remaining).map_or(self.buf.len(), |r| r.min(self.buf.len()));
        Some(self.buf.split_to(n).freeze())
    }

    /// The buffer is empty mid-body: wait, or report truncation at EOF.
    fn starved(&mut self) -> Option<Result<BodyEvent, BodyError>> {
        if self.eof {
            Some(Err(self.fail(BodyError::Truncated)))
        } else {
            None
        }
    }

    fn fail(&mut self, err: BodyError) -> BodyError {
        self.state = State::Finished;
        self.failed = true;
        self.buf = BytesMut::new();
        err
    }

    /// One framing byte of a chunked body.
    fn step(&self, state: State, b: u8) -> Result<State, BodyError> {
        let max_line = self.limits.max_chunk_line_len;
        let max_trailers = self.limits.max_trailers_len;
        let grow = |line: usize| {
            if line >= max_line {
                Err(BodyError::ChunkLineTooLong { limit: max_line })
            } else {
                Ok(line + 1)
            }
        };
        let next = match state {
            State::Size { size, line } => match (b as char).to_digit(16) {
                Some(d) => State::Size {
                    size: size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(u64::from(d)))
                        .ok_or(BodyError::ChunkSizeOverflow)?,
                    line: grow(line)?,
                },
                None if line == 0 => return Err(BodyError::InvalidChunkSize),
                None if b == b'\r' => State::SizeLf { size },
                None if matches!(b, b';' | b' ' | b'\t') => State::Ext {
                    size,
                    line: grow(line)?,
                },
                None if b == b'\n' => return Err(BodyError::MissingCrlf),
                None => return Err(BodyError::InvalidChunkSize),
            },
            State::Ext { size, line } => match b {
                b'\r' => State::SizeLf { size },
                b'\n' => return Err(BodyError::MissingCrlf),
                b'\t' => State::Ext {
                    size,
                    line: grow(line)?,
                },
                0..=0x1F | 0x7F => return Err(BodyError::InvalidChunkExtension),
                _ => State::Ext {
                    size,
                    line: grow(line)?,
                },
            },
            State::SizeLf { size } => match b {
                b'\n' if size == 0 => State::TrailerStart { len: 0 },
                b'\n' => State::Data(size),
                _ => return Err(BodyError::MissingCrlf),
            },
            State::DataCr if b == b'\r' => State::DataLf,
            State::DataLf if b == b'\n' => State::Size { size: 0, line: 0 },
            State::DataCr | State::DataLf => return Err(BodyError::MissingCrlf),
            State::TrailerStart { len } => match b {
                b'\r' => State::LastLf,
                b' ' | b'\t' | b':' => return Err(BodyError::InvalidTrailer),
                _ => trailer_byte(len, false, b, max_trailers)?,
            },
            State::TrailerLine { len, colon } => trailer_byte(len, colon, b, max_trailers)?,
            State::TrailerLf { len } if b == b'\n' => State::TrailerStart {
                len: trailer_len(len, max_trailers)?,
            },
            State::LastLf if b == b'\n' => State::Done,
            State::TrailerLf { .. } | State::LastLf => return Err(BodyError::MissingCrlf),
            // Not framing states: `poll_body` handles them itself.
            other => other,
        };
        Ok(next)
    }
}

/// What [`BodyDecoder::decode_in_place`] gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InPlace<'a> {
    /// The next piece of body data, a slice of the input; never empty.
    Data(&'a [u8]),
    /// The body is complete. Nothing follows.
    End,
}

/// Takes up to `remaining` bytes from the front of `input`: `None` if it is
/// empty.
fn take_slice<'a>(input: &mut &'a [u8], remaining: u64) -> Option<&'a [u8]> {
    if input.is_empty() {
        return None;
    }
    let n = usize::try_from(remaining).map_or(input.len(), |r| r.min(input.len()));
    let (data, rest) = input.split_at(n);
    *input = rest;
    Some(data)
}

/// `len + 1` trailer bytes, if that is within `max`.
fn trailer_len(len: usize, max: usize) -> Result<usize, BodyError> {
    if len >= max {
        Err(BodyError::TrailersTooLarge { limit: max })
    } else {
        Ok(len + 1)
    }
}

/// One byte of a trailer line that has `len` trailer bytes before it.
fn trailer_byte(len: usize, colon: bool, b: u8, max: usize) -> Result<State, BodyError> {
    let len = trailer_len(len, max)?;
    match b {
        b'\r' if colon => Ok(State::TrailerLf { len }),
        b'\n' => Err(BodyError::MissingCrlf),
        b'\t' => Ok(State::TrailerLine { len, colon }),
        b'\r' | 0..=0x1F | 0x7F => Err(BodyError::InvalidTrailer),
        b':' => Ok(State::TrailerLine { len, colon: true }),
        _ => Ok(State::TrailerLine { len, colon }),
    }
}
