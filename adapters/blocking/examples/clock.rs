//! Broadcasts a clock tick every second:
//! `cargo run -p sse-blocking --example clock -- [ADDR]` (default 127.0.0.1:0).

use std::net::TcpListener;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sse_blocking::{serve, Hub, Service};
use sse_core::encode::Message;
use sse_core::replay::LogLimits;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let hub = Hub::new(LogLimits::default());
    let server = serve(
        TcpListener::bind(&addr)?,
        Service::new(hub.clone(), "/events"),
        None,
    )?;
    println!("listening on http://{}/events", server.local_addr());
    loop {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let data = secs.to_string();
        let tick = Message {
            event: Some("tick"),
            ..Message::new(&data)
        };
        if let Err(e) = hub.publish(&tick) {
            eprintln!("tick not published: {e}");
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
