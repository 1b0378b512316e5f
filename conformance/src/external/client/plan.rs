//! From a scenario to a run on the real clock: what the scenario needs of
//! the program (or why it is skipped), one loopback listener per authority
//! it names, its URLs rewritten to them, its times scaled, and the values of
//! the command's placeholders.

use std::collections::BTreeSet;
use std::net::TcpListener;

use sse_core::url::Url;

use super::{Settings, CAPS};
use crate::client::{
    frame_body, ExpectNotification, Framing, Head, Scenario, ServerStep, UserAction, LAST_CHUNK,
};
use crate::external::command::{Caps, Values};

/// One step of the server's answer, ready for the wire. Waits stay in
/// scenario ms; the session scales them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Step {
    Wait(u64),
    Write(Vec<u8>),
    Eof,
    Reset,
}

/// Everything a session needs.
pub(super) struct Plan {
    /// The scenario with its expectations rewritten to the local URLs (and
    /// without disconnects where the wire cannot tell them).
    pub expect: Scenario,
    /// The answer to the n-th request.
    pub scripts: Vec<Vec<Step>>,
    /// Lines the program gets on stdin (`close`, `reopen`,
    /// `last-event-id ID`), at scenario ms.
    pub commands: Vec<(u64, String)>,
    /// The `close` and `reopen` steps, at scenario ms: they change the
    /// ready state without a line from the program.
    pub user_steps: Vec<(u64, UserAction)>,
    /// The run ends at this scenario time.
    pub end_ms: u64,
    /// An `eof` right after a write waits a little, as a `reset` does: the
    /// client keeps a bounded error body and may stop reading (and drop
    /// the connection) before the end, which must be seen as its own
    /// disconnect, not as the server's close.
    pub eof_gap: bool,
    /// Placeholder values.
    pub values: Values,
    /// The same values for the `SSE_CONFORMANCE` variable (JSON).
    pub env: String,
    /// One listener per authority, with its `http://host:port` base.
    pub listeners: Vec<(TcpListener, String)>,
}

/// The default reconnection time of the scenarios (and of browsers).
const DEFAULT_RECONNECTION_MS: u64 = 3000;

/// How long a connection stays open to reset the backoff, when a scenario
/// with backoff does not say.
const DEFAULT_BACKOFF_RESET_MS: u64 = 30_000;

