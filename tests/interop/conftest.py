"""Fixtures that run the real outpost server for the interop tests.

Each test gets a server of its own: a fresh data directory under pytest's
tmp_path, a config file with free ports on 127.0.0.1, accounts made with
`outpost user add` (random passwords, fed on stdin), and a self-signed
certificate made with the openssl command. At teardown the server is stopped
by its PID (SIGTERM, then SIGKILL) and its stderr must hold no sanitizer
report.

The binary is build/asan/outpost unless OUTPOST_BIN names another one.
OUTPOST_SERVER_ASAN_OPTIONS, when set, replaces ASAN_OPTIONS for the server
process only (the command-line tools keep the caller's). OUTPOST_TEST_PIDFILE,
when set, names a file each server's PID is appended to.

Passwords never reach test output: they are Secret strings, whose repr() is
a placeholder, so pytest's assertion messages and tracebacks cannot show them.
"""

import base64
import os
import poplib
import random
import secrets
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OUTPOST_BIN = os.environ.get("OUTPOST_BIN", str(REPO / "build" / "asan" / "outpost"))

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
START_TIMEOUT = 30.0    # ASan builds start slowly on a busy machine
STOP_TIMEOUT = 20.0
CLI_TIMEOUT = 60.0

DEFAULT_ACCOUNTS = ("alice@example.test", "bob@example.test")
# Wrong passwords the tests send; the server's log must not show them either.
WRONG_PASSWORDS = ("not-the-password", "wrong-password", "whatever-it-is")


class Secret(str):
    """A password: a normal str to code, a placeholder to repr() and so to pytest.
    Strings built from it with + or % stay Secret ("PASS " + pw), so a command
    line holding a password shows as the placeholder too."""

    def __repr__(self):
        return "'<password>'"

    def __add__(self, other):
        return Secret(str.__add__(self, other))

    def __radd__(self, other):
        return Secret(str.__add__(other, self))

    def __rmod__(self, other):
        return Secret(str.__mod__(other, str(self)))


def pytest_configure(config):
    # pytest-xdist declares this mark; without xdist it is declared here, so a
    # run one test after another knows it too.
    config.addinivalue_line("markers", "xdist_group(name): tests run by one worker, in turn")


def new_password():
    """A random password that no command-line tool can take for an option:
    token_urlsafe() may start with '-', which swaks, curl and others would
    parse as a flag (and then print as an unknown one)."""
    return Secret("p" + secrets.token_urlsafe(15))


# Ports for test servers come from below the kernel's ephemeral range
# (32768-60999 by default), so an outgoing connection of some client running
# meanwhile cannot take a port between the moment it is chosen here and the
# moment the server binds it. Each pytest-xdist worker has a block of its
# own and hands its ports out in turn, so two servers never get the same
# port before either has bound it, whether they belong to one test or to
# tests running side by side.
PORT_RANGE = (20000, 32000)


def _port_block():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")       # "gw0", "gw1", ...
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    size = (PORT_RANGE[1] - PORT_RANGE[0]) // max(count, 1)
    lo = PORT_RANGE[0] + (index % max(count, 1)) * size
    return lo, lo + size


_next_port = {}


def free_port():
    """A TCP port on 127.0.0.1 that nobody uses right now: the next one of
    this worker's block that binds (see PORT_RANGE)."""
    lo, hi = _port_block()
    port = _next_port.get((lo, hi), lo + random.SystemRandom().randrange(hi - lo))
    for _ in range(hi - lo):
        candidate = port
        port = lo + (port + 1 - lo) % (hi - lo)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
        _next_port[(lo, hi)] = port
        return candidate
    raise AssertionError("no free port in %d-%d" % (lo, hi))


def free_dns_port():
    """A port on 127.0.0.1 free for both TCP and UDP right now."""
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise AssertionError("no free port for DNS")


def wait_until(pred, timeout=10.0, step=0.05):
    """Poll pred() every step seconds for at most timeout seconds; its last
    answer (true once it held)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def make_cert(directory, cn="outpost-test", cert_name="cert.pem", key_name="key.pem"):
    """Write a fresh self-signed EC certificate and key into directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "30", "-subj", "/CN=" + cn,
         "-keyout", str(directory / key_name), "-out", str(directory / cert_name)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=CLI_TIMEOUT)
    os.chmod(directory / key_name, 0o600)
    return directory / cert_name, directory / key_name


def insecure_tls_context():
    """Client TLS context for a self-signed certificate: no verification."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def to_crlf(data):
    """data with every line ending as CRLF: what POP3 sends of a stored message."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def sanitizer_reports(text):
    return [m for m in SANITIZER_MARKERS if m in text]


