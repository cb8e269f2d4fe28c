/*
 * client.c - one question to one server, over UDP with retries and over
 * TCP. See client.h.
 */
#include "dns/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/util.h"
#include "dns/consts.h"
#include "dns/edns.h"
#include "dns/wire.h"
#include "dns/writer.h"

/* Datagrams one UDP try reads at most before giving up on that try: a
 * flood of forgeries costs a bounded amount of work. The same bound holds
 * for messages on one TCP connection. */
#define MAX_READS_PER_TRY 256

/* A query is one question and an OPT RR with no options: well under 512. */
#define QUERY_MAX 512

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Milliseconds left until deadline (microseconds), rounded up, for poll(). */
static int ms_left(uint64_t deadline)
{
    uint64_t now = now_us();
    if (now >= deadline)
        return 0;
    return (int)((deadline - now + 999) / 1000);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void emit(const struct dns_query_opts *o, enum dns_client_event_kind kind, bool tcp,
                 int err, uint16_t want_id)
{
    if (!o->on_event)
        return;
    struct dns_client_event ev = {.kind = kind, .tcp = tcp, .err = err, .want_id = want_id};
    o->on_event(o->arg, &ev);
}

/* Tell about a message that was dropped. from_server: it came from the
 * server's address and port, so a different ID is why it was dropped
 * (the ID is checked first). */
static void emit_ignored(const struct dns_query_opts *o, bool tcp, const char *why,
                         uint16_t want_id, const uint8_t *msg, size_t len, bool from_server)
{
    if (!o->on_event)
        return;
    struct dns_client_event ev = {.kind = DNS_CLIENT_IGNORED, .tcp = tcp, .why = why,
                                  .want_id = want_id};
    if (len >= 2) {
        ev.got_id = get16(msg);
        ev.wrong_id = from_server && ev.got_id != want_id;
    }
    o->on_event(o->arg, &ev);
}

/* ---- the query ---------------------------------------------------------------- */

int dns_client_build_query(uint8_t *buf, size_t cap, uint16_t id, const struct dns_name *qname,
                           uint16_t qtype, uint16_t qclass, const struct dns_query_opts *o)
{
    struct dns_writer w;
    struct dns_header h = {.id = id, .rd = o->rd, .cd = o->cd, .opcode = DNS_OPCODE_QUERY};
    int r = dns_writer_init(&w, buf, cap, &h);
    if (r < 0)
        return r;
    if ((r = dns_writer_question(&w, qname, qtype, qclass)) < 0)
        return r;
    if (o->edns) {
        /* RFC 6891 section 6.1.1: one OPT RR, in the additional section. */
        struct dns_edns_out e = {
            .udp_size = o->udp_size ? o->udp_size : DNS_CLIENT_UDP_SIZE,
            .do_bit = o->do_bit,
        };
        if ((r = dns_edns_write(&w, &e)) < 0)
            return r;
    }
    return (int)dns_writer_len(&w);
}

const char *dns_client_check_reply(const uint8_t *query, size_t qlen, const uint8_t *resp,
                                   size_t rlen)
{
    struct dns_header q, a;
    if (dns_header_read(query, qlen, &q) < 0)
        return "the query is malformed";
    if (dns_header_read(resp, rlen, &a) < 0)
        return "shorter than a DNS header";
    if (a.id != q.id)
        return "ID mismatch";
    if (!a.qr)
        return "not a response (QR is clear)";
    if (a.opcode != q.opcode)
        return "opcode mismatch";
    /* RFC 5452 section 9.1: the question must be the one asked. A server
     * that could not read the query (FORMERR) or does not do this opcode
     * (NOTIMP) has no question it could echo. */
    if (a.count[DNS_SECTION_QUESTION] == 0 &&
        (a.rcode == DNS_RCODE_FORMERR || a.rcode == DNS_RCODE_NOTIMP))
        return NULL;
    if (a.count[DNS_SECTION_QUESTION] != 1)
        return a.count[DNS_SECTION_QUESTION] ? "more than one question" : "no question";

    struct dns_name qn, an;
    int ql = dns_name_read(query, qlen, DNS_HEADER_SIZE, &qn);
    if (ql < 0 || (size_t)ql + 4 > qlen - DNS_HEADER_SIZE)
        return "the query is malformed";
    int al = dns_name_read(resp, rlen, DNS_HEADER_SIZE, &an);
    if (al < 0)
        return "malformed question";
    if ((size_t)al + 4 > rlen - DNS_HEADER_SIZE)
        return "question cut off";
    if (!dns_name_equal(&qn, &an))         /* ignoring case: RFC 4343 section 3 */
        return "question name mismatch";
    const uint8_t *qf = query + DNS_HEADER_SIZE + ql, *af = resp + DNS_HEADER_SIZE + al;
    if (get16(qf) != get16(af))
        return "question type mismatch";
    if (get16(qf + 2) != get16(af + 2))
        return "question class mismatch";
    return NULL;
}

/* ---- UDP ------------------------------------------------------------------------ */

static bool same_addr(const struct dns_server *s, const struct sockaddr_storage *from,
                      socklen_t fromlen)
{
    if (from->ss_family != s->addr.ss_family)
        return false;
    if (from->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)&s->addr, *b = (const void *)from;
        return fromlen >= sizeof *b && a->sin_port == b->sin_port &&
               a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *a = (const void *)&s->addr, *b = (const void *)from;
    return fromlen >= sizeof *b && a->sin6_port == b->sin6_port &&
           memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
}

/*
 * Wait until deadline for the answer to query on a connected UDP socket.
 * 1: an answer is in resp[0 .. *len); 0: time is up; <0: an error such as
 * -ECONNREFUSED (the kernel reports the ICMP port unreachable that a
 * connected socket receives).
 */
static int udp_wait(int fd, const struct dns_server *server, const uint8_t *query, size_t qlen,
                    uint8_t *resp, size_t cap, size_t *len, uint64_t deadline,
                    const struct dns_query_opts *o)
{
    uint16_t want = get16(query);
    for (int reads = 0; reads < MAX_READS_PER_TRY; reads++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, ms_left(deadline));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return 0;
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        ssize_t got = recvfrom(fd, resp, cap, MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        const char *why = NULL;
        bool from_server = same_addr(server, &from, fromlen);
        if (!from_server)
            why = "from another address";
        else if ((size_t)got > cap)
            why = "larger than the buffer";
        else
            why = dns_client_check_reply(query, qlen, resp, (size_t)got);
        if (!why) {
            *len = (size_t)got;
            return 1;
        }
        emit_ignored(o, false, why, want, resp, (size_t)got < cap ? (size_t)got : cap,
                     from_server);
    }
    return 0;
}

static int open_socket(const struct dns_server *server, int type)
{
    int fd = socket(server->addr.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    return fd;
}

static int query_udp(const struct dns_server *server, const uint8_t *query, size_t qlen,
                     const struct dns_query_opts *o, int tries, int timeout_ms, uint8_t *resp,
                     size_t cap, struct dns_reply *r)
{
    int fd = open_socket(server, SOCK_DGRAM);
    if (fd < 0)
        return fd;
    /* A connected socket takes datagrams from the server's address and
     * port only, and hears about ICMP errors. The kernel picks a random
     * source port (RFC 5452 section 9.2 wants one). */
    if (connect(fd, (const struct sockaddr *)&server->addr, server->len) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    int err = -ETIMEDOUT;
    /* Every try resends the same query on the same socket, so an answer to
     * an earlier try that arrives late is still taken. */
    for (int t = 0; t < tries; t++) {
        r->tries++;
        uint64_t sent = now_us();
        if (send(fd, query, qlen, 0) < 0) {
            err = -errno;
        } else {
            size_t len = 0;
            int w = udp_wait(fd, server, query, qlen, resp, cap, &len,
                             sent + (uint64_t)timeout_ms * 1000u, o);
            if (w == 1) {
                r->rtt_us = now_us() - sent;
                r->len = len;
                r->tcp = false;
                close(fd);
                return 0;
            }
            err = w == 0 ? -ETIMEDOUT : w;
        }
        emit(o, DNS_CLIENT_TRY_FAILED, false, err, get16(query));
        if (err != -ETIMEDOUT && err != -ECONNREFUSED) {
            /* A refused port is worth another try (the server may be
             * starting); a local error (no route, no memory) is not. */
            break;
        }
    }
    close(fd);
    return err;
}

/* ---- TCP ------------------------------------------------------------------------ */

/* Wait for events on fd until deadline: 1 ready, 0 time is up, <0 error. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (int i = 0; i < 1000; i++) {
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, ms_left(deadline));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        return n > 0;
    }
    return -EINTR;
}

/* Write all of data before deadline. */
static int write_all(int fd, const uint8_t *data, size_t len, uint64_t deadline)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, data + done, len - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        int w = wait_fd(fd, POLLOUT, deadline);
        if (w <= 0)
            return w == 0 ? -ETIMEDOUT : w;
    }
    return 0;
}

/* Read exactly len octets before deadline. */
static int read_all(int fd, uint8_t *out, size_t len, uint64_t deadline)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = recv(fd, out + done, len - done, 0);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n == 0)
            return -ECONNRESET;            /* closed before a whole message */
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int w = wait_fd(fd, POLLIN, deadline);
        if (w <= 0)
            return w == 0 ? -ETIMEDOUT : w;
    }
    return 0;
}

