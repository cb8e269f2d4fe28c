"""Differential test: outpost's POP3 server against Dovecot's (2.3), given the
same messages, compared byte for byte over raw sockets.

One outpost and one Dovecot run for the whole module. Both get the same
corpus of awkward messages, in the same order: outpost through `outpost
deliver`, Dovecot as files with the same bytes dropped into its Maildir/new/.
Then STAT, LIST, RETR, TOP, DELE, RSET, QUIT and the error replies are
compared. Only the "+OK"/"-ERR" prefix of a status line is compared (the
text after it is free, RFC 1939 section 3); multi-line bodies are compared
exactly, with their byte-stuffing and terminator.

Where the servers legitimately differ, the test says so and asserts
outpost's side against a reference computed here from RFC 1939 (wire_form,
stuffed, top_reference); each such place has a comment saying what Dovecot
does and why outpost's answer is the required one. Found so far (Dovecot
2.3.19):

- a message whose last line has no line end: both send it with a CRLF
  added, but Dovecot's LIST/STAT size leaves those 2 octets out; outpost's
  size is exactly what RETR sends (minus the stuffing), as RFC 1939 asks;
- the empty (0-octet) message: Dovecot sends one empty line (2 octets)
  after "+OK 0 octets"; outpost sends no line, matching its size 0;
- a message whose first byte is ".": Dovecot does not byte-stuff the first
  line (".\\n" ends its reply early and leaves a stray line; "..x" reaches
  the client as ".x"); outpost stuffs every line;
- arguments with trailing blanks ("LIST 1 "): Dovecot refuses them,
  outpost tolerates them on purpose (src/pop3/parse.c, split_words);
- TOP with a line count of 2^32 or more: both send the whole message
  (RFC 1939 section 7 puts no bound on the count); from 2^64 on Dovecot
  answers -ERR, outpost still sends the whole message.

Dovecot runs in the foreground with a config of its own in a fresh
directory under /tmp (made 0755: pytest's tmp_path is under a 0700 directory
that Dovecot's unprivileged mail process could not enter), POP3 only, on
127.0.0.1 and a free port, with a passwd-file user whose mail is owned by
`nobody` (uid 65534), so nothing is added to the machine. It needs root
(to start Dovecot's master and chown the Maildir) and the dovecot-core and
dovecot-pop3d packages (scripts/setup.sh test installs both); otherwise the
module is skipped.
"""

import grp
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import (OUTPOST_BIN, WRONG_PASSWORDS, Outpost, RawLines, Secret, free_port,
                      port_open, sanitizer_reports, to_crlf)

ALICE = "alice@example.test"    # the whole corpus, read only (every test ends with RSET/QUIT)
BOB = "bob@example.test"        # a small mailbox for DELE ... QUIT

DOVECOT_BIN = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVECOT_POP3_BINS = ("/usr/lib/dovecot/pop3", "/usr/libexec/dovecot/pop3")
MAIL_USER, MAIL_GROUP = "nobody", "nogroup"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
IO_TIMEOUT = 15.0
LOGIN_RETRY = 10.0              # outpost: [IN-USE] while a dropped session is cleaned up
MAX_REPLY = 8 << 20             # no reply here is larger than this

CHUNK = 65536                   # outpost streams messages in 64 KiB chunks
BIG_K = (1_000_000, 2**32 - 1)  # line counts larger than any message here
TOP_KS = (0, 1, 2, 10) + BIG_K


# ---- the corpus -------------------------------------------------------------------------------

def one_mib_message():
    """About 1 MiB of mixed LF/CRLF lines, some starting with ".", with the
    64 KiB boundaries at which outpost reads the file placed on purpose:
    inside a CRLF, just before a "." that starts a line, just before a "."
    that follows a bare CR, before a line that is only ".", before ".."."""
    out = bytearray(b"From: a@example.test\nSubject: one MiB\n\n")
    n = 0

    def fill_to(offset):
        # Lines up to a little before offset, then one line ending exactly there.
        nonlocal n
        while len(out) < offset - 200:
            line = b"%07d %s\n" % (n, b"abcdefghijklmnopqrstuvwxyz0123456789" * 2)
            if n % 7 == 0:
                line = b"." + line
            if n % 5 == 0:
                line = line[:-1] + b"\r\n"
            out.extend(line)
            n += 1
        out.extend(b"y" * (offset - len(out) - 1) + b"\n")
        assert len(out) == offset

    fill_to(CHUNK - 1)
    out[-1:] = b"\r\n"                          # CR | LF
    fill_to(2 * CHUNK)
    out.extend(b".starts the third chunk\n")   # LF | "."
    fill_to(3 * CHUNK - 1)
    out[-1:] = b"\r.not a line start\n"         # bare CR | "."
    fill_to(4 * CHUNK - 1)
    out.extend(b"\n.\n")                        # LF | LF "." LF
    fill_to(5 * CHUNK - 2)
    out[-2:] = b"\r\n..\r\n"                    # CRLF | ".." CRLF
    fill_to(16 * CHUNK - 20)
    out.extend(b"the last line\n")
    return bytes(out)


