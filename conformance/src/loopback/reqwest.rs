//! `sse-reqwest`'s `EventSource` over loopback: the same scripted server
//! and virtual clock as the other adapters, reached through a real
//! `reqwest::Client` on a tokio runtime.
//!
//! A reqwest client opens its own sockets, so the runner cannot hand it a
//! connector. Instead the runner is the client's HTTP proxy (every request
//! comes to it in the absolute form, whatever the URL's host and port, as
//! the other drivers' connector sends every URL to it), and the client's
//! [`Fetch`] is a pass-through that counts what the client took at the
//! HTTP level: the response head, the body bytes after decoding, the end,
//! and when it let go of a request or a body ([`Stats::http`]). The timer
//! is the runner's virtual clock, injected like any `sse_futures::Timer`;
//! reqwest itself arms no timer (no timeouts are set), so every scenario
//! runs in virtual time.
//!
//! What it cannot run is skipped with the reason ([`skip`]): a request to
//! an `https://` URL, which reqwest sends through the proxy as a `CONNECT`
//! tunnel with TLS inside, and the runner does not play TLS.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use sse_core::client::{Client, Config};
use sse_reqwest::reqwest;
use sse_reqwest::{EventSource, Fetch, FetchError};

use super::client::{AsyncEventSource, Driver, FuturesDriver};
use super::clock::VirtualClock;
use super::wire::{LoopConnector, Stats};
use crate::client::{Scenario, ServerStep};

impl<T: sse_reqwest::Timer, F: Fetch> AsyncEventSource for EventSource<T, F> {
    fn close(&mut self) {
        EventSource::close(self);
    }
    fn reopen(&mut self) {
        EventSource::reopen(self);
    }
    fn set_last_event_id(&mut self, id: String) {
        EventSource::set_last_event_id(self, id);
    }
    fn client(&self) -> &Client {
        EventSource::client(self)
    }
}

/// The tokio runtime every reqwest driver of this process runs in.
fn runtime() -> Result<tokio::runtime::Handle, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("sse-conformance-reqwest")
                .enable_all()
                .build()
                .map_err(|e| format!("tokio runtime: {e}"))
        })
        .as_ref()
        .map(|rt| rt.handle().clone())
        .map_err(Clone::clone)
}

/// `sse-reqwest`'s `EventSource` on a reqwest client whose proxy is the
/// runner, counting at the HTTP level, on the virtual clock.
pub fn reqwest_driver(
    url: &str,
    config: Config,
    connector: LoopConnector,
    clock: VirtualClock,
) -> Result<Box<dyn Driver>, String> {
    reqwest_driver_on(url, config, connector, clock)
}

/// [`reqwest_driver`] on any timer (the runner's checks give it a broken
/// one: time must really come from the timer injected).
pub fn reqwest_driver_on<T: sse_futures::Timer>(
    url: &str,
    config: Config,
    connector: LoopConnector,
    timer: T,
) -> Result<Box<dyn Driver>, String> {
    let tokio = runtime()?;
    // This workspace may build reqwest's rustls without a crypto provider
    // (its tests do); reqwest wants one set before it builds a client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let proxy =
        reqwest::Proxy::all(format!("http://{}", connector.addr())).map_err(|e| e.to_string())?;
    let client = sse_reqwest::client_builder()
        .proxy(proxy)
        // One connection per request, as the script expects.
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| e.to_string())?;
    let fetch = CountingFetch { client, connector };
    let es = EventSource::with_parts(fetch, url, config, timer).map_err(|e| e.to_string())?;
    Ok(Box::new(FuturesDriver::on_tokio(es, tokio)))
}

/// Why the reqwest driver cannot play `scenario`, if it cannot.
pub fn skip(scenario: &Scenario) -> Option<String> {
    let https = |url: &str| {
        url.get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    };
    let location_https = scenario.server.iter().flatten().any(|step| match step {
        ServerStep::Head(head) => head
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("location") && https(v)),
        _ => false,
    });
    let requests_https = scenario
        .expect
        .requests
        .iter()
        .any(|r| r.url.as_deref().is_some_and(https));
    (https(&scenario.url) || location_https || requests_https).then(|| {
        "a request to an https:// URL: reqwest tunnels it through its proxy \
         (the runner) with CONNECT and speaks TLS inside, and the runner does \
         not play TLS"
            .into()
    })
}

/// A reqwest client that reports to the runner what it took.
struct CountingFetch {
    client: reqwest::Client,
    connector: LoopConnector,
}

impl Fetch for CountingFetch {
    fn fetch(
        &self,
        request: reqwest::Request,
    ) -> sse_futures::BoxFuture<Result<reqwest::Response, FetchError>> {
        // The first poll (this poll) opens the connection to the runner.
        let stats = self.connector.expect(request.url().as_str());
        let held = Held(Arc::clone(&stats));
        let pending = self.client.execute(request);
        Box::pin(async move {
            match pending.await {
                Ok(response) => {
                    stats.head.store(true, Ordering::SeqCst);
                    Ok(counted(response, held))
                }
                Err(e) => {
                    stats.ended.store(true, Ordering::SeqCst);
                    Err(e.into())
                }
            }
        })
    }
}

/// Marks the request dropped when the client lets go of it (the request
/// future, then its body).
struct Held(Arc<Stats>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dropped.store(true, Ordering::SeqCst);
    }
}

/// `response` with its body counted; URL, status and headers kept.
fn counted(response: reqwest::Response, held: Held) -> reqwest::Response {
    use reqwest::ResponseBuilderExt;
    let url = response.url().clone();
    let (mut parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    if let Ok(marker) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(marker.into_parts().0.extensions);
    }
    let body = reqwest::Body::wrap(Counted { body, held });
    reqwest::Response::from(http::Response::from_parts(parts, body))
}

/// A response body that counts the data the client took and its end.
struct Counted {
    body: reqwest::Body,
    held: Held,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, reqwest::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        let stats = &this.held.0;
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                let n = frame.data_ref().map_or(0, Bytes::len);
                stats.read.fetch_add(n as u64, Ordering::SeqCst);
            }
            Poll::Ready(_) => stats.ended.store(true, Ordering::SeqCst),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let end = self.body.is_end_stream();
        if end {
            self.held.0.ended.store(true, Ordering::SeqCst);
        }
        end
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
