/*
 * tsig.c - transaction signatures (RFC 8945). See tsig.h for the contract.
 *
 * The MAC input (section 4.3.3), in order:
 *   - for a response or a later message of a transfer: the prior MAC, as
 *     its 16-bit length and octets (section 4.3.1);
 *   - the message before the TSIG RR was added: ID replaced by the
 *     Original ID, ARCOUNT one less;
 *   - the TSIG variables in canonical form (section 4.3.3): key name
 *     lower-cased and uncompressed, CLASS (ANY), TTL (0), algorithm name,
 *     Time Signed (48 bits), Fudge, Error, Other Len, Other Data; a later
 *     message of a transfer covers only Time Signed and Fudge (section
 *     4.3.1). Unsigned messages between two signed ones of a transfer are
 *     all covered by the next MAC (section 5.3.1).
 */
#include "dns/tsig.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/err.h"
#include "dns/consts.h"

/* The Fudge we sign with: 300 s, the value RFC 8945 recommends. */
#define TSIG_FUDGE 300

/* Section 5.3.1: at most 99 unsigned messages in a row in a transfer. */
#define TSIG_MAX_UNSIGNED 99

/* TSIG RDATA without the names, MAC and Other Data: Time Signed (6),
 * Fudge, MAC Size, Original ID, Error, Other Len (2 each). */
#define TSIG_FIXED 16

/* TYPE, CLASS, TTL, RDLENGTH of any RR. */
#define RR_FIXED 10

static const struct {
    const char *name;          /* as a domain name in text */
    const char *digest;        /* OpenSSL's digest name */
    size_t len;                /* MAC length */
} algs[] = {
    [DNS_TSIG_HMAC_SHA256] = {"hmac-sha256.", "SHA256", 32},
    [DNS_TSIG_HMAC_SHA384] = {"hmac-sha384.", "SHA384", 48},
    [DNS_TSIG_HMAC_SHA512] = {"hmac-sha512.", "SHA512", 64},
    [DNS_TSIG_HMAC_SHA1] = {"hmac-sha1.", "SHA1", 20},
};
#define NALGS (sizeof algs / sizeof algs[0])

const char *dns_tsig_alg_name(enum dns_tsig_alg alg)
{
    return (size_t)alg < NALGS ? algs[alg].name : NULL;
}

/* The algorithm name of alg in wire form ("hmac-sha256." fits easily). */
static void alg_wire(enum dns_tsig_alg alg, struct dns_name *out)
{
    const char *t = algs[alg].name;
    /* Cannot fail: the names above are valid. */
    (void)dns_name_from_text(out, t, strlen(t), NULL);
}

/* ---- keys ------------------------------------------------------------------ */

static void seterr(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* Base64 (RFC 4648 section 4) of a secret: the decoded length, or -1.
 * EVP_DecodeBlock wants a multiple of 4 characters and counts padding
 * as zero octets, which are taken off here. */
static int b64_secret(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s);
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '+' || c == '/' ||
                  (c == '=' && i >= n - 2 && (i == n - 1 || s[n - 1] == '='));
        if (!ok)
            return -1;
    }
    int r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (r < 0)
        return -1;
    size_t pad = (s[n - 1] == '=') + (s[n - 2] == '=');
    return r - (int)pad;
}

int dns_tsig_key_init(struct dns_tsig_key *k, const char *name, const char *alg,
                      const char *secret_b64, char *err, size_t errlen)
{
    memset(k, 0, sizeof *k);
    size_t nl = strlen(name);
    /* "xfr-key" and "xfr-key." are the same key: names are absolute. */
    if (nl == 0 || dns_name_from_text(&k->name, name, nl, NULL) < 0) {
        seterr(err, errlen, "the key name is not a domain name");
        return OP_E_SYNTAX;
    }
    dns_name_lower(&k->name);

    size_t al = strlen(alg);
    if (al > 0 && alg[al - 1] == '.')
        al--;
    size_t i;
    for (i = 0; i < NALGS; i++)
        if (strlen(algs[i].name) - 1 == al && strncasecmp(algs[i].name, alg, al) == 0)
            break;
    if (i == NALGS) {
        seterr(err, errlen,
               "unknown algorithm (hmac-sha256, hmac-sha384, hmac-sha512 or hmac-sha1)");
        return OP_E_SYNTAX;
    }
    k->alg = (enum dns_tsig_alg)i;

    uint8_t tmp[(DNS_TSIG_MAXSECRET + 2) / 3 * 3 + 3];
    int n = b64_secret(secret_b64, tmp, sizeof tmp);
    if (n <= 0 || (size_t)n > DNS_TSIG_MAXSECRET) {
        OPENSSL_cleanse(tmp, sizeof tmp);
        seterr(err, errlen, "the secret is not base64 of 1 to 128 octets");
        return OP_E_SYNTAX;
    }
    memcpy(k->secret, tmp, (size_t)n);
    k->secret_len = (size_t)n;
    OPENSSL_cleanse(tmp, sizeof tmp);
    return 0;
}

