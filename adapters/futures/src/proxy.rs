//! The `CONNECT` tunnel over any byte stream, for the runtime adapters'
//! connectors. Which URLs go through which proxy, and what the tunnel's
//! request and answer are, is `sse_core::proxy`'s decision; this only moves
//! the bytes.

use std::io;

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use sse_core::proxy::{Proxy, Tunnel, TunnelError, TunnelStatus};
use sse_core::url::Url;

use crate::runtime::ConnectError;

/// Opens a tunnel to `target`'s host and port through `proxy` over
/// `stream` (already connected to the proxy). On success the stream
/// carries the server's bytes (TLS comes next); on failure the error's
/// kind is [`TunnelError::transport_error`].
pub async fn tunnel<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    target: &Url,
    proxy: &Proxy,
) -> Result<(), ConnectError> {
    let fail = |e: TunnelError| {
        let kind = e.transport_error();
        ConnectError::new(kind, io::Error::new(io::ErrorKind::ConnectionAborted, e))
    };
    let mut request = Vec::new();
    let mut tunnel = Tunnel::start(target, proxy, &mut request).map_err(fail)?;
    stream.write_all(&request).await?;
    stream.flush().await?;
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        match tunnel.handle_bytes(&buf[..n]).map_err(fail)? {
            TunnelStatus::Partial => {}
            TunnelStatus::Open => return Ok(()),
        }
    }
}
