"""Outgoing delivery: outpost's queue runners hand mail to a real SMTP server
written elsewhere (aiosmtpd, Debian's python3-aiosmtpd), found through MX
records that outpost's own authoritative DNS serves.

Each test runs one outpost with a [zone remote.test] and [queue] resolver
pointing at its own DNS port, [queue] smtp_port at the port every peer
listens on (each on its own 127.0.0.x address), and a short smtp_timeout.
Mail goes in over submission (smtplib with STARTTLS and AUTH) from
alice@example.test, a local account, so notifications come back to her
Maildir.

What is checked: MX preference order with a dead first host; STARTTLS used
when offered; MAIL, RCPT and DATA pipelined in one write when PIPELINING is
offered, and not otherwise; one connection for several recipients of one
host; the message arrives byte for byte (apart from the Received: header the
submission server adds); a temporary failure stays queued with its
diagnostic and goes out after `outpost queue flush`; 5xx replies, null MX
(RFC 7505), NXDOMAIN, SIZE over the peer's limit, SMTPUTF8 and 8BITMIME the
peer lacks: a multipart/report bounce to the sender; servers that hang or
answer garbage and a resolver that answers SERVFAIL: temporary, the message
stays queued and the server stays up. An attempt cut by SIGTERM is not
counted; the loop guard sees domains made local after start; a host reached
over IPv6 (::1) through an AAAA record.
"""

import email
import signal
import smtplib
import socket
import threading

import pytest

from conftest import free_dns_port, insecure_tls_context
from mailpeer import (PeerSMTP, RawPeer, free_port_on, maildir_messages, queue_flush,
                      queue_list, strip_trace, wait_for, zone)

PEERS = ("127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8")

ZONE = [
    "@ IN MX 10 mx1",            # nothing listens there: connection refused
    "@ IN MX 20 mx2",
    "mx1 IN A 127.0.0.5",
    "mx2 IN A 127.0.0.6",
    "implicit IN A 127.0.0.6",   # no MX: the domain's own address (RFC 5321 5.1)
    "xn--bcher-kva IN A 127.0.0.6",   # bücher.remote.test
    "nullmx IN MX 0 .",          # RFC 7505
    "stuck IN MX 10 hang",
    "stuck IN MX 20 junk",
    "hang IN A 127.0.0.7",
    "junk IN A 127.0.0.8",
    "v6 IN MX 10 mx6",           # reachable over IPv6 only
    "mx6 IN AAAA ::1",
]

MESSAGE = (b"From: Alice <alice@example.test>\r\n"
           b"To: Carol <carol@remote.test>\r\n"
           b"Subject: outgoing\r\n"
           b"Message-ID: <outgoing.1@example.test>\r\n"
           b"\r\n"
           b"First line.\r\n"
           b".A line that starts with a dot.\r\n"
           b"..Two dots.\r\n"
           b".\r\n"
           b"Last line.\r\n")


@pytest.fixture
def sender(outpost_factory):
    """An outpost that sends mail out (not started: tests add settings)."""
    peer_port = free_port_on(*PEERS)

    def make(extra=None, start=True):
        config = {
            ("queue", "smtp_port"): str(peer_port),
            ("queue", "smtp_timeout"): "3s",
            ("queue", "connect_timeout"): "2s",
        }
        config.update(extra or {})
        srv = outpost_factory(config=config, start=False)
        srv.peer_port = peer_port
        srv.add_zone("remote.test", zone("remote.test", ZONE))
        if ("queue", "resolver") not in config:
            srv.extra[("queue", "resolver")] = "127.0.0.1:%d" % srv.dns_port
            srv.write_config()
        if start:
            srv.start()
        return srv

    return make


