//! lanner's `k8saudit` Falco plugin: Kubernetes audit events as the `k8s_audit` event
//! source (plugin id 1), with the `ka.*` fields of upstream's k8saudit plugin
//! (falcosecurity/plugins `plugins/k8saudit`, v0.18.0), built with the `falco_plugin` SDK.
//!
//! **Sourcing** (`open_params`, as upstream):
//! - `http://[host]:port/path` or `https://...`: a webhook for the API server's audit webhook
//!   backend ([`webhook`]); HTTPS uses the PEM file `sslCertificate` (certificate and key in
//!   one file). It never ends by itself.
//! - anything else: a file, or a directory whose files are read in modification-time order,
//!   holding JSON lines; each line is an audit `Event`, an `EventList` or an array of them
//!   ([`audit`]). A value spread over several lines (pretty-printed JSON) is read too. The
//!   capture ends (EOF) after the last line.
//!
//! A payload that is not an audit event is dropped with upstream's log line (e.g. "data not
//! recognized as a k8s audit event"), through the framework's log function; the capture
//! goes on. Each event is the audit event re-marshalled compactly (as upstream's fastjson
//! does), timestamped with its `stageTimestamp`.
//!
//! **Extraction**: the 71 fields of upstream's table plus the `initContainers` and
//! `ephemeralContainers` families the upstream rules use ([`fields`]), on `k8s_audit`
//! plugin events. The parsed event is cached by event number across fields.
//!
//! **Init config** (JSON; `{}` when empty, as libs does for plugins with a schema):
//! `sslCertificate` (default `/etc/falco/falco.pem`), `maxEventSize` (262144),
//! `webhookMaxBatchSize` (12582912), `useAsync` (accepted, ignored).
//!
//! The `cdylib` is `liblanner_plugin_k8saudit.so`; [`PLUGIN_API`] is the same vtable for
//! in-process hosts and tests.

use falco_plugin::FailureReason;
use falco_plugin::anyhow::{self, Error};
use falco_plugin::base::{Json, Plugin};
use falco_plugin::event::PluginEvent;
use falco_plugin::event::events::Event;
use falco_plugin::extract::{ExtractFieldInfo, ExtractPlugin, ExtractRequest, field};
use falco_plugin::schemars::JsonSchema;
use falco_plugin::serde::Deserialize;
use falco_plugin::source::{EventBatch, EventInput, SourcePlugin, SourcePluginInstance};
use falco_plugin::tables::TablesInput;
use fields::Arg;
use lanner_plugin_jsontree::{PerEvent, Value};
use lanner_plugin_support::{cstring, source_payload};
use std::ffi::{CStr, CString};

pub mod audit;
pub mod fields;
pub mod reader;
pub mod webhook;

/// The plugin id registered for k8saudit.
pub const PLUGIN_ID: u32 = 1;
/// Events handed to the framework per `next_batch` at most.
pub const MAX_BATCH: usize = 512;

/// The plugin's init config (upstream's `PluginConfig`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "falco_plugin::serde")]
#[schemars(crate = "falco_plugin::schemars")]
pub struct Config {
    /// The SSL Certificate to be used with the HTTPS Webhook endpoint (Default: /etc/falco/falco.pem)
    #[serde(rename = "sslCertificate", default = "default_cert")]
    pub ssl_certificate: String,
    /// If true then async extraction optimization is enabled (Default: true). Accepted and ignored.
    #[serde(rename = "useAsync", default)]
    pub use_async: Option<bool>,
    /// Maximum size of single audit event (Default: 262144)
    #[serde(rename = "maxEventSize", default = "default_event_size")]
    pub max_event_size: u64,
    /// Maximum size of incoming webhook POST request bodies (Default: 12582912)
    #[serde(rename = "webhookMaxBatchSize", default = "default_batch_size")]
    pub webhook_max_batch_size: u64,
}

fn default_cert() -> String {
    "/etc/falco/falco.pem".into()
}
fn default_event_size() -> u64 {
    256 * 1024
}
fn default_batch_size() -> u64 {
    12 * 1024 * 1024
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ssl_certificate: default_cert(),
            use_async: None,
            max_event_size: default_event_size(),
            webhook_max_batch_size: default_batch_size(),
        }
    }
}

