//! An axum 0.8 app around a hub, served over HTTP/1.1 and HTTP/2:
//!
//! - `GET /`: the page `sse serve` shows (an `EventSource` on `/events`);
//! - `GET /events`: the stream, resuming by `Last-Event-ID` or
//!   `?last_event_id=` (`earliest` for the whole retained history);
//! - `POST /publish[?event=TYPE]`: the body is one event's data; answers
//!   its ID;
//! - `GET /stats`: connections accepted and open, streams opened by HTTP
//!   version (to see a page's EventSources share one HTTP/2 connection).
//!
//! ```text
//! cargo run -p sse-tokio --example tokio-axum -- [ADDR] [--tls-self-signed | --tls-cert FILE --tls-key FILE]
//! curl -d hello http://127.0.0.1:8080/publish
//! ```
//!
//! Prints `listening on http(s)://ADDR/events` once bound; Ctrl-C stops it.
//! Over TLS, browsers pick HTTP/2 by ALPN (`--tls-self-signed` makes a
//! certificate for `localhost` and `127.0.0.1` that browsers warn about).

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, Version};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::service::TowerToHyperService;
use sse_core::encode::Message;
use sse_core::endpoint::Endpoint;
use sse_tokio::rustls::pki_types::pem::PemObject;
use sse_tokio::rustls::pki_types::{CertificateDer, PrivateKeyDer};
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
    http1: AtomicUsize,
    http2: AtomicUsize,
}

async fn events(State(app): State<App>, req: Request) -> impl IntoResponse {
    let count = match req.version() {
        Version::HTTP_2 => &app.stats.http2,
        _ => &app.stats.http1,
    };
    count.fetch_add(1, Ordering::Relaxed);
    sse_tokio::sse_http::respond(&req, &app.service, sse_tokio::Timer::new())
}

async fn publish(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
    data: String,
) -> Result<String, (StatusCode, String)> {
    let mut msg = Message::new(&data);
    msg.event = query.get("event").map(String::as_str);
    match app.service.hub.publish(&msg) {
        Ok(id) => Ok(format!("{id}\n")),
        Err(e) => Err((StatusCode::BAD_REQUEST, format!("{e}\n"))),
    }
}

async fn show_stats(State(app): State<App>) -> impl IntoResponse {
    let server = app.stats.server.get();
    let stats = serde_json::json!({
        "accepted": server.map_or(0, ServerHandle::accepted),
        "open": server.map_or(0, ServerHandle::connections),
        "streams": {
            "HTTP/1.1": app.stats.http1.load(Ordering::Relaxed),
            "HTTP/2": app.stats.http2.load(Ordering::Relaxed),
        },
    });
    ([("content-type", "application/json")], format!("{stats}\n"))
}

/// The server's TLS settings from the command line, if any.
fn tls(args: &[String]) -> Result<Option<Arc<sse_tokio::rustls::ServerConfig>>, String> {
    let value = |flag: &str| {
        let at = args.iter().position(|a| a == flag)?;
        args.get(at + 1).cloned()
    };
    let (chain, key) = if args.iter().any(|a| a == "--tls-self-signed") {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let cert = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
        let key = PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
        (vec![cert.cert.der().clone()], key)
    } else if let (Some(cert), Some(key)) = (value("--tls-cert"), value("--tls-key")) {
        let chain = CertificateDer::pem_file_iter(&cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{cert}: {e}"))?;
        let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| format!("{key}: {e}"))?;
        (chain, key)
    } else {
        return Ok(None);
    };
    sse_tokio::tls::server_config(chain, key)
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
        .route("/", get(|| async { Html(page::html("/events")) }))
        .route("/events", get(events))
        .route("/publish", post(publish))
        .route("/stats", get(show_stats))
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
    let (server, scheme) = match tls {
        Some(tls) => (sse_tokio::http::serve_tls(listener, tls, service), "https"),
        None => (sse_tokio::http::serve(listener, service), "http"),
    };
    let server = match server {
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
