#!/bin/bash
# bench/smtp/run.sh - outpost's SMTP server against Postfix, on loopback, in one run.
#
# Both servers accept mail for bob@example.test and deliver it into a
# Maildir, with every message on disk (fsync) before its 250. Measured for
# each server:
#   (1) messages/s: smtp-source (Postfix's load generator) sends MSGS
#       messages of MSG_SIZE octets over SESSIONS parallel sessions; the
#       clock runs from the first connection until every message is a file
#       in the Maildir's new/ (Postfix delivers after its 250, from its
#       queue, so its figure includes that). Losses (files missing after
#       a minute's wait) are counted: they must be 0. The median of RUNS
#       runs. Both servers are up at once and their runs alternate
#       (outpost, Postfix, outpost, ...), so a slow phase of the disk falls
#       on both alike.
#   (2) memory per idle SMTP session: the growth of the summed PSS of the
#       server's process tree when CONNS sessions have said EHLO and wait,
#       divided by CONNS.
# Nothing is deleted until the end: ext4 skips, one by one, inodes freed
# in the last minute or more when it allocates new ones in their block
# group, and a run made just after thousands of deletions pays for them
# (a profile showed half of a run's CPU there). For the same reason the
# script starts with sync and a pause of SETTLE seconds (default 65), so
# that what an earlier benchmark's cleanup or a test run freed is no
# longer recent (ext4 counts a minute once the freed inodes are on disk).
# Postfix runs from its own config directory under the temp directory:
# master in the foreground (setsid master -d -c DIR), chroot off, virtual
# delivery to Maildir; nothing of the system's mail setup is used or
# changed, and nothing is left listening.
#
# For scale, two figures with no server in them, same run and sizes:
#   floor  the disk alone: SESSIONS threads making MSGS durable Maildir
#          deliveries (bench/smtp/maildirfloor.c: file fsync'ed, linked into
#          new/, new/ fsync'ed), the least any careful server pays;
#   sink   smtp-source against Postfix's smtp-sink, which keeps nothing:
#          the load generator's own ceiling.
#
# Usage: bench/smtp/run.sh [outpost|postfix|both]     (default both)
# Environment: OUTPOST_BIN (default build/release/outpost), MSGS, MSG_SIZE,
#              SESSIONS, CONNS, RUNS, SETTLE, KEEP=1 keeps the temp directory.
set -u
cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd)

which_servers=${1:-both}
OUTPOST_BIN=${OUTPOST_BIN:-$repo/build/release/outpost}
MSGS=${MSGS:-5000}
MSG_SIZE=${MSG_SIZE:-1024}
SESSIONS=${SESSIONS:-10}
CONNS=${CONNS:-1000}
RUNS=${RUNS:-5}
SMTP_SOURCE=/usr/sbin/smtp-source
PF_DAEMONS=$(postconf -h daemon_directory 2>/dev/null || echo /usr/lib/postfix/sbin)
PYTHON=/usr/bin/python3

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONNS * 2 + 200)) ]; then
    echo "bench: open-file limit $(ulimit -n) is too low for $CONNS connections" >&2
    exit 1
fi
for tool in "$SMTP_SOURCE" "$PF_DAEMONS/master" "$PYTHON"; do
    command -v "$tool" >/dev/null || { echo "bench: $tool missing (scripts/setup.sh bench)" >&2; exit 1; }
done

. bench/lib.sh
bench_init outpost-smtp-bench
if [ "${SETTLE:-65}" -gt 0 ]; then
    say "sync, then ${SETTLE:-65} s for recently freed inodes to age (SETTLE=0 skips it)"
    sync
    sleep "${SETTLE:-65}"
fi
cc -std=c17 -O2 -Wall -Wextra -pthread -o "$tmp/maildirfloor" bench/smtp/maildirfloor.c || exit 1

count_files() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }

