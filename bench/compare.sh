#!/usr/bin/env bash
# Times the whole virtprobe command against the tools it replaces, in one hyperfine run, and
# prints the ratios the performance targets are stated in; then the service's resident memory and
# CPU per probe after many cycles, and the release binary's size.
#   bench/compare.sh [RUNS]        (needs hyperfine; peers that are not installed are skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
cargo build --release --quiet
bin=target/$(rustc -vV | sed -n 's/^host: //p')/release/virtprobe
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cmds=("$bin --json")
names=(virtprobe)
for peer in lscpu systemd-detect-virt kvm-ok virt-host-validate virt-what; do
  if command -v "$peer" >/dev/null 2>&1; then cmds+=("$peer"); names+=("$peer"); fi
done
hyperfine -N --warmup 30 --runs "$runs" --ignore-failure --export-json "$out/h.json" "${cmds[@]}" >/dev/null 2>&1

python3 - "$out/h.json" "${names[@]}" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
names = sys.argv[2:]
med = {n: r["median"] * 1000 for n, r in zip(names, res)}
print("median wall time (ms), one hyperfine run:")
for n in names:
    print(f"  {n:20s} {med[n]:7.2f}")
v = med["virtprobe"]
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
