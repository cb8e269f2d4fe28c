#!/bin/bash
# bench/dns/run.sh - outpost's authoritative DNS server against NSD and Knot, on loopback.
#
# Every server serves the same generated zone bench.test (tests/data/zonegen.py,
# NAMES host names, default 10,000) on a loopback port of its own, with one
# thread answering, pinned to CPU_SERVER (default 0) with taskset; dnsperf runs
# pinned to CPU_CLIENT (default 1) with the generated query mix. Measured for
# each server:
#   (1) over UDP: queries/s (dnsperf's per-second figures after the first second,
#       averaged; see dnsperf_run) and the average latency reported by dnsperf
#       (-l DURATION, default 10 s), and the server's CPU seconds per million answered queries
#       (utime+stime of all its processes, /proc/PID/stat, before and after):
#       the median of RUNS runs (default 3) of each figure;
#   (2) the same over TCP (dnsperf -m tcp);
#   (3) loading a zone of LOAD_RECORDS records (default 1,000,000; 0 skips it):
#       nsd-checkzone's wall time and peak RSS, and for each server the wall
#       time from start until it answers the zone's SOA and its peak RSS then
#       (the largest VmHWM among its processes).
# outpost runs with one loop thread ([server] workers = 1), POP3 off and
# response-rate limiting off; NSD with server-count 1 and rrl-ratelimit 0; Knot
# with one UDP, one TCP and one background worker. A server that is missing,
# or an outpost without DNS (its config check fails or it does not answer),
# is skipped with a line that says so.
#
# "floor" (bench/dns/udpfloor.c, built as build/release/udpfloor) is no DNS server:
# it answers every UDP query with one fixed A record, doing only the socket work
# of outpost's UDP path (epoll_wait, recvmmsg, sendmmsg per batch; FLOOR_MODE=block
# waits in a blocking recvmmsg instead). Its CPU per query is the kernel's share,
# the floor under any server on this machine's UDP sockets; it is measured over
# UDP only.
#
# Usage: bench/dns/run.sh [all|outpost|nsd|knot|floor]...      (default all)
# Environment: OUTPOST_BIN (default build/release/outpost), NAMES, QUERIES
#   (lines in the query file, default 100000), DURATION, RUNS, CLIENTS
#   (dnsperf -c, default 20), OUTSTANDING (dnsperf -q, default 100),
#   LOAD_RECORDS, CPU_SERVER, CPU_CLIENT, START_TIMEOUT, LOAD_TIMEOUT (seconds
#   to wait for the first answer), PYTHON (default /usr/bin/python3), KEEP=1
#   keeps the temp directory, RESULTS=FILE writes every figure to FILE as
#   "server.measure value" lines (e.g. "nsd.udp.qps 82540").
set -u
cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd)

OUTPOST_BIN=${OUTPOST_BIN:-$repo/build/release/outpost}
FLOOR_BIN=${FLOOR_BIN:-$repo/build/release/udpfloor}
FLOOR_MODE=${FLOOR_MODE:-epoll}
NAMES=${NAMES:-10000}
QUERIES=${QUERIES:-100000}
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-20}
OUTSTANDING=${OUTSTANDING:-100}
LOAD_RECORDS=${LOAD_RECORDS:-1000000}
CPU_SERVER=${CPU_SERVER:-0}
CPU_CLIENT=${CPU_CLIENT:-1}
PYTHON=${PYTHON:-/usr/bin/python3}
ZONE=bench.test
START_TIMEOUT=${START_TIMEOUT:-30}   # seconds for a server to answer with the small zone
LOAD_TIMEOUT=${LOAD_TIMEOUT:-600}    # ... with the large one

servers=("$@")
[ ${#servers[@]} = 0 ] && servers=(all)
for s in "${servers[@]}"; do
    case $s in
    all) servers=(outpost nsd knot floor); break ;;
    outpost | nsd | knot | floor) ;;
    *) echo "usage: $0 [all|outpost|nsd|knot|floor]..." >&2; exit 64 ;;
    esac
done

. bench/lib.sh
for tool in dnsperf taskset "$PYTHON"; do
    command -v "$tool" >/dev/null || { say "$tool is missing (scripts/setup.sh bench)"; exit 1; }
