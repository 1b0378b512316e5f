//! HTTP proxies for the raw-socket drivers: which URLs go through which
//! proxy, and how.
//!
//! Every decision is here, so the drivers only connect where they are told:
//!
//! - [`Proxies::route`] says, for a URL, [`Route::Direct`],
//!   [`Route::Forward`] (an `http://` URL: connect to the proxy and send the
//!   request in absolute form, `GET http://host/path HTTP/1.1`, with the
//!   proxy's credentials; [`Exchange::start_via`](crate::client::Exchange::start_via)
//!   writes it) or [`Route::Tunnel`] (an `https://` URL: connect to the
//!   proxy, open a tunnel with `CONNECT host:port`, then TLS to the server
//!   through it; [`Tunnel`] writes the request and reads the answer).
//! - [`Proxies::from_env`] reads the environment as curl does: `http_proxy`
//!   (lower case only: CGI servers put a request's `Proxy:` header in
//!   `HTTP_PROXY`), `https_proxy` / `HTTPS_PROXY`, `all_proxy` /
//!   `ALL_PROXY` for both, and `no_proxy` / `NO_PROXY`, the lower-case name
//!   first. An empty value is unset.
//! - [`NoProxy`] matches curl's rules: `*` is every host; a name matches
//!   itself and its subdomains (`example.com` and `.example.com` both match
//!   `a.example.com`); an IP address or CIDR block (`10.0.0.0/8`, `::1`)
//!   matches addresses in it.
//! - [`Proxy::parse`] takes what curl takes: `host:port`, `http://host`
//!   (port 1080 when none is given, curl's default), and credentials
//!   `http://user:pass@host:port` (percent-encoded), sent as
//!   `Proxy-Authorization: Basic …`. Only `http://` proxies are spoken to;
//!   `https://` and SOCKS proxies are a typed error.
//!
//! ```
//! use sse_core::proxy::{NoProxy, Proxies, Proxy, Route};
//! use sse_core::url::Url;
//!
//! let env = |name: &str| match name {
//!     "https_proxy" => Some("http://user:secret@proxy.corp:3128".to_string()),
//!     "no_proxy" => Some("localhost, .internal, 10.0.0.0/8".to_string()),
//!     _ => None,
//! };
//! let proxies = Proxies::from_env(env).unwrap();
//! let url = |s| Url::parse(s).unwrap();
//! match proxies.route(&url("https://api.example.com/events")) {
//!     Route::Tunnel(p) => {
//!         assert_eq!(p.url().as_str(), "http://proxy.corp:3128/");
//!         assert_eq!(p.authorization(), Some("Basic dXNlcjpzZWNyZXQ="));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! assert_eq!(proxies.route(&url("https://feeds.internal/x")), Route::Direct);
//! assert_eq!(proxies.route(&url("https://10.1.2.3/x")), Route::Direct);
//! // No http_proxy: plain http goes direct.
//! assert_eq!(proxies.route(&url("http://api.example.com/")), Route::Direct);
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use bytes::BufMut;
use core::fmt;
use core::net::IpAddr;

use crate::client::TransportError;
use crate::http1::{encode_request, EncodeError, HeadError, HeadStatus, Request, ResponseParser};
use crate::url::{Url, UrlError};

/// Why a proxy setting cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy's scheme is not `http` (e.g. `https://` or `socks5://`):
    /// this client only speaks plain HTTP to proxies.
    UnsupportedScheme(String),
    /// The proxy is not a usable `host[:port]`.
    Url(UrlError),
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::UnsupportedScheme(s) => {
                write!(f, "unsupported proxy scheme {s:?} (only http:// proxies)")
            }
            ProxyError::Url(e) => write!(f, "bad proxy address: {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProxyError {}

/// An HTTP proxy: where it is, and the credentials to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    url: Url,
    authorization: Option<String>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials stay out of logs.
        f.debug_struct("Proxy")
            .field("url", &self.url.as_str())
            .field("authorization", &self.authorization.as_ref().map(|_| "…"))
            .finish()
    }
}

/// curl's port for a proxy given without one.
const DEFAULT_PORT: u16 = 1080;

