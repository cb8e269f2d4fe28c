/*
 * server.c - the authoritative DNS service's transport and wiring (see
 * server.h): UDP datagrams and length-framed TCP messages in, answers from
 * auth.c out, rate limiting, the published zone set.
 */
#include "dns/server.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "dns/auth.h"
#include "dns/consts.h"
#include "dns/rrl.h"
#include "dns/secondary.h"
#include "dns/wire.h"
#include "dns/xfrout.h"
#include "net/conn.h"
#include "net/server.h"
#include "net/udp.h"

static _Atomic(struct dns_zoneset *) g_zones;
static _Atomic unsigned g_udp_payload = 1232;
static _Atomic bool g_log_queries;

static void set_tcp_timeouts(unsigned ms);

/* ---- the zone set ---------------------------------------------------------- */

static void release_set(void *arg)
{
    dns_zoneset_unref(arg);
}

void dns_server_set_zones(struct dns_zoneset *zs)
{
    struct dns_zoneset *old = atomic_exchange_explicit(&g_zones, zs, memory_order_acq_rel);
    if (old)
        server_quiesce(release_set, old);
}

void dns_server_cleanup(void)
{
    struct dns_zoneset *old = atomic_exchange(&g_zones, NULL);
    if (old)
        dns_zoneset_unref(old);
}

/* The set to answer from. A loop uses it only within the current callback
 * (see server_quiesce), so no reference is taken. */
static const struct dns_zoneset *current_zones(void)
{
    return atomic_load_explicit(&g_zones, memory_order_acquire);
}

void dns_server_configure(const struct dns_server_config *c)
{
    atomic_store(&g_udp_payload, c->udp_payload);
    atomic_store(&g_log_queries, c->log_queries);
    dns_rrl_configure(c->rrl_rate, c->rrl_slip);
    set_tcp_timeouts(c->tcp_idle_ms);
}

/* ---- answers the auth module leaves to the transport --------------------------- */

/* The header and the first question of msg[0..len) into out, with the
 * record counts after the question set to 0. Returns the length, or 0 when
 * msg has no readable question. */
static size_t header_and_question(const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
    if (len < DNS_HEADER_SIZE || (msg[4] << 8 | msg[5]) == 0)
        return 0;
    int nl = dns_name_read(msg, len, DNS_HEADER_SIZE, NULL);
    if (nl < 0)
        return 0;
    size_t end = DNS_HEADER_SIZE + (size_t)nl + 4;
    if (end > len || end > cap)
        return 0;
    memmove(out, msg, end);
    out[4] = 0, out[5] = 1;              /* QDCOUNT 1 */
    memset(out + 6, 0, 6);               /* ANCOUNT, NSCOUNT, ARCOUNT 0 */
    return end;
}

/* NOTIMP for a zone transfer request, until AXFR/IXFR are implemented: the
 * question echoed, QR set, opcode and RD kept (RFC 1035 section 4.1.1). */
static size_t notimp(const uint8_t *q, size_t qlen, uint8_t *out, size_t cap)
{
    size_t n = header_and_question(q, qlen, out, cap);
    if (n == 0)
        return 0;
    out[2] = (uint8_t)((out[2] & 0x79) | 0x80);  /* QR, keep opcode and RD; AA, TC off */
    out[3] = DNS_RCODE_NOTIMP;                   /* RA, Z, AD, CD off */
    return n;
}

/* A response rate limiting lets "slip": the same header with TC set and
 * only the question, so that the client asks again over TCP. */
static size_t slip(uint8_t *resp, size_t len)
{
    size_t n = header_and_question(resp, len, resp, len);
    if (n)
        resp[2] |= DNS_FLAG_TC >> 8;
    return n;
}

static void log_query(const char *proto, const struct sockaddr_storage *peer,
                      const struct dns_auth_result *res, size_t rlen, const char *note)
{
    char addr[80], name[DNS_NAME_MAXTEXT], tbuf[DNS_MNEMONIC_MAX], rbuf[DNS_MNEMONIC_MAX];
    server_format_addr(peer, addr, sizeof addr);
    if (res->qname.len == 0 || dns_name_to_text(&res->qname, name, sizeof name) < 0)
        str_copy(name, sizeof name, "-");
    log_info("dns %s %s %s %s %s %zu%s%s", proto, addr, name,
             res->qname.len ? dns_type_to_text(res->qtype, tbuf) : "-",
             res->kind == DNS_AUTH_DROP ? "dropped" : dns_rcode_to_text(res->rcode, rbuf), rlen,
             res->truncated ? " TC" : "", note);
}

