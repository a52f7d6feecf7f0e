//! The rules engine's run-time half: which enabled rules an event matches.
//!
//! The rules loader turns rules files into compiled rules; this crate owns what happens to
//! them afterwards, as Falco's `evttype_index_ruleset` does:
//!
//! - **Selection.** Every rule is known to the engine; a subset is *enabled*. The default
//!   subset is the rules whose `enabled` flag is set and whose priority is at least as severe
//!   as the configured minimum. Selections by name (exact, substring or `*` wildcard) and by
//!   tag then enable or disable rules, in the order the caller applies them (`-D`, `-T`, `-t`
//!   on the command line, the `rules:` block of `falco.yaml`).
//! - **Index.** Each source keeps, per event type, the list of enabled rules that can match
//!   that type, in the order they were enabled (a rule enabled again after being disabled
//!   moves to the end, as in Falco). A rule whose condition does not constrain `evt.type` sits
//!   in every list. For an event only its type's list runs.
//! - **Matching.** [`Matching::First`] (Falco's default) stops at the first rule that matches;
//!   [`Matching::All`] reports every one.
//! - **Enter events.** Current Falco (libs ≥ 0.22) never shows rules the enter half of a
//!   syscall: its parameters are folded into the exit event. That is
//!   [`EnterEvents::Folded`], the default: enter events of syscalls match nothing, and on an
//!   exit event `evt.arg.*` finds the parameters the enter event carried (see
//!   [`lanner_fields::EventContext::fold_enter`]). [`EnterEvents::Visible`] is the legacy
//!   model older Falco had, where rules saw both halves as recorded; Falco's older test
//!   expectations (and golden alerts) were recorded with it.
//!
//! The engine evaluates; it does not format alerts nor own the state. A match is a
//! [`RuleId`]; the caller looks the rule up and builds the alert.
//!
//! ```
//! use lanner_engine::{Engine, EngineScratch, RuleEntry};
//! use lanner_filter::Filter;
//!
//! let rule = RuleEntry::new("open_from_cat", Filter::compile("evt.type=open and proc.name=cat")?);
//! let engine = Engine::new(vec![rule], lanner_engine::priority::DEBUG);
//! assert_eq!(engine.enabled_count(), 1);
//! let mut scratch = EngineScratch::for_engine(&engine);
//! # let _ = &mut scratch;
//! # Ok::<(), lanner_filter::CompileError>(())
//! ```

use std::collections::BTreeSet;

use lanner_event::table::{Direction, EVENT_MAX, EventFlags, event_info};
use lanner_fields::EventContext;
use lanner_filter::{Filter, Scratch, TypeSet};

/// Falco's priorities as numbers, most severe first (syslog's severities).
pub mod priority {
    /// `Emergency`.
    pub const EMERGENCY: u8 = 0;
    /// `Alert`.
    pub const ALERT: u8 = 1;
    /// `Critical`.
    pub const CRITICAL: u8 = 2;
    /// `Error`.
    pub const ERROR: u8 = 3;
    /// `Warning`.
    pub const WARNING: u8 = 4;
    /// `Notice`.
    pub const NOTICE: u8 = 5;
    /// `Informational`.
    pub const INFORMATIONAL: u8 = 6;
    /// `Debug`.
    pub const DEBUG: u8 = 7;
}

/// The source of syscall events.
pub const SYSCALL_SOURCE: &str = "syscall";

/// Event type code of plugin events: every event of a plugin source has it.
const PLUGIN_EVENT: u16 = 322;

/// A rule as the engine needs it.
#[derive(Clone, Debug)]
pub struct RuleEntry {
    /// The rule's name.
    pub name: String,
    /// Its event source (`syscall`, `k8s_audit`, ...).
    pub source: String,
    /// Its priority, as [`priority`] numbers (0 most severe).
    pub priority: u8,
    /// Its tags.
    pub tags: BTreeSet<String>,
    /// Its `enabled` flag in the rules files.
    pub enabled: bool,
    /// Its compiled condition.
    pub filter: Filter,
}

