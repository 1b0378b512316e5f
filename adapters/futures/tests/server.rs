//! The server pieces: bodies on a virtual clock, raw HTTP/1.1 connections
//! and the accept loop over loopback sockets, and an async-h1 response.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_io::{Async, Timer as IoTimer};
use bytes::Bytes;
use event_listener::Event as Signal;
use futures_lite::{future, stream, AsyncReadExt, StreamExt};
use sse_core::encode::Message;
use sse_core::endpoint::{respond, Endpoint};
use sse_core::server::{CloseReason, Config};
use sse_core::Instant;
use sse_futures::server::{
    serve, serve_connection, Body, Ended, Event, EventBody, ServerHandle, Service, SharedHub,
};
use sse_futures::{BoxFuture, Timer};

/// A clock that moves only when the test says: sleeps end on `advance`.
#[derive(Clone, Default)]
struct VirtualClock(Arc<(Mutex<Instant>, Signal)>);

impl VirtualClock {
    fn advance(&self, by: Duration) {
        let mut now = self.0 .0.lock().unwrap();
        *now = *now + by;
        drop(now);
        self.0 .1.notify(usize::MAX);
    }
}

impl Timer for VirtualClock {
    fn now(&self) -> Instant {
        *self.0 .0.lock().unwrap()
    }
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        let clock = self.clone();
        Box::pin(async move {
            loop {
                let woken = clock.0 .1.listen();
                if clock.now() >= deadline {
                    return;
                }
                woken.await;
            }
        })
    }
}

/// Real time since the clock was made.
#[derive(Clone)]
struct Clock(std::time::Instant);

impl Clock {
    fn new() -> Self {
        Clock(std::time::Instant::now())
    }
}

impl Timer for Clock {
    fn now(&self) -> Instant {
        Instant::from_duration(self.0.elapsed())
    }
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        let at = self.0 + deadline.as_duration();
        Box::pin(async move {
            IoTimer::at(at).await;
        })
    }
}

/// Runs `f` with a time limit (checked first: a wake-up by the limit's
/// timer must not let `f` finish late).
fn within<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    let limit = async {
        IoTimer::after(Duration::from_secs(secs)).await;
        panic!("timed out after {secs} s")
    };
    async_io::block_on(future::or(limit, f))
}

/// The next chunk, or `None` when none is ready (polled once).
fn try_next(body: &mut (impl Body + Unpin)) -> Option<Option<Bytes>> {
    future::block_on(future::poll_once(body.next()))
}

#[test]
fn hub_body_streams_publishes_and_keeps_alive_on_the_timer() {
    let clock = VirtualClock::default();
    let hub = SharedHub::default();
    let config = Config {
        keep_alive: Some(Duration::from_secs(15)),
        retry: Some(1000),
        ..Config::default()
    };
    let mut body = hub
        .subscribe(clock.now(), None, config)
        .into_body(clock.clone());
    assert_eq!(body.response_head().status, 200);
    assert_eq!(
        try_next(&mut body),
        Some(Some(Bytes::from("retry: 1000\n")))
    );
    assert_eq!(try_next(&mut body), None);
    hub.try_publish(&Message::new("a")).unwrap();
    assert_eq!(
        try_next(&mut body),
        Some(Some(Bytes::from("id: 1\ndata: a\n\n")))
    );
    // 14 s idle: nothing; 15 s: a keep-alive, only once the sleep is over.
    clock.advance(Duration::from_secs(14));
    assert_eq!(try_next(&mut body), None);
    clock.advance(Duration::from_secs(1));
    assert_eq!(try_next(&mut body), Some(Some(Bytes::from(":\n"))));
    assert_eq!(try_next(&mut body), None);
    hub.end_streams();
    assert_eq!(try_next(&mut body), Some(None));
}

#[test]
fn resumed_body_replays_from_the_log_and_wakes_on_publish() {
    let hub = SharedHub::default();
    for d in ["a", "b", "c"] {
        hub.try_publish(&Message::new(d)).unwrap();
    }
    let clock = VirtualClock::default();
    let mut body = hub
        .subscribe(clock.now(), Some("1"), Config::default())
        .into_body(clock);
    let publisher = {
        let hub = hub.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            hub.try_publish(&Message::new("d")).unwrap();
        })
    };
    let got = within(5, async {
        let mut got = Vec::new();
        while got.len() < 3 {
            got.push(body.next().await.unwrap());
        }
        got
    });
    publisher.join().unwrap();
    assert_eq!(
        got,
        [
            "id: 2\ndata: b\n\n",
            "id: 3\ndata: c\n\n",
            "id: 4\ndata: d\n\n"
        ]
    );
}

