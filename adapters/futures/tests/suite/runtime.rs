//! A runtime adapter over loopback (shared by `sse-smol` and
//! `sse-async-std`, whose `tests/loopback.rs` say which runtime `rt` is):
//! raw socket clients against its server,
//! its EventSource against its server, TLS end to end, graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use super::rt::{self, TcpStream};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt, StreamExt};
use rt::adapter::server::{ServerHandle, Service, SharedHub};
use rt::adapter::tls::{rustls::pki_types::PrivateKeyDer, ClientTls};
use rt::adapter::{Connector, EventSource};
use sse_core::client::{ClientError, Config as ClientConfig, Notification, TransportError};
use sse_core::encode::Message;
use sse_core::endpoint::Endpoint;
use sse_core::server::Config;

/// Runs `f` with a time limit (checked first: a wake-up by the limit's
/// timer must not let `f` finish late).
fn within<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    let limit = async {
        rt::sleep(Duration::from_secs(secs)).await;
        panic!("timed out after {secs} s")
    };
    rt::block_on(future::or(limit, f))
}

fn service(hub: &SharedHub) -> Service {
    Service::new(Endpoint::new("/events"), hub.clone())
}

async fn start(service: Service) -> (ServerHandle, SocketAddr) {
    let server = rt::adapter::serve("127.0.0.1:0", service).await.unwrap();
    let addr = server.local_addr().unwrap();
    (server, addr)
}

async fn send(addr: SocketAddr, request: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    tcp
}

