"""POP3 against the real server: RFC 1939 (base protocol), RFC 2449 (CAPA,
response codes, pipelining), RFC 2595 (STLS), RFC 5034 (AUTH PLAIN),
RFC 8314 (implicit TLS), with Python's poplib and raw sockets; plus the
server's signals, its config checks and crash safety of local delivery."""

import base64
import os
import poplib
import random
import re
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (OUTPOST_BIN, RawPop3, Secret, insecure_tls_context,
                      make_cert, port_open, to_crlf, wait_until)

ALICE = "alice@example.test"
BOB = "bob@example.test"


# ---- helpers ---------------------------------------------------------------------------------

def message(n, body=b"", extra_headers=b""):
    """A small LF-ended message whose headers say which one it is."""
    return (b"From: Sender <sender@example.test>\n"
            b"To: alice@example.test\n"
            b"Subject: test message %d\n"
            b"Message-ID: <test-%d@example.test>\n" % (n, n)
            + extra_headers + b"\n" + (body or b"Body of message %d.\n" % n))


def expected_wire(msg):
    """What RETR must deliver for a stored message: CRLF line ends, and a
    final CRLF when the message had none (RFC 1939 section 3)."""
    out = to_crlf(msg)
    if not out.endswith(b"\r\n"):
        out += b"\r\n"
    return out


def retr_bytes(p, n):
    """RETR n with poplib: (message bytes with CRLF, octets counted by poplib).
    poplib has already undone the byte-stuffing."""
    resp, lines, octets = p.retr(n)
    assert resp.startswith(b"+OK"), resp
    return b"".join(ln + b"\r\n" for ln in lines), octets


def list_sizes(p):
    resp, lines, _ = p.list()
    assert resp.startswith(b"+OK"), resp
    out = {}
    for ln in lines:
        num, size = ln.split()
        out[int(num)] = int(size)
    return out


def uidl_map(p):
    resp, lines, _ = p.uidl()
    assert resp.startswith(b"+OK"), resp
    out = {}
    for ln in lines:
        num, uid = ln.split(b" ", 1)
        out[int(num)] = uid
    return out


def err(fn, *args):
    """Call a poplib method that must fail; return the -ERR line."""
    with pytest.raises(poplib.error_proto) as e:
        fn(*args)
    resp = e.value.args[0]
    assert resp.startswith(b"-ERR"), resp
    return resp


def stat(p):
    resp = p.stat()
    return resp   # (count, octets)


