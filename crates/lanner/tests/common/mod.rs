//! What the tests that run lanner live share: whether this machine can, and reading a child's
//! output as it comes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc;

/// Whether live capture can run here (root, and a kernel with BTF); the reason when not.
pub(crate) fn can_run_live() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root".to_owned());
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Err("the kernel has no BTF (/sys/kernel/btf/vmlinux)".to_owned());
    }
    Ok(())
}

/// Lines of a stream, as they come.
pub(crate) fn lines(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
