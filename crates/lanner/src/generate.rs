//! `lanner generate`: harmless versions of the actions lanner's default rules (and Falco's
//! stable rules) look for, like falcosecurity/event-generator, to check a running detector.
//!
//! Every action runs in a process of its own, so that it carries the process name the rule
//! expects: real tools (`cat`, `grep`, `touch`, `bash`, `su`, `dpkg`, `mount` ...) for most;
//! for tools a machine may lack or that must not really run (`nc -e`, `iptables -F`, a web
//! server), `true` or `sh` started under that name through a symlink (the kernel names a
//! process after the path it was started by); for raw syscalls a copy of this binary started
//! through `/proc/self/exe` (its process name is then `exe`, not `lanner`, which some rules
//! trust). Files the actions create are removed afterwards; files that existed are only
//! opened, never changed (an append of nothing updates no content).
//!
//! The container actions run their process in a throwaway container made the way runtimes
//! make them, minus the image: a cgroup named like Docker's (`docker-<64 hex>.scope`, in every
//! cgroup hierarchy mounted) and its own mount and UTS namespaces, so a mount inside it stays
//! inside it. The cgroups are removed afterwards. `dropped-executable` gives its container a
//! root the way runtimes do, an overlayfs over the image (here a copy of `true`), and runs a
//! program written into it at run time: the overlay's upper layer.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};
use clap::Args;

/// `lanner generate` flags.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Actions to perform (see --list).
    #[arg(value_name = "ACTION")]
    actions: Vec<String>,
    /// Perform every action.
    #[arg(long)]
    all: bool,
    /// Describe the actions and the rules they trigger.
    #[arg(long)]
    list: bool,
    /// Internal: the syscall part of an action, in a child process.
    #[arg(long, hide = true, value_name = "ACTION")]
    child: Option<String>,
}

/// One action.
pub(crate) struct Action {
    /// Its name on the command line.
    pub(crate) name: &'static str,
    /// The default rule it triggers.
    pub(crate) rule: &'static str,
    /// What it does.
    pub(crate) what: &'static str,
}

const fn act(name: &'static str, rule: &'static str, what: &'static str) -> Action {
    Action { name, rule, what }
}