/// Reads until `needle` has arrived; returns everything read.
async fn read_until(tcp: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

async fn read_to_end(tcp: &mut TcpStream) -> String {
    let mut text = String::new();
    let _ = tcp.read_to_string(&mut text).await;
    text
}

#[test]
fn broadcast_to_two_subscribers_and_resume_by_last_event_id() {
    within(10, async {
        let hub = SharedHub::default();
        let (server, addr) = start(service(&hub)).await;
        let mut a = send(addr, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let mut b = send(addr, "GET /events?last_event_id=x HTTP/1.1\r\n\r\n").await;
        for tcp in [&mut a, &mut b] {
            let head = read_until(tcp, "\r\n\r\n").await;
            assert!(head.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"));
        }
        hub.try_publish(&Message::new("one")).unwrap();
        hub.try_publish(&Message::new("two").event("n")).unwrap();
        for tcp in [&mut a, &mut b] {
            let text = read_until(tcp, "data: two\n\n").await;
            assert!(
                text.ends_with("id: 1\ndata: one\n\nid: 2\nevent: n\ndata: two\n\n"),
                "{text}"
            );
        }
        let mut c = send(addr, "GET /events HTTP/1.1\r\nLast-Event-ID: 1\r\n\r\n").await;
        let text = read_until(&mut c, "data: two\n\n").await;
        assert!(text.contains("Last-Event-ID: 1\r\n"), "{text}");
        assert!(
            text.ends_with("\r\n\r\nid: 2\nevent: n\ndata: two\n\n"),
            "{text}"
        );
        server.shutdown_and_wait().await;
    });
}

/// Keep-alives on this runtime's timer: after the head the body is the
/// retry hint, then keep-alive comments only, and never more than one per
/// idle interval: the n-th comment reaches the client at least n intervals
/// after the request was sent (the stream opened after that, and each
/// deadline fires no earlier than its time). A test task that runs late
/// reads several at once, each due at its own time; so this checks each
/// comment's arrival, not how many one read returns. That exactly one is
/// written per interval, also after a long stall, is checked on a virtual
/// clock by the conformance fixtures `keep-alive-*` for every adapter.
#[test]
fn keep_alive_with_a_short_interval() {
    within(10, async {
        const INTERVAL: Duration = Duration::from_millis(100);
        let hub = SharedHub::default();
        let config = Config {
            keep_alive: Some(INTERVAL),
            retry: Some(250),
            ..Config::default()
        };
        let (server, addr) = start(service(&hub).config(config)).await;
        let sent = std::time::Instant::now();
        let mut tcp = send(addr, "GET /events HTTP/1.1\r\n\r\n").await;
        let mut text = String::new();
        let mut arrived = Vec::new();
        let mut buf = [0u8; 4096];
        while arrived.len() < 2 {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed: {text}");
            let read_at = sent.elapsed();
            text.push_str(std::str::from_utf8(&buf[..n]).unwrap());
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                continue;
            };
            assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
            let Some(comments) = body.strip_prefix("retry: 250\n") else {
                assert!("retry: 250\n".starts_with(body), "{body:?}");
                continue;
            };
            // Only whole `:\n` comments (the last one may be cut short).
            let whole = comments.len() / 2;
            assert_eq!(comments, &":\n".repeat(whole + 1)[..comments.len()]);
            arrived.resize(whole, read_at);
        }
        for (n, at) in (1u32..).zip(&arrived) {
            assert!(
                *at >= INTERVAL * n,
                "keep-alive {n} arrived {at:?} after the request"
            );
        }
        server.shutdown_and_wait().await;
    });
}

#[test]
fn not_found_method_not_allowed_and_cors_preflight() {
    within(10, async {
        let hub = SharedHub::default();
        let plain = service(&hub);
        let (server, addr) = start(plain).await;
        let mut tcp = send(addr, "GET /other HTTP/1.1\r\n\r\n").await;
        assert!(read_to_end(&mut tcp)
            .await
            .starts_with("HTTP/1.1 404 Not Found\r\n"));
        let mut tcp = send(addr, "DELETE /events HTTP/1.1\r\n\r\n").await;
        let text = read_to_end(&mut tcp).await;
        assert!(
            text.starts_with("HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"),
            "{text}"
        );
        let mut tcp = send(addr, "OPTIONS /events HTTP/1.1\r\n\r\n").await;
        assert!(read_to_end(&mut tcp).await.starts_with("HTTP/1.1 405"));
        server.shutdown_and_wait().await;

        let mut cors = service(&hub);
        cors.endpoint.cors = Some("https://app.example".into());
        let (server, addr) = start(cors).await;
        let mut tcp = send(
            addr,
            "OPTIONS /events HTTP/1.1\r\nOrigin: https://app.example\r\n\r\n",
        )
        .await;
        let text = read_to_end(&mut tcp).await;
        assert!(text.starts_with("HTTP/1.1 204 No Content\r\n"), "{text}");
        assert!(
            text.contains("Access-Control-Allow-Origin: https://app.example\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Access-Control-Allow-Headers: Last-Event-ID"),
            "{text}"
        );
        let mut tcp = send(addr, "GET /events HTTP/1.1\r\n\r\n").await;
        let text = read_until(&mut tcp, "\r\n\r\n").await;
        assert!(
            text.contains("Access-Control-Allow-Origin: https://app.example\r\n"),
            "{text}"
        );
        server.shutdown_and_wait().await;
    });
}

fn client_config() -> ClientConfig {
    let mut config = ClientConfig::default();
    config.reconnection_time = Duration::from_millis(300);
    config
}

/// The next message's (data, last event ID), skipping other notifications.
async fn next_message(es: &mut EventSource) -> (String, String) {
    loop {
        match es.next().await {
            Some(Notification::Message(m)) => {
                return (m.event.data().to_string(), m.event.id().to_string())
            }
            Some(_) => {}
            None => panic!("event source ended"),
        }
    }
}

#[test]
fn event_source_opens_and_resumes_after_the_server_drops_it() {
    within(15, async {
        let hub = SharedHub::default();
        let (server, addr) = start(service(&hub)).await;
        let url = format!("http://{addr}/events");
        let mut es = rt::adapter::open(&url, client_config()).unwrap();
        assert!(matches!(es.next().await, Some(Notification::Open)));
        hub.try_publish(&Message::new("a")).unwrap();
        assert_eq!(next_message(&mut es).await, ("a".into(), "1".into()));
        // Drop every stream, then publish while the client waits to
        // reconnect: only a resume by Last-Event-ID delivers "b".
        hub.end_streams();
        hub.try_publish(&Message::new("b")).unwrap();
        match es.next().await {
            Some(Notification::Error {
                reconnecting: true, ..
            }) => {}
            other => panic!("expected a reconnecting error, got {other:?}"),
        }
        assert!(matches!(es.next().await, Some(Notification::Open)));
        assert_eq!(next_message(&mut es).await, ("b".into(), "2".into()));
        assert_eq!(server.connections(), 1);
        drop(es);
        server.shutdown_and_wait().await;
    });
}

#[test]
fn tls_end_to_end_with_a_self_signed_certificate() {
    within(15, async {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let der = cert.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
        let tls = rt::adapter::tls::server_config(vec![der.clone()], key).unwrap();
        let hub = SharedHub::default();
        hub.try_publish(&Message::new("secret")).unwrap();
        let server = rt::adapter::serve_tls("127.0.0.1:0", tls, service(&hub))
            .await
            .unwrap();
        let port = server.local_addr().unwrap().port();
        let url = format!("https://localhost:{port}/events?last_event_id=earliest");

        let trusting = ClientTls::builder()
            .without_webpki_roots()
            .root(der)
            .build()
            .unwrap();
        let mut es =
            rt::adapter::open_with(&url, client_config(), Connector::with_tls(trusting)).unwrap();
        assert_eq!(next_message(&mut es).await, ("secret".into(), "1".into()));

        // Mozilla's roots do not vouch for it: a TLS failure, reconnecting.
        let mut doubting = rt::adapter::open(&url, client_config()).unwrap();
        match doubting.next().await {
            Some(Notification::Error {
                reconnecting: true,
                error,
            }) => {
                assert_eq!(error, ClientError::ConnectFailed(TransportError::Tls))
            }
            other => panic!("expected a tls error, got {other:?}"),
        }
        drop((es, doubting));
        server.shutdown_and_wait().await;
    });
}

#[test]
fn graceful_shutdown_leaves_no_task_or_socket_behind() {
    within(15, async {
        let hub = SharedHub::default();
        let (server, addr) = start(service(&hub)).await;
        let mut streaming = Vec::new();
        for _ in 0..2 {
            let mut tcp = send(addr, "GET /events HTTP/1.1\r\n\r\n").await;
            read_until(&mut tcp, "\r\n\r\n").await;
            streaming.push(tcp);
        }
        // A client that never sends its request head.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        while server.connections() < 3 {
            rt::sleep(Duration::from_millis(5)).await;
        }
        let ended = server.clone();
        ended.shutdown_and_wait().await;
        assert_eq!(server.connections(), 0);
        for tcp in &mut streaming {
            assert_eq!(read_to_end(tcp).await, "");
        }
        assert_eq!(read_to_end(&mut silent).await, "");
        assert!(TcpStream::connect(addr).await.is_err(), "the port refuses");
    });
}

/// A client that stops reading in the middle of an event is dropped, on
/// this runtime's listener, once its socket refused writes for its lag
/// window and its subscriber falls out of the log (the exact timing is
/// checked on a virtual clock in `sse-futures`' tests).
#[test]
fn a_client_that_stops_reading_mid_event_is_dropped_once_it_lags() {
    within(30, async {
        use sse_core::replay::LogLimits;
        let hub = SharedHub::new(LogLimits {
            max_events: 2,
            max_bytes: 64 << 20,
        });
        let config = Config {
            keep_alive: None,
            lag_window: Duration::from_millis(300),
            ..Config::default()
        };
        let (server, addr) = start(service(&hub).config(config)).await;
        let mut paused = send(addr, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n").await;
        read_until(&mut paused, "\r\n\r\n").await;
        assert_eq!(server.connections(), 1);
        // More than the socket buffers hold: the write stops part way.
        hub.try_publish(&Message::new(&"x".repeat(16 << 20)))
            .unwrap();
        // These wait until the stream took (part of) the big one; then
        // event 2 is out of the log [3, 4].
        for d in ["2", "3", "4"] {
            hub.publish(&Message::new(d)).await.unwrap();
        }
        while server.connections() > 0 {
            rt::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(hub.with_hub(|h| h.backlog().events), 0, "let go");
        drop(paused);
        server.shutdown_and_wait().await;
    });
}

/// A burst of ten times the log through this runtime's listener reaches a
/// client that reads, whole (the publisher waits for it when the backlog
/// is full), and the client is never dropped.
#[test]
fn a_burst_reaches_a_reading_client_whole() {
    within(30, async {
        use sse_core::hub::{BacklogLimits, Hub};
        use sse_core::replay::LogLimits;
        let hub = SharedHub::from_hub(
            Hub::new(LogLimits {
                max_events: 100,
                max_bytes: 1 << 20,
            })
            .with_backlog(BacklogLimits {
                max_events: 200,
                max_bytes: 1 << 20,
            }),
        );
        let (server, addr) = start(service(&hub)).await;
        let mut client = send(addr, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n").await;
        read_until(&mut client, "\r\n\r\n").await;
        let reading = async {
            let text = read_until(&mut client, "id: 1000\ndata: 1000\n\n").await;
            let mut parser = sse_core::parse::Parser::new();
            parser.handle_bytes(text.as_bytes());
            let mut got = Vec::new();
            while let Some(e) = parser.poll_event() {
                got.push(e.unwrap().data().to_string());
            }
            got
        };
        let publishing = async {
            for i in 1..=1000 {
                hub.publish(&Message::new(&i.to_string())).await.unwrap();
            }
        };
        let (got, ()) = future::zip(reading, publishing).await;
        let want: Vec<String> = (1..=1000).map(|i| i.to_string()).collect();
        assert_eq!(got, want);
        assert_eq!(server.connections(), 1, "never dropped");
        server.shutdown_and_wait().await;
    });
}
