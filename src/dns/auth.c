/*
 * auth.c - authoritative answers, from one query message to one response.
 * See auth.h for the contract.
 *
 * Two halves: dns_auth_respond() checks the query in a fixed order and
 * answers the errors; answer() walks the zones (RFC 1034 section 4.3.2,
 * with CNAME chains, DNAME, wildcards, referrals) writing RRsets as it
 * goes. Everything lives on the stack or in the caller's buffer.
 *
 * Choices the RFCs leave open, and what this code does:
 *   - ANY (RFC 8482 section 4.1): one RRset of the name, the one with the
 *     lowest type number other than RRSIG and NSEC, over UDP and TCP
 *     alike. (NSD returns every RRset unless configured with refuse-any,
 *     and then TC over UDP; one RRset is smaller and needs no retry.)
 *   - AXFR over UDP: NOTIMP (RFC 5936 section 4.2 defines AXFR over TCP
 *     only). IXFR over UDP for a zone's apex: the SOA alone, which tells
 *     the client to come back over TCP (RFC 1995 section 2). Over TCP both
 *     are handed to the transport (DNS_AUTH_XFR).
 *   - Other meta query types (MAILA, MAILB, TKEY, TSIG, OPT...): NOTIMP.
 *   - Truncation: RRsets go in whole or not at all (RFC 2181 section 9).
 *     When an answer or authority RRset does not fit, TC is set and the
 *     message keeps the RRsets that fitted before it, nothing after (and
 *     no additional data, only the OPT RR). Additional RRsets that do not
 *     fit are left out without TC, except the glue of name servers inside
 *     the zone a referral delegates to (RFC 9471 section 3.1: TC).
 *   - Owner names are written with the case of the name that led to them:
 *     the query's for the question name and its ancestors, the RDATA's for
 *     CNAME and DNAME targets and additional data, so the writer's
 *     octet-for-octet compression finds them.
 */
#include "dns/auth.h"

#include <errno.h>
#include <string.h>

#include "dns/consts.h"
#include "dns/edns.h"
#include "dns/lname.h"
#include "dns/wire.h"
#include "dns/writer.h"
#include "dns/zonedata.h"

/* A query holds one question, an OPT RR and perhaps a TSIG RR (and an SOA
 * in the authority section for IXFR, RFC 1995 section 3); more entries
 * than this make it a message we do not answer (FORMERR). */
#define MAX_QUERY_RR 16
/* CNAME and DNAME steps followed for one query: enough for any sane
 * chain, and a loop ends at the first repeated name anyway. */
#define MAX_CHAIN 12
/* RRsets whose targets wait for the additional section, and targets. */
#define MAX_PENDING 32
#define MAX_ADDED 64

struct pending {
    const struct dns_zone *z;
    const struct dns_zrrset *rs;
    uint32_t cut;                    /* the delegation point of a referral, or DNS_ZNONE */
};

struct ctx {
    const struct dns_zoneset *zs;
    struct dns_writer w;
    struct dns_header h;             /* the response's header */
    uint16_t qtype;
    bool stop;                       /* TC set: nothing more but the OPT RR */
    struct pending pend[MAX_PENDING];
    int npend;
};

/* ---- writing whole RRsets ----------------------------------------------------- */

/* Where the writer was, to take back a partly written RRset. The writer's
 * fields are public (writer.h); only these are changed by adding RRs. */
struct mark {
    size_t len, ntargets;
    uint16_t count[DNS_SECTIONS];
    int section;
};

static void mark_take(const struct dns_writer *w, struct mark *m)
{
    m->len = w->len;
    m->ntargets = w->ntargets;
    m->section = w->section;
    memcpy(m->count, w->count, sizeof m->count);
}

static void mark_restore(struct dns_writer *w, const struct mark *m, const struct dns_header *h)
{
    w->len = m->len;
    w->ntargets = m->ntargets;
    w->section = m->section;
    memcpy(w->count, m->count, sizeof m->count);
    dns_writer_set_header(w, h);
}

