#!/bin/bash
# bench/pop3/run.sh - outpost's POP3 server against Dovecot's, on loopback, in one run.
#
# Both servers get the same mailbox: MSGS messages of MSG_SIZE octets (default
# 10,000 of 4 KiB) written straight into the account's Maildir new/ under
# valid Maildir names, plus CONNS accounts with small mailboxes for the
# memory test. Measured for each server:
#   (1) seconds for one session to RETR every message: the median of RUNS
#       runs after one untimed warm-up session (which builds the indexes),
#       with bench/pop3/popbench.c pipelining the RETR commands;
#   (2) memory per idle authenticated connection: the growth of the summed
#       PSS (/proc/PID/smaps_rollup) of all the server's processes when
#       CONNS sessions are logged in and left idle, divided by CONNS.
#
# Usage: bench/pop3/run.sh [outpost|dovecot|both]     (default both)
# Environment: OUTPOST_BIN (default build/release/outpost), MSGS, MSG_SIZE,
#              CONNS, RUNS, KEEP=1 keeps the temp directory for inspection.
set -u
cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd)

which_servers=${1:-both}
OUTPOST_BIN=${OUTPOST_BIN:-$repo/build/release/outpost}
MSGS=${MSGS:-10000}
MSG_SIZE=${MSG_SIZE:-4096}
CONNS=${CONNS:-1000}
RUNS=${RUNS:-3}
IDLE_MSGS=10          # messages in each idle account's mailbox
BENCH_PW="bench-$$-$RANDOM$RANDOM"
DOVECOT_MAILUSER=outpost-bench

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONNS * 2 + 200)) ]; then
    echo "bench: open-file limit $(ulimit -n) is too low for $CONNS connections" >&2
    exit 1
fi

. bench/lib.sh
bench_init outpost-bench

cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$tmp/popbench" bench/pop3/popbench.c || exit 1
pb=$tmp/popbench

# The message set, written once and hard-linked into every mailbox.
mkdir -p "$tmp/msgs/new" "$tmp/idlemsgs/new"
"$pb" fill "$tmp/msgs" "$MSGS" "$MSG_SIZE" || exit 1
"$pb" fill "$tmp/idlemsgs" "$IDLE_MSGS" "$MSG_SIZE" || exit 1
expected_octets=$(ls "$tmp/msgs/new" | sed 's/.*,W=//' | awk '{s += $1} END {print s}')

# A Maildir at $1 with the messages of $2 (a folder with new/) hard-linked in.
make_maildir() {
    mkdir -p "$1/new" "$1/cur" "$1/tmp"
    ln "$2"/new/* "$1/new/"
}

# retr_median NAME PORT USER: warm-up, then RUNS timed sessions; prints the median.
retr_median() {
    local name=$1 port=$2 user=$3 out times=() i oct
    out=$("$pb" retr "$port" "$user" "$BENCH_PW") || { say "$name: warm-up session failed"; return 1; }
    say "$name warm-up: $out"
    for i in $(seq "$RUNS"); do
        out=$("$pb" retr "$port" "$user" "$BENCH_PW") || { say "$name: session failed"; return 1; }
        say "$name run $i: $out"
        oct=$(sed 's/.*octets=\([0-9]*\).*/\1/' <<<"$out")
        if [ "$oct" != "$expected_octets" ]; then
            say "$name: received $oct message octets, expected $expected_octets"
            return 1
        fi
        times+=("$(sed 's/.*retr_s=\([0-9.]*\).*/\1/' <<<"$out")")
    done
    printf '%s\n' "${times[@]}" | median
}

# idle_kib NAME PORT USERFMT SERVERPID: KiB of PSS per idle logged-in session.
idle_kib() {
    local name=$1 port=$2 fmt=$3 spid=$4
    # One login first, so that lazily built state is not counted per session.
    "$pb" retr "$port" "$(printf "$fmt" 1)" "$BENCH_PW" >/dev/null || return 1
    idle_pss "$name" "$spid" "$pb" idle "$port" "$fmt" "$BENCH_PW" "$CONNS" @READY@ 300
}

# ---------------------------------------------------------------- outpost
bench_outpost() {
    local d=$tmp/outpost port conf pid i
    if [ ! -x "$OUTPOST_BIN" ]; then
        say "outpost: $OUTPOST_BIN not built (make); skipped"
        return 1
    fi
    mkdir -p "$d/data"
    port=$("$pb" port)
    conf=$d/outpost.conf
    cat >"$conf" <<EOF
[server]
data = data
log_level = warning
[limits]
max_connections = $((CONNS + 100))
max_per_ip = $((CONNS + 100))
[pop3]
listen = 127.0.0.1:$port
listen_tls =
[smtp]
listen =
listen_submission =
listen_submissions =
[dns]
listen =
[ftp]
listen =
EOF
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj /CN=outpost-bench -keyout "$d/data/key.pem" -out "$d/data/cert.pem" 2>/dev/null ||
        return 1
    "$OUTPOST_BIN" check -c "$conf" || return 1
    say "outpost: creating $((CONNS + 1)) accounts"
    printf '%s\n' "$BENCH_PW" | "$OUTPOST_BIN" user add bench@example.test -c "$conf" >/dev/null || return 1
    seq -f 'idle%04g@example.test' 1 "$CONNS" |
        xargs -P "$(nproc)" -I{} sh -c 'printf "%s\n" "$1" | "$2" user add "$3" -c "$4" >/dev/null' \
            sh "$BENCH_PW" "$OUTPOST_BIN" {} "$conf" || return 1
    make_maildir "$d/data/mail/example.test/bench" "$tmp/msgs"
    for i in $(seq -f '%04g' 1 "$CONNS"); do
        make_maildir "$d/data/mail/example.test/idle$i" "$tmp/idlemsgs"
    done
    "$OUTPOST_BIN" serve -c "$conf" >"$d/stdout" 2>"$d/stderr" &
    pid=$!
    server_pids+=("$pid")
    if ! wait_port "$port" "$pid"; then
        say "outpost did not start:"; tail -20 "$d/stderr" >&2; return 1
    fi
    outpost_retr=$(retr_median outpost "$port" bench@example.test) || return 1
    outpost_mem=$(idle_kib outpost "$port" 'idle%04d@example.test' "$pid") || return 1
    stop_server "$pid"
}

