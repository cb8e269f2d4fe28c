/* outpost serve - run every configured service; first start of the embedded default. */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "auth/passwd.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/util.h"
#include "cli/cli.h"
#include "dns/catalog.h"
#include "dns/secondary.h"
#include "dns/notify.h"
#include "dns/server.h"
#include "dns/tsig.h"
#include "dns/xfrout.h"
#include "dns/acl.h"
#include "mail/maildir.h"
#include "mail/mstore.h"
#include "mail/queue.h"
#include "net/pool.h"
#include "net/server.h"
#include "net/tls.h"
#include "ftp/data.h"
#include "ftp/server.h"
#include "pop3/server.h"
#include "smtp/delivery.h"
#include "smtp/server.h"

static const char usage[] =
    "usage: outpost serve [-c FILE | --data DIR]\n"
    "\n"
    "Runs every service the configuration enables, in the foreground, logging\n"
    "to stderr (or syslog). Without -c it uses DIR/outpost.conf (DIR defaults\n"
    "to ./var); on the first start there it sets up the embedded default: a\n"
    "commented config file, a self-signed certificate, and the demo domain\n"
    "example.test with accounts alice and bob, whose passwords are printed\n"
    "once, and its DNS zone. SIGHUP (or 'outpost dns reload') reloads the\n"
    "configuration, the certificate and changed zone files; SIGTERM stops.\n";

/* The demo zone of the embedded default (RFC 1035 section 5 master file). */
static const char demo_zone[] =
    "; The demo zone of outpost's embedded default. Edit it, then run\n"
    "; 'outpost dns reload' (or send SIGHUP): the new serial is served at once.\n"
    "$ORIGIN example.test.\n"
    "$TTL 3600\n"
    "@       IN SOA  ns.example.test. hostmaster.example.test. (\n"
    "                1          ; serial: raise it on every change\n"
    "                7200       ; refresh\n"
    "                3600       ; retry\n"
    "                1209600    ; expire\n"
    "                300 )      ; negative answers are cached this long\n"
    "@       IN NS   ns.example.test.\n"
    "@       IN MX   10 mail.example.test.\n"
    "@       IN TXT  \"v=spf1 mx -all\"\n"
    "ns      IN A    127.0.0.1\n"
    "ns      IN AAAA ::1\n"
    "mail    IN A    127.0.0.1\n"
    "mail    IN AAAA ::1\n"
    "www     IN A    127.0.0.1\n"
    "www     IN AAAA ::1\n";

static void host_name(const struct settings *s, char *out, size_t len)
{
    if (s->hostname && s->hostname[0]) {
        str_copy(out, len, s->hostname);
        return;
    }
    if (gethostname(out, len) < 0 || !out[0])
        str_copy(out, len, "localhost");
    out[len - 1] = '\0';
}

static void make_password(char *out, size_t len)
{
    /* No look-alike characters (0/O, 1/l/I): people copy these by eye. */
    static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    for (size_t i = 0; i + 1 < len; i++)
        out[i] = alphabet[random_below(sizeof alphabet - 1)];
    out[len - 1] = '\0';
}

static const char welcome[] =
    "From: outpost <postmaster@example.test>\r\n"
    "To: %s\r\n"
    "Subject: Welcome to outpost\r\n"
    "Message-ID: <welcome.%s>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "This mailbox is served by outpost. Read it with any POP3 client, e.g.\r\n"
    "  curl pop3://127.0.0.1:10110/1 --user %s\r\n";

/* The embedded default's first start in datadir. Each step is skipped when
 * its result exists, and the config file, the mark of a finished set-up, is
 * written last, so an interrupted first start simply runs again. */
