//! Deliveries per second for 1,000 subscribers spread over two instances
//! sharing one Redis stream.
//!
//! `cargo bench -p sse-redis --bench fanout` (needs `redis-server`: run
//! `backends/redis/install-redis.sh`).
//!
//! Setup: one throwaway `redis-server` on 127.0.0.1 (AOF on,
//! `appendfsync everysec`, the usual production setting); two [`Mirror`]s,
//! each with its own connections, as two `sse serve` instances would have;
//! 500 subscribers on each. The subscribers are sans-I/O hub subscribers
//! polled in-process (no sockets to clients): each instance has one thread
//! that, whenever its mirror applies entries, drains every subscriber's
//! bytes with `Hub::poll_transmit`. So the numbers are Redis + mirror +
//! hub, without client I/O. A publisher writes `EVENTS` events of 100 bytes
//! with `XADD`, either one at a time or with 16 in flight. Deliveries/s is
//! `EVENTS × 1,000` over the time from the first publish to the last
//! delivery on both instances. Everything shares the machine's cores with
//! redis-server. Prints a markdown table; asserts nothing about time.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant as Clock};

use sse_core::replay::LogLimits;
use sse_core::server::Config as StreamConfig;
use sse_core::Instant;
use sse_redis::{Config, Mirror, MirrorConfig, RedisLog, Retention};

const EVENTS: usize = 2_000;
const PER_INSTANCE: usize = 500;

fn main() {
    let server = common::RedisServer::start(&["--appendfsync", "everysec"]);
    println!(
        "| publishing | events | subscribers | publish (XADD/s) | end-to-end (s) | deliveries/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (round, in_flight) in [1usize, 16].into_iter().enumerate() {
        let key = format!("bench{round}");
        let config = Config {
            retention: Retention::MaxLen(100_000),
            op_timeout: Duration::from_secs(5),
            ..Config::default()
        };
        let mirror_config = MirrorConfig {
            limits: LogLimits {
                max_events: 4096,
                max_bytes: 16 << 20,
            },
            backfill: 0,
        };
        let mut mirrors = Vec::new();
        let mut consumers = Vec::new();
        let ready = Arc::new(std::sync::Barrier::new(3));
        for _ in 0..2 {
            let log = RedisLog::open(server.url(), &key, config.clone()).expect("url");
            let (mirror, task) = Mirror::start(&log, mirror_config);
            std::thread::spawn(move || smol::block_on(task.run()));
            let m = mirror.clone();
            let ready = ready.clone();
            consumers.push(std::thread::spawn(move || {
                smol::block_on(async {
                    m.sync().await.expect("redis");
                    let mut subs: Vec<_> = (0..PER_INSTANCE)
                        .map(|_| {
                            m.hub()
                                .subscribe(Instant::ZERO, None, StreamConfig::default())
                        })
                        .collect();
                    ready.wait();
                    let target = (PER_INSTANCE * EVENTS) as u64;
                    let mut delivered = 0u64;
                    loop {
                        let listener = m.listen();
                        {
                            let mut hub = m.hub();
                            for sub in &mut subs {
                                while let Some(bytes) = hub.poll_transmit(sub, Instant::ZERO) {
                                    std::hint::black_box(bytes);
                                    delivered += 1;
                                }
                            }
                        }
                        if delivered >= target {
                            return Clock::now();
                        }
                        listener.await;
                    }
                })
            }));
            mirrors.push(mirror);
        }
        let publisher = RedisLog::open(server.url(), &key, config).expect("url");
        let data = "x".repeat(100);
        ready.wait();
        let start = Clock::now();
        smol::block_on(async {
            let mut next = 0;
            while next < EVENTS {
                let n = in_flight.min(EVENTS - next);
                // Spawned, so that up to `in_flight` XADDs are pipelined
                // on the shared connection.
                let batch: Vec<_> = (0..n)
                    .map(|_| {
                        let publisher = publisher.clone();
                        let data = data.clone();
                        smol::spawn(async move { publisher.publish(None, &data).await })
                    })
                    .collect();
                for task in batch {
                    task.await.expect("publish");
                }
                next += n;
            }
        });
        let published = start.elapsed();
        let done = consumers
            .into_iter()
            .map(|c| c.join().expect("consumer"))
            .max()
            .unwrap_or(start);
        let total = done.duration_since(start).as_secs_f64();
        let deliveries = (EVENTS * PER_INSTANCE * 2) as f64;
        println!(
            "| {} | {EVENTS} | {} | {:.0} | {total:.3} | {:.0} |",
            if in_flight == 1 {
                "1 at a time".to_string()
            } else {
                format!("{in_flight} in flight")
            },
            PER_INSTANCE * 2,
            EVENTS as f64 / published.as_secs_f64(),
            deliveries / total,
        );
        for m in &mirrors {
            m.stop();
        }
    }
    latency(&server);
}

/// Time from calling `publish` to the entry being in another instance's
/// hub (one `XADD` round trip plus the `XREAD` wake-up), one event at a
/// time.
fn latency(server: &common::RedisServer) {
    const SAMPLES: usize = 500;
    let config = Config {
        retention: Retention::MaxLen(10_000),
        ..Config::default()
    };
    let publisher = RedisLog::open(server.url(), "latency", config.clone()).expect("url");
    let log = RedisLog::open(server.url(), "latency", config).expect("url");
    let (mirror, task) = Mirror::start(&log, MirrorConfig::default());
    std::thread::spawn(move || smol::block_on(task.run()));
    let mut samples: Vec<Duration> = smol::block_on(async {
        mirror.sync().await.expect("redis");
        let mut samples = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let start = Clock::now();
            let id = publisher.publish(None, "ping").await.expect("publish");
            loop {
                let listener = mirror.listen();
                if mirror.status().applied >= Some(id) {
                    break;
                }
                listener.await;
            }
            samples.push(start.elapsed());
            async_io::Timer::after(Duration::from_millis(1)).await;
        }
        samples
    });
    mirror.stop();
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!();
    println!("publish → in the other instance's hub, {SAMPLES} single events:");
    println!(
        "p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}
