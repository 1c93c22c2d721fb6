#!/usr/bin/env bash
# The speed figures of docs/performance.md, measured on this machine:
#   1. one-shot: `virtprobe --json` beside kvm-ok, virt-host-validate and lscpu, interleaved
#      (BATCHES hyperfine runs of every command in turn, RUNS runs of each in all): medians, and
#      the median of the pair-by-pair ratios (the k-th run of virtprobe against the k-th run of the
#      peer in the same batch, so the machine's drift falls on both alike);
#   2. the table: examples/table_timing.rs (the embedded table's load, and judging a table 8 times
#      larger against the embedded one);
#   3. service: `virtprobe serve` at a short interval for SECONDS: CPU time per probe (from
#      /proc/PID/schedstat, every thread) and resident memory at the start and the end.
#   bench/compare.sh [RUNS] [BATCHES] [SECONDS]     (needs hyperfine and python3; absent peers skip)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
batches=${2:-10}
seconds=${3:-120}
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
