"""Helpers of the SMTP interop tests: a raw SMTP client for exact bytes and
bad input, and reading a delivered message back over POP3 without its
trace headers."""

import socket
import time

from conftest import RawLines, insecure_tls_context, wait_until  # noqa: F401 (for the tests)

ALICE = "alice@example.test"
BOB = "bob@example.test"


class RawSmtp(RawLines):
    """SMTP over a raw socket: send anything, read replies exactly."""

    def __init__(self, port, tls=False, timeout=15, read_greeting=True):
        super().__init__(port, tls, timeout)
        self.greeting = self.reply() if read_greeting else None

    def reply(self):
        """One whole (possibly multi-line) reply as bytes, lines joined."""
        lines = [self.line()]
        while lines[-1][3:4] == b"-":
            lines.append(self.line())
        return b"".join(lines)

    def cmd(self, command):
        self.send((command.encode() if isinstance(command, str) else command) + b"\r\n")
        return self.reply()

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r.startswith(b"220 "), r
        self.sock = insecure_tls_context().wrap_socket(self.sock)

    def closed_within(self, seconds):
        """True if the server closes the connection within seconds."""
        self.sock.settimeout(seconds)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except (socket.timeout, TimeoutError):
            return False
        return False


def code(reply):
    return int(reply[:3])


def strip_trace(msg):
    """The message without the trace headers this server adds at the top
    (Return-Path:, Received: and its continuation lines)."""
    lines = msg.split(b"\r\n")
    i = 0
    while i < len(lines) and (lines[i].startswith(b"Return-Path:") or lines[i].startswith(b"Received:")):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\r\n".join(lines[i:])


def mailbox_messages(server, address):
    """Every message in address's mailbox (RETR over POP3), in order."""
    p = server.login(address)
    try:
        count, _ = p.stat()
        out = []
        for n in range(1, count + 1):
            resp, lines, _ = p.retr(n)
            assert resp.startswith(b"+OK"), resp
            out.append(b"".join(ln + b"\r\n" for ln in lines))
        return out
    finally:
        p.quit()


def maildir_count(server, address):
    d = server.maildir(address)
    return sum(len(list((d / sub).iterdir())) for sub in ("new", "cur") if (d / sub).is_dir())


def queue_files(server):
    """Files under the queue directory (entries of messages waiting)."""
    q = server.data / "queue"
    if not q.exists():
        return []
    return [p for p in q.rglob("*") if p.is_file()]


def message(n, body=None):
    return (b"Date: Fri, 27 Nov 2026 08:00:00 +0000\r\n"
            b"From: Alice <alice@example.test>\r\n"
            b"To: Bob <bob@example.test>\r\n"
            b"Subject: test %d\r\n"
            b"Message-ID: <smtp-test-%d@example.test>\r\n"
            b"\r\n" % (n, n)) + (body if body is not None else b"Body of message %d.\r\n" % n)