@pytest.fixture
def peers(tmp_path):
    started = []

    def make(host, **kw):
        p = kw.pop("raw", None)
        if p:
            peer = RawPeer(host, kw["port"], p, extensions=kw.get("extensions", ()),
                           inject=kw.get("inject", False))
        else:
            peer = PeerSMTP(tmp_path, host, **kw)
        started.append(peer)
        return peer

    yield make
    for p in started:
        p.stop()


def submit(srv, rcpts, msg=MESSAGE, sender="alice@example.test", mail_options=(),
           rcpt_options=()):
    with smtplib.SMTP("127.0.0.1", srv.submission_port, timeout=30) as s:
        s.ehlo("client.test")
        s.starttls(context=insecure_tls_context())
        s.ehlo("client.test")
        s.login(sender, srv.passwords[sender])
        refused = s.sendmail(sender, rcpts, msg, mail_options=list(mail_options),
                             rcpt_options=list(rcpt_options))
        assert not refused


def bounces(srv, address="alice@example.test"):
    return [email.message_from_bytes(m) for m in maildir_messages(srv, address)
            if b"multipart/report" in m]


def wait_bounce(srv, address="alice@example.test"):
    return wait_for(lambda: bounces(srv, address), what="a bounce to " + address)[0]


def report_text(msg):
    """The delivery-status part of a multipart/report, as text."""
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            return "".join(str(p) for p in part.get_payload())
    raise AssertionError("no message/delivery-status part")


def test_mx_order_starttls_pipelining_one_connection(sender, peers):
    srv = sender()
    peer = peers("127.0.0.6", port=srv.peer_port)
    submit(srv, ["carol@remote.test", "dave@remote.test", "bob@example.test"])
    [got] = peer.wait_messages(1)
    # Both remote recipients in one transaction on one connection.
    assert got.rcpts == ["carol@remote.test", "dave@remote.test"]
    assert got.mail_from == "alice@example.test"
    assert len(peer.sessions) == 1
    assert got.session.tls, "STARTTLS was offered but not used"
    assert got.session.pipelined, "PIPELINING was offered: MAIL, RCPT, DATA in one write"
    assert got.session.helo == "outpost.test"
    # The message byte for byte after the trace header, dots unstuffed by the peer.
    assert got.data.startswith(b"Received: ")
    assert strip_trace(got.data) == MESSAGE
    # The local recipient has it too; it did not go out.
    assert wait_for(lambda: maildir_messages(srv, "bob@example.test"))
    # The peer has the message before our side logs its 250.
    wait_for(lambda: "<carol@remote.test> via mx2.remote.test[127.0.0.6]: 250" in srv.stderr_text(), what="the delivery in the log")
    log = srv.stderr_text()
    assert "mx1.remote.test[127.0.0.5]: connect: Connection refused" in log
    assert "mx2.remote.test[127.0.0.6]: TLS TLSv1." in log
    assert "<carol@remote.test> via mx2.remote.test[127.0.0.6]: 250" in log
    # Delivered: nothing left in the queue.
    wait_for(lambda: "remote.test" not in queue_list(srv), what="an empty queue")


def test_implicit_mx_plaintext_without_pipelining(sender, peers):
    srv = sender()
    peer = peers("127.0.0.6", port=srv.peer_port, tls=False, pipelining=False)
    submit(srv, ["carol@implicit.remote.test", "erin@implicit.remote.test"])
    [got] = peer.wait_messages(1)
    assert got.rcpts == ["carol@implicit.remote.test", "erin@implicit.remote.test"]
    assert not got.session.tls
    assert not got.session.pipelined
    assert strip_trace(got.data) == MESSAGE
    assert "plaintext (no STARTTLS offered)" in srv.stderr_text()


