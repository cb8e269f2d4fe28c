#!/bin/sh
# bench/queue/run.sh BINARY - queue_submit() throughput on this machine's
# disk: 10 threads, 1 KiB messages, local delivery, remote queueing, both;
# then 1 thread for comparison (what group commit buys). Not asserted.
set -e
bin=${1:-build/release/queue-bench}
dir=$(mktemp -d "${TMPDIR:-/tmp}/outpost-queue-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
for mode in local remote both; do
    "$bin" "$dir/$mode" 10 2000 1024 "$mode"
done
"$bin" "$dir/single" 1 500 1024 local