/// Why a scenario cannot run against a program, or `None`.
pub(super) fn skip_reason(s: &Scenario, caps: &Caps, settings: &Settings) -> Option<String> {
    let need = |cap: &str, what: &str| {
        debug_assert!(CAPS.contains(&cap));
        (!caps.has(cap)).then(|| format!("needs capability `{cap}` ({what})"))
    };
    let ours = |what: &str| Some(format!("ours alone: {what}"));
    let c = &s.config;
    let jitter = c.backoff.as_ref().is_some_and(|b| b.jitter);
    let method = c.method.as_deref().unwrap_or("GET");
    let checks = [
        (method != "GET" || c.body.is_some())
            .then(|| need("post", "another method or a request body"))
            .flatten(),
        (!c.headers.is_empty())
            .then(|| need("headers", "extra request headers"))
            .flatten(),
        c.last_event_id
            .is_some()
            .then(|| need("last-event-id", "a last event ID to start with"))
            .flatten(),
        c.idle_timeout_ms
            .is_some()
            .then(|| need("idle-timeout", "an idle timeout"))
            .flatten(),
        c.connect_timeout_ms
            .is_some()
            .then(|| need("connect-timeout", "a timeout for the response head"))
            .flatten(),
        c.max_redirects
            .is_some()
            .then(|| need("max-redirects", "a redirect limit"))
            .flatten(),
        (c.backoff.is_some() || c.backoff_reset_ms.is_some() || c.seed.is_some())
            .then(|| need("backoff", "ours alone: capped exponential backoff and its SplitMix64 jitter; the spec leaves extra waits to the client"))
            .flatten(),
        // A jittered wait is a whole number of ms drawn from the scaled
        // wait: the draws match the scenario's only on its own clock.
        (jitter && settings.time_scale != 1.0)
            .then(|| format!("jitter is drawn in whole ms of the wait, so its times are those of the scenario only at --time-scale 1 (not {})", settings.time_scale)),
        (!c.retry_statuses.is_empty())
            .then(|| need("retry-statuses", "ours alone: statuses retried instead of failing"))
            .flatten(),
        match c.reconnect.as_deref() {
            None | Some("auto") => None,
            Some("always") => need(
                "reconnect-always",
                "reconnecting a stream of another method than GET",
            ),
            Some(_) => ours("a reconnect policy other than automatic or always"),
        },
        match &c.want {
            None => None,
            Some(want) if is_all_and_comments(want) => need("comments", "comment lines"),
            Some(_) => ours("choosing which notifications to get (the seed's WantFlag): ready states are inferred from the lines a program prints, so a program told to print fewer cannot show them"),
        },
        c.max_error_body
            .is_some()
            .then(|| need("error-body", "ours alone: the body of a failed response kept in the error"))
            .flatten(),
        c.max_line_len
            .is_some()
            .then(|| need("max-line-len", "a line length limit"))
            .flatten(),
    ];
    if let Some(reason) = checks.into_iter().flatten().next() {
        return Some(reason);
    }
    for step in &s.user {
        let reason = match &step.action {
            UserAction::Close => need("close", "close() while it runs"),
            UserAction::Reopen => need(
                "reopen",
                "ours alone: reopen(); an EventSource cannot be reopened",
            ),
            UserAction::SetLastEventId { value } if value.contains(['\r', '\n']) => {
                Some("a last event ID with a line break cannot go on a stdin line".into())
            }
            UserAction::SetLastEventId { .. } => need(
                "set-last-event-id",
                "ours alone: setting the last event ID while it runs",
            ),
            UserAction::ExpectState { .. } => None,
        };
        if reason.is_some() {
            return reason;
        }
    }
    let reconnects = |n: &ExpectNotification| n.kind == "error" && n.reconnecting == Some(true);
    if s.expect.notifications.iter().any(reconnects) {
        if let Some(reason) = need("reconnect", "reconnecting on its own") {
            return Some(reason);
        }
    }
    // The runner sets the reconnection time of a program without `retry`
    // with a `retry:` line at the start of the first stream: a reconnect
    // before any stream opened would wait the program's own default.
    let first_open = s.expect.notifications.iter().position(|n| n.kind == "open");
    let early = s.expect.notifications.iter().position(reconnects);
    if early.is_some_and(|e| first_open.is_none_or(|o| e < o)) {
        if let Some(reason) = need(
            "retry",
            "a reconnect before any stream opened waits the initial reconnection time",
        ) {
            return Some(reason);
        }
    }
    None
}

/// Whether `want` asks for every notification and comments too.
fn is_all_and_comments(want: &[String]) -> bool {
    let set: BTreeSet<&str> = want.iter().map(String::as_str).collect();
    set == BTreeSet::from(["errors", "open_close", "messages", "comments"])
}

