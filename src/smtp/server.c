/*
 * server.c - the SMTP service's wiring: its three listeners, its settings
 * (and their replacement on SIGHUP), and the limits the connection layer
 * applies to its sessions. The protocol itself is in session.c.
 */
#include "smtp/server.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/util.h"
#include "net/conn.h"
#include "net/server.h"
#include "smtp/parse.h"
#include "smtp/session.h"

/* ---- the live settings -------------------------------------------------- */

static struct snapshot_slot g_live = SNAPSHOT_SLOT_INIT;

static void live_destroy(struct snapshot *s)
{
    struct smtp_live *l = (struct smtp_live *)s;
    free(l->datadir);
    free(l->hostname);
    free(l->default_domain);
    for (size_t i = 0; i < l->ndomains; i++)
        free(l->domains[i]);
    free(l->domains);
    smtp_map_free(l->aliases, l->naliases);
    smtp_map_free(l->catch_all, l->ncatch_all);
    free(l);
}

void smtp_live_put(struct smtp_live *l)
{
    snapshot_put(l ? &l->snap : NULL);
}

struct smtp_live *smtp_live_get(void)
{
    return (struct smtp_live *)snapshot_get(&g_live);
}

/* ---- the services ------------------------------------------------------- */

/* RFC 5321 section 3.1: a server over its limits may answer 554 instead of
 * 220; the client then quits. The connection layer closes right after. */
#define BUSY "554 5.3.2 Too many connections, try again later\r\n"

static struct service g_mx = {
    .name = "smtp",
    .ops = &smtp_ops,
    .busy_reply = BUSY,
    .max_line = SMTP_AUTH_LINE_MAX,   /* the parser applies the per-command limits */
    .idle_ms = 300000,
    .command_ms = 300000,
};
static struct service g_sub = {
    .name = "submission",
    .ops = &smtp_ops,
    .busy_reply = BUSY,
    .max_line = SMTP_AUTH_LINE_MAX,
    .idle_ms = 300000,
    .command_ms = 300000,
};
static struct service g_subs = {
    .name = "submissions",
    .ops = &smtp_ops,
    .busy_reply = BUSY,
    .max_line = SMTP_AUTH_LINE_MAX,
    .idle_ms = 300000,
    .command_ms = 300000,
};

enum smtp_role smtp_role(const struct conn *c)
{
    const struct service *s = conn_service(c);
    if (s == &g_sub)
        return SMTP_ROLE_SUBMISSION;
    if (s == &g_subs)
        return SMTP_ROLE_SUBMISSIONS;
    return SMTP_ROLE_MX;
}

/* "a.example, b.example" -> lower-case domains, each checked. */
static int parse_domains(const char *text, char ***out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    char **v = NULL;
    size_t cnt = 0;
    const char *p = text ? text : "";
    while (*p) {
        while (*p && (isspace((unsigned char)*p) || *p == ','))
            p++;
        const char *s = p;
        while (*p && !isspace((unsigned char)*p) && *p != ',')
            p++;
        if (p == s)
            break;
        char probe[ADDRESS_MAX + 4], norm[ADDRESS_MAX];
        if (p - s > 253 ||
            snprintf(probe, sizeof probe, "x@%.*s", (int)(p - s), s) >= (int)sizeof probe ||
            address_normalize(probe, norm, sizeof norm) < 0) {
            snprintf(err, errlen, "'%.*s' is not a valid domain", (int)(p - s), s);
            for (size_t i = 0; i < cnt; i++)
                free(v[i]);
            free(v);
            return OP_E_SYNTAX;
        }
        char **nv = realloc(v, (cnt + 1) * sizeof *v);
        if (!nv) {
            for (size_t i = 0; i < cnt; i++)
                free(v[i]);
            free(v);
            return -ENOMEM;
        }
        v = nv;
        v[cnt++] = xstrdup(norm + 2);
    }
    *out = v;
    *n = cnt;
    return 0;
}

static int build(const struct smtp_config *cfg, struct smtp_live **out, char *err, size_t errlen)
{
    struct smtp_live *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    snapshot_init(&l->snap, live_destroy);
    l->datadir = xstrdup(cfg->datadir);
    l->hostname = xstrdup(cfg->hostname);
    char probe[ADDRESS_MAX + 4], norm[ADDRESS_MAX];
    snprintf(probe, sizeof probe, "x@%s", cfg->default_domain ? cfg->default_domain : "");
    l->default_domain = xstrdup(address_normalize(probe, norm, sizeof norm) == 0 ? norm + 2
                                                                                   : "localhost");
    l->plaintext = cfg->plaintext;
    l->max_message_size = cfg->max_message_size;
    l->max_recipients = cfg->max_recipients ? cfg->max_recipients : 100;
    l->sender_check = cfg->sender_login_check;
    l->idle_ms = cfg->idle_ms;
    l->data_ms = cfg->data_ms;
    l->on_queued = cfg->on_queued;
    int r = parse_domains(cfg->local_domains, &l->domains, &l->ndomains, err, errlen);
    if (r == 0)
        r = smtp_map_parse(cfg->aliases, false, &l->aliases, &l->naliases, err, errlen);
    if (r == 0)
        r = smtp_map_parse(cfg->catch_all, true, &l->catch_all, &l->ncatch_all, err, errlen);
    if (r < 0) {
        smtp_live_put(l);
        return r;
    }
    *out = l;
    return 0;
}

int smtp_config_check(const struct smtp_config *cfg, char *err, size_t errlen)
{
    struct smtp_live *l;
    int r = build(cfg, &l, err, errlen);
    if (r == 0)
        smtp_live_put(l);
    return r;
}

int smtp_configure(const struct smtp_config *cfg)
{
    char err[300];
    struct smtp_live *l;
    int r = build(cfg, &l, err, sizeof err);
    if (r < 0)
        return r;
    struct service *svcs[] = {&g_mx, &g_sub, &g_subs};
    for (size_t i = 0; i < ARRAY_LEN(svcs); i++) {
        svcs[i]->idle_ms = cfg->idle_ms;
        svcs[i]->command_ms = cfg->command_ms;
    }
    snapshot_install(&g_live, &l->snap);
    return 0;
}

int smtp_local_rcpt(void *arg, const char *addr, char account[ADDRESS_MAX])
{
    struct smtp_live *l = smtp_live_get();
    if (!l)
        return 0;
    int r = smtp_rcpt_resolve(l, addr, account);
    smtp_live_put(l);
    if (r < 0)
        return r;
    if (r == SMTP_RCPT_LOCAL)
        return 1;
    return r == SMTP_RCPT_FOREIGN ? 0 : OP_E_NOTFOUND;
}

void smtp_cleanup(void)
{
    snapshot_install(&g_live, NULL);
}

int smtp_listen(const struct cfg_addrs *mx, const struct cfg_addrs *submission,
                const struct cfg_addrs *submissions, char *err, size_t errlen)
{
    int r = server_listen(&g_mx, mx, false, err, errlen);
    if (r == 0)
        r = server_listen(&g_sub, submission, false, err, errlen);
    if (r == 0)
        r = server_listen(&g_subs, submissions, true, err, errlen);
    return r;
}
