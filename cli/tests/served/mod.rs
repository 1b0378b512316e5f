//! `sse serve` as a child process, for the tests that run it
//! (`serve.rs`, `serve_tls.rs`).

#![allow(dead_code)] // each test file uses a part

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The `sse` binary of this build.
pub fn sse() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sse"))
}

/// A running `sse serve`; killed on drop.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Its stdin, where events go in.
    pub stdin: Option<ChildStdin>,
    /// Its stream's URL, from the first line it printed.
    pub url: String,
}

impl Server {
    /// Starts `sse serve --addr 127.0.0.1:0 ARGS…` and reads its first line.
    pub fn start(args: &[&str]) -> Server {
        let mut child = sse()
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sse runs");
        let stdin = child.stdin.take();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line {first:?}"))
            .to_string();
        Server { child, stdin, url }
    }

    /// Writes one stdin line: one event.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// The bound address (`127.0.0.1:PORT`), over HTTP or HTTPS.
    pub fn addr(&self) -> &str {
        let rest = self.url.split_once("://").unwrap().1;
        rest.split('/').next().unwrap()
    }

    /// Sends the signal `name` (`TERM`, `USR1`…).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Waits (at most 10 s) for the process to exit; returns its status code.
    pub fn wait(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