done

bench_init outpost-dnsbench
spid=""

probe() { "$PYTHON" "$repo/bench/dns/dnsprobe.py" "$@"; }
clk_tck=$(getconf CLK_TCK)

# CPU clock ticks (utime + stime) used so far by $1's process tree.
cpu_ticks() {
    local sum=0 p v
    for p in $(proc_tree "$1"); do
        # Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
        v=$(sed 's/.*) //' /proc/"$p"/stat 2>/dev/null | awk '{print $12 + $13}')
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# The largest peak RSS (VmHWM, KiB) among $1's processes.
peak_rss_kib() {
    local max=0 p v
    for p in $(proc_tree "$1"); do
        v=$(awk '/^VmHWM:/ {print $2}' /proc/"$p"/status 2>/dev/null)
        [ "${v:-0}" -gt "$max" ] && max=$v
    done
    echo "$max"
}

# ---------------------------------------------------------------- the zone and queries
say "generating $ZONE with $NAMES names and $QUERIES queries"
"$PYTHON" tests/data/zonegen.py zone "$ZONE" -n "$NAMES" -o "$tmp/$ZONE.zone" || exit 1
"$PYTHON" tests/data/zonegen.py queries "$ZONE" -n "$NAMES" -q "$QUERIES" -o "$tmp/queries" || exit 1
if [ "$LOAD_RECORDS" -gt 0 ]; then
    say "generating $ZONE with about $LOAD_RECORDS records"
    mkdir -p "$tmp/big"
    "$PYTHON" tests/data/zonegen.py zone "$ZONE" -r "$LOAD_RECORDS" -o "$tmp/big/$ZONE.zone" || exit 1
fi

# ---------------------------------------------------------------- starting each server
# start_SERVER DIR PORT ZONEFILE: starts it pinned to CPU_SERVER; its PID in spid.
start_nsd() {
    local d=$1 port=$2 zf=$3
    mkdir -p "$d/xfr"
    cat >"$d/nsd.conf" <<EOF
# Generated by bench/dns/run.sh: an NSD of its own, one server process, on loopback.
server:
    server-count: 1
    ip-address: 127.0.0.1@$port
    port: $port
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "$d"
    database: ""
    zonelistfile: "$d/zone.list"
    xfrdfile: "$d/xfrd.state"
    xfrdir: "$d/xfr"
    pidfile: "$d/nsd.pid"
    logfile: "$d/nsd.log"
    verbosity: 1
    rrl-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: $ZONE
    zonefile: "$zf"
EOF
    taskset -c "$CPU_SERVER" nsd -d -c "$d/nsd.conf" >"$d/stdout" 2>"$d/stderr" &
    spid=$!
}

start_knot() {
    local d=$1 port=$2 zf=$3
    mkdir -p "$d/run" "$d/storage"
    cat >"$d/knot.conf" <<EOF
# Generated by bench/dns/run.sh: a Knot of its own, one UDP and one TCP worker, on loopback.
server:
    rundir: "$d/run"
    pidfile: "$d/knot.pid"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "$d/storage"
template:
  - id: default
    storage: "$d/storage"
    journal-content: none
    zonefile-sync: -1
    zonefile-load: whole
zone:
  - domain: $ZONE
    file: "$zf"
EOF
    taskset -c "$CPU_SERVER" knotd -c "$d/knot.conf" >"$d/stdout" 2>"$d/stderr" &
    spid=$!
}

# outpost_conf DIR PORT ZONEFILE: the config the benchmark runs outpost with.
outpost_conf() {
    local d=$1 port=$2 zf=$3
    mkdir -p "$d/data"
    cat >"$d/outpost.conf" <<EOF
# Generated by bench/dns/run.sh: DNS only, one loop thread, on loopback.
[server]
data = $d/data
workers = 1
log_level = warning
[pop3]
listen =
listen_tls =
[smtp]
listen =
listen_submission =
listen_submissions =
[ftp]
listen =
[dns]
listen = 127.0.0.1:$port
rrl_rate = 0
[zone $ZONE]
file = $zf
role = primary
EOF
}

start_outpost() {
    local d=$1 port=$2 zf=$3
    outpost_conf "$d" "$port" "$zf"
    taskset -c "$CPU_SERVER" "$OUTPOST_BIN" serve -c "$d/outpost.conf" >"$d/stdout" 2>"$d/stderr" &
    spid=$!
}

start_floor() {
    local d=$1 port=$2
    taskset -c "$CPU_SERVER" "$FLOOR_BIN" "$port" "$FLOOR_MODE" >"$d/stdout" 2>"$d/stderr" &
    spid=$!
}

# Can this server run here? Says why not.
available() {
    local out
    case $1 in
    nsd) command -v nsd >/dev/null || { say "nsd: not installed (scripts/setup.sh bench); skipped"; return 1; } ;;
    knot) command -v knotd >/dev/null || { say "knot: not installed (scripts/setup.sh bench); skipped"; return 1; } ;;
    floor) [ -x "$FLOOR_BIN" ] || { say "floor: $FLOOR_BIN not built (make bench-dns); skipped"; return 1; } ;;
    outpost)
        if [ ! -x "$OUTPOST_BIN" ]; then
            say "outpost: $OUTPOST_BIN not built (make); skipped"; return 1
        fi
        # An outpost without DNS refuses the [dns] and [zone] sections.
        outpost_conf "$tmp/check" "$(probe port)" "$tmp/$ZONE.zone"
        if ! out=$("$OUTPOST_BIN" check -c "$tmp/check/outpost.conf" 2>&1); then
            say "outpost: no DNS server in this build ('outpost check' refuses the DNS config: $(head -c 300 <<<"$out" | tr '\n' ' ')); skipped"
            return 1
        fi
        ;;
    esac
}

