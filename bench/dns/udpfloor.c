/*
 * udpfloor.c - the kernel's share of a UDP DNS answer, measured alone.
 *
 * A "server" that does only the socket work of outpost's UDP path (one
 * epoll_wait, one recvmmsg and one sendmmsg per batch, the same batch
 * size) and answers every query with one fixed A record, without any
 * lookup: the query's header and question, QR and AA set, ANCOUNT 1, then
 * a compression pointer to the question's name, TYPE A, CLASS IN, TTL 3600,
 * 192.0.2.1. Its CPU time per answered query, under the same dnsperf load
 * as the real servers, is the floor that no server built on the kernel's
 * UDP sockets can go below on this machine: bench/dns/run.sh prints it
 * beside outpost, NSD and Knot.
 *
 * With "block" as the second argument it skips epoll and waits in a
 * blocking recvmmsg (MSG_WAITFORONE) instead: the cheapest way to read
 * datagrams that the socket API offers.
 *
 * Usage: udpfloor PORT [block]     (listens on 127.0.0.1:PORT until killed)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64                        /* UDP_BATCH in src/net/udp.h */
#define MAXQ 512

static const unsigned char answer_rr[] = {
    0xc0, 0x0c,                         /* the question's name */
    0x00, 0x01, 0x00, 0x01,             /* A, IN */
    0x00, 0x00, 0x0e, 0x10,             /* TTL 3600 */
    0x00, 0x04, 192, 0, 2, 1,
};

/* The answer to q[0 .. len) into r; 0 when q is not a one-question query. */
static size_t respond(const unsigned char *q, size_t len, unsigned char *r)
{
    if (len < 12 || len + sizeof answer_rr > MAXQ || (q[2] & 0x80) || q[4] || q[5] != 1)
        return 0;
    size_t at = 12;                     /* the end of the question */
    while (at < len && q[at] && q[at] < 64)
        at += q[at] + 1u;
    if (at >= len || q[at] || at + 5 > len)
        return 0;
    at += 5;
    memcpy(r, q, at);
    r[2] = (unsigned char)(0x84 | (q[2] & 0x01));   /* QR, AA, RD copied */
    r[3] = 0;
    r[6] = 0, r[7] = 1;                 /* ANCOUNT 1 */
    r[8] = r[9] = r[10] = r[11] = 0;    /* no NS, no additional (and no OPT) */
    memcpy(r + at, answer_rr, sizeof answer_rr);
    return at + sizeof answer_rr;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: udpfloor PORT [block]\n");
        return 64;
    }
    int block = argc > 2 && strcmp(argv[2], "block") == 0;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("udpfloor: bind");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    if (!block && (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)) {
        perror("udpfloor: epoll");
        return 1;
    }
    static unsigned char q[BATCH][MAXQ], r[BATCH][MAXQ];
    static struct sockaddr_in peer[BATCH];
    static struct mmsghdr in[BATCH], out[BATCH];
    static struct iovec iq[BATCH], ir[BATCH];
    for (;;) {
        if (!block && epoll_wait(ep, &ev, 1, -1) < 0 && errno != EINTR)
            return 1;
        for (int i = 0; i < BATCH; i++) {
            iq[i] = (struct iovec){q[i], MAXQ};
            in[i].msg_hdr = (struct msghdr){.msg_name = &peer[i], .msg_namelen = sizeof peer[i],
                                            .msg_iov = &iq[i], .msg_iovlen = 1};
        }
        int n = recvmmsg(fd, in, BATCH, block ? MSG_WAITFORONE : MSG_DONTWAIT, NULL);
        if (n <= 0)
            continue;
        int nout = 0;
        for (int i = 0; i < n; i++) {
            size_t len = respond(q[i], in[i].msg_len, r[nout]);
            if (!len)
                continue;
            ir[nout] = (struct iovec){r[nout], len};
            out[nout].msg_hdr = (struct msghdr){.msg_name = &peer[i],
                                                .msg_namelen = in[i].msg_hdr.msg_namelen,
                                                .msg_iov = &ir[nout], .msg_iovlen = 1};
            nout++;
        }
        for (int sent = 0; sent < nout;) {
            int k = sendmmsg(fd, out + sent, (unsigned)(nout - sent), 0);
            if (k <= 0)
                break;
            sent += k;
        }
    }
}
