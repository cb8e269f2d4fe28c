"""`outpost dig` against BIND's dig, both asking the same NSD.

NSD runs in the foreground (`nsd -d -c CONF`) on a free loopback port,
with a config, zones, pid file and log of its own in a temporary directory
(removed at the end), no database, no zone transfers, no remote control;
it is stopped by its PID. Each test runs the real `dig` and `outpost dig`
with the same arguments and compares what they print: every line of the
header, the OPT pseudo-section and the four sections, with runs of
whitespace collapsed. Left out of the comparison are the lines that differ
by nature: the banner with the program's name, the message ID, the query
time, WHEN, and the COOKIE option (dig sends a client cookie, outpost dig
does not, so the sizes of query and reply may differ too: MSG SIZE is left
out as well).

A second NSD serves the same zone signed with dnssec-signzone (fresh
ECDSA keys, NSEC) for RRSIG, DNSKEY and NSEC records. dig cuts base64 and
hex fields every 56 characters where outpost prints them whole; those
pieces are joined before comparing.

The behaviour no real server shows on demand comes from small Python
servers in this file: one that sends a forged answer from another port
and one with a wrong ID before the real one (RFC 5452 section 9.1), one
that answers over UDP with TC set and in full over TCP (RFC 7766 section
5), and one that never answers.
"""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import OUTPOST_BIN, sanitizer_reports

dns = pytest.importorskip("dns")
import dns.flags      # noqa: E402
import dns.message    # noqa: E402
import dns.name       # noqa: E402
import dns.query      # noqa: E402
import dns.rrset      # noqa: E402

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
DIG = shutil.which("dig") or "/usr/bin/dig"
DNSSEC_KEYGEN = shutil.which("dnssec-keygen") or "/usr/bin/dnssec-keygen"
DNSSEC_SIGNZONE = shutil.which("dnssec-signzone") or "/usr/bin/dnssec-signzone"
RUN_TIMEOUT = 60

ZONE = r"""
$ORIGIN example.test.
$TTL 3600
@           IN SOA ns1.example.test. hostmaster.example.test. 2026112701 7200 3600 1209600 300
@           NS    ns1
@           NS    ns2
@           MX    10 mail
@           MX    20 mail2.example.org.
@           CAA   0 issue "ca.example.net"
@           CAA   128 tbs "unknown"
ns1         A     127.0.0.1
ns2         AAAA  ::1
mail        A     192.0.2.25
mail        AAAA  2001:db8::25
www         A     192.0.2.80
www         A     192.0.2.81
www         AAAA  2001:db8::80
alias       CNAME www
txt         TXT   "hello world" "semi;colon" "quote\"inside" "back\\slash" "\255\001bin"
_sip._tcp   SRV   10 60 5060 sip
sip         A     192.0.2.50
long        2147483647 IN A 192.0.2.10
*.w         A     192.0.2.9
"""

# A reply over 512 octets: with +bufsize=512 it comes back truncated.
ZONE += "".join('big TXT "%02d-%s"\n' % (i, "x" * 60) for i in range(12))

REVERSE_ZONE = """
$ORIGIN 2.0.192.in-addr.arpa.
$TTL 3600
@   IN SOA ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300
@   NS  ns1.example.test.
80  PTR www.example.test.
25  PTR mail.example.test.
"""