# ---------------------------------------------------------------- Dovecot
bench_dovecot() {
    local d=$tmp/dovecot port conf pid uid gid i
    if ! command -v dovecot >/dev/null; then
        say "dovecot: not installed (scripts/setup.sh bench); skipped"
        return 1
    fi
    # Dovecot will not read mail as root; a system user of our own owns the Maildirs.
    if ! getent passwd "$DOVECOT_MAILUSER" >/dev/null; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$DOVECOT_MAILUSER" || return 1
    fi
    uid=$(id -u "$DOVECOT_MAILUSER"); gid=$(id -g "$DOVECOT_MAILUSER")
    mkdir -p "$d/run" "$d/state" "$d/mail"
    port=$("$pb" port)
    conf=$d/dovecot.conf
    {
        echo "bench:{PLAIN}$BENCH_PW:$uid:$gid::$d/mail/bench::"
        for i in $(seq -f '%04g' 1 "$CONNS"); do
            echo "idle$i:{PLAIN}$BENCH_PW:$uid:$gid::$d/mail/idle$i::"
        done
    } >"$d/passwd"
    chmod 640 "$d/passwd"; chgrp dovecot "$d/passwd" 2>/dev/null
    make_maildir "$d/mail/bench/Maildir" "$tmp/msgs"
    for i in $(seq -f '%04g' 1 "$CONNS"); do
        make_maildir "$d/mail/idle$i/Maildir" "$tmp/idlemsgs"
    done
    chown -R "$uid:$gid" "$d/mail" "$tmp/msgs" "$tmp/idlemsgs"
    local limit=$((CONNS + 100))
    cat >"$conf" <<EOF
# Generated by bench/pop3/run.sh: a Dovecot of its own, POP3 only, on loopback.
instance_name = outpost-bench-$$
base_dir = $d/run
state_dir = $d/state
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = $uid
last_valid_uid = $uid
log_path = $d/dovecot.log
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
mail_max_userip_connections = $limit
default_process_limit = $limit
default_client_limit = $((limit * 4))
default_vsz_limit = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $d/passwd
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $port
  }
  inet_listener pop3s {
    port = 0
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
    dovecot -F -c "$conf" >"$d/stdout" 2>"$d/stderr" &
    pid=$!
    server_pids+=("$pid")
    if ! wait_port "$port" "$pid"; then
        say "dovecot did not start:"; tail -20 "$d/stderr" "$d/dovecot.log" >&2; return 1
    fi
    dovecot_retr=$(retr_median dovecot "$port" bench) || { tail -5 "$d/dovecot.log" >&2; return 1; }
    dovecot_mem=$(idle_kib dovecot "$port" 'idle%04d' "$pid") || { tail -5 "$d/dovecot.log" >&2; return 1; }
    stop_server "$pid"
}

outpost_retr="" outpost_mem="" dovecot_retr="" dovecot_mem=""
case $which_servers in
both)    bench_outpost; bench_dovecot ;;
outpost) bench_outpost ;;
dovecot) bench_dovecot ;;
*) echo "usage: $0 [outpost|dovecot|both]" >&2; exit 64 ;;
esac

mib=$(awk -v n="$MSGS" -v s="$MSG_SIZE" 'BEGIN {printf "%.1f", n * s / 1048576}')
echo
echo "POP3: one session RETR of $MSGS messages of $MSG_SIZE octets ($mib MiB), median of $RUNS"
show() { if [ -n "$2" ]; then printf '  %-8s %s %s\n' "$1" "$2" "$3"; else printf '  %-8s not measured\n' "$1"; fi; }
show outpost "$outpost_retr" s
show dovecot "$dovecot_retr" s
echo "POP3: PSS growth per idle authenticated connection, $CONNS connections"
show outpost "$outpost_mem" KiB
show dovecot "$dovecot_mem" KiB
if [ -n "$outpost_retr" ] && [ -n "$dovecot_retr" ]; then
    awk -v o="$outpost_retr" -v d="$dovecot_retr" \
        'BEGIN {printf "  throughput: outpost is %.2fx Dovecot (target >= 1.5x)\n", d / o}'
fi
if [ -n "$outpost_mem" ] && [ -n "$dovecot_mem" ]; then
    awk -v o="$outpost_mem" -v d="$dovecot_mem" \
        'BEGIN {if (o > 0) printf "  memory: outpost uses 1/%.1f of Dovecot per connection (target <= 1/10)\n", d / o;
                else print "  memory: outpost grew by nothing measurable"}'
fi
[ -n "$outpost_retr$dovecot_retr" ] || exit 1
