"""Helpers for the FTP server's interop tests: clients and raw sockets.

Not fixtures (those are in the test files): small pieces the FTP tests
share, kept out of conftest.py.
"""

import ftplib
import socket

from conftest import RawLines, insecure_tls_context
from conftest import wait_until as wait_for  # noqa: F401 (for the tests)

ALICE = "alice@example.test"


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """Python's ftplib FTP_TLS, with its data connections resuming the
    control connection's TLS session, as RFC 4217 section 10 servers
    (outpost, vsftpd's require_ssl_reuse) demand. ftplib itself opens each
    data connection with a fresh session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size


def ftp_plain(server, timeout=20):
    f = ftplib.FTP()
    f.connect("127.0.0.1", server.ftp_port, timeout=timeout)
    return f


def ftp_login(server, address=ALICE, timeout=20):
    f = ftp_plain(server, timeout)
    f.login(address, server.passwords[address])
    return f


def ftp_tls_login(server, address=ALICE, timeout=20):
    f = ReusingFTP_TLS(context=insecure_tls_context())
    f.connect("127.0.0.1", server.ftp_port, timeout=timeout)
    f.auth()
    f.login(address, server.passwords[address])
    f.prot_p()
    return f


def ftp_home(server, address=ALICE):
    local, domain = address.split("@")
    return server.data / "ftp" / domain / local


class RawFTP(RawLines):
    """An FTP control connection over a raw socket, for exact replies and
    bad input."""

    def __init__(self, server, timeout=15):
        super().__init__(server.ftp_port, timeout=timeout)
        self.greeting = self.reply()

    def reply(self):
        """A whole reply (RFC 959 section 4.2), lines joined; every line
        must end with CRLF."""
        first = self.line()
        assert first.endswith(b"\r\n"), first
        lines = [first]
        if first[3:4] == b"-":
            code = first[:3]
            while True:
                ln = self.line()
                assert ln.endswith(b"\r\n"), ln
                lines.append(ln)
                if ln[:3] == code and ln[3:4] == b" ":
                    break
        return b"".join(lines)

    def cmd(self, command):
        self.send((command.encode() if isinstance(command, str) else command) + b"\r\n")
        return self.reply()

    def login(self, server, address=ALICE):
        assert self.cmd("USER " + address).startswith(b"331")
        r = self.cmd(("PASS " + server.passwords[address]).encode())
        assert r.startswith(b"230"), r
        return r

    def pasv_connect(self):
        r = self.cmd("EPSV")
        assert r.startswith(b"229"), r
        port = int(r.split(b"|||")[1].split(b"|")[0])
        return socket.create_connection(("127.0.0.1", port), timeout=15)


def recv_all(sock, limit=1 << 30):
    chunks = []
    total = 0
    while True:
        data = sock.recv(1 << 20)
        if not data:
            break
        chunks.append(data)
        total += len(data)
        assert total <= limit
    return b"".join(chunks)
