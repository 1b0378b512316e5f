//! The async-std adapter over loopback: the suite every runtime adapter shares
//! (`adapters/futures/tests/suite/runtime.rs`), on async-std.

/// What the shared suite needs from the runtime.
mod rt {
    pub use async_std::net::TcpStream;
    pub use sse_async_std as adapter;
    use std::future::Future;
    use std::time::Duration;

    /// Runs `f` to completion on this runtime.
    pub fn block_on<T>(f: impl Future<Output = T>) -> T {
        async_std::task::block_on(f)
    }

    /// This runtime's timer.
    pub async fn sleep(d: Duration) {
        async_std::task::sleep(d).await;
    }
}

#[path = "../../futures/tests/suite/runtime.rs"]
mod suite;
