"""The whole path of a message between two domains, each served by its own
outpost on its own loopback address, with the same ports on both:

    crepes.fr       127.0.0.2   alice; also the authoritative DNS for both
                                domains (MX records), and the resolver of both
    hamburger.edu   127.0.0.3   bob

Alice submits with smtplib (submission, STARTTLS, AUTH PLAIN); her server
queues the message, finds hamburger.edu's server by MX and delivers it over
SMTP (STARTTLS: the receiving server offers it); Bob reads it with poplib,
byte for byte what Alice sent apart from the trace header fields the servers
added in front (Received:, Return-Path:). With the receiving server stopped,
the message waits in Alice's server's queue (`outpost queue list`) and goes
out after `outpost queue flush` once the receiver is back. A recipient that
does not exist is refused by the receiving server, and Alice gets a bounce
(multipart/report) in her mailbox.
"""

import email
import os
import poplib
import smtplib
import subprocess
import time

import pytest

from conftest import (OUTPOST_BIN, START_TIMEOUT, WRONG_PASSWORDS, Outpost,
                      insecure_tls_context, port_open, sanitizer_reports)
from mailpeer import free_port_on, queue_flush, queue_list, strip_trace, wait_for, zone

CREPES, HAMBURGER = "127.0.0.2", "127.0.0.3"

MESSAGE = (b"From: Alice <alice@crepes.fr>\r\n"
           b"To: Bob <bob@hamburger.edu>\r\n"
           b"Subject: =?utf-8?q?cr=C3=AApes_et_hamburgers?=\r\n"
           b"Message-ID: <path.1@crepes.fr>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=us-ascii\r\n"
           b"\r\n"
           b"Dear Bob,\r\n"
           b".\r\n"
           b"..a line of dots, and one that starts with a dot:\r\n"
           b".signature follows\r\n"
           b"\r\n"
           b"-- \r\n"
           b"Alice\r\n")


class Host(Outpost):
    """An outpost serving one domain on one loopback address."""

    def __init__(self, root, addr, domain, ports, dns_zones=None, accounts=()):
        self.addr, self.domain, self.ports = addr, domain, ports
        self.serves_dns = dns_zones is not None
        super().__init__(root, accounts=accounts)
        for name, text in (dns_zones or {}).items():
            self.add_zone(name, text)

    def config_sections(self):
        sec = super().config_sections()
        p = self.ports
        sec["server"]["hostname"] = "mail." + self.domain
        sec["mail"] = {"default_domain": self.domain}
        sec["pop3"] = {"listen": "%s:%d" % (self.addr, p["pop3"]), "listen_tls": ""}
        sec["dns"] = {"listen": "%s:%d" % (self.addr, p["dns"]) if self.serves_dns else ""}
        sec["smtp"] = {"listen": "%s:%d" % (self.addr, p["smtp"]),
                       "listen_submission": "%s:%d" % (self.addr, p["submission"]),
                       "listen_submissions": ""}
        sec["queue"] = {"resolver": "%s:%d" % (CREPES, p["dns"]),
                        "smtp_port": str(p["smtp"]), "smtp_timeout": "5s",
                        "connect_timeout": "2s"}
        return sec

    def start(self, wait_tls=False):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.pop3_port = self.ports["pop3"]
        # Outpost.start waits for the POP3 port on 127.0.0.1; ours are elsewhere.
        self.check_stderr()
        self.starts += 1
        mode = "ab" if self.starts > 1 else "wb"
        with open(self.stderr_path, mode) as err, open(self.stdout_path, mode) as out:
            self.proc = subprocess.Popen([OUTPOST_BIN, "serve", "-c", str(self.conf)],
                                         stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=self.server_env())
        pidfile = os.environ.get("OUTPOST_TEST_PIDFILE")
        if pidfile:
            with open(pidfile, "a") as f:
                f.write("%d\n" % self.proc.pid)
        deadline = time.monotonic() + START_TIMEOUT
        for port in (self.ports["pop3"], self.ports["smtp"], self.ports["submission"]):
            while not port_open(port, self.addr):
                if self.proc.poll() is not None:
                    raise AssertionError("outpost serve exited %d at start:\n%s" % (
                        self.proc.returncode, self.stderr_tail()))
                if time.monotonic() > deadline:
                    raise AssertionError("port %s:%d not open:\n%s" % (
                        self.addr, port, self.stderr_tail()))
                time.sleep(0.05)
        return self

    def pop3_messages(self, address):
        """Every message in address's mailbox, read with poplib (RETR), as
        the bytes sent (lines joined with CRLF)."""
        p = poplib.POP3(self.addr, self.ports["pop3"], timeout=15)
        try:
            p.user(address)
            p.pass_(self.passwords[address])
            count, _ = p.stat()
            out = []
            for i in range(1, count + 1):
                _, lines, _ = p.retr(i)
                out.append(b"\r\n".join(lines) + b"\r\n")
            return out
        finally:
            p.quit()


