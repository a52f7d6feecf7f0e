//! The timestamps JSON documents carry as RFC 3339 strings (`stageTimestamp` of an audit
//! event, `eventTime` of a CloudTrail record), read the way the upstream Go plugins read them.

/// Go's `time.Parse(time.RFC3339Nano, s)`, in nanoseconds since the epoch (times before
/// 1970 clamp to 0). `None` when `s` is not of that form.
pub fn parse_rfc3339_nano(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 59
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() {
            return None;
        }
        let mut frac = digits.to_string();
        frac.truncate(9);
        while frac.len() < 9 {
            frac.push('0');
        }
        nanos = frac.parse().ok()?;
    }
    let offset = match b.get(i..)? {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = num(i + 1..i + 3)?;
            let m = num(i + 4..i + 6)?;
            let _ = (h1, h2, m1, m2);
            if h > 23 || m > 59 {
                return None;
            }
            let o = h * 3600 + m * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset;
    let total = i128::from(secs) * 1_000_000_000 + i128::from(nanos);
    Some(u64::try_from(total.max(0)).unwrap_or(u64::MAX))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_rfc3339_nano("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(
            parse_rfc3339_nano("2018-10-25T13:58:49.730588Z"),
            Some(1_540_475_929_730_588_000)
        );
        assert_eq!(
            parse_rfc3339_nano("2018-10-25T15:58:49.730588+02:00"),
            Some(1_540_475_929_730_588_000)
        );
        assert_eq!(parse_rfc3339_nano("2018-10-25 13:58:49Z"), None);
        assert_eq!(parse_rfc3339_nano("2018-02-30T00:00:00Z"), None);
        assert_eq!(parse_rfc3339_nano("1960-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_nano(""), None);
        assert_eq!(parse_rfc3339_nano("2018-10-25T13:58:49.Z"), None);
    }
}
