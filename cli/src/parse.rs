//! `sse parse`: a `text/event-stream` body on stdin → JSON Lines on stdout.
//!
//! One `{"type","data","id"}` line per dispatched event, then one
//! `{"last_event_id","retry"}` line: the conformance subprocess protocol, so
//! `sse conformance parse --cmd "sse parse"` checks this very command.

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use sse_conformance::parse::{ExpectedEvent, Summary};
use sse_core::parse::{Limits, Parser};

use crate::limits::LimitArgs;

/// Options of `sse parse`.
#[derive(clap::Args)]
pub struct Args {
    /// Feed the parser N bytes at a time (default: whatever each read returns).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    chunk_size: Option<u64>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Runs `sse parse`.
pub fn run(args: &Args) -> ExitCode {
    match parse_stdin(args.chunk_size.map(|n| n as usize), args.limits.limits()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sse parse: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_stdin(chunk_size: Option<usize>, limits: Limits) -> io::Result<()> {
    let mut input = io::stdin().lock();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut parser = Parser::with_limits(limits);
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for chunk in buf[..n].chunks(chunk_size.unwrap_or(n)) {
            parser.handle_bytes(chunk);
            drain(&mut parser, &mut out)?;
        }
        out.flush()?;
    }
    parser.handle_eof();
    drain(&mut parser, &mut out)?;
    let summary = Summary {
        last_event_id: parser.last_event_id().to_string(),
        retry: parser.retry(),
    };
    writeln!(out, "{}", serde_json::to_string(&summary)?)?;
    out.flush()
}

fn drain(parser: &mut Parser, out: &mut impl Write) -> io::Result<()> {
    while let Some(result) = parser.poll_event() {
        match result {
            Ok(event) => {
                let line = ExpectedEvent {
                    event_type: event.event_type().to_string(),
                    data: event.data().to_string(),
                    id: event.id().to_string(),
                };
                writeln!(out, "{}", serde_json::to_string(&line)?)?;
            }
            Err(err) => eprintln!("sse parse: {err}"),
        }
    }
    Ok(())
}