def top_boundary_message():
    """The 3rd body line ends with a CRLF split by the first 64 KiB boundary,
    and the 4th starts with ".": TOP n 3 must stop exactly there."""
    head = b"Subject: TOP at a chunk boundary\r\n\r\none\r\ntwo\r\n"
    third = b"3" * (CHUNK - 1 - len(head)) + b"\r\n"
    msg = head + third + b".four\r\nfive\r\n"
    assert msg[CHUNK - 1:CHUNK + 1] == b"\r\n"
    return msg


def big_headers_message():
    """64 KiB of headers: the blank line that ends them is the first byte of
    the second chunk."""
    h = bytearray(b"Subject: big headers\n")
    while len(h) + 81 < CHUNK - 1:
        h += b"X-Filler: " + b"h" * 70 + b"\n"
    h += b"X-Last: " + b"z" * (CHUNK - 1 - len(h) - 9) + b"\n"
    assert len(h) == CHUNK - 1
    return bytes(h) + b"\n.body 1\nbody 2\n"


# Name and bytes; delivered to ALICE in this order (message n is CORPUS[n-1]).
CORPUS = [
    ("lf", b"From: a@example.test\nSubject: LF\n\nline one\nline two\n"),
    ("crlf", b"From: a@example.test\r\nSubject: CRLF\r\n\r\nline one\r\nline two\r\n"),
    ("mixed", b"From: a@example.test\r\nSubject: mixed\n\r\nline one\r\nline two\n"
              b"line three\r\n\nend\n"),
    ("dots", b"From: a@example.test\nSubject: dots\n\n.leading dot\n..two dots\n.\n...\n"
             b". space\n.\r\nend\n"),
    ("dots_first_last_body_lines", b"Subject: dots\r\n\r\n.\r\nmiddle\r\n.."),
    ("only_dot_no_line_end", b"Subject: cut\n\n."),
    ("empty_body", b"From: a@example.test\nSubject: empty body\n\n"),
    ("headers_only", b"From: a@example.test\nSubject: only headers, no blank line\n"),
    ("headers_only_no_line_end", b"From: a@example.test\nSubject: no line end"),
    ("bare_cr", b"Subject: bare CR\n\nbefore\rafter\nx\r\r\n\r\nend\r"),
    ("cr_only_line_ends", b"Subject: CR only\r\rbody one\rbody two\r"),
    ("no_final_line_end", b"From: a@example.test\nSubject: cut\n\nno newline at the end"),
    ("long_line", b"Subject: long lines\n\n" + b"x" * 5000 + b"\n." + b"y" * 4999 + b"\nend\n"),
    ("eight_bit", b"From: a@example.test\nSubject: =?utf-8?q?caf=C3=A9?=\n"
                  b"Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n"
                  + "UTF-8: é ü ß ∑ 日本 🙂\n".encode()
                  + "Latin-1: café, naïve, Ærø\n".encode("latin-1")
                  + bytes(range(0x80, 0x100)) + b"\n"),
    # Both servers send NUL bytes as they are and count them in the size
    # (Dovecot's POP3 does not replace them), so they are compared like any byte.
    ("nul_bytes", b"Subject: NUL\n\na\x00b\n\x00\n.\x00\n"),
    ("many_blank_lines", b"Subject: blank lines\n\n\n\n\nafter three blank lines\n\n\n.\n\nx\n\n"),
    ("no_headers", b"\nbody after an empty header section\n"),
    ("folded_header", b"Subject: folded\n header\n \nX: y\n\nbody\n"),
    ("lf_then_cr", b"Subject: LF CR\n\n\rline\n\r\n\r.x\n"),
    ("empty", b""),
    ("dot_first_byte", b".Subject: odd\n\nbody\n"),
    ("only_a_dot_line", b".\n"),
    ("one_mib", one_mib_message()),
    ("big_headers", big_headers_message()),
    ("top_at_chunk_boundary", top_boundary_message()),
]
NAMES = [name for name, _ in CORPUS]
BY_NAME = dict(CORPUS)