static int first_start(const char *datadir)
{
    printf("outpost: first start: setting up the embedded default in %s\n", datadir);
    int r = mkdir_p(datadir, 0700);
    if (r < 0) {
        fprintf(stderr, "outpost: cannot create %s: %s\n", datadir, op_strerror(r));
        return 1;
    }
    struct settings s;
    struct buf errors = BUF_INIT;
    settings_load(&s, NULL, datadir, &errors);
    buf_free(&errors);

    char host[256];
    host_name(&s, host, sizeof host);
    char err[512];
    if (access(s.cert_path, F_OK) != 0) {
        if (tls_make_selfsigned(s.cert_path, s.key_path, host, err, sizeof err) < 0) {
            fprintf(stderr, "outpost: %s\n", err);
            settings_free(&s);
            return 1;
        }
        printf("  made a self-signed certificate for %s: %s\n", host, s.cert_path);
    }

    struct accounts *acc;
    r = accounts_open(s.data_dir, &acc);
    if (r < 0) {
        fprintf(stderr, "outpost: cannot create the accounts database: %s\n", op_strerror(r));
        settings_free(&s);
        return 1;
    }
    static const char *const demo[] = {"alice@example.test", "bob@example.test"};
    bool said = false;
    for (size_t i = 0; i < ARRAY_LEN(demo); i++) {
        if (accounts_exists(acc, demo[i]) == 1)
            continue;
        char pw[17], hash[PASSWD_HASH_MAX];
        make_password(pw, sizeof pw);
        if (passwd_hash(pw, hash, sizeof hash) < 0 || accounts_add(acc, demo[i], hash) < 0) {
            fprintf(stderr, "outpost: cannot create the account %s\n", demo[i]);
            accounts_close(acc);
            settings_free(&s);
            return 1;
        }
        if (!said) {
            printf("  created demo accounts (passwords shown only now; stored as yescrypt hashes):\n");
            said = true;
        }
        printf("  %s  password: %s\n", demo[i], pw);
        explicit_bzero(pw, sizeof pw);
        struct buf msg = BUF_INIT;
        buf_printf(&msg, welcome, demo[i], demo[i], demo[i]);
        r = mstore_deliver(acc, s.data_dir, demo[i], buf_ptr(&msg), buf_len(&msg));
        buf_free(&msg);
        if (r < 0)
            fprintf(stderr, "outpost: warning: welcome message to %s: %s\n", demo[i], op_strerror(r));
    }
    accounts_close(acc);

    char path[4200];
    if (path_join(path, sizeof path, s.data_dir, SETTINGS_DEMO_ZONE_FILE) == 0 &&
        access(path, F_OK) != 0) {
        char dir[4200];
        path_dirname(path, dir, sizeof dir);
        if ((r = mkdir_p(dir, 0700)) < 0 ||
            (r = write_file_atomic(path, demo_zone, sizeof demo_zone - 1, 0644)) < 0) {
            fprintf(stderr, "outpost: cannot write %s: %s\n", path, op_strerror(r));
            settings_free(&s);
            return 1;
        }
        printf("  wrote the DNS zone %s of %s\n", path, SETTINGS_DEMO_ZONE);
    }

    struct buf conf = BUF_INIT;
    path_join(path, sizeof path, s.data_dir, CONFIG_NAME);
    if (settings_write_file(&conf, NULL) < 0 ||
        (r = write_file_atomic(path, buf_ptr(&conf), buf_len(&conf), 0600)) < 0) {
        fprintf(stderr, "outpost: cannot write %s: %s\n", path, op_strerror(r));
        buf_free(&conf);
        settings_free(&s);
        return 1;
    }
    printf("  wrote the configuration %s (every key commented; edit it, then send SIGHUP)\n", path);
    printf("  add accounts with: outpost user add carol@example.test --data %s\n", datadir);
    buf_free(&conf);
    settings_free(&s);
    return 0;
}

/* ---- running ---------------------------------------------------------------- */

struct runtime {
    struct cli_opts opts;
    struct settings s;
};

/* The [smtp] section as the SMTP service takes it. */
static void smtp_settings(const struct settings *s, const char *host, struct smtp_config *out)
{
    struct smtp_config sc = {
        .datadir = s->data_dir,
        .hostname = host,
        .default_domain = s->default_domain,
        .local_domains = s->smtp_local_domains,
        .aliases = s->smtp_aliases,
        .catch_all = s->smtp_catch_all,
        .plaintext = (enum plaintext_policy)s->plaintext,
        .max_message_size = s->max_message_size,
        .max_recipients = s->smtp_max_recipients,
        .sender_login_check = s->smtp_sender_login_check,
        .idle_ms = s->smtp_idle_timeout,
        .command_ms = s->smtp_command_timeout,
        .data_ms = s->smtp_data_timeout,
        .on_queued = delivery_kick,
    };
    *out = sc;
}

