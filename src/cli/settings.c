#include "cli/settings.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "base/util.h"

#define OFF(f) offsetof(struct settings, f)

static const char *const log_dests[] = {"stderr", "syslog", NULL};
static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};
static const char *const plaintext_choices[] = {"loopback", "tls", "always", NULL};
static const char *const tls_versions[] = {"1.2", "1.3", NULL};

#define DAY_MS 86400000ull

const struct cfg_key settings_schema[] = {
    {"server", "data", CFG_STR, OFF(data), ".", 0, 0, NULL,
     "Data directory: accounts database, mailboxes, certificates. A relative "
     "path is taken from the directory of this file. --data overrides it."},
    {"server", "user", CFG_STR, OFF(user), "", 0, 0, NULL,
     "When started as root, run as this user once the ports are open; "
     "'outpost user' and 'outpost deliver' run by root switch to it too, so "
     "everything in the data directory belongs to it. Empty: keep running as "
     "the user that started outpost."},
    {"server", "workers", CFG_UINT, OFF(workers), "0", 0, 256, NULL,
     "Event-loop threads; 0 means one per CPU core."},
    {"server", "log", CFG_ENUM, OFF(log), "stderr", 0, 0, log_dests,
     "Where log lines go: stderr or syslog (facility mail)."},
    {"server", "log_level", CFG_ENUM, OFF(log_level), "info", 0, 0, log_levels,
     "Least important messages logged: error, warning, info or debug."},
    {"server", "shutdown_grace", CFG_DURATION, OFF(shutdown_grace), "10s", 0, DAY_MS, NULL,
     "On SIGTERM, how long commands in progress may take to finish before "
     "their connections are closed."},
    {"server", "hostname", CFG_STR, OFF(hostname), "", 0, 0, NULL,
     "Host name used in greetings; empty means the system's host name."},

    {"tls", "cert", CFG_STR, OFF(cert), "cert.pem", 0, 0, NULL,
     "PEM certificate chain, leaf first. Relative to the data directory. "
     "Reloaded on SIGHUP."},
    {"tls", "key", CFG_STR, OFF(key), "key.pem", 0, 0, NULL,
     "PEM private key of the certificate. Relative to the data directory."},
    {"tls", "min_version", CFG_ENUM, OFF(tls_min), "1.2", 0, 0, tls_versions,
     "Oldest TLS version accepted: 1.2 or 1.3."},

    {"limits", "max_connections", CFG_UINT, OFF(max_connections), "10000", 1, 1000000, NULL,
     "Connections open at once over all services; beyond it new clients get "
     "the protocol's 'too busy' reply."},
    {"limits", "max_per_ip", CFG_UINT, OFF(max_per_ip), "100", 1, 1000000, NULL,
     "Connections open at once from one client address (IPv6: one /64)."},

    {"auth", "plaintext", CFG_ENUM, OFF(plaintext), "loopback", 0, 0, plaintext_choices,
     "When passwords may be sent: 'tls' only inside TLS, 'loopback' inside "
     "TLS or on loopback connections, 'always' (unsafe) on any connection."},

    {"mail", "default_domain", CFG_STR, OFF(default_domain), "example.test", 0, 0, NULL,
     "Domain added to a login name given without '@' (alice -> alice@DOMAIN)."},
    {"mail", "max_message_size", CFG_SIZE, OFF(max_message_size), "50M", 1024, 1ull << 32, NULL,
     "Largest message accepted for delivery."},

    {"pop3", "listen", CFG_ADDRS, OFF(pop3_listen), "127.0.0.1:10110", 0, 0, NULL,
     "Addresses for POP3 (RFC 1939) with STLS, comma separated, e.g. "
     "0.0.0.0:110, [::]:110. Empty: no plain POP3 listener."},
    {"pop3", "listen_tls", CFG_ADDRS, OFF(pop3_listen_tls), "127.0.0.1:10995", 0, 0, NULL,
     "Addresses for POP3 over implicit TLS (RFC 8314), e.g. 0.0.0.0:995. "
     "Empty: none."},
    {"pop3", "idle_timeout", CFG_DURATION, OFF(pop3_idle_timeout), "10m", 1000, DAY_MS, NULL,
     "A session idle this long is closed (RFC 1939 section 3 asks for at "
     "least 10 minutes)."},
    {"pop3", "command_timeout", CFG_DURATION, OFF(pop3_command_timeout), "1m", 1000, DAY_MS, NULL,
     "A command line (or TLS handshake) that has started must be complete "
     "within this time, however slowly its bytes trickle in; otherwise the "
     "session is closed."},
};
const size_t settings_nkeys = ARRAY_LEN(settings_schema);

