//! `sse serve`: pipe anything to browsers.
//!
//! Every line of stdin becomes one event (its data, or with `--json` an
//! object `{"event","data","id"}`), published to every subscriber of the
//! stream at `--path` with IDs assigned in order; a reconnecting client
//! resumes by `Last-Event-ID` (or `?last_event_id=`) from the replay log.
//! A new client without one gets the retained history first (like
//! `tail -f`), unless `--live-only`. `/` serves a page that shows the stream in a browser.
//!
//! The pieces: [`input`] parses stdin lines, [`feed`] is the hub (in memory,
//! or a Redis stream mirror with `--redis`), [`conn`] serves one connection
//! with the core's `sse_core::endpoint::Endpoint`, and this file
//! wires them to a listener, stdin, the `--demo` clock and signals:
//! SIGINT/SIGTERM shut down; SIGUSR1 drops every stream (clients reconnect
//! and resume), e.g. to test clients or before a deploy.

mod conn;
mod feed;
pub mod input;
mod page;

use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use event_listener::Event;
use futures_lite::future;
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
use smol::net::TcpListener;
use sse_core::encode::Message;
use sse_core::endpoint::Endpoint;
use sse_core::replay::LogLimits;
use sse_core::server::Config;

use feed::Feed;

/// Options of `sse serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on; port 0 picks a free one. The bound address is
    /// printed first: `listening on http://ADDR/PATH`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Path of the event stream.
    #[arg(long, default_value = "/events")]
    path: String,
    /// Events kept for clients resuming with Last-Event-ID.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    replay: usize,
    /// `retry:` hint sent to every client, in ms.
    #[arg(long, value_name = "N")]
    retry_ms: Option<u64>,
    /// Keep-alive comment after N ms without writes (0: never).
    #[arg(long, value_name = "N", default_value_t = 15_000)]
    keep_alive_ms: u64,
    /// Allow EventSources from this origin (`*` for any).
    #[arg(long, value_name = "ORIGIN")]
    cors: Option<String>,
    /// Each stdin line is {"event":…,"data":…,"id":…} (all optional).
    #[arg(long)]
    json: bool,
    /// New clients without a Last-Event-ID start with live events only
    /// (default: they first get everything the replay log still holds).
    #[arg(long)]
    live_only: bool,
    /// Also publish a `tick` event every second.
    #[arg(long)]
    demo: bool,
    /// Share the stream through Redis (e.g. redis://127.0.0.1:6379/); IDs
    /// are Redis stream IDs and any instance resumes any client.
    #[arg(long, value_name = "URL", requires = "stream")]
    redis: Option<String>,
    /// The Redis stream key (with --redis).
    #[arg(long, value_name = "KEY")]
    stream: Option<String>,
}

/// Runs `sse serve`.
pub fn run(args: &Args) -> ExitCode {
    match smol::block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sse serve: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: &Args) -> Result<(), String> {
    if !args.path.starts_with('/') {
        return Err(format!("--path {:?} must start with /", args.path));
    }
    let limits = LogLimits {
        max_events: args.replay.max(1),
        max_bytes: LogLimits::default()
            .max_bytes
            .max(args.replay.saturating_mul(1024)),
    };
    let feed = match (&args.redis, &args.stream) {
        (Some(url), Some(stream)) => {
            let (feed, task) = feed::redis(url, stream, limits)?;
            smol::spawn(task.run()).detach();
            feed
        }
        _ => Feed::memory(limits),
    };
    let listener = TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;

    let config = Config {
        retry: args.retry_ms,
        keep_alive: (args.keep_alive_ms > 0).then(|| Duration::from_millis(args.keep_alive_ms)),
        ..Config::default()
    };
    let shared = Arc::new(conn::Shared {
        feed: feed.clone(),
        endpoint: Endpoint {
            path: args.path.clone(),
            cors: args.cors.clone(),
        },
        config,
        page: page::html(&args.path),
        origin: std::time::Instant::now(),
        generation: AtomicU64::new(0),
        kick: Event::new(),
        history: !args.live_only,
    });

    println!("listening on http://{local}{}", args.path);
    let _ = io::stdout().flush();

    let stop = Arc::new(Event::new());
    let stopped = stop.listen();
    watch_signals(Arc::clone(&shared), Arc::clone(&stop))?;
    read_stdin(feed.clone(), args.json);
    if args.demo {
        smol::spawn(demo(feed.clone())).detach();
    }

    let accept = async {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    smol::spawn(conn::serve(stream, Arc::clone(&shared))).detach();
                }
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    smol::Timer::after(Duration::from_millis(100)).await;
                }
            }
        }
    };
    future::or(accept, stopped).await;
    // End every stream: bump the generation and wake them.
    shared.generation.fetch_add(1, Ordering::AcqRel);
    shared.kick.notify(usize::MAX);
    Ok(())
}

/// SIGINT/SIGTERM → `stop`; SIGUSR1 → drop every open stream.
fn watch_signals(shared: Arc<conn::Shared>, stop: Arc<Event>) -> Result<(), String> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGUSR1])
        .map_err(|e| format!("cannot watch signals: {e}"))?;
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal == SIGUSR1 {
                log::info!("SIGUSR1: dropping every stream");
                shared.generation.fetch_add(1, Ordering::AcqRel);
                shared.kick.notify(usize::MAX);
            } else {
                stop.notify(usize::MAX);
                return;
            }
        }
    });
    Ok(())
}

/// Publishes every stdin line; keeps serving after stdin ends.
fn read_stdin(feed: Feed, json: bool) {
    std::thread::spawn(move || {
        for (n, line) in io::stdin().lock().lines().enumerate() {
            let Ok(line) = line else { break };
            let input = match input::parse_line(&line, json) {
                Ok(input) => input,
                Err(e) => {
                    eprintln!("sse serve: stdin line {}: {e}; skipped", n + 1);
                    continue;
                }
            };
            let msg = Message {
                id: input.id.as_deref(),
                event: input.event.as_deref(),
                data: &input.data,
                retry: None,
            };
            if let Err(e) = smol::block_on(feed.publish(&msg)) {
                eprintln!("sse serve: stdin line {}: {e}; skipped", n + 1);
            }
        }
    });
}

/// `--demo`: a `tick` event every second, its data the seconds since start.
async fn demo(feed: Feed) {
    let start = std::time::Instant::now();
    let mut timer = smol::Timer::interval(Duration::from_secs(1));
    loop {
        futures_lite::StreamExt::next(&mut timer).await;
        let data = format!("{}", start.elapsed().as_secs());
        let msg = Message {
            id: None,
            event: Some("tick"),
            data: &data,
            retry: None,
        };
        if let Err(e) = feed.publish(&msg).await {
            log::warn!("demo tick not published: {e}");
        }
    }
}
