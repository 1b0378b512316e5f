//! Every server fixture against each adapter's server over loopback.

type MakeServer = dyn Fn(
    &sse_conformance::server::CaseConfig,
) -> Result<sse_conformance::loopback::server::LoopbackServer, String>;

fn server_fixtures(make: &MakeServer) {
    use sse_conformance::server::{fixture_dir, load_cases, run_case};
    let cases = load_cases(&fixture_dir()).expect("fixtures load");
    let mut failed = Vec::new();
    for case in &cases {
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
fn server_fixtures_against_the_tokio_server() {
    use sse_conformance::loopback::server::{LoopbackServer, Runtime};
    server_fixtures(&LoopbackServer::of(Runtime::Tokio));
}
