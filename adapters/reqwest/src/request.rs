//! Between the core's requests and reqwest's: each
//! [`Action::Connect`](sse_core::client::Action::Connect) becomes a
//! [`reqwest::Request`], and a [`reqwest::Request`] a user built becomes the
//! machine's [`Config`] (method, headers, body) plus what only reqwest knows
//! ([`Extras`]: its timeout and HTTP version).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderName, HeaderValue};
use sse_core::client::{Config, Method, Request};
use sse_core::url::{Url, UrlError};

/// Why an [`EventSource`](crate::EventSource) could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The URL is not an absolute `http` or `https` URL the client machine
    /// can follow.
    Url(UrlError),
    /// reqwest could not build the request or the client.
    Reqwest(reqwest::Error),
    /// The request body is a stream: it cannot be sent again on a
    /// reconnect. Give it as bytes (`.body(vec)`, `.json(&value)`).
    StreamingBody,
    /// A header cannot be sent: an invalid name, or a value with control
    /// characters or bytes that are not UTF-8.
    Header {
        /// The header's name.
        name: String,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Url(e) => write!(f, "bad event stream url: {e}"),
            BuildError::Reqwest(e) => write!(f, "cannot build the request: {e}"),
            BuildError::StreamingBody => {
                f.write_str("a streaming request body cannot be sent again; give it as bytes")
            }
            BuildError::Header { name } => write!(f, "header {name:?} cannot be sent"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Url(e) => Some(e),
            BuildError::Reqwest(e) => Some(e),
            _ => None,
        }
    }
}

impl From<UrlError> for BuildError {
    fn from(e: UrlError) -> Self {
        BuildError::Url(e)
    }
}

impl From<reqwest::Error> for BuildError {
    fn from(e: reqwest::Error) -> Self {
        BuildError::Reqwest(e)
    }
}

/// What a [`reqwest::Request`] carries that the machine's [`Config`] does
/// not: applied to every request sent.
#[derive(Clone, Debug, Default)]
pub(crate) struct Extras {
    /// reqwest's whole-request timeout (it also bounds reading the body).
    pub timeout: Option<Duration>,
    /// The HTTP version asked for.
    pub version: Option<reqwest::Version>,
}

/// Splits a user's request into the URL, the machine's configuration (its
/// method, headers and body replace `config`'s; other fields are kept) and
/// the extras.
pub(crate) fn from_reqwest(
    request: reqwest::Request,
    mut config: Config,
) -> Result<(Url, Config, Extras), BuildError> {
    let url = Url::parse(request.url().as_str())?;
    config.method = match request.method().as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        other => Method::Other(other.into()),
    };
    config.headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = std::str::from_utf8(value.as_bytes()).map_err(|_| BuildError::Header {
                name: name.as_str().into(),
            })?;
            Ok((name.as_str().to_owned(), value.to_owned()))
        })
        .collect::<Result<_, BuildError>>()?;
    config.body = match request.body() {
        None => None,
        Some(body) => Some(Bytes::copy_from_slice(
            body.as_bytes().ok_or(BuildError::StreamingBody)?,
        )),
    };
    let extras = Extras {
        timeout: request.timeout().copied(),
        version: Some(request.version()).filter(|v| *v != reqwest::Version::default()),
    };
    Ok((url, config, extras))
}

/// Checks that every configured header can be sent, so that a bad one is
/// an error at construction instead of a failed connect on every attempt.
pub(crate) fn check_headers(config: &Config) -> Result<(), BuildError> {
    for (name, value) in &config.headers {
        if HeaderName::from_bytes(name.as_bytes()).is_err()
            || HeaderValue::from_bytes(value.as_bytes()).is_err()
        {
            return Err(BuildError::Header { name: name.clone() });
        }
    }
    Ok(())
}

