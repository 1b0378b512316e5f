//! What the tokio adapter adds to the shared suite (`loopback.rs`): hyper
//! serving HTTP/1.1 for an application (`sse_tokio::http::serve`: keep-alive,
//! the endpoint's other answers), HTTP/2 by ALPN over TLS, an axum 0.8 app,
//! graceful shutdown with HTTP/2 streams open, serving outside a runtime.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures_lite::StreamExt;
use sse_core::client::{ClientError, Config as ClientConfig, Notification, TransportError};
use sse_core::encode::Message;
use sse_core::server::Config;
use sse_tokio::server::SharedHub;
use sse_tokio::tls::{rustls::pki_types::PrivateKeyDer, ClientTls};
use sse_tokio::{Connector, EventSource};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

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

async fn read_to_end(tcp: &mut TcpStream) -> String {
    let mut text = String::new();
    let _ = tcp.read_to_string(&mut text).await;
    text
}

#[tokio::test]
async fn keep_alive_and_retry_over_hyper() {
    within(10, async {
        let hub = SharedHub::default();
        let config = Config {
            keep_alive: Some(Duration::from_millis(100)),
            retry: Some(250),
            ..Config::default()
        };
        let (server, addr) = start_hyper(service(&hub, &Streams::default()).config(config)).await;
        let mut tcp = send(addr, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let text = read_until(&mut tcp, ":\n\r\n").await;
        assert!(text.contains("\r\n\r\nB\r\nretry: 250\n\r\n"), "{text}");
        assert!(text.ends_with("\r\n2\r\n:\n\r\n"), "{text}");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn not_found_method_not_allowed_head_and_cors_preflight_over_hyper() {
    within(10, async {
        let hub = SharedHub::default();
        let (server, addr) = start_hyper(service(&hub, &Streams::default())).await;
        let close = "Host: x\r\nConnection: close\r\n\r\n";
        let mut tcp = send(addr, &format!("GET /other HTTP/1.1\r\n{close}")).await;
        let text = read_to_end(&mut tcp).await;
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nnot found\n"), "{text}");
        let mut tcp = send(addr, &format!("DELETE /events HTTP/1.1\r\n{close}")).await;
        let text = read_to_end(&mut tcp).await;
        assert!(
            text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{text}"
        );
        assert!(text.contains("allow: GET, HEAD\r\n"), "{text}");
        let mut tcp = send(addr, &format!("HEAD /events HTTP/1.1\r\n{close}")).await;
        let text = read_to_end(&mut tcp).await;
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(
            text.contains("content-type: text/event-stream\r\n"),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\n"), "a head alone: {text}");
        server.shutdown_and_wait().await;

        let mut cors = service(&hub, &Streams::default());
        cors.endpoint.cors = Some("https://app.example".into());
        let (server, addr) = start_hyper(cors).await;
        let preflight =
            format!("OPTIONS /events HTTP/1.1\r\nOrigin: https://app.example\r\n{close}");
        let mut tcp = send(addr, &preflight).await;
        let text = read_to_end(&mut tcp).await;
        assert!(text.starts_with("HTTP/1.1 204 No Content\r\n"), "{text}");
        assert!(
            text.contains("access-control-allow-origin: https://app.example\r\n"),
            "{text}"
        );
        let mut tcp = send(addr, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let text = read_until(&mut tcp, "\r\n\r\n").await;
        assert!(
            text.contains("access-control-allow-origin: https://app.example\r\n"),
            "{text}"
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

fn self_signed() -> (
    Arc<sse_tokio::rustls::ServerConfig>,
    sse_tokio::rustls::pki_types::CertificateDer<'static>,
) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = cert.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    (
        sse_tokio::tls::server_config(vec![der.clone()], key).unwrap(),
        der,
    )
}

#[tokio::test]
async fn tls_end_to_end_with_a_self_signed_certificate() {
    within(15, async {
        let (tls, der) = self_signed();
        let hub = SharedHub::default();
        hub.publish(&Message::new("secret")).await.unwrap();
        let server = sse_tokio::serve_tls("127.0.0.1:0", tls, service(&hub, &Streams::default()))
            .await
            .unwrap();
        let port = server.local_addr().unwrap().port();
        let url = format!("https://localhost:{port}/events?last_event_id=earliest");

        let trusting = ClientTls::builder()
            .without_webpki_roots()
            .root(der.clone())
            .build()
            .unwrap();
        let mut es =
            sse_tokio::open_with(&url, client_config(), Connector::with_tls(trusting)).unwrap();
        assert_eq!(next_message(&mut es).await, ("secret".into(), "1".into()));

        // Mozilla's roots do not vouch for it: a TLS failure, reconnecting.
        let mut doubting = sse_tokio::open(&url, client_config()).unwrap();
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

        // A client offering h2 by ALPN gets HTTP/2 on the same port.
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        roots.add(der).unwrap();
        let mut config =
            tokio_rustls::rustls::ClientConfig::builder_with_provider(sse_tokio::tls::provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let name = "localhost".try_into().unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let (send, conn) = h2::client::handshake(tls).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let (status, mut body) = h2_get(&send, "/events?last_event_id=earliest", &[]).await;
        assert_eq!(status, 200);
        assert_eq!(
            h2_read_until(&mut body, "secret").await,
            "id: 1\ndata: secret\n\n"
        );
        drop((body, send));
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn graceful_shutdown_ends_every_stream_and_closes_the_port() {
    within(15, async {
        let hub = SharedHub::default();
        let streams = Streams::default();
        let (server, addr) = start(service(&hub, &streams)).await;
        let mut h1 = Vec::new();
        for _ in 0..2 {
            let mut tcp = send(addr, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n").await;
            read_until(&mut tcp, "\r\n\r\n").await;
            h1.push(tcp);
        }
        let conn = h2c(addr).await;
        let (_, mut h2_body) = h2_get(&conn, "/events", &[]).await;
        // A client that never sends its request.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        streams.opened_at_least(3).await;
        while server.connections() < 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.shutdown_and_wait().await;
        assert_eq!(server.connections(), 0);
        // Every stream's subscription is gone, HTTP/2 ones (run in tasks of
        // their own) too.
        streams.all_closed().await;
        for tcp in &mut h1 {
            read_to_end(tcp).await;
        }
        assert_eq!(read_to_end(&mut silent).await, "");
        assert!(!matches!(h2_body.data().await, Some(Ok(_))));
        assert!(TcpStream::connect(addr).await.is_err(), "the port refuses");
    })
    .await;
}

/// An axum 0.8 app: a handler returns `sse_http::respond`'s response, and
/// the app is served by the tokio listener (HTTP/1.1 and HTTP/2).
#[tokio::test]
async fn an_axum_handler_streams_the_hub() {
    use axum::extract::{Request, State};
    use axum::routing::get;
    within(15, async {
        let hub = SharedHub::default();
        let service = service(&hub, &Streams::default());
        async fn events(
            State(service): State<sse_tokio::server::Service>,
            req: Request,
        ) -> impl axum::response::IntoResponse {
            sse_tokio::sse_http::respond(&req, &service, sse_tokio::Timer::new()).await
        }
        let app = axum::Router::new()
            .route("/events", get(events))
            .route("/hello", get(|| async { "hello" }))
            .with_state(service);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = hyper_util::service::TowerToHyperService::new(app);
        let server = sse_tokio::http::serve(listener, None, app).unwrap();
        let addr = server.local_addr().unwrap();

        let mut es = sse_tokio::open(&format!("http://{addr}/events"), client_config()).unwrap();
        assert!(matches!(es.next().await, Some(Notification::Open)));
        let conn = h2c(addr).await;
        let (status, mut body) = h2_get(&conn, "/events", &[]).await;
        assert_eq!(status, 200);
        hub.publish(&Message::new("from axum")).await.unwrap();
        assert_eq!(
            next_message(&mut es).await,
            ("from axum".into(), "1".into())
        );
        assert_eq!(
            h2_read_until(&mut body, "axum").await,
            "id: 1\ndata: from axum\n\n"
        );
        let mut tcp = send(
            addr,
            "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(read_to_end(&mut tcp).await.ends_with("\r\n\r\nhello"));
        drop((es, body, conn));
        server.shutdown_and_wait().await;
    })
    .await;
}

/// Outside a runtime the listeners say so instead of panicking.
#[test]
fn serving_outside_a_runtime_is_an_error() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let service = service(&SharedHub::default(), &Streams::default());
    let err = sse_tokio::serve_listener(listener, service).unwrap_err();
    assert!(err.to_string().contains("runtime"), "{err}");
}
