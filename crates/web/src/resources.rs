//! The resource usage of lanner and its host, read from `/proc` as libs'
//! `libs_resource_utilization` reads it (Falco's `resource_utilization_enabled` metrics).

/// Resource usage at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Resources {
    /// lanner's CPU time since it started over the time since it started, in percent (as
    /// `ps` shows it), rounded to one decimal.
    pub cpu_usage_perc: f64,
    /// Resident memory, KiB.
    pub memory_rss_kb: u64,
    /// Virtual memory, KiB.
    pub memory_vsz_kb: u64,
    /// Proportional set size, KiB.
    pub memory_pss_kb: u64,
    /// Memory of lanner's cgroup, bytes (`FALCO_CGROUP_MEM_PATH`, or cgroup v1's
    /// `memory.usage_in_bytes`; 0 when neither exists).
    pub container_memory_used_bytes: u64,
    /// The host's CPU usage since boot, percent.
    pub host_cpu_usage_perc: f64,
    /// The host's used memory (total less free, buffers and cache), KiB.
    pub host_memory_used_kb: u64,
    /// Processes running on the host.
    pub host_procs_running: u64,
    /// File handles allocated on the host.
    pub host_open_fds: u64,
}

impl Resources {
    /// Reads `/proc`. What cannot be read is 0.
    pub fn sample() -> Resources {
        let mut r = Resources::default();
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        r.memory_rss_kb = field_kb(&status, "VmRSS:");
        r.memory_vsz_kb = field_kb(&status, "VmSize:");
        let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
        r.memory_pss_kb = field_kb(&rollup, "Pss:");
        let cgroup = std::env::var("FALCO_CGROUP_MEM_PATH")
            .unwrap_or_else(|_| "/sys/fs/cgroup/memory/memory.usage_in_bytes".to_owned());
        r.container_memory_used_bytes =
            std::fs::read_to_string(cgroup).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let [total, free, buffers, cached] =
            ["MemTotal:", "MemFree:", "Buffers:", "Cached:"].map(|k| field_kb(&meminfo, k));
        r.host_memory_used_kb = total.saturating_sub(free + buffers + cached);
        r.host_open_fds = std::fs::read_to_string("/proc/sys/fs/file-nr")
            .ok()
            .and_then(|t| t.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        for line in stat.lines() {
            if let Some(cpu) = line.strip_prefix("cpu ") {
                let v: Vec<u64> =
                    cpu.split_whitespace().take(7).filter_map(|n| n.parse().ok()).collect();
                let sum: u64 = v.iter().sum();
                if sum > 0 && v.len() >= 4 {
                    r.host_cpu_usage_perc = round1(100.0 - (v[3] as f64 * 100.0) / sum as f64);
                }
            } else if let Some(n) = line.strip_prefix("procs_running ") {
                r.host_procs_running = n.trim().parse().unwrap_or(0);
            }
        }
        r.cpu_usage_perc = own_cpu_perc().unwrap_or(0.0);
        r
    }
}

/// lanner's CPU time over its lifetime, percent.
fn own_cpu_perc() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime, stime and starttime are fields 14, 15 and 22 of stat(5); `rest` starts at 3.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let start: f64 = fields.get(19)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        n if n > 0 => n as f64,
        _ => 100.0,
    };
    let uptime: f64 =
        std::fs::read_to_string("/proc/uptime").ok()?.split_whitespace().next()?.parse().ok()?;
    let elapsed = uptime - start / hz;
    (elapsed > 0.0).then(|| round1(100.0 * (utime + stime) / hz / elapsed))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A `Key:   1234 kB` line's number.
fn field_kb(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory_and_the_host_has_cpus() {
        let r = Resources::sample();
        assert!(r.memory_rss_kb > 0 && r.memory_vsz_kb >= r.memory_rss_kb, "{r:?}");
        assert!(r.host_memory_used_kb > 0, "{r:?}");
        assert!((0.0..=100.0).contains(&r.host_cpu_usage_perc), "{r:?}");
        assert!(r.cpu_usage_perc >= 0.0, "{r:?}");
    }
}
