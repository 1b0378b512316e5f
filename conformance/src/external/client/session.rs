//! One scenario on the real clock: the scripted HTTP/1.1 server on the
//! plan's listeners and the program, side by side.
//!
//! The server reads requests on every connection (a client may reuse one
//! for the next request), answers the n-th request with the n-th script
//! from the moment it arrived, and a newer request stops the scripts of
//! older ones, as in the loopback runner. `refuse` and `reset` break the
//! connection with an RST after the request was read; `eof` closes the
//! server's side with a FIN (a little after a write, when the client may
//! stop reading first: `Plan::eof_gap`). Time 0 is the arrival of the first request
//! (the program's start-up does not count), and every time is reported in
//! scenario ms: real ms divided by the time scale.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use sse_core::http1::{BodyDecoder, BodyEvent, Framing, HeadStatus, RequestHead, RequestParser};

use super::plan::{Plan, Step};
use super::Settings;
use crate::client::ObservedRequest;
use crate::external::command::Program;
use crate::loopback::client::wire_url;
use crate::loopback::wire::reset;

/// What a session saw, in scenario ms.
#[derive(Debug, Default)]
pub(super) struct Seen {
    pub requests: Vec<ObservedRequest>,
    /// Stdout lines and when they arrived.
    pub lines: Vec<(u64, String)>,
    /// When the program dropped a connection the server had not ended,
    /// with the number of requests made by then on any connection.
    pub drops: Vec<(u64, usize)>,
    /// When it exited, if it did before the end, and how.
    pub exit: Option<(u64, ExitStatus)>,
    /// The end of its stderr.
    pub stderr: String,
    /// Things the runner could not make sense of.
    pub problems: Vec<String>,
}

/// The server's end of one connection.
struct Conn {
    tcp: Option<TcpStream>,
    /// `http://host:port` the program connected to.
    base: String,
    parser: RequestParser,
    head: Option<RequestHead>,
    body: Option<BodyDecoder>,
    body_bytes: Vec<u8>,
    steps: VecDeque<Step>,
    next_at: Instant,
    out: Vec<u8>,
    /// Close our side once `out` is written.
    eof_pending: bool,
    /// When bytes were last written (a reset waits for them to be read).
    wrote_at: Option<Instant>,
    /// Requests made when this connection got its last one.
    requests: usize,
    /// The server ended the connection (FIN or RST).
    ended: bool,
}

impl Conn {
    fn new(tcp: TcpStream, base: String) -> Conn {
        Conn {
            tcp: Some(tcp),
            base,
            parser: RequestParser::new(),
            head: None,
            body: None,
            body_bytes: Vec::new(),
            steps: VecDeque::new(),
            next_at: Instant::now(),
            out: Vec::new(),
            eof_pending: false,
            wrote_at: None,
            requests: 0,
            ended: false,
        }
    }

    /// Feeds request bytes; the requests they complete.
    fn handle_bytes(&mut self, input: &[u8]) -> Result<Vec<(RequestHead, Vec<u8>)>, String> {
        let mut done = Vec::new();
        let mut pending = input.to_vec();
        while !pending.is_empty() {
            let mut rest: &[u8] = &pending;
            if self.head.is_none() {
                match self.parser.handle_bytes(rest) {
                    Ok(HeadStatus::Partial) => break,
                    Ok(HeadStatus::Complete(head, used)) => {
                        rest = &rest[used..];
                        let framing = head
                            .framing()
                            .map_err(|e| format!("bad request framing from the program: {e}"))?;
                        self.head = Some(head);
                        self.body = (framing != Framing::Empty).then(|| BodyDecoder::new(framing));
                        self.body_bytes.clear();
                    }
                    Err(e) => return Err(format!("bad request from the program: {e}")),
                }
            }
            let next = match &mut self.body {
                None => rest.to_vec(),
                Some(body) => {
                    body.handle_bytes(rest);
                    let mut complete = false;
                    while let Some(event) = body.poll_body() {
                        match event {
                            Ok(BodyEvent::Data(d)) => self.body_bytes.extend_from_slice(&d),
                            Ok(BodyEvent::End) => complete = true,
                            Err(e) => {
                                return Err(format!("bad request body from the program: {e}"))
                            }
                        }
                    }
                    if !complete {
                        break;
                    }
                    body.take_remaining().to_vec()
                }
            };
            if let Some(head) = self.head.take() {
                done.push((head, std::mem::take(&mut self.body_bytes)));
            }
            self.body = None;
            self.parser = RequestParser::new();
            pending = next;
        }
        Ok(done)
    }
}

/// How long a reset waits after the last write on its connection.
const RESET_GAP: Duration = Duration::from_millis(10);

/// The scenario ms of real time `since` the start.
fn scenario_ms(since: Duration, scale: f64) -> u64 {
    (since.as_secs_f64() * 1000.0 / scale).round() as u64
}

