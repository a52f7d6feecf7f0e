# Shared by the bench scripts (sourced, not run): installs what they need, builds lanner and
# the synthetic capture, prints the machine. Expects the caller's `set -euo pipefail` and
# working directory (the repository root). Sets: EVENTS RUNS WARMUP work lanner plain gzip,
# and defines machine, warn_if_loaded and peak_rss.
./scripts/setup
export PATH="$HOME/.cargo/bin:$PATH"

EVENTS=${EVENTS:-5000000}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
work=bench/work
mkdir -p "$work"

need_apt=()
command -v hyperfine >/dev/null || need_apt+=(hyperfine)
[ -x /usr/bin/time ] || need_apt+=(time)
command -v sysdig >/dev/null || need_apt+=(sysdig)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

cargo build --release --locked -p lanner
cargo build --release --locked -p lanner-scap --example synth_capture
lanner=$PWD/target/release/lanner
synth=$PWD/target/release/examples/synth_capture

plain=$work/synth-$EVENTS.scap
gzip=$work/synth-$EVENTS.scap.gz
for form in plain gzip; do
  file=${!form}
  # Made once; again only when the generator changed.
  if [ ! -s "$file" ] || [ crates/scap/examples/synth/mod.rs -nt "$file" ] \
    || [ crates/scap/examples/synth_capture.rs -nt "$file" ]; then
    flag=()
    [ "$form" = gzip ] && flag=(--gzip)
    "$synth" "$file.tmp" "$EVENTS" "${flag[@]}"
    mv "$file.tmp" "$file"
  fi
done

machine() {
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1)" \
    "($(lscpu | sed -n 's/^Hypervisor vendor: *//p' | head -1 | sed 's/^$/bare metal/;s/^\(.\+\)$/\1 guest/'))"
  echo "- cores: $(nproc) online ($(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core)"
  echo "- RAM: $(free -h | awk '/^Mem:/ {print $2}')"
  echo "- kernel: $(uname -sr)"
  echo "- OS: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "- rustc: $(rustc --version)"
  echo "- sysdig: $(sysdig --version | head -1) (Debian package $(dpkg-query -W -f '${Version}' sysdig 2>/dev/null || echo '?'))"
  echo "- hyperfine: $(hyperfine --version)"
  echo "- lanner: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo ' (with uncommitted changes)')"
}

# Warns when the machine is busy: wall-clock times would be inflated and noisy.
warn_if_loaded() {
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
    echo "$(basename "$0"): warning: the 1-minute load average is $load; wall-clock times" \
      "will be inflated and noisy (CPU times less so)" >&2
  fi
}

# Peak RSS in KiB of one run of a command (stdout to /dev/null).
peak_rss() {
  /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null
  sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$work/time.txt"
}
