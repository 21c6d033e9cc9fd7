#![no_main]
//! A partner-a@1 feed body through ingest's parser, validate and transform.

libfuzzer_sys::fuzz_target!(|data: &[u8]| zb_fuzz::feed("partner-a@1", data));
