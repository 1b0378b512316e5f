//! Server fixtures (`fixtures/server/*.json`) and their runner.
//!
//! A fixture is a script: a config, then steps (connect a subscriber,
//! publish, let time pass, pause or disconnect a subscriber), each with the
//! exact bytes every subscriber must have been written during that step. The
//! format is described in `fixtures/server/README.md`.
//!
//! The implementation under test is a [`ServerUnderTest`]; [`CoreServer`]
//! drives `sse_core::hub` in-process on a fake clock. An adapter can
//! implement the same trait over loopback sockets and run the same fixtures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sse_core::encode::Message;
use sse_core::endpoint::{bad_request, Endpoint, Route};
use sse_core::http1::{HeadStatus, RequestParser, ResponseParser};
use sse_core::hub::{BacklogLimits, Hub, PublishError, Subscriber};
use sse_core::replay::LogLimits;
use sse_core::server::{self, CloseReason, LagPolicy, Notice, ResumePolicy};
use sse_core::Instant;

/// One fixture file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The file name without `.json` (filled in by the loader).
    #[serde(default)]
    pub name: String,
    /// What the case checks, for humans.
    pub description: String,
    /// Server settings; absent fields take the core's defaults.
    #[serde(default)]
    pub config: CaseConfig,
    /// The script.
    pub steps: Vec<Step>,
}

/// Server settings of a case.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseConfig {
    /// Keep-alive interval in ms; `0` disables; absent: 15000.
    pub keep_alive_ms: Option<u64>,
    /// `retry:` hint in ms.
    pub retry_ms: Option<u64>,
    /// Padding comment size in bytes.
    pub padding: Option<usize>,
    /// Bound of each subscriber's own queue.
    pub max_queued_bytes: Option<usize>,
    /// `"disconnect"` or `"skip_ahead"`.
    pub lag: Option<String>,
    /// `"replay_retained"` or `"live_only"`.
    pub on_gap: Option<String>,
    /// `"replay_retained"` or `"live_only"`.
    pub on_unknown: Option<String>,
    /// `"silent"`, `"comment"` or `{"event": NAME}`.
    pub notice: Option<serde_json::Value>,
    /// Replay log bound by event count.
    pub log_max_events: Option<usize>,
    /// Replay log bound by encoded bytes.
    pub log_max_bytes: Option<usize>,
    /// How long a subscriber's socket may refuse writes before the hub
    /// stops holding its events, in ms; absent: the core's default.
    pub lag_window_ms: Option<u64>,
    /// Most events the hub holds beyond the log for subscribers not yet
    /// sent them; absent: the core's default.
    pub backlog_max_events: Option<usize>,
    /// The same bound in encoded bytes.
    pub backlog_max_bytes: Option<usize>,
}

/// An event to publish.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    /// Text data (may contain line breaks).
    pub data: Option<String>,
    /// A JSON value to publish as data instead.
    pub json: Option<serde_json::Value>,
    /// Event type.
    pub event: Option<String>,
    /// Event ID; absent means the server assigns one.
    pub id: Option<String>,
    /// Deliver to this subscriber only (its own queue) instead of broadcasting.
    pub to: Option<String>,
    /// Publish this many events back to back, before any subscriber's task
    /// runs (a burst); `{i}` in `data` becomes 1, 2, … Default 1.
    pub repeat: Option<u64>,
}

impl Publish {
    /// The event data as written on the wire (JSON compacted).
    pub fn data_text(&self) -> String {
        match &self.json {
            Some(v) => v.to_string(),
            None => self.data.clone().unwrap_or_default(),
        }
    }

    /// How many events the step publishes.
    pub fn count(&self) -> u64 {
        self.repeat.unwrap_or(1)
    }

    /// The data of the `i`-th event of the step (from 1).
    pub fn data_of(&self, i: u64) -> String {
        self.data_text().replace("{i}", &i.to_string())
    }

    /// The message to publish, with `data` (from [`Publish::data_of`]).
    pub fn message<'a>(&'a self, data: &'a str) -> Message<'a> {
        Message {
            id: self.id.as_deref(),
            event: self.event.as_deref(),
            data,
            retry: None,
        }
    }
}

/// A subscriber's request.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    /// The subscriber's name in the case.
    pub subscriber: String,
    /// Request target; default `/events`.
    #[serde(default = "default_target")]
    pub target: String,
    /// Request headers, in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

fn default_target() -> String {
    "/events".into()
}

