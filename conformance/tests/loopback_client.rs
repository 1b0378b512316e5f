//! Every client scenario against the adapters' drivers over loopback.

use sse_conformance::client::{fixture_dir, load_scenarios, run_scenario};
use sse_conformance::loopback::client::{
    async_std_driver, blocking_driver, futures_driver, smol_driver, LoopbackClient, MakeDriver,
};

fn run_all(name: &str, make: MakeDriver) {
    let scenarios = load_scenarios(&fixture_dir()).expect("fixtures load");
    assert!(scenarios.len() >= 60);
    let mut failed = Vec::new();
    for scenario in &scenarios {
        let result = run_scenario(scenario, &mut LoopbackClient::new(make));
        if !result.passed() {
            failed.push(format!(
                "{}:\n  {}",
                result.name,
                result.failures.join("\n  ")
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{name}: {} of {} failed:\n{}",
        failed.len(),
        scenarios.len(),
        failed.join("\n")
    );
}

#[test]
fn futures_driver_passes_every_client_scenario() {
    run_all("futures", futures_driver);
}

#[test]
fn blocking_driver_passes_every_client_scenario() {
    run_all("blocking", blocking_driver);
}

#[test]
fn smol_sockets_pass_every_client_scenario() {
    run_all("smol", smol_driver);
}

#[test]
fn async_std_sockets_pass_every_client_scenario() {
    run_all("async-std", async_std_driver);
}