/* Write an RRset into section s with the given owner (and TTL). Returns 0,
 * or -EMSGSIZE with the message as it was before. */
static int put_rrset(struct ctx *c, enum dns_section s, const struct dns_name *owner,
                     const struct dns_zone *z, const struct dns_zrrset *rs, uint32_t ttl)
{
    struct mark m;
    mark_take(&c->w, &m);
    uint32_t pos = rs->rdata;
    for (unsigned i = 0; i < rs->count; i++) {
        uint16_t len;
        const uint8_t *rd = dns_zone_rdata(z, &pos, &len);
        if (dns_writer_rr(&c->w, s, owner, rs->type, z->rclass, ttl, rd, len) < 0) {
            mark_restore(&c->w, &m, &c->h);
            return -EMSGSIZE;
        }
    }
    return 0;
}

/* An answer or authority RRset: if it does not fit, the response is
 * truncated (RFC 2181 section 9) and nothing else goes in. cut: for the NS
 * set of a referral, its delegation point (its glue is required). */
static void put_needed_at(struct ctx *c, enum dns_section s, const struct dns_name *owner,
                          const struct dns_zone *z, const struct dns_zrrset *rs, uint32_t ttl,
                          uint32_t cut)
{
    if (c->stop)
        return;
    if (put_rrset(c, s, owner, z, rs, ttl) < 0) {
        c->h.tc = true;
        c->stop = true;
        return;
    }
    /* RFC 1034 section 3.6.2 / RFC 2782 / RFC 1035 section 3.3.9: the
     * addresses of name servers, mail exchangers and service targets go
     * in the additional section. */
    if (rs->targets != DNS_ZNONE && c->npend < MAX_PENDING) {
        c->pend[c->npend].z = z;
        c->pend[c->npend].rs = rs;
        c->pend[c->npend].cut = cut;
        c->npend++;
    }
}

static void put_needed(struct ctx *c, enum dns_section s, const struct dns_name *owner,
                       const struct dns_zone *z, const struct dns_zrrset *rs, uint32_t ttl)
{
    put_needed_at(c, s, owner, z, rs, ttl, DNS_ZNONE);
}

/* The A and AAAA RRsets of the pending RRsets' targets, each once, as far
 * as they fit; no TC for what does not (RFC 2181 section 9), except the
 * glue of name servers inside a delegated zone: a referral is useless
 * without it, so it sets TC (RFC 9471 section 3.1). */
static void put_additional(struct ctx *c)
{
    struct { const struct dns_zone *z; uint32_t node; } added[MAX_ADDED];
    int nadded = 0;
    for (int p = 0; p < c->npend && !c->stop; p++) {
        const struct dns_zone *z = c->pend[p].z;
        const struct dns_zrrset *rs = c->pend[p].rs;
        int off = rs->type == DNS_TYPE_MX ? 2 : rs->type == DNS_TYPE_SRV ? 6 : 0;
        uint32_t pos = rs->rdata;
        for (unsigned i = 0; i < rs->count; i++) {
            uint16_t len;
            const uint8_t *rd = dns_zone_rdata(z, &pos, &len);
            uint32_t t = z->targets[rs->targets + i];
            if (t == DNS_ZNONE)
                continue;
            bool seen = false;
            for (int k = 0; k < nadded && !seen; k++)
                seen = added[k].z == z && added[k].node == t;
            if (seen || nadded == MAX_ADDED)
                continue;
            added[nadded].z = z;
            added[nadded++].node = t;
            struct dns_name owner;
            if (dns_name_from_wire(&owner, rd + off, (size_t)(len - off)) < 0)
                continue;
            bool required = c->pend[p].cut != DNS_ZNONE && z->nodes[t].cut == c->pend[p].cut;
            const struct dns_zrrset *a = dns_zone_rrset(z, t, DNS_TYPE_A);
            const struct dns_zrrset *aaaa = dns_zone_rrset(z, t, DNS_TYPE_AAAA);
            if ((a && put_rrset(c, DNS_SECTION_ADDITIONAL, &owner, z, a, a->ttl) < 0) ||
                (aaaa && put_rrset(c, DNS_SECTION_ADDITIONAL, &owner, z, aaaa, aaaa->ttl) < 0)) {
                if (required)
                    c->h.tc = true;
            }
        }
    }
}

