//! The smol adapter over loopback: the suite every runtime adapter shares
//! (`adapters/futures/tests/suite/runtime.rs`), on smol.

/// What the shared suite needs from the runtime.
mod rt {
    pub use smol::net::TcpStream;
    pub use sse_smol as adapter;
    use std::future::Future;
    use std::time::Duration;

    /// Runs `f` to completion on this runtime.
    pub fn block_on<T>(f: impl Future<Output = T>) -> T {
        smol::block_on(f)
    }

    /// This runtime's timer.
    pub async fn sleep(d: Duration) {
        smol::Timer::after(d).await;
    }
}

#[path = "../../futures/tests/suite/runtime.rs"]
mod suite;
