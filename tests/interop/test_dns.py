"""The authoritative DNS service against real clients: dig, kdig, drill and
dnspython over UDP and TCP, raw sockets for malformed input, reloads, and
response-rate limiting.

Each test starts its own server (conftest.py) with the zone below on a free
loopback port; `big.example.test` holds more TXT data than fits in a UDP
response, so UDP answers it truncated and TCP in full.
"""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import OUTPOST_BIN, port_open

ZONE = """; test zone
$TTL 3600
@ IN SOA ns.example.test. hostmaster.example.test. {serial} 7200 3600 1209600 300
@ IN NS ns.example.test.
@ IN MX 10 mail.example.test.
@ IN TXT "v=spf1 mx -all"
ns IN A 127.0.0.1
ns IN AAAA ::1
mail IN A 127.0.0.1
mail IN AAAA ::1
www IN A 127.0.0.1
www IN AAAA ::1
"""
BIG_TXT = 40            # records of 100 octets at big.example.test: about 4.5 KB


def zone_text(serial=1, extra=""):
    big = "".join('big IN TXT "%s"\n' % ("%03d" % i + "x" * 97) for i in range(BIG_TXT))
    return ZONE.format(serial=serial) + big + extra


@pytest.fixture
def dnssrv(outpost_factory):
    srv = outpost_factory(start=False)
    srv.add_zone("example.test", zone_text())
    srv.start()
    wait_answer(srv)
    return srv


