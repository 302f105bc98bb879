//! Any bytes into the inbound ActivityStreams parser (`sluice_fuzzing::parse_document`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzzing::parse_document(data));
