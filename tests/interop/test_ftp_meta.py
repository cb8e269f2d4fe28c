"""FTP names and facts off the event loop (src/ftp/fscmd.c): CWD, CDUP,
SIZE, MDTM, MLST, RNFR/RNTO, DELE, MKD, RMD and the opening of RETR and
STOR are answered from the kernel's lookup cache on the loop when they
only look and the path is cached, else on the worker pool.

A name never looked up before is in no cache, so asking for it takes the
pool (the server logs it at debug level); asking again is answered from
the cache (a negative entry). Both ways must give the same replies, keep
the jail, keep pipelined replies in order, and survive a client that
leaves while its command is on the pool.
"""

import ftplib
import io
import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from ftp_util import RawFTP, ftp_home, ftp_login

POOL_LINE = "not in the lookup cache"


def fresh(prefix):
    """A name nobody has looked up yet."""
    return "%s-%s" % (prefix, uuid.uuid4().hex)


def pool_lines(server):
    return server.stderr_text().count(POOL_LINE)


def test_metadata_parallel_sessions(outpost):
    """Sixteen sessions at once, each running every name and fact command
    (bounded: 6 rounds each), half of the names new (the pool), half known
    (the cache); every reply is checked against what is on disk."""
    before = pool_lines(outpost)

    def worker(n):
        f = ftp_login(outpost, timeout=60)
        top = "m%d-%s" % (n, uuid.uuid4().hex[:8])
        assert f.mkd(top) == "/" + top
        f.cwd(top)
        assert f.pwd() == "/" + top
        for k in range(6):
            data = os.urandom(1000 + 97 * k + n)
            name = "f%d.bin" % k
            f.storbinary("STOR " + name, io.BytesIO(data))
            assert f.size(name) == len(data)
            assert f.size(name) == len(data)          # now surely cached
            assert re.match(r"^213 \d{14}$", f.sendcmd("MDTM " + name))
            mlst = f.sendcmd("MLST " + name).split("\n")
            assert "size=%d;" % len(data) in mlst[1]
            out = io.BytesIO()
            f.retrbinary("RETR " + name, out.write)
            assert out.getvalue() == data
            # New names: the pool answers, the same as the cache would.
            with pytest.raises(ftplib.error_perm, match="^550"):
                f.size(fresh("nosuch"))
            with pytest.raises(ftplib.error_perm, match="^550"):
                f.sendcmd("MDTM " + fresh("nosuch"))
            with pytest.raises(ftplib.error_perm, match="^550"):
                f.cwd(fresh("nodir"))
            with pytest.raises(ftplib.error_perm, match="^550"):
                f.retrbinary("RETR " + fresh("nofile"), lambda b: None)
            with pytest.raises(ftplib.error_perm, match="^550"):
                f.sendcmd("RNFR " + fresh("nofile"))
            d = fresh("d")
            f.mkd(d)
            f.cwd(d)
            assert f.sendcmd("CDUP").startswith("200")
            f.rename(name, "r" + name)
            with pytest.raises(ftplib.error_perm, match="^550"):
                f.size(name)
            assert f.size("r" + name) == len(data)
            f.rmd(d)
        names = sorted(f.nlst())
        assert names == ["rf%d.bin" % k for k in range(6)]
        for k in range(6):
            f.delete("rf%d.bin" % k)
        f.cwd("/")
        f.rmd(top)
        f.quit()
        return n

    with ThreadPoolExecutor(max_workers=16) as ex:
        assert sorted(ex.map(worker, range(16))) == list(range(16))
    home = ftp_home(outpost)
    assert [p.name for p in home.iterdir() if p.name.startswith("m")] == []
    # The new names went through the pool: at least one log line each for
    # SIZE, MDTM, CWD, RETR and RNFR of every round of every session.
    assert pool_lines(outpost) - before >= 16 * 6 * 5


