//! `sse parse` and `sse conformance parse` as a user runs them.

use std::io::Write;
use std::process::{Command, Stdio};

fn sse() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sse"))
}

fn parse(args: &[&str], input: &[u8]) -> (String, String, bool) {
    let mut child = sse()
        .arg("parse")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sse runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.success(),
    )
}

#[test]
fn parse_prints_events_then_the_summary() {
    let (out, err, ok) = parse(&[], b"data: a\n\n");
    assert!(ok, "{err}");
    assert_eq!(out, "{\"type\":\"message\",\"data\":\"a\",\"id\":\"\"}\n{\"last_event_id\":\"\",\"retry\":null}\n");
}

#[test]
fn parse_reports_ids_retry_and_is_the_same_byte_by_byte() {
    let input =
        b"\xEF\xBB\xBFretry: 250\nid: 7\nevent: e\ndata: x\r\ndata: y\r\n\r\ndata: unfinished";
    let (whole, _, _) = parse(&[], input);
    assert_eq!(
        whole,
        "{\"type\":\"e\",\"data\":\"x\\ny\",\"id\":\"7\"}\n{\"last_event_id\":\"7\",\"retry\":250}\n"
    );
    let (bytewise, _, _) = parse(&["--chunk-size", "1"], input);
    assert_eq!(bytewise, whole);
}

#[test]
fn parse_reports_limit_errors_on_stderr_and_carries_on() {
    let mut input = b"data: ".to_vec();
    input.extend(std::iter::repeat_n(b'x', 2 << 20));
    input.extend_from_slice(b"\n\ndata: after\n\n");
    let args = ["--chunk-size", "65536", "--max-line-bytes", "1048576"];
    let (out, err, ok) = parse(&args, &input);
    assert!(ok);
    assert!(err.contains("longer than 1048576 bytes"), "{err}");
    assert!(
        out.starts_with("{\"type\":\"message\",\"data\":\"after\""),
        "{out}"
    );
    // By default a line may be as large as an event (16 MiB).
    let (out, err, ok) = parse(&["--chunk-size", "65536"], &input);
    assert!(ok && err.is_empty(), "{err}");
    assert_eq!(out.lines().count(), 3, "two events and the summary");
    let (_, err, _) = parse(&["--max-event-bytes", "1000"], &input);
    assert!(err.contains("larger than 1000 bytes"), "{err}");
}

#[test]
fn conformance_parse_passes_against_sse_parse_itself() {
    let cmd = format!("{} parse --chunk-size 3", env!("CARGO_BIN_EXE_sse"));
    let out = sse()
        .args(["conformance", "parse", "--cmd", &cmd])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
}

#[test]
fn conformance_parse_fails_a_wrong_parser_with_exit_1() {
    // A "parser" that never dispatches anything.
    let cmd = "cat >/dev/null; echo '{\"last_event_id\":\"\",\"retry\":null}'";
    let out = sse()
        .args(["conformance", "parse", "--cmd", cmd])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("FAIL lf "), "{stdout}");
    assert!(stdout.lines().last().unwrap().contains(" failed"));
}
