//! Head parsing: response heads for clients, request heads for servers, and
//! the body framing each head implies.
//!
//! Both parsers share one scanner ([`HeadBuffer`]) that copies bytes up to
//! the blank line ending the head and no further, so body bytes stay with
//! the caller. The scanner keeps its position between calls: a head that
//! arrives one byte at a time costs linear time. Only a complete head is
//! handed to `httparse`, once.

use alloc::vec;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use core::fmt;
use core::ops::Range;

use super::body::Framing;
use super::headers::{trim, Headers, Version};

/// Limits for one head. Exceeding one is a [`HeadError`], never growth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadLimits {
    /// Largest head in bytes: start line, fields and the blank line, plus
    /// any empty lines before the start line. Default 64 KiB.
    pub max_head_len: usize,
    /// Most header fields in one head. Default 100.
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_head_len: 64 << 10,
            max_headers: 100,
        }
    }
}

/// The outcome of pushing bytes into a head parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadStatus<T> {
    /// A complete head, and how many bytes of the input just pushed it used.
    /// The rest of that input (`&input[consumed..]`) is the start of the body.
    Complete(T, usize),
    /// The whole input was taken; the head needs more bytes.
    Partial,
}

/// The peer sent a head that cannot be used. The connection should be
/// closed: its framing is unknown from here on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeadError {
    /// The head did not end within `limit` bytes.
    TooLarge {
        /// The configured [`HeadLimits::max_head_len`].
        limit: usize,
    },
    /// The head has more than `limit` header fields.
    TooManyHeaders {
        /// The configured [`HeadLimits::max_headers`].
        limit: usize,
    },
    /// The version is not `HTTP/1.0` or `HTTP/1.1`.
    UnsupportedVersion,
    /// The status line or request line is malformed.
    InvalidStartLine,
    /// The status code is below 100.
    InvalidStatus,
    /// A header name holds a byte that is not a token character.
    InvalidHeaderName,
    /// A header value holds a control character.
    InvalidHeaderValue,
    /// A header line starts with whitespace (obsolete line folding, which
    /// RFC 9112 §5.2 lets a recipient reject).
    ObsFold,
    /// A line ends in a bare CR or another invalid line break.
    InvalidLineEnding,
    /// A `101 Switching Protocols` response: an event stream never upgrades.
    SwitchingProtocols,
    /// A `Content-Length` value is not a decimal number that fits a `u64`.
    InvalidContentLength,
    /// `Content-Length` appears more than once (or as a list) with one value.
    DuplicateContentLength,
    /// `Content-Length` appears more than once with different values.
    ConflictingContentLength,
    /// Both `Transfer-Encoding` and `Content-Length` are present, a sign of
    /// request smuggling or response splitting (RFC 9112 §6.3).
    ContentLengthWithTransferEncoding,
    /// `Transfer-Encoding` is something other than exactly `chunked`.
    UnsupportedTransferEncoding,
    /// An HTTP/1.0 message has `Transfer-Encoding`, which that version does
    /// not define (RFC 9112 §6.1 calls its framing faulty).
    TransferEncodingInHttp10,
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::TooLarge { limit } => write!(f, "head larger than {limit} bytes"),
            HeadError::TooManyHeaders { limit } => write!(f, "more than {limit} header fields"),
            HeadError::UnsupportedVersion => f.write_str("unsupported http version"),
            HeadError::InvalidStartLine => f.write_str("malformed start line"),
            HeadError::InvalidStatus => f.write_str("invalid status code"),
            HeadError::InvalidHeaderName => f.write_str("invalid header name"),
            HeadError::InvalidHeaderValue => f.write_str("invalid header value"),
            HeadError::ObsFold => f.write_str("folded header line (obs-fold)"),
            HeadError::InvalidLineEnding => f.write_str("invalid line ending in head"),
            HeadError::SwitchingProtocols => f.write_str("unexpected 101 switching protocols"),
            HeadError::InvalidContentLength => f.write_str("invalid content-length"),
            HeadError::DuplicateContentLength => f.write_str("duplicate content-length"),
            HeadError::ConflictingContentLength => f.write_str("conflicting content-length values"),
            HeadError::ContentLengthWithTransferEncoding => {
                f.write_str("both content-length and transfer-encoding")
            }
            HeadError::UnsupportedTransferEncoding => f.write_str("unsupported transfer-encoding"),
            HeadError::TransferEncodingInHttp10 => f.write_str("transfer-encoding in http/1.0"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HeadError {}

/// Where the end-of-head scanner is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    /// Before the start line: CR and LF bytes are skipped (RFC 9112 §2.2).
    Start,
    /// Inside a line.
    Line,
    /// Just after an LF.
    Lf,
    /// Just after LF CR.
    LfCr,
}

