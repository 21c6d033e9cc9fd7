#![no_main]
//! A partner-b@1 feed body through ingest's parser, validate and transform.

libfuzzer_sys::fuzz_target!(|data: &[u8]| zb_fuzz::feed("partner-b@1", data));
