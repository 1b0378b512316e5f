//! `sse listen URL`: an `EventSource` on the command line.
//!
//! Prints every notification as it arrives — readable by default, one JSON
//! object per line with `--json` (see [`output`]) — and reconnects as a
//! browser does, with capped exponential backoff and jitter on top unless
//! `--no-backoff`. The decisions (reconnect or not, redirects,
//! `Last-Event-ID`, `retry:`, limits) are the core client's; this module
//! only turns options into a `sse_core::client::Config` and notifications
//! into lines.
//!
//! Output is buffered and flushed whenever the stream has nothing more to
//! give without waiting (the socket read is drained), so each line still
//! appears as soon as the read that carried it is handled.
//!
//! Exit status: 0 after `--max-events` messages, when the server says stop
//! (204) or when a one-shot (`-X POST`) stream ends; 1 on a fatal failure
//! (bad status, bad content type, more than 10 redirects, …) with the
//! reason on stderr (or as the last `--json` line); 2 for bad options.
//!
//! With `--stdin-commands`, lines on stdin call the `EventSource`'s own
//! `close()`, `reopen()` and `set_last_event_id()` (see [`commands`]); a
//! closed or failed stream then waits for `reopen` until stdin ends, and
//! the exit status is that of how the stream last ended (0 after `close`).

mod commands;
mod output;

use std::ops::RangeInclusive;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_lite::{future, AsyncBufReadExt, StreamExt};
use sse_core::client::{Backoff, ClientError, Config, Method, Notification, Reconnect, Want};
use sse_core::proxy::{NoProxy, Proxies, Proxy, ProxyError};

use crate::limits::LimitArgs;
use crate::runtime;
use commands::Command;
use output::Output;

/// Options of `sse listen`.
#[derive(clap::Args)]
pub struct Args {
    /// The stream's URL (http or https).
    url: String,
    /// Print one JSON object per line: {"kind":"open"}, {"kind":"message",…},
    /// {"kind":"error",…}, {"kind":"comment",…} (with --comments).
    #[arg(long)]
    json: bool,
    /// Extra request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Last event ID to start from (sent as Last-Event-ID).
    #[arg(long, value_name = "ID")]
    last_event_id: Option<String>,
    /// Initial reconnection time in ms, until the server sends `retry:`.
    #[arg(long, value_name = "N")]
    retry_ms: Option<u64>,
    /// Longest wait between reconnects in ms: consecutive failed
    /// connections wait twice as long each time (from the reconnection
    /// time, jittered) up to this [default: 60000].
    #[arg(long, value_name = "N")]
    backoff_max_ms: Option<u64>,
    /// Reconnect after exactly the reconnection time every time, as a
    /// browser does (no growth, no jitter).
    #[arg(long, conflicts_with_all = ["backoff_max_ms", "no_jitter", "seed", "backoff_reset_ms"])]
    no_backoff: bool,
    /// Grow the waits without jitter: exactly `min(reconnection time × 2ⁿ,
    /// --backoff-max-ms)`.
    #[arg(long)]
    no_jitter: bool,
    /// Seed of the jitter (SplitMix64), for reconnects that can be
    /// replayed [default: drawn from the time and the process ID].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// A connection open at least this many ms resets the backoff
    /// [default: 30000].
    #[arg(long, value_name = "N")]
    backoff_reset_ms: Option<u64>,
    /// Exit 0 after N messages.
    #[arg(long, value_name = "N")]
    max_events: Option<u64>,
    /// Treat N ms without any bytes as a broken connection (and reconnect).
    #[arg(long, value_name = "N")]
    timeout_ms: Option<u64>,
    /// Give up on an attempt whose response head has not arrived N ms
    /// after the connection was started (and reconnect).
    #[arg(long, value_name = "N")]
    connect_timeout_ms: Option<u64>,
    /// Redirects followed per connection attempt before failing
    /// [default: 10].
    #[arg(long, value_name = "N")]
    max_redirects: Option<u32>,
    /// Retry these statuses (`503` or a range `500-599`, repeatable)
    /// with a reconnect instead of failing; a `Retry-After` in seconds
    /// sets the wait.
    #[arg(long = "retry-status", value_name = "STATUSES")]
    retry_statuses: Vec<String>,
    /// Keep up to N bytes of a failed response's body and show it (with
    /// --json: `"error_body"` and `"content_type"` on the error line).
    #[arg(long, value_name = "N")]
    max_error_body: Option<usize>,
    /// Take commands on stdin, one a line: `close` (as EventSource.close()),
    /// `reopen` (start again after a close or a fatal error) and
    /// `last-event-id ID` (`last-event-id` alone clears it). A closed
    /// stream then waits for `reopen` until stdin ends.
    #[arg(long)]
    stdin_commands: bool,
    /// Request method; anything but GET is a one-shot stream unless
    /// --reconnect.
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    method: Option<String>,
    /// Request body (e.g. a JSON prompt for an LLM API).
    #[arg(long, value_name = "BODY")]
    data: Option<String>,
    /// Reconnect whatever the method: a POST (or other) stream is sent
    /// again, body included, with Last-Event-ID, when it ends or breaks.
    #[arg(long)]
    reconnect: bool,
    /// Show comment lines (`: keep-alive`) too, in order with the messages.
    #[arg(long)]
    comments: bool,
    #[command(flatten)]
    limits: LimitArgs,
    /// Accept any TLS certificate (self-signed test servers only).
    #[arg(long)]
    insecure: bool,
    /// Send requests through this HTTP proxy, `[http://][user:pass@]host[:port]`
    /// (port 1080 when none is given): http URLs in absolute form, https
    /// through a CONNECT tunnel. `""` turns the environment's proxies off.
    /// Without it, `http_proxy`, `https_proxy`/`HTTPS_PROXY`,
    /// `all_proxy`/`ALL_PROXY` and `no_proxy`/`NO_PROXY` are read as curl
    /// reads them (upper-case `HTTP_PROXY` is ignored, as curl does).
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
    /// Hosts reached without the proxy: comma-separated names (and their
    /// subdomains), addresses, CIDR blocks, or `*`. Replaces `NO_PROXY`.
    #[arg(long, value_name = "LIST")]
    noproxy: Option<String>,
}

