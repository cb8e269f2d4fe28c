/*
 * server.h - the SMTP service (RFC 5321) as the rest of outpost sees it.
 *
 * Three listeners, one protocol (session.c), three policies:
 *   mx           inbound mail for the local domains only; no AUTH, no
 *                relaying; STARTTLS offered (opportunistic)
 *   submission   RFC 6409: STARTTLS, then AUTH, required before MAIL
 *                (AUTH without TLS only where [auth] plaintext allows,
 *                e.g. on loopback); authenticated users may relay
 *   submissions  RFC 8314: the same behind implicit TLS
 *
 * smtp_configure() sets (and on SIGHUP replaces) the settings sessions
 * take when they connect; smtp_listen() binds the three address lists.
 */
#ifndef OP_SMTP_SERVER_H
#define OP_SMTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "auth/policy.h"
#include "base/config.h"

struct smtp_config {
    const char *datadir;            /* accounts, mail/, queue/ */
    const char *hostname;           /* greeting, Received: */
    const char *default_domain;     /* logins without '@'; always a local domain */
    const char *local_domains;      /* comma/space separated; "" = default_domain
                                       plus the domains of existing accounts */
    const char *aliases;            /* "from@dom = to@dom, ..." (local targets) */
    const char *catch_all;          /* "dom = to@dom, ..." */
    enum plaintext_policy plaintext;
    uint64_t max_message_size;
    unsigned max_recipients;        /* per message; 452 beyond (RFC 5321 4.5.3.1.8) */
    bool sender_login_check;        /* an authenticated user sends only from own addresses */
    unsigned idle_ms;               /* waiting for a command (RFC 5321 4.5.3.2.7: 5 min) */
    unsigned command_ms;            /* a started command line must end within this */
    unsigned data_ms;               /* between two reads of message data (4.5.3.2.5: 3 min) */
    /* Called (on a loop thread, cheap) after a message with remote
     * recipients was queued: serve.c wires it to delivery_kick(). */
    void (*on_queued)(void);
};

/* Check the alias / catch-all / domain lists; 0, or OP_E_SYNTAX with a
 * sentence in err. */
int smtp_config_check(const struct smtp_config *cfg, char *err, size_t errlen);

/* Copy cfg into the live settings (thread-safe). 0, -ENOMEM, OP_E_SYNTAX. */
int smtp_configure(const struct smtp_config *cfg);

int smtp_listen(const struct cfg_addrs *mx, const struct cfg_addrs *submission,
                const struct cfg_addrs *submissions, char *err, size_t errlen);

/* For mail/queue.h's local_rcpt hook: whether a notification to addr is
 * delivered here, decided as at RCPT time: 1 (account set), 0 (remote),
 * or negative (a local domain without such a user, or the accounts
 * cannot be read). Any thread; it reads the accounts database. */
int smtp_local_rcpt(void *arg, const char *addr, char account[256]);

/* Whether mail for domain stays here, decided with the current settings
 * as at RCPT time ([smtp] local_domains, or the default domain and the
 * domains of the accounts as they are now): 1 or 0; negative when the
 * service has no settings yet or the accounts cannot be read. Any thread;
 * it may read the accounts database. */
int smtp_domain_local(const char *domain);

/* Free the live settings at exit. */
void smtp_cleanup(void);

#endif
