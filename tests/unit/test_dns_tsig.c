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

/* dnspython verifies a request and the messages of its response; with a
 * fifth argument, it reads an error answer instead (dnspython refuses
 * those before looking at their MAC, so the MAC is checked here the way
 * dnspython checks any other) and prints its error, MAC size, Time Signed
 * and Other Data. */
static const char py_verify[] =
    "import sys, time\n"
    "import dns.message, dns.name, dns.tsig\n"
    "alg, secret, now, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]\n"
    "time.time = lambda: now\n"
    "key = dns.tsig.Key('xfr-key.', secret, alg + '.')\n"
    "keyring = {dns.name.from_text('xfr-key.'): key}\n"
    "wires = [bytes.fromhex(h) for h in open(path).read().split()]\n"
    "if len(sys.argv) > 5:\n"
    "    seen = {}\n"
    "    def check(wire, key, owner, rd, now, request_mac, start, ctx=None, multi=False):\n"
    "        ad = int.from_bytes(wire[10:12], 'big') - 1\n"
    "        body = wire[0:10] + ad.to_bytes(2, 'big') + wire[12:start]\n"
    "        if request_mac and rd.mac:\n"
    "            dns.tsig._digest(body, key, rd, None, request_mac).verify(rd.mac)\n"
    "        seen['rd'] = rd\n"
    "    dns.tsig.validate = check\n"
    "    q = dns.message.from_wire(wires[0], keyring=keyring)\n"
    "    dns.message.from_wire(wires[1], keyring=keyring, request_mac=q.mac)\n"
    "    rd = seen['rd']\n"
    "    print('%d %d %d %s' % (rd.error, len(rd.mac), rd.time_signed, rd.other.hex()))\n"
    "    sys.exit(0)\n"
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
        struct dns_tsig_ctx nothing = cli;     /* no response is no verified response */
        CHECK_INT(dns_tsig_verify_end(&nothing), OP_E_AUTH);

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

/* ---- refusals: server side ----------------------------------------------------------- */

/* Where the TSIG RR of a message we made starts, and its RDATA. */
static void tsig_at(const uint8_t *msg, size_t len, size_t *owner, size_t *rdata)
{
    struct parsed p;
    if (parse(&p, msg, len) != 0 || p.m.nrr == 0)
        abort();
    *owner = p.m.rr[p.m.nrr - 1].owner;
    *rdata = p.m.rr[p.m.nrr - 1].rdata;
}

/* Copy of a signed request whose MAC is cut to (or padded to) mac_len. */
static size_t with_mac_len(const uint8_t *req, size_t len, size_t mac_len, uint8_t *out)
{
    size_t owner, rd;
    tsig_at(req, len, &owner, &rd);
    size_t at = rd + (size_t)dns_name_from_wire(NULL, req + rd, len - rd) + 8;
    size_t old = (size_t)(req[at] << 8 | req[at + 1]);
    memcpy(out, req, at);
    out[at] = (uint8_t)(mac_len >> 8);
    out[at + 1] = (uint8_t)mac_len;
    memset(out + at + 2, 0xAA, mac_len);
    memcpy(out + at + 2, req + at + 2, mac_len < old ? mac_len : old);
    size_t rest = len - (at + 2 + old);
    memcpy(out + at + 2 + mac_len, req + at + 2 + old, rest);
    size_t n = at + 2 + mac_len + rest;
    size_t rdlen = n - rd;
    out[rd - 2] = (uint8_t)(rdlen >> 8);
    out[rd - 1] = (uint8_t)rdlen;
    return n;
}

static int verify_req(const uint8_t *msg, size_t len, const struct dns_tsig_key *keys, size_t n,
                      uint64_t now, struct dns_tsig_ctx *ctx)
{
    struct parsed p;
    if (parse(&p, msg, len) != 0)
        return -1000;
    return dns_tsig_verify_request(&p.m, keys, n, now, ctx);
}

/* Read back the TSIG RR of an answer: its error, MAC size, Time Signed
 * and Other Data. */
struct tsig_seen {
    uint16_t error, mac_len, other_len;
    uint64_t time, other;
};

