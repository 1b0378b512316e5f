//! Event streams as [`http_types::Response`]s, for async-h1 and tide
//! (feature `http-types`).
//!
//! [`respond`] subscribes to a [`SharedHub`] with the request's last event
//! ID and answers with the subscriber's head and a streaming body;
//! [`response`] does the same for any [`Body`] (an [`EventBody`](super::EventBody),
//! a [`HubBody`](super::HubBody) made by hand). The body is unsized, so
//! async-h1 sends it chunked and writes each piece as it comes.
//!
//! ```no_run
//! # use futures_lite::{AsyncRead, AsyncWrite};
//! # async fn demo<S>(stream: S, clock: impl sse_futures::Timer + Clone)
//! # where S: AsyncRead + AsyncWrite + Clone + Send + Sync + Unpin + 'static {
//! use sse_futures::server::{http, SharedHub};
//! let hub = SharedHub::default();
//! // `stream`: an accepted connection (async-h1 wants it cloneable).
//! async_h1::accept(stream, |req| {
//!     let (hub, clock) = (hub.clone(), clock.clone());
//!     async move { Ok(http::respond(&req, &hub, Default::default(), clock)) }
//! })
//! .await
//! .ok();
//! # }
//! ```

use std::str::FromStr;

use http_types::headers::{HeaderName, HeaderValue};
use http_types::{Method, Request, Response, StatusCode};
use sse_core::replay::ReplayLog;
use sse_core::server::Config;

use super::{Body, BodyReader, SharedHub};
use crate::runtime::Timer;

/// The request's last event ID: the `Last-Event-ID` header, else the
/// `last_event_id` query parameter ([`sse_core::server::last_event_id`]).
pub fn last_event_id(req: &Request) -> Option<String> {
    let url = req.url();
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    };
    let headers: Vec<(String, String)> = req
        .iter()
        .flat_map(|(name, values)| {
            values
                .iter()
                .map(move |v| (name.as_str().to_string(), v.as_str().to_string()))
        })
        .collect();
    sse_core::server::last_event_id(
        &target,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
    )
}

/// Subscribes to `hub` for `req` (resuming after its last event ID) and
/// answers with the stream: keep-alives on `timer`, the body ending when
/// the subscriber is closed. A `HEAD` request gets the head alone.
pub fn respond<T: Timer, L: ReplayLog + Send + 'static>(
    req: &Request,
    hub: &SharedHub<L>,
    config: Config,
    timer: T,
) -> Response {
    let id = last_event_id(req);
    let sub = hub.subscribe(timer.now(), id.as_deref(), config);
    let body = sub.into_body(timer);
    if req.method() == Method::Head {
        return head_only(&body);
    }
    response(body)
}

/// Answers with `body`: its head's status and headers, then its bytes.
pub fn response<B>(body: B) -> Response
where
    B: Body + Send + 'static,
{
    let (status, fields) = head_fields(&body);
    let mut res = Response::new(status);
    res.set_body(http_types::Body::from_reader(BodyReader::new(body), None));
    // Headers after the body: setting a body sets its own content type.
    for (name, value) in fields {
        res.insert_header(name, value);
    }
    res
}

fn head_only(body: &impl Body) -> Response {
    let (status, fields) = head_fields(body);
    let mut res = Response::new(status);
    for (name, value) in fields {
        res.insert_header(name, value);
    }
    res
}

fn head_fields(body: &impl Body) -> (StatusCode, Vec<(HeaderName, HeaderValue)>) {
    let head = body.response_head();
    let status = StatusCode::try_from(head.status).unwrap_or(StatusCode::InternalServerError);
    let mut fields = Vec::new();
    for (name, value) in &head.headers {
        // Header values come from the core (an event ID is any text without
        // line breaks): a value HTTP cannot carry is left out, not sent.
        let visible = value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
        match (HeaderName::from_str(name), HeaderValue::from_str(value)) {
            (Ok(name), Ok(value)) if visible => fields.push((name, value)),
            _ => log::debug!("header {name} left out: not a valid field value"),
        }
    }
    (status, fields)
}