/// Every action, in the order `--all` performs them.
pub(crate) const ACTIONS: &[Action] = &[
    act("read-sensitive-file", "Read of sensitive file by untrusted program", "cat /etc/shadow"),
    act("read-ssh-key", "Read of SSH private keys", "cat a key file made under /root/.ssh"),
    act(
        "read-cloud-credentials",
        "Read of cloud or cluster credentials",
        "cat /root/.aws/credentials (made for the action if missing)",
    ),
    act(
        "search-private-keys",
        "Search for private keys or passwords",
        "find a file named id_rsa (in a directory that does not exist)",
    ),
    act(
        "modify-ld-preload",
        "Dynamic linker preload file modified",
        "open /etc/ld.so.preload for appending, write nothing",
    ),
    act("modify-shell-config", "Shell configuration modified", "append nothing to /root/.bashrc"),
    act("schedule-cron", "Scheduled task created or changed", "touch a file in /etc/cron.d"),
    act(
        "modify-authorized-keys",
        "SSH authorized keys modified",
        "append nothing to /root/.ssh/authorized_keys",
    ),
    act("write-below-etc", "Write below etc", "touch a file in /etc"),
    act("write-below-bin", "Write below binary directories", "touch a file in /usr/bin"),
    act("write-below-boot", "Write below boot", "touch a file in /boot"),
    act("setuid-bit", "Set-user-ID bit set on a file", "chmod u+s a file in /tmp"),
    act("symlink-sensitive-file", "Symlink to a sensitive file", "ln -s /etc/shadow in /tmp"),
    act("delete-shell-history", "Shell history deleted", "rm a .bash_history file in /tmp"),
    act("clear-log-file", "Log files cleared", "truncate a file made in /var/log"),
    act("exec-from-tmp", "Executable run from a temporary directory", "run a copy of true in /tmp"),
    act(
        "exec-from-memfd",
        "Fileless execution from memory",
        "run true from a memfd (memfd_create + execveat)",
    ),
    act("ld-preload-env", "Preloaded library in new process", "run true with LD_PRELOAD set"),
    act("miner-args", "Crypto miner executed", "run true with a stratum+tcp:// argument"),
    act("ptrace-attach", "Process injection with ptrace", "PTRACE_ATTACH to a child, detach"),
    act("bpf-load", "BPF program loaded", "load a two-instruction socket filter"),
    act(
        "kernel-module",
        "Kernel module loading",
        "finit_module an empty file in a throwaway container (the kernel refuses it: no module)",
    ),
    act("setns", "Namespace change by non-runtime process", "setns into its own UTS namespace"),
    act(
        "outbound-from-shell",
        "Outbound connection from a shell",
        "bash connects to a port this command listens on (host address)",
    ),
    act(
        "reverse-shell",
        "Reverse shell",
        "bash connects to a local listener and moves its stdio onto the socket",
    ),
    act("mining-port", "Connection to a mining pool port", "connect to port 3333 of this host"),
    act(
        "netcat-exec",
        "Netcat remote code execution",
        "run true under the name nc with `-e /bin/sh` in a throwaway container",
    ),
    act("flush-firewall", "Firewall rules flushed", "run true under the name iptables with -F"),
    act(
        "server-shell",
        "Shell spawned by a server process",
        "sh started under the name nginx runs sh -c true",
    ),
    act(
        "privilege-change",
        "Privilege change to root by a non-root process",
        "a process with login uid 1000 drops to uid 1000 (saved uid 0), then setuid(0)",
    ),
    act(
        "container-shell",
        "Terminal shell in container",
        "sh -c true on a terminal (a new pty) in a throwaway container, started by its runc",
    ),
    act("container-su", "Sudo or su in container", "su root -c true in a throwaway container"),
    act(
        "container-package-manager",
        "Package manager run in container",
        "dpkg --version in a throwaway container",
    ),
    act(
        "container-mount",
        "Mount inside a container",
        "mount a tmpfs in a throwaway container (its own mount namespace)",
    ),
    act(
        "dropped-executable",
        "Dropped executable run in container",
        "in a throwaway container whose root is an overlayfs (on a tmpfs of its own), run the \
         image's copy of true, then a copy written at run time",
    ),
    act(
        "container-runtime-socket",
        "Container runtime socket opened in container",
        "connect to a socket named docker.sock (made for the action) from a throwaway container",
    ),
];

pub(crate) fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    if let Some(action) = &args.child {
        return child(action).map(|()| ExitCode::SUCCESS);
    }
    if args.list {
        let mut out = std::io::stdout().lock();
        for a in ACTIONS {
            writeln!(out, "{:<24} {}\n{:<24} rule: {}", a.name, a.what, "", a.rule)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let chosen: Vec<&Action> = if args.all {
        ACTIONS.iter().collect()
    } else {
        if args.actions.is_empty() {
            bail!("name actions to perform, or --all (--list describes them)");
        }
        let mut v = Vec::new();
        for name in &args.actions {
            match ACTIONS.iter().find(|a| a.name == name) {
                Some(a) => v.push(a),
                None => bail!("unknown action `{name}` (--list describes them)"),
            }
        }
        v
    };
    let mut failed = 0;
    for a in chosen {
        match perform(a.name) {
            Ok(()) => eprintln!("lanner generate: {}: done ({})", a.name, a.what),
            Err(e) => {
                failed += 1;
                eprintln!("lanner generate: {}: failed: {e:#}", a.name);
            }
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn sh(script: &str) -> anyhow::Result<()> {
    shell("/bin/sh", script)
}

fn shell(program: &str, script: &str) -> anyhow::Result<()> {
    let status = Command::new(program)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("`{script}` failed ({status})");
    }
    Ok(())
}

fn tool(program: &str, args: &[&str]) -> anyhow::Result<std::process::ExitStatus> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {program}"))
}

/// Runs the syscall part of `action` in a child named `exe`, with `env` added.
fn in_child(action: &str, env: &[(&str, String)]) -> anyhow::Result<()> {
    let status = Command::new("/proc/self/exe")
        .args(["generate", "--child", action])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .status()
        .context("cannot start a child of lanner")?;
    if !status.success() {
        bail!("the child failed ({status})");
    }
    Ok(())
}

/// Creates `path` for the action (with its directory) if missing; returns whether it did,
/// so that only what the action made is removed.
fn ensure_file(path: &Path, mode: u32) -> anyhow::Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // create_new: O_EXCL, no O_TRUNC (a truncation is what some rules look for)
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(b"lanner generate\n"))
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
    Ok(true)
}

