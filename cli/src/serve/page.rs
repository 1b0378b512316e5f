//! The page `sse serve` shows at `/`: an `EventSource` on the stream, its
//! ready state and every event, so a browser is a client in one click.

/// The page for a stream served at `path`.
pub fn html(path: &str) -> String {
    // The path goes into a JS string literal: JSON escaping makes it one,
    // and escaping `<` keeps `</script>` out of it.
    let literal = serde_json::to_string(path)
        .unwrap_or_else(|_| "\"/events\"".into())
        .replace('<', "\\u003c");
    PAGE.replace("__PATH__", &literal)
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sse serve</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; }
  #state { font-weight: bold; }
  #events { font-family: ui-monospace, monospace; white-space: pre-wrap; }
  #events div { border-bottom: 1px solid #eee; padding: 2px 0; }
  .meta { color: #888; }
</style>
</head>
<body>
<h1>sse serve</h1>
<p>Stream <code id="url"></code>: <span id="state">connecting</span>
  · <span id="count">0</span> events · last id <code id="last">-</code></p>
<div id="events"></div>
<script>
  const path = __PATH__;
  const names = ["connecting", "open", "closed"];
  const $ = (id) => document.getElementById(id);
  $("url").textContent = path;
  const source = new EventSource(path);
  let count = 0;
  const show = (e) => {
    count += 1;
    $("count").textContent = count;
    $("last").textContent = e.lastEventId || "-";
    const row = document.createElement("div");
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `[${e.type}${e.lastEventId ? " id=" + e.lastEventId : ""}] `;
    row.append(meta, e.data);
    $("events").prepend(row);
  };
  source.onmessage = show;
  source.onopen = () => { $("state").textContent = names[source.readyState]; };
  source.onerror = () => { $("state").textContent = names[source.readyState]; };
  // Named events (`event: tick`) do not reach onmessage: listen for the ones
  // this server's --demo sends, and any type listed in ?types=a,b.
  const types = new URLSearchParams(location.search).get("types");
  for (const t of ["tick", ...(types ? types.split(",") : [])]) {
    source.addEventListener(t, show);
  }
</script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::html;

    #[test]
    fn path_is_a_safe_js_literal() {
        let page = html("/events");
        assert!(page.contains(r#"const path = "/events";"#));
        let page = html("/a\"</script><script>alert(1)//");
        assert!(!page.contains("</script><script>alert"));
        assert!(page.contains(r#""/a\"\u003c/script>\u003cscript>alert(1)//""#));
    }
}
