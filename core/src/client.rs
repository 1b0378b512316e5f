//! The `EventSource` client as a sans-I/O state machine.
//!
//! [`Client`] holds every decision a browser's `EventSource` makes — which
//! request to send, whether a response opens the stream, when and where to
//! reconnect, which `Last-Event-ID` to send, when to give up — and none of
//! the I/O. It does not parse HTTP either: the adapter (or the
//! `http1` framing of this crate) hands it a parsed response head and the
//! body bytes.
//!
//! - Inputs: [`Client::handle_connected`], [`Client::handle_connect_failed`],
//!   [`Client::handle_response_head`], [`Client::handle_bytes`],
//!   [`Client::handle_eof`], [`Client::handle_transport_error`],
//!   [`Client::handle_timeout`], and the user's [`Client::close`],
//!   [`Client::reopen`] and [`Client::set_last_event_id`].
//! - Outputs: [`Client::poll_action`] ([`Action::Connect`] with a
//!   [`Request`], [`Action::Disconnect`]) for the transport,
//!   [`Client::poll_notification`] ([`Notification`]) for the user,
//!   [`Client::poll_timeout`] for the next deadline, and
//!   [`Client::ready_state`].
//!
//! A raw-socket driver puts an [`Exchange`] between its socket and the
//! machine: it writes the HTTP/1.1 request and turns the response bytes into
//! those inputs. Per connection: on `Action::Connect(request)`,
//! [`Exchange::start`] writes the request bytes; connect, call
//! [`Client::handle_connected`] and send them; hand every read to
//! [`Exchange::handle_bytes`], a clean end of file to
//! [`Exchange::handle_eof`] and a read error to
//! [`Client::handle_transport_error`]; drop the connection on
//! `Action::Disconnect` or the next `Connect`, and stop reading once
//! [`Exchange::is_finished`].
//!
//! Inside, the [`parse::Parser`](crate::parse::Parser) reads the body (reset
//! per connection, keeping the last event ID and `retry:`), [`Url`] resolves
//! redirects and gives the events' origin, and [`Backoff`] with a seeded
//! [`SplitMix64`] spaces out reconnects.
//!
//! # Rules
//!
//! - A request carries `Accept: text/event-stream`, `Cache-Control: no-cache`,
//!   `Last-Event-ID` when the last event ID is not empty, then
//!   [`Config::headers`].
//! - 200 with a `text/event-stream` content type (parsed MIME type: case and
//!   parameters do not matter) opens. 204 closes for good. Any other status
//!   or content type fails for good, unless [`Config::retry_statuses`] says to
//!   retry it (honouring `Retry-After` in seconds).
//! - 301, 302, 303, 307 and 308 are followed up to [`Config::max_redirects`];
//!   one more fails for good ([`ClientError::TooManyRedirects`]). 303 (and
//!   301/302 after a `POST`) continue as a `GET` without body. The
//!   redirect's own body and end are ignored — they are never taken for the
//!   next connection's — and the [`Action::Connect`] to the new location
//!   comes from [`Client::handle_timeout`], due at once (see "Which
//!   connection an input is about" on [`Client`]). Events carry the final
//!   URL's origin; reconnects start again at [`Client::url`].
//! - The end of the body, a broken connection, a failed connect and the
//!   connect and idle timeouts reconnect after the reconnection time (the
//!   server's `retry:` or [`Config::reconnection_time`]), with optional
//!   [`Backoff`]. A `POST` stream does not reconnect unless
//!   [`Config::reconnect`] says so; its clean end is a [`Notification::Closed`].
//!
//! # Driving it
//!
//! A firmware-style loop over a fake transport and a fake clock. It uses
//! only `core` and `alloc`:
//!
//! ```
//! # extern crate alloc;
//! use alloc::{vec, vec::Vec, string::String};
//! use core::time::Duration;
//! use sse_core::client::{Action, Client, Config, Notification, ReadyState};
//! use sse_core::{url::Url, Instant};
//!
//! // The "server": one scripted body per connection; the first connection
//! // also tells the client to reconnect after 500 ms.
//! let mut bodies = vec![&b"retry: 500\nid: 1\ndata: hello\n\n"[..], b"data: again\n\n"].into_iter();
//! let mut connection: Option<&[u8]> = None;
//! let mut now = Instant::ZERO;
//! let mut requests = Vec::new();
//! let mut messages = Vec::new();
//!
//! let url = Url::parse("http://sensor.local/events").unwrap();
//! let mut client = Client::new(url, Config::default(), now);
//! loop {
//!     // 1. Do what the machine asks of the transport.
//!     while let Some(action) = client.poll_action() {
//!         match action {
//!             Action::Connect(request) => {
//!                 let id = request.header("Last-Event-ID").map(String::from);
//!                 requests.push((now, id));
//!                 connection = bodies.next();
//!             }
//!             Action::Disconnect => connection = None,
//!         }
//!     }
//!     // 2. Feed it what the transport received.
//!     if let Some(body) = connection.take() {
//!         client.handle_response_head(now, 200, [("Content-Type", "text/event-stream")]);
//!         client.handle_bytes(now, body);
//!         client.handle_eof(now);
//!     }
//!     // 3. Hand notifications to the application.
//!     while let Some(notification) = client.poll_notification() {
//!         if let Notification::Message(m) = notification {
//!             messages.push(m.event.data().to_utf8_bytes());
//!             if m.event.data() == "again" {
//!                 client.close();
//!             }
//!         }
//!     }
//!     if client.ready_state() == ReadyState::Closed {
//!         break;
//!     }
//!     // 4. Sleep until the next deadline (here: jump the fake clock).
//!     let Some(deadline) = client.poll_timeout() else { break };
//!     now = deadline;
//!     client.handle_timeout(now);
//! }
//! assert_eq!(messages, ["hello", "again"]);
//! assert_eq!(requests, [
//!     (Instant::ZERO, None),
//!     (Instant::ZERO + Duration::from_millis(500), Some("1".into())),
//! ]);
//! ```

mod backoff;
mod config;
mod exchange;
mod machine;
mod notify;
mod request;
mod response;

pub use backoff::{Backoff, SplitMix64};
pub use config::{Config, Reconnect, Want};
#[cfg(feature = "std")]
pub use exchange::ConnectError;
pub use exchange::Exchange;
pub use machine::Client;
pub use notify::{Action, ClientError, MessageEvent, Notification, ReadyState, TransportError};
pub use request::{Method, Request};
pub use response::{is_event_stream, retry_after_secs};

pub use crate::url::{Url, UrlError};

#[cfg(test)]
mod tests;
