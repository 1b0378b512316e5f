//! `sse serve --tls-cert FILE --tls-key FILE` on 127.0.0.1: HTTPS with
//! HTTP/2 for clients that offer it by ALPN (as browsers do) and HTTP/1.1
//! for the others, every option as over plain HTTP; certificates from a
//! test CA made here (see `https/mod.rs`). Bad files exit 2 and name the
//! file. Without TLS, HTTP/2 with prior knowledge (h2c) on the same port as
//! HTTP/1.1.

mod https;
mod served;

use std::io::Read;
use std::time::Duration;

use https::{h1_exchange, h2_get, h2_read_until, Pki};
use served::{sse, Server};

/// Runs `f` with a time limit.
async fn within<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), f).await {
        Ok(t) => t,
        Err(_) => panic!("timed out after {secs} s"),
    }
}

/// HTTP/2 by ALPN: piped events with IDs, CORS and `--path`, resume by
/// `Last-Event-ID` and `?last_event_id=` on streams of the same connection,
/// live events to every stream, the page at `/` and a 404 there too;
/// SIGUSR1 ends the streams (the client resumes), SIGTERM exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_by_alpn_gets_piped_events_and_resumes() {
    let pki = Pki::new("h2");
    let mut server =
        Server::start(&[&pki.args()[..], &["--path", "/feed", "--cors", "*"]].concat());
    assert!(
        server.url.starts_with("https://127.0.0.1:") && server.url.ends_with("/feed"),
        "{}",
        server.url
    );
    server.send("hello");
    server.send("world");
    within(20, async {
        let conn = pki.h2(server.addr()).await;
        let (head, mut first) = h2_get(&conn, "/feed", &[("origin", "http://app.test")]).await;
        assert_eq!(head.status, 200);
        assert_eq!(head.version, http::Version::HTTP_2);
        assert_eq!(head.headers["content-type"], "text/event-stream");
        assert_eq!(head.headers["access-control-allow-origin"], "*");
        let got = h2_read_until(&mut first, "data: world\n\n").await;
        assert_eq!(got, "id: 1\ndata: hello\n\nid: 2\ndata: world\n\n");

        // Two resuming streams on the same connection: only what follows 1.
        let (_, mut by_header) = h2_get(&conn, "/feed", &[("last-event-id", "1")]).await;
        let (_, mut by_query) = h2_get(&conn, "/feed?last_event_id=1", &[]).await;
        for body in [&mut by_header, &mut by_query] {
            assert_eq!(
                h2_read_until(body, "data: world\n\n").await,
                "id: 2\ndata: world\n\n"
            );
        }
        // Then a live event reaches all three.
        server.send("live");
        for body in [&mut first, &mut by_header, &mut by_query] {
            assert_eq!(
                h2_read_until(body, "data: live\n\n").await,
                "id: 3\ndata: live\n\n"
            );
        }

        let (page, mut html) = h2_get(&conn, "/", &[]).await;
        assert_eq!(page.status, 200);
        let html = h2_read_until(&mut html, "</html>").await;
        assert!(html.contains("new EventSource(path)") && html.contains(r#""/feed""#));
        let (missing, _) = h2_get(&conn, "/nope", &[]).await;
        assert_eq!(missing.status, 404);

        // SIGUSR1 ends every stream (END_STREAM, after what was sent);
        // a client resumes with its last event ID.
        server.signal("USR1");
        for body in [&mut first, &mut by_header, &mut by_query] {
            assert_eq!(h2_read_until(body, "never").await, "");
            assert!(body.is_end_stream());
        }
        server.send("after");
        let (_, mut resumed) = h2_get(&conn, "/feed", &[("last-event-id", "3")]).await;
        let got = h2_read_until(&mut resumed, "data: after\n\n").await;
        assert_eq!(got, "id: 4\ndata: after\n\n");
    })
    .await;
    server.signal("TERM");
    assert_eq!(server.wait(), Some(0));
}

/// Keep-alive comments, the `retry:` hint and `--demo` ticks over HTTP/2,
/// as over HTTP/1.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_keep_alive_retry_and_demo() {
    let pki = Pki::new("h2-options");
    let options = [
        "--keep-alive-ms",
        "100",
        "--retry-ms",
        "2500",
        "--demo",
        "--live-only",
    ];
    let server = Server::start(&[&pki.args()[..], &options].concat());
    within(20, async {
        let conn = pki.h2(server.addr()).await;
        let (_, mut body) = h2_get(&conn, "/events", &[]).await;
        let got = h2_read_until(&mut body, ":\n:\n").await;
        assert!(got.starts_with("retry: 2500\n:\n:\n"), "{got:?}");
        let got = h2_read_until(&mut body, "event: tick\n").await;
        assert!(got.contains("\nevent: tick\ndata: "), "{got:?}");
    })
    .await;
}

