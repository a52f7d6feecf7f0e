//! Local time of day, the way sysdig prints event times.

/// The offset of local time from UTC, in seconds, as it is *now* (not at the event's date).
///
/// sysdig (libsinsp's `gmt2local`) computes the offset once from the current time and applies it
/// to every event, so an event recorded in summer prints with the winter offset in winter. lanner
/// does the same so that its output matches sysdig's byte for byte.
pub(crate) fn utc_offset_now() -> i64 {
    // SAFETY: `time` with a null pointer only returns the time; `localtime_r` writes into the
    // zeroed `tm` we own and reads the `time_t` we pass by reference.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return 0;
        }
        tm.tm_gmtoff
    }
}
