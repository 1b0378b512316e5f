//! Two `sse serve --redis` instances on one Redis stream: a subscriber of A
//! fails over to B with its last event ID and gets every remaining event
//! exactly once, in order; over HTTPS with HTTP/2 too. Needs
//! `redis-server`, which `ci/test.sh` installs.

#[path = "../../backends/redis/tests/common/mod.rs"]
mod common;
mod https;
mod served;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::RedisServer;
use served::sse;

/// Starts `sse serve --redis`; returns the child and its stream URL.
fn serve(redis: &str, key: &str) -> (Child, String) {
    let mut child = sse()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--redis",
            redis,
            "--stream",
            key,
        ])
        .args(["--live-only"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    (child, url)
}

/// `sse listen --json` whose (id, data) messages arrive on a channel.
fn listen(url: &str, last_id: Option<&str>) -> (Child, mpsc::Receiver<(String, String)>) {
    let mut cmd = sse();
    cmd.args(["listen", url, "--json", "--retry-ms", "50"]);
    if let Some(id) = last_id {
        cmd.args(["--last-event-id", id]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if v["kind"] == "message" {
                let pair = (
                    v["id"].as_str().unwrap().into(),
                    v["data"].as_str().unwrap().into(),
                );
                if tx.send(pair).is_err() {
                    return;
                }
            } else if v["kind"] == "open" {
                let _ = tx.send((String::new(), "<open>".into()));
            } else if v["kind"] == "error" {
                let _ = tx.send((String::new(), "<error>".into()));
            }
        }
    });
    (child, rx)
}

