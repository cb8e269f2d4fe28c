"""SMTP against the real server with real clients: Python smtplib, swaks,
curl and msmtp deliver through the MX, submission (STARTTLS + AUTH) and
submissions (implicit TLS) listeners into the Maildir POP3 serves, read
back byte for byte apart from the trace headers; RFC 5321 section 4 reply
codes and order, the ESMTP extensions (PIPELINING, SIZE, 8BITMIME,
ENHANCEDSTATUSCODES, STARTTLS, AUTH, SMTPUTF8, CHUNKING, DSN), and bad
input (tests/interop/test_smtp_bad.py has more)."""

import base64
import shutil
import smtplib
import subprocess

import pytest

from conftest import insecure_tls_context
from smtp_helpers import (ALICE, BOB, RawSmtp, code, mailbox_messages, maildir_count, message,
                          queue_files, strip_trace)

TOOL_TIMEOUT = 60


def mx(server):
    return smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30)


def submission(server, address=ALICE):
    s = smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30)
    s.starttls(context=insecure_tls_context())
    s.login(address, server.passwords[address])
    return s


def ehlo_keywords(reply):
    lines = reply.decode().split("\r\n")
    return {ln[4:].split(" ")[0].upper(): ln[4:] for ln in lines[1:] if ln}


# ---- session basics -------------------------------------------------------------------------

def test_greeting_ehlo_and_extensions(outpost):
    with RawSmtp(outpost.smtp_port) as r:
        assert r.greeting.startswith(b"220 outpost.test ")
        ehlo = r.cmd("EHLO client.example")
        assert ehlo.startswith(b"250-outpost.test")
        kw = ehlo_keywords(ehlo)
        for ext in ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "STARTTLS", "SMTPUTF8",
                    "CHUNKING", "DSN", "SIZE"):
            assert ext in kw, ext
        assert kw["SIZE"] == "SIZE 52428800"
        assert "AUTH" not in kw                      # the MX role offers no AUTH
        assert r.cmd("HELO client.example") == b"250 outpost.test\r\n"
        assert r.cmd("NOOP") == b"250 2.0.0 Ok\r\n"
        assert r.cmd("QUIT") == b"221 2.0.0 Bye\r\n"
        assert r.closed_within(5)
    with RawSmtp(outpost.submission_port) as r:
        kw = ehlo_keywords(r.cmd("EHLO client.example"))
        # loopback: AUTH allowed before TLS by the default [auth] plaintext policy
        assert kw.get("AUTH") == "AUTH PLAIN LOGIN"
        r.starttls()
        kw = ehlo_keywords(r.cmd("EHLO client.example"))
        assert "STARTTLS" not in kw and kw.get("AUTH") == "AUTH PLAIN LOGIN"


def test_reply_codes_and_order(outpost):
    """RFC 5321 4.1.4 and 4.3.2: out-of-sequence commands get 503, syntax
    errors 500/501, unimplemented 502; every reply has an enhanced code."""
    with RawSmtp(outpost.smtp_port) as r:
        assert r.cmd("MAIL FROM:<a@example.org>").startswith(b"503 5.5.1 ")
        assert r.cmd("RCPT TO:<bob@example.test>").startswith(b"503 5.5.1 ")
        assert r.cmd("DATA").startswith(b"503 5.5.1 ")
        assert r.cmd("EHLO x").startswith(b"250-")
        assert r.cmd("RCPT TO:<bob@example.test>").startswith(b"503 5.5.1 ")
        assert r.cmd("DATA").startswith(b"503 5.5.1 ")
        assert r.cmd("FOO bar").startswith(b"500 5.5.2 ")
        assert r.cmd("MAIL FROM:bob").startswith(b"501 5.1.7 ")
        assert r.cmd("MAIL FROM:<a@example.org> FOO=1").startswith(b"555 5.5.4 ")
        assert r.cmd("HELO").startswith(b"501 5.5.4 ")
        assert r.cmd("EXPN staff").startswith(b"502 5.5.1 ")
        assert r.cmd("VRFY bob").startswith(b"252 2.5.2 ")
        assert r.cmd("VRFY nobody-at-all").startswith(b"252 2.5.2 ")   # never an oracle
        assert r.cmd("HELP").startswith(b"214 2.0.0 ")
        assert r.cmd("MAIL FROM:<a@example.org>").startswith(b"250 2.1.0 ")
        assert r.cmd("MAIL FROM:<a@example.org>").startswith(b"503 5.5.1 ")
        # no valid recipient: DATA is 554 (RFC 5321 3.3)
        assert r.cmd("DATA").startswith(b"554 5.5.1 ")
        assert r.cmd("RCPT TO:<nobody@example.test>").startswith(b"550 5.1.1 ")
        assert r.cmd("RCPT TO:<bob@example.test>").startswith(b"250 2.1.5 ")
        assert r.cmd("RSET") == b"250 2.0.0 Ok\r\n"
        assert r.cmd("DATA").startswith(b"503 5.5.1 ")
        assert r.cmd("STARTTLS extra").startswith(b"501 5.5.4 ")
        assert r.cmd("QUIT") == b"221 2.0.0 Bye\r\n"
    assert maildir_count(outpost, BOB) == 0