def free_udp_tcp_port(host="127.0.0.1", family=socket.AF_INET):
    """A port free for both UDP and TCP on host."""
    for _ in range(50):
        with socket.socket(family, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            with socket.socket(family, socket.SOCK_STREAM) as t:
                try:
                    t.bind((host, port))
                except OSError:
                    continue
                return port
    raise AssertionError("no free port")


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def sign_zone(directory):
    """Sign example.test.zone in directory with a fresh ECDSA P-256 ZSK and
    KSK (NSEC, ten days): returns the signed file's name."""
    keys = []
    for extra in ([], ["-f", "KSK"]):
        r = subprocess.run([DNSSEC_KEYGEN, "-q", "-K", str(directory), "-a", "ECDSAP256SHA256",
                            "-n", "ZONE", *extra, "example.test"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=RUN_TIMEOUT, check=True)
        keys.append(r.stdout.decode().strip())
    zone = directory / "example.test.zone"
    with open(zone, "a") as f:
        for k in keys:
            f.write((directory / (k + ".key")).read_text())
    subprocess.run([DNSSEC_SIGNZONE, "-q", "-K", str(directory), "-d", str(directory),
                    "-o", "example.test", "-N", "keep", "-e", "+864000",
                    "-f", str(directory / "example.test.signed"), str(zone), *keys],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=RUN_TIMEOUT,
                   check=True)
    return "example.test.signed"


class Nsd:
    def __init__(self, signed=False):
        self.dir = Path(tempfile.mkdtemp(prefix="outpost-dig-nsd-"))
        self.port = free_udp_tcp_port()
        self.ipv6 = have_ipv6_loopback()
        (self.dir / "example.test.zone").write_text(ZONE)
        (self.dir / "reverse.zone").write_text(REVERSE_ZONE)
        zonefile = sign_zone(self.dir) if signed else "example.test.zone"
        addresses = "  ip-address: 127.0.0.1\n" + ("  ip-address: ::1\n" if self.ipv6 else "")
        (self.dir / "nsd.conf").write_text(
            "server:\n"
            "  server-count: 1\n" + addresses +
            "  port: %d\n"
            "  username: \"\"\n"
            "  chroot: \"\"\n"
            "  zonesdir: \"%s\"\n"
            "  database: \"\"\n"
            "  pidfile: \"%s/nsd.pid\"\n"
            "  xfrdfile: \"%s/xfrd.state\"\n"
            "  zonelistfile: \"%s/zone.list\"\n"
            "  logfile: \"%s/nsd.log\"\n"
            "  verbosity: 1\n"
            "remote-control:\n"
            "  control-enable: no\n"
            "zone:\n"
            "  name: example.test\n"
            "  zonefile: %s\n"
            "zone:\n"
            "  name: 2.0.192.in-addr.arpa\n"
            "  zonefile: reverse.zone\n" % ((self.port,) + (str(self.dir),) * 5 + (zonefile,)))
        self.out = open(self.dir / "nsd.out", "wb")
        self.proc = subprocess.Popen([NSD, "-d", "-c", str(self.dir / "nsd.conf")],
                                     stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.wait_ready()

    def wait_ready(self, timeout=30):
        q = dns.message.make_query("example.test.", "SOA")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("nsd exited %d:\n%s" % (self.proc.returncode, self.log()))
            try:
                r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=0.5)
                if r.answer:
                    return
            except Exception:
                pass
            time.sleep(0.1)
        raise AssertionError("nsd did not answer within %ds:\n%s" % (timeout, self.log()))

    def log(self):
        text = ""
        for name in ("nsd.out", "nsd.log"):
            try:
                text += (self.dir / name).read_text(errors="replace")
            except FileNotFoundError:
                pass
        return text[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def nsd():
    if not os.access(NSD, os.X_OK) or not os.access(DIG, os.X_OK):
        pytest.skip("needs nsd and dig (scripts/setup.sh test installs them)")
    server = Nsd()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def signed_nsd():
    for tool in (NSD, DIG, DNSSEC_KEYGEN, DNSSEC_SIGNZONE):
        if not os.access(tool, os.X_OK):
            pytest.skip("needs %s (scripts/setup.sh test installs it)" % tool)
    server = Nsd(signed=True)
    try:
        yield server
    finally:
        server.stop()


# ---- running the two digs -------------------------------------------------------------------

def run(cmd, timeout=RUN_TIMEOUT):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def outpost_dig(*args, timeout=RUN_TIMEOUT):
    r = run([OUTPOST_BIN, "dig", *args], timeout=timeout)
    err = r.stderr.decode(errors="replace")
    assert not sanitizer_reports(err), "sanitizer report:\n" + err[-4000:]
    return r


def real_dig(*args, timeout=RUN_TIMEOUT):
    # +nocookie would change the query; dig's cookie lines are ignored instead.
    return run([DIG, *args], timeout=timeout)


IGNORED = re.compile(r"^(; <<>>|;; Query time:|;; WHEN:|;; MSG SIZE|; COOKIE:)")


def comparable(output):
    """The lines to compare: whitespace runs collapsed, ID and varying lines out."""
    lines = []
    for line in output.decode(errors="replace").splitlines():
        line = " ".join(line.split())
        if not line or IGNORED.match(line):
            continue
        line = re.sub(r", id: \d+$", ", id: ID", line)
        line = re.sub(r"expected ID \d+, got \d+", "expected ID N, got M", line)
        lines.append(line)
    return lines


# dig cuts base64 and hex fields every 56 characters; outpost prints them
# whole (see src/dns/rdata.h). The fixed fields before the cut one:
CUT_FIELDS = {"RRSIG": 8, "DNSKEY": 3, "CDNSKEY": 3, "DS": 3, "CDS": 3}


def joined(lines):
    """Lines with the pieces of a cut base64 or hex field joined again."""
    out = []
    for line in lines:
        t = line.split(" ")
        if not line.startswith(";") and len(t) > 4 and t[3] in CUT_FIELDS:
            n = 4 + CUT_FIELDS[t[3]]
            t = t[:n] + ["".join(t[n:])]
        out.append(" ".join(t))
    return out


def section(lines, name):
    """The records of one section of comparable() output."""
    out, inside = [], False
    for line in lines:
        if line.startswith(";; ") and line.endswith("SECTION:"):
            inside = line == ";; %s SECTION:" % name
            continue
        if line.startswith(";; ") and not line.startswith(";; WARNING"):
            inside = False
        if inside:
            out.append(line)
    return out


def compare(nsd, *args):
    argv = ["@127.0.0.1", "-p", str(nsd.port), *args]
    ours, theirs = outpost_dig(*argv), real_dig(*argv)
    assert theirs.returncode == 0, theirs.stderr
    assert ours.returncode == theirs.returncode, ours.stdout + ours.stderr
    mine, ref = comparable(ours.stdout), comparable(theirs.stdout)
    assert mine == ref, "outpost dig %s\n--- outpost:\n%s\n--- dig:\n%s" % (
        " ".join(argv), "\n".join(mine), "\n".join(ref))
    return mine


# ---- the same output as dig -----------------------------------------------------------------

QUERIES = [
    ["www.example.test"],
    ["www.example.test", "AAAA"],
    ["example.test", "MX"],
    ["txt.example.test", "TXT"],
    ["example.test", "SOA"],
    ["example.test", "NS"],
    ["_sip._tcp.example.test", "SRV"],
    ["example.test", "CAA"],
    ["alias.example.test"],
    ["long.example.test"],
    ["nope.example.test"],                        # NXDOMAIN
    ["www.example.test", "MX"],                   # NODATA
    ["MX", "example.test"],                       # type before the name
    ["IN", "MX", "example.test"],                 # class, type, name
    ["example.test", "MX", "IN"],
    ["-t", "SRV", "-q", "_sip._tcp.example.test"],
    ["WwW.ExAmPlE.TeSt", "A"],                    # mixed case is echoed as sent
    ["abcdefghijklmnopqrstuvw.w.example.test"],   # long owners: dig's column rules
    ["abcdefgh.w.example.test"],
    ["version.server", "TXT", "CH"],
    ["-x", "192.0.2.80"],
    ["-x", "198.51.100.1"],                       # REFUSED, with an Extended DNS Error
    ["example.test", "MX", "+tcp"],
    ["example.test", "MX", "+dnssec"],
    ["example.test", "MX", "+norecurse"],
    ["example.test", "MX", "+norec", "+bufsize=4096"],
    ["example.test", "MX", "+noedns"],
    ["big.example.test", "TXT", "+bufsize=512"],  # truncated: again over TCP
    ["big.example.test", "TXT", "+bufsize=512", "+ignore"],
    ["example.test", "ANY"],                      # over TCP unless +notcp, as dig does
    ["example.test", "ANY", "+notcp"],
    ["example.test", "+cdflag"],
    ["example.test", "TYPE65534"],                # no mnemonic: RFC 3597 section 5
    ["example.test", "+nocmd"],
    ["example.test", "+bufsize=0"],
]


@pytest.mark.parametrize("args", QUERIES, ids=lambda a: " ".join(a))
def test_same_as_dig(nsd, args):
    compare(nsd, *args)


SHORT_QUERIES = [
    ["www.example.test", "+short"],
    ["example.test", "MX", "+short"],
    ["txt.example.test", "TXT", "+short"],
    ["alias.example.test", "+short"],
    ["nope.example.test", "+short"],
    ["example.test", "CAA", "+short", "+tcp"],
    ["-x", "192.0.2.25", "+short"],
    ["big.example.test", "TXT", "+bufsize=512", "+short"],   # no "Truncated" line
]


@pytest.mark.parametrize("args", SHORT_QUERIES, ids=lambda a: " ".join(a))
def test_short_same_as_dig(nsd, args):
    argv = ["@127.0.0.1", "-p", str(nsd.port), *args]
    ours, theirs = outpost_dig(*argv), real_dig(*argv)
    assert ours.returncode == theirs.returncode == 0
    assert ours.stdout.decode().splitlines() == theirs.stdout.decode().splitlines()


def test_sections_and_flags(nsd):
    """What the comparison relies on, said directly: NXDOMAIN is exit 0,
    the SOA is in the authority section, and the server line says UDP."""
    lines = compare(nsd, "nope.example.test")
    assert any("status: NXDOMAIN" in ln for ln in lines)
    soa = section(lines, "AUTHORITY")
    assert len(soa) == 1 and " SOA ns1.example.test. hostmaster.example.test. " in soa[0]
    assert ";; SERVER: 127.0.0.1#%d(127.0.0.1) (UDP)" % nsd.port in lines
    lines = compare(nsd, "example.test", "MX", "+tcp")
    assert ";; SERVER: 127.0.0.1#%d(127.0.0.1) (TCP)" % nsd.port in lines
    lines = compare(nsd, "big.example.test", "TXT", "+bufsize=512")
    assert ";; Truncated, retrying in TCP mode." in lines
    assert len(section(lines, "ANSWER")) == 12


def test_ipv6_server(nsd):
    if not nsd.ipv6:
        pytest.skip("no IPv6 loopback")
    argv = ["-6", "@::1", "-p", str(nsd.port), "example.test", "MX"]
    ours, theirs = outpost_dig(*argv), real_dig(*argv)
    assert ours.returncode == theirs.returncode == 0
    assert comparable(ours.stdout) == comparable(theirs.stdout)
    assert ";; SERVER: ::1#%d(::1) (UDP)" % nsd.port in comparable(ours.stdout)


# ---- exit statuses ---------------------------------------------------------------------------

def test_closed_port_is_status_9():
    port = free_udp_tcp_port()
    for args in (["+time=1", "+tries=1"], ["+time=1", "+tries=1", "+tcp"]):
        argv = ["@127.0.0.1", "-p", str(port), *args, "example.test"]
        ours, theirs = outpost_dig(*argv, timeout=20), real_dig(*argv, timeout=20)
        assert theirs.returncode == 9
        assert ours.returncode == 9, ours.stdout
        assert b";; no servers could be reached" in ours.stdout


def test_silent_server_times_out_with_status_9():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        start = time.monotonic()
        r = outpost_dig("@127.0.0.1", "-p", str(port), "+time=1", "+tries=2", "x.test",
                        timeout=20)
        took = time.monotonic() - start
    assert r.returncode == 9
    assert r.stdout.count(b"communications error to 127.0.0.1#%d: timed out" % port) == 2
    assert 1.8 < took < 10


@pytest.mark.parametrize("args", [
    ["-p", "abc", "x.test"],
    ["-p", "70000", "x.test"],
    ["+frobnicate", "x.test"],
    ["-t"],
    ["-x", "not-an-address"],
    ["example.test", "AXFR"],
])
def test_usage_errors_are_status_1(args):
    r = outpost_dig(*args)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr


def test_help():
    r = outpost_dig("--help")
    assert r.returncode == 0
    assert b"usage: outpost dig" in r.stdout
    assert b"+short" in r.stdout


# ---- servers written to misbehave ------------------------------------------------------------

class FakeServer:
    """A UDP (and TCP) server on 127.0.0.1 whose replies handler() decides.
    handler(query_bytes, send) is called per UDP query; TCP queries get
    tcp_answer(query_bytes) (one message or a list, sent in order on the
    connection). Runs until stop(), at most 60 s."""

    def __init__(self, handler, tcp_answer=None):
        self.port = free_udp_tcp_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.2)
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # another port
        self.other.bind(("127.0.0.1", 0))
        self.tcp = None
        if tcp_answer:
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.tcp.bind(("127.0.0.1", self.port))
            self.tcp.listen(8)
            self.tcp.settimeout(0.2)
        self.handler, self.tcp_answer = handler, tcp_answer
        self.stopped = threading.Event()
        self.udp_queries = 0
        self.tcp_queries = 0
        self.threads = [threading.Thread(target=self.serve_udp, daemon=True)]
        if self.tcp:
            self.threads.append(threading.Thread(target=self.serve_tcp, daemon=True))
        for t in self.threads:
            t.start()

    def serve_udp(self):
        deadline = time.monotonic() + 60
        while not self.stopped.is_set() and time.monotonic() < deadline:
            try:
                data, peer = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            self.udp_queries += 1
            self.handler(data, lambda wire, sock=self.udp: sock.sendto(wire, peer),
                         lambda wire: self.other.sendto(wire, peer))

    def serve_tcp(self):
        deadline = time.monotonic() + 60
        while not self.stopped.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    head = conn.recv(2, socket.MSG_WAITALL)
                    query = conn.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
                except (OSError, struct.error):
                    continue
                self.tcp_queries += 1
                answers = self.tcp_answer(query)
                for wire in answers if isinstance(answers, list) else [answers]:
                    conn.sendall(struct.pack("!H", len(wire)) + wire)

    def stop(self):
        self.stopped.set()
        for t in self.threads:
            t.join(timeout=5)
        for s in (self.udp, self.other, self.tcp):
            if s:
                s.close()


def response(query_wire, ttl=60, address="192.0.2.7", name=None):
    q = dns.message.from_wire(query_wire)
    r = dns.message.make_response(q)
    owner = name or q.question[0].name
    r.answer.append(dns.rrset.from_text(owner, ttl, "IN", "A", address))
    return r


def answer_line_ttls(output):
    """The TTLs of the ANSWER section's A records."""
    return [int(ln.split()[1]) for ln in section(comparable(output), "ANSWER")]


def test_forged_answers_are_ignored():
    """RFC 5452 section 9.1: the answer must come from the server's address
    and port, with the query's ID and question. Forgeries (TTL 666) come
    first; the real answer (TTL 60) last."""
    def handler(wire, send, send_other):
        send_other(response(wire, ttl=666).to_wire())            # wrong source port
        bad = bytearray(response(wire, ttl=666).to_wire())
        bad[0] ^= 0x5A                                            # wrong ID
        send(bytes(bad))
        q = dns.message.from_wire(wire)
        other = dns.message.make_query("elsewhere.test.", "A")
        other.id = q.id                                           # right ID, wrong question
        send(dns.message.make_response(other).to_wire())
        time.sleep(0.1)
        r = response(wire, ttl=60)                                # the answer, 0x20-cased
        r.question[0].name = dns.name.from_text(str(q.question[0].name).upper())
        send(r.to_wire())

    srv = FakeServer(handler)
    try:
        r = outpost_dig("@127.0.0.1", "-p", str(srv.port), "+time=3", "+tries=1",
                        "www.example.test", timeout=30)
        ref = real_dig("@127.0.0.1", "-p", str(srv.port), "+time=3", "+tries=1",
                       "www.example.test", timeout=30)
    finally:
        srv.stop()
    assert r.returncode == 0, r.stdout
    assert answer_line_ttls(r.stdout) == [60]
    assert b"666" not in r.stdout.split(b";; Got answer:")[1]
    assert b";; Warning: ID mismatch: expected ID" in r.stdout
    assert b"question name mismatch" in r.stdout
    assert answer_line_ttls(ref.stdout) == [60]
    assert section(comparable(r.stdout), "ANSWER") == section(comparable(ref.stdout), "ANSWER")


def test_truncated_udp_answer_is_asked_again_over_tcp():
    def handler(wire, send, send_other):
        r = response(wire)
        r.answer = []
        r.flags |= dns.flags.TC
        send(r.to_wire())

    srv = FakeServer(handler, tcp_answer=lambda wire: response(wire, ttl=77).to_wire())
    try:
        r = outpost_dig("@127.0.0.1", "-p", str(srv.port), "+time=3", "+tries=1",
                        "www.example.test", timeout=30)
        ref = real_dig("@127.0.0.1", "-p", str(srv.port), "+time=3", "+tries=1",
                       "www.example.test", timeout=30)
        queries = (srv.udp_queries, srv.tcp_queries)
    finally:
        srv.stop()
    assert queries == (2, 2)
    assert r.returncode == 0, r.stdout
    mine = comparable(r.stdout)
    assert ";; Truncated, retrying in TCP mode." in mine
    assert ";; SERVER: 127.0.0.1#%d(127.0.0.1) (TCP)" % srv.port in mine
    assert answer_line_ttls(r.stdout) == [77]
    assert mine == comparable(ref.stdout)


def test_formerr_without_question_is_an_answer():
    """A server that cannot read the query may answer FORMERR without
    echoing the question; that still ends the exchange (status 0)."""
    def handler(wire, send, send_other):
        send(wire[:2] + bytes([0x80, 0x01]) + bytes(8))          # QR, FORMERR, no counts

    srv = FakeServer(handler)
    try:
        r = outpost_dig("@127.0.0.1", "-p", str(srv.port), "+time=2", "+tries=1", "x.test",
                        timeout=30)
    finally:
        srv.stop()
    assert r.returncode == 0, r.stdout
    assert b"status: FORMERR" in r.stdout


def test_tcp_skips_a_message_with_the_wrong_id():
    """Over TCP, too, only the message with the query's ID is the answer."""
    def handler(wire, send, send_other):
        r = response(wire)
        r.answer = []
        r.flags |= dns.flags.TC
        send(r.to_wire())

    def tcp_answer(wire):
        bad = bytearray(response(wire, ttl=666).to_wire())
        bad[0] ^= 0x5A
        return [bytes(bad), response(wire, ttl=88).to_wire()]

    srv = FakeServer(handler, tcp_answer=tcp_answer)
    try:
        r = outpost_dig("@127.0.0.1", "-p", str(srv.port), "+time=3", "+tries=1",
                        "www.example.test", timeout=30)
    finally:
        srv.stop()
    assert r.returncode == 0, r.stdout
    assert answer_line_ttls(r.stdout) == [88]
    assert b";; Warning: ID mismatch: expected ID" in r.stdout


def test_server_given_by_name(nsd):
    """@server may be a host name: its addresses are found and tried in order."""
    argv = ["@localhost", "-p", str(nsd.port), "example.test", "MX"]
    ours, theirs = outpost_dig(*argv), real_dig(*argv)
    assert ours.returncode == theirs.returncode == 0
    assert comparable(ours.stdout) == comparable(theirs.stdout)
    assert any(ln.endswith("(localhost) (UDP)") for ln in comparable(ours.stdout))


# ---- a signed zone ----------------------------------------------------------------------------

SIGNED_QUERIES = [
    ["example.test", "MX", "+dnssec"],
    ["example.test", "DNSKEY", "+dnssec"],
    ["example.test", "SOA", "+dnssec", "+tcp"],
    ["nope.example.test", "+dnssec"],             # NXDOMAIN with its NSEC proofs
    ["www.example.test", "MX", "+dnssec"],        # NODATA with NSEC
    ["x.w.example.test", "+dnssec"],              # a wildcard answer
    ["txt.example.test", "TXT", "+dnssec", "+cdflag"],
    ["example.test", "NSEC"],
    ["example.test", "DNSKEY", "+dnssec", "+bufsize=512"],   # truncated: TCP
]


@pytest.mark.parametrize("args", SIGNED_QUERIES, ids=lambda a: " ".join(a))
def test_signed_zone_same_as_dig(signed_nsd, args):
    """RRSIG, DNSKEY and NSEC as dig prints them (cut fields joined)."""
    argv = ["@127.0.0.1", "-p", str(signed_nsd.port), *args]
    ours, theirs = outpost_dig(*argv), real_dig(*argv)
    assert ours.returncode == theirs.returncode == 0, ours.stdout + ours.stderr
    mine, ref = joined(comparable(ours.stdout)), joined(comparable(theirs.stdout))
    assert mine == ref, "outpost dig %s\n--- outpost:\n%s\n--- dig:\n%s" % (
        " ".join(argv), "\n".join(mine), "\n".join(ref))
    if "+dnssec" in args:
        assert any(" RRSIG " in ln for ln in mine)


def test_malformed_answer_is_still_a_reply():
    """An answer that matches the query but is cut inside its last record:
    dig warns and exits 0, and so does outpost dig (showing the header and
    the octets)."""
    def handler(wire, send, send_other):
        send(response(wire).to_wire()[:-2])

    srv = FakeServer(handler)
    try:
        argv = ["@127.0.0.1", "-p", str(srv.port), "+time=2", "+tries=1", "+noedns", "x.test"]
        ours, theirs = outpost_dig(*argv, timeout=30), real_dig(*argv, timeout=30)
    finally:
        srv.stop()
    warning = b";; Warning: Message parser reports malformed message packet."
    assert theirs.returncode == 0 and warning in theirs.stdout
    assert ours.returncode == 0, ours.stdout
    assert warning in ours.stdout
    assert b";; flags: qr rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 0" in ours.stdout
    assert b";; Got bad packet:" in ours.stdout
