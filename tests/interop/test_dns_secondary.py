"""outpost as a secondary: zones fetched from a real primary (NSD, Knot) by
zone transfer, kept up to date by NOTIFY and the SOA timers, written to
their file and served after a restart, and expired (SERVFAIL) when the
primary stays out of reach.

Each primary runs in the foreground with its own config in the test's temp
directory, bound to 127.0.0.1 on a free port, and is stopped by PID. The
test zone's SOA timers are short (refresh 2 s, retry 1 s, expire 6 s) so
that refresh and expiry happen within the test.
"""

import base64
import os
import secrets
import shutil
import signal
import subprocess
import time

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import pytest

from conftest import free_dns_port

ZONE_NAME = "sec.test"
KEY_NAME = "xfr-key"
ZONE = """$TTL 300
@ IN SOA ns.sec.test. hostmaster.sec.test. {serial} {refresh} 1 {expire} 60
@ IN NS ns.sec.test.
ns IN A 127.0.0.1
www IN A 192.0.2.{serial}
{extra}
"""

pytestmark = pytest.mark.skipif(not shutil.which("nsd"), reason="nsd is not installed")


def zone_text(serial, refresh=2, expire=6, extra=""):
    return ZONE.format(serial=serial, refresh=refresh, expire=expire, extra=extra)


def query(port, name, rtype="A", timeout=2):
    q = dns.message.make_query(name, rtype)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)


def wait_for(pred, timeout, what):
    """Poll pred() every 0.2 s for at most timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except dns.exception.Timeout:
            last = "timeout"
        time.sleep(0.2)
    raise AssertionError("%s: not within %ss (last: %r)" % (what, timeout, last))


def www_address(port):
    r = query(port, "www." + ZONE_NAME)
    if r.rcode() != dns.rcode.NOERROR or not r.answer:
        return None
    return r.answer[0][0].address, bool(r.flags & dns.flags.AA)


def new_secret():
    return base64.b64encode(secrets.token_bytes(32)).decode()


class Nsd:
    """NSD in the foreground as the zone's primary, notifying notify_port,
    transfers and NOTIFY signed with the key KEY_NAME (secret)."""

    def __init__(self, root, notify_port, secret):
        self.dir = root
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_dns_port()
        self.notify_port = notify_port
        self.proc = None
        self.zonefile = self.dir / (ZONE_NAME + ".zone")
        self.conf = self.dir / "nsd.conf"
        self.conf.write_text("""server:
  ip-address: 127.0.0.1@{port}
  username: ""
  chroot: ""
  zonesdir: "{dir}"
  pidfile: "{dir}/nsd.pid"
  xfrdfile: "{dir}/xfrd.state"
  zonelistfile: "{dir}/zone.list"
  database: ""
  logfile: "{dir}/nsd.log"
  server-count: 1
  verbosity: 2
  rrl-ratelimit: 0
remote-control:
  control-enable: no
key:
  name: {key}
  algorithm: hmac-sha256
  secret: "{secret}"
zone:
  name: {zone}
  zonefile: "{zonefile}"
  provide-xfr: 127.0.0.1 {key}
  notify: 127.0.0.1@{nport} {key}