/// Builds the plan of a scenario that can run.
pub(super) fn plan(s: &Scenario, caps: &Caps, settings: &Settings) -> Result<Plan, String> {
    let hosts = Hosts::bind(s)?;
    let mut expect = s.clone();
    for r in &mut expect.expect.requests {
        if let Some(url) = &mut r.url {
            *url = hosts.rewrite(url, "http");
        }
    }
    for n in &mut expect.expect.notifications {
        if let Some(origin) = &mut n.origin {
            *origin = hosts.rewrite(origin, "http");
        }
    }
    // A client may keep a connection whose response ended by its framing
    // (a redirect's, a framed body's) for reuse: whether it drops it then
    // is HTTP's business, not a disconnect a server can tell apart.
    let reusable = s.server.iter().flatten().any(|step| {
        matches!(step, ServerStep::Head(h) if (300..400).contains(&h.status)
            || h.framing.is_some()
            || header(h, "content-length").is_some()
            || header(h, "transfer-encoding").is_some())
    });
    if reusable {
        expect.expect.disconnects_ms = None;
    }

    let reconnection_ms = s
        .config
        .reconnection_time_ms
        .unwrap_or(DEFAULT_RECONNECTION_MS);
    let scale = |ms: u64| scale_ms(ms, settings.time_scale);
    // The initial reconnection time goes into the first stream only: a
    // later `retry:` of ours would undo one the scenario's server sent.
    let first_stream = s.server.iter().position(|steps| {
        steps.iter().any(
            |step| matches!(step, ServerStep::Head(h) if h.status == 200 && is_event_stream(h)),
        )
    });
    let inject = (!caps.has("retry")).then(|| scale(reconnection_ms));
    let retried = !s.config.retry_statuses.is_empty();
    let scripts = s
        .server
        .iter()
        .enumerate()
        .map(|(i, steps)| {
            let inject = inject.filter(|_| Some(i) == first_stream);
            script(steps, &hosts, settings.time_scale, inject, retried)
        })
        .collect::<Result<Vec<_>, String>>()?;

    let url = hosts.rewrite(&s.url, "http");
    let c = &s.config;
    let mut values = Values::new();
    values.insert("url", vec![url.clone()]);
    values.insert("retry_ms", vec![scale(reconnection_ms).to_string()]);
    if let Some(id) = &c.last_event_id {
        values.insert("last_event_id", vec![id.clone()]);
    }
    let headers: Vec<String> = c.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    if !headers.is_empty() {
        values.insert("header", headers);
    }
    if let Some(m) = &c.method {
        values.insert("method", vec![m.clone()]);
    }
    if let Some(b) = &c.body {
        values.insert("body", vec![b.clone()]);
    }
    if let Some(ms) = c.idle_timeout_ms {
        values.insert("idle_timeout_ms", vec![scale(ms).to_string()]);
    }
    if let Some(ms) = c.connect_timeout_ms {
        values.insert("connect_timeout_ms", vec![scale(ms).to_string()]);
    }
    if let Some(n) = c.max_redirects {
        values.insert("max_redirects", vec![n.to_string()]);
    }
    if c.reconnect.as_deref() == Some("always") {
        values.insert("reconnect_always", vec![String::new()]);
    }
    if let Some(n) = c.max_line_len {
        values.insert("max_line_len", vec![n.to_string()]);
    }
    match &c.backoff {
        Some(backoff) => {
            values.insert("backoff_max_ms", vec![scale(backoff.max_ms).to_string()]);
            if backoff.jitter {
                values.insert("seed", vec![c.seed.unwrap_or(0).to_string()]);
            } else {
                values.insert("no_jitter", vec![String::new()]);
            }
        }
        None => {
            values.insert("no_backoff", vec![String::new()]);
        }
    }
    let backoff_reset_ms = scale(c.backoff_reset_ms.unwrap_or(DEFAULT_BACKOFF_RESET_MS));
    if c.backoff.is_some() {
        values.insert("backoff_reset_ms", vec![backoff_reset_ms.to_string()]);
    }
    let retry_statuses: Vec<String> = c
        .retry_statuses
        .iter()
        .map(|[from, to]| format!("{from}-{to}"))
        .collect();
    if !retry_statuses.is_empty() {
        values.insert("retry_status", retry_statuses);
    }
    if let Some(n) = c.max_error_body {
        values.insert("max_error_body", vec![n.to_string()]);
    }
    let comments = c.want.as_deref().is_some_and(is_all_and_comments);
    if comments {
        values.insert("comments", vec![String::new()]);
    }
    let types = event_types(s);
    if !types.is_empty() {
        values.insert("event_type", types.clone());
    }
    let env = serde_json::json!({
        "scenario": s.name,
        "url": url,
        "retry_ms": scale(reconnection_ms),
        "last_event_id": c.last_event_id,
        "headers": c.headers,
        "method": c.method.as_deref().unwrap_or("GET"),
        "body": c.body,
        "idle_timeout_ms": c.idle_timeout_ms.map(scale),
        "connect_timeout_ms": c.connect_timeout_ms.map(scale),
        "max_redirects": c.max_redirects,
        "reconnect_always": c.reconnect.as_deref() == Some("always"),
        "max_line_len": c.max_line_len,
        "comments": comments,
        "backoff": c.backoff.as_ref().map(|b| serde_json::json!({
            "max_ms": scale(b.max_ms),
            "jitter": b.jitter,
            "reset_ms": backoff_reset_ms,
            "seed": c.seed.unwrap_or(0),
        })),
        "retry_statuses": c.retry_statuses,
        "max_error_body": c.max_error_body,
        "event_types": types,
        "time_scale": settings.time_scale,
    })
    .to_string();

    let commands = s
        .user
        .iter()
        .filter_map(|u| {
            let line = match &u.action {
                UserAction::Close => "close".to_string(),
                UserAction::Reopen => "reopen".to_string(),
                UserAction::SetLastEventId { value } => format!("last-event-id {value}"),
                UserAction::ExpectState { .. } => return None,
            };
            Some((u.at_ms, line))
        })
        .collect();
    let user_steps = s
        .user
        .iter()
        .filter(|u| matches!(u.action, UserAction::Close | UserAction::Reopen))
        .map(|u| (u.at_ms, u.action.clone()))
        .collect();
    Ok(Plan {
        end_ms: (s.run_until_ms + settings.tolerance().slack(s.run_until_ms))
            .min(horizon(s, reconnection_ms)),
        eof_gap: c.max_error_body.is_some(),
        expect,
        scripts,
        commands,
        user_steps,
        values,
        env,
        listeners: hosts.listeners,
    })
}

