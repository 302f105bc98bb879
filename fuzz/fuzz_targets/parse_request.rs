//! Arbitrary headers and bodies into signature verification
//! (`sluice_fuzzing::parse_request`, which describes the input layout).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzzing::parse_request(data));
