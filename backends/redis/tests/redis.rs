//! End-to-end tests against a real `redis-server` on 127.0.0.1 (started and
//! killed by each test; see `common::RedisServer`). Every test is bounded in
//! time by `common::run`.

mod common;

use std::time::Duration;

use async_io::Timer;
use common::{fast, run, Reader, RedisServer};
use futures_lite::StreamExt;
use sse_core::replay::LogLimits;
use sse_core::server::Config as StreamConfig;
use sse_core::Instant;
use sse_redis::{
    Error, Mirror, MirrorConfig, MirrorState, Position, RedisLog, Retention, Start, StreamId,
};

fn strictly_increasing(ids: &[StreamId]) -> bool {
    ids.windows(2).all(|w| w[0] < w[1])
}

#[test]
fn publish_and_tail_keep_order() {
    let server = RedisServer::start(&[]);
    run(30, async {
        let log = RedisLog::open(server.url(), "order", fast(Retention::Unbounded)).unwrap();
        // A live tail reads only what comes after its first connect.
        log.publish(None, "before").await.unwrap();
        let mut live = log.tail(Start::Live);
        let mut none = Vec::new();
        live.read_batch(&mut none).await.unwrap();
        assert!(none.is_empty());

        let mut ids = Vec::new();
        for i in 0..100 {
            let event = (i % 3 == 0).then_some("tick");
            ids.push(
                log.publish(event, &format!("{i}\nsecond line"))
                    .await
                    .unwrap(),
            );
        }
        assert!(strictly_increasing(&ids));

        let mut all = log.tail(Start::Beginning);
        assert_eq!(all.next().await.unwrap().data, "before");
        for tail in [&mut all, &mut live] {
            for (i, id) in ids.iter().enumerate() {
                let entry = tail.next().await.unwrap();
                assert_eq!(entry.id, *id);
                assert_eq!(entry.event.as_deref(), (i % 3 == 0).then_some("tick"));
                assert_eq!(entry.data, format!("{i}\nsecond line"));
            }
            assert_eq!(tail.position(), ids[99]);
        }

        let mut middle = log.tail(Start::After(ids[49]));
        assert_eq!(middle.next().await.unwrap().id, ids[50]);

        // Invalid SSE is refused before anything is written.
        let length = log.info().await.unwrap().unwrap().length;
        let err = log.publish(Some("two\nlines"), "x").await.unwrap_err();
        assert!(matches!(err, Error::Encode(_)), "{err}");
        assert!(!err.is_outage());
        assert_eq!(log.info().await.unwrap().unwrap().length, length);

        // An empty event type is stored as none.
        let id = log.publish(Some(""), "plain").await.unwrap();
        let entry = all.next().await.unwrap();
        assert_eq!((entry.id, entry.event), (id, None));

        // A missing stream: no info, unknown ids, empty reads.
        let other = RedisLog::open(server.url(), "missing", fast(Retention::Unbounded)).unwrap();
        assert_eq!(other.info().await.unwrap(), None);
        assert_eq!(
            other.resume_from(&id.to_string()).await.unwrap(),
            Position::Unknown
        );
        assert_eq!(other.last_id().await.unwrap(), None);
    });
}