/* Absolute form of p, taken relative to base when relative. */
/* Lexically tidy an absolute path: no "//", no "." parts, ".." folded into
 * its parent (the data directory need not exist yet, so no realpath()). */
static void path_clean(char *p)
{
    char *out = p;              /* p[0] == '/' */
    const char *in = p;
    while (*in) {
        while (*in == '/')
            in++;
        const char *end = strchrnul(in, '/');
        size_t n = (size_t)(end - in);
        if (n == 0 || (n == 1 && in[0] == '.')) {
            /* skip */
        } else if (n == 2 && in[0] == '.' && in[1] == '.') {
            while (out > p && *--out != '/')
                ;
        } else {
            *out++ = '/';
            memmove(out, in, n);
            out += n;
        }
        in = end;
    }
    if (out == p)
        *out++ = '/';
    *out = '\0';
}

/* base/p made absolute and tidy; NULL if too long. */
static char *abs_path(const char *base, const char *p)
{
    char joined[PATH_MAX], full[PATH_MAX];
    if (p[0] == '/') {
        if (strlen(p) >= sizeof full)
            return NULL;
        strcpy(full, p);
    } else {
        if (path_join(joined, sizeof joined, base, p) < 0)
            return NULL;
        if (joined[0] == '/') {
            strcpy(full, joined);
        } else {
            char cwd[PATH_MAX];
            if (!getcwd(cwd, sizeof cwd) || path_join(full, sizeof full, cwd, joined) < 0)
                return NULL;
        }
    }
    path_clean(full);
    return xstrdup(full);
}

int settings_load(struct settings *s, const char *path, const char *data_override,
                  struct buf *errors)
{
    memset(s, 0, sizeof *s);
    int nerr;
    char confdir[PATH_MAX] = ".";
    if (path) {
        struct buf text = BUF_INIT;
        int r = read_file(path, &text, 1 << 20);
        if (r < 0) {
            buf_printf(errors, "%s: cannot read: %s\n", path, op_strerror(r));
            buf_free(&text);
            cfg_defaults(settings_schema, settings_nkeys, s);
            return 1;
        }
        nerr = cfg_load(settings_schema, settings_nkeys, s, buf_ptr(&text), buf_len(&text),
                        path, errors);
        buf_free(&text);
        path_dirname(path, confdir, sizeof confdir);
        s->config_path = abs_path(".", path);
    } else {
        cfg_defaults(settings_schema, settings_nkeys, s);
        nerr = 0;
    }
    s->data_dir = data_override ? abs_path(".", data_override) : abs_path(confdir, s->data);
    if (!s->data_dir) {
        buf_printf(errors, "%s: data directory path too long\n", path ? path : "--data");
        return nerr + 1;
    }
    s->cert_path = abs_path(s->data_dir, s->cert);
    s->key_path = abs_path(s->data_dir, s->key);
    if (!s->cert_path || !s->key_path) {
        buf_printf(errors, "%s: certificate path too long\n", path ? path : "config");
        return nerr + 1;
    }
    return nerr;
}

void settings_free(struct settings *s)
{
    cfg_free(settings_schema, settings_nkeys, s);
    free(s->config_path);
    free(s->data_dir);
    free(s->cert_path);
    free(s->key_path);
    memset(s, 0, sizeof *s);
}

int settings_write_file(struct buf *out, const char *(*set)(const char *section, const char *key))
{
    static const char header[] =
        "# outpost configuration.\n"
        "#\n"
        "# One 'key = value' per line under a [section]. Lines starting with '#'\n"
        "# are comments; a commented-out key shows its default. Check a change\n"
        "# with 'outpost check -c FILE'; apply it with SIGHUP (listen addresses\n"
        "# and workers need a restart). Every key is described in docs/CONFIG.md.\n";
    return cfg_write_commented(settings_schema, settings_nkeys, out, header, set);
}
