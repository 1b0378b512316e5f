//! Server-Sent Events as [`http`] 1.x responses whose bodies are
//! [`http_body`] 1.x bodies: what hyper 1 services and axum 0.8 handlers
//! return.
//!
//! ```
//! use sse_core::encode::Message;
//! use sse_core::endpoint::Endpoint;
//! use sse_futures::server::{Service, SharedHub};
//! # use sse_core::Instant;
//! # use sse_futures::{BoxFuture, Timer};
//! # #[derive(Clone)]
//! # struct Clock;
//! # impl Timer for Clock {
//! #     fn now(&self) -> Instant { Instant::ZERO }
//! #     fn sleep_until(&self, _: Instant) -> BoxFuture<()> { Box::pin(std::future::pending()) }
//! # }
//! use http_body_util::BodyExt;
//!
//! let service = Service::new(Endpoint::new("/events"), SharedHub::default());
//! service.hub.try_publish(&Message::new("seen")).unwrap();
//! service.hub.try_publish(&Message::new("missed")).unwrap();
//! // A reconnecting EventSource whose last event ID is 1.
//! let req = http::Request::get("/events?last_event_id=1").body(()).unwrap();
//! let res = futures_lite::future::block_on(sse_http::respond(&req, &service, Clock));
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.headers()["content-type"], "text/event-stream");
//! let mut body = res.into_body();
//! let frame = futures_lite::future::block_on(body.frame()).unwrap().unwrap();
//! assert_eq!(frame.into_data().unwrap(), "id: 2\ndata: missed\n\n");
//! ```
//!
//! Nothing here decides anything about the protocol. [`respond`] asks the
//! core's [`Endpoint`](sse_core::endpoint::Endpoint) what a request gets
//! (the stream with the resume point from `Last-Event-ID` or
//! `last_event_id`, `HEAD`, the CORS preflight, 405, the application's
//! fallback page, 404), exactly as the raw HTTP/1.1 listeners of
//! `sse-futures` do, and turns the answer into an [`http::Response`].
//! [`response`] does the same for any [`sse_futures::server::Body`]: a
//! [`HubBody`], an
//! [`EventBody`](sse_futures::server::EventBody) over any `Stream` of
//! events, or one over [`JsonEvents`](sse_futures::server::JsonEvents)
//! (feature `json`). The bodies write the core's preamble (`retry:`), the
//! events, and keep-alive comments on the core's interval, waiting on the
//! [`Timer`] they were given: the only runtime-specific piece, which
//! `sse-tokio` (or any runtime adapter) supplies.
//!
//! The bodies carry no HTTP/1.1 framing: hyper chunks them on HTTP/1.1 and
//! sends DATA frames on HTTP/2, where many streams share one connection.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod body;
mod request;

pub use body::Body;
pub use request::{last_event_id, request_head};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use std::future::Future;

use sse_core::endpoint::Route;
use sse_core::http1::{HeadStatus, ResponseParser};
use sse_core::replay::{ReplayLog, EARLIEST};
use sse_futures::server::{Body as _, HubBody, Service};
use sse_futures::Timer;

pub use sse_core;
pub use sse_futures;

/// Answers `req` for `service`: the core's [`Endpoint`](sse_core::endpoint::Endpoint)
/// routes it. The stream's path with `GET` waits for the service's `admit`
/// hook if it has one (a refusal is the endpoint's `unavailable` stream),
/// subscribes to its hub after the request's last event ID
/// ([`last_event_id`]; none means the retained history when the service
/// says `history`), hands a [`Sender`](sse_futures::server::Sender) to its
/// `on_stream` hook, and answers with the subscriber's head and a body
/// streaming it (keep-alives on `timer`); `HEAD` gets the head alone. Every
/// other answer (CORS preflight, 405, the fallback's page, 404) is
/// complete, with its `Content-Length`. These are the decisions
/// `sse_futures::server::serve_connection` makes on a raw socket.
///
/// The request body is not read (a stream request has none), and the
/// future does not hold the request: it is `Send` whatever the body is.
pub fn respond<'a, T, X, L>(
    req: &Request<X>,
    service: &'a Service<L>,
    timer: T,
) -> impl Future<Output = Response<Body<HubBody<T, L>>>> + Send + 'a
where
    T: Timer,
    L: ReplayLog + Send + 'static,
{
    let head = request_head(req);
    async move {
        let endpoint = &service.endpoint;
        let answer = match endpoint.route(&head) {
            Route::Stream {
                last_event_id,
                head_only,
            } => {
                if let Some(admit) = &service.admit {
                    if let Err(reason) = admit(&head).await {
                        log::warn!("stream not served now: {reason}");
                        return complete(&endpoint.unavailable(&service.config, &reason));
                    }
                }
                let last_event_id = match last_event_id {
                    None if service.history => Some(EARLIEST.to_string()),
                    id => id,
                };
                let config = service.config.clone();
                let mut sub = service
                    .hub
                    .subscribe(timer.now(), last_event_id.as_deref(), config);
                if let Some(on_stream) = &service.on_stream {
                    on_stream(&head, sub.sender());
                }
                let body = sub.into_body(timer);
                let head = body.response_head();
                let mut res = Response::new(Body::empty());
                *res.status_mut() = status(head.status);
                set_headers(res.headers_mut(), endpoint.stream_headers(head));
                if !head_only {
                    *res.body_mut() = Body::stream(body);
                }
                return res;
            }
            Route::Respond(answer) => answer,
            Route::Elsewhere => service
                .fallback
                .as_ref()
                .and_then(|f| f(&head))
                .unwrap_or_else(|| endpoint.not_found()),
        };
        complete(&answer)
    }
}

/// Answers with `body`: its head's status and headers (from the core's
/// stream), then its bytes as they come.
pub fn response<B: sse_futures::server::Body>(body: B) -> Response<Body<B>> {
    let head = body.response_head();
    let fields: Vec<(&str, &str)> = head.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let mut res = Response::new(Body::empty());
    *res.status_mut() = status(head.status);
    set_headers(res.headers_mut(), fields);
    *res.body_mut() = Body::stream(body);
    res
}

/// A complete HTTP/1.1 answer from the core (status, headers, a body
/// delimited by its `Content-Length` or by the end of the bytes) as a
/// response. Hop-by-hop fields (`Connection`) are left to the server, which
/// frames the answer for its protocol.
fn complete<B>(answer: &Bytes) -> Response<Body<B>> {
    let mut parser = ResponseParser::new();
    let (head, used) = match parser.handle_bytes(answer) {
        Ok(HeadStatus::Complete(head, used)) => (head, used),
        _ => {
            log::error!("an answer that is not an HTTP/1.1 response: sent 500");
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            return res;
        }
    };
    let mut res = Response::new(Body::full(answer.slice(used..)));
    *res.status_mut() = status(head.status());
    for (name, value) in head.headers().iter() {
        if name == "connection" || name == "keep-alive" {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            res.headers_mut().append(name, value);
        }
    }
    res
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Adds fields from the core. Their values are the core's own (an event ID
/// is any text without line breaks): one HTTP cannot carry is left out.
fn set_headers(map: &mut http::HeaderMap, fields: Vec<(&str, &str)>) {
    for (name, value) in fields {
        let visible = value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) if visible => {
                map.append(name, value);
            }
            _ => log::debug!("header {name} left out: not a valid field value"),
        }
    }
}

#[cfg(test)]
mod tests;

// The README's examples run as doctests, so the crate's front page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
