//! Parse fixtures through an adapter's whole client path: each fixture's
//! body is served over loopback as a `200 text/event-stream` response —
//! whole and in writes of 1 byte until the close, and as a chunked body in
//! chunks of 7 bytes — and the messages the adapter's
//! `EventSource` dispatches, its last event ID and its reconnection time
//! (when the body sets one) must be the fixture's.

use crate::client::{ClientUnderTest, Expect, Framing, Head, Scenario, ScenarioConfig, ServerStep};
use crate::parse::{Case, ParserUnderTest};

use super::client::{LoopbackClient, MakeDriver};

/// An adapter's client as a [`ParserUnderTest`].
pub struct LoopbackParser {
    name: &'static str,
    make: MakeDriver,
}

impl LoopbackParser {
    /// Checks the driver `make` builds; `name` labels reports.
    pub fn new(name: &'static str, make: MakeDriver) -> Self {
        LoopbackParser { name, make }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ParserUnderTest for LoopbackParser {
    fn name(&self) -> String {
        self.name.into()
    }

    fn check(&mut self, case: &Case) -> Result<(), String> {
        let body = case.body()?;
        let expected = case.expected();
        for size in [body.len().max(1), 1, 7] {
            // The 7-byte pieces go as chunks of a chunked body, as most
            // servers stream; the others until the close.
            let mut steps = vec![ServerStep::Head(Head {
                status: 200,
                headers: vec![("Content-Type".into(), "text/event-stream".into())],
                framing: (size == 7).then_some(Framing::Chunked),
                body: None,
            })];
            steps.extend(body.chunks(size).map(|c| ServerStep::BodyHex(hex(c))));
            steps.push(ServerStep::Eof);
            let scenario = Scenario {
                name: case.name.clone(),
                description: String::new(),
                refs: Vec::new(),
                ours: None,
                url: "http://example.test/parse".into(),
                config: ScenarioConfig::default(),
                server: vec![steps],
                user: Vec::new(),
                run_until_ms: 0,
                expect: Expect {
                    requests: Vec::new(),
                    notifications: Vec::new(),
                    disconnects_ms: None,
                    final_state: String::new(),
                },
            };
            let observed = LoopbackClient::new(self.make).run(&scenario)?;
            let got: Vec<(String, String, String)> = observed
                .notifications
                .iter()
                .filter_map(|n| n.message.as_ref())
                .map(|(t, d, id, _)| (t.clone(), d.clone(), id.clone()))
                .collect();
            let want: Vec<(String, String, String)> = expected
                .events
                .iter()
                .map(|e| (e.event_type.clone(), e.data.clone(), e.id.clone()))
                .collect();
            let how = format!("writes of {size} bytes");
            if got != want {
                return Err(format!(
                    "{how}: events\n  expected {want:?}\n  got      {got:?}"
                ));
            }
            if observed.last_event_id != expected.last_event_id {
                return Err(format!(
                    "{how}: last event ID {:?}, expected {:?}",
                    observed.last_event_id, expected.last_event_id
                ));
            }
            if let Some(retry) = expected.retry {
                if observed.reconnection_ms != retry {
                    return Err(format!(
                        "{how}: reconnection time {} ms, expected {retry} ms",
                        observed.reconnection_ms
                    ));
                }
            }
        }
        Ok(())
    }
}
