//! The server process of the fan-out bench (`benches/fanout.rs`): one
//! adapter's server, the subscribers process it starts, and the phases it
//! measures (idle, burst, paced).
//!
//! The bench runs it in two binaries: itself (`__server`), on the system
//! allocator, for every timed number; and the `heap` binary
//! (`src/bin/heap.rs`), which counts live heap bytes, for the idle phase
//! only, once per adapter and subscriber count. Each prints one
//! `RESULT key=value …` line for the driver.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use sse_core::encode::Message;
use sse_core::endpoint::Endpoint;
use sse_core::hub::{BacklogLimits, Hub};
use sse_core::replay::LogLimits;

use super::{
    load_average, machine_busy, monotonic_ns, open_fds, proc_status, process_cpu, raise_fd_limit,
};

/// One scenario's numbers as the server process prints them (`key=value`).
pub type Fields = BTreeMap<String, String>;

/// Published events per scenario: a burst, then paced ones; and the hub's
/// sizes.
#[derive(Clone, Copy)]
pub struct Plan {
    /// Events published back to back.
    pub burst: u64,
    /// Events published one per `interval` after the burst.
    pub paced: u64,
    /// Time between paced events.
    pub interval: Duration,
    /// Events the replay log keeps; `0`: every event of the scenario, so
    /// nothing is ever held beyond the log (backpressure never engages).
    pub log_events: u64,
    /// Events the hub may hold beyond the log for subscribers not sent them
    /// yet; `0`: the default (4,096). A small log and backlog make the
    /// burst's publisher wait for the subscribers.
    pub backlog_events: u64,
}

/// Burst: 1,000 events at 1,000 subscribers (1 M deliveries), 200 at
/// 10,000 (2 M). Paced: 100 k deliveries/s either way, 100 events 10 ms
/// apart at 1,000 subscribers, 50 events 100 ms apart at 10,000. One event
/// at a time costs the async servers a write per subscriber (a burst lets
/// them write many events at once), about 2.5 µs of server CPU per delivery
/// on this machine, so this rate leaves room on two shared cores and the
/// latency is not queueing behind earlier events.
pub fn plan(subscribers: usize) -> Plan {
    if subscribers >= 5_000 {
        Plan {
            burst: 200,
            paced: 50,
            interval: Duration::from_millis(100),
            log_events: 0,
            backlog_events: 0,
        }
    } else {
        Plan {
            burst: 1_000,
            paced: 100,
            interval: Duration::from_millis(10),
            log_events: 0,
            backlog_events: 0,
        }
    }
}

/// Counts the adapters' warnings (e.g. a failed `accept`) and keeps the
/// first, so a failed scenario says why.
struct Warnings;

static WARNINGS: std::sync::Mutex<(usize, String)> = std::sync::Mutex::new((0, String::new()));

impl log::Log for Warnings {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        meta.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let mut w = WARNINGS.lock().unwrap();
            if w.0 == 0 {
                w.1 = format!("{}: {}", record.target(), record.args());
                eprintln!("[fanout]   first server warning: {}", w.1);
            }
            w.0 += 1;
        }
    }

    fn flush(&self) {}
}

/// A running server of one adapter, behind the same three operations.
struct Server {
    addr: SocketAddr,
    publish: Box<dyn Fn(&str)>,
    connections: Box<dyn Fn() -> usize>,
    /// The tokio runtime serving it, if it is a tokio server.
    _runtime: Option<tokio::runtime::Runtime>,
}

