//! Absolute `http` / `https` URLs, small enough for `no_std`.
//!
//! The [`client`](crate::client) machine needs three things from a URL: where
//! to connect (host, port, TLS or not, the request target), how to follow a
//! `Location` header (resolve a relative reference against the current URL,
//! RFC 3986 §5.2) and the origin that events carry (`scheme://host[:port]`,
//! default port omitted). [`Url`] does exactly that and nothing more: no
//! IDNA, no user info, no other schemes. Adapters read [`Url::host`],
//! [`Url::port`], [`Url::is_tls`] and [`Url::request_target`] to connect.
//!
//! ```
//! use sse_core::url::Url;
//!
//! let base = Url::parse("https://Example.com:443/feeds/a?x=1#top").unwrap();
//! assert_eq!(base.as_str(), "https://example.com/feeds/a?x=1");
//! assert_eq!(base.port(), 443);
//! assert_eq!(base.origin(), "https://example.com");
//!
//! let next = base.join("../b/./c?y").unwrap();
//! assert_eq!(next.as_str(), "https://example.com/b/c?y");
//! assert_eq!(base.join("//other:8080/p").unwrap().origin(), "https://other:8080");
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Why a string is not a usable URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// There is no `scheme:` prefix and no base URL to resolve against.
    RelativeWithoutBase,
    /// The scheme is not `http` or `https`.
    UnsupportedScheme,
    /// The URL has no `//` authority part, or its host is empty.
    MissingHost,
    /// The host holds a character that is not allowed (space, non-ASCII, …).
    InvalidHost,
    /// The port is not a number from 0 to 65535.
    InvalidPort,
    /// The URL has user info (`user:pass@`), which this client does not send.
    UserInfo,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::RelativeWithoutBase => "relative url without a base",
            UrlError::UnsupportedScheme => "url scheme is not http or https",
            UrlError::MissingHost => "url has no host",
            UrlError::InvalidHost => "invalid host in url",
            UrlError::InvalidPort => "invalid port in url",
            UrlError::UserInfo => "user info in url is not supported",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for UrlError {}

/// An absolute `http` or `https` URL, normalised: lowercase scheme and host,
/// default port dropped, empty path turned into `/`, fragment removed,
/// spaces, controls and non-ASCII bytes in the path and query percent-encoded.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Url {
    /// The whole URL, `scheme://host[:port]/path[?query]`.
    serialization: String,
    tls: bool,
    /// End of `scheme://host[:port]` in `serialization`.
    origin_end: usize,
    /// Start and end of the host (brackets included for IPv6).
    host: (usize, usize),
    port: u16,
}

impl Url {
    /// Parses an absolute URL.
    pub fn parse(input: &str) -> Result<Url, UrlError> {
        let input = trim(input);
        let Some((scheme, rest)) = split_scheme(input) else {
            return Err(UrlError::RelativeWithoutBase);
        };
        let tls = if scheme.eq_ignore_ascii_case("http") {
            false
        } else if scheme.eq_ignore_ascii_case("https") {
            true
        } else {
            return Err(UrlError::UnsupportedScheme);
        };
        let rest = rest
            .strip_prefix("//")
            .or_else(|| rest.strip_prefix("\\\\"))
            .ok_or(UrlError::MissingHost)?;
        let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        let (host, port) = split_host_port(authority)?;
        let default_port = if tls { 443 } else { 80 };
        let port = port.unwrap_or(default_port);

        let mut s = String::with_capacity(input.len() + 1);
        s.push_str(if tls { "https://" } else { "http://" });
        let host_start = s.len();
        for c in host.chars() {
            s.push(c.to_ascii_lowercase());
        }
        let host_end = s.len();
        if port != default_port {
            push_port(&mut s, port);
        }
        let origin_end = s.len();
        let (path, query) = split_path_query(tail);
        let path = remove_dot_segments(path);
        push_encoded(&mut s, &path);
        if let Some(query) = query {
            s.push('?');
            push_encoded(&mut s, query);
        }
        Ok(Url {
            serialization: s,
            tls,
            origin_end,
            host: (host_start, host_end),
            port,
        })
    }