/* ---- the lookup ------------------------------------------------------------------ */

/* Suffix i of a name, with the case it had. */
static void suffix(const struct dns_name *n, const struct dns_lname *ln, int i,
                   struct dns_name *out)
{
    out->len = (uint8_t)dns_lname_len(ln, i);
    memcpy(out->wire, n->wire + ln->off[i], out->len);
}

/* RFC 2308 section 3: the SOA in the authority section of a negative
 * answer, with TTL min(SOA TTL, SOA MINIMUM). */
static void put_soa(struct ctx *c, const struct dns_zone *z, const struct dns_name *cur,
                    const struct dns_lname *ln, int apex_i)
{
    struct dns_name owner;
    suffix(cur, ln, apex_i, &owner);
    uint32_t pos = z->soa->rdata;
    uint16_t len;
    const uint8_t *rd = dns_zone_rdata(z, &pos, &len);
    const uint8_t *mp = rd + len - 4;
    uint32_t minimum = (uint32_t)mp[0] << 24 | (uint32_t)mp[1] << 16 | (uint32_t)mp[2] << 8 | mp[3];
    uint32_t ttl = z->soa->ttl < minimum ? z->soa->ttl : minimum;
    put_needed(c, DNS_SECTION_AUTHORITY, &owner, z, z->soa, ttl);
}

/* RFC 8482 section 4.1: one RRset for ANY, not the lot. */
static const struct dns_zrrset *any_rrset(const struct dns_zone *z, uint32_t n)
{
    const struct dns_znode *node = &z->nodes[n];
    const struct dns_zrrset *r = z->rrsets + node->rrset;
    for (unsigned i = 0; i < node->nrrsets; i++)
        if (r[i].type != DNS_TYPE_RRSIG && r[i].type != DNS_TYPE_NSEC)
            return &r[i];
    return node->nrrsets ? r : NULL;
}

/* What one step of the lookup ended with. */
enum step {
    STEP_DONE,           /* answered (data, NODATA, NXDOMAIN or referral): stop */
    STEP_FOLLOW,         /* a CNAME or DNAME: go on with *next */
};

struct outcome {
    enum dns_auth_kind kind;
    uint16_t rcode;
    bool referral;
};

/* Replace the suffix at label index dn_i of cur (the DNAME's owner) with
 * the DNAME's target (RFC 6672 section 2.2). False if the result is over
 * 255 octets (YXDOMAIN). */
static bool dname_subst(const struct dns_name *cur, const struct dns_lname *ln, int dn_i,
                        const uint8_t *target, uint16_t tlen, struct dns_name *next)
{
    size_t prefix = ln->off[dn_i];
    struct dns_name t;
    if (dns_name_from_wire(&t, target, tlen) < 0 || prefix + t.len > DNS_NAME_MAXWIRE)
        return false;
    memcpy(next->wire, cur->wire, prefix);
    memcpy(next->wire + prefix, t.wire, t.len);
    next->len = (uint8_t)(prefix + t.len);
    return true;
}

/*
 * One step: answer for cur (ln prepared from it) in zone z, whose apex is
 * suffix apex_i of cur. first: cur is the question name. Writes what it
 * finds and says whether a CNAME or DNAME leads on to *next.
 */
static enum step lookup(struct ctx *c, const struct dns_zone *z, const struct dns_name *cur,
                        const struct dns_lname *ln, int apex_i, bool first,
                        struct dns_name *next, struct outcome *out)
{
    uint16_t qtype = c->qtype;
    uint32_t n = dns_zone_lookup(z, ln, 0);
    uint32_t ce = n;                           /* the closest encloser */
    int ce_i = 0;
    if (n == DNS_ZNONE) {
        /* Every ancestor up to the apex is a node (empty non-terminals
         * included), so the first one found is the closest encloser
         * (RFC 4592 section 3.3.1). */
        for (ce_i = 1; ce_i <= apex_i; ce_i++)
            if ((ce = dns_zone_lookup(z, ln, ce_i)) != DNS_ZNONE)
                break;
        if (ce == DNS_ZNONE)
            return STEP_DONE;                  /* cannot happen: the apex exists */
    }
    const struct dns_znode *cen = &z->nodes[ce];

