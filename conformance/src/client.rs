//! Client scenarios: `fixtures/client/*.json` (format in
//! `fixtures/client/README.md`).
//!
//! A [`Scenario`] scripts the server side as answers to successive requests
//! (status, headers, body chunks, waits, end or reset, refused connects),
//! the user side as timed actions (close, reopen, set the last event ID,
//! check the ready state), and says what must be [observed](Observed): the
//! requests made and when, the notifications, the ready states.
//!
//! The implementation under test is a [`ClientUnderTest`]: it plays one
//! scenario and reports what it saw. [`CoreClient`] plays it in-process
//! against the `sse-core` machine on a fake clock; an adapter can implement
//! the trait by serving the same script from a loopback HTTP server.
//! [`check`] compares what was observed with what was expected and
//! [`run_scenario`] does both. [`check_within`] is the same comparison with
//! a [`Tolerance`] on times, for implementations on a real clock (the
//! subprocess protocol, [`crate::external::client`]).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sse_core::client::{
    Action, Backoff, Client, ClientError, Config, Method, Notification, ReadyState, Reconnect,
    TransportError, Want,
};
use sse_core::{url::Url, Instant};

/// One scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Unique name (the file name without `.json`).
    pub name: String,
    /// What the scenario shows, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Checklist rules and WPT tests it covers (`"F7"`, `"wpt format-field-id-2"`).
    #[serde(default)]
    pub refs: Vec<String>,
    /// Why the expectation is this project's alone and not the spec's or a
    /// browser's, if it is (reports mark such scenarios).
    pub ours: Option<String>,
    /// The URL the client is created with.
    pub url: String,
    /// Client configuration.
    #[serde(default)]
    pub config: ScenarioConfig,
    /// The server's script for the 1st, 2nd, … connection attempt. An
    /// attempt beyond the list gets no answer at all (it hangs).
    #[serde(default)]
    pub server: Vec<Vec<ServerStep>>,
    /// User actions and ready-state checks, at absolute times.
    #[serde(default)]
    pub user: Vec<UserStep>,
    /// The scenario ends at this time (ms); events at exactly this time run.
    pub run_until_ms: u64,
    /// What must be observed.
    pub expect: Expect,
}

/// Client configuration; every field is optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioConfig {
    /// Request method (default `GET`).
    pub method: Option<String>,
    /// Extra request headers, in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<String>,
    /// Default reconnection time in ms (3000 if absent).
    pub reconnection_time_ms: Option<u64>,
    /// Exponential backoff.
    pub backoff: Option<BackoffConfig>,
    /// How long a connection must stay open to reset the backoff (ms).
    pub backoff_reset_ms: Option<u64>,
    /// Jitter seed.
    pub seed: Option<u64>,
    /// Idle timeout (ms).
    pub idle_timeout_ms: Option<u64>,
    /// Connect timeout (ms), until the response head.
    pub connect_timeout_ms: Option<u64>,
    /// Redirect limit (10 if absent).
    pub max_redirects: Option<u32>,
    /// Status ranges `[from, to]` retried instead of failing.
    #[serde(default)]
    pub retry_statuses: Vec<[u16; 2]>,
    /// `auto` (default), `always` or `never`.
    pub reconnect: Option<String>,
    /// Subset of `errors`, `open_close`, `messages`, `comments` (all but
    /// `comments` if absent).
    pub want: Option<Vec<String>>,
    /// Bytes of a failed response's body to keep.
    pub max_error_body: Option<usize>,
    /// Longest line the parser accepts.
    pub max_line_len: Option<usize>,
    /// Last event ID to start with.
    pub last_event_id: Option<String>,
}

/// Backoff settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackoffConfig {
    /// Cap in ms.
    pub max_ms: u64,
    /// Whether to jitter.
    #[serde(default)]
    pub jitter: bool,
}

/// One step of the server's answer to a connection attempt.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerStep {
    /// Wait this many ms before the next step.
    WaitMs(u64),
    /// Refuse the connection (connect failure). Ends the attempt.
    Refuse,
    /// Send the response head.
    Head(Head),
    /// Send body bytes (the UTF-8 of this string).
    Body(String),
    /// Send body bytes given in hex (for invalid UTF-8).
    BodyHex(String),
    /// End a chunked body (its last chunk) and keep the connection open,
    /// as a keep-alive server does after a complete response.
    End,
    /// End the body cleanly (the last chunk of a chunked body, then the
    /// close). Ends the attempt.
    Eof,
    /// Break the connection. Ends the attempt.
    Reset,
}

