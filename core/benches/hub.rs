//! Publish cost and delivery rate of the sans-I/O hub with 1,000 and 10,000
//! subscribers. Prints markdown tables; asserts nothing about time.
//!
//! ```text
//! cargo bench -p sse-sans-io --bench hub
//! cargo bench -p sse-sans-io --bench hub -- --rounds 15
//! ```
//!
//! The question is whether a publish costs more with more subscribers. A
//! publish encodes the event once and appends it to the replay log; it does
//! not touch the subscribers. Each publish is timed alone (two
//! `Instant::now()` calls; their own cost is printed), in three settings:
//!
//! - **idle**: publishes back to back while the subscribers exist and are
//!   never drained: the publish's own work, with warm caches;
//! - **after draining**: every subscriber drained after each publish, then
//!   the next publish timed (what the first version of this bench did):
//!   draining walks all subscribers, so the publish runs on cold caches;
//!   and the publish right after that one, timed too: work that grew with
//!   the subscribers would slow it down as well, cold caches would not;
//! - **after spinning**: no subscriber drained, the thread spins on the
//!   clock for as long as a drain takes (touching no memory), then the
//!   publish is timed: what time alone does (timer interrupts, other
//!   processes taking the core in between) on this machine;
//! - **after touching other memory**: no subscriber drained, but as many
//!   bytes of an unrelated buffer written as draining touches: if this
//!   costs what "after draining" does, the difference to "idle" is the
//!   cache, not work that grows with the subscriber count.
//!
//! The rounds alternate between the subscriber counts and the settings, so
//! noise from other work on the machine hits all of them; each cell is the
//! median over rounds of each round's median, with the range of the
//! round medians. Deliveries/s is draining: `poll_transmit` handing every
//! subscriber the shared bytes of each event, on one core.

use std::hint::black_box;
use std::time::{Duration, Instant as Clock};

use sse_core::encode::Message;
use sse_core::hub::{Hub, Subscriber};
use sse_core::replay::LogLimits;
use sse_core::server::Config;
use sse_core::Instant;

/// Events kept by the log: the log is full before measuring, so every
/// publish also evicts one event (the steady state of a long-running hub).
const LOG_EVENTS: usize = 1024;
const COUNTS: [usize; 2] = [1_000, 10_000];

fn main() {
    let rounds = std::env::args()
        .skip_while(|a| a != "--rounds")
        .nth(1)
        .map_or(9, |n| n.parse().expect("--rounds N"));
    let data = "x".repeat(100);
    let msg = Message::new(&data);
    let timer = timer_overhead();
    // [count][setting] -> one median per round; deliveries/s per round.
    let mut publish = vec![[(); 5].map(|()| Vec::new()); COUNTS.len()];
    let mut deliveries = vec![Vec::new(); COUNTS.len()];
    for _ in 0..rounds {
        for (i, &subs) in COUNTS.iter().enumerate() {
            let mut hub = full_hub(&msg);
            let idle_subscribers = subscribe(&mut hub, subs);
            publish[i][0].push(idle(&mut hub, &msg, 2_000));
            // Fresh subscribers at the tail; the idle ones leave (until
            // then the hub held every event for them).
            for mut sub in idle_subscribers {
                hub.unsubscribe(&mut sub);
            }
            let mut subscribers = subscribe(&mut hub, subs);
            let (first, second, drain) = after_draining(&mut hub, &mut subscribers, &msg, 200);
            publish[i][1].push(first);
            publish[i][2].push(second);
            deliveries[i].push((2 * subs) as f64 / drain.as_secs_f64());
            publish[i][3].push(after_spinning(&mut hub, &msg, drain, 200));
            publish[i][4].push(after_touching(&mut hub, &msg, subs, 200));
        }
    }
    println!(
        "Hub publish cost: {rounds} rounds; `Instant::now()` pair costs {timer} ns (included \
         below); each publish also evicts one event from a full {LOG_EVENTS}-event log.\n"
    );
    println!(
        "| subscribers | publish, subscribers idle | right after draining all | \
         the publish after that one | after spinning as long as a drain | \
         after writing as much other memory | deliveries/s (draining) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (i, subs) in COUNTS.iter().enumerate() {
        let cell = |v: &[f64]| {
            let (m, lo, hi) = summary(v);
            format!("{m:.0} ns ({lo:.0}–{hi:.0})")
        };
        let (m, lo, hi) = summary(&deliveries[i]);
        println!(
            "| {subs} | {} | {} | {} | {} | {} | {:.1} M ({:.1}–{:.1}) |",
            cell(&publish[i][0]),
            cell(&publish[i][1]),
            cell(&publish[i][2]),
            cell(&publish[i][3]),
            cell(&publish[i][4]),
            m / 1e6,
            lo / 1e6,
            hi / 1e6
        );
    }
    println!(
        "\n`size_of::<Subscriber>()` = {} B; each subscriber also owns its response head \
         on the heap.",
        std::mem::size_of::<Subscriber>()
    );
}