/// One step: exactly one action, then expectations.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Open a subscriber's stream.
    pub connect: Option<Connect>,
    /// Publish an event.
    pub publish: Option<Publish>,
    /// Let this many milliseconds pass.
    pub advance_ms: Option<u64>,
    /// Stop reading from a subscriber (its socket is full).
    pub pause: Option<String>,
    /// Read from a paused subscriber again.
    pub unpause: Option<String>,
    /// The subscriber's connection drops.
    pub disconnect: Option<String>,
    /// Expected response status (connect steps); default 200.
    pub expect_status: Option<u16>,
    /// Expected response headers (connect steps), exact and in order.
    pub expect_headers: Option<Vec<(String, String)>>,
    /// Bytes each subscriber was written during the step; unnamed: none.
    #[serde(default)]
    pub expect: BTreeMap<String, String>,
    /// Subscribers the server closed during the step, with the reason.
    #[serde(default)]
    pub expect_closed: BTreeMap<String, String>,
    /// The step's publish stopped part way: the hub's backlog was full (a
    /// server's publisher would wait there). Default: everything published.
    #[serde(default)]
    pub expect_full: bool,
}

/// A response head as the implementation reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// A head read off the wire: header names as the fixtures write them,
    /// `Connection` (HTTP/1.1 framing, the adapter's) left out.
    pub fn from_wire(head: &sse_core::http1::ResponseHead) -> Head {
        Head {
            status: head.status(),
            headers: head
                .headers()
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case("connection"))
                .map(|(n, v)| (canonical(n), String::from_utf8_lossy(v).into_owned()))
                .collect(),
        }
    }
}

/// What a subscriber got since the last [`ServerUnderTest::take_output`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Bytes written to it.
    pub bytes: Vec<u8>,
    /// `Some(reason)` if the server closed its stream (`"lagged"`, `"finished"`).
    pub closed: Option<String>,
}

/// A server implementation driven by the fixtures. Time starts at 0 and only
/// moves with [`ServerUnderTest::advance`]; after every call the server must
/// have written everything it can to every unpaused subscriber. A paused
/// subscriber's socket refuses what the server tries to write to it.
pub trait ServerUnderTest {
    /// Sends a subscriber's request: the stream's head, or the complete
    /// answer's head (its body is the subscriber's output, and the server
    /// closes the connection once the client, having read it, closes).
    fn connect(&mut self, req: &Connect) -> Result<Head, String>;
    /// Publishes an event (to everyone, or to `to` alone), or a burst of
    /// [`Publish::count`] before any subscriber runs; returns how many were
    /// published (fewer: the hub refused the rest, its backlog full).
    fn publish(&mut self, event: &Publish) -> Result<u64, String>;
    /// Lets `ms` milliseconds pass, firing timers as they fall due.
    fn advance(&mut self, ms: u64);
    /// Stops (`true`) or resumes reading from a subscriber.
    fn set_paused(&mut self, subscriber: &str, paused: bool);
    /// Drops a subscriber's connection.
    fn disconnect(&mut self, subscriber: &str);
    /// What the subscriber was written since the last call.
    fn take_output(&mut self, subscriber: &str) -> Output;
}

/// The core, in-process: one [`Hub`] and its subscribers on a fake clock,
/// requests parsed and routed by the core's HTTP/1.1 front.
pub struct CoreServer {
    hub: Hub,
    endpoint: Endpoint,
    config: server::Config,
    now: Instant,
    subs: BTreeMap<String, Conn>,
    /// Output of subscribers disconnected since the last `take_output`.
    gone: BTreeMap<String, Output>,
}

struct Conn {
    sub: Subscriber,
    paused: bool,
    out: Output,
    closed_reported: bool,
}

fn policy(name: &Option<String>, default: ResumePolicy) -> Result<ResumePolicy, String> {
    match name.as_deref() {
        None => Ok(default),
        Some("replay_retained") => Ok(ResumePolicy::ReplayRetained),
        Some("live_only") => Ok(ResumePolicy::LiveOnly),
        Some(other) => Err(format!("unknown resume policy {other:?}")),
    }
}

impl CoreServer {
    /// A server with the case's settings.
    pub fn new(config: &CaseConfig) -> Result<Self, String> {
        let (server_config, limits, backlog) = settings(config)?;
        Ok(CoreServer {
            hub: Hub::new(limits).with_backlog(backlog),
            endpoint: Endpoint::new("/events"),
            config: server_config,
            now: Instant::ZERO,
            subs: BTreeMap::new(),
            gone: BTreeMap::new(),
        })
    }

