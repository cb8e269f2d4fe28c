"""The core under the POP3 service: what it logs, the total connection limit,
IPv6 listeners, a graceful SIGTERM with a command in flight, and local
delivery onto a full disk."""

import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import OUTPOST_BIN, RawPop3, free_port, port_open, to_crlf

ALICE = "alice@example.test"


def message(n, size=0):
    body = b"".join(b"line %07d of message %d\n" % (i, n) for i in range(size // 28 + 1))
    return (b"From: sender@example.test\nTo: alice@example.test\n"
            b"Subject: core test %d\n\n" % n) + body


# ---- logging -------------------------------------------------------------------------------

def test_session_events_are_logged_one_line_each(outpost):
    outpost.deliver(ALICE, message(1))
    r = outpost.raw()
    r.login()
    assert r.cmd("FROB").startswith(b"-ERR")
    assert r.cmd("RETR 99").startswith(b"-ERR")
    assert r.cmd("QUIT").startswith(b"+OK")
    r.close()
    p = outpost.pop3()
    p.user(ALICE)
    with pytest.raises(Exception):
        p.pass_("wrong-password")
    p.close()
    outpost.stop()
    log = outpost.stderr_text()
    peer = r"pop3 #\d+ \[127\.0\.0\.1\]:\d+"
    for pattern in (peer + r" connect$",
                    peer + r" login alice@example\.test \(1 message\)$",
                    peer + r" unknown command: -ERR ",
                    peer + r" RETR: -ERR ",
                    peer + r" logout alice@example\.test",
                    peer + r" auth failed for alice@example\.test$",
                    peer + r" disconnect in=\d+ out=\d+$"):
        assert re.search(pattern, log, re.M), "no log line matching %r in:\n%s" % (
            pattern, outpost.stderr_tail())
    # One line per event, each with a timestamp and a level.
    for line in log.splitlines():
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warning|error): ",
                        line), line
    # (The fixture checks that no password, right or wrong, was logged.)


# ---- limits ---------------------------------------------------------------------------------

def test_total_connection_limit_answers_too_busy(outpost_factory):
    srv = outpost_factory({("limits", "max_connections"): "3"})
    held = [srv.admitted() for _ in range(3)]
    for r in held:
        assert r.greeting.startswith(b"+OK"), r.greeting
    c = RawPop3(srv, read_greeting=False)
    resp = c.line()
    assert resp.startswith(b"-ERR [SYS/TEMP]"), resp
    assert c.closed_within(5)
    c.close()
    # The TLS port counts against the same total, and says so inside TLS.
    t = RawPop3(srv, tls=True, read_greeting=False)
    resp = t.line()
    assert resp.startswith(b"-ERR [SYS/TEMP]"), resp
    t.close()
    held.pop().close()
    r = srv.admitted()
    assert r.greeting.startswith(b"+OK")
    r.login()
    assert r.cmd("STAT").startswith(b"+OK")
    r.close()
    for r in held:
        r.close()


# ---- IPv6 -------------------------------------------------------------------------------------

def ipv6_loopback_usable():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback_usable(), reason="no IPv6 loopback on this machine")
def test_ipv6_listener(outpost_factory):
    port6 = free_port()
    srv = outpost_factory()
    srv.stop()
    srv.extra[("pop3", "listen")] = "127.0.0.1:%d, [::1]:%d" % (srv.pop3_port, port6)
    srv.write_config()
    srv.start()
    srv.deliver(ALICE, message(1))
    with socket.create_connection(("::1", port6), timeout=10) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"+OK")
        pw = str(srv.passwords[ALICE])
        s.sendall(("USER %s\r\nPASS %s\r\nSTAT\r\nQUIT\r\n" % (ALICE, pw)).encode())
        replies = [f.readline() for _ in range(4)]
    assert all(x.startswith(b"+OK") for x in replies), replies
    assert replies[2].split()[1] == b"1"
    assert re.search(r"pop3 #\d+ \[::1\]:\d+ connect", srv.stderr_text())


# ---- graceful stop ------------------------------------------------------------------------

def test_sigterm_lets_a_command_in_flight_finish(outpost):
    big = message(1, size=8 << 20)
    outpost.deliver(ALICE, big)
    busy = outpost.raw(timeout=30)
    busy.login()
    idle = outpost.raw(timeout=30)
    idle.login("bob@example.test")
    busy.send(b"RETR 1\r\n")
    first = busy.sock.recv(4096)
    assert first.startswith(b"+OK"), first[:100]
    outpost.signal(signal.SIGTERM)
    # No new sessions once stopping.
    assert_wait(lambda: not port_open(outpost.pop3_port), 10)
    # The RETR in progress is sent to its end; then the session is closed
    # with a goodbye.
    data = bytearray(first)
    while True:
        chunk = busy.sock.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    head, _, rest = bytes(data).partition(b"\r\n")
    body, end, goodbye = rest.partition(b"\r\n.\r\n")
    assert end, "the response was cut off after %d bytes" % len(data)
    assert body + b"\r\n" == to_crlf(big)
    assert goodbye in (b"", b"-ERR [SYS/TEMP] Server shutting down\r\n"), goodbye[:200]
    # The idle session was told why it is closed.
    assert idle.line().startswith(b"-ERR [SYS/TEMP]")
    busy.close()
    idle.close()
    assert outpost.wait(20) == 0


