"""Crash safety of SMTP acceptance: concurrent senders, the server killed
with SIGKILL at random moments over many trials and restarted each time.
Every message that got its 250 must be in the mailbox exactly once and
whole (RFC 5321 section 6.1: a 250 is a promise). Messages cut off before
their 250 may be absent, or present once and whole, never partial."""

import random
import re
import threading
import time

from smtp_helpers import BOB, RawSmtp, strip_trace

TRIALS = 8
SENDERS = 4
TOTAL_BUDGET = 50.0         # seconds for all trials together


def body_for(tag):
    filler = b"".join(b"%s line %d of the body\r\n" % (tag, i) for i in range(40))
    return (b"From: crash@example.org\r\nTo: bob@example.test\r\n"
            b"Subject: crash test\r\nMessage-ID: <%s@crash.example>\r\n\r\n" % tag) + filler


def sender(server, trial, k, acked, attempted, stop):
    n = 0
    try:
        with RawSmtp(server.smtp_port, timeout=10) as r:
            r.cmd("EHLO crash.example")
            while not stop.is_set() and n < 2000:
                tag = b"t%d-s%d-m%d" % (trial, k, n)
                n += 1
                attempted.add(tag)
                r.send(b"MAIL FROM:<crash@example.org>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
                if [r.reply()[:3] for _ in range(3)] != [b"250", b"250", b"354"]:
                    return
                r.send(body_for(tag) + b".\r\n")
                if r.reply().startswith(b"250 "):
                    acked.add(tag)
                else:
                    return
    except (OSError, EOFError):
        return                               # the server died under us: expected


def test_sigkill_never_loses_or_duplicates_acknowledged_mail(outpost):
    rnd = random.Random(5321)
    acked, attempted = set(), set()
    start = time.monotonic()
    for trial in range(TRIALS):
        if time.monotonic() - start > TOTAL_BUDGET:
            break
        if not outpost.running():
            outpost.start(wait_tls=False)
        stop = threading.Event()
        threads = [threading.Thread(target=sender, args=(outpost, trial, k, acked, attempted, stop))
                   for k in range(SENDERS)]
        for t in threads:
            t.start()
        time.sleep(rnd.uniform(0.3, 1.5))
        outpost.kill9()
        stop.set()
        for t in threads:
            t.join(timeout=20)
            assert not t.is_alive()
    outpost.start(wait_tls=False)
    assert len(acked) > 20, "too few messages got through to test anything"

    seen = {}
    maildir = outpost.maildir(BOB)
    for sub in ("new", "cur"):
        d = maildir / sub
        if not d.is_dir():
            continue
        for f in d.iterdir():
            data = f.read_bytes()
            m = re.search(rb"Message-ID: <([^@>]+)@crash.example>", data)
            assert m, "a file without our Message-ID: %s" % f.name
            tag = m.group(1)
            seen[tag] = seen.get(tag, 0) + 1
            assert strip_trace(data) == body_for(tag), "partial or altered message %s" % tag
    missing = [t for t in acked if t not in seen]
    dups = [t for t, c in seen.items() if c > 1]
    assert not missing, "acknowledged but lost: %r" % missing[:5]
    assert not dups, "delivered twice: %r" % dups[:5]
    assert set(seen) <= attempted
    print("crash test: %d acknowledged, %d delivered, %d attempted" % (len(acked), len(seen), len(attempted)))