/// `sse publish` of `data`, one event per argument; returns the IDs.
fn publish(redis: &str, key: &str, data: &[String]) -> Vec<String> {
    let out = sse()
        .args(["publish", "--redis", redis, "--stream", key])
        .args(data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn recv(rx: &mpsc::Receiver<(String, String)>) -> (String, String) {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("an event within 10 s")
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn failover_between_two_instances_loses_and_repeats_nothing() {
    let redis = RedisServer::start(&[]);
    let url = redis.url();
    let key = "sse:failover";
    let (mut a, a_url) = serve(&url, key);
    let (mut b, b_url) = serve(&url, key);

    let (mut client, rx) = listen(&a_url, None);
    assert_eq!(recv(&rx).1, "<open>");
    let data: Vec<String> = (1..=40).map(|i| format!("e{i}")).collect();
    let ids = publish(&url, key, &data[..20]);
    assert_eq!(ids.len(), 20);
    let mut got: Vec<(String, String)> = (0..20).map(|_| recv(&rx)).collect();
    assert_eq!(
        got.iter().map(|g| &g.1).collect::<Vec<_>>(),
        data[..20].iter().collect::<Vec<_>>()
    );

    // A dies; events keep coming (published through B's Redis stream).
    kill(&mut a);
    kill(&mut client);
    let ids_late = publish(&url, key, &data[20..]);
    let last = got.last().unwrap().0.clone();
    let (mut client, rx) = listen(&b_url, Some(&last));
    assert_eq!(recv(&rx).1, "<open>");
    got.extend((0..20).map(|_| recv(&rx)));
    let all_ids: Vec<String> = ids.into_iter().chain(ids_late).collect();
    let expected: Vec<(String, String)> = all_ids.into_iter().zip(data).collect();
    assert_eq!(got, expected);
    // Nothing more (no duplicates) arrives.
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    kill(&mut client);
    kill(&mut b);
}

#[test]
fn stdin_of_any_instance_publishes_to_all() {
    let redis = RedisServer::start(&[]);
    let url = redis.url();
    let key = "sse:stdin";
    let (mut b, b_url) = serve(&url, key);
    let (mut client, rx) = listen(&b_url, None);
    assert_eq!(recv(&rx).1, "<open>");
    // Instance A reads its stdin into the shared stream.
    let mut a = sse()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--redis",
            &url,
            "--stream",
            key,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = a.stdin.take().unwrap();
        writeln!(stdin, "from a").unwrap();
    }
    let (id, data) = recv(&rx);
    assert_eq!(data, "from a");
    assert!(
        sse_redis::StreamId::parse(&id).is_some(),
        "a Redis ID: {id}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while a.try_wait().unwrap().is_none() && Instant::now() < deadline {
        let _ = Command::new("kill")
            .args(["-TERM", &a.id().to_string()])
            .status();
        thread::sleep(Duration::from_millis(100));
    }
    let mut err = String::new();
    let _ = a.stderr.take().unwrap().read_to_string(&mut err);
    assert!(err.is_empty(), "{err}");
    kill(&mut a);
    kill(&mut client);
    kill(&mut b);
}

#[test]
fn redis_restart_is_an_error_then_nothing_is_lost() {
    let mut redis = RedisServer::start(&[]);
    let url = redis.url();
    let key = "sse:restart";
    let (mut server, server_url) = serve(&url, key);
    let (mut client, rx) = listen(&server_url, None);
    assert_eq!(recv(&rx).1, "<open>");
    let first = publish(&url, key, &["a".to_string(), "b".to_string()]);
    assert_eq!(recv(&rx), (first[0].clone(), "a".into()));
    assert_eq!(recv(&rx), (first[1].clone(), "b".into()));

    redis.kill();
    // The open stream ends: the client sees an error and keeps retrying
    // (the server opens and at once ends streams while Redis is down).
    assert_eq!(recv(&rx).1, "<error>");
    redis.restart();
    let later = publish(&url, key, &["c".to_string(), "d".to_string()]);
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while got.len() < 2 && Instant::now() < deadline {
        let (id, data) = recv(&rx);
        if !id.is_empty() {
            got.push((id, data));
        }
    }
    assert_eq!(
        got,
        [
            (later[0].clone(), "c".to_string()),
            (later[1].clone(), "d".to_string())
        ]
    );
    assert!(rx
        .recv_timeout(Duration::from_millis(300))
        .map_or(true, |(id, _)| id.is_empty()));
    kill(&mut client);
    kill(&mut server);
}

/// A mirror served over HTTPS (`--tls-cert`): an HTTP/2 client (by ALPN)
/// gets what `sse publish` appends, with Redis IDs, and a second stream on
/// the same connection resumes after the first of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_over_https_and_http2_streams_and_resumes() {
    let redis = RedisServer::start(&[]);
    let url = redis.url();
    let key = "sse:tls";
    let pki = https::Pki::new("redis");
    let options = ["--redis", &url, "--stream", key, "--live-only"];
    let server = served::Server::start(&[&pki.args()[..], &options].concat());
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let test = async {
        let conn = pki.h2(server.addr()).await;
        let (head, mut live) = https::h2_get(&conn, "/events", &[]).await;
        assert_eq!(head.status, 200);
        let data: Vec<String> = (1..=3).map(|i| format!("t{i}")).collect();
        let ids = tokio::task::spawn_blocking({
            let (url, data) = (url.clone(), data.clone());
            move || publish(&url, key, &data)
        })
        .await
        .unwrap();
        let want: String = ids
            .iter()
            .zip(&data)
            .map(|(id, data)| format!("id: {id}\ndata: {data}\n\n"))
            .collect();
        assert_eq!(https::h2_read_until(&mut live, "data: t3\n\n").await, want);
        let (_, mut resumed) = https::h2_get(&conn, "/events", &[("last-event-id", &ids[0])]).await;
        let rest = want.split_once("\n\n").unwrap().1;
        assert_eq!(
            https::h2_read_until(&mut resumed, "data: t3\n\n").await,
            rest
        );
    };
    tokio::time::timeout(Duration::from_secs(20), test)
        .await
        .expect("within 20 s");
}