/// The proxies `args` and the environment name, as curl decides.
fn proxies(args: &Args) -> Result<Proxies, ProxyError> {
    let env = |name: &str| std::env::var(name).ok();
    let proxies = match args.proxy.as_deref().map(str::trim) {
        Some("") => Proxies::none(),
        Some(proxy) => Proxies::all(Proxy::parse(proxy)?).with_no_proxy(NoProxy::from_env(env)),
        None => Proxies::from_env(env)?,
    };
    Ok(match &args.noproxy {
        Some(list) => proxies.with_no_proxy(NoProxy::parse(list)),
        None => proxies,
    })
}

/// Runs `sse listen`.
pub fn run(args: &Args) -> ExitCode {
    let config = match config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sse listen: {e}");
            return ExitCode::from(2);
        }
    };
    let proxies = match proxies(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sse listen: {e}");
            return ExitCode::from(2);
        }
    };
    let mut events = match runtime::event_source(&args.url, config, args.insecure, proxies) {
        Ok(es) => es,
        Err(e) => {
            eprintln!("sse listen: {}: {e}", args.url);
            return ExitCode::from(2);
        }
    };
    let mut out = Output::stdout(args.json);
    out.show_error_bodies(args.max_error_body.is_some());
    let mut commands = args.stdin_commands.then(stdin_lines);
    let mut seen = 0u64;
    let code = runtime::block_on(async {
        if args.max_events == Some(0) {
            return ExitCode::SUCCESS;
        }
        // Whether the stream has ended (closed, or failed for good), and
        // whether for a failure: without commands on stdin that ends the
        // run; with them, `reopen` can start it again until stdin ends.
        let (mut ended, mut failed) = (false, false);
        loop {
            let input = match ended {
                false => match future::poll_once(events.next()).await {
                    Some(next) => Input::Notification(next),
                    None => {
                        // Nothing more without waiting: hand the lines
                        // over before waiting for the next read.
                        if out.flush().is_err() {
                            return ExitCode::SUCCESS;
                        }
                        future::or(
                            async { Input::Notification(events.next().await) },
                            next_command(&mut commands),
                        )
                        .await
                    }
                },
                true => {
                    if out.flush().is_err() || commands.is_none() {
                        return exit_code(failed);
                    }
                    next_command(&mut commands).await
                }
            };
            let n = match input {
                Input::Notification(Some(n)) => n,
                Input::Notification(None) => {
                    ended = true;
                    continue;
                }
                Input::Command(Some(command)) => {
                    match command {
                        Command::Close => events.close(),
                        Command::Reopen => {
                            events.reopen();
                            (ended, failed) = (false, false);
                        }
                        Command::LastEventId(id) => events.set_last_event_id(id),
                    }
                    continue;
                }
                Input::Command(None) => {
                    // Stdin ended: no more commands, the stream goes on.
                    commands = None;
                    continue;
                }
            };
            if out.write(&n).is_err() {
                // A closed pipe (`| head`) is a normal way to stop.
                return ExitCode::SUCCESS;
            }
            match n {
                Notification::Message(_) => {
                    seen += 1;
                    if Some(seen) == args.max_events {
                        return ExitCode::SUCCESS;
                    }
                }
                Notification::Error {
                    reconnecting: false,
                    error,
                } => {
                    failed = error != ClientError::NoContent;
                    if failed && !args.json {
                        eprintln!("sse listen: {}: {error}", args.url);
                        if let ClientError::Status { body, .. }
                        | ClientError::ContentType { body, .. } = &error
                        {
                            if !body.is_empty() {
                                eprintln!("{}", String::from_utf8_lossy(body));
                            }
                        }
                    }
                    if commands.is_none() {
                        return exit_code(failed);
                    }
                }
                _ => {}
            }
        }
    });
    // Whatever ended the run, the lines written so far go out (a closed
    // pipe has nobody left to read them).
    let _ = out.flush();
    code
}