    /* A delegation at or above the name (RFC 1034 section 4.3.2 step 3b),
     * except that DS at the delegation point itself is the parent's data
     * (RFC 4035 section 3.1.4.1). A DNAME higher up comes first. */
    uint32_t cut = cen->cut;
    if (cut != DNS_ZNONE && n == cut && qtype == DNS_TYPE_DS)
        cut = DNS_ZNONE;
    uint32_t dn = cen->dname;
    if (n == DNS_ZNONE && (cen->flags & DNS_ZN_DNAME) && dn == DNS_ZNONE)
        dn = ce;                               /* the encloser's own DNAME covers cur */
    if (cut != DNS_ZNONE && dn != DNS_ZNONE) {
        if (z->nodes[dn].labels < z->nodes[cut].labels)
            cut = DNS_ZNONE;
        else
            dn = DNS_ZNONE;
    }

    if (cut != DNS_ZNONE) {
        int cut_i = ln->labels - z->nodes[cut].labels;
        struct dns_name owner;
        suffix(cur, ln, cut_i, &owner);
        const struct dns_zrrset *ns = dns_zone_rrset(z, cut, DNS_TYPE_NS);
        put_needed_at(c, DNS_SECTION_AUTHORITY, &owner, z, ns, ns->ttl, cut);
        out->referral = true;
        out->kind = DNS_AUTH_REFERRAL;
        out->rcode = DNS_RCODE_NOERROR;
        return STEP_DONE;
    }

    if (dn != DNS_ZNONE) {
        /* RFC 6672 section 3.2: the DNAME, then a CNAME synthesized from
         * it for the name asked, then on with the new name. */
        int dn_i = ln->labels - z->nodes[dn].labels;
        const struct dns_zrrset *rs = dns_zone_rrset(z, dn, DNS_TYPE_DNAME);
        struct dns_name owner;
        suffix(cur, ln, dn_i, &owner);
        put_needed(c, DNS_SECTION_ANSWER, &owner, z, rs, rs->ttl);
        uint32_t pos = rs->rdata;
        uint16_t tlen;
        const uint8_t *target = dns_zone_rdata(z, &pos, &tlen);
        if (!dname_subst(cur, ln, dn_i, target, tlen, next)) {
            out->kind = DNS_AUTH_ERROR;        /* RFC 6672 section 2.2 */
            out->rcode = DNS_RCODE_YXDOMAIN;
            return STEP_DONE;
        }
        if (!c->stop && dns_writer_rr(&c->w, DNS_SECTION_ANSWER, cur, DNS_TYPE_CNAME, z->rclass,
                                      rs->ttl, next->wire, next->len) < 0) {
            c->h.tc = true;
            c->stop = true;
        }
        out->kind = DNS_AUTH_ANSWER;
        out->rcode = DNS_RCODE_NOERROR;
        return STEP_FOLLOW;
    }

    /* RFC 4592 section 3.3.1: no exact match, so the source of synthesis
     * is the wildcard child of the closest encloser, if there is one; an
     * empty non-terminal closest encloser has none (section 2.2.2), and
     * answers NXDOMAIN like any name without a wildcard. */
    if (n == DNS_ZNONE) {
        if (cen->wild == DNS_ZNONE) {
            put_soa(c, z, cur, ln, apex_i);
            out->kind = DNS_AUTH_NXDOMAIN;
            out->rcode = DNS_RCODE_NXDOMAIN;
            return STEP_DONE;
        }
        n = cen->wild;
    }