/// Collects one head: bytes up to and including the empty line.
#[derive(Debug)]
struct HeadBuffer {
    buf: BytesMut,
    scan: Scan,
    /// Empty-line bytes skipped before the start line.
    skipped: usize,
    limits: HeadLimits,
    /// A head error already reported: the stream is unusable.
    failed: Option<HeadError>,
}

impl HeadBuffer {
    fn new(limits: HeadLimits) -> Self {
        HeadBuffer {
            buf: BytesMut::new(),
            scan: Scan::Start,
            skipped: 0,
            limits,
            failed: None,
        }
    }

    /// Takes bytes of `input` until the head ends. `Some(n)`: the head is
    /// complete in `self.buf` and used the first `n` bytes of `input`.
    fn feed(&mut self, input: &[u8]) -> Result<Option<usize>, HeadError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let mut pos = 0;
        let mut start = 0;
        let mut done = false;
        while let Some(&b) = input.get(pos) {
            match self.scan {
                Scan::Start if b == b'\r' || b == b'\n' => {
                    pos += 1;
                    start = pos;
                    self.skipped += 1;
                }
                Scan::Start => self.scan = Scan::Line,
                Scan::Line => match input
                    .get(pos..)
                    .and_then(|rest| memchr::memchr(b'\n', rest))
                {
                    Some(offset) => {
                        pos += offset + 1;
                        self.scan = Scan::Lf;
                    }
                    None => pos = input.len(),
                },
                Scan::Lf | Scan::LfCr if b == b'\n' => {
                    pos += 1;
                    done = true;
                    break;
                }
                Scan::Lf if b == b'\r' => {
                    pos += 1;
                    self.scan = Scan::LfCr;
                }
                Scan::Lf | Scan::LfCr => self.scan = Scan::Line,
            }
            if self.skipped > self.limits.max_head_len {
                break;
            }
        }
        let taken = input.get(start..pos).unwrap_or(&[]);
        let total = self.skipped + self.buf.len() + taken.len();
        if total > self.limits.max_head_len {
            return Err(self.fail(HeadError::TooLarge {
                limit: self.limits.max_head_len,
            }));
        }
        self.buf.extend_from_slice(taken);
        Ok(done.then_some(pos))
    }

    /// Takes the complete head out and gets ready for the next one.
    fn take(&mut self) -> BytesMut {
        self.scan = Scan::Start;
        self.skipped = 0;
        self.buf.split()
    }

    fn fail(&mut self, err: HeadError) -> HeadError {
        self.failed = Some(err);
        self.buf = BytesMut::new();
        err
    }
}

/// Parses response heads from a stream of bytes (the client side).
///
/// Push bytes with [`ResponseParser::handle_bytes`] until it gives
/// [`HeadStatus::Complete`]; the bytes after the head belong to the body
/// (see [`ResponseHead::framing`]). Interim `1xx` responses such as
/// `100 Continue` are skipped; `101 Switching Protocols` is an error. After an
/// error every later call returns the same error.
#[derive(Debug)]
pub struct ResponseParser {
    head: HeadBuffer,
}

impl Default for ResponseParser {
    fn default() -> Self {
        ResponseParser::new()
    }
}

impl ResponseParser {
    /// A parser with the default [`HeadLimits`].
    pub fn new() -> Self {
        ResponseParser::with_limits(HeadLimits::default())
    }

    /// A parser with the given limits.
    pub fn with_limits(limits: HeadLimits) -> Self {
        ResponseParser {
            head: HeadBuffer::new(limits),
        }
    }

    /// Pushes bytes. Returns the final head and the number of bytes of
    /// `input` it used, or [`HeadStatus::Partial`] when all of `input` was
    /// taken and more is needed.
    pub fn handle_bytes(&mut self, input: &[u8]) -> Result<HeadStatus<ResponseHead>, HeadError> {
        let mut used = 0;
        loop {
            let rest = input.get(used..).unwrap_or(&[]);
            let Some(n) = self.head.feed(rest)? else {
                return Ok(HeadStatus::Partial);
            };
            used += n;
            let raw = self.head.take();
            let head = match parse_response(raw, self.head.limits.max_headers) {
                Ok(head) => head,
                Err(err) => return Err(self.head.fail(err)),
            };
            match head.status {
                101 => return Err(self.head.fail(HeadError::SwitchingProtocols)),
                100..=199 => continue,
                _ => return Ok(HeadStatus::Complete(head, used)),
            }
        }
    }
}

