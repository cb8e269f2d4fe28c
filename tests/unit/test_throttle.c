/* Unit tests for auth/throttle: failed-login delays per address. */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "auth/throttle.h"

static struct sockaddr_storage ip(const char *s)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(s, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, s, &s6->sin6_addr) != 1)
            test_fail(__FILE__, __LINE__, s);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        if (inet_pton(AF_INET, s, &s4->sin_addr) != 1)
            test_fail(__FILE__, __LINE__, s);
    }
    return ss;
}

TEST(throttle_grows_and_caps)
{
    struct sockaddr_storage a = ip("192.0.2.1");
    static const unsigned want[] = {250, 500, 1000, 2000, 4000, 8000, 16000, 16000, 16000};
    throttle_reset();
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_INT(throttle_fail(&a), want[i]);
    for (int i = 0; i < 100; i++)
        CHECK_INT(throttle_fail(&a), 16000);
}

TEST(throttle_success_resets)
{
    struct sockaddr_storage a = ip("192.0.2.1"), b = ip("192.0.2.2");
    throttle_reset();
    CHECK_INT(throttle_fail(&a), 250);
    CHECK_INT(throttle_fail(&a), 500);
    CHECK_INT(throttle_fail(&b), 250);
    throttle_success(&a);
    CHECK_INT(throttle_fail(&a), 250);
    CHECK_INT(throttle_fail(&b), 500);   /* b's count was not touched */
    throttle_success(&b);
    throttle_success(&b);                /* nothing to reset: harmless */
    CHECK_INT(throttle_fail(&b), 250);
    throttle_reset();
    CHECK_INT(throttle_fail(&a), 250);
}

TEST(throttle_ipv6_prefix)
{
    struct sockaddr_storage a = ip("2001:db8:1:2::1"), b = ip("2001:db8:1:2:ffff::9"),
                            c = ip("2001:db8:1:3::1");
    throttle_reset();
    CHECK_INT(throttle_fail(&a), 250);
    CHECK_INT(throttle_fail(&b), 500);   /* same /64 */
    CHECK_INT(throttle_fail(&c), 250);   /* next /64 */
    throttle_success(&b);
    CHECK_INT(throttle_fail(&a), 250);
}

TEST(throttle_v4_mapped)
{
    struct sockaddr_storage a = ip("198.51.100.7"), m = ip("::ffff:198.51.100.7"),
                            other = ip("::ffff:198.51.100.8");
    throttle_reset();
    CHECK_INT(throttle_fail(&a), 250);
    CHECK_INT(throttle_fail(&m), 500);
    /* A mapped address is not grouped by /64 (that would be all of IPv4). */
    CHECK_INT(throttle_fail(&other), 250);
}

TEST(throttle_table_bounded)
{
    /* Far more addresses than slots: every new one starts at the bottom and
     * the table keeps working. */
    throttle_reset();
    for (unsigned i = 0; i < 20000; i++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(0x0a000000u + i);
        CHECK_INT(throttle_fail(&ss), 250);
    }
    struct sockaddr_storage a = ip("203.0.113.5");
    CHECK_INT(throttle_fail(&a), 250);
    CHECK_INT(throttle_fail(&a), 500);
    throttle_reset();
}

TEST(throttle_other_family)
{
    struct sockaddr_storage u;
    memset(&u, 0, sizeof u);
    u.ss_family = AF_UNIX;
    throttle_reset();
    CHECK_INT(throttle_fail(&u), 250);
    CHECK_INT(throttle_fail(NULL), 500);
    throttle_success(&u);
    CHECK_INT(throttle_fail(&u), 250);
    throttle_reset();
}

TEST(throttle_forgets_after_an_hour_of_quiet)
{
    struct sockaddr_storage a = ip("192.0.2.77");
    throttle_reset();
    uint64_t t = 5000000;
    CHECK_INT(throttle_fail_at(&a, t), 250);
    CHECK_INT(throttle_fail_at(&a, t + 1000), 500);
    /* Just under an hour after the last failure: still remembered. */
    t += 1000 + 3600 * 1000 - 1;
    CHECK_INT(throttle_fail_at(&a, t), 1000);
    /* A full hour of quiet: starts over. */
    t += 3600 * 1000;
    CHECK_INT(throttle_fail_at(&a, t), 250);
}
