//! The Rust client peers' known faults, each reproduced over loopback
//! against the peer, next to what our client does with the same server
//! (`sse-reqwest`, which runs the core machine every adapter shares).
//! Listed in docs/INTEROP.md. Run with
//! `cargo test --manifest-path bench/peers/Cargo.toml --target-dir target`.
//!
//! Each server here is scripted per connection: the n-th connection gets
//! the n-th answer (the last one repeats), written raw, then closed or
//! held open; every request's head is recorded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_lite::StreamExt;
use sse_core::client::{ClientError, Config, Notification};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How an answer ends.
#[derive(Clone, Copy)]
enum Then {
    /// The server closes the connection (the body is read until close).
    Close,
    /// The server keeps the connection open.
    Hold,
}

/// A request head as the server got it: lowercase names.
#[derive(Clone, Debug)]
struct Seen(Vec<(String, String)>);

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

const STREAM: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";

async fn serve(answers: Vec<(String, Then)>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match tcp.read(&mut byte).await {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let text = String::from_utf8_lossy(&head).into_owned();
            let fields = text
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let n = {
                let mut log = log.lock().unwrap();
                log.push(Seen(fields));
                log.len() - 1
            };
            let (answer, then) = answers[n.min(answers.len() - 1)].clone();
            let _ = tcp.write_all(answer.as_bytes()).await;
            match then {
                Then::Close => drop(tcp),
                Then::Hold => held.push(tcp),
            }
        }
    });
    Server { url, seen }
}

fn answer(body: &str, then: Then) -> (String, Then) {
    (format!("{STREAM}{body}"), then)
}

