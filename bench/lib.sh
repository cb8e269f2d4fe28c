# bench/lib.sh - what every benchmark script needs, sourced by bench/*/run.sh
# after it has cd'ed to the repository's root.
#
# bench_init PREFIX [BASE]   makes $tmp (a fresh directory under BASE,
#                     default /tmp, removed at exit unless KEEP=1) and
#                     arranges that every PID in server_pids and client_pids
#                     is stopped at exit. A script with more to undo sets its
#                     own EXIT trap afterwards and calls bench_cleanup last.

say() { echo "bench: $*" >&2; }

server_pids=()
client_pids=()

# Stop $1: SIGTERM, up to 10 s to exit, then SIGKILL.
stop_server() {
    kill -TERM "$1" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

bench_cleanup() {
    local p
    for p in "${client_pids[@]}" "${server_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${client_pids[@]}" "${server_pids[@]}"; do stop_server "$p"; done
    if [ "${KEEP:-0}" = 1 ]; then echo "bench: kept $tmp"; else rm -rf "$tmp"; fi
}

bench_init() {
    tmp=$(mktemp -d "${2:-/tmp}/$1.XXXXXX") || exit 1
    chmod 755 "$tmp"          # peers' worker processes run as unprivileged users
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Wait (at most 30 s) until 127.0.0.1:$1 accepts, or the process $2 died.
wait_port() {
    for _ in $(seq 300); do
        kill -0 "$2" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# PIDs of $1 and all its descendants.
proc_tree() {
    local todo=("$1") out=() p c
    while [ ${#todo[@]} -gt 0 ]; do
        p=${todo[0]}; todo=("${todo[@]:1}")
        out+=("$p")
        for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do todo+=("$c"); done
    done
    echo "${out[@]}"
}

# Summed PSS in KiB of $1's process tree.
pss_kib() {
    local p files=()
    for p in $(proc_tree "$1"); do files+=("/proc/$p/smaps_rollup"); done
    awk '/^Pss:/ {s += $2} END {print s + 0}' "${files[@]}" 2>/dev/null
}

# The median of the numbers on standard input, one per line.
median() { sort -g | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'; }

# idle_pss NAME SERVERPID CMD...: KiB of PSS per idle session of the server
# whose process tree starts at SERVERPID. CMD (run in the background; an
# argument @READY@ in it is replaced by the name of a file) opens CONNS
# sessions, writes a line to that file once all are up, and holds them.
idle_pss() {
    local name=$1 spid=$2 before after cpid ready=$tmp/ready-$1 a cmd=()
    shift 2
    for a in "$@"; do [ "$a" = @READY@ ] && cmd+=("$ready") || cmd+=("$a"); done
    sleep 1
    before=$(pss_kib "$spid")
    rm -f "$ready"
    "${cmd[@]}" &
    cpid=$!
    client_pids+=("$cpid")
    for _ in $(seq 3000); do
        [ -e "$ready" ] && break
        kill -0 "$cpid" 2>/dev/null || break
        sleep 0.1
    done
    if [ ! -e "$ready" ]; then
        say "$name: the idle sessions did not all start"
        kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
        return 1
    fi
    say "$name: $(cat "$ready")"
    sleep 2
    after=$(pss_kib "$spid")
    say "$name: PSS $before KiB before, $after KiB with $CONNS idle sessions ($(proc_tree "$spid" | wc -w) processes)"
    kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
    awk -v a="$after" -v b="$before" -v n="$CONNS" 'BEGIN {printf "%.1f\n", (a - b) / n}'
}