/* ---- UDP ----------------------------------------------------------------------- */

/* A NOTIFY (RFC 1996) is for the secondary module, not for auth. */
static bool is_notify(const uint8_t *q, size_t qlen)
{
    return qlen >= DNS_HEADER_SIZE && ((q[2] >> 3) & 0xF) == DNS_OPCODE_NOTIFY;
}

static size_t on_datagram(const uint8_t *q, size_t qlen, const struct sockaddr_storage *peer,
                          uint8_t *out, size_t cap)
{
    if (is_notify(q, qlen))
        return dns_secondary_notify(q, qlen, peer, out, cap);
    struct dns_auth_result res;
    memset(&res, 0, sizeof res);
    const struct dns_zoneset *zs = current_zones();
    if (!zs)
        return 0;                        /* only before the first load, or out of memory */
    struct dns_auth_opts o = {.tcp = false, .udp_max = (uint16_t)atomic_load(&g_udp_payload)};
    size_t n = dns_auth_respond(zs, q, qlen, &o, out, cap, &res);
    if (res.kind == DNS_AUTH_XFR)        /* zone transfers are TCP only */
        n = notimp(q, qlen, out, cap);
    const char *note = "";
    if (n > 0) {
        switch (dns_rrl_check(peer, &res, clock_ms())) {
        case DNS_RRL_SEND:
            break;
        case DNS_RRL_DROP:
            n = 0;
            note = " rate-limited";
            break;
        case DNS_RRL_SLIP:
            n = slip(out, n);
            note = " rate-limited, slipped";
            break;
        }
    }
    if (atomic_load_explicit(&g_log_queries, memory_order_relaxed))
        log_query("udp", peer, &res, n, note);
    return n;
}

static const struct udp_service g_udp = {
    .name = "dns",
    .handle = on_datagram,
};

/* ---- TCP ------------------------------------------------------------------------- */

static void on_open(struct conn *c) {}
static void on_too_long(struct conn *c) {}
static void on_timeout(struct conn *c) {}

/* ---- zone transfers: one message at a time as the output drains ---------------- */

/* Write transfer messages while the connection's output is short; then
 * wait for it to drain (net/conn.c backpressure). The end of the transfer
 * lets the next pipelined query through. */
static void xfr_pump(struct conn *c)
{
    struct dns_xfrout *x = conn_session(c);
    /* The client is reading: a long transfer is not an idle connection. */
    conn_touch(c);
    for (int i = 0; x && i < 64 && conn_out_len(c) < CONN_OUT_LOW; i++) {
        struct buf *out = conn_out(c);
        uint8_t *w = (uint8_t *)buf_reserve(out, 2 + DNS_MSG_MAX);
        if (!w) {
            conn_close(c);
            return;
        }
        size_t n = dns_xfrout_next(x, w + 2, DNS_MSG_MAX);
        if (n == 0) {
            dns_xfrout_free(x);
            conn_set_session(c, NULL);
            conn_flush_later(c);
            conn_resume(c);
            return;
        }
        w[0] = (uint8_t)(n >> 8);
        w[1] = (uint8_t)n;
        buf_commit(out, 2 + n);
    }
    conn_flush_later(c);
    conn_want_drain(c);
}

static void on_drain(struct conn *c)
{
    xfr_pump(c);
}

static void on_close(struct conn *c)
{
    dns_xfrout_free(conn_session(c));
    conn_set_session(c, NULL);
}

/* A transfer request: answered at once (an error) or streamed. */
static void xfr_begin(struct conn *c, const struct dns_zoneset *zs, const uint8_t *q,
                      size_t qlen, uint8_t *w)
{
    size_t n = 0;
    struct dns_xfrout *x =
        dns_xfrout_begin(zs, q, qlen, conn_peer_addr(c), clock_ms(), w + 2, DNS_MSG_MAX, &n);
    if (!x) {
        if (n) {
            w[0] = (uint8_t)(n >> 8);
            w[1] = (uint8_t)n;
            if (buf_append(conn_out(c), w, 2 + n) < 0) {
                conn_close(c);
                return;
            }
            conn_flush_later(c);
        }
        return;
    }
    /* Queries pipelined behind the transfer wait for its end (RFC 7766
     * section 6.2.1.1 allows either; in order is simpler for clients). */
    conn_set_session(c, x);
    conn_pause(c);
    xfr_pump(c);
}

