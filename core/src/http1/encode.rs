//! Head and body encoding: client requests, server response heads and
//! chunked body framing, written into any [`BufMut`].
//!
//! The head encoders check everything before writing, so an error leaves
//! the output untouched. Whatever they write parses back to the same
//! method, target, status and fields with [`super::RequestParser`] and
//! [`super::ResponseParser`].

use bytes::BufMut;
use core::fmt;

/// A client request to encode. Build with [`Request::get`] or fill in the
/// fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method, a token such as `GET` or `POST`.
    pub method: &'a str,
    /// The request target in origin form: path and query, e.g. `/events?x=1`.
    pub target: &'a str,
    /// The `Host` value: the authority (`example.com` or `example.com:8080`).
    pub host: &'a str,
    /// Extra header fields, written in order after `Host`. They must not
    /// include `Host`, `Content-Length` or `Transfer-Encoding`, which the
    /// encoder owns.
    pub headers: &'a [(&'a str, &'a str)],
    /// A body: written after the head, with `Content-Length`. `Some(b"")`
    /// writes `Content-Length: 0`; `None` writes neither.
    pub body: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// A `GET` request for `target` on `host` with no extra fields.
    pub fn get(target: &'a str, host: &'a str) -> Self {
        Request {
            method: "GET",
            target,
            host,
            headers: &[],
            body: None,
        }
    }

    /// Sets the extra header fields.
    pub fn headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.headers = headers;
        self
    }

    /// Sets the method.
    pub fn method(mut self, method: &'a str) -> Self {
        self.method = method;
        self
    }

    /// Sets a body.
    pub fn body(mut self, body: &'a [u8]) -> Self {
        self.body = Some(body);
        self
    }
}

/// A server response head to encode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// The status code, 100 to 999.
    pub status: u16,
    /// The reason phrase; may be empty.
    pub reason: &'a str,
    /// Header fields, written in order. The encoder adds none: for a
    /// streamed body include `Transfer-Encoding: chunked` and frame the body
    /// with [`chunk`] / [`last_chunk`], or send `Connection: close` and
    /// close the connection at the end.
    pub headers: &'a [(&'a str, &'a str)],
}

impl<'a> Response<'a> {
    /// A response with this status, its usual reason phrase (empty for codes
    /// this crate does not know) and no header fields.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            reason: reason_phrase(status),
            headers: &[],
        }
    }

    /// Sets the header fields.
    pub fn headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.headers = headers;
        self
    }
}

/// The usual reason phrase for the status codes an event stream server sends.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Why a head cannot be encoded. Nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The method is empty or holds a non-token character.
    InvalidMethod,
    /// The target is empty or holds whitespace or a control character.
    InvalidTarget,
    /// The host is empty or holds whitespace, a control character or one of
    /// `/ ? # @`.
    InvalidHost,
    /// The name of header field `index` is empty or holds a non-token
    /// character.
    InvalidHeaderName {
        /// Position of the field in the list.
        index: usize,
    },
    /// The value of header field `index` holds CR, LF, NUL or another
    /// control character other than tab.
    InvalidHeaderValue {
        /// Position of the field in the list.
        index: usize,
    },
    /// Header field `index` is `Host`, `Content-Length` or
    /// `Transfer-Encoding`, which the request encoder writes itself.
    ReservedHeader {
        /// Position of the field in the list.
        index: usize,
    },
    /// The status code is not in 100..=999.
    InvalidStatus,
    /// The reason phrase holds CR, LF or another control character.
    InvalidReason,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::InvalidMethod => f.write_str("invalid request method"),
            EncodeError::InvalidTarget => f.write_str("invalid request target"),
            EncodeError::InvalidHost => f.write_str("invalid host"),
            EncodeError::InvalidHeaderName { index } => {
                write!(f, "invalid name in header field {index}")
            }
            EncodeError::InvalidHeaderValue { index } => {
                write!(f, "invalid value in header field {index}")
            }
            EncodeError::ReservedHeader { index } => {
                write!(f, "header field {index} is set by the encoder")
            }
            EncodeError::InvalidStatus => f.write_str("invalid status code"),
            EncodeError::InvalidReason => f.write_str("invalid reason phrase"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}

/// Whether `b` is a `tchar` (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Field values and reason phrases: no control characters except tab.
fn is_field_text(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || !(b < 0x20 || b == 0x7F))
}

/// Visible characters only (targets and hosts).
fn is_visible(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b > 0x20 && b != 0x7F)
}

fn check_headers(headers: &[(&str, &str)], reserved: &[&str]) -> Result<(), EncodeError> {
    for (index, (name, value)) in headers.iter().enumerate() {
        if !is_token(name) {
            return Err(EncodeError::InvalidHeaderName { index });
        }
        if !is_field_text(value) {
            return Err(EncodeError::InvalidHeaderValue { index });
        }
        if reserved.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(EncodeError::ReservedHeader { index });
        }
    }
    Ok(())
}

fn put_headers(dst: &mut impl BufMut, headers: &[(&str, &str)]) {
    for (name, value) in headers {
        put_field(dst, name, value.as_bytes());
    }
}

