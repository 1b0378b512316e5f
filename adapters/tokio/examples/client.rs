//! Prints the events of an event stream.
//!
//! ```text
//! cargo run -p sse-tokio --example tokio-client -- http://127.0.0.1:8080/events [--max-events N]
//! ```

use std::process::ExitCode;

use futures_lite::StreamExt;
use sse_core::client::Notification;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut url = None;
    let mut max_events: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max-events" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => max_events = Some(n),
                None => return usage("--max-events needs a number"),
            },
            _ if url.is_none() => url = Some(arg),
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let Some(url) = url else {
        return usage("no URL given");
    };
    let mut events = match sse_tokio::connect(&url) {
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
                eprintln!(
                    "{error}{}",
                    if reconnecting { "; reconnecting" } else { "" }
                );
            }
            Some(_) => {}
            None => return ExitCode::FAILURE,
        }
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("client: {problem}\nusage: client URL [--max-events N]");
    ExitCode::from(2)
}
