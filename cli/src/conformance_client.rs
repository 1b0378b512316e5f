//! `sse conformance client`: plays the client scenarios against the core
//! machine on a fake clock, (`--adapter`) against an adapter's client over
//! loopback sockets on a virtual clock, or (`--cmd`) against any program
//! over the subprocess protocol on the real clock.

use std::process::ExitCode;

use sse_conformance::client::{fixture_dir, load_scenarios, run_scenario};
use sse_conformance::external::client::{ExternalClient, Settings};

use crate::report::{finish, load_error, CaseReport};

/// Runs the subcommand.
pub fn run(all: &crate::ExternalSuiteArgs) -> ExitCode {
    let args = &all.suite;
    let dir = args.fixtures.clone().unwrap_or_else(fixture_dir);
    let scenarios = match load_scenarios(&dir) {
        Ok(scenarios) => scenarios,
        Err(e) => return load_error("client", &e),
    };
    let external = &all.external;
    if let Some(cmd) = &external.cmd {
        let settings = Settings {
            time_scale: external.time_scale,
            tolerance_ms: external.tolerance_ms,
            ..Settings::default()
        };
        let client = match ExternalClient::new(cmd, &external.caps, settings) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("sse conformance client: {e}");
                return ExitCode::from(2);
            }
        };
        crate::conformance_external::print_caps(client.caps());
        let results = scenarios
            .iter()
            .filter(|s| external.selected(&s.name))
            .map(|s| client.run(s));
        return crate::conformance_external::finish(results, args.verbose);
    }
    let mut client = args.adapter.client();
    let results = scenarios.iter().map(|s| {
        let result = run_scenario(s, &mut *client);
        CaseReport {
            name: result.name,
            failures: result.failures,
            skipped: result.skipped,
        }
    });
    finish(results, args.verbose)
}