    /// Writes what every unpaused subscriber can take; a paused one's
    /// socket refuses what it is offered. A close shows once the
    /// subscriber reads (is not paused), as over a socket.
    fn flush(&mut self) {
        for conn in self.subs.values_mut() {
            if !conn.paused {
                while let Some(bytes) = self.hub.poll_transmit(&mut conn.sub, self.now) {
                    conn.out.bytes.extend_from_slice(&bytes);
                }
            } else if self.hub.has_pending(&conn.sub)
                && self
                    .hub
                    .peek_transmit(&mut conn.sub, self.now, 1 << 16, |_| {})
                    > 0
            {
                self.hub.handle_blocked(&mut conn.sub, self.now);
            }
            if let Some(reason) = conn.sub.closed() {
                if !conn.closed_reported && !conn.paused {
                    conn.closed_reported = true;
                    conn.out.closed = Some(match reason {
                        CloseReason::Lagged => "lagged".into(),
                        _ => "finished".into(),
                    });
                }
            }
        }
    }

    /// The request a subscriber's client sends, as bytes.
    fn request(req: &Connect) -> String {
        let mut request = format!("GET {} HTTP/1.1\r\nHost: loopback\r\n", req.target);
        for (name, value) in &req.headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request
    }

    /// A complete answer (written, then the connection closed): its head,
    /// and its body as the subscriber's output.
    fn answered(&mut self, name: &str, answer: &[u8]) -> Result<Head, String> {
        let (head, used) = match ResponseParser::new().handle_bytes(answer) {
            Ok(HeadStatus::Complete(head, used)) => (head, used),
            _ => return Err("the core wrote a bad answer".into()),
        };
        self.disconnect(name);
        self.gone.insert(
            name.to_string(),
            Output {
                bytes: answer[used..].to_vec(),
                closed: Some("finished".into()),
            },
        );
        Ok(Head::from_wire(&head))
    }
}

impl ServerUnderTest for CoreServer {
    fn connect(&mut self, req: &Connect) -> Result<Head, String> {
        let request = CoreServer::request(req);
        let head = match RequestParser::new().handle_bytes(request.as_bytes()) {
            Ok(HeadStatus::Complete(head, _)) => head,
            Ok(HeadStatus::Partial) => return Err("incomplete request".into()),
            Err(e) => return self.answered(&req.subscriber, &bad_request(&e)),
        };
        let id = match self.endpoint.route(&head) {
            Route::Stream { last_event_id, .. } => last_event_id,
            Route::Respond(answer) => return self.answered(&req.subscriber, &answer),
            Route::Elsewhere => {
                let answer = self.endpoint.not_found();
                return self.answered(&req.subscriber, &answer);
            }
        };
        let sub = self
            .hub
            .subscribe(self.now, id.as_deref(), self.config.clone());
        let head = sub.response_head();
        let head = Head {
            status: head.status,
            headers: head
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        };
        let conn = Conn {
            sub,
            paused: false,
            out: Output::default(),
            closed_reported: false,
        };
        if let Some(mut old) = self.subs.insert(req.subscriber.clone(), conn) {
            self.hub.unsubscribe(&mut old.sub);
        }
        self.flush();
        Ok(head)
    }

    fn publish(&mut self, event: &Publish) -> Result<u64, String> {
        let mut published = 0;
        // A burst: every event before any subscriber runs.
        for i in 1..=event.count() {
            let data = event.data_of(i);
            let msg = event.message(&data);
            // Ok(false): refused, the backlog is full.
            let published_one = match (&event.to, &event.json) {
                (Some(name), _) => {
                    let conn = self
                        .subs
                        .get_mut(name)
                        .ok_or_else(|| format!("no subscriber {name:?}"))?;
                    conn.sub.stream().send(&msg).map_err(|e| e.to_string())?;
                    true
                }
                (None, Some(value)) => match self.hub.publish_json(msg.event, msg.id, value) {
                    Ok(_) => true,
                    Err(sse_core::json::JsonError::Full) => false,
                    Err(e) => return Err(e.to_string()),
                },
                (None, None) => match self.hub.publish(&msg) {
                    Ok(_) => true,
                    Err(PublishError::Full) => false,
                    Err(e) => return Err(e.to_string()),
                },
            };
            if !published_one {
                break;
            }
            published += 1;
        }
        self.flush();
        Ok(published)
    }

    fn advance(&mut self, ms: u64) {
        let target = self.now + std::time::Duration::from_millis(ms);
        loop {
            let next = self
                .subs
                .values()
                .filter_map(|c| c.sub.poll_timeout())
                .filter(|t| *t <= target)
                .min();
            let Some(due) = next else { break };
            self.now = self.now.max(due);
            for conn in self.subs.values_mut() {
                self.hub.handle_timeout(&mut conn.sub, self.now);
            }
            self.flush();
        }
        self.now = target;
        self.flush();
    }

