//! From a JSON payload (a webhook body, a line of a file) to audit events, as upstream's
//! `ParseAuditEventsJSON`: an `Event`, an `EventList`'s `items`, or an array of either.

use lanner_plugin_jsontree::Value;

/// One audit event ready to be emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// `stageTimestamp`, in nanoseconds since the epoch.
    pub ts: u64,
    /// The event, re-marshalled compactly (what upstream emits).
    pub data: Vec<u8>,
}

/// Why a payload, or one event of it, was dropped. The messages are upstream's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The payload is not JSON.
    #[error("{0}")]
    Json(#[from] lanner_plugin_jsontree::ParseError),
    /// The payload is JSON but not an audit event, a list of them or an array.
    #[error("data not recognized as a k8s audit event")]
    NotAuditEvent,
    /// An event without `stageTimestamp`.
    #[error("can't read stageTimestamp")]
    NoStageTimestamp,
    /// A `stageTimestamp` that is not RFC 3339.
    #[error("parsing time {0:?} as \"2006-01-02T15:04:05.999999999Z07:00\": cannot parse")]
    BadTimestamp(String),
    /// An event larger than `maxEventSize`.
    #[error("event larger than maxEventSize: size={0}")]
    TooLarge(usize),
}

/// Parses a payload. `Err`: the whole payload was dropped (upstream logs the error); the
/// `Ok` list holds each event or the error that dropped it.
pub fn parse_payload(
    payload: &[u8],
    max_event_size: u64,
) -> Result<Vec<Result<AuditEvent, AuditError>>, AuditError> {
    let value = Value::parse(payload)?;
    let mut out = Vec::new();
    collect(&value, max_event_size, &mut out)?;
    Ok(out)
}

fn collect(
    value: &Value,
    max: u64,
    out: &mut Vec<Result<AuditEvent, AuditError>>,
) -> Result<(), AuditError> {
    match value {
        // As upstream, an error in one element drops the whole array.
        Value::Array(items) => items.iter().try_for_each(|v| collect(v, max, out)),
        _ => match value.get("kind").and_then(Value::as_str) {
            Some("EventList") => match value.get("items") {
                Some(Value::Array(items)) => {
                    out.extend(items.iter().map(|i| single(i, max)));
                    Ok(())
                }
                _ => Err(AuditError::NotAuditEvent),
            },
            Some("Event") => {
                out.push(single(value, max));
                Ok(())
            }
            _ => Err(AuditError::NotAuditEvent),
        },
    }
}

fn single(value: &Value, max: u64) -> Result<AuditEvent, AuditError> {
    let ts = value.get("stageTimestamp").ok_or(AuditError::NoStageTimestamp)?;
    let text = ts.as_str().unwrap_or_default();
    let ts = parse_rfc3339_nano(text).ok_or_else(|| AuditError::BadTimestamp(text.to_string()))?;
    let data = value.marshal().into_bytes();
    if data.len() as u64 > max {
        return Err(AuditError::TooLarge(data.len()));
    }
    Ok(AuditEvent { ts, data })
}

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

    #[test]
    fn payload_shapes_and_errors() {
        let ev = r#"{"kind":"Event","auditID":"x","stageTimestamp":"2018-10-25T13:58:49Z"}"#;
        let list = format!(r#"{{"kind":"EventList","items":[{ev},{{"kind":"Event"}}]}}"#);
        let got = parse_payload(list.as_bytes(), 1 << 20).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        assert_eq!(got[1], Err(AuditError::NoStageTimestamp));
        let arr = format!("[{ev}, {list}]");
        assert_eq!(parse_payload(arr.as_bytes(), 1 << 20).unwrap().len(), 3);
        assert_eq!(
            parse_payload(br#"{"kind": 0}"#, 1).unwrap_err().to_string(),
            "data not recognized as a k8s audit event"
        );
        assert_eq!(
            parse_payload(format!("[{ev}, 1]").as_bytes(), 1 << 20).unwrap_err(),
            AuditError::NotAuditEvent
        );
        assert!(matches!(parse_payload(b"{", 1), Err(AuditError::Json(_))));
        assert_eq!(
            parse_payload(ev.as_bytes(), 10).unwrap()[0],
            Err(AuditError::TooLarge(ev.len()))
        );
    }
}
