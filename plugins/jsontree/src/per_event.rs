//! [`PerEvent`]: the parsed payload of the event being extracted from, kept for its next
//! fields.

use crate::Value;

/// The parsed JSON payload of the last event an extract plugin was asked about.
///
/// Falco asks for a rule's fields one call at a time, so the k8saudit, json and cloudtrail
/// plugins would parse the same payload once per field; this keeps the tree of the last
/// event and hands it out again while the event is the same.
///
/// **Invariant**: a value is only ever handed out for the key it was parsed under. An event
/// is keyed by its event number *and* the address and length of its payload: the number
/// alone is not enough, as a host that does not count events (the test drivers, a replay
/// restarted) may give two payloads the same number. A parse that fails leaves nothing
/// behind, so the next call parses again whatever its key.
///
/// ```
/// use lanner_plugin_jsontree::{ParseError, PerEvent, Value};
///
/// let mut cache = PerEvent::default();
/// let data = br#"{"verb":"create"}"#;
/// let v = cache.get_or_parse(1, data, Value::parse)?;
/// assert_eq!(v.get("verb").and_then(Value::as_str), Some("create"));
/// // The same event again: served from the cache, `parse` is not called.
/// let v = cache.get_or_parse(1, data, |_| -> Result<Value, ParseError> { unreachable!() })?;
/// assert_eq!(v.get("verb").and_then(Value::as_str), Some("create"));
/// # Ok::<(), ParseError>(())
/// ```
#[derive(Debug, Default)]
pub struct PerEvent {
    /// The key and the tree together, so that one cannot outlive the other.
    slot: Option<(Key, Value)>,
}

/// Event number, payload address, payload length.
type Key = (usize, usize, usize);

impl PerEvent {
    /// The tree of `data`, the payload of event `event_number`: the one kept when the event
    /// is the last one asked about, else `parse(data)`, kept for the next call. `parse` is
    /// where a plugin puts its own pre-checks and error messages; its error is returned as
    /// is, and nothing is kept.
    pub fn get_or_parse<E>(
        &mut self,
        event_number: usize,
        data: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<Value, E>,
    ) -> Result<&Value, E> {
        let key = (event_number, data.as_ptr() as usize, data.len());
        // Taking the slot out empties it before `parse` can fail: an error leaves no stale
        // tree. On a hit, the tree moves out and back (a few words, no allocation).
        let slot = match self.slot.take() {
            Some((k, value)) if k == key => (k, value),
            _ => (key, parse(data)?),
        };
        Ok(&self.slot.insert(slot).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParseError;
    use std::cell::Cell;

    /// `Value::parse`, counting its calls.
    fn counting(calls: &Cell<usize>) -> impl Fn(&[u8]) -> Result<Value, ParseError> + '_ {
        move |data| {
            calls.set(calls.get() + 1);
            Value::parse(data)
        }
    }

    fn text(v: Result<&Value, ParseError>) -> String {
        v.map(Value::marshal).unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn the_same_event_is_parsed_once() {
        let calls = Cell::new(0);
        let mut cache = PerEvent::default();
        let data = br#"{"a":1}"#;
        assert_eq!(text(cache.get_or_parse(7, data, counting(&calls))), r#"{"a":1}"#);
        assert_eq!(text(cache.get_or_parse(7, data, counting(&calls))), r#"{"a":1}"#);
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn a_new_number_or_payload_is_parsed_again() {
        let calls = Cell::new(0);
        let mut cache = PerEvent::default();
        let (one, two) = (br#"{"a":1}"#.to_vec(), br#"{"a":2}"#.to_vec());
        assert_eq!(text(cache.get_or_parse(1, &one, counting(&calls))), r#"{"a":1}"#);
        // A new event number, same payload.
        assert_eq!(text(cache.get_or_parse(2, &one, counting(&calls))), r#"{"a":1}"#);
        // The same event number, another payload (a host that does not count events).
        assert_eq!(text(cache.get_or_parse(2, &two, counting(&calls))), r#"{"a":2}"#);
        // The same number and bytes, but a shorter view of them.
        assert!(cache.get_or_parse(2, &two[..0], counting(&calls)).is_err());
        assert_eq!(calls.get(), 4);
    }

    #[test]
    fn an_error_leaves_nothing_behind() {
        let calls = Cell::new(0);
        let mut cache = PerEvent::default();
        let good = br#"{"a":1}"#.to_vec();
        assert!(cache.get_or_parse(1, &good, counting(&calls)).is_ok());
        // A new event that does not parse: its error, not the last event's tree.
        let bad = b"{".to_vec();
        assert!(cache.get_or_parse(2, &bad, counting(&calls)).is_err());
        // The plugin's own error type and message come back as they are.
        let refused = cache.get_or_parse(3, &good, |_| Err::<Value, _>("broken JSON data"));
        assert_eq!(refused.unwrap_err(), "broken JSON data");
        // Nothing was kept: the first event is parsed again, not served stale or empty.
        assert_eq!(text(cache.get_or_parse(1, &good, counting(&calls))), r#"{"a":1}"#);
        assert_eq!(text(cache.get_or_parse(1, &good, counting(&calls))), r#"{"a":1}"#);
        assert_eq!(calls.get(), 3);
    }
}
