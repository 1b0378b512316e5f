//! `sse conformance client`: plays the client scenarios against the core
//! machine on a fake clock, or (`--adapter`) against an adapter's client
//! over loopback sockets on a virtual clock.

use std::process::ExitCode;

use sse_conformance::client::{fixture_dir, load_scenarios, run_scenario};

use crate::report::{finish, load_error, CaseReport};

/// Runs the subcommand.
pub fn run(args: &crate::SuiteArgs) -> ExitCode {
    let dir = args.fixtures.clone().unwrap_or_else(fixture_dir);
    let scenarios = match load_scenarios(&dir) {
        Ok(scenarios) => scenarios,
        Err(e) => return load_error("client", &e),
    };
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
