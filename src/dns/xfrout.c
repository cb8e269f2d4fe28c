/*
 * xfrout.c - AXFR and IXFR answers, message by message (see xfrout.h).
 */
#include "dns/xfrout.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"
#include "dns/consts.h"
#include "dns/wire.h"
#include "dns/writer.h"
#include "net/server.h"

/* ---- the policy ---------------------------------------------------------------- */

struct xfr_zone {
    struct dns_name apex;            /* lower-cased */
    struct dns_acl acl;
    struct dns_journal *journal;     /* may be NULL */
};

struct dns_xfr_policy {
    struct xfr_zone *zones;
    size_t nzones;
    struct dns_tsig_key *keys;
    size_t nkeys;
};

static _Atomic(struct dns_xfr_policy *) g_policy;

struct dns_xfr_policy *dns_xfr_policy_new(void)
{
    return calloc(1, sizeof(struct dns_xfr_policy));
}

int dns_xfr_policy_add_zone(struct dns_xfr_policy *p, const struct dns_name *apex,
                            struct dns_acl *acl, struct dns_journal *journal)
{
    struct xfr_zone *nz = realloc(p->zones, (p->nzones + 1) * sizeof *nz);
    if (!nz)
        return -ENOMEM;
    p->zones = nz;
    struct xfr_zone *z = &p->zones[p->nzones++];
    z->apex = *apex;
    dns_name_lower(&z->apex);
    z->acl = *acl;
    acl->n = 0;
    acl->v = NULL;
    z->journal = journal;
    if (journal)
        dns_journal_ref(journal);
    return 0;
}

int dns_xfr_policy_add_key(struct dns_xfr_policy *p, const struct dns_tsig_key *k)
{
    struct dns_tsig_key *nk = realloc(p->keys, (p->nkeys + 1) * sizeof *nk);
    if (!nk)
        return -ENOMEM;
    p->keys = nk;
    p->keys[p->nkeys++] = *k;
    return 0;
}

/* A key's name as text without the final dot ("xfr-key"). */
static void key_text(const struct dns_tsig_key *k, char *out, size_t cap)
{
    if (dns_name_to_text(&k->name, out, cap) < 0) {
        out[0] = '\0';
        return;
    }
    size_t n = strlen(out);
    if (n > 1 && out[n - 1] == '.')
        out[n - 1] = '\0';
}

const struct dns_tsig_key *dns_xfr_policy_key(const struct dns_xfr_policy *p, const char *name)
{
    for (size_t i = 0; p && i < p->nkeys; i++) {
        char t[DNS_NAME_MAXTEXT];
        key_text(&p->keys[i], t, sizeof t);
        if (dns_acl_key_equal(t, name))
            return &p->keys[i];
    }
    return NULL;
}

void dns_xfr_policy_free(struct dns_xfr_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nzones; i++) {
        dns_acl_free(&p->zones[i].acl);
        dns_journal_unref(p->zones[i].journal);
    }
    free(p->zones);
    /* The secrets leave no copy behind in freed memory. */
    if (p->keys)
        explicit_bzero(p->keys, p->nkeys * sizeof *p->keys);
    free(p->keys);
    free(p);
}

static void release_policy(void *arg)
{
    dns_xfr_policy_free(arg);
}

void dns_xfr_publish(struct dns_xfr_policy *p)
{
    struct dns_xfr_policy *old = atomic_exchange_explicit(&g_policy, p, memory_order_acq_rel);
    if (old)
        server_quiesce(release_policy, old);
}

void dns_xfr_cleanup(void)
{
    dns_xfr_policy_free(atomic_exchange(&g_policy, NULL));
}

static const struct xfr_zone *policy_zone(const struct dns_xfr_policy *p,
                                          const struct dns_name *apex)
{
    for (size_t i = 0; p && i < p->nzones; i++)
        if (dns_name_equal(&p->zones[i].apex, apex))
            return &p->zones[i];
    return NULL;
}

/* ---- a transfer --------------------------------------------------------------- */

enum xfr_mode { MODE_AXFR, MODE_IXFR, MODE_SOA_ONLY };
enum xfr_phase { PH_FIRST_SOA, PH_BODY, PH_LAST_SOA, PH_DONE };

/* One record to send, as stored (uncompressed RDATA). */
struct rec {
    struct dns_name owner;
    uint16_t type, rclass;
    uint32_t ttl;
    uint16_t rdlen;
    uint8_t rdata[2 * DNS_NAME_MAXWIRE + 20];    /* an SOA's at most */
};

