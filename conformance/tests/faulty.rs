//! The subprocess protocols catch what they should: a deliberately faulty
//! stand-in (`src/bin/sse-faulty.rs`, this project's client and server
//! with one thing broken on the wire) fails exactly the scenarios that
//! fault breaks, and the same stand-in without a fault fails none.

use std::collections::BTreeSet;

use sse_conformance::client::{fixture_dir, load_scenarios, Scenario, ServerStep};
use sse_conformance::external::client::{ExternalClient, Settings as ClientSettings};
use sse_conformance::external::server::{ExternalServer, Settings as ServerSettings};
use sse_conformance::external::{Outcome, Report};
use sse_conformance::server::{load_cases, protocol_fixture_dir, Case};

const STAND_IN: &str = env!("CARGO_BIN_EXE_sse-faulty");

/// The failed scenarios' names, and every failure for the assertion message.
fn failed(reports: &[Report]) -> (BTreeSet<&str>, String) {
    let mut names = BTreeSet::new();
    let mut text = String::new();
    for r in reports {
        if let Outcome::Failed(why) = &r.outcome {
            names.insert(r.name.as_str());
            text.push_str(&format!("{}:\n  {}\n", r.name, why.join("\n  ")));
        }
    }
    (names, text)
}

/// How many times a scenario is run before its failure counts. The
/// programs run on the real clock, each in a process of its own; on a
/// loaded machine one run can be later than the tolerance (a redirect
/// followed 126 ms after its response was seen, with 60 ms allowed). A
/// fault on the wire fails every run.
const ATTEMPTS: usize = 3;

/// The report of `run`'s first pass, or of its last failure if all of
/// [`ATTEMPTS`] failed.
fn confirmed(run: impl Fn() -> Report) -> Report {
    let mut report = run();
    for _ in 1..ATTEMPTS {
        if !matches!(report.outcome, Outcome::Failed(_)) {
            break;
        }
        report = run();
    }
    report
}

fn client_reports(fault: &str) -> Vec<Report> {
    let cmd = format!(
        "{STAND_IN} client {fault} {{url}} [--retry-ms {{retry_ms}}] [--last-event-id {{last_event_id}}] \
         [-H {{header}}] [-X {{method}}] [--data {{body}}] [--timeout-ms {{idle_timeout_ms}}]"
    );
    let client = ExternalClient::new(&cmd, &["reconnect,close".into()], ClientSettings::default())
        .expect("a valid command");
    let scenarios = load_scenarios(&fixture_dir()).expect("client fixtures");
    scenarios
        .iter()
        .map(|s| confirmed(|| client.run(s)))
        .collect()
}

fn server_reports(fault: &str) -> Vec<Report> {
    let cmd = format!(
        "{STAND_IN} server {fault} [--retry-ms {{retry_ms}}] [--keep-alive-ms {{keep_alive_ms}}]"
    );
    let server = ExternalServer::new(
        &cmd,
        &["resume,resume-query,ids".into()],
        ServerSettings::default(),
    )
    .expect("a valid command");
    let cases = load_cases(&protocol_fixture_dir()).expect("protocol fixtures");
    cases.iter().map(|c| confirmed(|| server.run(c))).collect()
}

/// The scenarios that ran (were not skipped) in `reports`.
fn ran(reports: &[Report]) -> BTreeSet<&str> {
    reports
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Skipped(_)))
        .map(|r| r.name.as_str())
        .collect()
}

/// Whether a server of `scenario` sends a valid `retry:` with another value
/// than the reconnection time, and the client must reconnect after it.
fn shortens_reconnects(scenario: &Scenario) -> bool {
    let reconnection = scenario.config.reconnection_time_ms.unwrap_or(3000);
    let retry_lines = scenario
        .server
        .iter()
        .flatten()
        .filter_map(|step| match step {
            ServerStep::Body(text) => Some(text.clone()),
            ServerStep::Head(head) => head.body.clone(),
            _ => None,
        });
    let sends_retry = retry_lines.into_iter().any(|text| {
        text.split(['\r', '\n']).any(|line| {
            let value = line
                .strip_prefix("retry:")
                .map(|v| v.strip_prefix(' ').unwrap_or(v));
            value.is_some_and(|v| v.parse::<u64>().is_ok_and(|ms| ms != reconnection))
        })
    });
    sends_retry && scenario.expect.requests.len() > 1
}

