//! `append_output` (falco.yaml): text appended to the outputs of some rules, and extra
//! fields for their JSON `output_fields`.

use std::collections::BTreeSet;

/// One `append_output` entry, resolved from falco.yaml:
///
/// ```yaml
/// append_output:
///   - match:
///       source: syscall
///       tags: [filesystem]
///       rule: open_from_cat
///     extra_output: "on %evt.hostname"
///     extra_fields:
///       - proc.pid                        # a raw field: typed, under its own name
///       - cmd: "%proc.name (%proc.pid)"   # a formatted field: a string
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendOutput {
    /// `match.source`: only rules of this source (any when `None`).
    pub source: Option<String>,
    /// `match.tags`: only rules that have every one of these tags.
    pub tags: BTreeSet<String>,
    /// `match.rule`: only the rule of this name (any when `None`).
    pub rule: Option<String>,
    /// `extra_output`: text appended to the rule's output, after a blank.
    pub extra_output: Option<String>,
    /// `extra_fields`: added to JSON `output_fields` only.
    pub extra_fields: Vec<ExtraField>,
    /// `suggested_output`: append `name_with_underscores=%name` for every field the rule's
    /// source suggests for outputs (after `extra_output`). falco.yaml's default is one entry
    /// with only this set, so with the container plugin loaded every syscall rule ends with
    /// `container_id=%container.id container_name=%container.name ...`.
    pub suggested_output: bool,
}

/// The fields of the registry that suggest themselves for outputs (`EPF_FORMAT_SUGGESTED`:
/// the container plugin's `container.id`, `container.name` ...), in registry order. Falco
/// suggests them only when the container plugin is loaded; the caller decides whether it is
/// and passes these, or none, to [`crate::RuleOutput::new`].
pub fn suggested_fields() -> impl Iterator<Item = &'static str> {
    lanner_fields::fields()
        .iter()
        .filter(|f| f.has(lanner_fields::epf::FORMAT_SUGGESTED))
        .map(|f| f.name)
}

/// Falco's text for a suggested field: `container.id` → `container_id=%container.id`.
pub(crate) fn suggested_format(field: &str) -> String {
    format!("{}=%{field}", field.replace('.', "_"))
}

/// An extra field of `append_output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtraField {
    /// A field name (`- proc.pid`): its typed value, under its name.
    Raw(String),
    /// `- name: format`: the format's text.
    Formatted {
        /// The key in `output_fields`.
        name: String,
        /// The format (`%proc.name (%proc.pid)`).
        format: String,
    },
}

impl ExtraField {
    /// The key in `output_fields`.
    pub fn name(&self) -> &str {
        match self {
            ExtraField::Raw(name) | ExtraField::Formatted { name, .. } => name,
        }
    }
}

impl AppendOutput {
    /// Whether the entry applies to a rule, as Falco's rule compiler decides: the same source
    /// (or none given), every tag of the entry among the rule's, the same rule name (or none
    /// given). Names and tags compare exactly.
    pub fn matches<'t>(
        &self,
        rule: &str,
        source: &str,
        rule_tags: impl IntoIterator<Item = &'t str>,
    ) -> bool {
        if self.source.as_deref().is_some_and(|s| !s.is_empty() && s != source) {
            return false;
        }
        if self.rule.as_deref().is_some_and(|r| !r.is_empty() && r != rule) {
            return false;
        }
        let tags: BTreeSet<&str> = rule_tags.into_iter().collect();
        self.tags.iter().all(|t| tags.contains(t.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_container_plugin_fields() {
        let names: Vec<&str> = suggested_fields().collect();
        assert_eq!(
            names,
            [
                "container.id",
                "container.name",
                "container.image.repository",
                "container.image.tag",
                "k8s.pod.name",
                "k8s.ns.name"
            ]
        );
        assert_eq!(suggested_format("k8s.pod.name"), "k8s_pod_name=%k8s.pod.name");
    }

    #[test]
    fn matches_source_tags_and_rule() {
        let any = AppendOutput::default();
        assert!(any.matches("r", "syscall", []));
        let e = AppendOutput {
            source: Some("syscall".into()),
            tags: ["a".to_owned(), "b".to_owned()].into(),
            ..AppendOutput::default()
        };
        assert!(e.matches("r", "syscall", ["c", "b", "a"]));
        assert!(!e.matches("r", "syscall", ["a"]));
        assert!(!e.matches("r", "k8s_audit", ["a", "b"]));
        let e = AppendOutput { rule: Some("open_from_cat".into()), ..AppendOutput::default() };
        assert!(e.matches("open_from_cat", "syscall", []));
        assert!(!e.matches("Open_From_Cat", "syscall", []));
        let e = AppendOutput { source: Some(String::new()), ..AppendOutput::default() };
        assert!(e.matches("x", "aws_cloudtrail", []));
    }
}