struct dns_xfrout {
    struct dns_zone *zone;           /* referenced */
    enum xfr_mode mode;
    enum xfr_phase phase;
    uint16_t id;
    bool rd;
    struct dns_name qname;           /* as asked */
    uint16_t qtype;
    bool first;                      /* the first message is still to come */
    struct dns_zone_cursor cursor;   /* AXFR body */
    struct dns_diff **diffs;         /* IXFR body */
    size_t ndiffs, di, doff;
    struct rec soa;                  /* the zone's SOA, first and last */
    bool signed_req;
    struct dns_tsig_key key;         /* copy: the policy may go meanwhile */
    struct dns_tsig_ctx tsig;
    /* for the log */
    char peer[80], zone_text[DNS_NAME_MAXTEXT];
    uint64_t started;
    unsigned messages;
    uint64_t records;
    bool failed;
};

/* The first record of a zone walk: its SOA. */
static int soa_cb(void *arg, const struct dns_name *owner, uint16_t type, uint16_t rclass,
                  uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    struct rec *r = arg;
    if (rdlen > sizeof r->rdata)
        return -EINVAL;
    r->owner = *owner;
    r->type = type;
    r->rclass = rclass;
    r->ttl = ttl;
    r->rdlen = rdlen;
    memcpy(r->rdata, rdata, rdlen);
    return -EINTR;                   /* stop: only the first */
}

/* The response header for q: ID, opcode and RD echoed, QR and AA set. */
static struct dns_header reply_header(uint16_t id, bool rd, uint8_t rcode)
{
    struct dns_header h;
    memset(&h, 0, sizeof h);
    h.id = id;
    h.qr = true;
    h.aa = rcode == DNS_RCODE_NOERROR;
    h.rd = rd;
    h.opcode = DNS_OPCODE_QUERY;
    h.rcode = rcode;
    return h;
}

/* The TSIG error's name for the log (RFC 8945 section 5.2). */
static const char *tsig_error_text(uint16_t e)
{
    switch (e) {
    case DNS_RCODE_BADSIG: return "BADSIG";
    case DNS_RCODE_BADKEY: return "BADKEY";
    case 18: return "BADTIME";
    case 22: return "BADTRUNC";
    default: return "TSIG error";
    }
}

/* A one-message error answer: header and question, signed when the request
 * carried a TSIG (RFC 8945 section 5.3; for BADKEY and BADSIG the TSIG RR
 * goes unsigned, dns_tsig_sign knows). */
static size_t error_reply(const struct dns_msg *m, const struct dns_name *qname, uint16_t qtype,
                          uint16_t qclass, uint8_t rcode, struct dns_tsig_ctx *tsig,
                          uint8_t *out, size_t cap)
{
    struct dns_writer w;
    struct dns_header h = reply_header(m->hdr.id, m->hdr.rd, rcode);
    h.aa = false;
    bool sign = tsig && (tsig->key || tsig->error);
    size_t reserve = sign ? dns_tsig_ctx_size(tsig) : 0;
    if (dns_writer_init(&w, out, cap, &h) < 0 || dns_writer_reserve(&w, reserve) < 0 ||
        dns_writer_question(&w, qname, qtype, qclass) < 0)
        return 0;
    if (sign) {
        dns_writer_release(&w, reserve);
        if (dns_tsig_sign(&w, tsig, (uint64_t)time(NULL), true) < 0)
            return 0;
    }
    return dns_writer_len(&w);
}

/* The serial in an SOA's RDATA (MNAME, RNAME, then SERIAL, RFC 1035 section 3.3.13). */
static bool soa_serial(const uint8_t *rd, size_t len, uint32_t *serial)
{
    if (len < 22)
        return false;
    const uint8_t *p = rd + len - 20;
    *serial = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return true;
}