impl Proxy {
    /// Parses a proxy as curl does: `host:port`, `http://host[:port]`
    /// (port 1080 when none is given), `http://user:pass@host:port`.
    pub fn parse(spec: &str) -> Result<Proxy, ProxyError> {
        let spec = spec.trim();
        let rest = match spec.split_once("://") {
            None => spec,
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => return Err(ProxyError::UnsupportedScheme(scheme.into())),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (userinfo, hostport) = match rest[..end].rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, &rest[..end]),
        };
        // A port is given if a ':' follows the host (after an IPv6 bracket).
        let has_port = match hostport.rfind(']') {
            Some(close) => hostport[close..].contains(':'),
            None => hostport.contains(':'),
        };
        let mut url = String::from("http://");
        url.push_str(hostport);
        if !has_port {
            url.push(':');
            push_decimal(&mut url, DEFAULT_PORT);
        }
        let url = Url::parse(&url).map_err(ProxyError::Url)?;
        let authorization = userinfo.map(|userinfo| {
            let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let mut plain = percent_decode(user);
            plain.push(b':');
            plain.extend(percent_decode(pass));
            let mut header = String::from("Basic ");
            base64(&plain, &mut header);
            header
        });
        Ok(Proxy { url, authorization })
    }

    /// The proxy's address, as an `http://host:port/` URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The `Proxy-Authorization` value (`Basic …`), when the proxy was
    /// given with credentials.
    pub fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }
}

/// Hosts that bypass the proxies (`NO_PROXY`), by curl's rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    names: Vec<String>,
    nets: Vec<(IpAddr, u8)>,
}

impl NoProxy {
    /// Parses a comma-separated list: `*`, host names (a leading `.` is
    /// optional), IP addresses and CIDR blocks. Entries that are none of
    /// these are ignored.
    pub fn parse(list: &str) -> NoProxy {
        let mut out = NoProxy::default();
        for entry in list.split([',', ' ', '\t']).map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                out.all = true;
                continue;
            }
            let (addr, bits) = match entry.split_once('/') {
                Some((a, b)) => (a, b.parse::<u8>().ok()),
                None => (entry, None),
            };
            let addr = addr.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = addr.parse::<IpAddr>() {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                out.nets.push((ip, bits.unwrap_or(max).min(max)));
            } else {
                let name = entry.trim_start_matches('.').trim_end_matches('.');
                if !name.is_empty() {
                    out.names.push(name.to_ascii_lowercase());
                }
            }
        }
        out
    }

    /// The list the environment gives (`no_proxy`, else `NO_PROXY`); `var`
    /// reads one variable.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> NoProxy {
        let list = ["no_proxy", "NO_PROXY"]
            .iter()
            .filter_map(|n| var(n))
            .find(|v| !v.trim().is_empty());
        NoProxy::parse(&list.unwrap_or_default())
    }

    /// Whether `url`'s host bypasses the proxies.
    pub fn matches(&self, url: &Url) -> bool {
        if self.all {
            return true;
        }
        let host = url.host_unbracketed();
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.nets.iter().any(|&(net, bits)| in_net(ip, net, bits));
        }
        let host = host.trim_end_matches('.').as_bytes();
        self.names.iter().any(|name| {
            let name = name.as_bytes();
            let Some(start) = host.len().checked_sub(name.len()) else {
                return false;
            };
            host[start..].eq_ignore_ascii_case(name) && (start == 0 || host[start - 1] == b'.')
        })
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let shift = width - u32::from(bits);
    shift >= width || (ip >> shift) == (net >> shift)
}

/// How a driver reaches a URL: [`Proxies::route`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// Connect to the URL's host and port.
    Direct,
    /// An `http://` URL through a forward proxy: connect to the proxy and
    /// send the request in absolute form with the proxy's credentials.
    Forward(&'a Proxy),
    /// An `https://` URL through a proxy: connect to it, open a tunnel to
    /// the URL's host and port ([`Tunnel`]), then TLS through the tunnel.
    Tunnel(&'a Proxy),
}

/// Which proxy each kind of URL goes through, and which hosts bypass them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Proxies {
    http: Option<Proxy>,
    https: Option<Proxy>,
    no_proxy: NoProxy,
}

impl Proxies {
    /// No proxy: every URL is reached directly.
    pub fn none() -> Proxies {
        Proxies::default()
    }

    /// `proxy` for every URL (curl's `--proxy`).
    pub fn all(proxy: Proxy) -> Proxies {
        Proxies {
            http: Some(proxy.clone()),
            https: Some(proxy),
            no_proxy: NoProxy::default(),
        }
    }

    /// The proxies the environment names, by curl's rules (see the
    /// [module docs](self)); `var` reads one variable.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Proxies, ProxyError> {
        let get = |names: &[&str]| {
            names
                .iter()
                .filter_map(|n| var(n))
                .find(|v| !v.trim().is_empty())
        };
        let no_proxy = NoProxy::from_env(&var);
        let all = get(&["all_proxy", "ALL_PROXY"]);
        let http = get(&["http_proxy"]).or_else(|| all.clone());
        let https = get(&["https_proxy", "HTTPS_PROXY"]).or(all);
        Ok(Proxies {
            http: http.as_deref().map(Proxy::parse).transpose()?,
            https: https.as_deref().map(Proxy::parse).transpose()?,
            no_proxy,
        })
    }

    /// The same proxies, bypassed for the hosts `no_proxy` matches
    /// (replacing any list already set).
    pub fn with_no_proxy(mut self, no_proxy: NoProxy) -> Proxies {
        self.no_proxy = no_proxy;
        self
    }

    /// Whether any URL would go through a proxy.
    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// How to reach `url`.
    pub fn route(&self, url: &Url) -> Route<'_> {
        if self.no_proxy.matches(url) {
            return Route::Direct;
        }
        match (url.is_tls(), &self.http, &self.https) {
            (false, Some(p), _) => Route::Forward(p),
            (true, _, Some(p)) => Route::Tunnel(p),
            _ => Route::Direct,
        }
    }

    /// The forward proxy for `url`, if its request goes to one in absolute
    /// form ([`Route::Forward`]).
    pub fn forward(&self, url: &Url) -> Option<&Proxy> {
        match self.route(url) {
            Route::Forward(p) => Some(p),
            _ => None,
        }
    }
}

