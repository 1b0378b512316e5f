//! The subprocess protocols catch what they should: a deliberately faulty
//! stand-in (`src/bin/sse-faulty.rs`, this project's client and server
//! with one thing broken on the wire) fails exactly the scenarios that
//! fault breaks, and the same stand-in without a fault fails none.

use std::collections::BTreeSet;

use sse_conformance::client::{fixture_dir, load_scenarios};
use sse_conformance::external::client::{ExternalClient, Settings as ClientSettings};
use sse_conformance::external::server::{ExternalServer, Settings as ServerSettings};
use sse_conformance::external::{Outcome, Report};
use sse_conformance::server::{load_cases, protocol_fixture_dir};

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

fn client_reports(fault: &str) -> Vec<Report> {
    let cmd = format!(
        "{STAND_IN} client {fault} {{url}} [--retry-ms {{retry_ms}}] [--last-event-id {{last_event_id}}] \
         [-H {{header}}] [-X {{method}}] [--data {{body}}] [--timeout-ms {{idle_timeout_ms}}]"
    );
    let client = ExternalClient::new(&cmd, &["reconnect,close".into()], ClientSettings::default())
        .expect("a valid command");
    let scenarios = load_scenarios(&fixture_dir()).expect("client fixtures");
    scenarios.iter().map(|s| client.run(s)).collect()
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
    cases.iter().map(|c| server.run(c)).collect()
}

#[test]
fn a_faulty_client_fails_exactly_the_scenarios_of_its_fault() {
    let none = client_reports("none");
    let (failed_none, why) = failed(&none);
    assert!(failed_none.is_empty(), "without a fault:\n{why}");
    let ran = none.iter().filter(|r| r.outcome == Outcome::Passed).count();
    assert!(ran >= 35, "only {ran} scenarios ran");

    // Every scenario whose server shortens the reconnection time with a
    // `retry:` field and then makes the client reconnect.
    let reports = client_reports("ignore-retry");
    let (names, why) = failed(&reports);
    let want = BTreeSet::from([
        "data-before-final-empty-line",
        "id-with-nul-ignored",
        "last-event-id-persists-across-reconnects",
        "last-event-id-sent-on-reconnect",
        "retry-field-bogus-ignored",
        "retry-field-changes-delay",
        "wpt-eventsource-close-events",
    ]);
    assert_eq!(names, want, "ignore-retry:\n{why}");

    // Every scenario that expects a Last-Event-ID header.
    let reports = client_reports("no-last-event-id");
    let (names, why) = failed(&reports);
    let want = BTreeSet::from([
        "initial-last-event-id",
        "last-event-id-persists-across-reconnects",
        "last-event-id-sent-on-reconnect",
        "redirect-chain-origin",
    ]);
    assert_eq!(names, want, "no-last-event-id:\n{why}");
}

#[test]
fn a_faulty_server_fails_exactly_the_scenarios_of_its_fault() {
    let none = server_reports("none");
    let (failed_none, why) = failed(&none);
    assert!(failed_none.is_empty(), "without a fault:\n{why}");
    assert!(none.iter().all(|r| r.outcome == Outcome::Passed));

    let reports = server_reports("no-keep-alive");
    let (names, why) = failed(&reports);
    assert_eq!(
        names,
        BTreeSet::from(["keep-alive-when-idle"]),
        "no-keep-alive:\n{why}"
    );

    let reports = server_reports("no-resume");
    let (names, why) = failed(&reports);
    let want = BTreeSet::from(["resume-from-last-event-id", "resume-from-query"]);
    assert_eq!(names, want, "no-resume:\n{why}");
}
