//! Every parse fixture passes against sse-core under every chunking, and the
//! protocol's JSON Lines round-trip.

use sse_conformance::parse::{fixtures_dir, load, run, CoreParser, Outcome};

#[test]
fn every_parse_fixture_passes_in_process() {
    let cases = load(&fixtures_dir()).expect("fixtures load");
    assert!(cases.len() >= 80, "only {} parse fixtures", cases.len());
    let report = run(&cases, &mut CoreParser);
    let failures: Vec<String> = report
        .failures
        .iter()
        .map(|(n, why)| format!("{n}: {why}"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(report.passed, cases.len());
}

#[test]
fn fixture_names_are_unique_and_rules_are_set() {
    let cases = load(&fixtures_dir()).unwrap();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len());
    assert!(cases
        .iter()
        .all(|c| !c.rule.is_empty() && !c.description.is_empty()));
}

#[test]
fn protocol_lines_round_trip_and_a_wrong_outcome_is_caught() {
    let cases = load(&fixtures_dir()).unwrap();
    for case in &cases {
        let expected = case.expected();
        assert_eq!(
            Outcome::from_json_lines(&expected.to_json_lines()).unwrap(),
            expected
        );
    }
    assert!(Outcome::from_json_lines("").is_err());
    assert!(Outcome::from_json_lines("{\"type\":\"message\"}\n").is_err());
}