def test_temporary_failure_waits_then_flush_delivers(sender, peers):
    srv = sender()
    peer = peers("127.0.0.6", port=srv.peer_port,
                 replies={("RCPT", "carol@remote.test"): "451 4.3.0 try again later"})
    submit(srv, ["carol@remote.test", "dave@remote.test"])
    [got] = peer.wait_messages(1)
    assert got.rcpts == ["dave@remote.test"]
    listing = wait_for(lambda: (lambda t: "451 4.3.0" in t and t)(queue_list(srv)),
                       what="the 451 in queue list")
    assert "carol@remote.test" in listing and "dave@remote.test" not in listing
    # The receiver recovers; a flush makes the message due now.
    peer.set_replies({})
    queue_flush(srv)
    msgs = peer.wait_messages(2)
    assert msgs[1].rcpts == ["carol@remote.test"]
    assert strip_trace(msgs[1].data) == MESSAGE
    wait_for(lambda: "carol@remote.test" not in queue_list(srv), what="an empty queue")
    assert not bounces(srv)


def test_permanent_failures_bounce(sender, peers):
    srv = sender()
    peer = peers("127.0.0.6", port=srv.peer_port,
                 replies={("RCPT", "nobody@remote.test"): "550 5.1.1 no such user here"})
    submit(srv, ["nobody@remote.test", "carol@remote.test"])
    [got] = peer.wait_messages(1)
    assert got.rcpts == ["carol@remote.test"]
    b = wait_bounce(srv)
    assert b.get_content_type() == "multipart/report"
    assert b["To"] and "alice@example.test" in b["To"]
    text = report_text(b)
    assert "nobody@remote.test" in text and "5.1.1" in text
    assert "carol@remote.test" not in text
    wait_for(lambda: "remote.test" not in queue_list(srv), what="an empty queue")


def test_null_mx_and_nxdomain_bounce(sender):
    srv = sender()
    submit(srv, ["carol@nullmx.remote.test"])
    text = report_text(wait_bounce(srv))
    assert "5.1.10" in text
    submit(srv, ["carol@missing.remote.test"])
    wait_for(lambda: len(bounces(srv)) == 2, what="a second bounce")
    texts = [report_text(b) for b in bounces(srv)]
    assert any("missing.remote.test" in t and "5.1.2" in t for t in texts)
    # Nothing waits: both are permanent.
    wait_for(lambda: "remote.test" not in queue_list(srv), what="an empty queue")


def test_refusals_before_sending(sender, peers):
    """SIZE over the peer's limit (RFC 1870), SMTPUTF8 (RFC 6531) and
    8BITMIME (RFC 6152) the peer lacks: permanent, nothing is sent."""
    srv = sender()
    peer = peers("127.0.0.6", port=srv.peer_port, smtputf8=False, data_size_limit=2000,
                 hide=("8BITMIME",))
    big = MESSAGE + b"x" * 70 + b"\r\n"
    big = big * 40
    submit(srv, ["big@remote.test"], msg=big)
    submit(srv, ["utf8@remote.test"], msg=MESSAGE.replace(b"outgoing", "café".encode()),
           mail_options=["SMTPUTF8"])
    submit(srv, ["eight@remote.test"], msg=MESSAGE.replace(b"Last", "Lätzt".encode()),
           mail_options=["BODY=8BITMIME"])
    wait_for(lambda: len(bounces(srv)) == 3, what="three bounces")
    texts = "\n".join(report_text(b) for b in bounces(srv))
    assert "5.3.4" in texts and "5.6.7" in texts and "5.6.3" in texts
    # The peer saw connections but no message.
    assert peer.messages == []


def test_hanging_and_garbage_servers_are_temporary(sender, peers):
    srv = sender()
    hang = peers("127.0.0.7", raw="hang", port=srv.peer_port)
    junk = peers("127.0.0.8", raw="garbage", port=srv.peer_port)
    submit(srv, ["carol@stuck.remote.test"])
    listing = wait_for(lambda: (lambda t: "not SMTP" in t and t)(queue_list(srv)),
                       what="the garbage diagnostic in queue list")
    assert "carol@stuck.remote.test" in listing
    assert hang.connections >= 1 and junk.connections >= 1
    log = srv.stderr_text()
    assert "hang.remote.test[127.0.0.7]: greeting: timed out" in log
    assert "junk.remote.test[127.0.0.8]: greeting: the server's reply is not SMTP" in log
    assert not bounces(srv)
    # The server is still fine: local mail is accepted and delivered.
    submit(srv, ["bob@example.test"])
    assert wait_for(lambda: maildir_messages(srv, "bob@example.test"))


