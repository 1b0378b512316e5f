//! What the client benchmarks share: a loopback server that streams a
//! workload, the client settings, and a message counter.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sse_core::client::{ClientError, Config, Notification};

use crate::parsers::Tally;
use crate::CHUNK;

/// Serves `body` as one close-delimited event stream response per
/// connection, in [`CHUNK`]-byte writes, on 127.0.0.1; returns its URL.
pub fn body_server(body: Arc<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let body = Arc::clone(&body);
            thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
                for chunk in body.chunks(CHUNK) {
                    if s.write_all(chunk).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// Client settings that never reconnect within a benchmark.
pub fn config() -> Config {
    let mut c = Config::default();
    c.reconnection_time = Duration::from_secs(3600);
    c
}

/// Counts messages until the first end of stream; panics on any other error.
pub fn count<I: Iterator<Item = Notification>>(it: I) -> usize {
    let mut n = 0;
    for note in it {
        match note {
            Notification::Message(_) => n += 1,
            Notification::Error {
                error: ClientError::EndOfStream,
                ..
            } => break,
            Notification::Error { error, .. } => panic!("{error}"),
            _ => {}
        }
    }
    n
}

/// Tallies messages (count, data, type and ID bytes) until the first end of
/// stream; panics on any other error.
pub fn tally<I: Iterator<Item = Notification>>(it: I) -> Tally {
    let mut tally = Tally::default();
    for note in it {
        match note {
            Notification::Message(m) => {
                let e = &m.event;
                tally.add(e.data().len(), e.event_type().len(), e.id().len());
            }
            Notification::Error {
                error: ClientError::EndOfStream,
                ..
            } => break,
            Notification::Error { error, .. } => panic!("{error}"),
            _ => {}
        }
    }
    tally
}
