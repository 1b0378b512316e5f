//! What users get from reqwest, shown on loopback rather than assumed:
//! HTTP/2 (ALPN over TLS, and h2c by prior knowledge), a private CA, and
//! an HTTP proxy (forward for `http://`, `CONNECT` for `https://`) that
//! counts the requests it relays.

mod support;

use hyper::Version;
use sse_reqwest::sse_core::client::Notification;
use sse_reqwest::EventSource;
use support::{client_builder, config, events, private_ca, proxy, serve, take_until, within, End};

fn is_message(data: &'static str) -> impl FnMut(&Notification) -> bool {
    move |n| matches!(n, Notification::Message(m) if m.event.data() == data)
}

#[tokio::test]
async fn http2_over_tls_with_a_private_ca() {
    let pki = private_ca();
    let server = serve(Some(pki.acceptor), |_, _| {
        events(&["id: 1\ndata: one\n\n", "data: two\n\n"], End::Hang)
    })
    .await;
    let client = client_builder().tls_certs_only([pki.ca]).build().unwrap();
    let mut es = EventSource::with_client(client, &server.url("/events"), config()).unwrap();
    let got = within("two messages", take_until(&mut es, is_message("two"))).await;
    assert_eq!(got, ["open", "message one id=1", "message two id=1"]);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].version, Version::HTTP_2, "ALPN chose HTTP/2");
    assert_eq!(seen[0].header("accept"), Some("text/event-stream"));
    assert_eq!(seen[0].header("cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn a_server_outside_the_trusted_roots_is_a_tls_failure() {
    let trusted = private_ca();
    let other = private_ca();
    let server = serve(Some(other.acceptor), |_, _| {
        events(&["data: x\n\n"], End::Hang)
    })
    .await;
    let client = client_builder()
        .tls_certs_only([trusted.ca])
        .build()
        .unwrap();
    let mut es = EventSource::with_client(client, &server.url("/events"), config()).unwrap();
    let got = within("the failure", take_until(&mut es, |_| true)).await;
    assert_eq!(got, ["error connect_failed(Tls) reconnecting=true"]);
    assert!(server.seen().is_empty(), "no request got through");
}

#[tokio::test]
async fn h2c_by_prior_knowledge() {
    let server = serve(None, |_, _| events(&["data: plain h2\n\n"], End::Hang)).await;
    let client = client_builder().http2_prior_knowledge().build().unwrap();
    let mut es = EventSource::with_client(client, &server.url("/events"), config()).unwrap();
    let got = within("a message", take_until(&mut es, is_message("plain h2"))).await;
    assert_eq!(got, ["open", "message plain h2 id="]);
    assert_eq!(server.seen()[0].version, Version::HTTP_2);
}

#[tokio::test]
async fn an_http_stream_through_a_forward_proxy() {
    let proxy = proxy::start().await;
    // The origin closes each response, so the proxy relays one request per
    // connection; the stream ends and the client reconnects with its
    // last event ID.
    let server = serve(None, |n, _| {
        let mut r = match n {
            0 => events(&["id: 7\ndata: first\n\n"], End::Close),
            _ => events(&["data: second\n\n"], End::Hang),
        };
        r.headers_mut().insert(
            "connection",
            hyper::header::HeaderValue::from_static("close"),
        );
        r
    })
    .await;
    let client = client_builder()
        .proxy(reqwest::Proxy::http(&proxy.url).unwrap())
        .build()
        .unwrap();
    let mut es = EventSource::with_client(client, &server.url("/events"), config()).unwrap();
    let got = within("two connections", take_until(&mut es, is_message("second"))).await;
    assert_eq!(
        got,
        [
            "open",
            "message first id=7",
            "error end_of_stream reconnecting=true",
            "open",
            "message second id=7"
        ]
    );
    assert_eq!(proxy.relayed(), 2, "both requests went through the proxy");
    let target = format!("GET {} HTTP/1.1", server.url("/events"));
    assert_eq!(*proxy.lines.lock().unwrap(), [target.clone(), target]);
    let seen = server.seen();
    assert_eq!(seen[0].header("last-event-id"), None);
    assert_eq!(seen[1].header("last-event-id"), Some("7"));
}

#[tokio::test]
async fn an_https_stream_through_a_connect_tunnel() {
    let pki = private_ca();
    let proxy = proxy::start().await;
    let server = serve(Some(pki.acceptor), |_, _| {
        events(&["data: tunnelled\n\n"], End::Hang)
    })
    .await;
    let client = client_builder()
        .proxy(reqwest::Proxy::https(&proxy.url).unwrap())
        .tls_certs_only([pki.ca])
        .build()
        .unwrap();
    let mut es = EventSource::with_client(client, &server.url("/events"), config()).unwrap();
    let got = within("a message", take_until(&mut es, is_message("tunnelled"))).await;
    assert_eq!(got, ["open", "message tunnelled id="]);
    assert_eq!(proxy.relayed(), 1);
    assert_eq!(
        *proxy.lines.lock().unwrap(),
        [format!("CONNECT 127.0.0.1:{} HTTP/1.1", server.port)]
    );
    // Inside the tunnel, TLS with ALPN: HTTP/2 end to end.
    assert_eq!(server.seen()[0].version, Version::HTTP_2);
}

#[tokio::test]
async fn a_refused_connect_is_reported_and_retried() {
    // A port that refuses: bound, never listening.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/events", socket.local_addr().unwrap());
    let mut es =
        EventSource::with_client(client_builder().build().unwrap(), &url, config()).unwrap();
    let first = within("an error", take_until(&mut es, |_| true)).await;
    let second = within("another", take_until(&mut es, |_| true)).await;
    assert_eq!(first, ["error connect_failed(Refused) reconnecting=true"]);
    assert_eq!(
        second, first,
        "the machine retries after its reconnection time"
    );
    drop(socket);
}