@pytest.fixture
def domains(tmp_path):
    ports = {}
    for name in ("smtp", "submission", "pop3", "dns"):
        while True:
            port = free_port_on(CREPES, HAMBURGER)
            if port not in ports.values():
                ports[name] = port
                break
    zones = {
        "crepes.fr": zone("crepes.fr", ["@ IN MX 10 mail", "mail IN A %s" % CREPES],
                          ns_addr=CREPES),
        "hamburger.edu": zone("hamburger.edu", ["@ IN MX 10 mail",
                                                "mail IN A %s" % HAMBURGER], ns_addr=CREPES),
    }
    crepes = Host(tmp_path / "crepes", CREPES, "crepes.fr", ports, dns_zones=zones,
                  accounts=("alice@crepes.fr",))
    hamburger = Host(tmp_path / "hamburger", HAMBURGER, "hamburger.edu", ports,
                     accounts=("bob@hamburger.edu",))
    servers = [crepes, hamburger]
    yield crepes, hamburger
    errors = []
    for srv in servers:
        try:
            if srv.running():
                srv.stop()
        except AssertionError as e:
            errors.append(str(e))
        text = srv.stderr_text() + srv.stdout_text()
        if sanitizer_reports(text):
            errors.append("sanitizer report in %s's output:\n%s" % (srv.domain, text[-8000:]))
        for pw in list(srv.passwords.values()) + list(WRONG_PASSWORDS):
            if pw in text:
                errors.append("a password appears in %s's output" % srv.domain)
    assert not errors, "\n".join(errors)


def submit(srv, rcpts, msg=MESSAGE, sender="alice@crepes.fr"):
    with smtplib.SMTP(srv.addr, srv.ports["submission"], timeout=30) as s:
        s.ehlo("laptop.crepes.fr")
        s.starttls(context=insecure_tls_context())
        s.ehlo("laptop.crepes.fr")
        s.login(sender, srv.passwords[sender])
        assert not s.sendmail(sender, rcpts, msg)


def test_message_from_crepes_to_hamburger(domains):
    crepes, hamburger = domains
    crepes.start()
    hamburger.start()
    submit(crepes, ["bob@hamburger.edu"])
    got = wait_for(lambda: hamburger.pop3_messages("bob@hamburger.edu"),
                   what="the message in Bob's mailbox")
    assert len(got) == 1
    assert strip_trace(got[0]) == MESSAGE
    # Both servers added their trace: Return-Path at final delivery, then
    # the receiving server's Received above the submission server's.
    head = got[0].split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"Return-Path: <alice@crepes.fr>\r\n")
    assert head.count(b"\r\nReceived: ") == 2
    log = crepes.stderr_text()
    assert "mail.hamburger.edu[%s]: TLS TLSv1." % HAMBURGER in log
    assert "<bob@hamburger.edu> via mail.hamburger.edu[%s]: 250" % HAMBURGER in log
    wait_for(lambda: "bob@hamburger.edu" not in queue_list(crepes), what="an empty queue")


def test_message_waits_while_the_receiver_is_down(domains):
    crepes, hamburger = domains
    crepes.start()
    submit(crepes, ["bob@hamburger.edu"])
    listing = wait_for(lambda: (lambda t: "Connection refused" in t and t)(queue_list(crepes)),
                       what="the failed attempt in queue list")
    assert "bob@hamburger.edu" in listing and "alice@crepes.fr" in listing
    hamburger.start()
    queue_flush(crepes)
    got = wait_for(lambda: hamburger.pop3_messages("bob@hamburger.edu"),
                   what="the message in Bob's mailbox")
    assert [strip_trace(m) for m in got] == [MESSAGE]
    wait_for(lambda: "bob@hamburger.edu" not in queue_list(crepes), what="an empty queue")
    # No bounce: the failure was temporary.
    assert crepes.pop3_messages("alice@crepes.fr") == []


def test_unknown_recipient_bounces_to_alice(domains):
    crepes, hamburger = domains
    crepes.start()
    hamburger.start()
    submit(crepes, ["nobody@hamburger.edu", "bob@hamburger.edu"])
    assert wait_for(lambda: hamburger.pop3_messages("bob@hamburger.edu"))
    got = wait_for(lambda: crepes.pop3_messages("alice@crepes.fr"),
                   what="a bounce in Alice's mailbox")
    assert len(got) == 1
    b = email.message_from_bytes(got[0])
    assert b.get_content_type() == "multipart/report"
    assert b.get_param("report-type") == "delivery-status"
    status = [p for p in b.walk() if p.get_content_type() == "message/delivery-status"]
    assert status
    text = "".join(str(p) for p in status[0].get_payload())
    assert "nobody@hamburger.edu" in text
    assert "5.1.1" in text
    assert "bob@hamburger.edu" not in text
    assert "mail.hamburger.edu" in text     # Remote-MTA
