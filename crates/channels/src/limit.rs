//! Rate limits on alerts: Falco's token bucket (`outputs.rate`, `outputs.max_burst`) and
//! lanner's per-rule flood guard (`outputs.flood_guard`). Both are pure: the caller passes the
//! time, in nanoseconds of a monotonic clock, so tests need no clock.

use std::collections::HashMap;
use std::sync::Arc;

use lanner_outputs::{Alert, AlertRule, FieldValue};

/// Falco's `token_bucket`: `rate` tokens a second, at most `max_burst` of them; it starts
/// full. One alert takes one token; an alert without a token is throttled (Falco drops it
/// with a debug log; lanner also counts it).
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    max: f64,
    tokens: f64,
    last: u64,
}

impl TokenBucket {
    /// A full bucket at time `now`. A rate of 0 lets everything through.
    pub fn new(rate: f64, max_burst: f64, now: u64) -> TokenBucket {
        TokenBucket { rate, max: max_burst, tokens: max_burst, last: now }
    }

    /// Takes a token if there is one.
    pub fn claim(&mut self, now: u64) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let elapsed = now.saturating_sub(self.last) as f64 / 1e9;
        self.tokens = (self.tokens + self.rate * elapsed).min(self.max);
        self.last = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// The rule name of the alerts that summarise suppressed ones.
pub const FLOOD_RULE: &str = "lanner internal: alerts suppressed";

/// Lets at most `max_alerts` alerts of one rule through per window; the rest are counted, and
/// when the window ends (or at a flush) one summary alert says how many were suppressed:
/// "N more alerts of rule X suppressed in the last T s". The rule is `FLOOD_RULE`, source
/// `internal`, with the rule's priority; `output_fields` carries `rule`, `suppressed` and
/// `window_s` for machines.
#[derive(Debug)]
pub struct FloodGuard {
    max: u64,
    window: u64,
    rules: HashMap<Arc<str>, Window>,
}

#[derive(Debug)]
struct Window {
    start: u64,
    passed: u64,
    suppressed: u64,
    /// The last suppressed alert: the summary takes its time, priority and host.
    last: Option<Alert>,
}

impl FloodGuard {
    /// A guard letting `max_alerts` alerts per rule through every `window_ns`; 0 alerts is off.
    pub fn new(max_alerts: u64, window_ns: u64) -> FloodGuard {
        FloodGuard { max: max_alerts, window: window_ns.max(1), rules: HashMap::new() }
    }

    /// Whether the guard does anything.
    pub fn is_on(&self) -> bool {
        self.max > 0
    }

    /// Whether `alert` may pass at `now`. When the rule's window is over and alerts were
    /// suppressed in it, their summary comes first in `summaries`.
    pub fn admit(&mut self, alert: &Alert, now: u64, summaries: &mut Vec<Alert>) -> bool {
        if self.max == 0 {
            return true;
        }
        let window = self.window;
        let w = self.rules.entry(alert.rule.clone()).or_insert(Window {
            start: now,
            passed: 0,
            suppressed: 0,
            last: None,
        });
        if now.saturating_sub(w.start) >= window {
            summaries.extend(w.summary(now));
            *w = Window { start: now, passed: 0, suppressed: 0, last: None };
        }
        if w.passed < self.max {
            w.passed += 1;
            true
        } else {
            w.suppressed += 1;
            w.last = Some(alert.clone());
            false
        }
    }

    /// Ends the windows that are over at `now`: their summaries, and the memory of quiet rules
    /// freed.
    pub fn expire(&mut self, now: u64, summaries: &mut Vec<Alert>) {
        let window = self.window;
        self.rules.retain(|_, w| {
            if now.saturating_sub(w.start) < window {
                return true;
            }
            summaries.extend(w.summary(now));
            false
        });
    }

    /// The summaries of every window with suppressed alerts, now (a flush or shutdown); the
    /// windows go on.
    pub fn drain(&mut self, now: u64, summaries: &mut Vec<Alert>) {
        for w in self.rules.values_mut() {
            summaries.extend(w.summary(now));
            w.suppressed = 0;
            w.last = None;
        }
    }
}

impl Window {
    fn summary(&self, now: u64) -> Option<Alert> {
        let last = self.last.as_ref().filter(|_| self.suppressed > 0)?;
        // Whole seconds, rounded up: "in the last 0 s" would read as nothing.
        let secs = now.saturating_sub(self.start).div_ceil(1_000_000_000).max(1);
        let rule = AlertRule::new(FLOOD_RULE, last.priority, "internal", []);
        let message = format!(
            "{} more alerts of rule {} suppressed in the last {secs} s",
            self.suppressed, last.rule
        );
        let mut alert = Alert::internal(&rule, last.time, &last.hostname, message);
        alert.output_fields = vec![
            ("rule".into(), FieldValue::String(last.rule.to_string())),
            ("suppressed".into(), FieldValue::Uint(self.suppressed)),
            ("window_s".into(), FieldValue::Uint(secs)),
        ];
        Some(alert)
    }
}

#[cfg(test)]
mod tests {
    use lanner_outputs::Priority;

    use super::*;

    const S: u64 = 1_000_000_000;

    fn alert(rule: &str) -> Alert {
        let rule = AlertRule::new(rule, Priority::Warning, "syscall", []);
        Alert::internal(&rule, 7, &Arc::from("h"), "m".into())
    }

    #[test]
    fn bucket_starts_full_and_refills_at_the_rate() {
        let mut b = TokenBucket::new(2.0, 3.0, 0);
        assert!((0..3).all(|_| b.claim(0)));
        assert!(!b.claim(0));
        // half a second: one token
        assert!(b.claim(S / 2));
        assert!(!b.claim(S / 2));
        // a long quiet time refills to max_burst only
        assert_eq!((0..10).filter(|_| b.claim(100 * S)).count(), 3);
        let mut off = TokenBucket::new(0.0, 0.0, 0);
        assert!((0..1000).all(|_| off.claim(0)));
    }

    #[test]
    fn flood_guard_summarises_what_it_suppresses() {
        let mut g = FloodGuard::new(2, 10 * S);
        let mut summaries = Vec::new();
        let passed = (0..5).filter(|_| g.admit(&alert("a"), S, &mut summaries)).count();
        assert_eq!(passed, 2);
        assert!(g.admit(&alert("b"), S, &mut summaries), "rules are counted apart");
        assert!(summaries.is_empty());
        // the next window: the summary of the last one comes first
        assert!(g.admit(&alert("a"), 11 * S, &mut summaries));
        assert_eq!(summaries.len(), 1);
        let s = &summaries[0];
        assert_eq!(&*s.rule, FLOOD_RULE);
        assert_eq!(s.priority, Priority::Warning);
        assert_eq!(&*s.source, "internal");
        assert_eq!(s.message, "3 more alerts of rule a suppressed in the last 10 s");
        // a window that ends with nothing suppressed says nothing, and is forgotten
        summaries.clear();
        g.expire(30 * S, &mut summaries);
        assert!(summaries.is_empty());
        assert!(g.rules.is_empty());
        // drain: what is pending now
        for _ in 0..4 {
            g.admit(&alert("c"), 31 * S, &mut summaries);
        }
        g.drain(31 * S, &mut summaries);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].message, "2 more alerts of rule c suppressed in the last 1 s");
        summaries.clear();
        g.drain(32 * S, &mut summaries);
        assert!(summaries.is_empty(), "a summary is given once");
    }
}
