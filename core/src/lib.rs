//! Sans-I/O Server-Sent Events (`text/event-stream`).
//!
//! This crate holds every protocol decision of the toolkit and no I/O: it
//! never opens a socket, never reads a clock and never spawns a task. You hand
//! it bytes (and, where time matters, an [`Instant`] from your own clock) and
//! pull back what happened. The same code then runs under any async runtime,
//! a blocking thread, a firmware main loop or a game tick; the adapters in
//! this workspace are thin glue around it.
//!
//! It is `no_std` (with `alloc`) and forbids `unsafe`.
//!
//! # Modules
//!
//! - [`parse`]: bytes → lines ([`parse::Tokenizer`]) → events
//!   ([`parse::Parser`]), the WHATWG "event stream interpretation".
//! - [`encode`]: events, comments and `retry` hints → wire bytes; the exact
//!   inverse of the parser.
//! - [`http1`]: HTTP/1.1 framing for raw sockets: request and response
//!   heads, chunked / `Content-Length` / read-until-close bodies.
//! - [`text`]: [`Utf8Bytes`], shared zero-copy UTF-8 text, and [`Utf8Ref`],
//!   the same borrowed, which an event's accessors return.
//! - [`time`]: [`Instant`], the caller's clock.
//! - [`server`]: one subscriber's response: headers, preamble (padding,
//!   `retry:`), keep-alive comments, a bounded queue, resume from
//!   `Last-Event-ID`.
//! - [`endpoint`]: the HTTP/1.1 front of a stream endpoint on a raw socket:
//!   routing a request, the stream's response head, small answers.
//! - [`hub`]: broadcast; publish encodes once into the [`replay`] log and
//!   subscribers are cursors into it; the hub holds what a subscriber was
//!   not sent yet (a burst never drops a reader), bounded, with
//!   backpressure for publishers.
//! - [`replay`]: the bounded log of encoded events behind the
//!   [`replay::ReplayLog`] trait, and the typed [`replay::Resume`] outcome.
//! - [`outbox`]: messages for one subscriber sent from outside its
//!   connection, handed to its [`server::Stream`] when the connection runs.
//! - `json` (feature `json`): any `serde::Serialize` value as event data.
//! - [`client`]: the `EventSource` state machine ([`client::Client`]):
//!   requests, response checks, reconnects, `Last-Event-ID`, close/reopen.
//! - [`url`]: [`url::Url`], absolute http(s) URLs, redirect resolution and
//!   origins for the client.
//! - [`proxy`]: which URLs go through which HTTP proxy (curl's environment
//!   variables and `NO_PROXY` rules) and the `CONNECT` tunnel, for the
//!   raw-socket drivers.
//!
//! Decisions are logged where they are made, through the `log` facade (no
//! logger, no output; it works without `std`): the client's opens,
//! reconnects with the delay chosen and fatal errors, and subscribers
//! closed for falling behind.
//!
//! # Driving it
//!
//! Every machine follows one pattern: `handle_*` methods take input,
//! `poll_*` methods give output, and after each input you drain the outputs.
//!
//! ```
//! use sse_core::parse::Parser;
//!
//! let mut parser = Parser::new();
//! let mut seen = Vec::new();
//! // Bytes arrive in arbitrary pieces, here with a CRLF split between reads.
//! for chunk in [&b"\xEF\xBB\xBFdata: tick 1\r"[..], b"\n\r\ndata: tick 2\n\n"] {
//!     parser.handle_bytes(chunk);
//!     while let Some(result) = parser.poll_event() {
//!         seen.push(result.expect("within limits").data().to_string());
//!     }
//! }
//! assert_eq!(seen, ["tick 1", "tick 2"]);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod client;
pub mod encode;
pub mod endpoint;
pub mod http1;
pub mod hub;
#[cfg(feature = "json")]
pub mod json;
pub mod outbox;
pub mod parse;
pub mod proxy;
pub mod replay;
pub mod server;
pub mod text;
pub mod time;
pub mod url;

pub use parse::{Event, Limits, Parser};
pub use text::{Utf8Bytes, Utf8Ref};
pub use time::Instant;

// The README's examples run as doctests, so the crate's front page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