# ---------------------------------------------------------------- throughput
# dnsperf_run NAME PID PORT MODE I: one dnsperf run; prints "qps latency_ms cpu_s_per_million".
dnsperf_run() {
    local name=$1 pid=$2 port=$3 mode=$4 i=$5 out=$tmp/dnsperf-$1-$4-$5.txt t0 t1 done_q qps lat steady
    t0=$(cpu_ticks "$pid")
    timeout $((DURATION + 60)) taskset -c "$CPU_CLIENT" dnsperf -m "$mode" -s 127.0.0.1 -p "$port" \
        -d "$tmp/queries" -c "$CLIENTS" -q "$OUTSTANDING" -T 1 -l "$DURATION" -S 1 >"$out" 2>&1
    t1=$(cpu_ticks "$pid")
    # The first "Average Latency" is the queries'; over TCP a second one follows for connections.
    done_q=$(awk '/Queries completed:/ {print $3; exit}' "$out")
    qps=$(awk '/Queries per second:/ {printf "%.0f\n", $4; exit}' "$out")
    # The steady rate: the mean of dnsperf's per-second figures (-S 1) without the first
    # second, in which the connections are made. Knot listens with a backlog of 10: of 20
    # TCP connections made at once some SYNs are dropped and retried a second later, so
    # over TCP Knot answers almost nothing in the first second of every run.
    steady=$(awk '/^[0-9]+\.[0-9]+: [0-9.]+$/ {n++; if (n > 1) {s += $2; k++}}
                  END {if (k >= 2) printf "%.0f\n", s / k}' "$out")
    lat=$(awk '/Average Latency \(s\):/ {printf "%.3f\n", $4 * 1000; exit}' "$out")
    if [ -z "$done_q" ] || [ -z "$qps" ] || [ "$done_q" = 0 ]; then
        say "$name $mode run $i: dnsperf failed:"; tail -5 "$out" >&2
        return 1
    fi
    say "$name $mode run $i: ${steady:-$qps} q/s (${qps} over the whole run), latency $lat ms, $(awk '/Queries lost:/ {print $3, "lost"}' "$out"); $(sed -n 's/ *Response codes: *//p' "$out")"
    # The shares of each RCODE: a server answering wrongly may look fast; these show it.
    [ "$i" = 1 ] && [ "$mode" = udp ] &&
        echo "$(sed -n 's/ *Response codes: *//p' "$out" | sed 's/ [0-9]* (/ (/g')" >"$tmp/rcodes-$name"
    awk -v q="${steady:-$qps}" -v l="$lat" -v t="$((t1 - t0))" -v hz="$clk_tck" -v n="$done_q" \
        'BEGIN {printf "%s %s %.3f\n", q, l, t / hz / n * 1e6}'
}

# throughput NAME: start NAME on the small zone, RUNS dnsperf runs over UDP then TCP.
declare -A res
throughput() {
    local name=$1 d=$tmp/$1 port pid mode i line waited
    mkdir -p "$d"
    port=$(probe port)
    "start_$name" "$d" "$port" "$tmp/$ZONE.zone"
    pid=$spid
    server_pids+=("$pid")
    if ! waited=$(probe wait "$port" "$ZONE" "$START_TIMEOUT" "$pid"); then
        if [ "$name" = outpost ]; then
            say "outpost: does not answer $ZONE SOA on port $port (no DNS server yet?); skipped"
        else
            say "$name: did not answer $ZONE SOA within ${START_TIMEOUT}s"
        fi
        tail -5 "$d"/stderr "$d"/*.log 2>/dev/null >&2
        stop_server "$pid"
        return 1
    fi
    say "$name: answering on port $port after ${waited}s (pid $pid)"
    for mode in udp tcp; do
        [ "$name" = floor ] && [ "$mode" = tcp ] && continue
        : >"$d/$mode.runs"
        for i in $(seq "$RUNS"); do
            line=$(dnsperf_run "$name" "$pid" "$port" "$mode" "$i") && echo "$line" >>"$d/$mode.runs"
        done
        if [ -s "$d/$mode.runs" ]; then
            res[$name,$mode,qps]=$(awk '{print $1}' "$d/$mode.runs" | median)
            res[$name,$mode,lat]=$(awk '{print $2}' "$d/$mode.runs" | median)
            res[$name,$mode,cpu]=$(awk '{print $3}' "$d/$mode.runs" | median)
        fi
    done
    stop_server "$pid"
}

# ---------------------------------------------------------------- loading a large zone
# load NAME: start NAME on the large zone; time until it answers the SOA, peak RSS.
load() {
    local name=$1 d=$tmp/load-$1 port pid waited t0
    mkdir -p "$d"
    port=$(probe port)
    t0=$(date +%s.%N)
    "start_$name" "$d" "$port" "$tmp/big/$ZONE.zone"
    pid=$spid
    server_pids+=("$pid")
    if ! probe wait "$port" "$ZONE" "$LOAD_TIMEOUT" "$pid" >/dev/null; then
        say "$name: did not answer with the large zone within ${LOAD_TIMEOUT}s"
        tail -5 "$d"/stderr "$d"/*.log 2>/dev/null >&2
        stop_server "$pid"
        return 1
    fi
    # From the start of the process (not of the probe) to the first answer.
    waited=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f\n", b - a}')
    res[$name,load,s]=$waited
    res[$name,load,rss]=$(peak_rss_kib "$pid")
    say "$name: answered the SOA of the large zone after ${waited}s, peak RSS ${res[$name,load,rss]} KiB"
    stop_server "$pid"
}

ran=()
for s in "${servers[@]}"; do
    available "$s" || continue
    throughput "$s" || continue
    ran+=("$s")
done
big_records=""
if [ "$LOAD_RECORDS" -gt 0 ]; then
    big_records=$(grep -vc '^[;$]' "$tmp/big/$ZONE.zone")
    if [[ " ${servers[*]} " == *" nsd "* ]] && command -v nsd-checkzone >/dev/null; then
        line=$(probe run timeout "$LOAD_TIMEOUT" nsd-checkzone "$ZONE" "$tmp/big/$ZONE.zone")
        say "nsd-checkzone, $big_records records: $line"
        res[checkzone,load,s]=$(sed 's/.*wall_s=\([0-9.]*\).*/\1/' <<<"$line")
        res[checkzone,load,rss]=$(sed 's/.*maxrss_kib=\([0-9]*\).*/\1/' <<<"$line")
    fi
    for s in "${ran[@]}"; do [ "$s" = floor ] || load "$s"; done
fi

# ---------------------------------------------------------------- the table
label() { case $1 in floor) echo floor ;; outpost) echo outpost ;; nsd) echo NSD ;; knot) echo Knot ;; checkzone) echo nsd-checkzone ;; esac; }
get() { local v=${res[$1]:-}; echo "${v:--}"; }
echo
echo "DNS: zone $ZONE, $(grep -vc '^[;$]' "$tmp/$ZONE.zone") records ($NAMES names), one server thread on CPU $CPU_SERVER,"
echo "dnsperf -c $CLIENTS -q $OUTSTANDING -l $DURATION on CPU $CPU_CLIENT; medians of $RUNS runs"
printf '  %-8s %11s %9s %10s   %11s %9s %10s\n' server "UDP q/s" "lat ms" "CPU s/Mq" "TCP q/s" "lat ms" "CPU s/Mq"
for s in "${servers[@]}"; do
    [ -n "${res[$s,udp,qps]:-}${res[$s,tcp,qps]:-}" ] || { printf '  %-8s not measured\n' "$(label "$s")"; continue; }
    printf '  %-8s %11s %9s %10s   %11s %9s %10s\n' "$(label "$s")" \
        "$(get "$s,udp,qps")" "$(get "$s,udp,lat")" "$(get "$s,udp,cpu")" \
        "$(get "$s,tcp,qps")" "$(get "$s,tcp,lat")" "$(get "$s,tcp,cpu")"
