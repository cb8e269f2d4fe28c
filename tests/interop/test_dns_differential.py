"""Differential test: outpost's authoritative DNS server against NSD, given the
same zone and the same queries, answers compared section by section.

One zone of about 300 names is generated with tests/data/zonegen.py (SOA,
apex NS with glue, MX, TXT, CAA, hosts with A and AAAA, SRV, CNAMEs and
chains of them, CNAMEs out of the zone and to a missing name, a wildcard and
a wildcard CNAME, delegations with glue, empty non-terminals, RRsets too
large for 512 octets). Both servers load it; then a few thousand queries
(names that exist, NXDOMAIN, NODATA, wildcard, delegation, CNAME, outside
the zone, ANY, in mixed case; without EDNS and with payload sizes from 256
to 4096, so that some answers must be truncated; most over UDP, some over
TCP) are sent to each with dnspython, the same message to both.

Compared: the RCODE (with the extended bits), the flags QR, AA, TC, RD and
RA, the opcode, whether there is an OPT record, its version and its DO bit
(one EDNS query in eight sets DO; the zone is not signed), the question
(octet for octet, so the case of a 0x20-mixed name must come back as sent),
and each section as a set of RRsets (owner without regard to case, type,
class, TTL and the set of RDATA in canonical form): the order of records
and of RRsets, the message ID and name compression are not compared.

Differences that the RFCs leave to the server are counted as allowed and
printed in a summary, never failed:

- the EDNS payload size a server announces (RFC 6891 section 6.2.3);
- what a truncated (TC) answer holds besides its header and question: the
  client discards it and asks again over TCP (RFC 2181 section 9, RFC 7766);
- ANY (RFC 8482): any non-empty set of the RRsets at the name, or a
  synthesised HINFO, is a right answer;
- the additional section's addresses of MX, SRV and name-server targets
  (RFC 1034 section 4.3.2 step 6, RFC 2782): which are added and how many
  fit is the server's choice, except that a referral must carry the glue of
  its in-domain name servers when it fits (RFC 9471);
- the apex NS RRset in the authority section of a positive answer (RFC 1034
  section 4.3.2 step 3a allows it, RFC 2181 section 6.1 does not require it);
  likewise its addresses in the additional section;
- TC on a UDP referral whose in-domain glue does not all fit, where NSD
  leaves some glue out without TC: RFC 9471 (2023, after NSD 4.6) requires
  TC there. The other way round is a failure: the server compared with NSD
  must set TC whenever it leaves out in-domain glue of a UDP referral, even
  where NSD does not (checked on its own, from the zone's data).

What NSD 4.6 itself does among these choices: it puts the apex NS RRset in
the authority section of every positive answer, with the name servers'
addresses in the additional section, and answers ANY with one RRset. Knot
3.2 (DIFF_PEER=knot) adds neither; and for the referral of a delegation
with 13 in-zone name servers (bigdeleg) NSD sends part of the glue without
TC, Knot sets TC. Over about 4,000 queries that is all the two differ in
(besides which RRset each picks for ANY): RCODEs, the other flags, the
other truncations, answers, CNAME chains, wildcards, referrals and negative
answers (SOA TTLs included) agree.

outpost's own deliberate differences from NSD, once it answers, fall under
these: it answers ANY minimally (RFC 8482), with one RRset.

The servers: NSD in the foreground (nsd -d) with a config of its own in a
fresh directory, one server process, response-rate limiting off; outpost
from conftest's factory with [dns] and [zone] sections added. Until outpost
serves DNS (its config check refuses the [dns] section, or it does not answer
the zone's SOA), the test is skipped with the reason. DIFF_PEER=knot compares
NSD with Knot instead of outpost (a check of the harness itself; Knot in the
foreground, knotd -c, one worker of each kind). DIFF_QUERIES sets the number
of generated queries (default 4000); DIFF_REPORT=FILE writes every
difference found to FILE.
"""

import collections
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

dns = pytest.importorskip("dns")
import dns.edns  # noqa: E402
import dns.exception  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402

from conftest import OUTPOST_BIN, REPO  # noqa: E402

sys.path.insert(0, str(REPO / "tests" / "data"))
import zonegen  # noqa: E402

