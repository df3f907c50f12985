#!/usr/bin/env bash
# Load test of `wildwarden serve`: single POST /v1/screen requests at fixed
# concurrency on loopback, every verdict persisted (SQLite, WAL, group
# commit). The load generator runs on the same machine and shares its cores.
#
#   bash bench/serve.sh                 (20 s at concurrency 32)
#   DURATION=30s CONC=64 bash bench/serve.sh
#   CORPUS=bench/out/corpus.jsonl bash bench/serve.sh   (listings from a file)
#
# Prints requests per second and p50/p90/p99 latency, then checks that the
# store holds a verdict for every answered request.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-20s}
conc=${CONC:-32}
port=${PORT:-18480}
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/wildwarden" ./cmd/wildwarden
go build -o "$work/loadgen" ./bench/loadgen
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(go version | cut -d' ' -f3)"

"$work/wildwarden" serve --addr "127.0.0.1:$port" --db "$work/ww.db" 2> "$work/serve.log" &
pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break
  sleep 0.1
done
key=$("$work/wildwarden" admin key create --db "$work/ww.db" --role platform 2> /dev/null)

# CPU time of the server process (user + system clock ticks).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
ticks_before=$(cpu_ticks)

"$work/loadgen" -url "http://127.0.0.1:$port" -key "$key" -c "$conc" -d "$duration" \
  ${CORPUS:+-corpus "$CORPUS"} -ok-file "$work/ok.txt"

# Every answered request has its verdict in the store (warm-up included).
answered=$(grep -c . "$work/ok.txt" || true)
stored=$(curl -fs -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/stats" |
  python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["verdicts"].values()))')
echo "verdicts stored: $stored (answered in the measured run: $answered)"
ticks=$(( $(cpu_ticks) - ticks_before ))
hz=$(getconf CLK_TCK)
# The server's own CPU per request (warm-up included) and what two cores
# given to the server alone would sustain at that cost. On a shared machine
# the measured throughput above is lower: the load generator and any other
# process take their share of the same cores.
awk -v t="$ticks" -v hz="$hz" -v n="$stored" 'BEGIN {
  us = t / hz / n * 1e6
  printf "server CPU per request %.0f us; two dedicated cores at that cost: %.0f req/s\n", us, 2e6 / us }'
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$stored" -lt "$answered" ]; then
  echo "FAIL: fewer verdicts stored than requests answered" >&2
  exit 1
fi