/// A parsed response head (status line and header fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    version: Version,
    status: u16,
    reason: Bytes,
    headers: Headers,
}

impl ResponseHead {
    /// A head built by hand, e.g. for tests of a client machine.
    pub fn new(version: Version, status: u16, reason: impl Into<Bytes>, headers: Headers) -> Self {
        ResponseHead {
            version,
            status,
            reason: reason.into(),
            headers,
        }
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The status code (100 to 999).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase, raw bytes (possibly empty).
    pub fn reason(&self) -> &Bytes {
        &self.reason
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&Bytes> {
        self.headers.get(name)
    }

    /// The first value of header `name`, if it is UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }

    /// The `Content-Type` value.
    pub fn content_type(&self) -> Option<&str> {
        self.header_str("content-type")
    }

    /// Whether `Content-Type` is `text/event-stream`, compared as a MIME type:
    /// case-insensitive, parameters such as `charset` ignored.
    pub fn is_event_stream(&self) -> bool {
        self.header("content-type").is_some_and(|v| {
            let essence = v.split(|&b| b == b';').next().unwrap_or(&[]);
            trim(essence).eq_ignore_ascii_case(b"text/event-stream")
        })
    }

    /// The `Location` value, for redirects.
    pub fn location(&self) -> Option<&str> {
        self.header_str("location")
    }

    /// Whether the status is a redirect that has a target to follow
    /// (301, 302, 303, 307 or 308).
    pub fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308)
    }

    /// The `Retry-After` value.
    pub fn retry_after(&self) -> Option<RetryAfter<'_>> {
        let value = trim(self.header("retry-after")?);
        if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
            let secs = value.iter().try_fold(0u64, |acc, &d| {
                acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            });
            return Some(RetryAfter::Seconds(secs.unwrap_or(u64::MAX)));
        }
        core::str::from_utf8(value).ok().map(RetryAfter::Date)
    }

    /// Whether the server said it will close the connection after this
    /// response (`Connection: close`, or HTTP/1.0 without `keep-alive`).
    pub fn is_close(&self) -> bool {
        self.headers.has_token("connection", "close")
            || (self.version == Version::Http10
                && !self.headers.has_token("connection", "keep-alive"))
    }

    /// How the body is delimited (RFC 9112 §6.3). `head_request` says the
    /// request was `HEAD`, whose response never has a body; neither has a
    /// `204` or `304`. Without `Transfer-Encoding` or `Content-Length` the
    /// body runs until the server closes the connection.
    ///
    /// `Transfer-Encoding` together with `Content-Length` is an error here,
    /// not "chunked wins": the RFC allows either, and an event stream client
    /// gains nothing from trusting a message that may be smuggled.
    pub fn framing(&self, head_request: bool) -> Result<Framing, HeadError> {
        if head_request || matches!(self.status, 100..=199 | 204 | 304) {
            return Ok(Framing::Empty);
        }
        Ok(message_framing(&self.headers, self.version)?.unwrap_or(Framing::UntilClose))
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter<'a> {
    /// A delay in seconds (saturated at `u64::MAX`).
    Seconds(u64),
    /// Anything else, normally an HTTP-date; not parsed here.
    Date(&'a str),
}

/// Parses request heads from a stream of bytes (the server side).
///
/// Push bytes with [`RequestParser::handle_bytes`] until it gives
/// [`HeadStatus::Complete`]; the bytes after the head belong to the request
/// body (see [`RequestHead::framing`]). Empty lines before the request line
/// are skipped. After an error every later call returns the same error.
#[derive(Debug)]
pub struct RequestParser {
    head: HeadBuffer,
}

impl Default for RequestParser {
    fn default() -> Self {
        RequestParser::new()
    }
}

impl RequestParser {
    /// A parser with the default [`HeadLimits`].
    pub fn new() -> Self {
        RequestParser::with_limits(HeadLimits::default())
    }

    /// A parser with the given limits.
    pub fn with_limits(limits: HeadLimits) -> Self {
        RequestParser {
            head: HeadBuffer::new(limits),
        }
    }

    /// Pushes bytes. Returns the head and the number of bytes of `input` it
    /// used, or [`HeadStatus::Partial`] when all of `input` was taken.
    ///
    /// A head whose body cannot be delimited is an error here (RFC 9112
    /// §6.3: an invalid, overflowing or conflicting `Content-Length`,
    /// `Transfer-Encoding` with `Content-Length`, or a transfer coding other
    /// than `chunked`; see [`RequestHead::framing`]): a server must answer
    /// it with `400` and close the connection, whatever the request is for.
    pub fn handle_bytes(&mut self, input: &[u8]) -> Result<HeadStatus<RequestHead>, HeadError> {
        let Some(n) = self.head.feed(input)? else {
            return Ok(HeadStatus::Partial);
        };
        let raw = self.head.take();
        match parse_request(raw, self.head.limits.max_headers)
            .and_then(|head| head.framing().map(|_| head))
        {
            Ok(head) => Ok(HeadStatus::Complete(head, n)),
            Err(err) => Err(self.head.fail(err)),
        }
    }
}

/// A parsed request head (request line and header fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    method: Bytes,
    target: Bytes,
    version: Version,
    headers: Headers,
}