/* One TCP connection: connect, send the query with its 2-octet length
 * (RFC 1035 section 4.2.2, RFC 7766 section 8), read messages until the
 * answer. 0 and resp filled, or an error. */
static int tcp_exchange(const struct dns_server *server, const uint8_t *query, size_t qlen,
                        const struct dns_query_opts *o, uint64_t deadline, uint8_t *resp,
                        size_t cap, size_t *len, uint64_t *sent)
{
    int fd = open_socket(server, SOCK_STREAM);
    if (fd < 0)
        return fd;
    int err = 0;
    if (connect(fd, (const struct sockaddr *)&server->addr, server->len) < 0) {
        if (errno != EINPROGRESS) {
            err = -errno;
            goto out;
        }
        int w = wait_fd(fd, POLLOUT, deadline);
        if (w <= 0) {
            err = w == 0 ? -ETIMEDOUT : w;
            goto out;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
            err = soerr ? -soerr : -errno;
            goto out;
        }
    }
    uint8_t framed[2 + QUERY_MAX];
    framed[0] = (uint8_t)(qlen >> 8);
    framed[1] = (uint8_t)qlen;
    memcpy(framed + 2, query, qlen);
    *sent = now_us();
    if ((err = write_all(fd, framed, qlen + 2, deadline)) < 0)
        goto out;
    for (int reads = 0; reads < MAX_READS_PER_TRY; reads++) {
        uint8_t lenbuf[2];
        if ((err = read_all(fd, lenbuf, 2, deadline)) < 0)
            goto out;
        size_t mlen = get16(lenbuf);
        if (mlen > cap) {
            err = -EMSGSIZE;
            goto out;
        }
        if ((err = read_all(fd, resp, mlen, deadline)) < 0)
            goto out;
        const char *why = dns_client_check_reply(query, qlen, resp, mlen);
        if (!why) {
            *len = mlen;
            err = 0;
            goto out;
        }
        /* Over TCP the peer is the server itself; a message that is not the
         * answer is still skipped rather than taken. */
        emit_ignored(o, true, why, get16(query), resp, mlen, true);
    }
    err = -ETIMEDOUT;
out:
    close(fd);
    return err;
}