def wait_answer(srv, timeout=10):
    """Wait until the server answers over UDP (the loops start after the zones load)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return udp(srv, "example.test", "SOA", timeout=0.5)
        except dns.exception.Timeout:
            if time.monotonic() > deadline:
                raise


def query(name, rdtype, **kw):
    return dns.message.make_query(name, rdtype, **kw)


def udp(srv, name, rdtype, timeout=5, **kw):
    return dns.query.udp(query(name, rdtype, **kw), "127.0.0.1", port=srv.dns_port,
                         timeout=timeout, ignore_trailing=False)


def tcp(srv, name, rdtype, timeout=5, **kw):
    return dns.query.tcp(query(name, rdtype, **kw), "127.0.0.1", port=srv.dns_port,
                         timeout=timeout)


def rrset_texts(msg, section="answer"):
    return sorted(rd.to_text() for rrset in getattr(msg, section) for rd in rrset)


def run(cmd, timeout=30):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def soa_serial(msg):
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


# ---- answers ---------------------------------------------------------------------------------

EXPECTED = {
    "SOA": ["ns.example.test. hostmaster.example.test. 1 7200 3600 1209600 300"],
    "NS": ["ns.example.test."],
    "MX": ["10 mail.example.test."],
    "TXT": ['"v=spf1 mx -all"'],
}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_dnspython_answers_with_authority(dnssrv, transport):
    ask = udp if transport == "udp" else tcp
    for rdtype, want in EXPECTED.items():
        r = ask(dnssrv, "example.test", rdtype)
        assert r.rcode() == dns.rcode.NOERROR, (rdtype, r)
        assert r.flags & dns.flags.AA, (rdtype, r)
        assert rrset_texts(r) == want, (rdtype, r)
    for host in ("ns", "mail", "www"):
        r = ask(dnssrv, host + ".example.test", "A")
        assert rrset_texts(r) == ["127.0.0.1"] and r.flags & dns.flags.AA
        r = ask(dnssrv, host + ".example.test", "AAAA")
        assert rrset_texts(r) == ["::1"] and r.flags & dns.flags.AA
    # The question comes back with the case it was asked in.
    r = ask(dnssrv, "WwW.ExAmPlE.TeSt", "A")
    assert r.question[0].name.to_text() == "WwW.ExAmPlE.TeSt."


def test_dig_kdig_drill_over_udp_and_tcp(dnssrv):
    p = str(dnssrv.dns_port)
    for tcp_flag in ("", "+tcp"):
        args = [a for a in (tcp_flag,) if a]
        out = run(["dig", "@127.0.0.1", "-p", p, "+norec", *args, "example.test", "SOA"])
        assert "status: NOERROR" in out and re.search(r"flags: qr aa", out), out
        assert "hostmaster.example.test. 1 7200" in out, out
        out = run(["dig", "@127.0.0.1", "-p", p, *args, "+short", "example.test", "MX"])
        assert out.strip() == "10 mail.example.test.", out
        out = run(["kdig", "@127.0.0.1", "-p", p, *args, "www.example.test", "AAAA"])
        assert "NOERROR" in out and re.search(r"flags: qr aa", out, re.I), out
        assert re.search(r"www\.example\.test\.\s+3600\s+IN\s+AAAA\s+::1", out), out
    for tcp_flag in ("", "-t"):
        args = [a for a in (tcp_flag,) if a]
        out = run(["drill", *args, "-p", p, "mail.example.test", "@127.0.0.1", "A"])
        assert "rcode: NOERROR" in out and "flags: qr aa" in out, out
        assert re.search(r"mail\.example\.test\.\s+3600\s+IN\s+A\s+127\.0\.0\.1", out), out


def test_nxdomain_nodata_and_refused(dnssrv):
    for ask in (udp, tcp):
        r = ask(dnssrv, "nope.example.test", "A")
        assert r.rcode() == dns.rcode.NXDOMAIN and r.flags & dns.flags.AA
        assert [rr.rdtype for rr in r.authority] == [dns.rdatatype.SOA], r
        r = ask(dnssrv, "www.example.test", "MX")            # NODATA
        assert r.rcode() == dns.rcode.NOERROR and not r.answer
        assert [rr.rdtype for rr in r.authority] == [dns.rdatatype.SOA], r
        r = ask(dnssrv, "example.org", "A")
        assert r.rcode() == dns.rcode.REFUSED, r
        assert not r.flags & dns.flags.AA
    out = run(["dig", "@127.0.0.1", "-p", str(dnssrv.dns_port), "nope.example.test", "A"])
    assert "status: NXDOMAIN" in out and "IN\tSOA" in out, out


def test_big_answer_truncated_over_udp_then_complete_over_tcp(dnssrv):
    r = udp(dnssrv, "big.example.test", "TXT", use_edns=0, payload=1232)
    assert r.flags & dns.flags.TC, r
    r = udp(dnssrv, "big.example.test", "TXT")                 # no EDNS: 512 octets at most
    assert r.flags & dns.flags.TC
    r = tcp(dnssrv, "big.example.test", "TXT")
    assert not r.flags & dns.flags.TC
    assert len(rrset_texts(r)) == BIG_TXT
    # dig retries over TCP by itself on TC.
    out = run(["dig", "@127.0.0.1", "-p", str(dnssrv.dns_port), "big.example.test", "TXT"])
    assert "Truncated, retrying in TCP mode" in out, out
    assert out.count("\tTXT\t") == BIG_TXT, out


def test_edns_payload_and_badvers(dnssrv):
    r = udp(dnssrv, "example.test", "SOA", use_edns=0, payload=4096)
    assert r.edns == 0 and r.payload == 1232, (r.edns, r.payload)   # our size, not theirs
    r = udp(dnssrv, "big.example.test", "TXT", use_edns=0, payload=4096)
    assert r.flags & dns.flags.TC                       # cut to our 1232, not their 4096
    out = run(["dig", "@127.0.0.1", "-p", str(dnssrv.dns_port), "+edns=1", "+noednsnegotiation",
               "example.test", "SOA"])
    assert "status: BADVERS" in out, out


# ---- TCP ----------------------------------------------------------------------------------

def framed(msg):
    wire = msg.to_wire()
    return struct.pack("!H", len(wire)) + wire


def read_framed(sock):
    def exact(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise EOFError("closed after %d of %d octets" % (len(data), n))
            data += chunk
        return data
    (n,) = struct.unpack("!H", exact(2))
    return exact(n)


def closed_within(sock, seconds):
    sock.settimeout(seconds)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_pipelined_tcp_queries_answered_in_order(dnssrv):
    names = ["www", "mail", "ns", "nope", "big"] * 4
    queries = [query("%s.example.test" % n, "TXT" if n == "big" else "A") for n in names]
    with socket.create_connection(("127.0.0.1", dnssrv.dns_port), timeout=10) as s:
        s.sendall(b"".join(framed(q) for q in queries))      # 20 queries in one write
        for q, n in zip(queries, names):
            r = dns.message.from_wire(read_framed(s))
            assert r.id == q.id and r.question[0].name.to_text() == "%s.example.test." % n
            if n == "nope":
                assert r.rcode() == dns.rcode.NXDOMAIN
            elif n == "big":
                assert len(rrset_texts(r)) == BIG_TXT
            else:
                assert rrset_texts(r) == ["127.0.0.1"]


def test_tcp_zero_or_oversized_length_closes(dnssrv):
    for prefix in (b"\x00\x00", b"\xff\xff"):
        with socket.create_connection(("127.0.0.1", dnssrv.dns_port), timeout=10) as s:
            good = framed(query("www.example.test", "A"))
            s.sendall(good + prefix + b"x" * 100)
            r = dns.message.from_wire(read_framed(s))       # the good one is answered
            assert rrset_texts(r) == ["127.0.0.1"]
            assert closed_within(s, 5)
    assert udp(dnssrv, "www.example.test", "A").rcode() == dns.rcode.NOERROR


def test_half_open_tcp_query_and_idle_connection_time_out(outpost_factory):
    srv = outpost_factory({("dns", "tcp_idle_timeout"): "1s"}, start=False)
    srv.add_zone("example.test", zone_text())
    srv.start()
    wait_answer(srv)
    half = socket.create_connection(("127.0.0.1", srv.dns_port), timeout=10)
    half.sendall(b"\x00\x40" + b"\x12\x34\x01")             # says 64 octets, sends 3
    idle = socket.create_connection(("127.0.0.1", srv.dns_port), timeout=10)
    t0 = time.monotonic()
    assert closed_within(half, 8) and closed_within(idle, 8)
    assert time.monotonic() - t0 < 8
    half.close()
    idle.close()
    assert tcp(srv, "www.example.test", "A").rcode() == dns.rcode.NOERROR


def ipv6_loopback_usable():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback_usable(), reason="no IPv6 loopback on this machine")
def test_ipv6_udp_and_tcp(outpost_factory):
    srv = outpost_factory(start=False)
    srv.extra[("dns", "listen")] = "127.0.0.1:%d, [::1]:%d" % (srv.dns_port, srv.dns_port)
    srv.add_zone("example.test", zone_text())
    srv.start()
    wait_answer(srv)
    for ask in (dns.query.udp, dns.query.tcp):
        r = ask(query("www.example.test", "AAAA"), "::1", port=srv.dns_port, timeout=5)
        assert rrset_texts(r) == ["::1"] and r.flags & dns.flags.AA


WILDCARD_CLIENT = r"""
import sys, time
import dns.message, dns.query, dns.rcode
port = int(sys.argv[1])
deadline = time.monotonic() + 30
while True:
    try:
        dns.query.udp(dns.message.make_query("example.test", "SOA"), "127.0.0.1", port=port,
                      timeout=0.5)
        break
    except Exception:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.1)