impl RuleEntry {
    /// An enabled syscall rule of priority `Warning`, without tags.
    pub fn new(name: impl Into<String>, filter: Filter) -> RuleEntry {
        RuleEntry {
            name: name.into(),
            source: SYSCALL_SOURCE.to_owned(),
            priority: priority::WARNING,
            tags: BTreeSet::new(),
            enabled: true,
            filter,
        }
    }
}

impl From<&lanner_rules::Rule> for RuleEntry {
    /// A loaded rule as the engine takes it.
    fn from(rule: &lanner_rules::Rule) -> RuleEntry {
        RuleEntry {
            name: rule.name.clone(),
            source: rule.source.clone(),
            priority: rule.priority as u8,
            tags: rule.tags.clone(),
            enabled: rule.enabled,
            filter: rule.filter.clone(),
        }
    }
}

/// A rule's position in the list given to [`Engine::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub u32);

/// An event source the engine has rules for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceId(u16);

/// How many rules one event may match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Matching {
    /// The first enabled rule that matches, in enabling order (`rule_matching: first`).
    #[default]
    First,
    /// Every enabled rule that matches (`rule_matching: all`).
    All,
}

/// What rules see of the two halves of a syscall.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EnterEvents {
    /// Current Falco: only exit events, with the enter event's parameters folded in.
    #[default]
    Folded,
    /// Falco before 0.42: both halves, as recorded.
    Visible,
}

/// How a name pattern selects rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameMatch {
    /// The whole name (the empty pattern selects every rule, as in Falco).
    Exact,
    /// Any part of the name (the empty pattern selects every rule).
    Substring,
    /// The whole name, `*` standing for any run of characters.
    Wildcard,
}

/// The rules of one source, indexed by event type.
#[derive(Clone, Debug)]
struct SourceIndex {
    name: String,
    /// Per event type code, the enabled rules that can match it, in enabling order.
    by_type: Vec<Vec<RuleId>>,
}

/// Rules indexed by source and event type, and which of them are enabled.
#[derive(Clone, Debug)]
pub struct Engine {
    rules: Vec<RuleEntry>,
    /// Per rule: its source, and the event types it is indexed under.
    rule_source: Vec<SourceId>,
    rule_types: Vec<Vec<u16>>,
    enabled: Vec<bool>,
    sources: Vec<SourceIndex>,
    matching: Matching,
    enter_events: EnterEvents,
}

impl Engine {
    /// An engine over `rules`, with the default selection: the rules whose `enabled` flag is
    /// set and whose priority is `min_priority` or more severe, enabled in the order given.
    pub fn new(rules: Vec<RuleEntry>, min_priority: u8) -> Engine {
        let mut sources: Vec<SourceIndex> = Vec::new();
        let mut rule_source = Vec::with_capacity(rules.len());
        let mut rule_types = Vec::with_capacity(rules.len());
        for rule in &rules {
            let source = match sources.iter().position(|s| s.name == rule.source) {
                Some(i) => i,
                None => {
                    sources.push(SourceIndex { name: rule.source.clone(), by_type: Vec::new() });
                    sources.len() - 1
                }
            };
            rule_source.push(SourceId(source as u16));
            rule_types.push(if rule.source == SYSCALL_SOURCE {
                rule.filter.event_types().iter().collect()
            } else {
                vec![PLUGIN_EVENT]
            });
        }
        let enabled = vec![false; rules.len()];
        let mut engine = Engine {
            rules,
            rule_source,
            rule_types,
            enabled,
            sources,
            matching: Matching::First,
            enter_events: EnterEvents::Folded,
        };
        for i in 0..engine.rules.len() {
            let rule = &engine.rules[i];
            if rule.enabled && rule.priority <= min_priority {
                engine.set_enabled(RuleId(i as u32), true);
            }
        }
        engine
    }

    /// Sets how many rules an event may match.
    pub fn set_matching(&mut self, matching: Matching) {
        self.matching = matching;
    }

    /// Sets what rules see of the two halves of a syscall.
    pub fn set_enter_events(&mut self, enter_events: EnterEvents) {
        self.enter_events = enter_events;
    }

    /// What rules see of the two halves of a syscall.
    pub fn enter_events(&self) -> EnterEvents {
        self.enter_events
    }

    /// Every rule, enabled or not, in the order given to [`Engine::new`].
    pub fn rules(&self) -> &[RuleEntry] {
        &self.rules
    }

