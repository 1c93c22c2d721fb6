#!/usr/bin/env bash
# Times the whole virtprobe command against the tools it replaces, in one hyperfine run, and
# prints the ratios the performance targets are stated in; then the service's resident memory and
# CPU per probe after many cycles, and the release binary's size.
#   bench/compare.sh [RUNS]        (needs hyperfine; peers that are not installed are skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
cargo build --release --quiet
bin=target/release/virtprobe
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

# The service: thousands of cycles, then resident memory and CPU time per cycle.
cycles=${CYCLES:-3000}
start=$(date +%s.%N)
/usr/bin/time -f "%M %U %S" -o "$out/time" "$bin" serve --interval 10ms --cycles "$cycles" --status "$out/status.json" 2>/dev/null
read -r rss user sys < "$out/time"
python3 - "$rss" "$user" "$sys" "$cycles" <<'PY'
import sys
rss, user, sys_, cycles = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
cpu = (user + sys_) / cycles * 1e6
print(f"serve: {cycles} cycles, peak RSS {rss/1024:.2f} MiB (target <= 4), CPU per cycle {cpu:.0f} us (target <= 300)")
PY
# Growth: RSS after 1/3 of the cycles against the end, sampled from /proc.
"$bin" serve --interval 10ms --status "$out/status2.json" 2>/dev/null &
pid=$!
sleep 5; a=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
sleep 15; b=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
kill $pid; wait $pid 2>/dev/null || true
echo "serve RSS after 5 s: ${a} KiB, after 20 s: ${b} KiB"
size=$(stat -c %s "$bin")
echo "release binary: $(python3 -c "print(f'{$size/1e6:.2f}')") MB (target <= 5)"
