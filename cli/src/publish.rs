//! `sse publish --redis URL --stream KEY`: append events to a Redis stream
//! that `sse serve --redis` instances serve.
//!
//! The events are the `DATA` arguments, or every stdin line when there are
//! none (with `--json`, objects `{"event","data"}` as `sse serve` reads
//! them). Prints each event's ID (the Redis entry ID) on stdout.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use sse_redis::{Config, RedisLog};

use crate::serve::input::parse_line;

/// Options of `sse publish`.
#[derive(clap::Args)]
pub struct Args {
    /// The Redis server, e.g. redis://127.0.0.1:6379/.
    #[arg(long, value_name = "URL")]
    redis: String,
    /// The stream key.
    #[arg(long, value_name = "KEY")]
    stream: String,
    /// Event type of every event.
    #[arg(long, value_name = "TYPE")]
    event: Option<String>,
    /// Stdin lines are {"event":…,"data":…} objects.
    #[arg(long)]
    json: bool,
    /// Event data; without any, each stdin line is one event.
    data: Vec<String>,
}

/// Runs `sse publish`.
pub fn run(args: &Args) -> ExitCode {
    let log = match RedisLog::open(args.redis.as_str(), &args.stream, Config::default()) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("sse publish: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = io::stdout().lock();
    let mut publish = |event: Option<&str>, data: &str| -> Result<(), String> {
        let id = smol::block_on(log.publish(event.or(args.event.as_deref()), data))
            .map_err(|e| e.to_string())?;
        writeln!(out, "{id}").map_err(|e| e.to_string())
    };
    let result = if args.data.is_empty() {
        io::stdin()
            .lock()
            .lines()
            .enumerate()
            .try_for_each(|(n, line)| {
                let line = line.map_err(|e| e.to_string())?;
                let input =
                    parse_line(&line, args.json).map_err(|e| format!("line {}: {e}", n + 1))?;
                if input.id.is_some() {
                    return Err(format!(
                        "line {}: the Redis stream assigns IDs; drop \"id\"",
                        n + 1
                    ));
                }
                publish(input.event.as_deref(), &input.data)
            })
    } else {
        args.data.iter().try_for_each(|d| publish(None, d))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sse publish: {e}");
            ExitCode::FAILURE
        }
    }
}
