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

import dns.message
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
