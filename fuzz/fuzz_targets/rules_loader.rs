//! Arbitrary bytes as one or two rules files: load, compile, render every diagnostic. See
//! `lanner_fuzz::load_rules` for the properties checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lanner_fuzz::load_rules(data));