fn start(adapter: &str, limits: LogLimits, backlog: BacklogLimits) -> Server {
    let config = sse_core::server::Config {
        keep_alive: None,
        ..Default::default()
    };
    match adapter {
        "smol" | "async-std" => {
            use sse_futures::server::{Service, SharedHub};
            let hub = SharedHub::from_hub(Hub::new(limits).with_backlog(backlog));
            let service = Service::new(Endpoint::new("/events"), hub.clone()).config(config);
            let handle = if adapter == "smol" {
                let l = smol::block_on(smol::net::TcpListener::bind("127.0.0.1:0")).unwrap();
                sse_smol::serve_listener(l, service).unwrap()
            } else {
                let l = async_std::task::block_on(async_std::net::TcpListener::bind("127.0.0.1:0"))
                    .unwrap();
                sse_async_std::serve_listener(l, service).unwrap()
            };
            let addr = handle.local_addr().unwrap();
            Server {
                addr,
                publish: Box::new(move |data| {
                    // Waits while the hub holds all it may for subscribers
                    // not sent it yet (backpressure).
                    smol::block_on(hub.publish(&Message::new(data))).unwrap();
                }),
                connections: Box::new(move || handle.connections()),
                _runtime: None,
            }
        }
        "blocking" => {
            let hub = sse_blocking::Hub::with_backlog(limits, backlog);
            let mut service = sse_blocking::Service::new(hub.clone(), "/events");
            service.config = config;
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let handle = sse_blocking::serve(l, service, None).unwrap();
            Server {
                addr: handle.local_addr(),
                publish: Box::new(move |data| {
                    hub.publish(&Message::new(data)).unwrap();
                }),
                connections: Box::new(move || handle.connections()),
                _runtime: None,
            }
        }
        "tokio" | "tokio-hyper" => {
            use sse_tokio::server::{Service, SharedHub};
            // The hub's clock lets a waiting publish release bodies that
            // hyper stopped polling (tokio-hyper); the shared HTTP/1.1 code
            // reports refused writes itself.
            let hub = SharedHub::from_hub(Hub::new(limits).with_backlog(backlog))
                .with_timer(sse_tokio::Timer::new());
            let service = Service::new(Endpoint::new("/events"), hub.clone()).config(config);
            let runtime = tokio_runtime();
            let handle = runtime.block_on(async {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                if adapter == "tokio" {
                    sse_tokio::serve_listener(l, service).unwrap()
                } else {
                    let app = sse_tokio::http::app(service, sse_tokio::Timer::new());
                    sse_tokio::http::serve(l, None, app).unwrap()
                }
            });
            Server {
                addr: handle.local_addr().unwrap(),
                publish: Box::new(move |data| {
                    futures_lite::future::block_on(hub.publish(&Message::new(data))).unwrap();
                }),
                connections: Box::new(move || handle.connections()),
                _runtime: Some(runtime),
            }
        }
        "axum" => axum_server(limits.max_events),
        other => {
            panic!("unknown adapter {other} (smol, async-std, blocking, tokio, tokio-hyper, axum)")
        }
    }
}

/// tokio's default multi-threaded runtime (a worker per core).
fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// axum's SSE as its documentation shows it: a handler subscribing to a
/// `tokio::sync::broadcast` channel and returning `Sse` over the
/// `BroadcastStream`; no keep-alive (as for the other contestants). The
/// channel holds every event of a scenario, like the hub's log, so no
/// subscriber lags. Each event has the id the hub would give it, so every
/// contestant sends the same bytes of events.
fn axum_server(capacity: usize) -> Server {
    use axum::response::sse::{Event, Sse};
    use futures_lite::StreamExt;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use tokio::sync::broadcast;
    use tokio_stream::wrappers::BroadcastStream;

    type Events = broadcast::Sender<(u64, String)>;
    async fn events(
        axum::extract::State(tx): axum::extract::State<Events>,
    ) -> Sse<impl futures_lite::Stream<Item = Result<Event, std::convert::Infallible>>> {
        let stream = BroadcastStream::new(tx.subscribe()).filter_map(|msg| {
            let (id, data) = msg.ok()?;
            Some(Ok(Event::default().id(id.to_string()).data(data)))
        });
        Sse::new(stream)
    }
    let (tx, _) = broadcast::channel::<(u64, String)>(capacity);
    let app = axum::Router::new()
        .route("/events", axum::routing::get(events))
        .with_state(tx.clone());
    let runtime = tokio_runtime();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await });
    let counting = tx.clone();
    let next = AtomicU64::new(1);
    Server {
        addr,
        publish: Box::new(move |data| {
            let _ = tx.send((next.fetch_add(1, Relaxed), data.to_string()));
        }),
        // A subscriber per open stream.
        connections: Box::new(move || counting.receiver_count()),
        _runtime: Some(runtime),
    }
}

/// The subscribers process: its stdin, and its stdout as lines.
struct Clients {
    _child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Clients {
    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .ok();
    }

    /// The next line split at spaces; its first word must be `what`.
    fn expect(&self, what: &str, timeout: Duration) -> Result<Vec<String>, String> {
        let line = self
            .lines
            .recv_timeout(timeout)
            .map_err(|_| format!("subscribers: no {what} within {} s", timeout.as_secs()))?;
        let words: Vec<String> = line.split(' ').map(String::from).collect();
        if words[0] != what {
            return Err(format!("subscribers: {line}"));
        }
        Ok(words)
    }
}