    fn set_paused(&mut self, subscriber: &str, paused: bool) {
        if let Some(conn) = self.subs.get_mut(subscriber) {
            conn.paused = paused;
        }
        self.flush();
    }

    fn disconnect(&mut self, subscriber: &str) {
        if let Some(mut conn) = self.subs.remove(subscriber) {
            // Keep the output taken so far; the subscriber leaves the hub.
            self.hub.unsubscribe(&mut conn.sub);
            self.gone.insert(subscriber.to_string(), conn.out);
            self.flush();
        }
    }

    fn take_output(&mut self, subscriber: &str) -> Output {
        if let Some(out) = self.gone.remove(subscriber) {
            return out;
        }
        self.subs
            .get_mut(subscriber)
            .map(|c| std::mem::take(&mut c.out))
            .unwrap_or_default()
    }
}

/// The core server settings, log bounds and backlog bounds a case asks for.
pub fn settings(config: &CaseConfig) -> Result<(server::Config, LogLimits, BacklogLimits), String> {
    let d = server::Config::default();
    let lag = match config.lag.as_deref() {
        None | Some("disconnect") => LagPolicy::Disconnect,
        Some("skip_ahead") => LagPolicy::SkipAhead,
        Some(other) => return Err(format!("unknown lag policy {other:?}")),
    };
    let notice = match &config.notice {
        None => d.notice.clone(),
        Some(serde_json::Value::String(s)) if s == "silent" => Notice::Silent,
        Some(serde_json::Value::String(s)) if s == "comment" => Notice::Comment,
        Some(serde_json::Value::Object(o)) => match o.get("event").and_then(|v| v.as_str()) {
            Some(name) => Notice::Event(String::from(name).into()),
            None => return Err("notice object needs an \"event\" name".into()),
        },
        Some(other) => return Err(format!("unknown notice {other}")),
    };
    let server_config = server::Config {
        keep_alive: match config.keep_alive_ms {
            None => d.keep_alive,
            Some(0) => None,
            Some(ms) => Some(std::time::Duration::from_millis(ms)),
        },
        retry: config.retry_ms,
        padding: config.padding.unwrap_or(d.padding),
        max_queued_bytes: config.max_queued_bytes.unwrap_or(d.max_queued_bytes),
        lag,
        lag_window: config
            .lag_window_ms
            .map_or(d.lag_window, std::time::Duration::from_millis),
        on_gap: policy(&config.on_gap, d.on_gap)?,
        on_unknown: policy(&config.on_unknown, d.on_unknown)?,
        notice,
    };
    let dl = LogLimits::default();
    let limits = LogLimits {
        max_events: config.log_max_events.unwrap_or(dl.max_events),
        max_bytes: config.log_max_bytes.unwrap_or(dl.max_bytes),
    };
    let db = BacklogLimits::default();
    let backlog = BacklogLimits {
        max_events: config.backlog_max_events.unwrap_or(db.max_events),
        max_bytes: config.backlog_max_bytes.unwrap_or(db.max_bytes),
    };
    Ok((server_config, limits, backlog))
}

/// `content-type` → `Content-Type`, as the fixtures write header names.
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    if out.eq_ignore_ascii_case("last-event-id") {
        return "Last-Event-ID".into();
    }
    if out == "X-Accel-Buffering" {
        return out;
    }
    out
}

/// The result of one case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The case name.
    pub name: String,
    /// Empty when the case passed; otherwise one readable entry per mismatch.
    pub failures: Vec<String>,
    /// Everything each subscriber was written, over all its connections.
    pub wire: BTreeMap<String, Vec<u8>>,
}

impl CaseResult {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The fixture directory of this crate.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("server")
}

/// Loads every `*.json` case in `dir`, sorted by name; a case is named
/// after its file.
pub fn load_cases(dir: &Path) -> Result<Vec<Case>, String> {
    let cases = crate::load_json_dir::<Case>(dir)?;
    Ok(cases
        .into_iter()
        .map(|(path, mut case)| {
            case.name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            case
        })
        .collect())
}