/// Errors of `open`.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A scheme other than http/https.
    #[error("scheme \"{0}\" is not supported")]
    Scheme(String),
    /// The webhook could not start.
    #[error(transparent)]
    Webhook(#[from] webhook::WebhookError),
    /// The file or directory could not be opened.
    #[error(transparent)]
    File(#[from] reader::ReaderError),
}

source_payload! {
    /// The payload of k8saudit's plugin events: JSON bytes of the `k8s_audit` source.
    pub struct AuditPayload for "k8s_audit";
}

type AuditEventRef<'a> = Event<PluginEvent<AuditPayload<'a>>>;

/// The k8saudit plugin.
#[derive(Debug)]
pub struct K8sAuditPlugin {
    config: Config,
    parsed: PerEvent,
}

impl Plugin for K8sAuditPlugin {
    const NAME: &'static CStr = c"k8saudit";
    const PLUGIN_VERSION: &'static CStr = c"0.18.0";
    const DESCRIPTION: &'static CStr =
        c"Read Kubernetes Audit Events and monitor Kubernetes Clusters";
    const CONTACT: &'static CStr = c"https://github.com/lanner-project/lanner";
    type ConfigType = Json<Config>;

    fn new(_input: Option<&TablesInput>, Json(config): Self::ConfigType) -> Result<Self, Error> {
        Ok(K8sAuditPlugin { config, parsed: PerEvent::default() })
    }
}

/// An open capture: a webhook or files.
#[derive(Debug)]
pub enum K8sAuditInstance {
    /// The webhook.
    Webhook(webhook::Webhook),
    /// A file or directory.
    File(reader::AuditReader),
}

impl K8sAuditPlugin {
    /// Opens a capture from `open_params` (see the crate docs).
    pub fn open_params(config: &Config, params: &str) -> Result<K8sAuditInstance, OpenError> {
        let scheme = params.split_once("://").map(|(s, _)| s);
        match scheme {
            Some(s @ ("http" | "https")) => {
                let rest = &params[s.len() + 3..];
                let (address, path) = match rest.find('/') {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, ""),
                };
                let address = address.split('?').next().unwrap_or(address);
                let path = path.split('?').next().unwrap_or(path);
                let cfg = webhook::WebhookConfig {
                    address: address.to_string(),
                    path: path.to_string(),
                    tls_pem: (s == "https").then(|| config.ssl_certificate.clone()),
                    max_body: config.webhook_max_batch_size,
                    max_event_size: config.max_event_size,
                };
                Ok(K8sAuditInstance::Webhook(webhook::Webhook::start(cfg)?))
            }
            Some(other)
                if !other.is_empty()
                    && other.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                Err(OpenError::Scheme(other.to_string()))
            }
            _ => Ok(K8sAuditInstance::File(reader::AuditReader::open(
                params.trim(),
                config.max_event_size,
                config.webhook_max_batch_size,
            )?)),
        }
    }

    fn parsed(&mut self, req: &ExtractRequest<'_, '_, '_, '_, Self>) -> Result<&Value, Error> {
        let event = req.event.event()?;
        self.parsed.get_or_parse(req.event.event_number(), event.params.event_data.0, |data| {
            // upstream's quick check: only `{` or `[` can start an audit event.
            if !matches!(data.first(), Some(b'{' | b'[')) {
                return Err(anyhow::anyhow!("broken JSON data"));
            }
            Ok(Value::parse(data)?)
        })
    }

    fn one(
        &mut self,
        req: ExtractRequest<Self>,
        name: &str,
        arg: Arg<'_>,
    ) -> Result<Option<CString>, Error> {
        let root = self.parsed(&req)?;
        Ok(match fields::extract(root, name, arg)? {
            None => None,
            Some(fields::Out::One(s)) => Some(cstring(s)),
            Some(fields::Out::List(v)) => v.into_iter().next().map(cstring),
        })
    }

    fn many(
        &mut self,
        req: ExtractRequest<Self>,
        name: &str,
        arg: Arg<'_>,
    ) -> Result<Option<Vec<CString>>, Error> {
        let root = self.parsed(&req)?;
        Ok(match fields::extract(root, name, arg)? {
            None => None,
            Some(fields::Out::One(s)) => Some(vec![cstring(s)]),
            Some(fields::Out::List(v)) => Some(v.into_iter().map(cstring).collect()),
        })
    }
}