#[test]
fn event_body_streams_a_source_then_ends() {
    let clock = VirtualClock::default();
    let source = stream::iter([Event::new("x").id("7").event("e"), Event::new("a\nb")]);
    let config = Config {
        retry: Some(5),
        ..Config::default()
    };
    let body = EventBody::new(source, config, clock);
    let mut reader = body.into_reader();
    let mut text = String::new();
    within(5, reader.read_to_string(&mut text)).unwrap();
    assert_eq!(
        text,
        "retry: 5\nid: 7\nevent: e\ndata: x\n\ndata: a\ndata: b\n\n"
    );
}

#[test]
fn event_body_skips_events_that_cannot_be_encoded() {
    let clock = VirtualClock::default();
    let source = stream::iter(vec![Event::new("bad").id("a\nb"), Event::new("good")]);
    let mut reader = EventBody::new(source, Config::default(), clock).into_reader();
    let mut text = String::new();
    within(5, reader.read_to_string(&mut text)).unwrap();
    assert_eq!(text, "data: good\n\n");
}

#[cfg(feature = "json")]
#[test]
fn json_events_become_one_data_line_each() {
    use sse_futures::server::JsonEvents;
    #[derive(serde::Serialize)]
    struct Tick {
        n: u32,
        note: &'static str,
    }
    let source = JsonEvents::new(stream::iter([
        Tick { n: 1, note: "a\nb" },
        Tick { n: 2, note: "" },
    ]))
    .event("tick");
    let body = EventBody::new(source, Config::default(), VirtualClock::default());
    let chunks: Vec<Bytes> = within(5, body.collect());
    assert_eq!(
        chunks,
        [
            "event: tick\ndata: {\"n\":1,\"note\":\"a\\nb\"}\n\n",
            "event: tick\ndata: {\"n\":2,\"note\":\"\"}\n\n"
        ]
    );
    let hub = SharedHub::default();
    hub.try_publish_json(Some("t"), None, &[1, 2]).unwrap();
    let bytes = hub.with_hub(|h| {
        use sse_core::replay::ReplayLog;
        h.log().get(1).unwrap().bytes
    });
    assert_eq!(&bytes[..], b"id: 1\nevent: t\ndata: [1,2]\n\n");
}

/// A loopback pair: (server side as async-io, client side blocking).
fn pair() -> (Async<TcpStream>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (server, _) = listener.accept().unwrap();
    (Async::new(server).unwrap(), client)
}

/// Reads until `needle` has been seen (or EOF / timeout); returns it all.
fn read_until(client: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn read_to_end(client: &mut TcpStream) -> String {
    let mut text = String::new();
    let _ = client.read_to_string(&mut text);
    text
}

#[test]
fn connection_streams_resumes_and_notices_the_client_leaving() {
    let hub = SharedHub::default();
    hub.try_publish(&Message::new("old")).unwrap();
    hub.try_publish(&Message::new("new")).unwrap();
    let endpoint = Endpoint::new("/events");
    let clock = Clock::new();
    let (server, mut client) = pair();
    client
        .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n\r\n")
        .unwrap();
    let ended = within(10, async {
        let service = Service::new(endpoint.clone(), hub.clone());
        let serving = serve_connection(server, &service, &clock);
        let talking = async {
            let text = blocking(move || {
                let text = read_until(&mut client, "data: new\n\n");
                (text, client)
            })
            .await;
            let (text, client) = text;
            assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
            assert!(text.contains("Content-Type: text/event-stream\r\n"));
            assert!(text.contains("Last-Event-ID: 1\r\n"));
            assert!(text.contains("Connection: close\r\n\r\nid: 2\ndata: new\n\n"));
            hub.try_publish(&Message::new("live")).unwrap();
            let (text, client) = blocking(move || {
                let mut client = client;
                (read_until(&mut client, "live"), client)
            })
            .await;
            assert_eq!(text, "id: 3\ndata: live\n\n");
            drop(client);
            future::pending::<()>().await;
        };
        future::or(serving, async {
            talking.await;
            unreachable!()
        })
        .await
    });
    assert_eq!(ended.unwrap(), Ended::ClientGone);
}

/// `on_stream` gets a sender to that one subscriber: what it sends comes
/// through its connection alone (no ID, not logged), and once the stream
/// has ended a send says so.
#[test]
fn a_sender_reaches_one_subscriber_and_fails_once_it_is_gone() {
    let hub = SharedHub::default();
    let senders = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&senders);
    let service =
        Service::new(Endpoint::new("/events"), hub.clone()).on_stream(move |head, sender| {
            kept.lock()
                .unwrap()
                .push((head.target().to_string(), sender))
        });
    let clock = Clock::new();
    let (server, mut client) = pair();
    client
        .write_all(b"GET /events?user=7 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let ended = within(10, async {
        let serving = serve_connection(server, &service, &clock);
        let talking = async {
            let (text, client) =
                blocking(move || (read_until(&mut client, "\r\n\r\n"), client)).await;
            assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
            let (target, sender) = senders.lock().unwrap().pop().expect("on_stream ran");
            assert_eq!(target, "/events?user=7");
            sender
                .send(&Message::new("only you").event("private"))
                .unwrap();
            hub.try_publish(&Message::new("everyone")).unwrap();
            let (text, client) = blocking(move || {
                let mut client = client;
                (read_until(&mut client, "everyone\n\n"), client)
            })
            .await;
            assert_eq!(
                text,
                "event: private\ndata: only you\n\nid: 1\ndata: everyone\n\n"
            );
            assert_eq!(hub.with_hub(|h| h.log().len()), 1);
            drop(client);
            sender
        };
        let sender = future::or(async { serving.await.map(|_| unreachable!()) }, async {
            let sender = talking.await;
            Ok(sender)
        })
        .await
        .unwrap();
        sender
    });
    // The connection future was dropped with `future::or`: the stream is over.
    assert_eq!(
        ended.send(&Message::new("late")),
        Err(sse_core::server::SendError::Closed(CloseReason::Finished))
    );
}

