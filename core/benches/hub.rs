//! Publish cost and delivery rate of the hub for 1,000 and 10,000
//! subscribers. Prints a markdown table; asserts nothing about time.
//!
//! `cargo bench -p sse-core --bench hub`

use std::hint::black_box;
use std::time::Instant as Clock;

use sse_core::encode::Message;
use sse_core::hub::Hub;
use sse_core::replay::LogLimits;
use sse_core::server::Config;
use sse_core::Instant;

fn main() {
    const EVENTS: u64 = 200;
    let data = "x".repeat(100);
    println!("| subscribers | publish (ns/event) | deliveries/s | size_of::<Subscriber>() |");
    println!("|---:|---:|---:|---:|");
    for subs in [1_000usize, 10_000] {
        let mut hub = Hub::new(LogLimits {
            max_events: 1024,
            max_bytes: 4 << 20,
        });
        let mut subscribers: Vec<_> = (0..subs)
            .map(|_| hub.subscribe(Instant::ZERO, None, Config::default()))
            .collect();
        let mut publish_ns = 0u128;
        let mut deliver_ns = 0u128;
        let mut delivered = 0u64;
        let mut bytes = 0usize;
        for _ in 0..EVENTS {
            let start = Clock::now();
            black_box(hub.publish(&Message::new(&data)).unwrap());
            publish_ns += start.elapsed().as_nanos();
            let start = Clock::now();
            for sub in &mut subscribers {
                while let Some(b) = hub.poll_transmit(sub, Instant::ZERO) {
                    bytes += black_box(b).len();
                    delivered += 1;
                }
            }
            deliver_ns += start.elapsed().as_nanos();
        }
        black_box(bytes);
        let per_publish = publish_ns / u128::from(EVENTS);
        let rate = delivered as f64 / (deliver_ns as f64 / 1e9);
        println!(
            "| {subs} | {per_publish} | {rate:.0} | {} |",
            std::mem::size_of::<sse_core::hub::Subscriber>()
        );
    }
}
