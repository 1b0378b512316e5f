//! Our clients against the Rust client peers on one loopback stream: the
//! `tokens` workload (200,000 LLM-token events) served once per connection
//! by a second process, consumed by
//!
//! - our reqwest driver (`sse-reqwest`) on a tokio current-thread runtime,
//! - our runtime adapter `EventSource` on tokio (`sse-tokio`, a
//!   current-thread runtime like the peers') and on smol (`sse-smol`),
//! - `reqwest-eventsource` 0.6 on the same kind of runtime,
//! - `eventsource-client` 0.18.0 (its hyper transport) on the same kind of
//!   runtime.
//!
//! Each counts events and data bytes, and all must agree (checked every
//! run). Rounds alternate the order (forward, then backward); the table has
//! the median of the rounds for events/s (wall clock) and CPU time per event
//! (this process's CPU: the client alone, the server runs in the other
//! process). System allocator.
//!
//! `cargo bench --manifest-path bench/peers/Cargo.toml --target-dir target`
//! (`-- --rounds N`, default 9; `--only NAME` runs the contestants whose
//! name contains NAME, for profiling).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use futures_lite::StreamExt;
use sse_bench::client::{body_server, config};
use sse_bench::fanout::{load_average, process_cpu};
use sse_bench::tokens;
use sse_core::client::{ClientError, Notification};

/// Events and data bytes one contestant counted.
type Counts = (usize, usize);