struct dns_xfrout *dns_xfrout_begin(const struct dns_zoneset *zs, const uint8_t *q, size_t qlen,
                                    const struct sockaddr_storage *peer, uint64_t now_ms,
                                    uint8_t *out, size_t cap, size_t *outlen)
{
    *outlen = 0;
    struct dns_rr rrs[64];
    struct dns_msg m;
    if (dns_msg_parse(&m, q, qlen, rrs, 64) < 0 || m.hdr.count[DNS_SECTION_QUESTION] != 1)
        return NULL;                 /* auth.c checked this already */
    struct dns_name qname;
    if (dns_rr_owner(&m, &m.rr[0], &qname) < 0)
        return NULL;
    uint16_t qtype = m.rr[0].type, qclass = m.rr[0].rclass;
    char peer_text[80], zone_text[DNS_NAME_MAXTEXT];
    server_format_addr(peer, peer_text, sizeof peer_text);
    if (dns_name_to_text(&qname, zone_text, sizeof zone_text) < 0)
        str_copy(zone_text, sizeof zone_text, "?");
    const char *tname = qtype == DNS_TYPE_AXFR ? "AXFR" : "IXFR";

    /* RFC 8945 section 5.2: the signature first; a request that fails it
     * gets NOTAUTH with the TSIG error and nothing else is looked at. */
    const struct dns_xfr_policy *pol = atomic_load_explicit(&g_policy, memory_order_acquire);
    struct dns_tsig_ctx tsig;
    memset(&tsig, 0, sizeof tsig);
    int tv = dns_tsig_verify_request(&m, pol ? pol->keys : NULL, pol ? pol->nkeys : 0,
                                     (uint64_t)time(NULL), &tsig);
    if (tv == -DNS_RCODE_FORMERR) {
        log_info("dns xfr %s %s %s: FORMERR: a malformed or misplaced TSIG record", peer_text,
                 zone_text, tname);
        *outlen = error_reply(&m, &qname, qtype, qclass, DNS_RCODE_FORMERR, NULL, out, cap);
        return NULL;
    }
    if (tv < 0) {
        char kt[DNS_NAME_MAXTEXT];
        if (dns_name_to_text(&tsig.key_name, kt, sizeof kt) < 0)
            str_copy(kt, sizeof kt, "?");
        log_info("dns xfr %s %s %s: refused (NOTAUTH, %s): the signature with key %s does not "
                 "verify", peer_text, zone_text, tname, tsig_error_text(tsig.error), kt);
        *outlen = error_reply(&m, &qname, qtype, qclass, DNS_RCODE_NOTAUTH, &tsig, out, cap);
        return NULL;
    }
    char keyname[DNS_NAME_MAXTEXT] = "";
    if (tv == 1)
        key_text(tsig.key, keyname, sizeof keyname);

    /* RFC 5936 section 2.2.1: a transfer of a zone we are not authoritative
     * for is answered NOTAUTH. */
    struct dns_zone *z = zs ? dns_zoneset_find(zs, &qname) : NULL;
    if (!z || !dns_name_equal(dns_zone_apex(z), &qname)) {
        log_info("dns xfr %s %s %s: refused (NOTAUTH): not a zone served here", peer_text,
                 zone_text, tname);
        *outlen = error_reply(&m, &qname, qtype, qclass, DNS_RCODE_NOTAUTH, &tsig, out, cap);
        return NULL;
    }

    struct dns_name lower = qname;
    dns_name_lower(&lower);
    const struct xfr_zone *xz = policy_zone(pol, &lower);
    enum dns_acl_verdict v = xz ? dns_acl_check(&xz->acl, peer, keyname) : DNS_ACL_REFUSE;
    if (v != DNS_ACL_ALLOW) {
        log_info("dns xfr %s %s %s: refused (%s): %s%s%s", peer_text, zone_text, tname,
                 v == DNS_ACL_NEEDKEY ? "NOTAUTH" : "REFUSED",
                 v == DNS_ACL_NEEDKEY ? "allow_transfer requires a key the request "
                                      : "not in allow_transfer",
                 v == DNS_ACL_NEEDKEY ? (keyname[0] ? "is not signed with; it used " :
                                                      "lacks (unsigned)") : "",
                 v == DNS_ACL_NEEDKEY ? keyname : "");
        /* RFC 5936 section 2.2.1 (REFUSED); a key missing or not the one
         * required: NOTAUTH, as for a signature that does not verify. */
        *outlen = error_reply(&m, &qname, qtype, qclass,
                              v == DNS_ACL_NEEDKEY ? DNS_RCODE_NOTAUTH : DNS_RCODE_REFUSED,
                              &tsig, out, cap);
        return NULL;
    }

    /* A secondary zone not yet transferred, or expired: no copy to give
     * (RFC 1035 section 3.3.13; queries get SERVFAIL too, auth.h). */
    if (!dns_zone_available(z)) {
        log_info("dns xfr %s %s %s: SERVFAIL: the zone has no data (secondary not yet "
                 "transferred, or expired)", peer_text, zone_text, tname);
        *outlen = error_reply(&m, &qname, qtype, qclass, DNS_RCODE_SERVFAIL, &tsig, out, cap);
        return NULL;
    }

    struct dns_xfrout *x = calloc(1, sizeof *x);
    if (!x) {
        *outlen = error_reply(&m, &qname, qtype, qclass, DNS_RCODE_SERVFAIL, &tsig, out, cap);
        return NULL;
    }
    if (tv == 1) {
        /* The policy may be replaced during the transfer: keep a copy. */
        x->key = *tsig.key;
        x->tsig = tsig;
        x->tsig.key = &x->key;
        x->signed_req = true;
    }
    dns_zone_ref(z);
    x->zone = z;
    x->id = m.hdr.id;
    x->rd = m.hdr.rd;
    x->qname = qname;
    x->qtype = qtype;
    x->first = true;
    x->started = now_ms;
    str_copy(x->peer, sizeof x->peer, peer_text);
    str_copy(x->zone_text, sizeof x->zone_text, zone_text);
    struct dns_zone_cursor c0;
    memset(&c0, 0, sizeof c0);
    dns_zone_walk_resume(z, &c0, soa_cb, &x->soa);
    uint32_t serial = dns_zone_serial(z);
    x->mode = MODE_AXFR;

    if (qtype == DNS_TYPE_IXFR) {
        /* RFC 1995 section 3: the client's version is the SOA in the
         * authority section. */
        size_t nauth;
        const struct dns_rr *auth = dns_msg_section(&m, DNS_SECTION_AUTHORITY, &nauth);
        uint8_t rd[DNS_MSG_MAX];
        int rl = -1;
        uint32_t cserial = 0;
        if (nauth == 1 && auth[0].type == DNS_TYPE_SOA)
            rl = dns_rr_rdata(&m, &auth[0], rd, sizeof rd, 0);
        if (rl < 0 || !soa_serial(rd, (size_t)rl, &cserial)) {
            log_info("dns xfr %s %s IXFR: FORMERR: no SOA in the authority section", peer_text,
                     zone_text);
            *outlen = error_reply(&m, &qname, qtype, qclass, DNS_RCODE_FORMERR, &x->tsig, out,
                                  cap);
            dns_xfrout_free(x);
            return NULL;
        }
        if (cserial == serial || dns_serial_gt(cserial, serial)) {
            x->mode = MODE_SOA_ONLY;     /* RFC 1995 section 2: up to date */
            log_info("dns xfr %s %s IXFR from serial %u: up to date (serial %u)", peer_text,
                     zone_text, cserial, serial);
        } else if (xz->journal &&
                   dns_journal_since(xz->journal, cserial, serial, &x->diffs, &x->ndiffs) == 0 &&
                   x->ndiffs > 0) {
            x->mode = MODE_IXFR;
            log_info("dns xfr %s %s IXFR from serial %u to %u: %zu versions", peer_text,
                     zone_text, cserial, serial, x->ndiffs);
        } else {
            /* RFC 1995 section 4: the whole zone when the history is gone. */
            log_info("dns xfr %s %s IXFR from serial %u: not in the journal, sending the whole "
                     "zone (serial %u, %zu records)", peer_text, zone_text, cserial, serial,
                     dns_zone_records(z));
        }
    } else {
        log_info("dns xfr %s %s AXFR: serial %u, %zu records%s%s", peer_text, zone_text, serial,
                 dns_zone_records(z), keyname[0] ? ", signed with key " : "", keyname);
    }
    return x;
}

