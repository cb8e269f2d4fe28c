/* Unit tests of the IXFR journal (src/dns/journal.c): differences between
 * zone versions, the chain of versions, the file surviving a reopen, a
 * damaged tail, a serial that does not match, and serial arithmetic. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "dns/consts.h"
#include "dns/journal.h"
#include "dns/zone.h"
#include "test.h"

static struct dns_zone *zone_from(const char *dir, const char *tag, unsigned serial,
                                  const char *extra)
{
    char path[512];
    pathf(path, sizeof path, "%s/%s.zone", dir, tag);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fprintf(f, "$ORIGIN j.test.\n$TTL 300\n"
               "@ SOA ns1 host %u 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n%s",
            serial, extra);
    fclose(f);
    struct dns_name apex;
    dns_name_from_text(&apex, "j.test.", 7, NULL);
    struct dns_zone *z = NULL;
    struct buf err = BUF_INIT;
    int r = dns_zone_load(path, &apex, &z, &err);
    if (r < 0)
        fprintf(stderr, "%s", buf_cstr(&err));
    buf_free(&err);
    return r < 0 ? NULL : z;
}

/* The records of d as "owner type" lines, SOAs as "SOA serial". */
static void diff_text(const struct dns_diff *d, char *out, size_t cap)
{
    size_t off = 0, used = 0;
    struct dns_jrec r;
    out[0] = '\0';
    while (dns_diff_next(d, &off, &r) && used < cap) {
        char name[DNS_NAME_MAXTEXT];
        dns_name_to_text(&r.owner, name, sizeof name);
        if (r.type == DNS_TYPE_SOA) {
            unsigned s = (unsigned)r.rdata[r.rdlen - 20] << 24 | r.rdata[r.rdlen - 19] << 16 |
                         r.rdata[r.rdlen - 18] << 8 | r.rdata[r.rdlen - 17];
            used += (size_t)snprintf(out + used, cap - used, "SOA %u;", s);
        } else {
            used += (size_t)snprintf(out + used, cap - used, "%s %u %u;", name, r.type, r.ttl);
        }
    }
}

TEST(dns_journal_diff_between_versions)
{
    const char *dir = test_tmpdir();
    struct dns_zone *a = zone_from(dir, "a", 1, "www A 192.0.2.10\nold TXT \"x\"\nttl A 192.0.2.3\n");
    struct dns_zone *b = zone_from(dir, "b", 2, "www A 192.0.2.10\nnew TXT \"y\"\nttl 60 A 192.0.2.3\n");
    REQUIRE(a && b);
    struct dns_diff *d;
    REQUIRE(dns_journal_diff(a, b, &d) == 0 && d);
    CHECK_INT(d->from, 1);
    CHECK_INT(d->to, 2);
    CHECK_INT(d->ndel, 2);
    CHECK_INT(d->nadd, 2);
    char text[512];
    diff_text(d, text, sizeof text);
    CHECK_STR(text, "SOA 1;old.j.test. 16 300;ttl.j.test. 1 300;SOA 2;new.j.test. 16 300;"
                    "ttl.j.test. 1 60;");
    dns_diff_unref(d);
    /* Same records: no difference. */
    struct dns_zone *a2 = zone_from(dir, "a2", 5, "www A 192.0.2.10\nold TXT \"x\"\nttl A 192.0.2.3\n");
    REQUIRE(a2);
    REQUIRE(dns_journal_diff(a, a2, &d) == 0);
    CHECK(d == NULL);
    dns_zone_unref(a);
    dns_zone_unref(a2);
    dns_zone_unref(b);
}

TEST(dns_journal_chain_file_and_reopen)
{
    const char *dir = test_tmpdir();
    char jpath[512];
    pathf(jpath, sizeof jpath, "%s/j.test.journal", dir);
    struct dns_zone *z1 = zone_from(dir, "z1", 10, "a A 192.0.2.1\n");
    struct dns_zone *z2 = zone_from(dir, "z2", 11, "a A 192.0.2.2\n");
    struct dns_zone *z3 = zone_from(dir, "z3", 12, "a A 192.0.2.2\nb A 192.0.2.3\n");
    struct dns_zone *z3b = zone_from(dir, "z3b", 12, "c A 192.0.2.3\n");
    struct dns_zone *z4 = zone_from(dir, "z4", 13, "c A 192.0.2.3\n");
    REQUIRE(z1 && z2 && z3 && z3b && z4);
    struct dns_journal *j = dns_journal_open(jpath, "j.test", 10);
    REQUIRE(j);
    CHECK_INT(dns_journal_update(j, z1, z2), 1);
    CHECK_INT(dns_journal_update(j, z2, z3), 1);
    CHECK_INT(dns_journal_versions(j), 2);
    struct dns_diff **v;
    size_t n;
    CHECK_INT(dns_journal_since(j, 10, 12, &v, &n), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(v[0]->from, 10);
        CHECK_INT(v[1]->to, 12);
        CHECK_INT(v[1]->ndel, 0);
        CHECK_INT(v[1]->nadd, 1);
    }
    dns_diffs_release(v, n);
    CHECK_INT(dns_journal_since(j, 11, 12, &v, &n), 0);
    CHECK_INT(n, 1);
    dns_diffs_release(v, n);
    CHECK_INT(dns_journal_since(j, 12, 12, &v, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(dns_journal_since(j, 9, 12, &v, &n), -ENOENT);
    dns_journal_unref(j);

    /* Reopened at the serial it ends at: kept. */
    j = dns_journal_open(jpath, "j.test", 12);
    REQUIRE(j);
    CHECK_INT(dns_journal_versions(j), 2);
    CHECK_INT(dns_journal_since(j, 10, 12, &v, &n), 0);
    CHECK_INT(n, 2);
    dns_diffs_release(v, n);
    /* A damaged tail (a crash in an append) is cut off, the rest kept. */
    dns_journal_unref(j);
    int fd = open(jpath, O_WRONLY | O_APPEND);
    REQUIRE(fd >= 0);
    CHECK(write(fd, "OPJDgarbage", 11) == 11);
    close(fd);
    j = dns_journal_open(jpath, "j.test", 12);
    CHECK_INT(dns_journal_versions(j), 2);
    /* The same serial with other records: cleared. */
    CHECK_INT(dns_journal_update(j, z3, z3b), 0);
    CHECK_INT(dns_journal_versions(j), 0);
    CHECK(access(jpath, F_OK) != 0);
    CHECK_INT(dns_journal_update(j, z3b, z4), 1);
    /* An SOA-only change is a step too. */
    CHECK_INT(dns_journal_since(j, 12, 13, &v, &n), 0);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_INT(v[0]->ndel + v[0]->nadd, 0);
    dns_diffs_release(v, n);
    dns_journal_unref(j);
    /* Opened for another serial than its last: dropped. */
    j = dns_journal_open(jpath, "j.test", 20);
    CHECK_INT(dns_journal_versions(j), 0);
    dns_journal_unref(j);
    dns_zone_unref(z1);
    dns_zone_unref(z2);
    dns_zone_unref(z3);
    dns_zone_unref(z3b);
    dns_zone_unref(z4);
}

TEST(dns_journal_serial_arithmetic)
{
    CHECK(dns_serial_gt(2, 1));
    CHECK(!dns_serial_gt(1, 2));
    CHECK(!dns_serial_gt(5, 5));
    CHECK(dns_serial_gt(0, 0xffffffffu));     /* wraps (RFC 1982) */
    CHECK(!dns_serial_gt(0x80000000u, 0));    /* undefined: not greater */
}
