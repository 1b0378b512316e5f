//! The server protocol: server scenarios against any program.
//!
//! `sse conformance server --cmd 'PROGRAM'` starts the program once per
//! scenario of `fixtures/server/protocol/` (the [`crate::server::Case`]
//! format). The program reads the events to publish on stdin, one JSON
//! object per line (`{"event":…,"data":…,"id":…}`, as `sse serve --json`
//! reads them), and prints the URL of its event stream as the first thing
//! on stdout. The runner connects real socket clients to it: a `connect`
//! step is a `GET` of that URL (with the step's query and headers), a
//! `publish` a line on stdin, `advance_ms` real time (scaled), `pause` a
//! subscriber that stops reading (its receive buffer is small), and
//! `disconnect` a closed socket.
//!
//! After each step the runner waits until every subscriber got what the
//! step expects (or [`Settings::wait`] passed), then a quiet while
//! ([`Settings::quiet_ms`]) for anything unexpected, and compares what
//! each subscriber's stream means (`view`): the same events (type,
//! data, last event ID), the same `retry:` values, and a comment where a
//! keep-alive is expected and none where none is. The response head is
//! compared by meaning too: `Content-Type` by its MIME essence,
//! `Cache-Control` by whether it forbids storing. The protocol is
//! documented in `fixtures/server/README.md`.

mod view;

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use sse_core::http1::{BodyDecoder, BodyEvent, HeadStatus, ResponseParser};
use sse_core::url::Url;

use super::command::{program, Caps, Program, Slot, Template, Values};
use super::{Outcome, Report};
use crate::server::{Case, Connect, Publish, Step};
use view::View;

/// The placeholders of the server protocol and the capabilities they imply.
pub const SLOTS: &[Slot] = &[
    Slot {
        name: "retry_ms",
        cap: Some("retry"),
    },
    Slot {
        name: "keep_alive_ms",
        cap: Some("keep-alive"),
    },
];

/// Every capability a server program can declare.
pub const CAPS: &[&str] = &["retry", "keep-alive", "resume", "resume-query", "ids"];

/// How scenarios are played.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Real ms per scenario ms (for `advance_ms` and `{keep_alive_ms}`).
    pub time_scale: f64,
    /// How long to watch for anything unexpected after a step.
    pub quiet_ms: u64,
    /// How long a step may take to deliver what it expects.
    pub wait: Duration,
    /// How long the program may take to print its URL.
    pub start_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            time_scale: 0.1,
            quiet_ms: 50,
            wait: Duration::from_secs(5),
            start_timeout: Duration::from_secs(30),
        }
    }
}

/// A server program under test.
pub struct ExternalServer {
    template: Template,
    caps: Caps,
    settings: Settings,
}

impl ExternalServer {
    /// The program `command` (a template), with capabilities `declared`
    /// on top of those its placeholders imply.
    pub fn new(command: &str, declared: &[String], settings: Settings) -> Result<Self, String> {
        let (template, caps) = program(command, declared, SLOTS, CAPS, settings.time_scale)?;
        Ok(ExternalServer {
            template,
            caps,
            settings,
        })
    }

    /// What the program can do.
    pub fn caps(&self) -> &Caps {
        &self.caps
    }

    /// Plays one scenario.
    pub fn run(&self, case: &Case) -> Report {
        let report = |outcome| Report {
            name: case.name.clone(),
            refs: case.refs.clone(),
            ours: case.ours.clone(),
            outcome,
        };
        if let Some(reason) = skip_reason(case, &self.caps) {
            return report(Outcome::Skipped(reason));
        }
        // Steps closer together than the runner can tell apart on the real
        // clock (its quiet while) are for a virtual clock.
        let shortest = case.steps.iter().filter_map(|s| s.advance_ms).min();
        if let Some(ms) = shortest.filter(|ms| self.scale(*ms) < self.settings.quiet_ms) {
            return report(Outcome::Skipped(format!(
                "needs a virtual clock: a step of {ms} ms is {} ms of real time, less than the \
                 {} ms the runner waits for what comes late",
                self.scale(ms),
                self.settings.quiet_ms
            )));
        }
        let mut values = Values::new();
        if let Some(ms) = case.config.retry_ms {
            values.insert("retry_ms", vec![ms.to_string()]);
        }
        if let Some(ms) = case.config.keep_alive_ms {
            values.insert("keep_alive_ms", vec![self.scale(ms).to_string()]);
        }
        let command = match self.template.expand(&values) {
            Ok(c) => c,
            Err(reason) => return report(Outcome::Skipped(reason)),
        };
        let env = serde_json::json!({
            "scenario": case.name,
            "retry_ms": case.config.retry_ms,
            "keep_alive_ms": case.config.keep_alive_ms.map(|ms| self.scale(ms)),
            "time_scale": self.settings.time_scale,
        })
        .to_string();
        let failures = match Run::start(&command, &env, &self.settings) {
            Ok(mut run) => {
                let mut failures = run.play(case);
                if let Some(e) = run.exit_problem() {
                    failures.push(e);
                }
                if !failures.is_empty() {
                    let stderr = run.program.stderr_tail();
                    if !stderr.is_empty() {
                        failures.push(format!("stderr: {stderr}"));
                    }
                }
                failures
            }
            Err(e) => vec![e],
        };
        if failures.is_empty() {
            report(Outcome::Passed)
        } else {
            report(Outcome::Failed(failures))
        }
    }

