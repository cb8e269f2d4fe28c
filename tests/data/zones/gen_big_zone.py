#!/usr/bin/python3
"""Write a master file of N records (default 1,000,000) for zone bench.test.
to stdout, for timing the zone-file reader against other servers' loaders.
Test-only. A mix shaped like a large hosting zone: A, AAAA, MX, TXT, CNAME,
delegations with NS and glue, relative and absolute names, omitted owners."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
out = sys.stdout
w = out.write
w("$ORIGIN bench.test.\n$TTL 3600\n")
w("@ IN SOA ns1.bench.test. hostmaster.bench.test. ( 2024010101 7200 3600 1209600 300 )\n")
w("  IN NS ns1\n  IN NS ns2\nns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\n")
count = 5
i = 0
while count < n:
    k = i % 10
    if k < 4:
        w("host%d IN A 10.%d.%d.%d\n" % (i, (i >> 16) & 255, (i >> 8) & 255, i & 255))
        count += 1
    elif k < 6:
        w("host%d 300 IN AAAA 2001:db8:%x:%x::1\n" % (i, (i >> 16) & 0xffff, i & 0xffff))
        count += 1
    elif k == 6:
        w("mail%d IN MX 10 mx%d.bench.test.\n\tIN TXT \"v=spf1 mx -all\"\n" % (i, i % 97))
        count += 2
    elif k == 7:
        w("www%d IN CNAME host%d\n" % (i, i - 7))
        count += 1
    else:
        w("deleg%d IN NS ns1.deleg%d\n IN NS ns2.deleg%d.bench.test.\n"
          "ns1.deleg%d IN A 198.51.%d.%d\n" % (i, i, i, i, (i >> 8) & 255, i & 255))
        count += 3
    i += 1
