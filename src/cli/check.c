/* outpost check - validate the configuration before using it. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "dns/catalog.h"
#include "net/tls.h"

static const char usage[] =
    "usage: outpost check [-c FILE | --data DIR]\n"
    "\n"
    "Reads the configuration as 'outpost serve' would and reports every\n"
    "error as FILE:LINE: message. Also checks that the certificate and key\n"
    "load and match, and loads every zone file ([zone NAME] sections) as the\n"
    "server would. Exit status 0 when valid, 2 otherwise.\n";

int cli_check_zones(const struct settings *s)
{
    struct dns_zone_source *src = calloc(s->zones.n ? s->zones.n : 1, sizeof *src);
    if (!src) {
        fprintf(stderr, "outpost: out of memory\n");
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->zones.n; i++) {
        const struct settings_zone *z = settings_zone_at(s, i);
        /* A secondary zone's file is fetched: checked only once it exists. */
        if (z->role == ZONE_SECONDARY && access(z->file_path, F_OK) != 0)
            continue;
        src[n++] = (struct dns_zone_source){
            .name = z->name, .path = z->file_path, .secondary = z->role == ZONE_SECONDARY};
    }
    struct buf errors = BUF_INIT;
    int failed = dns_catalog_check(src, n, &errors);
    if (buf_len(&errors))
        fputs(buf_cstr(&errors), stderr);
    buf_free(&errors);
    free(src);
    return failed;
}

int cmd_check(int argc, char **argv)
{
    struct cli_opts o;
    int rc = cli_begin(&argc, argv, &o, usage, 1, 1);
    if (rc >= 0)
        return rc;
    struct settings s;
    if (cli_load_settings(&o, &s) != 0)
        return EXIT_BADCONF;
    int bad = 0;
    struct stat st;
    if (stat(s.data_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: data directory %s does not exist\n",
                s.config_path ? s.config_path : "config", s.data_dir);
        bad++;
    }
    if (s.user && s.user[0] && !getpwnam(s.user)) {
        fprintf(stderr, "%s: [server] user: no such user '%s'\n",
                s.config_path ? s.config_path : "config", s.user);
        bad++;
    }
    char err[512];
    if (settings_need_tls(&s) && tls_check(s.cert_path, s.key_path, err, sizeof err) < 0) {
        fprintf(stderr, "%s: [tls] %s\n", s.config_path ? s.config_path : "config", err);
        bad++;
    }
    bad += cli_check_zones(&s);
    if (!bad)
        printf("%s: OK\n", s.config_path ? s.config_path : "built-in defaults");
    settings_free(&s);
    return bad ? EXIT_BADCONF : 0;
}
