/*
 * session.h - internal to src/pop3: what the session (session.c) and the
 * service's wiring (server.c) share.
 */
#ifndef OP_POP3_SESSION_H
#define OP_POP3_SESSION_H


#include "auth/policy.h"
#include "base/snapshot.h"
#include "net/conn.h"

/* The settings a session works with: an immutable, reference-counted
 * snapshot taken when it connects. SIGHUP installs a new one for the
 * sessions that start afterwards; the old one lives while a session uses it. */
struct pop3_live {
    struct snapshot snap;           /* first: the snapshot header */
    char *datadir, *hostname, *default_domain;
    enum plaintext_policy plaintext;
};

/* The current snapshot with a reference taken (NULL before configuration). */
struct pop3_live *pop3_live_get(void);
void pop3_live_put(struct pop3_live *l);

/* The session's callbacks for the connection layer. */
extern const struct conn_ops pop3_ops;

#endif
