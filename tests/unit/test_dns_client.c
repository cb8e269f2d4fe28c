/* Unit tests for src/dns/client.c: the query it builds, which responses
 * it takes as the answer (RFC 5452 section 9.1), resolv.conf reading, and
 * whole exchanges with servers on loopback sockets: a forged ID before the
 * answer, silence, and TC over UDP answered over TCP. */
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/err.h"
#include "dns/client.h"
#include "dns/consts.h"
#include "dns/edns.h"
#include "dns/name.h"
#include "dns/wire.h"

static struct dns_name name_of(const char *text)
{
    struct dns_name n;
    if (dns_name_from_text(&n, text, strlen(text), NULL) < 0)
        abort();
    return n;
}

/* ---- the query ------------------------------------------------------------------- */

TEST(dns_client_build_query)
{
    uint8_t q[512];
    struct dns_name n = name_of("www.Example.test.");
    struct dns_query_opts o = {.rd = true, .edns = true, .udp_size = 4096, .do_bit = true};
    int len = dns_client_build_query(q, sizeof q, 0x1234, &n, DNS_TYPE_MX, DNS_CLASS_IN, &o);
    REQUIRE(len > 0);
    struct dns_rr rrs[4];
    struct dns_msg m;
    REQUIRE(dns_msg_parse(&m, q, (size_t)len, rrs, 4) == 0);
    CHECK_INT(m.hdr.id, 0x1234);
    CHECK(m.hdr.rd && !m.hdr.qr && !m.hdr.cd);
    CHECK_INT(m.hdr.count[DNS_SECTION_QUESTION], 1);
    CHECK_INT(rrs[0].type, DNS_TYPE_MX);
    struct dns_edns e;
    REQUIRE(dns_edns_get(&m, &e) == DNS_EDNS_OK);
    CHECK_INT(e.udp_size, 4096);
    CHECK(e.do_bit);
    CHECK_INT(e.version, 0);

    /* no EDNS, no RD: a bare RFC 1035 query */
    struct dns_query_opts bare = {0};
    len = dns_client_build_query(q, sizeof q, 7, &n, DNS_TYPE_A, DNS_CLASS_IN, &bare);
    CHECK_INT(len, 12 + n.len + 4);
    REQUIRE(dns_msg_parse(&m, q, (size_t)len, rrs, 4) == 0);
    CHECK(!m.hdr.rd);
    CHECK(dns_edns_get(&m, &e) == DNS_EDNS_NONE);
}

/* ---- answer matching -------------------------------------------------------------- */

/* A query for name/type, and a response to it made by flipping QR on. */
static size_t make_pair(uint8_t *q, uint8_t *r, const char *name, uint16_t type)
{
    struct dns_name n = name_of(name);
    struct dns_query_opts o = {.rd = true};
    int len = dns_client_build_query(q, 512, 0xBEEF, &n, type, DNS_CLASS_IN, &o);
    if (len < 0)
        abort();
    memcpy(r, q, (size_t)len);
    r[2] |= 0x80;                          /* QR */
    return (size_t)len;
}

