#!/usr/bin/env bash
# Throughput of `wildwarden scan` beside `grep -c -i -F -f` over the
# knowledge base's own terms, on the same synthetic corpus.
#
#   bash bench/scan.sh [LISTINGS]          (default 200000)
#   BIG=1 bash bench/scan.sh               also the peak memory on a ~1 GB input
#
# Prints bytes per second of each and the ratios the engine issue asks for:
# one worker against grep, two workers against one.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
out=bench/out
mkdir -p "$out"
go build -o "$out/wildwarden" ./cmd/wildwarden
go run ./bench/gencorpus -n "$n" -o "$out/corpus.jsonl"
# The knowledge base's own terms and term cues, one a line.
awk -F'\t' 'FNR==1 || /^#/ || NF < 2 {next} FILENAME ~ /terms/ && $1 != "" {print $1} FILENAME ~ /cues/ && $2=="term" && $3 != "" {print $3}' \
  kb/data/terms.tsv kb/data/cues.tsv | sort -u > "$out/terms.txt"
bytes=$(stat -c %s "$out/corpus.jsonl")
echo "corpus: $n listings, $bytes bytes; $(wc -l < "$out/terms.txt") terms; $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

# measure CMD…: best of 3 runs; prints "wall cpu" seconds (cpu = user + sys,
# less sensitive than wall time to other load on the machine).
measure() {
  local bw="" bc=""
  for _ in 1 2 3; do
    local t
    # Output to a file, not /dev/null: GNU grep stops at the first match
    # when it sees its output is /dev/null.
    /usr/bin/time -o "$out/time.txt" -f "%e %U %S" "$@" > "$out/measure.out" 2>/dev/null || true
    t=$(tail -1 "$out/time.txt")
    local w c
    w=$(echo "$t" | awk '{print $1}'); c=$(echo "$t" | awk '{print $2 + $3}')
    if [ -z "$bw" ] || awk -v a="$w" -v b="$bw" 'BEGIN{exit !(a < b)}'; then bw=$w; fi
    if [ -z "$bc" ] || awk -v a="$c" -v b="$bc" 'BEGIN{exit !(a < b)}'; then bc=$c; fi
  done
  echo "$bw $bc"
}
read -r gw gc < <(measure grep -c -i -F -f "$out/terms.txt" "$out/corpus.jsonl")
read -r w1 c1 < <(measure "$out/wildwarden" scan --workers 1 -q "$out/corpus.jsonl")
read -r w2 c2 < <(measure "$out/wildwarden" scan --workers 2 -q "$out/corpus.jsonl")
read -r wk ck < <(measure "$out/wildwarden" scan --model default --workers 1 -q "$out/corpus.jsonl")
mbs() { awk -v b="$bytes" -v t="$1" 'BEGIN{printf "%.1f", b / t / 1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %8s %8s %10s %10s\n' "" "wall s" "cpu s" "MB/s wall" "MB/s cpu"
printf '%-28s %8s %8s %10s %10s\n' "grep -c -i -F -f terms" "$gw" "$gc" "$(mbs "$gw")" "$(mbs "$gc")"
printf '%-28s %8s %8s %10s %10s\n' "wildwarden scan, 1 worker" "$w1" "$c1" "$(mbs "$w1")" "$(mbs "$c1")"
printf '%-28s %8s %8s %10s %10s\n' "wildwarden scan, 2 workers" "$w2" "$c2" "$(mbs "$w2")" "$(mbs "$c2")"
printf '%-28s %8s %8s %10s %10s\n' "scan --model default, 1 w." "$wk" "$ck" "$(mbs "$wk")" "$(mbs "$ck")"
echo "scan (1 worker) / grep, bytes per second: wall $(ratio "$gw" "$w1"), cpu $(ratio "$gc" "$c1")  (target >= 0.33)"
echo "2 workers / 1 worker, wall: $(ratio "$w1" "$w2")  (target >= 1.7)"
echo "learned model / keyword model, cpu per byte: $(ratio "$ck" "$c1")  (the learned model's cost; target <= 1.43)"
rss=$(/usr/bin/time -f %M "$out/wildwarden" scan --workers 2 -q -o /dev/null "$out/corpus.jsonl" 2>&1 >/dev/null | tail -1)
echo "peak RSS, 2 workers: $((rss / 1024)) MB"
if [ "${BIG:-0}" = 1 ]; then
  big=$(( n * 1000000000 / bytes ))
  go run ./bench/gencorpus -n "$big" -seed 2 -o "$out/big.jsonl"
  rss=$(/usr/bin/time -f %M "$out/wildwarden" scan -q -o /dev/null "$out/big.jsonl" 2>&1 >/dev/null | tail -1)
  echo "peak RSS on $(stat -c %s "$out/big.jsonl") bytes: $((rss / 1024)) MB (target <= 200)"
  rm -f "$out/big.jsonl"
fi