ZONE = "bench.test"
NAMES = 300
SEED = "differential"
N_QUERIES = int(os.environ.get("DIFF_QUERIES", "4000"))
PEER = os.environ.get("DIFF_PEER", "outpost")
REPORT = os.environ.get("DIFF_REPORT")
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
IO_TIMEOUT = 3.0
TIME_BUDGET = 50.0              # seconds for all the queries; the test stops asking after that
EDNS_SIZES = (None, None, None, 256, 512, 512, 600, 1232, 1232, 1232, 4096)
TCP_SHARE = 0.1

NSD_BIN = shutil.which("nsd") or "/usr/sbin/nsd"
KNOT_BIN = shutil.which("knotd") or "/usr/sbin/knotd"


# ---- servers ---------------------------------------------------------------------------------

def free_dns_port():
    """A port of 127.0.0.1 free for both UDP and TCP right now."""
    for _ in range(100):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise AssertionError("no free port for UDP and TCP")


def answers_soa(port, timeout=0.3):
    q = dns.message.make_query(ZONE + ".", "SOA", use_edns=False)
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
    except (OSError, dns.exception.DNSException):
        return False
    return (r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
            and any(rr.rdtype == dns.rdatatype.SOA for rr in r.answer))


def wait_soa(port, proc, timeout=START_TIMEOUT):
    """True once the server at port answers the zone's SOA; False if proc ended or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if answers_soa(port):
            return True
        time.sleep(0.05)
    return False


class PeerDNS:
    """NSD or Knot in the foreground, with its config in a directory of its own."""

    def __init__(self, kind, zonefile):
        self.kind = kind
        self.dir = Path(tempfile.mkdtemp(prefix="outpost-diff-%s." % kind))
        self.port = free_dns_port()
        self.proc = None
        self.log = self.dir / "stderr.log"
        if kind == "nsd":
            (self.dir / "xfr").mkdir()
            conf = self.dir / "nsd.conf"
            conf.write_text(
                "server:\n"
                "    server-count: 1\n"
                "    ip-address: 127.0.0.1@%d\n"
                "    port: %d\n"
                "    do-ip6: no\n"
                '    username: ""\n'
                '    chroot: ""\n'
                '    zonesdir: "%s"\n'
                '    database: ""\n'
                '    zonelistfile: "%s/zone.list"\n'
                '    xfrdfile: "%s/xfrd.state"\n'
                '    xfrdir: "%s/xfr"\n'
                '    pidfile: "%s/nsd.pid"\n'
                '    logfile: "%s/nsd.log"\n'
                "    rrl-ratelimit: 0\n"
                "remote-control:\n"
                "    control-enable: no\n"
                "zone:\n"
                "    name: %s\n"
                '    zonefile: "%s"\n'
                % ((self.port, self.port) + (self.dir,) * 6 + (ZONE, zonefile)))
            self.cmd = [NSD_BIN, "-d", "-c", str(conf)]
        else:
            (self.dir / "run").mkdir()
            (self.dir / "storage").mkdir()
            conf = self.dir / "knot.conf"
            conf.write_text(
                "server:\n"
                '    rundir: "%s/run"\n'
                '    pidfile: "%s/knot.pid"\n'
                "    listen: 127.0.0.1@%d\n"
                "    udp-workers: 1\n"
                "    tcp-workers: 1\n"
                "    background-workers: 1\n"
                "log:\n"
                "  - target: stderr\n"
                "    any: warning\n"
                "database:\n"
                '    storage: "%s/storage"\n'
                "template:\n"
                "  - id: default\n"
                '    storage: "%s/storage"\n'
                "    journal-content: none\n"
                "    zonefile-sync: -1\n"
                "zone:\n"
                "  - domain: %s\n"
                '    file: "%s"\n'
                % (self.dir, self.dir, self.port, self.dir, self.dir, ZONE, zonefile))
            self.cmd = [KNOT_BIN, "-c", str(conf)]

    def start(self):
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err)
        pidfile = os.environ.get("OUTPOST_TEST_PIDFILE")
        if pidfile:     # tests/run.sh stops what a killed pytest left (its config path says outpost)
            with open(pidfile, "a") as f:
                f.write("%d\n" % self.proc.pid)
        if not wait_soa(self.port, self.proc):
            text = self.log.read_text(errors="replace")[-2000:]
            for extra in self.dir.glob("*.log"):
                text += extra.read_text(errors="replace")[-2000:]
            self.stop()
            raise AssertionError("%s did not answer %s SOA on port %d:\n%s" % (
                self.kind, ZONE, self.port, text))
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def _need_binary():
    """conftest's check, needed only when outpost is one of the two."""
    if PEER == "outpost" and not os.access(OUTPOST_BIN, os.X_OK):
        pytest.fail("%s is not built (make asan)" % OUTPOST_BIN)