/// Clients that do not offer HTTP/2 get HTTP/1.1 over TLS, through the same
/// connection code as plain HTTP/1.1: `sse listen --insecure` (no ALPN)
/// streams, and a request whose body cannot be delimited gets 400 and a
/// close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_over_tls_for_clients_without_h2() {
    let pki = Pki::new("h1");
    let mut server = Server::start(&pki.args());
    server.send("one");
    server.send("two");
    let url = server.url.clone();
    let listen = tokio::task::spawn_blocking(move || {
        sse()
            .args(["listen", &url, "--insecure", "--json", "--max-events", "2"])
            .args(["--timeout-ms", "10000"])
            .output()
            .unwrap()
    });
    let out = within(30, listen).await.unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<_> = lines
        .iter()
        .filter(|l| l["kind"] == "message")
        .map(|l| (l["id"].as_str().unwrap(), l["data"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("1", "one"), ("2", "two")]);

    within(20, async {
        let mut tls = pki.connect(server.addr(), &[b"http/1.1"]).await;
        let request = "GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n\r\n";
        let got = h1_exchange(&mut tls, request, "data: two\n\n").await;
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
        assert!(got.ends_with("\r\n\r\nid: 2\ndata: two\n\n"), "{got}");

        let mut tls = pki.connect(server.addr(), &[b"http/1.1"]).await;
        let request =
            "GET /events HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        // Read to the end: the server closes after the answer.
        let got = h1_exchange(&mut tls, request, "the end").await;
        assert!(got.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{got}");
        assert!(
            got.ends_with("\r\n\r\nconflicting content-length values\n"),
            "{got}"
        );
    })
    .await;
}

/// Plain `sse serve` (no TLS) takes HTTP/2 with prior knowledge (h2c) on
/// the port that serves HTTP/1.1: two streams of one connection get the
/// history, then a live event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_with_prior_knowledge_on_plain_tcp() {
    let mut server = Server::start(&[]);
    assert!(server.url.starts_with("http://"), "{}", server.url);
    server.send("one");
    within(20, async {
        let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        let (conn, driver) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(async move {
            let _ = driver.await;
        });
        let (head, mut first) = h2_get(&conn, "/events", &[]).await;
        assert_eq!(head.status, 200);
        assert_eq!(head.version, http::Version::HTTP_2);
        assert_eq!(head.headers["content-type"], "text/event-stream");
        let (_, mut second) = h2_get(&conn, "/events", &[]).await;
        for body in [&mut first, &mut second] {
            assert_eq!(
                h2_read_until(body, "data: one\n\n").await,
                "id: 1\ndata: one\n\n"
            );
        }
        server.send("two");
        for body in [&mut first, &mut second] {
            assert_eq!(
                h2_read_until(body, "data: two\n\n").await,
                "id: 2\ndata: two\n\n"
            );
        }
    })
    .await;
}

/// Unreadable or wrong certificate and key files: nothing is served, exit 2,
/// and the message names the option, the file and what is wrong.
#[test]
fn bad_certificate_or_key_files_exit_2_naming_the_file() {
    let pki = Pki::new("bad");
    let other = Pki::new("other");
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let (cert, key) = (path(&pki.cert), path(&pki.key));
    let missing = path(&pki.cert.with_file_name("missing.pem"));
    let garbage = path(&pki.file("garbage.pem", "not a certificate\n"));
    for (args, want) in [
        ([&missing, &key], format!("--tls-cert {missing}: ")),
        (
            [&key, &key],
            format!("--tls-cert {key}: no PEM certificate"),
        ),
        (
            [&garbage, &key],
            format!("--tls-cert {garbage}: no PEM certificate"),
        ),
        (
            [&cert, &cert],
            format!("--tls-key {cert}: no PEM private key"),
        ),
        (
            [&cert, &path(&other.key)],
            format!(
                "--tls-cert and --tls-key: {}: not the key of the certificate in {cert}",
                path(&other.key)
            ),
        ),
    ] {
        let mut child = sse()
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--tls-cert",
                args[0],
                "--tls-key",
                args[1],
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: served");
        assert!(
            err.starts_with(&format!("sse serve: {want}")),
            "{args:?}: {err}"
        );
    }
    // Both or neither: clap's usage error, exit 2 too.
    let out = sse().args(["serve", "--tls-cert", &cert]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let mut err = String::new();
    out.stderr.as_slice().read_to_string(&mut err).unwrap();
    assert!(err.contains("--tls-key"), "{err}");
}