/// Counts an `EventSource` of ours until the end of the stream.
async fn count_ours(mut es: impl futures_lite::Stream<Item = Notification> + Unpin) -> Counts {
    let (mut n, mut bytes) = (0, 0);
    while let Some(note) = es.next().await {
        match note {
            Notification::Message(m) => {
                n += 1;
                bytes += m.event.data().len();
            }
            Notification::Error {
                error: ClientError::EndOfStream,
                ..
            } => break,
            Notification::Error { error, .. } => panic!("{error}"),
            _ => {}
        }
    }
    (n, bytes)
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn sse_reqwest(url: &str) -> Counts {
    tokio_runtime().block_on(async {
        let es = sse_reqwest::EventSource::with_config(url, config()).unwrap();
        count_ours(es).await
    })
}

fn sse_tokio(url: &str) -> Counts {
    tokio_runtime().block_on(async {
        let es = sse_tokio::open(url, config()).unwrap();
        count_ours(es).await
    })
}

fn sse_smol(url: &str) -> Counts {
    let es = sse_smol::open(url, config()).unwrap();
    smol::block_on(count_ours(es))
}

fn reqwest_eventsource(url: &str) -> Counts {
    use reqwest_eventsource::{Error, Event, EventSource};
    tokio_runtime().block_on(async {
        let client = reqwest012::Client::new();
        let mut es = EventSource::new(client.get(url)).unwrap();
        es.set_retry_policy(Box::new(reqwest_eventsource::retry::Never));
        let (mut n, mut bytes) = (0, 0);
        while let Some(item) = es.next().await {
            match item {
                Ok(Event::Open) => {}
                Ok(Event::Message(m)) => {
                    n += 1;
                    bytes += m.data.len();
                }
                Err(Error::StreamEnded) => break,
                Err(e) => panic!("{e}"),
            }
        }
        (n, bytes)
    })
}

fn eventsource_client(url: &str) -> Counts {
    use eventsource_client::{Client, ClientBuilder, Error, ReconnectOptions, SSE};
    tokio_runtime().block_on(async {
        let transport = launchdarkly_sdk_transport::HyperTransport::builder()
            .build_http()
            .unwrap();
        let client = ClientBuilder::for_url(url)
            .unwrap()
            .reconnect(ReconnectOptions::reconnect(false).build())
            .build_with_transport(transport);
        let mut stream = client.stream();
        let (mut n, mut bytes) = (0, 0);
        while let Some(item) = stream.next().await {
            match item {
                Ok(SSE::Event(e)) => {
                    n += 1;
                    bytes += e.data.len();
                }
                Ok(_) => {}
                Err(Error::Eof) => break,
                Err(e) => panic!("{e}"),
            }
        }
        (n, bytes)
    })
}

/// One contestant: its name, whether it is a peer, how it runs.
struct Contestant {
    name: &'static str,
    peer: bool,
    run: fn(&str) -> Counts,
    /// Per round: events/s and CPU ns per event.
    rates: Vec<f64>,
    cpu_ns: Vec<f64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// In the server process: serve the workload, print the URL, wait.
fn serve() {
    let url = body_server(Arc::new(tokens().bytes));
    println!("{url}");
    loop {
        std::thread::park();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--serve") {
        return serve();
    }
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(9);
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    // Installs ring for reqwest's rustls when a workspace build has it
    // without a provider; harmless otherwise.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let w = tokens();
    let parsed = sse_core::parse::parse_all(&w.bytes);
    let expected: Counts = (
        parsed.len(),
        parsed.iter().flatten().map(|e| e.data().len()).sum(),
    );
    let mut server = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_owned();

    let mut contestants = [
        (
            "sse-reqwest EventSource (tokio)",
            false,
            sse_reqwest as fn(&str) -> Counts,
        ),
        ("sse-tokio EventSource", false, sse_tokio),
        ("sse-smol EventSource", false, sse_smol),
        ("reqwest-eventsource 0.6 (tokio)", true, reqwest_eventsource),
        (
            "eventsource-client 0.18.0 (tokio)",
            true,
            eventsource_client,
        ),
    ]
    .map(|(name, peer, run)| Contestant {
        name,
        peer,
        run,
        rates: Vec::new(),
        cpu_ns: Vec::new(),
    })
    .into_iter()
    .filter(|c| only.as_ref().is_none_or(|o| c.name.contains(o.as_str())))
    .collect::<Vec<_>>();
    let load_before = load_average();
    for c in &contestants {
        (c.run)(&url); // warm-up
    }
    for round in 0..rounds {
        let order: Vec<usize> = match round % 2 {
            0 => (0..contestants.len()).collect(),
            _ => (0..contestants.len()).rev().collect(),
        };
        for i in order {
            let c = &mut contestants[i];
            let (wall, cpu) = (Instant::now(), process_cpu());
            let counts = (c.run)(&url);
            let (cpu, wall) = (process_cpu() - cpu, wall.elapsed());
            assert_eq!(counts, expected, "{}: events and data bytes", c.name);
            c.rates.push(expected.0 as f64 / wall.as_secs_f64());
            c.cpu_ns.push(cpu.as_nanos() as f64 / expected.0 as f64);
        }
    }
    let _ = server.kill();
    let _ = server.wait();

    let rows: Vec<(&str, bool, f64, f64)> = contestants
        .iter()
        .map(|c| {
            (
                c.name,
                c.peer,
                median(c.rates.clone()),
                median(c.cpu_ns.clone()),
            )
        })
        .collect();
    // With no peer in the run (`--only`), ratios are to the run's best.
    let any_peer = rows.iter().any(|r| r.1);
    let best_rate = rows
        .iter()
        .filter(|r| r.1 || !any_peer)
        .map(|r| r.2)
        .fold(0.0, f64::max);
    let best_cpu = rows
        .iter()
        .filter(|r| r.1 || !any_peer)
        .map(|r| r.3)
        .fold(f64::MAX, f64::min);
    println!(
        "\n### Client peers: `{}` ({} events, {} data bytes, {:.1} MB) over loopback, median of {rounds} alternating rounds\n",
        w.name,
        expected.0,
        expected.1,
        w.bytes.len() as f64 / 1e6
    );
    println!(
        "| client | events/s | CPU per event | × faster peer (events/s) | × faster peer (CPU) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, _, rate, cpu) in &rows {
        println!(
            "| {name} | {:.2} M | {:.0} ns | {:.2}× | {:.2}× |",
            rate / 1e6,
            cpu,
            rate / best_rate,
            best_cpu / cpu
        );
    }
    println!(
        "\nEvery contestant counted {} events and {} data bytes in every run. Load average before: {load_before}; after: {}.",
        expected.0,
        expected.1,
        load_average()
    );
}
