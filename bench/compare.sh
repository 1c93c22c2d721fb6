#!/usr/bin/env bash
# Times the whole virtprobe command against the tools it replaces and prints the ratios the
# performance targets are stated in; then the service's resident memory and CPU per probe after
# many cycles, and the release binary's size.
#   bench/compare.sh [RUNS] [BATCHES]   (needs hyperfine and python3; absent peers are skipped)
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
cargo build --release --quiet
bin=target/$(rustc -vV | sed -n 's/^host: //p')/release/virtprobe
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cmds=("$bin --json")
names=(virtprobe)
for peer in lscpu systemd-detect-virt kvm-ok virt-host-validate virt-what; do
  if command -v "$peer" >/dev/null 2>&1; then cmds+=("$peer"); names+=("$peer"); fi
done
# The first batch warms the caches (and the per-boot cache of virtprobe); it is not counted.
hyperfine -N --warmup 20 --runs 5 --ignore-failure "${cmds[@]}" >/dev/null 2>&1
for b in $(seq "$batches"); do
  hyperfine -N --warmup 3 --runs "$per" --ignore-failure --export-json "$out/h$b.json" \
    "${cmds[@]}" >/dev/null 2>&1
done

python3 - "$out" "$batches" "${names[@]}" <<'PY'
import json, statistics, sys
out, batches, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times = {n: [] for n in names}
for b in range(1, batches + 1):
    for n, r in zip(names, json.load(open(f"{out}/h{b}.json"))["results"]):
        times[n].extend(r["times"])
med = {n: statistics.median(t) * 1000 for n, t in times.items()}
print(f"median wall time (ms), {len(times[names[0]])} runs each in {batches} alternating batches:")
for n in names:
    print(f"  {n:20s} {med[n]:7.2f}")
v = med["virtprobe"]
if "lscpu" in med:
    # The spread between batches shows how much of the gap is the machine's state at the time.
    per = []
    for b in range(1, batches + 1):
        r = {n: x for n, x in zip(names, json.load(open(f"{out}/h{b}.json"))["results"])}
        per.append(statistics.median(r["virtprobe"]["times"]) / statistics.median(r["lscpu"]["times"]))
    print("  virtprobe / lscpu per batch: " + " ".join(f"{x:.2f}" for x in per))
for peer, target in (("lscpu", 1.0), ("virt-host-validate", 0.2)):
    if peer in med:
        ratio = v / med[peer]
        print(f"  virtprobe / {peer:18s} {ratio:5.2f}  (target <= {target})  {'met' if ratio <= target else 'NOT met'}")
PY

# The service: thousands of cycles at --interval 10ms; resident memory and CPU time per cycle
# measured between the 1000th and the 4000th probe (from /proc), so start-up is not counted.
"$bin" serve --interval 10ms --status "$out/status.json" 2>/dev/null &
pid=$!
sample() {  # prints: probes rss_kib cpu_ticks
  local p; p=$(python3 -c "import json;print(json.load(open('$out/status.json'))['service']['probes'])" 2>/dev/null || echo 0)
  echo "$p $(awk '/VmRSS/{print $2}' /proc/$pid/status) $(awk '{print $14+$15}' /proc/$pid/stat)"
}
wait_for() { while [ "$(sample | cut -d' ' -f1)" -lt "$1" ]; do sleep 0.2; done; }
wait_for 1000; read -r p1 r1 c1 < <(sample)
wait_for 4000; read -r p2 r2 c2 < <(sample)
kill $pid; wait $pid 2>/dev/null || true
python3 - "$p1" "$r1" "$c1" "$p2" "$r2" "$c2" "$(getconf CLK_TCK)" <<'PY'
import sys
p1, r1, c1, p2, r2, c2, hz = map(int, sys.argv[1:])
cpu = (c2 - c1) / hz / (p2 - p1) * 1e6
print(f"serve: RSS {r1/1024:.2f} MiB after {p1} probes, {r2/1024:.2f} MiB after {p2} (target <= 4, no growth); "
      f"CPU per cycle {cpu:.0f} us (target <= 300)")
PY
size=$(stat -c %s "$bin")
echo "release binary: $(python3 -c "print(f'{$size/1e6:.2f}')") MB (target <= 5)"
