/*
 * server.c - the POP3 service's wiring: its listeners, its settings (and
 * their replacement on SIGHUP), and the limits the connection layer applies
 * to its sessions. The protocol itself is in session.c.
 */
#include "pop3/server.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "net/server.h"
#include "pop3/session.h"

/* ---- the live settings -------------------------------------------------- */

static pthread_mutex_t g_live_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pop3_live *g_live;

void pop3_live_put(struct pop3_live *l)
{
    if (l && atomic_fetch_sub(&l->refs, 1) == 1) {
        free(l->datadir);
        free(l->hostname);
        free(l->default_domain);
        free(l);
    }
}

struct pop3_live *pop3_live_get(void)
{
    pthread_mutex_lock(&g_live_mu);
    struct pop3_live *l = g_live;
    if (l)
        atomic_fetch_add(&l->refs, 1);
    pthread_mutex_unlock(&g_live_mu);
    return l;
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
    l->refs = 1;
    l->datadir = strdup(cfg->datadir);
    l->hostname = strdup(cfg->hostname);
    l->default_domain = strdup(cfg->default_domain);
    l->plaintext = cfg->plaintext;
    if (!l->datadir || !l->hostname || !l->default_domain) {
        pop3_live_put(l);
        return -ENOMEM;
    }
    pthread_mutex_lock(&g_live_mu);
    struct pop3_live *old = g_live;
    g_live = l;
    g_service.idle_ms = cfg->idle_ms;
    g_service.command_ms = cfg->command_ms;
    pthread_mutex_unlock(&g_live_mu);
    pop3_live_put(old);
    return 0;
}

void pop3_cleanup(void)
{
    pthread_mutex_lock(&g_live_mu);
    struct pop3_live *old = g_live;
    g_live = NULL;
    pthread_mutex_unlock(&g_live_mu);
    pop3_live_put(old);
}

int pop3_listen(const struct cfg_addrs *plain, const struct cfg_addrs *tls, char *err, size_t errlen)
{
    int r = server_listen(&g_service, plain, false, err, errlen);
    if (r == 0)
        r = server_listen(&g_service, tls, true, err, errlen);
    return r;
}
