//! The shared connect sequence: each failure reaches the client machine
//! with the right class.
#![cfg(feature = "tls")]

#[path = "suite/refusing.rs"]
mod refusing;
use refusing::refusing_port;
use std::io;
use std::net::{SocketAddr, TcpListener};

use async_io::Async;
use futures_lite::future;
use sse_core::client::TransportError;
use sse_core::url::Url;
use sse_futures::tls::{connect, ClientTls, MaybeTls};

fn kind(
    result: Result<MaybeTls<Async<std::net::TcpStream>>, sse_futures::ConnectError>,
) -> TransportError {
    match result {
        Ok(_) => panic!("connected"),
        Err(e) => e.kind,
    }
}

#[test]
fn failures_are_classified() {
    let tls = ClientTls::default();
    let url = Url::parse("https://example.invalid/").unwrap();
    let tcp = |addr: SocketAddr| Async::<std::net::TcpStream>::connect(addr);

    let no_dns = async { Err(io::Error::other("no such host")) };
    assert_eq!(
        kind(future::block_on(connect(&url, &tls, no_dns, tcp))),
        TransportError::Dns
    );
    let nothing = async { Ok(Vec::new()) };
    assert_eq!(
        kind(future::block_on(connect(&url, &tls, nothing, tcp))),
        TransportError::Dns
    );

    // A port nobody listens on.
    let (_refusing, closed) = refusing_port();
    let refused = async move { Ok(vec![closed]) };
    assert_eq!(
        kind(future::block_on(connect(&url, &tls, refused, tcp))),
        TransportError::Refused
    );

    // Something that is not a TLS server: the handshake fails.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let found = async move { Ok(vec![addr]) };
    assert_eq!(
        kind(future::block_on(connect(&url, &tls, found, tcp))),
        TransportError::Tls
    );

    // Plain http stays plain.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let plain = Url::parse("http://example.invalid/").unwrap();
    let found = async move { Ok(vec![addr]) };
    let io = future::block_on(connect(&plain, &tls, found, tcp)).unwrap();
    assert!(matches!(io, MaybeTls::Plain(_)));
}
