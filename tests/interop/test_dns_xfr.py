"""Outgoing zone transfers and NOTIFY against real clients and secondaries:
dig and kdig AXFR (allowed, refused, TSIG-signed, wrong key), dnspython
AXFR and IXFR after a reload (the applied result equals the new zone), an
IXFR from a serial the journal no longer reaches, the journal across a
restart, and NSD as a secondary of outpost, kept current by NOTIFY.

Each test starts its own server (conftest.py) on free loopback ports.
"""

import base64
import os
import shutil
import signal
import socket
import subprocess
import time

import dns.flags
import dns.message
import dns.opcode
import dns.rrset
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.xfr
import dns.zone
import pytest

from conftest import free_dns_port

ZONE = """$TTL 3600
@ IN SOA ns.example.test. hostmaster.example.test. {serial} 7200 3600 1209600 300
@ IN NS ns.example.test.
@ IN MX 10 mail.example.test.
ns IN A 127.0.0.1
mail IN A 127.0.0.1
www IN A 127.0.0.1
www IN AAAA ::1
{extra}"""
# Enough TXT data to take several 16 KiB messages.
BULK = "".join('bulk%03d IN TXT "%s"\n' % (i, "x" * 200) for i in range(300))

KEY_NAME = "xfr-key"
KEY_SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
WRONG_SECRET = base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()


def zone_text(serial=1, extra=""):
    return ZONE.format(serial=serial, extra=BULK + extra)


def wait_for(cond, timeout=10, step=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def soa_serial(srv, name="example.test"):
    q = dns.message.make_query(name, "SOA")
    try:
        r = dns.query.udp(q, "127.0.0.1", port=srv.dns_port, timeout=2)
    except Exception:
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def make_server(factory, allow="127.0.0.1/32", extra_conf=None, text=None):
    srv = factory(start=False)
    srv.add_zone("example.test", text or zone_text())
    srv.extra[("zone example.test", "allow_transfer")] = allow
    srv.extra[("key " + KEY_NAME, "algorithm")] = "hmac-sha256"
    srv.extra[("key " + KEY_NAME, "secret")] = KEY_SECRET
    for k, v in (extra_conf or {}).items():
        srv.extra[k] = v
    srv.write_config()
    os.chmod(srv.conf, 0o600)
    srv.start()
    assert wait_for(lambda: soa_serial(srv) is not None), srv.stderr_tail()
    return srv


def axfr_zone(srv, keyring=None, keyname=None):
    """The zone as dnspython's AXFR client applies it."""
    return dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "example.test", port=srv.dns_port,
                                           timeout=10, lifetime=20, keyring=keyring,
                                           keyname=keyname, relativize=False),
                             relativize=False)


def file_zone(text):
    return dns.zone.from_text(text, origin="example.test.", relativize=False,
                              check_origin=True)


def same_zone(a, b):
    """Equal as sets of (name, type, ttl, rdata)."""
    def items(z):
        out = set()
        for name, ttl, rdata in z.iterate_rdatas():
            out.add((z.origin.derelativize(name) if not name.is_absolute() else name,
                     ttl, rdata.to_text()))
        return out
    return items(a) == items(b)


