//! Arbitrary bytes as one scap event: check it, call every accessor, render it in every
//! buffer format and decode it into the typed view.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lanner_fuzz::read_event(data));