/// How a response body is delimited on the wire.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    /// `Content-Length`: the body's length is sent with the head and the
    /// body ends when that many bytes have arrived, whatever the
    /// connection does next.
    Length,
    /// `Transfer-Encoding: chunked`: each body step is one chunk; the last
    /// chunk (sent by `end` or `eof`) ends the body.
    Chunked,
}

/// A response head.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Header fields, in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// How the body is delimited. Absent: as the headers say, the bytes as
    /// written (a body without framing headers runs until the close).
    #[serde(default)]
    pub framing: Option<Framing>,
    /// The whole body, sent in the same write as the head, as servers send
    /// short responses (a redirect's or an error's page). With `framing`
    /// the response is then complete: no body steps may follow.
    #[serde(default)]
    pub body: Option<String>,
}

impl Head {
    /// The `Content-Length` a `length` framing declares: the inline body,
    /// or the body steps in `rest` (the script after this head).
    pub fn declared_length<'a>(
        &self,
        rest: impl IntoIterator<Item = &'a ServerStep>,
    ) -> Result<usize, String> {
        if let Some(body) = &self.body {
            return Ok(body.len());
        }
        let mut total = 0;
        for step in rest {
            match step {
                ServerStep::Body(text) => total += text.len(),
                ServerStep::BodyHex(hex) => total += decode_hex(hex)?.len(),
                ServerStep::WaitMs(_) => {}
                _ => break,
            }
        }
        Ok(total)
    }

    /// Whether the head's step sends the complete response (an inline body
    /// with framing).
    pub fn is_complete(&self) -> bool {
        self.body.is_some() && self.framing.is_some()
    }

    /// The head's step on the wire: the status line, the headers, the
    /// framing header and an inline body (framed, and complete when the
    /// head has framing). `rest` is the script after the head.
    pub fn wire<'a>(
        &self,
        rest: impl IntoIterator<Item = &'a ServerStep>,
    ) -> Result<Vec<u8>, String> {
        let mut wire = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status,
            sse_core::http1::reason_phrase(self.status)
        )
        .into_bytes();
        for (name, value) in &self.headers {
            wire.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        match self.framing {
            Some(Framing::Length) => {
                let n = self.declared_length(rest)?;
                wire.extend_from_slice(format!("Content-Length: {n}\r\n").as_bytes());
            }
            Some(Framing::Chunked) => wire.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            None => {}
        }
        wire.extend_from_slice(b"\r\n");
        // An inline body goes in the same write, complete.
        if let Some(body) = &self.body {
            let chunked = self.framing == Some(Framing::Chunked);
            frame_body(chunked, body.as_bytes(), &mut wire);
            if chunked {
                wire.extend_from_slice(LAST_CHUNK);
            }
        }
        Ok(wire)
    }
}

/// The last chunk of a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Appends one body step's `bytes` to `wire` as its response frames them:
/// as they are, or as one chunk of a chunked body.
pub fn frame_body(chunked: bool, bytes: &[u8], wire: &mut Vec<u8>) {
    if !chunked {
        wire.extend_from_slice(bytes);
    } else if !bytes.is_empty() {
        wire.extend_from_slice(format!("{:x}\r\n", bytes.len()).as_bytes());
        wire.extend_from_slice(bytes);
        wire.extend_from_slice(b"\r\n");
    }
}

/// A user action or check at a given time.
#[derive(Clone, Debug, Deserialize)]
pub struct UserStep {
    /// When (ms).
    pub at_ms: u64,
    /// What.
    #[serde(flatten)]
    pub action: UserAction,
}

/// What the user does.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum UserAction {
    /// `close()`.
    Close,
    /// `reopen()`.
    Reopen,
    /// Set the last event ID (`""` resets it).
    SetLastEventId {
        /// The new ID.
        value: String,
    },
    /// The ready state must be this (`connecting`, `open`, `closed`).
    ExpectState {
        /// The expected state.
        state: String,
    },
}