done
for s in "${servers[@]}"; do
    [ -s "$tmp/rcodes-$s" ] && printf '  %-8s answers: %s\n' "$(label "$s")" "$(cat "$tmp/rcodes-$s")"
done
for peer in nsd knot; do
    for mode in udp tcp; do
        o_q=${res[outpost,$mode,qps]:-} p_q=${res[$peer,$mode,qps]:-}
        o_c=${res[outpost,$mode,cpu]:-} p_c=${res[$peer,$mode,cpu]:-}
        [ -n "$o_q" ] && [ -n "$p_q" ] || continue
        awk -v m="${mode^^}" -v p="$(label "$peer")" -v oq="$o_q" -v pq="$p_q" -v oc="$o_c" -v pc="$p_c" \
            'BEGIN {printf "  %s: outpost answers %.2fx the queries/s of %s, with %.2fx its CPU per query\n",
                    m, oq / pq, p, (pc > 0 ? oc / pc : 0)}'
    done
done
f_c=${res[floor,udp,cpu]:-}
if [ -n "$f_c" ]; then
    for s in outpost nsd knot; do
        [ -n "${res[$s,udp,cpu]:-}" ] || continue
        awk -v p="$(label "$s")" -v fc="$f_c" -v sc="${res[$s,udp,cpu]}" \
            'BEGIN {printf "  UDP: the socket floor is %.2fx the CPU per query of %s, which spends %.3f s/Mq above it\n",
                    fc / sc, p, sc - fc}'
    done
