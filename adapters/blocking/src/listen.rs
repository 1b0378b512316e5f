//! The listener: an accept thread, a thread per connection, graceful
//! shutdown.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::client::timed_out;
use crate::clock::SystemClock;
use crate::hub::Hub;
use crate::server::{serve_connection, Service};
use crate::transport::Transport;

/// A running [`serve`]: its address, its live connections, its shutdown.
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    live: Arc<AtomicUsize>,
    accept: Option<JoinHandle<()>>,
    hub: Hub,
}

impl ServerHandle {
    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connection threads are running.
    pub fn connections(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Stops accepting, ends every connection and waits for all threads.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.hub.wake_all();
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Serves `service` on `listener`: a thread accepts, a thread per
/// connection streams. `tls` wraps each connection in rustls.
pub fn serve(
    listener: TcpListener,
    service: Service,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let stop = Arc::new(AtomicBool::new(false));
    let live = Arc::new(AtomicUsize::new(0));
    let hub = service.hub.clone();
    let (stop2, live2) = (Arc::clone(&stop), Arc::clone(&live));
    let accept = thread::Builder::new()
        .name("sse-accept".into())
        .spawn(move || {
            let mut workers: Vec<JoinHandle<()>> = Vec::new();
            while !stop2.load(Ordering::Acquire) {
                workers.retain(|w| !w.is_finished());
                let tcp = match listener.accept() {
                    Ok((tcp, _)) => tcp,
                    Err(e) if timed_out(&e) => {
                        thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    Err(e) => {
                        log::warn!("accept failed: {e}");
                        thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                };
                let _ = tcp.set_nonblocking(false);
                let _ = tcp.set_nodelay(true);
                let (service, stop, live, tls) = (
                    service.clone(),
                    Arc::clone(&stop2),
                    Arc::clone(&live2),
                    tls.clone(),
                );
                live.fetch_add(1, Ordering::AcqRel);
                let counted = Arc::clone(&live);
                let worker = thread::Builder::new().spawn(move || {
                    let io: Option<Box<dyn Transport>> = match tls {
                        None => Some(Box::new(tcp)),
                        Some(config) => rustls::ServerConnection::new(config).ok().map(|c| {
                            Box::new(rustls::StreamOwned::new(c, tcp)) as Box<dyn Transport>
                        }),
                    };
                    if let Some(io) = io {
                        serve_connection(io, &service, &SystemClock::default(), &stop);
                    }
                    live.fetch_sub(1, Ordering::AcqRel);
                });
                match worker {
                    Ok(worker) => workers.push(worker),
                    Err(e) => {
                        // The connection (moved into the closure) is closed.
                        log::warn!("no thread for a connection: {e}");
                        counted.fetch_sub(1, Ordering::AcqRel);
                    }
                }
            }
            // Each sees the stop flag within 100 ms (see `server`).
            for worker in workers {
                let _ = worker.join();
            }
        })?;
    Ok(ServerHandle {
        addr,
        stop,
        live,
        accept: Some(accept),
        hub,
    })
}
