/*
 * xfrin.c - zone transfers in: SOA queries and IXFR/AXFR fetches (see
 * xfrin.h). Blocking sockets bounded by poll() timeouts; no shared state.
 */
#include "dns/xfrin.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/util.h"
#include "dns/consts.h"
#include "dns/journal.h"
#include "dns/tsig.h"
#include "dns/wire.h"
#include "dns/writer.h"

/* A transfer may take at most this many times the per-read timeout. */
#define XFR_TOTAL_FACTOR 10
/* Waits are cut into slices this long, to notice dns_xfrin_cancel. */
#define WAIT_SLICE_MS 100

static atomic_bool g_cancel;

void dns_xfrin_cancel(bool on)
{
    atomic_store(&g_cancel, on);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Octets of the uncompressed name at rd[0..len), or -1. */
static int name_len(const uint8_t *rd, size_t len)
{
    size_t i = 0;
    while (i < len && rd[i] != 0) {
        if (rd[i] > 63)
            return -1;
        i += 1 + rd[i];
    }
    return i < len ? (int)i + 1 : -1;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int dns_soa_parse(const uint8_t *rd, size_t len, struct dns_soa_timers *out)
{
    int a = name_len(rd, len);
    if (a < 0)
        return -EBADMSG;
    int b = name_len(rd + a, len - (size_t)a);
    if (b < 0 || (size_t)(a + b) + 20 != len)
        return -EBADMSG;
    const uint8_t *p = rd + a + b;
    *out = (struct dns_soa_timers){get32(p), get32(p + 4), get32(p + 8), get32(p + 12),
                                   get32(p + 16)};
    return 0;
}

/* The SOA record of a finished zone (the first record of its walk). */
struct soa_copy {
    uint8_t rdata[DNS_NAME_MAXWIRE * 2 + 20];
    uint16_t len;
    uint32_t ttl;
};

static int take_soa(void *arg, const struct dns_name *owner, uint16_t type, uint16_t rclass,
                    uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    struct soa_copy *s = arg;
    if (type != DNS_TYPE_SOA || rdlen > sizeof s->rdata)
        return -EBADMSG;
    memcpy(s->rdata, rdata, rdlen);
    s->len = rdlen;
    s->ttl = ttl;
    return -ECANCELED;                   /* the SOA comes first: stop there */
}

static int zone_soa_copy(const struct dns_zone *z, struct soa_copy *s)
{
    s->len = 0;
    int r = dns_zone_walk(z, take_soa, s);
    return r == -ECANCELED && s->len ? 0 : -EBADMSG;
}

int dns_zone_soa(const struct dns_zone *z, struct dns_soa_timers *out)
{
    struct soa_copy s;
    int r = zone_soa_copy(z, &s);
    return r < 0 ? r : dns_soa_parse(s.rdata, s.len, out);
}

/* ---- sockets ------------------------------------------------------------------ */

static socklen_t addr_len(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Wait until fd is ready for events, at most until deadline (clock_ms);
 * -ECANCELED as soon as dns_xfrin_cancel asks. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = clock_ms();
        if (atomic_load(&g_cancel))
            return -ECANCELED;
        if (now >= deadline)
            return -ETIMEDOUT;
        uint64_t wait = deadline - now < WAIT_SLICE_MS ? deadline - now : WAIT_SLICE_MS;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)wait);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

/* A non-blocking socket connected to a (for TCP: within the deadline). */
static int open_socket(const struct sockaddr_storage *a, int type, uint64_t deadline)
{
    int fd = socket(a->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (const struct sockaddr *)a, addr_len(a)) < 0) {
        int e = errno;
        if (e != EINPROGRESS) {
            close(fd);
            return -e;
        }
        int r = wait_fd(fd, POLLOUT, deadline);
        socklen_t sl = sizeof e;
        if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 && e != 0)
            r = -e;
        if (r < 0) {
            close(fd);
            return r;
        }
    }
    return fd;
}

