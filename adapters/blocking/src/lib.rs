//! Server-Sent Events on `std::net` and threads, for programs without an
//! async runtime.
//!
//! Every protocol decision is [`sse_core`]'s; this crate moves bytes and
//! time. The client machine ([`sse_core::client::Client`]) and its HTTP/1.1
//! glue ([`sse_core::client::Exchange`]) run inside [`EventSource`], an
//! [`Iterator`] of notifications whose socket read timeouts are the
//! machine's deadlines. The server side ([`serve`]) routes requests with
//! [`sse_core::endpoint::Endpoint`] and streams a [`Hub`] (the core's hub
//! behind a mutex and a condition variable) with a thread per connection.
//!
//! - [`transport`]: [`Transport`] (TCP, rustls, or a test's own stream),
//!   [`Connector`] and the default [`TcpConnector`].
//! - [`clock`]: [`Clock`], real or virtual, and [`SystemClock`].
//! - [`client`]: [`EventSource`] and its [`CloseHandle`].
//! - [`hub`]: [`Hub`], the core's hub shared by connection threads.
//! - [`server`]: one connection: [`Service`], [`serve_connection`], and
//!   [`Sender`] to send to one subscriber alone.
//! - [`listen`]: [`serve`] on a `TcpListener` (optionally TLS) and its
//!   [`ServerHandle`].
//!
//! ```no_run
//! use sse_blocking::EventSource;
//! use sse_core::client::{Config, Notification};
//!
//! for n in EventSource::new("https://example.com/events", Config::default()).unwrap() {
//!     if let Notification::Message(m) = n {
//!         println!("{}", m.event.data());
//!     }
//! }
//! ```
//!
//! Logging goes through the `log` facade and is silent unless a logger is
//! installed: the core logs its decisions (opens, reconnect delays,
//! failures, subscribers dropped for lagging), this crate connections and
//! connect failures at `debug`.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod client;
pub mod clock;
pub mod hub;
pub mod listen;
pub mod server;
pub mod transport;

pub use client::{CloseHandle, EventSource};
pub use clock::{Clock, SystemClock};
pub use hub::Hub;
pub use listen::{serve, ServerHandle};
pub use server::{serve_connection, Sender, Service};
pub use sse_core;
pub use transport::{ConnectError, Connector, TcpConnector, Transport};

// The README's examples run as doctests, so the crate's front page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
