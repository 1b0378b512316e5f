//! Runtime-neutral glue between [`sse_core`] and the `futures` ecosystem.
//!
//! Nothing here makes a protocol decision: the core parses, this crate only
//! moves bytes from a [`Stream`](futures_lite::Stream) or an
//! [`AsyncRead`](futures_lite::AsyncRead) into it and hands the events back as
//! a `Stream`. It works under any executor (async-std, smol, tokio with a
//! compat layer, or `futures_lite::future::block_on`).
//!
//! - [`decode`]: [`EventStream`] over a stream of byte chunks (e.g. an HTTP
//!   client's body stream) and [`EventReader`] over an `AsyncRead`.
//! - [`client`]: [`EventSource`], the core's client machine over a
//!   [`Connector`] and a [`Timer`] ([`runtime`]).
//! - [`server`]: [`SharedHub`](server::SharedHub), response bodies, raw
//!   HTTP/1.1 connections ([`serve_connection`](server::serve_connection))
//!   and an accept loop with graceful shutdown ([`server::serve`]).
//! - `tls` (feature `tls`): rustls for clients and servers over any
//!   `AsyncRead + AsyncWrite`, and the connect sequence (direct, through a
//!   forward proxy, or through a [`proxy::tunnel`]) shared by the runtime
//!   adapters.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod client;
pub mod decode;
pub mod proxy;
pub mod runtime;
pub mod server;
#[cfg(feature = "tls")]
pub mod tls;

pub use client::{CloseHandle, CloseSignal, Deadline, EventSource};
pub use decode::{DecodeError, EventReader, EventStream};
pub use runtime::{BoxFuture, ConnectError, Connector, Timer};
pub use sse_core;

// The README's examples run as doctests, so the crate's front page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
