//! What the loader produces: rules resolved and compiled, ready for the engine.

use std::collections::BTreeSet;

use lanner_filter::{Filter, TypeSet};

use crate::diag::Position;
use crate::version::{PluginRequirementAlternatives, Provider, Version};

/// A rule's priority: the alert's ([`lanner_outputs::Priority`]), with Falco's names and
/// spellings.
pub use lanner_outputs::Priority;

/// A loaded rule: resolved (macros, lists, appends, overrides and exceptions folded in) and
/// compiled.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The rule's name, its identity across files.
    pub name: String,
    /// Its description (appends joined with a space).
    pub desc: String,
    /// Its event source (`syscall` unless stated).
    pub source: String,
    /// Its priority.
    pub priority: Priority,
    /// Its tags.
    pub tags: BTreeSet<String>,
    /// Whether the rule is enabled by default.
    pub enabled: bool,
    /// The condition as written, appends included, before exceptions, lists and macros
    /// (what `falco -L` shows as the rule's condition).
    pub condition: String,
    /// The condition after exceptions, lists and macros, printed as Falco prints compiled
    /// conditions (`(evt.type = open and proc.name in (sh, bash))`).
    pub compiled_condition: String,
    /// The compiled condition.
    pub filter: Filter,
    /// The output format as written (trimmed; `%container.info` removed), unformatted.
    pub output: String,
    /// The fields named by the exceptions.
    pub exception_fields: BTreeSet<String>,
    /// `capture`: start a capture when the rule fires.
    pub capture: bool,
    /// `capture_duration` in milliseconds (0: the configured default).
    pub capture_duration: u64,
    /// `warn_evttypes`.
    pub warn_evttypes: bool,
    /// `skip-if-unknown-filter`.
    pub skip_if_unknown_filter: bool,
    /// Where the rule was first defined.
    pub position: Position,
    /// The rule's place in definition order (0 first); redefinitions keep the first place.
    pub order: usize,
}

impl Rule {
    /// The event types the rule can match ([`Filter::event_types`]).
    pub fn event_types(&self) -> &TypeSet {
        self.filter.event_types()
    }
}

/// How a `required_plugin_versions` entry was satisfied, or why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginRequirementStatus {
    /// The requirement.
    pub requirement: PluginRequirementAlternatives,
    /// What satisfies it, or Falco's message saying why nothing does.
    pub result: Result<Provider, String>,
}

/// The rules of the loaded files, in definition order.
#[derive(Clone, Debug, Default)]
pub struct Ruleset {
    /// The rules, in order of first definition. Rules of sources that are not loaded are not
    /// here (they were skipped with a `LOAD_UNKNOWN_SOURCE` warning).
    pub rules: Vec<Rule>,
    /// The highest `required_engine_version` of the files.
    pub required_engine_version: Option<Version>,
    /// Every `required_plugin_versions` entry and how it was satisfied.
    pub plugin_requirements: Vec<PluginRequirementStatus>,
    /// How many lists and macros were defined (after redefinitions).
    pub list_count: usize,
    /// How many macros were defined (after redefinitions).
    pub macro_count: usize,
    /// How many rules were defined, skipped ones included.
    pub defined_rule_count: usize,
}

impl Ruleset {
    /// The rule of a name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities() {
        assert_eq!(Priority::parse("INFO"), Ok(Priority::Informational));
        assert_eq!(Priority::parse("warning"), Ok(Priority::Warning));
        assert_eq!(Priority::parse("Critical"), Ok(Priority::Critical));
        assert!(Priority::parse("loud").is_err());
        assert_eq!(Priority::Informational.to_string(), "Informational");
        assert!(Priority::Emergency < Priority::Debug);
    }
}