# ---- delivery with smtplib -------------------------------------------------------------------

def test_smtplib_mx_delivery_byte_identical(outpost):
    body = (b"Line one\r\n.leading dot\r\n..two dots\r\n.\r\n"      # the dot line is data here
            b"8bit: caf\xc3\xa9\r\n" + b"x" * 998 + b"\r\n")
    msg = message(1, body)
    with mx(outpost) as s:
        refused = s.sendmail("sender@example.org", [BOB], msg, mail_options=["BODY=8BITMIME"])
        assert refused == {}
    got = mailbox_messages(outpost, BOB)
    assert len(got) == 1
    assert strip_trace(got[0]) == msg
    head = got[0].split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"Return-Path: <sender@example.org>\r\nReceived: from ")
    assert b"by outpost.test (outpost) with ESMTP" in head
    assert b"for <bob@example.test>;" in head


def test_recipients_unknown_relay_and_null_sender(outpost):
    with mx(outpost) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("sender@example.org", ["nobody@example.test"], message(2))
        c, text = e.value.recipients["nobody@example.test"]
        assert c == 550 and text.startswith(b"5.1.1 ")
        # no relaying for strangers: refused, nothing queued
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("sender@example.org", ["someone@elsewhere.example"], message(3))
        c, text = e.value.recipients["someone@elsewhere.example"]
        assert c == 554 and text.startswith(b"5.7.1 ")
        # one good, one bad: the good one gets it
        refused = s.sendmail("", [ALICE, "ghost@example.test"], message(4))
        assert list(refused) == ["ghost@example.test"]
        # the postmaster without a domain (RFC 5321 4.5.1) is refused like any unknown user
        # unless an alias names it (test_aliases_catch_all_and_postmaster)
    assert queue_files(outpost) == []
    got = mailbox_messages(outpost, ALICE)
    assert len(got) == 1 and got[0].startswith(b"Return-Path: <>\r\n")


def test_aliases_catch_all_and_postmaster(outpost_factory):
    server = outpost_factory(config={
        ("smtp", "aliases"): "postmaster@example.test = alice@example.test, sales@example.test = bob@example.test",
        ("smtp", "catch_all"): "example.test = alice@example.test, shop.example = bob@example.test"})
    with mx(server) as s:
        assert s.sendmail("a@example.org", ["Sales@Example.TEST"], message(5)) == {}
        assert s.sendmail("a@example.org", ["whoever@example.test"], message(6)) == {}
        assert s.sendmail("a@example.org", ["Postmaster"], message(7)) == {}
        # alias and its target in one message: one copy
        assert s.sendmail("a@example.org", ["sales@example.test", BOB], message(8)) == {}
        # a domain with no account is local through its catch-all alone
        assert s.sendmail("a@example.org", ["orders@shop.example"], message(9)) == {}
    assert maildir_count(server, BOB) == 3
    assert maildir_count(server, ALICE) == 2


def test_max_recipients_452(outpost_factory):
    server = outpost_factory(config={("smtp", "max_recipients"): "3"})
    with RawSmtp(server.smtp_port) as r:
        r.cmd("EHLO x")
        assert code(r.cmd("MAIL FROM:<a@example.org>")) == 250
        for _ in range(3):
            assert code(r.cmd("RCPT TO:<bob@example.test>")) == 250
        assert r.cmd("RCPT TO:<alice@example.test>").startswith(b"452 4.5.3 ")
        assert code(r.cmd("DATA")) == 354
        r.send(message(9) + b".\r\n")
        assert r.reply().startswith(b"250 2.0.0 ")
    assert maildir_count(server, BOB) == 1
    assert maildir_count(server, ALICE) == 0


