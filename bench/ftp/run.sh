#!/bin/bash
# bench/ftp/run.sh - outpost's FTP server against vsftpd, on loopback, in one run.
#
# Both servers serve the same account contents: a 1 GiB file, 1,000 files
# of 4 KiB (f0001 .. f1000). Measured for each server, the median of RUNS
# runs with bench/ftp/ftpbench.c as the client:
#   (1) RETR of the 1 GiB file (MB/s, from RETR to 226; the file is in the
#       page cache: one untimed read first);
#   (2) STOR of 1 GiB (MB/s, from STOR to 226; outpost syncs the file to
#       disk before its 226, vsftpd does not);
#   (3) one session downloading the 1,000 small files, each over its own
#       EPSV data connection (seconds);
#   (4) sessions per second: connect, greeting, NOOP, QUIT, no login (the
#       server's own cost per session, not the password hash's), SESSIONS
#       sessions from PROCS client processes.
#
# Usage: bench/ftp/run.sh [outpost|vsftpd|both]     (default both)
# Environment: OUTPOST_BIN (default build/release/outpost), BIG_MB (1024),
#              SMALL (1000), SESSIONS (2000), PROCS (4), RUNS (3),
#              KEEP=1 keeps the temp directory for inspection.
set -u
cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd)

which_servers=${1:-both}
OUTPOST_BIN=${OUTPOST_BIN:-$repo/build/release/outpost}
BIG_MB=${BIG_MB:-1024}
SMALL=${SMALL:-1000}
SESSIONS=${SESSIONS:-2000}
PROCS=${PROCS:-4}
RUNS=${RUNS:-3}
BENCH_PW="bench-$$-$RANDOM$RANDOM"
VSFTPD_USER=outpost-ftpbench
big_bytes=$((BIG_MB * 1048576))

tmp=$(mktemp -d /var/tmp/outpost-ftpbench.XXXXXX) || exit 1
chmod 755 "$tmp"
server_pids=()
made_user=0

