#!/bin/bash
# bench/ftp/run.sh - outpost's FTP server against vsftpd, on loopback, in one run.
#
# Both servers serve the same account contents: a 1 GiB file, 1,000 files
# of 4 KiB (f0001 .. f1000). Measured for each server with
# bench/ftp/ftpbench.c as the client:
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
# Fairness on a shared machine: both servers run at once and their runs
# alternate (outpost, vsftpd, outpost, ...), so a busy phase of the
# machine falls on both alike. Before every timed run the previous upload
# is deleted, everything dirty is written out (sync) and the machine gets
# PAUSE seconds, so neither server's dirty pages slow the other's run.
# Reported: the median of RUNS runs, and the slowest and fastest run.
#
# Usage: bench/ftp/run.sh [outpost|vsftpd|both]     (default both)
# Environment: OUTPOST_BIN (default build/release/outpost), BIG_MB (1024),
#              SMALL (1000), SESSIONS (2000), PROCS (4), RUNS (5),
#              PAUSE (2), ONLY (what to measure: a comma list of retr,
#              stor, many, sessions; default all),
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
RUNS=${RUNS:-5}
PAUSE=${PAUSE:-2}
ONLY=${ONLY:-retr,stor,many,sessions}
BENCH_PW="bench-$$-$RANDOM$RANDOM"
VSFTPD_USER=outpost-ftpbench
big_bytes=$((BIG_MB * 1048576))

# Under /var/tmp: a STOR must reach the disk, and /tmp may be a tmpfs.
. bench/lib.sh
bench_init outpost-ftpbench /var/tmp
made_user=0
ftp_cleanup() {
    [ "$made_user" = 1 ] && userdel "$VSFTPD_USER" 2>/dev/null
    bench_cleanup
}
trap ftp_cleanup EXIT

cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$tmp/ftpbench" bench/ftp/ftpbench.c || exit 1
fb=$tmp/ftpbench

# The account contents, made once and copied (reflinks or plain copies) into each home.
mkdir -p "$tmp/content"
head -c "$big_bytes" /dev/urandom >"$tmp/content/big" || exit 1
for i in $(seq -f '%04g' 1 "$SMALL"); do head -c 4096 /dev/urandom >"$tmp/content/f$i"; done

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
[smtp]
listen =
listen_submission =
listen_submissions =
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
    srv_name+=(outpost) srv_port+=("$port") srv_user+=(bench@example.test) srv_home+=("$home")
    srv_pid+=("$pid") srv_log+=("$d/stderr")
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
    srv_name+=(vsftpd) srv_port+=("$port") srv_user+=("$VSFTPD_USER") srv_home+=("$home")
    srv_pid+=("$pid") srv_log+=("$d/stderr")
}

srv_name=() srv_port=() srv_user=() srv_home=() srv_pid=() srv_log=()
case $which_servers in
both)    bench_outpost; bench_vsftpd ;;
outpost) bench_outpost ;;
vsftpd)  bench_vsftpd ;;
*) echo "usage: $0 [outpost|vsftpd|both]" >&2; exit 64 ;;
esac
[ "${#srv_name[@]}" -gt 0 ] || exit 1

# Each server's figures of one measurement, one line each: "NAME v1 v2 ...".
declare -A got

# field NAME OUT: the value of NAME= in a line of ftpbench's output.
field() { sed -n "s/.*\<$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

# run_one KIND INDEX: one timed run of KIND against server INDEX; appends
# the figure to got[KIND,INDEX].
run_one() {
    local kind=$1 k=$2 name=${srv_name[$2]} port=${srv_port[$2]} user=${srv_user[$2]}
    local home=${srv_home[$2]} out val
    case $kind in
    retr)
        out=$("$fb" retr "$port" "$user" "$BENCH_PW" big) || return 1
        [ "$(field bytes "$out")" = "$big_bytes" ] || { say "$name: short RETR"; return 1; }
        val=$(field mbs "$out") ;;
    stor)
        rm -f "${srv_home[@]/%//up}"
        sync
        sleep "$PAUSE"
        out=$("$fb" stor "$port" "$user" "$BENCH_PW" up "$big_bytes") || return 1
        [ "$(stat -c %s "$home/up")" = "$big_bytes" ] || { say "$name: stored file has the wrong size"; return 1; }
        val=$(field mbs "$out") ;;
    many)
        out=$("$fb" many "$port" "$user" "$BENCH_PW" "$SMALL") || return 1
        [ "$(field bytes "$out")" = "$((SMALL * 4096))" ] || { say "$name: short small files"; return 1; }
        val=$(field secs "$out") ;;
    sessions)
        sleep 1                     # TIME_WAIT sockets of the last run settle
        out=$("$fb" sessions "$port" "$SESSIONS" "$PROCS") || return 1
        val=$(field per_s "$out") ;;
    esac
    say "$name $kind: $out"
    got[$kind,$k]+=" $val"
}

