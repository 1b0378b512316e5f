//! The blocking client and server over 127.0.0.1, with and without TLS.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use sse_blocking::{serve, EventSource, Hub, ServerHandle, Service, SystemClock, TcpConnector};
use sse_core::client::{ClientError, Config, Notification, ReadyState};
use sse_core::encode::Message;
use sse_core::replay::LogLimits;

/// How long any test here may take: a hang (a lost wake-up, a client
/// waiting for an event that never comes) fails it instead of holding up
/// the whole run.
const LIMIT: Duration = Duration::from_secs(90);

/// Runs a test's body on its own thread and fails the test if it is not
/// done within [`LIMIT`]. A panic in the body fails the test as usual. A
/// body that hangs is left behind: the test binary exits without it once
/// the other tests are done.
fn within<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = std::sync::mpsc::channel();
    let name = thread::current().name().unwrap_or("test").to_owned();
    let worker = thread::Builder::new()
        .name(name)
        .spawn(move || done.send(body()))
        .unwrap();
    match finished.recv_timeout(LIMIT) {
        Ok(value) => value,
        Err(RecvTimeoutError::Timeout) => panic!("timed out: not done within {LIMIT:?}"),
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(_) => unreachable!("the body sends its result before it ends"),
        },
    }
}

fn start(service: Service) -> ServerHandle {
    serve(TcpListener::bind("127.0.0.1:0").unwrap(), service, None).unwrap()
}

fn fast() -> Config {
    let mut c = Config::default();
    c.reconnection_time = Duration::from_millis(20);
    c
}

/// The data of the next message, skipping other notifications.
fn next_data(es: &mut impl Iterator<Item = Notification>) -> String {
    for n in es.by_ref() {
        if let Notification::Message(m) = n {
            return m.event.data().to_string();
        }
    }
    panic!("stream ended");
}

/// Publishes `data` once a subscriber is connected (retrying until one is).
fn publish_when_connected(server: &ServerHandle, hub: &Hub, data: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.connections() == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    thread::sleep(Duration::from_millis(50));
    for d in data {
        hub.publish(&Message::new(d)).unwrap();
    }
}

#[test]
fn broadcast_then_resume_by_last_event_id() {
    within(|| {
        let hub = Hub::new(LogLimits::default());
        let server = start(Service::new(hub.clone(), "/events"));
        let url = format!("http://{}/events", server.local_addr());
        let mut es = EventSource::new(&url, fast()).unwrap();
        assert_eq!(es.next(), Some(Notification::Open));
        publish_when_connected(&server, &hub, &["a", "b", "c"]);
        assert_eq!([next_data(&mut es), next_data(&mut es)], ["a", "b"]);
        es.close();
        assert_eq!(es.next(), None);
        assert_eq!(es.ready_state(), ReadyState::Closed);

        // A new client that saw event 2 gets event 3, then live ones.
        let mut config = fast();
        config.last_event_id = "2".into();
        let mut es = EventSource::new(&url, config).unwrap();
        assert_eq!(next_data(&mut es), "c");
        hub.publish(&Message::new("d")).unwrap();
        assert_eq!(next_data(&mut es), "d");
        assert_eq!(es.last_event_id().as_str(), "4");
    })
}

/// A scripted server: each connection gets the next response, then closes.
fn script(responses: Vec<String>) -> (String, std::sync::mpsc::Receiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/s", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        for response in responses {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut head = Vec::new();
            let mut reader = BufReader::new(s.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                head.push(line.trim_end().to_string());
            }
            let _ = tx.send(head);
            let _ = s.write_all(response.as_bytes());
        }
    });
    (url, rx)
}

#[test]
fn reconnects_with_last_event_id_and_204_stops() {
    within(|| {
        let ok = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
        let (url, heads) = script(vec![
            format!("{ok}retry: 10\nid: 7\ndata: x\n\n"),
            "HTTP/1.1 204 No Content\r\n\r\n".into(),
        ]);
        let got: Vec<String> = EventSource::new(&url, fast())
            .unwrap()
            .map(|n| match n {
                Notification::Open => "open".into(),
                Notification::Message(m) => format!("{}@{}", m.event.data(), m.event.id()),
                Notification::Error {
                    reconnecting,
                    error,
                } => format!("{reconnecting}:{error}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            [
                "open".to_string(),
                "x@7".into(),
                "true:stream ended".into(),
                format!("false:{}", ClientError::NoContent)
            ]
        );
        let heads: Vec<Vec<String>> = heads.try_iter().collect();
        assert!(
            heads[1].contains(&"Last-Event-ID: 7".to_string()),
            "{heads:?}"
        );
    })
}

#[test]
fn close_handle_interrupts_a_blocked_next() {
    within(|| {
        let hub = Hub::new(LogLimits::default());
        let server = start(Service::new(hub, "/events"));
        let mut es =
            EventSource::new(&format!("http://{}/events", server.local_addr()), fast()).unwrap();
        assert_eq!(es.next(), Some(Notification::Open));
        let handle = es.close_handle();
        let started = Instant::now();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            handle.close();
        });
        assert_eq!(es.next(), None);
        assert!(started.elapsed() < Duration::from_secs(5));
    })
}

