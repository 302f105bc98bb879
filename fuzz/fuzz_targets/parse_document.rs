//! Any bytes into the inbound ActivityStreams parser: never a panic, and whatever parses
//! has a type (and a non-empty id when it has one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_federation::document;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = document::parse(data) {
        assert!(!d.kind().is_empty());
        assert!(d.id().is_none_or(|id| !id.is_empty()));
        let _ = (d.actor_id(), d.object_id(), d.audience());
    }
});