/// The expectations.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Every request, in order.
    pub requests: Vec<ExpectRequest>,
    /// Every notification, in order.
    pub notifications: Vec<ExpectNotification>,
    /// When the client told the transport to disconnect (ms), if checked.
    pub disconnects_ms: Option<Vec<u64>>,
    /// Ready state at the end.
    pub final_state: String,
}

/// An expected request. Absent fields are not checked.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectRequest {
    /// When it was made (ms).
    pub at_ms: Option<u64>,
    /// Method.
    pub method: Option<String>,
    /// Full URL.
    pub url: Option<String>,
    /// Header values by name (case-insensitive); `null` means absent.
    #[serde(default)]
    pub headers: BTreeMap<String, Option<String>>,
    /// Body: `null` means none, a string means exactly that.
    #[serde(default, deserialize_with = "present")]
    pub body: Option<Option<String>>,
}

/// An expected notification. Absent fields are not checked.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectNotification {
    /// `open`, `message`, `error`, `closed` or `parse_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When (ms).
    pub at_ms: Option<u64>,
    /// Message event type.
    pub event: Option<String>,
    /// Message data.
    pub data: Option<String>,
    /// Message last event ID.
    pub id: Option<String>,
    /// Message origin.
    pub origin: Option<String>,
    /// Error: whether the client reconnects.
    pub reconnecting: Option<bool>,
    /// Error kind (see the README).
    pub reason: Option<String>,
    /// Error status code.
    pub status: Option<u16>,
    /// Error content type (`null` = header absent).
    #[serde(default, deserialize_with = "present")]
    pub content_type: Option<Option<String>>,
    /// Kept error body.
    pub error_body: Option<String>,
    /// Comment text (everything after the colon).
    pub text: Option<String>,
}

/// Distinguishes an absent field (`None`) from `null` (`Some(None)`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// What an implementation saw while playing a scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// Requests in order.
    pub requests: Vec<ObservedRequest>,
    /// Notifications in order.
    pub notifications: Vec<ObservedNotification>,
    /// The ready state at each `expect_state` step, in order.
    pub states: Vec<String>,
    /// Disconnect times (ms).
    pub disconnects_ms: Vec<u64>,
    /// Ready state at the end.
    pub final_state: String,
    /// The last event ID at the end.
    pub last_event_id: String,
    /// The reconnection time at the end (ms).
    pub reconnection_ms: u64,
}

/// A request as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedRequest {
    /// When (ms).
    pub at_ms: u64,
    /// Method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Header fields.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Option<String>,
}

/// A notification as received, flattened to strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedNotification {
    /// `open`, `message`, `error`, `closed` or `parse_error`.
    pub kind: String,
    /// When (ms).
    pub at_ms: u64,
    /// Message: type, data, id, origin.
    pub message: Option<(String, String, String, String)>,
    /// Error: reconnecting.
    pub reconnecting: Option<bool>,
    /// Error kind.
    pub reason: Option<String>,
    /// Error status.
    pub status: Option<u16>,
    /// Error content type.
    pub content_type: Option<String>,
    /// Error body.
    pub error_body: Option<String>,
    /// Comment text.
    pub text: Option<String>,
}

/// An `EventSource` implementation that can play scenarios.
pub trait ClientUnderTest {
    /// Plays `scenario` from time 0 to `run_until_ms` and reports what
    /// happened, or why it could not run.
    fn run(&mut self, scenario: &Scenario) -> Result<Observed, String>;

    /// Why this implementation cannot play `scenario` at all (it is then
    /// reported as skipped with that reason, never as passed); `None` by
    /// default.
    fn skip(&self, scenario: &Scenario) -> Option<String> {
        let _ = scenario;
        None
    }
}

/// The outcome of one scenario.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub name: String,
    /// One readable message per mismatch; empty when it passed.
    pub failures: Vec<String>,
    /// Why it was not played, if it was skipped.
    pub skipped: Option<String>,
}

impl ScenarioResult {
    /// Whether the scenario was played and passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.skipped.is_none()
    }
}

/// The fixture directory shipped with this crate.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/client")
}

/// Loads every `*.json` scenario in `dir`, sorted by file name.
pub fn load_scenarios(dir: &Path) -> Result<Vec<Scenario>, String> {
    Ok(crate::load_json_dir(dir)?
        .into_iter()
        .map(|(_, scenario)| scenario)
        .collect())
}