/// A client that stops reading holds publishing up only for its lag
/// window, and a client that reads gets every event, in order, on one
/// connection (it is never dropped, however far behind the log it is).
/// The two are served by two servers of one hub so that each has its own
/// lag window: the reader's is longer than the test may last, so what it
/// gets cannot depend on how the threads are scheduled.
#[test]
fn keep_alive_and_a_stalled_reader_does_not_block_others() {
    within(|| {
        const EVENTS: usize = 200;
        // The log holds 15 of these events: the reader falls out of it.
        let hub = Hub::new(LogLimits {
            max_events: 64,
            max_bytes: 1 << 20,
        });
        let mut service = Service::new(hub.clone(), "/events");
        service.config.keep_alive = Some(Duration::from_millis(50));
        service.config.lag_window = Duration::from_millis(300);
        let server = start(service.clone());
        service.config.lag_window = LIMIT * 10;
        let readers = start(service);
        // A client that takes the head and then never reads.
        let (stalled, _) = raw_subscriber(&server);
        let mut es =
            EventSource::new(&format!("http://{}/events", readers.local_addr()), fast()).unwrap();
        assert_eq!(es.next(), Some(Notification::Open));
        let big = "x".repeat(64 * 1024);
        let reader = thread::spawn(move || {
            let mut bytes = 0;
            for seq in 1..=EVENTS {
                match es.next() {
                    Some(Notification::Message(m)) => {
                        assert_eq!(m.event.id(), seq.to_string().as_str(), "an event was lost");
                        bytes += m.event.data().len();
                    }
                    other => panic!("after {} events the reader got {other:?}", seq - 1),
                }
            }
            bytes
        });
        for _ in 0..EVENTS {
            hub.publish(&Message::new(&big)).unwrap();
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(reader.join().unwrap(), EVENTS * big.len());
        drop(stalled);

        // Keep-alive comments on an idle stream.
        let (mut raw, mut got) = raw_subscriber(&server);
        read_until(&mut raw, &mut got, "\r\n\r\n:\n:\n");
    })
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn shutdown_ends_every_connection_and_thread() {
    within(|| {
        let before = threads();
        let hub = Hub::new(LogLimits::default());
        let server = start(Service::new(hub, "/events"));
        let addr = server.local_addr();
        let clients: Vec<TcpStream> = (0..3)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
                    .unwrap();
                s
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.connections() < 3 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(server.connections(), 3);
        server.shutdown();
        for mut c in clients {
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut rest = Vec::new();
            // The server closed it: read_to_end returns.
            c.read_to_end(&mut rest).unwrap();
        }
        assert!(TcpStream::connect(addr).is_err(), "still accepting");
        // Other tests run in parallel: allow for their threads, not ours.
        let deadline = Instant::now() + Duration::from_secs(5);
        while threads() > before + 8 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert!(threads() <= before + 8);
    })
}

/// A TLS server for `localhost` with a self-signed certificate made here,
/// its hub, and a client configuration that trusts only that certificate.
fn tls_server() -> (ServerHandle, Hub, rustls::ClientConfig) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    let hub = Hub::new(LogLimits::default());
    let server = serve(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        Service::new(hub.clone(), "/events"),
        Some(Arc::new(server_tls)),
    )
    .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let client_tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (server, hub, client_tls)
}

#[test]
fn tls_end_to_end_with_a_self_signed_certificate() {
    within(|| {
        let (server, hub, client_tls) = tls_server();
        let url = format!("https://localhost:{}/events", server.local_addr().port());
        let mut es = EventSource::with_parts(
            &url,
            fast(),
            TcpConnector::with_tls(client_tls),
            SystemClock::default(),
        )
        .unwrap();
        assert_eq!(es.next(), Some(Notification::Open));
        publish_when_connected(&server, &hub, &["secret"]);
        assert_eq!(next_data(&mut es), "secret");

        // Without the certificate among its roots, the client refuses.
        let mut es = EventSource::new(&url, fast()).unwrap();
        match es.next() {
            Some(Notification::Error {
                reconnecting: true,
                error: ClientError::ConnectFailed(e),
            }) => {
                assert_eq!(e, sse_core::client::TransportError::Tls)
            }
            other => panic!("{other:?}"),
        }
    })
}

/// Opens the stream with a plain socket and returns it once the head is read.
fn raw_subscriber(server: &ServerHandle) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(server.local_addr()).unwrap();
    s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the head");
        got.extend_from_slice(&buf[..n]);
    }
    (s, got)
}