fn remove_if(made: bool, path: &Path) {
    if made {
        let _ = std::fs::remove_file(path);
    }
}

/// A name no other run uses.
fn unique(dir: &str, stem: &str) -> PathBuf {
    PathBuf::from(format!("{dir}/lanner-generate-{}-{stem}", std::process::id()))
}

/// The first IPv4 address of this host that is not loopback (rules leave loopback alone).
fn host_ipv4() -> anyhow::Result<Ipv4Addr> {
    let mut addrs: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a list we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut addrs) } != 0 {
        bail!("getifaddrs failed: {}", std::io::Error::last_os_error());
    }
    let mut found = None;
    let mut cur = addrs;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned.
        let ifa = unsafe { &*cur };
        if !ifa.ifa_addr.is_null() {
            // SAFETY: ifa_addr points to a sockaddr of the family it says.
            let family = unsafe { (*ifa.ifa_addr).sa_family };
            if i32::from(family) == libc::AF_INET {
                // SAFETY: an AF_INET address is a sockaddr_in.
                let sin = unsafe { &*ifa.ifa_addr.cast::<libc::sockaddr_in>() };
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                if !ip.is_loopback() {
                    found = Some(ip);
                    break;
                }
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: freeing the list getifaddrs allocated.
    unsafe { libc::freeifaddrs(addrs) };
    found.context("this host has no IPv4 address besides loopback")
}

/// A listener on this host's address, accepting in the background.
fn listen(port: u16) -> anyhow::Result<SocketAddr> {
    let ip = host_ipv4()?;
    let listener =
        TcpListener::bind((ip, port)).with_context(|| format!("cannot listen on {ip}:{port}"))?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for conn in listener.incoming().take(4) {
            drop(conn);
        }
    });
    Ok(addr)
}

