#!/usr/bin/env bash
# The speed figures of docs/performance.md, measured on this machine:
#   1. one-shot: `virtprobe --json` beside kvm-ok, virt-host-validate and lscpu, interleaved
#      (BATCHES hyperfine runs of every command in turn, RUNS runs of each in all): medians, and
#      the median of the pair-by-pair ratios (the k-th run of virtprobe against the k-th run of the
#      peer in the same batch, so the machine's drift falls on both alike);
#   2. the table: examples/table_timing.rs (the embedded table's load, and judging a table 8 times
#      larger against the embedded one);
#   3. service: `virtprobe serve` at a short interval for SECONDS: CPU time per probe (from
#      /proc/PID/schedstat, every thread) and resident memory at the start and the end;
#   4. idle and freshness: `virtprobe serve` at the shipped settings (interval an hour) with
#      nothing changing for IDLE seconds: its CPU time (schedstat), and the day's cost with one
#      full probe an hour; then 20 times a tool appearing in (or vanishing from) a folder of its
#      PATH: how long until the status shows it.
#   bench/compare.sh [RUNS] [BATCHES] [SECONDS] [IDLE]   (needs hyperfine and python3; absent peers skip)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
batches=${2:-10}
seconds=${3:-120}
idle=${4:-60}
per=$(( (runs + batches - 1) / batches ))
cargo build --release --quiet
bin=$PWD/target/release/virtprobe
out=$(mktemp -d)
trap 'rm -rf "$out"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT

cmds=("$bin --json")
names=("virtprobe")
for peer in kvm-ok virt-host-validate lscpu; do
  if command -v "$peer" >/dev/null 2>&1; then cmds+=("$peer"); names+=("$peer"); fi
done
echo "one-shot: $batches batches of $per runs of ${names[*]}"
for b in $(seq 1 "$batches"); do
  hyperfine -N --ignore-failure --warmup 3 --runs "$per" --style none \
    --export-json "$out/batch$b.json" "${cmds[@]}" >/dev/null 2>&1
done

echo "table: cargo run --release --example table_timing"
cargo run --release --quiet --example table_timing | sed 's/^/  /'

echo "service: virtprobe serve --interval 100ms for ${seconds}s"
"$bin" serve --interval 100ms --status "$out/status.json" 2>/dev/null &
pid=$!
sleep 2
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
cpu_ns() { cat /proc/"$pid"/task/*/schedstat | awk '{s += $1} END {printf "%.0f\n", s}'; }
probes() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["service"]["probes"])' "$out/status.json"; }
rss0=$(rss); cpu0=$(cpu_ns); p0=$(probes)
sleep "$seconds"
rss1=$(rss); cpu1=$(cpu_ns); p1=$(probes)
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

echo "idle: virtprobe serve (interval 1h) with nothing changing for ${idle}s"
mkdir "$out/path"
PATH="$out/path" "$bin" serve --status "$out/idle.json" 2>/dev/null &
pid=$!
sleep 2
icpu0=$(cpu_ns)
sleep "$idle"
icpu1=$(cpu_ns)
python3 - "$out" "$pid" "$idle" "$icpu0" "$icpu1" "$(( (cpu1 - cpu0) / (p1 - p0 > 0 ? p1 - p0 : 1) ))" <<'PY'
import json, os, statistics, sys, time
out, pid, idle, c0, c1, probe_ns = sys.argv[1], sys.argv[2], int(sys.argv[3]), *map(int, sys.argv[4:])
idle_ns = c1 - c0
day = idle_ns * 86400 / idle + 24 * probe_ns
print(f"  idle: {idle_ns / 1e6:.2f} ms CPU in {idle} s; a day at the shipped settings: "
      f"{day / 1e9:.3f} CPU-s (idle {idle_ns * 86400 / idle / 1e9:.3f} + 24 full probes) (target < 1)")
def status():
    try:
        return json.load(open(f"{out}/idle.json"))
    except (OSError, ValueError):
        return None
tool = f"{out}/path/cloud-hypervisor"
waits = []
for i in range(20):
    want = not os.path.exists(tool)
    t0 = time.monotonic()
    if want:
        open(tool, "w").close()
        os.chmod(tool, 0o755)
    else:
        os.remove(tool)
    while True:
        s = status()
        if s and ("cloud-hypervisor" in s["facts"]["tool"]["value"]) == want:
            break
        if time.monotonic() - t0 > 10:
            sys.exit("  freshness: no change seen in 10 s")
        time.sleep(0.002)
    waits.append(time.monotonic() - t0)
    time.sleep(0.3)
print(f"  freshness: a tool appearing or vanishing shows in the status after "
      f"{statistics.median(waits) * 1000:.0f} ms (median of 20, max {max(waits) * 1000:.0f} ms; NFD re-reads every 60 s)")
PY
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

python3 - "$out" "$batches" "$rss0" "$rss1" "$cpu0" "$cpu1" "$p0" "$p1" "${names[@]}" <<'PY'
import json, statistics, sys
out, batches = sys.argv[1], int(sys.argv[2])
rss0, rss1, cpu0, cpu1, p0, p1 = map(int, sys.argv[3:9])
names = sys.argv[9:]
times = {n: [] for n in names}
ratios = {n: [] for n in names}
for b in range(1, batches + 1):
    batch = dict(zip(names, (r["times"] for r in json.load(open(f"{out}/batch{b}.json"))["results"])))
    for n in names:
        times[n] += batch[n]
        ratios[n] += [v / p for v, p in zip(batch["virtprobe"], batch[n])]
med = {n: statistics.median(t) * 1000 for n, t in times.items()}
for n in names:
    print(f"  {n:20} median {med[n]:8.2f} ms over {len(times[n])} runs")
targets = {"kvm-ok": 1.0, "virt-host-validate": 0.45, "lscpu": None}
for n in names[1:]:
    r = statistics.median(ratios[n])
    t = targets.get(n)
    goal = f"(target <= {t})" if t else "(no target)"
    print(f"  virtprobe / {n:20} {r:.2f}  {goal}")
n = max(p1 - p0, 1)
print(f"  serve: {n} probes, CPU {(cpu1 - cpu0) / n / 1e6:.2f} ms per probe (target <= 5)")
print(f"  serve: RSS {rss0 / 1024:.2f} MiB -> {rss1 / 1024:.2f} MiB (target <= 8, flat)")
PY
echo "  binary: $(stat -c %s "$bin") bytes"
