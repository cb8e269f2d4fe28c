/*
 * session.h - internal to src/smtp: what the session (session.c), the
 * recipient checks (rcpt.c) and the service's wiring (server.c) share.
 */
#ifndef OP_SMTP_SESSION_H
#define OP_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/accounts.h"
#include "auth/policy.h"
#include "base/snapshot.h"
#include "net/conn.h"

enum smtp_role { SMTP_ROLE_MX, SMTP_ROLE_SUBMISSION, SMTP_ROLE_SUBMISSIONS };

struct smtp_map {                   /* an alias or a catch-all */
    char *key;                      /* normalised address, or a domain */
    char *target;                   /* normalised local address */
};

/* The settings a session works with: an immutable, reference-counted
 * snapshot taken when it connects (SIGHUP installs a new one). */
struct smtp_live {
    struct snapshot snap;           /* first: the snapshot header */
    char *datadir, *hostname, *default_domain;
    char **domains;                 /* configured local domains, lower case */
    size_t ndomains;
    struct smtp_map *aliases, *catch_all;
    size_t naliases, ncatch_all;
    enum plaintext_policy plaintext;
    uint64_t max_message_size;
    unsigned max_recipients;
    bool sender_check;              /* [smtp] sender_login_check */
    unsigned idle_ms, data_ms;
    void (*on_queued)(void);
};

struct smtp_live *smtp_live_get(void);
void smtp_live_put(struct smtp_live *l);

/* Which listener a connection came in on. */
enum smtp_role smtp_role(const struct conn *c);

/* Recipient resolution (rcpt.c), on a pool thread: it reads the accounts. */
enum smtp_rcpt_kind {
    SMTP_RCPT_LOCAL,                /* out = the account to deliver to */
    SMTP_RCPT_UNKNOWN,              /* a local domain, no such user */
    SMTP_RCPT_FOREIGN,              /* not ours: relaying */
};
/* addr: the mailbox as parsed (smtp/parse.h). Returns an smtp_rcpt_kind or
 * a negative error (the accounts could not be read: a temporary failure). */
int smtp_rcpt_resolve(const struct smtp_live *l, const char *addr, char out[ADDRESS_MAX]);
/* On the loop thread: true (out set) when addr was resolved as local a
 * moment ago with the same settings, so the lookup can be skipped. */
bool smtp_rcpt_cached(const struct smtp_live *l, const char *addr, char out[ADDRESS_MAX]);

/* The sender check of submission (reject_sender_login_mismatch in
 * Postfix's words): whether the reverse-path addr belongs to the
 * authenticated user (a normalised account address): it is the user's own
 * address, or it resolves as a recipient would (alias, catch-all) to the
 * user. smtp_sender_owned(), on a pool thread: 1, 0, or a negative error
 * (accounts unreadable). smtp_sender_quick(), on the loop thread: 1 or 0
 * when that is known without the accounts database, else -1. */
int smtp_sender_owned(const struct smtp_live *l, const char *user, const char *addr);
int smtp_sender_quick(const struct smtp_live *l, const char *user, const char *addr);

/* Parse "key = target, ..." lists into l (server.c at configure time).
 * domains: keys are domains (catch-all), else addresses. 0 or OP_E_SYNTAX
 * with a sentence in err. */
int smtp_map_parse(const char *text, bool domains, struct smtp_map **out, size_t *n,
                   char *err, size_t errlen);
void smtp_map_free(struct smtp_map *m, size_t n);

/* The session's callbacks for the connection layer. */
extern const struct conn_ops smtp_ops;

#endif
