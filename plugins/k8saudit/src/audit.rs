//! From a JSON payload (a webhook body, a line of a file) to audit events, as upstream's
//! `ParseAuditEventsJSON`: an `Event`, an `EventList`'s `items`, or an array of either.

use lanner_plugin_jsontree::{Value, parse_rfc3339_nano};

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

#[cfg(test)]
mod tests {
    use super::*;

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