@pytest.fixture
def zone(tmp_path):
    z = zonegen.make_zone(ZONE, names=NAMES, seed=SEED)
    # pytest's tmp_path is in a 0700 directory; the servers run as root, so it is readable.
    path = tmp_path / (ZONE + ".zone")
    z.write(path)
    return z, path


def start_peer(kind, zonefile):
    binary = NSD_BIN if kind == "nsd" else KNOT_BIN
    if not os.access(binary, os.X_OK):
        pytest.skip("%s is not installed (scripts/setup.sh test)" % kind)
    return PeerDNS(kind, zonefile).start()


@pytest.fixture
def nsd(zone):
    srv = start_peer("nsd", zone[1])
    yield srv
    srv.stop()


@pytest.fixture
def other(zone, outpost_factory):
    """The server compared with NSD: outpost, or Knot with DIFF_PEER=knot. Its DNS port."""
    if PEER == "knot":
        srv = start_peer("knot", zone[1])
        yield "Knot", srv.port
        srv.stop()
        return
    port = free_dns_port()
    srv = outpost_factory(config={
        ("dns", "listen"): "127.0.0.1:%d" % port,
        ("dns", "rrl_rate"): "0",
        ("zone %s" % ZONE, "file"): str(zone[1]),
        ("zone %s" % ZONE, "role"): "primary",
    }, accounts=(), start=False, name="outpost-dns")
    r = srv.cli("check")
    if r.returncode != 0:
        said = (r.stderr + r.stdout).decode(errors="replace").strip().splitlines()
        pytest.skip("outpost does not serve DNS yet: its config check refuses the DNS "
                    "sections: %s" % (said[0][:200] if said else "exit %d" % r.returncode))
    srv.start()
    if not wait_soa(port, srv.proc):
        pytest.skip("outpost does not answer %s SOA on 127.0.0.1:%d" % (ZONE, port))
    yield "outpost", port


# ---- queries ---------------------------------------------------------------------------------

def make_cases(z, count, seed):
    """[(qname, qtype, tcp, edns_payload or None, rd)]: generated, plus fixed hard cases."""
    rng = random.Random(seed)
    pairs = zonegen.make_queries(z, count, seed=seed, mixed_case=0.15)
    fq = z.fqdn
    for n in z.big:                                         # truncation at every size
        t = {"many-a": "A", "long-txt": "TXT", "big-mx": "MX", "bigdeleg": "A"}[n]
        pairs += [(fq(n), t)] * 6 + [(fq("www." + n), t)] * 6
    for n in ("@", rng.choice(z.hosts), rng.choice(z.aliases), "x.wild", "many-a"):
        pairs.append((fq(n), "ANY"))
    for d in z.delegations:
        pairs += [(fq(d), "NS"), (fq(d), "DS"), (fq("a.b." + d), "A"), (fq("ns1." + d), "A")]
    for n in z.chains + z.out_aliases + z.dangling:
        pairs += [(fq(n), "A"), (fq(n), "CNAME")]
    pairs += [(fq("ent"), "A"), (fq("b.ent"), "TXT"), (fq("sub.explicit.wild"), "A"),
              (fq("explicit.wild"), "TXT"), (fq("a.b.c.wild"), "AAAA"), (fq("x.cdnw"), "MX"),
              ("www.example.com.", "A"), ("test.", "SOA"), (fq("@").upper(), "SOA"),
              (fq("_dmarc"), "TXT"), (fq("ns1"), "AAAA"), (fq("mx2"), "AAAA")]
    cases = []
    for i, (qname, qtype) in enumerate(pairs):
        # The fixed cases take every transport and size in turn, the generated ones at random.
        if i >= count:
            edns = EDNS_SIZES[i % len(EDNS_SIZES)]
            tcp = i % 7 == 0
        else:
            edns = rng.choice(EDNS_SIZES)
            tcp = rng.random() < TCP_SHARE
        cases.append((qname, qtype, tcp, edns, rng.random() < 0.7))
    return cases