/// Runs blocking socket code off the executor thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let done = Arc::new(Signal::new());
    let notify = Arc::clone(&done);
    std::thread::spawn(move || {
        let _ = tx.send(f());
        notify.notify(usize::MAX);
    });
    loop {
        let listener = done.listen();
        if let Ok(v) = rx.try_recv() {
            return v;
        }
        listener.await;
    }
}

/// Sends one request on a fresh connection and reads the whole answer.
fn request_on(server: Async<TcpStream>, mut client: TcpStream, request: &str) -> (String, Ended) {
    let hub = SharedHub::default();
    let endpoint = Endpoint {
        path: "/events".into(),
        cors: Some("*".into()),
    };
    let page = |head: &sse_core::http1::RequestHead| {
        (head.path() == "/").then(|| respond(200, &[("Content-Type", "text/html")], b"<p>hi</p>"))
    };
    client.write_all(request.as_bytes()).unwrap();
    let reader = std::thread::spawn(move || read_to_end(&mut client));
    let ended = within(
        10,
        serve_connection(
            server,
            &Service::new(endpoint, hub).fallback(page),
            &Clock::new(),
        ),
    )
    .unwrap();
    (reader.join().unwrap(), ended)
}

#[test]
fn connection_answers_what_is_not_a_stream() {
    let cases = [
        ("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n", "<p>hi</p>"),
        (
            "GET /nope HTTP/1.1\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\n",
            "not found\n",
        ),
        (
            "POST /events HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 405",
            "Allow: GET, HEAD, OPTIONS\r\n",
        ),
        (
            "OPTIONS /events HTTP/1.1\r\n\r\n",
            "HTTP/1.1 204",
            "Access-Control-Allow-Headers: Last-Event-ID",
        ),
        (
            "HEAD /events HTTP/1.1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream",
            "Access-Control-Allow-Origin: *\r\n",
        ),
    ];
    for (request, start, contains) in cases {
        let (server, client) = pair();
        let (text, ended) = request_on(server, client, request);
        assert!(text.starts_with(start), "{request:?} -> {text}");
        assert!(text.contains(contains), "{request:?} -> {text}");
        assert_eq!(ended, Ended::Answered);
    }
}

