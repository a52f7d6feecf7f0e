//! Loads the probe with every syscall, runs for a moment and prints what it saw:
//! `cargo run -p lanner-capture --example probe_dump [fexit|tp_btf|tracepoints|auto] [SECONDS]`.

use lanner_capture::{AttachMode, Probe, ProbeOptions, syscalls};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().as_deref().and_then(AttachMode::from_name);
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let options = ProbeOptions {
        syscalls: syscalls::SYSCALLS.iter().collect(),
        mode,
        ..ProbeOptions::default()
    };
    let mut probe = Probe::open(&options)?;
    let choice = probe.choice();
    println!("mode {} ({}) attached {}", choice.mode.name(), choice.reason, probe.attached());
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut n = 0u64;
    while std::time::Instant::now() < end {
        while let Some((cpu, ev)) = probe.next_event() {
            n += 1;
            match ev {
                Ok(ev) => {
                    let name = lanner_event::render::event_type_name(&ev);
                    println!(
                        "{cpu} {} {} {} {name} n={}",
                        ev.ts(),
                        ev.tid(),
                        ev.event_type(),
                        ev.nparams()
                    );
                }
                Err(e) => println!("{cpu} bad event: {e}"),
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    println!("events {n}");
    for (cpu, c) in probe.counters()?.iter().enumerate() {
        println!("cpu {cpu}: {c:?}");
    }
    Ok(())
}