static int send_full(int fd, const uint8_t *p, size_t n, uint64_t deadline)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        } else if (k < 0 && errno != EAGAIN && errno != EINTR) {
            return -errno;
        } else {
            int r = wait_fd(fd, POLLOUT, deadline);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* Read exactly n octets; each wait bounded by step_ms and by deadline. */
static int recv_full(int fd, uint8_t *p, size_t n, unsigned step_ms, uint64_t deadline)
{
    while (n) {
        ssize_t k = recv(fd, p, n, 0);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        } else if (k == 0) {
            return -ECONNRESET;              /* closed in the middle of a message */
        } else if (errno != EAGAIN && errno != EINTR) {
            return -errno;
        } else {
            uint64_t d = clock_ms() + step_ms;
            int r = wait_fd(fd, POLLIN, d < deadline ? d : deadline);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* A query for apex/qtype into buf (at offset 2 when tcp, after the
 * length), with cur's SOA in authority for IXFR (RFC 1995 section 3),
 * signed with tsig->key when there is one (RFC 8945 section 5.1). */
static int build_query(uint8_t *buf, size_t cap, uint16_t id, const struct dns_name *apex,
                       uint16_t qtype, const struct soa_copy *cur, bool tcp,
                       struct dns_tsig_ctx *tsig)
{
    struct dns_writer w;
    struct dns_header h = {.id = id, .opcode = DNS_OPCODE_QUERY};
    size_t off = tcp ? 2 : 0;
    size_t room = tsig->key ? dns_tsig_size(tsig->key) : 0;
    if (dns_writer_init(&w, buf + off, cap - off, &h) < 0 || dns_writer_reserve(&w, room) < 0 ||
        dns_writer_question(&w, apex, qtype, DNS_CLASS_IN) < 0 ||
        (cur && dns_writer_rr(&w, DNS_SECTION_AUTHORITY, apex, DNS_TYPE_SOA, DNS_CLASS_IN,
                              cur->ttl, cur->rdata, cur->len) < 0))
        return -EMSGSIZE;
    dns_writer_release(&w, room);
    if (tsig->key && dns_tsig_sign(&w, tsig, (uint64_t)time(NULL), true) < 0)
        return -EMSGSIZE;
    size_t n = dns_writer_len(&w);
    if (tcp) {
        buf[0] = (uint8_t)(n >> 8);
        buf[1] = (uint8_t)n;
    }
    return (int)(n + off);
}

static uint16_t new_id(void)
{
    uint16_t id = 0;
    if (random_bytes(&id, sizeof id) < 0)
        id = (uint16_t)clock_ms();
    return id;
}

/* The checks every response of ours passes: our ID, a response to a
 * QUERY, RCODE NOERROR, not truncated, and the question (when present,
 * required when need_q) ours. */
static int check_response(const struct dns_msg *m, uint16_t id, const struct dns_name *apex,
                          uint16_t qtype, bool need_q, char *err, size_t errlen)
{
    const struct dns_header *h = &m->hdr;
    if (h->id != id || !h->qr || h->opcode != DNS_OPCODE_QUERY) {
        set_err(err, errlen, "a message that is not the answer to our query");
        return -EBADMSG;
    }
    if (h->rcode != DNS_RCODE_NOERROR) {
        char rb[DNS_MNEMONIC_MAX];
        set_err(err, errlen, "answered %s", dns_rcode_to_text(h->rcode, rb));
        return -EPROTO;
    }
    if (h->tc) {
        set_err(err, errlen, "a truncated answer");
        return -EBADMSG;
    }
    size_t nq;
    const struct dns_rr *q = dns_msg_section(m, DNS_SECTION_QUESTION, &nq);
    if (nq > 1 || (need_q && nq == 0)) {
        set_err(err, errlen, "%zu questions in the answer", nq);
        return -EBADMSG;
    }
    if (nq == 1) {
        struct dns_name qn;
        if (dns_rr_owner(m, q, &qn) < 0 || !dns_name_equal(&qn, apex) || q->type != qtype ||
            q->rclass != DNS_CLASS_IN) {
            set_err(err, errlen, "the answer is to another question");
            return -EBADMSG;
        }
    }
    return 0;
}

/* ---- SOA query ------------------------------------------------------------------ */

int dns_xfrin_soa_query(const struct sockaddr_storage *primary, const struct dns_tsig_key *key,
                        const struct dns_name *apex, unsigned timeout_ms, uint32_t *serial,
                        char *err, size_t errlen)
{
    uint64_t deadline = clock_ms() + timeout_ms;
    uint8_t q[1024], a[4096];
    uint16_t id = new_id();
    struct dns_tsig_ctx tsig;
    memset(&tsig, 0, sizeof tsig);
    tsig.key = key;
    int qlen = build_query(q, sizeof q, id, apex, DNS_TYPE_SOA, NULL, false, &tsig);
    if (qlen < 0) {
        set_err(err, errlen, "cannot build the query");
        return qlen;
    }
    int fd = open_socket(primary, SOCK_DGRAM, deadline);
    if (fd < 0) {
        set_err(err, errlen, "%s", op_strerror(fd));
        return fd;
    }
    int r = send(fd, q, (size_t)qlen, 0) == qlen ? 0 : -errno;
    while (r == 0) {
        /* The socket is connected: only the primary's datagrams come in.
         * Others (late answers to earlier queries) are skipped. */
        r = wait_fd(fd, POLLIN, deadline);
        if (r < 0)
            break;
        ssize_t n = recv(fd, a, sizeof a, 0);
        if (n < 0) {
            r = errno == EAGAIN || errno == EINTR ? 0 : -errno;
            continue;
        }
        struct dns_msg m;
        struct dns_rr rrs[64];
        if (dns_msg_parse(&m, a, (size_t)n, rrs, 64) < 0 || m.hdr.id != id)
            continue;
        r = check_response(&m, id, apex, DNS_TYPE_SOA, true, err, errlen);
        if (r == 0 && key && dns_tsig_verify_response(&m, &tsig, (uint64_t)time(NULL), true) != 1) {
            set_err(err, errlen, "the answer is not signed with our key (TSIG)");
            r = OP_E_AUTH;
        }
        dns_tsig_ctx_clear(&tsig);
        if (r < 0) {
            close(fd);
            return r;
        }
        size_t na;
        const struct dns_rr *an = dns_msg_section(&m, DNS_SECTION_ANSWER, &na);
        for (size_t i = 0; i < na; i++) {
            struct dns_name o;
            uint8_t rd[DNS_NAME_MAXWIRE * 2 + 20];
            struct dns_soa_timers t;
            int rl;
            if (an[i].type == DNS_TYPE_SOA && dns_rr_owner(&m, &an[i], &o) == 0 &&
                dns_name_equal(&o, apex) &&
                (rl = dns_rr_rdata(&m, &an[i], rd, sizeof rd, 0)) >= 0 &&
                dns_soa_parse(rd, (size_t)rl, &t) == 0) {
                close(fd);
                *serial = t.serial;
                return 0;
            }
        }
        set_err(err, errlen, "no SOA for the zone in the answer%s",
                m.hdr.aa ? "" : " (not authoritative)");
        close(fd);
        return -EBADMSG;
    }
    close(fd);
    dns_tsig_ctx_clear(&tsig);
    set_err(err, errlen, "%s", r == -ETIMEDOUT ? "no answer in time" : op_strerror(r));
    return r;
}

/* ---- the records of a zone being changed by IXFR ------------------------------------ */

/* Records in one arena, each "owner (lower-cased wire), type, class, TTL,
 * RDATA length, RDATA", found by a hash of owner, type and RDATA. */
struct rset {
    struct buf arena;
    size_t *off;                     /* where record i starts in arena */
    bool *alive;                     /* deleted records stay, marked dead */
    size_t n, cap;
    size_t *table;                   /* record index + 1; 0 empty */
    size_t mask;
};

struct rview {
    struct dns_name owner;
    uint16_t type, rclass, rdlen;
    uint32_t ttl;
    const uint8_t *rdata;
};

static void rset_view(const struct rset *s, size_t i, struct rview *v)
{
    const uint8_t *p = (const uint8_t *)buf_ptr(&s->arena) + s->off[i];
    v->owner.len = p[0];
    memcpy(v->owner.wire, p + 1, p[0]);
    p += 1 + p[0];
    v->type = (uint16_t)(p[0] << 8 | p[1]);
    v->rclass = (uint16_t)(p[2] << 8 | p[3]);
    v->ttl = get32(p + 4);
    v->rdlen = (uint16_t)(p[8] << 8 | p[9]);
    v->rdata = p + 10;
}

static size_t rec_hash(const struct dns_name *owner, uint16_t type, const uint8_t *rd,
                       uint16_t rdlen)
{
    uint64_t h = 1469598103934665603ull;         /* FNV-1a */
    for (size_t i = 0; i < owner->len; i++)
        h = (h ^ owner->wire[i]) * 1099511628211ull;
    h = (h ^ type) * 1099511628211ull;
    for (size_t i = 0; i < rdlen; i++)
        h = (h ^ rd[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 32));
}

/* The slot holding the record, or the empty slot where it would go. */
static size_t *rset_slot(const struct rset *s, const struct dns_name *owner, uint16_t type,
                         const uint8_t *rd, uint16_t rdlen)
{
    for (size_t i = rec_hash(owner, type, rd, rdlen) & s->mask;; i = (i + 1) & s->mask) {
        if (s->table[i] == 0)
            return &s->table[i];
        struct rview v;
        rset_view(s, s->table[i] - 1, &v);
        if (v.type == type && v.rdlen == rdlen && v.owner.len == owner->len &&
            memcmp(v.owner.wire, owner->wire, owner->len) == 0 && memcmp(v.rdata, rd, rdlen) == 0)
            return &s->table[i];
    }
}

static int rset_grow(struct rset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024;
    size_t *off = realloc(s->off, cap * sizeof *off);
    if (!off)
        return -ENOMEM;
    s->off = off;
    bool *alive = realloc(s->alive, cap * sizeof *alive);
    if (!alive)
        return -ENOMEM;
    s->alive = alive;
    size_t *t = calloc(cap * 2, sizeof *t);
    if (!t)
        return -ENOMEM;
    free(s->table);
    s->table = t;
    s->mask = cap * 2 - 1;
    s->cap = cap;
    for (size_t i = 0; i < s->n; i++) {
        struct rview v;
        rset_view(s, i, &v);
        *rset_slot(s, &v.owner, v.type, v.rdata, v.rdlen) = i + 1;
    }
    return 0;
}

/* Add a record (owner lower-cased); an existing one comes back to life
 * with the new TTL. */
static int rset_add(struct rset *s, const struct dns_name *owner, uint16_t type, uint16_t rclass,
                    uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
    if (s->n + 1 > s->cap && rset_grow(s) < 0)   /* the table stays at most half full */
        return -ENOMEM;
    size_t *slot = rset_slot(s, owner, type, rd, rdlen);
    if (*slot) {
        size_t i = *slot - 1;
        uint8_t *p = (uint8_t *)buf_ptr(&s->arena) + s->off[i] + 1 + owner->len + 4;
        p[0] = (uint8_t)(ttl >> 24), p[1] = (uint8_t)(ttl >> 16);
        p[2] = (uint8_t)(ttl >> 8), p[3] = (uint8_t)ttl;
        s->alive[i] = true;
        return 0;
    }
    uint8_t hdr[1 + DNS_NAME_MAXWIRE + 10];
    size_t h = 0;
    hdr[h++] = owner->len;
    memcpy(hdr + h, owner->wire, owner->len);
    h += owner->len;
    uint8_t f[10] = {(uint8_t)(type >> 8), (uint8_t)type, (uint8_t)(rclass >> 8), (uint8_t)rclass,
                     (uint8_t)(ttl >> 24), (uint8_t)(ttl >> 16), (uint8_t)(ttl >> 8), (uint8_t)ttl,
                     (uint8_t)(rdlen >> 8), (uint8_t)rdlen};
    memcpy(hdr + h, f, sizeof f);
    h += sizeof f;
    size_t off = buf_len(&s->arena);
    if (buf_append(&s->arena, hdr, h) < 0 || buf_append(&s->arena, rd, rdlen) < 0)
        return -ENOMEM;
    s->off[s->n] = off;
    s->alive[s->n] = true;
    *slot = ++s->n;
    return 0;
}

/* Delete a record: -ENOENT when we do not have it (out of step). */
static int rset_del(struct rset *s, const struct dns_name *owner, uint16_t type, const uint8_t *rd,
                    uint16_t rdlen)
{
    if (s->n == 0)
        return -ENOENT;
    size_t *slot = rset_slot(s, owner, type, rd, rdlen);
    if (*slot == 0 || !s->alive[*slot - 1])
        return -ENOENT;
    s->alive[*slot - 1] = false;
    return 0;
}

static void rset_free(struct rset *s)
{
    buf_free(&s->arena);
    free(s->off);
    free(s->alive);
    free(s->table);
    memset(s, 0, sizeof *s);
}

static int rset_from_zone(void *arg, const struct dns_name *owner, uint16_t type, uint16_t rclass,
                          uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    return rset_add(arg, owner, type, rclass, ttl, rdata, rdlen);
}

/* ---- reading a transfer ------------------------------------------------------------ */

enum xstate { X_FIRST, X_SECOND, X_AXFR, X_IXFR_DEL, X_IXFR_ADD, X_DONE };

struct xfr {
    const struct dns_name *apex;
    const struct dns_tsig_key *key;  /* sign and verify with it, or NULL */
    uint16_t qtype;
    const struct dns_zone *cur;
    uint32_t cur_serial;
    enum xstate st;
    uint32_t new_serial;
    struct soa_copy first;           /* the opening SOA, added once AXFR-style is known */
    struct dns_zone *z;              /* AXFR-style: the zone being built */
    struct rset set;                 /* IXFR: the current records, changed in place */
    struct buf errors;
    char *err;
    size_t errlen;
};

static int zone_add(struct xfr *x, const struct dns_name *owner, uint16_t type, uint32_t ttl,
                    const uint8_t *rd, uint16_t rdlen)
{
    int r = dns_zone_add(x->z, NULL, owner, type, DNS_CLASS_IN, ttl, rd, rdlen, &x->errors);
    if (r < 0)
        set_err(x->err, x->errlen, "a record the zone refuses: %s", buf_cstr(&x->errors));
    return r;
}

/* Switch to AXFR-style: the zone starts with the opening SOA. */
static int begin_axfr(struct xfr *x)
{
    x->z = dns_zone_new(x->apex, DNS_CLASS_IN);
    if (!x->z)
        return -ENOMEM;
    x->st = X_AXFR;
    return zone_add(x, x->apex, DNS_TYPE_SOA, x->first.ttl, x->first.rdata, x->first.len);
}

/* A sequence of differences begins with the SOA it deletes: ours. */
static int begin_deletions(struct xfr *x, const struct dns_name *owner, const uint8_t *rd,
                           uint16_t rdlen)
{
    if (rset_del(&x->set, owner, DNS_TYPE_SOA, rd, rdlen) < 0) {
        set_err(x->err, x->errlen, "IXFR differences from a version we do not have");
        return -ENOENT;
    }
    x->st = X_IXFR_DEL;
    return 0;
}

/* One record of the answer sections, in order (RFC 1995 section 2, RFC
 * 5936 section 2.2). */
static int on_record(struct xfr *x, struct dns_name *owner, uint16_t type, uint16_t rclass,
                     uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
    if (rclass != DNS_CLASS_IN || !dns_name_is_subdomain(owner, x->apex)) {
        set_err(x->err, x->errlen, "a record outside the zone or of another class");
        return -EBADMSG;
    }
    dns_name_lower(owner);
    bool is_soa = type == DNS_TYPE_SOA && dns_name_equal(owner, x->apex);
    struct dns_soa_timers t = {0};
    if (is_soa && dns_soa_parse(rd, rdlen, &t) < 0) {
        set_err(x->err, x->errlen, "a malformed SOA");
        return -EBADMSG;
    }
    switch (x->st) {
    case X_FIRST:
        if (!is_soa) {
            set_err(x->err, x->errlen, "the transfer does not begin with the zone's SOA");
            return -EBADMSG;
        }
        x->new_serial = t.serial;
        memcpy(x->first.rdata, rd, rdlen);
        x->first.len = rdlen;
        x->first.ttl = ttl;
        if (x->qtype == DNS_TYPE_AXFR)
            return begin_axfr(x);
        x->st = X_SECOND;
        return 0;
    case X_SECOND:
        if (is_soa && t.serial == x->cur_serial && t.serial != x->new_serial) {
            /* Incremental: the differences apply to our records, the
             * first sequence deleting our SOA. */
            int r = dns_zone_walk(x->cur, rset_from_zone, &x->set);
            return r < 0 ? r : begin_deletions(x, owner, rd, rdlen);
        }
        int r = begin_axfr(x);           /* the whole zone (RFC 1995 section 4) */
        return r < 0 ? r : on_record(x, owner, type, rclass, ttl, rd, rdlen);
    case X_AXFR:
        if (is_soa) {
            if (t.serial != x->new_serial) {
                set_err(x->err, x->errlen, "the closing SOA has serial %u, the opening %u",
                        t.serial, x->new_serial);
                return -EBADMSG;
            }
            x->st = X_DONE;
            return 0;
        }
        return zone_add(x, owner, type, ttl, rd, rdlen);
    case X_IXFR_DEL:
        if (is_soa) {
            x->st = X_IXFR_ADD;          /* the sequence's new SOA opens its additions */
            return rset_add(&x->set, owner, type, rclass, ttl, rd, rdlen);
        }
        if (rset_del(&x->set, owner, type, rd, rdlen) < 0) {
            set_err(x->err, x->errlen, "IXFR deletes a record we do not have");
            return -ENOENT;
        }
        return 0;
    case X_IXFR_ADD:
        if (is_soa && t.serial == x->new_serial) {
            x->st = X_DONE;              /* the closing SOA */
            return 0;
        }
        if (is_soa)
            return begin_deletions(x, owner, rd, rdlen);    /* the next sequence */
        return rset_add(&x->set, owner, type, rclass, ttl, rd, rdlen);
    case X_DONE:
        set_err(x->err, x->errlen, "records after the closing SOA");
        return -EBADMSG;
    }
    return -EINVAL;
}

static int zone_from_set(struct xfr *x)
{
    x->z = dns_zone_new(x->apex, DNS_CLASS_IN);
    if (!x->z)
        return -ENOMEM;
    for (size_t i = 0; i < x->set.n; i++) {
        if (!x->set.alive[i])
            continue;
        struct rview v;
        rset_view(&x->set, i, &v);
        int r = zone_add(x, &v.owner, v.type, v.ttl, v.rdata, v.rdlen);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Scratch space for reading messages. */
struct scratch {
    struct dns_rr *rrs;
    size_t maxrr;
    uint8_t *rd;                     /* one RDATA, decompressed */
};

static int scratch_init(struct scratch *sc)
{
    sc->maxrr = DNS_MSG_MAXRR(DNS_MSG_MAX);
    sc->rrs = malloc(sc->maxrr * sizeof *sc->rrs);
    sc->rd = malloc(DNS_MSG_MAX);
    return sc->rrs && sc->rd ? 0 : -ENOMEM;
}

static void scratch_free(struct scratch *sc)
{
    free(sc->rrs);
    free(sc->rd);
}

/* Message nmsg (from 0) of the answer to query id. Returns 0 to read on,
 * 1 when the closing SOA was read, 2 for an IXFR answered by the SOA
 * alone with nothing newer (RFC 1995 section 2), or negative. */
static int on_message(struct xfr *x, struct scratch *sc, struct dns_tsig_ctx *tsig, uint16_t id,
                      unsigned nmsg, const uint8_t *msg, size_t len)
{
    struct dns_msg m;
    int r = dns_msg_parse(&m, msg, len, sc->rrs, sc->maxrr);
    if (r < 0) {
        set_err(x->err, x->errlen, "a malformed message: %s", op_strerror(r));
        return r;
    }
    if ((r = check_response(&m, id, x->apex, x->qtype, nmsg == 0, x->err, x->errlen)) < 0)
        return r;
    /* RFC 8945 section 5.3.1: the first and last messages signed, at most
     * 99 unsigned in between. */
    if (tsig && tsig->key &&
        (r = dns_tsig_verify_response(&m, tsig, (uint64_t)time(NULL), nmsg == 0)) < 0) {
        set_err(x->err, x->errlen, "message %u fails TSIG verification: %s", nmsg + 1,
                op_strerror(r));
        return r;
    }
    size_t na;
    const struct dns_rr *an = dns_msg_section(&m, DNS_SECTION_ANSWER, &na);
    if (nmsg == 0 && na == 0) {
        set_err(x->err, x->errlen, "an empty answer");
        return -EBADMSG;
    }
    for (size_t i = 0; i < na; i++) {
        struct dns_name owner;
        int rl = dns_rr_rdata(&m, &an[i], sc->rd, DNS_MSG_MAX, 0);
        if (dns_rr_owner(&m, &an[i], &owner) < 0 || rl < 0) {
            set_err(x->err, x->errlen, "an unreadable record");
            return -EBADMSG;
        }
        r = on_record(x, &owner, an[i].type, an[i].rclass, an[i].ttl, sc->rd, (uint16_t)rl);
        if (r < 0)
            return r;
    }
    if (nmsg == 0 && x->st == X_SECOND) {
        /* An IXFR answered by the SOA alone: nothing newer, unless the
         * serial is newer after all. */
        if (!dns_serial_gt(x->new_serial, x->cur_serial))
            return 2;
        set_err(x->err, x->errlen, "IXFR answered with a newer SOA alone");
        return -EBADMSG;
    }
    return x->st == X_DONE ? 1 : 0;
}

/* After the closing SOA: the new zone, finished. 0 or negative. */
static int finish_zone(struct xfr *x)
{
    int r;
    if (!x->z && (r = zone_from_set(x)) < 0)
        return r;
    if ((r = dns_zone_finish(x->z, &x->errors)) < 0)
        set_err(x->err, x->errlen, "the zone is not valid: %s", buf_cstr(&x->errors));
    return r;
}

/* One transfer of type qtype: 1 with x->z finished, 0 up to date, or negative. */
static int transfer(struct xfr *x, const struct sockaddr_storage *primary, unsigned timeout_ms)
{
    uint64_t deadline = clock_ms() + (uint64_t)timeout_ms * XFR_TOTAL_FACTOR;
    uint8_t *buf = malloc(DNS_MSG_MAX + 2);
    struct scratch sc;
    int fd = -1, r = scratch_init(&sc);
    struct dns_tsig_ctx tsig;
    memset(&tsig, 0, sizeof tsig);
    tsig.key = x->key;
    if (!buf || r < 0) {
        r = -ENOMEM;
        goto out;
    }
    struct soa_copy cur;
    bool ixfr = x->qtype == DNS_TYPE_IXFR;
    if (ixfr && zone_soa_copy(x->cur, &cur) < 0) {
        r = -EINVAL;
        goto out;
    }
    uint16_t id = new_id();
    int qlen = build_query(buf, DNS_MSG_MAX + 2, id, x->apex, x->qtype, ixfr ? &cur : NULL, true,
                           &tsig);
    if (qlen < 0) {
        r = qlen;
        goto out;
    }
    fd = open_socket(primary, SOCK_STREAM, clock_ms() + timeout_ms);
    if (fd < 0) {
        r = fd;
        set_err(x->err, x->errlen, "cannot connect: %s", op_strerror(r));
        goto out;
    }
    if ((r = send_full(fd, buf, (size_t)qlen, deadline)) < 0) {
        set_err(x->err, x->errlen, "cannot send the query: %s", op_strerror(r));
        goto out;
    }
    r = 0;
    for (unsigned nmsg = 0; r == 0; nmsg++) {
        uint8_t lenb[2];
        if ((r = recv_full(fd, lenb, 2, timeout_ms, deadline)) < 0 ||
            (r = recv_full(fd, buf, (size_t)(lenb[0] << 8 | lenb[1]), timeout_ms, deadline)) < 0) {
            set_err(x->err, x->errlen, "%s after %u messages",
                    r == -ETIMEDOUT ? "timed out" : op_strerror(r), nmsg);
            goto out;
        }
        r = on_message(x, &sc, &tsig, id, nmsg, buf, (size_t)(lenb[0] << 8 | lenb[1]));
    }
    if (r < 0)
        goto out;
    if (r == 2) {
        r = 0;                           /* up to date */
        goto out;
    }
    if (x->key && (r = dns_tsig_verify_end(&tsig)) < 0) {
        set_err(x->err, x->errlen, "the last message is not signed (TSIG)");
        goto out;
    }
    r = finish_zone(x);
    if (r == 0)
        r = 1;
out:
    dns_tsig_ctx_clear(&tsig);
    if (fd >= 0)
        close(fd);
    free(buf);
    scratch_free(&sc);
    return r;
}

static void xfr_reset(struct xfr *x)
{
    if (x->z)
        dns_zone_unref(x->z);
    x->z = NULL;
    rset_free(&x->set);
    buf_free(&x->errors);
    x->st = X_FIRST;
}

int dns_xfrin_fetch(const struct sockaddr_storage *primary, const struct dns_tsig_key *key,
                    const struct dns_name *apex, const struct dns_zone *cur, unsigned timeout_ms, struct dns_zone **out,
                    const char **how, char *err, size_t errlen)
{
    *out = NULL;
    *how = "AXFR";
    struct xfr x;
    memset(&x, 0, sizeof x);
    x.apex = apex;
    x.key = key;
    x.err = err;
    x.errlen = errlen;
    struct dns_soa_timers t;
    int r = -1;
    if (cur && dns_zone_available(cur) && dns_zone_soa(cur, &t) == 0) {
        x.qtype = DNS_TYPE_IXFR;
        x.cur = cur;
        x.cur_serial = t.serial;
        r = transfer(&x, primary, timeout_ms);
        if (r == 0 || r == -ETIMEDOUT || r == -ECONNREFUSED || r == -ENOMEM ||
            r == -ECANCELED) {
            /* Up to date, the primary out of reach, or shutting down: an
             * AXFR would fare no better. Anything else (a refusal, an answer we
             * cannot apply) is worth one. */
            xfr_reset(&x);
            return r;
        }
        if (r == 1)
            *how = x.set.n ? "IXFR" : "AXFR";
    }
    if (r != 1) {
        xfr_reset(&x);
        x.qtype = DNS_TYPE_AXFR;
        x.cur = NULL;
        r = transfer(&x, primary, timeout_ms);
    }
    if (r == 1) {
        *out = x.z;
        x.z = NULL;
    }
    xfr_reset(&x);
    return r;
}

int dns_xfrin_read(const uint8_t *stream, size_t len, uint16_t id, const struct dns_name *apex,
                   const struct dns_zone *cur, struct dns_zone **out, char *err, size_t errlen)
{
    *out = NULL;
    struct xfr x;
    memset(&x, 0, sizeof x);
    x.apex = apex;
    x.err = err;
    x.errlen = errlen;
    x.qtype = DNS_TYPE_AXFR;
    struct dns_soa_timers t;
    if (cur && dns_zone_available(cur) && dns_zone_soa(cur, &t) == 0) {
        x.qtype = DNS_TYPE_IXFR;
        x.cur = cur;
        x.cur_serial = t.serial;
    }
    struct scratch sc;
    int r = scratch_init(&sc);
    size_t off = 0;
    for (unsigned nmsg = 0; r == 0; nmsg++) {
        if (len - off < 2) {
            set_err(err, errlen, "the stream ends after %u messages", nmsg);
            r = -ECONNRESET;
            break;
        }
        size_t mlen = (size_t)(stream[off] << 8 | stream[off + 1]);
        if (len - off - 2 < mlen) {
            set_err(err, errlen, "the stream ends in message %u", nmsg + 1);
            r = -ECONNRESET;
            break;
        }
        r = on_message(&x, &sc, NULL, id, nmsg, stream + off + 2, mlen);
        off += 2 + mlen;
    }
    scratch_free(&sc);
    if (r == 1 && (r = finish_zone(&x)) == 0) {
        *out = x.z;
        x.z = NULL;
        r = 1;
    } else if (r == 2) {
        r = 0;
    }
    xfr_reset(&x);
    return r;
}