/// `ms` scenario milliseconds on the real clock, rounded to whole ms.
pub(super) fn scale_ms(ms: u64, scale: f64) -> u64 {
    (ms as f64 * scale).round() as u64
}

/// When nothing more is expected: the last expected time (of a request, a
/// notification, a user step, the end of an answer's script) plus twice
/// the longest reconnection time in play, so a client that reconnects when
/// it should not still shows.
fn horizon(s: &Scenario, reconnection_ms: u64) -> u64 {
    let mut last = 0;
    let e = &s.expect;
    for (i, r) in e.requests.iter().enumerate() {
        let at = r.at_ms.unwrap_or(0);
        let script: u64 = s
            .server
            .get(i)
            .into_iter()
            .flatten()
            .map(|step| match step {
                ServerStep::WaitMs(ms) => *ms,
                _ => 0,
            })
            .sum();
        last = last.max(at + script);
    }
    last = e
        .notifications
        .iter()
        .filter_map(|n| n.at_ms)
        .chain(s.user.iter().map(|u| u.at_ms))
        .chain(e.disconnects_ms.iter().flatten().copied())
        .fold(last, u64::max);
    let longest = s
        .server
        .iter()
        .flatten()
        .filter_map(|step| match step {
            ServerStep::Body(text) => Some(retry_values(text)),
            _ => None,
        })
        .flatten()
        .fold(reconnection_ms, u64::max);
    last.saturating_add(longest.saturating_mul(2))
}

/// The valid `retry:` values in a body (lines of `retry:`, an optional
/// space, digits).
fn retry_values(text: &str) -> Vec<u64> {
    text.split(['\r', '\n'])
        .filter_map(|line| retry_digits(line).and_then(|(_, d)| d.parse().ok()))
        .collect()
}

/// For a `retry` field line with a valid value: the prefix and the digits.
fn retry_digits(line: &str) -> Option<(&str, &str)> {
    let value = line.strip_prefix("retry:")?;
    let value = value.strip_prefix(' ').unwrap_or(value);
    let prefix = &line[..line.len() - value.len()];
    (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())).then_some((prefix, value))
}

/// `text` with every valid `retry:` value scaled (leading zeros kept, so a
/// scenario about them still has them).
fn scale_retry_lines(text: &str, scale: f64) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        let (line, tail) = rest.split_at(end);
        match retry_digits(line).and_then(|(p, d)| Some((p, d, d.parse::<u64>().ok()?))) {
            Some((prefix, digits, ms)) => {
                let zeros = digits.len() - digits.trim_start_matches('0').len();
                let zeros = if ms == 0 { 0 } else { zeros };
                out.push_str(prefix);
                out.push_str(&"0".repeat(zeros));
                out.push_str(&scale_ms(ms, scale).to_string());
            }
            None => out.push_str(line),
        }
        let term = if tail.starts_with("\r\n") {
            2
        } else {
            usize::from(!tail.is_empty())
        };
        out.push_str(&tail[..term]);
        rest = &tail[term..];
    }
    out
}

/// The event types a program may have to listen for by name: the `event:`
/// values in the bodies and the types of expected messages, `message`
/// excepted.
fn event_types(s: &Scenario) -> Vec<String> {
    let mut types = BTreeSet::new();
    for step in s.server.iter().flatten() {
        if let ServerStep::Body(text) = step {
            for line in text.split(['\r', '\n']) {
                if let Some(v) = line.strip_prefix("event:") {
                    types.insert(v.strip_prefix(' ').unwrap_or(v).to_string());
                }
            }
        }
    }
    types.extend(
        s.expect
            .notifications
            .iter()
            .filter_map(|n| n.event.clone()),
    );
    types.remove("message");
    types.remove("");
    types.into_iter().collect()
}

