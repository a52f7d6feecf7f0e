//! `cargo run -p lanner-rules --example validate -- [--json] FILE...`: loads rules files in
//! order and prints the diagnostics, as `falco -V` would (the binary wires the real flag).

use lanner_rules::{LoadOptions, load_files};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.first().is_some_and(|a| a == "--json");
    if json {
        args.remove(0);
    }
    let loaded = load_files(&args, &LoadOptions::default());
    if json {
        println!("{}", loaded.to_json());
    } else {
        print!("{}", loaded.render());
    }
    std::process::exit(i32::from(!loaded.successful()));
}