/* Room for one TCP answer and its length prefix, per loop thread. A TCP
 * answer may take up to 65535 octets, but most take a few hundred:
 * reserving the maximum in the connection's output made every answer grow
 * (and, once drained, free) a 64-128 KiB buffer, which cost more than
 * answering; the answer is built here and only its length is copied.
 * Allocated on a thread's first TCP query and freed when the thread ends
 * (a thread-specific key's destructor), so threads that never answer TCP
 * (the worker pool's) carry none of it: a static thread-local array would
 * sit in every thread's stack mapping. */
static pthread_key_t g_tcp_answer_key;
static pthread_once_t g_tcp_answer_once = PTHREAD_ONCE_INIT;

static void tcp_answer_key_make(void)
{
    if (pthread_key_create(&g_tcp_answer_key, free) != 0)
        abort();                         /* only when the process is out of keys */
}

static uint8_t *tcp_answer_buffer(void)
{
    pthread_once(&g_tcp_answer_once, tcp_answer_key_make);
    uint8_t *w = pthread_getspecific(g_tcp_answer_key);
    if (!w) {
        w = malloc(2 + DNS_MSG_MAX);
        if (w && pthread_setspecific(g_tcp_answer_key, w) != 0) {
            free(w);
            w = NULL;
        }
    }
    return w;
}

static void on_message(struct conn *c, const uint8_t *q, size_t qlen)
{
    const struct dns_zoneset *zs = current_zones();
    if (!zs)
        return;
    uint8_t *w = tcp_answer_buffer();
    if (!w) {
        conn_close(c);                   /* out of memory: as for a failed append below */
        return;
    }
    struct dns_auth_result res;
    memset(&res, 0, sizeof res);
    struct dns_auth_opts o = {.tcp = true, .udp_max = (uint16_t)atomic_load(&g_udp_payload)};
    size_t n;
    if (is_notify(q, qlen)) {
        n = dns_secondary_notify(q, qlen, conn_peer_addr(c), w + 2, DNS_MSG_MAX);
    } else {
        n = dns_auth_respond(zs, q, qlen, &o, w + 2, DNS_MSG_MAX, &res);
        if (atomic_load_explicit(&g_log_queries, memory_order_relaxed))
            log_query("tcp", conn_peer_addr(c), &res, n,
                      res.kind == DNS_AUTH_XFR ? " transfer" : "");
        if (res.kind == DNS_AUTH_XFR) {
            xfr_begin(c, zs, q, qlen, w);
            return;
        }
    }
    if (n == 0)
        return;                          /* dropped: the next query goes on */
    w[0] = (uint8_t)(n >> 8);
    w[1] = (uint8_t)n;
    if (buf_append(conn_out(c), w, 2 + n) < 0) {
        conn_close(c);
        return;
    }
    conn_flush_later(c);
}

static const struct conn_ops g_tcp_ops = {
    .on_open = on_open,
    .on_too_long = on_too_long,
    .on_timeout = on_timeout,
    .on_close = on_close,
    .on_drain = on_drain,
    .on_message = on_message,
};

static struct service g_tcp = {
    .name = "dns",
    .ops = &g_tcp_ops,
    .busy_reply = NULL,                  /* DNS has no greeting: over the limits, just close */
    .max_line = DNS_TCP_MAX_QUERY,
    .framing = CONN_FRAME_LEN16,
    .idle_ms = 10000,
    .command_ms = 10000,
};

int dns_server_listen(const struct cfg_addrs *addrs, char *err, size_t errlen)
{
    int r = udp_listen(&g_udp, addrs, err, errlen);
    if (r == 0)
        r = server_listen(&g_tcp, addrs, false, err, errlen);
    return r;
}

/* The timeouts of the TCP service are read at accept (net/conn.c). */
static void set_tcp_timeouts(unsigned ms)
{
    g_tcp.idle_ms = ms;
    g_tcp.command_ms = ms;
}