/// Reads from `s` until what was read contains `want`.
fn read_until(s: &mut TcpStream, got: &mut Vec<u8>, want: &str) {
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(got).contains(want) {
        let n = s.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed before {want:?}: {}",
            String::from_utf8_lossy(got)
        );
        got.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn two_subscribers_get_every_broadcast() {
    within(|| {
        let hub = Hub::new(LogLimits::default());
        let mut service = Service::new(hub.clone(), "/events");
        service.config.keep_alive = None;
        let server = start(service);
        let (mut a, mut got_a) = raw_subscriber(&server);
        let (mut b, mut got_b) = raw_subscriber(&server);
        hub.publish(&Message::new("one")).unwrap();
        hub.publish(&Message::new("two").event("news")).unwrap();
        let wire = "id: 1\ndata: one\n\nid: 2\nevent: news\ndata: two\n\n";
        read_until(&mut a, &mut got_a, wire);
        read_until(&mut b, &mut got_b, wire);
        assert_eq!(server.connections(), 2);
    })
}

/// `on_stream` gets a sender to each subscriber: what it sends reaches
/// that one alone, and once its client is gone a send says so.
#[test]
fn a_sender_reaches_one_subscriber_and_fails_once_it_is_gone() {
    within(|| {
        let hub = Hub::new(LogLimits::default());
        let mut service = Service::new(hub.clone(), "/events");
        service.config.keep_alive = None;
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        service.on_stream = Some(Arc::new(move |_, sender| {
            let _ = tx.lock().unwrap().send(sender);
        }));
        let server = start(service);
        let (mut a, mut got_a) = raw_subscriber(&server);
        let to_a = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let (mut b, mut got_b) = raw_subscriber(&server);
        let _to_b = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        to_a.send(&Message::new("only a")).unwrap();
        hub.publish(&Message::new("all")).unwrap();
        read_until(&mut a, &mut got_a, "data: all\n\n");
        read_until(&mut b, &mut got_b, "data: all\n\n");
        assert!(String::from_utf8_lossy(&got_a)
            .ends_with("\r\n\r\ndata: only a\n\nid: 1\ndata: all\n\n"));
        assert!(String::from_utf8_lossy(&got_b).ends_with("\r\n\r\nid: 1\ndata: all\n\n"));
        drop(a);
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.connections() > 1 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            to_a.send(&Message::new("late")),
            Err(sse_core::server::SendError::Closed(
                sse_core::server::CloseReason::Finished
            ))
        );
    })
}

#[test]
fn a_client_that_leaves_is_noticed_without_any_write() {
    within(|| {
        let hub = Hub::new(LogLimits::default());
        let mut service = Service::new(hub, "/events");
        service.config.keep_alive = None; // nothing is ever written after the head
        let server = start(service);
        let (s, _) = raw_subscriber(&server);
        assert_eq!(server.connections(), 1);
        drop(s);
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.connections() > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(server.connections(), 0);
    })
}

