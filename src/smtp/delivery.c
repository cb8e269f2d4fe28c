/*
 * delivery.c - the runner threads of the outgoing queue: see delivery.h.
 *
 * One attempt at one claimed message:
 *   1. its pending recipients are grouped by domain;
 *   2. per domain: a local domain is a loop (permanent 5.4.6); an address
 *      literal ("[192.0.2.1]") is its own host; otherwise MX records are
 *      looked up (null MX, RFC 7505: permanent 5.1.10; NXDOMAIN: 5.1.2;
 *      no MX: the domain itself, RFC 5321 section 5.1; SERVFAIL or no
 *      answer: temporary) and ordered by preference, equal ones shuffled;
 *   3. the hosts in that order, each host's addresses in turn (IPv4
 *      first, then IPv6), one connection carrying every recipient still
 *      pending: a connection that fails tries the next address; a server
 *      that answered leaves its 2xx and 5xx recipients decided and sends
 *      the 4xx ones on to the next host;
 *   4. each outcome to queue_rcpt_result(), the last diagnostic kept for
 *      those still pending, then queue_release() (queue_release_cut()
 *      when the shutdown cut the attempt: it is not counted).
 * A connection may be kept for the runner's next message (see "a
 * connection kept" below).
 * Every attempt is logged: message ID, recipient, host, address, reply.
 */
#include "smtp/delivery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <idna.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/util.h"
#include "dns/consts.h"
#include "dns/wire.h"
#include "mail/queue.h"
#include "smtp/client.h"
#include "smtp/mx.h"
#include "smtp/server.h"

#define RUNNERS_MAX 64
#define TXN_RCPTS 100      /* recipients per transaction */
#define KEEP_MSGS 20       /* messages one kept connection carries at most */
#define KEEP_SECONDS 300   /* and for at most this long */

/* Diagnostics are cut to fit, on purpose. */
static void __attribute__((format(printf, 3, 4))) diagf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

static struct {
    struct delivery_config cfg;
    char *datadir, *hostname;
    char **local;
    size_t nlocal;
    struct smtp_timeouts t;
    pthread_t th[RUNNERS_MAX];
    unsigned nth;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned long kicks;
    bool stopping, started;
    int cancel_fd;              /* an eventfd, readable once stopping */
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .cancel_fd = -1};

/* Whether delivery_stop() has begun (the cancel descriptor is readable). */
static bool stopping_now(void)
{
    pthread_mutex_lock(&g.mu);
    bool s = g.stopping;
    pthread_mutex_unlock(&g.mu);
    return s;
}

/* ---- DNS ---------------------------------------------------------------------- */

/* Ask the configured resolvers in turn for (name, qtype) until one gives
 * an answer that is not SERVFAIL/REFUSED. 0 and resp[0 .. *len), or a
 * negative error with why set. */
static int lookup(const struct dns_name *name, uint16_t qtype, uint8_t *resp, size_t cap,
                  size_t *len, char *why, size_t whylen)
{
    struct dns_query_opts o = {.rd = true, .edns = true, .timeout_ms = 3000, .tries = 2};
    int last = -ETIMEDOUT;
    diagf(why, whylen, "no resolver answered");
    for (size_t i = 0; i < g.cfg.nresolvers; i++) {
        /* A stopping server asks no more (a query itself is bounded by
         * its tries). */
        if (stopping_now()) {
            diagf(why, whylen, "shutting down");
            return -ECANCELED;
        }
        struct dns_reply r;
        int e = dns_client_query(&g.cfg.resolvers[i], name, qtype, DNS_CLASS_IN, &o, resp, cap, &r);
        if (e < 0) {
            last = e;
            diagf(why, whylen, "%s", e == -ETIMEDOUT ? "no answer (timed out)" : op_strerror(e));
            continue;
        }
        struct dns_header h;
        if (dns_header_read(resp, r.len, &h) < 0)
            continue;
        if (h.rcode == DNS_RCODE_NOERROR || h.rcode == DNS_RCODE_NXDOMAIN) {
            *len = r.len;
            return 0;
        }
        last = -EAGAIN;
        diagf(why, whylen, "%s", h.rcode == DNS_RCODE_SERVFAIL ? "SERVFAIL"
                                    : h.rcode == DNS_RCODE_REFUSED ? "REFUSED" : "an error");
    }
    return last;
}

