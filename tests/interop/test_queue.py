"""The mail queue from the outside: `outpost queue list/flush/delete` on a
data directory (entries written in the documented <id>.env/.msg format,
a lease held with flock as a runner holds it), and the RFC 3464 report
that the queue sends, read by Python's email package."""
import email
import email.policy
import fcntl
import os
import subprocess
import time

import pytest

from conftest import REPO, Outpost

UNIT_TESTS = os.environ.get("OUTPOST_UNIT_TESTS", str(REPO / "build" / "asan" / "unit-tests"))


def write_entry(queue, qid, sender, rcpts, next_attempt, body=b"Subject: t\r\n\r\nhi\r\n"):
    """An entry as queue_submit writes it (format: src/mail/qentry.h)."""
    queue.mkdir(parents=True, exist_ok=True)
    (queue / (qid + ".msg")).write_bytes(body)
    now = int(time.time())
    lines = ["outpost-queue 1", "arrival %d" % (now - 7200), "next %d" % next_attempt,
             "attempts 3", "warned 0", "ret default", "body 7bit", "smtputf8 0",
             "sender " + (sender or "%"), "client [192.0.2.1]"]
    for addr, state, err in rcpts:
        lines.append("rcpt %s 0 %s %% %d mx.far.test %s" % (
            state, addr, now - 60, err.replace("%", "%25").replace(" ", "%20") or "%"))
    lines.append("end")
    (queue / (qid + ".env")).write_text("\n".join(lines) + "\n")


@pytest.fixture
def server(tmp_path):
    return Outpost(tmp_path / "o", accounts=())


def run(server, *args):
    r = server.cli("queue", *args)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_queue_list_flush_delete(server):
    queue = server.data / "queue"
    code, out, err = run(server, "list")
    assert (code, out) == (0, "the queue is empty\n")

    a, b = "6B0000000000000AAAAAA", "6B0000001000000BBBBBB"
    later = int(time.time()) + 3600
    write_entry(queue, a, "alice@crepes.fr",
                [("bob@far.test", "pending", "451 4.3.0 try later"),
                 ("carol@far.test", "failed", "550 5.1.1 no such user"),
                 ("dave@far.test", "delivered", "250 ok")], later)
    write_entry(queue, b, "", [("x@far.test", "pending", "")], later)
    code, out, err = run(server, "list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(a + "  age 2h0m") and "from <alice@crepes.fr>" in lines[0]
    assert "next attempt in 59m" in lines[0] or "next attempt in 1h0m" in lines[0]
    assert "(3 attempts)" in lines[0] and " 18 octets " in lines[0]
    assert lines[1].split() == ["pending", "<bob@far.test>", "451", "4.3.0", "try", "later"]
    assert lines[2].split()[:2] == ["failed", "<carol@far.test>"]
    assert "dave@far.test" not in out                       # delivered: not listed
    assert lines[3].startswith(b) and "from <>" in lines[3]
    assert lines[-1] == "-- 2 messages, 36 octets"

    # flush ID: due now, written into the entry (what a running server reads).
    code, out, err = run(server, "flush", a.lower())
    assert (code, out) == (0, a + " is due now\n"), err
    assert "\nnext 0\n" in (queue / (a + ".env")).read_text()
    assert "next attempt now" in run(server, "list")[1].splitlines()[0]
    code, out, err = run(server, "flush")
    assert (code, out) == (0, "every queued message is due now\n")
    assert "\nnext 0\n" in (queue / (b + ".env")).read_text()
    code, out, err = run(server, "flush", "0123456789ABCDEF")
    assert code == 1 and "no message 0123456789ABCDEF in the queue" in err

    # A runner holds the lease: delete is refused, list says so.
    with open(queue / (b + ".msg"), "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert "being delivered" in run(server, "list")[1]
        code, out, err = run(server, "delete", b)
        assert code == 1 and "is being delivered right now" in err
        assert (queue / (b + ".env")).exists()
    code, out, err = run(server, "delete", b)
    assert (code, out) == (0, b + " deleted\n"), err
    assert not (queue / (b + ".env")).exists() and not (queue / (b + ".msg")).exists()
    code, out, err = run(server, "delete", b)
    assert code == 1 and "no message" in err
    # Not an ID: never a path.
    code, out, err = run(server, "delete", "../outpost.conf")
    assert code == 1 and "no message" in err
    assert server.conf.exists()
    # Usage errors.
    assert run(server, "list", "extra")[0] == 64
    assert run(server, "delete")[0] == 64
    assert run(server, "bogus")[0] == 64
    assert run(server, "list")[1].splitlines()[-1] == "-- 1 message, 18 octets"


@pytest.mark.parametrize("variant", ["full", "hdrs"])
def test_dsn_is_a_valid_multipart_report(tmp_path, variant):
    path = tmp_path / ("dsn-%s.eml" % variant)
    env = dict(os.environ, OUTPOST_DSN_SAMPLE=str(path))
    r = subprocess.run([UNIT_TESTS, "dsn_sample"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    raw = path.read_bytes()
    assert b"\n" not in raw.replace(b"\r\n", b"")           # CRLF only
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert msg["From"].addresses[0].addr_spec == "MAILER-DAEMON@mail.crepes.fr"
    assert msg["To"].addresses[0].addr_spec == "alice@crepes.fr"
    assert msg["Auto-Submitted"] == "auto-replied"
    parts = msg.get_payload()
    assert [p.get_content_type() for p in parts] == [
        "text/plain", "message/delivery-status",
        "message/rfc822" if variant == "full" else "text/rfc822-headers"]
    assert "could not be delivered" in parts[0].get_content()
    # message/delivery-status: one block per message, one per recipient.
    blocks = parts[1].get_payload()
    assert len(blocks) == 3
    assert blocks[0]["Reporting-MTA"] == "dns; mail.crepes.fr"
    assert blocks[0]["Original-Envelope-Id"] == "QQ314159"
    assert blocks[0]["Arrival-Date"] == "Mon, 21 Sep 2026 14:13:20 +0000"
    bob, carol = blocks[1], blocks[2]
    assert bob["Original-Recipient"] == "rfc822;Bob@Hamburger.edu"
    assert bob["Final-Recipient"] == "rfc822; bob@hamburger.edu"
    assert (bob["Action"], bob["Status"]) == ("failed", "5.1.1")
    assert bob["Remote-MTA"] == "dns; mx.hamburger.edu"
    assert bob["Diagnostic-Code"].startswith("smtp; 550 5.1.1")
    assert bob["Last-Attempt-Date"]
    assert (carol["Action"], carol["Status"]) == ("delayed", "4.0.0")
    assert carol["Will-Retry-Until"] == "Sat, 26 Sep 2026 14:13:20 +0000"
    assert carol["Original-Recipient"] is None
    if variant == "full":
        inner = parts[2].get_payload()[0]
        assert inner["Subject"] == "greetings"
        assert inner.get_content().startswith("Hello Bob,")
    else:
        text = parts[2].get_payload(decode=True) or parts[2].get_payload().encode()
        assert b"Message-ID: <1@crepes.fr>" in text and b"Hello Bob" not in text
