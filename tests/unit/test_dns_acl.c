/* Unit tests of allow_transfer and address lists (src/dns/acl.c): the
 * grammar, prefix matching, keys, IPv4-mapped peers and errors. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "base/err.h"
#include "dns/acl.h"
#include "test.h"

static struct sockaddr_storage peer(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, ip, &in6->sin6_addr);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        inet_pton(AF_INET, ip, &in->sin_addr);
    }
    return ss;
}

TEST(dns_acl_prefixes_and_keys)
{
    struct dns_acl acl;
    char err[256];
    REQUIRE(dns_acl_parse("127.0.0.1/32 key xfr-key, ::1, 10.0.0.0/8 , 2001:db8::/32 key K.",
                          &acl, err, sizeof err) == 0);
    REQUIRE(acl.n == 4);
    CHECK_STR(acl.v[0].key, "xfr-key");
    CHECK_INT(acl.v[1].bits, 128);
    CHECK(dns_acl_key_at(&acl, 1) == NULL);
    struct sockaddr_storage lo = peer("127.0.0.1"), lo6 = peer("::1"), ten = peer("10.9.8.7"),
                            other = peer("192.0.2.1"), mapped = peer("::ffff:10.1.2.3"),
                            net6 = peer("2001:db8:1::5"), lo2 = peer("127.0.0.2");
    CHECK_INT(dns_acl_check(&acl, &lo, NULL), DNS_ACL_NEEDKEY);
    CHECK_INT(dns_acl_check(&acl, &lo, "other"), DNS_ACL_NEEDKEY);
    CHECK_INT(dns_acl_check(&acl, &lo, "XFR-key."), DNS_ACL_ALLOW);
    CHECK_INT(dns_acl_check(&acl, &lo2, "xfr-key"), DNS_ACL_REFUSE);
    CHECK_INT(dns_acl_check(&acl, &lo6, NULL), DNS_ACL_ALLOW);
    CHECK_INT(dns_acl_check(&acl, &lo6, "xfr-key"), DNS_ACL_ALLOW);   /* no key required */
    CHECK_INT(dns_acl_check(&acl, &ten, ""), DNS_ACL_ALLOW);
    CHECK_INT(dns_acl_check(&acl, &mapped, NULL), DNS_ACL_ALLOW);
    CHECK_INT(dns_acl_check(&acl, &other, NULL), DNS_ACL_REFUSE);
    CHECK_INT(dns_acl_check(&acl, &net6, "k"), DNS_ACL_ALLOW);
    CHECK_INT(dns_acl_check(&acl, &net6, NULL), DNS_ACL_NEEDKEY);
    dns_acl_free(&acl);

    /* Empty: nobody. */
    REQUIRE(dns_acl_parse("", &acl, err, sizeof err) == 0);
    CHECK_INT(acl.n, 0);
    CHECK_INT(dns_acl_check(&acl, &lo, NULL), DNS_ACL_REFUSE);
    dns_acl_free(&acl);
    /* 0.0.0.0/0 is everyone on IPv4; odd prefix lengths. */
    REQUIRE(dns_acl_parse("0.0.0.0/0, 192.0.2.128/25", &acl, err, sizeof err) == 0);
    CHECK_INT(dns_acl_check(&acl, &other, NULL), DNS_ACL_ALLOW);
    CHECK_INT(dns_acl_check(&acl, &lo6, NULL), DNS_ACL_REFUSE);
    dns_acl_free(&acl);
}

TEST(dns_acl_errors)
{
    struct dns_acl acl;
    char err[256];
    const char *bad[] = {"127.0.0.1/33", "::1/129", "example.com", "10.0.0.1/8",
                         "127.0.0.1 key", "127.0.0.1 kee x", "127.0.0.1 key a b",
                         "127.0.0.1/", "127.0.0.1/x", "1.2.3.4.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECK_INT(dns_acl_parse(bad[i], &acl, err, sizeof err), OP_E_SYNTAX);
        CHECK(err[0] != '\0');
        CHECK(acl.v == NULL && acl.n == 0);
    }
}

TEST(dns_acl_remotes)
{
    struct dns_remotes r;
    char err[256];
    REQUIRE(dns_remotes_parse("127.0.0.2:5353 key xfr-key, ::1, [::1]:54, 192.0.2.1", 53, &r,
                              err, sizeof err) == 0);
    REQUIRE(r.n == 4);
    const struct sockaddr_in *a = (const struct sockaddr_in *)&r.v[0].addr;
    CHECK_INT(a->sin_family, AF_INET);
    CHECK_INT(ntohs(a->sin_port), 5353);
    CHECK_INT(r.v[0].addrlen, sizeof(struct sockaddr_in));
    CHECK_STR(r.v[0].key, "xfr-key");
    const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&r.v[1].addr;
    CHECK_INT(b->sin6_family, AF_INET6);
    CHECK_INT(ntohs(b->sin6_port), 53);
    CHECK_STR(r.v[1].key, "");
    CHECK_INT(ntohs(((const struct sockaddr_in6 *)&r.v[2].addr)->sin6_port), 54);
    CHECK_INT(ntohs(((const struct sockaddr_in *)&r.v[3].addr)->sin_port), 53);
    dns_remotes_free(&r);

    const char *bad[] = {"127.0.0.1:0", "127.0.0.1:70000", "[::1", "[::1]x", "host:53",
                         "127.0.0.1 key", "127.0.0.1:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(dns_remotes_parse(bad[i], 53, &r, err, sizeof err), OP_E_SYNTAX);
    REQUIRE(dns_remotes_parse(" , ", 53, &r, err, sizeof err) == 0);
    CHECK_INT(r.n, 0);
}