/// Opening a tunnel through a proxy for TLS: the `CONNECT` request, then
/// its answer. A `2xx` opens it. The client speaks first in TLS, so the
/// proxy must send nothing after its answer until then.
#[derive(Debug)]
pub struct Tunnel {
    head: ResponseParser,
}

/// Where a [`Tunnel`] stands after some bytes from the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelStatus {
    /// The answer's head is not complete yet: read more.
    Partial,
    /// The tunnel is open: start TLS.
    Open,
}

/// Why a tunnel did not open.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TunnelError {
    /// The `CONNECT` request cannot be written (a bad host, or credentials
    /// with control characters).
    Request(EncodeError),
    /// The proxy answered something other than `2xx` (`407`: it wants
    /// credentials; `403`: it does not tunnel there).
    Refused {
        /// The proxy's status.
        status: u16,
    },
    /// The proxy's answer is not HTTP.
    Malformed(HeadError),
    /// Bytes followed the answer before the client spoke.
    UnexpectedBytes,
    /// The proxy closed the connection before answering.
    Closed,
}

impl TunnelError {
    /// The class of failure the client machine is told about
    /// ([`Client::handle_connect_failed`](crate::client::Client::handle_connect_failed)).
    pub fn transport_error(&self) -> TransportError {
        match self {
            TunnelError::Request(_) => TransportError::Other,
            TunnelError::Refused { .. } => TransportError::Refused,
            TunnelError::Malformed(_) | TunnelError::UnexpectedBytes => TransportError::Protocol,
            TunnelError::Closed => TransportError::Reset,
        }
    }
}

impl fmt::Display for TunnelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TunnelError::Request(e) => write!(f, "cannot write the CONNECT request: {e}"),
            TunnelError::Refused { status } => write!(f, "proxy refused the tunnel: {status}"),
            TunnelError::Malformed(e) => write!(f, "malformed proxy answer: {e}"),
            TunnelError::UnexpectedBytes => f.write_str("proxy sent bytes before the client spoke"),
            TunnelError::Closed => f.write_str("proxy closed the connection before answering"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TunnelError {}

impl Tunnel {
    /// Appends `CONNECT host:port HTTP/1.1` for `target` (with the proxy's
    /// credentials) to `out` and returns the state that reads the answer.
    pub fn start(
        target: &Url,
        proxy: &Proxy,
        out: &mut impl BufMut,
    ) -> Result<Tunnel, TunnelError> {
        let mut authority = String::from(target.host());
        authority.push(':');
        push_decimal(&mut authority, target.port());
        let credentials = proxy.authorization().map(|a| [("Proxy-Authorization", a)]);
        let request = Request {
            method: "CONNECT",
            target: &authority,
            host: &authority,
            headers: credentials.as_ref().map_or(&[], |c| &c[..]),
            body: None,
        };
        encode_request(out, &request).map_err(TunnelError::Request)?;
        Ok(Tunnel {
            head: ResponseParser::new(),
        })
    }

    /// Bytes read from the proxy; an empty read (the proxy closed) is
    /// [`TunnelError::Closed`].
    pub fn handle_bytes(&mut self, input: &[u8]) -> Result<TunnelStatus, TunnelError> {
        if input.is_empty() {
            return Err(TunnelError::Closed);
        }
        match self.head.handle_bytes(input) {
            Ok(HeadStatus::Partial) => Ok(TunnelStatus::Partial),
            Ok(HeadStatus::Complete(head, used)) => match head.status() {
                200..=299 if used == input.len() => Ok(TunnelStatus::Open),
                200..=299 => Err(TunnelError::UnexpectedBytes),
                status => Err(TunnelError::Refused { status }),
            },
            Err(e) => Err(TunnelError::Malformed(e)),
        }
    }
}

fn push_decimal(out: &mut String, n: u16) {
    use core::fmt::Write;
    let _ = write!(out, "{n}");
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648 §4), as Basic credentials use.
fn base64(input: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

#[cfg(test)]
mod tests;
