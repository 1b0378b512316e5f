//! What the core reads from an [`http::Request`]: its head as the core's
//! [`RequestHead`], and the last event ID.

use http::{Request, Version as HttpVersion};
use sse_core::http1::{Headers, RequestHead, Version};

/// `req`'s method, target (path and query), version and header fields as
/// the core's [`RequestHead`], for [`Endpoint::route`](sse_core::endpoint::Endpoint::route)
/// and the `on_stream` and fallback hooks of a
/// [`Service`](sse_futures::server::Service). An HTTP/2 request reads as
/// HTTP/1.1; its `:authority` becomes the `Host` field when it has none.
pub fn request_head<X>(req: &Request<X>) -> RequestHead {
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_string();
    let version = match req.version() {
        HttpVersion::HTTP_09 | HttpVersion::HTTP_10 => Version::Http10,
        _ => Version::Http11,
    };
    let mut headers = Headers::new();
    if !req.headers().contains_key(http::header::HOST) {
        if let Some(authority) = req.uri().authority() {
            headers.push("host", authority.as_str().to_string());
        }
    }
    for (name, value) in req.headers() {
        headers.push(
            name.as_str(),
            bytes::Bytes::copy_from_slice(value.as_bytes()),
        );
    }
    RequestHead::new(req.method().as_str().to_string(), target, version, headers)
}

/// The request's last event ID: the `Last-Event-ID` header, else the
/// `last_event_id` query parameter ([`sse_core::server::last_event_id`]).
/// For streams made by hand ([`response`](crate::response)) that resume.
pub fn last_event_id<X>(req: &Request<X>) -> Option<String> {
    let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    sse_core::server::last_event_id(
        target,
        req.headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes())),
    )
}
