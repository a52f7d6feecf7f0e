//! The scap event model of lanner.
//!
//! lanner speaks one wire format end to end: the **scap event** of falcosecurity/libs. The kernel
//! probe writes it, `.scap` files store it, plugins produce it, and the state, the filters and
//! the rules read it. This crate owns that model and nothing else:
//!
//! - [`table`]: the libs event table (names, categories, flags, parameter names and types, flag
//!   names), generated from the schema vendored by the `falco_event_schema` crate, so the two can
//!   never disagree.
//! - [`RawEvent`]: a borrowed, checked view of one event. Construction validates the framing
//!   once; after that every accessor is infallible and nothing allocates. Parameters are decoded
//!   lazily, on demand. [`RawEvent::typed`] hands the same bytes to `falco_event_schema`'s
//!   strongly typed events when a consumer wants a struct per event type.
//! - [`render`]: how parameters print, the way libs renders `evt.args` (`fd=3(<f>/etc/passwd)`,
//!   `flags=1(O_RDONLY)`, `res=-2(ENOENT)` ...). What needs process state (an fd's name, a
//!   pid's command) is asked of a [`render::Resolver`] that the state layer implements.
//!
//! It does not read files (that is `lanner-scap`), keep state, or evaluate filters.
//!
//! ```
//! use lanner_event::{EventBuilder, RawEvent};
//!
//! let mut builder = EventBuilder::new();
//! builder.start().param(&3i64.to_le_bytes()).param(b"/etc/shadow\0");
//! let event: RawEvent<'_> = builder.finish(1_700_000_000_000_000_000, 1234, 3).unwrap();
//! assert_eq!(event.name(), "open");
//! assert_eq!(event.param(1), Some(&b"/etc/shadow\0"[..]));
//! ```

pub mod names;
pub mod raw;
pub mod render;
pub mod table;
pub mod value;

/// The libs constants (`PPM_*` flags, event codes ...) as `falco_event_schema` binds them.
pub use falco_event_schema::ffi;
pub use raw::{
    DecodeError, EventBuf, EventBuilder, HEADER_LEN, HEADER_LEN_V1, Params, RawEvent, TypedEvent,
};
pub use table::{Direction, EventInfo, ParamInfo, ParamType, event_info};
