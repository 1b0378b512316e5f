//! Parse fixtures (`fixtures/parse/`): a raw `text/event-stream` body and
//! what a conforming parser finds in it.
//!
//! A [`ParserUnderTest`] turns a body into an [`Outcome`] (events, final last
//! event ID, final reconnection time). [`CoreParser`] is `sse-core`'s parser,
//! run on every case whole, split at every byte position, byte by byte and in
//! chunks of 2, 3 and 7 bytes; [`Command`] is any program that speaks the
//! subprocess protocol of `fixtures/parse/README.md`, so other people's
//! parsers can be checked against the same cases.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sse_core::parse::Parser;

/// One parse fixture.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Short unique name.
    pub name: String,
    /// The checklist rule the case is about (`A8`, `B12`, …).
    pub rule: String,
    /// What the case checks, in one sentence.
    pub description: String,
    /// The body as text, when it is valid UTF-8.
    #[serde(default)]
    pub input: Option<String>,
    /// The body as hex, when it is not.
    #[serde(default)]
    pub input_hex: Option<String>,
    /// The events a conforming parser dispatches, in order.
    pub events: Vec<ExpectedEvent>,
    /// The last event ID at the end of the stream.
    pub last_event_id: String,
    /// The reconnection time in milliseconds at the end, if any was set.
    pub retry: Option<u64>,
}

impl Case {
    /// The raw body bytes.
    pub fn body(&self) -> Result<Vec<u8>, String> {
        match (&self.input, &self.input_hex) {
            (Some(text), None) => Ok(text.as_bytes().to_vec()),
            (None, Some(hex)) => decode_hex(hex),
            _ => Err(format!(
                "{}: exactly one of input and input_hex is required",
                self.name
            )),
        }
    }

    /// The expected outcome.
    pub fn expected(&self) -> Outcome {
        Outcome {
            events: self.events.clone(),
            last_event_id: self.last_event_id.clone(),
            retry: self.retry,
        }
    }
}

/// One dispatched event, as the protocol prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedEvent {
    /// The event type (`message` by default).
    #[serde(rename = "type")]
    pub event_type: String,
    /// The data.
    pub data: String,
    /// The last event ID when the event was dispatched.
    pub id: String,
}

/// The final line of the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// The last event ID at the end of the stream.
    pub last_event_id: String,
    /// The reconnection time in milliseconds, or null.
    pub retry: Option<u64>,
}

/// Everything a parser reports for one body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Dispatched events in order.
    pub events: Vec<ExpectedEvent>,
    /// Final last event ID.
    pub last_event_id: String,
    /// Final reconnection time.
    pub retry: Option<u64>,
}

impl Outcome {
    /// The outcome as protocol lines (JSON Lines, summary last).
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for event in &self.events {
            out.push_str(&serde_json::to_string(event).unwrap_or_default());
            out.push('\n');
        }
        let summary = Summary {
            last_event_id: self.last_event_id.clone(),
            retry: self.retry,
        };
        out.push_str(&serde_json::to_string(&summary).unwrap_or_default());
        out.push('\n');
        out
    }

    /// Reads protocol output: event lines, then the summary line.
    pub fn from_json_lines(text: &str) -> Result<Outcome, String> {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let Some((last, events)) = lines.split_last() else {
            return Err("no output (expected at least the summary line)".into());
        };
        let summary: Summary =
            serde_json::from_str(last).map_err(|e| format!("bad summary line {last:?}: {e}"))?;
        let events = events
            .iter()
            .map(|l| serde_json::from_str(l).map_err(|e| format!("bad event line {l:?}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Outcome {
            events,
            last_event_id: summary.last_event_id,
            retry: summary.retry,
        })
    }
}

/// Parses `body` with `sse-core`, fed in the given chunks.
pub fn parse_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut parser = Parser::new();
    let mut events = Vec::new();
    let mut drain = |parser: &mut Parser| {
        while let Some(result) = parser.poll_event() {
            // Fixtures stay within the default limits: an error is a bug.
            match result {
                Ok(e) => events.push(ExpectedEvent {
                    event_type: e.event_type().to_string(),
                    data: e.data().to_string(),
                    id: e.id().to_string(),
                }),
                Err(err) => events.push(ExpectedEvent {
                    event_type: "error".into(),
                    data: err.to_string(),
                    id: String::new(),
                }),
            }
        }
    };
    for chunk in chunks {
        parser.handle_bytes(chunk);
        drain(&mut parser);
    }
    parser.handle_eof();
    drain(&mut parser);
    Outcome {
        events,
        last_event_id: parser.last_event_id().to_string(),
        retry: parser.retry(),
    }
}