#[test]
fn bad_and_missing_requests_are_typed_errors() {
    let hub = SharedHub::default();
    let endpoint = Endpoint::new("/events");
    let (server, mut client) = pair();
    client.write_all(b"NOT HTTP\r\n\r\n").unwrap();
    let err = within(
        10,
        serve_connection(
            server,
            &Service::new(endpoint.clone(), hub.clone()),
            &Clock::new(),
        ),
    )
    .unwrap_err();
    assert!(
        matches!(err, sse_futures::server::ConnectionError::BadRequest(_)),
        "{err}"
    );
    assert!(read_to_end(&mut client).starts_with("HTTP/1.1 400"));

    let (server, client) = pair();
    drop(client);
    let err = within(
        10,
        serve_connection(
            server,
            &Service::new(endpoint.clone(), hub.clone()),
            &Clock::new(),
        ),
    )
    .unwrap_err();
    assert!(
        matches!(err, sse_futures::server::ConnectionError::NoRequest),
        "{err}"
    );

    // A silent client: the head timeout is the timer's, not the wall clock's.
    let clock = VirtualClock::default();
    let (server, _client) = pair();
    let err = within(10, async {
        let service = Service::new(endpoint.clone(), hub.clone());
        let serving = serve_connection(server, &service, &clock);
        let ticking = async {
            IoTimer::after(Duration::from_millis(50)).await;
            clock.advance(sse_futures::server::HEAD_TIMEOUT);
            future::pending().await
        };
        future::or(serving, ticking).await
    })
    .unwrap_err();
    assert!(
        matches!(err, sse_futures::server::ConnectionError::HeadTimeout),
        "{err}"
    );
}

/// A body whose server stopped polling it cannot report refused writes: a
/// burst larger than the log still reaches it whole when it is polled
/// again; only once publishers wait for it (the backlog full) for its lag
/// window, on a hub that has a clock, is it let go and closed.
#[test]
fn a_body_nobody_polls_is_held_for_then_let_go_after_its_lag_window() {
    use sse_core::hub::{BacklogLimits, Hub, PublishError};
    use sse_core::replay::LogLimits;
    let clock = VirtualClock::default();
    let hub = SharedHub::from_hub(
        Hub::new(LogLimits {
            max_events: 2,
            max_bytes: 1 << 20,
        })
        .with_backlog(BacklogLimits {
            max_events: 2,
            max_bytes: 1 << 20,
        }),
    )
    .with_timer(clock.clone());
    let config = Config {
        lag_window: Duration::from_secs(1),
        ..Config::default()
    };
    let mut polled = hub
        .subscribe(clock.now(), None, config.clone())
        .into_body(clock.clone());
    for d in ["a", "b", "c", "d"] {
        hub.try_publish(&Message::new(d)).unwrap();
    }
    // Twice the log: nothing lost for a body polled late.
    for (id, d) in [(1, "a"), (2, "b"), (3, "c"), (4, "d")] {
        let want = format!("id: {id}\ndata: {d}\n\n");
        assert_eq!(try_next(&mut polled), Some(Some(Bytes::from(want))));
    }
    let mut stalled = hub
        .subscribe(clock.now(), None, config)
        .into_body(clock.clone());
    for d in ["e", "f", "g", "h"] {
        hub.try_publish(&Message::new(d)).unwrap();
    }
    assert_eq!(hub.try_publish(&Message::new("i")), Err(PublishError::Full));
    let mut rest = Vec::new();
    while let Some(Some(b)) = try_next(&mut polled) {
        rest.extend_from_slice(&b);
    }
    assert!(rest.ends_with(b"id: 8\ndata: h\n\n"));
    // A publisher waits; the stalled body is let go once it took nothing
    // for its window (the polled one keeps up).
    let publishing = async {
        let seq = hub.publish(&Message::new("i")).await.unwrap();
        assert_eq!(seq, 9);
    };
    let mut publishing = Box::pin(publishing);
    assert!(future::block_on(future::poll_once(&mut publishing)).is_none());
    clock.advance(Duration::from_millis(999));
    assert!(future::block_on(future::poll_once(&mut publishing)).is_none());
    clock.advance(Duration::from_millis(1));
    within(5, publishing);
    assert_eq!(try_next(&mut stalled), Some(None));
    assert_eq!(stalled.subscription().closed(), Some(CloseReason::Lagged));
    let mut rest = Vec::new();
    while let Some(Some(b)) = try_next(&mut polled) {
        rest.extend_from_slice(&b);
    }
    assert!(rest.ends_with(b"id: 9\ndata: i\n\n"));
}

/// An accept loop on a real listener, a thread per task.
fn start(service: Service) -> (ServerHandle, std::net::SocketAddr) {
    let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    let incoming = Box::pin(stream::unfold(listener, |l| async move {
        let next = l.accept().await.map(|(s, _)| s);
        Some((next, l))
    }));
    let spawn = |task: BoxFuture<()>| {
        std::thread::spawn(move || async_io::block_on(task));
    };
    (serve(incoming, spawn, service, Clock::new()), addr)
}