    /* Data at n (an exact match, or the wildcard whose records are
     * written with cur as their owner, RFC 4592 section 3.3.1). */
    const struct dns_zrrset *rs;
    if (qtype == DNS_TYPE_ANY)
        rs = any_rrset(z, n);
    else
        rs = dns_zone_rrset(z, n, qtype);
    if (rs) {
        put_needed(c, DNS_SECTION_ANSWER, cur, z, rs, rs->ttl);
        out->kind = DNS_AUTH_ANSWER;
        out->rcode = DNS_RCODE_NOERROR;
        return STEP_DONE;
    }
    if (z->nodes[n].flags & DNS_ZN_CNAME) {
        /* RFC 1034 section 4.3.2 step 3a: the CNAME, then its target. */
        rs = dns_zone_rrset(z, n, DNS_TYPE_CNAME);
        put_needed(c, DNS_SECTION_ANSWER, cur, z, rs, rs->ttl);
        uint32_t pos = rs->rdata;
        uint16_t tlen;
        const uint8_t *target = dns_zone_rdata(z, &pos, &tlen);
        dns_name_from_wire(next, target, tlen);
        out->kind = DNS_AUTH_ANSWER;
        out->rcode = DNS_RCODE_NOERROR;
        return STEP_FOLLOW;
    }
    /* NODATA (RFC 2308 section 2.2). */
    put_soa(c, z, cur, ln, apex_i);
    out->kind = first ? DNS_AUTH_NODATA : DNS_AUTH_ANSWER;
    out->rcode = DNS_RCODE_NOERROR;
    return STEP_DONE;
}

/* The zone for ln: the deepest apex at or above it, except that DS at a
 * zone's apex is the parent zone's data when the parent is ours too
 * (RFC 4035 section 3.1.4.1). */
static const struct dns_zone *zone_for(const struct ctx *c, const struct dns_lname *ln,
                                       int *apex_i)
{
    const struct dns_zone *z = dns_zoneset_lookup(c->zs, ln, 0, apex_i);
    if (z && *apex_i == 0 && c->qtype == DNS_TYPE_DS && ln->labels > 0) {
        int pi;
        const struct dns_zone *p = dns_zoneset_lookup(c->zs, ln, 1, &pi);
        if (p) {
            *apex_i = pi;
            return p;
        }
    }
    return z;
}

/*
 * Answer qname from zone z (apex at suffix apex_i), following CNAME and
 * DNAME chains through every zone of the set. The rcode is the last
 * name's (RFC 6604 section 2.1); a referral clears AA only when the
 * question name itself is delegated.
 */
static void answer(struct ctx *c, const struct dns_zone *z, const struct dns_name *qname,
                   const struct dns_lname *qln, int apex_i, struct dns_auth_result *res)
{
    struct dns_name names[2];
    struct dns_lname lns[2];
    uint32_t seen_hash[MAX_CHAIN + 1];
    struct dns_name seen[MAX_CHAIN + 1];     /* lower-cased names already answered */
    int nseen = 0;
    const struct dns_name *cur = qname;
    const struct dns_lname *ln = qln;
    struct outcome out = {DNS_AUTH_NODATA, DNS_RCODE_NOERROR, false};
    c->h.aa = true;
    for (int step = 0;; step++) {
        struct dns_name *next = &names[step & 1];
        if (lookup(c, z, cur, ln, apex_i, step == 0, next, &out) == STEP_DONE)
            break;
        if (step + 1 >= MAX_CHAIN)
            break;                             /* too long: the answer so far */
        seen_hash[nseen] = ln->hash[0];
        seen[nseen++] = ln->lower;
        struct dns_lname *nln = &lns[step & 1];
        dns_lname_init(nln, next);
        bool loop = false;
        for (int k = 0; k < nseen && !loop; k++)
            loop = seen_hash[k] == nln->hash[0] && seen[k].len == nln->lower.len &&
                   memcmp(seen[k].wire, nln->lower.wire, seen[k].len) == 0;
        if (loop)
            break;
        z = zone_for(c, nln, &apex_i);
        if (!z)
            break;                             /* the chain leaves our zones */
        cur = next;
        ln = nln;
    }
    if (out.referral && cur == qname)
        c->h.aa = false;                       /* RFC 1034 section 4.3.2 step 3b */
    if (out.referral && cur != qname)
        out.kind = DNS_AUTH_ANSWER;
    res->kind = out.kind;
    res->rcode = out.rcode;
    c->h.rcode = (uint8_t)(out.rcode & 0xF);
}

