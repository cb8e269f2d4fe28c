#!/bin/sh
# bench/queue/run.sh BINARY - queue_submit() throughput on this machine's
# disk: 10 threads, 1 KiB messages, local delivery, remote queueing, both;
# then local delivery with 1, 2 and 32 threads (what group commit buys:
# concurrent fsyncs share journal commits). Not asserted.
set -e
bin=${1:-build/release/queue-bench}
dir=$(mktemp -d "${TMPDIR:-/tmp}/outpost-queue-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
for mode in local remote both; do
    "$bin" "$dir/$mode" 10 2000 1024 "$mode"
done
for t in 1 2 32; do
    "$bin" "$dir/t$t" "$t" $((t * 100 < 2000 ? t * 200 : 3200)) 1024 local
done
