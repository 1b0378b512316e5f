//! `sse serve`: pipe anything to browsers.
//!
//! Every line of stdin becomes one event (its data, or with `--json` an
//! object `{"event","data","id"}`), published to every subscriber of the
//! stream at `--path` with IDs assigned in order; a reconnecting client
//! resumes by `Last-Event-ID` (or `?last_event_id=`) from the replay log.
//! A new client without one gets the retained history first (like
//! `tail -f`), unless `--live-only`. `/` serves a page that shows the stream in a browser.
//!
//! Serving is `sse-tokio`'s listener, on a tokio runtime: HTTP/1.1 through
//! `sse-futures`' server ([`sse_futures::server::serve_connection`], the
//! same code as every adapter's: the request head is checked by the core
//! (a malformed one, or one whose body cannot be delimited, gets a 400 and a
//! close), routed by its `sse_core::endpoint::Endpoint`, and each stream is
//! a hub subscription), HTTP/2 through hyper with the same decisions
//! (`sse_http::respond`): with prior knowledge (h2c) on plain TCP and, with
//! `--tls-cert` and `--tls-key`, by ALPN over TLS, so that a browser opens
//! every `EventSource` of a page as a stream of one connection instead of
//! hitting its six-connections-per-origin limit.
//! A burst on stdin never drops a reader: the hub holds every event a
//! subscriber has not been sent, and the stdin reader pauses while it holds
//! all it may (`--replay` plus the hub's backlog); only a client whose
//! socket refuses writes for `--lag-window-ms` is let go, and dropped once
//! the log evicts its next event (it then resumes by its last event ID).
//!
//! The pieces: [`input`] parses stdin lines, [`feed`] publishes into the
//! hub (in memory, or a Redis stream mirror with `--redis`), [`page`] is the
//! page at `/`, and this file wires them to a listener (plain or TLS),
//! stdin, the `--demo` clock and signals: SIGINT/SIGTERM shut down (exit
//! 0); SIGUSR1 drops every stream (clients reconnect and resume), e.g. to
//! test clients or before a deploy. Exit 2 on bad options (a `--path`
//! without `/`, an unreadable or invalid `--tls-cert`/`--tls-key`), 1 when
//! it cannot serve (the address is taken, the Redis URL is invalid).

mod feed;
pub mod input;
mod page;

use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use event_listener::Event;
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
use sse_core::encode::Message;
use sse_core::endpoint::{respond, Endpoint};
use sse_core::replay::{LogLimits, ReplayLog};
use sse_core::server::Config;
use sse_futures::server::{Admit, Service, SharedHub};
use sse_futures::BoxFuture;
use sse_tokio::rustls::ServerConfig;
use sse_tokio::tls::PemError;
use tokio::net::TcpListener;
use tokio::runtime::Handle;

use feed::Feed;

/// Options of `sse serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on; port 0 picks a free one. The bound address is
    /// printed first: `listening on http://ADDR/PATH` (`https` with TLS).
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
    /// Drop a client whose socket refused writes for N ms without a break
    /// (once the replay log no longer has its next event). A client that
    /// reads, however slowly, is never dropped: stdin waits for it.
    #[arg(long, value_name = "N", default_value_t = 5_000)]
    lag_window_ms: u64,
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
    /// Serve HTTPS with this certificate chain (PEM, the server's
    /// certificate first): HTTP/2 for clients that offer it by ALPN
    /// (browsers: every stream of a page on one connection), HTTP/1.1 for
    /// the others.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// Runs `sse serve`: bad options exit 2, failing to serve exits 1.