TEST(dns_client_check_reply)
{
    uint8_t q[512], r[512];
    size_t len = make_pair(q, r, "mail.example.test.", DNS_TYPE_A);
    CHECK(dns_client_check_reply(q, len, r, len) == NULL);

    /* the question's name matches ignoring case (RFC 4343) */
    uint8_t r2[512];
    memcpy(r2, r, len);
    r2[13] = 'M';
    r2[14] = 'A';
    CHECK(dns_client_check_reply(q, len, r2, len) == NULL);

    memcpy(r2, r, len);
    r2[1] ^= 1;
    CHECK_STR(dns_client_check_reply(q, len, r2, len), "ID mismatch");
    memcpy(r2, r, len);
    r2[2] &= 0x7f;
    CHECK_STR(dns_client_check_reply(q, len, r2, len), "not a response (QR is clear)");
    memcpy(r2, r, len);
    r2[14] = 'x';                          /* "mxil" */
    CHECK_STR(dns_client_check_reply(q, len, r2, len), "question name mismatch");
    memcpy(r2, r, len);
    r2[len - 3] = DNS_TYPE_MX;
    CHECK_STR(dns_client_check_reply(q, len, r2, len), "question type mismatch");
    memcpy(r2, r, len);
    r2[len - 1] = DNS_CLASS_CH;
    CHECK_STR(dns_client_check_reply(q, len, r2, len), "question class mismatch");
    memcpy(r2, r, len);
    r2[2] |= 0x08;                         /* opcode 1 */
    CHECK_STR(dns_client_check_reply(q, len, r2, len), "opcode mismatch");
    CHECK(dns_client_check_reply(q, len, r, 11) != NULL);
    CHECK(dns_client_check_reply(q, len, r, len - 1) != NULL);   /* question cut off */

    /* no question: only FORMERR and NOTIMP may leave it out */
    memcpy(r2, r, 12);
    r2[5] = 0;
    CHECK_STR(dns_client_check_reply(q, len, r2, 12), "no question");
    r2[3] = (uint8_t)((r2[3] & 0xF0) | DNS_RCODE_FORMERR);
    CHECK(dns_client_check_reply(q, len, r2, 12) == NULL);
    r2[3] = (uint8_t)((r2[3] & 0xF0) | DNS_RCODE_NOTIMP);
    CHECK(dns_client_check_reply(q, len, r2, 12) == NULL);
    r2[3] = (uint8_t)((r2[3] & 0xF0) | DNS_RCODE_SERVFAIL);
    CHECK(dns_client_check_reply(q, len, r2, 12) != NULL);
    /* two questions */
    memcpy(r2, r, len);
    r2[5] = 2;
    CHECK_STR(dns_client_check_reply(q, len, r2, len), "more than one question");
}

/* ---- resolv.conf ------------------------------------------------------------------ */

static const char *addr_of(const struct dns_server *s)
{
    static char text[80];
    if (dns_server_addr_text(s, text, sizeof text) < 0)
        return "?";
    return text;
}

TEST(dns_resolv_conf_parse)
{
    static const char conf[] =
        "# a comment\n"
        "; another\n"
        "search example.test\n"
        "nameserver 192.0.2.53\n"
        "  nameserver\t2001:db8::53   # trailing comment\n"
        "nameserver not-an-address\n"
        "nameserver\n"
        "nameservers 192.0.2.99\n"
        "options ndots:2\n"
        "nameserver 127.0.0.53;comment\n"
        "nameserver 198.51.100.1\n";     /* a fourth: over max */
    struct dns_server s[DNS_RESOLV_MAXNS];
    int n = dns_resolv_conf_parse(conf, strlen(conf), s, DNS_RESOLV_MAXNS);
    REQUIRE(n == 3);
    CHECK_STR(addr_of(&s[0]), "192.0.2.53");
    CHECK_INT(dns_server_port(&s[0]), 53);
    CHECK_INT(s[0].addr.ss_family, AF_INET);
    CHECK_STR(addr_of(&s[1]), "2001:db8::53");
    CHECK_INT(s[1].addr.ss_family, AF_INET6);
    CHECK_INT(dns_server_port(&s[1]), 53);
    CHECK_STR(addr_of(&s[2]), "127.0.0.53");

    /* no final newline, CRLF lines */
    static const char crlf[] = "nameserver 10.0.0.1\r\nnameserver ::1";
    n = dns_resolv_conf_parse(crlf, strlen(crlf), s, DNS_RESOLV_MAXNS);
    REQUIRE(n == 2);
    CHECK_STR(addr_of(&s[0]), "10.0.0.1");
    CHECK_STR(addr_of(&s[1]), "::1");
    CHECK_INT(dns_resolv_conf_parse("", 0, s, DNS_RESOLV_MAXNS), 0);
}

