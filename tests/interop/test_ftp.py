"""FTP server (src/ftp): Python's ftplib and raw sockets against outpost.

Round trips of 50 MB random files in every mode (passive and active, plain
and TLS with PROT P), TYPE A conversion, REST/APPE/STOU, the RFC 959 reply
format, the commands of RFC 959 and its extensions, and bad input: the
jail, PORT bounce, over-long lines, NUL/CR, a client that never opens the
data connection, aborts and vanishing clients.
"""

import ftplib
import hashlib
import io
import os
import re
import shutil
import socket
import time

import pytest

from conftest import WRONG_PASSWORDS
from ftp_util import (ALICE, RawFTP, ftp_home, ftp_login, ftp_tls_login, recv_all,
                      wait_for)

BIG = 50 * 1024 * 1024


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("ftpdata") / "big.bin"
    with open(path, "wb") as f:
        for _ in range(BIG // (1 << 20)):
            f.write(os.urandom(1 << 20))
    return path


def digest(path_or_bytes):
    h = hashlib.sha256()
    if isinstance(path_or_bytes, (bytes, bytearray)):
        h.update(path_or_bytes)
    else:
        with open(path_or_bytes, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def upload_download(f, big_file, name, tmp_path):
    with open(big_file, "rb") as src:
        assert f.storbinary("STOR " + name, src, blocksize=1 << 20).startswith("226")
    out = tmp_path / ("back-" + name)
    with open(out, "wb") as dst:
        assert f.retrbinary("RETR " + name, dst.write, blocksize=1 << 20).startswith("226")
    assert f.size(name) == BIG
    return out


def stor_refused(f, cmd, data):
    """Send data for cmd, expecting the server to stop it: the final reply
    (the server may close the data connection before all is sent)."""
    conn = f.transfercmd(cmd)
    try:
        conn.sendall(data)
    except OSError:
        pass
    conn.close()
    try:
        return f.voidresp()
    except ftplib.Error as e:
        return str(e)


# ---- 50 MB round trips in every mode ----------------------------------------------------

@pytest.mark.parametrize("mode", ["passive", "active", "tls-passive", "tls-active"])
def test_big_roundtrip(outpost, big_file, tmp_path, mode):
    f = ftp_tls_login(outpost) if mode.startswith("tls") else ftp_login(outpost)
    f.set_pasv(mode.endswith("passive"))
    f.voidcmd("TYPE I")
    back = upload_download(f, big_file, "big-%s.bin" % mode, tmp_path)
    f.quit()
    want = digest(big_file)
    assert digest(back) == want
    assert digest(ftp_home(outpost) / ("big-%s.bin" % mode)) == want
    # Nothing but the file itself: the temporary upload name is gone.
    assert sorted(os.listdir(ftp_home(outpost))) == ["big-%s.bin" % mode]


def test_ascii_conversion(outpost):
    text = b"line one\nline two\n\nlast line without end"
    f = ftp_login(outpost)
    f.voidcmd("TYPE A")
    # Upload in TYPE A: CRLF on the wire, LF on disk.
    conn = f.transfercmd("STOR a.txt")
    conn.sendall(text.replace(b"\n", b"\r\n"))
    conn.close()
    assert f.voidresp().startswith("226")
    assert (ftp_home(outpost) / "a.txt").read_bytes() == text
    # Download in TYPE A: LF on disk, CRLF on the wire.
    conn = f.transfercmd("RETR a.txt")
    wire = recv_all(conn)
    conn.close()
    assert f.voidresp().startswith("226")
    assert wire == text.replace(b"\n", b"\r\n")
    # TYPE I: the bytes as stored.
    f.voidcmd("TYPE I")
    out = io.BytesIO()
    f.retrbinary("RETR a.txt", out.write)
    assert out.getvalue() == text
    # SIZE is the stored size in TYPE I only (RFC 3659 section 4).
    assert f.sendcmd("SIZE a.txt") == "213 %d" % len(text)
    f.voidcmd("TYPE A")
    with pytest.raises(ftplib.error_perm, match="^550"):
        f.sendcmd("SIZE a.txt")
    f.quit()


# ---- commands and replies -------------------------------------------------------------------

def test_greeting_and_service_commands(outpost):
    with RawFTP(outpost) as r:
        assert re.match(rb"^220 .*\r\n$", r.greeting)
        assert r.cmd("SYST") == b"215 UNIX Type: L8\r\n"
        assert r.cmd("NOOP").startswith(b"200")
        feat = r.cmd("FEAT")
        lines = feat.split(b"\r\n")
        assert lines[0] == b"211-Extensions supported:"
        assert lines[-2] == b"211 End"
        feats = {ln.strip() for ln in lines[1:-2]}
        assert all(ln.startswith(b" ") for ln in lines[1:-2])
        for want in (b"AUTH TLS", b"PBSZ", b"PROT", b"EPRT", b"EPSV", b"HOST", b"MDTM",
                     b"REST STREAM", b"SIZE", b"UTF8",
                     b"MLST type*;size*;modify*;perm*;unique*;"):
            assert want in feats
        helptext = r.cmd("HELP")
        assert helptext.startswith(b"214-") and helptext.endswith(b"214 Help OK\r\n")
        assert b"RETR" in helptext and b"MLSD" in helptext
        assert r.cmd("HELP RETR").startswith(b"214 Syntax: RETR")
        assert r.cmd("OPTS UTF8 ON").startswith(b"200")
        assert r.cmd("HOST outpost.test").startswith(b"220")
        # Before login: the file commands are refused.
        for c in ("RETR x", "LIST", "CWD /", "PWD", "STOR x", "PASV", "MKD d", "SITE HELP"):
            assert r.cmd(c).startswith(b"530"), c
        assert r.cmd("PASS x").startswith(b"503")
        assert r.cmd("ACCT x").startswith(b"202")
        assert r.cmd("PBSZ 0").startswith(b"503")
        assert r.cmd("PROT P").startswith(b"503")
        assert r.cmd("CCC").startswith(b"534")
        assert r.cmd("XYZZY").startswith(b"500")
        assert r.cmd("STAT").startswith(b"211-")
        r.login(outpost)
        assert r.cmd("HOST outpost.test").startswith(b"503")
        assert r.cmd("PASS x").startswith(b"503")
        assert r.cmd("SMNT /").startswith(b"502")
        assert r.cmd("TYPE E").startswith(b"504")
        assert r.cmd("TYPE L 8") == b"200 Type set to L 8\r\n"
        assert r.cmd("TYPE X").startswith(b"501")
        assert r.cmd("STRU F").startswith(b"200")
        assert r.cmd("STRU R").startswith(b"504")
        assert r.cmd("MODE S").startswith(b"200")
        assert r.cmd("MODE B").startswith(b"504")
        assert r.cmd("ALLO 1000").startswith(b"202")
        assert r.cmd("REST 100").startswith(b"350")
        assert r.cmd("RNTO x").startswith(b"503")
        assert r.cmd("SITE HELP").startswith(b"214-")
        assert r.cmd("SITE FOO").startswith(b"500")
        status = r.cmd("STAT")
        assert status.startswith(b"211-") and b"Logged in as alice@example.test" in status
        assert r.cmd("REIN").startswith(b"220")
        assert r.cmd("PWD").startswith(b"530")
        assert r.cmd("QUIT").startswith(b"221")


def test_login_failures(outpost):
    with RawFTP(outpost) as r:
        assert r.cmd("USER " + ALICE).startswith(b"331")
        assert r.cmd("PASS " + WRONG_PASSWORDS[0]).startswith(b"530")
        # No login, no files.
        assert r.cmd("LIST").startswith(b"530")
        # Anonymous is off by default.
        assert r.cmd("USER anonymous").startswith(b"530")
        r.login(outpost)
    assert f"auth failed for {ALICE}" in outpost.stderr_text()


def test_directories_names_and_facts(outpost):
    f = ftp_login(outpost)
    assert f.pwd() == "/"
    # RFC 959 appendix II: embedded quotes doubled in 257.
    assert f.sendcmd('MKD a"b') == '257 "/a""b" created'
    assert f.pwd() == "/"
    f.cwd('a"b')
    assert f.sendcmd("PWD") == '257 "/a""b" is the current directory'
    assert f.sendcmd("CDUP").startswith("200")
    assert f.pwd() == "/"
    f.mkd("d")
    f.storbinary("STOR d/f.bin", io.BytesIO(b"x" * 1000))
    assert f.size("d/f.bin") == 1000
    mdtm = f.sendcmd("MDTM d/f.bin")
    assert re.match(r"^213 \d{14}$", mdtm)
    f.rename("d/f.bin", "d/g.bin")
    assert f.nlst("d") == ["g.bin"]
    listing = []
    f.retrlines("LIST d", listing.append)
    assert len(listing) == 1
    assert re.match(r"^-rw-r--r-- +1 ftp +ftp +1000 \w{3} [ \d]\d \d\d:\d\d g\.bin$", listing[0])
    facts = dict(f.mlsd("d"))
    assert facts["."]["type"] == "cdir"
    g = facts["g.bin"]
    assert g["type"] == "file" and g["size"] == "1000" and g["perm"] == "adfrw"
    assert re.match(r"^\d{14}$", g["modify"]) and g["unique"]
    mlst = f.sendcmd("MLST d/g.bin")
    lines = mlst.split("\n")
    assert lines[0].startswith("250-") and lines[-1].startswith("250 ")
    assert lines[1].startswith(" type=file;size=1000;") and lines[1].rstrip("\r").endswith(" /d/g.bin")
    assert f.sendcmd("OPTS MLST type;size;") == "200 MLST OPTS type;size;"
    assert f.sendcmd("MLST d/g.bin").split("\n")[1].strip() == "type=file;size=1000; /d/g.bin"
    stat = f.sendcmd("STAT d")
    assert stat.startswith("213-") and "g.bin" in stat and stat.endswith("213 End of status")
    assert f.sendcmd("SITE CHMOD 600 d/g.bin").startswith("200")
    assert (ftp_home(outpost) / "d" / "g.bin").stat().st_mode & 0o777 == 0o600
    with pytest.raises(ftplib.error_perm, match="^550"):
        f.rmd("d")                      # not empty
    f.delete("d/g.bin")
    f.rmd("d")
    with pytest.raises(ftplib.error_perm, match="^550"):
        f.cwd("d")
    with pytest.raises(ftplib.error_perm, match="^550"):
        f.size("nothing-here")
    f.quit()


def test_rest_appe_stou(outpost):
    data = os.urandom(200000)
    f = ftp_login(outpost)
    f.voidcmd("TYPE I")
    f.storbinary("STOR r.bin", io.BytesIO(data))
    # REST + RETR: the rest of the file.
    out = io.BytesIO()
    f.retrbinary("RETR r.bin", out.write, rest=150000)
    assert out.getvalue() == data[150000:]
    with pytest.raises(ftplib.error_perm, match="^554"):
        f.retrbinary("RETR r.bin", out.write, rest=len(data) + 1)
    # REST + STOR: an interrupted upload resumed in place.
    f.storbinary("STOR s.bin", io.BytesIO(data[:70000]))
    f.storbinary("STOR s.bin", io.BytesIO(data[70000:]), rest=70000)
    assert (ftp_home(outpost) / "s.bin").read_bytes() == data
    # APPE appends.
    f.storbinary("APPE s.bin", io.BytesIO(b"tail"))
    assert (ftp_home(outpost) / "s.bin").read_bytes() == data + b"tail"
    # STOU: a new name, told in the 150 reply (RFC 1123 section 4.1.2.9).
    conn = f.transfercmd("STOU r.bin")
    conn.sendall(b"unique")
    conn.close()
    assert f.voidresp().startswith("226")
    names = f.nlst()
    new = [n for n in names if n.startswith("r.bin.")]
    assert len(new) == 1 and (ftp_home(outpost) / new[0]).read_bytes() == b"unique"
    assert (ftp_home(outpost) / "r.bin").read_bytes() == data
    f.quit()


def test_epsv_all_and_port_bounce(outpost):
    with RawFTP(outpost) as r:
        r.login(outpost)
        # RFC 2577: PORT/EPRT only to the client's own address, no low ports.
        assert r.cmd("PORT 10,1,2,3,200,1").startswith(b"504")
        assert r.cmd("PORT 127,0,0,1,0,21").startswith(b"504")
        assert r.cmd("EPRT |1|192.0.2.7|6000|").startswith(b"504")
        assert r.cmd("EPRT |2|::1|6000|").startswith(b"504")
        assert r.cmd("EPRT |3|x|6000|").startswith(b"522")
        assert r.cmd("PORT 1,2,3").startswith(b"501")
        assert r.cmd("PORT 127,0,0,1,200,1").startswith(b"200")
        assert r.cmd("EPSV 2").startswith(b"522")
        assert r.cmd("EPSV ALL").startswith(b"200")
        assert r.cmd("PASV").startswith(b"503")
        assert r.cmd("PORT 127,0,0,1,200,1").startswith(b"503")
        assert r.cmd("EPSV").startswith(b"229")
    assert "refused: not the client's own address" in outpost.stderr_text()


def test_ipv6_eprt_epsv(outpost_factory, tmp_path):
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    port = outpost_factory(start=False).ftp_port
    srv = outpost_factory(config={("ftp", "listen"): "[::1]:%d" % port})
    srv.ftp_port = port
    data = os.urandom(300000)
    for pasv in (True, False):
        f = ftplib.FTP()
        f.connect("::1", port, timeout=20)
        f.login(ALICE, srv.passwords[ALICE])
        f.set_pasv(pasv)                 # ftplib uses EPSV / EPRT on IPv6
        f.storbinary("STOR v6.bin", io.BytesIO(data))
        out = io.BytesIO()
        f.retrbinary("RETR v6.bin", out.write)
        assert out.getvalue() == data
        with pytest.raises(ftplib.error_perm, match="^522"):
            f.sendcmd("PASV")
        f.quit()


# ---- bad input ---------------------------------------------------------------------------

def test_bad_lines(outpost):
    with RawFTP(outpost) as r:
        r.login(outpost)
        assert r.cmd(b"RETR a\0/etc/passwd").startswith(b"501")
        assert r.cmd(b"\0").startswith(b"501")
        assert r.cmd(b"MKD a\rb").startswith(b"501")
        assert r.cmd(b"R" * 20000).startswith(b"500")
        assert r.cmd(b"RETR " + b"a" * 5000).startswith(b"500")
        assert r.cmd(b"").startswith(b"500")
        assert r.cmd(b"\xff\xf4\xff\xf2NOOP").startswith(b"200")
        assert r.cmd("NOOP").startswith(b"200")
    assert not os.path.exists(ftp_home(outpost) / "a\rb")


def test_jail(outpost, tmp_path):
    home = ftp_home(outpost)
    f = ftp_login(outpost)              # the first login creates the home
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    os.symlink(str(outside), home / "up")
    os.symlink(str(outside / "secret"), home / "s")
    os.symlink("../../../../../../../../etc", home / "etc")
    (home / "bad\nname").write_bytes(b"x")
    for path in ("../../../../etc/passwd", "/../../etc/passwd", "up/secret", "s", "etc/passwd",
                 "//etc/passwd", "../" + str(outside / "secret")):
        with pytest.raises(ftplib.error_perm, match="^550"):
            f.retrbinary("RETR " + path, lambda b: None)
    with pytest.raises(ftplib.error_perm, match="^550"):
        f.cwd("up")
    f.cwd("../../..")
    assert f.pwd() == "/"
    for path in ("up/new", "etc/new", "s"):
        with pytest.raises(ftplib.error_perm, match="^550"):
            f.storbinary("STOR " + path, io.BytesIO(b"evil"))
    with pytest.raises(ftplib.error_perm, match="^550"):
        f.mkd("up/dir")
    with pytest.raises(ftplib.error_perm, match="^550"):
        f.delete("up/secret")
    with pytest.raises(ftplib.error_perm, match="^550"):
        f.rename("up/secret", "stolen")
    with pytest.raises(ftplib.error_perm, match="^550"):
        f.sendcmd("SITE CHMOD 777 s")
    # STAT of the link shows the link itself, never what it points to.
    st = f.sendcmd("STAT up")
    assert st.startswith("213-") and " up\n" in st and "secret" not in st
    # The name with a line feed never shows (it would break the listing).
    assert "bad" not in " ".join(f.nlst())
    f.quit()
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_bytes() == b"secret"
    assert (outside / "secret").stat().st_mode & 0o777 != 0o777


def test_no_data_connection(outpost_factory):
    srv = outpost_factory(config={("ftp", "data_timeout"): "2s"})
    with RawFTP(srv) as r:
        r.login(srv)
        assert r.cmd("LIST").startswith(b"425")      # nothing prepared
        assert r.cmd("PASV").startswith(b"227")
        # The client never comes: 425 once data_timeout is over (a 150
        # may come first, while the server waits).
        rep = r.cmd("LIST")
        if rep.startswith(b"150"):
            rep = r.reply()
        assert rep.startswith(b"425"), rep
        assert r.cmd("NOOP").startswith(b"200")


def place(server, big_file, name="big.bin"):
    """Put big_file into alice's FTP home without a transfer (a hard link
    when the file systems allow)."""
    home = ftp_home(server)
    home.mkdir(parents=True, exist_ok=True)
    try:
        os.link(big_file, home / name)
    except OSError:
        shutil.copyfile(big_file, home / name)


def test_abort_during_transfer(outpost, big_file):
    place(outpost, big_file)
    with RawFTP(outpost) as r:
        r.login(outpost)
        r.cmd("TYPE I")
        data = r.pasv_connect()
        assert r.cmd("RETR big.bin").startswith(b"150")
        data.recv(65536)
        # RFC 959 section 4.1.3: Telnet IP and Synch, then ABOR.
        r.send(b"\xff\xf4\xff")
        r.sock.send(b"\xf2", socket.MSG_OOB)
        r.send(b"ABOR\r\n")
        first = r.reply()
        second = r.reply()
        assert first.startswith(b"426"), first
        assert second.startswith(b"226"), second
        data.close()
        assert r.cmd("ABOR").startswith(b"226")
        # An aborted upload leaves nothing under its name.
        data = r.pasv_connect()
        assert r.cmd("STOR partial.bin").startswith(b"150")
        data.sendall(os.urandom(1 << 20))
        r.send(b"ABOR\r\n")
        assert r.reply()[:3] in (b"426", b"226")
        data.close()
        r.cmd("NOOP")
    assert wait_for(lambda: not os.path.exists(ftp_home(outpost) / "partial.bin") and
                    not [n for n in os.listdir(ftp_home(outpost)) if n.startswith(".outpost")])


def test_ftplib_abort(outpost, big_file):
    place(outpost, big_file)
    f = ftp_login(outpost)
    conn = f.transfercmd("RETR big.bin")
    conn.recv(65536)
    resp = f.abort()                    # ABOR sent as urgent data
    assert resp[:3] in ("426", "225", "226")
    conn.close()
    if resp.startswith("426"):
        assert f.getresp().startswith("226")
    assert f.sendcmd("NOOP").startswith("200")
    f.quit()


def test_vanishing_client(outpost):
    """A client that disappears in the middle of an upload: nothing is left
    under the name, nor under a temporary one. (In stream mode a clean
    close of the data connection is the end of the file, RFC 959 section
    3.4.1, so the vanishing here is a reset, or silence.)"""
    linger0 = b"\x01\x00\x00\x00\x00\x00\x00\x00"
    home = ftp_home(outpost)
    for n in range(4):
        with RawFTP(outpost) as r:
            r.login(outpost)
            data = r.pasv_connect()
            assert r.cmd("STOR gone.bin").startswith(b"150")
            data.sendall(os.urandom(300000))
            r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
            data.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
            if n % 2:
                data.close()            # data reset first, then control
                r.close()
            else:
                r.close()               # control reset, data left silent
                time.sleep(0.3)
                data.close()
    assert wait_for(lambda: not [n for n in os.listdir(home) if n.startswith(".outpost")])
    assert not (home / "gone.bin").exists()
    # The server is still there.
    f = ftp_login(outpost)
    assert f.sendcmd("NOOP").startswith("200")
    f.quit()


def test_quota(outpost_factory):
    srv = outpost_factory(config={("ftp", "quota"): "1M"})
    f = ftp_login(srv)
    f.storbinary("STOR small.bin", io.BytesIO(os.urandom(600000)))
    assert stor_refused(f, "STOR big.bin", os.urandom(800000)).startswith("552")
    assert not (ftp_home(srv) / "big.bin").exists()
    with pytest.raises(ftplib.error_perm, match="^552"):
        f.sendcmd("ALLO 2000000")
    f.delete("small.bin")
    f.storbinary("STOR big.bin", io.BytesIO(os.urandom(800000)))
    f.quit()


def test_quota_shared_by_sessions(outpost_factory):
    """The quota counts the user's bytes over all of their sessions: a
    session logged in before another one's upload sees it, two uploads at
    once never store more than the quota together, and what a refused or
    aborted upload charged is given back."""
    from concurrent.futures import ThreadPoolExecutor

    srv = outpost_factory(config={("ftp", "quota"): "1M"})
    home = ftp_home(srv)
    a, b = ftp_login(srv), ftp_login(srv)
    a.storbinary("STOR a.bin", io.BytesIO(os.urandom(600000)))
    # b logged in before a's upload: it still sees it.
    assert stor_refused(b, "STOR b.bin", os.urandom(600000)).startswith("552")
    assert not (home / "b.bin").exists()
    with pytest.raises(ftplib.error_perm, match="^552"):
        b.sendcmd("ALLO 500000")
    b.delete("a.bin")
    a.storbinary("STOR a.bin", io.BytesIO(os.urandom(900000)))
    # Replacing a file by one of its size at a nearly full quota.
    b.storbinary("STOR a.bin", io.BytesIO(os.urandom(900000)))
    a.delete("a.bin")
    a.quit()
    b.quit()

    def upload(n):
        f = ftp_login(srv)
        try:
            r = stor_refused(f, "STOR p%d.bin" % n, os.urandom(700000))
        finally:
            f.close()
        return r[:3]

    for _ in range(3):
        sessions = [ftp_login(srv) for _ in range(2)]    # all four share one count
        with ThreadPoolExecutor(max_workers=2) as ex:
            codes = list(ex.map(upload, range(2)))
        assert set(codes) <= {"226", "552"}, codes
        stored = sum(p.stat().st_size for p in home.iterdir() if p.is_file())
        assert stored <= 1 << 20
        assert codes.count("226") == len([p for p in home.iterdir() if p.name.startswith("p")])
        f = ftp_login(srv)
        for p in list(home.iterdir()):
            if p.name.startswith("p"):
                f.delete(p.name)
        # Nothing charged by the refused uploads stays charged.
        f.storbinary("STOR whole.bin", io.BytesIO(os.urandom(1000000)))
        f.delete("whole.bin")
        f.quit()
        for g in sessions:
            g.quit()


def test_full_disk(outpost, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    f = ftp_login(outpost)
    home = ftp_home(outpost)
    small = home / "small"
    small.mkdir()
    r = os.system("mount -t tmpfs -o size=1m tmpfs '%s' 2>/dev/null" % small)
    if r != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        assert stor_refused(f, "STOR small/big.bin", os.urandom(3 << 20)).startswith("452")
        assert os.listdir(small) == []
        f.storbinary("STOR small/fits.bin", io.BytesIO(b"ok"))
        assert f.sendcmd("NOOP").startswith("200")
        f.quit()
    finally:
        os.system("umount '%s'" % small)


def test_anonymous(outpost_factory):
    srv = outpost_factory(config={("ftp", "anonymous"): "yes"})
    public = srv.data / "ftp" / "public"
    f = ftplib.FTP()
    f.connect("127.0.0.1", srv.ftp_port, timeout=20)
    assert f.login("anonymous", "guest@example.test").startswith("230")
    public.mkdir(parents=True, exist_ok=True)
    (public / "readme.txt").write_bytes(b"hello\n")
    out = io.BytesIO()
    f.retrbinary("RETR readme.txt", out.write)
    assert out.getvalue() == b"hello\n"
    facts = dict(f.mlsd())
    assert facts["readme.txt"]["perm"] == "r"
    for c in ("MKD x", "DELE readme.txt", "RNFR readme.txt", "SITE CHMOD 777 readme.txt"):
        with pytest.raises(ftplib.error_perm, match="^550"):
            f.sendcmd(c)
    with pytest.raises(ftplib.error_perm, match="^550"):
        f.storbinary("STOR up.bin", io.BytesIO(b"x"))
    f.quit()
    assert sorted(os.listdir(public)) == ["readme.txt"]


def test_tls_required_by_policy(outpost_factory):
    srv = outpost_factory(config={("auth", "plaintext"): "tls"})
    with RawFTP(srv) as r:
        assert r.cmd("USER " + ALICE).startswith(b"530")
    f = ftp_tls_login(srv)
    assert f.sendcmd("PBSZ 0").startswith("200")
    assert f.sendcmd("PROT C").startswith("200")
    with pytest.raises(ftplib.error_perm, match="^536"):
        f.sendcmd("PROT S")
    with pytest.raises(ftplib.error_perm, match="^534"):
        f.sendcmd("CCC")
    f.prot_p()
    f.storbinary("STOR t.bin", io.BytesIO(b"secret data"))
    assert f.nlst() == ["t.bin"]
    f.quit()


def test_slow_transfer_outlives_idle_timeout(outpost_factory):
    """A transfer longer than idle_timeout (slowed by rate_limit) completes:
    the control connection is busy, not idle, while it runs."""
    srv = outpost_factory(config={("ftp", "idle_timeout"): "1s", ("ftp", "rate_limit"): "256k"})
    data = os.urandom(700000)
    f = ftp_login(srv)
    f.storbinary("STOR slow.bin", io.BytesIO(data))
    out = io.BytesIO()
    f.retrbinary("RETR slow.bin", out.write)
    assert out.getvalue() == data
    assert f.sendcmd("NOOP").startswith("200")
    f.quit()


def test_parallel_sessions(outpost):
    """Twenty sessions at once, each storing, listing and fetching its own
    files (bounded: 5 rounds each); every byte comes back."""
    from concurrent.futures import ThreadPoolExecutor

    def worker(n):
        f = ftp_login(outpost)
        f.set_pasv(n % 2 == 0)
        f.mkd("w%d" % n)
        for k in range(5):
            data = os.urandom(50000 + 1000 * k + n)
            name = "w%d/f%d.bin" % (n, k)
            f.storbinary("STOR " + name, io.BytesIO(data))
            out = io.BytesIO()
            f.retrbinary("RETR " + name, out.write)
            assert out.getvalue() == data
        assert len(f.nlst("w%d" % n)) == 5
        f.quit()
        return n

    with ThreadPoolExecutor(max_workers=20) as ex:
        assert sorted(ex.map(worker, range(20))) == list(range(20))
    assert f"{ALICE}" in outpost.stderr_text()


def test_stat_during_transfer(outpost_factory):
    # rate_limit keeps the transfer running (4 MiB at 1 MiB/s) whatever the
    # socket buffers hold.
    outpost = outpost_factory(config={("ftp", "rate_limit"): "1M"})
    f = ftp_login(outpost)
    f.storbinary("STOR s.bin", io.BytesIO(os.urandom(4 << 20)))
    f.quit()
    with RawFTP(outpost) as r:
        r.login(outpost)
        r.cmd("TYPE I")
        data = r.pasv_connect()
        assert r.cmd("RETR s.bin").startswith(b"150")
        got = len(data.recv(1000))
        st = r.cmd("STAT")
        assert st.startswith(b"211-") and b"Transfer in progress" in st
        assert r.cmd("CWD /").startswith(b"503")
        assert r.cmd("NOOP").startswith(b"200")
        while True:
            chunk = data.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
        data.close()
        assert r.reply().startswith(b"226")
        assert got == 4 << 20


def test_list_patterns(outpost):
    f = ftp_login(outpost)
    f.mkd("d")
    for name in ("a.txt", "b.txt", "c.bin", "d/x.txt", "d/y.bin", ".hidden.txt"):
        f.storbinary("STOR " + name, io.BytesIO(b"x"))
    assert f.nlst("*.txt") == ["a.txt", "b.txt"]
    assert f.nlst("d/*.bin") == ["d/y.bin"]
    assert f.nlst("?.bin") == ["c.bin"]
    lines = []
    f.retrlines("LIST *.bin", lines.append)
    assert len(lines) == 1 and lines[0].endswith(" c.bin")
    with pytest.raises(ftplib.error_perm, match="^550"):
        f.nlst("nothing/*.txt")
    assert f.nlst("*.none") == []
    f.quit()


def test_data_connection_from_a_stranger(outpost):
    """RFC 2577: a passive data port takes a connection only from the
    control connection's address; another host (127.0.0.2 here) is shut
    out and the client's own connection still gets the file."""
    f = ftp_login(outpost)
    f.storbinary("STOR s.bin", io.BytesIO(b"payload" * 1000))
    f.quit()
    with RawFTP(outpost) as r:
        r.login(outpost)
        rep = r.cmd("EPSV")
        port = int(rep.split(b"|||")[1].split(b"|")[0])
        stranger = socket.socket()
        stranger.settimeout(10)
        try:
            stranger.bind(("127.0.0.2", 0))
        except OSError:
            pytest.skip("cannot bind 127.0.0.2")
        stranger.connect(("127.0.0.1", port))
        data = socket.create_connection(("127.0.0.1", port), timeout=15)
        assert r.cmd("RETR s.bin").startswith(b"150")
        assert recv_all(data) == b"payload" * 1000
        data.close()
        assert r.reply().startswith(b"226")
        try:
            got = stranger.recv(100)
        except OSError:
            got = b""
        assert got == b""                # closed, nothing sent to it
        stranger.close()
