//! A port that refuses connections, for the tests of connect failures.

/// A port on 127.0.0.1 that refuses connections for as long as the socket
/// is kept: bound, never listening (a port bound and freed at once could be
/// taken meanwhile by a listener of a test running in parallel).
pub fn refusing_port() -> (socket2::Socket, std::net::SocketAddr) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    (socket, addr)
}