def dig(*args, timeout=30):
    r = subprocess.run(["dig", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return r.stdout.decode() + r.stderr.decode()


# ---- AXFR -------------------------------------------------------------------------

def test_axfr_allowed_with_dig_and_dnspython(outpost_factory):
    srv = make_server(outpost_factory)
    out = dig("@127.0.0.1", "-p", str(srv.dns_port), "example.test", "AXFR")
    records = [l for l in out.splitlines() if l and not l.startswith(";")]
    soas = [l for l in records if "\tSOA\t" in l]
    assert len(soas) == 2 and records[0] == soas[0] and records[-1] == soas[1], out[-2000:]
    assert len(records) == 2 + 6 + 300, out[-500:]
    # dnspython applies it: the same records as the file.
    z = axfr_zone(srv)
    assert same_zone(z, file_zone(zone_text())), "AXFR differs from the zone file"
    assert "AXFR: done, serial 1" in srv.stderr_text()


def test_axfr_refused_and_not_authoritative(outpost_factory):
    srv = make_server(outpost_factory, allow="10.0.0.0/8, ::1")
    out = dig("@127.0.0.1", "-p", str(srv.dns_port), "example.test", "AXFR")
    assert "Transfer failed" in out or "REFUSED" in out, out
    q = dns.message.make_query("example.test", "AXFR")
    r = dns.query.tcp(q, "127.0.0.1", port=srv.dns_port, timeout=5)
    assert r.rcode() == dns.rcode.REFUSED
    assert len(r.answer) == 0
    # A name that is not a zone apex: NOTAUTH (RFC 5936 section 2.2.1).
    q = dns.message.make_query("www.example.test", "AXFR")
    r = dns.query.tcp(q, "127.0.0.1", port=srv.dns_port, timeout=5)
    assert r.rcode() == dns.rcode.NOTAUTH
    assert "not in allow_transfer" in srv.stderr_text()


def test_axfr_with_tsig_dig_kdig_dnspython_and_wrong_key(outpost_factory):
    srv = make_server(outpost_factory, allow="127.0.0.1/32 key %s" % KEY_NAME)
    port = str(srv.dns_port)
    good = "hmac-sha256:%s:%s" % (KEY_NAME, KEY_SECRET)
    # Unsigned from an address whose entry requires the key: NOTAUTH.
    q = dns.message.make_query("example.test", "AXFR")
    r = dns.query.tcp(q, "127.0.0.1", port=srv.dns_port, timeout=5)
    assert r.rcode() == dns.rcode.NOTAUTH and not r.answer
    # dig and kdig with the key: the whole zone, every message verified.
    out = dig("@127.0.0.1", "-p", port, "-y", good, "example.test", "AXFR")
    records = [l for l in out.splitlines() if l and not l.startswith(";")]
    assert sum("\tSOA\t" in l for l in records) == 2, out[-1500:]
    assert "TSIG" in out and "NOERROR" in out and "tsig verify failure" not in out, out[-1500:]
    k = subprocess.run(["kdig", "@127.0.0.1", "-p", port, "-y", good, "example.test", "AXFR"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    ktext = k.stdout.decode()
    assert k.returncode == 0 and "Received" in ktext and "failed" not in ktext.lower(), ktext[-1500:]
    assert sum("\tSOA\t" in l for l in ktext.splitlines() if not l.startswith(";")) == 2
    # dnspython verifies each message's MAC against the previous one.
    ring = dns.tsigkeyring.from_text({KEY_NAME: KEY_SECRET})
    z = axfr_zone(srv, keyring=ring, keyname=KEY_NAME)
    assert same_zone(z, file_zone(zone_text()))
    # The wrong secret: NOTAUTH with BADSIG, nothing transferred.
    out = dig("@127.0.0.1", "-p", port, "-y", "hmac-sha256:%s:%s" % (KEY_NAME, WRONG_SECRET),
              "example.test", "AXFR")
    assert "\tSOA\t" not in out.replace(";", "#;"), out
    assert "BADSIG" in srv.stderr_text()
    # An unknown key name: NOTAUTH with BADKEY.
    out = dig("@127.0.0.1", "-p", port, "-y", "hmac-sha256:other-key:%s" % KEY_SECRET,
              "example.test", "AXFR")
    assert "BADKEY" in srv.stderr_text()
    # The secret never reaches the log.
    assert KEY_SECRET not in srv.stderr_text() and KEY_SECRET not in srv.stdout_text()


# ---- IXFR and the journal ---------------------------------------------------------------

CHANGES = "new IN A 127.0.0.9\nwww IN TXT \"changed\"\n"


def changed_text(serial):
    """Serial 2's zone: mail's address changed, bulk000 gone, two names added."""
    return zone_text(serial, CHANGES).replace("mail IN A 127.0.0.1", "mail IN A 127.0.0.2") \
        .replace('bulk000 IN TXT "%s"\n' % ("x" * 200), "")


def reload_to(srv, text, serial):
    (srv.data / "zones" / "example.test.zone").write_text(text)
    srv.signal(signal.SIGHUP)
    assert wait_for(lambda: soa_serial(srv) == serial), srv.stderr_tail()


def ixfr_into(srv, z, serial=0):
    """IXFR (over TCP) applied to z, a zone at serial (0: its SOA's)."""
    q, _ = dns.xfr.make_query(z, serial=serial)
    dns.query.inbound_xfr("127.0.0.1", z, query=q, port=srv.dns_port, timeout=10, lifetime=20)
    return z


def test_ixfr_after_reload_applies_to_the_new_zone_and_survives_restart(outpost_factory):
    srv = make_server(outpost_factory)
    z = axfr_zone(srv)                              # the secondary's copy at serial 1
    reload_to(srv, changed_text(2), 2)
    assert "journal" not in srv.stderr_text() or "dropped" not in srv.stderr_text()
    journal = srv.data / "zones" / "example.test.journal"
    assert journal.exists() and journal.read_bytes().startswith(b"OUTPOST-JOURNAL 1\n")
    # A raw IXFR: new SOA, old SOA, deletions, new SOA, additions, new SOA.
    q = dns.message.make_query("example.test", "IXFR")
    q.authority.append(dns.rrset.from_text("example.test.", 3600, "IN", "SOA",
                                           "ns.example.test. hostmaster.example.test. 1 7200 "
                                           "3600 1209600 300"))
    msgs = list(dns.query.xfr("127.0.0.1", "example.test", rdtype="IXFR", serial=1,
                              port=srv.dns_port, timeout=10, lifetime=20, relativize=False))
    rrs = [(rr.name.to_text(), rr.rdtype, rd.to_text()) for m in msgs for rr in m.answer
           for rd in rr]
    soas = [i for i, r in enumerate(rrs) if r[1] == dns.rdatatype.SOA]
    assert [rrs[i][2].split()[2] for i in soas] == ["2", "1", "2", "2"], rrs
    deleted = rrs[soas[1] + 1:soas[2]]
    added = rrs[soas[2] + 1:soas[3]]
    assert sorted(d[0] for d in deleted) == ["bulk000.example.test.", "mail.example.test."]
    assert sorted(a[0] for a in added) == ["mail.example.test.", "new.example.test.",
                                           "www.example.test."]
    # dnspython applies it to its copy: the result is the new zone.
    ixfr_into(srv, z)
    assert same_zone(z, file_zone(changed_text(2)))
    assert "IXFR from serial 1 to 2: 1 versions" in srv.stderr_text()
    # Up to date: a single SOA.
    q = dns.message.make_query("example.test", "IXFR")
    q.authority.append(dns.rrset.from_text("example.test.", 3600, "IN", "SOA",
                                           "ns.example.test. h.example.test. 2 1 1 1 1"))
    r = dns.query.tcp(q, "127.0.0.1", port=srv.dns_port, timeout=5)
    assert len(r.answer) == 1 and r.answer[0].rdtype == dns.rdatatype.SOA
    assert r.answer[0][0].serial == 2
    # A serial the journal does not reach: the whole zone, AXFR style.
    z0 = dns.zone.Zone("example.test.", relativize=False)
    ixfr_into(srv, z0, serial=4000000000)   # before 1 (RFC 1982)
    assert same_zone(z0, file_zone(changed_text(2)))
    assert "IXFR from serial 4000000000: not in the journal, sending the whole zone" in srv.stderr_text()
    # After a restart the journal is read back: still incremental from 1.
    srv.restart()
    assert wait_for(lambda: soa_serial(srv) == 2), srv.stderr_tail()
    assert "journal" in srv.stderr_text() and "1 versions, serials 1 to 2" in srv.stderr_text()
    z1 = file_zone(zone_text(1))
    ixfr_into(srv, z1)
    assert same_zone(z1, file_zone(changed_text(2)))
    assert srv.stderr_text().count("IXFR from serial 1 to 2: 1 versions") == 3


def test_serial_not_increased_clears_the_journal(outpost_factory):
    srv = make_server(outpost_factory)
    reload_to(srv, changed_text(2), 2)
    # The same serial with other content: a warning, and the journal is gone.
    (srv.data / "zones" / "example.test.zone").write_text(changed_text(2) + "x IN A 127.0.0.7\n")
    srv.signal(signal.SIGHUP)
    assert wait_for(lambda: "serial unchanged (2 to 2) while the records changed"
                    in srv.stderr_text()), srv.stderr_tail()
    assert not (srv.data / "zones" / "example.test.journal").exists()


# ---- real secondaries ---------------------------------------------------------------------

class Peer:
    """A secondary server (NSD or Knot) in a directory of its own, stopped by PID."""

    def __init__(self, root, name):
        self.dir = root / name
        self.dir.mkdir()
        self.port = free_dns_port()
        self.proc = None
        self.log = self.dir / "log.txt"

    def start(self, argv):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def serial(self):
        q = dns.message.make_query("example.test", "SOA")
        try:
            r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=1)
        except Exception:
            return None
        if r.rcode() != dns.rcode.NOERROR:
            return None
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                return rrset[0].serial
        return None

    def query(self, name, rdtype):
        q = dns.message.make_query(name, rdtype)
        return dns.query.udp(q, "127.0.0.1", port=self.port, timeout=2)

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def peer(tmp_path):
    started = []

    def make(name):
        p = Peer(tmp_path, name)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


def nsd_secondary_at(peer, primary_port, port):
    if not shutil.which("nsd"):
        pytest.skip("nsd is not installed (scripts/setup.sh installs it)")
    p = peer("nsd")
    p.port = port
    conf = p.dir / "nsd.conf"
    conf.write_text("""server:
    ip-address: 127.0.0.1@{port}
    port: {port}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{dir}"
    pidfile: "{dir}/nsd.pid"
    database: ""
    xfrdfile: "{dir}/xfrd.state"
    zonelistfile: "{dir}/zone.list"
    xfrdir: "{dir}"
    logfile: "{dir}/nsd.log"
    verbosity: 2
    rrl-ratelimit: 0
remote-control:
    control-enable: no
key:
    name: "{key}"
    algorithm: hmac-sha256
    secret: "{secret}"
zone:
    name: "example.test"
    zonefile: "example.test.zone"
    request-xfr: 127.0.0.1@{primary} {key}
    allow-notify: 127.0.0.1 {key}
""".format(port=p.port, dir=p.dir, key=KEY_NAME, secret=KEY_SECRET, primary=primary_port))
    conf.chmod(0o600)
    p.start(["nsd", "-d", "-c", str(conf)])
    return p


def test_nsd_secondary_follows_outpost_by_notify_and_ixfr(outpost_factory, peer):
    nsd_port = free_dns_port()
    # outpost notifies NSD's port; NSD transfers with the key.
    srv = make_server(outpost_factory, allow="127.0.0.1/32 key %s" % KEY_NAME,
                      extra_conf={("zone example.test", "notify"):
                                  "127.0.0.1:%d key %s" % (nsd_port, KEY_NAME)})
    nsd = nsd_secondary_at(peer, srv.dns_port, nsd_port)
    assert wait_for(lambda: nsd.serial() == 1, timeout=20), nsd.log_text()[-3000:] + \
        srv.stderr_tail()
    # A reload with a new serial: outpost sends NOTIFY, NSD asks for IXFR.
    reload_to(srv, changed_text(2), 2)
    assert wait_for(lambda: nsd.serial() == 2, timeout=20), nsd.log_text()[-3000:] + \
        srv.stderr_tail()
    r = nsd.query("new.example.test", "A")
    assert [rd.to_text() for rrset in r.answer for rd in rrset] == ["127.0.0.9"]
    r = nsd.query("mail.example.test", "A")
    assert [rd.to_text() for rrset in r.answer for rd in rrset] == ["127.0.0.2"]
    text = srv.stderr_text()
    assert "dns notify 127.0.0.1:%d example.test. serial 2: acknowledged" % nsd_port in text, \
        srv.stderr_tail()
    assert "IXFR from serial 1 to 2" in text, srv.stderr_tail()
    assert KEY_SECRET not in text


def knot_secondary_at(peer, primary_port, port):
    if not shutil.which("knotd"):
        pytest.skip("knotd is not installed (scripts/setup.sh installs it)")
    p = peer("knot")
    p.port = port
    conf = p.dir / "knot.conf"
    conf.write_text("""server:
    listen: 127.0.0.1@{port}
    rundir: "{dir}"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "{dir}"
key:
  - id: {key}
    algorithm: hmac-sha256
    secret: {secret}
remote:
  - id: primary
    address: 127.0.0.1@{primary}
    key: {key}
acl:
  - id: notify-from-primary
    address: 127.0.0.1
    key: {key}
    action: notify
zone:
  - domain: example.test
    storage: "{dir}"
    file: "example.test.zone"
    master: primary
    acl: notify-from-primary
""".format(port=port, dir=p.dir, key=KEY_NAME, secret=KEY_SECRET, primary=primary_port))
    conf.chmod(0o600)
    p.start(["knotd", "-c", str(conf)])
    return p


def test_knot_secondary_follows_outpost_by_notify_and_ixfr(outpost_factory, peer):
    knot_port = free_dns_port()
    srv = make_server(outpost_factory, allow="127.0.0.1/32 key %s" % KEY_NAME,
                      extra_conf={("zone example.test", "notify"):
                                  "127.0.0.1:%d key %s" % (knot_port, KEY_NAME)})
    knot = knot_secondary_at(peer, srv.dns_port, knot_port)
    assert wait_for(lambda: knot.serial() == 1, timeout=20), knot.log_text()[-3000:] + \
        srv.stderr_tail()
    reload_to(srv, changed_text(2), 2)
    assert wait_for(lambda: knot.serial() == 2, timeout=20), knot.log_text()[-3000:] + \
        srv.stderr_tail()
    r = knot.query("new.example.test", "A")
    assert [rd.to_text() for rrset in r.answer for rd in rrset] == ["127.0.0.9"]
    r = knot.query("bulk000.example.test", "TXT")
    assert r.rcode() == dns.rcode.NXDOMAIN
    text = srv.stderr_text()
    assert "dns notify 127.0.0.1:%d example.test. serial 2: acknowledged" % knot_port in text
    assert "IXFR from serial 1 to 2" in text, srv.stderr_tail()


# ---- NOTIFY to a scripted secondary, and transfers side by side -------------------------

def test_notify_is_retried_until_answered_and_signed(outpost_factory):
    ring = dns.tsigkeyring.from_text({KEY_NAME: KEY_SECRET})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sec:
        sec.bind(("127.0.0.1", 0))
        sec.settimeout(10)
        port = sec.getsockname()[1]
        srv = make_server(outpost_factory, extra_conf={
            ("zone example.test", "notify"): "127.0.0.1:%d key %s" % (port, KEY_NAME)})
        # At start: NOTIFY, AA, question "example.test IN SOA", the SOA as a hint, signed.
        wire, addr = sec.recvfrom(4096)
        t0 = time.monotonic()
        q = dns.message.from_wire(wire, keyring=ring)
        assert q.opcode() == dns.opcode.NOTIFY and q.flags & dns.flags.AA
        assert q.question[0].name.to_text() == "example.test."
        assert q.question[0].rdtype == dns.rdatatype.SOA
        assert q.answer[0].rdtype == dns.rdatatype.SOA and q.answer[0][0].serial == 1
        assert q.had_tsig
        # No answer: it comes again after about a second, with the same ID.
        wire2, addr2 = sec.recvfrom(4096)
        assert 0.7 < time.monotonic() - t0 < 3
        q2 = dns.message.from_wire(wire2, keyring=ring)
        assert q2.id == q.id
        # An unsigned answer to a signed NOTIFY counts for nothing ...
        bad = dns.message.Message(id=q2.id)
        bad.flags = dns.flags.QR | dns.flags.AA
        bad.set_opcode(dns.opcode.NOTIFY)
        bad.question = list(q2.question)
        sec.sendto(bad.to_wire(), addr2)
        assert wait_for(lambda: "without a valid signature; ignored" in srv.stderr_text()), \
            srv.stderr_tail()
        # ... a signed one ends it.
        wire3, addr3 = sec.recvfrom(4096)
        q3 = dns.message.from_wire(wire3, keyring=ring)
        sec.sendto(dns.message.make_response(q3).to_wire(), addr3)
        assert wait_for(lambda: "dns notify 127.0.0.1:%d example.test. serial 1: acknowledged"
                        % port in srv.stderr_text()), srv.stderr_tail()
        # A reload with a new serial: a new NOTIFY with serial 2.
        reload_to(srv, changed_text(2), 2)
        q4 = dns.message.from_wire(sec.recvfrom(4096)[0], keyring=ring)
        assert q4.answer[0][0].serial == 2


def read_framed(s, n=None):
    head = b""
    while len(head) < 2:
        chunk = s.recv(2 - len(head))
        if not chunk:
            return None
        head += chunk
    length = int.from_bytes(head, "big")
    body = b""
    while len(body) < length:
        chunk = s.recv(length - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def test_transfers_side_by_side_with_a_slow_reader(outpost_factory):
    big = "".join('big%05d IN TXT "%s"\n' % (i, "y" * 250) for i in range(4000))
    srv = make_server(outpost_factory, text=zone_text(1, big))
    q = dns.message.make_query("example.test", "AXFR")
    wire = q.to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as slow:
        # A small receive window (set before connecting), so the server's
        # output backs up while this client does not read.
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        slow.settimeout(20)
        slow.connect(("127.0.0.1", srv.dns_port))
        slow.sendall(len(wire).to_bytes(2, "big") + wire)
        first = dns.message.from_wire(read_framed(slow))     # then stop reading
        assert first.answer[0].rdtype == dns.rdatatype.SOA
        # Meanwhile: two complete transfers and ordinary queries.
        for _ in range(2):
            z = axfr_zone(srv)
            assert len(list(z.iterate_rdatas())) == 307 + 4000
        assert soa_serial(srv) == 1
        # The slow one resumes and gets the rest, SOA last.
        count, last = len(first.answer), None
        for _ in range(10000):
            body = read_framed(slow)
            assert body is not None, "connection closed in the middle"
            m = dns.message.from_wire(body)
            assert not m.question
            count += sum(len(rrset) for rrset in m.answer)
            last = m.answer[-1]
            if last.rdtype == dns.rdatatype.SOA:
                break
        assert last.rdtype == dns.rdatatype.SOA and count == 307 + 4000 + 1


def test_a_transfer_longer_than_the_idle_timeout_goes_on_while_read(outpost_factory):
    big = "".join('big%05d IN TXT "%s"\n' % (i, "z" * 250) for i in range(4000))
    srv = make_server(outpost_factory, text=zone_text(1, big),
                      extra_conf={("dns", "tcp_idle_timeout"): "1s"})
    wire = dns.message.make_query("example.test", "AXFR").to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.settimeout(10)
        s.connect(("127.0.0.1", srv.dns_port))
        s.sendall(len(wire).to_bytes(2, "big") + wire)
        t0, soas, messages = time.monotonic(), 0, 0
        while soas < 2 and messages < 1000:
            body = read_framed(s)
            assert body is not None, "closed after %.1f s:\n%s" % (time.monotonic() - t0,
                                                                     srv.stderr_tail())
            m = dns.message.from_wire(body)
            messages += 1
            soas += sum(rrset.rdtype == dns.rdatatype.SOA for rrset in m.answer)
            time.sleep(0.04)            # a slow reader: the transfer takes a few seconds
        assert soas == 2 and time.monotonic() - t0 > 1.5