""".format(port=self.port, dir=self.dir, zone=ZONE_NAME, zonefile=self.zonefile,
           nport=notify_port, key=KEY_NAME, secret=secret))

    def write_zone(self, text):
        self.zonefile.write_text(text)

    def start(self):
        self.proc = subprocess.Popen(["nsd", "-d", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: query(self.port, ZONE_NAME, "SOA", timeout=0.5).rcode() ==
                 dns.rcode.NOERROR, 10, "NSD answers")

    def reload(self):
        os.kill(self.proc.pid, signal.SIGHUP)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def log(self):
        try:
            return (self.dir / "nsd.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""


def make_pair(outpost_factory, tmp_path, secret, our_secret=None):
    srv = outpost_factory(start=False)
    nsd = Nsd(tmp_path / "nsd", srv.dns_port, secret)
    nsd.write_zone(zone_text(1))
    nsd.start()
    srv.extra[("key " + KEY_NAME, "algorithm")] = "hmac-sha256"
    srv.extra[("key " + KEY_NAME, "secret")] = our_secret or secret
    srv.extra[("zone " + ZONE_NAME, "file")] = "zones/%s.zone" % ZONE_NAME
    srv.extra[("zone " + ZONE_NAME, "role")] = "secondary"
    srv.extra[("zone " + ZONE_NAME, "primaries")] = "127.0.0.1:%d key %s" % (nsd.port, KEY_NAME)
    srv.write_config()
    os.chmod(srv.conf, 0o600)
    return srv, nsd


@pytest.fixture
def nsd_pair(outpost_factory, tmp_path):
    """An outpost (not started) secondary for sec.test, and NSD as primary
    (running), sharing a TSIG key."""
    secret = new_secret()
    srv, nsd = make_pair(outpost_factory, tmp_path, secret)
    srv.secret = secret
    yield srv, nsd
    nsd.stop()
    assert secret not in srv.stderr_text() + srv.stdout_text()


def test_secondary_of_nsd(nsd_pair):
    srv, nsd = nsd_pair
    srv.start()
    # The first transfer: AXFR, answered with authority.
    assert wait_for(lambda: www_address(srv.dns_port), 15, "the first transfer") == \
        ("192.0.2.1", True)
    zonefile = srv.data / "zones" / (ZONE_NAME + ".zone")
    assert zonefile.exists()
    assert "by AXFR" in srv.stderr_text()
    # The zone changes on NSD; its NOTIFY brings the new serial long
    # before the refresh timer would (the zone is given a long refresh).
    nsd.write_zone(zone_text(2, refresh=3600, expire=7200, extra="new IN A 192.0.2.99"))
    nsd.reload()
    assert wait_for(lambda: www_address(srv.dns_port) == ("192.0.2.2", True), 10,
                    "the NOTIFY-triggered transfer")
    r = query(srv.dns_port, "new." + ZONE_NAME)
    assert r.answer and r.answer[0][0].address == "192.0.2.99"
    assert "NOTIFY for sec.test" in srv.stderr_text()
    # The fetched file is a master file that survives a restart, and is
    # served at once, before the primary is asked.
    nsd.stop()
    assert "192.0.2.99" in zonefile.read_text()
    srv.restart()
    assert wait_for(lambda: www_address(srv.dns_port), 10, "served from the file") == \
        ("192.0.2.2", True)


def test_expiry_without_primary(nsd_pair):
    srv, nsd = nsd_pair
    srv.start()
    assert wait_for(lambda: www_address(srv.dns_port), 15, "the first transfer")
    nsd.stop()
    # refresh 2, retry 1, expire 6: SERVFAIL within about 6 s of the last
    # successful check.
    wait_for(lambda: query(srv.dns_port, "www." + ZONE_NAME).rcode() == dns.rcode.SERVFAIL,
             12, "expiry")
    assert "expired" in srv.stderr_text()
    # Expiry holds across a restart: the file's age says so.
    srv.restart()
    wait_for(lambda: query(srv.dns_port, "www." + ZONE_NAME).rcode() == dns.rcode.SERVFAIL,
             5, "still expired after a restart")
    # The primary comes back: the next retry fetches the zone again.
    nsd.start()
    assert wait_for(lambda: www_address(srv.dns_port), 10, "fetched again") == \
        ("192.0.2.1", True)


def test_wrong_key_no_transfer(outpost_factory, tmp_path):
    """Our secret differs from NSD's: NSD refuses the signed SOA query, no
    transfer happens, the zone stays SERVFAIL, and the log says why."""
    theirs, ours = new_secret(), new_secret()
    srv, nsd = make_pair(outpost_factory, tmp_path, theirs, ours)
    try:
        srv.start()
        wait_for(lambda: "SOA query: answered NOTAUTH" in srv.stderr_text(), 10,
                 "the refusal logged")
        assert query(srv.dns_port, "www." + ZONE_NAME).rcode() == dns.rcode.SERVFAIL
        assert not (srv.data / "zones" / (ZONE_NAME + ".zone")).exists()
        # NSD's NOTIFY, signed with its secret, is refused too.
        nsd.write_zone(zone_text(2))
        nsd.reload()
        wait_for(lambda: "TSIG verification failed" in srv.stderr_text(), 10,
                 "the NOTIFY refused")
        log = srv.stderr_text() + srv.stdout_text()
        assert theirs not in log and ours not in log
    finally:
        nsd.stop()


def test_no_data_yet_is_servfail(outpost_factory):
    """A secondary whose primary never answered: SERVFAIL, not REFUSED."""
    srv = outpost_factory(start=False)
    srv.extra[("zone " + ZONE_NAME, "file")] = "zones/%s.zone" % ZONE_NAME
    srv.extra[("zone " + ZONE_NAME, "role")] = "secondary"
    srv.extra[("zone " + ZONE_NAME, "primaries")] = "127.0.0.1:%d" % free_dns_port()
    srv.extra[("zone " + ZONE_NAME, "allow_transfer")] = "127.0.0.1"
    srv.write_config()
    srv.start()
    r = wait_for(lambda: query(srv.dns_port, "www." + ZONE_NAME), 5, "an answer")
    assert r.rcode() == dns.rcode.SERVFAIL
    assert query(srv.dns_port, "www.other.test").rcode() == dns.rcode.REFUSED
    # Nor is there anything to transfer.
    r = dns.query.tcp(dns.message.make_query(ZONE_NAME, "AXFR"), "127.0.0.1",
                      port=srv.dns_port, timeout=5)
    assert r.rcode() == dns.rcode.SERVFAIL


def notify(port, zone, secret=None, timeout=2):
    q = dns.message.make_query(zone, "SOA")
    q.flags = dns.flags.AA
    q.set_opcode(dns.opcode.NOTIFY)
    if secret:
        q.use_tsig(dns.tsigkeyring.from_text({KEY_NAME: secret}), keyname=KEY_NAME,
                   algorithm=dns.tsig.HMAC_SHA256)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)


def test_notify_answers(nsd_pair):
    srv, nsd = nsd_pair
    srv.start()
    wait_for(lambda: www_address(srv.dns_port), 15, "the first transfer")
    # From 127.0.0.1, a primary's address, signed with its key: the
    # answer is signed too (dnspython verifies it).
    r = notify(srv.dns_port, ZONE_NAME, srv.secret)
    assert r.rcode() == dns.rcode.NOERROR and r.opcode() == dns.opcode.NOTIFY
    assert r.flags & dns.flags.AA and r.question[0].name.to_text() == ZONE_NAME + "."
    assert r.had_tsig
    # Unsigned, or with another secret: NOTAUTH.
    assert notify(srv.dns_port, ZONE_NAME).rcode() == dns.rcode.NOTAUTH
    q = dns.message.make_query(ZONE_NAME, "SOA")
    q.set_opcode(dns.opcode.NOTIFY)
    q.use_tsig(dns.tsigkeyring.from_text({KEY_NAME: new_secret()}), keyname=KEY_NAME,
               algorithm=dns.tsig.HMAC_SHA256)
    with pytest.raises(dns.tsig.PeerBadSignature):
        dns.query.udp(q, "127.0.0.1", port=srv.dns_port, timeout=2)
    assert notify(srv.dns_port, "other.test").rcode() == dns.rcode.NOTAUTH


def test_notify_from_elsewhere_refused(outpost_factory):
    srv = outpost_factory(start=False)
    srv.extra[("zone " + ZONE_NAME, "file")] = "zones/%s.zone" % ZONE_NAME
    srv.extra[("zone " + ZONE_NAME, "role")] = "secondary"
    srv.extra[("zone " + ZONE_NAME, "primaries")] = "192.0.2.1"
    srv.write_config()
    srv.start()
    r = wait_for(lambda: notify(srv.dns_port, ZONE_NAME), 5, "a NOTIFY answer")
    assert r.rcode() == dns.rcode.REFUSED


def test_config_checks(outpost_factory):
    srv = outpost_factory(start=False)
    srv.extra[("zone " + ZONE_NAME, "file")] = "zones/%s.zone" % ZONE_NAME
    srv.extra[("zone " + ZONE_NAME, "role")] = "secondary"
    srv.write_config()
    r = srv.cli("check")
    assert r.returncode != 0 and b"primaries is required" in r.stderr
    srv.extra[("zone " + ZONE_NAME, "primaries")] = "not-an-address"
    srv.write_config()
    r = srv.cli("check")
    assert r.returncode != 0 and b"primaries" in r.stderr
    srv.extra[("zone " + ZONE_NAME, "primaries")] = "127.0.0.1:5300, [::1]"
    srv.write_config()
    r = srv.cli("check")
    assert r.returncode == 0, r.stderr


class Knot:
    """knotd in the foreground as the zone's primary, with a journal of
    changes so that it answers IXFR, notifying notify_port."""

    def __init__(self, root, notify_port):
        self.dir = root
        (self.dir / "db").mkdir(parents=True, exist_ok=True)
        self.port = free_dns_port()
        self.proc = None
        self.zonefile = self.dir / (ZONE_NAME + ".zone")
        self.conf = self.dir / "knot.conf"
        self.conf.write_text("""server:
    listen: 127.0.0.1@{port}
    rundir: "{dir}"
    user: root:root
