//! `sse conformance server`: runs the server fixtures against the core
//! in-process, or (`--adapter`) against an adapter's server over loopback
//! sockets. Fixtures that cannot hold over a socket are skipped with the
//! reason (see `sse_conformance::loopback::server::skip_reason`).

use std::process::ExitCode;

use sse_conformance::loopback::server::{skip_reason, LoopbackServer, Runtime};
use sse_conformance::server::{fixture_dir, load_cases, run_case, Case, CaseResult, CoreServer};

use crate::adapters::Adapter;
use crate::report::{finish, load_error, CaseReport};

/// Runs one case against `adapter`'s server; `None` when it is skipped.
pub fn run_one(case: &Case, adapter: Adapter) -> Option<CaseResult> {
    if adapter != Adapter::Core && skip_reason(&case.name).is_some() {
        return None;
    }
    Some(match adapter {
        Adapter::Core => run_case(case, CoreServer::new),
        Adapter::Blocking => run_case(case, LoopbackServer::blocking),
        Adapter::Smol => run_case(case, LoopbackServer::of(Runtime::Smol)),
        Adapter::AsyncStd => run_case(case, LoopbackServer::of(Runtime::AsyncStd)),
    })
}

/// Runs the subcommand.
pub fn run(args: &crate::SuiteArgs) -> ExitCode {
    let dir = args.fixtures.clone().unwrap_or_else(fixture_dir);
    let cases = match load_cases(&dir) {
        Ok(cases) => cases,
        Err(e) => return load_error("server", &e),
    };
    let results = cases.iter().filter_map(|case| {
        let Some(result) = run_one(case, args.adapter) else {
            let why = skip_reason(&case.name).unwrap_or_default();
            println!("SKIP {}: {why}", case.name);
            return None;
        };
        Some(CaseReport {
            name: result.name,
            failures: result.failures,
        })
    });
    finish(results.collect::<Vec<_>>(), args.verbose)
}