/// Plays `scenario` on `imp` and checks the result.
pub fn run_scenario(scenario: &Scenario, imp: &mut dyn ClientUnderTest) -> ScenarioResult {
    let name = scenario.name.clone();
    if let Some(reason) = imp.skip(scenario) {
        return ScenarioResult {
            name,
            failures: Vec::new(),
            skipped: Some(reason),
        };
    }
    let failures = match imp.run(scenario) {
        Ok(observed) => check(scenario, &observed),
        Err(e) => vec![format!("could not run: {e}")],
    };
    ScenarioResult {
        name,
        failures,
        skipped: None,
    }
}

/// How far an observed time may be from the expected one: `ms`
/// milliseconds plus `percent` of the expected time (scenario ms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tolerance {
    /// Fixed slack in ms.
    pub ms: u64,
    /// Slack in percent of the expected time.
    pub percent: u64,
}

impl Tolerance {
    /// Times must be equal (a virtual clock).
    pub const EXACT: Tolerance = Tolerance { ms: 0, percent: 0 };

    /// The slack allowed around `expected`.
    pub fn slack(&self, expected: u64) -> u64 {
        self.ms + expected.saturating_mul(self.percent) / 100
    }

    /// Whether `got` is within the slack around `expected`.
    pub fn accepts(&self, expected: u64, got: u64) -> bool {
        expected.abs_diff(got) <= self.slack(expected)
    }

    fn vec_accepts(&self, expected: &[u64], got: &[u64]) -> bool {
        expected.len() == got.len() && expected.iter().zip(got).all(|(e, g)| self.accepts(*e, *g))
    }
}

/// Compares `observed` with the scenario's expectations.
pub fn check(scenario: &Scenario, observed: &Observed) -> Vec<String> {
    check_within(scenario, observed, Tolerance::EXACT)
}

/// Compares `observed` with the scenario's expectations, accepting times
/// within `tolerance` of the expected ones.
pub fn check_within(scenario: &Scenario, observed: &Observed, tolerance: Tolerance) -> Vec<String> {
    let expect = &scenario.expect;
    let mut failures = Vec::new();

    let mut req_fail = Vec::new();
    for i in 0..expect.requests.len().max(observed.requests.len()) {
        match (expect.requests.get(i), observed.requests.get(i)) {
            (Some(e), Some(o)) => {
                let problems = request_mismatches(e, o, tolerance);
                if !problems.is_empty() {
                    req_fail.push(format!("request #{}: {}", i + 1, problems.join("; ")));
                }
            }
            (Some(_), None) => req_fail.push(format!("request #{}: expected, not made", i + 1)),
            (None, Some(o)) => req_fail.push(format!(
                "request #{}: unexpected {} {} at {} ms",
                i + 1,
                o.method,
                o.url,
                o.at_ms
            )),
            (None, None) => {}
        }
    }
    if !req_fail.is_empty() {
        let mut msg = req_fail.join("\n");
        msg.push_str("\n  requests made:");
        for o in &observed.requests {
            let _ = write!(msg, "\n    {}", show_request(o));
        }
        failures.push(msg);
    }

    let mut note_fail = Vec::new();
    for i in 0..expect.notifications.len().max(observed.notifications.len()) {
        match (expect.notifications.get(i), observed.notifications.get(i)) {
            (Some(e), Some(o)) => {
                let problems = notification_mismatches(e, o, tolerance);
                if !problems.is_empty() {
                    note_fail.push(format!(
                        "notification #{}: {} (got {})",
                        i + 1,
                        problems.join("; "),
                        show_notification(o)
                    ));
                }
            }
            (Some(e), None) => note_fail.push(format!(
                "notification #{}: expected {}, none",
                i + 1,
                e.kind
            )),
            (None, Some(o)) => note_fail.push(format!(
                "notification #{}: unexpected {}",
                i + 1,
                show_notification(o)
            )),
            (None, None) => {}
        }
    }
    if !note_fail.is_empty() {
        let mut msg = note_fail.join("\n");
        msg.push_str("\n  notifications received:");
        for o in &observed.notifications {
            let _ = write!(msg, "\n    {}", show_notification(o));
        }
        failures.push(msg);
    }

    let checks = scenario.user.iter().filter_map(|s| match &s.action {
        UserAction::ExpectState { state } => Some((s.at_ms, state)),
        _ => None,
    });
    for (i, (at, want)) in checks.enumerate() {
        let got = observed
            .states
            .get(i)
            .map_or("(not recorded)", String::as_str);
        if got != want {
            failures.push(format!(
                "ready state at {at} ms: expected {want}, got {got}"
            ));
        }
    }
    if let Some(want) = &expect.disconnects_ms {
        if !tolerance.vec_accepts(want, &observed.disconnects_ms) {
            failures.push(format!(
                "disconnects: expected at {want:?} ms, got {:?}",
                observed.disconnects_ms
            ));
        }
    }
    if observed.final_state != expect.final_state {
        failures.push(format!(
            "final ready state: expected {}, got {}",
            expect.final_state, observed.final_state
        ));
    }
    failures
}

