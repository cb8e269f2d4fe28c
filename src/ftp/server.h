/*
 * server.h - the FTP service (RFC 959) as the rest of outpost sees it.
 *
 * ftp_configure() sets (and on SIGHUP replaces) the settings sessions take
 * when they connect; ftp_listen() binds the control connection's addresses
 * (explicit TLS only, RFC 4217 AUTH TLS: implicit FTPS is not offered).
 */
#ifndef OP_FTP_SERVER_H
#define OP_FTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/policy.h"
#include "base/config.h"

struct ftp_config {
    const char *datadir;            /* accounts and ftp/ */
    const char *hostname;           /* for the greeting */
    const char *default_domain;     /* appended to logins without '@' */
    enum plaintext_policy plaintext;
    bool anonymous;                 /* anonymous login, read-only, DATA/ftp/public */
    uint64_t quota;                 /* bytes per user, 0 = none */
    uint64_t rate_limit;            /* bytes/s per session, 0 = none */
    unsigned pasv_min, pasv_max;    /* passive port range */
    const char *pasv_address;       /* advertised in 227, "" = the local address */
    unsigned idle_ms, command_ms;   /* control connection timeouts */
    unsigned data_connect_ms;       /* no data connection in time: 425 */
    unsigned data_idle_ms;          /* a stalled transfer: 426 */
};

/* Copy cfg into the live settings (thread-safe). */
int ftp_configure(const struct ftp_config *cfg);

int ftp_listen(const struct cfg_addrs *addrs, char *err, size_t errlen);

/* Free the live settings at exit. */
void ftp_cleanup(void);

#endif