TEST(dns_resolv_conf_read)
{
    char path[400];
    struct dns_server s[DNS_RESOLV_MAXNS];
    /* missing file: the local machine (resolv.conf(5)) */
    pathf(path, sizeof path, "%s/missing.conf", test_tmpdir());
    int n = dns_resolv_conf_read(path, s, DNS_RESOLV_MAXNS);
    REQUIRE(n == 2);
    CHECK_STR(addr_of(&s[0]), "127.0.0.1");
    CHECK_STR(addr_of(&s[1]), "::1");

    pathf(path, sizeof path, "%s/resolv.conf", test_tmpdir());
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs("domain example.test\nnameserver 192.0.2.1\n", f);
    fclose(f);
    n = dns_resolv_conf_read(path, s, DNS_RESOLV_MAXNS);
    REQUIRE(n == 1);
    CHECK_STR(addr_of(&s[0]), "192.0.2.1");

    /* a file without nameservers: the local machine again */
    f = fopen(path, "w");
    REQUIRE(f);
    fputs("options edns0\n", f);
    fclose(f);
    CHECK_INT(dns_resolv_conf_read(path, s, DNS_RESOLV_MAXNS), 2);
}

TEST(dns_server_from_text)
{
    struct dns_server s;
    CHECK_INT(dns_server_from_text(&s, "192.0.2.1", 10053), 0);
    CHECK_INT(dns_server_port(&s), 10053);
    CHECK_INT(dns_server_from_text(&s, "::ffff:192.0.2.1", 53), 0);
    CHECK_INT(s.addr.ss_family, AF_INET6);
    CHECK_INT(dns_server_from_text(&s, "ns1.example.test", 53), OP_E_SYNTAX);
    CHECK_INT(dns_server_from_text(&s, "192.0.2.256", 53), OP_E_SYNTAX);
    CHECK_INT(dns_server_from_text(&s, "", 53), OP_E_SYNTAX);
}

/* ---- a whole exchange over loopback UDP ----------------------------------------------- */

struct fake {
    int fd;
    int mode;          /* 0: a forged ID first, then the answer; 1: never answer */
};

static void *fake_server(void *arg)
{
    struct fake *f = arg;
    uint8_t buf[512];
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    ssize_t n = recvfrom(f->fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &plen);
    if (n < 12 || f->mode == 1)
        return NULL;
    buf[2] |= 0x80;
    buf[1] ^= 0x55;                        /* wrong ID first */
    sendto(f->fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen);
    buf[1] ^= 0x55;
    sendto(f->fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen);
    return NULL;
}

struct seen {
    int ignored, wrong_id, failed, truncated;
};

static void count_event(void *arg, const struct dns_client_event *ev)
{
    struct seen *s = arg;
    if (ev->kind == DNS_CLIENT_IGNORED)
        s->ignored++;
    if (ev->kind == DNS_CLIENT_IGNORED && ev->wrong_id && ev->got_id == (ev->want_id ^ 0x55))
        s->wrong_id++;
    if (ev->kind == DNS_CLIENT_TRY_FAILED)
        s->failed++;
    if (ev->kind == DNS_CLIENT_TRUNCATED)
        s->truncated++;
}

static int fake_socket(struct dns_server *srv)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        return -1;
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    memset(srv, 0, sizeof *srv);
    memcpy(&srv->addr, &a, sizeof a);
    srv->len = sizeof a;
    return fd;
}

TEST(dns_client_query_udp)
{
    struct dns_server srv;
    struct fake f = {.mode = 0};
    f.fd = fake_socket(&srv);
    REQUIRE(f.fd >= 0);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, fake_server, &f) == 0);
    struct seen seen = {0};
    struct dns_query_opts o = {.rd = true, .edns = true, .timeout_ms = 3000, .tries = 1,
                               .on_event = count_event, .arg = &seen};
    struct dns_name n = name_of("example.test.");
    uint8_t resp[DNS_MSG_MAX];
    struct dns_reply r;
    int rc = dns_client_query(&srv, &n, DNS_TYPE_SOA, DNS_CLASS_IN, &o, resp, sizeof resp, &r);
    pthread_join(t, NULL);
    close(f.fd);
    REQUIRE(rc == 0);
    CHECK_INT(seen.ignored, 1);
    CHECK_INT(seen.wrong_id, 1);
    CHECK_INT(seen.failed, 0);
    CHECK(!r.tcp);
    CHECK_INT(r.tries, 1);
    CHECK_INT(r.len, r.query_len);
    CHECK_INT((resp[0] << 8 | resp[1]), r.id);
}

