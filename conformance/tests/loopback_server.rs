//! Every server fixture against each adapter's server over loopback
//! (those that cannot hold over a socket are listed with the reason by
//! `skip_reason`, and must stay few).

type MakeServer = dyn Fn(
    &sse_conformance::server::CaseConfig,
) -> Result<sse_conformance::loopback::server::LoopbackServer, String>;

fn server_fixtures(make: &MakeServer) {
    use sse_conformance::loopback::server::skip_reason;
    use sse_conformance::server::{fixture_dir, load_cases, run_case};
    let skipped = load_cases(&fixture_dir())
        .expect("fixtures load")
        .iter()
        .filter(|c| skip_reason(&c.name).is_some())
        .count();
    assert!(skipped <= 4, "{skipped} server fixtures skipped");
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

/// The skipped fixtures still run here: once an adapter passes one, it
/// must come off the skip list.
#[test]
fn skipped_fixtures_still_fail_as_described() {
    use sse_conformance::loopback::server::{skip_reason, LoopbackServer, Runtime};
    use sse_conformance::server::{fixture_dir, load_cases, run_case};
    let cases = load_cases(&fixture_dir()).expect("fixtures load");
    let makers: [(&str, &MakeServer); 3] = [
        ("blocking", &LoopbackServer::blocking),
        ("smol", &LoopbackServer::of(Runtime::Smol)),
        ("async-std", &LoopbackServer::of(Runtime::AsyncStd)),
    ];
    for case in cases.iter().filter(|c| skip_reason(&c.name).is_some()) {
        for (name, make) in &makers {
            let r = run_case(case, make);
            assert!(
                !r.passed(),
                "{} now passes on {name}: take it off the skip list",
                case.name
            );
        }
    }
}