static struct tsig_seen read_tsig(const uint8_t *msg, size_t len)
{
    struct tsig_seen s = {0};
    size_t owner, rd;
    tsig_at(msg, len, &owner, &rd);
    const uint8_t *p = msg + rd + dns_name_from_wire(NULL, msg + rd, len - rd);
    for (int i = 0; i < 6; i++)
        s.time = s.time << 8 | p[i];
    s.mac_len = (uint16_t)(p[8] << 8 | p[9]);
    p += 10 + s.mac_len + 2;
    s.error = (uint16_t)(p[0] << 8 | p[1]);
    s.other_len = (uint16_t)(p[2] << 8 | p[3]);
    for (int i = 0; i < s.other_len && i < 8; i++)
        s.other = s.other << 8 | p[4 + i];
    return s;
}

TEST(dns_tsig_request_refused)
{
    struct dns_tsig_key k, other, wrong;
    char err[128];
    key_of(&vecs[0], &k);
    REQUIRE(dns_tsig_key_init(&other, "other-key", "hmac-sha256", vecs[0].secret, err,
                              sizeof err) == 0);
    REQUIRE(dns_tsig_key_init(&wrong, "xfr-key", "hmac-sha256", "d3Jvbmc=", err,
                              sizeof err) == 0);
    struct dns_tsig_key sha1 = k;
    sha1.alg = DNS_TSIG_HMAC_SHA1;
    uint8_t req[512], bad[600], ans[512];
    struct dns_tsig_ctx cli, srv;
    size_t len = make_request(&k, &cli, req, sizeof req, NOW);

    /* Unsigned: nothing to do. */
    uint8_t plain[512];
    size_t owner, rd;
    tsig_at(req, len, &owner, &rd);
    memcpy(plain, req, owner);
    plain[11] = 0;
    CHECK_INT(verify_req(plain, owner, &k, 1, NOW, &srv), 0);
    CHECK(srv.key == NULL);

    /* Key: unknown name, or known name with another algorithm. */
    CHECK_INT(verify_req(req, len, &other, 1, NOW, &srv), -DNS_RCODE_NOTAUTH);
    CHECK_INT(srv.error, DNS_RCODE_BADKEY);
    CHECK(srv.key == NULL);
    CHECK_INT(verify_req(req, len, &sha1, 1, NOW, &srv), -DNS_RCODE_NOTAUTH);
    CHECK_INT(srv.error, DNS_RCODE_BADKEY);
    /* The answer is unsigned and names the request's key (section 5.3.2). */
    int n = make_response(&srv, 0, true, ans, sizeof ans, NOW);
    REQUIRE(n > 0);
    struct tsig_seen s = read_tsig(ans, (size_t)n);
    CHECK_INT(s.error, DNS_RCODE_BADKEY);
    CHECK_INT(s.mac_len, 0);
    struct parsed p;
    REQUIRE(parse(&p, ans, (size_t)n) == 0);
    struct dns_name kn;
    REQUIRE(dns_rr_owner(&p.m, &p.m.rr[p.m.nrr - 1], &kn) == 0);
    CHECK(dns_name_equal(&kn, &k.name));
    /* ... which the client refuses, telling why. */
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, true), OP_E_AUTH);
    CHECK_INT(cli.error, DNS_RCODE_BADKEY);

    /* MAC: wrong secret, or a message changed after signing. */
    CHECK_INT(verify_req(req, len, &wrong, 1, NOW, &srv), -DNS_RCODE_NOTAUTH);
    CHECK_INT(srv.error, DNS_RCODE_BADSIG);
    n = make_response(&srv, 0, true, ans, sizeof ans, NOW);
    REQUIRE(n > 0);
    s = read_tsig(ans, (size_t)n);
    CHECK_INT(s.error, DNS_RCODE_BADSIG);
    CHECK_INT(s.mac_len, 0);
    for (size_t i = 0; i < owner; i++) {
        /* The ID is not covered (Original ID is, in its place); the flags
         * and the question, in any case of its letters, are. */
        bool letter = (req[i] | 0x20) >= 'a' && (req[i] | 0x20) <= 'z';
        if (i >= 4 && !letter)
            continue;
        memcpy(bad, req, len);
        bad[i] ^= letter && i >= 12 ? 0x20 : 0x01;
        CHECK_INT(verify_req(bad, len, &k, 1, NOW, &srv), i < 2 ? 1 : -DNS_RCODE_NOTAUTH);
    }
    /* Nor the MAC's own octets, the other TSIG fields. */
    for (size_t i = rd; i < len; i++) {
        memcpy(bad, req, len);
        bad[i] ^= 0x01;
        int r = verify_req(bad, len, &k, 1, NOW, &srv);
        CHECK(r < 0);
    }
    /* Bad signatures are found before bad times (section 5.2). */
    CHECK_INT(verify_req(req, len, &wrong, 1, NOW + 1000, &srv), -DNS_RCODE_NOTAUTH);
    CHECK_INT(srv.error, DNS_RCODE_BADSIG);

    /* Time: within Fudge (300 s) either way, not beyond. */
    CHECK_INT(verify_req(req, len, &k, 1, NOW + 300, &srv), 1);
    CHECK_INT(verify_req(req, len, &k, 1, NOW - 300, &srv), 1);
    CHECK_INT(verify_req(req, len, &k, 1, NOW - 301, &srv), -DNS_RCODE_NOTAUTH);
    CHECK_INT(verify_req(req, len, &k, 1, NOW + 301, &srv), -DNS_RCODE_NOTAUTH);
    CHECK_INT(srv.error, DNS_RCODE_BADTIME);
    CHECK(srv.key == &k);
    /* The BADTIME answer is signed, carries the request's Time Signed and
     * our time in Other Data (section 5.2.3). */
    n = make_response(&srv, 0, true, ans, sizeof ans, NOW + 301);
    REQUIRE(n > 0);
    s = read_tsig(ans, (size_t)n);
    CHECK_INT(s.error, DNS_RCODE_BADTIME);
    CHECK_INT(s.mac_len, 32);
    CHECK_INT(s.time, NOW);
    CHECK_INT(s.other_len, 6);
    CHECK_INT(s.other, NOW + 301);
    REQUIRE(parse(&p, ans, (size_t)n) == 0);
    make_request(&k, &cli, req, sizeof req, NOW);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, true), OP_E_AUTH);
    CHECK_INT(cli.error, DNS_RCODE_BADTIME);

    /* Truncated MACs: refused with BADTRUNC once the prefix verified,
     * BADSIG under the floor of 10 octets or half the hash, FORMERR over
     * the hash's length (section 5.2.2.1). */
    size_t blen = with_mac_len(req, len, 16, bad);
    CHECK_INT(verify_req(bad, blen, &k, 1, NOW, &srv), -DNS_RCODE_NOTAUTH);
    CHECK_INT(srv.error, DNS_RCODE_BADTRUNC);
    n = make_response(&srv, 0, true, ans, sizeof ans, NOW);
    REQUIRE(n > 0);
    s = read_tsig(ans, (size_t)n);
    CHECK_INT(s.error, DNS_RCODE_BADTRUNC);
    CHECK_INT(s.mac_len, 32);
    blen = with_mac_len(req, len, 15, bad);
    CHECK_INT(verify_req(bad, blen, &k, 1, NOW, &srv), -DNS_RCODE_NOTAUTH);
    CHECK_INT(srv.error, DNS_RCODE_BADSIG);
    blen = with_mac_len(req, len, 0, bad);
    CHECK_INT(verify_req(bad, blen, &k, 1, NOW, &srv), -DNS_RCODE_NOTAUTH);
    CHECK_INT(srv.error, DNS_RCODE_BADSIG);
    blen = with_mac_len(req, len, 33, bad);
    CHECK_INT(verify_req(bad, blen, &k, 1, NOW, &srv), -DNS_RCODE_FORMERR);
    blen = with_mac_len(req, len, 32, bad);
    CHECK_INT(verify_req(bad, blen, &k, 1, NOW, &srv), 1);
    /* A wrong prefix is a bad signature, not a truncation. */
    uint8_t bad2[600];
    bad[blen - 7 - 31] ^= 1;                /* the MAC's first octet */
    blen = with_mac_len(bad, blen, 16, bad2);
    CHECK_INT(verify_req(bad2, blen, &k, 1, NOW, &srv), -DNS_RCODE_NOTAUTH);
    CHECK_INT(srv.error, DNS_RCODE_BADSIG);
}