def peer_cert_der(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with insecure_tls_context().wrap_socket(s) as t:
            return t.getpeercert(binary_form=True)


def file_cert_der(path):
    return ssl.PEM_cert_to_DER_cert(open(path).read())


def capa_lines(raw):
    r = raw.cmd("CAPA")
    assert r.startswith(b"+OK"), r
    return [ln.rstrip(b"\r\n").decode() for ln in raw.multiline()]


def new_session_works(server, address=ALICE):
    p = server.login(address)
    count, _ = p.stat()
    p.quit()
    return count


# ---- greeting, login, authentication ------------------------------------------------------

def test_greeting_is_ok(outpost):
    with outpost.raw() as r:
        assert r.greeting.startswith(b"+OK")
        assert r.greeting.endswith(b"\r\n")


def test_user_pass_login_and_quit(outpost):
    p = outpost.pop3()
    assert p.getwelcome().startswith(b"+OK")
    assert p.user(ALICE).startswith(b"+OK")
    assert p.pass_(outpost.passwords[ALICE]).startswith(b"+OK")
    assert p.stat() == (0, 0)
    assert p.quit().startswith(b"+OK")


def test_login_name_without_domain_gets_default_domain(outpost):
    outpost.deliver(ALICE, message(1))
    p = outpost.pop3()
    p.user("alice")
    p.pass_(outpost.passwords[ALICE])
    assert p.stat()[0] == 1
    p.quit()


def test_auth_plain_with_initial_response(outpost):
    with outpost.raw() as r:
        resp = r.cmd("AUTH PLAIN " + r.auth_plain_response(ALICE))
        assert resp.startswith(b"+OK"), resp
        assert r.cmd("STAT").startswith(b"+OK 0 0")
        assert r.cmd("QUIT").startswith(b"+OK")


def test_auth_plain_with_continuation(outpost):
    with outpost.raw() as r:
        resp = r.cmd("AUTH PLAIN")
        # RFC 5034 section 4: an empty challenge is "+ " (some servers send "+").
        assert resp in (b"+ \r\n", b"+\r\n"), resp
        resp = r.cmd(r.auth_plain_response(ALICE))
        assert resp.startswith(b"+OK"), resp
        assert r.cmd("STAT").startswith(b"+OK")


def test_auth_plain_with_authzid_equal_to_user(outpost):
    with outpost.raw() as r:
        resp = r.cmd("AUTH PLAIN " + r.auth_plain_response(ALICE, authzid=ALICE))
        assert resp.startswith(b"+OK"), resp


def test_non_ascii_password_in_another_unicode_form(outpost):
    """RFC 4616 section 2: passwords are compared after SASLprep (RFC 4013),
    so a no-break space typed for a space, or a decomposed accent for a
    composed one, still logs in."""
    outpost.add_user("dora@example.test", password="caf\u00e9\u00a0au lait " + os.urandom(4).hex())
    pw = str(outpost.passwords["dora@example.test"])
    typed = pw.replace("\u00e9", "e\u0301").replace("\u00a0", " ")
    with outpost.raw() as r:
        resp = r.cmd("AUTH PLAIN " + base64.b64encode(
            ("\0dora@example.test\0" + typed).encode()).decode())
        assert resp.startswith(b"+OK"), resp
    with outpost.raw() as r:
        resp = r.cmd("AUTH PLAIN " + base64.b64encode(
            ("\0dora@example.test\0" + typed.replace(" ", "", 1)).encode()).decode())
        assert resp.startswith(b"-ERR [AUTH]"), resp


def test_auth_plain_cancelled(outpost):
    with outpost.raw() as r:
        assert r.cmd("AUTH PLAIN").startswith(b"+")
        assert r.cmd("*").startswith(b"-ERR")   # RFC 5034 section 4: "*" cancels
        r.login()


def test_auth_plain_bad_base64_and_wrong_password(outpost):
    with outpost.raw() as r:
        assert r.cmd("AUTH PLAIN !!!notbase64!!!").startswith(b"-ERR")
        resp = r.cmd("AUTH PLAIN " + r.auth_plain_response(ALICE, password="wrong-password"))
        assert resp.startswith(b"-ERR [AUTH]"), resp
        r.login()


def test_auth_unknown_mechanism(outpost):
    with outpost.raw() as r:
        assert r.cmd("AUTH CRAM-MD5").startswith(b"-ERR")
        assert r.cmd("AUTH X-NONE abc").startswith(b"-ERR")
        r.login()


def test_wrong_password_gives_auth_code(outpost):
    p = outpost.pop3()
    p.user(ALICE)
    resp = err(p.pass_, "not-the-password")
    assert resp.startswith(b"-ERR [AUTH]"), resp
    p.close()
    # An unknown user is refused the same way (no account probing).
    p = outpost.pop3()
    try:
        p.user("nobody@example.test")
        resp = err(p.pass_, "whatever-it-is")
    except poplib.error_proto as e:   # USER itself may refuse
        resp = e.args[0]
    assert resp.startswith(b"-ERR"), resp
    p.close()
    # The right password still works afterwards.
    outpost.login(ALICE).quit()


def test_failed_logins_from_one_address_are_slowed_progressively(outpost):
    """Each failure from an address waits longer before its reply (250 ms,
    doubling); new connections do not reset it. Only lower bounds are
    checked: they are the design, not a speed."""
    waits = []
    for _ in range(4):
        r = outpost.raw()
        r.send(b"USER %s\r\n" % ALICE.encode())
        assert r.line().startswith(b"+OK")
        t0 = time.monotonic()
        r.send(b"PASS not-the-password\r\n")
        assert r.line().startswith(b"-ERR [AUTH]")
        waits.append(time.monotonic() - t0)
        r.close()
    assert waits[0] >= 0.2, waits
    assert waits[2] >= 0.9, waits
    assert waits[3] >= 1.8, waits
    # The right password is still accepted (after its wait).
    outpost.login(ALICE).quit()


def test_second_session_is_in_use(outpost):
    p = outpost.login(ALICE)
    q = outpost.pop3()
    q.user(ALICE)
    resp = err(q.pass_, outpost.passwords[ALICE])
    assert resp.startswith(b"-ERR [IN-USE]"), resp
    q.close()
    # Another mailbox is not affected.
    outpost.login(BOB).quit()
    p.quit()
    # Once the first session has ended, the mailbox is free again.
    outpost.login(ALICE).quit()


def test_commands_in_wrong_state(outpost):
    # A fresh connection for every few refused commands: a server may close
    # a connection after a run of errors.
    for c in ("STAT", "LIST", "RETR 1", "DELE 1", "UIDL", "TOP 1 0", "RSET", "NOOP",
              "PASS something"):   # the last: PASS without USER
        with outpost.raw() as r:
            resp = r.cmd(c)
            assert resp.startswith(b"-ERR"), (c, resp)
            r.login()
    with outpost.raw() as r:
        r.login()
        for c in ("USER " + ALICE, "PASS x", "AUTH PLAIN " + r.auth_plain_response(ALICE),
                  "STLS"):
            resp = r.cmd(c)
            assert resp.startswith(b"-ERR"), (c.split()[0], resp)
        assert r.cmd("STAT").startswith(b"+OK")


def test_unknown_and_empty_commands(outpost):
    for bad in ("XYZZY", "", "   ", "USERX alice"):
        with outpost.raw() as r:
            resp = r.cmd(bad)
            assert resp.startswith(b"-ERR"), (bad, resp)
            r.login()
            resp = r.cmd(bad + " 1 2 3")
            assert resp.startswith(b"-ERR"), (bad, resp)
            assert r.cmd("STAT").startswith(b"+OK")


def test_commands_are_case_insensitive(outpost):
    with outpost.raw() as r:
        assert r.cmd("user " + ALICE).startswith(b"+OK")
        resp = r.cmd("pAsS " + outpost.passwords[ALICE])
        assert resp.startswith(b"+OK"), resp
        assert r.cmd("stat").startswith(b"+OK")


def test_capa(outpost):
    with outpost.raw() as r:
        caps = capa_lines(r)
        names = [c.split()[0].upper() for c in caps if c]
        for need in ("TOP", "USER", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
                     "SASL", "STLS", "IMPLEMENTATION"):
            assert need in names, need
        sasl = [c for c in caps if c.upper().startswith("SASL")][0]
        assert "PLAIN" in sasl.upper().split()[1:]
        # CAPA works in the TRANSACTION state too (RFC 2449 section 5).
        r.login()
        names = [c.split()[0].upper() for c in capa_lines(r) if c]
        assert "TOP" in names and "UIDL" in names
        # STLS is only for the AUTHORIZATION state.
        assert "STLS" not in names


def test_pipelining(outpost):
    for i in range(3):
        outpost.deliver(ALICE, message(i))
    with outpost.raw() as r:
        r.send("USER %s\r\nPASS %s\r\nSTAT\r\nLIST\r\nUIDL 2\r\nNOOP\r\nRETR 3\r\nQUIT\r\n"
               % (ALICE, outpost.passwords[ALICE]))
        assert r.line().startswith(b"+OK")
        assert r.line().startswith(b"+OK")
        assert r.line().startswith(b"+OK 3 ")
        assert r.line().startswith(b"+OK")
        assert len(r.multiline()) == 3
        assert r.line().startswith(b"+OK 2 ")
        assert r.line().startswith(b"+OK")
        assert r.line().startswith(b"+OK")
        assert b"".join(r.multiline()) == expected_wire(message(2))
        assert r.line().startswith(b"+OK")


# ---- the TRANSACTION state ------------------------------------------------------------------

def test_stat_list_uidl_retr(outpost):
    msgs = [message(i, b"line\n" * (i + 1)) for i in range(3)]
    for m in msgs:
        outpost.deliver(ALICE, m)
    p = outpost.login(ALICE)
    count, total = p.stat()
    assert count == 3
    sizes = list_sizes(p)
    assert sorted(sizes) == [1, 2, 3]
    assert total == sum(sizes.values())
    for i, m in enumerate(msgs, 1):
        resp = p.list(i)
        assert resp.split() == [b"+OK", b"%d" % i, b"%d" % sizes[i]]
        data, octets = retr_bytes(p, i)
        assert data == expected_wire(m)
        assert sizes[i] == len(data) == octets
    uids = uidl_map(p)
    assert sorted(uids) == [1, 2, 3]
    assert len(set(uids.values())) == 3
    for i, uid in uids.items():
        # RFC 1939 section 7: 1 to 70 characters in the range 0x21 to 0x7E.
        assert 1 <= len(uid) <= 70 and all(0x21 <= c <= 0x7E for c in uid), uid
        assert p.uidl(i).split() == [b"+OK", b"%d" % i, uid]
    assert p.noop().startswith(b"+OK")
    p.quit()


MESSAGES = {
    "lf": b"From: a@example.test\nSubject: lf\n\nline one\nline two\n",
    "crlf": b"From: a@example.test\r\nSubject: crlf\r\n\r\nline one\r\nline two\r\n",
    "dots": (b"From: a@example.test\nSubject: dots\n\n.leading dot\n..two dots\n.\n"
             b"...\n. space\nend\n"),
    "dots_crlf": b"Subject: dots\r\n\r\n.\r\n..\r\n.x\r\n",
    "no_final_newline": b"From: a@example.test\nSubject: cut\n\nno newline at the end",
    "no_final_newline_dot": b"Subject: cut\n\n.",
    "eight_bit": (b"From: a@example.test\nSubject: =?utf-8?q?caf=C3=A9?=\n"
                  b"Content-Type: text/plain; charset=latin1\n"
                  b"Content-Transfer-Encoding: 8bit\n\n"
                  + bytes(range(0x80, 0x100)) + b"\n" + "é ü ß ∑ 日本\n".encode()),
    "headers_only": b"From: a@example.test\nSubject: only headers\n",
    "empty_lines": b"Subject: blank\n\n\n\n\nafter blanks\n\n",
    "long_lines": b"Subject: long\n\n" + (b"x" * 1000 + b"\n") * 3,
    "one_mb": (b"From: a@example.test\nSubject: big\n\n"
               + b"".join(b"%07d %s\n" % (i, b"abcdefghijklmnopqrstuvwxyz0123456789" * 2)
                          for i in range(12500))),
}


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_message_comes_back_byte_identical(outpost, name):
    msg = MESSAGES[name]
    if name == "one_mb":
        assert len(msg) > 1_000_000
    outpost.deliver(ALICE, msg)
    p = outpost.login(ALICE)
    size = list_sizes(p)[1]
    data, octets = retr_bytes(p, 1)
    assert data == expected_wire(msg)
    # RFC 1939 section 5: LIST gives the exact size; it must be what RETR sends.
    assert size == octets == len(data)
    assert p.stat() == (1, size)
    p.quit()


def test_retr_of_a_message_not_in_the_page_cache(outpost):
    """Message data that must come from the disk is read on the worker pool
    (the event loop never waits for the disk); the bytes are the same."""
    body = b"".join(b"%06d .dotted line\n.%06d\n" % (i, i) for i in range(40000))
    msg = message(1, body=body)
    outpost.deliver(ALICE, msg)
    outpost.deliver(ALICE, message(2))
    files = [p for d in ("new", "cur") for p in (outpost.maildir(ALICE) / d).iterdir()]
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    p = outpost.login(ALICE)
    # Forget cached directory entries too, where allowed (root, no container
    # limits): opening the file must not wait for the disk either.
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("2\n")
        dropped_dentries = True
    except OSError:
        dropped_dentries = False
    # Pipelined behind the big one, the small one must wait its turn.
    got1 = retr_bytes(p, 1)[0]
    got2 = retr_bytes(p, 2)[0]
    assert got1 == expected_wire(msg)
    assert got2 == expected_wire(message(2))
    p.quit()
    # Where the file system can tell (ext4, xfs, btrfs), the pool did the reading.
    try:
        fd = os.open(files[0], os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.preadv(fd, [bytearray(16)], 0, os.RWF_NOWAIT)
        nowait_works = False                    # cached anyway: cannot tell
    except BlockingIOError:
        nowait_works = True
    except OSError:
        nowait_works = False
    finally:
        os.close(fd)
    if nowait_works:
        assert re.search(r"message data not cached: \d+ chunks? read on the pool",
                         outpost.stderr_text()), outpost.stderr_tail()
    if dropped_dentries:
        assert re.search(r"message 1: path not cached, opening it on the pool",
                         outpost.stderr_text()), outpost.stderr_tail()


def test_messages_moved_or_removed_by_another_program(outpost):
    """A mail reader on the same Maildir may move a message to cur/ and add
    flags, or delete it, while a POP3 session has it listed."""
    for n in (1, 2, 3):
        outpost.deliver(ALICE, message(n))
    p = outpost.login(ALICE)
    assert p.stat()[0] == 3
    new = sorted((outpost.maildir(ALICE) / "new").iterdir())
    assert len(new) == 3
    os.rename(new[0], outpost.maildir(ALICE) / "cur" / (new[0].name + ":2,S"))
    new[1].unlink()
    assert retr_bytes(p, 1)[0] == expected_wire(message(1))     # found in cur/
    resp = err(p.retr, 2)
    assert b"removed" in resp, resp
    assert retr_bytes(p, 3)[0] == expected_wire(message(3))
    # TOP of the moved one works too, and the session goes on normally.
    resp, lines, _ = p.top(1, 0)
    assert resp.startswith(b"+OK") and b"Subject: test message 1" in lines
    p.dele(1)
    p.quit()
    p = outpost.login(ALICE)
    assert p.stat()[0] == 1
    assert retr_bytes(p, 1)[0] == expected_wire(message(3))
    p.quit()


def test_retr_byte_stuffing_on_the_wire(outpost):
    outpost.deliver(ALICE, MESSAGES["dots"])
    with outpost.raw() as r:
        r.login()
        assert r.cmd("RETR 1").startswith(b"+OK")
        lines = r.multiline()
    # RFC 1939 section 3: a line starting with "." gets one more "."
    assert b"..leading dot\r\n" in lines
    assert b"...two dots\r\n" in lines
    assert b"..\r\n" in lines
    assert b"....\r\n" in lines
    assert b".. space\r\n" in lines
    assert b"end\r\n" == lines[-1]


def test_top(outpost):
    msg = b"From: a@example.test\nSubject: top\n\nbody 1\n.body 2\nbody 3\n"
    outpost.deliver(ALICE, msg)
    p = outpost.login(ALICE)
    resp, lines, _ = p.top(1, 0)
    assert resp.startswith(b"+OK")
    assert lines == [b"From: a@example.test", b"Subject: top", b""]
    _, lines, _ = p.top(1, 2)
    assert lines == [b"From: a@example.test", b"Subject: top", b"", b"body 1", b".body 2"]
    _, lines, _ = p.top(1, 100)
    assert b"".join(ln + b"\r\n" for ln in lines) == expected_wire(msg)
    err(p.top, 2, 0)
    err(p.top, 0, 0)
    err(p._longcmd, "TOP 1")
    err(p._longcmd, "TOP 1 -1")
    p.quit()


def test_dele_rset_and_quit(outpost):
    msgs = [message(i) for i in range(1, 5)]
    for m in msgs:
        outpost.deliver(ALICE, m)
    p = outpost.login(ALICE)
    uids = uidl_map(p)
    sizes = list_sizes(p)
    assert p.dele(2).startswith(b"+OK")
    # A deleted message is gone from STAT, LIST and UIDL, and may not be used.
    assert p.stat() == (3, sum(sizes.values()) - sizes[2])
    assert sorted(list_sizes(p)) == [1, 3, 4]
    assert sorted(uidl_map(p)) == [1, 3, 4]
    err(p.retr, 2)
    err(p.list, 2)
    err(p.uidl, 2)
    err(p.top, 2, 0)
    err(p.dele, 2)          # already deleted
    assert p.rset().startswith(b"+OK")
    assert p.stat() == (4, sum(sizes.values()))
    assert retr_bytes(p, 2)[0] == expected_wire(msgs[1])
    assert p.dele(1).startswith(b"+OK")
    assert p.dele(3).startswith(b"+OK")
    assert p.noop().startswith(b"+OK")
    assert p.quit().startswith(b"+OK")
    # QUIT entered the UPDATE state: 1 and 3 are gone, 2 and 4 keep their UIDs.
    p = outpost.login(ALICE)
    assert p.stat()[0] == 2
    assert retr_bytes(p, 1)[0] == expected_wire(msgs[1])
    assert retr_bytes(p, 2)[0] == expected_wire(msgs[3])
    assert uidl_map(p) == {1: uids[2], 2: uids[4]}
    p.quit()


def test_deletion_only_at_quit(outpost):
    for i in range(3):
        outpost.deliver(ALICE, message(i))
    p = outpost.login(ALICE)
    p.dele(1)
    p.dele(2)
    p.dele(3)
    # Drop the connection without QUIT: nothing may be deleted.
    p.sock.close()
    p.file.close()
    assert new_session_works(outpost) == 3
    # Same with RSET then QUIT.
    p = outpost.login(ALICE)
    p.dele(1)
    p.rset()
    p.quit()
    assert new_session_works(outpost) == 3
    # QUIT in the AUTHORIZATION state deletes nothing either.
    with outpost.raw() as r:
        assert r.cmd("USER " + ALICE).startswith(b"+OK")
        assert r.cmd("QUIT").startswith(b"+OK")
    assert new_session_works(outpost) == 3


BAD_NUMBERS = ("RETR 0", "RETR 3", "RETR 4294967296", "RETR 99999999999999999999", "RETR -1",
               "RETR abc", "RETR", "RETR 1 2", "RETR +1", "LIST 0", "LIST 3", "UIDL 0",
               "UIDL 3", "DELE 0", "DELE 3", "TOP 3 0", "TOP 0 1", "DELE", "TOP", "TOP 1 x")


def test_message_numbers_out_of_range(outpost):
    for i in range(2):
        outpost.deliver(ALICE, message(i))
    for k in range(0, len(BAD_NUMBERS), 5):
        with outpost.raw() as r:
            r.login()
            for c in BAD_NUMBERS[k:k + 5]:
                resp = r.cmd(c)
                assert resp.startswith(b"-ERR"), (c, resp)
            assert r.cmd("STAT").startswith(b"+OK 2 ")
            assert r.cmd("QUIT").startswith(b"+OK")
    with outpost.raw() as r:
        r.login()
        assert r.cmd("DELE 2").startswith(b"+OK")
        for c in ("RETR 2", "LIST 2", "UIDL 2", "DELE 2", "TOP 2 0"):
            resp = r.cmd(c)
            assert resp.startswith(b"-ERR"), (c, resp)
        assert r.cmd("STAT").startswith(b"+OK 1 ")
        assert r.cmd("RSET").startswith(b"+OK")
        assert r.cmd("STAT").startswith(b"+OK 2 ")
        assert r.cmd("QUIT").startswith(b"+OK")
    assert new_session_works(outpost) == 2


def test_mailbox_is_fixed_for_the_session(outpost):
    outpost.deliver(ALICE, message(1))
    p = outpost.login(ALICE)
    assert p.stat()[0] == 1
    outpost.deliver(ALICE, message(2))
    # The maildrop was fixed at login; the new message shows up next time.
    assert p.stat()[0] == 1
    err(p.retr, 2)
    p.quit()
    assert new_session_works(outpost) == 2


def test_uidl_stable_across_sessions_and_restarts(outpost):
    for i in range(4):
        outpost.deliver(ALICE, message(i))
    p = outpost.login(ALICE)
    first = uidl_map(p)
    p.quit()
    p = outpost.login(ALICE)
    assert uidl_map(p) == first
    p.quit()
    assert outpost.restart() == 0
    p = outpost.login(ALICE)
    assert uidl_map(p) == first
    p.quit()


def test_uidl_never_reused(outpost):
    for i in range(3):
        outpost.deliver(ALICE, message(i))
    p = outpost.login(ALICE)
    seen = set(uidl_map(p).values())
    p.dele(3)       # the newest: a counter that is not kept would hand its UID out again
    p.dele(2)
    p.quit()
    outpost.deliver(ALICE, message(10))
    p = outpost.login(ALICE)
    uids = uidl_map(p)
    assert len(uids) == 2
    assert uids[2] not in seen
    seen |= set(uids.values())
    p.dele(2)
    p.quit()
    assert outpost.restart() == 0
    outpost.deliver(ALICE, message(11))
    p = outpost.login(ALICE)
    uids = uidl_map(p)
    assert len(uids) == 2
    assert uids[2] not in seen
    p.quit()


def test_index_follows_the_maildir(outpost):
    """The Maildir is the truth: a message another program drops into new/
    shows up, and a missing or corrupt index is rebuilt (new UIDVALIDITY, so
    new UIDLs, but the same messages)."""
    outpost.deliver(ALICE, message(1))
    p = outpost.login(ALICE)
    first = uidl_map(p)
    p.quit()
    md = outpost.maildir(ALICE)
    # Another program delivers the Maildir way: tmp/ then rename into new/.
    other = message(2, body=b"dropped in by another program\n")
    tmp = md / "tmp" / "1700000000.other.host"
    tmp.write_bytes(other)
    os.rename(tmp, md / "new" / "1700000000.other.host")
    p = outpost.login(ALICE)
    assert p.stat()[0] == 2
    uidls = uidl_map(p)
    assert uidls[1] == first[1]                       # the old one keeps its UIDL
    assert retr_bytes(p, 1)[0] == expected_wire(message(1))
    assert retr_bytes(p, 2)[0] == expected_wire(other)
    assert list_sizes(p)[2] == len(expected_wire(other))   # read from the file: no S=/W=
    got = {expected_wire(message(1)), expected_wire(other)}
    p.quit()
    # The index removed: rebuilt, nothing lost, UIDLs all new and unique.
    for f in md.glob("outpost-index.sqlite*"):
        f.unlink()
    p = outpost.login(ALICE)
    rebuilt = uidl_map(p)
    assert len(rebuilt) == 2 and len(set(rebuilt.values())) == 2
    assert not set(rebuilt.values()) & set(uidls.values())
    p.quit()
    # The index overwritten with garbage: the same.
    (md / "outpost-index.sqlite").write_bytes(b"this is not an SQLite database" * 100)
    p = outpost.login(ALICE)
    again = uidl_map(p)
    assert len(again) == 2 and not set(again.values()) & set(rebuilt.values())
    assert {retr_bytes(p, n)[0] for n in (1, 2)} == got
    p.quit()


def test_mailboxes_are_separate(outpost):
    outpost.deliver(ALICE, message(1))
    outpost.deliver(BOB, message(2))
    outpost.deliver(BOB, message(3))
    p = outpost.login(ALICE)
    q = outpost.login(BOB)
    assert p.stat()[0] == 1
    assert q.stat()[0] == 2
    assert retr_bytes(q, 1)[0] == expected_wire(message(2))
    p.quit()
    q.quit()


# ---- TLS ---------------------------------------------------------------------------------------

def test_stls_then_login(outpost):
    outpost.deliver(ALICE, message(1))
    p = outpost.pop3()
    assert p.stls(context=insecure_tls_context()).startswith(b"+OK")
    assert isinstance(p.sock, ssl.SSLSocket)
    assert p.sock.version() in ("TLSv1.2", "TLSv1.3")
    caps = p.capa()
    assert "STLS" not in caps           # RFC 2595 section 4: not after TLS is active
    assert "USER" in caps
    p.user(ALICE)
    p.pass_(outpost.passwords[ALICE])
    assert retr_bytes(p, 1)[0] == expected_wire(message(1))
    p.quit()


def test_stls_twice_is_refused(outpost):
    with outpost.raw() as r:
        r.starttls()
        assert r.cmd("STLS").startswith(b"-ERR")
        r.login()


def test_implicit_tls_port(outpost):
    outpost.deliver(ALICE, message(1))
    p = outpost.pop3_ssl()
    assert p.getwelcome().startswith(b"+OK")
    assert "STLS" not in p.capa()
    p.user(ALICE)
    p.pass_(outpost.passwords[ALICE])
    assert retr_bytes(p, 1)[0] == expected_wire(message(1))
    p.quit()
    with outpost.raw(tls=True) as r:
        resp = r.cmd("AUTH PLAIN " + r.auth_plain_response(ALICE))
        assert resp.startswith(b"+OK"), resp


def test_tls_1_1_is_refused(outpost):
    ctx = insecure_tls_context()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot offer TLS 1.1")
    with socket.create_connection(("127.0.0.1", outpost.pop3s_port), timeout=10) as s:
        with pytest.raises((ssl.SSLError, OSError)):
            ctx.wrap_socket(s).do_handshake()
    assert new_session_works(outpost) == 0


def test_plaintext_policy_tls(outpost_factory):
    srv = outpost_factory({("auth", "plaintext"): "tls"})
    with srv.raw() as r:
        resp = r.cmd("USER " + ALICE)
        if resp.startswith(b"+OK"):
            resp = r.cmd("PASS " + srv.passwords[ALICE])
        assert resp.startswith(b"-ERR"), resp
        resp = r.cmd("AUTH PLAIN " + r.auth_plain_response(ALICE))
        assert resp.startswith(b"-ERR"), resp
        r.starttls()
        r.login()
        assert r.cmd("STAT").startswith(b"+OK")
    p = srv.pop3_ssl()
    p.user(ALICE)
    p.pass_(srv.passwords[ALICE])
    p.quit()


# ---- bad input ----------------------------------------------------------------------------------

def read_until_ok(r, limit=20):
    """Read status lines until a +OK; returns the lines before it (all must be -ERR)."""
    before = []
    for _ in range(limit):
        ln = r.line()
        if ln.startswith(b"+OK"):
            return before
        assert ln.startswith(b"-ERR"), ln
        before.append(ln)
    raise AssertionError("no +OK after %d lines" % limit)


def test_nul_bytes(outpost):
    with outpost.raw() as r:
        assert r.cmd(b"US\x00ER alice").startswith(b"-ERR")
        assert r.cmd(b"\x00\x00\x00").startswith(b"-ERR")
        assert r.cmd(b"USER alice\x00@example.test").startswith(b"-ERR")
        r.login()
        resp = r.cmd(b"STAT\x00")
        assert resp.startswith(b"-ERR"), resp
        assert r.cmd(b"RETR 1\x00 2").startswith(b"-ERR")
        assert r.cmd("STAT").startswith(b"+OK")
    assert new_session_works(outpost) == 0


def test_binary_garbage(outpost):
    outpost.deliver(ALICE, message(1))
    rnd = random.Random(1939)
    for round_ in range(3):
        with outpost.raw() as r:
            if round_ == 2:
                r.login()
            garbage = bytes(rnd.randrange(256) for _ in range(4000))
            try:
                r.send(garbage + b"\r\n")
                r.closed_within(1.0)     # drain whatever it answers
            except OSError:
                pass
    # The server is up and the mailbox intact.
    p = outpost.login(ALICE)
    assert retr_bytes(p, 1)[0] == expected_wire(message(1))
    p.quit()


def test_overlong_line(outpost):
    with outpost.raw() as r:
        # More than 8 KiB without a line end, then the end of that line.
        r.send(b"A" * 10000)
        r.send(b"B" * 10000 + b"\r\n")
        r.send(b"CAPA\r\n")
        errs = read_until_ok(r)
        assert errs, "no -ERR for the over-long line"
        r.multiline()
        r.login()
        # RFC 2449 section 4: commands are at most 255 octets.
        resp = r.cmd("NOOP " + "x" * 300)
        assert resp.startswith(b"-ERR"), resp
        resp = r.cmd("RETR " + "1" * 400)
        assert resp.startswith(b"-ERR"), resp
        assert r.cmd("STAT").startswith(b"+OK")
    with outpost.raw() as r:
        assert r.cmd("USER " + "a" * 300 + "@example.test").startswith(b"-ERR")
        r.login()


def test_many_errors_then_still_serving(outpost):
    with outpost.raw() as r:
        r.send(b"BOGUS\r\n" * 20)
        try:
            for _ in range(20):
                assert r.line().startswith(b"-ERR")
        except EOFError:
            pass    # closing after many errors is allowed
    assert new_session_works(outpost) == 0


def test_client_vanishes_mid_retr(outpost):
    big = MESSAGES["one_mb"]
    outpost.deliver(ALICE, big)
    outpost.deliver(ALICE, message(2))
    for how in ("rst", "fin"):
        r = outpost.raw()
        r.login()
        r.send(b"RETR 1\r\n" * 4)
        got = 0
        while got < 20000:
            got += len(r.recv_some())
        if how == "rst":
            r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        r.close()
    # A client that stops reading but keeps the socket open must not block others.
    stuck = outpost.raw()
    stuck.login()
    stuck.send(b"RETR 1\r\n" * 20)
    try:
        q = outpost.login(BOB)
        q.quit()
    finally:
        stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        stuck.close()
    p = outpost.login(ALICE)
    assert p.stat()[0] == 2
    assert retr_bytes(p, 1)[0] == expected_wire(big)
    assert retr_bytes(p, 2)[0] == expected_wire(message(2))
    p.quit()


def test_idle_timeout(outpost_factory):
    srv = outpost_factory({("pop3", "idle_timeout"): "2s"})
    srv.deliver(ALICE, message(1))
    # Idle before login.
    r = srv.raw()
    t0 = time.monotonic()
    assert r.closed_within(10), "idle connection not closed"
    assert time.monotonic() - t0 >= 1.5
    r.close()
    # Stalled in the middle of a command line.
    r = srv.raw()
    r.send(b"USER ali")
    assert r.closed_within(10), "stalled connection not closed"
    r.close()
    # Idle after login with a deletion pending: closed, nothing deleted.
    r = srv.raw()
    r.login()
    assert r.cmd("DELE 1").startswith(b"+OK")
    assert r.closed_within(10), "idle session not closed"
    r.close()
    # Activity keeps a session open.
    r = srv.raw()
    r.login()
    for _ in range(4):
        time.sleep(1)
        assert r.cmd("NOOP").startswith(b"+OK")
    r.close()
    p = srv.login(ALICE)
    assert p.stat()[0] == 1
    p.quit()


def test_command_timeout_against_trickling_and_stalled_handshake(outpost_factory):
    srv = outpost_factory({("pop3", "idle_timeout"): "1m", ("pop3", "command_timeout"): "2s"})
    srv.deliver(ALICE, message(1))
    # A line whose bytes trickle in keeps the idle clock fresh, but must
    # still be complete within the command timeout.
    r = srv.raw()
    t0 = time.monotonic()
    closed = False
    for ch in b"USER alice@example.test":
        try:
            r.send(bytes([ch]))
        except OSError:
            closed = True
            break
        time.sleep(0.25)
        if time.monotonic() - t0 > 8:
            break
    assert closed or r.closed_within(5), "trickled line not cut off"
    assert time.monotonic() - t0 < 10
    r.close()
    # A client that opens the TLS port and never starts the handshake.
    port = srv.pop3s_port
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(10)
    t0 = time.monotonic()
    try:
        assert s.recv(100) == b""
    except ConnectionResetError:
        pass
    assert time.monotonic() - t0 < 9
    s.close()
    # Complete commands at a normal pace are not affected.
    r = srv.raw()
    r.login()
    for _ in range(3):
        time.sleep(1)
        assert r.cmd("NOOP").startswith(b"+OK")
    r.close()
    assert srv.running()


def test_connection_limit_per_ip(outpost_factory):
    srv = outpost_factory({("limits", "max_per_ip"): "2"})
    a = srv.admitted()
    b = srv.admitted()
    assert a.greeting.startswith(b"+OK"), a.greeting
    assert b.greeting.startswith(b"+OK"), b.greeting
    c = RawPop3(srv, read_greeting=False)
    resp = c.line()
    assert resp.startswith(b"-ERR") and b"[SYS/TEMP]" in resp, resp
    assert c.closed_within(5), "refused connection left open"
    c.close()
    # The two admitted ones still work.
    a.login(ALICE)
    assert a.cmd("STAT").startswith(b"+OK")
    a.close()

    def third_admitted():
        try:
            with srv.raw() as d:
                return d.greeting.startswith(b"+OK")
        except (EOFError, OSError):
            return False
    assert wait_until(third_admitted, 5), "no room after a connection closed"
    b.close()


# ---- signals, config, command line ------------------------------------------------------------

def test_sighup_reloads_certificate(outpost, tmp_path):
    old = peer_cert_der(outpost.pop3s_port)
    assert old == file_cert_der(outpost.data / "cert.pem")
    outpost.deliver(ALICE, message(1))
    live = outpost.pop3_ssl()
    live.user(ALICE)
    live.pass_(outpost.passwords[ALICE])
    plain = outpost.login(BOB)
    new_cert, new_key = make_cert(tmp_path / "newcert", cn="outpost-test-renewed")
    os.replace(new_key, outpost.data / "key.pem")
    os.replace(new_cert, outpost.data / "cert.pem")
    want = file_cert_der(outpost.data / "cert.pem")
    assert want != old
    outpost.signal(signal.SIGHUP)
    assert wait_until(lambda: peer_cert_der(outpost.pop3s_port) == want, 10, 0.2), \
        "the implicit-TLS port still serves the old certificate"
    # STLS on the plain port uses the new one too.
    p = outpost.pop3()
    p.stls(context=insecure_tls_context())
    assert p.sock.getpeercert(binary_form=True) == want
    p.quit()
    # Sessions that were open keep going.
    assert live.noop().startswith(b"+OK")
    assert retr_bytes(live, 1)[0] == expected_wire(message(1))
    live.quit()
    assert plain.stat() == (0, 0)
    plain.quit()
    assert outpost.running()


def test_sighup_with_broken_certificate_keeps_serving(outpost):
    old = peer_cert_der(outpost.pop3s_port)
    (outpost.data / "cert.pem").write_text("not a certificate\n")
    outpost.signal(signal.SIGHUP)
    time.sleep(1)
    assert outpost.running()
    assert peer_cert_der(outpost.pop3s_port) == old
    assert new_session_works(outpost) == 0


def test_sighup_applies_new_settings_to_new_sessions(outpost):
    """A valid config on SIGHUP: new sessions follow it, open ones carry on.
    An invalid one: logged, and the running settings stay."""
    before = outpost.login(ALICE)
    outpost.extra[("auth", "plaintext")] = "tls"
    outpost.extra[("limits", "max_per_ip")] = "3"
    outpost.write_config()
    outpost.signal(signal.SIGHUP)
    assert wait_until(lambda: "reload: done" in outpost.stderr_text(), 10), outpost.stderr_tail()

    def plaintext_refused():
        with outpost.raw() as r:
            resp = r.cmd("USER " + ALICE)
            if resp.startswith(b"+OK"):
                resp = r.cmd("PASS " + outpost.passwords[ALICE])
            return resp.startswith(b"-ERR")
    assert plaintext_refused()
    assert before.noop().startswith(b"+OK")     # the open session is not disturbed
    before.quit()
    # Within TLS a login still works.
    p = outpost.pop3_ssl()
    p.user(BOB)
    p.pass_(outpost.passwords[BOB])
    p.quit()
    # A broken file: the error is logged with its line, nothing changes.
    text = outpost.conf.read_text()
    outpost.conf.write_text(text + "[pop3]\nno_such_key = 1\n")
    outpost.signal(signal.SIGHUP)
    assert wait_until(lambda: "keeping the running one" in outpost.stderr_text(), 10)
    assert re.search(r"reload: .*outpost\.conf:\d+: .*no_such_key", outpost.stderr_text())
    assert plaintext_refused()
    assert outpost.running()


def test_sigterm_exits_zero(outpost):
    idle = outpost.login(ALICE)
    outpost.signal(signal.SIGTERM)
    rc = outpost.wait(20)
    assert rc == 0, "exit code %r after SIGTERM:\n%s" % (rc, outpost.stderr_tail())
    assert not port_open(outpost.pop3_port)
    assert not port_open(outpost.pop3s_port)
    idle.close()


def run_outpost(*args, timeout=60):
    return subprocess.run([OUTPOST_BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def bad_config(srv, path, bad_line, section="pop3"):
    """Copy srv's config with bad_line added at the end of section; returns its line number."""
    text_lines = srv.conf.read_text().splitlines()
    out, lineno, in_section = [], None, False
    for ln in text_lines:
        out.append(ln)
        if ln.strip().startswith("["):
            in_section = ln.strip() == "[%s]" % section
            if in_section:
                out.append(bad_line)
                lineno = len(out)
    if lineno is None:
        out += ["[%s]" % section, bad_line]
        lineno = len(out)
    path.write_text("\n".join(out) + "\n")
    return lineno


def test_check_config(outpost_factory, tmp_path):
    srv = outpost_factory(start=False)
    r = run_outpost("check", "-c", str(srv.conf))
    assert r.returncode == 0, r.stderr
    for bad_line, section in (("no_such_key = 1", "pop3"), ("idle_timeout = soon", "pop3"),
                              ("max_per_ip = -3", "limits"), ("plaintext = sometimes", "auth"),
                              ("listen = 127.0.0.1:99999", "pop3"), ("this is not ini", "server")):
        path = tmp_path / "bad.conf"
        line = bad_config(srv, path, bad_line, section)
        r = run_outpost("check", "-c", str(path))
        stderr = r.stderr.decode(errors="replace")
        assert r.returncode == 2, (bad_line, r.returncode, stderr)
        assert "bad.conf:%d" % line in stderr, (bad_line, stderr)
    # A duplicate key and an unknown section are errors too.
    path = tmp_path / "dup.conf"
    path.write_text(srv.conf.read_text() + "[pop3]\nidle_timeout = 5m\nidle_timeout = 6m\n")
    assert run_outpost("check", "-c", str(path)).returncode == 2
    path.write_text(srv.conf.read_text() + "[nonsense]\nkey = 1\n")
    assert run_outpost("check", "-c", str(path)).returncode == 2


def test_serve_with_bad_config_exits_2_before_listening(outpost_factory, tmp_path):
    srv = outpost_factory(start=False)
    path = tmp_path / "bad.conf"
    line = bad_config(srv, path, "no_such_key = 1")
    proc = subprocess.Popen([OUTPOST_BIN, "serve", "-c", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    seen_open = False
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        seen_open |= port_open(srv.pop3_port) or port_open(srv.pop3s_port)
        time.sleep(0.01)
    if proc.poll() is None:
        proc.kill()
    out, errtext = proc.communicate(timeout=10)
    assert proc.returncode == 2, errtext
    assert "bad.conf:%d" % line in errtext.decode(errors="replace")
    assert not seen_open, "a port was opened despite the bad config"
    assert not port_open(srv.pop3_port)


def test_deliver_exit_codes(outpost):
    assert outpost.deliver("nobody@example.test", message(1), check=False) == 67
    r = subprocess.run([OUTPOST_BIN, "deliver", "-c", str(outpost.conf)], input=message(1),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 64
    assert outpost.deliver(ALICE, message(1)) == 0
    assert outpost.deliver("ALICE@Example.Test", message(2)) == 0
    assert new_session_works(outpost) == 2


def test_user_commands(outpost):
    r = outpost.cli("user", "list", check=True)
    assert r.stdout.decode().split() == sorted([ALICE, BOB])
    outpost.add_user("carol@example.test")
    assert outpost.cli("user", "add", ALICE, input=b"x-password\n").returncode != 0
    outpost.deliver("carol@example.test", message(1))
    assert new_session_works(outpost, "carol@example.test") == 1
    # A new password works at once, also while the server runs; the old one no longer.
    old = outpost.passwords[BOB]
    outpost.set_password(BOB, Secret("n3w-" + os.urandom(6).hex()))
    outpost.login(BOB).quit()
    p = outpost.pop3()
    p.user(BOB)
    assert err(p.pass_, old).startswith(b"-ERR [AUTH]")
    p.close()
    assert outpost.cli("user", "del", "carol@example.test").returncode == 0
    r = outpost.cli("user", "list", check=True)
    assert "carol@example.test" not in r.stdout.decode().split()
    p = outpost.pop3()
    p.user("carol@example.test")
    assert err(p.pass_, outpost.passwords["carol@example.test"]).startswith(b"-ERR")
    p.close()
    assert outpost.cli("user", "del", "carol@example.test").returncode != 0


@pytest.mark.xdist_group("embedded-default")
def test_embedded_default_first_start(tmp_path):
    if port_open(10110) or port_open(10995):
        pytest.skip("ports 10110/10995 are in use")
    data = tmp_path / "var"
    out_path = tmp_path / "stdout"
    err_path = tmp_path / "stderr"

    def serve():
        with open(out_path, "wb") as out, open(err_path, "ab") as errf:
            return subprocess.Popen([OUTPOST_BIN, "serve", "--data", str(data)], stdout=out,
                                    stderr=errf, stdin=subprocess.DEVNULL)

    def stop(proc):
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("no exit after SIGTERM")

    proc = serve()
    try:
        assert wait_until(lambda: port_open(10110) or proc.poll() is not None, 30)
        assert proc.poll() is None, err_path.read_text()
        assert wait_until(lambda: port_open(10995), 10)
        # The ports open before the greeting lines are printed.
        assert wait_until(lambda: "SIGTERM" in out_path.read_text(errors="replace"), 10)
        passwords = {}
        for ln in out_path.read_text(errors="replace").splitlines():
            m = re.match(r"^\s+(\S+@\S+)\s+password:\s*(\S+)\s*$", ln)
            if m:
                passwords[m.group(1)] = Secret(m.group(2))
        assert sorted(passwords) == [ALICE, BOB]
        for name in ("outpost.conf", "cert.pem", "key.pem"):
            assert (data / name).exists(), name
        p = poplib.POP3("127.0.0.1", 10110, timeout=15)
        p.user(ALICE)
        p.pass_(passwords[ALICE])
        p.quit()
        # One line per service says how to try it.
        out = out_path.read_text(errors="replace")
        assert re.search(r"pop3 .*try: curl pop3://127\.0\.0\.1:10110/", out), out
        assert re.search(r"pop3s .*try: curl .*pop3s://127\.0\.0\.1:10995/", out), out
        # Accounts and mail added with --data on the running default.
        carol = Secret("carol-" + os.urandom(6).hex())
        r = subprocess.run([OUTPOST_BIN, "user", "add", "carol@example.test", "--data", str(data)],
                           input=(carol + "\n").encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        assert r.returncode == 0, r.stderr
        msg = message(7)
        r = subprocess.run([OUTPOST_BIN, "deliver", "carol@example.test", "--data", str(data)],
                           input=msg, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert r.returncode == 0, r.stderr
        r = subprocess.run(["curl", "-sS", "--max-time", "20", "pop3://127.0.0.1:10110/1",
                            "--user", "carol@example.test:" + carol],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout == to_crlf(msg)
    finally:
        rc = stop(proc)
    assert rc == 0
    r = run_outpost("check", "-c", str(data / "outpost.conf"))
    assert r.returncode == 0, r.stderr
    # Second start: the same accounts, no new passwords printed.
    proc = serve()
    try:
        assert wait_until(lambda: port_open(10995) or proc.poll() is not None, 30)
        assert wait_until(lambda: "SIGTERM" in out_path.read_text(errors="replace"), 10)
        assert "password:" not in out_path.read_text(errors="replace")
        p = poplib.POP3_SSL("127.0.0.1", 10995, timeout=15, context=insecure_tls_context())
        p.user(BOB)
        p.pass_(passwords[BOB])
        p.quit()
    finally:
        assert stop(proc) == 0
    text = err_path.read_text(errors="replace")
    assert "AddressSanitizer" not in text and "runtime error:" not in text, text[-4000:]


# ---- crash safety --------------------------------------------------------------------------------

# poplib leaves its socket to the garbage collector when the greeting fails
# (the server was just killed); that warning is noise here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_kill9_during_deliveries_loses_nothing(outpost):
    """Deliveries run while the server is killed with SIGKILL (and restarted) and
    while some `outpost deliver` processes are killed themselves: every message
    whose deliver exited 0 is there exactly once, byte-identical, and no part of
    a message whose deliver was killed before it had read all of it."""
    rnd = random.Random(8314)
    n = 48
    msgs = {}
    for i in range(n):
        body = b"".join(b"%d.%d %s\n" % (i, k, os.urandom(24).hex().encode())
                        for k in range(rnd.randrange(200, 2000)))
        if i % 5 == 0:
            body += b".\n..dots\n"
        msgs[i] = message(i, body, b"X-Test-Id: %d\n" % i)
    outcome = {}
    done = []
    lock = threading.Lock()

    def deliver(i):
        data = msgs[i]
        p = subprocess.Popen([OUTPOST_BIN, "deliver", ALICE, "-c", str(outpost.conf)],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        kind = "normal"
        try:
            if i % 6 == 3:
                kind = "partial"      # killed before it has the whole message
                p.stdin.write(data[:len(data) // 2])
                p.stdin.flush()
                time.sleep(0.05)
                p.kill()
            elif i % 6 == 5:
                kind = "late"         # killed at a random point after its input
                p.stdin.write(data)
                p.stdin.close()
                time.sleep(rnd.random() * 0.3)
                p.kill()
            else:
                p.stdin.write(data)
                p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
        errtext = p.stderr.read().decode(errors="replace")
        rc = p.wait(timeout=60)
        with lock:
            outcome[i] = (kind, rc, errtext[-500:])
            done.append(i)

    stop = threading.Event()

    def poller():
        # Sessions that mark everything deleted and then undo it (or die):
        # no deletion may ever stick without QUIT after DELE.
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            p = None
            try:
                p = poplib.POP3("127.0.0.1", outpost.pop3_port, timeout=5)
                p.user(ALICE)
                p.pass_(outpost.passwords[ALICE])
                count, _ = p.stat()
                for k in range(1, count + 1):
                    p.dele(k)
                p.list()
                p.rset()
                p.quit()
            except (OSError, EOFError, poplib.error_proto):
                time.sleep(0.05)
            finally:
                if p is not None:
                    p.close()

    th = threading.Thread(target=poller, daemon=True)
    th.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(deliver, i) for i in range(n)]
            assert wait_until(lambda: len(done) >= n // 3, 120)
            outpost.kill9()
            assert wait_until(lambda: len(done) >= 2 * n // 3, 120)
            outpost.start()
            for f in futures:
                f.result(timeout=120)
        # One more crash with sessions going on, then a clean start.
        time.sleep(0.3)
        outpost.kill9()
    finally:
        stop.set()
        th.join(timeout=30)
    outpost.start()

    for i, (kind, rc, errtext) in sorted(outcome.items()):
        if kind == "normal":
            assert rc == 0, "deliver #%d exited %d: %s" % (i, rc, errtext)
    p = outpost.login(ALICE)
    count, _ = p.stat()
    sizes = list_sizes(p)
    found = {}
    for k in range(1, count + 1):
        data, octets = retr_bytes(p, k)
        assert sizes[k] == octets
        m = re.search(rb"\r\nX-Test-Id: (\d+)\r\n", data)
        assert m, "message %d is not one of ours: %r" % (k, data[:200])
        i = int(m.group(1))
        assert data == expected_wire(msgs[i]), "message #%d altered" % i
        found[i] = found.get(i, 0) + 1
    p.quit()
    dupes = {i: c for i, c in found.items() if c > 1}
    assert not dupes, "delivered more than once: %s" % dupes
    missing = [i for i, (kind, rc, _) in outcome.items() if rc == 0 and i not in found]
    assert not missing, "deliver exited 0 but the message is gone: %s" % missing
    print("kill -9 test: %d deliveries, %d exited 0, %d retrieved, %d killed mid-input"
          % (n, sum(1 for _, rc, _ in outcome.values() if rc == 0), len(found),
             sum(1 for kind, _, _ in outcome.values() if kind == "partial")))
    partial = [i for i, (kind, _, _) in outcome.items() if kind == "partial" and i in found]
    assert not partial, "a message whose deliver was killed mid-input appeared: %s" % partial
