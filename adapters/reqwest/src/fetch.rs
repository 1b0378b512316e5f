//! What sends the requests: a [`reqwest::Client`], or anything that wraps
//! one ([`Fetch`]), and how its errors reach the client machine.

use std::error::Error;
use std::io;

use sse_core::client::TransportError;
use sse_futures::BoxFuture;

/// Why a [`Fetch`] produced no response: any error, usually a
/// [`reqwest::Error`].
pub type FetchError = Box<dyn Error + Send + Sync + 'static>;

/// Sends one request and resolves to its response head (the body is read
/// later from [`reqwest::Response::bytes_stream`]).
///
/// [`reqwest::Client`] implements it; implement it for a middleware stack
/// (retries, tracing, auth refresh) or an instrumented client. It must not
/// follow redirects itself if the [`EventSource`](crate::EventSource) is
/// to apply the core's redirect rules (see the crate docs).
pub trait Fetch: Send + Sync + 'static {
    /// Sends `request`. Dropping the future cancels it.
    fn fetch(&self, request: reqwest::Request) -> BoxFuture<Result<reqwest::Response, FetchError>>;
}

impl Fetch for reqwest::Client {
    fn fetch(&self, request: reqwest::Request) -> BoxFuture<Result<reqwest::Response, FetchError>> {
        let pending = self.execute(request);
        Box::pin(async move { pending.await.map_err(FetchError::from) })
    }
}

/// The class of failure the client machine is told about, from an error of
/// reqwest (or of a [`Fetch`] that wraps it): name resolution, a refused
/// or failed connect, TLS, or a broken connection.
pub fn transport_error(error: &(dyn Error + 'static)) -> TransportError {
    let mut connect = false;
    let mut dns = false;
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            connect |= r.is_connect();
            dns |= r.is_dns();
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return match TransportError::from(innermost(io)) {
                // While connecting, undecodable bytes are a TLS handshake
                // that failed (rustls reports it as invalid data).
                TransportError::Protocol if connect => TransportError::Tls,
                TransportError::Other if dns => TransportError::Dns,
                TransportError::Other if connect => TransportError::Refused,
                kind => kind,
            };
        }
        cause = e.source();
    }
    if dns {
        TransportError::Dns
    } else if connect {
        TransportError::Refused
    } else {
        // hyper's "connection closed before message completed" and
        // "incomplete body" carry no I/O error.
        TransportError::Reset
    }
}

/// The deepest I/O error an I/O error wraps (hyper-util wraps rustls'
/// `InvalidData` in an `Other`, whose `source` skips the inner one).
fn innermost(mut io: &io::Error) -> &io::Error {
    while let Some(inner) = io.get_ref().and_then(|e| e.downcast_ref::<io::Error>()) {
        io = inner;
    }
    io
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(io::Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn io_errors_anywhere_in_the_chain_decide() {
        let e = Wrapper(io::ErrorKind::ConnectionReset.into());
        assert_eq!(transport_error(&e), TransportError::Reset);
        let e = Wrapper(io::ErrorKind::ConnectionRefused.into());
        assert_eq!(transport_error(&e), TransportError::Refused);
        let e = io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(transport_error(&e), TransportError::Reset);
    }

    #[test]
    fn wrapped_io_errors_are_unwrapped() {
        let inner = io::Error::new(io::ErrorKind::ConnectionReset, "inner");
        let e = io::Error::other(inner);
        assert_eq!(transport_error(&e), TransportError::Reset);
    }

    #[test]
    fn errors_without_io_cause_are_a_broken_connection() {
        let e: FetchError = "closed before message completed".into();
        assert_eq!(transport_error(&*e), TransportError::Reset);
    }
}
