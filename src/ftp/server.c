/*
 * server.c - the FTP service's wiring: its listener, its settings (and
 * their replacement on SIGHUP). The protocol is in session.c, prelogin.c
 * and postlogin.c; the data connections in data.c.
 */
#include "ftp/server.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ftp/parse.h"
#include "ftp/session.h"
#include "net/conn.h"
#include "net/server.h"

static struct snapshot_slot g_live = SNAPSHOT_SLOT_INIT;

static void live_destroy(struct snapshot *s)
{
    struct ftp_live *l = (struct ftp_live *)s;
    free(l->datadir);
    free(l->hostname);
    free(l->default_domain);
    free(l->pasv_address);
    free(l);
}

void ftp_live_put(struct ftp_live *l)
{
    snapshot_put(l ? &l->snap : NULL);
}

struct ftp_live *ftp_live_get(void)
{
    return (struct ftp_live *)snapshot_get(&g_live);
}

static struct service g_service = {
    .name = "ftp",
    .ops = &ftp_ops,
    .busy_reply = "421 Too many connections, try again later\r\n",
    /* A command with a path of PATH_MAX bytes; the parser applies it. */
    .max_line = FTP_MAX_LINE,
    .idle_ms = 300000,
    .command_ms = 60000,
};

int ftp_configure(const struct ftp_config *cfg)
{
    struct ftp_live *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    snapshot_init(&l->snap, live_destroy);
    l->datadir = strdup(cfg->datadir);
    l->hostname = strdup(cfg->hostname);
    l->default_domain = strdup(cfg->default_domain);
    l->pasv_address = cfg->pasv_address && cfg->pasv_address[0] ? strdup(cfg->pasv_address) : NULL;
    l->plaintext = cfg->plaintext;
    l->anonymous = cfg->anonymous;
    l->quota = cfg->quota;
    l->data = (struct ftp_data_config){
        .pasv_min = (uint16_t)cfg->pasv_min,
        .pasv_max = (uint16_t)cfg->pasv_max,
        .pasv_address = l->pasv_address,
        .connect_timeout_ms = cfg->data_connect_ms,
        .idle_timeout_ms = cfg->data_idle_ms,
        .rate_limit = cfg->rate_limit,
        .active_from_l_minus_1 = true,
    };
    if (!l->datadir || !l->hostname || !l->default_domain ||
        (cfg->pasv_address && cfg->pasv_address[0] && !l->pasv_address)) {
        ftp_live_put(l);
        return -ENOMEM;
    }
    g_service.idle_ms = cfg->idle_ms;
    g_service.command_ms = cfg->command_ms;
    snapshot_install(&g_live, &l->snap);
    return 0;
}

void ftp_cleanup(void)
{
    snapshot_install(&g_live, NULL);
}

int ftp_listen(const struct cfg_addrs *addrs, char *err, size_t errlen)
{
    return server_listen(&g_service, addrs, false, err, errlen);
}