def build_query(qname, qtype, edns, rd):
    if edns is None:
        q = dns.message.make_query(qname, qtype, use_edns=False)
    else:
        # One query in eight with EDNS sets DO (RFC 3225: the response copies it).
        do = sum(map(ord, qname + qtype)) % 8 == 0
        q = dns.message.make_query(qname, qtype, use_edns=0, payload=edns, want_dnssec=do)
    if not rd:
        q.flags &= ~dns.flags.RD
    return q


class Asker:
    def __init__(self, port):
        self.port = port
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))

    def close(self):
        self.udp.close()

    def ask(self, q, tcp):
        """The response (dns.message.Message), or a string saying what went wrong."""
        try:
            if tcp:
                return dns.query.tcp(q, "127.0.0.1", port=self.port, timeout=IO_TIMEOUT)
            return dns.query.udp(q, "127.0.0.1", port=self.port, timeout=IO_TIMEOUT,
                                 sock=self.udp, ignore_unexpected=True)
        except dns.exception.Timeout:
            return "no answer"
        except (OSError, dns.exception.DNSException) as e:
            return "bad answer: %s" % type(e).__name__


# ---- comparison ------------------------------------------------------------------------------

FLAGS = (("QR", dns.flags.QR), ("AA", dns.flags.AA), ("TC", dns.flags.TC),
         ("RD", dns.flags.RD), ("RA", dns.flags.RA))
ADDR_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA)


RDATA_TEXT = {}                 # key -> a few of its RDATA in text form, for the messages


def rrset_key(rrset):
    key = (rrset.name.to_text().lower(), rrset.rdclass, rrset.rdtype, rrset.covers, rrset.ttl,
           frozenset(rd.to_digestable() for rd in rrset))
    if key not in RDATA_TEXT and len(RDATA_TEXT) < 100000:
        texts = sorted(rd.to_text() for rd in rrset)
        RDATA_TEXT[key] = ", ".join(texts[:2]) + (", ..." if len(texts) > 2 else "")
    return key


def section(rrsets):
    return {rrset_key(r) for r in rrsets}


def show_key(k):
    return "%s %d %s %s [%s]" % (k[0], k[4], dns.rdataclass.to_text(k[1]),
                                 dns.rdatatype.to_text(k[2]), RDATA_TEXT.get(k, "%d" % len(k[5])))


def flag_text(m):
    return " ".join(n for n, f in FLAGS if m.flags & f) or "-"


def targets(rrsets):
    """Names that additional-section processing may give addresses for."""
    out = set()
    for r in rrsets:
        for rd in r:
            if r.rdtype == dns.rdatatype.MX:
                out.add(rd.exchange.to_text().lower())
            elif r.rdtype == dns.rdatatype.NS:
                out.add(rd.target.to_text().lower())
            elif r.rdtype == dns.rdatatype.SRV:
                out.add(rd.target.to_text().lower())
    return out


def cut_of(m):
    """The delegation point if m is a referral (no answer, NS below the apex, AA clear)."""
    if m.answer or m.flags & dns.flags.AA or m.rcode() != dns.rcode.NOERROR:
        return None
    for r in m.authority:
        if r.rdtype == dns.rdatatype.NS and r.name.to_text().lower() != ZONE + ".":
            return r.name.to_text().lower()
    return None


def missing_glue(m, glue):
    """In-domain name servers of referral m whose address RRsets are not all in m's
    additional section (RFC 9471 asks for all of them, or TC)."""
    cut = cut_of(m)
    if cut is None:
        return []
    have = collections.Counter(r.name.to_text().lower() for r in m.additional
                               if r.rdtype in ADDR_TYPES)
    out = []
    for r in m.authority:
        if r.rdtype != dns.rdatatype.NS:
            continue
        for rd in r:
            t = rd.target.to_text().lower()
            if (t == cut or t.endswith("." + cut)) and have[t] < glue.get(t, 0):
                out.append(t)
    return out


