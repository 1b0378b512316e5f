//! Runs every server fixture against the core and checks that what each
//! subscriber was written parses back to the published events.

use sse_conformance::server::{fixture_dir, load_cases, run_case, CoreServer};
use sse_core::parse::Parser;

#[test]
fn all_server_fixtures_pass() {
    let cases = load_cases(&fixture_dir()).expect("fixtures load");
    assert!(cases.len() >= 20, "only {} server fixtures", cases.len());
    let mut report = String::new();
    for case in &cases {
        let result = run_case(case, CoreServer::new);
        if !result.passed() {
            report.push_str(&format!(
                "FAIL {}\n  {}\n",
                result.name,
                result.failures.join("\n  ")
            ));
        }
    }
    assert!(report.is_empty(), "{report}");
}

#[test]
fn wire_output_parses_back_to_published_events() {
    let cases = load_cases(&fixture_dir()).expect("fixtures load");
    for case in &cases {
        let result = run_case(case, CoreServer::new);
        // Published broadcast events in order: (type, data, explicit id).
        let published: Vec<(String, String, Option<String>)> = case
            .steps
            .iter()
            .filter_map(|s| s.publish.as_ref())
            .filter(|p| p.to.is_none())
            .flat_map(|p| {
                (1..=p.count()).map(|i| {
                    let data = p.data_of(i).replace("\r\n", "\n").replace('\r', "\n");
                    (
                        p.event.clone().unwrap_or_else(|| "message".into()),
                        data,
                        p.id.clone(),
                    )
                })
            })
            .collect();
        let notice_types = ["sse-resync", "resync"];
        for (name, wire) in &result.wire {
            let mut parser = Parser::new();
            parser.handle_bytes(wire);
            let mut next = 0;
            while let Some(event) = parser.poll_event() {
                let event = event.expect("within limits");
                if notice_types.contains(&event.event_type().as_str()) {
                    continue;
                }
                if event.id().is_empty() {
                    // Sent to this subscriber alone; not a broadcast.
                    let direct = case
                        .steps
                        .iter()
                        .filter_map(|s| s.publish.as_ref())
                        .any(|p| {
                            p.to.as_deref() == Some(name.as_str())
                                && p.data_text() == event.data().as_str()
                        });
                    assert!(direct, "{}: {name}: unexpected event {event:?}", case.name);
                    continue;
                }
                // Each broadcast event matches a later published one (in order).
                let found = published[next..].iter().position(|(ty, data, id)| {
                    ty == event.event_type().as_str()
                        && data == event.data().as_str()
                        && id.as_deref().is_none_or(|id| id == event.id().as_str())
                });
                let Some(offset) = found else {
                    panic!(
                        "{}: {name}: event {event:?} is not a later published event",
                        case.name
                    );
                };
                next += offset + 1;
            }
        }
    }
}