static void configure_services(const struct settings *s)
{
    char host[256];
    host_name(s, host, sizeof host);
    struct pop3_config pc = {
        .datadir = s->data_dir,
        .hostname = host,
        .default_domain = s->default_domain,
        .plaintext = (enum plaintext_policy)s->plaintext,
        .idle_ms = s->pop3_idle_timeout,
        .command_ms = s->pop3_command_timeout,
    };
    if (pop3_configure(&pc) < 0)
        log_err("pop3: out of memory applying the configuration");
    struct smtp_config sc;
    smtp_settings(s, host, &sc);
    if (smtp_configure(&sc) < 0)
        log_err("smtp: cannot apply the configuration");
    struct ftp_config fc = {
        .datadir = s->data_dir,
        .hostname = host,
        .default_domain = s->default_domain,
        .plaintext = (enum plaintext_policy)s->plaintext,
        .anonymous = s->ftp_anonymous,
        .quota = s->ftp_quota,
        .rate_limit = s->ftp_rate_limit,
        .pasv_min = s->ftp_pasv_min,
        .pasv_max = s->ftp_pasv_max,
        .pasv_address = s->ftp_pasv_address,
        .idle_ms = s->ftp_idle_timeout,
        .command_ms = s->ftp_command_timeout,
        .data_connect_ms = s->ftp_data_timeout,
        .data_idle_ms = s->ftp_data_timeout,
    };
    if (ftp_configure(&fc) < 0)
        log_err("ftp: out of memory applying the configuration");
    struct dns_server_config dc = {
        .udp_payload = s->dns_udp_payload,
        .tcp_idle_ms = s->dns_tcp_idle_timeout,
        .rrl_rate = s->dns_rrl_rate,
        .rrl_slip = s->dns_rrl_slip,
        .log_queries = s->dns_log_queries,
    };
    dns_server_configure(&dc);
}

/* The [key NAME] sections as TSIG keys for transfers, NOTIFY and the
 * primaries of secondary zones. A key that does not decode is logged by
 * name (never with its secret) and left out. Returns the keys (the caller
 * wipes and frees them; NULL on -ENOMEM) and their number in *n. */
static struct dns_tsig_key *load_keys(const struct settings *s, size_t *n)
{
    *n = 0;
    struct dns_tsig_key *keys = calloc(s->keys.n ? s->keys.n : 1, sizeof *keys);
    if (!keys) {
        log_err("dns: out of memory loading TSIG keys");
        return NULL;
    }
    for (size_t i = 0; i < s->keys.n; i++) {
        const struct settings_key *k = settings_key_at(s, i);
        char err[256];
        if (dns_tsig_key_init(&keys[*n], k->name, settings_key_algorithms[k->algorithm],
                              k->secret, err, sizeof err) < 0)
            log_err("dns: [key %s]: %s; not used", k->name, err);
        else
            (*n)++;
    }
    if (dns_catalog_set_keys(keys, *n) < 0)
        log_err("dns: out of memory loading TSIG keys");
    return keys;
}

/* (Re)load the configured zones: only those whose files changed are read;
 * then hand the secondary zones to their refresh thread. */
