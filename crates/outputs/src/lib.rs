//! Alerts: what a rule match becomes, and the two ways Falco prints it.
//!
//! This crate owns three things, in the order a rule meets them:
//!
//! 1. **Output formats** ([`OutputFormat`]): a rule's `output:` text compiled at load time
//!    into literal pieces and field references, tokenised exactly as libs' output formatter
//!    does (`%field`, `%field[arg]`, `%transformer(field)`, `%20field`, the longest prefix
//!    that is a field), and checked against the field registry then. An unknown field is a
//!    [`FormatError`] with libs' message and the byte span to underline, for the rules loader
//!    to report as `LOAD_ERR_COMPILE_OUTPUT`. [`RuleOutput`] adds what `append_output`
//!    ([`AppendOutput`]) appends to a rule: text, and extra JSON fields.
//! 2. **The alert** ([`Alert`]): built by [`RuleOutput::alert`] from the [`EventContext`] of
//!    a matching event, it owns everything an output channel needs (time, rule, priority,
//!    source, tags, hostname, the formatted message, the typed `output_fields`), so it can
//!    leave the hot path through a queue. Building one allocates (a message, a few field
//!    values); that is fine because alerts are rare next to events, and the rule metadata
//!    is shared (`Arc`), not copied.
//! 3. **Renderers** ([`render`]): Falco's text line `<time>: <Priority> <message>` and its
//!    JSON line, driven by the falco.yaml options ([`OutputOptions`]: `json_output`,
//!    `json_include_*`, `time_format_iso_8601`) and a UTC offset given by the edge.
//!
//! It does not own output channels (stdout, files, syslog, http: a later crate), the rules
//! loader, or the engine; nor the time zone or the host name, which the edge reads (Falco:
//! `gmt2local` at start-up, `FALCO_HOSTNAME` or `gethostname`) and passes in as data, so
//! that everything here is pure and tests anywhere.
//!
//! # Decisions
//!
//! - **Falco always prints.** Falco puts `*` in front of every rule output, so a missing
//!   value prints `<NA>` and the alert is never dropped; lanner has no other mode here (the
//!   `sysdig -p` style formats of `lanner inspect` live in `lanner-fields`, whose syntax also
//!   differs: `%%` and `%{field}` are errors in Falco's formatter).
//! - **Text as released Falco writes it.** Falco ≤ 0.44.1 writes the text line as built;
//!   libs has already made string field values printable. lanner does the same: field
//!   values are sanitised once, when the alert is built (invalid UTF-8 and control
//!   characters become U+FFFD, [`value::sanitize`]), and the line is not escaped. Falco's
//!   master branch (July 2026, expected in 0.45) JSON-escapes the whole text line instead
//!   (`\n`, `\"` ...); following it would change the byte output of every alert whose rule
//!   text holds a quote or backslash, which released Falco's users and golden files do not
//!   expect. Sanitising values gives the same protection against log forging from the
//!   watched system.
//! - **JSON as nlohmann writes it.** Keys sorted, no blanks, `output_fields` typed as libs
//!   types them (time fields as integer nanoseconds, numbers as numbers, null for missing,
//!   arrays for lists), transformed values left out of `output_fields` but their fields put
//!   in (libs' default). The writer is hand-rolled so that the bytes are stable and the same
//!   as Falco's, not just equal as JSON.
//! - **Alerts carry values, not options.** The message and field values are computed when
//!   the alert is built (the event is gone afterwards); the time prefix and the JSON layout
//!   depend only on options, so renderers apply them, and one alert can go to a text channel
//!   and a JSON channel alike.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use lanner_fields::EventContext;
//! use lanner_outputs::{AlertRule, AlertScratch, OutputOptions, Priority, RuleOutput, render};
//!
//! // At load time: compile the rule's output (errors name the text at fault).
//! let rule = AlertRule::new("open_from_cat", Priority::parse("WARNING")?, "syscall", ["filesystem"]);
//! let output = RuleOutput::new(rule, "An open was seen (command=%proc.cmdline)", &[], &[])?;
//! let hostname: Arc<str> = Arc::from("test-falco-hostname");
//! let options = OutputOptions { time_format_iso_8601: true, ..OutputOptions::default() };
//! let mut scratch = AlertScratch::default();
//!
//! // On a match: build the alert from the event's context, then render it.
//! # fn ctx() -> EventContext<'static> { unimplemented!() }
//! let ctx: EventContext<'_> = ctx();
//! let alert = output.alert(&ctx, &hostname, &mut scratch);
//! let mut line = String::new();
//! render::write_alert(&mut std::io::stdout(), &alert, &options, &mut line)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod alert;
mod append;
pub mod format;
mod priority;
pub mod render;
pub mod value;

pub use alert::{Alert, AlertRule, AlertScratch, OutputError, RuleOutput};
pub use append::{AppendOutput, ExtraField, suggested_fields};
pub use format::{FormatError, FormatErrorKind, OutputFormat};
pub use lanner_fields::EventContext;
pub use priority::{Priority, UnknownPriority};
pub use render::{OutputOptions, write_alert};
pub use value::FieldValue;

#[cfg(test)]
mod tests {
    /// Alerts cross threads through the queue; compiled outputs are shared by the threads
    /// that evaluate rules.
    #[test]
    fn alerts_and_outputs_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::Alert>();
        send_sync::<crate::RuleOutput>();
        send_sync::<crate::OutputFormat>();
    }
}