/* ---- the checks and the response ------------------------------------------------ */

/* Start the response: the header, and the question if there is one. */
static int begin(struct ctx *c, uint8_t *out, size_t limit, const struct dns_name *qname,
                 uint16_t qtype, uint16_t qclass)
{
    if (dns_writer_init(&c->w, out, limit, &c->h) < 0)
        return -EINVAL;
    if (qname && dns_writer_question(&c->w, qname, qtype, qclass) < 0)
        return -EMSGSIZE;
    return 0;
}

/* The caller's buffer cannot hold even the smallest response. */
static size_t drop(struct dns_auth_result *res)
{
    res->kind = DNS_AUTH_DROP;
    return 0;
}

size_t dns_auth_respond(const struct dns_zoneset *zs, const uint8_t *q, size_t qlen,
                        const struct dns_auth_opts *o, uint8_t *out, size_t cap,
                        struct dns_auth_result *res)
{
    memset(res, 0, sizeof *res);
    res->kind = DNS_AUTH_DROP;
    dns_name_set_root(&res->qname);

    /* Drop what cannot be answered: no header, or a response (RFC 1035
     * section 4.1.1: answering a response invites loops). */
    struct dns_header qh;
    if (dns_header_read(q, qlen, &qh) < 0 || qh.qr || cap < DNS_HEADER_SIZE)
        return 0;

    struct ctx c;
    c.zs = zs;
    c.stop = false;
    c.npend = 0;
    memset(&c.h, 0, sizeof c.h);
    c.h.id = qh.id;
    c.h.qr = true;
    c.h.opcode = qh.opcode;
    c.h.rd = qh.rd;                           /* RFC 1035 section 4.1.1 */
    c.h.cd = qh.cd;                           /* RFC 4035 section 3.1.6 */

    struct dns_msg m;
    struct dns_rr rrs[MAX_QUERY_RR];
    int pr = dns_msg_parse(&m, q, qlen, rrs, MAX_QUERY_RR);
    struct dns_edns e;
    enum dns_edns_status est = pr == 0 ? dns_edns_get(&m, &e) : DNS_EDNS_NONE;
    bool edns_ok = est == DNS_EDNS_OK;

    struct dns_name qname;
    uint16_t qtype = 0, qclass = 0;
    bool have_q = false;
    if (pr == 0 && m.first[DNS_SECTION_ANSWER] > 0 && dns_rr_owner(&m, &m.rr[0], &qname) == 0) {
        qtype = m.rr[0].type;
        qclass = m.rr[0].rclass;
        res->qname = qname;                   /* the first question, for the log */
        res->qtype = qtype;
        have_q = qh.count[DNS_SECTION_QUESTION] == 1;
    }
    c.qtype = qtype;

    /* The size of the response: 512 octets without EDNS (RFC 1035 section
     * 4.2.1), the client's payload size with it, within ours and never
     * below 512 (RFC 6891 section 6.2.5); 65535 over TCP. */
    size_t limit;
    if (o->tcp)
        limit = DNS_MSG_MAX;
    else if (edns_ok) {
        limit = e.udp_size < o->udp_max ? e.udp_size : o->udp_max;
        if (limit < DNS_EDNS_MIN_UDP)
            limit = DNS_EDNS_MIN_UDP;
    } else
        limit = 512;
    if (limit > cap)
        limit = cap;