/* The TSIG RR must be the one last RR of the message (section 5.2), with
 * CLASS ANY and TTL 0 (section 4.2), and its RDATA must add up. */
TEST(dns_tsig_request_misplaced)
{
    struct dns_tsig_key k;
    key_of(&vecs[0], &k);
    uint8_t req[512], bad[1024];
    struct dns_tsig_ctx cli, srv;
    size_t len = make_request(&k, &cli, req, sizeof req, NOW);
    size_t owner, rd;
    tsig_at(req, len, &owner, &rd);
    static const uint8_t a_rr[] = {0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};

    /* An RR after it. */
    memcpy(bad, req, len);
    memcpy(bad + len, a_rr, sizeof a_rr);
    bad[11]++;
    CHECK_INT(verify_req(bad, len + sizeof a_rr, &k, 1, NOW, &srv), -DNS_RCODE_FORMERR);
    /* Two of them. */
    memcpy(bad, req, len);
    memcpy(bad + len, req + owner, len - owner);
    bad[11]++;
    CHECK_INT(verify_req(bad, len + len - owner, &k, 1, NOW, &srv), -DNS_RCODE_FORMERR);
    /* In the answer section. */
    memcpy(bad, req, len);
    bad[7] = 1;
    bad[11] = 0;
    CHECK_INT(verify_req(bad, len, &k, 1, NOW, &srv), -DNS_RCODE_FORMERR);
    /* In the authority section. */
    memcpy(bad, req, len);
    bad[9] = 1;
    bad[11] = 0;
    CHECK_INT(verify_req(bad, len, &k, 1, NOW, &srv), -DNS_RCODE_FORMERR);
    /* Octets after it. */
    memcpy(bad, req, len);
    bad[len] = 0;
    CHECK_INT(verify_req(bad, len + 1, &k, 1, NOW, &srv), -DNS_RCODE_FORMERR);
    /* CLASS other than ANY, TTL other than 0. */
    size_t type_at = owner + (size_t)dns_name_from_wire(NULL, req + owner, len - owner);
    memcpy(bad, req, len);
    bad[type_at + 3] = DNS_CLASS_IN;
    CHECK_INT(verify_req(bad, len, &k, 1, NOW, &srv), -DNS_RCODE_FORMERR);
    memcpy(bad, req, len);
    bad[type_at + 7] = 1;
    CHECK_INT(verify_req(bad, len, &k, 1, NOW, &srv), -DNS_RCODE_FORMERR);
    /* Other Len beyond the RDATA, or short of it. */
    memcpy(bad, req, len);
    bad[len - 1] = 1;
    CHECK_INT(verify_req(bad, len, &k, 1, NOW, &srv), -DNS_RCODE_FORMERR);
    memcpy(bad, req, len);
    bad[len] = 0;
    bad[rd - 1]++;
    CHECK_INT(verify_req(bad, len + 1, &k, 1, NOW, &srv), -DNS_RCODE_FORMERR);
    /* RDATA cut inside the fixed fields, or inside the MAC. */
    for (size_t cut = 1; cut < len - rd; cut++) {
        memcpy(bad, req, len);
        size_t rdlen = len - rd - cut;
        bad[rd - 2] = (uint8_t)(rdlen >> 8);
        bad[rd - 1] = (uint8_t)rdlen;
        int r = verify_req(bad, len - cut, &k, 1, NOW, &srv);
        CHECK(r == -DNS_RCODE_FORMERR || r == -1000);
    }
    /* A compressed algorithm name (RFC 3597 section 4: never). */
    size_t n = 0;
    memcpy(bad, req, rd);
    n = rd;
    bad[n++] = 0xC0;
    bad[n++] = 12;                      /* "example.com.": any name will do */
    size_t alg_len = (size_t)dns_name_from_wire(NULL, req + rd, len - rd);
    memcpy(bad + n, req + rd + alg_len, len - rd - alg_len);
    n += len - rd - alg_len;
    bad[rd - 2] = (uint8_t)((n - rd) >> 8);
    bad[rd - 1] = (uint8_t)(n - rd);
    CHECK_INT(verify_req(bad, n, &k, 1, NOW, &srv), -DNS_RCODE_FORMERR);
    /* The untouched request still verifies, and a question of type TSIG
     * is no TSIG RR. */
    CHECK_INT(verify_req(req, len, &k, 1, NOW, &srv), 1);
    memcpy(bad, req, owner);
    bad[11] = 0;
    bad[owner - 3] = DNS_TYPE_TSIG;
    CHECK_INT(verify_req(bad, owner, &k, 1, NOW, &srv), 0);
}