/// Whether `scenario` expects a request with a `Last-Event-ID` header.
fn expects_last_event_id(scenario: &Scenario) -> bool {
    scenario.expect.requests.iter().any(|r| {
        r.headers
            .iter()
            .any(|(name, value)| name.eq_ignore_ascii_case("last-event-id") && value.is_some())
    })
}

#[test]
fn a_faulty_client_fails_exactly_the_scenarios_of_its_fault() {
    let scenarios = load_scenarios(&fixture_dir()).expect("client fixtures");
    // The three runs side by side (each is mostly waiting on the clock).
    let [none, ignore_retry, no_last_event_id] = std::thread::scope(|s| {
        ["none", "ignore-retry", "no-last-event-id"]
            .map(|fault| s.spawn(move || client_reports(fault)))
            .map(|run| run.join().expect("a run"))
    });
    let (failed_none, why) = failed(&none);
    assert!(failed_none.is_empty(), "without a fault:\n{why}");
    let ran = ran(&none);
    assert!(ran.len() >= 45, "only {} scenarios ran", ran.len());
    let expected = |rule: fn(&Scenario) -> bool| -> BTreeSet<&str> {
        scenarios
            .iter()
            .filter(|s| ran.contains(s.name.as_str()) && rule(s))
            .map(|s| s.name.as_str())
            .collect()
    };

    // Every scenario whose server changes the reconnection time with a
    // `retry:` field and then makes the client reconnect.
    let want = expected(shortens_reconnects);
    assert!(want.contains("retry-field-changes-delay"), "{want:?}");
    let (names, why) = failed(&ignore_retry);
    assert_eq!(names, want, "ignore-retry:\n{why}");

    // Every scenario that expects a Last-Event-ID header.
    let want = expected(expects_last_event_id);
    assert!(want.contains("last-event-id-sent-on-reconnect"), "{want:?}");
    let (names, why) = failed(&no_last_event_id);
    assert_eq!(names, want, "no-last-event-id:\n{why}");
}

#[test]
fn a_faulty_server_fails_exactly_the_scenarios_of_its_fault() {
    let cases = load_cases(&protocol_fixture_dir()).expect("protocol fixtures");
    let [none, no_keep_alive, no_resume] = std::thread::scope(|s| {
        ["none", "no-keep-alive", "no-resume"]
            .map(|fault| s.spawn(move || server_reports(fault)))
            .map(|run| run.join().expect("a run"))
    });
    let (failed_none, why) = failed(&none);
    assert!(failed_none.is_empty(), "without a fault:\n{why}");
    assert!(none.iter().all(|r| r.outcome == Outcome::Passed));
    let expected = |rule: fn(&Case) -> bool| -> BTreeSet<&str> {
        cases
            .iter()
            .filter(|c| rule(c))
            .map(|c| c.name.as_str())
            .collect()
    };

    // Every case with a keep-alive interval.
    let want = expected(|c| c.config.keep_alive_ms.is_some());
    assert!(want.contains("keep-alive-when-idle"), "{want:?}");
    let (names, why) = failed(&no_keep_alive);
    assert_eq!(names, want, "no-keep-alive:\n{why}");

    // Every case that asks to resume, by header or query.
    let want = expected(|c| {
        c.steps
            .iter()
            .filter_map(|s| s.connect.as_ref())
            .any(|connect| {
                connect.target.contains("last_event_id=")
                    || connect
                        .headers
                        .iter()
                        .any(|(n, _)| n.eq_ignore_ascii_case("last-event-id"))
            })
    });
    assert!(want.contains("resume-from-last-event-id"), "{want:?}");
    let (names, why) = failed(&no_resume);
    assert_eq!(names, want, "no-resume:\n{why}");
}