# For the DELE/RSET/QUIT test: one message of each kind of size difference.
BOB_CORPUS = ["lf", "no_final_line_end", "crlf", "dots", "empty", "eight_bit"]


# ---- RFC 1939 reference forms -----------------------------------------------------------------

def wire_form(msg):
    """The message as POP3 sends it, before byte-stuffing: bare LF becomes
    CRLF, a bare CR stays, and a last line without line end gets a CRLF
    (RFC 1939 section 3). The empty message has no line at all."""
    out = to_crlf(msg)
    if out and not out.endswith(b"\n"):
        out += b"\r\n"
    return out


def stuffed(wire):
    """wire with every line that starts with "." given one more "."."""
    return re.sub(rb"(?:^|(?<=\n))\.", b"..", wire)


def lines_of(wire):
    return re.findall(rb"[^\n]*\n", wire)


def top_reference(msg, k):
    """What TOP msg k sends before the terminator: the headers, the blank
    line that ends them, and k lines of the body; all of it when there is no
    blank line (RFC 1939 section 7)."""
    lines = lines_of(wire_form(msg))
    try:
        end = lines.index(b"\r\n") + 1
    except ValueError:
        end = len(lines)
    return stuffed(b"".join(lines[:end + k]))


def unterminated(msg):
    return msg != b"" and not msg.endswith(b"\n")


def dovecot_size(msg):
    """Dovecot 2.3's LIST size: the wire form without the CRLF it adds after
    a last line that has none (it does send that CRLF)."""
    return len(wire_form(msg)) - (2 if unterminated(msg) else 0)


def dovecot_body(reference, msg):
    """Dovecot 2.3's deviations in what RETR/TOP send (reference: outpost's
    correct bytes before the terminator): one empty line for the empty
    message, and no stuffing of the first line."""
    if msg == b"":
        return b"\r\n"
    if reference.startswith(b".."):
        return reference[1:]
    return reference


def is_ok(line):
    return line.startswith(b"+OK")


def is_err(line):
    return line.startswith(b"-ERR")


# ---- a raw POP3 client (the same code for both servers) ---------------------------------------

class Wire(RawLines):
    """POP3 over a raw socket: exact bytes, every wait bounded."""

    max_buffer = MAX_REPLY

    def __init__(self, port, timeout=IO_TIMEOUT):
        super().__init__(port, timeout=timeout)
        self.greeting = self.line()

    def cmd(self, command):
        """Send one command (CRLF added) and return the status line."""
        self.send(command + "\r\n")
        return self.line()

    def body(self):
        """A multi-line body as sent, through the ".\\r\\n" that ends it."""
        start = 0
        while True:
            if self.buf.startswith(b".\r\n"):
                end = 3
                break
            i = self.buf.find(b"\r\n.\r\n", start)
            if i >= 0:
                end = i + 5
                break
            start = max(0, len(self.buf) - 4)
            self._fill()
        out, self.buf = self.buf[:end], self.buf[end:]
        return out

    def multi(self, command):
        """A multi-line command followed by a pipelined NOOP. Returns (status,
        body or None, stray): stray is whatever came between the body's
        terminator and the NOOP's +OK, which must be nothing: lines there
        mean the body was cut short by an unstuffed "." line."""
        self.send(command + "\r\nNOOP\r\n")
        status = self.line()
        body = self.body() if is_ok(status) else None
        stray = b""
        for _ in range(1000):
            ln = self.line()
            if is_ok(ln):
                return status, body, stray
            stray += ln
        raise AssertionError("%s: no +OK for the NOOP after it" % command.split()[0])

    def login(self, user, password):
        r = self.cmd("USER " + user)
        if not is_ok(r):
            return r
        return self.cmd("PASS " + password)