class ServfailResolver:
    """A UDP DNS server answering SERVFAIL to every query."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self.queries = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                q, addr = self.sock.recvfrom(4096)
            except OSError:
                continue
            if len(q) < 12:
                continue
            self.queries += 1
            # Same ID and question; QR, RD, RA; RCODE 2; no OPT echoed.
            qd_end = 12
            while qd_end < len(q) and q[qd_end] != 0:
                qd_end += q[qd_end] + 1
            qd_end += 5
            hdr = q[:2] + bytes([0x81, 0x82]) + b"\x00\x01\x00\x00\x00\x00\x00\x00"
            self.sock.sendto(hdr + q[12:qd_end], addr)

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


def test_servfail_is_temporary(sender):
    port = free_dns_port()
    resolver = ServfailResolver(port)
    try:
        srv = sender(extra={("queue", "resolver"): "127.0.0.1:%d" % port})
        submit(srv, ["carol@remote.test"])
        listing = wait_for(lambda: (lambda t: "SERVFAIL" in t and t)(queue_list(srv)),
                           what="SERVFAIL in queue list")
        assert "carol@remote.test" in listing
        assert resolver.queries >= 1
        assert not bounces(srv)
    finally:
        resolver.stop()


def test_stop_during_a_hanging_delivery(sender, peers):
    """SIGTERM while a runner waits on a silent server: the server stops at
    once and the message stays queued for the next start."""
    srv = sender(extra={("queue", "smtp_timeout"): "60s"})
    hang = peers("127.0.0.7", raw="hang", port=srv.peer_port)
    submit(srv, ["carol@stuck.remote.test"])
    wait_for(lambda: hang.connections >= 1, what="a connection to the silent server")
    # Well within the 60 s the runner would otherwise wait.
    assert srv.stop(timeout=15) == 0
    listing = queue_list(srv)
    assert "carol@stuck.remote.test" in listing
    # The cut attempt is not counted and the message is due at once: the
    # retry schedule goes on as if the attempt had not begun.
    assert "(0 attempts)" in listing and "next attempt now" in listing, listing
    assert "attempt cut by the shutdown: not counted" in srv.stderr_text()


def test_cut_attempt_keeps_what_it_settled(sender, peers):
    """A recipient delivered before the shutdown cut the attempt is recorded
    (never sent twice); the one cut stays pending, the attempt not counted."""
    srv = sender(extra={("queue", "smtp_timeout"): "60s"})
    peer = peers("127.0.0.6", port=srv.peer_port)
    hang = peers("127.0.0.7", raw="hang", port=srv.peer_port)
    submit(srv, ["carol@remote.test", "dave@stuck.remote.test"])
    peer.wait_messages(1)
    wait_for(lambda: hang.connections >= 1, what="a connection to the silent server")
    assert srv.stop(timeout=15) == 0
    listing = queue_list(srv)
    assert "dave@stuck.remote.test" in listing and "carol@remote.test" not in listing
    assert "(0 attempts)" in listing, listing
    # The next start tries dave again at once, and only dave.
    hang.stop()
    srv.start()
    wait_for(lambda: "delivery %s: attempt 1," % listing.split()[0] in srv.stderr_text(),
             what="the first counted attempt after the restart")
    wait_for(lambda: "(1 attempt)" in queue_list(srv), what="one attempt recorded")
    assert len(peer.messages) == 1
    assert not bounces(srv)


def test_loop_guard_sees_an_account_domain_added_later(sender):
    """Mail queued for a domain that was not local, which an account added
    while the server runs makes local: the next attempt must not send it
    out (RFC 5321 section 5.1 would lead back here) but fail it with 5.4.6."""
    srv = sender()
    submit(srv, ["carol@later.test"])
    # outpost's DNS serves no later.test: REFUSED, a temporary failure.
    listing = wait_for(lambda: (lambda t: "REFUSED" in t and t)(queue_list(srv)),
                       what="REFUSED in queue list")
    assert "carol@later.test" in listing
    srv.add_user("erin@later.test")
    queue_flush(srv)
    b = wait_bounce(srv)
    text = report_text(b)
    assert "Action: failed" in text and "5.4.6" in text
    assert "local domain later.test" in text
    wait_for(lambda: "later.test" not in queue_list(srv), what="an empty queue")


def test_loop_guard_follows_local_domains_on_reload(sender):
    """[smtp] local_domains changed by SIGHUP: the delivery runners' loop
    guard uses the new list at the next attempt."""
    srv = sender(extra={("smtp", "local_domains"): "example.test"})
    submit(srv, ["carol@later.test"])
    wait_for(lambda: "REFUSED" in queue_list(srv), what="REFUSED in queue list")
    srv.extra[("smtp", "local_domains")] = "example.test, later.test"
    srv.write_config()
    srv.signal(signal.SIGHUP)
    wait_for(lambda: "reload: done" in srv.stderr_text(), what="the reload")
    queue_flush(srv)
    text = report_text(wait_bounce(srv))
    assert "5.4.6" in text and "local domain later.test" in text


def test_dsn_parameters_passed_on(sender, peers):
    """A server offering DSN (RFC 3461) gets RET, ENVID, NOTIFY and ORCPT, with
    ENVID and ORCPT in xtext; SIZE and BODY as declared."""
    srv = sender()
    peer = peers("127.0.0.6", raw="script", port=srv.peer_port,
                 extensions=("PIPELINING", "DSN", "8BITMIME", "SIZE 100000"))
    submit(srv, ["carol@remote.test"], msg=MESSAGE.replace(b"Last", "Lätzt".encode()),
           mail_options=["BODY=8BITMIME", "RET=HDRS", "ENVID=env+2Bid"],
           rcpt_options=["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;carol+2Bx@remote.test"])
    wait_for(lambda: peer.bodies, what="the message at the scripted peer")
    mail = [ln for ln in peer.lines if ln.upper().startswith("MAIL FROM")]
    rcpt = [ln for ln in peer.lines if ln.upper().startswith("RCPT TO")]
    assert len(mail) == 1 and len(rcpt) == 1
    words = mail[0].split()
    assert "MAIL" in words[0] and "<alice@example.test>" in mail[0]
    assert "BODY=8BITMIME" in words and "RET=HDRS" in words and "ENVID=env+2Bid" in words
    assert any(w.startswith("SIZE=") for w in words)
    rwords = rcpt[0].split()
    assert "NOTIFY=SUCCESS,DELAY" in rwords
    assert "ORCPT=rfc822;carol+2Bx@remote.test" in rwords
    # The body as sent: stuffed, the final dot.
    body = peer.bodies[0]
    assert b"\r\n..A line that starts with a dot.\r\n...Two dots.\r\n..\r\n" in body
    assert body.endswith("Lätzt line.\r\n.\r\n".encode())
    # NOTIFY went on: the next hop reports success, not us (RFC 3461 5.2.1).
    wait_for(lambda: "carol@remote.test" not in queue_list(srv), what="an empty queue")
    assert not bounces(srv)


def test_helo_when_ehlo_is_refused(sender, peers):
    """RFC 5321 section 3.2: EHLO refused with 5xx, HELO then, no extensions
    used (no pipelining, no parameters on MAIL)."""
    srv = sender()
    peer = peers("127.0.0.6", raw="script", port=srv.peer_port, extensions=None)
    submit(srv, ["carol@remote.test"])
    wait_for(lambda: peer.bodies, what="the message at the scripted peer")
    verbs = [ln.split()[0].upper() for ln in peer.lines if ln]
    assert verbs[:2] == ["EHLO", "HELO"]
    mail = [ln for ln in peer.lines if ln.upper().startswith("MAIL FROM")]
    assert mail == ["MAIL FROM:<alice@example.test>"]


def test_failed_tls_handshake_falls_back_to_plaintext(sender, peers):
    """Opportunistic TLS: a handshake that fails after STARTTLS's 220 leaves
    the connection unusable (RFC 3207 section 4.1); the runner connects
    again without STARTTLS and delivers."""
    srv = sender()
    peer = peers("127.0.0.6", raw="script", port=srv.peer_port,
                 extensions=("PIPELINING", "STARTTLS"))
    submit(srv, ["carol@remote.test"])
    wait_for(lambda: peer.bodies, what="the message at the scripted peer")
    assert peer.connections == 2
    verbs = [ln.split()[0].upper() for ln in peer.lines if ln]
    assert verbs.count("STARTTLS") == 1
    # The peer has the message before our side logs its 250.
    wait_for(lambda: "<carol@remote.test> via mx2.remote.test[127.0.0.6]: 250" in srv.stderr_text(), what="the delivery in the log")
    log = srv.stderr_text()
    assert "TLS handshake" in log and "connecting again without TLS" in log
    assert "<carol@remote.test> via mx2.remote.test[127.0.0.6]: 250" in log


def test_reply_injected_after_starttls_is_refused(sender, peers):
    """Bytes behind STARTTLS's 220 would pass for TLS-protected replies (the
    STARTTLS command-injection class of flaw): the connection is dropped,
    nothing is sent, the message stays queued."""
    srv = sender()
    peer = peers("127.0.0.6", raw="script", port=srv.peer_port,
                 extensions=("PIPELINING", "STARTTLS"), inject=True)
    submit(srv, ["carol@remote.test"])
    listing = wait_for(lambda: (lambda t: "data after the 220" in t and t)(queue_list(srv)),
                       what="the refusal in queue list")
    assert "carol@remote.test" in listing
    assert not any(ln.upper().startswith("MAIL") for ln in peer.lines)
    assert not peer.bodies


def test_address_literal_needs_no_dns(sender, peers):
    """user@[192.0.2.1] (RFC 5321 section 4.1.3): straight to that address."""
    srv = sender(extra={("queue", "resolver"): "127.0.0.1:9"})   # no DNS answers
    peer = peers("127.0.0.6", port=srv.peer_port)
    submit(srv, ["carol@[127.0.0.6]"])
    [got] = peer.wait_messages(1)
    assert got.rcpts == ["carol@[127.0.0.6]"]
    assert strip_trace(got.data) == MESSAGE


def test_too_many_recipients_get_another_transaction(sender, peers):
    """452 "too many recipients" (RFC 5321 section 4.5.3.1.10): the rest go
    in further transactions on the same connection."""
    srv = sender()
    peer = peers("127.0.0.6", port=srv.peer_port, max_rcpts=2)
    rcpts = ["r%d@remote.test" % i for i in range(5)]
    submit(srv, rcpts)
    msgs = peer.wait_messages(3)
    assert [m.rcpts for m in msgs] == [rcpts[0:2], rcpts[2:4], rcpts[4:5]]
    assert len(peer.sessions) == 1
    assert all(strip_trace(m.data) == MESSAGE for m in msgs)
    wait_for(lambda: "remote.test" not in queue_list(srv), what="an empty queue")


def test_utf8_domain_is_looked_up_by_its_a_labels(sender, peers):
    """An SMTPUTF8 recipient in bücher.remote.test: DNS is asked for
    xn--bcher-kva.remote.test (RFC 5890); the address goes out in UTF-8."""
    srv = sender()
    peer = peers("127.0.0.6", port=srv.peer_port)
    rcpt = "jürgen@bücher.remote.test"
    submit(srv, [rcpt], mail_options=["SMTPUTF8"])
    [got] = peer.wait_messages(1)
    assert got.rcpts == [rcpt]
    assert "SMTPUTF8" in [o.upper() for o in got.mail_options]
    assert strip_trace(got.data) == MESSAGE


def test_success_notice_relayed_for_a_server_without_dsn(sender, peers):
    """NOTIFY=SUCCESS to a server without DSN: NOTIFY cannot go on, so the
    sender gets a "relayed" notice from us (RFC 3461 section 5.2.2)."""
    srv = sender()
    peer = peers("127.0.0.6", port=srv.peer_port)
    submit(srv, ["carol@remote.test", "dave@remote.test"],
           rcpt_options=["NOTIFY=SUCCESS"])
    peer.wait_messages(1)
    report = wait_bounce(srv)
    text = report_text(report)
    assert "relayed" in text.lower()
    assert "carol@remote.test" in text and "dave@remote.test" in text
    assert "mx2.remote.test" in text        # Remote-MTA


def have_ipv6_loopback(port):
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", port))
        return True
    except OSError:
        return False


def test_ipv6_delivery_through_an_aaaa_record(sender, peers):
    """The only address of the MX host is ::1, found through the AAAA record
    outpost's own DNS serves; aiosmtpd listens there and gets the message."""
    srv = sender(start=False)
    if not have_ipv6_loopback(srv.peer_port):
        pytest.skip("no IPv6 loopback (::1) on this machine")
    srv.start()
    peer = peers("::1", port=srv.peer_port)
    submit(srv, ["carol@v6.remote.test"])
    [got] = peer.wait_messages(1)
    assert got.rcpts == ["carol@v6.remote.test"]
    assert got.session.tls
    assert strip_trace(got.data) == MESSAGE
    # The peer has the message before our side logs its 250.
    wait_for(lambda: "<carol@v6.remote.test> via mx6.remote.test[::1]: 250" in srv.stderr_text(), what="the delivery in the log")
    log = srv.stderr_text()
    assert "mx6.remote.test[::1]: TLS TLSv1." in log
    assert "<carol@v6.remote.test> via mx6.remote.test[::1]: 250" in log
    wait_for(lambda: "v6.remote.test" not in queue_list(srv), what="an empty queue")