/// Runs the plan against `command_line`.
pub(super) fn run(plan: &Plan, command_line: &str, settings: &Settings) -> Result<Seen, String> {
    for (listener, _) in &plan.listeners {
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    }
    let real = |ms: u64| Duration::from_secs_f64(ms as f64 * settings.time_scale / 1000.0);
    let mut program = Program::start(command_line, &[("SSE_CONFORMANCE", plan.env.clone())])?;
    let started = Instant::now();
    let mut seen = Seen::default();
    let mut conns: Vec<Conn> = Vec::new();
    let mut t0: Option<Instant> = None;
    let mut commands: VecDeque<&(u64, String)> = plan.commands.iter().collect();
    let mut pending_lines: Vec<(Instant, String)> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        let at = |t: Instant, t0: Option<Instant>| {
            t0.map_or(0, |t0| {
                scenario_ms(t.saturating_duration_since(t0), settings.time_scale)
            })
        };
        if let Some(t0) = t0 {
            if now >= t0 + real(plan.end_ms) {
                break;
            }
        } else if now.duration_since(started) > settings.start_timeout {
            seen.problems.push(format!(
                "no request within {} s of starting the program",
                settings.start_timeout.as_secs()
            ));
            break;
        }

        // New connections.
        for (listener, base) in &plan.listeners {
            loop {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
                        let _ = tcp.set_nodelay(true);
                        conns.push(Conn::new(tcp, base.clone()));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(format!("accept: {e}")),
                }
            }
        }

        // Requests, and connections the program dropped.
        for i in 0..conns.len() {
            let Some(tcp) = conns[i].tcp.as_mut() else {
                continue;
            };
            let mut gone = false;
            let mut input = Vec::new();
            loop {
                match tcp.read(&mut buf) {
                    Ok(0) => {
                        gone = true;
                        break;
                    }
                    Ok(n) => input.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        gone = true;
                        break;
                    }
                }
            }
            let requests = match conns[i].handle_bytes(&input) {
                Ok(r) => r,
                Err(e) => {
                    seen.problems.push(e);
                    gone = true;
                    Vec::new()
                }
            };
            for (head, body) in requests {
                let t0 = *t0.get_or_insert(now);
                let attempt = seen.requests.len();
                seen.requests.push(ObservedRequest {
                    at_ms: at(now, Some(t0)),
                    method: head.method().into(),
                    url: wire_url(&conns[i].base, &head),
                    headers: head
                        .headers()
                        .iter()
                        .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v).into_owned()))
                        .collect(),
                    body: (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned()),
                });
                // The newest request is the one answered.
                for other in &mut conns {
                    other.steps.clear();
                }
                let conn = &mut conns[i];
                conn.steps = plan
                    .scripts
                    .get(attempt)
                    .cloned()
                    .unwrap_or_default()
                    .into();
                conn.next_at = now;
                conn.requests = seen.requests.len();
            }
            if gone {
                let conn = &mut conns[i];
                conn.tcp = None;
                conn.steps.clear();
                if !conn.ended {
                    seen.drops.push((at(now, t0), conn.requests));
                }
            }
        }

        // Scripted answers that are due.
        for conn in &mut conns {
            while conn.tcp.is_some() && conn.next_at <= now {
                // An RST can make the peer drop bytes it has not read yet:
                // a reset right after a write waits a little first. So does
                // an end when the client may stop reading on its own (a
                // kept error body's limit): its drop comes before our FIN.
                let gap = match conn.steps.front() {
                    Some(Step::Reset) => true,
                    Some(Step::Eof) => plan.eof_gap,
                    _ => false,
                };
                if gap {
                    if let Some(wrote) = conn.wrote_at.filter(|_| conn.out.is_empty()) {
                        if now < wrote + RESET_GAP {
                            conn.next_at = wrote + RESET_GAP;
                            break;
                        }
                    } else if !conn.out.is_empty() {
                        break;
                    }
                }
                let Some(step) = conn.steps.pop_front() else {
                    break;
                };
                match step {
                    Step::Wait(ms) => conn.next_at += real(ms),
                    Step::Write(bytes) => conn.out.extend_from_slice(&bytes),
                    Step::Eof => {
                        conn.eof_pending = true;
                        conn.ended = true;
                        conn.steps.clear();
                    }
                    Step::Reset => {
                        if let Some(tcp) = conn.tcp.take() {
                            reset(tcp);
                        }
                        conn.ended = true;
                        conn.steps.clear();
                    }
                }
            }
            if let Some(tcp) = conn.tcp.as_mut() {
                while !conn.out.is_empty() {
                    match tcp.write(&conn.out) {
                        Ok(n) => {
                            conn.out.drain(..n);
                            conn.wrote_at = Some(Instant::now());
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => {
                            // The program went away; the read side notices.
                            conn.out.clear();
                        }
                    }
                }
                if conn.out.is_empty() && conn.eof_pending {
                    conn.eof_pending = false;
                    let _ = tcp.shutdown(Shutdown::Write);
                }
            }
        }

        // User actions the program takes on stdin.
        if let Some(t0) = t0 {
            while let Some((_, line)) = commands.front().filter(|(ms, _)| now >= t0 + real(*ms)) {
                if let Err(e) = program.send_line(line) {
                    seen.problems.push(e);
                }
                commands.pop_front();
            }
        }

        // What the program printed.
        while let Some(line) = program.next_line(Duration::ZERO) {
            pending_lines.push(line);
        }
        if t0.is_some() {
            for (t, line) in pending_lines.drain(..) {
                seen.lines.push((at(t, t0), line));
            }
        }
        if seen.exit.is_some() {
            break;
        }
        if let Some((t, status)) = program.exited() {
            // Take its last lines (until stdout closes), then go round once
            // more to see the connections its exit closed, and stop.
            let until = Instant::now() + Duration::from_secs(1);
            while let Some(line) =
                program.next_line(until.saturating_duration_since(Instant::now()))
            {
                pending_lines.push(line);
            }
            for (t, line) in pending_lines.drain(..) {
                seen.lines.push((at(t, t0), line));
            }
            seen.exit = Some((at(t, t0), status));
            continue;
        }

        // Sleep until something is due, 1 ms at most.
        let mut next = now + Duration::from_millis(1);
        for conn in &conns {
            if conn.tcp.is_some() && !conn.steps.is_empty() {
                next = next.min(conn.next_at);
            }
        }
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    program.stop();
    seen.stderr = program.stderr_tail();
    Ok(seen)
}
