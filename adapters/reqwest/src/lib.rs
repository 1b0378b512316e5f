//! Server-Sent Events over your [`reqwest::Client`]: the `sse-core`
//! `EventSource` machine, with reqwest's HTTP/2, proxies, TLS roots, cookies
//! and default headers.
//!
//! ```
//! use futures_lite::StreamExt;
//! use sse_reqwest::sse_core::client::Notification;
//! use sse_reqwest::EventSource;
//! # use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let _ = rustls::crypto::ring::default_provider().install_default();
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let url = format!("http://{}/events", listener.local_addr()?);
//! # tokio::spawn(async move {
//! #     let (mut tcp, _) = listener.accept().await.unwrap();
//! #     let mut head = [0u8; 1024];
//! #     let _ = tcp.read(&mut head).await;
//! #     let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n\
//! #         id: 1\ndata: hello\n\nid: 2\ndata: world\n\n").await;
//! # });
//! // A server on loopback streams two events (hidden above).
//! let mut events = EventSource::new(&url)?;
//! let mut got = Vec::new();
//! while let Some(n) = events.next().await {
//!     match n {
//!         Notification::Open => println!("open"),
//!         Notification::Message(m) => got.push(m.event.data().to_string()),
//!         Notification::Error { reconnecting, error } => eprintln!("{error} ({reconnecting})"),
//!         _ => {}
//!     }
//!     if got.len() == 2 {
//!         break;
//!     }
//! }
//! assert_eq!(got, ["hello", "world"]);
//! assert_eq!(events.last_event_id(), "2"); // sent as Last-Event-ID on reconnect
//! # Ok(()) }
//! ```
//!
//! # What comes from where
//!
//! Every protocol decision is the core's [`Client`](sse_core::client::Client)
//! machine's, the same one the raw-socket adapters (`sse-smol`,
//! `sse-async-std`, `sse-blocking`) drive, so the behaviour is the same
//! everywhere: the request's `Accept: text/event-stream`,
//! `Cache-Control: no-cache` and `Last-Event-ID`; `200` + `text/event-stream`
//! (a parsed MIME type) opens, `204` stops, any other answer fails with its
//! status and the start of its body ([`Config::max_error_body`]); reconnects
//! after the server's `retry:` with optional backoff; the WHATWG parser with
//! its limits. This crate only moves requests, bytes and time:
//! [`EventSource`] sends each request through a [`Fetch`] (a
//! [`reqwest::Client`]) and sleeps on a [`Timer`] ([`TokioTimer`] by
//! default; the conformance runner puts a virtual clock there).
//!
//! What reqwest brings: HTTP/2 (ALPN, or `http2_prior_knowledge`), proxies
//! (`Proxy`, and `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` by default), TLS
//! with your roots (`tls_certs_only`, `tls_certs_merge`), cookies,
//! compression, default headers, middleware (implement [`Fetch`]).
//! TLS is reqwest's: enable its features in your own `reqwest` dependency
//! (`reqwest = "0.13"` has rustls with the system's roots); Cargo unifies
//! them with this crate's.
//!
//! # Requests with a body (LLM APIs)
//!
//! [`EventSource::from_request`] takes a [`reqwest::RequestBuilder`]: its
//! method, headers, body (bytes, not a stream), timeout and version are sent
//! on every attempt. A `POST` is one-shot by default: its clean end is a
//! [`Notification::Closed`](sse_core::client::Notification::Closed), a
//! dropped connection a final error, and it is never sent twice unless you
//! ask with [`Reconnect::Always`](sse_core::client::Reconnect::Always), which
//! re-sends the same body with `Last-Event-ID`.
//!
//! # Redirects
//!
//! reqwest's redirect policy belongs to the whole `Client`, not to one
//! request. The constructors that make a client ([`EventSource::new`],
//! [`EventSource::with_config`], [`client_builder`]) turn it off
//! (`redirect::Policy::none()`), so the machine follows redirects by its
//! rules: at most [`Config::max_redirects`], `303` (and `301`/`302` after a
//! `POST`) continue as `GET` without body, `Authorization` is not sent to
//! another origin, and events carry the final URL's origin. A client of
//! yours that follows redirects itself (reqwest's default: up to 10, its
//! own rules for methods and headers) still works: the machine sees only
//! the final response and is told its URL, so the events' origin is right,
//! but `max_redirects` does not apply. Build your client from
//! [`client_builder`] to keep the core's rules.
//!
//! [`Config::max_error_body`]: sse_core::client::Config::max_error_body
//! [`Config::max_redirects`]: sse_core::client::Config::max_redirects
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod fetch;
mod request;
mod source;
mod timer;

pub use fetch::{transport_error, Fetch, FetchError};
pub use request::BuildError;
pub use source::{client_builder, EventSource};
pub use sse_futures::client::CloseHandle;
pub use sse_futures::Timer;
pub use timer::TokioTimer;

pub use reqwest;
pub use sse_core;
pub use sse_core::client::Config;

// The README's example runs as a doctest, so the crate's front page stays
// true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