static int query_tcp(const struct dns_server *server, const uint8_t *query, size_t qlen,
                     const struct dns_query_opts *o, int tries, int timeout_ms, uint8_t *resp,
                     size_t cap, struct dns_reply *r)
{
    int err = -ETIMEDOUT;
    for (int t = 0; t < tries; t++) {
        r->tries++;
        uint64_t start = now_us(), sent = start;
        size_t len = 0;
        err = tcp_exchange(server, query, qlen, o, start + (uint64_t)timeout_ms * 1000u, resp,
                           cap, &len, &sent);
        if (err == 0) {
            r->rtt_us = now_us() - sent;
            r->len = len;
            r->tcp = true;
            return 0;
        }
        emit(o, DNS_CLIENT_TRY_FAILED, true, err, get16(query));
        if (err == -EMSGSIZE)
            break;
    }
    return err;
}

/* ---- the whole exchange ------------------------------------------------------------- */

int dns_client_query(const struct dns_server *server, const struct dns_name *qname,
                     uint16_t qtype, uint16_t qclass, const struct dns_query_opts *o,
                     uint8_t *resp, size_t cap, struct dns_reply *r)
{
    memset(r, 0, sizeof *r);
    size_t udp_size = o->edns ? (o->udp_size ? o->udp_size : DNS_CLIENT_UDP_SIZE) : 512;
    if (cap < 512 || cap < udp_size ||
        (server->addr.ss_family != AF_INET && server->addr.ss_family != AF_INET6))
        return -EINVAL;
    int tries = o->tries > 0 ? o->tries : DNS_CLIENT_TRIES;
    int timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DNS_CLIENT_TIMEOUT_MS;
    if (tries > DNS_CLIENT_MAX_TRIES)
        tries = DNS_CLIENT_MAX_TRIES;
    if (timeout_ms > DNS_CLIENT_MAX_TIMEOUT_MS)
        timeout_ms = DNS_CLIENT_MAX_TIMEOUT_MS;

    /* RFC 5452 section 9.2: an unpredictable ID (with the random source
     * port, about 32 bits an off-path forger must guess). */
    uint16_t id;
    int e = random_bytes(&id, sizeof id);
    if (e < 0)
        return e;
    uint8_t query[QUERY_MAX];
    int qlen = dns_client_build_query(query, sizeof query, id, qname, qtype, qclass, o);
    if (qlen < 0)
        return qlen == -EMSGSIZE ? -EINVAL : qlen;
    r->id = id;
    r->query_len = (size_t)qlen;

    if (o->tcp)
        return query_tcp(server, query, (size_t)qlen, o, tries, timeout_ms, resp, cap, r);
    e = query_udp(server, query, (size_t)qlen, o, tries, timeout_ms, resp, cap, r);
    if (e < 0 || o->ignore_tc)
        return e;
    struct dns_header h;
    if (dns_header_read(resp, r->len, &h) == 0 && h.tc) {
        /* RFC 7766 section 5: a truncated answer is asked again over TCP. */
        emit(o, DNS_CLIENT_TRUNCATED, false, 0, id);
        return query_tcp(server, query, (size_t)qlen, o, tries, timeout_ms, resp, cap, r);
    }
    return 0;
}