def test_size_refused_at_mail_and_at_end_of_data(outpost_factory):
    server = outpost_factory(config={("mail", "max_message_size"): "2k"})
    with RawSmtp(server.smtp_port) as r:
        assert b"SIZE 2048" in r.cmd("EHLO x")
        assert r.cmd("MAIL FROM:<a@example.org> SIZE=5000").startswith(b"552 5.3.4 ")
        assert code(r.cmd("MAIL FROM:<a@example.org> SIZE=100")) == 250   # declared small
        assert code(r.cmd("RCPT TO:<bob@example.test>")) == 250
        assert code(r.cmd("DATA")) == 354
        r.send(message(10, b"y" * 900 + b"\r\n") * 4 + b".\r\n")
        assert r.reply().startswith(b"552 5.3.4 ")
        # the session goes on
        assert code(r.cmd("MAIL FROM:<a@example.org>")) == 250
        assert code(r.cmd("RCPT TO:<bob@example.test>")) == 250
        assert code(r.cmd("DATA")) == 354
        r.send(message(11) + b".\r\n")
        assert code(r.reply()) == 250
    assert len(mailbox_messages(server, BOB)) == 1


def test_submission_needs_auth_and_relays_when_authenticated(outpost):
    with smtplib.SMTP("127.0.0.1", outpost.submission_port, timeout=30) as s:
        s.ehlo()
        c, text = s.mail("alice@example.test")
        assert c == 530 and text.startswith(b"5.7.0 ")
    with submission(outpost) as s:
        refused = s.sendmail(ALICE, [BOB, "friend@elsewhere.example"], message(12),
                             rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;friend+40elsewhere.example"])
        assert refused == {}
    got = mailbox_messages(outpost, BOB)
    assert len(got) == 1 and strip_trace(got[0]) == message(12)
    assert b"with ESMTPSA" in got[0]
    envs = [p for p in queue_files(outpost) if p.suffix == ".env"]
    assert len(envs) == 1                          # the remote recipient waits in the queue


def test_submissions_implicit_tls_auth_login(outpost):
    with smtplib.SMTP_SSL("127.0.0.1", outpost.submissions_port, timeout=30,
                          context=insecure_tls_context()) as s:
        s.ehlo()
        assert "starttls" not in s.esmtp_features
        s.login(BOB, outpost.passwords[BOB], initial_response_ok=False)   # AUTH LOGIN dialogue
        assert s.sendmail(BOB, [ALICE], message(13)) == {}
    got = mailbox_messages(outpost, ALICE)
    assert len(got) == 1 and strip_trace(got[0]) == message(13)


def test_auth_failures(outpost):
    with RawSmtp(outpost.submission_port) as r:
        r.cmd("EHLO x")
        bad = base64.b64encode(b"\0alice@example.test\0wrong-password").decode()
        assert r.cmd("AUTH PLAIN " + bad).startswith(b"535 5.7.8 ")
        assert r.cmd("AUTH PLAIN !!!notbase64").startswith(b"501 5.5.4 ")
        assert r.cmd("AUTH PLAIN").startswith(b"334")
        assert r.cmd("###").startswith(b"501 5.5.2 ")
        assert r.cmd("AUTH LOGIN").startswith(b"334 VXNlcm5hbWU6")
        assert r.cmd("*").startswith(b"501 5.7.0 ")
        assert r.cmd("AUTH CRAM-MD5").startswith(b"504 5.5.4 ")
        assert r.cmd("MAIL FROM:<alice@example.test>").startswith(b"530 5.7.0 ")
        good = base64.b64encode(b"\0alice@example.test\0" + outpost.passwords[ALICE].encode()).decode()
        assert r.cmd("AUTH PLAIN " + good).startswith(b"235 2.7.0 ")
        assert r.cmd("AUTH PLAIN " + good).startswith(b"503 5.5.1 ")
    with RawSmtp(outpost.smtp_port) as r:
        r.cmd("EHLO x")
        assert r.cmd("AUTH PLAIN " + bad).startswith(b"503 5.5.1 ")
    log = outpost.stderr_text()
    assert outpost.passwords[ALICE] not in log and "wrong-password" not in log


def test_auth_needs_tls_off_loopback_policy(outpost_factory):
    server = outpost_factory(config={("auth", "plaintext"): "tls"})
    with RawSmtp(server.submission_port) as r:
        assert b"AUTH" not in r.cmd("EHLO x")
        assert r.cmd("AUTH PLAIN AGFAYgBj").startswith(b"538 5.7.11 ")
        r.starttls()
        assert r.cmd("MAIL FROM:<a@example.test>").startswith(b"503 5.5.1 ")   # state reset
        assert b"AUTH PLAIN LOGIN" in r.cmd("EHLO x")


def test_pipelining_and_bdat(outpost):
    """RFC 2920: a whole transaction in one write, replies in order; RFC
    3030: BDAT chunks (with pipelined commands after a chunk)."""
    msg = message(14)
    with RawSmtp(outpost.smtp_port) as r:
        r.cmd("EHLO x")
        r.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@example.test>\r\n"
               b"RCPT TO:<bob@example.test>\r\nDATA\r\n")
        assert code(r.reply()) == 250
        assert code(r.reply()) == 550
        assert code(r.reply()) == 250
        assert code(r.reply()) == 354
        r.send(msg + b".\r\nRSET\r\nNOOP\r\n")
        assert r.reply().startswith(b"250 2.0.0 Ok: queued as ")
        assert r.reply() == b"250 2.0.0 Ok\r\n"
        assert r.reply() == b"250 2.0.0 Ok\r\n"
        a, b2 = msg[:50], msg[50:]
        r.send(b"MAIL FROM:<a@example.org> BODY=8BITMIME\r\nRCPT TO:<bob@example.test>\r\n"
               b"BDAT %d\r\n%sBDAT %d LAST\r\n%sNOOP\r\n" % (len(a), a, len(b2), b2))
        assert code(r.reply()) == 250
        assert code(r.reply()) == 250
        assert r.reply() == b"250 2.0.0 50 octets received\r\n"
        assert r.reply().startswith(b"250 2.0.0 Ok: queued as ")
        assert r.reply() == b"250 2.0.0 Ok\r\n"
        # BDAT out of sequence: its octets are read anyway, then 503
        r.send(b"BDAT 5\r\nHELO!")
        assert r.reply().startswith(b"503 5.5.1 ")
        assert r.cmd("NOOP") == b"250 2.0.0 Ok\r\n"
        # DATA after BDAT in one transaction: 503
        assert code(r.cmd("MAIL FROM:<a@example.org>")) == 250
        assert code(r.cmd("RCPT TO:<bob@example.test>")) == 250
        r.send(b"BDAT 3\r\nabc")
        assert code(r.reply()) == 250
        assert r.cmd("DATA").startswith(b"503 5.5.1 ")
        assert code(r.cmd("RSET")) == 250
    got = mailbox_messages(outpost, BOB)
    assert [strip_trace(m) for m in got] == [msg, msg]