    fn scale(&self, ms: u64) -> u64 {
        (ms as f64 * self.settings.time_scale).round() as u64
    }
}

/// Why a case cannot run against a program, or `None`.
fn skip_reason(case: &Case, caps: &Caps) -> Option<String> {
    let need = |cap: &str, what: &str| {
        (!caps.has(cap)).then(|| format!("needs capability `{cap}` ({what})"))
    };
    let c = &case.config;
    let ours_settings = [
        ("padding", c.padding.is_some()),
        ("max_queued_bytes", c.max_queued_bytes.is_some()),
        ("lag", c.lag.is_some()),
        ("on_gap", c.on_gap.is_some()),
        ("on_unknown", c.on_unknown.is_some()),
        ("notice", c.notice.is_some()),
        ("log_max_events", c.log_max_events.is_some()),
        ("log_max_bytes", c.log_max_bytes.is_some()),
        ("lag_window_ms", c.lag_window_ms.is_some()),
        ("backlog_max_events", c.backlog_max_events.is_some()),
        ("backlog_max_bytes", c.backlog_max_bytes.is_some()),
    ];
    if let Some((name, _)) = ours_settings.iter().find(|(_, set)| *set) {
        return Some(format!("ours alone: the server setting `{name}`"));
    }
    let mut reasons = Vec::new();
    if c.keep_alive_ms.is_some() {
        reasons.push(need("keep-alive", "a keep-alive interval"));
    }
    if c.retry_ms.is_some() {
        reasons.push(need("retry", "a retry: hint"));
    }
    for step in &case.steps {
        if let Some(p) = &step.publish {
            if p.to.is_some() {
                return Some("ours alone: sending to one subscriber".into());
            }
            if p.id.is_none() {
                reasons.push(need(
                    "ids",
                    "numbering events that have no id 1, 2, 3… (ours)",
                ));
            }
        }
        if let Some(connect) = &step.connect {
            let header = connect
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("last-event-id"));
            if header {
                reasons.push(need("resume", "replaying what came after Last-Event-ID"));
            }
            if connect.target.contains("last_event_id=") {
                reasons.push(need(
                    "resume-query",
                    "resuming from ?last_event_id= (ours, after Mercure)",
                ));
            }
        }
        if step.expect_closed.values().any(|r| r == "lagged") {
            return Some("ours alone: the lag policy".into());
        }
        if step.expect_full {
            return Some("ours alone: a publisher told the hub's backlog is full".into());
        }
    }
    reasons.into_iter().flatten().next()
}

/// One subscriber's connection, from the client side.
struct Sub {
    tcp: Option<TcpStream>,
    head: ResponseParser,
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: Option<BodyDecoder>,
    /// The stream ended (end of body or of the connection).
    ended: bool,
    /// That end was compared with the case.
    end_reported: bool,
    paused: bool,
    /// What arrived, and what the case says should have.
    got: View,
    want: View,
}

