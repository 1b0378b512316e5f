//! `sse conformance` as CI runs it: every suite against every
//! implementation in one table, and one suite against one adapter.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long one `sse` run may take (the whole table takes about a minute
/// in a debug build on a loaded machine): a run that hangs fails its test
/// instead of holding up the whole test run.
const LIMIT: Duration = Duration::from_secs(300);

fn sse(args: &[&str]) -> (String, bool) {
    let out = run(args);
    (String::from_utf8(out.stdout).unwrap(), out.status.success())
}

/// Runs `sse` with `args` to its end, within [`LIMIT`]: past it the
/// process is killed and the test fails with what it printed so far.
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sse"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sse runs");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            // A process it started may still hold the pipe open.
            let killed = Instant::now();
            while !stdout.is_finished() && killed.elapsed() < Duration::from_secs(5) {
                thread::sleep(Duration::from_millis(20));
            }
            let printed = if stdout.is_finished() {
                stdout.join().unwrap_or_default()
            } else {
                b"(not known: its output is still held open)".to_vec()
            };
            panic!(
                "`sse {}` did not finish within {LIMIT:?}; it printed:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&printed)
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

#[test]
fn bare_conformance_prints_one_table_and_passes() {
    let (out, ok) = sse(&["conformance"]);
    assert!(ok, "{out}");
    let table: Vec<&str> = out.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(table.len(), 5, "{out}");
    assert!(
        table[0].contains("| core | async-std | smol | blocking | tokio | reqwest |"),
        "{out}"
    );
    // reqwest is a client only: no server column.
    for (suite, cells) in [("parse", 6), ("client", 6), ("server", 5)] {
        let row = table
            .iter()
            .find(|r| r.starts_with(&format!("| {suite} |")));
        let row = row.unwrap_or_else(|| panic!("no {suite} row:\n{out}"));
        assert_eq!(row.matches(" 0 failed").count(), cells, "{row}");
    }
    // A skip is named with its reason, never counted as passed.
    assert!(
        out.contains("SKIP client reqwest: redirect-chain-origin: a request to an https:// URL"),
        "{out}"
    );
    assert!(out.lines().last().unwrap().contains(" 0 failed"), "{out}");
}

/// How many fixtures a suite's directory holds.
fn fixtures(suite: &str) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/fixtures")
        .join(suite);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count()
}

#[test]
fn one_suite_against_one_adapter() {
    for adapter in ["blocking", "smol", "async-std", "tokio"] {
        for suite in ["client", "server"] {
            let (out, ok) = sse(&["conformance", suite, "--adapter", adapter]);
            assert!(ok, "{adapter}: {out}");
            let all = format!("{} passed, 0 failed\n", fixtures(suite));
            assert!(out.ends_with(&all), "{adapter} {suite}: {out}");
        }
    }
    let (out, ok) = sse(&["conformance", "client", "--adapter", "reqwest"]);
    assert!(ok, "reqwest: {out}");
    let all_but_one = format!("{} passed, 0 failed, 1 skipped\n", fixtures("client") - 1);
    assert!(out.ends_with(&all_but_one), "reqwest: {out}");
    assert!(
        out.starts_with("SKIP redirect-chain-origin: "),
        "reqwest: {out}"
    );
    let (out, ok) = sse(&["conformance", "server", "--adapter", "reqwest"]);
    assert!(!ok && out.is_empty(), "reqwest has no server: {out}");
}

/// `sse listen` and `sse serve` as external programs, through the
/// subprocess protocols (a few scenarios each; CI runs them all through
/// `conformance/interop/field.sh`).
#[test]
fn our_programs_pass_through_the_subprocess_protocols() {
    let bin = env!("CARGO_BIN_EXE_sse");
    let listen = format!(
        "{bin} listen {{url}} --json --no-backoff [--retry-ms {{retry_ms}}] [--last-event-id {{last_event_id}}] [-H {{header}}]"
    );
    let (out, ok) = sse(&[
        "conformance",
        "client",
        "--caps",
        "reconnect",
        "--cmd",
        &listen,
        "--only",
        "basic-open-message",
        "--only",
        "last-event-id-sent-on-reconnect",
        "--only",
        "custom-request-headers",
        "--only",
        "status-204-stops",
        "--only",
        "reopen-after-failure",
    ]);
    assert!(ok, "{out}");
    assert!(out.ends_with("4 passed, 0 failed, 1 skipped\n"), "{out}");
    assert!(
        out.contains("SKIP reopen-after-failure: needs capability `reopen` (ours alone: reopen()"),
        "{out}"
    );

    // The options and stdin commands the scenarios beyond a browser's need
    // (the full command is the dogfood run of field.sh and CI).
    let listen = format!(
        "{bin} listen {{url}} --json [--no-backoff{{no_backoff}}] [--backoff-max-ms {{backoff_max_ms}}] \
         [--no-jitter{{no_jitter}}] [--seed {{seed}}] [--backoff-reset-ms {{backoff_reset_ms}}] \
         [--retry-ms {{retry_ms}}] [--connect-timeout-ms {{connect_timeout_ms}}] \
         [--max-redirects {{max_redirects}}] [--retry-status {{retry_status}}] \
         [--max-error-body {{max_error_body}}] --stdin-commands"
    );
    let mut args = vec![
        "conformance",
        "client",
        "--caps",
        "reconnect,close,reopen,set-last-event-id",
        "--cmd",
        &listen,
    ];
    let scenarios = [
        "close-while-open",
        "reopen-after-id-reset",
        "connect-timeout-reconnects",
        "redirect-limit-configured",
        "backoff-uses-retry-field-as-base",
        "retry-on-status-unlisted-fails",
        "error-body-kept-bounded",
        // At the default time scale, jitter is not played.
        "jitter-seed-1",
    ];
    for name in &scenarios {
        args.extend(["--only", name]);
    }
    let (out, ok) = sse(&args);
    assert!(ok, "{out}");
    assert!(out.ends_with("7 passed, 0 failed, 1 skipped\n"), "{out}");
    assert!(
        out.contains("SKIP jitter-seed-1: jitter is drawn in whole ms"),
        "{out}"
    );

    let serve = format!(
        "{bin} serve --json --addr 127.0.0.1:0 [--retry-ms {{retry_ms}}] [--keep-alive-ms {{keep_alive_ms}}]"
    );
    let (out, ok) = sse(&[
        "conformance",
        "server",
        "--caps",
        "resume",
        "--cmd",
        &serve,
        "--only",
        "response-head",
        "--only",
        "retry-hint",
        "--only",
        "resume-from-last-event-id",
        "--only",
        "resume-from-query",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.starts_with("capabilities: keep-alive, resume, retry\n"),
        "{out}"
    );
    assert!(out.ends_with("3 passed, 0 failed, 1 skipped\n"), "{out}");
}

#[test]
fn a_bad_command_template_is_a_usage_error() {
    let out = run(&["conformance", "client", "--cmd", "prog {url} [--x {nope}]"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown placeholder {nope}"), "{err}");
}
