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

/// Writes `HH:MM:SS.nnnnnnnnn` for a timestamp in ns since the epoch, shifted by `offset`
/// seconds.
pub(crate) fn write_time_of_day(out: &mut Vec<u8>, ts: u64, offset: i64) {
    let secs = ts / 1_000_000_000;
    let nanos = ts % 1_000_000_000;
    let day = secs.wrapping_add(offset as u64) % 86_400;
    let (h, m, s) = (day / 3600, day % 3600 / 60, day % 60);
    push_padded(out, h, 2);
    out.push(b':');
    push_padded(out, m, 2);
    out.push(b':');
    push_padded(out, s, 2);
    out.push(b'.');
    push_padded(out, nanos, 9);
}

/// Appends `v` in decimal, left-padded with zeros to `width` digits.
fn push_padded(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    let mut i = start + width;
    while v > 0 && i > start {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_time_of_day() {
        let mut out = Vec::new();
        write_time_of_day(&mut out, 1_470_327_477_881_730_713, 0);
        assert_eq!(out, b"16:17:57.881730713");
        out.clear();
        // a negative offset before the epoch's first day wraps through u64 exactly as
        // libsinsp's arithmetic does (sysdig prints this with TZ=America/New_York)
        write_time_of_day(&mut out, 5, -5 * 3600);
        assert_eq!(out, b"02:00:16.000000005");
        out.clear();
        write_time_of_day(&mut out, 1_656_676_800_000_000_000, -5 * 3600);
        assert_eq!(out, b"07:00:00.000000000");
    }
}
