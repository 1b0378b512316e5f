//! An axum 0.8 app around a hub, served over HTTP/1.1 and HTTP/2:
//!
//! - `GET /`: the page `sse serve` shows (an `EventSource` on `/events`);
//! - `GET /events`: the stream, resuming by `Last-Event-ID` or
//!   `?last_event_id=` (`earliest` for the whole retained history);
//! - `POST /publish[?event=TYPE]`: the body is one event's data; answers
//!   its ID;
//! - `GET /stats`: connections accepted and open, and for each connection
//!   that carried requests its HTTP version, requests and streams (to see a
//!   page's EventSources share one HTTP/2 connection).
//!
//! ```text
//! cargo run -p sse-tokio --example tokio-axum -- [ADDR] [--tls-self-signed | --tls-cert FILE --tls-key FILE]
//! curl -d hello http://127.0.0.1:8080/publish
//! ```
//!
//! Prints `listening on http(s)://ADDR/events` once bound; Ctrl-C stops it.
//! Over TLS, browsers pick HTTP/2 by ALPN (`--tls-self-signed` makes a
//! certificate for `localhost` and `127.0.0.1` that browsers warn about).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::service::TowerToHyperService;
use sse_core::encode::Message;
use sse_core::endpoint::Endpoint;
use sse_tokio::http::Connection;
use sse_tokio::rustls::pki_types::PrivateKeyDer;
use sse_tokio::server::{ServerHandle, Service, SharedHub};

/// The page itself is `sse serve`'s, not a copy.
#[path = "../../../cli/src/serve/page.rs"]
mod page;

#[derive(Clone)]
struct App {
    service: Service,
    stats: Arc<Stats>,
}

#[derive(Default)]
struct Stats {
    server: OnceLock<ServerHandle>,
    /// By connection: its HTTP version, requests and streams.
    connections: Mutex<BTreeMap<u64, (String, usize, usize)>>,
}

impl Stats {
    /// Counts a request (a stream if `stream`) on its connection.
    fn count(&self, req: &Request, stream: bool) {
        let Some(connection) = req.extensions().get::<Connection>() else {
            return;
        };
        let mut connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        let version = format!("{:?}", req.version());
        let entry = connections.entry(connection.id).or_insert((version, 0, 0));
        entry.1 += 1;
        entry.2 += usize::from(stream);
    }
}

async fn events(State(app): State<App>, req: Request) -> impl IntoResponse {
    app.stats.count(&req, true);
    sse_tokio::sse_http::respond(&req, &app.service, sse_tokio::Timer::new()).await
}

async fn page(State(app): State<App>, req: Request) -> impl IntoResponse {
    app.stats.count(&req, false);
    Html(page::html("/events"))
}

async fn not_found(State(app): State<App>, req: Request) -> impl IntoResponse {
    app.stats.count(&req, false);
    (StatusCode::NOT_FOUND, "not found\n")
}

async fn publish(State(app): State<App>, req: Request) -> Result<String, (StatusCode, String)> {
    app.stats.count(&req, false);
    let event = req
        .uri()
        .query()
        .and_then(|q| q.strip_prefix("event="))
        .map(str::to_string);
    let bytes = axum::body::to_bytes(req.into_body(), 1 << 20).await;
    let data = bytes.map_err(|e| (StatusCode::BAD_REQUEST, format!("{e}\n")))?;
    let data = String::from_utf8_lossy(&data);
    let mut msg = Message::new(&data);
    msg.event = event.as_deref();
    match app.service.hub.publish(&msg).await {
        Ok(id) => Ok(format!("{id}\n")),
        Err(e) => Err((StatusCode::BAD_REQUEST, format!("{e}\n"))),
    }
}

async fn show_stats(State(app): State<App>, req: Request) -> impl IntoResponse {
    app.stats.count(&req, false);
    let server = app.stats.server.get();
    let connections = app
        .stats
        .connections
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let by_connection: Vec<_> = connections
        .iter()
        .map(|(id, (version, requests, streams))| {
            serde_json::json!({"id": id, "version": version, "requests": requests, "streams": streams})
        })
        .collect();
    let stats = serde_json::json!({
        "accepted": server.map_or(0, ServerHandle::accepted),
        "open": server.map_or(0, ServerHandle::connections),
        "connections": by_connection,
    });
    ([("content-type", "application/json")], format!("{stats}\n"))
}

/// The server's TLS settings from the command line, if any.
fn tls(args: &[String]) -> Result<Option<Arc<sse_tokio::rustls::ServerConfig>>, String> {
    let value = |flag: &str| {
        let at = args.iter().position(|a| a == flag)?;
        args.get(at + 1).cloned()
    };
    if let (Some(cert), Some(key)) = (value("--tls-cert"), value("--tls-key")) {
        let tls = sse_tokio::tls::server_config_from_pem(cert, key);
        return tls.map(Some).map_err(|e| e.to_string());
    }
    if !args.iter().any(|a| a == "--tls-self-signed") {
        return Ok(None);
    }
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let cert = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    sse_tokio::tls::server_config(vec![cert.cert.der().clone()], key)
        .map(Some)
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .map_or("127.0.0.1:0", String::as_str);
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        eprintln!("axum: {addr:?} is not an address like 127.0.0.1:8080");
        return ExitCode::from(2);
    };
    let tls = match tls(&args) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("axum: {e}");
            return ExitCode::from(2);
        }
    };
    let app = App {
        service: Service::new(Endpoint::new("/events"), SharedHub::default()),
        stats: Arc::default(),
    };
    let stats = Arc::clone(&app.stats);
    let router = Router::new()
        .route("/", get(page))
        .route("/events", get(events))
        .route("/publish", post(publish))
        .route("/stats", get(show_stats))
        .fallback(not_found)
        .with_state(app);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("axum: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bound = listener.local_addr().unwrap_or(addr);
    let service = TowerToHyperService::new(router);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = match sse_tokio::http::serve(listener, tls, service) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("axum: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _ = stats.server.set(server.clone());
    println!("listening on {scheme}://{bound}/events");
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown_and_wait().await;
    ExitCode::SUCCESS
}
