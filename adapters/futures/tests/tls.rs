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
use sse_core::proxy::{Proxies, Proxy};
use sse_core::url::Url;
use sse_futures::tls::{connect, ClientTls, MaybeTls};

/// A resolver that answers `result` whatever it is asked.
fn resolving(
    result: io::Result<Vec<SocketAddr>>,
) -> impl FnOnce(String, u16) -> future::Ready<io::Result<Vec<SocketAddr>>> {
    move |_, _| future::ready(result)
}

/// Connects to `url` by its route in `proxies`, resolving with `resolve`,
/// TCP on async-io, Mozilla's roots.
fn dial<R, F>(
    url: &Url,
    proxies: &Proxies,
    resolve: R,
) -> Result<MaybeTls<Async<std::net::TcpStream>>, sse_futures::ConnectError>
where
    R: FnOnce(String, u16) -> F,
    F: std::future::Future<Output = io::Result<Vec<SocketAddr>>>,
{
    let tcp = |addr: SocketAddr| Async::<std::net::TcpStream>::connect(addr);
    future::block_on(connect(url, &ClientTls::default(), proxies, resolve, tcp))
}

/// A server on 127.0.0.1 that writes `answer` to its first connection.
fn answering(answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(answer);
        }
    });
    addr
}

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
    let url = Url::parse("https://example.invalid/").unwrap();
    let direct = Proxies::none();
    let run = |url: &Url, answer| dial(url, &direct, resolving(answer));

    let no_dns = Err(io::Error::other("no such host"));
    assert_eq!(kind(run(&url, no_dns)), TransportError::Dns);
    assert_eq!(kind(run(&url, Ok(Vec::new()))), TransportError::Dns);

    // A port nobody listens on.
    let (_refusing, closed) = refusing_port();
    assert_eq!(kind(run(&url, Ok(vec![closed]))), TransportError::Refused);

    // Something that is not a TLS server: the handshake fails.
    let found = Ok(vec![answering(b"HTTP/1.1 400 Bad Request\r\n\r\n")]);
    assert_eq!(kind(run(&url, found)), TransportError::Tls);

    // Plain http stays plain.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let plain = Url::parse("http://example.invalid/").unwrap();
    let io = run(&plain, Ok(vec![listener.local_addr().unwrap()])).unwrap();
    assert!(matches!(io, MaybeTls::Plain(_)));
}

#[test]
fn proxies_are_dialled_and_their_refusals_classified() {
    let url = Url::parse("https://example.invalid/").unwrap();
    let proxies = Proxies::all(Proxy::parse("http://proxy.invalid:3128").unwrap());
    let run = |answer| dial(&url, &proxies, resolving(Ok(vec![answering(answer)])));

    // The proxy's name is resolved, not the server's.
    let asked = std::sync::Mutex::new(None);
    let addr = answering(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
    let resolve = |host: String, port| {
        *asked.lock().unwrap() = Some((host, port));
        future::ready(Ok(vec![addr]))
    };
    assert_eq!(kind(dial(&url, &proxies, resolve)), TransportError::Refused);
    assert_eq!(
        *asked.lock().unwrap(),
        Some(("proxy.invalid".to_owned(), 3128))
    );

    assert_eq!(
        kind(run(b"SSH-2.0-OpenSSH\r\n\r\n")),
        TransportError::Protocol
    );
    assert_eq!(
        kind(run(b"HTTP/1.1 200 OK\r\n\r\nhello")),
        TransportError::Protocol
    );
    // A tunnel that opens, to something that is not a TLS server.
    let open = run(b"HTTP/1.1 200 Connection established\r\n\r\n");
    assert_eq!(kind(open), TransportError::Tls);
}