/// Waits (bounded) until the server has had `n` requests.
async fn requests_reach(server: &Server, n: usize) -> Vec<Seen> {
    for _ in 0..2000 {
        if server.requests().len() >= n {
            return server.requests();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("only {} requests after 10 s", server.requests().len());
}

/// Our client with a 10 ms reconnection time.
fn ours(url: &str) -> sse_reqwest::EventSource {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = Config::default();
    config.reconnection_time = Duration::from_millis(10);
    sse_reqwest::EventSource::with_config(url, config).unwrap()
}

async fn our_messages_until_end(url: &str) -> Vec<String> {
    let mut es = ours(url);
    let mut got = Vec::new();
    while let Some(n) = tokio::time::timeout(Duration::from_secs(10), es.next())
        .await
        .unwrap()
    {
        match n {
            Notification::Message(m) => got.push(m.event.data().to_string()),
            Notification::Error { .. } => break,
            _ => {}
        }
    }
    got
}

// ----- reqwest-eventsource 0.6 (on eventsource-stream 0.2.3) -----

mod reqwest_eventsource_06 {
    use super::*;
    use reqwest_eventsource::retry::Constant;
    use reqwest_eventsource::{Error, Event, EventSource};

    fn peer(url: &str, retry: Constant) -> EventSource {
        let mut es = EventSource::new(reqwest012::Client::new().get(url)).unwrap();
        es.set_retry_policy(Box::new(retry));
        es
    }

    /// Messages until the first error.
    async fn messages(url: &str) -> Vec<String> {
        let mut es = peer(url, Constant::new(Duration::from_millis(10), None));
        let mut got = Vec::new();
        while let Some(item) = es.next().await {
            match item {
                Ok(Event::Message(m)) => got.push(m.data),
                Ok(Event::Open) => {}
                Err(_) => break,
            }
        }
        got
    }

    #[tokio::test]
    async fn panics_on_a_stream_that_starts_with_a_bom() {
        let server = serve(vec![answer("\u{FEFF}data: bom\n\n", Then::Close)]).await;
        let url = server.url.clone();
        let peer = tokio::spawn(async move { messages(&url).await }).await;
        assert!(peer.unwrap_err().is_panic(), "the peer panicked");
        assert_eq!(our_messages_until_end(&server.url).await, ["bom"]);
    }

    #[tokio::test]
    async fn loses_an_event_whose_blank_line_is_a_lone_cr_at_the_end() {
        let server = serve(vec![answer("data: a\r\r", Then::Close)]).await;
        assert_eq!(messages(&server.url).await, Vec::<String>::new());
        assert_eq!(our_messages_until_end(&server.url).await, ["a"]);
    }

    #[tokio::test]
    async fn sends_an_empty_last_event_id_when_it_has_none() {
        let server = serve(vec![
            answer("data: a\n\n", Then::Close),
            answer("", Then::Hold),
        ])
        .await;
        let mut es = peer(&server.url, Constant::new(Duration::from_millis(10), None));
        let reconnect = tokio::spawn(async move { while es.next().await.is_some() {} });
        let requests = requests_reach(&server, 2).await;
        reconnect.abort();
        assert_eq!(
            requests[1].header("last-event-id"),
            Some(""),
            "an empty header"
        );

        let server = serve(vec![
            answer("data: a\n\n", Then::Close),
            answer("", Then::Hold),
        ])
        .await;
        let mut es = ours(&server.url);
        let reconnect = tokio::spawn(async move { while es.next().await.is_some() {} });
        let requests = requests_reach(&server, 2).await;
        reconnect.abort();
        assert_eq!(requests[1].header("last-event-id"), None, "ours sends none");
    }

    #[tokio::test]
    async fn its_retry_counter_never_grows_so_max_retries_never_stops_it() {
        // Every connection ends at once; the policy allows 2 retries.
        let server = serve(vec![answer("", Then::Close)]).await;
        let mut es = peer(
            &server.url,
            Constant::new(Duration::from_millis(5), Some(2)),
        );
        let mut errors = 0;
        while let Some(item) = es.next().await {
            if let Err(Error::StreamEnded) = item {
                errors += 1;
                if errors == 8 {
                    break;
                }
            }
        }
        // 2 retries would be 3 requests; it went on.
        assert!(requests_reach(&server, 8).await.len() >= 8);
    }

    #[tokio::test]
    async fn accepts_a_retry_value_that_is_not_all_digits() {
        let server = serve(vec![answer("retry: +5\ndata: x\n\n", Then::Hold)]).await;
        let mut es = peer(&server.url, Constant::new(Duration::from_millis(10), None));
        let retry = loop {
            match es.next().await {
                Some(Ok(Event::Message(m))) => break m.retry,
                Some(Ok(Event::Open)) => {}
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            retry,
            Some(Duration::from_millis(5)),
            "\"+5\" taken as 5 ms"
        );

        let mut es = ours(&server.url);
        while !matches!(es.next().await, Some(Notification::Message(_))) {}
        assert_eq!(es.client().reconnection_time(), Duration::from_millis(10));
    }
}

// ----- eventsource-client 0.18.0 (LaunchDarkly) -----

mod eventsource_client_018 {
    use super::*;
    use eventsource_client::{Client, ClientBuilder, Error, ReconnectOptions, SSE};

    fn peer(url: &str) -> impl Client {
        let transport = launchdarkly_sdk_transport::HyperTransport::builder()
            .build_http()
            .unwrap();
        ClientBuilder::for_url(url)
            .unwrap()
            .reconnect(
                ReconnectOptions::reconnect(true)
                    .retry_initial(true)
                    .delay(Duration::from_millis(10))
                    .delay_max(Duration::from_millis(20))
                    .build(),
            )
            .build_with_transport(transport)
    }

    /// The peer's first event from `url`.
    async fn first_event(url: &str) -> eventsource_client::Event {
        let mut stream = peer(url).stream();
        loop {
            match stream.next().await {
                Some(Ok(SSE::Event(e))) => return e,
                Some(Ok(_)) => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn opens_a_204_and_keeps_reconnecting() {
        let server = serve(vec![(
            "HTTP/1.1 204 No Content\r\n\r\n".into(),
            Then::Close,
        )])
        .await;
        let mut stream = peer(&server.url).stream();
        assert!(
            matches!(stream.next().await, Some(Ok(SSE::Connected(_)))),
            "a 204 counts as connected"
        );
        let go_on = tokio::spawn(async move { while stream.next().await.is_some() {} });
        assert!(
            requests_reach(&server, 3).await.len() >= 3,
            "and it reconnects"
        );
        go_on.abort();

        let server = serve(vec![(
            "HTTP/1.1 204 No Content\r\n\r\n".into(),
            Then::Close,
        )])
        .await;
        let mut es = ours(&server.url);
        match es.next().await {
            Some(Notification::Error {
                reconnecting: false,
                error: ClientError::NoContent,
            }) => {}
            other => panic!("{other:?}"),
        }
        assert!(es.next().await.is_none());
        assert_eq!(server.requests().len(), 1, "ours stops");
    }

    #[tokio::test]
    async fn reads_events_from_a_body_that_is_not_an_event_stream() {
        let html = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\ndata: x\n\n";
        let server = serve(vec![(html.into(), Then::Hold)]).await;
        let event = first_event(&server.url).await;
        assert_eq!(event.data, "x");

        let mut es = ours(&server.url);
        match es.next().await {
            Some(Notification::Error {
                reconnecting: false,
                error: ClientError::ContentType { .. },
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    /// The `Last-Event-ID` of each of the first `n` requests, with the
    /// peer and with ours, against servers answering `answers`.
    async fn last_event_ids(answers: Vec<(String, Then)>, n: usize) -> [Vec<Option<String>>; 2] {
        let ids = |r: Vec<Seen>| -> Vec<Option<String>> {
            r.iter()
                .take(n)
                .map(|s| s.header("last-event-id").map(String::from))
                .collect()
        };
        let server = serve(answers.clone()).await;
        let mut stream = peer(&server.url).stream();
        let go_on = tokio::spawn(async move { while stream.next().await.is_some() {} });
        let theirs = ids(requests_reach(&server, n).await);
        go_on.abort();
        let server = serve(answers).await;
        let mut es = ours(&server.url);
        let go_on = tokio::spawn(async move { while es.next().await.is_some() {} });
        let ours = ids(requests_reach(&server, n).await);
        go_on.abort();
        [theirs, ours]
    }

    #[tokio::test]
    async fn forgets_the_last_event_id_after_an_event_without_id_on_a_new_connection() {
        let [theirs, ours] = last_event_ids(
            vec![
                answer("id: 1\ndata: a\n\n", Then::Close),
                answer("data: b\n\n", Then::Close),
                answer("", Then::Hold),
            ],
            3,
        )
        .await;
        let one = Some("1".to_owned());
        assert_eq!(theirs, [None, one.clone(), None], "the id is lost");
        assert_eq!(
            ours,
            [None, one.clone(), one],
            "the id is the EventSource's"
        );
    }

    #[tokio::test]
    async fn does_not_keep_an_id_set_by_a_block_without_data() {
        let [theirs, ours] = last_event_ids(
            vec![answer("id: 7\n\n", Then::Close), answer("", Then::Hold)],
            2,
        )
        .await;
        assert_eq!(theirs, [None, None]);
        assert_eq!(ours, [None, Some("7".to_owned())]);
    }

    #[tokio::test]
    async fn does_not_follow_a_302() {
        let server = serve(vec![
            (
                "HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n".into(),
                Then::Close,
            ),
            answer("data: moved\n\n", Then::Hold),
        ])
        .await;
        let mut stream = peer(&server.url).stream();
        match stream.next().await {
            Some(Err(Error::UnexpectedResponse(response, _))) => assert_eq!(response.status(), 302),
            other => panic!("{other:?}"),
        }
        drop(stream);

        let server = serve(vec![
            (
                "HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n".into(),
                Then::Close,
            ),
            answer("data: moved\n\n", Then::Hold),
        ])
        .await;
        let mut es = ours(&server.url);
        loop {
            match es.next().await {
                Some(Notification::Message(m)) => break assert_eq!(m.event.data(), "moved"),
                Some(Notification::Open) => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn accepts_a_retry_value_that_is_not_all_digits() {
        let server = serve(vec![answer("retry: +5\ndata: x\n\n", Then::Hold)]).await;
        let event = first_event(&server.url).await;
        assert_eq!(event.retry, Some(5), "\"+5\" taken as 5 ms");
    }
}