static void load_zones(const struct settings *s)
{
    size_t nkeys;
    struct dns_tsig_key *keys = load_keys(s, &nkeys);
    size_t n = s->zones.n;
    struct dns_zone_source *src = calloc(n ? n : 1, sizeof *src);
    struct dns_secondary_zone *sec = calloc(n ? n : 1, sizeof *sec);
    /* Journals live beside the zones: DATA/zones/NAME.journal (journal.h). */
    char (*jpath)[PATH_MAX] = calloc(n ? n : 1, sizeof *jpath);
    if (!src || !sec) {
        log_err("dns: out of memory loading zones");
        goto out;
    }
    char zdir[PATH_MAX];
    bool have_dir = path_join(zdir, sizeof zdir, s->data_dir, "zones") == 0 &&
                    mkdir_p(zdir, 0750) == 0;
    size_t nsec = 0;
    for (size_t i = 0; i < n; i++) {
        const struct settings_zone *z = settings_zone_at(s, i);
        bool secondary = z->role == ZONE_SECONDARY;
        src[i] = (struct dns_zone_source){
            .name = z->name, .path = z->file_path, .allow_transfer = z->allow_transfer,
            .notify = z->notify, .journal = NULL, .secondary = secondary};
        if (jpath && have_dir &&
            snprintf(jpath[i], PATH_MAX, "%s/%s.journal", zdir, z->name) < PATH_MAX)
            src[i].journal = jpath[i];
        if (secondary)
            sec[nsec++] = (struct dns_secondary_zone){z->name, z->file_path, z->primaries};
    }
    dns_catalog_load(src, n);
    dns_secondary_configure(sec, nsec, keys, keys ? nkeys : 0);
out:
    if (keys)
        explicit_bzero(keys, (s->keys.n ? s->keys.n : 1) * sizeof *keys);
    free(keys);
    free(jpath);
    free(src);
    free(sec);
}

/* ---- the outgoing queue ---------------------------------------------------- */

/* The domains whose mail stays here: delivery never sends mail for them
 * out (a loop guard). As the SMTP server decides: [smtp] local_domains,
 * or when empty [mail] default_domain and the domain of every account. */
struct domain_list {
    char **v;
    size_t n, cap;
};

static void domain_add(void *arg, const char *address)
{
    struct domain_list *l = arg;
    const char *d = strrchr(address, '@');
    d = d ? d + 1 : address;
    if (!*d)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i], d) == 0)
            return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = xstrdup(d);
}

static void domain_list_free(struct domain_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* queue_init() and the delivery runners. 0, or negative. */
static int start_queue(const struct settings *s, struct accounts *acc, struct domain_list *local)
{
    char host[256];
    host_name(s, host, sizeof host);
    struct queue_config qc = {
        .datadir = s->data_dir,
        .hostname = host,
        .expiry_s = s->queue_expiry / 1000,
        .delay_warn_s = s->queue_delay_warn / 1000,
        .retry_min_s = s->queue_retry_min / 1000,
        .retry_max_s = s->queue_retry_max / 1000,
        .local_rcpt = smtp_local_rcpt,
    };
    int r = queue_init(&qc);
    if (r < 0)
        return r;
    if (s->smtp_local_domains && s->smtp_local_domains[0]) {
        char *list = xstrdup(s->smtp_local_domains), *save = NULL;
        for (char *d = strtok_r(list, ", \t", &save); d; d = strtok_r(NULL, ", \t", &save))
            domain_add(local, d);
        free(list);
    } else {
        domain_add(local, s->default_domain);
        accounts_list(acc, domain_add, local);
    }
    struct delivery_config dc = {
        .datadir = s->data_dir,
        .hostname = host,
        .smtp_port = s->queue_smtp_port,
        .runners = s->queue_runners,
        .connect_timeout_ms = s->queue_connect_timeout,
        .smtp_timeout_ms = s->queue_smtp_timeout,
        .local_domains = (const char *const *)local->v,
        .nlocal_domains = local->n,
    };
    struct dns_remotes rem;
    char msg[256];
    if (dns_remotes_parse(s->queue_resolver, 53, &rem, msg, sizeof msg) == 0) {
        for (size_t i = 0; i < rem.n && dc.nresolvers < DNS_RESOLV_MAXNS; i++) {
            dc.resolvers[dc.nresolvers].addr = rem.v[i].addr;
            dc.resolvers[dc.nresolvers++].len = rem.v[i].addrlen;
        }
        dns_remotes_free(&rem);
    }
    if ((r = delivery_start(&dc)) < 0) {
        log_err("queue: cannot start delivery: %s", op_strerror(r));
        queue_shutdown();
    }
    return r;
}

/* The pid file lets 'outpost dns reload' find the server. */
static void pid_path(const struct settings *s, char *out, size_t len)
{
    if (path_join(out, len, s->data_dir, PID_FILE_NAME) < 0)
        out[0] = '\0';
}

static bool same_addrs(const struct cfg_addrs *a, const struct cfg_addrs *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->len[i] != b->len[i] || memcmp(&a->addr[i], &b->addr[i], a->len[i]) != 0)
            return false;
    return true;
}