#[test]
fn accept_loop_serves_and_shuts_down_gracefully() {
    let hub = SharedHub::default();
    let (handle, addr) = start(Service::new(Endpoint::new("/events"), hub.clone()));
    let mut clients: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut c = TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            c.write_all(b"GET /events HTTP/1.1\r\n\r\n").unwrap();
            c
        })
        .collect();
    for c in &mut clients {
        read_until(c, "\r\n\r\n");
    }
    assert_eq!(handle.connections(), 2);
    hub.try_publish(&Message::new("both")).unwrap();
    for c in &mut clients {
        assert_eq!(read_until(c, "both\n\n"), "id: 1\ndata: both\n\n");
    }
    within(10, handle.shutdown_and_wait());
    assert_eq!(handle.connections(), 0);
    for c in &mut clients {
        assert_eq!(read_to_end(c), "", "the stream ends");
    }
    assert!(TcpStream::connect(addr).is_err(), "the port refuses");
}

#[cfg(feature = "http-types")]
#[test]
fn async_h1_serves_a_hub_response() {
    use sse_futures::server::http;
    let hub = SharedHub::default();
    hub.try_publish(&Message::new("one")).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server_hub = hub.clone();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let stream = SharedStream(Arc::new(Async::new(stream).unwrap()));
        let clock = Clock::new();
        let _ = async_io::block_on(async_h1::accept(stream, |req| {
            let (hub, clock) = (server_hub.clone(), clock.clone());
            async move {
                assert_eq!(http::last_event_id(&req).as_deref(), Some("0"));
                Ok(http::respond(&req, &hub, Config::default(), clock))
            }
        }));
    });
    let mut client = TcpStream::connect(addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client
        .write_all(b"GET /events?last_event_id=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_until(&mut client, "data: one");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: text/event-stream\r\n"),
        "{head}"
    );
    assert!(lower.contains("cache-control: no-store\r\n"), "{head}");
    assert!(lower.contains("transfer-encoding: chunked\r\n"), "{head}");
    hub.try_publish(&Message::new("two")).unwrap();
    let more = read_until(&mut client, "data: two");
    assert!(more.contains("id: 2\ndata: two\n\n"), "{more}");
}

/// A cloneable socket, as async-h1 wants one.
#[cfg(feature = "http-types")]
#[derive(Clone)]
struct SharedStream(Arc<Async<TcpStream>>);

#[cfg(feature = "http-types")]
impl futures_lite::AsyncRead for SharedStream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut &*self.0).poll_read(cx, buf)
    }
}

#[cfg(feature = "http-types")]
impl futures_lite::AsyncWrite for SharedStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut &*self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut &*self.0).poll_flush(cx)
    }
    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut &*self.0).poll_close(cx)
    }
}

/// A client that stops reading in the middle of an event is held for
/// while its socket refuses writes for less than its lag window (the hub
/// keeps its next event although the log evicted it), then dropped, though
/// its socket takes nothing more: at the earliest when the window is over
/// on the (virtual) clock.
#[test]
fn a_client_that_stops_reading_mid_event_is_dropped_after_its_lag_window() {
    use sse_core::replay::LogLimits;
    let hub = SharedHub::new(LogLimits {
        max_events: 2,
        max_bytes: 64 << 20,
    });
    // No keep-alive either: only publishes and the lag window wake it.
    let service = Service::new(Endpoint::new("/events"), hub.clone()).config(Config {
        keep_alive: None,
        lag_window: Duration::from_secs(1),
        ..Config::default()
    });
    let clock = VirtualClock::default();
    let (server, mut client) = pair();
    client
        .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let done = std::cell::Cell::new(false);
    let serving = async {
        let ended = serve_connection(server, &service, &clock).await;
        done.set(true);
        ended
    };
    let driving = async {
        // More than the socket buffers hold: the write stops part way.
        hub.try_publish(&Message::new(&"x".repeat(16 << 20)))
            .unwrap();
        // The 16 MiB event fills the backlog until the stream took it:
        // these wait for that, then event 2 is held beyond the log [3, 4].
        for d in ["2", "3", "4"] {
            hub.publish(&Message::new(d)).await.unwrap();
        }
        while hub.with_hub(|h| h.backlog().events) != 1 {
            assert!(!done.get(), "dropped before its window");
            IoTimer::after(Duration::from_millis(10)).await;
        }
        IoTimer::after(Duration::from_millis(100)).await;
        let mut waited = Duration::ZERO;
        while !done.get() {
            assert_eq!(hub.with_hub(|h| h.backlog().events), 1, "held for it");
            clock.advance(Duration::from_millis(100));
            waited += Duration::from_millis(100);
            IoTimer::after(Duration::from_millis(20)).await;
        }
        waited
    };
    let (ended, waited) = within(20, future::zip(serving, driving));
    assert_eq!(ended.unwrap(), Ended::Closed(CloseReason::Lagged));
    assert!(waited >= Duration::from_secs(1), "dropped after {waited:?}");
    assert_eq!(hub.with_hub(|h| h.backlog().events), 0, "let go");
    // What the client did get ends there, in the middle of the event.
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap();
    assert!(got.len() < 16 << 20, "{} bytes", got.len());
    assert!(!got.ends_with(b"\n\n"));
}