# Untimed warm-up: the big file into the page cache, one pass of the small
# files (each server's code and the kernel's dentries warm).
for k in "${!srv_name[@]}"; do
    cat "${srv_home[$k]}/big" >/dev/null
    case ",$ONLY," in *,retr,*)
        "$fb" retr "${srv_port[$k]}" "${srv_user[$k]}" "$BENCH_PW" big >/dev/null ||
            say "${srv_name[$k]}: RETR failed" ;;
    esac
    case ",$ONLY," in *,many,*)
        "$fb" many "${srv_port[$k]}" "${srv_user[$k]}" "$BENCH_PW" "$SMALL" >/dev/null ||
            say "${srv_name[$k]}: small files failed" ;;
    esac
done

failed=()
for kind in retr stor many sessions; do
    case ",$ONLY," in *,$kind,*) ;; *) continue ;; esac
    for i in $(seq "$RUNS"); do
        for k in "${!srv_name[@]}"; do
            [[ " ${failed[*]} " == *" $kind,$k "* ]] && continue
            if ! run_one "$kind" "$k"; then
                say "${srv_name[$k]} $kind failed:"; tail -5 "${srv_log[$k]}" >&2
                failed+=("$kind,$k")
            fi
        done
    done
done
rm -f "${srv_home[@]/%//up}"
for k in "${!srv_name[@]}"; do stop_server "${srv_pid[$k]}"; done

# stats KIND NAME: "median min-max" of that server's runs, or "-".
stats() {
    local k vals
    for k in "${!srv_name[@]}"; do
        [ "${srv_name[$k]}" = "$2" ] || continue
        vals=${got[$1,$k]:-}
        [ -n "$vals" ] || break
        tr ' ' '\n' <<<"$vals" | sed '/^$/d' | sort -g |
            awk '{a[NR]=$1} END {printf "%s %s-%s", a[int((NR+1)/2)], a[1], a[NR]}'
        return
    done
    echo "-"
}

# row KIND WHAT UNIT HIGHER_IS_BETTER TARGET
row() {
    local o v om vm ratio="-"
    case ",$ONLY," in *,$1,*) ;; *) return ;; esac
    o=$(stats "$1" outpost) v=$(stats "$1" vsftpd)
    om=${o%% *} vm=${v%% *}
    if [ "$om" != - ] && [ "$vm" != - ]; then
        if [ "$4" = 1 ]; then ratio=$(awk -v o="$om" -v v="$vm" 'BEGIN {printf "%.2fx", o / v}')
        else ratio=$(awk -v o="$om" -v v="$vm" 'BEGIN {printf "%.2fx", v / o}'); fi
    fi
    printf '  %-28s %8s %-15s %8s %-15s %7s  (target %s)\n' "$2 ($3)" "$om" \
        "(${o#* })" "$vm" "(${v#* })" "$ratio" "$5"
}
echo
echo "FTP on loopback, $RUNS runs each, alternating; median (slowest-fastest run)"
echo "(ratio: outpost's speed over vsftpd's)"
printf '  %-28s %-24s %-24s %7s\n' "" outpost vsftpd ratio
row retr "RETR $BIG_MB MiB" "MB/s" 1 ">= 1x"
row stor "STOR $BIG_MB MiB" "MB/s" 1 ">= 1.5x; outpost fsyncs"
row many "$SMALL x 4 KiB, one session" "s" 0 ">= 2x"
row sessions "sessions (NOOP, QUIT)" "per s" 1 ">= 2x"
[ "${#failed[@]}" = 0 ]