database:
    storage: "{dir}/db"
control:
    listen: "{dir}/knot.sock"
log:
  - target: "{dir}/knot.log"
    any: info
remote:
  - id: outpost
    address: 127.0.0.1@{nport}
acl:
  - id: xfr
    address: 127.0.0.1
    action: transfer
template:
  - id: default
    storage: "{dir}"
    zonefile-load: difference
    journal-content: changes
    zonefile-sync: -1
zone:
  - domain: {zone}
    file: "{zonefile}"
    acl: xfr
    notify: outpost
""".format(port=self.port, dir=self.dir, nport=notify_port, zone=ZONE_NAME,
           zonefile=self.zonefile))

    write_zone = Nsd.write_zone
    reload = Nsd.reload
    stop = Nsd.stop

    def start(self):
        self.proc = subprocess.Popen(["knotd", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: query(self.port, ZONE_NAME, "SOA", timeout=0.5).rcode() ==
                 dns.rcode.NOERROR, 10, "Knot answers")


@pytest.mark.skipif(not shutil.which("knotd"), reason="knot is not installed")
def test_secondary_of_knot_by_ixfr(outpost_factory, tmp_path):
    srv = outpost_factory(start=False)
    knot = Knot(tmp_path / "knot", srv.dns_port)
    try:
        knot.write_zone(zone_text(1, refresh=3600, expire=7200,
                                  extra="gone IN TXT \"deleted by the IXFR\""))
        knot.start()
        srv.extra[("zone " + ZONE_NAME, "file")] = "zones/%s.zone" % ZONE_NAME
        srv.extra[("zone " + ZONE_NAME, "role")] = "secondary"
        srv.extra[("zone " + ZONE_NAME, "primaries")] = "127.0.0.1:%d" % knot.port
        srv.write_config()
        srv.start()
        assert wait_for(lambda: www_address(srv.dns_port), 15, "the first transfer") == \
            ("192.0.2.1", True)
        assert query(srv.dns_port, "gone." + ZONE_NAME, "TXT").answer
        # A change on Knot: its NOTIFY, then an IXFR of the differences.
        knot.write_zone(zone_text(2, refresh=3600, expire=7200, extra="new IN A 192.0.2.99"))
        knot.reload()
        assert wait_for(lambda: www_address(srv.dns_port) == ("192.0.2.2", True), 10,
                        "the IXFR")
        assert "serial 2 from 127.0.0.1:%d by IXFR" % knot.port in srv.stderr_text()
        assert query(srv.dns_port, "new." + ZONE_NAME).answer[0][0].address == "192.0.2.99"
        assert query(srv.dns_port, "gone." + ZONE_NAME, "TXT").rcode() == dns.rcode.NXDOMAIN
        text = (srv.data / "zones" / (ZONE_NAME + ".zone")).read_text()
        assert "192.0.2.99" in text and "deleted by the IXFR" not in text
    finally:
        knot.stop()


def test_chain_nsd_outpost_outpost(nsd_pair, outpost_factory):
    """NSD -> outpost A -> outpost B: A serves transfers and notifies B
    when a transfer from NSD brought a new serial; B follows by IXFR or
    AXFR from A."""
    a, nsd = nsd_pair
    # Long refresh timers: only NOTIFY can bring the change in time.
    nsd.write_zone(zone_text(1, refresh=3600, expire=7200))
    nsd.reload()
    time.sleep(1)
    b = outpost_factory(start=False)
    b.extra[("zone " + ZONE_NAME, "file")] = "zones/%s.zone" % ZONE_NAME
    b.extra[("zone " + ZONE_NAME, "role")] = "secondary"
    b.extra[("zone " + ZONE_NAME, "primaries")] = "127.0.0.1:%d" % a.dns_port
    b.write_config()
    a.extra[("zone " + ZONE_NAME, "allow_transfer")] = "127.0.0.1"
    a.extra[("zone " + ZONE_NAME, "notify")] = "127.0.0.1:%d" % b.dns_port
    a.write_config()
    a.start()
    assert wait_for(lambda: www_address(a.dns_port), 15, "A's first transfer")
    b.start()
    assert wait_for(lambda: www_address(b.dns_port), 15, "B's first transfer") == \
        ("192.0.2.1", True)
    nsd.write_zone(zone_text(2, refresh=3600, expire=7200))
    nsd.reload()
    assert wait_for(lambda: www_address(b.dns_port) == ("192.0.2.2", True), 15,
                    "the new serial passed on to B")
    assert "NOTIFY for sec.test. from 127.0.0.1" in b.stderr_text()
    assert "sec.test. serial 2: acknowledged" in a.stderr_text()