/// One attempt's answer, on the wire: `retry:` values scaled, the initial
/// reconnection time put in first (`inject_retry`), `Location`s pointed at
/// the local listeners, then framed as the loopback runner frames it
/// ([`Head::wire`], [`frame_body`]).
fn script(
    steps: &[ServerStep],
    hosts: &Hosts,
    scale: f64,
    inject_retry: Option<u64>,
    retried: bool,
) -> Result<Vec<Step>, String> {
    let steps = prepare(steps, hosts, scale, inject_retry, retried)?;
    let mut out = Vec::new();
    let (mut chunked, mut done) = (false, false);
    let end_body = |chunked: bool, done: &mut bool, out: &mut Vec<Step>| {
        if chunked && !*done {
            *done = true;
            out.push(Step::Write(LAST_CHUNK.to_vec()));
        }
    };
    for (i, step) in steps.iter().enumerate() {
        match step {
            ServerStep::WaitMs(ms) => out.push(Step::Wait(*ms)),
            ServerStep::Refuse | ServerStep::Reset => out.push(Step::Reset),
            ServerStep::Head(head) => {
                out.push(Step::Write(head.wire(&steps[i + 1..])?));
                chunked = head.framing == Some(Framing::Chunked);
                done = head.is_complete();
            }
            ServerStep::Body(text) => {
                let mut wire = Vec::new();
                frame_body(chunked, text.as_bytes(), &mut wire);
                out.push(Step::Write(wire));
            }
            ServerStep::BodyHex(hex) => {
                let mut wire = Vec::new();
                frame_body(chunked, &crate::client::decode_hex(hex)?, &mut wire);
                out.push(Step::Write(wire));
            }
            ServerStep::End => end_body(chunked, &mut done, &mut out),
            ServerStep::Eof => {
                end_body(chunked, &mut done, &mut out);
                out.push(Step::Eof);
            }
        }
    }
    Ok(out)
}

/// The scenario's steps as the real-clock run plays them (not framed yet);
/// with `retried` (the client retries statuses), `Retry-After` seconds
/// scaled, or why they cannot be.
fn prepare(
    steps: &[ServerStep],
    hosts: &Hosts,
    scale: f64,
    inject_retry: Option<u64>,
    retried: bool,
) -> Result<Vec<ServerStep>, String> {
    let mut out: Vec<ServerStep> = Vec::with_capacity(steps.len() + 1);
    let mut inject = None;
    for (i, step) in steps.iter().enumerate() {
        let rest = &steps[i + 1..];
        match step {
            ServerStep::Head(head) => {
                let mut head = head.clone();
                for (name, value) in &mut head.headers {
                    if name.eq_ignore_ascii_case("location") {
                        *value = hosts.rewrite(value, "http");
                    }
                    if retried && name.eq_ignore_ascii_case("retry-after") {
                        *value = scale_retry_after(value, scale)?;
                    }
                }
                head.body = head.body.map(|b| scale_retry_lines(&b, scale));
                let body_follows = rest
                    .iter()
                    .any(|s| matches!(s, ServerStep::Body(_) | ServerStep::BodyHex(_)));
                let framed = head.framing.is_some()
                    || header(&head, "content-length").is_some()
                    || header(&head, "transfer-encoding").is_some();
                // A redirect's "no body", the HTTP/1.1 way: a library that
                // reads a redirect's body before following it must not wait
                // for an end that never comes.
                if (300..400).contains(&head.status)
                    && head.status != 304
                    && !body_follows
                    && head.body.is_none()
                    && !framed
                {
                    head.headers.push(("Content-Length".into(), "0".into()));
                }
                if head.status == 200 && is_event_stream(&head) {
                    inject = inject_retry.map(|ms| format!("retry: {ms}\n"));
                    if let (Some(line), Some(body)) = (&inject, &mut head.body) {
                        *body = with_injected(body, line);
                        inject = None;
                    }
                }
                out.push(ServerStep::Head(head));
                // No body step right after the head: the line goes alone.
                if !matches!(rest.first(), Some(ServerStep::Body(_))) {
                    if let Some(line) = inject.take() {
                        out.push(ServerStep::Body(line));
                    }
                }
            }
            ServerStep::Body(text) => {
                let text = scale_retry_lines(text, scale);
                out.push(ServerStep::Body(match inject.take() {
                    Some(line) => with_injected(&text, &line),
                    None => text,
                }));
            }
            other => out.push(other.clone()),
        }
    }
    Ok(out)
}

