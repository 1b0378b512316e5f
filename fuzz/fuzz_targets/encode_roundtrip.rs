//! The encoder on arbitrary events: either a typed error that wrote nothing,
//! or bytes that parse back to the same event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_core::encode::{self, Message};
use sse_core::parse::parse_all;

fuzz_target!(
    |input: (String, Option<String>, Option<String>, Option<u64>)| {
        let (data, id, event, retry) = input;
        let msg = Message {
            id: id.as_deref(),
            event: event.as_deref(),
            data: &data,
            retry,
        };
        let mut out = Vec::new();
        if encode::message(&mut out, &msg).is_err() {
            assert!(out.is_empty());
            return;
        }
        assert_eq!(out.len(), msg.encoded_len());
        let events = parse_all(&out);
        assert_eq!(events.len(), 1);
        let got = events[0].as_ref().expect("within default limits");
        assert_eq!(
            got.data(),
            data.replace("\r\n", "\n").replace('\r', "\n").as_str()
        );
        assert_eq!(got.id(), id.as_deref().unwrap_or(""));
        assert_eq!(
            got.event_type(),
            event
                .as_deref()
                .filter(|e| !e.is_empty())
                .unwrap_or("message")
        );
    }
);
