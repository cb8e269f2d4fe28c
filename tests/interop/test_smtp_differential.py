"""Reply codes of outpost's MX listener against Postfix's smtpd for the
same command sequences, where RFC 5321 (with RFC 1870, RFC 3463) leaves no
choice: both servers must give the same three-digit code and the same
enhanced-code class.

Postfix runs from its own config directory in the test's temp directory
(master in the foreground, stopped by PID), accepting mail for
bob@example.test by virtual delivery, relaying for nobody.

Postfix is configured as outpost behaves by design: HELO/EHLO required
before MAIL (smtpd_helo_required; RFC 5321 4.1.4 makes it the client's
duty), relaying refused for good (reject_unauth_destination, not the
default 454 "defer").

Where the two differ on purpose (not compared here):
  - an unrecognised command: RFC 5321 4.2.4 and 4.3.2 give 500 ("syntax
    error, command unrecognized"); Postfix answers 502. outpost says 500.
  - VRFY: both 252 by policy, but Postfix's text and checks differ.
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import free_port, port_open
from smtp_helpers import RawSmtp

POSTFIX_DAEMONS = "/usr/lib/postfix/sbin"

# (name, [commands]); the reply to every command is compared.
CASES = [
    ("mail before helo", ["MAIL FROM:<a@example.org>"]),
    ("rcpt before mail", ["EHLO c.example", "RCPT TO:<bob@example.test>"]),
    ("data before rcpt", ["EHLO c.example", "MAIL FROM:<a@example.org>", "DATA"]),
    ("nested mail", ["EHLO c.example", "MAIL FROM:<a@example.org>", "MAIL FROM:<a@example.org>"]),
    ("helo without name", ["HELO"]),
    ("ehlo without name", ["EHLO"]),
    ("mail bad path", ["EHLO c.example", "MAIL FROM:<a@example.org"]),
    ("rcpt bad path", ["EHLO c.example", "MAIL FROM:<a@example.org>", "RCPT TO:<bob@>"]),
    ("rset noop", ["EHLO c.example", "MAIL FROM:<a@example.org>", "RSET", "NOOP", "DATA"]),
    ("unknown user", ["EHLO c.example", "MAIL FROM:<a@example.org>", "RCPT TO:<nobody@example.test>"]),
    ("relay denied", ["EHLO c.example", "MAIL FROM:<a@example.org>", "RCPT TO:<x@elsewhere.example>"]),
    ("good rcpt then data", ["EHLO c.example", "MAIL FROM:<a@example.org>",
                             "RCPT TO:<bob@example.test>", "DATA"]),
    ("size too big", ["EHLO c.example", "MAIL FROM:<a@example.org> SIZE=999999999999"]),
    ("null sender", ["EHLO c.example", "MAIL FROM:<>", "RCPT TO:<bob@example.test>"]),
    ("quit", ["EHLO c.example", "QUIT"]),
]


def start_postfix(root):
    etc, queue, data, mail = (root / d for d in ("etc", "queue", "data", "mail"))
    for d in (etc, queue, data, mail):
        d.mkdir(parents=True)
    shutil.chown(data, "postfix", "postfix")
    shutil.chown(mail, "postfix", "postfix")
    os.chmod(root, 0o755)
    port = free_port()
    pw = pwd.getpwnam("postfix")
    (etc / "main.cf").write_text(f"""compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
myhostname = postfix-diff.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 192.0.2.0/24
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = example.test
virtual_mailbox_base = {mail}
virtual_mailbox_maps = inline:{{ bob@example.test=bob/ }}
virtual_uid_maps = static:{pw.pw_uid}
virtual_gid_maps = static:{pw.pw_gid}
smtpd_recipient_restrictions = reject_unauth_destination
smtpd_relay_restrictions = reject_unauth_destination
smtpd_helo_required = yes
message_size_limit = 52428800
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
smtputf8_enable = no
smtpd_delay_reject = no
biff = no
""")
    (etc / "master.cf").write_text(f"""127.0.0.1:{port} inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
proxymap  unix - - n - - proxymap
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
virtual   unix - n n - - virtual
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
""")
    subprocess.run(["postfix", "-c", str(etc), "check"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
    proc = subprocess.Popen(["setsid", POSTFIX_DAEMONS + "/master", "-d", "-c", str(etc)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not port_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            log = root / "maillog"
            raise AssertionError("postfix did not start: %s" % (
                log.read_text(errors="replace")[-2000:] if log.exists() else "no log"))
        time.sleep(0.1)
    return proc, port


@pytest.fixture
def postfix():
    if not os.path.exists(POSTFIX_DAEMONS + "/master") or os.geteuid() != 0:
        pytest.fail("Postfix (scripts/setup.sh test) and root are needed")
    # Postfix's processes run as the postfix user: pytest's own temp
    # directories (mode 0700) are closed to them.
    root = Path(tempfile.mkdtemp(prefix="outpost-postfix-"))
    os.chmod(root, 0o755)
    proc = None
    try:
        proc, port = start_postfix(root / "postfix")
        yield port
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def replies(port, commands):
    out = []
    with RawSmtp(port) as r:
        for c in commands:
            reply = r.cmd(c).split(b"\r\n")[-2]      # the last line of a multi-line reply
            out.append((reply[:3].decode(), reply[4:5].decode() if reply[4:5].isdigit() else ""))
    return out


def test_reply_codes_match_postfix(outpost, postfix):
    differ = []
    for name, commands in CASES:
        ours = replies(outpost.smtp_port, commands)
        theirs = replies(postfix, commands)
        for cmd, o, t in zip(commands, ours, theirs):
            # the enhanced-code class is compared when Postfix gives one
            if o[0] != t[0] or (t[1] and o[1] != t[1]):
                differ.append("%s: %s -> outpost %s, postfix %s" % (name, cmd, o, t))
    assert not differ, "\n".join(differ)