/* ---- sizes ----------------------------------------------------------------- */

size_t dns_tsig_size(const struct dns_tsig_key *k)
{
    if (!k)
        return 0;
    struct dns_name a;
    alg_wire(k->alg, &a);
    return k->name.len + RR_FIXED + a.len + TSIG_FIXED + algs[k->alg].len + 6;
}

size_t dns_tsig_ctx_size(const struct dns_tsig_ctx *ctx)
{
    if (ctx->key && ctx->error != DNS_RCODE_BADKEY && ctx->error != DNS_RCODE_BADSIG)
        return dns_tsig_size(ctx->key);
    return ctx->key_name.len + RR_FIXED + ctx->alg_name.len + TSIG_FIXED;
}

/* ---- MAC --------------------------------------------------------------------- */

/* OpenSSL's HMAC, fetched once for the process (a fetch takes a lock in
 * the method store; every request would otherwise pay for it). */
static EVP_MAC *hmac;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static EVP_MAC_CTX *mac_begin(const struct dns_tsig_key *k)
{
    pthread_once(&hmac_once, hmac_fetch);
    if (!hmac)
        return NULL;
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(hmac);
    if (!c)
        return NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                         (char *)algs[k->alg].digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_MAC_init(c, k->secret, k->secret_len, params)) {
        EVP_MAC_CTX_free(c);
        return NULL;
    }
    return c;
}

static void mac_add(EVP_MAC_CTX *c, const void *p, size_t n)
{
    if (n)
        EVP_MAC_update(c, p, n);
}

