//! A throwaway `redis-server` on 127.0.0.1 for tests, and test plumbing.
#![allow(dead_code)]

use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sse_core::parse::Parser;
use sse_redis::{Config, Mirror};

/// A `redis-server` child process with its own temporary directory,
/// listening on a free loopback port. Append-only persistence with
/// `appendfsync always`, so a `kill -9` loses nothing acknowledged and a
/// restart on the same directory gets the stream back. Killed on drop.
pub struct RedisServer {
    dir: PathBuf,
    port: u16,
    extra: Vec<String>,
    child: Option<Child>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

impl RedisServer {
    /// Starts a server; extra `redis-server` arguments may follow.
    pub fn start(extra: &[&str]) -> RedisServer {
        let dir = std::env::temp_dir().join(format!(
            "sse-redis-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut server = RedisServer {
            dir,
            port: 0,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        for _ in 0..5 {
            server.port = free_port();
            if server.spawn() {
                return server;
            }
        }
        panic!(
            "redis-server did not start; log: {}",
            std::fs::read_to_string(server.dir.join("redis.log")).unwrap_or_default()
        );
    }

    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .args(["--save", ""])
            .args(["--daemonize", "no"])
            .args(["--logfile", "redis.log"])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not on PATH: run the tests with ci/test.sh (the README's \
                 test command), which installs it first (backends/redis/install-redis.sh)"
            ),
            Err(e) => panic!("cannot run redis-server: {e}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false; // e.g. the port was taken meanwhile
            }
            if ping(self.port) {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// SIGKILLs the server (no shutdown save; the AOF has every write).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and directory.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.spawn() {
            assert!(Instant::now() < deadline, "redis-server did not restart");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs one command on a plain connection and returns the raw reply.
    pub fn command(&self, args: &[&str]) -> redis::Value {
        let client = redis::Client::open(self.url()).unwrap();
        let mut conn = client.get_connection().unwrap();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut conn).unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// Runs `f` on the current thread; panics if it takes longer than `secs`.
pub fn run<T>(secs: u64, f: impl Future<Output = T>) -> T {
    smol::block_on(futures_lite::future::or(f, async move {
        async_io::Timer::after(Duration::from_secs(secs)).await;
        panic!("test timed out after {secs} s");
    }))
}

/// Fast settings for tests: short blocks, timeouts and backoff.
pub fn fast(retention: sse_redis::Retention) -> Config {
    Config {
        retention,
        op_timeout: Duration::from_secs(1),
        block: Duration::from_millis(300),
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        ..Config::default()
    }
}

/// An in-process subscriber of a mirror's hub: drains the hub into a
/// parser and collects `(id, event, data)`.
pub struct Reader {
    pub sub: sse_core::hub::Subscriber,
    pub parser: Parser,
    pub events: Vec<(String, String, String)>,
}

impl Reader {
    pub fn new(sub: sse_core::hub::Subscriber) -> Reader {
        Reader {
            sub,
            parser: Parser::new(),
            events: Vec::new(),
        }
    }

    /// Moves whatever the hub has for this subscriber into `events`.
    pub fn drain(&mut self, mirror: &Mirror) {
        let mut hub = mirror.hub();
        while let Some(bytes) = hub.poll_transmit(&mut self.sub, sse_core::Instant::ZERO) {
            self.parser.handle_bytes(&bytes);
        }
        drop(hub);
        while let Some(event) = self.parser.poll_event() {
            let e = event.expect("valid SSE");
            self.events.push((
                e.id().as_str().to_string(),
                e.event_type().as_str().to_string(),
                e.data().as_str().to_string(),
            ));
        }
    }

    /// Drains until at least `n` events were collected.
    pub async fn until(&mut self, mirror: &Mirror, n: usize) {
        loop {
            let listener = mirror.listen();
            self.drain(mirror);
            if self.events.len() >= n {
                return;
            }
            listener.await;
        }
    }

    pub fn last_id(&self) -> Option<&str> {
        self.events.last().map(|e| e.0.as_str())
    }
}