/// Something that parses an event stream body.
pub trait ParserUnderTest {
    /// A name for reports.
    fn name(&self) -> String;
    /// Checks one case; `Err` holds a readable explanation.
    fn check(&mut self, case: &Case) -> Result<(), String>;
}

/// `sse-core`'s parser, checked under every chunking.
#[derive(Debug, Default)]
pub struct CoreParser;

impl ParserUnderTest for CoreParser {
    fn name(&self) -> String {
        "sse-core".into()
    }

    fn check(&mut self, case: &Case) -> Result<(), String> {
        let body = case.body()?;
        let expected = case.expected();
        compare("whole", &expected, &parse_chunks([&body[..]]))?;
        for at in 0..=body.len() {
            let (a, b) = body.split_at(at);
            compare(
                &format!("split at byte {at}"),
                &expected,
                &parse_chunks([a, b]),
            )?;
        }
        for size in [1, 2, 3, 7] {
            compare(
                &format!("chunks of {size}"),
                &expected,
                &parse_chunks(body.chunks(size)),
            )?;
        }
        Ok(())
    }
}

/// An external program speaking the subprocess protocol, run with `sh -c`.
#[derive(Debug)]
pub struct Command {
    /// The shell command line.
    pub command: String,
    /// How long one case may take.
    pub timeout: Duration,
}

impl Command {
    /// A command with a 10-second timeout per case.
    pub fn new(command: impl Into<String>) -> Self {
        Command {
            command: command.into(),
            timeout: Duration::from_secs(10),
        }
    }

    fn run(&self, body: &[u8]) -> Result<String, String> {
        let mut child = Process::new("sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", self.command))?;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let body = body.to_vec();
        let writer = std::thread::spawn(move || {
            // A command that exits early closes its stdin: not our error.
            let _ = stdin.write_all(&body);
        });
        let mut stdout = child.stdout.take().ok_or("no stdout")?;
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            stdout.read_to_end(&mut out).map(|_| out)
        });
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if start.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {:?}", self.timeout));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let _ = writer.join();
        let out = reader
            .join()
            .map_err(|_| "reader thread panicked".to_string())?
            .map_err(|e| e.to_string())?;
        if !status.success() {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = stderr.read_to_string(&mut err);
            }
            return Err(format!("exited with {status}: {}", err.trim()));
        }
        String::from_utf8(out).map_err(|_| "output is not UTF-8".to_string())
    }
}

impl ParserUnderTest for Command {
    fn name(&self) -> String {
        self.command.clone()
    }

    fn check(&mut self, case: &Case) -> Result<(), String> {
        let output = self.run(&case.body()?)?;
        let got = Outcome::from_json_lines(&output)?;
        compare("whole", &case.expected(), &got)
    }
}

/// `Ok` when equal, else a readable diff labelled with how input was fed.
fn compare(how: &str, expected: &Outcome, got: &Outcome) -> Result<(), String> {
    if expected == got {
        return Ok(());
    }
    let mut msg = format!("{how}:\n");
    let _ = writeln!(
        msg,
        "  expected: {}",
        expected
            .to_json_lines()
            .trim_end()
            .replace('\n', "\n            ")
    );
    let _ = writeln!(
        msg,
        "  got:      {}",
        got.to_json_lines()
            .trim_end()
            .replace('\n', "\n            ")
    );
    Err(msg)
}

/// The fixture directory of this crate.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/parse")
}

/// Loads every `*.json` case in `dir`, sorted by file name.
pub fn load(dir: &Path) -> Result<Vec<Case>, String> {
    Ok(crate::load_json_dir(dir)?
        .into_iter()
        .map(|(_, case)| case)
        .collect())
}

/// The result of running every case against one parser.
#[derive(Debug, Default)]
pub struct Report {
    /// Cases that passed.
    pub passed: usize,
    /// `(case name, explanation)` for each failure.
    pub failures: Vec<(String, String)>,
}

/// Runs every case against `parser`.
pub fn run(cases: &[Case], parser: &mut dyn ParserUnderTest) -> Report {
    let mut report = Report::default();
    for case in cases {
        match parser.check(case) {
            Ok(()) => report.passed += 1,
            Err(why) => report.failures.push((case.name.clone(), why)),
        }
    }
    report
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    if !hex.len().is_multiple_of(2) {
        return Err("input_hex has an odd length".into());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| format!("input_hex: {e}")))
        .collect()
}
