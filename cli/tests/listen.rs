//! `sse listen` against scripted servers on 127.0.0.1, as a user runs it.

mod peer;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread;
use std::time::Duration;

use peer::{listen, read_request, stdout, Peer, OK};

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
        r#"{"kind":"error","reconnecting":true,"message":"stream ended"}"#.into(),
        r#"{"kind":"open"}"#.into(),
        format!(r#"{{"kind":"message","type":"message","data":"c","id":"1","origin":"{origin}"}}"#),
        r#"{"kind":"error","reconnecting":true,"message":"stream ended"}"#.into(),
        r#"{"kind":"error","reconnecting":false,"message":"server said stop (204 no content)"}"#
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

#[test]
fn insecure_accepts_a_self_signed_server_and_the_default_refuses_it() {
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
    let url = format!("https://localhost:{}/events", server.local_addr().port());
    let publisher = thread::spawn(move || {
        for i in 0..100 {
            let _ = hub.publish(&sse_core::encode::Message::new(&format!("tick {i}")));
            thread::sleep(Duration::from_millis(50));
        }
    });
    let out = listen(&[&url, "--insecure", "--max-events", "1"]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).starts_with("[message id="), "{out:?}");

    // Without --insecure the certificate is refused; the client keeps
    // retrying, so stop it after the first error line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_sse"))
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