def test_smtputf8_and_dsn_parameters(outpost_factory):
    server = outpost_factory(config={("smtp", "catch_all"): "example.test = bob@example.test"})
    utf8_rcpt = "j\u00f6rg@example.test"
    with RawSmtp(server.smtp_port) as r:
        r.cmd("EHLO x")
        assert r.cmd("MAIL FROM:<s\u00e9@example.org>".encode()).startswith(b"553 5.6.7 ")
        assert code(r.cmd("MAIL FROM:<s\u00e9@example.org> SMTPUTF8 RET=HDRS ENVID=abc+2B1".encode())) == 250
        assert code(r.cmd(("RCPT TO:<%s> NOTIFY=NEVER" % utf8_rcpt).encode())) == 250
        assert code(r.cmd("DATA")) == 354
        r.send(message(15) + b".\r\n")
        assert code(r.reply()) == 250
        assert code(r.cmd("MAIL FROM:<a@example.org>")) == 250
        assert r.cmd(("RCPT TO:<%s>" % utf8_rcpt).encode()).startswith(b"553 5.6.7 ")
    got = mailbox_messages(server, BOB)
    assert len(got) == 1
    assert got[0].startswith("Return-Path: <s\u00e9@example.org>\r\n".encode())
    assert b"with UTF8SMTP" in got[0]


# ---- other clients ------------------------------------------------------------------------

def need(tool):
    if not shutil.which(tool):
        pytest.fail("%s is not installed (scripts/setup.sh test installs it)" % tool)


