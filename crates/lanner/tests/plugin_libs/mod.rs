//! The plugin `.so` files the tests load: lanner's own plugins (`plugins/`: k8saudit, json,
//! cloudtrail) and the SDK test plugins (`test-plugins/`), built once per test binary in a
//! target directory of their own (so the build does not wait for the one running the
//! tests); and Falco's test configurations with their plugin paths pointed at them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Builds the plugins (once) and returns the directory of the `.so` files.
pub(crate) fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target = root.join("target/test-plugins");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build.current_dir(&root).args(["build", "--quiet", "--locked"]);
        for p in ["k8saudit", "json", "cloudtrail"] {
            build.args(["-p", &format!("lanner-plugin-{p}")]);
        }
        for p in ["counter", "parse", "async", "future"] {
            build.args(["-p", &format!("lanner-test-plugin-{p}")]);
        }
        let status = build.arg("--target-dir").arg(&target).status().expect("cargo runs");
        assert!(status.success(), "building the plugins failed");
        target.join("debug")
    })
}

/// The `.so` of one of lanner's plugins (`k8saudit`, `json`, `cloudtrail`).
pub(crate) fn plugin(name: &str) -> PathBuf {
    dir().join(format!("liblanner_plugin_{name}.so"))
}

/// The `.so` of an SDK test plugin (`counter`, `parse`, `async`, `future`).
pub(crate) fn test_plugin(name: &str) -> PathBuf {
    dir().join(format!("liblanner_test_plugin_{name}.so"))
}

/// A Falco test configuration (`falcosecurity/testing` or the legacy suite) made runnable:
/// the `library_path` of Falco's k8saudit, json and cloudtrail builds becomes lanner's
/// plugin, and `BUILD_DIR/test/` (where Falco's build put the test data) becomes
/// `test_data`. Other `BUILD_DIR` paths (Falco's C test plugins) are left as they are.
/// Written to `out`, which is returned.
pub(crate) fn falco_config(src: &Path, test_data: &Path, out: &Path) -> PathBuf {
    let text = std::fs::read_to_string(src).expect("the configuration reads");
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut line = line.to_owned();
        if let Some((key, path)) = line.split_once("library_path:") {
            let file = path.trim().rsplit('/').next().unwrap_or_default();
            let ours = match file {
                "libk8saudit.so" => Some("k8saudit"),
                "libjson.so" => Some("json"),
                "libcloudtrail.so" => Some("cloudtrail"),
                _ => None,
            };
            if let Some(name) = ours {
                line = format!("{key}library_path: {}", plugin(name).display());
            }
        }
        let data = format!("{}/", test_data.display());
        lines.push(line.replace("BUILD_DIR/test/", &data));
    }
    std::fs::write(out, lines.join("\n") + "\n").expect("the configuration writes");
    out.to_path_buf()
}
