//! The program under test: its command template, its capabilities, and its
//! process.
//!
//! A [`Template`] is a shell command line (run with `sh -c`, like the parse
//! protocol's) with `{name}` placeholders and optional `[…]` groups:
//!
//! ```text
//! sse listen {url} --json [--retry-ms {retry_ms}] [-H {header}] [-X {method}] [--data {body}]
//! ```
//!
//! Every value is shell-quoted where it is put. A group is kept only when
//! every placeholder in it has a value for the scenario, and is repeated
//! once per value of a list placeholder (`{header}`); `[[`, `]]`, `{{` and
//! `}}` stand for the characters themselves. A placeholder outside any
//! group must always have a value.
//!
//! The [`Caps`] of a program are the capabilities its placeholders imply
//! (`{retry_ms}` → `retry`) plus those declared with `--caps`. A
//! [`Program`] is the running command: its own process group (so a shim's
//! children, a browser say, are stopped with it), stdout read line by line
//! and stamped with the time each line arrived, and the end of stderr kept
//! for failure reports.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A placeholder a protocol knows, and the capability it implies.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    /// The name inside the braces.
    pub name: &'static str,
    /// The capability a template using it has, if any.
    pub cap: Option<&'static str>,
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Slot(String),
    Group(Vec<Part>),
}

/// A command line with placeholders (see the module docs).
#[derive(Clone, Debug)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// The values of a scenario's placeholders: absent, one, or a list.
pub type Values = BTreeMap<&'static str, Vec<String>>;

impl Template {
    /// Parses `source`, accepting only the placeholders in `slots`.
    pub fn parse(source: &str, slots: &[Slot]) -> Result<Template, String> {
        let known = |name: &str| slots.iter().any(|s| s.name == name);
        let mut top: Vec<Part> = Vec::new();
        let mut group: Option<Vec<Part>> = None;
        let mut text = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            let doubled = chars.peek() == Some(&c);
            let into = |group: &mut Option<Vec<Part>>, top: &mut Vec<Part>, part: Part| match group
            {
                Some(g) => g.push(part),
                None => top.push(part),
            };
            match c {
                '{' | '}' | '[' | ']' if doubled => {
                    chars.next();
                    text.push(c);
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) if c.is_ascii_lowercase() || c == '_' => name.push(c),
                            _ => {
                                return Err(format!(
                                    "unclosed or bad placeholder {{{name} in {source:?}"
                                ))
                            }
                        }
                    }
                    if !known(&name) {
                        let names: Vec<String> =
                            slots.iter().map(|s| format!("{{{}}}", s.name)).collect();
                        return Err(format!(
                            "unknown placeholder {{{name}}}; known: {}",
                            names.join(" ")
                        ));
                    }
                    if !text.is_empty() {
                        into(&mut group, &mut top, Part::Text(std::mem::take(&mut text)));
                    }
                    into(&mut group, &mut top, Part::Slot(name));
                }
                '}' => {
                    return Err(format!(
                        "a lone }} in {source:?} (write }}}} for the character)"
                    ))
                }
                '[' => {
                    if group.is_some() {
                        return Err(format!("nested [ in {source:?}"));
                    }
                    if !text.is_empty() {
                        top.push(Part::Text(std::mem::take(&mut text)));
                    }
                    group = Some(Vec::new());
                }
                ']' => {
                    let Some(mut parts) = group.take() else {
                        return Err(format!(
                            "a ] without [ in {source:?} (write ]] for the character)"
                        ));
                    };
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    top.push(Part::Group(parts));
                }
                c => text.push(c),
            }
        }
        if group.is_some() {
            return Err(format!("a [ without ] in {source:?}"));
        }
        if !text.is_empty() {
            top.push(Part::Text(text));
        }
        Ok(Template {
            source: source.into(),
            parts: top,
        })
    }

    /// The command as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Every placeholder name the template uses.
    pub fn slots(&self) -> BTreeSet<String> {
        fn walk(parts: &[Part], out: &mut BTreeSet<String>) {
            for part in parts {
                match part {
                    Part::Slot(name) => {
                        out.insert(name.clone());
                    }
                    Part::Group(inner) => walk(inner, out),
                    Part::Text(_) => {}
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.parts, &mut out);
        out
    }

    /// The command line for these values, or why there is none.
    pub fn expand(&self, values: &Values) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Slot(name) => match values.get(name.as_str()) {
                    Some(list) if !list.is_empty() => {
                        let quoted: Vec<String> = list.iter().map(|v| quote(v)).collect();
                        out.push_str(&quoted.join(" "));
                    }
                    _ => {
                        return Err(format!(
                            "the command uses {{{name}}} outside [...] and this scenario has no value for it"
                        ))
                    }
                },
                Part::Group(parts) => expand_group(parts, values, &mut out)?,
            }
        }
        Ok(out)
    }
}