    /* The checks, in order; each failure is answered with its RCODE. */
    uint16_t rcode = DNS_RCODE_NOERROR;
    bool echo = have_q, with_opt = edns_ok;
    if (qh.opcode != DNS_OPCODE_QUERY) {
        rcode = DNS_RCODE_NOTIMP;            /* NOTIFY is the transport's (server.c) */
    } else if (qh.count[DNS_SECTION_QUESTION] != 1 || pr < 0) {
        rcode = DNS_RCODE_FORMERR;           /* RFC 1035 section 4.1.2; unreadable */
        echo = false;
    } else if (est != DNS_EDNS_NONE && !edns_ok) {
        rcode = DNS_RCODE_FORMERR;           /* RFC 6891 sections 6.1.1, 6.1.2 */
    } else if (m.trailing || qh.count[DNS_SECTION_ANSWER] ||
               (qh.count[DNS_SECTION_AUTHORITY] && qtype != DNS_TYPE_IXFR)) {
        rcode = DNS_RCODE_FORMERR;           /* not a query's shape */
    } else if (edns_ok && e.version > 0) {
        rcode = DNS_RCODE_BADVERS;           /* RFC 6891 section 6.1.3 */
    } else if (qclass != DNS_CLASS_IN) {
        rcode = DNS_RCODE_REFUSED;           /* CH, HS, ANY: not served here */
    } else if (qtype == DNS_TYPE_AXFR && !o->tcp) {
        rcode = DNS_RCODE_NOTIMP;            /* RFC 5936 section 4.2 */
    } else if (dns_type_is_meta(qtype) && qtype != DNS_TYPE_ANY && qtype != DNS_TYPE_AXFR &&
               qtype != DNS_TYPE_IXFR) {
        rcode = DNS_RCODE_NOTIMP;
    }

    const struct dns_zone *z = NULL;
    struct dns_lname qln;
    int apex_i = 0;
    if (rcode == DNS_RCODE_NOERROR) {
        dns_lname_init(&qln, &qname);
        z = zone_for(&c, &qln, &apex_i);
        res->zone = z;
        if (!z)
            rcode = DNS_RCODE_REFUSED;       /* not ours; RA stays clear */
        else if (!dns_zone_available(z))
            rcode = DNS_RCODE_SERVFAIL;      /* ours, but no data: not yet transferred or expired */
        else if (qtype == DNS_TYPE_AXFR || qtype == DNS_TYPE_IXFR) {
            if (o->tcp) {
                res->kind = DNS_AUTH_XFR;
                return 0;
            }
            if (apex_i != 0)
                rcode = DNS_RCODE_NOTAUTH;   /* a transfer of no zone of ours */
        }
    }

    /* The OPT RR of the response, when the query had a good one. */
    struct dns_edns_out eo = {.udp_size = o->udp_max, .do_bit = edns_ok && e.do_bit};
    if (rcode != DNS_RCODE_NOERROR) {
        eo.rcode = rcode;
        c.h.rcode = (uint8_t)(rcode & 0xF);
        res->kind = DNS_AUTH_ERROR;
        res->rcode = rcode;
        if (begin(&c, out, limit, echo ? &qname : NULL, qtype, qclass) < 0 ||
            (with_opt && dns_edns_write(&c.w, &eo) < 0))
            return drop(res);
        return dns_writer_len(&c.w);
    }

    size_t optlen = with_opt ? dns_edns_size(&eo) : 0;
    if (begin(&c, out, limit, &qname, qtype, qclass) < 0 || dns_writer_reserve(&c.w, optlen) < 0)
        return drop(res);
    if (qtype == DNS_TYPE_IXFR) {
        /* RFC 1995 section 2: the current SOA alone, and the client
         * comes back over TCP for the differences. */
        c.h.aa = true;
        put_needed(&c, DNS_SECTION_ANSWER, &qname, z, z->soa, z->soa->ttl);
        res->kind = DNS_AUTH_ANSWER;
    } else {
        answer(&c, z, &qname, &qln, apex_i, res);
        put_additional(&c);
    }
    dns_writer_release(&c.w, optlen);
    eo.rcode = res->rcode;
    if (with_opt && dns_edns_write(&c.w, &eo) < 0)
        return drop(res);
    res->truncated = c.h.tc;
    dns_writer_set_header(&c.w, &c.h);
    return dns_writer_len(&c.w);
}
