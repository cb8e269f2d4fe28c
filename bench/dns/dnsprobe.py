#!/usr/bin/python3
"""Small helpers for bench/dns/run.sh, standard library only.

    dnsprobe.py port
        print a port of 127.0.0.1 free for both UDP and TCP
    dnsprobe.py wait PORT ZONE SECONDS [PID]
        ask ZONE SOA over UDP every 20 ms until an authoritative NOERROR answer
        with the SOA comes back (exit 0, prints the seconds waited), SECONDS
        pass or the process PID ends (exit 1)
    dnsprobe.py ask PORT NAME TYPE [tcp]
        one query; prints "rcode=N aa=0|1 tc=0|1 an=N ns=N ar=N"
    dnsprobe.py run CMD [ARG...]
        run CMD; prints "wall_s=W maxrss_kib=M rc=R" (peak RSS of CMD and its children)
"""

import os
import random
import resource
import socket
import struct
import subprocess
import sys
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16,
         "AAAA": 28, "SRV": 33, "DS": 43, "CAA": 257}


def free_port():
    for _ in range(100):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise SystemExit("dnsprobe: no free port")


def query(name, qtype):
    qid = random.getrandbits(16)
    wire = b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split(".")
                    if label) + b"\0"
    return qid, struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + wire + struct.pack("!HH", qtype, 1)


def parse(resp, qid):
    if len(resp) < 12:
        return None
    rid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", resp[:12])
    if rid != qid or not flags & 0x8000:
        return None
    return {"rcode": flags & 15, "aa": flags >> 10 & 1, "tc": flags >> 9 & 1,
            "an": an, "ns": ns, "ar": ar}


def ask(port, name, qtype, tcp=False, timeout=1.0):
    qid, q = query(name, qtype)
    if tcp:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(q)) + q)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                d = s.recv(65536)
                if not d:
                    return None
                buf += d
            return parse(buf[2:], qid)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, ("127.0.0.1", port))
        return parse(s.recv(65536), qid)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:        # a zombie child of the caller counts as ended
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait(port, zone, seconds, pid=None):
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if pid is not None and not alive(pid):
            return 1
        try:
            r = ask(port, zone, TYPES["SOA"], timeout=0.2)
        except OSError:
            r = None
        if r and r["rcode"] == 0 and r["aa"] and r["an"] >= 1:
            print("%.3f" % (time.monotonic() - t0))
            return 0
        time.sleep(0.02)
    return 1


def run(cmd):
    t0 = time.monotonic()
    rc = subprocess.call(cmd, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    print("wall_s=%.3f maxrss_kib=%d rc=%d" % (
        wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc))
    return 0


def main(a):
    if a[:1] == ["port"]:
        print(free_port())
        return 0
    if a[:1] == ["wait"] and len(a) in (4, 5):
        return wait(int(a[1]), a[2], float(a[3]), int(a[4]) if len(a) == 5 else None)
    if a[:1] == ["ask"] and len(a) in (4, 5):
        r = ask(int(a[1]), a[2], TYPES.get(a[3].upper()) or int(a[3]), tcp=a[4:] == ["tcp"])
        print("no answer" if r is None else " ".join("%s=%d" % kv for kv in r.items()))
        return 0 if r else 1
    if a[:1] == ["run"] and len(a) > 1:
        return run(a[1:])
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