/* The queue and its runners keep the [queue] settings they started with. */
static bool queue_settings_differ(const struct settings *a, const struct settings *b)
{
    return strcmp(a->queue_resolver ? a->queue_resolver : "",
                  b->queue_resolver ? b->queue_resolver : "") != 0 ||
           a->queue_smtp_port != b->queue_smtp_port || a->queue_runners != b->queue_runners ||
           a->queue_connect_timeout != b->queue_connect_timeout ||
           a->queue_smtp_timeout != b->queue_smtp_timeout || a->queue_expiry != b->queue_expiry ||
           a->queue_retry_min != b->queue_retry_min || a->queue_retry_max != b->queue_retry_max ||
           a->queue_delay_warn != b->queue_delay_warn;
}

/* SIGHUP: read the file again; apply it only if it is valid. */
static void on_reload(void *arg)
{
    struct runtime *rt = arg;
    struct settings ns;
    struct buf errors = BUF_INIT;
    int nerr = settings_load(&ns, rt->s.config_path, rt->opts.data, &errors);
    if (nerr != 0) {
        const char *p = buf_cstr(&errors);
        for (const char *e; p && *p; p = e + 1) {
            e = strchr(p, '\n');
            if (!e)
                e = p + strlen(p);
            log_err("reload: %.*s", (int)(e - p), p);
            if (!*e)
                break;
        }
        log_err("reload: configuration has errors; keeping the running one");
        buf_free(&errors);
        settings_free(&ns);
        return;
    }
    buf_free(&errors);
    char err[512];
    /* Listeners change only at a restart, so the running ones decide. */
    if (settings_need_tls(&rt->s)) {
        if (tls_reload(ns.cert_path, ns.key_path, ns.tls_min == TLS_MIN_13, err, sizeof err) < 0)
            log_err("reload: %s; keeping the current certificate", err);
        else
            log_info("reload: certificate %s loaded", ns.cert_path);
    }
    if (strcmp(ns.data_dir, rt->s.data_dir) != 0)
        log_warn("reload: a new data directory takes effect only after a restart");
    if (!same_addrs(&ns.pop3_listen, &rt->s.pop3_listen) ||
        !same_addrs(&ns.pop3_listen_tls, &rt->s.pop3_listen_tls) ||
        !same_addrs(&ns.smtp_listen, &rt->s.smtp_listen) ||
        !same_addrs(&ns.smtp_listen_submission, &rt->s.smtp_listen_submission) ||
        !same_addrs(&ns.smtp_listen_submissions, &rt->s.smtp_listen_submissions) ||
        !same_addrs(&ns.dns_listen, &rt->s.dns_listen) ||
        !same_addrs(&ns.ftp_listen, &rt->s.ftp_listen))
        log_warn("reload: new listening addresses take effect only after a restart");
    if (ns.workers != rt->s.workers || strcmp(ns.user ? ns.user : "", rt->s.user ? rt->s.user : "") != 0)
        log_warn("reload: [server] workers and user take effect only after a restart");
    if (queue_settings_differ(&ns, &rt->s))
        log_warn("reload: [queue] settings take effect only after a restart");
    log_setup(ns.log == 1 ? "syslog" : "stderr", (enum log_level)ns.log_level);
    server_set_limits(ns.max_connections, ns.max_per_ip, ns.shutdown_grace);
    /* The data directory stays as started. */
    free(ns.data_dir);
    ns.data_dir = xstrdup(rt->s.data_dir);
    for (size_t i = 0; i < ns.zones.n; i++) {   /* zone files follow the kept data directory */
        struct settings_zone *z = cfg_item(&ns.zones, sizeof *z, i);
        char p[4200];
        if (z->file[0] != '/' && path_join(p, sizeof p, ns.data_dir, z->file) == 0) {
            free(z->file_path);
            z->file_path = xstrdup(p);
        }
    }
    configure_services(&ns);
    load_zones(&ns);
    settings_free(&rt->s);
    rt->s = ns;
    log_info("reload: done");
}