#[test]
fn failover_to_a_fresh_instance_delivers_each_event_once_in_order() {
    let server = RedisServer::start(&[]);
    run(60, async {
        let url = server.url();
        let config = fast(Retention::MaxLen(10_000));
        let publisher = RedisLog::open(url.as_str(), "feed", config.clone()).unwrap();

        // Instance A.
        let log_a = RedisLog::open(url.as_str(), "feed", config.clone()).unwrap();
        let (a, task_a) = Mirror::start(&log_a, MirrorConfig::default());
        let task_a = smol::spawn(task_a.run());
        let sub = a
            .subscribe(Instant::ZERO, None, StreamConfig::default())
            .await
            .unwrap();
        let mut reader = Reader::new(sub);

        let publishing = smol::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..300 {
                ids.push(publisher.publish(Some("n"), &i.to_string()).await.unwrap());
                Timer::after(Duration::from_millis(2)).await;
            }
            ids
        });

        reader.until(&a, 100).await;
        // A dies: its mirror task ends and all its state is dropped.
        a.stop();
        task_a.await;
        drop((a, log_a));
        let last = reader.last_id().unwrap().to_string();
        let seen_on_a = reader.events.len();

        // Instance B starts now (backfilling from Redis); the client
        // reconnects to it with its last ID.
        let log_b = RedisLog::open(url.as_str(), "feed", config).unwrap();
        let (b, task_b) = Mirror::start(&log_b, MirrorConfig::default());
        let _task_b = smol::spawn(task_b.run());
        let sub = b
            .subscribe(Instant::ZERO, Some(&last), StreamConfig::default())
            .await
            .unwrap();
        assert!(sub
            .response_head()
            .headers
            .contains(&("Last-Event-ID", last.clone())));
        reader.sub = sub;

        let ids = publishing.await;
        reader.until(&b, 300).await;
        reader.drain(&b);
        assert!(seen_on_a < 300, "the failover happened mid-stream");
        let got: Vec<_> = reader.events.iter().map(|e| e.0.clone()).collect();
        let want: Vec<_> = ids.iter().map(|id| id.to_string()).collect();
        assert_eq!(got, want, "every event exactly once, in order");
        for (i, (_, event, data)) in reader.events.iter().enumerate() {
            assert_eq!(
                (event.as_str(), data.as_str()),
                ("n", i.to_string().as_str())
            );
        }
        assert_eq!(b.status().state, MirrorState::Live);
    });
}

#[test]
fn a_client_hopping_between_live_instances_misses_and_repeats_nothing() {
    let server = RedisServer::start(&[]);
    run(60, async {
        let url = server.url();
        let config = fast(Retention::MaxLen(10_000));
        let publisher = RedisLog::open(url.as_str(), "hop", config.clone()).unwrap();
        let mut mirrors = Vec::new();
        for _ in 0..2 {
            let log = RedisLog::open(url.as_str(), "hop", config.clone()).unwrap();
            let (m, task) = Mirror::start(&log, MirrorConfig::default());
            smol::spawn(task.run()).detach();
            mirrors.push(m);
        }
        let publishing = smol::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..240 {
                ids.push(publisher.publish(None, &i.to_string()).await.unwrap());
                if i % 4 == 0 {
                    Timer::after(Duration::from_millis(1)).await;
                }
            }
            ids
        });
        let sub = mirrors[0]
            .subscribe(Instant::ZERO, Some("earliest"), StreamConfig::default())
            .await
            .unwrap();
        let mut reader = Reader::new(sub);
        let mut on = 0;
        let mut hops = 0;
        while reader.events.len() < 240 {
            let target = reader.events.len() + 30;
            reader.until(&mirrors[on], target.min(240)).await;
            on = 1 - on;
            hops += 1;
            let last = reader.last_id().unwrap().to_string();
            reader.sub = mirrors[on]
                .subscribe(Instant::ZERO, Some(&last), StreamConfig::default())
                .await
                .unwrap();
        }
        let ids = publishing.await;
        reader.drain(&mirrors[on]);
        assert!(hops >= 8);
        let got: Vec<_> = reader.events.iter().map(|e| e.0.clone()).collect();
        let want: Vec<_> = ids.iter().map(|id| id.to_string()).collect();
        assert_eq!(got, want);
        for m in &mirrors {
            m.stop();
        }
    });
}

