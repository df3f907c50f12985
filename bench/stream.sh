#!/usr/bin/env bash
# Throughput of `wildwarden worker` over one NATS JetStream stream and one
# PostgreSQL database, with 1 and then 2 worker processes (GOMAXPROCS=1
# each). The NATS server (in process), PostgreSQL (a private cluster from
# the Debian binaries, fsync off) and the publisher run on the same machine
# and share its cores with the workers.
#
#   bash bench/stream.sh                      (20000 listings per run)
#   N=50000 WORKERS=1,2,4 bash bench/stream.sh
#   PROCS=2 bash bench/stream.sh              (GOMAXPROCS of each worker)
#   WORKER_ARGS="--concurrency 4" bash bench/stream.sh   (more worker flags;
#                                             {i} is replaced by the worker's number)
#   WORKER_ARGS="--cpuprofile /tmp/worker{i}.pprof" STREAM_ARGS="-cpuprofile /tmp/nats.pprof" bash bench/stream.sh
#                                             (CPU profiles of the workers and of the NATS server)
#
# Each run starts on a stream already filled with N listings (the corpus
# cycled with fresh IDs) and times the stored verdicts from the first 5%
# to the last, so that the workers' start-up is not counted. "listings per
# worker CPU s" divides all N by the CPU time the workers used, start-up
# included: it is the figure to size a deployment with.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-20000}
workers=${WORKERS:-1,2}
procs=${PROCS:-1}
worker_args=${WORKER_ARGS:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/wildwarden" ./cmd/wildwarden
go build -o "$work/stream" ./bench/stream
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(go version | cut -d' ' -f3); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/stream" -wildwarden "$work/wildwarden" -n "$n" -workers "$workers" -procs "$procs" -worker-args "$worker_args" -corpus testdata/corpus/corpus.jsonl ${STREAM_ARGS:-}
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