/// Runs one case against a server built for it by `make`.
pub fn run_case<S: ServerUnderTest>(
    case: &Case,
    make: impl FnOnce(&CaseConfig) -> Result<S, String>,
) -> CaseResult {
    let mut result = CaseResult {
        name: case.name.clone(),
        failures: Vec::new(),
        wire: BTreeMap::new(),
    };
    let mut sut = match make(&case.config) {
        Ok(s) => s,
        Err(e) => {
            result.failures.push(format!("config: {e}"));
            return result;
        }
    };
    let mut names: Vec<String> = Vec::new();
    for (i, step) in case.steps.iter().enumerate() {
        let fail =
            |result: &mut CaseResult, msg: String| result.failures.push(format!("step {i}: {msg}"));
        let actions = [
            step.connect.is_some(),
            step.publish.is_some(),
            step.advance_ms.is_some(),
            step.pause.is_some(),
            step.unpause.is_some(),
            step.disconnect.is_some(),
        ];
        if actions.iter().filter(|a| **a).count() != 1 {
            fail(&mut result, "a step needs exactly one action".into());
            return result;
        }
        if let Some(req) = &step.connect {
            if !names.contains(&req.subscriber) {
                names.push(req.subscriber.clone());
            }
            match sut.connect(req) {
                Ok(head) => {
                    let want = step.expect_status.unwrap_or(200);
                    if head.status != want {
                        fail(
                            &mut result,
                            format!("status: expected {want}, got {}", head.status),
                        );
                    }
                    if let Some(want) = &step.expect_headers {
                        if &head.headers != want {
                            fail(
                                &mut result,
                                format!(
                                    "headers:\n  expected {want:?}\n  got      {:?}",
                                    head.headers
                                ),
                            );
                        }
                    }
                }
                Err(e) => fail(&mut result, format!("connect failed: {e}")),
            }
        } else if let Some(event) = &step.publish {
            match sut.publish(event) {
                Ok(n) => {
                    let full = n < event.count();
                    if full != step.expect_full {
                        fail(
                            &mut result,
                            format!(
                                "published {n} of {}: expected {}",
                                event.count(),
                                if step.expect_full {
                                    "the hub to be full before the end"
                                } else {
                                    "all of them"
                                }
                            ),
                        );
                    }
                }
                Err(e) => fail(&mut result, format!("publish failed: {e}")),
            }
        } else if let Some(ms) = step.advance_ms {
            sut.advance(ms);
        } else if let Some(name) = &step.pause {
            sut.set_paused(name, true);
        } else if let Some(name) = &step.unpause {
            sut.set_paused(name, false);
        } else if let Some(name) = &step.disconnect {
            sut.disconnect(name);
        }
        for name in step.expect.keys().chain(step.expect_closed.keys()) {
            if !names.contains(name) {
                fail(
                    &mut result,
                    format!("expectation for unknown subscriber {name:?}"),
                );
            }
        }
        for name in &names {
            let out = sut.take_output(name);
            result
                .wire
                .entry(name.clone())
                .or_default()
                .extend_from_slice(&out.bytes);
            let want = step.expect.get(name).map(String::as_str).unwrap_or("");
            if out.bytes != want.as_bytes() {
                fail(
                    &mut result,
                    format!(
                        "{name}: bytes differ\n{}",
                        diff(want.as_bytes(), &out.bytes)
                    ),
                );
            }
            let want_closed = step.expect_closed.get(name);
            if out.closed.as_ref() != want_closed {
                fail(
                    &mut result,
                    format!(
                        "{name}: closed: expected {want_closed:?}, got {:?}",
                        out.closed
                    ),
                );
            }
        }
    }
    result
}

/// A readable diff of two byte strings: both escaped, with the first
/// differing offset marked.
pub fn diff(expected: &[u8], got: &[u8]) -> String {
    let at = expected.iter().zip(got).take_while(|(a, b)| a == b).count();
    let mut out = String::new();
    let _ = writeln!(out, "  expected: \"{}\"", expected.escape_ascii());
    let _ = writeln!(out, "  got:      \"{}\"", got.escape_ascii());
    let _ = write!(
        out,
        "  first difference at byte {at}: expected \"{}\", got \"{}\"",
        tail(expected, at),
        tail(got, at)
    );
    out
}

fn tail(bytes: &[u8], at: usize) -> String {
    let end = bytes.len().min(at + 24);
    bytes
        .get(at..end)
        .unwrap_or_default()
        .escape_ascii()
        .to_string()
}

/// Runs every fixture in [`fixture_dir`] in-process against the core.
pub fn run_core() -> Result<Vec<CaseResult>, String> {
    let cases = load_cases(&fixture_dir())?;
    Ok(cases
        .iter()
        .map(|case| run_case(case, CoreServer::new))
        .collect())
}