/* ---- refusals: client side ------------------------------------------------------------ */

TEST(dns_tsig_response_refused)
{
    struct dns_tsig_key k, k2;
    char err[128];
    key_of(&vecs[0], &k);
    REQUIRE(dns_tsig_key_init(&k2, "xfr-key-2", "hmac-sha256", vecs[0].secret, err,
                              sizeof err) == 0);
    uint8_t req[512], msg[1024];
    struct dns_tsig_ctx cli, cli0, srv, srv0;
    struct parsed p;
    size_t len = make_request(&k, &cli0, req, sizeof req, NOW);
    REQUIRE(verify_req(req, len, &k, 1, NOW, &srv0) == 1);

    /* More than 99 unsigned messages in a row. */
    cli = cli0;
    srv = srv0;
    int n = make_response(&srv, 0, true, msg, sizeof msg, NOW);
    REQUIRE(n > 0 && parse(&p, msg, (size_t)n) == 0);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, true), 1);
    n = make_response(&srv, 1, false, msg, sizeof msg, NOW);
    REQUIRE(n > 0 && parse(&p, msg, (size_t)n) == 0);
    for (int i = 0; i < 99; i++)
        CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, false), 0);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, false), OP_E_AUTH);
    /* Nothing verifies after a refusal. */
    n = make_response(&srv, 2, true, msg, sizeof msg, NOW);
    REQUIRE(n > 0 && parse(&p, msg, (size_t)n) == 0);
    CHECK(dns_tsig_verify_response(&p.m, &cli, NOW, false) < 0);
    CHECK_INT(dns_tsig_verify_end(&cli), OP_E_AUTH);

    /* The first message unsigned. */
    cli = cli0;
    srv = srv0;
    n = make_response(&srv, 0, false, msg, sizeof msg, NOW);
    REQUIRE(n > 0 && parse(&p, msg, (size_t)n) == 0);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, true), OP_E_AUTH);

    /* The final message unsigned: the caller learns it at the end. */
    cli = cli0;
    srv = srv0;
    n = make_response(&srv, 0, true, msg, sizeof msg, NOW);
    REQUIRE(n > 0 && parse(&p, msg, (size_t)n) == 0);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, true), 1);
    n = make_response(&srv, 1, false, msg, sizeof msg, NOW);
    REQUIRE(n > 0 && parse(&p, msg, (size_t)n) == 0);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, false), 0);
    CHECK_INT(dns_tsig_verify_end(&cli), OP_E_AUTH);

    /* Signed for another request (its MAC differs). */
    uint8_t req2[512];
    struct dns_tsig_ctx cli2;
    size_t len2 = make_request(&k, &cli2, req2, sizeof req2, NOW + 1);
    cli = cli0;
    REQUIRE(verify_req(req2, len2, &k, 1, NOW, &srv) == 1);
    n = make_response(&srv, 0, true, msg, sizeof msg, NOW);
    REQUIRE(n > 0 && parse(&p, msg, (size_t)n) == 0);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, true), OP_E_AUTH);

    /* Continuation messages in the wrong order, or one signed as first. */
    cli = cli0;
    srv = srv0;
    uint8_t m0[1024], m1[1024];
    int n0 = make_response(&srv, 0, true, m0, sizeof m0, NOW);
    int n1 = make_response(&srv, 1, true, m1, sizeof m1, NOW);
    REQUIRE(n0 > 0 && n1 > 0 && parse(&p, m1, (size_t)n1) == 0);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, true), OP_E_AUTH);
    cli = cli0;
    REQUIRE(parse(&p, m0, (size_t)n0) == 0);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, false), OP_E_AUTH);

    /* Signed with another key of the same secret. */
    cli = cli0;
    srv = srv0;
    srv.key = &k2;
    n = make_response(&srv, 0, true, msg, sizeof msg, NOW);
    REQUIRE(n > 0 && parse(&p, msg, (size_t)n) == 0);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, true), OP_E_AUTH);

    /* Signed too long ago. */
    cli = cli0;
    srv = srv0;
    n = make_response(&srv, 0, true, msg, sizeof msg, NOW);
    REQUIRE(n > 0 && parse(&p, msg, (size_t)n) == 0);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW + 301, true), OP_E_AUTH);

    /* Changed on the way. */
    cli = cli0;
    msg[13] ^= 0x20;
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, true), OP_E_AUTH);

    /* A context that signed nothing verifies nothing. */
    struct dns_tsig_ctx none = {0};
    CHECK_INT(dns_tsig_verify_response(&p.m, &none, NOW, true), -EINVAL);
    none.key = &k;
    CHECK_INT(dns_tsig_verify_response(&p.m, &none, NOW, true), -EINVAL);

    /* A transfer abandoned with unsigned messages pending frees them. */
    cli = cli0;
    srv = srv0;
    n = make_response(&srv, 0, true, msg, sizeof msg, NOW);
    REQUIRE(n > 0 && parse(&p, msg, (size_t)n) == 0);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, true), 1);
    n = make_response(&srv, 1, false, msg, sizeof msg, NOW);
    REQUIRE(n > 0 && parse(&p, msg, (size_t)n) == 0);
    CHECK_INT(dns_tsig_verify_response(&p.m, &cli, NOW, false), 0);
    CHECK(cli.run != NULL);
    dns_tsig_ctx_clear(&cli);
    CHECK(cli.run == NULL);
}

