/*
 * udp.c - UDP sockets served in batches by every loop (see udp.h).
 *
 * The socket I/O is one pair of calls per batch, recvmmsg and sendmmsg;
 * the service sees only (query, peer) -> reply, so the I/O may change
 * (e.g. to one socket per loop with SO_REUSEPORT, or AF_XDP) without the
 * protocol code noticing.
 */
#include "net/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/log.h"
#include "net/server.h"
#include "net/udp_int.h"
#include "net/worker.h"

struct usock {
    int fd;
    const struct udp_service *svc;
    bool pktinfo;                   /* bound to a wildcard: reply from the query's address */
    int family;
};

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message. */
#define CMSG_ROOM CMSG_SPACE(sizeof(struct in6_pktinfo) > sizeof(struct in_pktinfo) \
                                 ? sizeof(struct in6_pktinfo) : sizeof(struct in_pktinfo))

struct udp_watch {
    struct loop_io io;
    struct worker *w;
    const struct usock *s;
};

/* One loop's batch buffers and its watches on the shared sockets. */
struct udp_worker {
    struct udp_watch *watches;
    unsigned nwatches;
    struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
    struct iovec in_iov[UDP_BATCH], out_iov[UDP_BATCH];
    struct sockaddr_storage peer[UDP_BATCH];
    uint8_t in_cmsg[UDP_BATCH][CMSG_ROOM];
    uint8_t out_cmsg[UDP_BATCH][CMSG_ROOM];
    uint8_t query[UDP_BATCH][UDP_MAX_QUERY];
    uint8_t reply[UDP_BATCH][UDP_MAX_REPLY];
};

static struct usock *g_usocks;
static unsigned g_nusocks;

static bool is_wildcard(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int udp_listen(const struct udp_service *svc, const struct cfg_addrs *addrs, char *err,
               size_t errlen)
{
    for (int i = 0; i < addrs->n; i++) {
        char name[80];
        server_format_addr(&addrs->addr[i], name, sizeof name);
        int fam = addrs->addr[i].ss_family;
        int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            int e = errno;
            snprintf(err, errlen, "%s: socket: %s", name, strerror(e));
            return -e;
        }
        int one = 1;
        if (fam == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        bool pktinfo = is_wildcard(&addrs->addr[i]);
        if (pktinfo) {
            if (fam == AF_INET)
                setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
            else
                setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
        }
        /* A burst of queries should wait in the kernel, not be lost. */
        int rcvbuf = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        if (bind(fd, (const struct sockaddr *)&addrs->addr[i], addrs->len[i]) < 0) {
            int e = errno;
            snprintf(err, errlen, "cannot bind UDP %s for %s: %s", name, svc->name, strerror(e));
            close(fd);
            return -e;
        }
        struct usock *s = realloc(g_usocks, (g_nusocks + 1) * sizeof *s);
        if (!s) {
            close(fd);
            return -ENOMEM;
        }
        g_usocks = s;
        g_usocks[g_nusocks++] = (struct usock){fd, svc, pktinfo, fam};
    }
    return 0;
}

/* Copy the query's destination address into the reply's control data, as
 * its source (RFC 3542 section 6.1; IP_PKTINFO's ipi_spec_dst for IPv4). */
static size_t reply_pktinfo(struct msghdr *in, uint8_t *room)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(in); cm; cm = CMSG_NXTHDR(in, cm)) {
        struct cmsghdr *o = (struct cmsghdr *)room;
        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof pi);
            struct in_pktinfo po = {0};
            po.ipi_spec_dst = pi.ipi_addr;
            o->cmsg_level = IPPROTO_IP;
            o->cmsg_type = IP_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof po);
            memcpy(CMSG_DATA(o), &po, sizeof po);
            return CMSG_SPACE(sizeof po);
        }
        if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof pi);
            pi.ipi6_ifindex = 0;         /* let routing pick the interface */
            o->cmsg_level = IPPROTO_IPV6;
            o->cmsg_type = IPV6_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof pi);
            memcpy(CMSG_DATA(o), &pi, sizeof pi);
            return CMSG_SPACE(sizeof pi);
        }
    }
    return 0;
}