fn perform(name: &str) -> anyhow::Result<()> {
    match name {
        "read-sensitive-file" => sh("cat /etc/shadow"),
        "read-ssh-key" => {
            let path =
                PathBuf::from(format!("/root/.ssh/id_lanner_generate_{}", std::process::id()));
            let made = ensure_file(&path, 0o600)?;
            let r = tool("cat", &[&path.to_string_lossy()]);
            remove_if(made, &path);
            r.map(drop)
        }
        "read-cloud-credentials" => {
            let path = Path::new("/root/.aws/credentials");
            let made = ensure_file(path, 0o600)?;
            let r = tool("cat", &["/root/.aws/credentials"]);
            remove_if(made, path);
            r.map(drop)
        }
        "search-private-keys" => {
            // `find -name id_rsa`, the shape upstream's rule knows (its grep branch wants
            // "BEGIN ... PRIVATE" in the arguments, lanner's the key's name); find exits 1 on
            // the missing directory: the search is what counts, and nothing is walked
            tool("find", &["/nonexistent/lanner-generate", "-name", "id_rsa"]).map(drop)
        }
        "modify-ld-preload" => {
            let made = !Path::new("/etc/ld.so.preload").exists();
            let r = sh(": >> /etc/ld.so.preload");
            remove_if(made, Path::new("/etc/ld.so.preload"));
            r
        }
        "modify-shell-config" => sh(": >> /root/.bashrc"),
        "schedule-cron" => {
            let path = unique("/etc/cron.d", "job");
            std::fs::create_dir_all("/etc/cron.d")?;
            let r = tool("touch", &[&path.to_string_lossy()]);
            remove_if(true, &path);
            r.map(drop)
        }
        "modify-authorized-keys" => {
            std::fs::create_dir_all("/root/.ssh")?;
            let path = Path::new("/root/.ssh/authorized_keys");
            let made = !path.exists();
            let r = sh(": >> /root/.ssh/authorized_keys");
            remove_if(made, path);
            r
        }
        "write-below-etc" => touch_and_remove("/etc"),
        "write-below-bin" => touch_and_remove("/usr/bin"),
        "write-below-boot" => {
            std::fs::create_dir_all("/boot")?;
            touch_and_remove("/boot")
        }
        "setuid-bit" => {
            let path = unique("/tmp", "setuid");
            ensure_file(&path, 0o644)?;
            let r = tool("chmod", &["u+s", &path.to_string_lossy()]);
            remove_if(true, &path);
            r.map(drop)
        }
        "symlink-sensitive-file" => {
            let path = unique("/tmp", "shadow-link");
            let r = tool("ln", &["-s", "/etc/shadow", &path.to_string_lossy()]);
            remove_if(true, &path);
            r.map(drop)
        }
        "delete-shell-history" => {
            let path = unique("/tmp", "x.bash_history");
            ensure_file(&path, 0o600)?;
            tool("rm", &["-f", &path.to_string_lossy()]).map(drop)
        }
        "clear-log-file" => {
            let path = unique("/var/log", "log");
            ensure_file(&path, 0o644)?;
            let r = sh(&format!(": > {}", path.display()));
            remove_if(true, &path);
            r
        }
        "exec-from-tmp" => {
            let path = unique("/tmp", "true");
            std::fs::copy("/bin/true", &path).context("cannot copy /bin/true")?;
            let r = tool(&path.to_string_lossy(), &[]);
            remove_if(true, &path);
            r.map(drop)
        }
        "ld-preload-env" => {
            // the loader warns that the library is missing and goes on
            Command::new("true")
                .env("LD_PRELOAD", "/nonexistent/lanner-generate.so")
                .stderr(Stdio::null())
                .status()
                .context("cannot run true")
                .map(drop)
        }
        "miner-args" => tool("true", &["stratum+tcp://pool.lanner.invalid:3333"]).map(drop),
        "outbound-from-shell" => {
            let addr = listen(0)?;
            // bash, not sh: /dev/tcp is bash's
            shell("bash", &format!("exec 3<>/dev/tcp/{}/{}", addr.ip(), addr.port()))
        }
        "reverse-shell" => {
            let addr = listen(0)?;
            shell(
                "bash",
                &format!(
                    "exec 3<>/dev/tcp/{}/{}; exec 1>&3; echo lanner-generate",
                    addr.ip(),
                    addr.port()
                ),
            )
        }
        "mining-port" => {
            let addr = listen(3333)?;
            // the child connects; the address goes through the environment
            in_child("mining-port", &[("LANNER_GENERATE_ADDR", addr.to_string())])
        }
        "exec-from-memfd" | "ptrace-attach" | "bpf-load" | "setns" | "privilege-change" => {
            in_child(name, &[])
        }
        "netcat-exec" => {
            let nc = Alias::new("nc", "/bin/true")?;
            Container::new()?.run(Command::new(nc.path()).args(["-e", "/bin/sh", "127.0.0.1", "9"]))
        }
        "flush-firewall" => {
            let iptables = Alias::new("iptables", "/bin/true")?;
            tool(&iptables.path(), &["-F"]).map(drop)
        }
        "server-shell" => {
            let nginx = Alias::new("nginx", "/bin/sh")?;
            // `; :` keeps the outer shell from replacing itself with the inner one
            shell(&nginx.path(), "/bin/sh -c true; :")
        }
        "container-shell" => {
            // the container's entrypoint (a process named runc, as runtimes start it) runs a
            // shell on the container's terminal
            let runc = Alias::new("runc", "/bin/sh")?;
            let c = Container::new()?;
            c.run_on_pty(Command::new(runc.path()).args(["-c", "/bin/sh -c true; :"]))
        }
        "container-su" => Container::new()?.run(Command::new("su").args(["root", "-c", "true"])),
        "kernel-module" => {
            let file = unique("/tmp", "module.ko");
            std::fs::write(&file, b"")
                .with_context(|| format!("cannot create {}", file.display()))?;
            let r = Container::new()?.run(
                Command::new("/proc/self/exe")
                    .args(["generate", "--child", "kernel-module"])
                    .env("LANNER_GENERATE_FILE", &file),
            );
            let _ = std::fs::remove_file(&file);
            r
        }
        "container-package-manager" => Container::new()?.run(Command::new("dpkg").arg("--version")),
        "container-mount" => {
            let dir = unique("/tmp", "mnt");
            std::fs::create_dir_all(&dir)?;
            let c = Container::new()?;
            let r = c.run(Command::new("mount").args(["-t", "tmpfs", "lanner-generate"]).arg(&dir));
            let _ = std::fs::remove_dir(&dir);
            r
        }
        "dropped-executable" => {
            // not in /tmp: running from there is what another rule looks for; the container
            // mounts its file systems here, in its own mount namespace only
            let dir = unique("/run", "overlay");
            std::fs::create_dir_all(&dir)?;
            let c = Container::new()?;
            let r = c.run_set_up_first(
                Command::new("/proc/self/exe")
                    .args(["generate", "--child", "dropped-executable"])
                    .env("LANNER_GENERATE_DIR", &dir),
            );
            let _ = std::fs::remove_dir(&dir);
            r
        }
        "container-runtime-socket" => {
            let dir = unique("/tmp", "run");
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("docker.sock");
            let listener = std::os::unix::net::UnixListener::bind(&path)
                .with_context(|| format!("cannot listen on {}", path.display()))?;
            std::thread::spawn(move || {
                if let Some(conn) = listener.incoming().next() {
                    drop(conn);
                }
            });
            let c = Container::new()?;
            let r = c.run(
                Command::new("/proc/self/exe")
                    .args(["generate", "--child", "runtime-socket"])
                    .env("LANNER_GENERATE_ADDR", &path),
            );
            let _ = std::fs::remove_dir_all(&dir);
            r
        }
        other => bail!("unknown action `{other}`"),
    }
}