/* Finish and free c: the MAC length, or -1. */
static int mac_end(EVP_MAC_CTX *c, uint8_t out[DNS_TSIG_MAXMAC])
{
    size_t n = 0;
    int ok = EVP_MAC_final(c, out, &n, DNS_TSIG_MAXMAC);
    EVP_MAC_CTX_free(c);
    return ok ? (int)n : -1;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put48(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 6; i++)
        p[i] = (uint8_t)(v >> (40 - 8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void mac_prior(EVP_MAC_CTX *c, const uint8_t *mac, size_t len)
{
    uint8_t l[2];
    put16(l, (uint16_t)len);
    mac_add(c, l, 2);
    mac_add(c, mac, len);
}

/* The message before its TSIG RR: msg[0 .. len) with ID id and ARCOUNT
 * arcount. */
static void mac_message(EVP_MAC_CTX *c, const uint8_t *msg, size_t len, uint16_t id,
                        uint16_t arcount)
{
    uint8_t h[DNS_HEADER_SIZE];
    memcpy(h, msg, DNS_HEADER_SIZE);
    put16(h, id);
    put16(h + 10, arcount);
    mac_add(c, h, sizeof h);
    mac_add(c, msg + DNS_HEADER_SIZE, len - DNS_HEADER_SIZE);
}

/* The TSIG variables (section 4.3.3), or only the timers (section 4.3.1). */
static void mac_vars(EVP_MAC_CTX *c, bool full, const struct dns_name *key,
                     const struct dns_name *alg, uint64_t time, uint16_t fudge,
                     uint16_t error, const uint8_t *other, uint16_t other_len)
{
    uint8_t b[10];
    if (full) {
        struct dns_name kl = *key, al = *alg;
        dns_name_lower(&kl);
        dns_name_lower(&al);
        mac_add(c, kl.wire, kl.len);
        put16(b, DNS_CLASS_ANY);
        memset(b + 2, 0, 4);           /* TTL */
        mac_add(c, b, 6);
        mac_add(c, al.wire, al.len);
    }
    put48(b, time);
    put16(b + 6, fudge);
    mac_add(c, b, 8);
    if (full) {
        put16(b, error);
        put16(b + 2, other_len);
        mac_add(c, b, 4);
        mac_add(c, other, other_len);
    }
}

/* ---- reading a TSIG RR ---------------------------------------------------- */

struct tsig_rr {
    size_t start;                  /* offset of its owner name */
    struct dns_name key, alg;
    uint64_t time;
    uint16_t fudge, mac_len, orig_id, error, other_len;
    const uint8_t *mac, *other;
};

/* Find and decode the TSIG RR of m: 1 (found, in *t), 0 (none), or
 * -DNS_RCODE_FORMERR: a TSIG RR that is not the last RR of the additional
 * section, more than one, trailing octets after it, or a malformed one
 * (section 5.2; RFC 8945 section 4.2 for its fixed CLASS and TTL). */
static int find_tsig(const struct dns_msg *m, struct tsig_rr *t)
{
    size_t found = 0, at = 0;
    for (size_t i = m->first[DNS_SECTION_ANSWER]; i < m->nrr; i++)
        if (m->rr[i].type == DNS_TYPE_TSIG) {
            found++;
            at = i;
        }
    if (found == 0)
        return 0;
    const struct dns_rr *rr = &m->rr[at];
    if (found > 1 || at != m->nrr - 1 || rr->section != DNS_SECTION_ADDITIONAL ||
        m->trailing != 0 || rr->rclass != DNS_CLASS_ANY || rr->ttl != 0)
        return -DNS_RCODE_FORMERR;
    if (dns_rr_owner(m, rr, &t->key) < 0)
        return -DNS_RCODE_FORMERR;
    t->start = rr->owner;

    const uint8_t *p = m->pkt + rr->rdata, *end = p + rr->rdlength;
    /* The algorithm name is never compressed (RFC 3597 section 4). */
    int n = dns_name_from_wire(&t->alg, p, rr->rdlength);
    if (n < 0)
        return -DNS_RCODE_FORMERR;
    p += n;
    if (end - p < 10)
        return -DNS_RCODE_FORMERR;
    t->time = 0;
    for (int i = 0; i < 6; i++)
        t->time = t->time << 8 | p[i];
    t->fudge = get16(p + 6);
    t->mac_len = get16(p + 8);
    p += 10;
    if ((size_t)(end - p) < (size_t)t->mac_len + 6)
        return -DNS_RCODE_FORMERR;
    t->mac = p;
    p += t->mac_len;
    t->orig_id = get16(p);
    t->error = get16(p + 2);
    t->other_len = get16(p + 4);
    p += 6;
    if ((size_t)(end - p) != t->other_len)
        return -DNS_RCODE_FORMERR;
    t->other = p;
    return 1;
}

static bool time_ok(uint64_t signed_at, uint16_t fudge, uint64_t now)
{
    uint64_t d = now > signed_at ? now - signed_at : signed_at - now;
    return d <= fudge;
}

/* The MAC of the message m carrying t, with the prior MAC (if any), from
 * the running context c (taken over, freed). */
static int mac_of(EVP_MAC_CTX *c, const struct dns_msg *m, const struct tsig_rr *t, bool full,
                  uint8_t out[DNS_TSIG_MAXMAC])
{
    mac_message(c, m->pkt, t->start, t->orig_id,
                (uint16_t)(m->hdr.count[DNS_SECTION_ADDITIONAL] - 1));
    mac_vars(c, full, &t->key, &t->alg, t->time, t->fudge, t->error, t->other, t->other_len);
    return mac_end(c, out);
}

/* ---- server side ---------------------------------------------------------------- */

int dns_tsig_verify_request(const struct dns_msg *m, const struct dns_tsig_key *keys,
                            size_t nkeys, uint64_t now, struct dns_tsig_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    struct tsig_rr t;
    int r = find_tsig(m, &t);
    if (r <= 0)
        return r;
    ctx->key_name = t.key;
    dns_name_lower(&ctx->key_name);
    ctx->alg_name = t.alg;
    dns_name_lower(&ctx->alg_name);
    ctx->orig_id = t.orig_id;
    ctx->time_signed = t.time;

    /* Section 5.2.1: a key we know by this name and algorithm. */
    const struct dns_tsig_key *k = NULL;
    for (size_t i = 0; i < nkeys && !k; i++) {
        struct dns_name a;
        alg_wire(keys[i].alg, &a);
        if (dns_name_equal(&keys[i].name, &t.key) && dns_name_equal(&a, &t.alg))
            k = &keys[i];
    }
    if (!k) {
        ctx->error = DNS_RCODE_BADKEY;
        return -DNS_RCODE_NOTAUTH;
    }
    ctx->key = k;

    /* Section 5.2.2: the MAC. A MAC longer than the hash is malformed; one
     * shorter than max(10, half the hash) is treated as a bad signature
     * (section 5.2.2.1). */
    size_t full = algs[k->alg].len;
    if (t.mac_len > full)
        return -DNS_RCODE_FORMERR;
    uint8_t mac[DNS_TSIG_MAXMAC];
    EVP_MAC_CTX *c = t.mac_len >= 10 && t.mac_len >= full / 2 ? mac_begin(k) : NULL;
    if (!c || mac_of(c, m, &t, true, mac) != (int)full ||
        CRYPTO_memcmp(mac, t.mac, t.mac_len) != 0) {
        OPENSSL_cleanse(mac, sizeof mac);
        ctx->error = DNS_RCODE_BADSIG;
        return -DNS_RCODE_NOTAUTH;
    }
    OPENSSL_cleanse(mac, sizeof mac);
    memcpy(ctx->mac, t.mac, t.mac_len);
    ctx->mac_len = t.mac_len;

    /* Section 5.2.3: the time, only now that the MAC vouches for it. */
    if (!time_ok(t.time, t.fudge, now)) {
        ctx->error = DNS_RCODE_BADTIME;
        return -DNS_RCODE_NOTAUTH;
    }
    /* Section 5.2.4: our policy takes no truncated MAC. */
    if (t.mac_len < full) {
        ctx->error = DNS_RCODE_BADTRUNC;
        return -DNS_RCODE_NOTAUTH;
    }
    return 1;
}

/* ---- signing ------------------------------------------------------------------------ */

int dns_tsig_sign(struct dns_writer *w, struct dns_tsig_ctx *ctx, uint64_t now, bool first)
{
    bool unsigned_err = ctx->error == DNS_RCODE_BADKEY || ctx->error == DNS_RCODE_BADSIG;
    const struct dns_tsig_key *k = ctx->key;
    if (!k && !unsigned_err)
        return -EINVAL;
    if (w->len < DNS_HEADER_SIZE)
        return -EINVAL;

    struct dns_name key, alg;
    if (unsigned_err) {
        key = ctx->key_name;
        alg = ctx->alg_name;
    } else {
        key = k->name;
        alg_wire(k->alg, &alg);
    }
    /* A client's request: no prior MAC, and it is its own Original ID.
     * Until a signed response arrives, the conversation is one message
     * short of a verified end (dns_tsig_verify_end). */
    if (k && first && ctx->mac_len == 0 && !unsigned_err) {
        ctx->orig_id = get16(w->buf);
        ctx->error = 0;
        ctx->unsigned_run = 1;
        ctx->run = NULL;
    }

    uint64_t time = now;
    uint8_t other[6];
    uint16_t other_len = 0;
    if (ctx->error == DNS_RCODE_BADTIME) {
        /* Section 5.2.3: the request's Time Signed, our time in Other. */
        time = ctx->time_signed;
        put48(other, now);
        other_len = 6;
    }

    uint8_t mac[DNS_TSIG_MAXMAC];
    size_t mac_len = 0;
    if (!unsigned_err) {
        EVP_MAC_CTX *c = mac_begin(k);
        if (!c)
            return -ENOMEM;
        if (ctx->mac_len)
            mac_prior(c, ctx->mac, ctx->mac_len);
        mac_message(c, w->buf, w->len, ctx->orig_id, w->count[DNS_SECTION_ADDITIONAL]);
        mac_vars(c, first, &key, &alg, time, TSIG_FUDGE, ctx->error, other, other_len);
        int n = mac_end(c, mac);
        if (n < 0)
            return -ENOMEM;
        mac_len = (size_t)n;
    }

    /* The whole RR uncompressed, owner included: the writer would point
     * the key name at an earlier copy, so the RR goes in with the root as
     * owner and key.len - 1 more octets of RDATA, and is then laid out
     * again in the same octets with the key name in front. */
    size_t rdlen = alg.len + TSIG_FIXED + mac_len + other_len;
    struct dns_name root;
    dns_name_set_root(&root);
    uint8_t *p;
    int r = dns_writer_rr_raw(w, DNS_SECTION_ADDITIONAL, &root, DNS_TYPE_TSIG, DNS_CLASS_ANY, 0,
                              rdlen + key.len - 1, &p);
    if (r < 0) {
        OPENSSL_cleanse(mac, sizeof mac);
        return r;
    }
    uint8_t *rr = p - 1 - RR_FIXED;
    memmove(rr + key.len, rr + 1, RR_FIXED);
    memcpy(rr, key.wire, key.len);
    p = rr + key.len + RR_FIXED;
    put16(p - 2, (uint16_t)rdlen);
    memcpy(p, alg.wire, alg.len);
    p += alg.len;
    put48(p, time);
    put16(p + 6, TSIG_FUDGE);
    put16(p + 8, (uint16_t)mac_len);
    p += 10;
    memcpy(p, mac, mac_len);
    p += mac_len;
    put16(p, ctx->orig_id);
    put16(p + 2, ctx->error);
    put16(p + 4, other_len);
    memcpy(p + 6, other, other_len);

    memcpy(ctx->mac, mac, mac_len);
    ctx->mac_len = mac_len;
    OPENSSL_cleanse(mac, sizeof mac);
    return 0;
}

/* ---- client side ------------------------------------------------------------------- */

void dns_tsig_ctx_clear(struct dns_tsig_ctx *ctx)
{
    if (ctx->run)
        EVP_MAC_CTX_free(ctx->run);
    ctx->run = NULL;
    ctx->unsigned_run = 0;
}

/* An error on the client side: the transfer is over. */
static int client_fail(struct dns_tsig_ctx *ctx, int r)
{
    dns_tsig_ctx_clear(ctx);
    ctx->mac_len = 0;             /* nothing more verifies with this context */
    return r;
}

int dns_tsig_verify_response(const struct dns_msg *m, struct dns_tsig_ctx *ctx, uint64_t now,
                             bool first)
{
    const struct dns_tsig_key *k = ctx->key;
    if (!k || ctx->mac_len == 0)
        return client_fail(ctx, -EINVAL);
    if (first)
        dns_tsig_ctx_clear(ctx);
    struct tsig_rr t;
    int r = find_tsig(m, &t);
    if (r < 0)
        return client_fail(ctx, -EBADMSG);
    if (r == 0) {
        /* Section 5.3.1: the first message must be signed, then at most
         * 99 in a row may come without; the next MAC covers them. */
        if (first || ctx->unsigned_run >= TSIG_MAX_UNSIGNED || m->len < DNS_HEADER_SIZE)
            return client_fail(ctx, OP_E_AUTH);
        if (!ctx->run) {
            ctx->run = mac_begin(k);
            if (!ctx->run)
                return client_fail(ctx, -ENOMEM);
            mac_prior(ctx->run, ctx->mac, ctx->mac_len);
        }
        mac_add(ctx->run, m->pkt, m->len);
        ctx->unsigned_run++;
        return 0;
    }

    struct dns_name a;
    alg_wire(k->alg, &a);
    size_t full = algs[k->alg].len;
    ctx->error = t.error;
    if (!dns_name_equal(&t.key, &k->name) || !dns_name_equal(&t.alg, &a) ||
        t.orig_id != ctx->orig_id || t.error != 0 || t.mac_len != full)
        return client_fail(ctx, OP_E_AUTH);

    EVP_MAC_CTX *c = ctx->run;
    ctx->run = NULL;
    if (!c) {
        c = mac_begin(k);
        if (!c)
            return client_fail(ctx, -ENOMEM);
        mac_prior(c, ctx->mac, ctx->mac_len);
    }
    uint8_t mac[DNS_TSIG_MAXMAC];
    if (mac_of(c, m, &t, first, mac) != (int)full || CRYPTO_memcmp(mac, t.mac, full) != 0) {
        OPENSSL_cleanse(mac, sizeof mac);
        return client_fail(ctx, OP_E_AUTH);
    }
    OPENSSL_cleanse(mac, sizeof mac);
    if (!time_ok(t.time, t.fudge, now))
        return client_fail(ctx, OP_E_AUTH);
    memcpy(ctx->mac, t.mac, full);
    ctx->mac_len = full;
    ctx->unsigned_run = 0;
    return 1;
}

int dns_tsig_verify_end(struct dns_tsig_ctx *ctx)
{
    bool ok = ctx->key && ctx->mac_len > 0 && ctx->unsigned_run == 0 && !ctx->run;
    dns_tsig_ctx_clear(ctx);
    return ok ? 0 : OP_E_AUTH;
}
