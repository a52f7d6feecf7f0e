//! Arbitrary bytes as a capture file: read every block and event to the end, render every
//! event. See `lanner_fuzz::read_capture` for the properties checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lanner_fuzz::read_capture(data));
