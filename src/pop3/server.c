/*
 * server.c - the POP3 service's wiring: its listeners, its settings (and
 * their replacement on SIGHUP), and the limits the connection layer applies
 * to its sessions. The protocol itself is in session.c.
 */
#include "pop3/server.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "net/server.h"
#include "pop3/session.h"

/* ---- the live settings -------------------------------------------------- */

static struct snapshot_slot g_live = SNAPSHOT_SLOT_INIT;

static void live_destroy(struct snapshot *s)
{
    struct pop3_live *l = (struct pop3_live *)s;
    free(l->datadir);
    free(l->hostname);
    free(l->default_domain);
    free(l);
}

void pop3_live_put(struct pop3_live *l)
{
    snapshot_put(l ? &l->snap : NULL);
}

struct pop3_live *pop3_live_get(void)
{
    return (struct pop3_live *)snapshot_get(&g_live);
}

/* ---- the service ---------------------------------------------------------- */

static struct service g_service = {
    .name = "pop3",
    .ops = &pop3_ops,
    .busy_reply = "-ERR [SYS/TEMP] Too many connections, try again later\r\n",
    /* RFC 2449 limits commands to 255 octets, but an AUTH response may be
     * longer; the parser applies the per-command limits. */
    .max_line = 8192,
    .idle_ms = 600000,
    .command_ms = 60000,
};

/* Install new settings: sessions that start from now on use them; the idle
 * and command timeouts apply to connections accepted from now on. */
int pop3_configure(const struct pop3_config *cfg)
{
    struct pop3_live *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    snapshot_init(&l->snap, live_destroy);
    l->datadir = strdup(cfg->datadir);
    l->hostname = strdup(cfg->hostname);
    l->default_domain = strdup(cfg->default_domain);
    l->plaintext = cfg->plaintext;
    if (!l->datadir || !l->hostname || !l->default_domain) {
        pop3_live_put(l);
        return -ENOMEM;
    }
    g_service.idle_ms = cfg->idle_ms;
    g_service.command_ms = cfg->command_ms;
    snapshot_install(&g_live, &l->snap);
    return 0;
}

void pop3_cleanup(void)
{
    snapshot_install(&g_live, NULL);
}

int pop3_listen(const struct cfg_addrs *plain, const struct cfg_addrs *tls, char *err, size_t errlen)
{
    int r = server_listen(&g_service, plain, false, err, errlen);
    if (r == 0)
        r = server_listen(&g_service, tls, true, err, errlen);
    return r;
}
