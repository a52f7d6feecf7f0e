//! An async event plugin for lanner's plugin host tests, built with the `falco_plugin` SDK:
//! when async events start it emits `count` `ticker` events into the syscall stream, and a
//! field reads their data back.

use std::ffi::{CStr, CString};

use falco_plugin::anyhow::Error;
use falco_plugin::async_event::{AsyncEvent, AsyncEventPlugin, AsyncHandler};
use falco_plugin::base::{Json, Plugin};
use falco_plugin::event::events::Event;
use falco_plugin::extract::{ExtractFieldInfo, ExtractPlugin, ExtractRequest, field};
use falco_plugin::schemars::JsonSchema;
use falco_plugin::serde::Deserialize;
use falco_plugin::tables::TablesInput;
use falco_plugin::{async_event_plugin, extract_plugin, plugin};

/// The init config.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "falco_plugin::serde")]
#[schemars(crate = "falco_plugin::schemars")]
pub struct Config {
    /// How many async events to emit.
    count: u64,
}

/// The plugin.
pub struct Ticker {
    count: u64,
}

impl Plugin for Ticker {
    const NAME: &'static CStr = c"ticker";
    const PLUGIN_VERSION: &'static CStr = c"0.1.0";
    const DESCRIPTION: &'static CStr = c"Emits async events";
    const CONTACT: &'static CStr = c"lanner tests";
    type ConfigType = Json<Config>;

    fn new(_input: Option<&TablesInput>, Json(config): Self::ConfigType) -> Result<Self, Error> {
        Ok(Ticker { count: config.count })
    }
}

impl AsyncEventPlugin for Ticker {
    const ASYNC_EVENTS: &'static [&'static str] = &["ticker"];
    const EVENT_SOURCES: &'static [&'static str] = &["syscall"];

    fn start_async(&mut self, handler: AsyncHandler) -> Result<(), Error> {
        // All at once, so a test sees every one whatever the pace of the stream.
        for i in 1..=self.count {
            let data = format!("tick {i}");
            handler.emit(Self::async_event(c"ticker", data.as_bytes()))?;
        }
        Ok(())
    }

    fn stop_async(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

impl Ticker {
    fn extract_data(&mut self, req: ExtractRequest<Self>) -> Result<CString, Error> {
        let event = req.event.event()?;
        Ok(CString::new(event.params.data)?)
    }
}

impl ExtractPlugin for Ticker {
    type Event<'a> = Event<AsyncEvent<'a, &'a [u8]>>;
    type ExtractContext = ();
    const EXTRACT_FIELDS: &'static [ExtractFieldInfo<Self>] =
        &[field("ticker.data", &Self::extract_data).with_description("The data of a ticker event")];
}

plugin!(Ticker);
async_event_plugin!(Ticker);
extract_plugin!(Ticker);