# rate_run NAME PORT MAILDIR_NEW: one smtp-source run; prints "rate lost".
rate_run() {
    local name=$1 port=$2 dir=$3 start end n last t
    # The previous run's messages are moved aside, not deleted: deleting
    # thousands of files just before a run makes ext4 step over every
    # recently freed inode when it allocates new ones, a cost that is the
    # benchmark's, not a server's (a mailbox is not emptied of 5,000
    # messages a second before mail arrives). Then the same disk state for
    # every run of either server: earlier writeback is on disk before the
    # clock starts.
    if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
        local aside
        aside="$dir.$(date +%s%N)"
        mv "$dir" "$aside"
        mkdir "$dir"
        chown --reference="$aside" "$dir"
        chmod --reference="$aside" "$dir"
    fi
    sync
    sleep 1
    start=$(date +%s.%N)
    "$SMTP_SOURCE" -d -s "$SESSIONS" -m "$MSGS" -l "$MSG_SIZE" -f sender@example.org \
        -t bob@example.test "127.0.0.1:$port" || say "$name: smtp-source failed"
    # Until every message is a file (a minute at most once no file comes).
    last=0; t=0
    while :; do
        n=$(count_files "$dir")
        [ "$n" -ge "$MSGS" ] && break
        if [ "$n" = "$last" ]; then t=$((t + 1)); [ "$t" -ge 600 ] && break; else t=0; last=$n; fi
        sleep 0.1
    done
    end=$(date +%s.%N)
    n=$(count_files "$dir")
    awk -v s="$start" -v e="$end" -v n="$n" -v m="$MSGS" \
        'BEGIN {printf "%.0f %d\n", n / (e - s), m - n}'
}