/// The exit status of a stream that ended: 1 after a failure, else 0.
fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// What the run loop got: the stream's next notification (`None`: it is
/// closed) or a stdin command (`None`: stdin ended).
enum Input {
    Notification(Option<Notification>),
    Command(Option<Command>),
}

/// Lines of stdin, read on a blocking thread.
type StdinLines = smol::io::Lines<smol::io::BufReader<smol::Unblock<std::io::Stdin>>>;

fn stdin_lines() -> StdinLines {
    smol::io::BufReader::new(smol::Unblock::new(std::io::stdin())).lines()
}

/// The next command on stdin; `Input::Command(None)` when stdin ends (or
/// cannot be read), and never without `--stdin-commands`. Unknown lines
/// are reported on stderr and skipped.
async fn next_command(lines: &mut Option<StdinLines>) -> Input {
    let Some(lines) = lines else {
        return future::pending().await;
    };
    loop {
        match lines.next().await {
            Some(Ok(line)) => match Command::parse(&line) {
                Ok(Some(command)) => return Input::Command(Some(command)),
                Ok(None) => {}
                Err(e) => eprintln!("sse listen: {e}"),
            },
            Some(Err(e)) => {
                eprintln!("sse listen: reading stdin: {e}");
                return Input::Command(None);
            }
            None => return Input::Command(None),
        }
    }
}

/// The client configuration the options ask for.
fn config(args: &Args) -> Result<Config, String> {
    let mut config = Config::default();
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("header {h:?} is not `Name: value`"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("header {h:?} has no name"));
        }
        config.headers.push((name.into(), value.trim().into()));
    }
    if let Some(m) = &args.method {
        config.method = match m.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            _ => Method::Other(m.clone()),
        };
    }
    config.body = args.data.clone().map(Into::into);
    if let Some(id) = &args.last_event_id {
        config.last_event_id = id.clone().into();
    }
    if let Some(ms) = args.retry_ms {
        config.reconnection_time = Duration::from_millis(ms);
    }
    config.idle_timeout = args.timeout_ms.map(Duration::from_millis);
    config.connect_timeout = args.connect_timeout_ms.map(Duration::from_millis);
    if let Some(n) = args.max_redirects {
        config.max_redirects = n;
    }
    for statuses in &args.retry_statuses {
        config.retry_statuses.push(status_range(statuses)?);
    }
    if let Some(n) = args.max_error_body {
        config.max_error_body = n;
    }
    if args.reconnect {
        config.reconnect = Reconnect::Always;
    }
    if args.comments {
        config.want |= Want::COMMENTS;
    }
    if !args.no_backoff {
        let mut backoff = Backoff::default();
        if let Some(ms) = args.backoff_max_ms {
            backoff.max = Duration::from_millis(ms);
        }
        backoff.jitter = !args.no_jitter;
        config.backoff = Some(backoff);
        config.seed = args.seed.unwrap_or_else(seed);
        if let Some(ms) = args.backoff_reset_ms {
            config.backoff_reset_after = Duration::from_millis(ms);
        }
    }
    config.limits = args.limits.limits();
    Ok(config)
}

/// `503` or `500-599` as a range of statuses.
fn status_range(text: &str) -> Result<RangeInclusive<u16>, String> {
    let status = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|n| (100..=999).contains(n))
            .ok_or_else(|| format!("--retry-status {text:?}: {s:?} is not a status (100-999)"))
    };
    let (from, to) = match text.split_once('-') {
        Some((from, to)) => (status(from)?, status(to)?),
        None => (status(text)?, status(text)?),
    };
    if from > to {
        return Err(format!("--retry-status {text:?}: the range is empty"));
    }
    Ok(from..=to)
}

/// A jitter seed of this run (the time and the process ID), so that many
/// `sse listen`s started together do not reconnect in step.
fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}
