//! Client shim: `reqwest-eventsource` 0.6 (an EventSource over reqwest).
//!
//! `reqwest-eventsource URL` with `SSE_CONFORMANCE` set by the runner.
//! Declared capabilities: `reconnect`, `close`, `retry` (the initial
//! reconnection time becomes a `Constant` retry policy: the library's
//! default is exponential backoff from 300 ms, which no browser does),
//! `headers`. Errors say `reconnecting` from the library's own ready state
//! after the error. The library does not say the origin of a message.

use std::time::Duration;

use futures::StreamExt;
use reqwest_eventsource::retry::Constant;
use reqwest_eventsource::{Event, EventSource, ReadyState};
use sse_interop_shims as shim;

#[tokio::main]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: reqwest-eventsource URL");
    let options = shim::options();
    let client = reqwest::Client::new();
    let mut request = client.get(&url);
    for (name, value) in shim::headers(&options) {
        request = request.header(name, value);
    }
    let mut es = EventSource::new(request).expect("a GET can be cloned");
    let retry = shim::number(&options, "retry_ms").unwrap_or(3000);
    es.set_retry_policy(Box::new(Constant::new(Duration::from_millis(retry), None)));
    let close = shim::close_requested();
    tokio::pin!(close);
    loop {
        let next = tokio::select! {
            next = es.next() => next,
            () = &mut close => {
                es.close();
                break;
            }
        };
        match next {
            None => break,
            Some(Ok(Event::Open)) => shim::open(),
            Some(Ok(Event::Message(m))) => shim::message(&m.event, &m.data, &m.id, None),
            Some(Err(e)) => {
                let reconnecting = es.ready_state() != ReadyState::Closed;
                shim::error(reconnecting, &e.to_string());
            }
        }
    }
    // Stay until stopped: a closed EventSource prints nothing more.
    std::future::pending::<()>().await;
}