def assert_wait(pred, timeout):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in %ss" % timeout
        time.sleep(0.05)


# ---- full disk -----------------------------------------------------------------------------

def can_mount_tmpfs():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        "mount -t tmpfs -o size=64k none /mnt"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


FULL_DISK_SCRIPT = r"""
set -u
md="$1"; shift
mount -t tmpfs -o size=256k,mode=0700 outpost-full "$md" || exit 90
# The message does not fit: temporary failure (75), nothing left behind.
"$@" < "$BIG"; echo "big=$?"
echo "files=$(find "$md" -type f \( -path '*/new/*' -o -path '*/cur/*' -o -path '*/tmp/*' \) | wc -l)"
# One that fits still goes through.
"$@" < "$SMALL"; echo "small=$?"
for f in "$md"/new/*; do cmp -s "$f" "$SMALL" && echo "small-stored"; done
echo "files=$(find "$md" -type f \( -path '*/new/*' -o -path '*/cur/*' -o -path '*/tmp/*' \) | wc -l)"
"""


def test_full_disk_during_delivery_is_a_temporary_failure(outpost, tmp_path):
    big = tmp_path / "big.eml"
    small = tmp_path / "small.eml"
    big.write_bytes(message(1, size=1 << 20))
    small.write_bytes(message(2))
    md = outpost.maildir(ALICE)
    md.mkdir(parents=True, exist_ok=True)
    deliver = [OUTPOST_BIN, "deliver", ALICE, "-c", str(outpost.conf)]
    env = dict(os.environ, BIG=str(big), SMALL=str(small))
    if can_mount_tmpfs():
        # A real ENOSPC: the mailbox on a tiny tmpfs in a mount namespace of its own.
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            FULL_DISK_SCRIPT, "sh", str(md), *deliver],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
        out = r.stdout.decode()
        assert "big=75" in out, out + r.stderr.decode()
        files = re.findall(r"files=(\d+)", out)
        assert files[0] == "0", out
        assert "small=0" in out and "small-stored" in out and files[1] == "1", out
    else:
        # Without the right to mount: a file size limit gives EFBIG on write,
        # the same failure path as a full disk.
        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 10, 256 << 10))
        r = subprocess.run(deliver, stdin=open(big, "rb"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, preexec_fn=limit, timeout=120)
        assert r.returncode == 75, r.stderr.decode()
        left = [p for d in ("new", "cur", "tmp") if (md / d).exists() for p in (md / d).iterdir()]
        assert left == []
        assert outpost.deliver(ALICE, small.read_bytes()) == 0
    # Outside the namespace the real mailbox is untouched and the server serves.
    p = outpost.login(ALICE)
    p.quit()
    assert outpost.running()


# ---- privileges ---------------------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_runs_as_server_user_and_tools_write_as_that_user(outpost_factory):
    import pwd
    nobody = pwd.getpwnam("nobody")
    # A tree the unprivileged user can enter (pytest's own tmp_path is 0700 root).
    base = tempfile.mkdtemp(prefix="outpost-user-")
    os.chmod(base, 0o755)
    try:
        srv = outpost_factory(start=False, name=os.path.join(base, "srv"))
        os.chmod(srv.root, 0o755)
        for dirpath, dirnames, filenames in os.walk(srv.data):
            for n in dirnames + filenames:
                os.chown(os.path.join(dirpath, n), nobody.pw_uid, nobody.pw_gid)
        os.chown(srv.data, nobody.pw_uid, nobody.pw_gid)
        srv.extra[("server", "user")] = "nobody"
        srv.write_config()
        srv.start()
        # The ports open first, then the process changes user: wait for it.
        def uids():
            status = open("/proc/%d/status" % srv.pid).read()
            return set(re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split())
        deadline = time.monotonic() + 15
        while uids() != {str(nobody.pw_uid)} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert uids() == {str(nobody.pw_uid)}
        # Run as root, the tools act as the server's user: what they make is its.
        srv.add_user("carol@example.test")
        assert srv.deliver("carol@example.test", message(1)) == 0
        made = [os.path.join(d, n) for d, dn, fn in os.walk(srv.data) for n in dn + fn]
        foreign = [p for p in made if os.lstat(p).st_uid != nobody.pw_uid]
        assert foreign == [], foreign
        p = srv.login("carol@example.test")
        assert p.stat()[0] == 1
        p.quit()
        # A user that does not exist is a configuration error, before any port opens.
        srv.stop()
        srv.extra[("server", "user")] = "no-such-user-here"
        srv.write_config()
        r = subprocess.run([OUTPOST_BIN, "serve", "-c", str(srv.conf)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        assert r.returncode == 2, r.stderr
        assert b"no-such-user-here" in r.stderr
        assert not port_open(srv.pop3_port)
    finally:
        shutil.rmtree(base, ignore_errors=True)