def run_tool(args, input=None):
    r = subprocess.run(args, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TOOL_TIMEOUT)
    assert r.returncode == 0, (args[0], r.returncode, r.stdout[-3000:], r.stderr[-3000:])
    return r


def test_swaks_mx_pipelining(outpost, tmp_path):
    need("swaks")
    msg = message(20)
    f = tmp_path / "m.eml"
    f.write_bytes(msg[:-2])          # swaks ends the data with CRLF "." CRLF itself
    run_tool(["swaks", "--server", "127.0.0.1", "--port", str(outpost.smtp_port), "--pipeline",
              "--from", "sender@example.org", "--to", BOB, "--data", "@%s" % f, "--helo", "swaks.example"])
    got = mailbox_messages(outpost, BOB)
    assert len(got) == 1 and strip_trace(got[0]) == msg


def test_swaks_submission_starttls_auth(outpost, tmp_path):
    need("swaks")
    msg = message(21)
    f = tmp_path / "m.eml"
    f.write_bytes(msg[:-2])
    for auth, opts in (("PLAIN", ["--tls"]), ("LOGIN", ["--tls", "--pipeline"])):
        run_tool(["swaks", "--server", "127.0.0.1", "--port", str(outpost.submission_port), *opts,
                  "--auth", auth, "--auth-user", ALICE, "--auth-password=" + outpost.passwords[ALICE],
                  "--from", ALICE, "--to", BOB, "--data", "@%s" % f])
    run_tool(["swaks", "--server", "127.0.0.1", "--port", str(outpost.submissions_port), "--tlsc",
              "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password=" + outpost.passwords[ALICE],
              "--from", ALICE, "--to", BOB, "--data", "@%s" % f])
    got = mailbox_messages(outpost, BOB)
    assert [strip_trace(m) for m in got] == [msg] * 3
    # a wrong password: swaks fails, nothing is delivered
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(outpost.submission_port),
                        "--tls", "--auth", "PLAIN", "--auth-user", ALICE,
                        "--auth-password=wrong-password", "--from", ALICE, "--to", BOB,
                        "--data", "@%s" % f], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TOOL_TIMEOUT)
    assert r.returncode != 0 and b"535 5.7.8" in r.stdout
    assert maildir_count(outpost, BOB) == 3


def test_curl_smtp_upload(outpost, tmp_path):
    need("curl")
    msg = message(22)
    f = tmp_path / "m.eml"
    f.write_bytes(msg)
    run_tool(["curl", "-sS", "smtp://127.0.0.1:%d" % outpost.smtp_port, "--mail-from",
              "sender@example.org", "--mail-rcpt", ALICE, "-T", str(f)])
    run_tool(["curl", "-sS", "--ssl-reqd", "-k", "smtp://127.0.0.1:%d" % outpost.submission_port,
              "--user", "%s:%s" % (BOB, outpost.passwords[BOB]), "--mail-from", BOB,
              "--mail-rcpt", ALICE, "-T", str(f)])
    run_tool(["curl", "-sS", "-k", "smtps://127.0.0.1:%d" % outpost.submissions_port,
              "--user", "%s:%s" % (BOB, outpost.passwords[BOB]), "--mail-from", BOB,
              "--mail-rcpt", ALICE, "-T", str(f)])
    got = mailbox_messages(outpost, ALICE)
    assert [strip_trace(m) for m in got] == [msg] * 3


def test_msmtp_submission(outpost, tmp_path):
    need("msmtp")
    msg = message(23)
    conf = tmp_path / "msmtprc"
    pw = tmp_path / "pw"
    pw.write_text(outpost.passwords[ALICE])
    conf.write_text("defaults\ntls_certcheck off\n"
                    "account sub\nhost 127.0.0.1\nport %d\ntls on\ntls_starttls on\nauth plain\n"
                    "user %s\npasswordeval cat %s\nfrom %s\n"
                    "account subs\nhost 127.0.0.1\nport %d\ntls on\ntls_starttls off\nauth login\n"
                    "user %s\npasswordeval cat %s\nfrom %s\n"
                    % (outpost.submission_port, ALICE, pw, ALICE,
                       outpost.submissions_port, ALICE, pw, ALICE))
    conf.chmod(0o600)
    for account in ("sub", "subs"):
        run_tool(["msmtp", "-C", str(conf), "-a", account, BOB], input=msg)
    got = mailbox_messages(outpost, BOB)
    assert [strip_trace(m) for m in got] == [msg] * 2