/// The server process of one scenario. `args`: adapter, subscribers,
/// subscriber threads, burst, paced, interval in µs, the program to run as
/// the subscribers process (`PROGRAM __clients ADDR N THREADS`), and
/// `all` or `idle` (stop after the idle measurements). `live_heap`, when
/// the process counts its heap (the `heap` binary), reads the live heap
/// bytes. Prints one `RESULT key=value …` line and exits.
pub fn server_main(args: &[String], live_heap: Option<fn() -> isize>) {
    let n = |i: usize| args[i].parse::<u64>().unwrap();
    let (adapter, subs, threads) = (&args[0], n(1) as usize, &args[2]);
    let optional = |i: usize| args.get(i).map_or(0, |a| a.parse::<u64>().unwrap());
    let plan = Plan {
        burst: n(3),
        paced: n(4),
        interval: Duration::from_micros(n(5)),
        log_events: optional(8),
        backlog_events: optional(9),
    };
    let setup = Setup {
        clients: PathBuf::from(&args[6]),
        idle_only: args[7] == "idle",
        live_heap,
    };
    raise_fd_limit();
    log::set_logger(&Warnings).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let mut out = Fields::new();
    out.insert("load".into(), load_average());
    if let Err(e) = serve_scenario(adapter, subs, threads, plan, &setup, &mut out) {
        eprintln!("[fanout] {adapter} {subs}: {e}");
        out.insert("error".into(), e);
    }
    let line: Vec<String> = out
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "_")))
        .collect();
    println!("RESULT {}", line.join(" "));
    std::io::stdout().flush().ok();
    // Exit at once: the kernel closes every connection, from this side, and
    // the subscribers process sees its streams and its stdin end.
    std::process::exit(0);
}

/// How the server process runs, besides the scenario.
struct Setup {
    /// The program run as the subscribers process.
    clients: PathBuf,
    /// Stop after the idle measurements (a heap-counting run).
    idle_only: bool,
    /// Reads the live heap bytes, in a process that counts them.
    live_heap: Option<fn() -> isize>,
}