# dnspython refuses a reply from another address than the one it asked
# (dns.query.UnexpectedSource): each must come from the address asked.
for addr in ("127.0.0.2", "127.0.0.3", "::1"):
    r = dns.query.udp(dns.message.make_query("www.example.test", "A"), addr, port=port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR and r.answer, r
    r = dns.query.tcp(dns.message.make_query("www.example.test", "A"), addr, port=port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR and r.answer, r
print("wildcard answers OK")
"""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"),
                    reason="needs root, unshare and ip for a private network namespace")
def test_wildcard_address_answers_from_the_address_asked(outpost_factory):
    # A wildcard bind is made inside a network namespace of its own, whose
    # only interface is a loopback: nothing outside can reach it.
    srv = outpost_factory(start=False)
    srv.extra[("dns", "listen")] = "0.0.0.0:%d, [::]:%d" % (srv.dns_port, srv.dns_port)
    srv.add_zone("example.test", zone_text())
    script = (
        "ip link set lo up || exit 3\n"
        "%s serve -c %s >%s 2>%s </dev/null &\n"
        "pid=$!\n"
        "/usr/bin/python3 -c \"$CLIENT\" %d\n"
        "rc=$?\n"
        "kill -TERM $pid\n"
        "wait $pid\n"
        "echo \"server exit $?\"\n"
        "exit $rc\n") % (OUTPOST_BIN, srv.conf, srv.stdout_path, srv.stderr_path, srv.dns_port)
    env = dict(srv.server_env(), CLIENT=WILDCARD_CLIENT)
    proc = subprocess.Popen(["unshare", "-n", "sh", "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        out = proc.communicate(timeout=90)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("the namespace test did not finish in 90 s")
    assert proc.returncode == 0, out + srv.stderr_tail()
    assert "wildcard answers OK" in out and "server exit 0" in out, out


# ---- malformed input --------------------------------------------------------------------

def raw_udp(srv, payload, timeout=1.0):
    """Send payload; return the response octets, or None if none came."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(payload, ("127.0.0.1", srv.dns_port))
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return None


def header(qid=0x4242, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


QUESTION = b"\x03www\x07example\x04test\x00\x00\x01\x00\x01"


def rcode_of(resp):
    return resp[3] & 0x0F


def test_malformed_packets_get_formerr_or_nothing(dnssrv):
    # Shorter than a header: nothing to answer to.
    assert raw_udp(dnssrv, b"\x42\x42\x01\x00\x00") is None
    # A response (QR set) is never answered.
    assert raw_udp(dnssrv, header(flags=0x8000) + QUESTION) is None
    # A compression pointer pointing at itself.
    loop = header() + b"\xc0\x0c\x00\x01\x00\x01"
    r = raw_udp(dnssrv, loop)
    assert r is not None and r[:2] == b"\x42\x42" and rcode_of(r) == 1 and r[2] & 0x80
    # Counts larger than the packet.
    r = raw_udp(dnssrv, header(an=500, ar=3000) + QUESTION)
    assert r is not None and rcode_of(r) == 1
    # Two questions.
    r = raw_udp(dnssrv, header(qd=2) + QUESTION + QUESTION)
    assert r is not None and rcode_of(r) == 1
    # A question cut short.
    r = raw_udp(dnssrv, header() + QUESTION[:9])
    assert r is None or rcode_of(r) == 1
    # Garbage of every length up to 40 octets: the server stays up.
    for n in range(40):
        raw_udp(dnssrv, bytes((i * 37 + n) & 0xFF for i in range(n)), timeout=0.05)
    # The same over TCP: FORMERR, and the connection goes on.
    with socket.create_connection(("127.0.0.1", dnssrv.dns_port), timeout=10) as s:
        s.sendall(struct.pack("!H", len(loop)) + loop + framed(query("www.example.test", "A")))
        assert rcode_of(read_framed(s)) == 1
        assert rrset_texts(dns.message.from_wire(read_framed(s))) == ["127.0.0.1"]
    assert udp(dnssrv, "www.example.test", "A").rcode() == dns.rcode.NOERROR


def test_zone_transfer_is_refused_without_allow_transfer(dnssrv):
    # allow_transfer defaults to nobody (test_dns_xfr.py covers the rest).
    r = tcp(dnssrv, "example.test", "AXFR")
    assert r.rcode() == dns.rcode.REFUSED, r
    assert r.question[0].name.to_text() == "example.test."
    assert udp(dnssrv, "www.example.test", "A").rcode() == dns.rcode.NOERROR


# ---- reloading ------------------------------------------------------------------------------

def wait_serial(srv, serial, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        got = soa_serial(udp(srv, "example.test", "SOA"))
        if got == serial or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_reload_serves_the_new_serial_and_keeps_a_broken_zone(dnssrv):
    path = dnssrv.data / "zones" / "example.test.zone"
    path.write_text(zone_text(serial=2, extra="new IN A 127.0.0.2\n"))
    dnssrv.signal(signal.SIGHUP)
    assert wait_serial(dnssrv, 2) == 2
    assert rrset_texts(udp(dnssrv, "new.example.test", "A")) == ["127.0.0.2"]
    # A broken file: the zone keeps serial 2, and the log names file:line.
    path.write_text(zone_text(serial=3) + "broken IN A not-an-address\n")
    r = dnssrv.cli("dns", "reload")
    assert r.returncode == 2, r.stderr
    assert re.search(r"example\.test\.zone:\d+:", r.stderr.decode()), r.stderr
    deadline = time.monotonic() + 10
    while "still serving serial 2" not in dnssrv.stderr_text():
        assert time.monotonic() < deadline, dnssrv.stderr_tail()
        time.sleep(0.1)
    assert re.search(r"error: dns: \S+example\.test\.zone:\d+: ", dnssrv.stderr_text())
    assert soa_serial(udp(dnssrv, "example.test", "SOA")) == 2
    # Fixed again, through `outpost dns reload`.
    path.write_text(zone_text(serial=4))
    r = dnssrv.cli("dns", "reload")
    assert r.returncode == 0, r.stderr
    assert wait_serial(dnssrv, 4) == 4
    assert udp(dnssrv, "new.example.test", "A").rcode() == dns.rcode.NXDOMAIN
    log = dnssrv.stderr_text()
    assert re.search(r"info: dns: zone example\.test loaded from \S+: serial 1", log), log
    assert re.search(r"info: dns: zone example\.test reloaded from \S+: serial 4", log), log


def test_reload_adds_and_removes_zones(dnssrv):
    other = "$TTL 60\n@ IN SOA ns.other.test. h.other.test. 7 1 1 1 1\n@ IN NS ns.other.test.\n" \
            "ns IN A 127.0.0.9\n"
    dnssrv.add_zone("other.test", other)
    dnssrv.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while udp(dnssrv, "ns.other.test", "A").rcode() != dns.rcode.NOERROR:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert rrset_texts(udp(dnssrv, "ns.other.test", "A")) == ["127.0.0.9"]
    # The unchanged example.test was not read again: loaded once, at start.
    log = dnssrv.stderr_text()
    assert len(re.findall(r"dns: zone example\.test (re)?loaded", log)) == 1, log
    assert re.search(r"dns: zone other\.test loaded from \S+: serial 7, 3 records", log), log
    del dnssrv.extra[("zone other.test", "file")]
    dnssrv.write_config()
    dnssrv.signal(signal.SIGHUP)
    while udp(dnssrv, "ns.other.test", "A").rcode() != dns.rcode.REFUSED:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert soa_serial(udp(dnssrv, "example.test", "SOA")) == 1
    assert "dns: zone other.test removed" in dnssrv.stderr_text()


# ---- response-rate limiting -------------------------------------------------------------

def flood(srv, source, n, name="www.example.test"):
    """Send n identical queries from source; count answers, truncated ones, silence."""
    answered = truncated = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(0.3)
        wire = query(name, "A").to_wire()
        for _ in range(n):
            s.sendto(wire, ("127.0.0.1", srv.dns_port))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                data = s.recvfrom(65535)[0]
            except socket.timeout:
                break
            r = dns.message.from_wire(data)
            if r.flags & dns.flags.TC:
                assert not r.answer
                truncated += 1
            else:
                answered += 1
    return answered, truncated


def test_rrl_drops_and_slips_a_flood_but_answers_others(outpost_factory):
    srv = outpost_factory({("dns", "rrl_rate"): "5", ("dns", "rrl_slip"): "2"}, start=False)
    srv.add_zone("example.test", zone_text())
    srv.start()
    wait_answer(srv)
    time.sleep(1.1)                      # the bucket refills after wait_answer's query
    answered, truncated = flood(srv, "127.0.0.1", 60)
    # About 5 answers (plus what refills while the flood lasts), half the rest slipped.
    assert 5 <= answered <= 15, (answered, truncated)
    assert 15 <= truncated <= 35, (answered, truncated)
    # Another client network (127.0.1.0/24) is answered in full meanwhile.
    other, _ = flood(srv, "127.0.1.1", 5)
    assert other == 5
    # TCP is never limited.
    for _ in range(10):
        assert tcp(srv, "www.example.test", "A").rcode() == dns.rcode.NOERROR
    assert "dns rrl: limiting answers to 127.0.0.0/24" in srv.stderr_text()


def test_query_logging(outpost_factory):
    srv = outpost_factory({("dns", "log_queries"): "yes"}, start=False)
    srv.add_zone("example.test", zone_text())
    srv.start()
    wait_answer(srv)
    tcp(srv, "nope.example.test", "AAAA")
    log = srv.stderr_text()
    assert re.search(r"dns udp 127\.0\.0\.1:\d+ example\.test\. SOA NOERROR \d+", log), log
    assert re.search(r"dns tcp 127\.0\.0\.1:\d+ nope\.example\.test\. AAAA NXDOMAIN \d+", log), log


# ---- configuration and check ------------------------------------------------------------

def test_check_reports_zone_errors_with_file_and_line(outpost_factory):
    srv = outpost_factory(start=False)
    srv.add_zone("example.test", zone_text())
    r = srv.cli("check")
    assert r.returncode == 0, r.stderr
    srv.add_zone("example.test", zone_text() + "\nbad IN A 1.2.3\n")
    r = srv.cli("check")
    assert r.returncode == 2
    assert re.search(r"zones/example\.test\.zone:%d: " % (zone_text().count("\n") + 2),
                     r.stderr.decode()), r.stderr
    # A server with a broken zone starts and answers REFUSED for it.
    srv.start()
    assert udp(srv, "www.example.test", "A").rcode() == dns.rcode.REFUSED
    assert "not served" in srv.stderr_text()


def test_zone_config_errors(outpost_factory):
    srv = outpost_factory(start=False)
    srv.add_zone("example.test", zone_text())
    srv.extra[("zone example.test", "role")] = "secondary"
    srv.extra[("zone bad..name", "file")] = "x.zone"
    srv.write_config()
    r = srv.cli("check")
    assert r.returncode == 2
    err = r.stderr.decode()
    assert re.search(r"outpost\.conf:\d+: \[zone example\.test\] primaries is required for "
                     r"role = secondary", err), err
    assert re.search(r"outpost\.conf:\d+: \[zone bad\.\.name\] 'bad\.\.name' is not a valid "
                     r"domain name", err), err
    r = subprocess.run([OUTPOST_BIN, "serve", "-c", str(srv.conf)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 2


def test_dns_reload_without_a_server(outpost_factory):
    srv = outpost_factory(start=False)
    r = srv.cli("dns", "reload")
    assert r.returncode == 1 and b"no running server" in r.stderr, r.stderr


@pytest.mark.xdist_group("embedded-default")
def test_embedded_default_answers_example_test(tmp_path):
    if port_open(10053) or port_open(10110) or port_open(10995):
        pytest.skip("the embedded default's ports are in use")
    data = tmp_path / "var"
    out_path = tmp_path / "stdout"
    with open(out_path, "wb") as out, open(tmp_path / "stderr", "wb") as err:
        proc = subprocess.Popen([OUTPOST_BIN, "serve", "--data", str(data)], stdout=out,
                                stderr=err, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while "SIGTERM" not in out_path.read_text(errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "stderr").read_text()
            time.sleep(0.1)
        out = out_path.read_text()
        assert "try: dig @127.0.0.1 -p 10053 example.test SOA" in out, out
        assert (data / "zones" / "example.test.zone").exists()
        r = dns.query.udp(query("example.test", "SOA"), "127.0.0.1", port=10053, timeout=5)
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
        assert soa_serial(r) == 1
        answers = {t: rrset_texts(dns.query.tcp(query(n, t), "127.0.0.1", port=10053, timeout=5))
                   for n, t in (("example.test", "MX"), ("example.test", "TXT"),
                                ("www.example.test", "A"), ("mail.example.test", "AAAA"),
                                ("example.test", "NS"))}
        assert answers == {"MX": ["10 mail.example.test."], "TXT": ['"v=spf1 mx -all"'],
                           "A": ["127.0.0.1"], "AAAA": ["::1"], "NS": ["ns.example.test."]}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    assert rc == 0
    r = subprocess.run([OUTPOST_BIN, "check", "-c", str(data / "outpost.conf")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 0, r.stderr


def test_dns_only_server_needs_no_certificate(outpost_factory):
    """With POP3, SMTP and FTP off no service speaks TLS, so `check` and `serve` go
    without a certificate; with POP3 on, the missing certificate is an error."""
    srv = outpost_factory(start=False)
    srv.add_zone("example.test", zone_text())
    (srv.data / "cert.pem").unlink()
    (srv.data / "key.pem").unlink()
    r = srv.cli("check")
    assert r.returncode == 2 and b"[tls]" in r.stderr, r.stderr
    srv.extra[("pop3", "listen")] = ""
    srv.extra[("pop3", "listen_tls")] = ""
    for key in ("listen", "listen_submission", "listen_submissions"):
        srv.extra[("smtp", key)] = ""
    srv.extra[("ftp", "listen")] = ""
    srv.write_config()
    r = srv.cli("check")
    assert r.returncode == 0, r.stderr
    srv.starts += 1
    with open(srv.stderr_path, "wb") as err:
        srv.proc = subprocess.Popen([OUTPOST_BIN, "serve", "-c", str(srv.conf)],
                                    stdout=subprocess.DEVNULL, stderr=err,
                                    stdin=subprocess.DEVNULL)
    assert rrset_texts(wait_answer(srv))[0].startswith("ns.example.test. hostmaster.")
