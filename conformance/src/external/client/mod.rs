//! The client protocol: every client scenario against any program.
//!
//! `sse conformance client --cmd 'PROGRAM {url}'` plays each scenario of
//! `fixtures/client/` with a real HTTP/1.1 server on the loopback interface
//! and the real clock, its times multiplied by [`Settings::time_scale`]
//! (0.1 by default: the browsers' 3 s reconnection time becomes 300 ms).
//! The program is started with the scenario's URL and options (see
//! [`super::command`] for the placeholders), prints one JSON object per
//! line as `sse listen --json` does, and is stopped when the scenario ends.
//! What it printed and what reached the server become an
//! [`crate::client::Observed`], which the scenario's own
//! comparison judges ([`crate::client::check_within`]) with times allowed
//! to be off by [`Settings::tolerance_ms`] real ms plus
//! [`Settings::tolerance_percent`] of the expected time.
//!
//! The pieces: `plan` decides whether a scenario can run and prepares it
//! (listeners, rewritten URLs, scaled times); `session` runs it. Ready
//! states are not printed by programs: they are inferred from the
//! notifications (see [`infer_states`]). The full protocol, for shim
//! authors, is in `fixtures/client/README.md`.

mod plan;
mod session;

use std::time::Duration;

use serde_json::Value;
use sse_core::client::Notification;

use super::command::{program, Caps, Slot, Template};
use super::{Outcome, Report};
use crate::client::{
    check_within, Observed, ObservedNotification, Scenario, Tolerance, UserAction,
};

/// The placeholders of the client protocol and the capabilities they imply.
pub const SLOTS: &[Slot] = &[
    Slot {
        name: "url",
        cap: None,
    },
    Slot {
        name: "retry_ms",
        cap: Some("retry"),
    },
    Slot {
        name: "last_event_id",
        cap: Some("last-event-id"),
    },
    Slot {
        name: "header",
        cap: Some("headers"),
    },
    Slot {
        name: "method",
        cap: Some("post"),
    },
    Slot {
        name: "body",
        cap: Some("post"),
    },
    Slot {
        name: "idle_timeout_ms",
        cap: Some("idle-timeout"),
    },
    Slot {
        name: "connect_timeout_ms",
        cap: Some("connect-timeout"),
    },
    Slot {
        name: "max_redirects",
        cap: Some("max-redirects"),
    },
    Slot {
        name: "reconnect_always",
        cap: Some("reconnect-always"),
    },
    Slot {
        name: "max_line_len",
        cap: Some("max-line-len"),
    },
    Slot {
        name: "comments",
        cap: Some("comments"),
    },
    Slot {
        name: "no_backoff",
        cap: Some("backoff"),
    },
    Slot {
        name: "backoff_max_ms",
        cap: Some("backoff"),
    },
    Slot {
        name: "no_jitter",
        cap: Some("backoff"),
    },
    Slot {
        name: "seed",
        cap: Some("backoff"),
    },
    Slot {
        name: "backoff_reset_ms",
        cap: Some("backoff"),
    },
    Slot {
        name: "retry_status",
        cap: Some("retry-statuses"),
    },
    Slot {
        name: "max_error_body",
        cap: Some("error-body"),
    },
    Slot {
        name: "event_type",
        cap: None,
    },
];

/// Every capability a client program can declare.
pub const CAPS: &[&str] = &[
    "reconnect",
    "close",
    "retry",
    "last-event-id",
    "headers",
    "post",
    "idle-timeout",
    "connect-timeout",
    "max-redirects",
    "reconnect-always",
    "max-line-len",
    "comments",
    "reopen",
    "set-last-event-id",
    "backoff",
    "retry-statuses",
    "error-body",
];

/// How scenarios are played on the real clock.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Real ms per scenario ms.
    pub time_scale: f64,
    /// Fixed slack on every compared time, in real ms.
    pub tolerance_ms: u64,
    /// Slack in percent of the expected time.
    pub tolerance_percent: u64,
    /// How long the program may take to send its first request.
    pub start_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            time_scale: 0.1,
            tolerance_ms: 60,
            tolerance_percent: 5,
            start_timeout: Duration::from_secs(30),
        }
    }
}

impl Settings {
    /// The tolerance in scenario ms.
    pub fn tolerance(&self) -> Tolerance {
        Tolerance {
            ms: (self.tolerance_ms as f64 / self.time_scale).round() as u64,
            percent: self.tolerance_percent,
        }
    }
}

/// A client program under test.
pub struct ExternalClient {
    template: Template,
    caps: Caps,
    settings: Settings,
}