impl Sub {
    /// Reads what is there.
    fn pump(&mut self, buf: &mut [u8]) -> Result<(), String> {
        if self.paused {
            return Ok(());
        }
        loop {
            let Some(tcp) = self.tcp.as_mut() else {
                return Ok(());
            };
            let read = tcp.read(buf);
            let mut rest: &[u8] = match read {
                Ok(0) => {
                    if let Some(body) = &mut self.body {
                        body.handle_eof();
                    }
                    self.tcp = None;
                    self.ended = true;
                    &[]
                }
                Ok(n) => &buf[..n],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.tcp = None;
                    self.ended = true;
                    &[]
                }
            };
            if self.status.is_none() && !rest.is_empty() {
                match self.head.handle_bytes(rest) {
                    Ok(HeadStatus::Partial) => rest = &[],
                    Ok(HeadStatus::Complete(head, used)) => {
                        self.status = Some(head.status());
                        self.headers = head
                            .headers()
                            .iter()
                            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v).into_owned()))
                            .collect();
                        let framing = head
                            .framing(false)
                            .map_err(|e| format!("bad response framing: {e}"))?;
                        self.body = Some(BodyDecoder::new(framing));
                        rest = &rest[used..];
                    }
                    Err(e) => return Err(format!("bad response head: {e}")),
                }
            }
            if let Some(body) = &mut self.body {
                body.handle_bytes(rest);
                while let Some(event) = body.poll_body() {
                    match event {
                        Ok(BodyEvent::Data(d)) => {
                            if self.status == Some(200) {
                                self.got.feed(&d);
                            }
                        }
                        Ok(BodyEvent::End) => self.ended = true,
                        Err(e) => {
                            self.ended = true;
                            return Err(format!("bad response body: {e}"));
                        }
                    }
                }
            }
            if self.tcp.is_none() {
                return Ok(());
            }
        }
    }
}

/// One scenario against a started program.
struct Run<'a> {
    program: Program,
    settings: &'a Settings,
    addr: SocketAddr,
    host: String,
    path: String,
    subs: BTreeMap<String, Sub>,
    /// The scenario time of the current step, and when it was 0.
    scheduled: u64,
    t0: Instant,
    buf: Vec<u8>,
}

impl<'a> Run<'a> {
    fn start(command: &str, env: &str, settings: &'a Settings) -> Result<Run<'a>, String> {
        let mut program = Program::start(command, &[("SSE_CONFORMANCE", env.to_string())])?;
        let url = loop {
            let Some((_, line)) = program.next_line(settings.start_timeout) else {
                let why = match program.exited() {
                    Some((_, status)) => format!("it exited ({status})"),
                    None => format!("nothing within {} s", settings.start_timeout.as_secs()),
                };
                return Err(format!(
                    "the program printed no URL: {why}; stderr: {}",
                    program.stderr_tail()
                ));
            };
            if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
                break url.to_string();
            }
        };
        let parsed = Url::parse(&url).map_err(|e| format!("the program's URL {url:?}: {e}"))?;
        let addr = (parsed.host_unbracketed(), parsed.port())
            .to_socket_addrs()
            .map_err(|e| format!("{url}: {e}"))?
            .next()
            .ok_or_else(|| format!("{url}: no address"))?;
        Ok(Run {
            program,
            settings,
            addr,
            host: parsed.authority().to_string(),
            path: parsed.path().to_string(),
            subs: BTreeMap::new(),
            scheduled: 0,
            t0: Instant::now(),
            buf: vec![0; 64 * 1024],
        })
    }

    /// Plays every step; the failures.
    fn play(&mut self, case: &Case) -> Vec<String> {
        let mut failures = Vec::new();
        self.t0 = Instant::now();
        for (i, step) in case.steps.iter().enumerate() {
            if let Err(e) = step.check_action() {
                failures.push(format!("step {i}: {e}"));
                break;
            }
            let problems = self.step(step);
            failures.extend(problems.into_iter().map(|p| format!("step {i}: {p}")));
            // The program is gone: nothing later can pass.
            if self.program.exited().is_some() {
                break;
            }
        }
        failures
    }

