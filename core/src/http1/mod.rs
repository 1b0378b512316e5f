//! HTTP/1.1 framing for raw sockets, on top of `httparse`.
//!
//! This is the HTTP a firmware loop, the blocking adapter or a raw-socket
//! server needs to speak `text/event-stream`, and nothing more. It is
//! sans-I/O like the rest of the core: bytes in, heads and body data out.
//!
//! Client side:
//!
//! 1. [`encode_request`] writes a [`Request`] into any `BufMut`.
//! 2. [`ResponseParser`] takes bytes from the socket until it has a
//!    [`ResponseHead`] (interim `1xx` responses are skipped) and says how
//!    many bytes of the last input the head used.
//! 3. [`ResponseHead::framing`] turns the head into a [`Framing`], and a
//!    [`BodyDecoder`] takes the rest of the input and everything after it,
//!    giving body data (for the event stream parser) and then
//!    [`BodyEvent::End`], or a [`BodyError`] when the body is malformed or
//!    the connection closed too early.
//!
//! Server side: [`RequestParser`] gives a [`RequestHead`];
//! [`encode_response_head`] writes the status line and fields; [`chunk`] /
//! [`chunk_header`] and [`last_chunk`] frame a streamed body.
//!
//! Errors are split by who is at fault: [`EncodeError`] for what the caller
//! asked to write, [`HeadError`] and [`BodyError`] for what the peer sent.
//! Every limit ([`HeadLimits`], [`BodyLimits`]) is enforced without buffering
//! past it, and no input makes anything here panic.
//!
//! # Decisions
//!
//! - `Transfer-Encoding` together with `Content-Length` is rejected
//!   ([`HeadError::ContentLengthWithTransferEncoding`]) rather than letting
//!   chunked win; RFC 9112 §6.3 allows both and calls such a message a
//!   likely smuggling attempt. A `Content-Length` repeated with the same
//!   value is rejected too (RFC 9110 §8.6 allows either).
//! - `Transfer-Encoding` must be exactly `chunked`: there is no decoder for
//!   other codings, and an event stream is never compressed by them.
//! - Heads accept bare LF line endings (RFC 9112 §2.2 lets recipients);
//!   chunked framing demands CRLF, which every real server sends.
//! - Obsolete line folding is an error ([`HeadError::ObsFold`]).
//! - Chunk extensions and trailer fields are checked and discarded.
//!
//! # Driving it
//!
//! ```
//! use sse_core::http1::{
//!     encode_request, BodyDecoder, BodyEvent, HeadStatus, Request, ResponseParser,
//! };
//!
//! // A fake socket: what the server sends, in two reads.
//! let reads: [&[u8]; 2] = [
//!     b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n",
//!     b"Transfer-Encoding: chunked\r\n\r\n7\r\ndata: a\r\n2\r\n\n\n\r\n0\r\n\r\n",
//! ];
//!
//! let mut out = Vec::new();
//! let headers = [("Accept", "text/event-stream"), ("Cache-Control", "no-cache")];
//! encode_request(&mut out, &Request::get("/events", "example.com").headers(&headers)).unwrap();
//! // ... write `out` to the socket ...
//!
//! let mut parser = ResponseParser::new();
//! let mut body = None;
//! let mut data = Vec::new();
//! let mut ended = false;
//! for read in reads {
//!     let mut rest = read;
//!     if body.is_none() {
//!         match parser.handle_bytes(read).expect("valid head") {
//!             HeadStatus::Partial => continue,
//!             HeadStatus::Complete(head, used) => {
//!                 assert!(head.status() == 200 && head.is_event_stream());
//!                 body = Some(BodyDecoder::new(head.framing(false).expect("valid framing")));
//!                 rest = &read[used..];
//!             }
//!         }
//!     }
//!     let decoder = body.as_mut().unwrap();
//!     decoder.handle_bytes(rest);
//!     while let Some(event) = decoder.poll_body() {
//!         match event.expect("valid body") {
//!             BodyEvent::Data(bytes) => data.extend_from_slice(&bytes),
//!             BodyEvent::End => ended = true,
//!         }
//!     }
//! }
//! assert_eq!(data, b"data: a\n\n");
//! assert!(ended);
//! ```
//!
//! At end of file, call [`BodyDecoder::handle_eof`] and drain
//! [`BodyDecoder::poll_body`]: a close-delimited body ends with
//! [`BodyEvent::End`], a cut-short one with [`BodyError::Truncated`].

mod body;
mod encode;
mod head;
mod headers;

pub(crate) use body::InPlace;
pub use body::{BodyDecoder, BodyError, BodyEvent, BodyLimits, Framing};
pub use encode::{
    chunk, chunk_header, encode_request, encode_response_head, last_chunk, reason_phrase,
    validate_request, validate_response, EncodeError, Request, Response, CHUNK_END,
};
pub use head::{
    HeadError, HeadLimits, HeadStatus, RequestHead, RequestParser, ResponseHead, ResponseParser,
    RetryAfter,
};
pub use headers::{Headers, Version};

#[cfg(test)]
mod tests;