#[test]
fn redis_restart_surfaces_an_error_then_resumes_without_loss() {
    let mut server = RedisServer::start(&[]);
    let url = server.url();
    let config = fast(Retention::Unbounded);
    let log = RedisLog::open(url.as_str(), "restart", config.clone()).unwrap();
    let (mirror, task) = Mirror::start(&log, MirrorConfig::default());
    let mut tail = log.tail(Start::Beginning);

    // Before the outage: 20 events through a tail and a mirror subscriber.
    let (ids1, mut reader) = run(20, async {
        smol::spawn(task.run()).detach();
        let sub = mirror
            .subscribe(Instant::ZERO, None, StreamConfig::default())
            .await
            .unwrap();
        let mut reader = Reader::new(sub);
        let mut ids = Vec::new();
        for i in 0..20 {
            ids.push(log.publish(None, &format!("a{i}")).await.unwrap());
        }
        for id in &ids {
            assert_eq!(tail.next().await.unwrap().id, *id);
        }
        reader.until(&mirror, 20).await;
        (ids, reader)
    });

    server.kill();
    run(20, async {
        // The tail says so once, clearly.
        let err = tail.next().await.unwrap_err();
        assert!(err.is_outage(), "{err}");
        assert!(err.to_string().contains("Redis unavailable"), "{err}");
        // Publishing fails too (and is not retried behind the caller's back).
        assert!(log.publish(None, "never").await.unwrap_err().is_outage());
        // The mirror goes down and counts the outage; new subscribers are
        // refused with an outage error (a server answers 503, the client
        // retries with its last ID).
        loop {
            let listener = mirror.listen();
            if mirror.status().state == MirrorState::Down {
                break;
            }
            listener.await;
        }
        assert_eq!(mirror.status().outages, 1);
        assert!(mirror.status().last_error.is_some());
        let last = ids1[19].to_string();
        let err = mirror
            .subscribe(Instant::ZERO, Some(&last), StreamConfig::default())
            .await
            .unwrap_err();
        assert!(err.is_outage(), "{err}");
    });

    // Down for a while: the tail keeps retrying in the background of its
    // next call; the mirror with backoff.
    std::thread::sleep(Duration::from_millis(300));
    server.restart();

    run(30, async {
        let mut ids2 = Vec::new();
        for i in 0..20 {
            let id = loop {
                match log.publish(None, &format!("b{i}")).await {
                    Ok(id) => break id,
                    Err(e) if e.is_outage() => {
                        Timer::after(Duration::from_millis(50)).await;
                    }
                    Err(e) => panic!("{e}"),
                }
            };
            ids2.push(id);
        }
        // The AOF kept the first 20: the stream continues after them.
        assert!(ids2[0] > ids1[19]);
        assert_eq!(log.info().await.unwrap().unwrap().length, 40);
        // The tail resumes exactly after the last entry it read.
        for id in &ids2 {
            assert_eq!(tail.next().await.unwrap().id, *id);
        }
        // The subscriber that stayed on the mirror lost nothing either.
        reader.until(&mirror, 40).await;
        let got: Vec<_> = reader.events.iter().map(|e| e.0.clone()).collect();
        let want: Vec<_> = ids1.iter().chain(&ids2).map(|id| id.to_string()).collect();
        assert_eq!(got, want);
        let status = mirror.status();
        assert_eq!(
            (status.state, status.outages, status.gaps),
            (MirrorState::Live, 1, 0)
        );
        // And a client that reconnects with an ID from before the outage
        // resumes after it.
        let sub = mirror
            .subscribe(
                Instant::ZERO,
                Some(&ids1[9].to_string()),
                StreamConfig::default(),
            )
            .await
            .unwrap();
        let mut late = Reader::new(sub);
        late.drain(&mirror);
        assert_eq!(late.events.len(), 30);
        assert_eq!(late.events[0].2, "a10");
        mirror.stop();
    });
}

