//! A parse plugin for lanner's plugin host tests, built with the `falco_plugin` SDK: it parses
//! every syscall event, keeps counts, and exposes them as fields.

use std::ffi::CStr;

use falco_plugin::anyhow::Error;
use falco_plugin::base::Plugin;
use falco_plugin::event::events::RawEvent;
use falco_plugin::extract::{ExtractFieldInfo, ExtractPlugin, ExtractRequest, field};
use falco_plugin::parse::{EventInput, ParseInput, ParsePlugin};
use falco_plugin::tables::TablesInput;
use falco_plugin::{extract_plugin, parse_plugin, plugin};

/// The plugin: what it has seen so far.
pub struct ParseCount {
    seen: u64,
    opens: u64,
}

impl Plugin for ParseCount {
    const NAME: &'static CStr = c"parsecount";
    const PLUGIN_VERSION: &'static CStr = c"1.2.0";
    const DESCRIPTION: &'static CStr = c"Counts the events it parses";
    const CONTACT: &'static CStr = c"lanner tests";
    type ConfigType = ();

    fn new(_input: Option<&TablesInput>, _config: ()) -> Result<Self, Error> {
        Ok(ParseCount { seen: 0, opens: 0 })
    }
}

impl ParsePlugin for ParseCount {
    type Event<'a> = RawEvent<'a>;

    fn parse_event(
        &mut self,
        event: &EventInput<RawEvent>,
        _input: &ParseInput,
    ) -> Result<(), Error> {
        let event = event.event()?;
        self.seen += 1;
        // openat exit (PPME_SYSCALL_OPENAT_2_X) and open exit (PPME_SYSCALL_OPEN_X).
        if matches!(event.event_type, 3 | 307) {
            self.opens += 1;
        }
        Ok(())
    }
}

impl ParseCount {
    fn extract_seen(&mut self, _req: ExtractRequest<Self>) -> Result<u64, Error> {
        Ok(self.seen)
    }

    fn extract_opens(&mut self, _req: ExtractRequest<Self>) -> Result<u64, Error> {
        Ok(self.opens)
    }

    fn extract_fail(&mut self, _req: ExtractRequest<Self>) -> Result<u64, Error> {
        Err(falco_plugin::anyhow::anyhow!("parsecount.fail always fails"))
    }
}

impl ExtractPlugin for ParseCount {
    type Event<'a> = RawEvent<'a>;
    type ExtractContext = ();
    const EXTRACT_FIELDS: &'static [ExtractFieldInfo<Self>] = &[
        field("parsecount.seen", &Self::extract_seen)
            .with_description("Events parsed so far, this one included"),
        field("parsecount.opens", &Self::extract_opens)
            .with_description("Open events parsed so far"),
        field("parsecount.fail", &Self::extract_fail).with_description("Always fails"),
    ];
}

plugin!(ParseCount);
parse_plugin!(ParseCount);
extract_plugin!(ParseCount);
