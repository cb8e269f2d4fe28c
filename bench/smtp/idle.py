#!/usr/bin/python3
"""Hold N idle SMTP sessions open: connect, read the greeting, EHLO, read
the reply, then wait. Writes a line to READY_FILE once every session is
there, and holds them until killed or HOLD_S seconds pass.

usage: idle.py PORT N READY_FILE HOLD_S"""

import socket
import sys
import time


def main():
    port, n, ready, hold = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    socks = []
    t0 = time.monotonic()
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        f = s.makefile("rb")
        greeting = f.readline()
        if not greeting.startswith(b"220"):
            sys.exit("session %d: greeting %r" % (i, greeting))
        s.sendall(b"EHLO idle.example\r\n")
        while True:
            line = f.readline()
            if not line.startswith(b"250"):
                sys.exit("session %d: EHLO reply %r" % (i, line))
            if line[3:4] == b" ":
                break
        socks.append((s, f))
    with open(ready, "w") as out:
        out.write("%d idle sessions in %.1f s\n" % (n, time.monotonic() - t0))
    time.sleep(hold)


if __name__ == "__main__":
    main()