/* Add one record to the message; -EMSGSIZE when it is full. A message
 * holds what fits below the target, or one record whatever its size. */
static int put(struct dns_xfrout *x, struct dns_writer *w, const struct dns_name *owner,
               uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
    bool empty = w->count[DNS_SECTION_ANSWER] == 0;
    if (!empty && dns_writer_len(w) + owner->len + 10 + rdlen > DNS_XFR_MSG_TARGET)
        return -EMSGSIZE;
    int r = dns_writer_rr(w, DNS_SECTION_ANSWER, owner, type, rclass, ttl, rdata, rdlen);
    if (r == 0)
        x->records++;
    else if (r != -EMSGSIZE || empty)
        x->failed = true;
    return r;
}

static int put_rec(struct dns_xfrout *x, struct dns_writer *w, const struct rec *r)
{
    return put(x, w, &r->owner, r->type, r->rclass, r->ttl, r->rdata, r->rdlen);
}

struct walk_arg {
    struct dns_xfrout *x;
    struct dns_writer *w;
};

static int walk_cb(void *arg, const struct dns_name *owner, uint16_t type, uint16_t rclass,
                   uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    struct walk_arg *a = arg;
    if (type == DNS_TYPE_SOA && !a->x->cursor.soa_done)
        return 0;                    /* the first SOA was sent already */
    return put(a->x, a->w, owner, type, rclass, ttl, rdata, rdlen);
}

