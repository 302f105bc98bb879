//! Any bytes as a media upload: sniffing and metadata stripping
//! (`sluice_fuzzing::media_sniff`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzzing::media_sniff(data));