class Outpost:
    """One outpost server with its own data directory, config and accounts."""

    def __init__(self, root, config=None, accounts=DEFAULT_ACCOUNTS):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.data = self.root / "data"
        self.data.mkdir(exist_ok=True)
        self.conf = self.root / "outpost.conf"
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        while self.pop3s_port == self.pop3_port:
            self.pop3s_port = free_port()
        self.dns_port = free_dns_port()
        while self.dns_port in (self.pop3_port, self.pop3s_port):
            self.dns_port = free_dns_port()
        # SMTP: MX, submission, submissions (the defaults would clash between servers).
        taken = {self.pop3_port, self.pop3s_port, self.dns_port}
        self.smtp_ports = []
        while len(self.smtp_ports) < 3:
            p = free_port()
            if p not in taken:
                taken.add(p)
                self.smtp_ports.append(p)
        self.smtp_port, self.submission_port, self.submissions_port = self.smtp_ports
        self.ftp_port = free_port()
        while self.ftp_port in taken:
            self.ftp_port = free_port()
        self.passwords = {}
        self.proc = None
        self.returncode = None
        self.starts = 0
        self.stderr_path = self.root / "stderr.log"
        self.stdout_path = self.root / "stdout.log"
        self.extra = config or {}
        make_cert(self.data)
        self.write_config()
        for address in accounts:
            self.add_user(address)

    def __repr__(self):
        return "<Outpost pop3=%d pop3s=%d dns=%d data=%s>" % (
            self.pop3_port, self.pop3s_port, self.dns_port, self.data)

    # ---- configuration and command-line tools -------------------------------------------

    def config_sections(self):
        sections = {
            "server": {"data": "data", "log_level": "debug", "shutdown_grace": "3s",
                       "hostname": "outpost.test", "workers": "2"},
            "tls": {"cert": "cert.pem", "key": "key.pem"},
            "pop3": {"listen": "127.0.0.1:%d" % self.pop3_port,
                     "listen_tls": "127.0.0.1:%d" % self.pop3s_port},
            "dns": {"listen": "127.0.0.1:%d" % self.dns_port},
            "smtp": {"listen": "127.0.0.1:%d" % self.smtp_port,
                     "listen_submission": "127.0.0.1:%d" % self.submission_port,
                     "listen_submissions": "127.0.0.1:%d" % self.submissions_port},
            # Mail for other domains is looked up in this server's own DNS
            # (REFUSED outside its zones: a temporary failure), so nothing
            # queued by a test ever leaves the machine.
            "queue": {"resolver": "127.0.0.1:%d" % self.dns_port},
            "ftp": {"listen": "127.0.0.1:%d" % self.ftp_port},
        }
        for (section, key), value in self.extra.items():
            sections.setdefault(section, {})
            if value is None:
                sections[section].pop(key, None)
            else:
                sections[section][key] = value
        return sections

    def write_config(self, path=None, sections=None):
        path = Path(path or self.conf)
        lines = ["# written by tests/interop/conftest.py"]
        for section, keys in (sections or self.config_sections()).items():
            lines.append("[%s]" % section)
            lines.extend("%s = %s" % kv for kv in keys.items())
        path.write_text("\n".join(lines) + "\n")
        return path

    def add_zone(self, name, text, file=None):
        """Write a zone file into the data directory and a [zone NAME] section
        for it (call before start, or reload after)."""
        file = file or "zones/%s.zone" % name
        path = self.data / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.extra[("zone " + name, "file")] = file
        self.write_config()
        return path

    def cli(self, *args, input=None, timeout=CLI_TIMEOUT, check=False):
        """Run `outpost ARGS -c CONF`; returns the CompletedProcess (bytes)."""
        r = subprocess.run([OUTPOST_BIN, *args, "-c", str(self.conf)], input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("outpost %s exited %d: %s" % (
                " ".join(args), r.returncode, r.stderr.decode(errors="replace")[-2000:]))
        reports = sanitizer_reports(r.stderr.decode(errors="replace"))
        assert not reports, "outpost %s: sanitizer report: %s" % (
            " ".join(args), r.stderr.decode(errors="replace")[-4000:])
        return r

    def add_user(self, address, password=None):
        password = Secret(password) if password is not None else new_password()
        self.cli("user", "add", address, input=(password + "\n").encode(), check=True)
        self.passwords[address] = password
        return password

    def set_password(self, address, password):
        password = Secret(password)
        self.cli("user", "passwd", address, input=(password + "\n").encode(), check=True)
        self.passwords[address] = password

    def deliver(self, address, message, check=True):
        """`outpost deliver ADDRESS` with message (bytes) on stdin; returns the exit code."""
        r = self.cli("deliver", address, input=message)
        if check and r.returncode != 0:
            raise AssertionError("outpost deliver %s exited %d: %s" % (
                address, r.returncode, r.stderr.decode(errors="replace")[-2000:]))
        return r.returncode

    def maildir(self, address):
        local, domain = address.split("@")
        return self.data / "mail" / domain / local

    # ---- the server process ----------------------------------------------------------------

    def server_env(self):
        env = dict(os.environ)
        if "OUTPOST_SERVER_ASAN_OPTIONS" in os.environ:
            env["ASAN_OPTIONS"] = os.environ["OUTPOST_SERVER_ASAN_OPTIONS"]
        return env

    def start(self, wait_tls=True):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.check_stderr()
        self.starts += 1
        mode = "ab" if self.starts > 1 else "wb"
        with open(self.stderr_path, mode) as err, open(self.stdout_path, mode) as out:
            self.proc = subprocess.Popen([OUTPOST_BIN, "serve", "-c", str(self.conf)],
                                         stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=self.server_env())
        self.returncode = None
        pidfile = os.environ.get("OUTPOST_TEST_PIDFILE")
        if pidfile:     # lets tests/run.sh stop servers that a killed pytest left behind
            with open(pidfile, "a") as f:
                f.write("%d\n" % self.proc.pid)
        ports = [self.pop3_port] + ([self.pop3s_port] if wait_tls else [])
        if wait_tls:
            # The services open their listeners one after another: a client
            # of the last one must not come before its listen().
            conf = self.config_sections()
            for section, key, port in (("smtp", "listen", self.smtp_port),
                                       ("smtp", "listen_submission", self.submission_port),
                                       ("smtp", "listen_submissions", self.submissions_port),
                                       ("ftp", "listen", self.ftp_port)):
                if conf.get(section, {}).get(key) == "127.0.0.1:%d" % port:
                    ports.append(port)
        deadline = time.monotonic() + START_TIMEOUT
        for port in ports:
            while not port_open(port):
                if self.proc.poll() is not None:
                    raise AssertionError("outpost serve exited %d at start:\n%s" % (
                        self.proc.returncode, self.stderr_tail()))
                if time.monotonic() > deadline:
                    raise AssertionError("outpost serve: port %d not open after %ds:\n%s" % (
                        port, START_TIMEOUT, self.stderr_tail()))
                time.sleep(0.05)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        assert self.running(), "server is not running"
        os.kill(self.proc.pid, sig)

    def wait(self, timeout=STOP_TIMEOUT):
        """Wait for the server to exit; returns its exit code (None if it did not)."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after timeout. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError("outpost did not stop within %ds of SIGTERM" % timeout)
        self.returncode = self.proc.returncode
        return self.returncode

    def kill9(self):
        self.proc.kill()
        self.returncode = self.proc.wait(timeout=10)

    def restart(self):
        rc = self.stop()
        self.start()
        return rc

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stdout_text(self):
        try:
            return self.stdout_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stderr_tail(self, n=40):
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def check_stderr(self):
        text = self.stderr_text()
        reports = sanitizer_reports(text)
        assert not reports, "sanitizer report in the server's stderr:\n" + text[-8000:]

    # ---- clients -----------------------------------------------------------------------------

    def pop3(self, timeout=15):
        return poplib.POP3("127.0.0.1", self.pop3_port, timeout=timeout)

    def pop3_ssl(self, timeout=15):
        return poplib.POP3_SSL("127.0.0.1", self.pop3s_port, timeout=timeout,
                               context=insecure_tls_context())

    def login(self, address="alice@example.test", client=None, retry_in_use=10.0):
        """A logged-in poplib client (USER/PASS). Retries for a while on [IN-USE],
        which a session that was just dropped may still hold."""
        deadline = time.monotonic() + retry_in_use
        while True:
            p = client if client is not None else self.pop3()
            try:
                p.user(address)
                p.pass_(self.passwords[address])
                return p
            except poplib.error_proto as e:
                p.close()
                if b"[IN-USE]" in e.args[0] and client is None and time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                raise AssertionError("login as %s failed: %r" % (address, e.args[0])) from None

    def raw(self, tls=False, timeout=15):
        return RawPop3(self, tls=tls, timeout=timeout)

    def admitted(self, within=5):
        """A raw connection that got the greeting. Right after start-up the
        probes that saw the ports open may still count against the limits."""
        deadline = time.monotonic() + within
        while True:
            r = self.raw()
            if r.greeting.startswith(b"+OK") or time.monotonic() > deadline:
                return r
            r.close()
            time.sleep(0.1)


class RawLines:
    """A line-oriented client over a raw socket (the raw POP3, SMTP and FTP
    clients of the tests build on it): exact bytes, bad input, every wait
    bounded by the socket's timeout and the buffer by max_buffer."""

    max_buffer = 1 << 20

    def __init__(self, port, tls=False, timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            self.sock = insecure_tls_context().wrap_socket(self.sock)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def recv_some(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed by the server")
        return data

    def _fill(self):
        self.buf += self.recv_some()
        if len(self.buf) > self.max_buffer:
            raise AssertionError("no reply end in %d octets" % self.max_buffer)

    def line(self):
        """One line including its CRLF."""
        while b"\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out


class RawPop3(RawLines):
    """A POP3 client over a raw socket, for exact bytes and for bad input."""

    def __init__(self, server, tls=False, timeout=15, read_greeting=True):
        super().__init__(server.pop3s_port if tls else server.pop3_port, tls, timeout)
        self.server = server
        self.greeting = self.line() if read_greeting else None

    def cmd(self, command):
        """Send one command line (CRLF added) and return the status line."""
        self.send(command.encode() + b"\r\n" if isinstance(command, str) else command + b"\r\n")
        return self.line()

    def multiline(self):
        """Lines of a multi-line body up to the terminating '.', as sent (stuffed, CRLF)."""
        lines = []
        while True:
            ln = self.line()
            if ln == b".\r\n":
                return lines
            lines.append(ln)
            if len(lines) > 1_000_000:
                raise AssertionError("multi-line reply without end")

    def starttls(self):
        """STLS (RFC 2595) and the TLS handshake; returns the +OK line."""
        r = self.cmd("STLS")
        assert r.startswith(b"+OK"), r
        assert self.buf == b"", "data after the STLS reply: %r" % self.buf
        self.sock = insecure_tls_context().wrap_socket(self.sock)
        return r

    def login(self, address="alice@example.test"):
        r = self.cmd("USER " + address)
        assert r.startswith(b"+OK"), r
        r = self.cmd("PASS " + self.server.passwords[address])
        if not r.startswith(b"+OK"):
            raise AssertionError("PASS failed: %r" % r)
        return r

    def auth_plain_response(self, address, password=None, authzid=""):
        password = self.server.passwords[address] if password is None else password
        token = ("%s\0%s\0%s" % (authzid, address, str(password))).encode()
        return Secret(base64.b64encode(token).decode())

    def closed_within(self, seconds):
        """True if the server closes the connection within seconds (data before EOF is read)."""
        deadline = time.monotonic() + seconds
        self.sock.settimeout(0.2)
        try:
            while time.monotonic() < deadline:
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    continue
                except (ConnectionResetError, ssl.SSLError):
                    return True
                if not data:
                    return True
                self.buf += data
            return False
        finally:
            self.sock.settimeout(15)


@pytest.fixture
def outpost_factory(tmp_path):
    """Make (and start) servers with extra config: factory({("pop3","idle_timeout"): "2s"})."""
    servers = []

    def make(config=None, accounts=DEFAULT_ACCOUNTS, start=True, name=None):
        root = tmp_path / (name or "outpost%d" % len(servers))
        srv = Outpost(root, config=config, accounts=accounts)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    errors = []
    for srv in servers:
        try:
            if srv.running():
                srv.stop()
        except AssertionError as e:
            errors.append(str(e))
        text = srv.stderr_text()
        if sanitizer_reports(text):
            errors.append("sanitizer report in the server's stderr:\n" + text[-8000:])
        # Passwords, right or wrong, never appear in the log (nor on stdout).
        logged = text + srv.stdout_text()
        secrets_used = list(srv.passwords.values()) + list(WRONG_PASSWORDS)
        for addr, pw in srv.passwords.items():     # AUTH PLAIN responses, too
            for authzid in ("", addr):
                secrets_used.append(base64.b64encode(
                    ("%s\0%s\0%s" % (authzid, addr, str(pw))).encode()).decode())
        for pw in secrets_used:
            if pw in logged:
                errors.append("a password the tests used appears in the server's output "
                              "(%s)" % srv.root)
    assert not errors, "\n".join(errors)


@pytest.fixture
def outpost(outpost_factory):
    """A running server with the default test config and alice and bob."""
    return outpost_factory()


@pytest.fixture(autouse=True)
def _need_binary():
    if not os.access(OUTPOST_BIN, os.X_OK):
        pytest.fail("%s is not built (make asan)" % OUTPOST_BIN)