impl SourcePlugin for K8sAuditPlugin {
    type Instance = K8sAuditInstance;
    type Event<'a> = AuditEventRef<'a>;
    const EVENT_SOURCE: &'static CStr = c"k8s_audit";
    const PLUGIN_ID: u32 = PLUGIN_ID;

    fn open(&mut self, params: Option<&str>) -> Result<Self::Instance, Error> {
        Ok(Self::open_params(&self.config, params.unwrap_or(""))?)
    }

    fn event_to_string(&mut self, event: &EventInput<Self::Event<'_>>) -> Result<CString, Error> {
        let event = event.event()?;
        Ok(cstring(String::from_utf8_lossy(event.params.event_data.0).into_owned()))
    }
}

impl SourcePluginInstance for K8sAuditInstance {
    type Plugin = K8sAuditPlugin;

    fn next_batch(
        &mut self,
        _plugin: &mut Self::Plugin,
        batch: &mut EventBatch,
    ) -> Result<(), Error> {
        let events = match self {
            K8sAuditInstance::Webhook(w) => w.next_events(MAX_BATCH),
            K8sAuditInstance::File(r) => {
                let events = r.next_events(MAX_BATCH)?;
                if events.is_empty() {
                    return Err(anyhow::anyhow!("end of audit events").context(FailureReason::Eof));
                }
                events
            }
        };
        if events.is_empty() {
            return Err(anyhow::anyhow!("no audit event yet").context(FailureReason::Timeout));
        }
        batch.reserve(events.len());
        for e in &events {
            let mut event = Self::plugin_event(&e.data);
            event.metadata.ts = e.ts;
            batch.add(event)?;
        }
        Ok(())
    }
}

macro_rules! ka_fields {
    ($( $m:ident $kind:ident $name:literal $desc:literal ;)*) => {
        impl K8sAuditPlugin {
            $( ka_fields!(@method $m $kind $name); )*
        }
        const KA_FIELDS: &[ExtractFieldInfo<K8sAuditPlugin>] = &[
            $( field($name, &K8sAuditPlugin::$m).with_description($desc), )*
        ];
    };
    (@method $m:ident one $name:literal) => {
        fn $m(&mut self, req: ExtractRequest<Self>) -> Result<Option<CString>, Error> {
            self.one(req, $name, Arg::None)
        }
    };
    (@method $m:ident list $name:literal) => {
        fn $m(&mut self, req: ExtractRequest<Self>) -> Result<Option<Vec<CString>>, Error> {
            self.many(req, $name, Arg::None)
        }
    };
    (@method $m:ident index $name:literal) => {
        fn $m(&mut self, req: ExtractRequest<Self>, arg: Option<u64>) -> Result<Option<Vec<CString>>, Error> {
            self.many(req, $name, arg.map_or(Arg::None, Arg::Index))
        }
    };
    (@method $m:ident key $name:literal) => {
        fn $m(&mut self, req: ExtractRequest<Self>, arg: &CStr) -> Result<Option<CString>, Error> {
            let key = arg.to_string_lossy();
            self.one(req, $name, Arg::Key(&key))
        }
    };
}

