//! The alert: what a rule match produces, owned, ready to leave the hot path.

use std::collections::HashMap;
use std::sync::Arc;

use lanner_fields::{CheckState, EventContext, Mode, Values, extract};

use crate::append::{AppendOutput, ExtraField, suggested_format};
use crate::format::{FormatError, OutputFormat, Piece, Token};
use crate::priority::Priority;
use crate::value::{FieldValue, apply_width, write_field_text, write_transformed_text};

/// What an alert says about its rule; built once per rule at load time and shared (cheaply
/// cloned) by every alert of the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRule {
    /// The rule's name.
    pub name: Arc<str>,
    /// Its priority.
    pub priority: Priority,
    /// Its event source (`syscall`, `k8s_audit` ...).
    pub source: Arc<str>,
    /// Its tags, sorted, each once (Falco keeps them in a `std::set`).
    pub tags: Arc<[Box<str>]>,
}

impl AlertRule {
    /// The metadata of a rule; the tags are sorted and deduplicated here.
    pub fn new<'t>(
        name: &str,
        priority: Priority,
        source: &str,
        tags: impl IntoIterator<Item = &'t str>,
    ) -> AlertRule {
        let mut tags: Vec<Box<str>> = tags.into_iter().map(Box::from).collect();
        tags.sort_unstable();
        tags.dedup();
        AlertRule { name: name.into(), priority, source: source.into(), tags: tags.into() }
    }
}

/// A rule's output compiled at load time: the message format (the rule's `output:` with
/// the matching `append_output` texts appended) and the extra `output_fields`.
#[derive(Clone, Debug)]
pub struct RuleOutput {
    rule: AlertRule,
    message: OutputFormat,
    extra: Vec<(Arc<str>, Extra)>,
    container_info: bool,
}

/// The deprecated placeholder Falco removes from rule outputs (the container plugin's
/// suggested fields took its place).
const CONTAINER_INFO: &str = "%container.info";

#[derive(Clone, Debug)]
enum Extra {
    /// A field's typed value.
    Raw(OutputFormat),
    /// A format's text.
    Formatted(OutputFormat),
}

/// Which format of a rule failed to compile.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// The rule's output (with `append_output` texts): a `LOAD_ERR_COMPILE_OUTPUT` at the
    /// rule's `output:`. The span is in [`RuleOutput::message_text`] terms; it is within
    /// the rule's own text when it ends before that text does.
    #[error("{0}")]
    Output(FormatError),
    /// An `append_output` extra field.
    #[error("{error} (extra field `{name}`)")]
    ExtraField {
        /// The key of the extra field.
        name: String,
        /// What is wrong with its format.
        error: FormatError,
    },
}

