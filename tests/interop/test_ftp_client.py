"""`outpost ftp`, the FTP client, against real FTP servers.

The server is vsftpd from Debian, started per test in the foreground with
its own config file (listen=YES, background=NO) on a free loopback port
and stopped by PID. It serves:
  - a local system user made for the test (random name and password,
    removed afterwards), jailed in a writable home: uploads, renames,
    wrong passwords;
  - anonymous logins in a public area with an upload directory (pub/);
  - explicit TLS with a self-signed certificate (conftest.make_cert) and
    require_ssl_reuse=YES, so a data connection that does not resume the
    control connection's TLS session fails: every TLS transfer that passes
    proves the resumption.
The fixture is parametrized by server, so the same tests can run against
outpost's own FTP server once it exists.

A few tests use a small scripted server in Python for what no real server
does on purpose: a 227 reply naming another host, garbage replies, silence.
"""

import hashlib
import os
import pty
import pwd
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import (OUTPOST_BIN, CLI_TIMEOUT, Secret, free_port, make_cert, new_password,
                      port_open, sanitizer_reports)
from ftp_util import ALICE

VSFTPD = "/usr/sbin/vsftpd"
BIG = 50 * 1000 * 1000


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Vsftpd:
    """One vsftpd with a local user, anonymous access and TLS."""

    kind = "vsftpd"
    ascii_raw = True          # stores and sends TYPE A bytes unconverted
    anon_writable = True

    def __init__(self, tls=False, ipv6=False, rate=None):
        extra = []
        if ipv6:
            extra += ["listen=NO", "listen_ipv6=YES", "listen_address6=::1"]
        if rate:
            extra += ["local_max_rate=%d" % rate]
        # Not under pytest's tmp_path: its parents are private (0700), and
        # vsftpd enters the home directory as the user before its chroot.
        self.root = Path(tempfile.mkdtemp(prefix="outpost-ftpc-"))
        self.user_made = False
        self.port = free_port()
        self.tls = tls
        self.user = "ftpc" + secrets.token_hex(4)
        self.password = new_password()
        self.home = self.root / "home"
        self.anon = self.root / "anon"
        self.anon_pub = self.anon / "pub"
        self.empty = self.root / "empty"
        for d in (self.home, self.anon / "pub", self.empty):
            d.mkdir(parents=True, exist_ok=True)
        # vsftpd refuses a writable chroot for anonymous users, and its
        # secure_chroot_dir must not be writable: both stay root's, 0755.
        os.chmod(self.anon, 0o755)
        os.chmod(self.empty, 0o755)
        os.chmod(self.anon / "pub", 0o777)
        os.chmod(self.root, 0o755)
        self.cert, self.key = make_cert(self.root / "tls", cn="localhost")
        subprocess.run(["useradd", "-M", "-N", "-d", str(self.home), "-s", "/bin/bash",
                        self.user], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=CLI_TIMEOUT)
        self.user_made = True
        self.proc = None
        subprocess.run(["chpasswd"], input=("%s:%s\n" % (self.user, self.password)).encode(),
                       check=True, timeout=CLI_TIMEOUT)
        uid = pwd.getpwnam(self.user).pw_uid
        os.chown(self.home, uid, -1)
        self.conf = self.root / "vsftpd.conf"
        self.log = self.root / "vsftpd.log"
        lines = [
            "listen=YES", "listen_ipv6=NO", "listen_address=127.0.0.1",
            "listen_port=%d" % self.port, "background=NO",
            "anonymous_enable=YES", "anon_root=%s" % self.anon, "anon_upload_enable=YES",
            "anon_mkdir_write_enable=YES", "anon_other_write_enable=YES", "anon_umask=022",
            "no_anon_password=YES",
            "local_enable=YES", "write_enable=YES", "chroot_local_user=YES",
            "allow_writeable_chroot=YES", "local_root=%s" % self.home, "local_umask=022",
            "secure_chroot_dir=%s" % self.empty, "pam_service_name=vsftpd",
            "pasv_enable=YES", "port_enable=YES", "connect_from_port_20=NO",
            # ascii_upload_enable/ascii_download_enable stay NO: the server
            # stores and sends the bytes as they cross the wire, so the
            # tests see the client's own TYPE A conversion.
            "seccomp_sandbox=NO", "xferlog_enable=YES", "vsftpd_log_file=%s" % self.log,
            "dual_log_enable=YES", "log_ftp_protocol=YES",
        ]
        if tls:
            lines += [
                "ssl_enable=YES", "rsa_cert_file=%s" % self.cert,
                "rsa_private_key_file=%s" % self.key, "ssl_ciphers=HIGH",
                "require_ssl_reuse=YES", "allow_anon_ssl=YES",
                "force_local_logins_ssl=YES", "force_local_data_ssl=YES",
            ]
        lines += extra or []
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([VSFTPD, str(self.conf)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.host = "::1" if ipv6 else "127.0.0.1"
        deadline = time.monotonic() + 10
        try:
            while not port_open(self.port, self.host):
                if self.proc.poll() is not None:
                    raise AssertionError("vsftpd exited: %r" % self.proc.stdout.read())
                assert time.monotonic() < deadline, "vsftpd did not start"
                time.sleep(0.05)
        except BaseException:
            self.stop()       # the user and the directories go too
            raise

    def url(self, path="", user=None):
        return server_url(self, path, user)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.user_made:
            subprocess.run(["userdel", self.user], stderr=subprocess.DEVNULL, timeout=CLI_TIMEOUT)
            self.user_made = False
        shutil.rmtree(self.root, ignore_errors=True)

    def put_file(self, name, data):
        """A file in the user's home that the user may change."""
        path = self.home / name
        path.write_bytes(data)
        os.chown(path, pwd.getpwnam(self.user).pw_uid, -1)
        return path

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def server_url(srv, path="", user=None):
    user = srv.user if user is None else user
    host = "[::1]" if srv.host == "::1" else srv.host
    return "ftp://%s%s%s:%d/%s" % (urllib.parse.quote(user, safe=""), "@" if user else "", host,
                                   srv.port, path)


class OutpostFtp:
    """outpost's own FTP server (src/ftp), seen through the same few
    attributes as Vsftpd: alice is the user, anonymous logins read
    DATA/ftp/public."""

    kind = "outpost"
    ascii_raw = False         # converts TYPE A itself (RFC 959 section 3.1.1.1)
    anon_writable = False     # the public area is read-only

    def __init__(self, factory, tls=False, ipv6=False, rate=None, quota=None):
        config = {("ftp", "anonymous"): "yes"}
        if quota:
            config[("ftp", "quota")] = quota
        if tls:
            config[("auth", "plaintext")] = "tls"
        if rate:
            config[("ftp", "rate_limit")] = "%dk" % (rate // 1000)
        self.srv = factory(config=config, start=False)
        self.port = self.srv.ftp_port
        self.host = "::1" if ipv6 else "127.0.0.1"
        if ipv6:
            self.srv.extra[("ftp", "listen")] = "[::1]:%d" % self.port
            self.srv.write_config()
        # A certificate for the name "localhost", for the --cacert test.
        self.cert, _ = make_cert(self.srv.data, cn="localhost")
        self.srv.start()
        deadline = time.monotonic() + 10
        while not port_open(self.port, self.host):
            assert time.monotonic() < deadline, "outpost's FTP port did not open"
            time.sleep(0.05)
        self.user = ALICE
        self.password = self.srv.passwords[ALICE]
        self.home = self.srv.data / "ftp" / "example.test" / "alice"
        self.home.mkdir(parents=True, exist_ok=True)
        self.anon = self.srv.data / "ftp" / "public"
        self.anon_pub = self.anon / "pub"
        self.anon_pub.mkdir(parents=True, exist_ok=True)

    def url(self, path="", user=None):
        return server_url(self, path, user)

    def put_file(self, name, data):
        path = self.home / name
        path.write_bytes(data)
        return path


def sweep_stale_users(max_age=1800):
    """Users and directories a killed test run (tests/run.sh's timeout)
    could not remove: a test user whose directory is over half an hour old."""
    for entry in pwd.getpwall():
        home = Path(entry.pw_dir)
        if not re.fullmatch(r"ftpc[0-9a-f]{8}", entry.pw_name) or \
                not re.fullmatch(r"/tmp/outpost-ftpc-[^/]+/home", str(home)):
            continue
        try:
            age = time.time() - home.parent.stat().st_mtime
        except FileNotFoundError:
            age = max_age + 1
        if age > max_age:
            subprocess.run(["userdel", entry.pw_name], stderr=subprocess.DEVNULL,
                           timeout=CLI_TIMEOUT)
            shutil.rmtree(home.parent, ignore_errors=True)


@pytest.fixture(params=["vsftpd", "outpost"])
def server_factory(request, outpost_factory):
    kind = request.param
    if kind == "vsftpd":
        if os.geteuid() != 0:
            pytest.skip("vsftpd and its test user need root")
        if not os.access(VSFTPD, os.X_OK):
            pytest.fail("vsftpd is not installed (scripts/setup.sh test)")
        sweep_stale_users()
    servers = []

    def make(tls=False, ipv6=False, rate=None, quota=None):
        if kind == "vsftpd":
            if quota:
                pytest.skip("vsftpd has no quotas")
            srv = Vsftpd(tls=tls, ipv6=ipv6, rate=rate)
        else:
            srv = OutpostFtp(outpost_factory, tls=tls, ipv6=ipv6, rate=rate, quota=quota)
        servers.append(srv)
        return srv

    yield make
    logs = []
    for srv in servers:
        if srv.kind == "vsftpd":
            logs.append((srv.password, srv.log_text()))
            srv.stop()
    for password, log in logs:
        assert password not in log


@pytest.fixture
def server(server_factory):
    return server_factory()


@pytest.fixture
def tls_server(server_factory):
    return server_factory(tls=True)


def sent(r):
    """The commands a -v run sent, from its trace on stderr."""
    return [ln[5:] for ln in r.stderr.decode(errors="replace").splitlines()
            if ln.startswith("---> ")]


def verbs(r):
    return {c.split(" ")[0] for c in sent(r)}


def ftp(*args, password=None, input=None, cwd=None, timeout=CLI_TIMEOUT, env=None):
    """Run `outpost ftp ARGS`; with password, --password-stdin and the
    password as the first line of stdin (before input)."""
    args = list(args)
    data = b""
    if password is not None:
        args.insert(0, "--password-stdin")
        data = (password + "\n").encode()
    if input is not None:
        data += input if isinstance(input, bytes) else input.encode()
    r = subprocess.run([OUTPOST_BIN, "ftp", "--no-netrc", *args], input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                       timeout=timeout, env=env)
    err = r.stderr.decode(errors="replace")
    assert not sanitizer_reports(err), "sanitizer report:\n" + err[-4000:]
    if password is not None:
        assert password not in err and password not in r.stdout.decode(errors="replace")
    return r


def ok(r):
    assert r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr.decode(errors="replace"))
    return r


# ---- one-shot ------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["passive", "active"])
def test_put_get_ls_one_shot(server, tmp_path, mode):
    flags = ["--active"] if mode == "active" else []
    src = tmp_path / "report.bin"
    src.write_bytes(os.urandom(300_000) + b"\r\n\n\r end")
    r = ok(ftp("-v", *flags, "put", str(src), server.url(""), password=server.password))
    assert (server.home / "report.bin").read_bytes() == src.read_bytes()
    if mode == "active":
        assert "PORT" in verbs(r) and not verbs(r) & {"EPSV", "PASV"}
    else:
        assert "EPSV" in verbs(r) and "PORT" not in verbs(r)

    out = tmp_path / "back.bin"
    ok(ftp(*flags, "get", server.url("report.bin"), "-o", str(out), password=server.password))
    assert out.read_bytes() == src.read_bytes()

    r = ok(ftp(*flags, "ls", server.url(""), password=server.password))
    assert re.search(rb"^-rw.* 300008 .* report\.bin$", r.stdout, re.M), r.stdout


def test_anonymous_one_shot(server, tmp_path):
    (server.anon / "hello.txt").write_bytes(b"hello, world\n")
    # No user in the URL: anonymous, with no password to give.
    r = ok(ftp("get", server.url("hello.txt", user=""), "-o", "-"))
    assert r.stdout == b"hello, world\n"
    up = tmp_path / "up.txt"
    up.write_bytes(b"uploaded anonymously\n")
    r = ftp("put", str(up), server.url("pub/", user="anonymous"))
    if not server.anon_writable:
        # a read-only public area: the refusal is reported, nothing is left
        assert r.returncode == 1 and b"put " in r.stderr and b": 550 " in r.stderr, r.stderr
        assert not (server.anon_pub / "up.txt").exists()
        (server.anon_pub / "up.txt").write_bytes(b"uploaded anonymously\n")
    else:
        ok(r)
    assert (server.anon_pub / "up.txt").read_bytes() == b"uploaded anonymously\n"
    # Without -o, the file lands under its own name in the current directory.
    down = tmp_path / "down"
    down.mkdir()
    ok(ftp("get", server.url("pub/up.txt", user=""), cwd=down))
    assert (down / "up.txt").read_bytes() == b"uploaded anonymously\n"


def test_wrong_password(server, tmp_path):
    wrong = Secret("not-the-password")
    out = tmp_path / "never.bin"
    r = ftp("get", server.url("x"), "-o", str(out), password=wrong)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "outpost ftp: login as %s: 530 " % server.user in err, err
    assert err.count("\n") == 1, err
    assert not out.exists()


def test_missing_file_and_refusals(server, tmp_path):
    out = tmp_path / "missing.bin"
    r = ftp("get", server.url("no/such/file"), "-o", str(out), password=server.password)
    assert r.returncode == 1
    assert "outpost ftp: get no/such/file: 550 " in r.stderr.decode(), r.stderr
    assert not out.exists(), "a failed download leaves no empty file behind"
    # A password in the URL is refused before anything is sent.
    r = ftp("ls", server.url("").replace("@", ":%s@" % server.password, 1))
    assert r.returncode == 64
    assert "password in the URL" in r.stderr.decode()
    # CR LF in a path cannot become a second command.
    r = ftp("get", server.url("a%0d%0aDELE%20b"), password=server.password)
    assert r.returncode == 64
    # No password and no terminal: a clear message, not a hang.
    r = subprocess.run([OUTPOST_BIN, "ftp", "--no-netrc", "ls", server.url("")],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=CLI_TIMEOUT)
    assert r.returncode == 1 and b"no password for" in r.stderr


def test_netrc(server, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine %s\n" % server.host + "  login %s\n  password \"%s\"\n"
                     % (server.user, str(server.password).replace('"', '\\"')))
    os.chmod(netrc, 0o600)
    (server.home / "n.txt").write_bytes(b"via netrc\n")
    # The login comes from the netrc file too, as the URL names no user.
    url = server.url("n.txt", user="")
    r = ok(ftp("--netrc", str(netrc), "get", url, "-o", "-"))
    assert r.stdout == b"via netrc\n"
    # Readable by others: its password is not used (and the login fails).
    os.chmod(netrc, 0o644)
    r = subprocess.run([OUTPOST_BIN, "ftp", "--netrc", str(netrc), "get", url, "-o", "-"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=CLI_TIMEOUT)
    assert r.returncode == 1
    assert b"readable by others" in r.stderr


# ---- TLS ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["passive", "active"])
def test_tls_put_get_ls(tls_server, tmp_path, mode):
    """force_local_*_ssl and require_ssl_reuse: only TLS control and data
    connections that resume the control session get through."""
    srv = tls_server
    flags = ["--tls", "--insecure"] + (["--active"] if mode == "active" else [])
    src = tmp_path / "secret.bin"
    src.write_bytes(os.urandom(2_000_000))
    ok(ftp(*flags, "put", str(src), srv.url("secret.bin"), password=srv.password))
    assert sha256(srv.home / "secret.bin") == sha256(src)
    out = tmp_path / "secret.back"
    ok(ftp(*flags, "get", srv.url("secret.bin"), "-o", str(out), password=srv.password))
    assert sha256(out) == sha256(src)
    r = ok(ftp(*flags, "ls", srv.url(""), password=srv.password))
    assert b"secret.bin" in r.stdout
    # Without --tls the server refuses the login in clear.
    r = ftp("ls", srv.url(""), password=srv.password)
    assert r.returncode == 1 and b"530" in r.stderr


def test_tls_certificate_check(tls_server, tmp_path):
    srv = tls_server
    # By default the certificate is checked against the system's store.
    r = ftp("--tls", "ls", srv.url(""), password=srv.password)
    assert r.returncode == 1
    assert b"certificate not trusted: self-signed certificate" in r.stderr, r.stderr
    # Trusted with --cacert, for the name in it (CN=localhost) ...
    url = srv.url("").replace("@127.0.0.1:", "@localhost:")
    ok(ftp("--tls", "--cacert", str(srv.cert), "ls", url, password=srv.password))
    # ... and not for another name.
    r = ftp("--tls", "--cacert", str(srv.cert), "ls", srv.url(""), password=srv.password)
    assert r.returncode == 1 and b"certificate not trusted" in r.stderr, r.stderr


# ---- resume, ASCII, large files ----------------------------------------------------------

def test_reget_reput(server, tmp_path):
    data = os.urandom(1_000_000)
    (server.home / "whole.bin").write_bytes(data)
    (tmp_path / "whole.bin").write_bytes(data[:300_000])
    (tmp_path / "up.bin").write_bytes(data)
    server.put_file("up.bin", data[:400_000])
    script = "reget whole.bin\nreput up.bin\nreget whole.bin\nquit\n"
    r = ok(ftp("-v", "-u", server.user, "127.0.0.1", str(server.port),
               password=server.password, input=script, cwd=tmp_path))
    err = r.stderr.decode()
    assert "---> REST 300000" in err and "---> RETR whole.bin" in err, err
    assert "---> REST 400000" in err and "---> STOR up.bin" in err, err
    assert (tmp_path / "whole.bin").read_bytes() == data
    assert (server.home / "up.bin").read_bytes() == data
    assert "already complete" in r.stdout.decode()
    # one-shot --continue
    (tmp_path / "c.bin").write_bytes(data[:123_456])
    r = ok(ftp("-v", "--continue", "get", server.url("whole.bin"), "-o", str(tmp_path / "c.bin"),
               password=server.password))
    assert b"---> REST 123456" in r.stderr
    assert (tmp_path / "c.bin").read_bytes() == data


def test_ascii_conversion(server, tmp_path):
    """TYPE A. vsftpd stores and sends the bytes as they cross the wire
    (ascii_*_enable=NO), so there the client's own conversion shows: LF to
    CRLF going up, CRLF to LF coming down. outpost's server converts too,
    so there a text file comes back as it went."""
    (tmp_path / "unix.txt").write_bytes(b"one\ntwo\n\nthree\n")
    ok(ftp("--ascii", "put", str(tmp_path / "unix.txt"), server.url(""), password=server.password))
    stored = (server.home / "unix.txt").read_bytes()
    if server.ascii_raw:
        assert stored == b"one\r\ntwo\r\n\r\nthree\r\n"
        server.put_file("dos.txt", b"a\r\nb\r\n\r\nc\rd\r\n")
        text, binary = b"a\nb\n\nc\rd\n", b"a\r\nb\r\n\r\nc\rd\r\n"
    else:
        assert stored == b"one\ntwo\n\nthree\n"
        server.put_file("dos.txt", b"a\nb\n\nc\n")
        text = binary = b"a\nb\n\nc\n"
    out = tmp_path / "dos.txt"
    ok(ftp("--ascii", "get", server.url("dos.txt"), "-o", str(out), password=server.password))
    assert out.read_bytes() == text
    # ;type=a in the URL does the same; binary leaves the bytes alone
    r = ok(ftp("get", server.url("dos.txt;type=a"), "-o", "-", password=server.password))
    assert r.stdout == text
    r = ok(ftp("get", server.url("dos.txt"), "-o", "-", password=server.password))
    assert r.stdout == binary


@pytest.mark.parametrize("mode", ["passive-clear", "active-tls"])
def test_50mb_both_ways(server_factory, tmp_path, mode):
    srv = server_factory(tls=mode.endswith("tls"))
    flags = ["--tls", "--insecure", "--active"] if mode == "active-tls" else []
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        for _ in range(BIG // 1_000_000):
            f.write(os.urandom(1_000_000))
    ok(ftp(*flags, "put", str(src), srv.url("big.bin"), password=srv.password, timeout=180))
    assert (srv.home / "big.bin").stat().st_size == BIG
    assert sha256(srv.home / "big.bin") == sha256(src)
    out = tmp_path / "big.back"
    ok(ftp(*flags, "get", srv.url("big.bin"), "-o", str(out), password=srv.password,
           timeout=180))
    assert sha256(out) == sha256(src)


# ---- interactive -------------------------------------------------------------------------

def test_interactive_stdin(server, tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    for name in ("a1.txt", "a2.txt", "b.txt"):
        (local / name).write_bytes(name.encode() * 100)
    (server.home / "r1.log").write_bytes(b"remote one\n")
    (server.home / "r2.log").write_bytes(b"remote two\n")
    (server.home / "keep.dat").write_bytes(b"keep\n")
    down = tmp_path / "down"
    down.mkdir()
    script = "\n".join([
        "help",
        "status",
        "pwd",
        "mkdir sub",
        "cd sub",
        "pwd",
        "lcd %s" % local,
        "mput a*.txt",
        "put b.txt 'b copy.txt'",
        "ls",
        "nlist",
        "rename a1.txt renamed.txt",
        "size renamed.txt",
        "delete a2.txt",
        "cd ..",
        "verbose",
        "passive off",
        "lcd %s" % down,
        "mget *.log",
        "passive on",
        "get sub/renamed.txt",
        "verbose",
        "binary",
        "modtime keep.dat",
        "get nonexistent.txt",
        "nosuchcommand",
        "quit",
    ]) + "\n"
    r = ftp("-u", server.user, "127.0.0.1", str(server.port), password=server.password,
            input=script, cwd=tmp_path)
    out, err = r.stdout.decode(), r.stderr.decode()
    # Two commands failed on purpose: the exit status says so.
    assert r.returncode == 1, err
    assert "outpost ftp: get nonexistent.txt: 550 " in err
    assert "Invalid command 'nosuchcommand'" in err
    assert err.count("outpost ftp:") == 2, err
    assert re.search(r"^230 ", out, re.M), out
    assert 'Remote directory: /sub' in out
    assert "reget REMOTE [LOCAL]" in out          # help
    sub = server.home / "sub"
    assert sorted(p.name for p in sub.iterdir()) == ["b copy.txt", "renamed.txt"]
    assert (sub / "renamed.txt").read_bytes() == b"a1.txt" * 100
    assert (sub / "b copy.txt").read_bytes() == b"b.txt" * 100
    assert "renamed.txt\t600" in out
    assert (down / "r1.log").read_bytes() == b"remote one\n"
    assert (down / "r2.log").read_bytes() == b"remote two\n"
    assert (down / "renamed.txt").read_bytes() == b"a1.txt" * 100
    assert re.search(r"keep\.dat\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", out)
    assert re.search(r"^221 ", out, re.M), out
    # while verbose: mget in active mode, get in passive mode
    assert re.search(r"---> PORT .*---> NLST.*---> PORT .*---> RETR r1.log.*---> EPSV"
                     r".*---> RETR sub/renamed.txt", err, re.S), err


def test_interactive_open_and_user(server, tmp_path):
    """open and user inside the session; the anonymous login needs no password."""
    (server.anon_pub / "f.txt").write_bytes(b"anon file\n")
    script = "open %s %d\ncd pub\nget f.txt\nclose\nls\nquit\n" % (server.host, server.port)
    r = ftp(input=script, cwd=tmp_path)
    assert (tmp_path / "f.txt").read_bytes() == b"anon file\n"
    assert r.returncode == 1 and b"ls: not connected" in r.stderr


def read_until(fd, pattern, timeout=20):
    """Read from the pty until pattern (bytes regex) matches; returns all read."""
    buf = b""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, buf):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no %r in %r" % (pattern, buf[-2000:]))
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        buf += data
    return buf


def test_interactive_terminal(server, tmp_path):
    """On a terminal: the password prompt does not echo, lines can be edited
    and recalled (libedit), and a transfer draws a progress bar."""
    (server.home / "big.bin").write_bytes(os.urandom(20_000_000))
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(str(tmp_path))
        try:
            os.execv(OUTPOST_BIN, [OUTPOST_BIN, "ftp", "--no-netrc", "-u", server.user,
                                   "127.0.0.1", str(server.port)])
        finally:
            os._exit(127)
    try:
        seen = read_until(fd, rb"Password: ")
        os.write(fd, (server.password + "\r").encode())
        seen += read_until(fd, rb"ftp> ")
        # ^C at the prompt does not end the session.
        os.write(fd, b"\x03")
        time.sleep(0.3)
        # Edit: type "pwdXY", erase two characters, run it.
        os.write(fd, b"pwdXY\x7f\x7f\r")
        seen += read_until(fd, rb"Remote directory: /\r?\n.*ftp> ")
        # Recall it with the up arrow.
        os.write(fd, b"\x1b[A\r")
        out = read_until(fd, rb"Remote directory: /\r?\n.*ftp> ")
        assert b"Remote directory" in out
        os.write(fd, b"get big.bin\r")
        out = read_until(fd, rb"bytes received.*\r?\n.*ftp> ", timeout=120)
        seen += out
        assert re.search(rb"big\.bin +\d+% \[[=> ]+\] +[\d.]+ MiB +[\d.]+ [KMG]?i?B/s", out), out
        assert b"100% [" in out
        os.write(fd, b"quit\r")
        seen += read_until(fd, rb"221 ")
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert server.password.encode() not in seen
    assert sanitizer_reports(seen.decode(errors="replace")) == []
    assert (tmp_path / "big.bin").read_bytes() == (server.home / "big.bin").read_bytes()


def test_no_progress_bar_without_terminal(server, tmp_path):
    (server.home / "f.bin").write_bytes(os.urandom(3_000_000))
    r = ok(ftp("get", server.url("f.bin"), "-o", str(tmp_path / "f.bin"),
               password=server.password))
    assert r.stderr == b"" and r.stdout == b""


# ---- a scripted server: what real servers do not do on purpose ---------------------------

class Scripted:
    """A one-connection FTP server thread: replies from a function."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.commands = []
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        try:
            self.sock.settimeout(30)
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(30)
                self.handler(self, conn)
        except Exception as e:      # reported by the test
            self.error = e

    def lines(self, conn):
        buf = b""
        while True:
            while b"\r\n" not in buf:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
            line, buf = buf.split(b"\r\n", 1)
            self.commands.append(line.decode())
            yield line.decode()

    def close(self):
        self.sock.close()
        self.thread.join(10)


def login_then(conn, srv, after):
    conn.sendall(b"220 scripted\r\n")
    for line in srv.lines(conn):
        verb = line.split(" ")[0].upper()
        if verb == "USER":
            conn.sendall(b"331 pw\r\n")
        elif verb == "PASS":
            conn.sendall(b"230 in\r\n")
        elif verb == "FEAT":
            conn.sendall(b"211-Features:\r\n SIZE\r\n211 End\r\n")
        elif verb == "TYPE":
            conn.sendall(b"200 ok\r\n")
        elif verb == "QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        elif after(conn, verb, line) is False:
            return


def test_pasv_address_is_not_trusted(tmp_path):
    """A 227 naming another host: the data connection still goes to the
    control connection's peer (no FTP bounce through this client)."""
    data_sock = socket.socket()
    data_sock.bind(("127.0.0.1", 0))
    data_sock.listen(1)
    dport = data_sock.getsockname()[1]

    def after(conn, verb, line):
        if verb == "SIZE":
            conn.sendall(b"550 no\r\n")
        elif verb == "EPSV":
            conn.sendall(b"500 EPSV not understood\r\n")
        elif verb == "PASV":
            conn.sendall(("227 Entering Passive Mode (192,0,2,7,%d,%d)\r\n"
                          % (dport >> 8, dport & 255)).encode())
        elif verb == "RETR":
            conn.sendall(b"150 here\r\n")
            d, peer = data_sock.accept()
            assert peer[0] == "127.0.0.1"
            d.sendall(b"payload via the control peer\n")
            d.close()
            conn.sendall(b"226 done\r\n")
        else:
            conn.sendall(b"502 no\r\n")

    srv = Scripted(lambda s, c: login_then(c, s, after))
    try:
        r = ok(ftp("get", "ftp://127.0.0.1:%d/f" % srv.port, "-o", "-", timeout=30))
        assert r.stdout == b"payload via the control peer\n"
    finally:
        srv.close()
        data_sock.close()
    assert srv.error is None, srv.error
    assert "PASV" in srv.commands


@pytest.mark.parametrize("reply", [
    b"garbage that is not FTP\r\n",
    b"220-multi line\r\nnever ends\r\n" + b"x" * 300_000,
    b"220 ok\r\n" + b"\x00\x01\x02\r\n",
], ids=["garbage", "endless", "nul"])
def test_bad_replies(tmp_path, reply):
    def handler(srv, conn):
        conn.sendall(reply)
        for _ in srv.lines(conn):
            conn.sendall(b"\x00bad\r\n")
            break
        time.sleep(0.5)

    srv = Scripted(handler)
    try:
        r = ftp("ls", "ftp://127.0.0.1:%d/" % srv.port, timeout=30)
    finally:
        srv.close()
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.startswith("outpost ftp: ") and err.count("\n") == 1, err


def test_silent_server_times_out(tmp_path):
    def handler(srv, conn):
        time.sleep(6)

    srv = Scripted(handler)
    try:
        start = time.monotonic()
        r = ftp("--timeout", "2", "ls", "ftp://127.0.0.1:%d/" % srv.port, timeout=30)
        elapsed = time.monotonic() - start
    finally:
        srv.close()
    assert r.returncode == 1
    assert b"timed out" in r.stderr.lower(), r.stderr
    assert elapsed < 20


def test_interrupted_transfer_aborts(server_factory, tmp_path):
    """SIGINT during a download: the data connection is closed, ABOR sent,
    both replies read, and the session goes on in step."""
    srv = server_factory(rate=2_000_000)
    srv.put_file("slow.bin", os.urandom(30_000_000))
    p = subprocess.Popen([OUTPOST_BIN, "ftp", "--no-netrc", "-v", "--password-stdin", "-u", srv.user,
                          "127.0.0.1", str(srv.port)], cwd=tmp_path, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write((srv.password + "\nget slow.bin\n").encode())
        p.stdin.flush()
        local = tmp_path / "slow.bin"
        deadline = time.monotonic() + 30
        while not (local.exists() and local.stat().st_size > 1_000_000):
            assert time.monotonic() < deadline, "the download did not start"
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(b"pwd\nquit\n", timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out, err = out.decode(), err.decode()
    assert not sanitizer_reports(err), err
    assert "get slow.bin: Operation canceled" in err, err
    assert "Remote directory: /" in out and re.search(r"^221 ", err, re.M), out
    assert p.returncode == 1
    assert local.stat().st_size < 30_000_000
    # ABOR after the transfer's command; both replies read before PWD
    assert re.search(r"---> RETR slow.bin\n150 [^\n]*\n---> ABOR\n(4\d\d [^\n]*\n)?2\d\d [^\n]*\n"
                     r"outpost ftp: get slow.bin: Operation canceled\n---> PWD\n257 ", err), err


def test_ipv6_active_and_passive(server_factory, tmp_path):
    """Over IPv6: EPSV, and EPRT |2| for active mode."""
    srv = server_factory(ipv6=True)
    src = tmp_path / "six.bin"
    src.write_bytes(os.urandom(200_000))
    url = srv.url("six.bin")
    assert "[::1]" in url
    r = ok(ftp("-v", "put", str(src), url, password=srv.password))
    assert "EPSV" in verbs(r)
    r = ok(ftp("-v", "--active", "get", url, "-o", str(tmp_path / "six.back"),
               password=srv.password))
    assert "EPRT" in verbs(r)
    assert (tmp_path / "six.back").read_bytes() == src.read_bytes()


def test_upload_over_quota_names_the_reply(server_factory, tmp_path):
    """The server cuts an upload short (552, over quota): the client says
    so with the server's reply, not with the broken pipe it saw."""
    srv = server_factory(quota="1M")
    (tmp_path / "big.bin").write_bytes(os.urandom(4_000_000))
    (tmp_path / "small.bin").write_bytes(b"fits\n")
    r = ftp("-u", srv.user, srv.host, str(srv.port), password=srv.password, cwd=tmp_path,
            input="put big.bin\nput small.bin\nquit\n")
    assert r.returncode == 1
    err = r.stderr.decode()
    assert re.fullmatch(r"outpost ftp: put big.bin: 552 [^\n]*\n", err), err
    assert not (srv.home / "big.bin").exists()
    # the session was left in step: the next upload in it goes through
    assert (srv.home / "small.bin").read_bytes() == b"fits\n"