fn put_field(dst: &mut impl BufMut, name: &str, value: &[u8]) {
    dst.put_slice(name.as_bytes());
    dst.put_slice(b": ");
    dst.put_slice(value);
    dst.put_slice(b"\r\n");
}

/// Writes `n` in decimal.
fn put_decimal(dst: &mut impl BufMut, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    dst.put_slice(&digits[i..]);
}

/// Writes `n` in lowercase hexadecimal.
fn put_hex(dst: &mut impl BufMut, n: u64) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[(n & 0xF) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    dst.put_slice(&digits[i..]);
}

/// Checks that `req` can be encoded, without writing anything.
pub fn validate_request(req: &Request<'_>) -> Result<(), EncodeError> {
    if !is_token(req.method) {
        return Err(EncodeError::InvalidMethod);
    }
    if !is_visible(req.target) {
        return Err(EncodeError::InvalidTarget);
    }
    if !is_visible(req.host) || req.host.bytes().any(|b| b"/?#@".contains(&b)) {
        return Err(EncodeError::InvalidHost);
    }
    check_headers(
        req.headers,
        &["host", "content-length", "transfer-encoding"],
    )
}

/// Writes `req` as HTTP/1.1: request line, `Host`, the extra fields,
/// `Content-Length` when there is a body, the blank line, then the body.
///
/// ```
/// use sse_core::http1::{encode_request, Request};
///
/// let mut out = Vec::new();
/// let headers = [("Accept", "text/event-stream"), ("Last-Event-ID", "42")];
/// encode_request(&mut out, &Request::get("/events", "example.com").headers(&headers)).unwrap();
/// assert_eq!(
///     out,
///     b"GET /events HTTP/1.1\r\nHost: example.com\r\nAccept: text/event-stream\r\n\
///       Last-Event-ID: 42\r\n\r\n"
/// );
/// ```
pub fn encode_request(dst: &mut impl BufMut, req: &Request<'_>) -> Result<(), EncodeError> {
    validate_request(req)?;
    dst.put_slice(req.method.as_bytes());
    dst.put_u8(b' ');
    dst.put_slice(req.target.as_bytes());
    dst.put_slice(b" HTTP/1.1\r\n");
    put_field(dst, "Host", req.host.as_bytes());
    put_headers(dst, req.headers);
    if let Some(body) = req.body {
        dst.put_slice(b"Content-Length: ");
        put_decimal(dst, body.len() as u64);
        dst.put_slice(b"\r\n");
    }
    dst.put_slice(b"\r\n");
    if let Some(body) = req.body {
        dst.put_slice(body);
    }
    Ok(())
}

/// Checks that `res` can be encoded, without writing anything.
pub fn validate_response(res: &Response<'_>) -> Result<(), EncodeError> {
    if !(100..=999).contains(&res.status) {
        return Err(EncodeError::InvalidStatus);
    }
    if !is_field_text(res.reason) {
        return Err(EncodeError::InvalidReason);
    }
    check_headers(res.headers, &[])
}

/// Writes a response head as HTTP/1.1: status line, the fields as given,
/// the blank line.
///
/// ```
/// use sse_core::http1::{chunk, encode_response_head, last_chunk, Response};
///
/// let mut out = Vec::new();
/// let headers = [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")];
/// encode_response_head(&mut out, &Response::new(200).headers(&headers)).unwrap();
/// chunk(&mut out, b"data: hi\n\n");
/// last_chunk(&mut out);
/// assert_eq!(
///     out,
///     b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\
///       \r\na\r\ndata: hi\n\n\r\n0\r\n\r\n"
/// );
/// ```
pub fn encode_response_head(dst: &mut impl BufMut, res: &Response<'_>) -> Result<(), EncodeError> {
    validate_response(res)?;
    dst.put_slice(b"HTTP/1.1 ");
    put_decimal(dst, u64::from(res.status));
    dst.put_u8(b' ');
    dst.put_slice(res.reason.as_bytes());
    dst.put_slice(b"\r\n");
    put_headers(dst, res.headers);
    dst.put_slice(b"\r\n");
    Ok(())
}

/// Writes one chunk of a chunked body. Empty `data` writes nothing, since an
/// empty chunk would end the body.
pub fn chunk(dst: &mut impl BufMut, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    chunk_header(dst, data.len());
    dst.put_slice(data);
    dst.put_slice(CHUNK_END);
}

/// Writes the size line of a chunk of `len` bytes (`len` must not be 0).
/// Send the data next, then [`CHUNK_END`]: this lets a server send shared
/// [`bytes::Bytes`] without copying them into the output.
pub fn chunk_header(dst: &mut impl BufMut, len: usize) {
    put_hex(dst, len as u64);
    dst.put_slice(b"\r\n");
}

/// The CRLF that follows the data of every chunk.
pub const CHUNK_END: &[u8] = b"\r\n";

/// Writes the last chunk and an empty trailer section: the end of a
/// chunked body.
pub fn last_chunk(dst: &mut impl BufMut) {
    dst.put_slice(b"0\r\n\r\n");
}