#[test]
fn retention_trims_and_old_ids_get_the_documented_gap() {
    // Small stream nodes so that approximate trimming (`MAXLEN ~`) acts on
    // a small stream.
    let server = RedisServer::start(&["--stream-node-max-entries", "4"]);
    run(30, async {
        let log = RedisLog::open(server.url(), "trim", fast(Retention::MaxLen(10))).unwrap();
        let mut ids = Vec::new();
        for i in 0..60 {
            ids.push(log.publish(None, &i.to_string()).await.unwrap());
        }
        let info = log.info().await.unwrap().unwrap();
        assert!(
            (10..20).contains(&info.length),
            "kept {} entries",
            info.length
        );
        let oldest = info.first.unwrap();
        let k = ids.iter().position(|id| *id == oldest).unwrap();
        assert_eq!(ids.len() - k, info.length as usize);

        // resume_from: trimmed → Gap; retained → From; others → Unknown.
        // (The last trimmed ID is From only when Redis can tell it is the
        // oldest retained one's predecessor: same millisecond.)
        for id in [ids[0], ids[k - 2]] {
            assert_eq!(
                log.resume_from(&id.to_string()).await.unwrap(),
                Position::Gap {
                    requested: id,
                    oldest: Some(oldest)
                }
            );
        }
        let last_trimmed = log.resume_from(&ids[k - 1].to_string()).await.unwrap();
        if ids[k - 1].ms == oldest.ms {
            assert_eq!(last_trimmed, Position::From(ids[k - 1]));
        } else {
            assert!(matches!(last_trimmed, Position::Gap { .. }));
        }
        for id in [ids[k], ids[59]] {
            assert_eq!(
                log.resume_from(&id.to_string()).await.unwrap(),
                Position::From(id)
            );
        }
        let future = StreamId::new(ids[59].ms + 1_000_000, 0);
        for id in ["nonsense", "", &future.to_string()] {
            assert_eq!(log.resume_from(id).await.unwrap(), Position::Unknown);
        }
        assert_eq!(
            log.resume_from("earliest").await.unwrap(),
            Position::From(StreamId::ZERO)
        );

        // A tail after a trimmed ID reports the loss, then reads what is
        // retained.
        let mut tail = log.tail(Start::After(ids[0]));
        match tail.next().await {
            Err(Error::Trimmed { after, oldest: o }) => {
                assert_eq!((after, o), (ids[0], Some(oldest)))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(tail.next().await.unwrap().id, ids[k]);

        // A mirror keeping 5 events locally.
        let limits = LogLimits {
            max_events: 5,
            max_bytes: 1 << 20,
        };
        let (mirror, task) = Mirror::start(
            &log,
            MirrorConfig {
                limits,
                backfill: 5,
            },
        );
        smol::spawn(task.run()).detach();
        mirror.sync().await.unwrap();
        assert_eq!(mirror.hub().log().floor(), Some(ids[54]));

        // From the floor: nothing lost, no notice.
        let sub = mirror
            .subscribe(
                Instant::ZERO,
                Some(&ids[54].to_string()),
                StreamConfig::default(),
            )
            .await
            .unwrap();
        let mut r = Reader::new(sub);
        r.drain(&mirror);
        let data: Vec<_> = r.events.iter().map(|e| e.2.as_str()).collect();
        assert_eq!(data, ["55", "56", "57", "58", "59"]);

        // Older than the local window: a gap notice, then all retained.
        let sub = mirror
            .subscribe(
                Instant::ZERO,
                Some(&ids[0].to_string()),
                StreamConfig::default(),
            )
            .await
            .unwrap();
        let mut r = Reader::new(sub);
        r.drain(&mirror);
        assert_eq!(r.events.len(), 6);
        assert_eq!(r.events[0].1, "sse-resync");
        assert!(
            r.events[0].2.contains("\"reason\":\"gap\""),
            "{}",
            r.events[0].2
        );
        assert_eq!(r.events[1].2, "55");

        // Unknown (malformed or future): default policy is live only, with
        // a notice.
        for id in ["bogus".to_string(), future.to_string()] {
            let sub = mirror
                .subscribe(Instant::ZERO, Some(&id), StreamConfig::default())
                .await
                .unwrap();
            let mut r = Reader::new(sub);
            r.drain(&mirror);
            assert_eq!(r.events.len(), 1);
            assert!(r.events[0].2.contains("\"reason\":\"unknown\""));
        }
        mirror.stop();
    });
}

#[test]
fn age_retention_uses_minid() {
    let server = RedisServer::start(&["--stream-node-max-entries", "2"]);
    run(30, async {
        let log = RedisLog::open(
            server.url(),
            "aged",
            fast(Retention::MaxAge(Duration::from_millis(200))),
        )
        .unwrap();
        for i in 0..10 {
            log.publish(None, &i.to_string()).await.unwrap();
        }
        Timer::after(Duration::from_millis(400)).await;
        let last = log.publish(None, "fresh").await.unwrap();
        let info = log.info().await.unwrap().unwrap();
        assert!(
            info.length < 11,
            "old entries trimmed, kept {}",
            info.length
        );
        assert_eq!(info.last, Some(last));
    });
}

#[test]
fn works_under_async_std() {
    let server = RedisServer::start(&[]);
    let url = server.url();
    let result = async_std::task::block_on(async_std::future::timeout(
        Duration::from_secs(30),
        async move {
            let log = RedisLog::open(url.as_str(), "astd", fast(Retention::Unbounded)).unwrap();
            let (mirror, task) = Mirror::start(&log, MirrorConfig::default());
            let handle = async_std::task::spawn(task.run());
            let sub = mirror
                .subscribe(Instant::ZERO, None, StreamConfig::default())
                .await
                .unwrap();
            let mut reader = Reader::new(sub);
            let mut ids = Vec::new();
            for i in 0..10 {
                ids.push(log.publish(None, &i.to_string()).await.unwrap().to_string());
            }
            reader.until(&mirror, 10).await;
            let got: Vec<_> = reader.events.iter().map(|e| e.0.clone()).collect();
            assert_eq!(got, ids);
            let stream = log.tail(Start::Beginning).into_stream();
            let entries: Vec<_> = stream.take(10).collect().await;
            assert!(entries.iter().all(|e| e.is_ok()));
            mirror.stop();
            handle.await;
        },
    ));
    result.expect("test timed out");
}

#[test]
fn unreachable_redis_is_a_clear_outage_error() {
    // A port nothing listens on.
    let (_refusing, addr) = refusing_port();
    let port = addr.port();
    run(20, async move {
        let url = format!("redis://127.0.0.1:{port}/");
        let log = RedisLog::open(url.as_str(), "x", fast(Retention::Unbounded)).unwrap();
        let err = log.publish(None, "x").await.unwrap_err();
        assert!(err.is_outage(), "{err}");
        assert!(
            err.to_string().contains("Redis unavailable during connect"),
            "{err}"
        );
        let mut tail = log.tail(Start::Live);
        assert!(tail.next().await.unwrap_err().is_outage());
        let (mirror, task) = Mirror::start(&log, MirrorConfig::default());
        let task = smol::spawn(task.run());
        loop {
            let listener = mirror.listen();
            if mirror.status().state == MirrorState::Down {
                break;
            }
            listener.await;
        }
        mirror.stop();
        task.await;
        assert!(RedisLog::open("nope://", "x", fast(Retention::Unbounded)).is_err());
    });
}

#[test]
fn a_key_that_is_not_a_stream_is_a_command_error_not_an_outage() {
    let server = RedisServer::start(&[]);
    server.command(&["SET", "plain", "value"]);
    run(20, async {
        let log = RedisLog::open(server.url(), "plain", fast(Retention::Unbounded)).unwrap();
        let err = log.publish(None, "x").await.unwrap_err();
        assert!(matches!(err, Error::Command { op: "XADD", .. }), "{err}");
        assert!(!err.is_outage());
        assert!(err.to_string().contains("WRONGTYPE"), "{err}");
        let (mirror, task) = Mirror::start(&log, MirrorConfig::default());
        let task = smol::spawn(task.run());
        loop {
            let listener = mirror.listen();
            if mirror.status().last_error.is_some() {
                break;
            }
            listener.await;
        }
        let status = mirror.status();
        assert!(status.last_error.unwrap().contains("WRONGTYPE"));
        assert_eq!((status.state, status.outages), (MirrorState::Starting, 0));
        // Once the key is a stream, the mirror starts (backfill included).
        server.command(&["DEL", "plain"]);
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(log.publish(None, &i.to_string()).await.unwrap());
        }
        mirror.sync().await.unwrap();
        assert_eq!(mirror.status().state, MirrorState::Live);
        assert_eq!(mirror.hub().log().len(), 3);
        assert_eq!(mirror.hub().log().newest(), Some(ids[2]));
        mirror.stop();
        task.await;
    });
}

/// A port on 127.0.0.1 that refuses connections for as long as the socket
/// is kept: bound, never listening (a port bound and freed at once could be
/// taken meanwhile by a listener of a test running in parallel).
fn refusing_port() -> (socket2::Socket, std::net::SocketAddr) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    (socket, addr)
}