    /// Resolves `reference` (e.g. a `Location` header value) against this
    /// URL: absolute, scheme-relative (`//host/p`), absolute-path (`/p`),
    /// relative-path (`a/../b`), query-only (`?q`) and empty references.
    pub fn join(&self, reference: &str) -> Result<Url, UrlError> {
        let reference = trim(reference);
        if split_scheme(reference).is_some() {
            return Url::parse(reference);
        }
        let scheme = if self.tls { "https:" } else { "http:" };
        if reference.starts_with("//") {
            return Url::parse(&concat(&[scheme, reference]));
        }
        let origin = self.origin();
        let (ref_path, ref_query) = split_path_query(reference);
        let base_path = self.path();
        let target = if ref_path.is_empty() {
            let query = match ref_query {
                Some(q) => concat(&["?", q]),
                None => self.query().map(|q| concat(&["?", q])).unwrap_or_default(),
            };
            concat(&[origin, base_path, &query])
        } else {
            let query = ref_query.map(|q| concat(&["?", q])).unwrap_or_default();
            if ref_path.starts_with('/') {
                concat(&[origin, ref_path, &query])
            } else {
                let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
                concat(&[origin, dir, ref_path, &query])
            }
        };
        Url::parse(&target)
    }

    /// The URL as a string.
    pub fn as_str(&self) -> &str {
        &self.serialization
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }

    /// Whether to connect with TLS (the scheme is `https`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The host: a lowercase name, an IPv4 address, or an IPv6 address in
    /// brackets (`[::1]`).
    pub fn host(&self) -> &str {
        &self.serialization[self.host.0..self.host.1]
    }

    /// The host without IPv6 brackets, as a resolver or socket address wants it.
    pub fn host_unbracketed(&self) -> &str {
        let host = self.host();
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
    }

    /// The port to connect to (the scheme's default when none is given).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The value of the `Host` request header: host, plus the port when it
    /// is not the default.
    pub fn authority(&self) -> &str {
        &self.serialization[self.host.0..self.origin_end]
    }

    /// The origin, `scheme://host[:port]` (default port omitted).
    pub fn origin(&self) -> &str {
        &self.serialization[..self.origin_end]
    }

    /// The HTTP/1.1 request target: path and query (`/a/b?c`).
    pub fn request_target(&self) -> &str {
        &self.serialization[self.origin_end..]
    }

    /// The path, always starting with `/`.
    pub fn path(&self) -> &str {
        let target = self.request_target();
        &target[..target.find('?').unwrap_or(target.len())]
    }

    /// The query without its `?`, if there is one.
    pub fn query(&self) -> Option<&str> {
        let target = self.request_target();
        target.find('?').map(|i| &target[i + 1..])
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::str::FromStr for Url {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Url, UrlError> {
        Url::parse(s)
    }
}

/// Strips leading and trailing C0 controls and spaces (WHATWG URL parser).
fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// `Some((scheme, rest))` when `s` starts with a valid `scheme:`.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let colon = s.find(':')?;
    let scheme = &s[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| (scheme, &s[colon + 1..]))
}

/// Splits an authority into host and optional port, validating both.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), UrlError> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']').ok_or(UrlError::InvalidHost)?;
        let inner = &authority[1..close];
        let valid = !inner.is_empty()
            && inner.contains(':')
            && inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        if !valid {
            return Err(UrlError::InvalidHost);
        }
        let rest = &authority[close + 1..];
        let port = match rest {
            "" => None,
            _ => Some(rest.strip_prefix(':').ok_or(UrlError::InvalidHost)?),
        };
        (&authority[..=close], port)
    } else {
        match authority.rfind(':') {
            Some(i) => (&authority[..i], Some(&authority[i + 1..])),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    let forbidden = |c: char| {
        !c.is_ascii()
            || c <= ' '
            || matches!(
                c,
                '#' | '%'
                    | '/'
                    | ':'
                    | '<'
                    | '>'
                    | '?'
                    | '@'
                    | '['
                    | '\\'
                    | ']'
                    | '^'
                    | '|'
                    | '\x7f'
            )
    };
    if !host.starts_with('[') && host.chars().any(forbidden) {
        return Err(UrlError::InvalidHost);
    }
    let port = match port {
        None | Some("") => None,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| UrlError::InvalidPort)?)
        }
        Some(_) => return Err(UrlError::InvalidPort),
    };
    Ok((host, port))
}