fn request_mismatches(e: &ExpectRequest, o: &ObservedRequest, t: Tolerance) -> Vec<String> {
    let mut p = Vec::new();
    if let Some(at) = e.at_ms {
        if !t.accepts(at, o.at_ms) {
            p.push(format!("at {} ms, expected {at} ms", o.at_ms));
        }
    }
    if let Some(m) = &e.method {
        if *m != o.method {
            p.push(format!("method {}, expected {m}", o.method));
        }
    }
    if let Some(u) = &e.url {
        if *u != o.url {
            p.push(format!("url {}, expected {u}", o.url));
        }
    }
    for (name, want) in &e.headers {
        let got = o
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v);
        if got != want.as_ref() {
            p.push(format!("header {name}: {got:?}, expected {want:?}"));
        }
    }
    if let Some(want) = &e.body {
        if *want != o.body {
            p.push(format!("body {:?}, expected {want:?}", o.body));
        }
    }
    p
}

fn notification_mismatches(
    e: &ExpectNotification,
    o: &ObservedNotification,
    t: Tolerance,
) -> Vec<String> {
    let mut p = Vec::new();
    if e.kind != o.kind {
        p.push(format!("expected {}", e.kind));
        return p;
    }
    let mut field = |name: &str, want: Option<&str>, got: Option<&str>| {
        if let Some(want) = want {
            if Some(want) != got {
                p.push(format!("{name} expected {want:?}"));
            }
        }
    };
    let msg = o.message.as_ref();
    field("event", e.event.as_deref(), msg.map(|m| m.0.as_str()));
    field("data", e.data.as_deref(), msg.map(|m| m.1.as_str()));
    field("id", e.id.as_deref(), msg.map(|m| m.2.as_str()));
    field("origin", e.origin.as_deref(), msg.map(|m| m.3.as_str()));
    field("reason", e.reason.as_deref(), o.reason.as_deref());
    field(
        "error_body",
        e.error_body.as_deref(),
        o.error_body.as_deref(),
    );
    field("text", e.text.as_deref(), o.text.as_deref());
    if let Some(at) = e.at_ms {
        if !t.accepts(at, o.at_ms) {
            p.push(format!("at_ms expected {at}"));
        }
    }
    if e.reconnecting.is_some() && e.reconnecting != o.reconnecting {
        p.push(format!("reconnecting expected {:?}", e.reconnecting));
    }
    if e.status.is_some() && e.status != o.status {
        p.push(format!("status expected {:?}", e.status));
    }
    if let Some(want) = &e.content_type {
        if *want != o.content_type {
            p.push(format!("content_type expected {want:?}"));
        }
    }
    p
}

fn show_request(o: &ObservedRequest) -> String {
    let headers: Vec<String> = o.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    format!(
        "{} ms {} {} [{}]{}",
        o.at_ms,
        o.method,
        o.url,
        headers.join(", "),
        o.body
            .as_ref()
            .map(|b| format!(" body {b:?}"))
            .unwrap_or_default()
    )
}

fn show_notification(o: &ObservedNotification) -> String {
    let mut s = format!("{} ms {}", o.at_ms, o.kind);
    if let Some((t, d, id, origin)) = &o.message {
        let _ = write!(s, " {t} {d:?} id={id:?} origin={origin}");
    }
    if let Some(r) = o.reconnecting {
        let _ = write!(s, " reconnecting={r}");
    }
    if let Some(r) = &o.reason {
        let _ = write!(s, " reason={r}");
    }
    if let Some(st) = o.status {
        let _ = write!(s, " status={st}");
    }
    if let Some(ct) = &o.content_type {
        let _ = write!(s, " content_type={ct:?}");
    }
    if let Some(b) = &o.error_body {
        let _ = write!(s, " body={b:?}");
    }
    if let Some(t) = &o.text {
        let _ = write!(s, " text={t:?}");
    }
    s
}