fi
if [ -n "$big_records" ]; then
    echo "DNS: loading a zone of $big_records records (until the SOA is answered)"
    printf '  %-14s %9s %12s\n' "" "wall s" "peak RSS MiB"
    for s in checkzone outpost nsd knot; do
        [ -n "${res[$s,load,s]:-}" ] || continue
        printf '  %-14s %9s %12s\n' "$(label "$s")" "${res[$s,load,s]}" \
            "$(awk -v k="${res[$s,load,rss]}" 'BEGIN {printf "%.1f", k / 1024}')"
    done
    for peer in nsd knot; do
        [ -n "${res[outpost,load,s]:-}" ] && [ -n "${res[$peer,load,s]:-}" ] || continue
        awk -v p="$(label "$peer")" -v ot="${res[outpost,load,s]}" -v pt="${res[$peer,load,s]}" \
            -v om="${res[outpost,load,rss]}" -v pm="${res[$peer,load,rss]}" \
            'BEGIN {printf "  load: outpost takes %.2fx the time and %.2fx the memory of %s\n", ot / pt, om / pm, p}'
    done
fi
# Every figure as "server.what value" lines, for scripts that compare runs.
if [ -n "${RESULTS:-}" ]; then
    for k in "${!res[@]}"; do echo "${k//,/.} ${res[$k]}"; done | sort >"$RESULTS"
fi
[ ${#ran[@]} -gt 0 ]