cleanup() {
    local p
    for p in "${server_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${server_pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    [ "$made_user" = 1 ] && userdel "$VSFTPD_USER" 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then echo "bench: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench: $*" >&2; }

cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$tmp/ftpbench" bench/ftp/ftpbench.c || exit 1
fb=$tmp/ftpbench

# The account contents, made once and copied (reflinks or plain copies) into each home.
mkdir -p "$tmp/content"
head -c "$big_bytes" /dev/urandom >"$tmp/content/big" || exit 1
for i in $(seq -f '%04g' 1 "$SMALL"); do head -c 4096 /dev/urandom >"$tmp/content/f$i"; done

# Wait (at most 30 s) until 127.0.0.1:$1 accepts, or the process $2 died.
wait_port() {
    for _ in $(seq 300); do
        kill -0 "$2" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

stop_server() {
    kill -TERM "$1" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# measure NAME PORT USER HOME: sets m_retr m_stor m_many m_sess.
measure() {
    local name=$1 port=$2 user=$3 home=$4 out i v=()
    m_retr="" m_stor="" m_many="" m_sess=""
    cat "$home/big" >/dev/null                  # into the page cache
    "$fb" retr "$port" "$user" "$BENCH_PW" big >/dev/null || { say "$name: RETR failed"; return 1; }
    for i in $(seq "$RUNS"); do
        out=$("$fb" retr "$port" "$user" "$BENCH_PW" big) || return 1
        say "$name RETR $i: $out"
        [ "$(sed 's/bytes=\([0-9]*\).*/\1/' <<<"$out")" = "$big_bytes" ] || { say "$name: short RETR"; return 1; }
        v+=("$(sed 's/.*mbs=\([0-9]*\).*/\1/' <<<"$out")")
    done
    m_retr=$(printf '%s\n' "${v[@]}" | median); v=()
    for i in $(seq "$RUNS"); do
        rm -f "$home/up"; sync
        out=$("$fb" stor "$port" "$user" "$BENCH_PW" up "$big_bytes") || return 1
        say "$name STOR $i: $out"
        [ "$(stat -c %s "$home/up")" = "$big_bytes" ] || { say "$name: stored file has the wrong size"; return 1; }
        v+=("$(sed 's/.*mbs=\([0-9]*\).*/\1/' <<<"$out")")
    done
    rm -f "$home/up"
    m_stor=$(printf '%s\n' "${v[@]}" | median); v=()
    "$fb" many "$port" "$user" "$BENCH_PW" "$SMALL" >/dev/null || { say "$name: small files failed"; return 1; }
    for i in $(seq "$RUNS"); do
        out=$("$fb" many "$port" "$user" "$BENCH_PW" "$SMALL") || return 1
        say "$name $SMALL files $i: $out"
        [ "$(sed 's/.*bytes=\([0-9]*\).*/\1/' <<<"$out")" = "$((SMALL * 4096))" ] || { say "$name: short small files"; return 1; }
        v+=("$(sed 's/.*secs=\([0-9.]*\).*/\1/' <<<"$out")")
    done
    m_many=$(printf '%s\n' "${v[@]}" | median); v=()
    for i in $(seq "$RUNS"); do
        out=$("$fb" sessions "$port" "$SESSIONS" "$PROCS") || return 1
        say "$name sessions $i: $out"
        v+=("$(sed 's/.*per_s=\([0-9]*\).*/\1/' <<<"$out")")
        sleep 1
    done
    m_sess=$(printf '%s\n' "${v[@]}" | median)
}

# ---------------------------------------------------------------- outpost
bench_outpost() {
    local d=$tmp/outpost port conf pid home
    if [ ! -x "$OUTPOST_BIN" ]; then
        say "outpost: $OUTPOST_BIN not built (make); skipped"
        return 1
    fi
    mkdir -p "$d/data"
    port=$("$fb" port)
    conf=$d/outpost.conf
    cat >"$conf" <<CONF
[server]
data = data
log_level = warning
[limits]
max_connections = 10000
max_per_ip = 10000
[pop3]
listen =
listen_tls =
[dns]
listen =
[ftp]
listen = 127.0.0.1:$port
pasv_min_port = 30000
pasv_max_port = 39999
CONF
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj /CN=outpost-bench -keyout "$d/data/key.pem" -out "$d/data/cert.pem" 2>/dev/null ||
        return 1
    "$OUTPOST_BIN" check -c "$conf" || return 1
    printf '%s\n' "$BENCH_PW" | "$OUTPOST_BIN" user add bench@example.test -c "$conf" >/dev/null || return 1
    "$OUTPOST_BIN" serve -c "$conf" >"$d/stdout" 2>"$d/stderr" &
    pid=$!
    server_pids+=("$pid")
    if ! wait_port "$port" "$pid"; then
        say "outpost did not start:"; tail -20 "$d/stderr" >&2; return 1
    fi
    # The account's FTP home (src/ftp/path.c): DATA/ftp/DOMAIN/LOCALPART.
    home=$d/data/ftp/example.test/bench
    mkdir -p "$home" || return 1
    cp "$tmp/content"/* "$home/" || return 1
    measure outpost "$port" bench@example.test "$home" || { tail -5 "$d/stderr" >&2; return 1; }
    o_retr=$m_retr o_stor=$m_stor o_many=$m_many o_sess=$m_sess
    stop_server "$pid"
}

# ---------------------------------------------------------------- vsftpd
bench_vsftpd() {
    local d=$tmp/vsftpd port conf pid home
    if ! command -v vsftpd >/dev/null; then
        say "vsftpd: not installed (scripts/setup.sh bench); skipped"
        return 1
    fi
    home=$d/home
    mkdir -p "$home"
    # vsftpd logs in local users through PAM: a system user of our own,
    # whose home is the bench's folder (vsftpd changes into it at login).
    if ! getent passwd "$VSFTPD_USER" >/dev/null; then
        useradd --system --no-create-home --home-dir "$home" --shell /bin/sh "$VSFTPD_USER" || return 1
        made_user=1
    else
        usermod --home "$home" "$VSFTPD_USER" || return 1
    fi
    printf '%s:%s\n' "$VSFTPD_USER" "$BENCH_PW" | chpasswd || return 1
    cp "$tmp/content"/* "$home/" || return 1
    chown -R "$VSFTPD_USER" "$home"
    port=$("$fb" port)
    conf=$d/vsftpd.conf
    cat >"$conf" <<CONF
# Generated by bench/ftp/run.sh: a vsftpd of its own on loopback.
listen=YES
listen_ipv6=NO
background=NO
listen_address=127.0.0.1
listen_port=$port
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_root=$home
local_umask=022
pam_service_name=vsftpd
userlist_enable=NO
pasv_enable=YES
pasv_min_port=40000
pasv_max_port=49999
seccomp_sandbox=NO
xferlog_enable=NO
dirmessage_enable=NO
max_clients=0
max_per_ip=0
use_sendfile=YES
CONF
    vsftpd "$conf" >"$d/stdout" 2>"$d/stderr" &
    pid=$!
    server_pids+=("$pid")
    if ! wait_port "$port" "$pid"; then
        say "vsftpd did not start:"; tail -20 "$d/stderr" >&2; return 1
    fi
    measure vsftpd "$port" "$VSFTPD_USER" "$home" || { tail -5 "$d/stderr" >&2; return 1; }
    v_retr=$m_retr v_stor=$m_stor v_many=$m_many v_sess=$m_sess
    stop_server "$pid"
}

o_retr="" o_stor="" o_many="" o_sess="" v_retr="" v_stor="" v_many="" v_sess=""
case $which_servers in
both)    bench_outpost; bench_vsftpd ;;
outpost) bench_outpost ;;
vsftpd)  bench_vsftpd ;;
*) echo "usage: $0 [outpost|vsftpd|both]" >&2; exit 64 ;;
esac

# row WHAT UNIT OUTPOST VSFTPD HIGHER_IS_BETTER TARGET
row() {
    local ratio="-"
    if [ -n "$3" ] && [ -n "$4" ]; then
        if [ "$5" = 1 ]; then ratio=$(awk -v o="$3" -v v="$4" 'BEGIN {printf "%.2fx", o / v}')
        else ratio=$(awk -v o="$3" -v v="$4" 'BEGIN {printf "%.2fx", v / o}'); fi
    fi
    printf '  %-32s %10s %10s %8s   (target %s)\n' "$1 ($2)" "${3:--}" "${4:--}" "$ratio" "$6"
}
echo
echo "FTP on loopback, medians of $RUNS runs (ratio: outpost's speed over vsftpd's)"
printf '  %-32s %10s %10s %8s\n' "" outpost vsftpd ratio
row "RETR $BIG_MB MiB" "MB/s" "$o_retr" "$v_retr" 1 ">= 1x"
row "STOR $BIG_MB MiB" "MB/s" "$o_stor" "$v_stor" 1 ">= 1.5x; outpost fsyncs"
row "$SMALL x 4 KiB, one session" "s" "$o_many" "$v_many" 0 ">= 2x"
row "sessions (NOOP, QUIT)" "per s" "$o_sess" "$v_sess" 1 ">= 2x"
[ -n "$o_retr$v_retr" ] || exit 1
