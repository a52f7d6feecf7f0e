//! Writes a large synthetic capture for benchmarks: `N` events made by replaying the events of
//! three real captures of `testdata/scap` (`sample.scap`, `cat_write.scap`,
//! `curl_google_comments.scap`) round after round, with timestamps that run forward and the
//! tables of all three, so that sysdig and lanner read it like any recorded capture. The mix and
//! every change made to the recordings are described in `examples/synth/mod.rs`.
//!
//! ```sh
//! cargo run --release -p lanner-scap --example synth_capture -- OUT.scap N [--gzip]
//! ```
//!
//! `--gzip` compresses the capture as lanner's `Writer` does (gzip at flate2's fast level; libscap
//! writes its default level, which inflates at much the same speed). The capture is version 1.2
//! with `EV_V2` event blocks, which Debian's sysdig 0.29.3 and current libs open.
//! Only event types that sysdig 0.29.3 knows are included, so both tools handle every event.

use std::process::ExitCode;

use lanner_scap::{Compression, Writer};

mod synth;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let gzip = args.iter().any(|a| a == "--gzip");
    let positional: Vec<&String> = args.iter().filter(|a| *a != "--gzip").collect();
    let (out, n) = match positional.as_slice() {
        [out, n] => match n.replace('_', "").parse::<u64>() {
            Ok(n) => (out.as_str(), n),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    match run(out, n, gzip) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synth_capture: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: synth_capture OUT.scap N [--gzip]");
    ExitCode::from(2)
}

fn run(out: &str, n: u64, gzip: bool) -> synth::Result<()> {
    let mix = synth::Mix::from_fixtures()?;
    let compression = if gzip { Compression::Gzip } else { Compression::None };
    let mut writer = Writer::create(out, mix.tables(), compression)?;
    mix.write(&mut writer, n)?;
    let events = writer.events();
    writer.finish()?;
    let size = std::fs::metadata(out)?.len();
    eprintln!(
        "synth_capture: wrote {out}: {events} events ({} rounds of {}), {} threads in the tables, \
         {size} bytes{}",
        events.div_ceil(mix.round_len() as u64),
        mix.round_len(),
        mix.tables().threads.len(),
        if gzip { " (gzip)" } else { "" },
    );
    Ok(())
}