/// The `sse-core` client machine, played in-process on a fake clock.
///
/// At equal times, the server's step runs first, then the user's, then the
/// client's timers; after every input all actions and notifications are
/// drained.
#[derive(Clone, Copy, Debug, Default)]
pub struct CoreClient;

impl ClientUnderTest for CoreClient {
    fn run(&mut self, scenario: &Scenario) -> Result<Observed, String> {
        Sim::new(scenario)?.run()
    }
}

/// Builds the core configuration a scenario asks for.
pub fn core_config(c: &ScenarioConfig) -> Result<Config, String> {
    let mut config = Config::default();
    config.method = match c.method.as_deref() {
        None | Some("GET") => Method::Get,
        Some("POST") => Method::Post,
        Some(other) => Method::Other(other.into()),
    };
    config.headers.clone_from(&c.headers);
    config.body = c.body.clone().map(Into::into);
    if let Some(ms) = c.reconnection_time_ms {
        config.reconnection_time = Duration::from_millis(ms);
    }
    config.backoff = c.backoff.as_ref().map(|b| Backoff {
        max: Duration::from_millis(b.max_ms),
        jitter: b.jitter,
    });
    if let Some(ms) = c.backoff_reset_ms {
        config.backoff_reset_after = Duration::from_millis(ms);
    }
    config.seed = c.seed.unwrap_or(0);
    config.idle_timeout = c.idle_timeout_ms.map(Duration::from_millis);
    config.connect_timeout = c.connect_timeout_ms.map(Duration::from_millis);
    if let Some(n) = c.max_redirects {
        config.max_redirects = n;
    }
    config.retry_statuses = c.retry_statuses.iter().map(|[a, b]| *a..=*b).collect();
    config.reconnect = match c.reconnect.as_deref() {
        None | Some("auto") => Reconnect::Auto,
        Some("always") => Reconnect::Always,
        Some("never") => Reconnect::Never,
        Some(other) => return Err(format!("unknown reconnect policy {other:?}")),
    };
    if let Some(want) = &c.want {
        let mut w = Want::NONE;
        for flag in want {
            w |= match flag.as_str() {
                "errors" => Want::ERRORS,
                "open_close" => Want::OPEN_CLOSE,
                "messages" => Want::MESSAGES,
                "comments" => Want::COMMENTS,
                other => return Err(format!("unknown want flag {other:?}")),
            };
        }
        config.want = w;
    }
    if let Some(n) = c.max_error_body {
        config.max_error_body = n;
    }
    if let Some(id) = &c.last_event_id {
        config.last_event_id = id.clone().into();
    }
    if let Some(n) = c.max_line_len {
        config.limits.max_line_len = n;
    }
    Ok(config)
}

/// The fixture name of a ready state.
pub fn state_name(state: ReadyState) -> &'static str {
    match state {
        ReadyState::Connecting => "connecting",
        ReadyState::Open => "open",
        ReadyState::Closed => "closed",
    }
}

/// The fixture name of an error kind.
pub fn reason_name(error: &ClientError) -> &'static str {
    match error {
        ClientError::ConnectFailed(_) => "connect_failed",
        ClientError::ConnectTimeout => "connect_timeout",
        ClientError::Transport(_) => "transport",
        ClientError::IdleTimeout => "idle_timeout",
        ClientError::EndOfStream => "end_of_stream",
        ClientError::NoContent => "no_content",
        ClientError::Status { .. } => "status",
        ClientError::ContentType { .. } => "content_type",
        ClientError::TooManyRedirects { .. } => "too_many_redirects",
        ClientError::MissingLocation { .. } => "missing_location",
        ClientError::BadLocation(_) => "bad_location",
        _ => "other",
    }
}

