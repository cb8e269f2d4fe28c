/* Unit tests for src/dns/tsig.c: transaction signatures (RFC 8945).
 * Messages signed by dnspython (tsig_vectors.h, made by tsig_vectors.py)
 * are verified here; messages we sign are verified here and, when
 * /usr/bin/python3 with dnspython is there, by dnspython too. Then every
 * way a signature can be refused. */
#include "test.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/err.h"
#include "dns/consts.h"
#include "dns/name.h"
#include "dns/tsig.h"
#include "dns/wire.h"
#include "dns/writer.h"

#include "tsig_vectors.h"

#define NOW TSIG_VEC_NOW
#define MAXRR 64

struct vec {
    const char *alg;
    const char *secret;
    size_t mac_len;
    const uint8_t *req, *resp, *xfr[4];
    size_t req_len, resp_len, xfr_len[4];
};

#define VEC(a, s, n)                                                               \
    {#a, s, n, vec_##a##_request, vec_##a##_response,                               \
     {vec_##a##_xfr0, vec_##a##_xfr1, vec_##a##_xfr2, vec_##a##_xfr3},             \
     sizeof vec_##a##_request, sizeof vec_##a##_response,                          \
     {sizeof vec_##a##_xfr0, sizeof vec_##a##_xfr1, sizeof vec_##a##_xfr2,         \
      sizeof vec_##a##_xfr3}}

/* The secrets tsig_vectors.py signed with. */
static const struct vec vecs[] = {
    VEC(hmac_sha256, "c2VjcmV0LWZvci1zaGEyNTYta2V5LTMyLW9jdGV0cyE=", 32),
    VEC(hmac_sha384, "c2VjcmV0LWZvci1zaGEzODQta2V5LTQ4LW9jdGV0cy1hYmNkZWZnaGlqa2w=", 48),
    VEC(hmac_sha512,
        "c2VjcmV0LWZvci1zaGE1MTIta2V5LTY0LW9jdGV0cy1hYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3g=", 64),
    VEC(hmac_sha1, "c2VjcmV0LWZvci1zaGExLWtleQ==", 20),
};
#define NVECS (sizeof vecs / sizeof vecs[0])

/* "hmac_sha256" -> "hmac-sha256" */
static const char *alg_text(const struct vec *v, char *buf)
{
    strcpy(buf, v->alg);
    for (char *p = buf; *p; p++)
        if (*p == '_')
            *p = '-';
    return buf;
}

static void key_of(const struct vec *v, struct dns_tsig_key *k)
{
    char alg[32], err[128];
    if (dns_tsig_key_init(k, "xfr-key", alg_text(v, alg), v->secret, err, sizeof err) != 0)
        abort();
}

struct parsed {
    struct dns_msg m;
    struct dns_rr rr[MAXRR];
};

static int parse(struct parsed *p, const uint8_t *wire, size_t len)
{
    return dns_msg_parse(&p->m, wire, len, p->rr, MAXRR);
}

static struct dns_name name_of(const char *text)
{
    struct dns_name n;
    if (dns_name_from_text(&n, text, strlen(text), NULL) < 0)
        abort();
    return n;
}

/* ---- keys ------------------------------------------------------------------ */

TEST(dns_tsig_key_init)
{
    struct dns_tsig_key k;
    char err[128];
    REQUIRE(dns_tsig_key_init(&k, "XFR-Key.", "HMAC-SHA384.", "YWJj", err, sizeof err) == 0);
    struct dns_name n = name_of("xfr-key.");
    CHECK(k.name.len == n.len && memcmp(k.name.wire, n.wire, n.len) == 0);
    CHECK(k.alg == DNS_TSIG_HMAC_SHA384);
    CHECK(k.secret_len == 3 && memcmp(k.secret, "abc", 3) == 0);
    /* Padding is not counted as octets of the secret. */
    REQUIRE(dns_tsig_key_init(&k, "a", "hmac-sha256", "YQ==", err, sizeof err) == 0);
    CHECK(k.secret_len == 1 && k.secret[0] == 'a');
    REQUIRE(dns_tsig_key_init(&k, "a", "hmac-sha1", "YWI=", err, sizeof err) == 0);
    CHECK(k.secret_len == 2 && memcmp(k.secret, "ab", 2) == 0);
    REQUIRE(dns_tsig_key_init(&k, "a", "hmac-sha512", "YWI=", err, sizeof err) == 0);
    CHECK_STR(dns_tsig_alg_name(k.alg), "hmac-sha512.");

    CHECK_INT(dns_tsig_key_init(&k, "a", "hmac-md5", "YWI=", err, sizeof err), OP_E_SYNTAX);
    CHECK(strstr(err, "algorithm") != NULL);
    CHECK_INT(dns_tsig_key_init(&k, "", "hmac-sha256", "YWI=", err, sizeof err), OP_E_SYNTAX);
    CHECK_INT(dns_tsig_key_init(&k, "a..b", "hmac-sha256", "YWI=", err, sizeof err), OP_E_SYNTAX);
    const char *bad[] = {"", "YWI", "Y===", "YW=I", "YWI*", "=YWI", "YWJj YWJj"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(dns_tsig_key_init(&k, "a", "hmac-sha256", bad[i], err, sizeof err),
                  OP_E_SYNTAX);
    /* 128 octets is the most a secret may have. */
    char b64[200];
    memset(b64, 'A', 172);
    b64[171] = '=';
    b64[172] = 0;                          /* 42 groups of 3 octets and one of 2 */
    CHECK_INT(dns_tsig_key_init(&k, "a", "hmac-sha256", b64, err, sizeof err), 0);
    CHECK_INT(k.secret_len, 128);
    memset(b64, 'A', 176);
    b64[176] = 0;                          /* 132 octets */
    CHECK_INT(dns_tsig_key_init(&k, "a", "hmac-sha256", b64, err, sizeof err), OP_E_SYNTAX);
}

/* ---- messages signed by dnspython ---------------------------------------------------- */

TEST(dns_tsig_dnspython_request_response)
{
    for (size_t i = 0; i < NVECS; i++) {
        const struct vec *v = &vecs[i];
        struct dns_tsig_key keys[2];
        char err[128];
        REQUIRE(dns_tsig_key_init(&keys[0], "other-key", "hmac-sha256", "YWJj", err,
                                  sizeof err) == 0);
        key_of(v, &keys[1]);
        struct parsed p;
        struct dns_tsig_ctx srv, cli;
        REQUIRE(parse(&p, v->req, v->req_len) == 0);
        CHECK_INT(dns_tsig_verify_request(&p.m, keys, 2, NOW, &srv), 1);
        CHECK(srv.key == &keys[1]);
        CHECK_INT(srv.mac_len, v->mac_len);
        CHECK_INT(srv.orig_id, 0x1234);
        CHECK_INT(srv.error, 0);

        /* The client side: the request's MAC, as the server saw it. */
        cli = srv;
        REQUIRE(parse(&p, v->resp, v->resp_len) == 0);
        CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW + 10, true), 1);
        CHECK_INT(dns_tsig_verify_end(&cli), 0);

        /* The transfer: signed, unsigned, unsigned, signed. */
        cli = srv;
        int want[4] = {1, 0, 0, 1};
        for (int j = 0; j < 4; j++) {
            REQUIRE(parse(&p, v->xfr[j], v->xfr_len[j]) == 0);
            CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, j == 0), want[j]);
        }
        CHECK_INT(dns_tsig_verify_end(&cli), 0);

        /* The same transfer with one unsigned message left out: the final
         * MAC covers every unsigned message. */
        cli = srv;
        int want2[3] = {1, 0, OP_E_AUTH};
        int order[3] = {0, 1, 3};
        for (int j = 0; j < 3; j++) {
            REQUIRE(parse(&p, v->xfr[order[j]], v->xfr_len[order[j]]) == 0);
            CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, j == 0), want2[j]);
        }
        CHECK_INT(dns_tsig_verify_end(&cli), OP_E_AUTH);

        /* Ending on an unsigned message is refused. */
        cli = srv;
        for (int j = 0; j < 3; j++) {
            REQUIRE(parse(&p, v->xfr[j], v->xfr_len[j]) == 0);
            CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, j == 0), want[j]);
        }
        CHECK_INT(dns_tsig_verify_end(&cli), OP_E_AUTH);
    }
}