#[test]
fn other_paths_and_methods_get_complete_answers() {
    within(|| {
        let mut service = Service::new(Hub::default(), "/events");
        service.other = Some(Arc::new(|head| {
            (head.path() == "/").then(|| {
                sse_core::endpoint::respond(200, &[("Content-Type", "text/html")], b"<p>hi</p>")
            })
        }));
        let server = start(service);
        let ask = |request: &[u8]| {
            let mut s = TcpStream::connect(server.local_addr()).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.write_all(request).unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            String::from_utf8(got).unwrap()
        };
        let page = ask(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(
            page.starts_with("HTTP/1.1 200 OK\r\n") && page.ends_with("<p>hi</p>"),
            "{page}"
        );
        assert!(ask(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").starts_with("HTTP/1.1 404"));
        // A request body the server never reads must not reset the answer away.
        let body = "x".repeat(100_000);
        let post = format!(
            "POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        assert!(ask(post.as_bytes()).starts_with("HTTP/1.1 405"));
        let head = ask(b"HEAD /events HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"));
        assert!(head.ends_with("\r\n\r\n"), "{head}");
    })
}

/// A client that stops reading in the middle of an event is dropped once
/// its socket refused writes for its lag window and its subscriber falls
/// out of the replay log, though its socket takes nothing more.
#[test]
fn a_client_that_stops_reading_mid_event_is_dropped_once_it_lags() {
    within(|| {
        let hub = Hub::new(LogLimits {
            max_events: 2,
            max_bytes: 64 << 20,
        });
        let mut service = Service::new(hub.clone(), "/events");
        service.config.keep_alive = None;
        service.config.lag_window = Duration::from_millis(300);
        let server = start(service);
        let (paused, _) = raw_subscriber(&server);
        assert_eq!(server.connections(), 1);
        // More than the socket buffers hold: the write stops part way.
        hub.publish(&Message::new(&"x".repeat(16 << 20))).unwrap();
        thread::sleep(Duration::from_millis(100));
        // Its next event (2) is not published yet: whatever its window, it
        // does not lag.
        assert_eq!(server.connections(), 1, "stuck, not dropped");
        // These wait until the stream took the start of event 1 (the hub holds
        // it); then 3 and 4 push 2 out of the log.
        for d in ["2", "3", "4"] {
            hub.publish(&Message::new(d)).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.connections() > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(server.connections(), 0, "the lagging stream was dropped");
        drop(paused);
    })
}

/// A proxy on 127.0.0.1 that relays one request per connection (a
/// `CONNECT` tunnel, or an absolute-form request rewritten to origin form)
/// and reports each request line.
fn proxy() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        for mut client in listener.incoming().flatten() {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && client.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let (line, fields) = head.split_once("\r\n").unwrap();
            let _ = tx.send(line.to_owned());
            let mut words = line.split(' ');
            let (method, target) = (words.next().unwrap(), words.next().unwrap());
            let mut upstream = if method == "CONNECT" {
                let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                TcpStream::connect(target).unwrap()
            } else {
                let rest = target.strip_prefix("http://").unwrap();
                let (authority, path) = rest.split_at(rest.find('/').unwrap());
                let mut upstream = TcpStream::connect(authority).unwrap();
                let _ = write!(upstream, "{method} {path} HTTP/1.1\r\n{fields}");
                upstream
            };
            let (mut from_up, mut to_client) =
                (upstream.try_clone().unwrap(), client.try_clone().unwrap());
            thread::spawn(move || std::io::copy(&mut from_up, &mut to_client));
            thread::spawn(move || std::io::copy(&mut client, &mut upstream));
        }
    });
    (url, rx)
}

#[test]
fn through_a_proxy_forward_for_http_and_tunnelled_for_https() {
    within(|| {
        use sse_core::proxy::{Proxies, Proxy};
        let (proxy_url, relayed) = proxy();
        let proxies = || Proxies::all(Proxy::parse(&proxy_url).unwrap());

        let hub = Hub::new(LogLimits::default());
        let server = start(Service::new(hub.clone(), "/events"));
        let url = format!("http://{}/events", server.local_addr());
        let connector = TcpConnector::default().with_proxies(proxies());
        let mut es =
            EventSource::with_parts(&url, fast(), connector, SystemClock::default()).unwrap();
        assert_eq!(es.next(), Some(Notification::Open));
        publish_when_connected(&server, &hub, &["forwarded"]);
        assert_eq!(next_data(&mut es), "forwarded");
        assert_eq!(relayed.try_recv().unwrap(), format!("GET {url} HTTP/1.1"));

        let (server, hub, client_tls) = tls_server();
        let port = server.local_addr().port();
        let url = format!("https://localhost:{port}/events");
        let connector = TcpConnector::with_tls(client_tls).with_proxies(proxies());
        let mut es =
            EventSource::with_parts(&url, fast(), connector, SystemClock::default()).unwrap();
        assert_eq!(es.next(), Some(Notification::Open));
        publish_when_connected(&server, &hub, &["tunnelled"]);
        assert_eq!(next_data(&mut es), "tunnelled");
        assert_eq!(
            relayed.try_recv().unwrap(),
            format!("CONNECT localhost:{port} HTTP/1.1")
        );
    })
}
