//! The server protocol (placeholder while the client side is built).
