//! A plain hyper 1 server (no axum, no `sse_tokio::serve`): its own accept
//! loop and `service_fn`, answering
//!
//! - `/events` with a hub's stream ([`sse_http::respond`]: resume, HEAD,
//!   CORS and 405 as the core's `Endpoint` decides), a tick every second;
//! - `/count` with a stream of its own: any `Stream` of events through an
//!   `EventBody` (here ten numbers, one every 100 ms, then the end), resuming
//!   after the request's last event ID;
//! - anything else with 404.
//!
//! ```text
//! cargo run -p sse-tokio --example tokio-hyper -- [ADDR]   # default 127.0.0.1:0
//! ```
//!
//! Prints `listening on http://ADDR/events` once bound.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use futures_lite::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use sse_core::encode::Message;
use sse_core::endpoint::Endpoint;
use sse_core::server::Config;
use sse_tokio::server::{Event, EventBody, Service, SharedHub};
use sse_tokio::sse_http;
use sse_tokio::Timer;

/// The response body of every route: whichever `sse_http::Body`, boxed.
type AnyBody = UnsyncBoxBody<bytes::Bytes, Infallible>;

async fn route(req: Request<Incoming>, service: Service) -> Response<AnyBody> {
    match req.uri().path() {
        "/count" => {
            // Resume after the last number the client saw.
            let after: u32 = sse_http::last_event_id(&req)
                .and_then(|id| id.parse().ok())
                .unwrap_or(0);
            let numbers = futures_lite::stream::iter(after + 1..=10).then(|n| async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Event::new(format!("number {n}")).id(n.to_string())
            });
            let body = EventBody::new(numbers, Config::default(), Timer::new());
            sse_http::response(body).map(BodyExt::boxed_unsync)
        }
        _ => sse_http::respond(&req, &service, Timer::new())
            .await
            .map(BodyExt::boxed_unsync),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        eprintln!("hyper: {addr:?} is not an address like 127.0.0.1:8080");
        return ExitCode::from(2);
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("hyper: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let hub = SharedHub::default();
    let service = Service::new(Endpoint::new("/events"), hub.clone());
    println!(
        "listening on http://{}/events",
        listener.local_addr().unwrap_or(addr)
    );
    let _ = std::io::stdout().flush();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        for n in 1.. {
            ticks.tick().await;
            let _ = hub
                .publish(&Message::new(&format!("tick {n}")).event("tick"))
                .await;
        }
    });
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let service = service.clone();
        tokio::spawn(async move {
            let answer = service_fn(move |req| {
                let service = service.clone();
                async move { Ok::<_, Infallible>(route(req, service).await) }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            if let Err(e) = builder.serve_connection(TokioIo::new(tcp), answer).await {
                eprintln!("hyper: connection: {e}");
            }
        });
    }
}
