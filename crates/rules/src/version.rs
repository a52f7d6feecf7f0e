//! Versions: the engine version lanner implements, and the requirements rules files state
//! (`required_engine_version`, `required_plugin_versions`).

use std::fmt;

/// A `major.minor.patch` version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
}

impl Version {
    /// A version from its parts.
    pub const fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version { major, minor, patch }
    }

    /// Parses `x.y.z` as libsinsp's `sinsp_version` does: three dot-separated unsigned numbers,
    /// anything after the third number (`-rc1`, `+build`) ignored.
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.splitn(3, '.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let rest = parts.next()?;
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let patch = rest[..digits].parse().ok()?;
        Some(Version { major, minor, patch })
    }

    /// Whether something of this version satisfies a requirement of `required`: same major,
    /// and not older.
    pub fn compatible_with(self, required: Version) -> bool {
        self.major == required.major && self >= required
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The Falco engine version whose rules language lanner implements (Falco master's).
pub const ENGINE_VERSION: Version = Version::new(0, 63, 0);

/// A plugin the caller has loaded: its name and version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    /// The plugin's name (`k8saudit`, `json` ...).
    pub name: String,
    /// Its version.
    pub version: Version,
}

/// One requirement of `required_plugin_versions`: a plugin and the version it must at least
/// have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginRequirement {
    /// The plugin's name.
    pub name: String,
    /// The version as written.
    pub version: String,
}

/// An entry of `required_plugin_versions`: the plugin, or one of its alternatives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginRequirementAlternatives {
    /// The plugin named by the entry first, then its alternatives.
    pub alternatives: Vec<PluginRequirement>,
}

/// What satisfied a plugin requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provider {
    /// lanner itself: the fields of the plugin are built in (the `container` plugin).
    BuiltIn {
        /// The plugin whose role lanner plays.
        plugin: String,
    },
    /// A plugin the caller loaded.
    Plugin(PluginInfo),
}

/// Plugins whose fields lanner has built in, so that rules requiring them load without them.
/// The version is the one lanner's fields correspond to.
pub const BUILT_IN_PLUGINS: &[(&str, Version)] = &[("container", Version::new(0, 7, 0))];

impl PluginRequirementAlternatives {
    /// What satisfies the requirement, or Falco's message saying why nothing does.
    pub fn check(&self, loaded: &[PluginInfo]) -> Result<Provider, String> {
        let mut incompatible = None;
        for req in &self.alternatives {
            let Some(required) = Version::parse(&req.version) else {
                return Err(format!(
                    "Invalid required version '{}' for plugin '{}'",
                    req.version, req.name
                ));
            };
            if let Some(p) = loaded.iter().find(|p| p.name == req.name) {
                if p.version.compatible_with(required) {
                    return Ok(Provider::Plugin(p.clone()));
                }
                incompatible.get_or_insert(format!(
                    "Plugin '{}' version '{}' is not compatible with required plugin version '{}'",
                    p.name, p.version, req.version
                ));
                continue;
            }
            if let Some((name, v)) = BUILT_IN_PLUGINS.iter().find(|(n, _)| *n == req.name)
                && v.compatible_with(required)
            {
                return Ok(Provider::BuiltIn { plugin: (*name).to_owned() });
            }
        }
        if let Some(msg) = incompatible {
            return Err(msg);
        }
        let names: Vec<String> =
            self.alternatives.iter().map(|r| format!("{} (>= {})", r.name, r.version)).collect();
        Err(format!("Plugin requirement not satisfied, must load one of: {}", names.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_compares() {
        assert_eq!(Version::parse("0.57.0"), Some(Version::new(0, 57, 0)));
        assert_eq!(Version::parse("1.2.3-rc1"), Some(Version::new(1, 2, 3)));
        assert_eq!(Version::parse("seven"), None);
        assert_eq!(Version::parse("1.2"), None);
        assert!(ENGINE_VERSION.compatible_with(Version::new(0, 26, 0)));
        assert!(!ENGINE_VERSION.compatible_with(Version::new(0, 64, 0)));
        assert!(!ENGINE_VERSION.compatible_with(Version::new(1, 0, 0)));
    }

    #[test]
    fn plugin_requirements() {
        let req = |n: &str, v: &str| PluginRequirement { name: n.into(), version: v.into() };
        let container =
            PluginRequirementAlternatives { alternatives: vec![req("container", "0.4.0")] };
        assert_eq!(container.check(&[]), Ok(Provider::BuiltIn { plugin: "container".into() }));
        let k8s = PluginRequirementAlternatives {
            alternatives: vec![req("k8saudit", "0.7.0"), req("k8saudit-eks", "0.2.0")],
        };
        assert_eq!(
            k8s.check(&[]).unwrap_err(),
            "Plugin requirement not satisfied, must load one of: k8saudit (>= 0.7.0), k8saudit-eks (>= 0.2.0)"
        );
        let eks = PluginInfo { name: "k8saudit-eks".into(), version: Version::new(0, 3, 1) };
        assert_eq!(k8s.check(std::slice::from_ref(&eks)), Ok(Provider::Plugin(eks)));
        let old = PluginInfo { name: "k8saudit".into(), version: Version::new(0, 6, 0) };
        assert_eq!(
            k8s.check(&[old]).unwrap_err(),
            "Plugin 'k8saudit' version '0.6.0' is not compatible with required plugin version '0.7.0'"
        );
    }
}
