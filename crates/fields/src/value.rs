//! Extracted values: a reusable container, so extracting a field for every event allocates
//! nothing once its buffers have grown.

use std::net::IpAddr;

/// One extracted value, borrowed from a [`Values`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// A signed integer (`PT_INT*`, pids, fds, errnos).
    Int(i64),
    /// An unsigned integer (`PT_UINT*`, ports, times, flags).
    Uint(u64),
    /// A boolean.
    Bool(bool),
    /// A string or byte buffer.
    Bytes(&'a [u8]),
    /// An IP address.
    Ip(IpAddr),
    /// A floating-point number.
    Double(f64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Item {
    Int(i64),
    Uint(u64),
    Bool(bool),
    Bytes { start: u32, len: u32 },
    Ip(IpAddr),
    Double(f64),
}

/// The values a field produced for one event: none (the field does not apply, which libs
/// prints as `<NA>`), one, or several (list fields, and ancestor fields in filters).
#[derive(Clone, Debug, Default)]
pub struct Values {
    buf: Vec<u8>,
    items: Vec<Item>,
}

impl Values {
    /// An empty container.
    pub fn new() -> Values {
        Values::default()
    }

    /// Forgets every value, keeping the buffers.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.items.clear();
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is no value (the field is missing for this event).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Value `i`.
    pub fn get(&self, i: usize) -> Option<Value<'_>> {
        Some(match *self.items.get(i)? {
            Item::Int(v) => Value::Int(v),
            Item::Uint(v) => Value::Uint(v),
            Item::Bool(v) => Value::Bool(v),
            Item::Bytes { start, len } => {
                Value::Bytes(&self.buf[start as usize..start as usize + len as usize])
            }
            Item::Ip(v) => Value::Ip(v),
            Item::Double(v) => Value::Double(v),
        })
    }

    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = Value<'_>> {
        (0..self.items.len()).filter_map(move |i| self.get(i))
    }

    /// The first value.
    pub fn first(&self) -> Option<Value<'_>> {
        self.get(0)
    }

    /// Adds a signed integer.
    pub fn push_int(&mut self, v: i64) {
        self.items.push(Item::Int(v));
    }

    /// Adds an unsigned integer.
    pub fn push_uint(&mut self, v: u64) {
        self.items.push(Item::Uint(v));
    }

    /// Adds a boolean.
    pub fn push_bool(&mut self, v: bool) {
        self.items.push(Item::Bool(v));
    }

    /// Adds an IP address.
    pub fn push_ip(&mut self, v: IpAddr) {
        self.items.push(Item::Ip(v));
    }

    /// Adds a floating-point number.
    pub fn push_double(&mut self, v: f64) {
        self.items.push(Item::Double(v));
    }

    /// Adds a string or buffer, copied.
    pub fn push_bytes(&mut self, v: &[u8]) {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(v);
        self.items.push(Item::Bytes { start, len: v.len() as u32 });
    }

    /// Adds a string built in place by `build`, which appends to the buffer it is given.
    pub fn push_with(&mut self, build: impl FnOnce(&mut Vec<u8>)) {
        let start = self.buf.len();
        build(&mut self.buf);
        let len = self.buf.len() - start;
        self.items.push(Item::Bytes { start: start as u32, len: len as u32 });
    }

    /// Drops every value after the first `n`.
    pub fn truncate(&mut self, n: usize) {
        self.items.truncate(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_mixed_values() {
        let mut v = Values::new();
        v.push_bytes(b"bash");
        v.push_int(-1);
        v.push_with(|b| b.extend_from_slice(b"cat /etc/passwd"));
        assert_eq!(v.len(), 3);
        assert_eq!(v.get(0), Some(Value::Bytes(b"bash")));
        assert_eq!(v.get(1), Some(Value::Int(-1)));
        assert_eq!(v.get(2), Some(Value::Bytes(b"cat /etc/passwd")));
        v.clear();
        assert!(v.is_empty());
    }
}
