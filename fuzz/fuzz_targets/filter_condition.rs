//! Arbitrary bytes as a filter condition: parse, print and parse again, compile against the
//! field registry, evaluate on a small real capture.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lanner_fuzz::compile_condition(data));
