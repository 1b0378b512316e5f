//! Every client scenario against the adapters' drivers over loopback.

use sse_conformance::client::{fixture_dir, load_scenarios, run_scenario};
use sse_conformance::loopback::client::{
    async_std_driver, blocking_driver, blocking_poll_driver, futures_driver, smol_driver,
    LoopbackClient, MakeDriver,
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

#[test]
fn parse_fixtures_through_each_adapter_client() {
    use sse_conformance::loopback::parse::LoopbackParser;
    use sse_conformance::parse::{fixtures_dir, load, run};
    let cases = load(&fixtures_dir()).expect("fixtures load");
    for (name, make) in [
        ("futures", futures_driver as MakeDriver),
        ("smol", smol_driver),
        ("async-std", async_std_driver),
        ("blocking", blocking_driver),
    ] {
        let report = run(&cases, &mut LoopbackParser::new(name, make));
        assert!(report.failures.is_empty(), "{name}: {:#?}", report.failures);
        assert_eq!(report.passed, cases.len());
    }
}

type MakeServer = dyn Fn(
    &sse_conformance::server::CaseConfig,
) -> Result<sse_conformance::loopback::server::LoopbackServer, String>;

fn server_fixtures(make: &MakeServer) {
    use sse_conformance::loopback::server::skip_reason;
    use sse_conformance::server::{fixture_dir, load_cases, run_case};
    let cases = load_cases(&fixture_dir()).expect("fixtures load");
    let mut failed = Vec::new();
    for case in &cases {
        if skip_reason(&case.name).is_some() {
            continue;
        }
        let r = run_case(case, make);
        if !r.passed() {
            failed.push(format!("{}: {}", r.name, r.failures.join("\n")));
        }
    }
    assert!(
        failed.is_empty(),
        "{} failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn server_fixtures_against_the_blocking_server() {
    server_fixtures(&sse_conformance::loopback::server::LoopbackServer::blocking);
}

#[test]
fn server_fixtures_against_the_smol_server() {
    use sse_conformance::loopback::server::{LoopbackServer, Runtime};
    server_fixtures(&LoopbackServer::of(Runtime::Smol));
}

#[test]
fn server_fixtures_against_the_async_std_server() {
    use sse_conformance::loopback::server::{LoopbackServer, Runtime};
    server_fixtures(&LoopbackServer::of(Runtime::AsyncStd));
}

#[test]
fn blocking_driver_polled_with_zero_waits_passes_every_client_scenario() {
    run_all("blocking (poll_next)", blocking_poll_driver);
}
