//! Every client scenario against the adapters' drivers over loopback, and
//! the runner's own checks: a driver that loses a wake-up or never arms its
//! timer must fail, not pass because the runner polled it anyway.

use sse_conformance::client::{fixture_dir, load_scenarios, run_scenario, ClientUnderTest};
use sse_conformance::loopback::client::{
    async_std_driver, blocking_driver, blocking_poll_driver, futures_driver, smol_driver,
    tokio_driver, Driver, FuturesDriver, LoopbackClient, MakeDriver,
};
use sse_conformance::loopback::clock::VirtualClock;
use sse_conformance::loopback::reqwest::reqwest_driver;
use sse_conformance::loopback::wire::{LoopConnector, RuntimeConnector};

fn run_all(name: &str, make: MakeDriver) {
    let skipped = run_all_skipping(name, LoopbackClient::new(make));
    assert!(skipped.is_empty(), "{name} skipped {skipped:?}");
}

/// Every scenario on `client`; the names it skipped.
fn run_all_skipping(name: &str, mut client: LoopbackClient) -> Vec<String> {
    let scenarios = load_scenarios(&fixture_dir()).expect("fixtures load");
    assert!(scenarios.len() >= 60);
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for scenario in &scenarios {
        let result = run_scenario(scenario, &mut client);
        if result.skipped.is_some() {
            skipped.push(result.name);
        } else if !result.passed() {
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
    skipped
}

#[test]
fn futures_driver_passes_every_client_scenario() {
    run_all("futures", futures_driver);
}

/// The blocking driver on its own thread, blocking in virtual time (its
/// own read timeouts and sleeps). The runner judges that thread parked in
/// the same wait before and after it reads its counters, so a thread that
/// connects or sends a request while the runner looks cannot pass for idle.
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

/// sse-reqwest with the runner as its proxy, counting at the HTTP level:
/// everything but the one scenario that goes to an `https://` URL.
#[test]
fn reqwest_driver_passes_every_client_scenario_it_can_play() {
    let client =
        LoopbackClient::new(reqwest_driver).skipping(sse_conformance::loopback::reqwest::skip);
    let skipped = run_all_skipping("reqwest", client);
    assert_eq!(skipped, ["redirect-chain-origin"]);
}

#[test]
fn tokio_sockets_pass_every_client_scenario() {
    run_all("tokio", tokio_driver);
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
        ("tokio", tokio_driver),
        ("blocking", blocking_poll_driver),
        ("reqwest", reqwest_driver),
    ] {
        let report = run(&cases, &mut LoopbackParser::new(name, make));
        assert!(report.failures.is_empty(), "{name}: {:#?}", report.failures);
        assert_eq!(report.passed, cases.len());
    }
}

#[test]
fn blocking_driver_polled_with_zero_waits_passes_every_client_scenario() {
    run_all("blocking (poll_next)", blocking_poll_driver);
}

/// Copies `scenario` fixture `name`.
fn scenario(name: &str) -> sse_conformance::client::Scenario {
    load_scenarios(&fixture_dir())
        .expect("fixtures load")
        .into_iter()
        .find(|s| s.name == name)
        .expect("fixture exists")
}

/// A timer whose sleeps never end.
struct Stopped(VirtualClock);

impl sse_futures::Timer for Stopped {
    fn now(&self) -> sse_core::Instant {
        self.0.now()
    }
    fn sleep_until(&self, _: sse_core::Instant) -> sse_futures::BoxFuture<()> {
        Box::pin(std::future::pending())
    }
}

fn stopped_timer_driver(
    url: &str,
    config: sse_core::client::Config,
    connector: LoopConnector,
    clock: VirtualClock,
) -> Result<Box<dyn Driver>, String> {
    let es = sse_futures::EventSource::with_parts(url, config, connector, Stopped(clock))
        .map_err(|e| e.to_string())?;
    Ok(Box::new(FuturesDriver::new(es)))
}

fn stopped_timer_reqwest_driver(
    url: &str,
    config: sse_core::client::Config,
    connector: LoopConnector,
    clock: VirtualClock,
) -> Result<Box<dyn Driver>, String> {
    sse_conformance::loopback::reqwest::reqwest_driver_on(url, config, connector, Stopped(clock))
}

#[test]
fn a_driver_whose_timer_never_fires_fails() {
    let s = scenario("connect-refused-reconnects");
    for (working, stopped) in [
        (
            futures_driver as MakeDriver,
            stopped_timer_driver as MakeDriver,
        ),
        (reqwest_driver, stopped_timer_reqwest_driver),
    ] {
        let result = run_scenario(&s, &mut LoopbackClient::new(working));
        assert!(result.passed(), "{:?}", result.failures);
        let result = run_scenario(&s, &mut LoopbackClient::new(stopped));
        assert!(!result.passed(), "a driver without timers passed");
    }
}

/// A socket that returns `Pending` without keeping the waker: nothing
/// will ever wake the task for its bytes.
struct Forgetful(std::net::TcpStream);

impl futures_lite::AsyncRead for Forgetful {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::io::Read;
        match self.get_mut().0.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::task::Poll::Pending,
            r => std::task::Poll::Ready(r),
        }
    }
}

impl futures_lite::AsyncWrite for Forgetful {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::io::Write;
        std::task::Poll::Ready(self.get_mut().0.write(buf))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

fn forgetful_driver(
    url: &str,
    config: sse_core::client::Config,
    connector: LoopConnector,
    clock: VirtualClock,
) -> Result<Box<dyn Driver>, String> {
    let connector = RuntimeConnector::new(connector, |tcp| Ok(Forgetful(tcp)));
    let es = sse_futures::EventSource::with_parts(url, config, connector, clock)
        .map_err(|e| e.to_string())?;
    Ok(Box::new(FuturesDriver::new(es)))
}

#[test]
fn a_socket_that_loses_wake_ups_fails() {
    let s = scenario("basic-open-message");
    let result = run_scenario(&s, &mut LoopbackClient::new(forgetful_driver));
    assert!(!result.passed(), "a socket without wake-ups passed");
}

#[test]
fn refused_for_real_each_driver() {
    use sse_conformance::client::check;
    use sse_conformance::loopback::client::{refused_attempts, relax_refused};
    let scenarios: Vec<_> = load_scenarios(&fixture_dir())
        .expect("fixtures load")
        .into_iter()
        .filter(|s| refused_attempts(s).iter().any(Option::is_some))
        .collect();
    assert!(scenarios.len() >= 5);
    let mut failed = Vec::new();
    for (name, make) in [
        ("futures", futures_driver as MakeDriver),
        ("smol", smol_driver),
        ("async-std", async_std_driver),
        ("tokio", tokio_driver),
        // A real refusal after the script's waits needs a connector that
        // blocks in virtual time: the threaded driver (few runs here).
        ("blocking", blocking_driver),
    ] {
        for s in &scenarios {
            let mut client = LoopbackClient::with_real_refusals(make);
            let problems = match client.run(s) {
                Ok(observed) => check(&relax_refused(s), &observed),
                Err(e) => vec![e],
            };
            if !problems.is_empty() {
                failed.push(format!("{name} {}:\n  {}", s.name, problems.join("\n  ")));
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