impl RequestHead {
    /// A head built by hand, e.g. from a request another HTTP library
    /// parsed (an HTTP/2 request is described as HTTP/1.1 would carry it:
    /// its `:path` as the target). Nothing is validated.
    pub fn new(
        method: impl Into<Bytes>,
        target: impl Into<Bytes>,
        version: Version,
        headers: Headers,
    ) -> Self {
        RequestHead {
            method: method.into(),
            target: target.into(),
            version,
            headers,
        }
    }

    /// The method, e.g. `GET` (case-sensitive, as sent).
    pub fn method(&self) -> &str {
        core::str::from_utf8(&self.method).unwrap_or("")
    }

    /// The request target as sent, usually a path and query (`/events?x=1`).
    pub fn target(&self) -> &str {
        core::str::from_utf8(&self.target).unwrap_or("")
    }

    /// The target's path: everything before the first `?`.
    pub fn path(&self) -> &str {
        let target = self.target();
        target.split('?').next().unwrap_or(target)
    }

    /// The target's query: everything after the first `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.target().split_once('?').map(|(_, q)| q)
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&Bytes> {
        self.headers.get(name)
    }

    /// The first value of header `name`, if it is UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }

    /// The `Host` value.
    pub fn host(&self) -> Option<&str> {
        self.header_str("host")
    }

    /// The `Last-Event-ID` value a reconnecting EventSource sends.
    pub fn last_event_id(&self) -> Option<&str> {
        self.header_str("last-event-id")
    }

    /// How the request body is delimited (RFC 9112 §6.3): chunked, a
    /// `Content-Length`, or [`Framing::Empty`] when neither is present.
    /// `Transfer-Encoding` together with `Content-Length` is an error.
    pub fn framing(&self) -> Result<Framing, HeadError> {
        Ok(message_framing(&self.headers, self.version)?.unwrap_or(Framing::Empty))
    }
}

/// Framing from `Transfer-Encoding` / `Content-Length`, `None` if neither.
fn message_framing(headers: &Headers, version: Version) -> Result<Option<Framing>, HeadError> {
    let has_length = headers.contains("content-length");
    if headers.contains("transfer-encoding") {
        if version == Version::Http10 {
            return Err(HeadError::TransferEncodingInHttp10);
        }
        if has_length {
            return Err(HeadError::ContentLengthWithTransferEncoding);
        }
        let mut codings = headers
            .get_all("transfer-encoding")
            .flat_map(|v| v.split(|&b| b == b','))
            .map(trim)
            .filter(|c| !c.is_empty());
        return match (codings.next(), codings.next()) {
            (Some(c), None) if c.eq_ignore_ascii_case(b"chunked") => Ok(Some(Framing::Chunked)),
            _ => Err(HeadError::UnsupportedTransferEncoding),
        };
    }
    if !has_length {
        return Ok(None);
    }
    let mut first = None;
    let mut duplicate = false;
    let mut conflict = false;
    for item in headers
        .get_all("content-length")
        .flat_map(|v| v.split(|&b| b == b','))
    {
        let n = parse_decimal(trim(item)).ok_or(HeadError::InvalidContentLength)?;
        match first {
            None => first = Some(n),
            Some(m) if m == n => duplicate = true,
            Some(_) => conflict = true,
        }
    }
    if conflict {
        return Err(HeadError::ConflictingContentLength);
    }
    if duplicate {
        return Err(HeadError::DuplicateContentLength);
    }
    Ok(first.map(Framing::Length))
}

/// One or more ASCII digits that fit a `u64`.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Where `part` lies inside `base`, if it does.
fn range_in(base: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(base.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= base.len()).then_some(start..end)
}

