//! Every client scenario in `fixtures/client/` passes against the core.

use sse_conformance::client::{fixture_dir, load_scenarios, run_scenario, CoreClient};

#[test]
fn all_client_scenarios_pass() {
    let scenarios = load_scenarios(&fixture_dir()).expect("fixtures load");
    assert!(scenarios.len() >= 30, "only {} scenarios", scenarios.len());
    let mut names = std::collections::BTreeSet::new();
    let mut report = String::new();
    for scenario in &scenarios {
        assert!(
            names.insert(scenario.name.clone()),
            "duplicate name {}",
            scenario.name
        );
        let result = run_scenario(scenario, &mut CoreClient);
        if !result.passed() {
            report.push_str(&format!(
                "FAIL {}:\n  {}\n",
                result.name,
                result.failures.join("\n  ")
            ));
        }
    }
    assert!(report.is_empty(), "{report}");
}

#[test]
fn a_wrong_expectation_is_reported_readably() {
    let mut scenario = load_scenarios(&fixture_dir())
        .expect("fixtures load")
        .into_iter()
        .find(|s| s.name == "basic-open-message")
        .expect("basic-open-message exists");
    scenario.expect.final_state = "closed".into();
    scenario.expect.notifications[1].data = Some("not this".into());
    let result = run_scenario(&scenario, &mut CoreClient);
    let text = result.failures.join("\n");
    assert!(
        text.contains("notification #2: data expected \"not this\""),
        "{text}"
    );
    assert!(
        text.contains("final ready state: expected closed, got"),
        "{text}"
    );
}
