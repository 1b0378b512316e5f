//! The implementations `sse conformance` can check: the core in-process, and
//! each adapter over loopback sockets (see `sse_conformance::loopback`).

use sse_conformance::client::{ClientUnderTest, CoreClient};
use sse_conformance::loopback::client::{
    async_std_driver, blocking_driver, smol_driver, tokio_driver, LoopbackClient, MakeDriver,
};
use sse_conformance::loopback::parse::LoopbackParser;
use sse_conformance::loopback::reqwest as reqwest_loop;
use sse_conformance::parse::{CoreParser, ParserUnderTest};

/// An implementation under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Adapter {
    /// `sse-core`, in-process on a fake clock.
    Core,
    /// `sse-async-std`: the futures driver on async-std sockets.
    AsyncStd,
    /// `sse-smol`: the futures driver on smol sockets.
    Smol,
    /// `sse-blocking`: std::net and threads.
    Blocking,
    /// `sse-tokio`: the futures driver on tokio sockets; hyper serving.
    Tokio,
    /// `sse-reqwest`: the client over a reqwest::Client on tokio (a client
    /// only: no server suite).
    Reqwest,
}

impl Adapter {
    /// Every implementation, in table order.
    pub const ALL: [Adapter; 6] = [
        Adapter::Core,
        Adapter::AsyncStd,
        Adapter::Smol,
        Adapter::Blocking,
        Adapter::Tokio,
        Adapter::Reqwest,
    ];

    /// The name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Adapter::Core => "core",
            Adapter::AsyncStd => "async-std",
            Adapter::Smol => "smol",
            Adapter::Blocking => "blocking",
            Adapter::Tokio => "tokio",
            Adapter::Reqwest => "reqwest",
        }
    }

    /// Whether it has a server to check.
    pub fn has_server(self) -> bool {
        self != Adapter::Reqwest
    }

    fn driver(self) -> Option<MakeDriver> {
        match self {
            Adapter::Core => None,
            Adapter::AsyncStd => Some(async_std_driver),
            Adapter::Smol => Some(smol_driver),
            // On its own thread, blocking in virtual time, as applications
            // run it (`poll_next` with zero waits is covered by
            // conformance/tests).
            Adapter::Blocking => Some(blocking_driver),
            Adapter::Tokio => Some(tokio_driver),
            Adapter::Reqwest => Some(reqwest_loop::reqwest_driver),
        }
    }

    /// Its client, for the client scenarios.
    pub fn client(self) -> Box<dyn ClientUnderTest> {
        match self.driver() {
            None => Box::new(CoreClient),
            Some(make) if self == Adapter::Reqwest => {
                Box::new(LoopbackClient::new(make).skipping(reqwest_loop::skip))
            }
            Some(make) => Box::new(LoopbackClient::new(make)),
        }
    }

    /// Its parser: the core's, or the adapter's whole client path.
    pub fn parser(self) -> Box<dyn ParserUnderTest> {
        match self.driver() {
            None => Box::new(CoreParser),
            Some(make) => Box::new(LoopbackParser::new(self.name(), make)),
        }
    }
}