impl ExternalClient {
    /// The program `command` (a template), with capabilities `declared`
    /// on top of those its placeholders imply.
    pub fn new(command: &str, declared: &[String], settings: Settings) -> Result<Self, String> {
        let (template, caps) = program(command, declared, SLOTS, CAPS, settings.time_scale)?;
        if !template.slots().contains("url") {
            return Err(format!("the command needs {{url}}: {command:?}"));
        }
        Ok(ExternalClient {
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
    pub fn run(&self, scenario: &Scenario) -> Report {
        let report = |outcome| Report {
            name: scenario.name.clone(),
            refs: scenario.refs.clone(),
            ours: scenario.ours.clone(),
            outcome,
        };
        if let Some(reason) = plan::skip_reason(scenario, &self.caps, &self.settings) {
            return report(Outcome::Skipped(reason));
        }
        let plan = match plan::plan(scenario, &self.caps, &self.settings) {
            Ok(plan) => plan,
            Err(reason) => return report(Outcome::Skipped(reason)),
        };
        let command = match self.template.expand(&plan.values) {
            Ok(c) => c,
            Err(reason) => return report(Outcome::Skipped(reason)),
        };
        let seen = match session::run(&plan, &command, &self.settings) {
            Ok(seen) => seen,
            Err(e) => return report(Outcome::Failed(vec![format!("could not run: {e}")])),
        };
        let failures = judge(plan.expect, &plan.user_steps, seen, &self.settings);
        if failures.is_empty() {
            report(Outcome::Passed)
        } else {
            report(Outcome::Failed(failures))
        }
    }
}

/// Turns what a session saw into an [`Observed`] and compares.
fn judge(
    mut expect: Scenario,
    user_steps: &[(u64, UserAction)],
    seen: session::Seen,
    settings: &Settings,
) -> Vec<String> {
    let tolerance = settings.tolerance();
    let mut failures = seen.problems.clone();
    let mut notifications = Vec::new();
    let mut printed = Vec::new();
    for (i, (at, line)) in seen.lines.iter().enumerate() {
        match notification(line, *at) {
            Ok((n, keys)) => {
                notifications.push(n);
                printed.push(keys);
            }
            Err(e) => failures.push(format!("stdout line {}: {e}: {line:?}", i + 1)),
        }
    }
    // What a program does not print is not compared.
    for (i, e) in expect.expect.notifications.iter_mut().enumerate() {
        let o = notifications.get(i);
        if o.is_none_or(|o| o.reason.is_none()) {
            e.reason = None;
        }
        if o.is_none_or(|o| o.status.is_none()) {
            e.status = None;
        }
        if o.is_none_or(|o| o.error_body.is_none()) {
            e.error_body = None;
        }
        let keys = printed.get(i).copied().unwrap_or_default();
        if !keys.origin {
            e.origin = None;
        }
        if !keys.content_type {
            e.content_type = None;
        }
    }
    let checks: Vec<u64> = expect
        .user
        .iter()
        .filter(|u| matches!(u.action, UserAction::ExpectState { .. }))
        .map(|u| u.at_ms)
        .collect();
    let wanted: Vec<&str> = expect
        .user
        .iter()
        .filter_map(|u| match &u.action {
            UserAction::ExpectState { state } => Some(state.as_str()),
            _ => None,
        })
        .collect();
    // The run goes on a little past the scenario's end so that what is
    // expected right at the end is seen; what comes after the end is
    // only taken as a late match for something expected.
    let end = expect.run_until_ms;
    let late = |i: usize, at: u64, expected: usize| at <= end || i < expected;
    let mut requests = seen.requests;
    let expected_requests = expect.expect.requests.len();
    let mut i = 0;
    requests.retain(|r| {
        i += 1;
        late(i - 1, r.at_ms, expected_requests)
    });
    let expected_notes = expect.expect.notifications.len();
    let mut i = 0;
    notifications.retain(|n| {
        i += 1;
        late(i - 1, n.at_ms, expected_notes)
    });
    let (states, final_state) =
        infer_states(&notifications, user_steps, &checks, &wanted, tolerance);
    // A drop for a new connection (at about the time of a request) is no
    // disconnect; a request that a `reopen` sent after the drop asked for
    // is no such new connection.
    let expected_drops = expect.expect.disconnects_ms.as_ref().map_or(0, Vec::len);
    let reopened = |dropped: u64, request: u64| {
        user_steps
            .iter()
            .any(|(t, a)| *a == UserAction::Reopen && dropped < *t && *t <= request)
    };
    let disconnects_ms = seen
        .drops
        .iter()
        .filter(|(at, made)| {
            let mut newer = requests.iter().skip(*made);
            !newer.any(|r| r.at_ms.abs_diff(*at) <= tolerance.ms && !reopened(*at, r.at_ms))
        })
        .map(|(at, _)| *at)
        .enumerate()
        .filter(|(i, at)| late(*i, *at, expected_drops))
        .map(|(_, at)| at)
        .collect();
    let observed = Observed {
        requests,
        disconnects_ms,
        notifications,
        states,
        final_state: final_state.into(),
        last_event_id: String::new(),
        reconnection_ms: 0,
    };
    if let Some((at, status)) = seen.exit {
        let state = observed.final_state.as_str();
        if state != "closed" {
            failures.push(format!(
                "the program exited ({status}) at {at} ms while the stream was {state}"
            ));
        }
    }
    failures.extend(check_within(&expect, &observed, tolerance));
    if !failures.is_empty() && !seen.stderr.is_empty() {
        failures.push(format!("stderr: {}", seen.stderr));
    }
    failures
}

/// The ready state at each change, from `connecting` at 0: `open` after
/// `open` or a message, `connecting` after an error with a reconnect,
/// `closed` after one without, after `closed` and after a `close` action;
/// a closed stream changes again only at a `reopen` action (to
/// `connecting`).
fn timeline(
    notes: &[ObservedNotification],
    user_steps: &[(u64, UserAction)],
) -> Vec<(u64, &'static str)> {
    const REOPEN: &str = "reopen";
    let mut changes: Vec<(u64, &'static str)> = notes
        .iter()
        .filter_map(|n| {
            let state = match n.kind.as_str() {
                "open" | "message" => "open",
                "error" if n.reconnecting == Some(true) => "connecting",
                "error" | "closed" => "closed",
                _ => return None,
            };
            Some((n.at_ms, state))
        })
        .collect();
    changes.extend(user_steps.iter().filter_map(|(at, action)| match action {
        UserAction::Close => Some((*at, "closed")),
        UserAction::Reopen => Some((*at, REOPEN)),
        _ => None,
    }));
    // Stable: at equal times the program's lines come before the user's
    // step, as the runner sends the step after what it read.
    changes.sort_by_key(|(at, _)| *at);
    let mut out = vec![(0, "connecting")];
    for (at, state) in changes {
        let closed = out.last().is_some_and(|(_, s)| *s == "closed");
        match (closed, state) {
            (true, REOPEN) => out.push((at, "connecting")),
            (_, REOPEN) | (true, _) => {}
            (false, state) => out.push((at, state)),
        }
    }
    out
}

/// The states held at some moment in `[lo, hi]`.
fn states_between(timeline: &[(u64, &'static str)], lo: u64, hi: u64) -> Vec<&'static str> {
    let mut held = Vec::new();
    for (i, (at, state)) in timeline.iter().enumerate() {
        let until = timeline.get(i + 1).map_or(u64::MAX, |(next, _)| *next);
        // Held over [at, until).
        if *at <= hi && until > lo {
            held.push(*state);
        }
    }
    held
}

/// The ready states at each check time and at the end, inferred from the
/// notifications and the user's `close` and `reopen` steps (`user_steps`;
/// other steps are ignored): a check passes when the wanted state was held at some
/// moment within the tolerance around its time.
pub fn infer_states(
    notes: &[ObservedNotification],
    user_steps: &[(u64, UserAction)],
    checks: &[u64],
    wanted: &[&str],
    tolerance: Tolerance,
) -> (Vec<String>, &'static str) {
    let timeline = timeline(notes, user_steps);
    let states = checks
        .iter()
        .zip(wanted)
        .map(|(at, want)| {
            let slack = tolerance.slack(*at);
            let held = states_between(&timeline, at.saturating_sub(slack), at + slack);
            if held.contains(want) {
                want.to_string()
            } else {
                states_between(&timeline, *at, *at)
                    .last()
                    .copied()
                    .unwrap_or("connecting")
                    .to_string()
            }
        })
        .collect();
    let end = timeline.last().map_or("connecting", |(_, s)| *s);
    (states, end)
}

/// A notification as one line of the protocol (the shape `sse listen
/// --json` prints): `{"kind":"open"}`, `{"kind":"message","type",
/// "data","id","origin"}`, `{"kind":"error","reconnecting","message"}`,
/// `{"kind":"closed"}` or `{"kind":"parse_error","message"}`.
pub fn notification_json(n: &Notification) -> Value {
    match n {
        Notification::Open => serde_json::json!({"kind": "open"}),
        Notification::Message(m) => serde_json::json!({
            "kind": "message",
            "type": m.event.event_type().as_str(),
            "data": m.event.data().as_str(),
            "id": m.event.id().as_str(),
            "origin": m.origin.as_str(),
        }),
        Notification::Error {
            reconnecting,
            error,
        } => serde_json::json!({
            "kind": "error",
            "reconnecting": reconnecting,
            "reason": crate::client::reason_name(error),
            "message": error.to_string(),
        }),
        Notification::Closed => serde_json::json!({"kind": "closed"}),
        Notification::Comment(text) => {
            serde_json::json!({"kind": "comment", "text": text.as_str()})
        }
        Notification::ParseError(e) => {
            serde_json::json!({"kind": "parse_error", "message": e.to_string()})
        }
        _ => serde_json::json!({"kind": "other"}),
    }
}

/// Optional keys a line gave, whose absence means "not said" rather than
/// "none".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Printed {
    origin: bool,
    content_type: bool,
}

/// One stdout line as a notification, and which optional keys it gave.
fn notification(line: &str, at_ms: u64) -> Result<(ObservedNotification, Printed), String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    let text = |key: &str| -> Result<Option<String>, String> {
        match value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("\"{key}\" is not a string")),
        }
    };
    let kind = text("kind")?.ok_or("no \"kind\"")?;
    let mut n = ObservedNotification {
        kind: kind.clone(),
        at_ms,
        ..Default::default()
    };
    match kind.as_str() {
        "open" | "closed" | "parse_error" => {}
        "comment" => n.text = Some(text("text")?.unwrap_or_default()),
        "message" => {
            let data = text("data")?.ok_or("a message without \"data\"")?;
            n.message = Some((
                text("type")?.unwrap_or_else(|| "message".into()),
                data,
                text("id")?.unwrap_or_default(),
                text("origin")?.unwrap_or_default(),
            ));
        }
        "error" => {
            n.reconnecting = Some(
                value
                    .get("reconnecting")
                    .and_then(Value::as_bool)
                    .ok_or("an error without \"reconnecting\": true or false")?,
            );
            n.reason = text("reason")?;
            n.status = value
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok());
            n.content_type = text("content_type")?;
            n.error_body = text("error_body")?;
        }
        other => return Err(format!("unknown kind {other:?}")),
    }
    let printed = Printed {
        origin: value.get("origin").is_some_and(Value::is_string),
        content_type: value.get("content_type").is_some(),
    };
    Ok((n, printed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(kind: &str, at_ms: u64, reconnecting: Option<bool>) -> ObservedNotification {
        ObservedNotification {
            kind: kind.into(),
            at_ms,
            reconnecting,
            ..Default::default()
        }
    }

    #[test]
    fn lines_become_notifications() {
        let (n, printed) = notification(
            r#"{"kind":"message","type":"t","data":"d","id":"7","origin":"http://o"}"#,
            5,
        )
        .unwrap();
        assert!(printed.origin);
        assert_eq!(
            n.message,
            Some(("t".into(), "d".into(), "7".into(), "http://o".into()))
        );
        let (n, printed) =
            notification(r#"{"kind":"error","reconnecting":false,"message":"x"}"#, 0).unwrap();
        assert_eq!(printed, Printed::default());
        assert_eq!(n.reconnecting, Some(false));
        assert_eq!(n.error_body, None);
        let (n, printed) = notification(
            r#"{"kind":"error","reconnecting":false,"status":400,"content_type":null,"error_body":"{}"}"#,
            0,
        )
        .unwrap();
        assert!(printed.content_type);
        assert_eq!((n.status, n.content_type), (Some(400), None));
        assert_eq!(n.error_body.as_deref(), Some("{}"));
        assert!(notification(r#"{"kind":"error"}"#, 0).is_err());
        assert!(notification(r#"{"kind":"wave"}"#, 0).is_err());
        assert!(notification("open", 0).is_err());
    }

    #[test]
    fn states_follow_notifications_and_closes() {
        let notes = [
            note("open", 0, None),
            note("error", 1000, Some(true)),
            note("open", 4000, None),
        ];
        let t = Tolerance {
            ms: 100,
            percent: 0,
        };
        let (states, end) = infer_states(
            &notes,
            &[(5000, UserAction::Close)],
            &[500, 1050, 2000, 3950, 6000],
            &["open", "connecting", "connecting", "open", "open"],
            t,
        );
        // 1050 and 3950 are within 100 ms of a change: either side passes.
        assert_eq!(
            states,
            ["open", "connecting", "connecting", "open", "closed"]
        );
        assert_eq!(end, "closed");
    }

    #[test]
    fn only_a_reopen_moves_a_closed_stream() {
        let notes = [
            note("open", 0, None),
            // A line after the close changes nothing.
            note("error", 150, Some(true)),
            note("open", 320, None),
        ];
        let closes = [
            (100, UserAction::Close),
            (200, UserAction::Reopen),
            // A reopen of a stream that is not closed changes nothing.
            (400, UserAction::Reopen),
        ];
        let timeline = timeline(&notes, &closes);
        assert_eq!(
            timeline,
            [
                (0, "connecting"),
                (0, "open"),
                (100, "closed"),
                (200, "connecting"),
                (320, "open")
            ]
        );
    }
}
