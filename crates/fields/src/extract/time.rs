//! Time formats of `evt.time`, `evt.datetime`, `evt.time.iso8601` and friends.
//!
//! Local times apply one UTC offset to every event (libsinsp's `gmt2local` takes the offset
//! of the current time once), so an event recorded in summer prints with the winter offset in
//! winter, exactly as sysdig and Falco print it.

const NS: u64 = 1_000_000_000;

/// Appends `v` in decimal, left-padded with zeros to `width` digits.
pub(crate) fn push_padded(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let digits = if v == 0 { 1 } else { v.ilog10() as usize + 1 };
    let start = out.len();
    let n = digits.max(width);
    out.resize(start + n, b'0');
    let mut i = start + n;
    while v > 0 {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Seconds of the day, shifted by `offset`, with libsinsp's unsigned wrap-around.
fn seconds_of_day(ts: u64, offset: i64) -> u64 {
    (ts / NS).wrapping_add(offset as u64) % 86_400
}

fn write_hms(out: &mut Vec<u8>, day_secs: u64) {
    push_padded(out, day_secs / 3600, 2);
    out.push(b':');
    push_padded(out, day_secs % 3600 / 60, 2);
    out.push(b':');
    push_padded(out, day_secs % 60, 2);
}

/// `HH:MM:SS.nnnnnnnnn`, local time.
///
/// Every printed event line starts with this, so it is written digit by digit into a fixed
/// array rather than through the formatting machinery.
pub fn write_time_of_day(out: &mut Vec<u8>, ts: u64, offset: i64) {
    let day = seconds_of_day(ts, offset);
    let (h, m, s) = (day / 3600, day % 3600 / 60, day % 60);
    let digit = |v: u64| b'0' + (v % 10) as u8;
    let mut b = *b"00:00:00.000000000";
    b[0] = digit(h / 10);
    b[1] = digit(h);
    b[3] = digit(m / 10);
    b[4] = digit(m);
    b[6] = digit(s / 10);
    b[7] = digit(s);
    let mut ns = ts % NS;
    for i in (9..18).rev() {
        b[i] = digit(ns);
        ns /= 10;
    }
    out.extend_from_slice(&b);
}

/// `HH:MM:SS`, local time.
pub(crate) fn write_time_s(out: &mut Vec<u8>, ts: u64, offset: i64) {
    write_hms(out, seconds_of_day(ts, offset));
}

/// The civil date of a day count since 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe as i64 + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn write_date(out: &mut Vec<u8>, secs: i64) {
    let (y, m, d) = civil(secs.div_euclid(86_400));
    push_padded(out, y.max(0) as u64, 4);
    out.push(b'-');
    push_padded(out, m, 2);
    out.push(b'-');
    push_padded(out, d, 2);
}

/// `YYYY-MM-DD HH:MM:SS[.nnnnnnnnn]`, local time (nanoseconds when `nanos`).
pub fn write_datetime(out: &mut Vec<u8>, ts: u64, offset: i64, nanos: bool) {
    let secs = (ts / NS) as i64 + offset;
    write_date(out, secs);
    out.push(b' ');
    write_hms(out, secs.rem_euclid(86_400) as u64);
    if nanos {
        out.push(b'.');
        push_padded(out, ts % NS, 9);
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000`, always UTC.
pub fn write_iso8601(out: &mut Vec<u8>, ts: u64) {
    let secs = (ts / NS) as i64;
    write_date(out, secs);
    out.push(b'T');
    write_hms(out, secs.rem_euclid(86_400) as u64);
    out.push(b'.');
    push_padded(out, ts % NS, 9);
    out.extend_from_slice(b"+0000");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats() {
        let ts = 1_470_327_477_881_730_713;
        assert_eq!(s(|o| write_time_of_day(o, ts, 0)), "16:17:57.881730713");
        assert_eq!(s(|o| write_time_s(o, ts, 0)), "16:17:57");
        assert_eq!(s(|o| write_datetime(o, ts, 0, true)), "2016-08-04 16:17:57.881730713");
        assert_eq!(s(|o| write_datetime(o, ts, 3600, false)), "2016-08-04 17:17:57");
        assert_eq!(s(|o| write_iso8601(o, ts)), "2016-08-04T16:17:57.881730713+0000");
        assert_eq!(s(|o| write_iso8601(o, 0)), "1970-01-01T00:00:00.000000000+0000");
        assert_eq!(s(|o| write_datetime(o, 951_782_400 * NS, 0, false)), "2000-02-29 00:00:00");
        assert_eq!(s(|o| push_padded(o, 1_881_730_714, 9)), "1881730714");
    }
}