/// A symlink named `name` to `target` in a directory of its own, removed on drop: running it
/// makes a process called `name`.
struct Alias {
    dir: PathBuf,
    name: &'static str,
}

impl Alias {
    fn new(name: &'static str, target: &str) -> anyhow::Result<Alias> {
        // not in /tmp: running from there is what another rule looks for
        let dir = unique("/run", "bin");
        std::fs::create_dir_all(&dir)?;
        std::os::unix::fs::symlink(target, dir.join(name))
            .with_context(|| format!("cannot make {name} in {}", dir.display()))?;
        Ok(Alias { dir, name })
    }

    fn path(&self) -> String {
        self.dir.join(self.name).to_string_lossy().into_owned()
    }
}

impl Drop for Alias {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A throwaway container: a Docker-style cgroup in every cgroup hierarchy mounted, and new
/// mount and UTS namespaces for each process started in it. Removed on drop.
struct Container {
    cgroups: Vec<PathBuf>,
}

impl Container {
    fn new() -> anyhow::Result<Container> {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // 64 hex digits, as runtimes name containers: "lanner" in hex, the pid, the time
        let id = format!("6c616e6e6572{:020x}{:032x}", std::process::id(), nanos);
        let id = &id[..64];
        let mut cgroups = Vec::new();
        for line in mounts.lines() {
            // mountinfo: ... mount_point ... - fstype source options
            let fields: Vec<&str> = line.split(' ').collect();
            let Some(dash) = fields.iter().position(|f| *f == "-") else { continue };
            let fstype = fields.get(dash + 1).copied().unwrap_or("");
            let options = fields.get(dash + 3).copied().unwrap_or("");
            // a new v1 cpuset cgroup has no CPUs until given some: joining it fails
            let cpuset = options.split(',').any(|o| o == "cpuset");
            if (fstype != "cgroup" && fstype != "cgroup2") || cpuset {
                continue;
            }
            let Some(mount_point) = fields.get(4) else { continue };
            let dir = Path::new(mount_point)
                .join("lanner-generate.slice")
                .join(format!("docker-{id}.scope"));
            if std::fs::create_dir_all(&dir).is_ok() && dir.join("cgroup.procs").exists() {
                cgroups.push(dir);
            }
        }
        if cgroups.is_empty() {
            bail!("no cgroup hierarchy to make a container in (is /sys/fs/cgroup mounted?)");
        }
        Ok(Container { cgroups })
    }

    /// Runs `cmd` in the container and waits for it.
    fn run(&self, cmd: &mut Command) -> anyhow::Result<()> {
        self.enter_on_start(cmd, true);
        self.wait(cmd)
    }

    /// Runs `cmd`, a `generate --child` action, in the container's new namespaces but not yet
    /// in its cgroups: as a runtime does, the action first sets up the container's root, then
    /// joins the cgroups ([`join_container`], from `LANNER_GENERATE_CGROUPS`) and only then
    /// runs what happens inside. So the set-up's mounts are not mounts inside a container.
    fn run_set_up_first(&self, cmd: &mut Command) -> anyhow::Result<()> {
        let procs = std::env::join_paths(self.cgroups.iter().map(|d| d.join("cgroup.procs")))
            .context("a cgroup path with a `:`")?;
        self.enter_on_start(cmd.env("LANNER_GENERATE_CGROUPS", procs), false);
        self.wait(cmd)
    }