/* ---- servers and resolv.conf ----------------------------------------------------- */

int dns_server_from_text(struct dns_server *s, const char *addr, uint16_t port)
{
    /* getaddrinfo with AI_NUMERICHOST reads both families and IPv6 zones
     * ("fe80::1%eth0") without touching the network; it is thread-safe. */
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(addr, NULL, &hints, &res) != 0 || !res)
        return OP_E_SYNTAX;
    int r = OP_E_SYNTAX;
    if ((res->ai_family == AF_INET || res->ai_family == AF_INET6) &&
        res->ai_addrlen <= sizeof s->addr) {
        memset(s, 0, sizeof *s);
        memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
        s->len = res->ai_addrlen;
        if (res->ai_family == AF_INET)
            ((struct sockaddr_in *)&s->addr)->sin_port = htons(port);
        else
            ((struct sockaddr_in6 *)&s->addr)->sin6_port = htons(port);
        r = 0;
    }
    freeaddrinfo(res);
    return r;
}

int dns_server_addr_text(const struct dns_server *s, char *out, size_t cap)
{
    if (getnameinfo((const struct sockaddr *)&s->addr, s->len, out, (socklen_t)cap, NULL, 0,
                    NI_NUMERICHOST) != 0)
        return -ENOSPC;
    return 0;
}

uint16_t dns_server_port(const struct dns_server *s)
{
    if (s->addr.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&s->addr)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)&s->addr)->sin6_port);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

int dns_resolv_conf_parse(const char *text, size_t len, struct dns_server *out, size_t max)
{
    size_t n = 0, pos = 0;
    /* Bounded by the text: every round consumes one line. */
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + (nl ? 1 : 0);

        /* resolv.conf(5): the keyword starts the line; '#' or ';' in the
         * first column starts a comment, and glibc also ends a value there. */
        size_t i = 0;
        while (i < ll && is_space(line[i]))
            i++;
        size_t kw = i;
        while (i < ll && !is_space(line[i]))
            i++;
        if (i - kw != 10 || memcmp(line + kw, "nameserver", 10) != 0)
            continue;
        while (i < ll && is_space(line[i]))
            i++;
        size_t a = i;
        while (i < ll && !is_space(line[i]) && line[i] != '#' && line[i] != ';')
            i++;
        char addr[INET6_ADDRSTRLEN + 64];
        if (i == a || i - a >= sizeof addr)
            continue;
        memcpy(addr, line + a, i - a);
        addr[i - a] = '\0';
        if (n < max && dns_server_from_text(&out[n], addr, 53) == 0)
            n++;
    }
    return (int)n;
}

int dns_resolv_conf_read(const char *path, struct dns_server *out, size_t max)
{
    if (max == 0)
        return -EINVAL;
    if (max > DNS_RESOLV_MAXNS)
        max = DNS_RESOLV_MAXNS;
    char text[16384];
    size_t len = 0;
    int fd = open(path ? path : DNS_RESOLV_CONF, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT)
        return -errno;
    if (fd >= 0) {
        /* The file is small; past 16 KiB, the rest is ignored. */
        while (len < sizeof text) {
            ssize_t got = read(fd, text + len, sizeof text - len);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0) {
                int e = -errno;
                close(fd);
                return e;
            }
            if (got == 0)
                break;
            len += (size_t)got;
        }
        close(fd);
    }
    int n = dns_resolv_conf_parse(text, len, out, max);
    if (n > 0)
        return n;
    /* resolv.conf(5): with no nameserver line, the local machine. */
    dns_server_from_text(&out[0], "127.0.0.1", 53);
    n = 1;
    if (max > 1 && dns_server_from_text(&out[1], "::1", 53) == 0)
        n = 2;
    return n;
}