/* The addresses of host (A, then AAAA) with the SMTP port: how many, or
 * -EAGAIN (temporary, why says so). */
static int host_addrs(const struct dns_name *host, struct sockaddr_storage *out, size_t max,
                      char *why, size_t whylen)
{
    uint8_t *resp = malloc(DNS_MSG_MAX);
    if (!resp)
        return -ENOMEM;
    size_t n = 0;
    int temp = 0;
    static const uint16_t types[] = {DNS_TYPE_A, DNS_TYPE_AAAA};
    for (size_t t = 0; t < ARRAY_LEN(types); t++) {
        size_t len;
        if (lookup(host, types[t], resp, DNS_MSG_MAX, &len, why, whylen) < 0) {
            temp = -EAGAIN;
            continue;
        }
        int k = mx_addrs_parse(resp, len, types[t], (uint16_t)g.cfg.smtp_port, out + n, max - n);
        if (k < 0) {
            temp = -EAGAIN;
            diagf(why, whylen, "unreadable answer");
        } else {
            n += (size_t)k;
        }
    }
    free(resp);
    return n ? (int)n : temp ? temp : 0;
}

/* ---- one domain --------------------------------------------------------------- */

struct outcome {
    size_t idx;                 /* into m->rcpts */
    bool done;
    enum queue_rcpt_state st;
    char diag[QUEUE_ERR_MAX];
    char mta[DNS_NAME_MAXTEXT];
    bool relayed;               /* delivered to a server without DSN */
};

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof ip);
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof ip);
    diagf(out, cap, "%s", ip);
}

static void set_all(struct outcome *oc, size_t n, enum queue_rcpt_state st, const char *diag,
                    const char *mta)
{
    for (size_t i = 0; i < n; i++) {
        if (oc[i].done)
            continue;
        oc[i].st = st;
        oc[i].done = st != QUEUE_PENDING;
        str_copy(oc[i].diag, sizeof oc[i].diag, diag);
        str_copy(oc[i].mta, sizeof oc[i].mta, mta ? mta : "");
    }
}

static size_t pending(const struct outcome *oc, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !oc[i].done;
    return k;
}

/* ---- a connection kept for the next message --------------------------------
 *
 * RFC 5321 section 3.3 lets one session carry several transactions. After a
 * message, a runner keeps its connection while it has more due messages to
 * take: the next one for the same host and address goes out on it (after
 * an RSET that also tells whether the server is still there), which saves
 * the connection, the greeting, EHLO and the TLS handshake. Each runner
 * keeps at most one, for at most KEEP_MSGS messages and KEEP_SECONDS, and
 * closes it as soon as nothing is due. */
struct kept {
    struct smtp_client *c;
    char host[DNS_NAME_MAXTEXT];
    struct sockaddr_storage addr;
    unsigned msgs;              /* messages it has carried */
    time_t opened;
};

static _Thread_local struct kept t_kept;