/// The status of the response an error is about, where it has one: a
/// failed status, 200 with the wrong content type, 204, a redirect without
/// `Location`.
pub fn error_status(error: &ClientError) -> Option<u16> {
    match error {
        ClientError::Status { status, .. } | ClientError::MissingLocation { status } => {
            Some(*status)
        }
        ClientError::ContentType { .. } => Some(200),
        ClientError::NoContent => Some(204),
        _ => None,
    }
}

pub(crate) fn flatten(n: Notification, at_ms: u64) -> ObservedNotification {
    let mut o = ObservedNotification {
        at_ms,
        ..Default::default()
    };
    match n {
        Notification::Open => o.kind = "open".into(),
        Notification::Closed => o.kind = "closed".into(),
        Notification::ParseError(_) => o.kind = "parse_error".into(),
        Notification::Comment(text) => {
            o.kind = "comment".into();
            o.text = Some(text.to_string());
        }
        Notification::Message(m) => {
            o.kind = "message".into();
            o.message = Some((
                m.event.event_type().to_string(),
                m.event.data().to_string(),
                m.event.id().to_string(),
                m.origin.to_string(),
            ));
        }
        Notification::Error {
            reconnecting,
            error,
        } => {
            o.kind = "error".into();
            o.reconnecting = Some(reconnecting);
            o.reason = Some(reason_name(&error).into());
            o.status = error_status(&error);
            if let ClientError::Status {
                content_type, body, ..
            }
            | ClientError::ContentType { content_type, body } = error
            {
                o.content_type = content_type;
                o.error_body = Some(String::from_utf8_lossy(&body).into_owned());
            }
        }
        _ => o.kind = "other".into(),
    }
    o
}

pub(crate) fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd-length hex {:?}", String::from_utf8_lossy(&s)));
    }
    s.chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("bad hex {:?}", String::from_utf8_lossy(pair)))
        })
        .collect()
}

/// The connection the simulated server is serving.
struct Conn {
    steps: VecDeque<ServerStep>,
    next_at: u64,
    connected: bool,
    /// The body's framing, once the head was sent.
    framing: Option<Framing>,
    /// Bytes a `length` body still owes.
    remaining: usize,
    /// The body ended by its framing: the client was told, and the rest of
    /// the script (a close, a reset) is nothing it reads.
    body_done: bool,
}

/// The in-process simulation of one scenario.
struct Sim<'a> {
    scenario: &'a Scenario,
    client: Client,
    now: u64,
    conn: Option<Conn>,
    user: VecDeque<UserStep>,
    observed: Observed,
}

impl<'a> Sim<'a> {
    fn new(scenario: &'a Scenario) -> Result<Self, String> {
        let url = Url::parse(&scenario.url).map_err(|e| format!("url: {e}"))?;
        let config = core_config(&scenario.config)?;
        let client = Client::new(url, config, Instant::ZERO);
        let mut user: Vec<UserStep> = scenario.user.clone();
        user.sort_by_key(|s| s.at_ms);
        Ok(Sim {
            scenario,
            client,
            now: 0,
            conn: None,
            user: user.into(),
            observed: Observed::default(),
        })
    }