def test_pipelined_replies_stay_in_order(outpost):
    """Commands sent in one write, some answered from the cache and some on
    the pool: the replies come back in the order of the commands."""
    home = ftp_home(outpost)
    home.mkdir(parents=True, exist_ok=True)
    (home / "known.txt").write_bytes(b"12345")
    (home / "kdir").mkdir(exist_ok=True)
    with RawFTP(outpost) as c:
        c.login(outpost)
        assert c.cmd("TYPE I").startswith(b"200")
        c.cmd("SIZE known.txt")
        batch = [
            ("SIZE known.txt", b"213 5"),
            ("SIZE " + fresh("x"), b"550"),
            ("CWD kdir", b"250"),
            ("PWD", b'257 "/kdir"'),
            ("CWD " + fresh("y"), b"550"),
            ("PWD", b'257 "/kdir"'),
            ("CDUP", b"200"),
            ("MKD " + "new-" + uuid.uuid4().hex, b"257"),
            ("MDTM " + fresh("z"), b"550"),
            ("SIZE known.txt", b"213 5"),
            ("NOOP", b"200"),
        ]
        for round_ in range(3):
            c.send("".join(cmd + "\r\n" for cmd, _ in batch))
            for cmd, want in batch:
                r = c.reply()
                assert r.startswith(want), (round_, cmd, r)
            batch[7] = ("MKD " + "new-" + uuid.uuid4().hex, b"257")
            batch[1] = ("SIZE " + fresh("x"), b"550")
            batch[4] = ("CWD " + fresh("y"), b"550")
            batch[8] = ("MDTM " + fresh("z"), b"550")
        assert c.cmd("QUIT").startswith(b"221")


def test_client_leaves_during_pool_work(outpost):
    """A client that sends commands bound for the pool and closes at once:
    the server drops the work's result and stays up (bounded: 40 times)."""
    for i in range(40):
        c = RawFTP(outpost)
        c.login(outpost)
        c.send("SIZE %s\r\nCWD %s\r\nMKD %s\r\nRETR %s\r\n" %
               (fresh("a"), fresh("b"), fresh("c%d" % i), fresh("e")))
        c.close()
    f = ftp_login(outpost)
    with pytest.raises(ftplib.error_perm, match="^550"):
        f.size(fresh("after"))
    f.quit()


def test_jail_holds_both_ways(outpost, tmp_path):
    """Symlinks out of the home and through /proc are refused whether the
    path is resolved on the pool (first time) or from the cache (after)."""
    home = ftp_home(outpost)
    home.mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    tag = uuid.uuid4().hex[:8]
    os.symlink(str(outside), home / ("out-" + tag))
    os.symlink("/proc/self/root", home / ("proc-" + tag))
    os.symlink("../../../../../../../..", home / ("up-" + tag))
    f = ftp_login(outpost)
    f.voidcmd("TYPE I")
    for _ in range(2):
        for path in ("out-%s/secret" % tag, "proc-%s/etc/passwd" % tag,
                     "up-%s/etc/passwd" % tag):
            with pytest.raises(ftplib.error_perm, match="^550"):
                f.size(path)
            with pytest.raises(ftplib.error_perm, match="^550"):
                f.sendcmd("MDTM " + path)
            with pytest.raises(ftplib.error_perm, match="^550"):
                f.retrbinary("RETR " + path, lambda b: None)
            with pytest.raises(ftplib.error_perm, match="^550"):
                f.sendcmd("RNFR " + path)
        for d in ("out-" + tag, "proc-" + tag, "up-" + tag, "up-%s/tmp" % tag):
            with pytest.raises(ftplib.error_perm, match="^550"):
                f.cwd(d)
        # MLST of the link itself shows a link, never its target.
        mlst = f.sendcmd("MLST out-" + tag)
        assert "type=OS.unix=symlink;" in mlst
        assert f.pwd() == "/"
    f.quit()
    assert (outside / "secret").read_bytes() == b"secret"