# add_rate NAME RUN "rate lost": records run RUN of NAME (outpost or
# postfix) in o_rates and o_lost, or p_rates and p_lost.
o_rates=(); p_rates=(); o_lost=0; p_lost=0
add_rate() {
    say "$1 run $2: $(awk '{print $1 " messages/s, " $2 " lost"}' <<<"$3")"
    if [ "$1" = outpost ]; then o_rates+=("${3% *}"); o_lost=$((o_lost + ${3#* }))
    else p_rates+=("${3% *}"); p_lost=$((p_lost + ${3#* })); fi
}

idle_kib() {    # NAME PORT SERVERPID
    idle_pss "$1" "$3" "$PYTHON" bench/smtp/idle.py "$2" "$CONNS" @READY@ 300
}

o_rate=; o_idle=; p_rate=; p_idle=; opid=; ppid=

# ---------------------------------------------------------------- floor and sink
f_rate=; s_rate=
if [ "$which_servers" = both ]; then
    rates=()
    for i in $(seq "$RUNS"); do
        mkdir -p "$tmp/floor/$i/tmp" "$tmp/floor/$i/new"      # kept until the end, as above
        sync; sleep 1
        r=$("$tmp/maildirfloor" "$tmp/floor/$i" "$SESSIONS" "$MSGS" "$MSG_SIZE") || { say "floor failed"; break; }
        say "floor run $i: $r messages/s"
        rates+=("$r")
    done
    [ ${#rates[@]} -gt 0 ] && f_rate=$(printf '%s\n' "${rates[@]}" | median)
    port=$(free_port)
    /usr/sbin/smtp-sink -u postfix "127.0.0.1:$port" 256 >/dev/null 2>&1 &
    kpid=$!
    server_pids+=("$kpid")
    if wait_port "$port" "$kpid"; then
        rates=()
        for i in $(seq "$RUNS"); do
            start=$(date +%s.%N)
            "$SMTP_SOURCE" -d -s "$SESSIONS" -m "$MSGS" -l "$MSG_SIZE" -f sender@example.org \
                -t bob@example.test "127.0.0.1:$port" || say "sink: smtp-source failed"
            r=$(awk -v s="$start" -v e="$(date +%s.%N)" -v m="$MSGS" 'BEGIN {printf "%.0f", m / (e - s)}')
            say "sink run $i: $r messages/s"
            rates+=("$r")
        done
        s_rate=$(printf '%s\n' "${rates[@]}" | median)
    fi
    stop_server "$kpid"
fi

# ---------------------------------------------------------------- outpost
if [ "$which_servers" = outpost ] || [ "$which_servers" = both ]; then
    [ -x "$OUTPOST_BIN" ] || { say "no $OUTPOST_BIN (make)"; exit 1; }
    od=$tmp/outpost
    mkdir -p "$od/data"
    port=$(free_port)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj /CN=bench -keyout "$od/data/key.pem" -out "$od/data/cert.pem" 2>/dev/null
    cat >"$od/outpost.conf" <<CONF
[server]
data = data
log_level = warning
hostname = outpost-bench.test
[limits]
max_connections = $((CONNS + 100))
max_per_ip = $((CONNS + 100))
[pop3]
listen =
listen_tls =
[dns]
listen =
[ftp]
listen =
[smtp]
listen = 127.0.0.1:$port
listen_submission =
listen_submissions =
CONF
    echo "bench-password-$RANDOM$RANDOM" | "$OUTPOST_BIN" user add bob@example.test -c "$od/outpost.conf" >/dev/null
    "$OUTPOST_BIN" serve -c "$od/outpost.conf" >"$od/stdout" 2>"$od/stderr" &
    opid=$!
    server_pids+=("$opid")
    wait_port "$port" "$opid" || { say "outpost did not start"; cat "$od/stderr" >&2; exit 1; }
    o_port=$port
fi

# ---------------------------------------------------------------- postfix
if [ "$which_servers" = postfix ] || [ "$which_servers" = both ]; then
    pd=$tmp/postfix
    mkdir -p "$pd/etc" "$pd/queue" "$pd/data" "$pd/mail"
    chown postfix:postfix "$pd/data" "$pd/mail"
    port=$(free_port)
    uid=$(id -u postfix); gid=$(id -g postfix)
    cat >"$pd/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $pd/queue
data_directory = $pd/data
mail_owner = postfix
myhostname = postfix-bench.test
mydomain = postfix-bench.test
myorigin = postfix-bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = example.test
virtual_mailbox_base = $pd/mail
virtual_mailbox_maps = inline:{ bob@example.test=bob/ }
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
maillog_file = $pd/maillog
maillog_file_prefixes = $tmp
smtputf8_enable = no
biff = no
default_process_limit = $((CONNS + 200))
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
CONF
    cat >"$pd/etc/master.cf" <<CONF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
virtual   unix - n n - - virtual
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
showq     unix n - n - - showq
CONF
    postfix -c "$pd/etc" check >/dev/null 2>&1     # creates the queue's directories
    setsid "$PF_DAEMONS/master" -d -c "$pd/etc" >"$pd/master.out" 2>&1 &
    ppid=$!
    server_pids+=("$ppid")
    wait_port "$port" "$ppid" || { say "postfix did not start"; cat "$pd/maillog" "$pd/master.out" >&2; exit 1; }
    p_port=$port
fi

# ---------------------------------------------------------------- the runs, alternating
for i in $(seq "$RUNS"); do
    [ -n "$opid" ] && add_rate outpost "$i" "$(rate_run outpost "$o_port" "$od/data/mail/example.test/bob/new")"
    [ -n "$ppid" ] && add_rate postfix "$i" "$(rate_run postfix "$p_port" "$pd/mail/bob/new")"
done
[ -n "$opid" ] && o_rate=$(printf '%s\n' "${o_rates[@]}" | median)
[ -n "$ppid" ] && p_rate=$(printf '%s\n' "${p_rates[@]}" | median)
[ -n "$opid" ] && o_idle=$(idle_kib outpost "$o_port" "$opid")
[ -n "$ppid" ] && p_idle=$(idle_kib postfix "$p_port" "$ppid")
[ -n "$opid" ] && stop_server "$opid"
[ -n "$ppid" ] && stop_server "$ppid"


echo
echo "SMTP, $MSGS messages of $MSG_SIZE octets over $SESSIONS sessions (median of $RUNS), fsync before 250:"
[ -n "$o_rate" ] && printf '  outpost  %6s messages/s  lost %s   idle session %s KiB\n' "$o_rate" "$o_lost" "$o_idle"
[ -n "$p_rate" ] && printf '  postfix  %6s messages/s  lost %s   idle session %s KiB\n' "$p_rate" "$p_lost" "$p_idle"
[ -n "$f_rate" ] && printf '  floor    %6s messages/s  (the disk alone: durable Maildir files, no SMTP)\n' "$f_rate"
[ -n "$s_rate" ] && printf '  sink     %6s messages/s  (smtp-sink, which keeps nothing: the load generator'"'"'s ceiling)\n' "$s_rate"
if [ -n "$o_rate" ] && [ -n "$p_rate" ]; then
    awk -v o="$o_rate" -v p="$p_rate" -v oi="$o_idle" -v pi="$p_idle" 'BEGIN {
        printf "  outpost/postfix: %.2fx the messages/s", o / p
        if (oi > 0) printf ", %.1fx less memory per idle session", pi / oi
        printf "\n" }'
fi
[ "${o_lost:-0}" = 0 ] && [ "${p_lost:-0}" = 0 ]
