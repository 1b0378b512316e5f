//! Reading a response head: the content type check and `Retry-After`.

/// Whether a `Content-Type` value is the MIME type `text/event-stream`:
/// parsed, essence compared ASCII case-insensitively, parameters ignored
/// (WHATWG MIME Sniffing "parse a MIME type", as browsers and WPT do).
pub fn is_event_stream(content_type: &[u8]) -> bool {
    let Ok(value) = core::str::from_utf8(content_type) else {
        return false;
    };
    let value = value.trim_matches(is_http_whitespace);
    let Some((kind, rest)) = value.split_once('/') else {
        return false;
    };
    let subtype = rest.split(';').next().unwrap_or("");
    let subtype = subtype.trim_end_matches(is_http_whitespace);
    is_token(kind)
        && is_token(subtype)
        && kind.eq_ignore_ascii_case("text")
        && subtype.eq_ignore_ascii_case("event-stream")
}

fn is_http_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A `Retry-After` value in seconds (`delay-seconds`). HTTP dates are not
/// understood: the core has no wall clock.
pub fn retry_after_secs(value: &[u8]) -> Option<u64> {
    let value = trim_ascii(value);
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    value
        .iter()
        .try_fold(0u64, |acc, &b| {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        })
        .or(Some(u64::MAX))
}

fn trim_ascii(mut v: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = v {
        if !first.is_ascii_whitespace() {
            break;
        }
        v = rest;
    }
    while let [rest @ .., last] = v {
        if !last.is_ascii_whitespace() {
            break;
        }
        v = rest;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_essence() {
        for ok in [
            "text/event-stream",
            "text/event-stream;charset=utf-8",
            "Text/Event-Stream",
            "text/event-stream;",
            " text/event-stream ; charset=windows-1252",
        ] {
            assert!(is_event_stream(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "text/x-bogus",
            "x bogus",
            "",
            "text/",
            "/event-stream",
            "text/event-stream x",
            "text /event-stream",
        ] {
            assert!(!is_event_stream(bad.as_bytes()), "{bad}");
        }
        assert!(!is_event_stream(b"text/event-stream\xFF"));
    }

    #[test]
    fn retry_after() {
        assert_eq!(retry_after_secs(b" 120 "), Some(120));
        assert_eq!(retry_after_secs(b"99999999999999999999999"), Some(u64::MAX));
        assert_eq!(retry_after_secs(b"Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after_secs(b""), None);
        assert_eq!(retry_after_secs(b"-1"), None);
    }
}