/// A hub whose log is full.
fn full_hub(msg: &Message<'_>) -> Hub {
    let mut hub = Hub::new(LogLimits {
        max_events: LOG_EVENTS,
        max_bytes: 4 << 20,
    });
    for _ in 0..LOG_EVENTS + 16 {
        hub.publish(msg).unwrap();
    }
    hub
}

/// `n` live subscribers at the log's tail.
fn subscribe(hub: &mut Hub, n: usize) -> Vec<Subscriber> {
    (0..n)
        .map(|_| hub.subscribe(Instant::ZERO, None, Config::default()))
        .collect()
}

/// Median ns of `n` publishes timed one by one, back to back.
fn idle(hub: &mut Hub, msg: &Message<'_>, n: usize) -> f64 {
    let mut ns: Vec<u64> = (0..n).map(|_| time_publish(hub, msg)).collect();
    median(&mut ns)
}

/// Median ns of `n` publishes each timed right after every subscriber was
/// drained, median ns of the publish right after each of those, and the
/// median time one drain (two events to every subscriber) took.
fn after_draining(
    hub: &mut Hub,
    subscribers: &mut [Subscriber],
    msg: &Message<'_>,
    n: usize,
) -> (f64, f64, Duration) {
    // Subscribers start at the tail, so each gets exactly what follows.
    let (mut first, mut second) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut drains = Vec::with_capacity(n);
    let (mut delivered, mut bytes) = (0u64, 0usize);
    for _ in 0..n {
        first.push(time_publish(hub, msg));
        second.push(time_publish(hub, msg));
        let start = Clock::now();
        for sub in subscribers.iter_mut() {
            while let Some(b) = hub.poll_transmit(sub, Instant::ZERO) {
                bytes += black_box(b).len();
                delivered += 1;
            }
        }
        drains.push(start.elapsed().as_nanos() as u64);
    }
    black_box(bytes);
    assert_eq!(
        delivered,
        (2 * n * subscribers.len()) as u64,
        "a subscriber lagged"
    );
    let drain = Duration::from_nanos(median(&mut drains) as u64);
    (median(&mut first), median(&mut second), drain)
}

/// Median ns of `n` publishes each timed right after spinning on the clock
/// for `pause` (about as long as a drain), touching no memory.
fn after_spinning(hub: &mut Hub, msg: &Message<'_>, pause: Duration, n: usize) -> f64 {
    let mut ns: Vec<u64> = (0..n)
        .map(|_| {
            let start = Clock::now();
            while start.elapsed() < pause {
                std::hint::spin_loop();
            }
            time_publish(hub, msg)
        })
        .collect();
    median(&mut ns)
}

/// Median ns of `n` publishes each timed right after writing one word in
/// every cache line of a buffer the size of the subscribers' inline state
/// (what draining them writes).
fn after_touching(hub: &mut Hub, msg: &Message<'_>, subs: usize, n: usize) -> f64 {
    let mut other = vec![0u64; subs * std::mem::size_of::<Subscriber>() / 8];
    let mut ns = Vec::with_capacity(n);
    for round in 0..n as u64 {
        for line in other.chunks_mut(8) {
            line[0] = line[0].wrapping_add(round);
        }
        black_box(&mut other);
        ns.push(time_publish(hub, msg));
    }
    median(&mut ns)
}

fn time_publish(hub: &mut Hub, msg: &Message<'_>) -> u64 {
    let start = Clock::now();
    black_box(hub.publish(black_box(msg)).unwrap());
    start.elapsed().as_nanos() as u64
}

/// Median ns of an empty timed region.
fn timer_overhead() -> u64 {
    let mut ns: Vec<u64> = (0..10_000)
        .map(|_| {
            let start = Clock::now();
            black_box(());
            start.elapsed().as_nanos() as u64
        })
        .collect();
    median(&mut ns) as u64
}

fn median(v: &mut [u64]) -> f64 {
    v.sort_unstable();
    v[v.len() / 2] as f64
}

/// Median, minimum and maximum of the per-round values.
fn summary(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (s[s.len() / 2], s[0], s[s.len() - 1])
}
