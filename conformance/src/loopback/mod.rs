//! The fixtures against the adapters, over real loopback sockets.
//!
//! [`client`] plays every client scenario against an adapter's
//! `EventSource` (the futures driver that async-std and smol instantiate,
//! and the blocking one) with a scripted HTTP server on 127.0.0.1 and a
//! [`clock::VirtualClock`], so that a run is exact and takes milliseconds
//! although the scenarios span minutes. [`wire`] holds the sockets.

pub mod client;
pub mod clock;
pub mod parse;
pub mod reqwest;
pub mod server;
pub mod wire;