static void kept_close(void)
{
    smtp_client_close(t_kept.c);
    memset(&t_kept, 0, sizeof t_kept);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* The kept connection when it leads to host at ss and still answers; it is
 * then no longer kept (the caller owns it). Else NULL; one to another host
 * stays kept (a preferred host may be tried and found down first). */
static struct smtp_client *kept_take(struct queue_msg *m, const char *host,
                                     const struct sockaddr_storage *ss, const char *where,
                                     unsigned *msgs, time_t *opened)
{
    if (!t_kept.c)
        return NULL;
    if (strcasecmp(t_kept.host, host) != 0 || !same_addr(&t_kept.addr, ss))
        return NULL;
    struct smtp_client *c = t_kept.c;
    *msgs = t_kept.msgs;
    *opened = t_kept.opened;
    t_kept.c = NULL;
    if (smtp_client_reset(c) < 0) {
        log_info("delivery %s: %s: the kept connection is gone; connecting again", m->id, where);
        smtp_client_close(c);
        return NULL;
    }
    log_info("delivery %s: %s: connection reused (message %u on it)", m->id, where, *msgs + 1);
    return c;
}

/* After a message: keep c for the next one, or close it. */
static void kept_put(struct smtp_client *c, bool usable, const char *host,
                     const struct sockaddr_storage *ss, unsigned msgs, time_t opened)
{
    kept_close();
    if (!usable || msgs >= KEEP_MSGS || time(NULL) - opened >= KEEP_SECONDS || stopping_now()) {
        smtp_client_close(c);
        return;
    }
    t_kept.c = c;
    str_copy(t_kept.host, sizeof t_kept.host, host);
    t_kept.addr = *ss;
    t_kept.msgs = msgs;
    t_kept.opened = opened;
}

/* One connection to one address of host: returns true when the server
 * answered (its 4xx recipients go on to the next host), false when the
 * connection failed (try the next address). *cancelled on shutdown. */
static bool try_addr(struct queue_msg *m, const char *host, const struct sockaddr_storage *ss,
                     struct outcome *oc, size_t n, bool *cancelled)
{
    char ip[INET6_ADDRSTRLEN], where[DNS_NAME_MAXTEXT + 80];
    addr_text(ss, ip, sizeof ip);
    diagf(where, sizeof where, "%s[%s]", host, ip);
    struct smtp_client_opts o = {.helo = g.hostname, .peer_name = host,
                                 .cancel_fd = g.cancel_fd, .t = g.t};
    unsigned msgs = 0;
    time_t opened = time(NULL);
    struct smtp_client *c = kept_take(m, host, ss, where, &msgs, &opened);
    int code = 0;
    char diag[SMTP_DIAG_MAX];
    socklen_t sl = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    enum smtp_open_result r = c ? SMTP_OPEN_OK
                                : smtp_client_open(&c, (const struct sockaddr *)ss, sl, &o, &code,
                                                   diag, sizeof diag);
    if (r == SMTP_OPEN_TLS_FAILED) {
        log_warn("delivery %s: %s: %s; connecting again without TLS", m->id, where, diag);
        o.no_starttls = true;
        r = smtp_client_open(&c, (const struct sockaddr *)ss, sl, &o, &code, diag, sizeof diag);
    }
    if (r != SMTP_OPEN_OK) {
        char d[QUEUE_ERR_MAX];
        diagf(d, sizeof d, "%s: %s", where, diag);
        log_info("delivery %s: %s", m->id, d);
        *cancelled = stopping_now();
        set_all(oc, n, QUEUE_PENDING, d, code ? host : NULL);
        return false;
    }
    const char *tls = smtp_client_tls(c);
    /* (A kept connection said so when it was opened.) */
    if (msgs == 0 && tls[0])
        log_info("delivery %s: %s: TLS %s (certificate not verified: opportunistic)", m->id,
                 where, tls);
    else if (msgs == 0)
        log_info("delivery %s: %s: plaintext (%s)", m->id, where,
                 smtp_client_ext(c)->flags & SMTP_EXT_STARTTLS ? "STARTTLS failed"
                                                               : "no STARTTLS offered");
    struct smtp_rcpt *rc = calloc(TXN_RCPTS, sizeof *rc);
    size_t *map = calloc(TXN_RCPTS, sizeof *map);
    if (!rc || !map) {
        free(rc);
        free(map);
        smtp_client_close(c);
        set_all(oc, n, QUEUE_PENDING, "out of memory", NULL);
        return false;
    }
    struct smtp_message msg = {.sender = m->sender, .envid = m->envid, .ret = m->ret,
                               .body_8bit = m->body_8bit, .smtputf8 = m->smtputf8,
                               .fd = m->data_fd, .len = m->data_len};
    bool dsn = smtp_client_ext(c)->flags & SMTP_EXT_DSN;
    /* Transactions of at most TXN_RCPTS recipients (every server takes
     * 100, RFC 5321 section 4.5.3.1.8; it also bounds a pipelined write)
     * until each recipient has been offered once; those refused with 452
     * "too many recipients" get another transaction on the same connection
     * (section 4.5.3.1.10) as long as the previous one made progress. */
    bool *offered = calloc(n ? n : 1, sizeof *offered);
    int e = offered ? 0 : -ENOMEM;
    for (int round = 0; e == 0 && round < 1000; round++) {
        size_t k = 0;
        for (size_t i = 0; i < n && k < TXN_RCPTS; i++) {
            if (oc[i].done || offered[i])
                continue;
            const struct queue_rcpt *qr = &m->rcpts[oc[i].idx].r;
            rc[k] = (struct smtp_rcpt){.addr = qr->addr, .orcpt = qr->orcpt, .notify = qr->notify};
            map[k++] = i;
        }
        if (k == 0)
            break;
        e = smtp_client_send(c, &msg, rc, k);
        bool progress = false;
        for (size_t j = 0; j < k; j++) {
            struct outcome *x = &oc[map[j]];
            diagf(x->diag, sizeof x->diag, "%s%s %s", where, rc[j].local ? ":" : " said:",
                  rc[j].diag);
            str_copy(x->mta, sizeof x->mta, host);
            offered[map[j]] = rc[j].code != 452;
            if (rc[j].code / 100 == 2) {
                x->st = QUEUE_DELIVERED;
                x->done = true;
                progress = true;
                /* RFC 3461 section 5.2.1: a server with DSN got NOTIFY and
                 * reports success itself; section 5.2.2: one without it
                 * cannot, and the queue owes a "relayed" notice. */
                x->relayed = !dsn;
            } else if (rc[j].code / 100 == 5) {
                x->st = QUEUE_FAILED;
                x->done = true;
                progress = true;
            } else {
                x->st = QUEUE_PENDING;
            }
            log_info("delivery %s: <%s> via %s: %s", m->id, rc[j].addr, where, rc[j].diag);
        }
        if (!progress) {
            /* Nothing taken: the 452s stay for the next host or attempt. */
            for (size_t i = 0; i < n; i++)
                offered[i] = true;
        }
    }
    if (e == -ECANCELED)
        *cancelled = true;
    free(offered);
    free(rc);
    free(map);
    kept_put(c, e == 0 && !*cancelled, host, ss, msgs + 1, opened);
    return true;
}

/* The loop guard asks at every attempt, with the settings and accounts of
 * the moment (a domain made local by a reload or a new account is seen at
 * once); the list given at start serves only when the SMTP service cannot
 * say. */
static bool is_local(const char *domain)
{
    int r = smtp_domain_local(domain);
    if (r >= 0)
        return r == 1;
    for (size_t i = 0; i < g.nlocal; i++)
        if (strcasecmp(g.local[i], domain) == 0)
            return true;
    return false;
}

static void deliver_domain(struct queue_msg *m, const char *domain, struct outcome *oc, size_t n,
                           bool *cancelled)
{
    char d[QUEUE_ERR_MAX];
    if (is_local(domain)) {
        diagf(d, sizeof d, "554 5.4.6 mail for the local domain %s is in the outgoing queue: "
                 "not sent out (a routing loop)", domain);
        set_all(oc, n, QUEUE_FAILED, d, NULL);
        return;
    }
    struct mx_host *hosts = calloc(MX_MAX, sizeof *hosts);
    uint8_t *resp = malloc(DNS_MSG_MAX);
    struct sockaddr_storage *addrs = calloc(2 * MX_ADDR_MAX, sizeof *addrs);
    if (!hosts || !resp || !addrs) {
        set_all(oc, n, QUEUE_PENDING, "out of memory", NULL);
        goto out;
    }
    size_t nh = 0;
    size_t dl = strlen(domain);
    if (dl > 2 && domain[0] == '[' && domain[dl - 1] == ']') {
        /* An address literal (RFC 5321 section 4.1.3): no DNS. */
        char lit[64];
        const char *a = domain + 1;
        if (strncasecmp(a, "IPv6:", 5) == 0)
            a += 5;
        diagf(lit, sizeof lit, "%.*s", (int)(domain + dl - 1 - a), a);
        struct dns_server s;
        if (dns_server_from_text(&s, lit, (uint16_t)g.cfg.smtp_port) < 0) {
            diagf(d, sizeof d, "501 5.1.2 %s is not an address literal", domain);
            set_all(oc, n, QUEUE_FAILED, d, NULL);
            goto out;
        }
        bool answered = try_addr(m, domain, &s.addr, oc, n, cancelled);
        (void)answered;
        goto out;
    }
    /* A domain in UTF-8 (an SMTPUTF8 address, RFC 6531) is looked up by
     * its A-labels (RFC 5890): libidn's IDNA conversion. */
    const char *qname = domain;
    char *alabels = NULL;
    bool ascii = true;
    for (const char *p = domain; *p; p++)
        ascii = ascii && (unsigned char)*p < 0x80;
    if (!ascii) {
        if (idna_to_ascii_8z(domain, &alabels, 0) != IDNA_SUCCESS) {
            diagf(d, sizeof d, "553 5.1.2 %s is not a valid internationalised domain name",
                  domain);
            set_all(oc, n, QUEUE_FAILED, d, NULL);
            goto out;
        }
        qname = alabels;
    }
    struct dns_name dn;
    int bad = dns_name_from_text(&dn, qname, strlen(qname), NULL);
    free(alabels);
    if (bad < 0) {
        diagf(d, sizeof d, "550 5.1.2 %s is not a valid domain name", domain);
        set_all(oc, n, QUEUE_FAILED, d, NULL);
        goto out;
    }
    char why[128];
    size_t len;
    int e = lookup(&dn, DNS_TYPE_MX, resp, DNS_MSG_MAX, &len, why, sizeof why);
    if (e < 0) {
        *cancelled = e == -ECANCELED;
        diagf(d, sizeof d, "MX lookup for %s: %s", domain, why);
        log_info("delivery %s: %s", m->id, d);
        set_all(oc, n, QUEUE_PENDING, d, NULL);
        goto out;
    }
    switch (mx_parse(resp, len, hosts, MX_MAX, &nh)) {
    case MX_NULL:
        diagf(d, sizeof d, "556 5.1.10 %s accepts no mail (null MX, RFC 7505)", domain);
        set_all(oc, n, QUEUE_FAILED, d, NULL);
        goto out;
    case MX_NXDOMAIN:
        diagf(d, sizeof d, "550 5.1.2 the domain %s does not exist (NXDOMAIN)", domain);
        set_all(oc, n, QUEUE_FAILED, d, NULL);
        goto out;
    case MX_TEMPFAIL:
        diagf(d, sizeof d, "MX lookup for %s: unreadable answer", domain);
        set_all(oc, n, QUEUE_PENDING, d, NULL);
        goto out;
    case MX_NODATA:
        /* RFC 5321 section 5.1: no MX, the domain is its own mail host
         * (an implicit MX of preference 0). */
        hosts[0].pref = 0;
        hosts[0].name = dn;
        dns_name_lower(&hosts[0].name);
        {
            int tl = dns_name_to_text(&hosts[0].name, hosts[0].text, sizeof hosts[0].text);
            if (tl > 1)
                hosts[0].text[tl - 1] = '\0';      /* no final dot */
        }
        nh = 1;
        break;
    case MX_FOUND:
        mx_order(hosts, nh, random_below);
        break;
    }
    for (size_t h = 0; h < nh && pending(oc, n) && !*cancelled; h++) {
        int na = host_addrs(&hosts[h].name, addrs, 2 * MX_ADDR_MAX, why, sizeof why);
        if (stopping_now()) {
            *cancelled = true;
            break;
        }
        if (na <= 0) {
            diagf(d, sizeof d, "address lookup for %s: %s", hosts[h].text,
                     na < 0 ? why : "no address (A/AAAA)");
            log_info("delivery %s: %s", m->id, d);
            set_all(oc, n, QUEUE_PENDING, d, NULL);
            continue;
        }
        for (int a = 0; a < na && !*cancelled; a++)
            if (try_addr(m, hosts[h].text, &addrs[a], oc, n, cancelled))
                break;          /* the server answered: next host for what is left */
    }
out:
    free(hosts);
    free(resp);
    free(addrs);
}

static const char *domain_of(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : "";
}

/* One attempt; true when the server's shutdown cut it. */
static bool deliver_msg(struct queue_msg *m)
{
    struct outcome *oc = calloc(m->nrcpts ? m->nrcpts : 1, sizeof *oc);
    bool *seen = calloc(m->nrcpts ? m->nrcpts : 1, sizeof *seen);
    if (!oc || !seen) {
        free(oc);
        free(seen);
        return false;
    }
    bool cancelled = false;
    for (size_t i = 0; i < m->nrcpts && !cancelled; i++) {
        if (seen[i] || m->rcpts[i].state != QUEUE_PENDING)
            continue;
        const char *dom = domain_of(m->rcpts[i].r.addr);
        size_t n = 0;
        for (size_t j = i; j < m->nrcpts; j++) {
            if (seen[j] || m->rcpts[j].state != QUEUE_PENDING ||
                strcasecmp(domain_of(m->rcpts[j].r.addr), dom) != 0)
                continue;
            seen[j] = true;
            oc[n] = (struct outcome){.idx = j, .st = QUEUE_PENDING};
            n++;
        }
        deliver_domain(m, dom, oc, n, &cancelled);
        for (size_t k = 0; k < n; k++) {
            /* A recipient the shutdown left undecided keeps what the last
             * whole attempt recorded. */
            if (cancelled && !oc[k].done)
                continue;
            queue_rcpt_result(m, oc[k].idx, oc[k].st, oc[k].diag,
                              oc[k].mta[0] ? oc[k].mta : NULL);
            if (oc[k].st == QUEUE_DELIVERED && oc[k].relayed)
                queue_rcpt_relayed(m, oc[k].idx);
            if (oc[k].st == QUEUE_FAILED)
                log_info("delivery %s: <%s> failed for good: %s", m->id,
                         m->rcpts[oc[k].idx].r.addr, oc[k].diag);
        }
    }
    free(oc);
    free(seen);
    return cancelled;
}

/* ---- runners ----------------------------------------------------------------- */

static void *runner(void *arg)
{
    (void)arg;
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&g.mu);
        bool stop = g.stopping;
        seen = g.kicks;
        pthread_mutex_unlock(&g.mu);
        if (stop) {
            kept_close();
            break;
        }
        struct queue_msg *m = NULL;
        unsigned wait_s = 1;
        int r = queue_claim(time(NULL), &m, &wait_s);
        if (r == 1) {
            log_info("delivery %s: attempt %u, from <%s>, %zu recipient(s)", m->id,
                     m->attempts + 1, m->sender, m->nrcpts);
            bool cut = deliver_msg(m);
            char id[QUEUE_ID_MAX];
            str_copy(id, sizeof id, m->id);
            int e = cut ? queue_release_cut(m, time(NULL)) : queue_release(m, time(NULL));
            if (e < 0)
                log_err("delivery %s: recording the outcome: %s", id, op_strerror(e));
            else if (cut)
                log_info("delivery %s: attempt cut by the shutdown: not counted", id);
            continue;
        }
        /* Nothing more to take now: a kept connection is not held open
         * while waiting. */
        kept_close();
        if (r < 0)
            log_err("delivery: reading the queue: %s", op_strerror(r));
        /* Look again within a second (a flush from `outpost queue` is
         * seen that way) or at once when kicked. */
        pthread_mutex_lock(&g.mu);
        if (!g.stopping && g.kicks == seen) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&g.cv, &g.mu, &ts);
        }
        pthread_mutex_unlock(&g.mu);
    }
    return NULL;
}