    /// A rule.
    pub fn rule(&self, id: RuleId) -> &RuleEntry {
        &self.rules[id.0 as usize]
    }

    /// Whether a rule is enabled.
    pub fn is_enabled(&self, id: RuleId) -> bool {
        self.enabled[id.0 as usize]
    }

    /// How many rules are enabled.
    pub fn enabled_count(&self) -> usize {
        self.enabled.iter().filter(|&&e| e).count()
    }

    /// The source of that name, if any rule has it.
    pub fn source(&self, name: &str) -> Option<SourceId> {
        self.sources.iter().position(|s| s.name == name).map(|i| SourceId(i as u16))
    }

    /// The names of the sources rules were given for, in order of first appearance.
    pub fn source_names(&self) -> impl Iterator<Item = &str> {
        self.sources.iter().map(|s| s.name.as_str())
    }

    /// Enables or disables the rules whose name `pattern` selects. Returns how many rules it
    /// selected.
    pub fn enable_by_name(&mut self, pattern: &str, how: NameMatch, on: bool) -> usize {
        let selected: Vec<usize> = (0..self.rules.len())
            .filter(|&i| name_matches(&self.rules[i].name, pattern, how))
            .collect();
        for &i in &selected {
            self.set_enabled(RuleId(i as u32), on);
        }
        selected.len()
    }

    /// Enables or disables the rules that have at least one of `tags`. Returns how many rules
    /// it selected.
    pub fn enable_by_tags<S: AsRef<str>>(&mut self, tags: &[S], on: bool) -> usize {
        let selected: Vec<usize> = (0..self.rules.len())
            .filter(|&i| tags.iter().any(|t| self.rules[i].tags.contains(t.as_ref())))
            .collect();
        for &i in &selected {
            self.set_enabled(RuleId(i as u32), on);
        }
        selected.len()
    }

    /// Enables or disables one rule. Enabling appends it to the lists of its event types
    /// (after the rules already enabled); enabling an enabled rule changes nothing.
    pub fn set_enabled(&mut self, id: RuleId, on: bool) {
        let i = id.0 as usize;
        if self.enabled[i] == on {
            return;
        }
        self.enabled[i] = on;
        let index = &mut self.sources[usize::from(self.rule_source[i].0)];
        for &ty in &self.rule_types[i] {
            let ty = usize::from(ty);
            if on {
                if index.by_type.len() <= ty {
                    index.by_type.resize(ty + 1, Vec::new());
                }
                index.by_type[ty].push(id);
            } else if let Some(list) = index.by_type.get_mut(ty) {
                list.retain(|&r| r != id);
            }
        }
    }

    /// The event types the enabled rules of a source can match: what the capture must
    /// deliver for them (the state may need more, see [`Engine::state_types`]).
    pub fn event_types(&self, source: SourceId) -> TypeSet {
        let mut types = TypeSet::none();
        for (ty, list) in self.sources[usize::from(source.0)].by_type.iter().enumerate() {
            if !list.is_empty() {
                types.insert(ty as u16);
            }
        }
        types
    }

    /// The event types the state must see for the enabled syscall rules to be evaluated
    /// right: the union of their conditions' needs ([`Filter::state_types`]).
    pub fn state_types(&self) -> TypeSet {
        let mut types = TypeSet::none();
        for (i, rule) in self.rules.iter().enumerate() {
            if self.enabled[i] && rule.source == SYSCALL_SOURCE {
                for ty in rule.filter.state_types().iter() {
                    types.insert(ty);
                }
            }
        }
        types
    }

    /// Whether rules look at this event at all: with [`EnterEvents::Folded`], the enter half
    /// of a syscall is only for the state.
    #[inline]
    pub fn sees(&self, event_type: u16) -> bool {
        self.enter_events == EnterEvents::Visible || !is_syscall_enter(event_type)
    }

