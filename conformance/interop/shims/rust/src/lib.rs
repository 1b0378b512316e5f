//! What the shims share: the scenario's options (the `SSE_CONFORMANCE`
//! variable the conformance runner sets), the protocol's output lines, and
//! `close` read from stdin.
//!
//! Client shims print one JSON object per line as `sse listen --json`
//! does; server shims read `{"event","data","id"}` lines on stdin and print
//! their URL first. The protocols are documented in
//! `conformance/fixtures/client/README.md` and
//! `conformance/fixtures/server/README.md`.

use std::io::Write;

use serde_json::{json, Value};

/// The scenario's options, from `SSE_CONFORMANCE` (empty when unset).
pub fn options() -> Value {
    std::env::var("SSE_CONFORMANCE")
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

/// A string option.
pub fn text(options: &Value, key: &str) -> Option<String> {
    options.get(key)?.as_str().map(str::to_string)
}

/// A number option.
pub fn number(options: &Value, key: &str) -> Option<u64> {
    options.get(key)?.as_u64()
}

/// The extra request headers.
pub fn headers(options: &Value) -> Vec<(String, String)> {
    options
        .get("headers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|pair| {
                    Some((
                        pair.get(0)?.as_str()?.to_string(),
                        pair.get(1)?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Prints one protocol line and flushes it.
pub fn print(line: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// `{"kind":"open"}`.
pub fn open() {
    print(json!({"kind": "open"}));
}

/// A message; `origin` only when the library tells it.
pub fn message(event_type: &str, data: &str, id: &str, origin: Option<&str>) {
    let mut line = json!({"kind": "message", "type": event_type, "data": data, "id": id});
    if let Some(origin) = origin {
        line["origin"] = origin.into();
    }
    print(line);
}

/// An error, and whether the library goes on to reconnect.
pub fn error(reconnecting: bool, message: &str) {
    print(json!({"kind": "error", "reconnecting": reconnecting, "message": message}));
}

/// Resolves when a line `close` arrives on stdin (or stdin ends).
pub async fn close_requested() {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim() == "close" {
            return;
        }
    }
    std::future::pending::<()>().await;
}
