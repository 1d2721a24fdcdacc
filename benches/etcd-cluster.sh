#!/usr/bin/env bash
# Starts a 3-member etcd cluster on loopback for the settlement bench and prints its
# zkclaim ledger URL; `kill $(cat DIR/pids)` stops it. Usage: etcd-cluster.sh DIR [BASE_PORT]
set -euo pipefail
dir=$1
base=${2:-42379}
mkdir -p "$dir"
cluster=""
for i in 0 1 2; do
  cluster+="${cluster:+,}m$i=http://127.0.0.1:$((base + 10 * i + 1))"
done
: >"$dir/pids"
urls=()
for i in 0 1 2; do
  client=127.0.0.1:$((base + 10 * i))
  peer=http://127.0.0.1:$((base + 10 * i + 1))
  etcd --name "m$i" --data-dir "$dir/m$i" \
    --listen-client-urls "http://$client" --advertise-client-urls "http://$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "$cluster" --initial-cluster-token "zkclaim-$base" \
    --initial-cluster-state new >"$dir/m$i.log" 2>&1 &
  echo $! >>"$dir/pids"
  urls+=("$client")
done
echo "etcd://$(IFS=,; echo "${urls[*]}")"