static void on_readable(struct loop_io *io, uint32_t events)
{
    struct udp_watch *wt = (struct udp_watch *)io;
    struct udp_worker *u = wt->w->udp;
    const struct usock *s = wt->s;
    /* A few batches per wake-up, then let the loop's other work run. */
    for (int round = 0; round < 4; round++) {
        for (unsigned i = 0; i < UDP_BATCH; i++) {
            u->in_iov[i] = (struct iovec){u->query[i], UDP_MAX_QUERY};
            u->in[i].msg_hdr = (struct msghdr){
                .msg_name = &u->peer[i], .msg_namelen = sizeof u->peer[i],
                .msg_iov = &u->in_iov[i], .msg_iovlen = 1,
                .msg_control = s->pktinfo ? u->in_cmsg[i] : NULL,
                .msg_controllen = s->pktinfo ? CMSG_ROOM : 0,
            };
            u->in[i].msg_len = 0;
        }
        int n = recvmmsg(s->fd, u->in, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                log_warn("%s: UDP receive: %s", s->svc->name, strerror(errno));
            return;
        }
        unsigned nout = 0;
        for (int i = 0; i < n; i++) {
            struct msghdr *h = &u->in[i].msg_hdr;
            if (h->msg_flags & MSG_TRUNC)
                continue;                /* longer than any query we take */
            size_t rlen = s->svc->handle(u->query[i], u->in[i].msg_len, &u->peer[i],
                                         u->reply[nout], UDP_MAX_REPLY);
            if (rlen == 0)
                continue;
            u->out_iov[nout] = (struct iovec){u->reply[nout], rlen};
            u->out[nout].msg_hdr = (struct msghdr){
                .msg_name = &u->peer[i], .msg_namelen = h->msg_namelen,
                .msg_iov = &u->out_iov[nout], .msg_iovlen = 1,
            };
            if (s->pktinfo) {
                size_t cl = reply_pktinfo(h, u->out_cmsg[nout]);
                if (cl) {
                    u->out[nout].msg_hdr.msg_control = u->out_cmsg[nout];
                    u->out[nout].msg_hdr.msg_controllen = cl;
                }
            }
            nout++;
        }
        for (unsigned sent = 0; sent < nout;) {
            int r = sendmmsg(s->fd, u->out + sent, nout - sent, MSG_DONTWAIT);
            if (r <= 0) {
                /* A full send buffer drops the rest of the batch, as a
                 * congested network would; the clients retry. */
                if (r < 0 && errno != EAGAIN && errno != EINTR && errno != ECONNREFUSED)
                    log_debug("%s: UDP send: %s", s->svc->name, strerror(errno));
                if (r < 0 && errno == EINTR)
                    continue;
                if (r == 0 || errno == EAGAIN)
                    break;
                sent++;                  /* skip the datagram that failed */
                continue;
            }
            sent += (unsigned)r;
        }
        if (n < UDP_BATCH)
            return;
    }
}

int udp_attach(struct worker *w)
{
    if (g_nusocks == 0)
        return 0;
    struct udp_worker *u = calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    u->watches = calloc(g_nusocks, sizeof *u->watches);
    if (!u->watches) {
        free(u);
        return -ENOMEM;
    }
    w->udp = u;
    for (unsigned i = 0; i < g_nusocks; i++) {
        struct udp_watch *wt = &u->watches[i];
        wt->w = w;
        wt->s = &g_usocks[i];
        if (loop_io_add(w->loop, &wt->io, g_usocks[i].fd, EPOLLIN | EPOLLEXCLUSIVE, on_readable) < 0)
            return -errno;
        u->nwatches++;
    }
    return 0;
}

void udp_detach(struct worker *w)
{
    struct udp_worker *u = w->udp;
    if (!u)
        return;
    for (unsigned i = 0; i < u->nwatches; i++)
        loop_io_del(w->loop, &u->watches[i].io);
    u->nwatches = 0;
}

void udp_free_worker(struct worker *w)
{
    if (!w->udp)
        return;
    free(w->udp->watches);
    free(w->udp);
    w->udp = NULL;
}

void udp_cleanup(void)
{
    for (unsigned i = 0; i < g_nusocks; i++)
        close(g_usocks[i].fd);
    free(g_usocks);
    g_usocks = NULL;
    g_nusocks = 0;
}
