//! Prints the events of a stream: `cargo run -p sse-blocking --example client -- URL [--max-events N]`.

use sse_blocking::EventSource;
use sse_core::client::{Config, Notification};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(url) = args.first() else {
        eprintln!("usage: client URL [--max-events N]");
        return std::process::ExitCode::from(2);
    };
    let max: Option<usize> = args
        .iter()
        .position(|a| a == "--max-events")
        .and_then(|i| args.get(i + 1)?.parse().ok());
    let es = match EventSource::new(url, Config::default()) {
        Ok(es) => es,
        Err(e) => {
            eprintln!("{url}: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut seen = 0;
    for n in es {
        match n {
            Notification::Message(m) => {
                println!(
                    "{} {}: {}",
                    m.event.id(),
                    m.event.event_type(),
                    m.event.data()
                );
                seen += 1;
                if Some(seen) == max {
                    break;
                }
            }
            Notification::Error {
                reconnecting,
                error,
            } => {
                eprintln!("error: {error} (reconnecting: {reconnecting})");
            }
            other => eprintln!("{other:?}"),
        }
    }
    std::process::ExitCode::SUCCESS
}