fn expand_group(parts: &[Part], values: &Values, out: &mut String) -> Result<(), String> {
    let mut times = 1;
    for part in parts {
        if let Part::Slot(name) = part {
            match values.get(name.as_str()) {
                None => return Ok(()),
                Some(list) if list.is_empty() => return Ok(()),
                Some(list) if list.len() > 1 => {
                    if times > 1 && times != list.len() {
                        return Err(format!(
                            "lists of different lengths in one [...] group ({{{name}}})"
                        ));
                    }
                    times = list.len();
                }
                Some(_) => {}
            }
        }
    }
    for i in 0..times {
        if i > 0 {
            out.push(' ');
        }
        for part in parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Slot(name) => {
                    let list = &values[name.as_str()];
                    out.push_str(&quote(list.get(i).unwrap_or(&list[0])));
                }
                Part::Group(_) => {}
            }
        }
    }
    Ok(())
}

/// `value` as one shell word.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// What a program can do: implied by its placeholders, or declared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caps(BTreeSet<String>);

impl Caps {
    /// The capabilities of `template` plus `declared` (names from `known`).
    pub fn new(
        template: &Template,
        slots: &[Slot],
        declared: &[String],
        known: &[&str],
    ) -> Result<Caps, String> {
        let mut caps = BTreeSet::new();
        for used in template.slots() {
            if let Some(cap) = slots.iter().find(|s| s.name == used).and_then(|s| s.cap) {
                caps.insert(cap.to_string());
            }
        }
        for cap in declared.iter().flat_map(|c| c.split(',')) {
            let cap = cap.trim();
            if cap.is_empty() {
                continue;
            }
            if !known.contains(&cap) {
                return Err(format!(
                    "unknown capability {cap:?}; known: {}",
                    known.join(", ")
                ));
            }
            caps.insert(cap.to_string());
        }
        Ok(Caps(caps))
    }

    /// Whether the program has `cap`.
    pub fn has(&self, cap: &str) -> bool {
        self.0.contains(cap)
    }