TEST(dns_client_query_timeout)
{
    struct dns_server srv;
    struct fake f = {.mode = 1};
    f.fd = fake_socket(&srv);
    REQUIRE(f.fd >= 0);
    struct seen seen = {0};
    struct dns_query_opts o = {.timeout_ms = 200, .tries = 2, .on_event = count_event,
                               .arg = &seen};
    struct dns_name n = name_of("example.test.");
    uint8_t resp[512];
    struct dns_reply r;
    int rc = dns_client_query(&srv, &n, DNS_TYPE_A, DNS_CLASS_IN, &o, resp, sizeof resp, &r);
    close(f.fd);
    CHECK_INT(rc, -ETIMEDOUT);
    CHECK_INT(seen.failed, 2);
    CHECK_INT(r.tries, 2);
    CHECK_INT(dns_client_query(&srv, &n, DNS_TYPE_A, DNS_CLASS_IN, &o, resp, 100, &r), -EINVAL);
    o.edns = true;                         /* a 1232-octet datagram would not fit */
    CHECK_INT(dns_client_query(&srv, &n, DNS_TYPE_A, DNS_CLASS_IN, &o, resp, sizeof resp, &r),
              -EINVAL);
}

/* ---- truncation: UDP says TC, TCP answers ------------------------------------------- */

struct tc_fake {
    int udp, tcp;
};

static void *tc_server(void *arg)
{
    struct tc_fake *f = arg;
    uint8_t buf[600];
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    ssize_t n = recvfrom(f->udp, buf, 512, 0, (struct sockaddr *)&peer, &plen);
    if (n < 12)
        return NULL;
    buf[2] |= 0x82;                        /* QR and TC */
    sendto(f->udp, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen);

    int c = accept(f->tcp, NULL, NULL);
    if (c < 0)
        return NULL;
    uint8_t len[2];
    if (recv(c, len, 2, MSG_WAITALL) == 2) {
        size_t ql = (size_t)(len[0] << 8 | len[1]);
        if (ql <= 512 && recv(c, buf + 2, ql, MSG_WAITALL) == (ssize_t)ql) {
            buf[0] = len[0];
            buf[1] = len[1];
            buf[4] |= 0x80;                /* QR, no TC */
            send(c, buf, ql + 2, MSG_NOSIGNAL);
        }
    }
    close(c);
    return NULL;
}

TEST(dns_client_query_tc_then_tcp)
{
    struct dns_server srv;
    struct tc_fake f = {-1, -1};
    /* a UDP and a TCP socket on the same loopback port */
    for (int i = 0; i < 20 && f.tcp < 0; i++) {
        if (f.udp >= 0)
            close(f.udp);
        f.udp = fake_socket(&srv);
        REQUIRE(f.udp >= 0);
        int t = socket(AF_INET, SOCK_STREAM, 0);
        if (t >= 0 && bind(t, (struct sockaddr *)&srv.addr, srv.len) == 0 && listen(t, 1) == 0)
            f.tcp = t;
        else if (t >= 0)
            close(t);
    }
    REQUIRE(f.tcp >= 0);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, tc_server, &f) == 0);
    struct seen seen = {0};
    struct dns_query_opts o = {.rd = true, .timeout_ms = 3000, .tries = 1,
                               .on_event = count_event, .arg = &seen};
    struct dns_name n = name_of("big.example.test.");
    uint8_t resp[DNS_MSG_MAX];
    struct dns_reply r;
    int rc = dns_client_query(&srv, &n, DNS_TYPE_TXT, DNS_CLASS_IN, &o, resp, sizeof resp, &r);
    pthread_join(th, NULL);
    close(f.udp);
    close(f.tcp);
    REQUIRE(rc == 0);
    CHECK(r.tcp);
    CHECK_INT(r.tries, 2);                 /* one UDP send, one TCP connection */
    CHECK_INT(seen.failed, 0);
    CHECK_INT(seen.truncated, 1);
    CHECK_INT(resp[2] & 0x82, 0x80);       /* the TCP answer: QR without TC */
}
