"""Submission policy: the sender check of authenticated sessions (the rule
Postfix calls reject_sender_login_mismatch) and MAIL's AUTH= parameter
(RFC 4954 section 5), with smtplib, swaks and msmtp.

An authenticated user may use as MAIL FROM only their own account address,
an alias or a catch-all that delivers to them, or the null sender; anything
else gets 553 5.7.1 naming the rule and the user, and nothing is delivered.
[smtp] sender_login_check = no turns it off. The MX role never
authenticates and is unaffected. AUTH= must be well-formed xtext of a
mailbox (501 5.5.4 otherwise); an unauthenticated client's AUTH= is taken
as AUTH=<>, an authenticated session's submitter is its login."""

import base64
import shutil
import smtplib
import subprocess

import pytest

from conftest import insecure_tls_context
from smtp_helpers import ALICE, BOB, RawSmtp, code, mailbox_messages, message, strip_trace

TOOL_TIMEOUT = 60
POLICY = {
    ("smtp", "aliases"): "sales@example.test = alice@example.test",
    ("smtp", "catch_all"): "shop.example = alice@example.test",
    ("smtp", "local_domains"): "example.test, shop.example",
}


@pytest.fixture
def server(outpost_factory):
    return outpost_factory(config=dict(POLICY))


def login(srv, address=ALICE):
    s = smtplib.SMTP("127.0.0.1", srv.submission_port, timeout=30)
    s.starttls(context=insecure_tls_context())
    s.login(address, srv.passwords[address])
    return s


def raw_login(srv, address=ALICE):
    r = RawSmtp(srv.submission_port)
    assert code(r.cmd("EHLO client.test")) == 250
    r.starttls()
    assert code(r.cmd("EHLO client.test")) == 250
    token = base64.b64encode(b"\0" + address.encode() + b"\0" + srv.passwords[address].encode())
    assert code(r.cmd(b"AUTH PLAIN " + token)) == 235
    return r


def need(tool):
    if not shutil.which(tool):
        pytest.fail("%s is not installed (setup.sh test installs it)" % tool)


def test_smtplib_own_alias_catch_all_and_null_sender_accepted(server):
    with login(server) as s:
        for n, sender in enumerate(("alice@example.test", "Alice@Example.TEST",
                                    "sales@example.test", "orders@shop.example", "")):
            assert s.sendmail(sender, [BOB], message(n)) == {}
    got = mailbox_messages(server, BOB)
    assert [strip_trace(m) for m in got] == [message(n) for n in range(5)]
    assert got[4].startswith(b"Return-Path: <>\r\n")


def test_smtplib_foreign_sender_refused_553(server):
    with login(server) as s:
        for sender in ("bob@example.test", "nobody@example.test", "alice@elsewhere.example",
                       "alice@[127.0.0.1]"):
            with pytest.raises(smtplib.SMTPSenderRefused) as e:
                s.sendmail(sender, [BOB], message(1))
            assert e.value.smtp_code == 553
            text = e.value.smtp_error.decode()
            assert text.startswith("5.7.1 <%s>: Sender address rejected: not owned by user "
                                   "alice@example.test" % sender), text
            assert server.passwords[ALICE] not in text
            s.rset()
        # the session goes on: her own address still works
        assert s.sendmail(ALICE, [BOB], message(2)) == {}
    # bob may use his own address, not alice's alias
    with login(server, BOB) as s:
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail("sales@example.test", [ALICE], message(3))
        assert e.value.smtp_code == 553
        assert s.sendmail(BOB, [ALICE], message(4)) == {}
    assert [strip_trace(m) for m in mailbox_messages(server, BOB)] == [message(2)]
    assert [strip_trace(m) for m in mailbox_messages(server, ALICE)] == [message(4)]
    log = server.stderr_text()
    assert "MAIL <bob@example.test> refused: not owned by user alice@example.test" in log
    assert server.passwords[ALICE] not in log


