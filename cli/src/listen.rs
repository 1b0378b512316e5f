//! `sse listen URL`: an `EventSource` on the command line.
//!
//! Prints every notification as it arrives — readable by default, one JSON
//! object per line with `--json` — and reconnects as a browser does. The
//! decisions (reconnect or not, `Last-Event-ID`, `retry:`) are the core
//! client's; this file only turns options into a
//! `sse_core::client::Config` and notifications into lines.
//!
//! Exit status: 0 after `--max-events` messages, when the server says stop
//! (204) or when a one-shot (`-X POST`) stream ends; 1 on a fatal failure
//! (bad status, bad content type, …) with the reason on stderr; 2 for bad
//! options.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use futures_lite::StreamExt;
use serde_json::json;
use sse_core::client::{ClientError, Config, Method, Notification};
use sse_core::proxy::{NoProxy, Proxies, Proxy, ProxyError};

use crate::runtime;

/// Options of `sse listen`.
#[derive(clap::Args)]
pub struct Args {
    /// The stream's URL (http or https).
    url: String,
    /// Print one JSON object per line: {"kind":"open"}, {"kind":"message",…},
    /// {"kind":"error",…}.
    #[arg(long)]
    json: bool,
    /// Extra request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Last event ID to start from (sent as Last-Event-ID).
    #[arg(long, value_name = "ID")]
    last_event_id: Option<String>,
    /// Initial reconnection time in ms, until the server sends `retry:`.
    #[arg(long, value_name = "N")]
    retry_ms: Option<u64>,
    /// Exit 0 after N messages.
    #[arg(long, value_name = "N")]
    max_events: Option<u64>,
    /// Treat N ms without any bytes as a broken connection (and reconnect).
    #[arg(long, value_name = "N")]
    timeout_ms: Option<u64>,
    /// Request method; anything but GET is a one-shot stream.
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    method: Option<String>,
    /// Request body (e.g. a JSON prompt for an LLM API).
    #[arg(long, value_name = "BODY")]
    data: Option<String>,
    /// Accept any TLS certificate (self-signed test servers only).
    #[arg(long)]
    insecure: bool,
    /// Send requests through this HTTP proxy, `[http://][user:pass@]host[:port]`
    /// (port 1080 when none is given): http URLs in absolute form, https
    /// through a CONNECT tunnel. `""` turns the environment's proxies off.
    /// Without it, `http_proxy`, `https_proxy`/`HTTPS_PROXY`,
    /// `all_proxy`/`ALL_PROXY` and `no_proxy`/`NO_PROXY` are read as curl
    /// reads them (upper-case `HTTP_PROXY` is ignored, as curl does).
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
    /// Hosts reached without the proxy: comma-separated names (and their
    /// subdomains), addresses, CIDR blocks, or `*`. Replaces `NO_PROXY`.
    #[arg(long, value_name = "LIST")]
    noproxy: Option<String>,
}

/// The proxies `args` and the environment name, as curl decides.
fn proxies(args: &Args) -> Result<Proxies, ProxyError> {
    let env = |name: &str| std::env::var(name).ok();
    let proxies = match args.proxy.as_deref().map(str::trim) {
        Some("") => Proxies::none(),
        Some(proxy) => Proxies::all(Proxy::parse(proxy)?).with_no_proxy(NoProxy::from_env(env)),
        None => Proxies::from_env(env)?,
    };
    Ok(match &args.noproxy {
        Some(list) => proxies.with_no_proxy(NoProxy::parse(list)),
        None => proxies,
    })
}

