//! Falco's log lines on stderr: `<time>: <message>`, the time as `Wed Feb  2 16:26:35 2022`
//! (local), or with `time_format_iso_8601` as `2022-02-02T16:26:35+0000`. Falco's own startup
//! messages have this form, and tools that read its stderr expect it.

/// Writes log lines when `log_stderr` is on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Logger {
    /// `log_stderr`.
    pub(crate) enabled: bool,
    /// `time_format_iso_8601`.
    pub(crate) iso8601: bool,
}

impl Logger {
    /// One line, now.
    pub(crate) fn log(&self, message: &str) {
        if self.enabled {
            eprintln!("{}: {message}", now(self.iso8601));
        }
    }
}

/// The current local time in Falco's log format.
fn now(iso8601: bool) -> String {
    let format: &[u8] = if iso8601 { b"%Y-%m-%dT%H:%M:%S%z\0" } else { b"%a %b %e %H:%M:%S %Y\0" };
    let mut buf = [0u8; 64];
    // SAFETY: `time` with a null pointer only returns the time; `localtime_r` writes into the
    // zeroed `tm` we own; `strftime` writes at most `buf.len()` bytes into `buf` and reads the
    // NUL-terminated format and the `tm` we pass.
    let len = unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return String::new();
        }
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), format.as_ptr().cast(), &tm)
    };
    String::from_utf8_lossy(&buf[..len]).into_owned()
}