    fn wait(&self, cmd: &mut Command) -> anyhow::Result<()> {
        let status = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("cannot start the container's process")?;
        if !status.success() {
            bail!("the container's process failed ({status})");
        }
        Ok(())
    }

    /// Runs `cmd` in the container with a new pseudo-terminal as its controlling terminal.
    fn run_on_pty(&self, cmd: &mut Command) -> anyhow::Result<()> {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two fds into the integers we pass; no name, termios or size.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if rc != 0 {
            bail!("openpty: {}", errno());
        }
        // SAFETY: between fork and exec the child only makes async-signal-safe calls: a new
        // session, the pty as its controlling terminal and stdio (this runs after the
        // standard streams are set up, so it replaces them).
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(cmd, move || {
                if libc::setsid() < 0 || libc::ioctl(slave, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                for fd in 0..3 {
                    libc::dup2(slave, fd);
                }
                Ok(())
            });
        }
        let r = self.run(cmd);
        // SAFETY: closing the two fds openpty gave us.
        unsafe {
            libc::close(slave);
            libc::close(master);
        }
        r
    }

    /// Makes the process `cmd` starts enter the container's new namespaces, and its cgroups
    /// when `join`, before it runs its program.
    fn enter_on_start(&self, cmd: &mut Command, join: bool) {
        let procs: Vec<std::ffi::CString> = self
            .cgroups
            .iter()
            .filter(|_| join)
            .filter_map(|d| {
                std::ffi::CString::new(d.join("cgroup.procs").as_os_str().as_encoded_bytes()).ok()
            })
            .collect();
        // SAFETY: between fork and exec the child only makes async-signal-safe calls (open,
        // write, close, unshare, mount) on memory prepared before the fork.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(cmd, move || {
                // "0" moves the writing process itself
                for path in &procs {
                    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 || libc::write(fd, c"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                }
                if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWUTS) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // mounts made inside stay inside
                let rc = libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                );
                if rc != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        for dir in &self.cgroups {
            let _ = std::fs::remove_dir(dir);
            if let Some(parent) = dir.parent() {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
}

fn touch_and_remove(dir: &str) -> anyhow::Result<()> {
    let path = unique(dir, "file");
    let r = tool("touch", &[&path.to_string_lossy()]);
    remove_if(true, &path);
    r.map(drop)
}

fn errno() -> std::io::Error {
    std::io::Error::last_os_error()
}

/// The syscall part of an action, run in a child process named `exe`.
fn child(action: &str) -> anyhow::Result<()> {
    match action {
        "exec-from-memfd" => {
            let image = std::fs::read("/bin/true").context("cannot read /bin/true")?;
            // SAFETY: memfd_create with a NUL-terminated name.
            let fd = unsafe { libc::memfd_create(c"lanner-generate".as_ptr(), 0) };
            if fd < 0 {
                bail!("memfd_create: {}", errno());
            }
            // SAFETY: writing our buffer to the fd we own.
            let n = unsafe { libc::write(fd, image.as_ptr().cast(), image.len()) };
            if n != image.len() as isize {
                bail!("write to memfd: {}", errno());
            }
            // SAFETY: fork has no preconditions; the child only calls execveat and _exit.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                let argv = [c"true".as_ptr(), std::ptr::null()];
                let envp: [*const libc::c_char; 1] = [std::ptr::null()];
                // SAFETY: execveat with NUL-terminated argv/envp arrays; AT_EMPTY_PATH runs
                // the fd itself.
                unsafe {
                    libc::syscall(
                        libc::SYS_execveat,
                        fd,
                        c"".as_ptr(),
                        argv.as_ptr(),
                        envp.as_ptr(),
                        libc::AT_EMPTY_PATH,
                    );
                    libc::_exit(127);
                }
            }
            wait(pid)
        }
        "ptrace-attach" => {
            // SAFETY: fork; the child only pauses until killed.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                loop {
                    // SAFETY: pause has no preconditions.
                    unsafe { libc::pause() };
                }
            }
            // SAFETY: attaching to our own child, waiting for it to stop, detaching, killing.
            unsafe {
                if libc::ptrace(libc::PTRACE_ATTACH, pid, 0, 0) != 0 {
                    let e = errno();
                    libc::kill(pid, libc::SIGKILL);
                    bail!("ptrace attach: {e}");
                }
                let mut status = 0;
                libc::waitpid(pid, &mut status, 0);
                libc::ptrace(libc::PTRACE_DETACH, pid, 0, 0);
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            Ok(())
        }
        "bpf-load" => {
            // r0 = 0; exit — a socket filter that accepts nothing
            let insns: [u64; 2] = [0x0000_0000_0000_00b7, 0x0000_0000_0000_0095];
            let license = c"GPL";
            #[repr(C)]
            struct ProgLoad {
                prog_type: u32,
                insn_cnt: u32,
                insns: u64,
                license: u64,
                log_level: u32,
                log_size: u32,
                log_buf: u64,
                kern_version: u32,
                // named so that it is zero, not padding: the kernel rejects unknown flags
                prog_flags: u32,
            }
            let mut log = vec![0u8; 4096];
            let attr = ProgLoad {
                prog_type: 1, // BPF_PROG_TYPE_SOCKET_FILTER
                insn_cnt: 2,
                insns: insns.as_ptr() as u64,
                license: license.as_ptr() as u64,
                log_level: 1,
                log_size: log.len() as u32,
                log_buf: log.as_mut_ptr() as u64,
                kern_version: 0,
                prog_flags: 0,
            };
            // SAFETY: bpf(BPF_PROG_LOAD) with an attribute block that lives for the call.
            let fd = unsafe {
                libc::syscall(libc::SYS_bpf, 5, &attr as *const ProgLoad, size_of::<ProgLoad>())
            };
            if fd < 0 {
                let e = errno();
                let end = log.iter().position(|&b| b == 0).unwrap_or(0);
                bail!("bpf(BPF_PROG_LOAD): {e}: {}", String::from_utf8_lossy(&log[..end]));
            }
            // SAFETY: closing the program fd we got.
            unsafe { libc::close(fd as i32) };
            Ok(())
        }
        "setns" => {
            let ns = std::fs::File::open("/proc/self/ns/uts").context("cannot open own UTS ns")?;
            // SAFETY: setns into the namespace we are already in: nothing changes.
            let rc =
                unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWUTS) };
            if rc != 0 {
                bail!("setns: {}", errno());
            }
            Ok(())
        }
        "kernel-module" => {
            let path =
                std::env::var_os("LANNER_GENERATE_FILE").context("no LANNER_GENERATE_FILE")?;
            let file = std::fs::File::open(&path).context("cannot open the empty module")?;
            let params = c"";
            // SAFETY: finit_module with an fd we own, a NUL-terminated parameter string and no
            // flags. An empty file is no module: every kernel refuses it (EINVAL, ENOEXEC; ENOSYS
            // without module support), so nothing is loaded.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_finit_module,
                    std::os::fd::AsRawFd::as_raw_fd(&file),
                    params.as_ptr(),
                    0,
                )
            };
            if rc == 0 {
                bail!("the kernel accepted an empty file as a module");
            }
            Ok(())
        }
        "mining-port" => {
            let addr: SocketAddr = std::env::var("LANNER_GENERATE_ADDR")?.parse()?;
            let conn = std::net::TcpStream::connect(addr).context("cannot connect")?;
            drop(conn);
            Ok(())
        }
        "dropped-executable" => {
            // as a runtime makes a container's root: the image read-only below, a writable
            // layer above, both seen through an overlayfs; here all of it on a tmpfs mounted in
            // the container's own mount namespace, so nothing reaches the host's disks and
            // everything goes with the namespace
            let dir = PathBuf::from(
                std::env::var_os("LANNER_GENERATE_DIR")
                    .context("LANNER_GENERATE_DIR is not set")?,
            );
            mount("lanner-generate", &dir, "tmpfs", "mode=0755")?;
            let (lower, upper, work, root) =
                (dir.join("lower"), dir.join("upper"), dir.join("work"), dir.join("merged"));
            for d in [&lower, &upper, &work, &root] {
                std::fs::create_dir(d).with_context(|| format!("cannot create {}", d.display()))?;
            }
            // the image's own program
            copy_executable(&lower.join("image-true"))?;
            let options = format!(
                "lowerdir={},upperdir={},workdir={}",
                lower.display(),
                upper.display(),
                work.display()
            );
            mount("overlay", &root, "overlay", &options)?;
            join_container()?;
            // a program dropped at run time: written through the container's root, it lands in
            // the upper layer
            copy_executable(&root.join("dropped-true"))?;
            let mut r = Ok(());
            for name in ["image-true", "dropped-true"] {
                let status = Command::new(root.join(name)).status();
                if !status.as_ref().is_ok_and(std::process::ExitStatus::success) {
                    r = Err(anyhow::anyhow!("{name} failed: {status:?}"));
                }
            }
            for d in [&root, &dir] {
                let path = cstring(d)?;
                // SAFETY: umount2 with a NUL-terminated path.
                unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
            }
            r
        }
        "runtime-socket" => {
            let path = std::env::var("LANNER_GENERATE_ADDR")?;
            let conn = std::os::unix::net::UnixStream::connect(&path)
                .with_context(|| format!("cannot connect to {path}"))?;
            drop(conn);
            Ok(())
        }
        "privilege-change" => {
            // a login session's process (login uid 1000) that is root only by its saved uid;
            // the login uid is read at execve, so the process starts itself again after
            // setting it
            if std::env::var_os("LANNER_GENERATE_LOGGED_IN").is_none() {
                std::fs::write("/proc/self/loginuid", "1000")
                    .context("cannot set the login uid (/proc/self/loginuid)")?;
                let e = std::os::unix::process::CommandExt::exec(
                    Command::new("/proc/self/exe")
                        .args(["generate", "--child", "privilege-change"])
                        .env("LANNER_GENERATE_LOGGED_IN", "1"),
                );
                bail!("cannot start again: {e}");
            }
            // SAFETY: setresuid/setuid on this process, which exits right after.
            unsafe {
                if libc::setresuid(1000, 1000, 0) != 0 {
                    bail!("setresuid(1000, 1000, 0): {}", errno());
                }
                if libc::setuid(0) != 0 {
                    bail!("setuid(0): {}", errno());
                }
            }
            Ok(())
        }
        other => bail!("no child part for `{other}`"),
    }
}