@pytest.mark.parametrize("n", [4, 22])
def test_one_connection_carries_several_queued_messages(sender, peers, n):
    """Messages queued for the same host go out on one connection, one
    transaction after another (RFC 5321 section 3.3), counted by the
    connections aiosmtpd sees; a connection carries at most 20."""
    srv = sender(extra={("queue", "runners"): "1"})
    peer = peers("127.0.0.6", port=srv.peer_port,
                 replies={("MAIL", None): "451 4.3.0 not now"})
    msgs = [MESSAGE.replace(b"outgoing.1@", b"outgoing.%d@" % k) for k in range(n)]
    for m in msgs:
        submit(srv, ["carol@remote.test"], msg=m)
    wait_for(lambda: queue_list(srv).count("451 4.3.0 not now") >= n,
             what="the messages waiting after 451")
    # All due at once: flushed while the server is stopped (a flush of a
    # running server reaches the runner message by message).
    assert srv.stop() == 0
    queue_flush(srv)
    peer.set_replies({})
    before = len(peer.sessions)
    srv.start()
    got = peer.wait_messages(n)
    wait_for(lambda: "remote.test" not in queue_list(srv), what="an empty queue")
    assert len(peer.sessions) - before == (n + 19) // 20
    assert sorted(strip_trace(g.data) for g in got) == sorted(msgs)
    log = srv.stderr_text()
    assert "connection reused (message %d on it)" % min(n, 20) in log
    assert "connection reused (message 21 on it)" not in log