/// Runs `sse listen`.
pub fn run(args: &Args) -> ExitCode {
    let config = match config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sse listen: {e}");
            return ExitCode::from(2);
        }
    };
    let proxies = match proxies(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sse listen: {e}");
            return ExitCode::from(2);
        }
    };
    let mut events = match runtime::event_source(&args.url, config, args.insecure, proxies) {
        Ok(es) => es,
        Err(e) => {
            eprintln!("sse listen: {}: {e}", args.url);
            return ExitCode::from(2);
        }
    };
    let mut out = io::stdout().lock();
    let mut seen = 0u64;
    runtime::block_on(async {
        if args.max_events == Some(0) {
            return ExitCode::SUCCESS;
        }
        while let Some(n) = events.next().await {
            let line = if args.json {
                json_line(&n)
            } else {
                readable_line(&n)
            };
            if let Some((to_stdout, line)) = line {
                let written = if to_stdout {
                    writeln!(out, "{line}").and_then(|()| out.flush())
                } else {
                    writeln!(io::stderr(), "{line}")
                };
                if written.is_err() {
                    // A closed pipe (`| head`) is a normal way to stop.
                    return ExitCode::SUCCESS;
                }
            }
            match n {
                Notification::Message(_) => {
                    seen += 1;
                    if Some(seen) == args.max_events {
                        return ExitCode::SUCCESS;
                    }
                }
                Notification::Error {
                    reconnecting: false,
                    error,
                } => {
                    if error == ClientError::NoContent {
                        return ExitCode::SUCCESS;
                    }
                    if !args.json {
                        eprintln!("sse listen: {}: {error}", args.url);
                    }
                    return ExitCode::FAILURE;
                }
                _ => {}
            }
        }
        ExitCode::SUCCESS
    })
}

/// The client configuration the options ask for.
fn config(args: &Args) -> Result<Config, String> {
    let mut config = Config::default();
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("header {h:?} is not `Name: value`"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("header {h:?} has no name"));
        }
        config.headers.push((name.into(), value.trim().into()));
    }
    if let Some(m) = &args.method {
        config.method = match m.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            _ => Method::Other(m.clone()),
        };
    }
    config.body = args.data.clone().map(Into::into);
    if let Some(id) = &args.last_event_id {
        config.last_event_id = id.clone().into();
    }
    if let Some(ms) = args.retry_ms {
        config.reconnection_time = Duration::from_millis(ms);
    }
    config.idle_timeout = args.timeout_ms.map(Duration::from_millis);
    Ok(config)
}

/// `--json` output: every notification on stdout.
fn json_line(n: &Notification) -> Option<(bool, String)> {
    let value = match n {
        Notification::Open => json!({"kind": "open"}),
        Notification::Message(m) => json!({
            "kind": "message",
            "type": m.event.event_type.as_str(),
            "data": m.event.data.as_str(),
            "id": m.event.id.as_str(),
            "origin": m.origin.as_str(),
        }),
        Notification::Error {
            reconnecting,
            error,
        } => json!({"kind": "error", "reconnecting": reconnecting, "message": error.to_string()}),
        Notification::Closed => json!({"kind": "closed"}),
        Notification::ParseError(e) => json!({"kind": "parse_error", "message": e.to_string()}),
        _ => return None,
    };
    Some((true, value.to_string()))
}

/// Readable output: messages on stdout (`[type id=…] data`, continuation
/// lines indented), everything else on stderr.
fn readable_line(n: &Notification) -> Option<(bool, String)> {
    Some(match n {
        Notification::Message(m) => {
            let mut label = String::from(m.event.event_type.as_str());
            if !m.event.id.is_empty() {
                label.push_str(" id=");
                label.push_str(m.event.id.as_str());
            }
            let data = m.event.data.as_str().replace('\n', "\n    ");
            (true, format!("[{label}] {data}"))
        }
        Notification::Open => (false, "* open".into()),
        Notification::Error {
            reconnecting: true,
            error,
        } => (false, format!("* {error}; reconnecting")),
        Notification::Error { .. } => return None,
        Notification::Closed => (false, "* closed".into()),
        Notification::ParseError(e) => (false, format!("* skipped: {e}")),
        _ => return None,
    })
}
