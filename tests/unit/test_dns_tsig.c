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

/* ---- messages we sign ------------------------------------------------------------ */

/* A signed AXFR request for example.com with ID 0x4242, from a client
 * context set up as tsig.h says. Returns its length. */
static size_t make_request(const struct dns_tsig_key *k, struct dns_tsig_ctx *cli, uint8_t *buf,
                           size_t cap, uint64_t now)
{
    struct dns_writer w;
    struct dns_header h = {.id = 0x4242};
    struct dns_name q = name_of("example.com.");
    if (dns_writer_init(&w, buf, cap, &h) != 0 || dns_writer_reserve(&w, dns_tsig_size(k)) != 0 ||
        dns_writer_question(&w, &q, DNS_TYPE_AXFR, DNS_CLASS_IN) != 0)
        abort();
    dns_writer_release(&w, dns_tsig_size(k));
    memset(cli, 0, sizeof *cli);
    cli->key = k;
    if (dns_tsig_sign(&w, cli, now, true) != 0)
        abort();
    return dns_writer_len(&w);
}

/* Message i of a response to make_request's request: three A records,
 * signed with srv unless sign is false. Returns its length, or a negative
 * error from dns_tsig_sign. */
static int make_response(struct dns_tsig_ctx *srv, int i, bool sign, uint8_t *buf, size_t cap,
                         uint64_t now)
{
    struct dns_writer w;
    struct dns_header h = {.id = 0x4242, .qr = 1, .aa = 1};
    struct dns_name q = name_of("example.com.");
    size_t res = dns_tsig_ctx_size(srv);
    if (dns_writer_init(&w, buf, cap, &h) != 0 || dns_writer_reserve(&w, res) != 0 ||
        dns_writer_question(&w, &q, DNS_TYPE_AXFR, DNS_CLASS_IN) != 0)
        abort();
    for (int j = 0; j < 3 && srv->error == 0; j++) {
        char owner[64];
        snprintf(owner, sizeof owner, "h%d.example.com.", 3 * i + j);
        struct dns_name o = name_of(owner);
        uint8_t a[4] = {192, 0, 2, (uint8_t)(3 * i + j + 1)};
        if (dns_writer_rr(&w, DNS_SECTION_ANSWER, &o, DNS_TYPE_A, DNS_CLASS_IN, 3600, a, 4) != 0)
            abort();
    }
    dns_writer_release(&w, res);
    if (sign) {
        int r = dns_tsig_sign(&w, srv, now, i == 0);
        if (r < 0)
            return r;
    }
    return (int)dns_writer_len(&w);
}

/* dnspython verifies a request and the messages of its response. */
static const char py_verify[] =
    "import sys, time\n"
    "import dns.message, dns.name, dns.tsig\n"
    "alg, secret, now, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]\n"
    "time.time = lambda: now\n"
    "key = dns.tsig.Key('xfr-key.', secret, alg + '.')\n"
    "keyring = {dns.name.from_text('xfr-key.'): key}\n"
    "wires = [bytes.fromhex(h) for h in open(path).read().split()]\n"
    "q = dns.message.from_wire(wires[0], keyring=keyring)\n"
    "assert q.had_tsig\n"
    "ctx = None\n"
    "for w in wires[1:]:\n"
    "    m = dns.message.from_wire(w, keyring=keyring, request_mac=q.mac, xfr=True,\n"
    "                              tsig_ctx=ctx, multi=True, one_rr_per_rrset=True)\n"
    "    assert m.had_tsig\n"
    "    ctx = m.tsig_ctx\n"
    "print('ok')\n";

static bool have_dnspython(void)
{
    return system("/usr/bin/python3 -c 'import dns.tsig' >/dev/null 2>&1") == 0;
}

static void put_hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
    fputc('\n', f);
}

TEST(dns_tsig_sign_roundtrip)
{
    bool py = have_dnspython();
    if (!py)
        fprintf(stderr, "    (no dnspython: our signatures are checked by ourselves only)\n");
    for (size_t i = 0; i < NVECS; i++) {
        const struct vec *v = &vecs[i];
        struct dns_tsig_key k;
        key_of(v, &k);
        uint8_t req[512], resp[4][1024];
        size_t resp_len[4];
        struct dns_tsig_ctx cli, srv;
        size_t req_len = make_request(&k, &cli, req, sizeof req, NOW);
        CHECK_INT(cli.mac_len, v->mac_len);
        CHECK_INT(cli.orig_id, 0x4242);

        /* The TSIG RR is last, uncompressed, and takes what we said. */
        struct parsed p;
        REQUIRE(parse(&p, req, req_len) == 0);
        const struct dns_rr *t = &p.m.rr[p.m.nrr - 1];
        CHECK_INT(t->type, DNS_TYPE_TSIG);
        CHECK_INT(req_len - DNS_HEADER_SIZE - 17 + 6, dns_tsig_size(&k));

        CHECK_INT(dns_tsig_verify_request(&p.m, &k, 1, NOW + 5, &srv), 1);
        CHECK_INT(memcmp(srv.mac, cli.mac, cli.mac_len), 0);
        for (int j = 0; j < 4; j++) {
            int n = make_response(&srv, j, true, resp[j], sizeof resp[j], NOW + 5 + j);
            REQUIRE(n > 0);
            resp_len[j] = (size_t)n;
            REQUIRE(parse(&p, resp[j], resp_len[j]) == 0);
            CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW + 10, j == 0), 1);
        }
        CHECK_INT(dns_tsig_verify_end(&cli), 0);

        if (!py)
            continue;
        char script[512], data[512], cmd[2048], alg[32];
        pathf(script, sizeof script, "%s/verify.py", test_tmpdir());
        pathf(data, sizeof data, "%s/msgs-%zu", test_tmpdir(), i);
        FILE *f = fopen(script, "w");
        REQUIRE(f && fputs(py_verify, f) >= 0 && fclose(f) == 0);
        f = fopen(data, "w");
        REQUIRE(f);
        put_hex(f, req, req_len);
        for (int j = 0; j < 4; j++)
            put_hex(f, resp[j], resp_len[j]);
        REQUIRE(fclose(f) == 0);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s %llu %s", script, alg_text(v, alg),
                 v->secret, (unsigned long long)NOW + 10, data);
        FILE *out = popen(cmd, "r");
        REQUIRE(out);
        char line[64] = "";
        if (!fgets(line, sizeof line, out))
            line[0] = 0;
        CHECK(pclose(out) == 0);
        CHECK_STR(line, "ok\n");
    }
}