def login(port, user, password, what):
    """A logged-in Wire. Retries while the mailbox is [IN-USE] (outpost
    holds its lock until it has noticed that a dropped session is gone)."""
    deadline = time.monotonic() + LOGIN_RETRY
    while True:
        w = Wire(port)
        r = w.login(user, password)
        if is_ok(r):
            return w
        w.close()
        if b"[IN-USE]" in r and time.monotonic() < deadline:
            time.sleep(0.1)
            continue
        raise AssertionError("%s: login as %s failed: %r" % (what, user, r))


# ---- Dovecot ----------------------------------------------------------------------------------

DOVECOT_CONF = """\
# Written by tests/interop/test_differential.py: a Dovecot of its own, POP3 only.
instance_name = outpost-difftest-{instance}
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/passwd
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


class Dovecot:
    """A Dovecot POP3 server in a temporary directory, with Maildir users
    owned by nobody. Same attributes as Outpost where the tests need them:
    pop3_port and passwords."""

    def __init__(self, users):
        self.uid = pwd.getpwnam(MAIL_USER).pw_uid
        try:
            self.gid = grp.getgrnam(MAIL_GROUP).gr_gid
        except KeyError:
            self.gid = pwd.getpwnam(MAIL_USER).pw_gid
        # The name holds "outpost" so that tests/run.sh, which kills the PIDs
        # in OUTPOST_TEST_PIDFILE whose command line says outpost, also stops
        # a Dovecot that a killed pytest left behind (its -c names this dir).
        self.dir = tempfile.mkdtemp(prefix="outpost-dovecot-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.port = self.pop3_port = free_port()
        self.proc = None
        self.passwords = {u: Secret(secrets.token_urlsafe(18)) for u in users}
        self.serial = 0
        self.time = int(time.time()) - 100_000   # Maildir names in the past, one second apart
        for sub in ("run", "state", "home"):
            os.mkdir(os.path.join(self.dir, sub), 0o755)
        entries = []
        for user, password in self.passwords.items():
            home = self.home(user)
            os.mkdir(home, 0o700)
            for sub in ("", "/new", "/cur", "/tmp"):
                os.mkdir(home + "/Maildir" + sub, 0o700)
            for path in (home, home + "/Maildir", home + "/Maildir/new", home + "/Maildir/cur",
                         home + "/Maildir/tmp"):
                os.chown(path, self.uid, self.gid)
            # Secret: a local that holds the password shows as a placeholder
            # even in a traceback with --showlocals.
            entries.append(Secret("%s:{PLAIN}%s:%d:%d::%s::\n" % (
                user, str(password), self.uid, self.gid, home)))
        passwd = os.path.join(self.dir, "passwd")
        fd = os.open(passwd, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            for entry in entries:
                f.write(entry)
        try:        # Dovecot's auth process runs as the dovecot user
            os.chown(passwd, 0, grp.getgrnam("dovecot").gr_gid)
            os.chmod(passwd, 0o640)
        except KeyError:
            os.chmod(passwd, 0o644)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(instance="%d-%d" % (os.getpid(), self.port),
                                        dir=self.dir, uid=self.uid, port=self.port))

    def home(self, user):
        return os.path.join(self.dir, "home", user.split("@")[0])

    def add_message(self, user, data):
        """A file with exactly these bytes in Maildir/new/, named as Maildir
        wants (<sec>.M<usec>P<pid>Q<n>.<host>); Dovecot numbers new mail by
        the time in the name, so later calls give later message numbers."""
        self.serial += 1
        t = self.time + self.serial
        name = "%d.M%06dP%dQ%d.outpost-difftest" % (t, self.serial % 1_000_000, os.getpid(),
                                                     self.serial)
        tmp = os.path.join(self.home(user), "Maildir", "tmp", name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chown(tmp, self.uid, self.gid)
        os.utime(tmp, (t, t))
        os.rename(tmp, os.path.join(self.home(user), "Maildir", "new", name))

    def log_tail(self, n=30):
        text = ""
        for name in ("dovecot.log", "stderr.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text += "".join(f.readlines()[-n:])
            except FileNotFoundError:
                pass
        for password in self.passwords.values():
            text = text.replace(str(password), "<password>")
        return text

    def start(self):
        with open(os.path.join(self.dir, "stderr.log"), "wb") as err:
            self.proc = subprocess.Popen([DOVECOT_BIN, "-F", "-c", self.conf],
                                         stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        pidfile = os.environ.get("OUTPOST_TEST_PIDFILE")
        if pidfile:
            with open(pidfile, "a") as f:
                f.write("%d\n" % self.proc.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while not port_open(self.port):
            if self.proc.poll() is not None:
                raise AssertionError("dovecot exited %d at start:\n%s" % (
                    self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                raise AssertionError("dovecot: port %d not open after %ds:\n%s" % (
                    self.port, START_TIMEOUT, self.log_tail()))
            time.sleep(0.05)

    def stop(self):
        """SIGTERM to the master by its PID, SIGKILL after STOP_TIMEOUT."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def dovecot_missing():
    """Why Dovecot cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root: Dovecot's master and chowning its Maildirs to nobody"
    if not os.access(DOVECOT_BIN, os.X_OK):
        return "dovecot is not installed (scripts/setup.sh test installs dovecot-core)"
    if not any(os.access(p, os.X_OK) for p in DOVECOT_POP3_BINS):
        return "Dovecot's pop3 is not installed (package dovecot-pop3d)"
    try:
        pwd.getpwnam(MAIL_USER)
    except KeyError:
        return "no user %s to own Dovecot's mail" % MAIL_USER
    return None


# ---- fixtures ---------------------------------------------------------------------------------

class Pair:
    """The two servers with the same mailboxes."""

    def __init__(self, outpost, dovecot):
        self.outpost = outpost
        self.dovecot = dovecot

    def sessions(self, user):
        """(outpost, dovecot): two logged-in Wires."""
        o = login(self.outpost.pop3_port, user, self.outpost.passwords[user], "outpost")
        try:
            d = login(self.dovecot.port, user, self.dovecot.passwords[user], "dovecot")
        except BaseException:
            o.close()
            raise
        return o, d


def check_outpost_output(srv):
    """What conftest's outpost_factory checks at teardown: no sanitizer
    report, and no password in the server's output."""
    errors = []
    text = srv.stderr_text()
    if sanitizer_reports(text):
        errors.append("sanitizer report in outpost's stderr:\n" + text[-8000:])
    logged = text + srv.stdout_text()
    if any(pw in logged for pw in list(srv.passwords.values()) + list(WRONG_PASSWORDS)):
        errors.append("a password appears in outpost's output (%s)" % srv.root)
    return errors


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    why = dovecot_missing()
    if why:
        pytest.skip("differential test against Dovecot skipped: " + why)
    if not os.access(OUTPOST_BIN, os.X_OK):
        pytest.fail("%s is not built (make asan)" % OUTPOST_BIN)
    dovecot = Dovecot([ALICE, BOB])
    srv = None
    try:
        srv = Outpost(tmp_path_factory.mktemp("outpost-diff"))
        mailboxes = {ALICE: [m for _, m in CORPUS], BOB: [BY_NAME[n] for n in BOB_CORPUS]}
        for user, msgs in mailboxes.items():
            for m in msgs:
                dovecot.add_message(user, m)
        # `outpost deliver` takes a while under ASan: the two mailboxes are
        # filled side by side, each in order.
        failures = []

        def fill(user):
            try:
                for m in mailboxes[user]:
                    srv.deliver(user, m)
            except BaseException as e:      # noqa: B902 - reported below
                failures.append(e)

        threads = [threading.Thread(target=fill, args=(u,)) for u in mailboxes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "outpost deliver hangs"
        if failures:
            raise failures[0]
        srv.start()
        dovecot.start()
        yield Pair(srv, dovecot)
    finally:
        errors = []
        try:
            dovecot.stop()
        finally:
            dovecot.remove()
        if srv is not None:
            try:
                srv.stop()
            except AssertionError as e:
                errors.append(str(e))
            errors += check_outpost_output(srv)
        assert not errors, "\n".join(errors)


# ---- the comparisons --------------------------------------------------------------------------

def stat(w):
    r = w.cmd("STAT")
    assert is_ok(r), r
    _, count, octets = r.split()
    return int(count), int(octets)


def list_all(w):
    status, body, stray = w.multi("LIST")
    assert is_ok(status) and not stray, (status, stray)
    out = {}
    for ln in lines_of(body[:-3]):
        num, size = ln.split()
        out[int(num)] = int(size)
    return out


def uidl_all(w):
    status, body, stray = w.multi("UIDL")
    assert is_ok(status) and not stray, (status, stray)
    out = {}
    for ln in lines_of(body[:-3]):
        num, uid = ln.rstrip(b"\r\n").split(b" ", 1)
        out[int(num)] = uid
    return out


def expected_sizes(names):
    """{n: (outpost's size, Dovecot's size)} for a mailbox of these messages.
    outpost's is exactly the wire form (what RETR sends, less the stuffing).
    Dovecot's leaves out the CRLF it adds after an unterminated last line:
    RFC 1939 section 5 asks for "the exact size of the message", and clients
    (fetchmail, for one) check the octets they received against it, so
    outpost's is the one required."""
    return {i: (len(wire_form(BY_NAME[n])), dovecot_size(BY_NAME[n]))
            for i, n in enumerate(names, 1)}


SIZES = expected_sizes(NAMES)


def test_stat_and_list(pair):
    sizes = SIZES
    o, d = pair.sessions(ALICE)
    with o, d:
        o_count, o_octets = stat(o)
        d_count, d_octets = stat(d)
        assert o_count == d_count == len(CORPUS)
        o_list, d_list = list_all(o), list_all(d)
        assert sorted(o_list) == sorted(d_list) == list(range(1, len(CORPUS) + 1))
        for i, (o_size, d_size) in sizes.items():
            assert (NAMES[i - 1], o_list[i]) == (NAMES[i - 1], o_size)
            assert (NAMES[i - 1], d_list[i]) == (NAMES[i - 1], d_size)
            if not unterminated(CORPUS[i - 1][1]):
                assert o_list[i] == d_list[i]
        assert o_octets == sum(o_list.values())
        assert d_octets == sum(d_list.values())
        assert is_ok(o.cmd("QUIT")) and is_ok(d.cmd("QUIT"))


@pytest.mark.parametrize("name", NAMES)
def test_message(pair, name):
    """LIST n, RETR n and TOP n k for one message, byte for byte."""
    n = NAMES.index(name) + 1
    msg = BY_NAME[name]
    o_size, d_size = SIZES[n]
    o, d = pair.sessions(ALICE)
    with o, d:
        # LIST n: the same numbers; sizes as in test_stat_and_list.
        o_list, d_list = o.cmd("LIST %d" % n), d.cmd("LIST %d" % n)
        assert o_list.split() == [b"+OK", b"%d" % n, b"%d" % o_size], o_list
        assert d_list.split() == [b"+OK", b"%d" % n, b"%d" % d_size], d_list

        requests = [("RETR %d" % n, stuffed(wire_form(msg)))]
        requests += [("TOP %d %d" % (n, k), top_reference(msg, k)) for k in TOP_KS]
        for command, reference in requests:
            o_status, o_body, o_stray = o.multi(command)
            d_status, d_body, d_stray = d.multi(command)
            assert is_ok(o_status) and is_ok(d_status), (command, o_status, d_status)
            assert o_stray == b"", (command, o_stray)
            # outpost sends exactly the RFC 1939 form, for every message.
            assert o_body == reference + b".\r\n", command
            d_full = d_body + d_stray
            if d_full == o_body:
                continue
            # Dovecot 2.3 differs only in the two ways dovecot_body() describes:
            # - the empty message: Dovecot sends one empty line, 2 octets after
            #   "+OK 0 octets", i.e. a line that is not in the message and not
            #   in its size; outpost sends no line, which is what the message
            #   has and what its size 0 says;
            # - a message whose first byte is ".": Dovecot does not stuff its
            #   first line (RFC 1939 section 3 says any line that starts with
            #   "." is stuffed), so a client drops that "." or, for a first
            #   line that is only ".", takes it for the end of the reply and
            #   reads the real end as a stray line before the next reply;
            #   outpost stuffs it.
            assert msg == b"" or msg.startswith(b"."), (
                "%s: outpost and Dovecot differ in an undocumented way" % command)
            assert d_full == dovecot_body(reference, msg) + b".\r\n", command
        assert is_ok(o.cmd("QUIT")) and is_ok(d.cmd("QUIT"))


# RFC 1939 section 7 puts no bound on TOP's line count and says that a count
# larger than the body sends the whole message; both servers do so.
def test_top_with_a_line_count_of_2_to_the_32(pair):
    msg = BY_NAME["lf"]
    o = login(pair.outpost.pop3_port, ALICE, pair.outpost.passwords[ALICE], "outpost")
    with o:
        o_status, o_body, o_stray = o.multi("TOP 1 %d" % 2**32)
        assert is_ok(o_status), o_status
        assert (o_body, o_stray) == (stuffed(wire_form(msg)) + b".\r\n", b"")
        assert is_ok(o.cmd("QUIT"))


def test_errors(pair):
    """-ERR for message 0, one past the last, and a deleted message (the
    text after -ERR is free)."""
    last = len(CORPUS)
    o, d = pair.sessions(ALICE)
    with o, d:
        for w in (o, d):
            bad = []
            for n in (0, last + 1):
                for c in ("RETR %d", "TOP %d 0", "TOP %d 5", "LIST %d", "DELE %d", "UIDL %d"):
                    bad.append(c % n)
            for c in bad:
                r = w.cmd(c)
                assert is_err(r), (c, r)
            assert stat(w)[0] == last
            assert is_ok(w.cmd("DELE 3"))
            for c in ("RETR 3", "TOP 3 0", "TOP 3 5", "LIST 3", "DELE 3", "UIDL 3"):
                r = w.cmd(c)
                assert is_err(r), (c, r)
            assert stat(w)[0] == last - 1
            # Still in step: the next message is served.
            status, body, stray = w.multi("RETR 4")
            assert is_ok(status) and not stray
            assert body == stuffed(wire_form(CORPUS[3][1])) + b".\r\n"
            assert is_ok(w.cmd("RSET"))
            assert stat(w)[0] == last
            assert is_ok(w.cmd("QUIT"))


def test_argument_forms(pair):
    """Numbers written in other ways: the two agree, but for trailing blanks."""
    o, d = pair.sessions(ALICE)
    with o, d:
        for c in ("LIST 01", "LIST 001", "LIST  1", "LIST ", "UIDL 01"):
            assert is_ok(o.cmd(c)) and is_ok(d.cmd(c)), c
            if c.strip() in ("LIST", "UIDL"):
                o.body(), d.body()
        for c in ("LIST +1", "LIST -1", "LIST -0", "LIST 1.0", "LIST 0x1", "LIST 1x",
                  "LIST 4294967297", "LIST 99999999999999999999", "TOP 1 +1", "TOP 1 -1",
                  "TOP 1", "RETR", "DELE", "LIST 1 2"):
            o_r, d_r = o.cmd(c), d.cmd(c)
            assert is_err(o_r) and is_err(d_r), (c, o_r, d_r)
        # A trailing blank after the argument: Dovecot answers "-ERR Noise after
        # message number"; outpost ignores it, on purpose (src/pop3/parse.c,
        # split_words: leading and trailing blanks are tolerated). RFC 1939
        # separates arguments by one space but gives no meaning to a trailing
        # one, so accepting it is the robust choice; it is asserted here so a
        # change either way is seen.
        for c in ("LIST 1 ", "LIST 1\t"):
            assert is_ok(o.cmd(c)), c
            assert is_err(d.cmd(c)), c
        # A TOP line count of 2^32 or more, below 2^64: Dovecot sends the whole
        # message, as RFC 1939 section 7 asks (no bound on the count), and so
        # does outpost (test_top_with_a_line_count_of_2_to_the_32).
        status, body, stray = d.multi("TOP 1 %d" % 2**32)
        assert is_ok(status) and not stray
        assert body == stuffed(wire_form(CORPUS[0][1])) + b".\r\n"
        # At 2^64 and beyond Dovecot's own number parser gives up (-ERR);
        # outpost keeps to the RFC and still sends the whole message.
        status, body, stray = o.multi("TOP 1 99999999999999999999")
        assert is_ok(status) and not stray
        assert body == stuffed(wire_form(CORPUS[0][1])) + b".\r\n"
        assert is_err(d.cmd("TOP 1 99999999999999999999"))
        assert is_ok(o.cmd("QUIT")) and is_ok(d.cmd("QUIT"))


def test_uidl(pair):
    """UIDLs differ between the servers by design; each server's must be
    unique, 1 to 70 characters 0x21-0x7E (RFC 1939 section 7), the same in
    UIDL n as in the listing, and the same in a second session."""
    first = {}
    for session in (1, 2):
        o, d = pair.sessions(ALICE)
        with o, d:
            for label, w in (("outpost", o), ("dovecot", d)):
                uids = uidl_all(w)
                assert sorted(uids) == list(range(1, len(CORPUS) + 1)), label
                assert len(set(uids.values())) == len(uids), label
                for n, uid in uids.items():
                    assert 1 <= len(uid) <= 70 and all(0x21 <= c <= 0x7E for c in uid), (
                        label, uid)
                for n in (1, len(CORPUS) // 2, len(CORPUS)):
                    assert w.cmd("UIDL %d" % n).split() == [b"+OK", b"%d" % n, uids[n]], label
                if session == 1:
                    first[label] = uids
                else:
                    assert uids == first[label], "%s: UIDLs changed between sessions" % label
                assert is_ok(w.cmd("QUIT"))


def test_dele_rset_quit(pair):
    """DELE, then STAT/LIST; RSET; DELE and QUIT; a second session sees the
    rest, with the same bytes and the same UIDLs as before."""
    names = BOB_CORPUS
    sizes = expected_sizes(names)
    total = len(names)

    def check_stat_list(o, d, present):
        o_list, d_list = list_all(o), list_all(d)
        assert sorted(o_list) == sorted(d_list) == sorted(present)
        for i in present:
            assert (o_list[i], d_list[i]) == sizes[i], names[i - 1]
        assert stat(o) == (len(present), sum(sizes[i][0] for i in present))
        assert stat(d) == (len(present), sum(sizes[i][1] for i in present))

    o, d = pair.sessions(BOB)
    with o, d:
        uids = {"outpost": uidl_all(o), "dovecot": uidl_all(d)}
        check_stat_list(o, d, range(1, total + 1))
        # DELE of messages 2 (unterminated) and 5 (empty).
        for n in (2, 5):
            assert is_ok(o.cmd("DELE %d" % n)) and is_ok(d.cmd("DELE %d" % n))
        check_stat_list(o, d, [1, 3, 4, 6])
        for c in ("RETR 2", "LIST 5", "TOP 2 0", "DELE 5", "UIDL 2"):
            o_r, d_r = o.cmd(c), d.cmd(c)
            assert is_err(o_r) and is_err(d_r), (c, o_r, d_r)
        # RSET brings them back.
        assert is_ok(o.cmd("RSET")) and is_ok(d.cmd("RSET"))
        check_stat_list(o, d, range(1, total + 1))
        for n in (2, 5):
            o_status, o_body, _ = o.multi("RETR %d" % n)
            d_status, d_body, _ = d.multi("RETR %d" % n)
            assert is_ok(o_status) and is_ok(d_status)
            assert o_body == stuffed(wire_form(BY_NAME[names[n - 1]])) + b".\r\n"
            if names[n - 1] != "empty":     # see test_message
                assert o_body == d_body
        # Now delete 1, 3 and 5 for good.
        for n in (1, 3, 5):
            assert is_ok(o.cmd("DELE %d" % n)) and is_ok(d.cmd("DELE %d" % n))
        assert is_ok(o.cmd("QUIT")) and is_ok(d.cmd("QUIT"))
        # QUIT in the TRANSACTION state ends with the UPDATE state (RFC 1939
        # section 6) and then the close.
        for w in (o, d):
            w.sock.settimeout(5)
            with pytest.raises((EOFError, ConnectionResetError)):
                w.line()
    kept = [2, 4, 6]
    o, d = pair.sessions(BOB)
    with o, d:
        assert stat(o)[0] == stat(d)[0] == len(kept)
        o_list, d_list = list_all(o), list_all(d)
        assert sorted(o_list) == sorted(d_list) == [1, 2, 3]
        for new, old in enumerate(kept, 1):
            msg = BY_NAME[names[old - 1]]
            assert (o_list[new], d_list[new]) == sizes[old]
            o_status, o_body, _ = o.multi("RETR %d" % new)
            d_status, d_body, _ = d.multi("RETR %d" % new)
            assert is_ok(o_status) and is_ok(d_status)
            assert o_body == d_body == stuffed(wire_form(msg)) + b".\r\n"
        # The survivors keep their UIDLs.
        assert uidl_all(o) == {new: uids["outpost"][old] for new, old in enumerate(kept, 1)}
        assert uidl_all(d) == {new: uids["dovecot"][old] for new, old in enumerate(kept, 1)}
        assert is_ok(o.cmd("QUIT")) and is_ok(d.cmd("QUIT"))