def test_pipelined_refusal_keeps_order(server):
    """MAIL refused while RCPT and DATA follow in the same write (RFC 2920):
    the replies stay in order and nothing is taken."""
    r = raw_login(server)
    with r:
        r.send("MAIL FROM:<bob@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        assert r.reply().startswith(b"553 5.7.1 <bob@example.test>: Sender address rejected")
        assert r.reply().startswith(b"503 5.5.1 ")
        assert r.reply().startswith(b"503 5.5.1 ")
        r.send("MAIL FROM:<sales@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        assert code(r.reply()) == 250
        assert code(r.reply()) == 250
        assert code(r.reply()) == 354
        r.send(message(7) + b".\r\n")
        assert code(r.reply()) == 250
        assert code(r.cmd("QUIT")) == 221
    assert [strip_trace(m) for m in mailbox_messages(server, BOB)] == [message(7)]


def test_check_off(outpost_factory):
    srv = outpost_factory(config={**POLICY, ("smtp", "sender_login_check"): "no"})
    with login(srv) as s:
        assert s.sendmail("bob@example.test", [BOB], message(1)) == {}
        assert s.sendmail("someone@elsewhere.example", [BOB], message(2)) == {}
    assert len(mailbox_messages(srv, BOB)) == 2


def test_mx_role_unaffected(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as s:
        assert s.sendmail("alice@example.test", [BOB], message(1)) == {}
        assert s.sendmail("stranger@elsewhere.example", [BOB], message(2)) == {}
    assert len(mailbox_messages(server, BOB)) == 2


def test_swaks_sender_check(server, tmp_path):
    need("swaks")
    f = tmp_path / "m.eml"
    f.write_bytes(message(30)[:-2])
    base = ["swaks", "--server", "127.0.0.1", "--port", str(server.submission_port), "--tls",
            "--auth", "PLAIN", "--auth-user", ALICE,
            "--auth-password=" + server.passwords[ALICE], "--to", BOB, "--data", "@%s" % f]
    ok = subprocess.run(base + ["--from", "sales@example.test"], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=TOOL_TIMEOUT)
    assert ok.returncode == 0, ok.stdout[-2000:]
    bad = subprocess.run(base + ["--from", "bob@example.test"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=TOOL_TIMEOUT)
    assert bad.returncode != 0
    assert b"553 5.7.1 <bob@example.test>: Sender address rejected" in bad.stdout
    assert server.passwords[ALICE].encode() not in bad.stdout
    assert [strip_trace(m) for m in mailbox_messages(server, BOB)] == [message(30)]


def test_msmtp_sender_check(server, tmp_path):
    need("msmtp")
    conf = tmp_path / "msmtprc"
    pw = tmp_path / "pw"
    pw.write_text(server.passwords[ALICE])
    conf.write_text("defaults\ntls_certcheck off\n"
                    "account own\nhost 127.0.0.1\nport %d\ntls on\ntls_starttls on\nauth plain\n"
                    "user %s\npasswordeval cat %s\nfrom %s\n"
                    "account other\nhost 127.0.0.1\nport %d\ntls on\ntls_starttls on\nauth plain\n"
                    "user %s\npasswordeval cat %s\nfrom %s\n"
                    % (server.submission_port, ALICE, pw, "orders@shop.example",
                       server.submission_port, ALICE, pw, BOB))
    conf.chmod(0o600)
    msg = message(31)
    r = subprocess.run(["msmtp", "-C", str(conf), "-a", "own", BOB], input=msg,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TOOL_TIMEOUT)
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run(["msmtp", "-C", str(conf), "-a", "other", BOB], input=message(32),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TOOL_TIMEOUT)
    assert r.returncode != 0
    assert b"553" in r.stderr and b"Sender address rejected" in r.stderr
    assert [strip_trace(m) for m in mailbox_messages(server, BOB)] == [msg]


# ---- MAIL AUTH= (RFC 4954 section 5) ---------------------------------------------------------

def test_auth_param_malformed_xtext_is_501(server):
    with RawSmtp(server.smtp_port) as r:
        assert code(r.cmd("EHLO client.test")) == 250
        for bad in ("AUTH=a+2bb@example.org", "AUTH=a+4", "AUTH=", "AUTH=not-a-mailbox",
                    "AUTH=<a@example.org>", "AUTH=<> AUTH=<>"):
            assert r.cmd("MAIL FROM:<a@example.org> " + bad).startswith(b"501 5.5.4 "), bad
        # the session is fine: a good one is accepted
        assert code(r.cmd("MAIL FROM:<a@example.org> AUTH=e+3Dmc2@example.org")) == 250
        assert code(r.cmd("RCPT TO:<bob@example.test>")) == 250
        assert code(r.cmd("DATA")) == 354
        r.send(message(40) + b".\r\n")
        assert code(r.reply()) == 250
    assert [strip_trace(m) for m in mailbox_messages(server, BOB)] == [message(40)]
    log = server.stderr_text()
    # untrusted: recorded as AUTH=<>, the claim only logged
    assert "MAIL AUTH=<e=mc2@example.org> from an unauthenticated client: taken as AUTH=<>" in log
    assert "from=<a@example.org> auth=<> " in log


def test_auth_param_of_an_authenticated_session_is_its_login(server):
    with login(server) as s:
        # smtplib passes the option through as given; the claim is not trusted
        assert s.sendmail(ALICE, [BOB], message(41), mail_options=["AUTH=bob@example.test"]) == {}
        assert s.sendmail(ALICE, [BOB], message(42), mail_options=["AUTH=<>"]) == {}
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail(ALICE, [BOB], message(43), mail_options=["AUTH=x+zz@example.org"])
        assert e.value.smtp_code == 501
    assert len(mailbox_messages(server, BOB)) == 2
    log = server.stderr_text()
    assert log.count("from=<alice@example.test> auth=<alice@example.test> ") == 2


def test_bad_input_around_the_checks(server):
    """A client that leaves while its sender is being checked, NUL bytes,
    an over-long AUTH= value, MAIL before AUTH: clear replies, the server
    stays up and takes the next message."""
    r = raw_login(server)
    # an alias needs the accounts database (the pool): leave at once
    r.send("MAIL FROM:<sales@example.test>\r\nRCPT TO:<bob@example.test>\r\n")
    r.close()
    r = raw_login(server)
    with r:
        assert r.cmd(b"MAIL FROM:<alice@example.test> AUTH=a\0b@example.test").startswith(b"500 5.5.2")
        long_auth = "AUTH=" + "a" * 300 + "@example.test"
        assert r.cmd("MAIL FROM:<alice@example.test> " + long_auth).startswith(b"501 5.5.4")
        assert r.cmd("MAIL FROM:<" + "b" * 65 + "@example.test>").startswith(b"501 ")
        assert code(r.cmd("RSET")) == 250
    with RawSmtp(server.submission_port) as r:
        assert code(r.cmd("EHLO client.test")) == 250
        assert r.cmd("MAIL FROM:<alice@example.test>").startswith(b"530 5.7.0")
    with login(server) as s:
        assert s.sendmail("sales@example.test", [BOB], message(50)) == {}
    assert [strip_trace(m) for m in mailbox_messages(server, BOB)] == [message(50)]