/// The reqwest form of the machine's request: its method, URL, headers in
/// order, and body; reqwest adds `Host` and `Content-Length`.
pub(crate) fn to_reqwest(request: &Request, extras: &Extras) -> Result<reqwest::Request, String> {
    let url = reqwest::Url::parse(request.url.as_str()).map_err(|e| e.to_string())?;
    let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes())
        .map_err(|e| e.to_string())?;
    let mut out = reqwest::Request::new(method, url);
    let headers = out.headers_mut();
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("{name}: {e}"))?;
        // As bytes: UTF-8 beyond ASCII (a `Last-Event-ID` of `…`) is
        // obs-text on the wire, which `from_str` refuses.
        let value =
            HeaderValue::from_bytes(value.as_bytes()).map_err(|e| format!("{name}: {e}"))?;
        headers.append(name, value);
    }
    *out.body_mut() = request.body.clone().map(reqwest::Body::from);
    *out.timeout_mut() = extras.timeout;
    if let Some(version) = extras.version {
        *out.version_mut() = version;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sse_core::client::{Action, Client};
    use sse_core::Instant;

    /// A client that can be built whatever TLS features are unified in:
    /// with `rustls-no-provider` (this workspace) a provider must be set.
    fn client() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder().build().unwrap()
    }

    fn first_request(config: Config) -> Request {
        let url = Url::parse("http://example.test/s?q=1").unwrap();
        let mut client = Client::new(url, config, Instant::ZERO);
        match client.poll_action() {
            Some(Action::Connect(request)) => request,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_machines_request_is_sent_as_is() {
        let mut config = Config::default();
        config.method = Method::Post;
        config
            .headers
            .push(("Authorization".into(), "Bearer k".into()));
        config.body = Some(Bytes::from_static(b"{\"q\":1}"));
        config.last_event_id = "7…".into();
        let out = to_reqwest(&first_request(config), &Extras::default()).unwrap();
        assert_eq!(out.method(), reqwest::Method::POST);
        assert_eq!(out.url().as_str(), "http://example.test/s?q=1");
        let h = out.headers();
        assert_eq!(h["accept"], "text/event-stream");
        assert_eq!(h["cache-control"], "no-cache");
        assert_eq!(h["last-event-id"].as_bytes(), "7…".as_bytes());
        assert_eq!(h["authorization"], "Bearer k");
        let body = out.body().and_then(|b| b.as_bytes()).unwrap();
        assert_eq!(body, b"{\"q\":1}");
    }

    #[test]
    fn a_users_request_becomes_the_config() {
        let client = client();
        let request = client
            .post("http://api.test/v1/chat")
            .bearer_auth("k")
            .header("Content-Type", "application/json")
            .body("{}")
            .timeout(Duration::from_secs(9))
            .build()
            .unwrap();
        let (url, config, extras) = from_reqwest(request, Config::default()).unwrap();
        assert_eq!(url.as_str(), "http://api.test/v1/chat");
        assert_eq!(config.method, Method::Post);
        assert_eq!(config.body.as_deref(), Some(&b"{}"[..]));
        assert!(config
            .headers
            .contains(&("authorization".into(), "Bearer k".into())));
        assert_eq!(extras.timeout, Some(Duration::from_secs(9)));
        assert!(!config.reconnects(), "a POST is one-shot by default");
    }

    #[test]
    fn a_streaming_body_is_refused() {
        let client = client();
        let stream = futures_lite::stream::iter([Ok::<_, std::io::Error>(Bytes::from("x"))]);
        let request = client
            .post("http://api.test/")
            .body(reqwest::Body::wrap_stream(stream))
            .build()
            .unwrap();
        assert!(matches!(
            from_reqwest(request, Config::default()),
            Err(BuildError::StreamingBody)
        ));
    }

    #[test]
    fn bad_headers_are_refused_early() {
        let mut config = Config::default();
        config.headers.push(("X-Bad".into(), "a\nb".into()));
        assert!(
            matches!(check_headers(&config), Err(BuildError::Header { name }) if name == "X-Bad")
        );
    }
}
