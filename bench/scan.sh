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
awk -F'\t' 'FNR==1 || /^#/ || NF < 2 {next} FILENAME ~ /terms/ {print $1} FILENAME ~ /cues/ && $2=="term" {print $3}' \
  kb/data/terms.tsv kb/data/cues.tsv | sort -u > "$out/terms.txt"
bytes=$(stat -c %s "$out/corpus.jsonl")
echo "corpus: $n listings, $bytes bytes; $(wc -l < "$out/terms.txt") terms; $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

best() { # best of 3 wall-clock seconds of a command
  local b=""
  for _ in 1 2 3; do
    local s e t
    s=$(date +%s.%N); "$@" > /dev/null 2>&1 || [ $? -le 3 ]; e=$(date +%s.%N)
    t=$(awk -v s="$s" -v e="$e" 'BEGIN{print e - s}')
    if [ -z "$b" ] || awk -v t="$t" -v b="$b" 'BEGIN{exit !(t < b)}'; then b=$t; fi
  done
  echo "$b"
}
g=$(best grep -c -i -F -f "$out/terms.txt" "$out/corpus.jsonl")
w1=$(best "$out/wildwarden" scan --workers 1 -q -o /dev/null "$out/corpus.jsonl")
w2=$(best "$out/wildwarden" scan --workers 2 -q -o /dev/null "$out/corpus.jsonl")
mbs() { awk -v b="$bytes" -v t="$1" 'BEGIN{printf "%.1f", b / t / 1e6}'; }
printf 'grep -c -i -F -f terms   %6.3f s  %7s MB/s\n' "$g" "$(mbs "$g")"
printf 'scan --workers 1         %6.3f s  %7s MB/s\n' "$w1" "$(mbs "$w1")"
printf 'scan --workers 2         %6.3f s  %7s MB/s\n' "$w2" "$(mbs "$w2")"
printf 'ratio scan(1 worker) / grep   %.2f  (target >= 0.33)\n' "$(awk -v a="$g" -v b="$w1" 'BEGIN{print a / b}')"
printf 'ratio 2 workers / 1 worker    %.2f  (target >= 1.7)\n' "$(awk -v a="$w1" -v b="$w2" 'BEGIN{print a / b}')"
rss=$(/usr/bin/time -f %M "$out/wildwarden" scan --workers 2 -q -o /dev/null "$out/corpus.jsonl" 2>&1 >/dev/null | tail -1)
echo "peak RSS, 2 workers: $((rss / 1024)) MB"
if [ "${BIG:-0}" = 1 ]; then
  big=$(( n * 1000000000 / bytes ))
  go run ./bench/gencorpus -n "$big" -seed 2 -o "$out/big.jsonl"
  rss=$(/usr/bin/time -f %M "$out/wildwarden" scan -q -o /dev/null "$out/big.jsonl" 2>&1 >/dev/null | tail -1)
  echo "peak RSS on $(stat -c %s "$out/big.jsonl") bytes: $((rss / 1024)) MB (target <= 200)"
  rm -f "$out/big.jsonl"
fi
