#!/usr/bin/env bash
# zkclaim's phase-2 ceremony commands against snarkjs's on the same files, in one run: for
# each step the two tools run in turn (whole processes), ROUNDS times, and the medians of
# wall time and peak memory are printed as a Markdown table with the ratios.
#
# Usage: benches/ceremony.sh PTAU [ROUNDS]
#   PTAU    a phase-1 file prepared for phase 2 (`snarkjs powersoftau prepare phase2`), large
#           enough for the circuit's domain (2^14 for the default shape)
#   ROUNDS  default 3
# Environment: ZKCLAIM (default target/release/zkclaim), SNARKJS (default: snarkjs's cli.cjs
# under target/tmp/snarkjs, as the tests install it), SHAPE (e.g. "--items 2 --depth 4";
# default: the default shape).
set -euo pipefail
ptau=$(realpath "$1")
rounds=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
zkclaim=$(realpath "${ZKCLAIM:-$root/target/release/zkclaim}")
snarkjs=$(realpath "${SNARKJS:-$root/target/tmp/snarkjs/node_modules/snarkjs/build/cli.cjs}")
read -r -a shape <<<"${SHAPE:-}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

"$zkclaim" export r1cs "${shape[@]}" --out claim.r1cs >/dev/null
results=$work/results
: >"$results"

# run TOOL STEP COMMAND...: one timed run, its wall seconds and peak KiB appended.
run() {
  local tool=$1 step=$2
  shift 2
  /usr/bin/time -f "%e %M" -o time.txt "$@" >log.txt 2>&1 || {
    echo "$tool $step failed:" >&2
    cat log.txt >&2
    exit 1
  }
  echo "$step $tool $(cat time.txt)" >>"$results"
}

for round in $(seq "$rounds"); do
  rm -f z_*.zkey s_*.zkey
  run zkclaim new "$zkclaim" ceremony new --ptau "$ptau" --out z_0.zkey "${shape[@]}"
  run snarkjs new node "$snarkjs" groth16 setup claim.r1cs "$ptau" s_0.zkey
  run zkclaim contribute "$zkclaim" ceremony contribute z_0.zkey z_1.zkey --name "bench $round"
  run snarkjs contribute node "$snarkjs" zkey contribute s_0.zkey s_1.zkey \
    --name="bench $round" -e="bench $round"
  run zkclaim verify "$zkclaim" ceremony verify --ptau "$ptau" --zkey z_1.zkey "${shape[@]}"
  run snarkjs verify node "$snarkjs" zkey verify claim.r1cs "$ptau" s_1.zkey
done

cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | xargs)
echo "Machine: $cpu, $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB;" \
  "$rounds rounds, the tools alternated; medians."
echo
python3 - "$results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    step, tool, wall, kib = line.split()
    rows.setdefault(step, {}).setdefault(tool, []).append((float(wall), int(kib)))
print("| step | zkclaim | snarkjs | zkclaim / snarkjs | peak memory zkclaim / snarkjs |")
print("|---|---|---|---|---|")
for step in ["new", "contribute", "verify"]:
    z, s = rows[step]["zkclaim"], rows[step]["snarkjs"]
    zw, sw = statistics.median(w for w, _ in z), statistics.median(w for w, _ in s)
    zm, sm = statistics.median(m for _, m in z), statistics.median(m for _, m in s)
    print(f"| {step} | {zw:.2f} s | {sw:.2f} s | {zw / sw:.2f}x "
          f"| {zm / 1024:.0f} / {sm / 1024:.0f} MiB |")
EOF