/* The body of an IXFR: the records of the diffs one after another. */
static int ixfr_body(struct dns_xfrout *x, struct dns_writer *w)
{
    while (x->di < x->ndiffs) {
        const struct dns_diff *d = x->diffs[x->di];
        size_t off = x->doff;
        struct dns_jrec r;
        if (!dns_diff_next(d, &off, &r)) {
            x->di++;
            x->doff = 0;
            continue;
        }
        int e = put(x, w, &r.owner, r.type, r.rclass, r.ttl, r.rdata, r.rdlen);
        if (e < 0)
            return e;
        x->doff = off;
    }
    return 1;
}

size_t dns_xfrout_next(struct dns_xfrout *x, uint8_t *out, size_t cap)
{
    if (x->phase == PH_DONE || x->failed)
        return 0;
    struct dns_writer w;
    struct dns_header h = reply_header(x->id, x->rd, DNS_RCODE_NOERROR);
    size_t reserve = x->signed_req ? dns_tsig_ctx_size(&x->tsig) : 0;
    if (dns_writer_init(&w, out, cap < DNS_MSG_MAX ? cap : DNS_MSG_MAX, &h) < 0 ||
        dns_writer_reserve(&w, reserve) < 0)
        return 0;
    /* RFC 5936 section 2.2: the question in the first message only. */
    if (x->first && dns_writer_question(&w, &x->qname, x->qtype, DNS_CLASS_IN) < 0)
        return 0;
    int r = 0;
    while (r >= 0 && x->phase != PH_DONE) {
        switch (x->phase) {
        case PH_FIRST_SOA:
            if ((r = put_rec(x, &w, &x->soa)) == 0)
                x->phase = x->mode == MODE_SOA_ONLY ? PH_DONE : PH_BODY;
            break;
        case PH_BODY:
            if (x->mode == MODE_IXFR) {
                r = ixfr_body(x, &w);
            } else {
                struct walk_arg a = {x, &w};
                r = dns_zone_walk_resume(x->zone, &x->cursor, walk_cb, &a);
            }
            if (r > 0) {
                r = 0;
                x->phase = PH_LAST_SOA;
            }
            break;
        case PH_LAST_SOA:
            if ((r = put_rec(x, &w, &x->soa)) == 0)
                x->phase = PH_DONE;
            break;
        case PH_DONE:
            break;
        }
    }
    if (x->failed || w.count[DNS_SECTION_ANSWER] == 0) {
        x->failed = true;
        log_err("dns xfr %s %s: a record could not be written; transfer aborted", x->peer,
                x->zone_text);
        return 0;
    }
    /* RFC 8945 section 5.3.1: every message signed, each MAC covering the
     * previous one. */
    if (x->signed_req) {
        dns_writer_release(&w, reserve);
        if (dns_tsig_sign(&w, &x->tsig, (uint64_t)time(NULL), x->first) < 0) {
            x->failed = true;
            log_err("dns xfr %s %s: cannot sign a message; transfer aborted", x->peer,
                    x->zone_text);
            return 0;
        }
    }
    x->first = false;
    x->messages++;
    return dns_writer_len(&w);
}

void dns_xfrout_free(struct dns_xfrout *x)
{
    if (!x)
        return;
    if (x->phase == PH_DONE && !x->failed)
        log_info("dns xfr %s %s %s: done, serial %u: %u messages, %llu records, %llu ms", x->peer,
                 x->zone_text, x->qtype == DNS_TYPE_AXFR ? "AXFR" : "IXFR",
                 dns_zone_serial(x->zone), x->messages, (unsigned long long)x->records,
                 (unsigned long long)(clock_ms() - x->started));
    else if (!x->failed)
        log_info("dns xfr %s %s: the client left after %u messages", x->peer, x->zone_text,
                 x->messages);
    dns_diffs_release(x->diffs, x->ndiffs);
    dns_zone_unref(x->zone);
    explicit_bzero(&x->key, sizeof x->key);
    free(x);
}
