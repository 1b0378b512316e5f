//! `sse listen` against scripted servers on 127.0.0.1, as a user runs it.

mod peer;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use peer::{listen, listen_env, read_request, stdout, Peer, OK};

/// Serves `responses` to successive connections (each written, then the
/// connection closed); later connections hang. The stream's URL.
fn server(responses: Vec<String>) -> (String, Peer) {
    let peer = Peer::scripted(responses);
    (peer.url("/events"), peer)
}

#[test]
fn json_lines_reconnect_with_last_event_id_and_204_exits_0() {
    let (url, seen) = server(vec![
        format!("{OK}retry: 10\nid: 1\nevent: tick\ndata: a\ndata: b\n\n"),
        format!("{OK}data: c\n\n"),
        "HTTP/1.1 204 No Content\r\n\r\n".into(),
    ]);
    let out = listen(&[
        &url,
        "--json",
        "-H",
        "Authorization: Bearer t",
        "--last-event-id",
        "0",
    ]);
    assert!(out.status.success(), "{out:?}");
    let origin = url.trim_end_matches("/events");
    let expected = [
        r#"{"kind":"open"}"#.to_string(),
        format!(r#"{{"kind":"message","type":"tick","data":"a\nb","id":"1","origin":"{origin}"}}"#),
        r#"{"kind":"error","reconnecting":true,"reason":"end_of_stream","message":"stream ended"}"#.into(),
        r#"{"kind":"open"}"#.into(),
        format!(r#"{{"kind":"message","type":"message","data":"c","id":"1","origin":"{origin}"}}"#),
        r#"{"kind":"error","reconnecting":true,"reason":"end_of_stream","message":"stream ended"}"#.into(),
        r#"{"kind":"error","reconnecting":false,"reason":"no_content","status":204,"message":"server said stop (204 no content)"}"#
            .into(),
    ];
    assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), expected);
    let requests = seen.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].head[0], "GET /events HTTP/1.1");
    assert_eq!(requests[0].header("authorization"), Some("Bearer t"));
    assert_eq!(requests[0].header("last-event-id"), Some("0"));
    assert_eq!(requests[1].header("last-event-id"), Some("1"));
    assert_eq!(requests[2].header("last-event-id"), Some("1"));
}