    /// Every capability, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// Parses a program's command and capabilities for a protocol (its
/// placeholders `slots`, its capability names `known`), and checks the
/// time scale it will run at.
pub fn program(
    command: &str,
    declared: &[String],
    slots: &[Slot],
    known: &[&str],
    time_scale: f64,
) -> Result<(Template, Caps), String> {
    if !(time_scale > 0.0 && time_scale.is_finite()) {
        return Err(format!("the time scale must be positive, not {time_scale}"));
    }
    let template = Template::parse(command, slots)?;
    let caps = Caps::new(&template, slots, declared, known)?;
    Ok((template, caps))
}

/// How much of the program's stderr is kept.
const STDERR_TAIL: usize = 4096;

/// A running program under test.
pub struct Program {
    /// Its `TMPDIR` (a browser's profile, say), removed after it.
    _scratch: Scratch,
    child: Child,
    /// Lines for stdin, written by a thread of their own: a program that
    /// stops reading its stdin (backpressure) must not stop the runner.
    stdin: Option<mpsc::Sender<String>>,
    stdin_error: Arc<Mutex<Option<String>>>,
    lines: Receiver<(Instant, String)>,
    stderr: Arc<Mutex<Vec<u8>>>,
    exit: Option<(Instant, ExitStatus)>,
}

impl Program {
    /// Starts `command_line` with `sh -c` in a process group of its own,
    /// with `env` added to its environment.
    pub fn start(command_line: &str, env: &[(&str, String)]) -> Result<Program, String> {
        let scratch = Scratch::new()?;
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(command_line)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        command.env("TMPDIR", &scratch.0);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {command_line:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut stderr_pipe = child.stderr.take().ok_or("no stderr")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&line);
                        let text = text.trim_end_matches(['\n', '\r']).to_string();
                        if tx.send((Instant::now(), text)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let tail = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf) {
                if n == 0 {
                    return;
                }
                let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                t.extend_from_slice(&buf[..n]);
                let excess = t.len().saturating_sub(STDERR_TAIL);
                t.drain(..excess);
            }
        });
        let stdin_error = Arc::new(Mutex::new(None));
        let stdin = child.stdin.take().map(|pipe| {
            let (tx, rx) = mpsc::channel::<String>();
            let error = Arc::clone(&stdin_error);
            std::thread::spawn(move || write_lines(pipe, &rx, &error));
            tx
        });
        Ok(Program {
            _scratch: scratch,
            stdin,
            stdin_error,
            child,
            lines,
            stderr,
            exit: None,
        })
    }

    /// The next stdout line (with the time it arrived), waiting at most
    /// `wait`; `None` on timeout or when stdout is closed and drained.
    pub fn next_line(&self, wait: Duration) -> Option<(Instant, String)> {
        if wait.is_zero() {
            return self.lines.try_recv().ok();
        }
        self.lines.recv_timeout(wait).ok()
    }

    /// Queues one line for the program's stdin; the error of an earlier
    /// write, if one failed.
    pub fn send_line(&mut self, line: &str) -> Result<(), String> {
        if let Some(e) = self
            .stdin_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Err(e);
        }
        let stdin = self.stdin.as_ref().ok_or("stdin is closed")?;
        stdin
            .send(format!("{line}\n"))
            .map_err(|_| "the program's stdin is closed".to_string())
    }

    /// When and how the program exited, if it did.
    pub fn exited(&mut self) -> Option<(Instant, ExitStatus)> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some((Instant::now(), status));
            }
        }
        self.exit
    }

    /// The end of what the program wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let t = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&t).trim().to_string()
    }

    /// Stops the program and everything it started: SIGTERM to its process
    /// group, SIGKILL after a second.
    pub fn stop(&mut self) {
        self.stdin = None;
        if self.exited().is_none() {
            signal_group(self.child.id(), "TERM");
            let until = Instant::now() + Duration::from_secs(1);
            while self.exited().is_none() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        // Children may outlive the shell: the group gets a KILL in any case.
        signal_group(self.child.id(), "KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A directory of its own for a program's temporary files, removed when
/// dropped (after the program was stopped: fields drop in order).
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, String> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sse-conformance-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // A child that outlived its group (a browser's zygote) may still be
        // writing for a moment.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.0).is_ok() || !self.0.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Writes queued lines to a program's stdin until the queue is dropped.
fn write_lines(mut pipe: ChildStdin, lines: &Receiver<String>, error: &Mutex<Option<String>>) {
    for line in lines {
        if let Err(e) = pipe.write_all(line.as_bytes()).and_then(|()| pipe.flush()) {
            *error.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(format!("cannot write to the program's stdin: {e}"));
            return;
        }
    }
}

/// Sends `signal` to the process group `pgid` (ours: the program's shell
/// leads it).
fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOTS: &[Slot] = &[
        Slot {
            name: "url",
            cap: None,
        },
        Slot {
            name: "header",
            cap: Some("headers"),
        },
        Slot {
            name: "retry_ms",
            cap: Some("retry"),
        },
    ];

    fn values(pairs: &[(&'static str, &[&str])]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (*k, v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn groups_are_kept_repeated_or_dropped() {
        let t =
            Template::parse("run {url} [-H {header}] [--retry {retry_ms}] [[x]]", SLOTS).unwrap();
        let v = values(&[("url", &["http://a/"]), ("header", &["A: 1", "B: it's"])]);
        assert_eq!(
            t.expand(&v).unwrap(),
            r"run 'http://a/' -H 'A: 1' -H 'B: it'\''s'  [x]"
        );
        let v = values(&[("url", &["u"]), ("retry_ms", &["150"])]);
        assert_eq!(t.expand(&v).unwrap(), "run 'u'  --retry '150' [x]");
    }

    #[test]
    fn a_slot_outside_a_group_needs_a_value() {
        let t = Template::parse("run {url} {retry_ms}", SLOTS).unwrap();
        let err = t.expand(&values(&[("url", &["u"])])).unwrap_err();
        assert!(err.contains("{retry_ms} outside"), "{err}");
    }

    #[test]
    fn bad_templates_say_why() {
        for (bad, why) in [
            ("run {nope}", "unknown placeholder {nope}"),
            ("run [a [b]]", "nested"),
            ("run [a", "without ]"),
            ("run a]", "without ["),
            ("run {url", "unclosed"),
        ] {
            let err = Template::parse(bad, SLOTS).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn caps_come_from_slots_and_declarations() {
        let t = Template::parse("run {url} [-H {header}]", SLOTS).unwrap();
        let caps = Caps::new(
            &t,
            SLOTS,
            &["close, reconnect".into()],
            &["close", "reconnect", "headers"],
        )
        .unwrap();
        assert_eq!(
            caps.names().collect::<Vec<_>>(),
            ["close", "headers", "reconnect"]
        );
        let err = Caps::new(&t, SLOTS, &["teleport".into()], &["close"]).unwrap_err();
        assert!(err.contains("unknown capability \"teleport\""), "{err}");
    }

    #[test]
    fn a_program_is_stopped_with_its_children() {
        let mut p = Program::start("sleep 30 & echo started; wait", &[]).unwrap();
        let (_, line) = p.next_line(Duration::from_secs(10)).expect("a line");
        assert_eq!(line, "started");
        let started = Instant::now();
        p.stop();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(p.exited().is_some());
    }
}