def compare(q, a, b, glue=None):
    """[(allowed, category, text)] for responses a (NSD) and b (the other) to q.
    glue: the number of address RRsets (A, AAAA) of each name in the zone."""
    glue = glue or {}
    out = []
    if isinstance(a, str) or isinstance(b, str):
        if not (isinstance(a, str) and isinstance(b, str)):
            out.append((False, "transport", "NSD: %s; other: %s" % (
                a if isinstance(a, str) else "answered", b if isinstance(b, str) else "answered")))
        return out
    for who, m in (("NSD", a), ("other", b)):
        if m.question and m.question[0].name.to_text() != q.question[0].name.to_text():
            out.append((False, "question", "%s echoed %s" % (who, m.question[0].name)))
    if a.rcode() != b.rcode():
        out.append((False, "rcode", "%s vs %s" % (dns.rcode.to_text(a.rcode()),
                                                  dns.rcode.to_text(b.rcode()))))
    if a.opcode() != b.opcode():
        out.append((False, "opcode", "%d vs %d" % (a.opcode(), b.opcode())))
    fa = {n for n, f in FLAGS if a.flags & f}
    fb = {n for n, f in FLAGS if b.flags & f}
    tcp = getattr(q, "tcp", False)      # set by the test for a query sent over TCP
    rfc9471 = False
    if not tcp and not b.flags & dns.flags.TC and missing_glue(b, glue):
        out.append((False, "referral glue", "other leaves out the glue of %s without TC "
                    "(RFC 9471)" % ", ".join(sorted(set(missing_glue(b, glue))))))
    if fa ^ fb == {"TC"} and not tcp:
        # A referral whose in-domain glue does not fit: RFC 9471 asks for TC.
        no_tc = b if "TC" in fa else a
        rfc9471 = bool(missing_glue(no_tc, glue))
    if fa != fb:
        out.append((rfc9471, "referral TC (RFC 9471)" if rfc9471 else "flags",
                    "%s vs %s" % (flag_text(a), flag_text(b))))
    if rfc9471:
        return out
    if (a.edns, a.opt is not None) != (b.edns, b.opt is not None):
        out.append((False, "edns", "OPT version %s vs %s" % (a.edns, b.edns)))
    elif a.opt is not None and a.payload != b.payload:
        out.append((True, "edns payload", "%d vs %d" % (a.payload, b.payload)))
    if a.opt is not None and b.opt is not None and \
            (a.ednsflags ^ b.ednsflags) & dns.flags.DO:
        out.append((False, "edns DO", "DO %d vs %d" % (bool(a.ednsflags & dns.flags.DO),
                                                        bool(b.ednsflags & dns.flags.DO))))
    if a.flags & b.flags & dns.flags.TC:
        sa = [section(a.answer), section(a.authority), section(a.additional)]
        sb = [section(b.answer), section(b.authority), section(b.additional)]
        if sa != sb:
            out.append((True, "truncated content", "answer %d/%d, authority %d/%d, "
                        "additional %d/%d RRsets" % (len(sa[0]), len(sb[0]), len(sa[1]),
                                                      len(sb[1]), len(sa[2]), len(sb[2]))))
        return out
    qname = q.question[0].name.to_text().lower()
    # Answer section.
    an_a, an_b = section(a.answer), section(b.answer)
    if q.question[0].rdtype == dns.rdatatype.ANY:
        ok = all(an and all(k[0] == qname for k in an) for an in (an_a, an_b))
        if an_a != an_b:
            out.append((ok, "ANY" if ok else "answer", "%d vs %d RRsets" % (len(an_a), len(an_b))))
    elif an_a != an_b:
        out.append((False, "answer", "only NSD: %s; only other: %s" % (
            ", ".join(map(show_key, sorted(an_a - an_b))) or "-",
            ", ".join(map(show_key, sorted(an_b - an_a))) or "-")))
    # Authority section: the apex NS in a positive answer is optional.
    apex = ZONE + "."
    au_a, au_b = section(a.authority), section(b.authority)
    if au_a != au_b:
        diff = au_a ^ au_b
        optional = (an_a or an_b) and all(k[0] == apex and k[2] == dns.rdatatype.NS for k in diff)
        out.append((bool(optional), "authority NS" if optional else "authority",
                    "only NSD: %s; only other: %s" % (
                        ", ".join(map(show_key, sorted(au_a - au_b))) or "-",
                        ", ".join(map(show_key, sorted(au_b - au_a))) or "-")))
    # Additional section: addresses of targets are optional, but a referral's in-domain glue
    # must be there (it fitted: the answer was not truncated).
    ad_a, ad_b = section(a.additional), section(b.additional)
    if ad_a != ad_b:
        may = targets(a.answer) | targets(a.authority) | targets(b.answer) | targets(b.authority)
        referral = not (a.answer or b.answer) and any(
            r.rdtype == dns.rdatatype.NS and r.name.to_text().lower() != apex
            for r in list(a.authority) + list(b.authority))
        bad = []
        for k in ad_a ^ ad_b:
            if k[2] not in ADDR_TYPES or k[0] not in may:
                bad.append(k)
            elif referral and k[0].endswith("." + referral_cut(a, b)):
                bad.append(k)
        out.append((not bad, "additional" if bad else "additional addresses",
                    "only NSD: %s; only other: %s" % (
                        ", ".join(map(show_key, sorted(ad_a - ad_b))) or "-",
                        ", ".join(map(show_key, sorted(ad_b - ad_a))) or "-")))
    return out


