//! The glue between the `falco_plugin` SDK and lanner's plugins (k8saudit, json, cloudtrail)
//! that each of them would otherwise write the same:
//!
//! - [`cstring`]: a field value as the C string Falco takes, cut at the first NUL rather than
//!   refused;
//! - [`source_payload!`]: the payload type of a source plugin's events, the bytes of the event
//!   tagged with the plugin's event source, which the SDK needs to hand a source and extract
//!   plugin its own events.
//!
//! It owns nothing about JSON (`lanner-plugin-jsontree`), fields or sourcing (the plugins),
//! and adds nothing to the SDK's behaviour: no state, no I/O.
//!
//! ```
//! use falco_plugin::event::EventSource;
//!
//! lanner_plugin_support::source_payload! {
//!     /// The payload of k8saudit's plugin events: JSON bytes of the `k8s_audit` source.
//!     pub struct AuditPayload for "k8s_audit";
//! }
//!
//! assert_eq!(AuditPayload::SOURCE, Some("k8s_audit"));
//! assert_eq!(lanner_plugin_support::cstring("a\0b".to_owned()).as_bytes(), b"a");
//! ```

use std::ffi::CString;

/// A C string of `s`, cut at the first NUL (Falco's strings end there anyway).
pub fn cstring(s: String) -> CString {
    match CString::new(s) {
        Ok(c) => c,
        Err(e) => {
            let at = e.nul_position();
            let mut bytes = e.into_vec();
            bytes.truncate(at);
            CString::new(bytes).unwrap_or_default()
        }
    }
}

/// Declares `struct $name<'a>(pub &'a [u8])`, the payload of the plugin events of the event
/// source `$source`, with the SDK's `EventSource`, `FromBytes` and `ToBytes`: the payload is
/// the event's bytes as they are, read and written whole.
///
/// A macro rather than one generic type: the SDK takes the source as an associated constant,
/// so a generic type would need a marker type per source beside it, and each plugin would
/// still name its own alias. See the crate docs for an example.
#[macro_export]
macro_rules! source_payload {
    ($(#[$meta:meta])* $vis:vis struct $name:ident for $source:literal;) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $name<'a>(pub &'a [u8]);

        impl $crate::__private::falco_plugin::event::EventSource for $name<'_> {
            const SOURCE: ::core::option::Option<&'static str> =
                ::core::option::Option::Some($source);
        }

        impl<'a> $crate::__private::falco_plugin::event::fields::FromBytes<'a> for $name<'a> {
            fn from_bytes(
                buf: &mut &'a [u8],
            ) -> ::core::result::Result<
                Self,
                $crate::__private::falco_plugin::event::fields::FromBytesError,
            > {
                ::core::result::Result::Ok($name(::core::mem::take(buf)))
            }
        }

        impl $crate::__private::falco_plugin::event::fields::ToBytes for $name<'_> {
            fn binary_size(&self) -> usize {
                self.0.len()
            }
            fn write<W: ::std::io::Write>(&self, mut writer: W) -> ::std::io::Result<()> {
                writer.write_all(self.0)
            }
            fn default_repr() -> impl $crate::__private::falco_plugin::event::fields::ToBytes {
                $name(&[])
            }
        }
    };
}

/// What [`source_payload!`] expands to refers to, so that a plugin needs no `use` for it.
#[doc(hidden)]
pub mod __private {
    pub use falco_plugin;
}

#[cfg(test)]
mod tests {
    use super::*;
    use falco_plugin::event::EventSource;
    use falco_plugin::event::fields::{FromBytes, ToBytes};

    source_payload! {
        /// A test source.
        struct TestPayload for "test_source";
    }

    #[test]
    fn cstring_cuts_at_the_first_nul() {
        assert_eq!(cstring("plain".to_owned()).as_bytes(), b"plain");
        assert_eq!(cstring("a\0b\0c".to_owned()).as_bytes(), b"a");
        assert_eq!(cstring("\0".to_owned()).as_bytes(), b"");
    }

    #[test]
    fn a_payload_is_its_bytes_whole() {
        assert_eq!(TestPayload::SOURCE, Some("test_source"));
        let mut buf: &[u8] = b"{\"a\":1}";
        let p = TestPayload::from_bytes(&mut buf).unwrap();
        assert_eq!(p.0, b"{\"a\":1}");
        assert!(buf.is_empty(), "the payload takes the rest of the event");
        let mut out = Vec::new();
        p.write(&mut out).unwrap();
        assert_eq!((out.as_slice(), p.binary_size()), (&b"{\"a\":1}"[..], 7));
        assert_eq!(TestPayload::default_repr().binary_size(), 0);
    }
}
