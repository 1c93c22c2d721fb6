#!/usr/bin/env bash
# Times the whole virtprobe command against the tools it replaces and prints the ratios the
# performance targets are stated in; then the service's resident memory and CPU per probe after
# many cycles, and the release binary's size.
#   bench/compare.sh [RUNS] [BATCHES]   (needs hyperfine and python3; absent peers are skipped)
#
# Two builds are measured: the static musl build, the one to deploy (README, "Performance"), and
# the static glibc build that `cargo build --release` makes. The targets are judged on the musl
# build when its Rust target is installed (`rustup target add x86_64-unknown-linux-musl`), else on
# the glibc build. Beside them, three floors from examples/, built the same way: a program that
# does nothing, one that only runs virtprobe's live KVM check, and one that only sleeps as the
# service does, so a run shows what no change to virtprobe can take away.
#
# One benchmark run is BATCHES hyperfine runs of every command, RUNS/BATCHES runs each, the
# commands in turn: on a shared virtual machine whose speed drifts over seconds, timing each
# command in one block would compare different machines. The medians are over every run of the
# whole benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-400}
batches=${2:-10}
per=$(( (runs + batches - 1) / batches ))
host=$(rustc -vV | sed -n 's/^host: //p')
musl="$(uname -m)-unknown-linux-musl"
cargo build --release --quiet
glibc_bin=target/$host/release/virtprobe
floors=
if rustup target list --installed 2>/dev/null | grep -qx "$musl"; then
  cargo build --release --quiet --target "$musl"
  bin=target/$musl/release/virtprobe
  build=musl
  # The examples pull in the dev-dependencies, one of which compiles a line of C: the system's
  # C compiler does for it (nothing of it is linked into the floors).
  if env "CC_${musl//-/_}=${CC:-cc}" cargo build --release --quiet --target "$musl" --examples; then
    floors=target/$musl/release/examples
    floor_build=musl
  else
    echo "(the examples did not build for $musl: the floors are the glibc build's)"
  fi
else
  echo "($musl is not installed: the targets are judged on the glibc build)"
  bin=$glibc_bin
  build=glibc
fi
if [ -z "${floors:-}" ]; then
  cargo build --release --quiet --examples
  floors=target/$host/release/examples
  floor_build=glibc
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cmds=("$bin --json")
names=("virtprobe")
if [ "$build" = musl ]; then cmds+=("$glibc_bin --json"); names+=("virtprobe-glibc"); fi
cmds+=("$floors/floor_nothing" "$floors/floor_kvm_check")
names+=("floor:start-up" "floor:kvm-check")
for peer in lscpu systemd-detect-virt kvm-ok virt-host-validate virt-what; do
  if command -v "$peer" >/dev/null 2>&1; then cmds+=("$peer"); names+=("$peer"); fi
done
# The first batch warms the caches (and the per-boot cache of virtprobe); it is not counted.
hyperfine -N --warmup 20 --runs 5 --ignore-failure "${cmds[@]}" >/dev/null 2>&1
for b in $(seq "$batches"); do
  hyperfine -N --warmup 3 --runs "$per" --ignore-failure --export-json "$out/h$b.json" \
    "${cmds[@]}" >/dev/null 2>&1
done

python3 - "$out" "$batches" "$build" "$floor_build" "${names[@]}" <<'PY'
import json, statistics, sys
out, batches, build, floor_build, names = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
results = [json.load(open(f"{out}/h{b}.json"))["results"] for b in range(1, batches + 1)]
times = {n: [] for n in names}
for rs in results:
    for n, r in zip(names, rs):
        times[n].extend(r["times"])
med = {n: statistics.median(t) * 1000 for n, t in times.items()}
label = {
    "virtprobe": f"virtprobe --json ({build})",
    "virtprobe-glibc": "virtprobe --json (glibc)",
    "floor:start-up": f"floor: start-up alone ({floor_build})",
    "floor:kvm-check": f"floor: + KVM check ({floor_build})",
}
print(f"median wall time (ms), {len(times[names[0]])} runs each in {batches} alternating batches:")
for n in names:
    print(f"  {label.get(n, n):28s} {med[n]:7.2f}")