    /// The enabled rules of `source` the event matches: at most one with [`Matching::First`].
    /// With [`EnterEvents::Folded`], `ctx` should fold enter parameters
    /// ([`EventContext::fold_enter`], see [`Engine::folds_enter`]).
    pub fn evaluate<'s>(
        &self,
        source: SourceId,
        ctx: &EventContext<'_>,
        scratch: &'s mut EngineScratch,
    ) -> &'s [RuleId] {
        scratch.matches.clear();
        let code = ctx.event.event_type();
        if !self.sees(code) {
            return &scratch.matches;
        }
        let index = &self.sources[usize::from(source.0)];
        // Plugin sources' events are all PLUGIN_EVENT, the type their rules are indexed under.
        let Some(list) = index.by_type.get(usize::from(code)) else { return &scratch.matches };
        if scratch.filters.len() < self.rules.len() {
            scratch.filters.resize_with(self.rules.len(), Scratch::default);
        }
        for &id in list {
            let i = id.0 as usize;
            if self.rules[i].filter.matches(ctx, &mut scratch.filters[i]) {
                scratch.matches.push(id);
                if self.matching == Matching::First {
                    break;
                }
            }
        }
        &scratch.matches
    }

    /// Whether contexts made for this engine fold enter parameters into exit events
    /// ([`EventContext::fold_enter`]).
    pub fn folds_enter(&self) -> bool {
        self.enter_events == EnterEvents::Folded
    }
}

/// What evaluating rules needs besides the event, one per thread: each rule's filter scratch
/// (each rule keeps its own memory of process-tree checks) and the matches of the last event.
#[derive(Clone, Debug, Default)]
pub struct EngineScratch {
    filters: Vec<Scratch>,
    matches: Vec<RuleId>,
}

impl EngineScratch {
    /// Scratch sized for an engine's rules.
    pub fn for_engine(engine: &Engine) -> EngineScratch {
        EngineScratch {
            filters: engine.rules.iter().map(|r| Scratch::for_filter(&r.filter)).collect(),
            matches: Vec::new(),
        }
    }
}

/// Whether an event type is the enter half of a syscall that has an exit half: current libs
/// fold those into the exit event. Standalone events (process exit, scheduler switches,
/// signal deliveries, page faults, container, plugin and async events) stay visible.
pub fn is_syscall_enter(code: u16) -> bool {
    // Worked out once for the whole table: this is asked for every event.
    static ENTERS: std::sync::OnceLock<TypeSet> = std::sync::OnceLock::new();
    ENTERS
        .get_or_init(|| {
            let mut set = TypeSet::none();
            for code in 0..EVENT_MAX as u16 {
                if has_exit_half(code) {
                    set.insert(code);
                }
            }
            set
        })
        .contains(code)
}

fn has_exit_half(code: u16) -> bool {
    if usize::from(code) + 1 >= EVENT_MAX || Direction::of(code) != Direction::Enter {
        return false;
    }
    let (Some(enter), Some(exit)) = (event_info(code), event_info(code + 1)) else {
        return false;
    };
    enter.name == exit.name && !exit.flags.contains(EventFlags::UNUSED)
}

fn name_matches(name: &str, pattern: &str, how: NameMatch) -> bool {
    match how {
        NameMatch::Exact => pattern.is_empty() || name == pattern,
        NameMatch::Substring => name.contains(pattern),
        NameMatch::Wildcard => wildcard(pattern.as_bytes(), name.as_bytes()),
    }
}

/// `*` matches any run of bytes; every other byte matches itself.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard(b"*", b""));
        assert!(wildcard(b"open*", b"open_from_cat"));
        assert!(wildcard(b"*cat", b"open_from_cat"));
        assert!(wildcard(b"o*_*t", b"open_from_cat"));
        assert!(!wildcard(b"open", b"open_from_cat"));
        assert!(!wildcard(b"*dog", b"open_from_cat"));
        assert!(wildcard(b"Open From Cat ($\\.*", b"Open From Cat ($\\.*+?()[]{}|^)"));
    }

    #[test]
    fn syscall_enter_halves() {
        // open: 2 enter, 3 exit; procexit (PPME_PROCEXIT_1_E = 186) has no exit half;
        // switch (PPME_SCHEDSWITCH_6_E = 152) neither.
        assert!(is_syscall_enter(2));
        assert!(!is_syscall_enter(3));
        assert!(!is_syscall_enter(186));
        assert!(!is_syscall_enter(152));
        assert!(!is_syscall_enter(PLUGIN_EVENT));
    }
}