impl RuleOutput {
    /// Compiles a rule's output and the `append_output` entries that apply to it, as
    /// Falco's rule compiler does: in configuration order, each entry's `extra_output`, then
    /// (with `suggested_output`) one `name=%field` per field of `suggested` (the fields the
    /// rule's source suggests, see [`crate::suggested_fields`]) are appended after a blank;
    /// a later extra field of the same name replaces an earlier one. Then the deprecated
    /// `%container.info` is removed from the text (Falco warns `LOAD_DEPRECATED_ITEM`; see
    /// [`RuleOutput::uses_container_info`]).
    ///
    /// `output` is the rule's output as the rules loader resolved it: Falco's loader trims
    /// blanks and line ends at both ends (YAML block scalars leave a final line end) and
    /// applies `append`/`override` before this point.
    pub fn new(
        rule: AlertRule,
        output: &str,
        append: &[AppendOutput],
        suggested: &[&str],
    ) -> Result<RuleOutput, OutputError> {
        let mut text = output.to_owned();
        let mut extra: Vec<(Arc<str>, &ExtraField)> = Vec::new();
        for entry in append
            .iter()
            .filter(|e| e.matches(&rule.name, &rule.source, rule.tags.iter().map(|t| &**t)))
        {
            if let Some(more) = &entry.extra_output
                && !more.is_empty()
            {
                text.push(' ');
                text.push_str(more);
            }
            if entry.suggested_output {
                for field in suggested {
                    text.push(' ');
                    text.push_str(&suggested_format(field));
                }
            }
            for field in &entry.extra_fields {
                extra.retain(|(name, _)| **name != *field.name());
                extra.push((field.name().into(), field));
            }
        }
        let container_info = text.contains(CONTAINER_INFO);
        if container_info {
            text = text.replace(CONTAINER_INFO, "");
        }
        let message = OutputFormat::compile(&text).map_err(OutputError::Output)?;
        let mut compiled = Vec::with_capacity(extra.len());
        for (name, field) in extra {
            let err = |error| OutputError::ExtraField { name: name.to_string(), error };
            let x = match field {
                ExtraField::Raw(field) => {
                    Extra::Raw(OutputFormat::compile(&format!("%{field}")).map_err(err)?)
                }
                // Falco skips formatted fields with an empty format.
                ExtraField::Formatted { format, .. } if format.is_empty() => continue,
                ExtraField::Formatted { format, .. } => {
                    Extra::Formatted(OutputFormat::compile(format).map_err(err)?)
                }
            };
            compiled.push((name, x));
        }
        compiled.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(RuleOutput { rule, message, extra: compiled, container_info })
    }

    /// Whether the output used the deprecated `%container.info` (removed from the message;
    /// Falco warns: "%container.info is deprecated and no more useful, and will be dropped
    /// by Falco 1.0.0. The container plugin will automatically add required fields to the
    /// output message.").
    pub fn uses_container_info(&self) -> bool {
        self.container_info
    }

    /// The rule.
    pub fn rule(&self) -> &AlertRule {
        &self.rule
    }

    /// The compiled message format.
    pub fn message_format(&self) -> &OutputFormat {
        &self.message
    }

    /// The message format as compiled: the rule's output and the appended texts.
    pub fn message_text(&self) -> &str {
        self.message.text()
    }

    /// Builds the alert for an event the rule matched. `hostname` is the host's name as the
    /// edge found it (`FALCO_HOSTNAME`, or the system's).
    pub fn alert(
        &self,
        ctx: &EventContext<'_>,
        hostname: &Arc<str>,
        scratch: &mut AlertScratch,
    ) -> Alert {
        let ts = ctx.event.ts();
        let mut message = String::with_capacity(self.message.text().len() + 64);
        format_into(&mut message, &self.message, ctx, scratch);
        let mut output_fields = Vec::with_capacity(self.message.resolutions.len());
        resolve_into(&mut output_fields, &self.message, ctx, scratch);
        let mut extra_fields = Vec::with_capacity(self.extra.len());
        for (name, x) in &self.extra {
            let value = match x {
                Extra::Formatted(f) => {
                    let mut s = String::new();
                    format_into(&mut s, f, ctx, scratch);
                    FieldValue::String(s)
                }
                Extra::Raw(f) => {
                    let mut v = Vec::new();
                    resolve_into(&mut v, f, ctx, scratch);
                    v.into_iter().find(|(n, _)| n == name).map_or(FieldValue::Null, |(_, v)| v)
                }
            };
            extra_fields.push((name.clone(), value));
        }
        Alert {
            time: ts,
            rule: self.rule.name.clone(),
            priority: self.rule.priority,
            source: self.rule.source.clone(),
            tags: self.rule.tags.clone(),
            hostname: hostname.clone(),
            message,
            output_fields,
            extra_fields,
        }
    }
}

/// Buffers reused from alert to alert (one per thread that builds alerts), and what stateful
/// fields (`evt.deltatime`, `util.cnt` ...) remember between the alerts of a format: libs
/// keeps that in the formatter, which Falco caches per format text, so lanner keys it by the
/// format text too. Per thread, as the formats are shared and immutable.
#[derive(Debug, Default)]
pub struct AlertScratch {
    values: Values,
    bytes: Vec<u8>,
    transformer: lanner_filter::Scratch,
    states: HashMap<Arc<str>, Vec<CheckState>>,
}