/// A `Retry-After` in seconds on the scaled clock: only whole seconds are
/// a valid header, so a value that does not scale to whole seconds cannot
/// be played (an HTTP date is left as it is).
fn scale_retry_after(value: &str, scale: f64) -> Result<String, String> {
    let Ok(seconds) = value.trim().parse::<u64>() else {
        return Ok(value.to_string());
    };
    let scaled = seconds as f64 * scale;
    if (scaled - scaled.round()).abs() > 1e-9 {
        return Err(format!(
            "`Retry-After: {seconds}` is whole seconds, and {seconds} s at time scale {scale} is not"
        ));
    }
    Ok((scaled.round() as u64).to_string())
}

/// `body` with `line` put at its start, after a leading BOM (which must
/// stay the first character of the stream).
fn with_injected(body: &str, line: &str) -> String {
    match body.strip_prefix('\u{feff}') {
        Some(rest) => format!("\u{feff}{line}{rest}"),
        None => format!("{line}{body}"),
    }
}

fn header<'a>(head: &'a Head, name: &str) -> Option<&'a str> {
    head.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn is_event_stream(head: &Head) -> bool {
    header(head, "content-type").is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("text/event-stream")
    })
}

/// The authorities a scenario names, each served by its own listener on
/// the loopback interface (`[::1]` for IPv6 literals, 127.0.0.1 for every
/// other host, over plain HTTP: TLS is not played).
struct Hosts {
    /// `scheme://host:port` as the scenario says it, and the local
    /// `host:port` that stands for it.
    map: Vec<(String, String)>,
    listeners: Vec<(TcpListener, String)>,
}

impl Hosts {
    fn bind(s: &Scenario) -> Result<Hosts, String> {
        let mut urls = vec![s.url.clone()];
        for step in s.server.iter().flatten() {
            if let ServerStep::Head(head) = step {
                urls.extend(header(head, "location").map(str::to_string));
            }
        }
        urls.extend(s.expect.requests.iter().filter_map(|r| r.url.clone()));
        urls.extend(
            s.expect
                .notifications
                .iter()
                .filter_map(|n| n.origin.clone()),
        );
        let mut hosts = Hosts {
            map: Vec::new(),
            listeners: Vec::new(),
        };
        for url in urls {
            let Some((key, _)) = authority_key(&url, "http") else {
                continue;
            };
            if hosts.map.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let v6 = key.contains("://[");
            let addr = if v6 { "[::1]:0" } else { "127.0.0.1:0" };
            let listener = TcpListener::bind(addr).map_err(|e| {
                format!("cannot listen on {addr} for {key} (no IPv6 loopback here?): {e}")
            })?;
            let local = listener
                .local_addr()
                .map_err(|e| e.to_string())?
                .to_string();
            hosts.listeners.push((listener, format!("http://{local}")));
            hosts.map.push((key, local));
        }
        Ok(hosts)
    }

    /// `url` with its authority replaced by the local one standing for it
    /// (absolute and scheme-relative URLs; anything else is returned as
    /// is).
    fn rewrite(&self, url: &str, base_scheme: &str) -> String {
        let Some((key, end)) = authority_key(url, base_scheme) else {
            return url.to_string();
        };
        let Some((_, local)) = self.map.iter().find(|(k, _)| *k == key) else {
            return url.to_string();
        };
        let prefix = if url.starts_with("//") {
            "//"
        } else {
            "http://"
        };
        format!("{prefix}{local}{}", &url[end..])
    }
}