fn serve_scenario(
    adapter: &str,
    subs: usize,
    threads: &str,
    plan: Plan,
    setup: &Setup,
    out: &mut Fields,
) -> Result<(), String> {
    let log_events = match plan.log_events {
        0 => plan.burst + plan.paced + 16,
        n => n,
    };
    let backlog = BacklogLimits {
        max_events: match plan.backlog_events {
            0 => BacklogLimits::default().max_events,
            n => n as usize,
        },
        max_bytes: 64 << 20,
    };
    let server = start(
        adapter,
        LogLimits {
            max_events: log_events as usize,
            max_bytes: 64 << 20,
        },
        backlog,
    );
    thread::sleep(Duration::from_millis(300));
    out.insert("rss_before".into(), proc_status("VmRSS").to_string());
    if let Some(heap) = setup.live_heap {
        out.insert("heap_before".into(), heap().to_string());
    }
    let opened = Instant::now();
    let mut child = Command::new(&setup.clients)
        .args([
            "__clients",
            &server.addr.to_string(),
            &subs.to_string(),
            threads,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("start subscribers: {e}"))?;
    out.insert("client_pid".into(), child.id().to_string());
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stdin = child.stdin.take().unwrap();
    let mut clients = Clients {
        _child: child,
        stdin,
        lines,
    };
    let r = drive(&server, &mut clients, subs, plan, opened, setup, out);
    let w = WARNINGS.lock().unwrap();
    if w.0 > 0 {
        out.insert("warnings".into(), format!("{}× {}", w.0, w.1));
    }
    // The subscribers process is left to see this one exit (its streams
    // end), so its side of every connection closes last.
    drop(clients);
    r
}

fn drive(
    server: &Server,
    clients: &mut Clients,
    subs: usize,
    plan: Plan,
    opened: Instant,
    setup: &Setup,
    out: &mut Fields,
) -> Result<(), String> {
    // While the streams open: the most connections and fds seen (a
    // scenario that fails here says how far it got).
    let (mut peak_conns, mut peak_fds) = (0, 0);
    let ready = loop {
        match clients.lines.recv_timeout(Duration::from_millis(500)) {
            Ok(line) => break line,
            Err(mpsc::RecvTimeoutError::Timeout) if opened.elapsed().as_secs() < 600 => {
                peak_conns = peak_conns.max((server.connections)());
                peak_fds = peak_fds.max(open_fds());
                out.insert("peak_connections".into(), peak_conns.to_string());
                out.insert("peak_fds".into(), peak_fds.to_string());
            }
            Err(_) => return Err("subscribers: not ready within 600 s".into()),
        }
    };
    let mut put = |k: &str, v: String| out.insert(k.into(), v);
    let ready: Vec<&str> = ready.split(' ').collect();
    if ready[0] != "ready" {
        return Err(format!("subscribers: {}", ready.join(" ")));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while (server.connections)() < subs {
        if Instant::now() > deadline {
            return Err(format!("{} of {subs} connections", (server.connections)()));
        }
        thread::sleep(Duration::from_millis(10));
    }
    put(
        "connect_s",
        format!("{:.2}", opened.elapsed().as_secs_f64()),
    );
    // Idle: every stream open, nothing published yet.
    thread::sleep(Duration::from_millis(500));
    let (busy0, cpu0, clients0) = (machine_busy(), process_cpu(), ready[1].parse::<f64>());
    let wall0 = Instant::now();
    thread::sleep(Duration::from_secs(1));
    let idle = (process_cpu() - cpu0).as_secs_f64() / wall0.elapsed().as_secs_f64();
    put("idle_cpu", format!("{idle:.3}"));
    put("rss_after", proc_status("VmRSS").to_string());
    if let Some(heap) = setup.live_heap {
        put("heap_after", heap().to_string());
    }
    put("vm_after", proc_status("VmSize").to_string());
    put("threads", proc_status("Threads").to_string());
    put("fds", open_fds().to_string());
    if setup.idle_only {
        return Ok(());
    }

    let deliveries = |events: u64| (subs as u64 * events) as f64;
    // Returns deliveries/s from the first publish to the last event read,
    // server CPU per delivery, latency p50, p99, max, subscribers' CPU.
    let mut phase = |events: u64, publish: &mut dyn FnMut()| {
        clients.send(&format!("expect {events}"));
        let ok = clients.expect("ok", Duration::from_secs(30))?;
        let clients_cpu = ok[1].parse::<f64>().unwrap_or(0.0);
        let cpu = process_cpu();
        let start = monotonic_ns();
        publish();
        // done events last_ns closed errors p50 p99 max cpu
        let done = clients.expect("done", Duration::from_secs(300))?;
        let cpu = process_cpu() - cpu;
        let n = |i: usize| done[i].parse::<f64>().unwrap_or(0.0);
        if n(3) > 0.0 || n(4) > 0.0 {
            return Err(format!(
                "{} streams ended early, {} parse errors",
                done[3], done[4]
            ));
        }
        if n(1) != deliveries(events) {
            return Err(format!("{} of {} events", done[1], deliveries(events)));
        }
        let rate = n(1) / ((n(2) - start as f64) / 1e9);
        let cpu = cpu.as_nanos() as f64 / n(1);
        let their_cpu = (n(8) - clients_cpu) / n(1);
        Ok::<_, String>([rate, cpu, n(5), n(6), n(7), n(8), their_cpu])
    };

    let [rate, cpu, p50, p99, _, _, their_cpu] = phase(plan.burst, &mut || {
        for _ in 0..plan.burst {
            (server.publish)(&monotonic_ns().to_string());
        }
    })?;
    eprintln!("[fanout]   burst {:.2} M deliveries/s", rate / 1e6);
    put("rate", format!("{rate:.0}"));
    put("burst_cpu", format!("{cpu:.1}"));
    put("burst_clients_cpu", format!("{their_cpu:.1}"));
    put("burst_p50", p50.to_string());
    put("burst_p99", p99.to_string());

    // Paced: one event every `interval`, on a fixed schedule.
    let [rate, cpu, p50, p99, max, clients_cpu, _] = phase(plan.paced, &mut || {
        let start = Instant::now();
        for i in 0..plan.paced {
            let at = start + plan.interval * i as u32;
            thread::sleep(at.saturating_duration_since(Instant::now()));
            (server.publish)(&monotonic_ns().to_string());
        }
    })?;
    put("paced_rate", format!("{rate:.0}"));
    put("paced_cpu", format!("{cpu:.1}"));
    put("paced_p50", p50.to_string());
    put("paced_p99", p99.to_string());
    put("paced_max", max.to_string());

    // What else ran on the machine from the idle phase on: its busy time
    // minus this process's and the subscribers', as a share of all cores.
    let cores = thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let wall = wall0.elapsed().as_secs_f64();
    let ours = (process_cpu() - cpu0).as_secs_f64() + (clients_cpu - clients0.unwrap_or(0.0)) / 1e9;
    let other = ((machine_busy() - busy0).as_secs_f64() - ours) / (wall * cores);
    put("other_cpu", format!("{:.3}", other.max(0.0)));
    put("load_after", load_average());
    Ok(())
}