fn cstring(path: &Path) -> anyhow::Result<std::ffi::CString> {
    std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .with_context(|| format!("{} has a NUL byte", path.display()))
}

/// Moves this process into the container's cgroups (`LANNER_GENERATE_CGROUPS`, set by
/// [`Container::run_set_up_first`]).
fn join_container() -> anyhow::Result<()> {
    let procs = std::env::var_os("LANNER_GENERATE_CGROUPS")
        .context("LANNER_GENERATE_CGROUPS is not set")?;
    for path in std::env::split_paths(&procs) {
        // "0" moves the writing process itself
        std::fs::write(&path, "0").with_context(|| format!("cannot join {}", path.display()))?;
    }
    Ok(())
}

/// mount(2) of a file system of type `fstype` from `source` on `target`, with `options`.
fn mount(source: &str, target: &Path, fstype: &str, options: &str) -> anyhow::Result<()> {
    let (src, tgt) = (std::ffi::CString::new(source)?, cstring(target)?);
    let (ty, opts) = (std::ffi::CString::new(fstype)?, std::ffi::CString::new(options)?);
    // SAFETY: mount with NUL-terminated strings that live for the call.
    let rc =
        unsafe { libc::mount(src.as_ptr(), tgt.as_ptr(), ty.as_ptr(), 0, opts.as_ptr().cast()) };
    if rc != 0 {
        bail!("mount -t {fstype} {source} {} ({options}): {}", target.display(), errno());
    }
    Ok(())
}

/// A copy of /bin/true at `path`, mode 0755 (its owner may write it, everyone may run it).
fn copy_executable(path: &Path) -> anyhow::Result<()> {
    std::fs::copy("/bin/true", path)
        .with_context(|| format!("cannot copy /bin/true to {}", path.display()))?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    Ok(())
}

fn wait(pid: libc::pid_t) -> anyhow::Result<()> {
    if pid < 0 {
        bail!("fork: {}", errno());
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    Ok(())
}
