"""FTP data channel (src/ftp/data.c, xfer.c) with real clients.

Python's ftplib over TLS: PROT P data connections must resume the control
connection's TLS session (RFC 4217 section 10), so ftplib's stock FTP_TLS,
which opens each data connection with a fresh session, is refused while
the resuming client works and sees a clean TLS end (close_notify) on every
download. Raw sockets: a passive data connection from another address
(127.0.0.2) is closed and the real client still gets its data; the
control connection answers NOOP and STAT while a download is stuck on a
client that does not read.
"""

import ftplib
import io
import os
import socket
import time

import pytest

from conftest import insecure_tls_context
from ftp_util import ALICE, RawFTP, ftp_home, ftp_tls_login, recv_all


def test_prot_p_requires_session_reuse(outpost):
    home = ftp_home(outpost)
    f = ftp_tls_login(outpost)           # creates the home at login
    payload = os.urandom(3 * 1024 * 1024 + 17)
    (home / "secret.bin").write_bytes(payload)

    # ftplib's own FTP_TLS: a full handshake on the data connection.
    stock = ftplib.FTP_TLS(context=insecure_tls_context())
    stock.connect("127.0.0.1", outpost.ftp_port, timeout=20)
    stock.auth()
    stock.login(ALICE, outpost.passwords[ALICE])
    stock.prot_p()
    got = bytearray()
    with pytest.raises((ftplib.Error, OSError)) as e:
        stock.retrbinary("RETR secret.bin", got.extend)
    assert bytes(got) != payload
    if isinstance(e.value, ftplib.Error):
        assert str(e.value).startswith("522"), e.value
    else:
        # The data connection failed in the client first; the reply is still due.
        with pytest.raises(ftplib.error_perm, match="^522"):
            stock.voidresp()
    # The session goes on: the refusal was about that data connection only.
    assert stock.sendcmd("NOOP").startswith("200")
    stock.quit()

    # The resuming client: downloads end with close_notify (ftplib's
    # unwrap() after the transfer fails on a bare TCP end), uploads work.
    for _ in range(3):
        got = bytearray()
        assert f.retrbinary("RETR secret.bin", got.extend, blocksize=1 << 20).startswith("226")
        assert bytes(got) == payload
    assert f.storbinary("STOR up.bin", io.BytesIO(payload)).startswith("226")
    assert (home / "up.bin").read_bytes() == payload
    lines = []
    f.retrlines("LIST", lines.append)
    assert any("secret.bin" in ln for ln in lines)
    f.quit()


def test_passive_connection_from_stranger(outpost):
    home = ftp_home(outpost)
    with RawFTP(outpost) as r:
        r.login(outpost)
        (home / "mine.txt").write_bytes(b"for alice only\n")
        assert r.cmd("TYPE I").startswith(b"200")
        rep = r.cmd("EPSV")
        assert rep.startswith(b"229"), rep
        port = int(rep.split(b"|||")[1].split(b"|")[0])
        # Someone else on the host (another address) gets there first.
        stranger = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        stranger.settimeout(10)
        stranger.bind(("127.0.0.2", 0))
        stranger.connect(("127.0.0.1", port))
        r.send(b"RETR mine.txt\r\n")
        try:
            leaked = stranger.recv(100)
        except (ConnectionResetError, socket.timeout):
            leaked = b""
        assert leaked == b""
        stranger.close()
        data = socket.create_connection(("127.0.0.1", port), timeout=15)
        first = r.reply()
        assert first.startswith(b"150"), first
        assert recv_all(data) == b"for alice only\n"
        data.close()
        assert r.reply().startswith(b"226")
    assert "refused: not the client's address" in outpost.stderr_text()


def test_control_answers_during_stuck_download(outpost):
    home = ftp_home(outpost)
    with RawFTP(outpost) as r:
        r.login(outpost)
        with open(home / "big.bin", "wb") as fh:
            for _ in range(64):
                fh.write(os.urandom(1 << 20))
        assert r.cmd("TYPE I").startswith(b"200")
        data = r.pasv_connect()
        data.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        assert r.cmd("RETR big.bin").startswith(b"150")
        data.recv(1000)                  # then not another byte
        time.sleep(0.3)
        # The transfer is blocked on the client; the control connection is not.
        assert r.cmd("NOOP").startswith(b"200")
        stat = r.cmd("STAT")
        assert stat[:3] in (b"211", b"213"), stat
        r.send(b"ABOR\r\n")
        first = r.reply()
        assert first[:3] in (b"426", b"226"), first
        if first.startswith(b"426"):
            assert r.reply().startswith(b"226")
        data.close()
        assert r.cmd("NOOP").startswith(b"200")
