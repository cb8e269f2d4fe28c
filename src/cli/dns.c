/* outpost dns - commands for the running DNS service. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "cli/cli.h"

static const char usage[] =
    "usage: outpost dns reload [-c FILE | --data DIR]\n"
    "\n"
    "reload  checks the zone files of the configuration (errors as\n"
    "        FILE:LINE: message), then tells the running server (found by\n"
    "        the pid file DATA/outpost.pid) to reload: it re-reads the\n"
    "        configuration and every zone file that changed; a zone that\n"
    "        fails to load keeps its previous version serving. The same as\n"
    "        sending SIGHUP. Exit status 0 when signalled and every zone\n"
    "        loaded, 2 when a zone or the configuration has errors, 1 when\n"
    "        no server runs.\n";

/* True if pid is an outpost process (not a recycled number). */
static bool is_outpost(long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    struct buf cmd = BUF_INIT;
    bool yes = false;
    if (read_file(path, &cmd, 65536) == 0) {
        /* argv[0] is the first NUL-terminated string. */
        const char *argv0 = buf_cstr(&cmd);
        const char *base = argv0 ? strrchr(argv0, '/') : NULL;
        base = base ? base + 1 : argv0;
        yes = base && strcmp(base, "outpost") == 0;
    }
    buf_free(&cmd);
    return yes;
}

static int reload(const struct settings *s)
{
    int bad = cli_check_zones(s);
    char path[4200];
    if (path_join(path, sizeof path, s->data_dir, PID_FILE_NAME) < 0) {
        fprintf(stderr, "outpost: data directory path too long\n");
        return 1;
    }
    struct buf text = BUF_INIT;
    int r = read_file(path, &text, 64);
    long pid = r == 0 ? strtol(buf_cstr(&text) ? buf_cstr(&text) : "", NULL, 10) : 0;
    buf_free(&text);
    if (r < 0 || pid <= 0 || !is_outpost(pid)) {
        fprintf(stderr, "outpost: no running server found for %s (%s)\n", s->data_dir,
                r < 0 ? op_strerror(r) : "stale pid file");
        return 1;
    }
    if (kill((pid_t)pid, SIGHUP) < 0) {
        fprintf(stderr, "outpost: cannot signal the server (pid %ld): %s\n", pid, strerror(errno));
        return 1;
    }
    printf("outpost: asked the server (pid %ld) to reload; its log says what it loaded\n", pid);
    if (bad)
        fprintf(stderr, "outpost: %d zone%s with errors keep%s the version already served\n", bad,
                bad == 1 ? "" : "s", bad == 1 ? "s" : "");
    return bad ? EXIT_BADCONF : 0;
}

int cmd_dns(int argc, char **argv)
{
    struct cli_opts o;
    int rc = cli_begin(&argc, argv, &o, usage, 2, 2);
    if (rc >= 0)
        return rc;
    if (strcmp(argv[1], "reload") != 0) {
        fputs(usage, stderr);
        return EX_USAGE_;
    }
    struct settings s;
    if (cli_load_settings(&o, &s) != 0)
        return EXIT_BADCONF;
    rc = reload(&s);
    settings_free(&s);
    return rc;
}
