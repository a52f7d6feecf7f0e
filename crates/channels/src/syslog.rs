//! Syslog messages: the line Falco's `syslog(3)` call sends, or RFC 5424's.
//!
//! Falco calls `syslog(LOG_USER | severity, "%s", line)` with the alert's priority as the
//! severity (Falco's priorities are numbered as syslog's severities: Emergency 0 … Debug 7),
//! without `openlog`, so glibc sends `<PRI>Mmm dd hh:mm:ss ident: line` (local time) to
//! `/dev/log`. lanner writes the same datagram itself ([`write_rfc3164`]), so that the socket
//! can be chosen and failures counted; [`write_rfc5424`] is the structured form for daemons
//! configured for it.

use std::fmt::Write as _;

/// Falco's facility: `LOG_USER`.
pub const FACILITY_USER: u8 = 1;

/// The PRI value: facility × 8 + severity.
pub fn pri(facility: u8, severity: u8) -> u8 {
    facility * 8 + (severity & 7)
}

/// `<PRI>Mmm dd hh:mm:ss ident: message`, as glibc writes it: the time of day is local
/// (`utc_offset` seconds east of UTC), the day space-padded.
pub fn write_rfc3164(
    out: &mut String,
    pri: u8,
    unix_secs: i64,
    utc_offset: i64,
    ident: &str,
    message: &str,
) {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let t = unix_secs + utc_offset;
    let (_, month, day) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    let _ = write!(
        out,
        "<{pri}>{} {day:>2} {:02}:{:02}:{:02} {ident}: {message}",
        MONTHS[(month - 1) as usize],
        s / 3600,
        s / 60 % 60,
        s % 60
    );
}

/// `<PRI>1 YYYY-MM-DDThh:mm:ss.uuuuuuZ hostname ident pid - - message` (RFC 5424: version 1,
/// UTC time with microseconds, no message id, no structured data).
pub fn write_rfc5424(
    out: &mut String,
    pri: u8,
    unix_nanos: u64,
    hostname: &str,
    ident: &str,
    pid: u32,
    message: &str,
) {
    let secs = (unix_nanos / 1_000_000_000) as i64;
    let micros = unix_nanos % 1_000_000_000 / 1000;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    // RFC 5424: an empty field is `-`.
    let host = if hostname.is_empty() { "-" } else { hostname };
    let _ = write!(
        out,
        "<{pri}>1 {y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z {host} {ident} {pid} - - {message}",
        s / 3600,
        s / 60 % 60,
        s % 60
    );
}

/// (year, month 1–12, day 1–31) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_layout() {
        let mut out = String::new();
        // 2016-08-04T16:17:57Z, a Warning (4) of LOG_USER: <12>
        write_rfc3164(&mut out, pri(FACILITY_USER, 4), 1_470_327_477, 0, "falco", "hi");
        assert_eq!(out, "<12>Aug  4 16:17:57 falco: hi");
        out.clear();
        write_rfc3164(&mut out, pri(FACILITY_USER, 0), 1_470_327_477, 9 * 3600, "x", "m");
        assert_eq!(out, "<8>Aug  5 01:17:57 x: m");
    }

    #[test]
    fn rfc5424_layout() {
        let mut out = String::new();
        write_rfc5424(
            &mut out,
            pri(FACILITY_USER, 7),
            1_470_327_477_881_781_397,
            "h",
            "l",
            42,
            "m",
        );
        assert_eq!(out, "<15>1 2016-08-04T16:17:57.881781Z h l 42 - - m");
        out.clear();
        write_rfc5424(&mut out, 14, 0, "", "l", 1, "m");
        assert_eq!(out, "<14>1 1970-01-01T00:00:00.000000Z - l 1 - - m");
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