#[test]
fn max_events_exits_0_after_n_messages() {
    let (url, _) = server(vec![format!("{OK}data: 1\n\ndata: 2\n\ndata: 3\n\n")]);
    let out = listen(&[&url, "--max-events", "2"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "[message] 1\n[message] 2\n");
}

#[test]
fn bad_status_exits_1_with_the_reason() {
    let (url, _) = server(vec![
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope".into(),
    ]);
    let out = listen(&[&url]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unexpected status 404"), "{err}");
}

#[test]
fn post_with_body_is_one_shot() {
    let (url, seen) = server(vec![format!("{OK}data: token\n\n")]);
    let out = listen(&[
        &url,
        "--json",
        "-X",
        "POST",
        "--data",
        "{\"prompt\":\"hi\"}",
    ]);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    assert_eq!(
        lines.first().map(String::as_str),
        Some(r#"{"kind":"open"}"#)
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some(r#"{"kind":"closed"}"#)
    );
    let request = seen.next_request(Duration::from_secs(5)).unwrap();
    assert_eq!(request.head[0], "POST /events HTTP/1.1");
    assert_eq!(request.body, "{\"prompt\":\"hi\"}");
}

#[test]
fn idle_timeout_reconnects() {
    // The first connection sends one event and then nothing.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    thread::spawn(move || {
        let mut held = Vec::new();
        for (i, stream) in listener.incoming().flatten().take(2).enumerate() {
            read_request(&stream);
            let mut s = stream;
            let _ = s.write_all(format!("{OK}retry: 10\ndata: {i}\n\n").as_bytes());
            held.push(s);
        }
        thread::sleep(Duration::from_secs(10));
    });
    let out = listen(&[&url, "--json", "--timeout-ms", "200", "--max-events", "2"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains(r#""message":"stream idle for too long""#),
        "{text}"
    );
    assert!(text.contains(r#""data":"1""#), "{text}");
}

#[test]
fn bad_options_exit_2() {
    let out = listen(&["http://127.0.0.1:1/", "-H", "no colon"]);
    assert_eq!(out.status.code(), Some(2));
    let out = listen(&["not a url"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A TLS event stream server for `localhost` (a self-signed certificate
/// made here) publishing a tick every 50 ms for 5 s, and its publisher.
fn ticking_tls_server() -> (sse_blocking::ServerHandle, thread::JoinHandle<()>) {
    use std::sync::Arc;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let hub = sse_blocking::Hub::default();
    let service = sse_blocking::Service::new(hub.clone(), "/events");
    let server = sse_blocking::serve(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        service,
        Some(Arc::new(tls)),
    )
    .unwrap();
    let publisher = thread::spawn(move || {
        for i in 0..100 {
            let _ = hub.publish(&sse_core::encode::Message::new(&format!("tick {i}")));
            thread::sleep(Duration::from_millis(50));
        }
    });
    (server, publisher)
}

#[test]
fn insecure_accepts_a_self_signed_server_and_the_default_refuses_it() {
    let (server, publisher) = ticking_tls_server();
    let url = format!("https://localhost:{}/events", server.local_addr().port());
    let out = listen(&[&url, "--insecure", "--max-events", "1"]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).starts_with("[message id="), "{out:?}");

    // Without --insecure the certificate is refused; the client keeps
    // retrying, so stop it after the first error line.
    let mut child = peer::sse()
        .args(["listen", &url, "--json", "--retry-ms", "50"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.contains(r#""kind":"error""#) && first.contains("tls"),
        "{first}"
    );
    drop(server);
    let _ = publisher.join();
}

/// A small HTTP proxy on 127.0.0.1, one request per connection: `CONNECT`
/// tunnels and absolute-form requests, relayed as they are; reports each
/// request line with its `Proxy-Authorization`.
fn proxy() -> (String, mpsc::Receiver<(String, Option<String>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let tx = tx.clone();
            thread::spawn(move || {
                let Some(seen) = read_request(&client) else {
                    return;
                };
                let line = seen.head[0].clone();
                let auth = seen.header("proxy-authorization").map(String::from);
                let _ = tx.send((line, auth));
                let (method, target) = (seen.method.as_str(), seen.target.as_str());
                let mut client = client;
                let upstream = if method == "CONNECT" {
                    let upstream = TcpStream::connect(target).unwrap();
                    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                    upstream
                } else {
                    let rest = target.strip_prefix("http://").unwrap();
                    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                    let mut upstream = TcpStream::connect(authority).unwrap();
                    let mut head = format!("{method} {path} HTTP/1.1\r\n");
                    for field in &seen.head[1..] {
                        head.push_str(field);
                        head.push_str("\r\n");
                    }
                    head.push_str("\r\n");
                    let _ = upstream.write_all(head.as_bytes());
                    let _ = upstream.write_all(seen.body.as_bytes());
                    upstream
                };
                let (mut up_read, mut client_write) =
                    (upstream.try_clone().unwrap(), client.try_clone().unwrap());
                let down = thread::spawn(move || {
                    let _ = std::io::copy(&mut up_read, &mut client_write);
                    let _ = client_write.shutdown(std::net::Shutdown::Write);
                });
                let mut upstream = upstream;
                let _ = std::io::copy(&mut client, &mut upstream);
                let _ = upstream.shutdown(std::net::Shutdown::Write);
                let _ = down.join();
            });
        }
    });
    (url, rx)
}

#[test]
fn http_proxy_sends_http_streams_through_the_proxy_with_its_credentials() {
    let (url, _) = server(vec![format!("{OK}id: 1\ndata: via proxy\n\n")]);
    let (proxy_url, relayed) = proxy();
    let authority = proxy_url.trim_start_matches("http://");
    let with_user = format!("http://user:secret@{authority}");
    let out = listen_env(
        &[&url, "--json", "--max-events", "1"],
        &[("http_proxy", &with_user)],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains(r#""data":"via proxy""#), "{out:?}");
    let (line, auth) = relayed.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(line, format!("GET {url} HTTP/1.1"), "absolute form");
    assert_eq!(auth.as_deref(), Some("Basic dXNlcjpzZWNyZXQ="));
    assert!(relayed.try_recv().is_err(), "one request relayed");
}

#[test]
fn no_proxy_and_upper_case_http_proxy_go_direct() {
    let (proxy_url, relayed) = proxy();
    for env in [
        vec![
            ("http_proxy", proxy_url.as_str()),
            ("NO_PROXY", "example.com, 127.0.0.0/8"),
        ],
        vec![("all_proxy", proxy_url.as_str()), ("no_proxy", "*")],
        // curl ignores HTTP_PROXY (CGI puts a request's Proxy header there).
        vec![("HTTP_PROXY", proxy_url.as_str())],
    ] {
        let (url, _) = server(vec![format!("{OK}data: direct\n\n")]);
        let out = listen_env(&[&url, "--max-events", "1"], &env);
        assert!(out.status.success(), "{env:?}: {out:?}");
    }
    // --noproxy replaces NO_PROXY; --proxy "" turns the environment off.
    let (url, _) = server(vec![format!("{OK}data: direct\n\n")]);
    let env = [("http_proxy", proxy_url.as_str())];
    let out = listen_env(&[&url, "--max-events", "1", "--noproxy", "127.0.0.1"], &env);
    assert!(out.status.success(), "{out:?}");
    let (url, _) = server(vec![format!("{OK}data: direct\n\n")]);
    let out = listen_env(&[&url, "--max-events", "1", "--proxy", ""], &env);
    assert!(out.status.success(), "{out:?}");
    assert!(
        relayed.try_recv().is_err(),
        "nothing went through the proxy"
    );
}

#[test]
fn proxy_flag_tunnels_https_with_connect() {
    let (server, publisher) = ticking_tls_server();
    let port = server.local_addr().port();
    let url = format!("https://localhost:{port}/events");
    let (proxy_url, relayed) = proxy();
    // The flag wins over the environment's proxy (which does not exist).
    let env = [("https_proxy", "http://127.0.0.1:9")];
    let out = listen_env(
        &[
            &url,
            "--insecure",
            "--max-events",
            "1",
            "--proxy",
            &proxy_url,
        ],
        &env,
    );
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).starts_with("[message id="), "{out:?}");
    let (line, _) = relayed.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(line, format!("CONNECT localhost:{port} HTTP/1.1"));
    drop(server);
    let _ = publisher.join();
}

#[test]
fn an_unusable_proxy_is_a_bad_option() {
    for args in [
        ["--proxy", "socks5://127.0.0.1:1080"],
        ["--proxy", "http://h:99999"],
    ] {
        let out = listen(&["http://127.0.0.1:9/events", args[0], args[1]]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("proxy"),
            "{out:?}"
        );
    }
    let out = listen_env(
        &["http://127.0.0.1:9/events"],
        &[("https_proxy", "socks5://h:1")],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