/// A burst far larger than the replay log, published while the
/// connection's task has not run yet, reaches its client whole: the hub
/// holds it, and a publisher that fills the backlog waits (async) until the
/// client reads, instead of evicting what it has not been sent.
#[test]
fn a_burst_waits_for_a_reading_client_instead_of_dropping_it() {
    use sse_core::hub::{BacklogLimits, Hub};
    use sse_core::replay::LogLimits;
    let hub = SharedHub::from_hub(
        Hub::new(LogLimits {
            max_events: 4,
            max_bytes: 1 << 20,
        })
        .with_backlog(BacklogLimits {
            max_events: 16,
            max_bytes: 1 << 20,
        }),
    );
    let service = Service::new(Endpoint::new("/events"), hub.clone()).config(Config {
        keep_alive: None,
        ..Config::default()
    });
    let clock = VirtualClock::default();
    let (server, mut client) = pair();
    client
        .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // The connection subscribes, then is not polled during the first 20.
    let mut serving = Box::pin(serve_connection(server, &service, &clock));
    within(10, async {
        while hub.with_hub(|h| h.subscribers()) == 0 {
            assert!(future::poll_once(&mut serving).await.is_none());
            IoTimer::after(Duration::from_millis(5)).await;
        }
    });
    for i in 1..=20 {
        hub.try_publish(&Message::new(&i.to_string())).unwrap();
    }
    // 4 in the log, 16 held beyond it: full.
    assert_eq!(
        hub.try_publish(&Message::new("21")),
        Err(sse_core::hub::PublishError::Full)
    );
    let reader = std::thread::spawn(move || {
        let mut parser = sse_core::parse::Parser::new();
        let text = read_until(&mut client, "data: 100\n\n");
        let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
        parser.handle_bytes(body.as_bytes());
        let mut got = Vec::new();
        while let Some(e) = parser.poll_event() {
            got.push(e.unwrap().data().to_string());
        }
        got
    });
    let publishing = async {
        for i in 21..=100 {
            hub.publish(&Message::new(&i.to_string())).await.unwrap();
        }
        // Room again once the client read everything.
        while hub.with_hub(|h| h.backlog().events) > 0 {
            IoTimer::after(Duration::from_millis(5)).await;
        }
    };
    within(
        20,
        future::or(async { serving.await.unwrap() }, async {
            publishing.await;
            Ended::ClientGone
        }),
    );
    let got = reader.join().unwrap();
    let want: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
}

/// `end_streams` ends a stream after what was published before it (a
/// stream whose task had not run yet still gets it), not what comes after.
#[test]
fn ended_streams_write_what_was_published_before_the_end() {
    let clock = VirtualClock::default();
    let hub = SharedHub::default();
    let mut body = hub
        .subscribe(clock.now(), None, Config::default())
        .into_body(clock.clone());
    hub.try_publish(&Message::new("before")).unwrap();
    hub.end_streams();
    hub.try_publish(&Message::new("after")).unwrap();
    assert_eq!(
        try_next(&mut body),
        Some(Some(Bytes::from_static(b"id: 1\ndata: before\n\n")))
    );
    assert_eq!(try_next(&mut body), Some(None));
    assert_eq!(body.subscription().closed(), Some(CloseReason::Finished));
    // A stream opened after the end is not affected.
    let mut later = hub
        .subscribe(clock.now(), Some("1"), Config::default())
        .into_body(clock);
    assert_eq!(
        try_next(&mut later),
        Some(Some(Bytes::from_static(b"id: 2\ndata: after\n\n")))
    );
}
