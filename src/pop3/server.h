/*
 * server.h - the POP3 service (RFC 1939) as the rest of outpost sees it.
 *
 * pop3_configure() sets (and on SIGHUP replaces) the settings sessions read
 * when they start a command; pop3_listen() binds the plain (STLS-capable)
 * and implicit-TLS (RFC 8314) addresses.
 */
#ifndef OP_POP3_SERVER_H
#define OP_POP3_SERVER_H

#include <stddef.h>

#include "auth/policy.h"
#include "base/config.h"

struct pop3_config {
    const char *datadir;            /* accounts and mail/ */
    const char *hostname;           /* for the greeting */
    const char *default_domain;     /* appended to logins without '@' */
    enum plaintext_policy plaintext;
    unsigned idle_ms;               /* no command for this long: close */
    unsigned command_ms;            /* a started line must end within this */
};

/* Copy cfg into the live settings (thread-safe). */
int pop3_configure(const struct pop3_config *cfg);

int pop3_listen(const struct cfg_addrs *plain, const struct cfg_addrs *tls,
                char *err, size_t errlen);

/* Free the live settings at exit. */
void pop3_cleanup(void);

#endif