    fn instant(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    fn drain(&mut self) -> Result<(), String> {
        while let Some(action) = self.client.poll_action() {
            match action {
                Action::Connect(request) => {
                    let index = self.observed.requests.len();
                    self.observed.requests.push(ObservedRequest {
                        at_ms: self.now,
                        method: request.method.to_string(),
                        url: request.url.to_string(),
                        headers: request.headers.clone(),
                        body: request
                            .body
                            .as_ref()
                            .map(|b| String::from_utf8_lossy(b).into_owned()),
                    });
                    let steps = self.scenario.server.get(index).cloned().unwrap_or_default();
                    self.conn = Some(Conn {
                        steps: steps.into(),
                        next_at: self.now,
                        connected: false,
                        framing: None,
                        remaining: 0,
                        body_done: false,
                    });
                }
                Action::Disconnect => {
                    self.observed.disconnects_ms.push(self.now);
                    self.conn = None;
                }
            }
        }
        while let Some(n) = self.client.poll_notification() {
            self.observed.notifications.push(flatten(n, self.now));
        }
        if self.observed.requests.len() > 10_000 {
            return Err("more than 10000 requests".into());
        }
        Ok(())
    }

    fn run(mut self) -> Result<Observed, String> {
        self.drain()?;
        for _ in 0..1_000_000 {
            let server_at = self
                .conn
                .as_ref()
                .filter(|c| !c.steps.is_empty())
                .map(|c| c.next_at);
            let user_at = self.user.front().map(|s| s.at_ms);
            let timer_at = self.client.poll_timeout().map(|t| {
                let ns = t.as_nanos();
                ns / 1_000_000 + u64::from(ns % 1_000_000 != 0)
            });
            let Some(next) = [server_at, user_at, timer_at].into_iter().flatten().min() else {
                break;
            };
            if next > self.scenario.run_until_ms {
                break;
            }
            self.now = self.now.max(next);
            let now = self.instant();
            if server_at == Some(next) {
                self.server_step()?;
            } else if user_at == Some(next) {
                let step = self.user.pop_front().ok_or("no user step")?;
                match step.action {
                    UserAction::Close => self.client.close(),
                    UserAction::Reopen => self.client.reopen(now),
                    UserAction::SetLastEventId { value } => self.client.set_last_event_id(value),
                    UserAction::ExpectState { .. } => self
                        .observed
                        .states
                        .push(state_name(self.client.ready_state()).into()),
                }
            } else {
                self.client.handle_timeout(now);
            }
            self.drain()?;
        }
        self.now = self.now.max(self.scenario.run_until_ms);
        self.observed.final_state = state_name(self.client.ready_state()).into();
        self.observed.last_event_id = self.client.last_event_id().to_string();
        self.observed.reconnection_ms = self.client.reconnection_time().as_millis() as u64;
        Ok(self.observed)
    }

    fn server_step(&mut self) -> Result<(), String> {
        let now = self.instant();
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        let Some(step) = conn.steps.pop_front() else {
            return Ok(());
        };
        if !conn.connected && !matches!(step, ServerStep::Refuse | ServerStep::WaitMs(_)) {
            conn.connected = true;
            self.client.handle_connected(now);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        // Everything a step sends reaches the client as one read would: no
        // drain between the head, an inline body and the body's end (a
        // driver hands them over in one go).
        match step {
            ServerStep::WaitMs(ms) => conn.next_at = self.now + ms,
            ServerStep::Refuse => {
                self.conn = None;
                self.client
                    .handle_connect_failed(now, TransportError::Refused);
            }
            ServerStep::Head(head) => {
                conn.framing = head.framing;
                if head.framing == Some(Framing::Length) {
                    conn.remaining = head.declared_length(&conn.steps)?;
                }
                let headers = head
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_bytes(), v.as_bytes()));
                self.client.handle_response_head(now, head.status, headers);
                if let Some(body) = &head.body {
                    if !body.is_empty() {
                        self.client.handle_bytes(now, body.as_bytes());
                    }
                    conn.remaining = 0;
                }
                if head.is_complete()
                    || head.framing == Some(Framing::Length) && conn.remaining == 0
                {
                    conn.body_done = true;
                    self.client.handle_eof(now);
                }
            }
            ServerStep::Body(_) | ServerStep::BodyHex(_) if conn.body_done => {
                return Err("a body step after the end of a framed body".into());
            }
            ServerStep::Body(text) => self.body_bytes(now, text.as_bytes()),
            ServerStep::BodyHex(hex) => self.body_bytes(now, &decode_hex(&hex)?),
            ServerStep::End => {
                if conn.framing != Some(Framing::Chunked) || conn.body_done {
                    return Err("`end` needs a streamed chunked body".into());
                }
                conn.body_done = true;
                self.client.handle_eof(now);
            }
            ServerStep::Eof => {
                let told = conn.body_done;
                self.conn = None;
                if !told {
                    self.client.handle_eof(now);
                }
            }
            ServerStep::Reset => {
                let told = conn.body_done;
                self.conn = None;
                if !told {
                    self.client
                        .handle_transport_error(now, TransportError::Reset);
                }
            }
        }
        Ok(())
    }

    /// Body bytes, and the end of a `length` body they complete.
    fn body_bytes(&mut self, now: Instant, bytes: &[u8]) {
        self.client.handle_bytes(now, bytes);
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if conn.framing == Some(Framing::Length) {
            conn.remaining = conn.remaining.saturating_sub(bytes.len());
            if conn.remaining == 0 {
                conn.body_done = true;
                self.client.handle_eof(now);
            }
        }
    }
}
