//! Prints the events of an event stream, over reqwest.
//!
//! ```text
//! cargo run -p sse-reqwest --example reqwest-client -- http://127.0.0.1:8080/events [--max-events N]
//! cargo run -p sse-reqwest --example reqwest-client -- https://api.example.com/v1/chat \
//!     -H 'Authorization: Bearer …' --data '{"stream":true}'
//! ```
//!
//! With `--data` the request is a one-shot `POST`: its end ends the program.

use std::process::ExitCode;

use futures_lite::StreamExt;
use sse_reqwest::sse_core::client::Notification;
use sse_reqwest::{client_builder, EventSource};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut url = None;
    let mut max_events: Option<u64> = None;
    let mut headers = Vec::new();
    let mut data = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max-events" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => max_events = Some(n),
                None => return usage("--max-events needs a number"),
            },
            "-H" => match args.next().as_deref().and_then(|h| h.split_once(':')) {
                Some((name, value)) => {
                    headers.push((name.trim().to_owned(), value.trim().to_owned()))
                }
                None => return usage("-H needs 'Name: value'"),
            },
            "--data" => match args.next() {
                Some(body) => data = Some(body),
                None => return usage("--data needs a body"),
            },
            _ if url.is_none() => url = Some(arg),
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let Some(url) = url else {
        return usage("no URL given");
    };
    // This workspace builds reqwest's rustls without a bundled crypto
    // provider (it uses ring); with reqwest's default features, skip this.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match client_builder().build() {
        Ok(client) => client,
        Err(e) => return usage(&format!("cannot make a client: {e}")),
    };
    let mut request = match data {
        Some(body) => client.post(&url).body(body),
        None => client.get(&url),
    };
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let mut events = match EventSource::from_request(request) {
        Ok(events) => events,
        Err(e) => return usage(&format!("{url}: {e}")),
    };
    let mut seen = 0;
    while max_events.is_none_or(|max| seen < max) {
        match events.next().await {
            Some(Notification::Message(m)) => {
                println!("{}: {}", m.event.event_type(), m.event.data());
                seen += 1;
            }
            Some(Notification::Error {
                reconnecting,
                error,
            }) => {
                let then = if reconnecting { "; reconnecting" } else { "" };
                eprintln!("{error}{then}");
            }
            Some(Notification::Closed) => return ExitCode::SUCCESS,
            Some(_) => {}
            None => return ExitCode::FAILURE,
        }
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("client: {problem}\nusage: reqwest-client URL [--max-events N] [-H 'Name: value'] [--data BODY]");
    ExitCode::from(2)
}
