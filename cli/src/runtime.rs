//! The runtime the `sse` command runs on: smol's reactor and timer.
//!
//! `listen` and `serve` are written against the runtime-neutral
//! `sse-futures` drivers; this file picks the executor, the timer and the
//! connector they get.

use std::future::Future;
use std::net::{TcpStream, ToSocketAddrs};

use async_io::{Async, Timer as IoTimer};
use sse_core::client::{Config, TransportError};
use sse_core::url::Url;
use sse_core::Instant;
use sse_futures::{BoxFuture, ConnectError, Connector, EventSource, Timer};

/// Runs a future to completion on this thread.
pub fn block_on<T>(f: impl Future<Output = T>) -> T {
    async_io::block_on(f)
}

/// Real time since the process started.
pub struct Clock(std::time::Instant);

impl Timer for Clock {
    fn now(&self) -> Instant {
        Instant::from_duration(self.0.elapsed())
    }
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        let at = self.0 + deadline.as_duration();
        Box::pin(async move {
            IoTimer::at(at).await;
        })
    }
}

/// Plain TCP connections (TLS comes with the smol adapter).
pub struct Tcp;

impl Connector for Tcp {
    type Io = Async<TcpStream>;
    fn connect(&self, url: &Url) -> BoxFuture<Result<Self::Io, ConnectError>> {
        let host = url.host_unbracketed().to_string();
        let port = url.port();
        let tls = url.is_tls();
        Box::pin(async move {
            if tls {
                return Err(ConnectError::new(
                    TransportError::Tls,
                    std::io::Error::other("https is not supported yet"),
                ));
            }
            let addrs: Vec<_> = (host.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| ConnectError::new(TransportError::Dns, e))?
                .collect();
            let mut last = std::io::Error::other("no address");
            for addr in addrs {
                match Async::<TcpStream>::connect(addr).await {
                    Ok(s) => return Ok(s),
                    Err(e) => last = e,
                }
            }
            Err(last.into())
        })
    }
}

/// An `EventSource` for the `listen` command.
pub fn event_source(
    url: &str,
    config: Config,
    _insecure: bool,
) -> Result<EventSource<Tcp, Clock>, String> {
    EventSource::with_parts(url, config, Tcp, Clock(std::time::Instant::now()))
        .map_err(|e| e.to_string())
}
