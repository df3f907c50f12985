#!/usr/bin/env bash
# Throughput of `wildwarden scan` beside `grep -c -i -F -f` over the
# knowledge base's own terms, on the same synthetic corpus.
#
#   bash bench/scan.sh [LISTINGS]          (default 200000)
#   BIG=1 bash bench/scan.sh               also the peak memory on a ~1 GB input
#
# Prints bytes per second of each and the ratios the engine issue asks for:
# one worker against grep, two workers against one; and the learned model's
# cost against the keyword model. ROUNDS=N sets the interleaved rounds
# (default 5).
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

# The commands run in interleaved rounds (grep, scan with 1 worker, with 2
# workers, with the learned model, then again), so that a change in the
# machine's speed touches all of them alike; each round's ratios are
# printed, then the medians. Times are wall and CPU (user + sys) seconds.
rounds=${ROUNDS:-5}
timed() { # timed NAME CMD…: appends "wall cpu" to $out/NAME.times
  local name=$1
  shift
  # Output to a file, not /dev/null: GNU grep stops at the first match
  # when it sees its output is /dev/null.
  local status=0
  /usr/bin/time -o "$out/time.txt" -f "%e %U %S" "$@" > "$out/measure.out" 2>"$out/measure.err" || status=$?
  if [ "$status" -ne 0 ] && ! [ "$name" = grep ] || [ "$status" -gt 1 ]; then # grep exits 1 when nothing matches
    echo "$name failed (exit status $status): $*" >&2
    cat "$out/measure.err" >&2
    exit 1
  fi
  tail -1 "$out/time.txt" | awk '{print $1, $2 + $3}' >> "$out/$name.times"
}
rm -f "$out"/*.times
printf '%-6s %8s %8s %8s %8s %10s %10s %10s\n' round "grep s" "1 w. s" "2 w. s" "model s" "1w/grep" "2w/1w" "model/1w"
for r in $(seq "$rounds"); do
  timed grep grep -c -i -F -f "$out/terms.txt" "$out/corpus.jsonl"
  timed one "$out/wildwarden" scan --workers 1 -q "$out/corpus.jsonl"
  timed two "$out/wildwarden" scan --workers 2 -q "$out/corpus.jsonl"
  timed model "$out/wildwarden" scan --model default --workers 1 -q "$out/corpus.jsonl"
  paste -d' ' "$out/grep.times" "$out/one.times" "$out/two.times" "$out/model.times" | tail -1 |
    awk -v r="$r" '{printf "%-6s %8.2f %8.2f %8.2f %8.2f %10.2f %10.2f %10.2f\n", r, $1, $3, $5, $7, $1 / $3, $3 / $5, $8 / $4}'
done
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() { awk -v c="$2" '{print $c}' "$out/$1.times" | median; }
gw=$(col grep 1) gc=$(col grep 2) w1=$(col one 1) c1=$(col one 2) w2=$(col two 1) c2=$(col two 2) wk=$(col model 1) ck=$(col model 2)
mbs() { awk -v b="$bytes" -v t="$1" 'BEGIN{printf "%.1f", b / t / 1e6}'; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "medians of $rounds rounds:"
printf '%-28s %8s %8s %10s %10s\n' "" "wall s" "cpu s" "MB/s wall" "MB/s cpu"
printf '%-28s %8s %8s %10s %10s\n' "grep -c -i -F -f terms" "$gw" "$gc" "$(mbs "$gw")" "$(mbs "$gc")"
printf '%-28s %8s %8s %10s %10s\n' "wildwarden scan, 1 worker" "$w1" "$c1" "$(mbs "$w1")" "$(mbs "$c1")"
printf '%-28s %8s %8s %10s %10s\n' "wildwarden scan, 2 workers" "$w2" "$c2" "$(mbs "$w2")" "$(mbs "$c2")"
printf '%-28s %8s %8s %10s %10s\n' "scan --model default, 1 w." "$wk" "$ck" "$(mbs "$wk")" "$(mbs "$ck")"
ratios() { paste -d' ' "$out/$1.times" "$out/$2.times" | awk -v a="$3" -v b="$4" '{print $a / $b}' | median | awk '{printf "%.2f", $1}'; }
echo "scan (1 worker) / grep, bytes per second, median of the rounds' ratios: wall $(ratios grep one 1 3), cpu $(ratios grep one 2 4)  (target >= 0.33)"
echo "2 workers / 1 worker, wall, median: $(ratios one two 1 3)  (target >= 1.7)"
echo "learned model / keyword model, cpu per byte, median: $(ratios model one 2 4)  (the learned model's cost; target <= 1.43, i.e. at most 30% less throughput)"
rss=$(/usr/bin/time -f %M "$out/wildwarden" scan --workers 2 -q -o /dev/null "$out/corpus.jsonl" 2>&1 >/dev/null | tail -1)
echo "peak RSS, 2 workers: $((rss / 1024)) MB"
if [ "${BIG:-0}" = 1 ]; then
  big=$(( n * 1000000000 / bytes ))
  go run ./bench/gencorpus -n "$big" -seed 2 -o "$out/big.jsonl"
  rss=$(/usr/bin/time -f %M "$out/wildwarden" scan -q -o /dev/null "$out/big.jsonl" 2>&1 >/dev/null | tail -1)
  echo "peak RSS on $(stat -c %s "$out/big.jsonl") bytes: $((rss / 1024)) MB (target <= 200)"
  rm -f "$out/big.jsonl"
fi