/// Maps an `httparse` error, looking at the head for the likely cause.
fn head_error(err: httparse::Error, raw: &[u8], max_headers: usize, request: bool) -> HeadError {
    let folded = raw.windows(2).any(|w| matches!(w, [b'\n', b' ' | b'\t']));
    match err {
        httparse::Error::HeaderName | httparse::Error::NewLine | httparse::Error::HeaderValue
            if folded =>
        {
            HeadError::ObsFold
        }
        httparse::Error::HeaderName => HeadError::InvalidHeaderName,
        httparse::Error::HeaderValue => HeadError::InvalidHeaderValue,
        httparse::Error::NewLine => HeadError::InvalidLineEnding,
        httparse::Error::TooManyHeaders => HeadError::TooManyHeaders { limit: max_headers },
        httparse::Error::Version if says_http(raw, request) => HeadError::UnsupportedVersion,
        httparse::Error::Version | httparse::Error::Status | httparse::Error::Token => {
            HeadError::InvalidStartLine
        }
    }
}

/// Whether the start line's version word starts with `HTTP/`: then a
/// version error means an unsupported version, not a malformed line.
fn says_http(raw: &[u8], request: bool) -> bool {
    let line = raw.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let word = if request {
        line.split(|&b| b == b' ').nth(2).unwrap_or(&[])
    } else {
        line
    };
    word.starts_with(b"HTTP/")
}

/// Header name and value positions inside the raw head.
type FieldRanges = Vec<(Range<usize>, Range<usize>)>;

fn field_ranges(raw: &[u8], headers: &[httparse::Header<'_>]) -> FieldRanges {
    headers
        .iter()
        .map(|h| {
            let name = range_in(raw, h.name.as_bytes()).unwrap_or(0..0);
            let value = range_in(raw, h.value).unwrap_or(0..0);
            (name, value)
        })
        .collect()
}

/// Lowercases the names in place, freezes the head and slices the fields.
fn build_headers(mut raw: BytesMut, ranges: &FieldRanges) -> (Bytes, Headers) {
    for (name, _) in ranges {
        if let Some(bytes) = raw.get_mut(name.clone()) {
            bytes.make_ascii_lowercase();
        }
    }
    let raw = raw.freeze();
    let mut headers = Headers::with_capacity(ranges.len());
    for (name, value) in ranges {
        headers.push_lowercased(raw.slice(name.clone()), raw.slice(value.clone()));
    }
    (raw, headers)
}

fn parse_response(raw: BytesMut, max_headers: usize) -> Result<ResponseHead, HeadError> {
    let mut slots = vec![httparse::EMPTY_HEADER; max_headers];
    let mut res = httparse::Response::new(&mut slots);
    match res.parse(&raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::InvalidLineEnding),
        Err(err) => return Err(head_error(err, &raw, max_headers, false)),
    }
    let version = if res.version == Some(0) {
        Version::Http10
    } else {
        Version::Http11
    };
    let status = res.code.unwrap_or(0);
    if status < 100 {
        return Err(HeadError::InvalidStatus);
    }
    let reason = match res.reason {
        Some(r) if !r.is_empty() => range_in(&raw, r.as_bytes()),
        _ => raw_reason(&raw),
    };
    let ranges = field_ranges(&raw, res.headers);
    let (raw, headers) = build_headers(raw, &ranges);
    let reason = reason.map_or_else(Bytes::new, |r| raw.slice(r));
    Ok(ResponseHead {
        version,
        status,
        reason,
        headers,
    })
}

/// The reason phrase taken from the raw status line: `httparse` gives an
/// empty one when it holds obs-text.
fn raw_reason(raw: &[u8]) -> Option<Range<usize>> {
    let line_end = memchr::memchr(b'\n', raw)?;
    let line = raw.get(..line_end)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // "HTTP/1.1 200 " is 13 bytes.
    (line.len() > 13).then_some(13..line.len())
}

fn parse_request(raw: BytesMut, max_headers: usize) -> Result<RequestHead, HeadError> {
    let mut slots = vec![httparse::EMPTY_HEADER; max_headers];
    let mut req = httparse::Request::new(&mut slots);
    match req.parse(&raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::InvalidLineEnding),
        Err(err) => return Err(head_error(err, &raw, max_headers, true)),
    }
    let version = if req.version == Some(0) {
        Version::Http10
    } else {
        Version::Http11
    };
    let method = req.method.and_then(|m| range_in(&raw, m.as_bytes()));
    let target = req.path.and_then(|p| range_in(&raw, p.as_bytes()));
    let (Some(method), Some(target)) = (method, target) else {
        return Err(HeadError::InvalidStartLine);
    };
    let ranges = field_ranges(&raw, req.headers);
    let (raw, headers) = build_headers(raw, &ranges);
    Ok(RequestHead {
        method: raw.slice(method),
        target: raw.slice(target),
        version,
        headers,
    })
}
