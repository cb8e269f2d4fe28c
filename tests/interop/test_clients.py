"""Real POP3 clients against the server: curl (pop3://, pop3:// with STLS,
pop3s://) and fetchmail (plain, STLS, implicit TLS), each fetching messages
delivered with `outpost deliver` and comparing the bytes."""

import os
import shutil
import subprocess

import pytest

from conftest import to_crlf

ALICE = "alice@example.test"

MSGS = [
    b"From: a@example.test\nTo: alice@example.test\nSubject: one\n\nfirst body\n",
    b"From: a@example.test\r\nSubject: two\r\n\r\n.starts with a dot\r\n.\r\n..\r\nend\r\n",
    b"From: a@example.test\nSubject: three\n\n" + "8-bit: café Grüße\n".encode()
    + bytes(range(0x80, 0x100)) + b"\n",
    b"From: a@example.test\nSubject: four\n\n" + b"".join(b"line %05d ....\n" % i
                                                          for i in range(20000)),
]


def wire(msg):
    out = to_crlf(msg)
    return out if out.endswith(b"\r\n") else out + b"\r\n"


def redact(text, server):
    for pw in server.passwords.values():
        text = text.replace(str(pw), "<password>")
    return text


def fill(server, address=ALICE):
    for m in MSGS:
        server.deliver(address, m)


def mailbox_count(server, address=ALICE):
    p = server.login(address)
    count, _ = p.stat()
    p.quit()
    return count


# ---- curl ----------------------------------------------------------------------------------------

need_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def netrc(server, tmp_path, address=ALICE, password=None):
    """A netrc file, so that the password is not on curl's command line."""
    path = tmp_path / "netrc"
    pw = server.passwords[address] if password is None else password
    path.write_text("machine 127.0.0.1 login %s password %s\n" % (address, pw))
    os.chmod(path, 0o600)
    return path


def curl(server, tmp_path, url, *extra, address=ALICE, password=None):
    cmd = ["curl", "--silent", "--show-error", "--max-time", "60",
           "--netrc-file", str(netrc(server, tmp_path, address, password)), *extra, url]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90)
    return r.returncode, r.stdout, redact(r.stderr.decode(errors="replace"), server)


@need_curl
def test_curl_list_and_retrieve(outpost, tmp_path):
    fill(outpost)
    base = "pop3://127.0.0.1:%d/" % outpost.pop3_port
    rc, out, errtext = curl(outpost, tmp_path, base)
    assert rc == 0, errtext
    listing = [ln.split() for ln in out.decode().splitlines()]
    assert [int(n) for n, _ in listing] == [1, 2, 3, 4]
    for i, m in enumerate(MSGS, 1):
        assert int(listing[i - 1][1]) == len(wire(m))
        rc, out, errtext = curl(outpost, tmp_path, base + str(i))
        assert rc == 0, errtext
        assert out == wire(m), "message %d differs" % i
    # UIDL through curl's custom-request option agrees with poplib.
    rc, out, errtext = curl(outpost, tmp_path, base, "--request", "UIDL")
    assert rc == 0, errtext
    p = outpost.login(ALICE)
    _, lines, _ = p.uidl()
    p.quit()
    assert out.split(b"\r\n")[:-1] == lines


@need_curl
def test_curl_auth_plain_initial_response(outpost, tmp_path):
    fill(outpost)
    rc, out, errtext = curl(outpost, tmp_path, "pop3://127.0.0.1:%d/2" % outpost.pop3_port,
                            "--login-options", "AUTH=PLAIN", "--sasl-ir")
    assert rc == 0, errtext
    assert out == wire(MSGS[1])


@need_curl
def test_curl_stls_and_pop3s(outpost, tmp_path):
    fill(outpost)
    rc, out, errtext = curl(outpost, tmp_path, "pop3://127.0.0.1:%d/3" % outpost.pop3_port,
                            "--ssl-reqd", "--insecure")
    assert rc == 0, errtext
    assert out == wire(MSGS[2])
    rc, out, errtext = curl(outpost, tmp_path, "pop3s://127.0.0.1:%d/4" % outpost.pop3s_port,
                            "--insecure")
    assert rc == 0, errtext
    assert out == wire(MSGS[3])
    rc, out, errtext = curl(outpost, tmp_path, "pop3s://127.0.0.1:%d/" % outpost.pop3s_port,
                            "--insecure")
    assert rc == 0, errtext
    assert len(out.decode().splitlines()) == 4