/* Signing takes the room dns_tsig_size() promised, and no more is needed;
 * without room, the message stays as it was. */
TEST(dns_tsig_sign_room)
{
    for (size_t i = 0; i < NVECS; i++) {
        struct dns_tsig_key k;
        key_of(&vecs[i], &k);
        uint8_t buf[512];
        struct dns_writer w;
        struct dns_header h = {.id = 7};
        struct dns_name q = name_of("example.com.");
        size_t need = 12 + 17 + dns_tsig_size(&k) - 6;
        for (size_t limit = need - 2; limit <= need; limit++) {
            REQUIRE(dns_writer_init(&w, buf, limit, &h) == 0);
            REQUIRE(dns_writer_question(&w, &q, DNS_TYPE_SOA, DNS_CLASS_IN) == 0);
            struct dns_tsig_ctx cli = {.key = &k};
            int r = dns_tsig_sign(&w, &cli, NOW, true);
            CHECK_INT(r, limit == need ? 0 : -EMSGSIZE);
            CHECK_INT(dns_writer_len(&w), limit == need ? need : 29);
            CHECK_INT(buf[11], limit == need ? 1 : 0);
        }
        struct dns_tsig_ctx none = {0};
        REQUIRE(dns_writer_init(&w, buf, sizeof buf, &h) == 0);
        CHECK_INT(dns_tsig_sign(&w, &none, NOW, true), -EINVAL);
    }
}

