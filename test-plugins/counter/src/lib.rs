//! A source + extract plugin for lanner's plugin host tests, built with the `falco_plugin`
//! SDK: the `counter` event source emits `count` events (`"<prefix> <n>"`, n = 1..=count),
//! and fields read them back: a number, a string, a boolean, a list, a field with an index
//! argument and one with a key argument.

use std::ffi::{CStr, CString};

use falco_plugin::anyhow::{self, Error};
use falco_plugin::base::{Json, Metric, MetricLabel, MetricType, MetricValue, Plugin};
use falco_plugin::event::events::Event;
use falco_plugin::extract::{ExtractFieldInfo, ExtractPlugin, ExtractRequest, field};
use falco_plugin::schemars::JsonSchema;
use falco_plugin::serde::Deserialize;
use falco_plugin::source::{EventBatch, PluginEvent, SourcePlugin, SourcePluginInstance};
use falco_plugin::tables::TablesInput;
use falco_plugin::{FailureReason, extract_plugin, plugin, source_plugin};

/// The init config.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "falco_plugin::serde", deny_unknown_fields)]
#[schemars(crate = "falco_plugin::schemars")]
pub struct Config {
    /// How many events the source emits.
    count: u64,
    /// The text before each number.
    #[serde(default = "default_prefix")]
    prefix: String,
    /// Make `open` fail (to test error reporting).
    #[serde(default)]
    fail_open: bool,
}

fn default_prefix() -> String {
    "tick".to_owned()
}

/// The plugin.
pub struct Counter {
    config: Config,
    emitted: u64,
}

impl Plugin for Counter {
    const NAME: &'static CStr = c"counter";
    const PLUGIN_VERSION: &'static CStr = c"0.3.0";
    const DESCRIPTION: &'static CStr = c"Counts to a number, one event per step";
    const CONTACT: &'static CStr = c"lanner tests";
    type ConfigType = Json<Config>;

    fn new(_input: Option<&TablesInput>, Json(config): Self::ConfigType) -> Result<Self, Error> {
        Ok(Counter { config, emitted: 0 })
    }

    fn get_metrics(&mut self) -> impl IntoIterator<Item = Metric> {
        [Metric::new(
            MetricLabel::new(c"emitted", MetricType::Monotonic),
            MetricValue::U64(self.emitted),
        )]
    }
}

/// An open counter.
pub struct CounterInstance {
    next: u64,
}

impl SourcePlugin for Counter {
    type Instance = CounterInstance;
    const EVENT_SOURCE: &'static CStr = c"counter";
    const PLUGIN_ID: u32 = 999;
    type Event<'a> = Event<PluginEvent<&'a [u8]>>;

    fn open(&mut self, _params: Option<&str>) -> Result<Self::Instance, Error> {
        if self.config.fail_open {
            anyhow::bail!("counter refuses to open: fail_open is set");
        }
        Ok(CounterInstance { next: 1 })
    }

    fn event_to_string(
        &mut self,
        event: &falco_plugin::source::EventInput<Self::Event<'_>>,
    ) -> Result<CString, Error> {
        Ok(CString::new(event.event()?.params.event_data)?)
    }
}

impl SourcePluginInstance for CounterInstance {
    type Plugin = Counter;

    fn next_batch(&mut self, plugin: &mut Counter, batch: &mut EventBatch) -> Result<(), Error> {
        if self.next > plugin.config.count {
            return Err(anyhow::anyhow!("counted to the end").context(FailureReason::Eof));
        }
        // Four events a batch, to exercise batches.
        for _ in 0..4 {
            if self.next > plugin.config.count {
                break;
            }
            let data = format!("{} {}", plugin.config.prefix, self.next);
            batch.add(Self::plugin_event(data.as_bytes()))?;
            self.next += 1;
            plugin.emitted += 1;
        }
        Ok(())
    }
}

impl Counter {
    fn number(req: &ExtractRequest<Self>) -> Result<(String, u64), Error> {
        let event = req.event.event()?;
        let text = String::from_utf8(event.params.event_data.to_vec())?;
        let n = text.rsplit(' ').next().unwrap_or("").parse()?;
        Ok((text, n))
    }

    fn extract_n(&mut self, req: ExtractRequest<Self>) -> Result<u64, Error> {
        Ok(Self::number(&req)?.1)
    }

    fn extract_text(&mut self, req: ExtractRequest<Self>) -> Result<CString, Error> {
        Ok(CString::new(Self::number(&req)?.0)?)
    }

    fn extract_even(&mut self, req: ExtractRequest<Self>) -> Result<bool, Error> {
        Ok(Self::number(&req)?.1 % 2 == 0)
    }

    fn extract_divisors(&mut self, req: ExtractRequest<Self>) -> Result<Vec<u64>, Error> {
        let n = Self::number(&req)?.1;
        Ok((1..=n).filter(|d| n % d == 0).collect())
    }

    /// `counter.digit[i]`: the i-th decimal digit of the number, from the left.
    fn extract_digit(&mut self, req: ExtractRequest<Self>, i: u64) -> Result<CString, Error> {
        let n = Self::number(&req)?.1.to_string();
        let d = n.chars().nth(i as usize).ok_or_else(|| anyhow::anyhow!("no digit {i} in {n}"))?;
        Ok(CString::new(d.to_string())?)
    }

    /// `counter.tag[k]`: the key followed by the number.
    fn extract_tag(&mut self, req: ExtractRequest<Self>, key: &CStr) -> Result<CString, Error> {
        let n = Self::number(&req)?.1;
        Ok(CString::new(format!("{}{n}", key.to_string_lossy()))?)
    }
}

impl ExtractPlugin for Counter {
    type Event<'a> = Event<PluginEvent<&'a [u8]>>;
    type ExtractContext = ();
    const EXTRACT_FIELDS: &'static [ExtractFieldInfo<Self>] = &[
        field("counter.n", &Self::extract_n).with_description("The number of the event"),
        field("counter.text", &Self::extract_text).with_description("The event's text"),
        field("counter.even", &Self::extract_even).with_description("Whether the number is even"),
        field("counter.divisors", &Self::extract_divisors)
            .with_description("The divisors of the number"),
        field("counter.digit", &Self::extract_digit)
            .with_description("A decimal digit of the number, by index"),
        field("counter.tag", &Self::extract_tag).with_description("The key, then the number"),
    ];
}

plugin!(Counter);
source_plugin!(Counter);
extract_plugin!(Counter);