/// `scheme://host:port` (default port filled in) of an absolute or
/// scheme-relative URL, and where its authority ends in `url`.
fn authority_key(url: &str, base_scheme: &str) -> Option<(String, usize)> {
    let (absolute, start) = if url.starts_with("//") {
        (format!("{base_scheme}:{url}"), 2)
    } else {
        let (scheme, _) = url.split_once("://")?;
        if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphabetic()) {
            return None;
        }
        (url.to_string(), scheme.len() + 3)
    };
    let parsed = Url::parse(&absolute).ok()?;
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    Some((
        format!("{}://{}:{}", parsed.scheme(), parsed.host(), parsed.port()),
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_lines_are_scaled_with_their_zeros() {
        assert_eq!(
            scale_retry_lines(
                "retry: 500\r\nretry:02000\rdata: retry: 9\nretry: 1.5\n\n",
                0.05
            ),
            "retry: 25\r\nretry:0100\rdata: retry: 9\nretry: 1.5\n\n"
        );
        assert_eq!(scale_retry_lines("retry:0\n", 0.05), "retry:0\n");
        assert_eq!(retry_values("retry: 7\nretry:\nretry: x\n"), [7]);
    }

    #[test]
    fn authorities_map_with_default_ports() {
        assert_eq!(
            authority_key("https://secure.test:443/final", "http"),
            Some(("https://secure.test:443".into(), 23))
        );
        assert_eq!(
            authority_key("//other.test:8080/d/../e", "http").map(|k| k.0),
            Some("http://other.test:8080".into())
        );
        assert_eq!(
            authority_key("http://[::1]:8080/s", "http").map(|k| k.0),
            Some("http://[::1]:8080".into())
        );
        assert_eq!(authority_key("/a/b", "http"), None);
        assert_eq!(authority_key("c?x=1", "http"), None);
    }

    #[test]
    fn retry_after_scales_only_to_whole_seconds() {
        assert_eq!(scale_retry_after("7", 1.0), Ok("7".into()));
        assert_eq!(scale_retry_after(" 20", 0.1), Ok("2".into()));
        let err = scale_retry_after("7", 0.1).unwrap_err();
        assert!(err.contains("`Retry-After: 7` is whole seconds"), "{err}");
        // A date is no wait to scale.
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(scale_retry_after(date, 0.1), Ok(date.into()));
    }

    #[test]
    fn ours_alone_needs_its_capability_and_jitter_its_own_clock() {
        let scenarios = crate::client::load_scenarios(&crate::client::fixture_dir()).unwrap();
        let get = |name: &str| scenarios.iter().find(|s| s.name == name).unwrap();
        let (none, template) = (&[][..], "p {url}");
        let caps = |declared: &[String]| {
            crate::external::command::program(template, declared, super::super::SLOTS, CAPS, 0.1)
                .unwrap()
                .1
        };
        let bare = caps(none);
        let all = caps(&[
            "reconnect,retry,close,reopen,set-last-event-id,backoff,retry-statuses,error-body"
                .into(),
        ]);
        let at = |scale: f64| Settings {
            time_scale: scale,
            ..Settings::default()
        };
        for (name, cap) in [
            ("backoff-growth-and-cap", "backoff"),
            ("retry-on-status-unlisted-fails", "retry-statuses"),
            ("error-body-kept-bounded", "error-body"),
            ("reopen-after-failure", "reopen"),
            ("set-last-event-id-while-open", "set-last-event-id"),
        ] {
            let reason = skip_reason(get(name), &bare, &at(0.1)).unwrap();
            assert!(
                reason.starts_with(&format!("needs capability `{cap}` (ours alone: ")),
                "{name}: {reason}"
            );
            assert_eq!(skip_reason(get(name), &all, &at(0.1)), None, "{name}");
        }
        let jitter = get("jitter-seed-1");
        let reason = skip_reason(jitter, &all, &at(0.1)).unwrap();
        assert!(reason.contains("only at --time-scale 1"), "{reason}");
        assert_eq!(skip_reason(jitter, &all, &at(1.0)), None);
        // Choosing notifications stays ours alone for every program.
        assert!(skip_reason(get("want-none"), &all, &at(1.0))
            .unwrap()
            .starts_with("ours alone: choosing which notifications"));
    }

    #[test]
    fn an_injected_retry_goes_after_the_bom() {
        assert_eq!(
            with_injected("\u{feff}data: 1\n\n", "retry: 9\n"),
            "\u{feff}retry: 9\ndata: 1\n\n"
        );
        assert_eq!(
            with_injected("data: 1\n\n", "retry: 9\n"),
            "retry: 9\ndata: 1\n\n"
        );
    }
}
