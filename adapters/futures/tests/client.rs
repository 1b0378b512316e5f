//! The `EventSource` driver over real loopback sockets, with async-io as the
//! reactor and timer.

#[path = "suite/refusing.rs"]
mod refusing;
use refusing::refusing_port;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use async_io::{Async, Timer as IoTimer};
use futures_lite::{future, StreamExt};
use sse_core::client::{ClientError, Config, Notification, ReadyState, Want};
use sse_core::url::Url;
use sse_core::Instant;
use sse_futures::{BoxFuture, ConnectError, Connector, EventSource, Timer};

/// Real time since the timer was made.
struct Clock(std::time::Instant);

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

/// Connects every URL to one loopback port.
struct Loopback(u16);

impl Connector for Loopback {
    type Io = Async<TcpStream>;
    fn connect(&self, _url: &Url) -> BoxFuture<Result<Self::Io, ConnectError>> {
        let port = self.0;
        Box::pin(async move { Ok(Async::<TcpStream>::connect(([127, 0, 0, 1], port)).await?) })
    }
}

/// Reads one request head; returns its lines.
fn read_request(stream: &TcpStream) -> Vec<String> {
    let mut reader = BufReader::new(stream);
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    lines
}

/// A server answering each connection with the next response; sends each
/// request's head lines back on the channel.
fn server(responses: Vec<&'static str>) -> (u16, mpsc::Receiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for response in responses {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let _ = tx.send(read_request(&stream));
            let _ = stream.write_all(response.as_bytes());
        }
        // Keep the last connection's peers refused from here on.
    });
    (port, rx)
}

fn config() -> Config {
    let mut config = Config::default();
    config.reconnection_time = Duration::from_millis(20);
    config
}

const OK: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";

fn with_timeout<T>(f: impl std::future::Future<Output = T>) -> T {
    future::block_on(future::or(f, async {
        IoTimer::after(Duration::from_secs(10)).await;
        panic!("test timed out");
    }))
}

#[test]
fn messages_reconnect_with_last_event_id_and_204_stops() {
    let first: &'static str = Box::leak(
        format!("{OK}retry: 30\nid: 1\ndata: a\n\ndata: b\n\ndata: lost").into_boxed_str(),
    );
    let second: &'static str =
        Box::leak(format!("{OK}id: 2\nevent: x\ndata: c\n\n").into_boxed_str());
    let (port, requests) = server(vec![first, second, "HTTP/1.1 204 No Content\r\n\r\n"]);
    let url = format!("http://127.0.0.1:{port}/events");
    let mut es = EventSource::with_parts(
        &url,
        config(),
        Loopback(port),
        Clock(std::time::Instant::now()),
    )
    .unwrap();
    assert_eq!(es.url().as_str(), url);
    let got: Vec<String> = with_timeout(async {
        let mut got = Vec::new();
        while let Some(n) = es.next().await {
            got.push(match n {
                Notification::Open => "open".into(),
                Notification::Message(m) => {
                    format!(
                        "{}:{}:{}:{}",
                        m.event.event_type(),
                        m.event.data(),
                        m.event.id(),
                        m.origin
                    )
                }
                Notification::Error {
                    reconnecting,
                    error,
                } => format!("error {reconnecting} {error}"),
                other => format!("{other:?}"),
            });
        }
        got
    });
    let origin = format!("http://127.0.0.1:{port}");
    assert_eq!(
        got,
        [
            "open".to_string(),
            format!("message:a:1:{origin}"),
            format!("message:b:1:{origin}"),
            "error true stream ended".into(),
            "open".into(),
            format!("x:c:2:{origin}"),
            "error true stream ended".into(),
            format!("error false {}", ClientError::NoContent),
        ]
    );
    assert_eq!(es.ready_state(), ReadyState::Closed);
    let heads: Vec<Vec<String>> = requests.try_iter().collect();
    assert_eq!(heads.len(), 3);
    assert_eq!(heads[0][0], "GET /events HTTP/1.1");
    assert!(heads[0].contains(&"Accept: text/event-stream".to_string()));
    assert!(!heads[0].iter().any(|l| l.starts_with("Last-Event-ID")));
    assert!(heads[1].contains(&"Last-Event-ID: 1".to_string()));
    assert!(heads[2].contains(&"Last-Event-ID: 2".to_string()));
}

#[test]
fn want_flags_filter_and_messages_stream() {
    let body: &'static str = Box::leak(format!("{OK}data: one\n\ndata: two\n\n").into_boxed_str());
    let (port, _requests) = server(vec![body, "HTTP/1.1 500 Oops\r\n\r\n"]);
    let url = format!("http://127.0.0.1:{port}/");
    let mut config = config();
    config.want = Want::MESSAGES;
    let mut es = EventSource::with_parts(
        &url,
        config,
        Loopback(port),
        Clock(std::time::Instant::now()),
    )
    .unwrap();
    let data: Vec<String> =
        with_timeout(es.messages().map(|m| m.event.data().to_string()).collect());
    assert_eq!(data, ["one", "two"]);
    assert_eq!(es.ready_state(), ReadyState::Closed);
}

#[test]
fn close_handle_ends_a_silent_stream_and_reopen_starts_again() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for mut stream in listener.incoming().flatten().take(2) {
            read_request(&stream);
            let _ = stream.write_all(format!("{OK}data: hi\n\n").as_bytes());
            let mut rest = Vec::new();
            // Blocks until the client drops the connection.
            let _ = stream.read_to_end(&mut rest);
            let _ = tx.send(());
        }
    });
    let url = format!("http://127.0.0.1:{port}/");
    let mut es = EventSource::with_parts(
        &url,
        config(),
        Loopback(port),
        Clock(std::time::Instant::now()),
    )
    .unwrap();
    let handle = es.close_handle();
    with_timeout(async {
        assert_eq!(es.next().await, Some(Notification::Open));
        assert!(matches!(es.next().await, Some(Notification::Message(_))));
        assert_eq!(es.ready_state(), ReadyState::Open);
        let closer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            handle.close();
        });
        assert_eq!(es.next().await, None);
        closer.join().unwrap();
    });
    assert_eq!(es.ready_state(), ReadyState::Closed);
    rx.recv_timeout(Duration::from_secs(5))
        .expect("connection dropped on close");

    es.reopen();
    with_timeout(async {
        assert_eq!(es.next().await, Some(Notification::Open));
        assert!(matches!(es.next().await, Some(Notification::Message(_))));
    });
    drop(es);
    rx.recv_timeout(Duration::from_secs(5))
        .expect("connection dropped on drop");
}

#[test]
fn refused_connect_is_reported_and_retried() {
    // A port with nothing listening.
    let (_refusing, addr) = refusing_port();
    let port = addr.port();
    let url = format!("http://127.0.0.1:{port}/");
    let mut es = EventSource::with_parts(
        &url,
        config(),
        Loopback(port),
        Clock(std::time::Instant::now()),
    )
    .unwrap();
    with_timeout(async {
        for _ in 0..2 {
            match es.next().await {
                Some(Notification::Error {
                    reconnecting: true,
                    error: ClientError::ConnectFailed(_),
                }) => {}
                other => panic!("{other:?}"),
            }
        }
    });
    es.close();
    assert_eq!(with_timeout(es.next()), None);
}