static void print_service(const char *name, const struct cfg_addrs *a, const char *try_fmt)
{
    for (int i = 0; i < a->n; i++) {
        char addr[80];
        server_format_addr(&a->addr[i], addr, sizeof addr);
        printf("  %-6s %-22s ", name, addr);
        printf(try_fmt, addr);
        printf("\n");
    }
}

int cmd_serve(int argc, char **argv)
{
    struct runtime rt;
    memset(&rt, 0, sizeof rt);
    int rc = cli_begin(&argc, argv, &rt.opts, usage, 1, 1);
    if (rc >= 0)
        return rc;
    /* Whoever reads our output (a terminal, a log file, a service manager)
     * sees each line when it happens, not when a buffer fills. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!rt.opts.config) {
        const char *dir = rt.opts.data ? rt.opts.data : DEFAULT_DATA_DIR;
        char path[4200];
        if (path_join(path, sizeof path, dir, CONFIG_NAME) < 0)
            return EX_USAGE_;
        if (access(path, F_OK) != 0) {
            if (first_start(dir) != 0)
                return 1;
            rt.opts.data = dir;
        }
    } else if (access(rt.opts.config, R_OK) != 0) {
        fprintf(stderr, "%s: cannot read: %s\n", rt.opts.config, strerror(errno));
        return EXIT_BADCONF;
    }
    if (cli_load_settings(&rt.opts, &rt.s) != 0)
        return EXIT_BADCONF;
    struct settings *s = &rt.s;
    log_setup(s->log == 1 ? "syslog" : "stderr", (enum log_level)s->log_level);

    char err[512];
    if (settings_need_tls(s) &&
        tls_reload(s->cert_path, s->key_path, s->tls_min == TLS_MIN_13, err, sizeof err) < 0) {
        fprintf(stderr, "%s: [tls] %s\n", s->config_path ? s->config_path : "config", err);
        settings_free(s);
        return EXIT_BADCONF;
    }
    if (s->user && s->user[0] && geteuid() == 0 && !getpwnam(s->user)) {
        fprintf(stderr, "%s: [server] user: no such user '%s'\n",
                s->config_path ? s->config_path : "config", s->user);
        settings_free(s);
        return EXIT_BADCONF;
    }
    {
        char host[256];
        host_name(s, host, sizeof host);
        struct smtp_config sc;
        smtp_settings(s, host, &sc);
        if (smtp_config_check(&sc, err, sizeof err) < 0) {
            fprintf(stderr, "%s: [smtp] %s\n", s->config_path ? s->config_path : "config", err);
            settings_free(s);
            return EXIT_BADCONF;
        }
    }
    server_block_signals();
    if (server_init(s->workers, s->max_connections, s->max_per_ip, s->shutdown_grace) < 0) {
        fprintf(stderr, "outpost: cannot start the event loops\n");
        return 1;
    }
    configure_services(s);
    if (pop3_listen(&s->pop3_listen, &s->pop3_listen_tls, err, sizeof err) < 0 ||
        smtp_listen(&s->smtp_listen, &s->smtp_listen_submission, &s->smtp_listen_submissions,
                    err, sizeof err) < 0 ||
        ftp_listen(&s->ftp_listen, err, sizeof err) < 0 ||
        dns_server_listen(&s->dns_listen, err, sizeof err) < 0) {
        fprintf(stderr, "outpost: %s\n", err);
        server_cleanup();
        pop3_cleanup();
        smtp_cleanup();
        ftp_cleanup();
        settings_free(s);
        return 1;
    }
    /* The ports are open: from here on, run as [server] user. */
    if (cli_become_user(s) < 0) {
        server_cleanup();
        pop3_cleanup();
        smtp_cleanup();
        ftp_cleanup();
        settings_free(s);
        return 1;
    }
    struct accounts *acc;
    int r = accounts_open(s->data_dir, &acc);
    if (r < 0) {
        fprintf(stderr, "outpost: cannot open the accounts database in %s: %s\n", s->data_dir,
                op_strerror(r));
        server_cleanup();
        pop3_cleanup();
        smtp_cleanup();
        settings_free(s);
        return 1;
    }
    /* The queue recovers what a crash left before any session starts. */
    struct domain_list local = {0};
    if ((r = start_queue(s, acc, &local)) < 0) {
        fprintf(stderr, "outpost: cannot start the mail queue in %s: %s\n", s->data_dir,
                op_strerror(r));
        accounts_close(acc);
        domain_list_free(&local);
        server_cleanup();
        pop3_cleanup();
        smtp_cleanup();
        ftp_cleanup();
        settings_free(s);
        return 1;
    }
    accounts_close(acc);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    /* Most pool work waits on the disk (fsync of accepted mail), not the
     * CPU: more threads than cores let concurrent sessions' fsyncs meet in
     * one journal commit (group commit). */
    pool_start(ncpu > 2 ? (unsigned)ncpu * 8 : 16);
    load_zones(s);
    char pidfile[4200];
    pid_path(s, pidfile, sizeof pidfile);
    char pidtext[32];
    int pidlen = snprintf(pidtext, sizeof pidtext, "%ld\n", (long)getpid());
    if (pidfile[0] && (r = write_file_atomic(pidfile, pidtext, (size_t)pidlen, 0644)) < 0)
        log_warn("cannot write %s: %s ('outpost dns reload' will not find the server)", pidfile,
                 op_strerror(r));

    printf("outpost: serving %s (config %s)\n", s->data_dir,
           s->config_path ? s->config_path : "built-in defaults");
    print_service("pop3", &s->pop3_listen, "try: curl pop3://%s/ --user alice@example.test");
    print_service("pop3s", &s->pop3_listen_tls, "try: curl -k pop3s://%s/1 --user alice@example.test");
    print_service("smtp", &s->smtp_listen,
                  "try: swaks --server %s --to bob@example.test --from alice@example.test");
    print_service("subm", &s->smtp_listen_submission,
                  "try: swaks --server %s --tls --auth PLAIN --auth-user alice@example.test --from alice@example.test --to bob@example.test");
    print_service("subms", &s->smtp_listen_submissions,
                  "try: swaks --server %s --tlsc --auth PLAIN --auth-user alice@example.test --from alice@example.test --to bob@example.test");
    print_service("ftp", &s->ftp_listen, "try: curl ftp://%s/ --user alice@example.test");
    for (int i = 0; i < s->dns_listen.n; i++) {
        /* dig takes the address and the port apart: "@::1 -p 53". */
        const struct sockaddr_storage *ss = &s->dns_listen.addr[i];
        char addr[80], ip[INET6_ADDRSTRLEN] = "?";
        server_format_addr(ss, addr, sizeof addr);
        unsigned port;
        if (ss->ss_family == AF_INET) {
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof ip);
            port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
        } else {
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof ip);
            port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
        }
        printf("  %-6s %-22s try: dig @%s -p %u %s SOA\n", "dns", addr, ip, port,
               s->zones.n ? settings_zone_at(s, 0)->name : SETTINGS_DEMO_ZONE);
    }
    printf("outpost: SIGHUP reloads, SIGTERM (Ctrl-C) stops\n");
    fflush(stdout);
    log_info("started; pid %ld", (long)getpid());

    server_run(on_reload, &rt);

    dns_secondary_stop();
    delivery_stop();
    domain_list_free(&local);
    pool_stop();
    /* After the pool: sessions' queue_submit() calls run there. */
    queue_shutdown();
    ftp_data_quiesce();
    server_cleanup();
    dns_server_cleanup();
    dns_notify_cleanup();
    dns_xfr_cleanup();
    dns_catalog_cleanup();
    if (pidfile[0])
        unlink(pidfile);
    pop3_cleanup();
    smtp_cleanup();
    ftp_cleanup();
    tls_shutdown();
    log_info("stopped");
    settings_free(&rt.s);
    return 0;
}
