//! HTTP/2 with prior knowledge (h2c) on the tokio listener: many streams on
//! one connection, resume by `Last-Event-ID` as over HTTP/1.1, and streams
//! that end when their client goes away.

mod common;

use common::*;
use sse_core::encode::Message;
use sse_core::replay::LogLimits;
use sse_core::server::Config;
use sse_tokio::server::SharedHub;

const STREAMS: usize = 200;
const EVENTS: usize = 1_000;

/// 200 concurrent streams from one HTTP/2 client connection each receive
/// 1,000 events, all of them, in order; the server saw one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_200_streams_on_one_connection_each_get_1000_events_in_order() {
    within(60, async {
        let hub = SharedHub::new(LogLimits {
            max_events: EVENTS,
            max_bytes: 1 << 20,
        });
        let streams = Streams::default();
        let config = Config {
            keep_alive: None,
            ..Config::default()
        };
        let (server, addr) = start(service(&hub, &streams).config(config)).await;
        let conn = h2c(addr).await;
        let mut readers = Vec::new();
        for i in 0..STREAMS {
            let conn = conn.clone();
            readers.push(tokio::spawn(async move {
                let (status, mut body) = h2_get(&conn, "/events", &[]).await;
                assert_eq!(status, 200, "stream {i}");
                let mut text = String::new();
                let mut next = 1;
                while next <= EVENTS {
                    let data = match body.data().await {
                        Some(Ok(data)) => data,
                        other => panic!("stream {i} ended before event {next}: {other:?}"),
                    };
                    let _ = body.flow_control().release_capacity(data.len());
                    text.push_str(std::str::from_utf8(&data).unwrap());
                    // Whole events only; the rest waits for more data.
                    while let Some(end) = text.find("\n\n") {
                        let event: String = text.drain(..end + 2).collect();
                        let want = format!("id: {next}\ndata: event {next}\n\n");
                        assert_eq!(event, want, "stream {i}");
                        next += 1;
                    }
                }
                next - 1
            }));
        }
        streams.opened_at_least(STREAMS).await;
        // One burst, published before any stream task runs again: each
        // finds all of it and sends it in frames of 16 KiB (a publisher
        // racing 200 readers would make the frame sizes, and how many small
        // frames the client holds unread, depend on scheduling).
        hub.with_hub(|hub| {
            for n in 1..=EVENTS {
                hub.publish(&Message::new(&format!("event {n}"))).unwrap();
            }
        });
        for reader in readers {
            assert_eq!(reader.await.unwrap(), EVENTS);
        }
        assert_eq!(
            server.accepted(),
            1,
            "one HTTP/2 connection for all streams"
        );
        assert_eq!(server.connections(), 1);
        drop(conn);
        streams.all_closed().await;
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A reconnecting client gets what it missed after its `Last-Event-ID`
/// (or `?last_event_id=`), the same over HTTP/2 and HTTP/1.1.
#[tokio::test]
async fn resume_by_last_event_id_over_http2_as_over_http1() {
    within(20, async {
        let hub = SharedHub::default();
        let streams = Streams::default();
        let (server, addr) = start(service(&hub, &streams)).await;
        for n in 1..=5 {
            hub.publish(&Message::new(&format!("m{n}"))).await.unwrap();
        }
        let tail = "id: 4\ndata: m4\n\nid: 5\ndata: m5\n\n";

        let conn = h2c(addr).await;
        let (status, mut body) = h2_get(&conn, "/events", &[("last-event-id", "3")]).await;
        assert_eq!(status, 200);
        assert_eq!(h2_read_until(&mut body, "data: m5\n\n").await, tail);
        let (_, mut by_query) = h2_get(&conn, "/events?last_event_id=3", &[]).await;
        assert_eq!(h2_read_until(&mut by_query, "data: m5\n\n").await, tail);

        let mut h1 = send(
            addr,
            "GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 3\r\n\r\n",
        )
        .await;
        let text = read_until(&mut h1, "data: m5\n\n").await;
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Last-Event-ID: 3\r\n"), "{text}");
        assert!(text.ends_with(&format!("\r\n\r\n{tail}")), "{text}");

        // Then all three stay live.
        hub.publish(&Message::new("m6")).await.unwrap();
        let live = "id: 6\ndata: m6\n\n";
        assert_eq!(h2_read_until(&mut body, "m6").await, live);
        assert_eq!(h2_read_until(&mut by_query, "m6").await, live);
        assert!(read_until(&mut h1, "m6").await.contains(live));
        assert_eq!(server.accepted(), 2);
        server.shutdown_and_wait().await;
    })
    .await;
}

/// A stream whose client goes away ends (its subscription is dropped), on
/// HTTP/2 (the stream is reset, or the whole connection closes) and on
/// HTTP/1.1 (the connection closes).
#[tokio::test]
async fn a_stream_ends_when_its_client_goes_away() {
    within(20, async {
        let hub = SharedHub::default();
        let streams = Streams::default();
        let (server, addr) = start(service(&hub, &streams)).await;

        let conn = h2c(addr).await;
        let (_, reset) = h2_get(&conn, "/events", &[]).await;
        let (_, kept) = h2_get(&conn, "/events", &[]).await;
        streams.opened_at_least(2).await;
        drop(reset); // RST_STREAM(CANCEL)
        while streams.open() > 1 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        drop((kept, conn)); // the connection goes
        streams.all_closed().await;

        let mut h1 = send(addr, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n").await;
        read_until(&mut h1, "\r\n\r\n").await;
        assert_eq!(streams.open(), 1);
        drop(h1);
        streams.all_closed().await;
        assert_eq!(server.connections(), 0);
        server.shutdown_and_wait().await;
    })
    .await;
}
