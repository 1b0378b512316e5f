//! Broadcasts a clock tick every second at `/events`, over HTTP/1.1 and
//! HTTP/2 (h2c) on one port.
//!
//! ```text
//! cargo run -p sse-tokio --example tokio-clock -- [ADDR]   # default 127.0.0.1:0
//! ```
//!
//! Prints `listening on http://ADDR/events` once bound.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sse_core::encode::Message;
use sse_core::endpoint::Endpoint;
use sse_core::server::Config;
use sse_tokio::server::{Service, SharedHub};

#[tokio::main]
async fn main() -> ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        eprintln!("clock: {addr:?} is not an address like 127.0.0.1:8080");
        return ExitCode::from(2);
    };
    let hub = SharedHub::default();
    let config = Config {
        retry: Some(1000),
        ..Config::default()
    };
    let service = Service::new(Endpoint::new("/events"), hub.clone()).config(config);
    let server = match sse_tokio::serve(addr, service).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("clock: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(bound) = server.local_addr() {
        println!("listening on http://{bound}/events");
        let _ = std::io::stdout().flush();
    }
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let data = format!("{secs}");
        if let Err(e) = hub.publish(&Message::new(&data).event("tick")).await {
            eprintln!("clock: {e}");
        }
    }
}