/// Splits `path?query#fragment` into path and query; drops the fragment.
fn split_path_query(s: &str) -> (&str, Option<&str>) {
    let s = &s[..s.find('#').unwrap_or(s.len())];
    match s.find('?') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// RFC 3986 §5.2.4 on an absolute path; an empty path becomes `/`.
/// Backslashes count as slashes, as browsers treat them in http URLs.
fn remove_dot_segments(path: &str) -> String {
    let path = path.strip_prefix(['/', '\\']).unwrap_or(path);
    let segments: Vec<&str> = path.split(['/', '\\']).collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        let dot = matches!(*seg, "." | "%2e" | "%2E");
        let dotdot = matches!(
            *seg,
            ".." | ".%2e" | ".%2E" | "%2e." | "%2E." | "%2e%2e" | "%2E%2E" | "%2e%2E" | "%2E%2e"
        );
        if dotdot {
            out.pop();
        }
        if dot || dotdot {
            if i == last {
                out.push("");
            }
            continue;
        }
        out.push(seg);
    }
    let mut s = String::with_capacity(path.len() + 1);
    for seg in &out {
        s.push('/');
        s.push_str(seg);
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

/// Appends `s`, percent-encoding bytes that may not appear in a request
/// target (controls, space, `"`, `<`, `>`, `` ` ``, non-ASCII).
fn push_encoded(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b <= b' ' || b >= 0x7f || matches!(b, b'"' | b'<' | b'>' | b'`') {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        } else {
            out.push(char::from(b));
        }
    }
}

fn push_port(s: &mut String, port: u16) {
    use core::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(s, ":{port}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn parses_and_normalises() {
        let u = p("HTTP://WWW.Example.COM");
        assert_eq!(u.as_str(), "http://www.example.com/");
        assert_eq!(
            (u.host(), u.port(), u.is_tls()),
            ("www.example.com", 80, false)
        );
        assert_eq!(u.request_target(), "/");
        let u = p("https://h:8443/a b?q=é#frag");
        assert_eq!(u.as_str(), "https://h:8443/a%20b?q=%C3%A9");
        assert_eq!(u.authority(), "h:8443");
        assert_eq!(u.origin(), "https://h:8443");
        assert_eq!(u.query(), Some("q=%C3%A9"));
        assert_eq!(p("http://h:80/x").origin(), "http://h");
        assert_eq!(p("http://h:/x").port(), 80);
        assert_eq!(p("http://h?q").as_str(), "http://h/?q");
    }

    #[test]
    fn ipv6_literals() {
        let u = p("http://[::1]:8080/s");
        assert_eq!(u.host(), "[::1]");
        assert_eq!(u.host_unbracketed(), "::1");
        assert_eq!(u.port(), 8080);
        assert_eq!(u.origin(), "http://[::1]:8080");
        assert_eq!(p("https://[2001:DB8::1]").host(), "[2001:db8::1]");
        assert_eq!(Url::parse("http://[zz]/"), Err(UrlError::InvalidHost));
        assert_eq!(Url::parse("http://[::1/"), Err(UrlError::InvalidHost));
        assert_eq!(Url::parse("http://[::1]x/"), Err(UrlError::InvalidHost));
    }

    #[test]
    fn rejects() {
        use UrlError::*;
        for (input, err) in [
            ("", RelativeWithoutBase),
            ("/path", RelativeWithoutBase),
            ("ftp://h/", UnsupportedScheme),
            ("data:text/plain,x", UnsupportedScheme),
            ("http:/h", MissingHost),
            ("http:///p", MissingHost),
            ("http://this is invalid/", InvalidHost),
            ("http://bücher.de/", InvalidHost),
            ("http://h:99999/", InvalidPort),
            ("http://h:8x/", InvalidPort),
            ("http://u:p@h/", UserInfo),
        ] {
            assert_eq!(Url::parse(input), Err(err), "{input}");
        }
    }

    #[test]
    fn joins_references() {
        let base = p("http://a/b/c/d;p?q");
        // RFC 3986 §5.4.1 normal examples (http only).
        for (r, want) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("..g", "http://a/b/c/..g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/../h", "http://a/b/c/h"),
            ("https://x:1/y", "https://x:1/y"),
        ] {
            assert_eq!(base.join(r).unwrap().as_str(), want, "{r}");
        }
        assert_eq!(
            p("https://a/b").join("//c:443/d").unwrap().as_str(),
            "https://c/d"
        );
        assert_eq!(base.join("mailto:x"), Err(UrlError::UnsupportedScheme));
    }

    proptest! {
        #[test]
        fn never_panics_and_reparses(s in "\\PC{0,40}", r in "\\PC{0,20}") {
            if let Ok(u) = Url::parse(&s) {
                prop_assert_eq!(Url::parse(u.as_str()), Ok(u.clone()));
                if let Ok(j) = u.join(&r) {
                    prop_assert_eq!(Url::parse(j.as_str()), Ok(j.clone()));
                    prop_assert!(j.path().starts_with('/'));
                }
            }
            let base = p("http://h/a/b");
            let _ = base.join(&s);
        }
    }
}
