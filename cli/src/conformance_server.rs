//! `sse conformance server`: runs the server fixtures against the core.

use std::process::ExitCode;

use sse_conformance::server::{fixture_dir, load_cases, run_case, CoreServer};

use crate::report::{finish, load_error, CaseReport};

/// Runs the subcommand.
pub fn run(args: &crate::SuiteArgs) -> ExitCode {
    let dir = args.fixtures.clone().unwrap_or_else(fixture_dir);
    let cases = match load_cases(&dir) {
        Ok(cases) => cases,
        Err(e) => return load_error("server", &e),
    };
    let results = cases.iter().map(|case| {
        let result = run_case(case, CoreServer::new);
        CaseReport {
            name: result.name,
            failures: result.failures,
        }
    });
    finish(results, args.verbose)
}