impl AlertScratch {
    /// The field states of a format: one per field piece, then one per `output_fields` field
    /// (libs compiles those separately).
    fn states(&mut self, format: &OutputFormat) -> Vec<CheckState> {
        let n = format.pieces.len() + format.resolutions.len();
        let mut states = self.states.remove(&format.text).unwrap_or_default();
        states.resize_with(n, CheckState::default);
        states
    }

    fn keep(&mut self, format: &OutputFormat, states: Vec<CheckState>) {
        self.states.insert(format.text.clone(), states);
    }
}

fn format_into(
    out: &mut String,
    format: &OutputFormat,
    ctx: &EventContext<'_>,
    scratch: &mut AlertScratch,
) {
    let mut states = scratch.states(format);
    for (piece, state) in format.pieces.iter().zip(&mut states) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Value { token, width } => {
                let start = out.len();
                match token {
                    Token::Field(field) => {
                        extract(field, ctx, Mode::Output, state, &mut scratch.values);
                        write_field_text(
                            out,
                            &mut scratch.bytes,
                            field,
                            &scratch.values,
                            &ctx.render,
                        );
                    }
                    Token::Transformer(x) => {
                        let values = x.extract(ctx, Mode::Output, &mut scratch.transformer);
                        write_transformed_text(out, values);
                    }
                }
                if *width != 0 {
                    apply_width(out, start, *width);
                }
            }
        }
    }
    scratch.keep(format, states);
}

fn resolve_into(
    out: &mut Vec<(Arc<str>, FieldValue)>,
    format: &OutputFormat,
    ctx: &EventContext<'_>,
    scratch: &mut AlertScratch,
) {
    let ts = ctx.event.ts();
    let mut states = scratch.states(format);
    for (r, state) in format.resolutions.iter().zip(&mut states[format.pieces.len()..]) {
        extract(&r.field, ctx, Mode::Output, state, &mut scratch.values);
        out.push((
            r.name.clone(),
            FieldValue::of_field(&r.field, &scratch.values, ts, &ctx.render),
        ));
    }
    scratch.keep(format, states);
}

/// A rule match: everything Falco's outputs print about it, owned, so that it can leave the
/// hot path (through a queue, to output channels on other threads).
///
/// The message is formatted when the alert is built (the event and the state it needs are
/// gone afterwards); the time prefix and the JSON layout are the renderers' business
/// ([`crate::render`]), since they depend on output options only.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// The event's timestamp, nanoseconds since the epoch.
    pub time: u64,
    /// The rule's name.
    pub rule: Arc<str>,
    /// The rule's priority.
    pub priority: Priority,
    /// The rule's source.
    pub source: Arc<str>,
    /// The rule's tags, sorted.
    pub tags: Arc<[Box<str>]>,
    /// The host's name.
    pub hostname: Arc<str>,
    /// The rule's output with the event's values: Falco's `message`.
    pub message: String,
    /// The typed values of the fields of the message format, sorted by name.
    pub output_fields: Vec<(Arc<str>, FieldValue)>,
    /// The `append_output` extra fields, sorted by name; in JSON they replace message fields
    /// of the same name.
    pub extra_fields: Vec<(Arc<str>, FieldValue)>,
}

impl Alert {
    /// An alert raised without an event (Falco's internal alerts: drops, metrics), with
    /// source `internal`-style metadata given by the caller.
    pub fn internal(rule: &AlertRule, time: u64, hostname: &Arc<str>, message: String) -> Alert {
        Alert {
            time,
            rule: rule.name.clone(),
            priority: rule.priority,
            source: rule.source.clone(),
            tags: rule.tags.clone(),
            hostname: hostname.clone(),
            message,
            output_fields: Vec::new(),
            extra_fields: Vec::new(),
        }
    }
}