pub fn run(args: &Args) -> ExitCode {
    let tls = match check(args) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("sse serve: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sse serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args, tls)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sse serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The options that can be wrong before anything runs; the TLS settings
/// when `--tls-cert` and `--tls-key` are given (clap makes sure both are).
fn check(args: &Args) -> Result<Option<Arc<ServerConfig>>, String> {
    if !args.path.starts_with('/') {
        return Err(format!("--path {:?} must start with /", args.path));
    }
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return Ok(None);
    };
    sse_tokio::tls::server_config_from_pem(cert, key)
        .map(Some)
        .map_err(|e| match e {
            PemError::Certificate(..) => format!("--tls-cert {e}"),
            PemError::Key(..) => format!("--tls-key {e}"),
            e => format!("--tls-cert and --tls-key: {e}"),
        })
}

async fn serve(args: &Args, tls: Option<Arc<ServerConfig>>) -> Result<(), String> {
    let limits = LogLimits {
        max_events: args.replay.max(1),
        max_bytes: LogLimits::default()
            .max_bytes
            .max(args.replay.saturating_mul(1024)),
    };
    match (&args.redis, &args.stream) {
        (Some(url), Some(stream)) => {
            let (feed, task) = feed::redis(url, stream, limits)?;
            tokio::spawn(task.run());
            let Feed::Redis(mirror) = &feed else {
                unreachable!("a Redis feed")
            };
            let hub = mirror.shared_hub().clone();
            // New streams wait until the mirror caught up (so an ID another
            // instance handed out is found); none while Redis is down.
            let admitting = mirror.clone();
            let admit = move |_: &sse_core::http1::RequestHead| -> BoxFuture<Result<(), String>> {
                let mirror = admitting.clone();
                Box::pin(async move {
                    if mirror.status().state == sse_redis::MirrorState::Down {
                        return Err("the Redis stream is unreachable".into());
                    }
                    mirror.sync().await.map_err(|e| e.to_string())
                })
            };
            // An outage ends open streams: their clients see it, reconnect
            // (answered with an empty stream until Redis is back) and resume.
            let watched = mirror.clone();
            let ended = hub.clone();
            let outages = std::sync::atomic::AtomicU64::new(0);
            mirror.on_publish(move || {
                let status = watched.status();
                let seen = outages.swap(status.outages, std::sync::atomic::Ordering::AcqRel);
                if status.outages != seen && status.state == sse_redis::MirrorState::Down {
                    log::warn!("ending every stream: the Redis stream is unreachable");
                    ended.end_streams();
                }
            });
            serve_hub(args, tls, feed, hub, Some(Arc::new(admit))).await
        }
        _ => {
            let feed = Feed::memory(limits);
            let Feed::Memory(hub) = &feed else {
                unreachable!("a memory feed")
            };
            let hub = hub.clone();
            serve_hub(args, tls, feed, hub, None).await
        }
    }
}

/// Serves `hub` (fed by `feed`) until SIGINT or SIGTERM.
async fn serve_hub<L: ReplayLog + Send + 'static>(
    args: &Args,
    tls: Option<Arc<ServerConfig>>,
    feed: Feed,
    hub: SharedHub<L>,
    admit: Option<Arc<Admit>>,
) -> Result<(), String> {
    let listener = TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let config = Config {
        retry: args.retry_ms,
        keep_alive: (args.keep_alive_ms > 0).then(|| Duration::from_millis(args.keep_alive_ms)),
        lag_window: Duration::from_millis(args.lag_window_ms),
        ..Config::default()
    };
    let page = page::html(&args.path);
    let endpoint = Endpoint {
        path: args.path.clone(),
        cors: args.cors.clone(),
    };
    let mut service = Service::new(endpoint, hub.clone())
        .config(config)
        .history(!args.live_only)
        .fallback(move |head| {
            (head.path() == "/" && head.method() == "GET").then(|| {
                respond(
                    200,
                    &[("Content-Type", "text/html; charset=utf-8")],
                    page.as_bytes(),
                )
            })
        });
    service.admit = admit;
    // Signals are handled before anything is served or announced: a
    // SIGUSR1 or SIGTERM sent as soon as the listening line appears drops
    // the streams or exits 0, never kills the process.
    let stop = Arc::new(Event::new());
    let stopped = stop.listen();
    watch_signals(hub, Arc::clone(&stop))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = match tls {
        Some(tls) => sse_tokio::serve_tls_listener(listener, tls, service),
        None => sse_tokio::serve_listener(listener, service),
    }
    .map_err(|e| e.to_string())?;
    let local = server
        .local_addr()
        .ok_or_else(|| "the listener has no address".to_string())?;

    println!("listening on {scheme}://{local}{}", args.path);
    let _ = io::stdout().flush();

    read_stdin(feed.clone(), args.json, Handle::current());
    if args.demo {
        tokio::spawn(demo(feed));
    }
    stopped.await;
    server.shutdown_and_wait().await;
    Ok(())
}

/// SIGINT/SIGTERM → `stop`; SIGUSR1 → drop every open stream.
fn watch_signals<L: ReplayLog + Send + 'static>(
    hub: SharedHub<L>,
    stop: Arc<Event>,
) -> Result<(), String> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGUSR1])
        .map_err(|e| format!("cannot watch signals: {e}"))?;
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal == SIGUSR1 {
                log::info!("SIGUSR1: dropping every stream");
                hub.end_streams();
            } else {
                stop.notify(usize::MAX);
                return;
            }
        }
    });
    Ok(())
}

/// Publishes every stdin line, pausing while the hub is full (a fast
/// input never outruns the readers); keeps serving after stdin ends. Its
/// thread blocks on `runtime`, whose timer a waiting publish may use.
fn read_stdin(feed: Feed, json: bool, runtime: Handle) {
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
            if let Err(e) = runtime.block_on(feed.publish(&msg)) {
                eprintln!("sse serve: stdin line {}: {e}; skipped", n + 1);
            }
        }
    });
}

/// `--demo`: a `tick` event every second, its data the seconds since start.
async fn demo(feed: Feed) {
    let start = tokio::time::Instant::now();
    let second = Duration::from_secs(1);
    let mut timer = tokio::time::interval_at(start + second, second);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        timer.tick().await;
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
