"""Helpers for the outgoing-mail tests: remote SMTP servers outpost delivers to,
zones that point at them, and outpost servers set up to send mail out.

PeerSMTP is aiosmtpd (Debian's python3-aiosmtpd), a server written elsewhere,
scripted per test: it records every session (peer, TLS or not, the raw
chunks read, whether the client pipelined) and every message, and can answer
MAIL, RCPT or DATA with a chosen reply, or sleep before answering. RawPeer
is a socket server for what no real server does on purpose: never greeting,
or answering garbage.

Every peer listens on the same port on its own loopback address (127.0.0.5,
127.0.0.6, ...), because [queue] smtp_port is one port for all remote hosts.
"""

import asyncio
import socket
import ssl
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from conftest import CLI_TIMEOUT, free_port, make_cert

WAIT = 30.0     # longest wait for a delivery (ASan builds on a busy machine)


def free_port_on(*hosts):
    """A TCP port free on 127.0.0.1 and on every host given."""
    for _ in range(100):
        port = free_port()
        ok = True
        for h in hosts:
            with socket.socket() as s:
                try:
                    s.bind((h, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise AssertionError("no port free on %s" % (hosts,))


def zone(origin, records, ns_addr="127.0.0.1"):
    """A master file for origin with an SOA, an NS and the records given as
    lines relative to the origin ("@ IN MX 10 mx", "mx IN A 127.0.0.5")."""
    head = ["$ORIGIN %s." % origin, "$TTL 60",
            "@ IN SOA ns hostmaster 1 60 60 600 60", "@ IN NS ns",
            "ns IN A %s" % ns_addr]
    return "\n".join(head + list(records)) + "\n"


class Session:
    def __init__(self, peer):
        self.peer = peer
        self.chunks = []
        self.tls = False
        self.helo = None

    @property
    def pipelined(self):
        """Whether MAIL, RCPT and DATA came in one read (RFC 2920)."""
        return any(b"MAIL FROM" in c and b"RCPT TO" in c and b"DATA\r\n" in c
                   for c in self.chunks)


class Message:
    def __init__(self, session, mail_from, mail_options, rcpts, rcpt_options, data):
        self.session = session
        self.mail_from = mail_from
        self.mail_options = mail_options
        self.rcpts = rcpts
        self.rcpt_options = rcpt_options
        self.data = data


class _Handler:
    def __init__(self, peer):
        self.peer = peer

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.peer.session_of(server).helo = hostname
        extra = ["250-PIPELINING"] if self.peer.pipelining else []
        if self.peer.dsn:
            extra.append("250-DSN")
        body = [r for r in responses[:-1] if not any(r.startswith("250-" + x) for x in self.peer.hide)]
        return body + extra + [responses[-1]]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self.peer.reply("MAIL", address)
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.peer.reply("RCPT", address)
        if reply:
            return reply
        if self.peer.max_rcpts and len(envelope.rcpt_tos) >= self.peer.max_rcpts:
            return "452 4.5.3 too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(list(rcpt_options))
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.peer.data_delay:
            await asyncio.sleep(self.peer.data_delay)
        reply = self.peer.reply("DATA", None)
        if reply:
            return reply
        sess = self.peer.session_of(server)
        sess.tls = session.ssl is not None
        with self.peer.lock:
            self.peer.messages.append(Message(sess, envelope.mail_from,
                                              list(envelope.mail_options),
                                              list(envelope.rcpt_tos),
                                              list(envelope.rcpt_options),
                                              bytes(envelope.original_content)))
        return "250 2.0.0 accepted"


class _RecordingSMTP(SMTP):
    """aiosmtpd's server, recording the chunks each read returns."""

    def __init__(self, *args, recorder=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._recorder = recorder

    def data_received(self, data):
        self._recorder.session_of(self).chunks.append(bytes(data))
        return super().data_received(data)


class _Controller(Controller):
    def __init__(self, peer, *args, **kwargs):
        self._peer = peer
        super().__init__(*args, **kwargs)

    def factory(self):
        return _RecordingSMTP(self.handler, recorder=self._peer, **self.SMTP_kwargs)


class PeerSMTP:
    """A remote mail server (aiosmtpd) on (host, port).

    replies: {("RCPT", "user@domain"): "550 5.1.1 no", ("MAIL", None): "451 ...",
    ("DATA", None): "452 ..."}; a key with None matches every address.
    hide: extensions not to offer ("STARTTLS", "SMTPUTF8", "8BITMIME", "SIZE").
    max_rcpts: recipients taken per transaction, 452 beyond (0: no limit).
    """

    def __init__(self, tmp_path, host, port, tls=True, pipelining=True, dsn=False,
                 replies=None, hide=(), smtputf8=True, data_size_limit=None, max_rcpts=0):
        self.host, self.port = host, port
        self.max_rcpts = max_rcpts
        self.pipelining, self.dsn = pipelining, dsn
        self.replies = dict(replies or {})
        self.hide = tuple(hide)
        self.data_delay = 0
        self.lock = threading.Lock()
        self.messages = []
        self._sessions = {}
        ctx = None
        if tls:
            cert, key = make_cert(tmp_path / ("peer-%s" % host), cn="mx.peer.test")
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(cert), str(key))
        kwargs = {"decode_data": False, "enable_SMTPUTF8": smtputf8}
        if data_size_limit is not None:
            kwargs["data_size_limit"] = data_size_limit
        self.controller = _Controller(self, _Handler(self), hostname=host, port=port,
                                      tls_context=ctx, server_hostname="mx.peer.test",
                                      **kwargs)
        self.controller.start()

    def session_of(self, server):
        with self.lock:
            s = self._sessions.get(id(server))
            if s is None:
                s = self._sessions[id(server)] = Session(server)
            return s

    @property
    def sessions(self):
        """Sessions that said EHLO or HELO (the controller's own start-up
        probe connects and leaves without a word)."""
        with self.lock:
            return [s for s in self._sessions.values() if s.helo is not None]

    def reply(self, verb, address):
        with self.lock:
            return self.replies.get((verb, address)) or self.replies.get((verb, None))

    def set_replies(self, replies):
        with self.lock:
            self.replies = dict(replies)

    def wait_messages(self, n, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.05)
        with self.lock:
            raise AssertionError("%s: %d messages after %ds, want %d" % (
                self.host, len(self.messages), timeout, n))

    def stop(self):
        self.controller.stop()


class RawPeer:
    """A socket server on (host, port): mode "hang" accepts and stays silent,
    "garbage" answers every connection with bytes that are not SMTP, and
    "script" speaks just enough SMTP to record the exact command lines a
    client sends (for parameters aiosmtpd refuses, such as DSN's): its EHLO
    offers `extensions`, or is refused with 502 when extensions is None (so
    the client falls back to HELO); STARTTLS, when the client sends it, is
    answered 220 and followed by bytes that are no TLS handshake (or, with
    inject, by a second reply in the same packet)."""

    def __init__(self, host, port, mode, extensions=(), inject=False):
        self.mode = mode
        self.extensions = extensions
        self.inject = inject
        self.lines = []             # every command line received, without CRLF
        self.bodies = []            # message data as received (stuffed), per DATA
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.held = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            if self.mode == "garbage":
                try:
                    c.sendall(b"HELLO? this is not an SMTP server\r\n")
                except OSError:
                    pass
            elif self.mode == "script":
                threading.Thread(target=self._script, args=(c,), daemon=True).start()
            self.held.append(c)

    def _script(self, c):
        c.settimeout(10)
        f = c.makefile("rb")
        try:
            c.sendall(b"220 script.peer.test ESMTP\r\n")
            for _ in range(1000):
                line = f.readline(4096)
                if not line:
                    return
                line = line.rstrip(b"\r\n")
                self.lines.append(line.decode("utf-8", "replace"))
                verb = line[:4].upper()
                if verb == b"EHLO":
                    if self.extensions is None:
                        c.sendall(b"502 5.5.1 EHLO not implemented\r\n")
                        continue
                    ext = ["script.peer.test"] + list(self.extensions)
                    out = "".join("250-%s\r\n" % e for e in ext[:-1]) + "250 %s\r\n" % ext[-1]
                    c.sendall(out.encode())
                elif verb == b"DATA":
                    c.sendall(b"354 go ahead\r\n")
                    body = b""
                    while not body.endswith(b"\r\n.\r\n") and body != b".\r\n":
                        chunk = f.readline(65536)
                        if not chunk:
                            return
                        body += chunk
                    self.bodies.append(body)
                    c.sendall(b"250 2.0.0 taken\r\n")
                elif line.upper() == b"STARTTLS":
                    if self.inject:
                        # A reply smuggled behind the 220, in the same
                        # packet: it would be read as if it came over TLS.
                        c.sendall(b"220 2.0.0 ready\r\n250 2.0.0 injected\r\n")
                        continue
                    # Agree, then break the handshake: what follows is not TLS.
                    c.sendall(b"220 2.0.0 ready\r\n")
                    c.sendall(b"this is not a TLS record\r\n")
                    return
                elif verb == b"QUIT":
                    c.sendall(b"221 2.0.0 bye\r\n")
                    return
                else:
                    c.sendall(b"250 2.0.0 ok\r\n")
        except OSError:
            return

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        for c in self.held:
            c.close()
        self.sock.close()


def queue_list(srv):
    """`outpost queue list` output (text)."""
    r = srv.cli("queue", "list", timeout=CLI_TIMEOUT)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode(errors="replace")


def queue_flush(srv, ident=None):
    args = ["queue", "flush"] + ([ident] if ident else [])
    r = srv.cli(*args)
    assert r.returncode == 0, r.stderr


def wait_for(cond, timeout=WAIT, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def maildir_messages(srv, address):
    """The messages in address's Maildir (new/ and cur/), oldest first, as bytes."""
    root = srv.maildir(address)
    files = []
    for sub in ("new", "cur"):
        d = root / sub
        if d.is_dir():
            files.extend(p for p in d.iterdir() if p.is_file())
    files.sort(key=lambda p: p.name)
    return [p.read_bytes() for p in files]


def strip_trace(msg):
    """msg without the trace header fields servers add in front (Received:,
    Return-Path:), with CRLF line ends."""
    msg = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    lines = msg.split(b"\r\n")
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.lower().startswith((b"received:", b"return-path:")):
            i += 1
            while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
                i += 1
            continue
        break
    return b"\r\n".join(lines[i:])