    fn step(&mut self, step: &Step) -> Vec<String> {
        let mut problems = Vec::new();
        let mut connected = None;
        let mut burst = 0;
        if let Some(connect) = &step.connect {
            match self.connect(connect) {
                Ok(()) => connected = Some(connect.subscriber.clone()),
                Err(e) => problems.push(format!("connect {}: {e}", connect.subscriber)),
            }
        } else if let Some(publish) = &step.publish {
            if let Err(e) = self.publish(publish) {
                problems.push(e);
            }
        } else if let Some(b) = &step.burst {
            burst = b.count;
            for i in 1..=b.count {
                let (id, data) = b.event(i);
                let line = serde_json::json!({"id": id, "data": data}).to_string();
                if let Err(e) = self.program.send_line(&line) {
                    problems.push(e);
                    break;
                }
            }
            for name in &step.expect_burst {
                if let Some(sub) = self.subs.get_mut(name) {
                    for i in 1..=b.count {
                        let (id, data) = b.event(i);
                        sub.want.push_event(("message".into(), data, id));
                    }
                }
            }
        } else if let Some(ms) = step.advance_ms {
            self.scheduled += ms;
            let at = self.t0
                + Duration::from_secs_f64(
                    self.scheduled as f64 * self.settings.time_scale / 1000.0,
                );
            while Instant::now() < at {
                self.pump_all(&mut problems);
                let left = at.saturating_duration_since(Instant::now());
                std::thread::sleep(left.min(Duration::from_millis(1)));
            }
        } else if let Some(name) = &step.pause {
            if let Some(sub) = self.subs.get_mut(name) {
                sub.paused = true;
            }
        } else if let Some(name) = &step.unpause {
            if let Some(sub) = self.subs.get_mut(name) {
                sub.paused = false;
            }
        } else if let Some(name) = &step.disconnect {
            self.subs.remove(name);
        }
        for (name, bytes) in &step.expect {
            match self.subs.get_mut(name) {
                Some(sub) => sub.want.feed(bytes.as_bytes()),
                None => problems.push(format!("expectation for unknown subscriber {name:?}")),
            }
        }
        // Wait for what is expected, then a quiet while for the rest.
        let wait = if burst > 0 {
            self.settings.wait * 4
        } else {
            self.settings.wait
        };
        let deadline = Instant::now() + wait;
        loop {
            self.pump_all(&mut problems);
            let done = self.subs.iter().all(|(name, s)| {
                s.paused
                    || (s.got.peek().covers(s.want.peek())
                        && (!step.expect_closed.contains_key(name) || s.ended))
            });
            if done || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let quiet = Instant::now() + Duration::from_millis(self.settings.quiet_ms);
        while Instant::now() < quiet {
            self.pump_all(&mut problems);
            std::thread::sleep(Duration::from_millis(1));
        }
        if let (Some(connect), Some(name)) = (&step.connect, &connected) {
            problems.extend(self.check_head(step, connect, name));
        }
        for (name, sub) in &mut self.subs {
            let (got, want) = (sub.got.take(), sub.want.take());
            let preamble = connected.as_ref() == Some(name) || burst > 0;
            if sub.status != Some(200) {
                continue;
            }
            if let Some(why) = got.mismatch(&want, preamble) {
                problems.push(format!("{name}: {why}"));
            }
            let end_expected = step.expect_closed.contains_key(name);
            if end_expected && !sub.ended {
                problems.push(format!("{name}: expected the stream to end"));
            }
            if sub.ended && !sub.end_reported {
                sub.end_reported = true;
                if !end_expected {
                    problems.push(format!("{name}: the server ended the stream"));
                }
            }
        }
        problems
    }

    fn pump_all(&mut self, problems: &mut Vec<String>) {
        for (name, sub) in &mut self.subs {
            if let Err(e) = sub.pump(&mut self.buf) {
                problems.push(format!("{name}: {e}"));
            }
        }
        // Whatever else the program prints is not part of the protocol.
        while self.program.next_line(Duration::ZERO).is_some() {}
    }

    fn connect(&mut self, connect: &Connect) -> Result<(), String> {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::for_address(self.addr), Type::STREAM, None)
            .map_err(|e| e.to_string())?;
        // A small receive buffer, so that a subscriber that stops reading
        // is soon one the server cannot write to.
        let _ = socket.set_recv_buffer_size(16 * 1024);
        socket
            .connect_timeout(&self.addr.into(), Duration::from_secs(5))
            .map_err(|e| format!("cannot connect to {}: {e}", self.addr))?;
        let mut tcp: TcpStream = socket.into();
        let request = match &connect.raw {
            Some(raw) => raw.replacen(" /events ", &format!(" {} ", self.path), 1),
            None => {
                let query = connect.target.split_once('?').map(|(_, q)| q);
                let target = match query {
                    Some(q) => format!("{}?{q}", self.path),
                    None => self.path.clone(),
                };
                let mut r = format!(
                    "GET {target} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n",
                    self.host
                );
                for (name, value) in &connect.headers {
                    r.push_str(&format!("{name}: {value}\r\n"));
                }
                r.push_str("\r\n");
                r
            }
        };
        tcp.write_all(request.as_bytes())
            .map_err(|e| format!("cannot send the request: {e}"))?;
        tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        // A reconnecting subscriber starts a new stream.
        self.subs.insert(
            connect.subscriber.clone(),
            Sub {
                tcp: Some(tcp),
                head: ResponseParser::new(),
                status: None,
                headers: Vec::new(),
                body: None,
                ended: false,
                end_reported: false,
                paused: false,
                got: View::default(),
                want: View::default(),
            },
        );
        let deadline = Instant::now() + self.settings.wait;
        let mut problems = Vec::new();
        loop {
            self.pump_all(&mut problems);
            let sub = &self.subs[&connect.subscriber];
            if sub.status.is_some() {
                return Ok(());
            }
            if sub.ended || Instant::now() > deadline {
                let mut why = String::from("no response head");
                if !problems.is_empty() {
                    why = format!("{why} ({})", problems.join("; "));
                }
                return Err(why);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// One stdin line per event ([`Publish::count`] of them).
    fn publish(&mut self, p: &Publish) -> Result<(), String> {
        for i in 1..=p.count() {
            let mut line = serde_json::Map::new();
            if let Some(e) = &p.event {
                line.insert("event".into(), e.clone().into());
            }
            line.insert("data".into(), p.data_of(i).into());
            if let Some(id) = &p.id {
                line.insert("id".into(), id.clone().into());
            }
            self.program
                .send_line(&serde_json::Value::Object(line).to_string())?;
        }
        Ok(())
    }

    fn check_head(&self, step: &Step, connect: &Connect, name: &str) -> Vec<String> {
        let Some(sub) = self.subs.get(name) else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        let want = step.expect_status.unwrap_or(200);
        match sub.status {
            Some(status) if status != want => {
                problems.push(format!("{name}: status {status}, expected {want}"));
            }
            Some(_) => {}
            None => problems.push(format!("{name}: no response head")),
        }
        for (header, value) in step.expect_headers.iter().flatten() {
            let got = sub
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(header))
                .map(|(_, v)| v.as_str());
            if !header_matches(header, value, got) {
                problems.push(format!(
                    "{name}: header {header}: expected {value:?}, got {got:?} (request {})",
                    connect
                        .raw
                        .as_deref()
                        .unwrap_or(&connect.target)
                        .escape_debug()
                ));
            }
        }
        problems
    }

    /// A failure if the program exited while it was being tested.
    fn exit_problem(&mut self) -> Option<String> {
        let (at, status) = self.program.exited()?;
        Some(format!(
            "the program exited ({status}) {} ms into the scenario",
            at.saturating_duration_since(self.t0).as_millis()
        ))
    }
}

/// Whether a response header `got` means what the case's `value` does:
/// `Content-Type` by MIME essence, `Cache-Control` by forbidding storage
/// (`no-store` or `no-cache`), anything else equal ignoring ASCII case.
fn header_matches(name: &str, value: &str, got: Option<&str>) -> bool {
    let Some(got) = got else { return false };
    let essence = |v: &str| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    };
    if name.eq_ignore_ascii_case("content-type") {
        return essence(value) == essence(got);
    }
    if name.eq_ignore_ascii_case("cache-control") {
        let forbids = |v: &str| {
            v.split(',')
                .map(|d| d.trim().to_ascii_lowercase())
                .any(|d| d == "no-store" || d == "no-cache")
        };
        return forbids(value) == forbids(got);
    }
    value.eq_ignore_ascii_case(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_by_meaning() {
        let ct = "Content-Type";
        assert!(header_matches(
            ct,
            "text/event-stream",
            Some("text/event-stream; charset=utf-8")
        ));
        assert!(header_matches(
            ct,
            "text/event-stream",
            Some("Text/Event-Stream")
        ));
        assert!(!header_matches(ct, "text/event-stream", Some("text/plain")));
        assert!(!header_matches(ct, "text/event-stream", None));
        let cc = "Cache-Control";
        assert!(header_matches(
            cc,
            "no-store",
            Some("no-cache, no-transform")
        ));
        assert!(!header_matches(cc, "no-store", Some("max-age=60")));
    }

    #[test]
    fn skips_say_why() {
        let case: Case = serde_json::from_str(
            r#"{"description": "", "config": {"keep_alive_ms": 100},
                "steps": [{"connect": {"subscriber": "a", "headers": [["Last-Event-ID", "1"]]}}]}"#,
        )
        .unwrap();
        let t = Template::parse("prog", SLOTS).unwrap();
        let none = Caps::new(&t, SLOTS, &[], CAPS).unwrap();
        assert!(skip_reason(&case, &none).unwrap().contains("`keep-alive`"));
        let t = Template::parse("prog [--ka {keep_alive_ms}]", SLOTS).unwrap();
        let ka = Caps::new(&t, SLOTS, &[], CAPS).unwrap();
        assert!(skip_reason(&case, &ka).unwrap().contains("`resume`"));
        let all = Caps::new(&t, SLOTS, &["resume".into()], CAPS).unwrap();
        assert_eq!(skip_reason(&case, &all), None);
    }
}