int delivery_start(const struct delivery_config *cfg)
{
    if (g.started)
        return -EALREADY;
    g.cfg = *cfg;
    g.datadir = xstrdup(cfg->datadir ? cfg->datadir : ".");
    g.hostname = xstrdup(cfg->hostname && cfg->hostname[0] ? cfg->hostname : "localhost");
    g.nlocal = cfg->nlocal_domains;
    g.local = calloc(g.nlocal ? g.nlocal : 1, sizeof *g.local);
    if (!g.local)
        return -ENOMEM;
    for (size_t i = 0; i < g.nlocal; i++)
        g.local[i] = xstrdup(cfg->local_domains[i]);
    g.cfg.datadir = g.datadir;
    g.cfg.hostname = g.hostname;
    g.cfg.local_domains = NULL;
    if (g.cfg.nresolvers == 0) {
        int n = dns_resolv_conf_read(NULL, g.cfg.resolvers, DNS_RESOLV_MAXNS);
        g.cfg.nresolvers = n > 0 ? (size_t)n : 0;
        if (n <= 0)
            log_err("delivery: no resolver (%s): mail to other domains waits",
                    n < 0 ? op_strerror(n) : "none");
    }
    if (!g.cfg.smtp_port)
        g.cfg.smtp_port = 25;
    smtp_timeouts_default(&g.t);
    if (cfg->connect_timeout_ms)
        g.t.connect_ms = cfg->connect_timeout_ms;
    if (cfg->smtp_timeout_ms)
        smtp_timeouts_cap(&g.t, cfg->smtp_timeout_ms);
    if (smtp_client_init() < 0)
        log_err("delivery: no TLS client context: STARTTLS will not be used");
    g.cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (g.cancel_fd < 0)
        return -errno;
    g.stopping = false;
    unsigned n = cfg->runners ? cfg->runners : 1;
    if (n > RUNNERS_MAX)
        n = RUNNERS_MAX;
    for (g.nth = 0; g.nth < n; g.nth++)
        if (pthread_create(&g.th[g.nth], NULL, runner, NULL) != 0)
            break;
    g.started = true;
    log_info("delivery: %u runner(s), SMTP port %u, %zu resolver(s)", g.nth, g.cfg.smtp_port,
             g.cfg.nresolvers);
    return g.nth ? 0 : -EAGAIN;
}

void delivery_kick(void)
{
    pthread_mutex_lock(&g.mu);
    g.kicks++;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
}

void delivery_stop(void)
{
    if (!g.started)
        return;
    pthread_mutex_lock(&g.mu);
    g.stopping = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    /* Attempts in progress end at their next wait: what they did not
     * finish stays pending in the queue. */
    uint64_t one = 1;
    if (write(g.cancel_fd, &one, sizeof one) < 0)
        log_warn("delivery: cannot signal the runners to stop");
    for (unsigned i = 0; i < g.nth; i++)
        pthread_join(g.th[i], NULL);
    close(g.cancel_fd);
    g.cancel_fd = -1;
    smtp_client_cleanup();
    for (size_t i = 0; i < g.nlocal; i++)
        free(g.local[i]);
    free(g.local);
    free(g.datadir);
    free(g.hostname);
    g.local = NULL;
    g.nlocal = 0;
    g.started = false;
}
