/* Unit tests of response-rate limiting (src/dns/rrl.c): the rate per
 * client network and response, slip, refill, and rate 0. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "dns/rrl.h"
#include "test.h"

static struct sockaddr_storage v4(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &in->sin_addr);
    return ss;
}

static struct dns_auth_result answer(const char *qname, uint16_t qtype)
{
    struct dns_auth_result res;
    memset(&res, 0, sizeof res);
    res.kind = DNS_AUTH_ANSWER;
    res.qtype = qtype;
    dns_name_from_text(&res.qname, qname, strlen(qname), NULL);
    return res;
}

TEST(dns_rrl_limits_per_network_and_response_with_slip)
{
    dns_rrl_configure(5, 2);
    struct sockaddr_storage a = v4("192.0.2.1"), a2 = v4("192.0.2.77"), b = v4("198.51.100.1");
    struct dns_auth_result www = answer("www.rrl-test.", 1), mail = answer("mail.rrl-test.", 1);
    uint64_t t = 1000000;
    for (int i = 0; i < 5; i++)
        CHECK_INT(dns_rrl_check(&a, &www, t), DNS_RRL_SEND);
    /* Over the rate: every 2nd dropped response slips. */
    CHECK_INT(dns_rrl_check(&a, &www, t), DNS_RRL_DROP);
    CHECK_INT(dns_rrl_check(&a, &www, t), DNS_RRL_SLIP);
    CHECK_INT(dns_rrl_check(&a, &www, t), DNS_RRL_DROP);
    CHECK_INT(dns_rrl_check(&a, &www, t), DNS_RRL_SLIP);
    /* The same /24 shares the bucket ... */
    CHECK_INT(dns_rrl_check(&a2, &www, t), DNS_RRL_DROP);
    /* ... another network, or another name, has its own. */
    CHECK_INT(dns_rrl_check(&b, &www, t), DNS_RRL_SEND);
    CHECK_INT(dns_rrl_check(&a, &mail, t), DNS_RRL_SEND);
    /* A quarter of a second later one more response is allowed (5/s). */
    CHECK_INT(dns_rrl_check(&a, &www, t + 250), DNS_RRL_SEND);
    CHECK(dns_rrl_check(&a, &www, t + 250) != DNS_RRL_SEND);
    /* After a quiet second the full burst is back, not more. */
    for (int i = 0; i < 5; i++)
        CHECK_INT(dns_rrl_check(&a, &www, t + 5000), DNS_RRL_SEND);
    CHECK(dns_rrl_check(&a, &www, t + 5000) != DNS_RRL_SEND);
    /* slip 0: drop everything over the rate. */
    dns_rrl_configure(5, 0);
    for (int i = 0; i < 10; i++)
        CHECK(dns_rrl_check(&a, &www, t + 5000) == DNS_RRL_DROP);
    /* Rate 0 turns it off. */
    dns_rrl_configure(0, 2);
    for (int i = 0; i < 100; i++)
        CHECK_INT(dns_rrl_check(&a, &www, t + 5000), DNS_RRL_SEND);
}