def referral_cut(a, b):
    for r in list(a.authority) + list(b.authority):
        if r.rdtype == dns.rdatatype.NS:
            return r.name.to_text().lower()
    return "."


def describe(case):
    qname, qtype, tcp, edns, rd = case
    return "%s %s %s %s%s" % (qname, qtype, "TCP" if tcp else "UDP",
                              "no EDNS" if edns is None else "EDNS %d" % edns, "" if rd else " RD=0")


# ---- the test --------------------------------------------------------------------------------

def test_same_answers_as_nsd(zone, nsd, other):
    z, _ = zone
    other_name, other_port = other
    cases = make_cases(z, N_QUERIES, SEED)
    glue = collections.Counter()
    for owner, _, rtype, _ in {(o, 0, t, 0) for o, _, t, _ in z.records}:
        if rtype in ("A", "AAAA"):
            glue[z.fqdn(owner)] += 1
    ask_a, ask_b = Asker(nsd.port), Asker(other_port)
    found = []                      # (allowed, category, text, case)
    asked = 0
    seen = collections.Counter()    # what NSD's answers covered
    deadline = time.monotonic() + TIME_BUDGET
    try:
        for case in cases:
            if time.monotonic() > deadline:
                break
            q = build_query(case[0], case[1], case[3], case[4])
            q.tcp = case[2]
            a = ask_a.ask(q, case[2])
            b = ask_b.ask(q, case[2])
            asked += 1
            if not isinstance(a, str):
                seen[dns.rcode.to_text(a.rcode())] += 1
                seen["TC"] += bool(a.flags & dns.flags.TC)
                seen["referral"] += bool(not a.answer and not a.flags & dns.flags.AA
                                         and a.rcode() == dns.rcode.NOERROR)
                seen["NODATA"] += bool(not a.answer and a.flags & dns.flags.AA
                                       and a.rcode() == dns.rcode.NOERROR)
                seen["CNAME"] += any(r.rdtype == dns.rdatatype.CNAME for r in a.answer)
            seen["TCP"] += case[2]
            seen["DO"] += bool(q.ednsflags & dns.flags.DO)
            seen["mixed case"] += case[0] != case[0].lower()
            for allowed, cat, text in compare(q, a, b, glue):
                found.append((allowed, cat, text.replace("other", other_name), case))
    finally:
        ask_a.close()
        ask_b.close()

    lines = ["%d of %d queries asked (NSD against %s on the same zone of %d records)" % (
        asked, len(cases), other_name, len(z.records)),
        "queries and NSD's answers: " + ", ".join("%s %d" % kv for kv in sorted(seen.items()))]
    summary = collections.Counter((allowed, cat) for allowed, cat, _, _ in found)
    for (allowed, cat), n in sorted(summary.items()):
        ex = [f for f in found if (f[0], f[1]) == (allowed, cat)][:3]
        lines.append("%s %-22s %5d   e.g. %s" % ("allowed " if allowed else "DIFFERS ", cat, n,
                                                 " | ".join("%s: %s" % (describe(c), t)
                                                            for _, _, t, c in ex)))
    print("\n".join(lines))
    if REPORT:
        with open(REPORT, "w") as f:
            f.write("\n".join(lines) + "\n\n")
            for allowed, cat, text, case in found:
                f.write("%s\t%s\t%s\t%s\n" % ("allowed" if allowed else "DIFFERS", cat,
                                             describe(case), text))
    assert asked >= min(len(cases), 1000), "only %d queries within %ds" % (asked, TIME_BUDGET)
    real = [f for f in found if not f[0]]
    assert not real, "%d answers differ:\n%s" % (len(real), "\n".join(lines))