ka_fields! {
    f0 one "ka.auditid" "The unique id of the audit event";
    f1 one "ka.stage" "Stage of the request (e.g. RequestReceived, ResponseComplete, etc.)";
    f2 one "ka.auth.decision" "The authorization decision";
    f3 one "ka.auth.reason" "The authorization reason";
    f4 one "ka.auth.openshift.decision" "The authentication decision of the openshfit apiserver extention. Only available on openshift clusters";
    f5 one "ka.validations.admission.policy.failure" "The validation failure reason from a Validation Admission Policy";
    f6 one "ka.security.pod.violations" "The violation reason for pod security policy ";
    f7 one "ka.auth.openshift.username" "The user name performing the openshift authentication operation. Only available on openshift clusters";
    f8 one "ka.user.name" "The user name performing the request";
    f9 list "ka.user.groups" "The groups to which the user belongs";
    f10 one "ka.impuser.name" "The impersonated user name";
    f11 one "ka.verb" "The action being performed";
    f12 one "ka.uri" "The request URI as sent from client to server";
    f13 key "ka.uri.param" "The value of a given query parameter in the uri (e.g. when uri=/foo?key=val, ka.uri.param[key] is val).";
    f14 one "ka.target.name" "The target object name";
    f15 one "ka.target.namespace" "The target object namespace";
    f16 one "ka.target.resource" "The target object resource";
    f17 one "ka.target.subresource" "The target object subresource";
    f18 one "ka.target.pod.name" "The target pod name";
    f19 list "ka.req.binding.subjects" "When the request object refers to a cluster role binding, the subject (e.g. account/users) being linked by the binding";
    f20 list "ka.req.binding.subjects.user_names" "When the request object refers to a cluster role binding, the subject user names being linked by the binding";
    f21 list "ka.req.binding.subjects.serviceaccount_names" "When the request object refers to a cluster role binding, the subject service account names being linked by the binding";
    f22 list "ka.req.binding.subjects.serviceaccount_ns_names" "When the request object refers to a cluster role binding, the subject serviceaccount namespaced names being linked by the binding, e.g. a list containing: mynamespace:myserviceaccount";
    f23 list "ka.req.binding.subjects.group_names" "When the request object refers to a cluster role binding, the subject group names being linked by the binding";
    f24 one "ka.req.binding.role" "When the request object refers to a cluster role binding, the role being linked by the binding";
    f25 key "ka.req.binding.subject.has_name" "Deprecated, always returns \"N/A\". Only provided for backwards compatibility";
    f26 one "ka.req.configmap.name" "If the request object refers to a configmap, the configmap name";
    f27 one "ka.req.configmap.obj" "If the request object refers to a configmap, the entire configmap object";
    f28 index "ka.req.pod.containers.args" "When the request object refers to a pod, the container's args.";
    f29 index "ka.req.pod.containers.command" "When the request object refers to a pod, the container's command.";
    f30 index "ka.req.pod.containers.name" "When the request object refers to a pod, the container's names.";
    f31 index "ka.req.pod.containers.image" "When the request object refers to a pod, the container's images.";
    f32 one "ka.req.container.image" "Deprecated by ka.req.pod.containers.image. Returns the image of the first container only";
    f33 index "ka.req.pod.containers.image.repository" "The same as req.container.image, but only the repository part (e.g. falcosecurity/falco).";
    f34 one "ka.req.container.image.repository" "Deprecated by ka.req.pod.containers.image.repository. Returns the repository of the first container only";
    f35 one "ka.req.pod.host_ipc" "When the request object refers to a pod, the value of the hostIPC flag.";
    f36 one "ka.req.pod.host_network" "When the request object refers to a pod, the value of the hostNetwork flag.";
    f37 one "ka.req.container.host_network" "Deprecated alias for ka.req.pod.host_network";
    f38 one "ka.req.pod.host_pid" "When the request object refers to a pod, the value of the hostPID flag.";
    f39 index "ka.req.pod.containers.host_port" "When the request object refers to a pod, all container's hostPort values.";
    f40 index "ka.req.pod.containers.privileged" "When the request object refers to a pod, the value of the privileged flag for all containers.";
    f41 one "ka.req.container.privileged" "Deprecated by ka.req.pod.containers.privileged. Returns true if any container has privileged=true";
    f42 index "ka.req.pod.containers.allow_privilege_escalation" "When the request object refers to a pod, the value of the allowPrivilegeEscalation flag for all containers";
    f43 index "ka.req.pod.containers.read_only_fs" "When the request object refers to a pod, the value of the readOnlyRootFilesystem flag for all containers";
    f44 one "ka.req.pod.run_as_user" "When the request object refers to a pod, the runAsUser uid specified in the security context for the pod. See ....containers.run_as_user for the runAsUser for individual containers";
    f45 index "ka.req.pod.containers.run_as_user" "When the request object refers to a pod, the runAsUser uid for all containers";
    f46 index "ka.req.pod.containers.eff_run_as_user" "When the request object refers to a pod, the initial uid that will be used for all containers. This combines information from both the pod and container security contexts and uses 0 if no uid is specified";
    f47 one "ka.req.pod.run_as_group" "When the request object refers to a pod, the runAsGroup gid specified in the security context for the pod. See ....containers.run_as_group for the runAsGroup for individual containers";
    f48 index "ka.req.pod.containers.run_as_group" "When the request object refers to a pod, the runAsGroup gid for all containers";
    f49 index "ka.req.pod.containers.eff_run_as_group" "When the request object refers to a pod, the initial gid that will be used for all containers. This combines information from both the pod and container security contexts and uses 0 if no gid is specified";
    f50 index "ka.req.pod.containers.proc_mount" "When the request object refers to a pod, the procMount types for all containers";
    f51 list "ka.req.role.rules" "When the request object refers to a role/cluster role, the rules associated with the role";
    f52 index "ka.req.role.rules.apiGroups" "When the request object refers to a role/cluster role, the api groups associated with the role's rules";
    f53 index "ka.req.role.rules.nonResourceURLs" "When the request object refers to a role/cluster role, the non resource urls associated with the role's rules";
    f54 index "ka.req.role.rules.verbs" "When the request object refers to a role/cluster role, the verbs associated with the role's rules";
    f55 index "ka.req.role.rules.resources" "When the request object refers to a role/cluster role, the resources associated with the role's rules";
    f56 one "ka.req.pod.fs_group" "When the request object refers to a pod, the fsGroup gid specified by the security context.";
    f57 list "ka.req.pod.supplemental_groups" "When the request object refers to a pod, the supplementalGroup gids specified by the security context.";
    f58 index "ka.req.pod.containers.add_capabilities" "When the request object refers to a pod, all capabilities to add when running the container.";
    f59 one "ka.req.service.type" "When the request object refers to a service, the service type";
    f60 index "ka.req.service.ports" "When the request object refers to a service, the service's ports";
    f61 index "ka.req.pod.volumes.hostpath" "When the request object refers to a pod, all hostPath paths specified for all volumes";
    f62 key "ka.req.volume.hostpath" "Deprecated by ka.req.pod.volumes.hostpath. Return true if the provided (host) path prefix is used by any volume";
    f63 index "ka.req.pod.volumes.flexvolume_driver" "When the request object refers to a pod, all flexvolume drivers specified for all volumes";
    f64 index "ka.req.pod.volumes.volume_type" "When the request object refers to a pod, all volume types for all volumes";
    f65 one "ka.resp.name" "The response object name";
    f66 one "ka.response.code" "The response code";
    f67 one "ka.response.reason" "The response reason (usually present only for failures)";
    f68 one "ka.useragent" "The useragent of the client who made the request to the apiserver";
    f69 index "ka.sourceips" "The IP addresses of the client who made the request to the apiserver";
    f70 one "ka.cluster.name" "The name of the k8s cluster";
    f71 index "ka.req.pod.initContainers.args" "When the request object refers to a pod, the init container's args.";
    f72 index "ka.req.pod.initContainers.command" "When the request object refers to a pod, the init container's command.";
    f73 index "ka.req.pod.initContainers.name" "When the request object refers to a pod, the init container's names.";
    f74 index "ka.req.pod.initContainers.image" "When the request object refers to a pod, the init container's images.";
    f75 index "ka.req.pod.initContainers.image.repository" "The same as req.init container.image, but only the repository part (e.g. falcosecurity/falco).";
    f76 index "ka.req.pod.initContainers.host_port" "When the request object refers to a pod, all init container's hostPort values.";
    f77 index "ka.req.pod.initContainers.privileged" "When the request object refers to a pod, the value of the privileged flag for all init containers.";
    f78 index "ka.req.pod.initContainers.allow_privilege_escalation" "When the request object refers to a pod, the value of the allowPrivilegeEscalation flag for all init containers";
    f79 index "ka.req.pod.initContainers.read_only_fs" "When the request object refers to a pod, the value of the readOnlyRootFilesystem flag for all init containers";
    f80 index "ka.req.pod.initContainers.run_as_user" "When the request object refers to a pod, the runAsUser uid for all init containers";
    f81 index "ka.req.pod.initContainers.eff_run_as_user" "When the request object refers to a pod, the initial uid that will be used for all init containers. This combines information from both the pod and container security contexts and uses 0 if no uid is specified";
    f82 index "ka.req.pod.initContainers.run_as_group" "When the request object refers to a pod, the runAsGroup gid for all init containers";
    f83 index "ka.req.pod.initContainers.eff_run_as_group" "When the request object refers to a pod, the initial gid that will be used for all init containers. This combines information from both the pod and container security contexts and uses 0 if no gid is specified";
    f84 index "ka.req.pod.initContainers.proc_mount" "When the request object refers to a pod, the procMount types for all init containers";
    f85 index "ka.req.pod.initContainers.add_capabilities" "When the request object refers to a pod, all capabilities to add when running the init container.";
    f86 index "ka.req.pod.ephemeralContainers.args" "When the request object refers to a pod, the ephemeral container's args.";
    f87 index "ka.req.pod.ephemeralContainers.command" "When the request object refers to a pod, the ephemeral container's command.";
    f88 index "ka.req.pod.ephemeralContainers.name" "When the request object refers to a pod, the ephemeral container's names.";
    f89 index "ka.req.pod.ephemeralContainers.image" "When the request object refers to a pod, the ephemeral container's images.";
    f90 index "ka.req.pod.ephemeralContainers.image.repository" "The same as req.ephemeral container.image, but only the repository part (e.g. falcosecurity/falco).";
    f91 index "ka.req.pod.ephemeralContainers.host_port" "When the request object refers to a pod, all ephemeral container's hostPort values.";
    f92 index "ka.req.pod.ephemeralContainers.privileged" "When the request object refers to a pod, the value of the privileged flag for all ephemeral containers.";
    f93 index "ka.req.pod.ephemeralContainers.allow_privilege_escalation" "When the request object refers to a pod, the value of the allowPrivilegeEscalation flag for all ephemeral containers";
    f94 index "ka.req.pod.ephemeralContainers.read_only_fs" "When the request object refers to a pod, the value of the readOnlyRootFilesystem flag for all ephemeral containers";
    f95 index "ka.req.pod.ephemeralContainers.run_as_user" "When the request object refers to a pod, the runAsUser uid for all ephemeral containers";
    f96 index "ka.req.pod.ephemeralContainers.eff_run_as_user" "When the request object refers to a pod, the initial uid that will be used for all ephemeral containers. This combines information from both the pod and container security contexts and uses 0 if no uid is specified";
    f97 index "ka.req.pod.ephemeralContainers.run_as_group" "When the request object refers to a pod, the runAsGroup gid for all ephemeral containers";
    f98 index "ka.req.pod.ephemeralContainers.eff_run_as_group" "When the request object refers to a pod, the initial gid that will be used for all ephemeral containers. This combines information from both the pod and container security contexts and uses 0 if no gid is specified";
    f99 index "ka.req.pod.ephemeralContainers.proc_mount" "When the request object refers to a pod, the procMount types for all ephemeral containers";
    f100 index "ka.req.pod.ephemeralContainers.add_capabilities" "When the request object refers to a pod, all capabilities to add when running the ephemeral container.";
}

impl ExtractPlugin for K8sAuditPlugin {
    type Event<'a> = AuditEventRef<'a>;
    type ExtractContext = ();
    const EXTRACT_FIELDS: &'static [ExtractFieldInfo<Self>] = KA_FIELDS;
}

/// The C ABI: the `plugin_*` symbols of the `.so`, and the same functions as a vtable.
mod ffi {
    use super::K8sAuditPlugin;
    use falco_plugin::{extract_plugin, plugin, source_plugin};

    plugin!(K8sAuditPlugin);
    source_plugin!(K8sAuditPlugin);
    extract_plugin!(K8sAuditPlugin);

    pub(crate) static PLUGIN_API: falco_plugin::api::plugin_api = __plugin_base_api();
}

/// The plugin's vtable, for hosts that link the plugin instead of loading its `.so`, and for
/// tests. Do not link two lanner plugin crates into one binary: both export `plugin_*`.
pub static PLUGIN_API: &falco_plugin::api::plugin_api = &ffi::PLUGIN_API;