@need_curl
def test_curl_dele(outpost, tmp_path):
    fill(outpost)
    rc, _, errtext = curl(outpost, tmp_path, "pop3://127.0.0.1:%d/1" % outpost.pop3_port,
                          "--request", "DELE", "--head")
    assert rc == 0, errtext
    assert mailbox_count(outpost) == 3


@need_curl
def test_curl_wrong_password(outpost, tmp_path):
    rc, _, _ = curl(outpost, tmp_path, "pop3://127.0.0.1:%d/" % outpost.pop3_port,
                    password="wrong-password")
    assert rc == 67     # CURLE_LOGIN_DENIED


# ---- fetchmail -----------------------------------------------------------------------------------

need_fetchmail = pytest.mark.skipif(shutil.which("fetchmail") is None,
                                    reason="fetchmail is not installed")

FETCH_MODES = {
    # mode: (port attribute, rc options)
    "plain": ("pop3_port", "sslproto ''"),
    "stls": ("pop3_port", "sslproto 'tls1.2+' no sslcertck"),
    "implicit": ("pop3s_port", "ssl sslproto 'tls1.2+' no sslcertck"),
}


def run_fetchmail(server, tmp_path, mode, keep=False, tag=""):
    home = tmp_path / ("home-%s%s" % (mode, tag))
    out = tmp_path / ("fetched-%s%s" % (mode, tag))
    home.mkdir()
    out.mkdir()
    port_attr, tls_options = FETCH_MODES[mode]
    mda = home / "mda.sh"
    # One file per message, numbered in delivery order.
    mda.write_text('#!/bin/sh\nn=$(ls "%s" | wc -l)\nexec cat > "%s/msg.$(printf %%03d $((n + 1)))"\n'
                   % (out, out))
    os.chmod(mda, 0o755)
    rc = home / ".fetchmailrc"
    rc.write_text(
        'set no syslog\n'
        'set no bouncemail\n'
        'poll 127.0.0.1 service %d protocol pop3 auth password timeout 60\n'
        '    user "%s" there with password "%s" is "root" here\n'
        '    %s\n'
        '    fetchall %s\n'
        '    mda "%s"\n'
        % (getattr(server, port_attr), ALICE, server.passwords[ALICE], tls_options,
           "keep" if keep else "nokeep", mda))
    os.chmod(rc, 0o600)     # fetchmail refuses a run-control file others can read
    env = dict(os.environ, HOME=str(home))
    r = subprocess.run(["fetchmail", "--nodetach", "-f", str(rc), "-i", str(home / "ids"),
                        "--pidfile", str(home / "pid")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=120)
    log = redact(r.stdout.decode(errors="replace"), server)
    files = sorted(out.iterdir())
    return r.returncode, log, [f.read_bytes() for f in files]


def strip_fetchmail_header(data):
    """fetchmail puts a Received: field of its own on top; drop it."""
    lines = data.split(b"\n")
    assert lines[0].startswith(b"Received: "), lines[0]
    i = 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    return b"\n".join(lines[i:])


def lf(msg):
    return msg.replace(b"\r\n", b"\n")


@need_fetchmail
@pytest.mark.parametrize("mode", sorted(FETCH_MODES))
def test_fetchmail(outpost, tmp_path, mode):
    fill(outpost)
    rc, log, got = run_fetchmail(outpost, tmp_path, mode)
    assert rc == 0, log
    assert len(got) == len(MSGS), log
    for i, (data, m) in enumerate(zip(got, MSGS), 1):
        # fetchmail hands the MDA LF line ends.
        assert strip_fetchmail_header(data) == lf(m), "message %d differs (%s)" % (i, mode)
    # Without 'keep', fetchmail deleted what it fetched (DELE ... QUIT).
    assert mailbox_count(outpost) == 0
    # A second run finds nothing: fetchmail's exit code 1 means "no mail".
    rc, log, got = run_fetchmail(outpost, tmp_path, mode, keep=True, tag="again")
    assert rc == 1, log
    assert got == []


@need_fetchmail
def test_fetchmail_keep_then_fetch_again(outpost, tmp_path):
    fill(outpost)
    rc, log, got = run_fetchmail(outpost, tmp_path, "plain", keep=True)
    assert rc == 0, log
    assert len(got) == len(MSGS)
    assert mailbox_count(outpost) == len(MSGS)
    # fetchall: a second run fetches the kept messages again, then deletes them.
    rc, log, got = run_fetchmail(outpost, tmp_path, "stls")
    assert rc == 0, log
    assert [strip_fetchmail_header(d) for d in got] == [lf(m) for m in MSGS]
    assert mailbox_count(outpost) == 0
