//! Client shim: LaunchDarkly's `eventsource-client` 0.18.0 on its hyper
//! transport (as its `tail` example).
//!
//! `ld-eventsource-client URL` with `SSE_CONFORMANCE` set by the runner.
//! Declared capabilities: `reconnect`, `close`, `retry` (the initial delay,
//! with `backoff_factor(1)`: the library backs off by default, which no
//! browser does), `last-event-id`, `headers`, `max-redirects`. An error is
//! followed by a reconnect unless the library ends the stream; the shim
//! looks at what comes next to say which (the error line is printed when
//! that is known, at most a few ms later). Events carry their own `id`
//! field, not the last event ID, and no origin: printed as given.

use std::time::Duration;

use eventsource_client::{Client, ClientBuilder, ReconnectOptions, SSE};
use futures::StreamExt;
use launchdarkly_sdk_transport::HyperTransport;
use sse_interop_shims as shim;

#[tokio::main]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: ld-eventsource-client URL");
    let options = shim::options();
    let retry = Duration::from_millis(shim::number(&options, "retry_ms").unwrap_or(3000));
    let mut builder = ClientBuilder::for_url(&url).expect("a valid URL");
    for (name, value) in shim::headers(&options) {
        builder = builder.header(&name, &value).expect("a valid header");
    }
    if let Some(id) = shim::text(&options, "last_event_id") {
        builder = builder.last_event_id(id);
    }
    if let Some(n) = shim::number(&options, "max_redirects") {
        builder = builder.redirect_limit(n as u32);
    }
    let builder = builder.reconnect(
        ReconnectOptions::reconnect(true)
            .retry_initial(true)
            .delay(retry)
            .backoff_factor(1)
            .delay_max(retry.max(Duration::from_secs(60)))
            .build(),
    );
    let transport = HyperTransport::builder()
        .build_http()
        .expect("an HTTP transport");
    let client = builder.build_with_transport(transport);
    let mut stream = client.stream();
    let close = shim::close_requested();
    tokio::pin!(close);
    // An error waits for the next item to know whether a reconnect follows.
    let mut pending_error: Option<String> = None;
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            () = &mut close => break,
            () = tokio::time::sleep(Duration::from_millis(5)), if pending_error.is_some() => {
                // Nothing came: the library is waiting to reconnect.
                shim::error(true, &pending_error.take().unwrap_or_default());
                continue;
            }
        };
        if let Some(message) = pending_error.take() {
            shim::error(next.is_some(), &message);
        }
        match next {
            None => break,
            Some(Ok(SSE::Connected(_))) => shim::open(),
            Some(Ok(SSE::Event(e))) => {
                shim::message(&e.event_type, &e.data, e.id.as_deref().unwrap_or(""), None)
            }
            Some(Ok(SSE::Comment(_))) => {}
            Some(Err(e)) => pending_error = Some(format!("{e:?}")),
        }
    }
    drop(stream);
    std::future::pending::<()>().await;
}