/* A key named like a name already in the message: the TSIG RR's owner is
 * still written in full (section 4.2's RR is never compressed here), and
 * the message still verifies. */
TEST(dns_tsig_owner_uncompressed)
{
    struct dns_tsig_key k;
    char err[128];
    REQUIRE(dns_tsig_key_init(&k, "example.com", "hmac-sha256", vecs[0].secret, err,
                              sizeof err) == 0);
    uint8_t req[512];
    struct dns_tsig_ctx cli, srv;
    size_t len = make_request(&k, &cli, req, sizeof req, NOW);
    size_t owner, rd;
    tsig_at(req, len, &owner, &rd);
    CHECK_INT(owner, 12 + 17);
    CHECK_INT(memcmp(req + owner, k.name.wire, k.name.len), 0);
    CHECK_INT(rd, owner + k.name.len + 10);
    CHECK_INT(len - owner + 6, dns_tsig_size(&k));
    CHECK_INT(verify_req(req, len, &k, 1, NOW, &srv), 1);
}

/* Our BADTIME and BADTRUNC answers carry a MAC dnspython computes the
 * same way (section 5.2.3 and 5.3.2), and the BADSIG one none. */
TEST(dns_tsig_error_answers_dnspython)
{
    if (!have_dnspython()) {
        fprintf(stderr, "    (no dnspython: skipped)\n");
        return;
    }
    struct dns_tsig_key k, wrong;
    char err[128];
    key_of(&vecs[0], &k);
    REQUIRE(dns_tsig_key_init(&wrong, "xfr-key", "hmac-sha256", "d3Jvbmc=", err,
                              sizeof err) == 0);
    uint8_t req[512], trunc[512], ans[512];
    struct dns_tsig_ctx cli, srv;
    size_t len = make_request(&k, &cli, req, sizeof req, NOW);
    size_t tlen = with_mac_len(req, len, 16, trunc);
    struct {
        const uint8_t *req;
        size_t len;
        const struct dns_tsig_key *key;
        uint64_t now;
        const char *want;
    } cases[] = {
        {req, len, &k, NOW + 400, "18 32 1700000000 00006553f290\n"},
        {trunc, tlen, &k, NOW, "22 32 1700000000 \n"},
        {req, len, &wrong, NOW, "16 0 1700000000 \n"},
    };
    char script[512], data[512], cmd[2048];
    pathf(script, sizeof script, "%s/verify-errors.py", test_tmpdir());
    FILE *f = fopen(script, "w");
    REQUIRE(f && fputs(py_verify, f) >= 0 && fclose(f) == 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        REQUIRE(verify_req(cases[i].req, cases[i].len, cases[i].key, 1, cases[i].now, &srv) ==
                -DNS_RCODE_NOTAUTH);
        int n = make_response(&srv, 0, true, ans, sizeof ans,
                              i == 2 ? NOW : cases[i].now);
        REQUIRE(n > 0);
        pathf(data, sizeof data, "%s/errors-%zu", test_tmpdir(), i);
        f = fopen(data, "w");
        REQUIRE(f);
        put_hex(f, cases[i].req, cases[i].len);
        put_hex(f, ans, (size_t)n);
        REQUIRE(fclose(f) == 0);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s hmac-sha256 %s %llu %s errors", script,
                 vecs[0].secret, (unsigned long long)NOW, data);
        FILE *out = popen(cmd, "r");
        REQUIRE(out);
        char line[128] = "";
        if (!fgets(line, sizeof line, out))
            line[0] = 0;
        CHECK(pclose(out) == 0);
        CHECK_STR(line, cases[i].want);
    }
}

/* dnspython compresses the TSIG owner when the key name is already in the
 * message; that is read (the MAC covers the name in full). */
TEST(dns_tsig_compressed_owner_read)
{
    struct dns_tsig_key k;
    char err[128];
    REQUIRE(dns_tsig_key_init(&k, "example.com.", "hmac-sha256", vecs[0].secret, err,
                              sizeof err) == 0);
    const uint8_t *req = vec_compressed_owner_request;
    size_t len = sizeof vec_compressed_owner_request;
    size_t owner, rd;
    tsig_at(req, len, &owner, &rd);
    CHECK_INT(req[owner], 0xC0);
    struct dns_tsig_ctx srv;
    CHECK_INT(verify_req(req, len, &k, 1, NOW, &srv), 1);
    CHECK_INT(srv.orig_id, 0x0707);
}
