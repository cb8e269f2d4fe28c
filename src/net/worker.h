/*
 * worker.h - internal to src/net: what the server (listeners, threads,
 * limits) and the connections share. Protocol code never includes this.
 */
#ifndef OP_NET_WORKER_H
#define OP_NET_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "net/conn.h"
#include "net/loop.h"

struct listener;

struct worker {
    struct loop *loop;
    pthread_t thread;
    struct conn *conns;             /* every live connection of this loop */
    unsigned nconns;
    bool draining;                  /* SIGTERM: close sessions as they go idle */
    struct listener *listeners;     /* this loop's watches on the shared sockets */
    unsigned nlisteners;
    struct udp_worker *udp;         /* its UDP watches and batch buffers (udp.c) */
};

/* Take over an accepted socket. busy: over a limit, so only the service's
 * busy reply is sent before closing (after the handshake on TLS listeners). */
void conn_accept(struct worker *w, int fd, const struct service *svc,
                 const struct sockaddr_storage *peer, bool implicit_tls, bool busy);

/* Shutdown: close idle sessions now and the others when their command ends. */
void conn_drain_all(struct worker *w);
/* Grace period over: close everything now. */
void conn_abort_all(struct worker *w);

/* Implemented by server.c: a counted connection has ended. */
void limits_release(const struct sockaddr_storage *peer);
/* A refused (busy) connection has been answered and closed. */
void limits_busy_done(void);

#endif
