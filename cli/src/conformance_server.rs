//! `sse conformance server`: runs the server fixtures against the core
//! in-process, or (`--adapter`) against an adapter's server over loopback
//! sockets.

use std::process::ExitCode;

use sse_conformance::loopback::server::{LoopbackServer, Runtime};
use sse_conformance::server::{fixture_dir, load_cases, run_case, Case, CaseResult, CoreServer};

use crate::adapters::Adapter;
use crate::report::{finish, load_error, CaseReport};

/// Runs one case against `adapter`'s server; `None` for an adapter
/// without one.
pub fn run_one(case: &Case, adapter: Adapter) -> Option<CaseResult> {
    Some(match adapter {
        Adapter::Core => run_case(case, CoreServer::new),
        Adapter::Blocking => run_case(case, LoopbackServer::blocking),
        Adapter::Smol => run_case(case, LoopbackServer::of(Runtime::Smol)),
        Adapter::AsyncStd => run_case(case, LoopbackServer::of(Runtime::AsyncStd)),
        Adapter::Tokio => run_case(case, LoopbackServer::of(Runtime::Tokio)),
        Adapter::Reqwest => return None,
    })
}

/// Runs the subcommand.
pub fn run(args: &crate::SuiteArgs) -> ExitCode {
    let dir = args.fixtures.clone().unwrap_or_else(fixture_dir);
    let cases = match load_cases(&dir) {
        Ok(cases) => cases,
        Err(e) => return load_error("server", &e),
    };
    if !args.adapter.has_server() {
        eprintln!(
            "sse conformance server: {} is a client only; it has no server to check",
            args.adapter.name()
        );
        return ExitCode::from(2);
    }
    let results = cases.iter().filter_map(|case| {
        let result = run_one(case, args.adapter)?;
        Some(CaseReport {
            name: result.name,
            failures: result.failures,
            skipped: None,
        })
    });
    finish(results.collect::<Vec<_>>(), args.verbose)
}
