//! Server shim: axum's `Sse` response, fed by a tokio `broadcast` channel
//! that stdin lines are sent into.
//!
//! `axum-sse [--keep-alive-ms N] [--retry-ms N]`: serves the stream at
//! `/events` on 127.0.0.1 (a free port), prints `listening on URL`, and
//! publishes each stdin line `{"event","data","id"}`. Keep-alives are
//! axum's `KeepAlive` (a comment after the interval); the retry hint is a
//! first `Event::default().retry(..)`. No history: no resume.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures::{Stream, StreamExt};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

#[derive(Clone)]
struct State {
    events: broadcast::Sender<Value>,
    keep_alive: Option<Duration>,
    retry: Option<Duration>,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
    };
    let (events, _) = broadcast::channel(4096);
    let state = State {
        events: events.clone(),
        keep_alive: option("--keep-alive-ms"),
        retry: option("--retry-ms"),
    };
    let app = Router::new()
        .route("/events", get(stream))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    println!("listening on http://{addr}/events");
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str::<Value>(&line) {
                // No subscriber yet is not an error.
                Ok(v) => drop(events.send(v)),
                Err(e) => eprintln!("axum-sse: not JSON ({e}): {line}"),
            }
        }
    });
    axum::serve(listener, app).await.expect("serve");
}

async fn stream(
    axum::extract::State(state): axum::extract::State<State>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let first = state.retry.map(|d| Event::default().retry(d));
    let live = BroadcastStream::new(state.events.subscribe()).filter_map(|item| async move {
        // A subscriber too far behind misses what it lagged (Lagged).
        let v = item.ok()?;
        let mut event = Event::default().data(v.get("data")?.as_str().unwrap_or_default());
        if let Some(t) = v.get("event").and_then(Value::as_str) {
            event = event.event(t);
        }
        if let Some(id) = v.get("id").and_then(Value::as_str) {
            event = event.id(id);
        }
        Some(event)
    });
    let stream = futures::stream::iter(first).chain(live).map(Ok);
    let sse = Sse::new(stream);
    match state.keep_alive {
        Some(interval) => sse.keep_alive(KeepAlive::new().interval(interval)),
        None => sse.keep_alive(KeepAlive::new().interval(Duration::from_secs(15))),
    }
}