v = med["virtprobe"]
if "lscpu" in med:
    # The spread between batches shows how much of the gap is the machine's state at the time.
    per = []
    for rs in results:
        r = dict(zip(names, rs))
        per.append(statistics.median(r["virtprobe"]["times"]) / statistics.median(r["lscpu"]["times"]))
    print("  virtprobe / lscpu per batch: " + " ".join(f"{x:.2f}" for x in per))
    kvm = med["floor:kvm-check"] - med["floor:start-up"]
    print(f"  the live KVM check alone: {kvm:.2f} ms = {kvm / med['lscpu']:.2f} x lscpu")
for peer, target in (("lscpu", 1.0), ("virt-host-validate", 0.2)):
    if peer in med:
        ratio = v / med[peer]
        print(f"  virtprobe / {peer:18s} {ratio:5.2f}  (target <= {target})  {'met' if ratio <= target else 'NOT met'}")
        if "virtprobe-glibc" in med:
            print(f"    (glibc build: {med['virtprobe-glibc'] / med[peer]:.2f})")
PY

# The service: thousands of cycles at --interval 10ms; resident memory and CPU time per cycle
# measured between the 1000th and the 4000th probe (from /proc), so start-up is not counted. The
# CPU time is the scheduler's (every thread's /proc/PID/task/*/schedstat, in ns), taken every 500
# probes: the six windows are printed, with their median (the figure judged, since this machine's
# neighbours come and go within seconds) and the mean over all 3000 probes.
serve() {  # serve BINARY LABEL
  local b=$1 label=$2 pid
  rm -f "$out/status.json"
  "$b" serve --interval 10ms --status "$out/status.json" 2>/dev/null &
  pid=$!
  sample() {  # prints: probes rss_kib cpu_ns
    local p; p=$(python3 -c "import json;print(json.load(open('$out/status.json'))['service']['probes'])" 2>/dev/null || echo 0)
    echo "$p $(awk '/VmRSS/{print $2}' /proc/$pid/status) $(cat /proc/$pid/task/*/schedstat | awk '{s+=$1} END{print s}')"
  }
  wait_for() { while [ "$(sample | cut -d' ' -f1)" -lt "$1" ]; do sleep 0.05; done; }
  local samples=()
  for at in 1000 1500 2000 2500 3000 3500 4000; do
    wait_for $at; samples+=("$(sample)")
  done
  kill $pid; wait $pid 2>/dev/null || true
  python3 - "$label" "${samples[@]}" <<'PY'
import statistics, sys
label = sys.argv[1]
s = [tuple(map(int, x.split())) for x in sys.argv[2:]]
win = [(b[2] - a[2]) / 1e3 / (b[0] - a[0]) for a, b in zip(s, s[1:])]
mean = (s[-1][2] - s[0][2]) / 1e3 / (s[-1][0] - s[0][0])
med = statistics.median(win)
print(f"serve ({label}): RSS {s[0][1]/1024:.2f} MiB after {s[0][0]} probes, {s[-1][1]/1024:.2f} MiB after {s[-1][0]} "
      f"(target <= 4, no growth); CPU per cycle {med:.0f} us, the median of 6 windows of 500 probes "
      f"(target <= 300)  {'met' if med <= 300 else 'NOT met'}")
print(f"  windows: {' '.join(f'{w:.0f}' for w in win)} us; mean over all {s[-1][0] - s[0][0]} probes {mean:.0f} us")
PY
}
serve "$bin" "$build"
if [ "$build" = musl ]; then serve "$glibc_bin" glibc; fi
# What waking from the same sleep costs a process that does nothing else (3000 cycles).
echo "  floor: the sleep alone costs $("$floors/floor_sleep_cycles" 3000 10) us of CPU per cycle"
mb() { python3 -c "import os,sys; print(f'{os.stat(sys.argv[1]).st_size/1e6:.2f}')" "$1"; }
if [ "$build" = musl ]; then
  echo "release binary: $(mb "$bin") MB musl, $(mb "$glibc_bin") MB glibc (target <= 5)"
else
  echo "release binary: $(mb "$bin") MB (target <= 5)"
fi
