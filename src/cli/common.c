#include "cli/cli.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "base/fsutil.h"

int cli_take_opts(int argc, char **argv, struct cli_opts *o)
{
    int out = 1;
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
            slot = &o->config;
        else if (strcmp(a, "--data") == 0 || strcmp(a, "-d") == 0)
            slot = &o->data;
        else if (strncmp(a, "--config=", 9) == 0) {
            o->config = a + 9;
            continue;
        } else if (strncmp(a, "--data=", 7) == 0) {
            o->data = a + 7;
            continue;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = true;
            continue;
        }
        if (slot) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "outpost: %s needs a value\n", a);
                return -1;
            }
            *slot = argv[++i];
            continue;
        }
        argv[out++] = argv[i];
    }
    argv[out] = NULL;
    return out;
}

int cli_begin(int *argc, char **argv, struct cli_opts *o, const char *usage,
              int min_args, int max_args)
{
    int n = cli_take_opts(*argc, argv, o);
    if (n < 0)
        return EX_USAGE_;
    if (o->help) {
        fputs(usage, stdout);
        return 0;
    }
    if (n < min_args || n > max_args) {
        fputs(usage, stderr);
        return EX_USAGE_;
    }
    *argc = n;
    return -1;
}

int cli_become_user(const struct settings *s)
{
    const char *user = s->user;
    if (!user || !user[0] || geteuid() != 0)
        return 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        fprintf(stderr, "outpost: [server] user: no such user '%s'\n", user);
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0) {
        fprintf(stderr, "outpost: cannot switch to user %s: %s\n", user, strerror(errno));
        return -1;
    }
    if (pw->pw_uid != 0 && setuid(0) == 0) {
        fprintf(stderr, "outpost: privileges could not be dropped\n");
        return -1;
    }
    return 0;
}

int cli_load_settings(const struct cli_opts *o, struct settings *s)
{
    struct buf errors = BUF_INIT;
    const char *path = o->config;
    char found[4200];
    if (!path) {
        const char *dir = o->data ? o->data : DEFAULT_DATA_DIR;
        if (path_join(found, sizeof found, dir, CONFIG_NAME) == 0 && access(found, F_OK) == 0)
            path = found;
    }
    const char *data = o->data;
    if (!o->config && !o->data)
        data = DEFAULT_DATA_DIR;
    int nerr = settings_load(s, path, data, &errors);
    if (nerr != 0) {
        fputs(buf_cstr(&errors), stderr);
        fprintf(stderr, "outpost: %d error%s in the configuration\n", nerr, nerr == 1 ? "" : "s");
        buf_free(&errors);
        settings_free(s);
        return EXIT_BADCONF;
    }
    buf_free(&errors);
    return 0;
}

int cli_read_password(char *out, size_t outlen, bool confirm)
{
    if (isatty(STDIN_FILENO)) {
        struct termios old, quiet;
        if (tcgetattr(STDIN_FILENO, &old) < 0)
            return -1;
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        char again[512];
        for (int round = 0; round < (confirm ? 2 : 1); round++) {
            /* Echo off (and type-ahead dropped) before the prompt shows:
             * what is typed once the prompt is seen is neither echoed
             * nor flushed away. */
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
            fprintf(stderr, round == 0 ? "Password: " : "Again: ");
            char *dst = round == 0 ? out : again;
            size_t dlen = round == 0 ? outlen : sizeof again;
            char *r = fgets(dst, (int)dlen, stdin);
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
            fputc('\n', stderr);
            if (!r)
                return -1;
            dst[strcspn(dst, "\r\n")] = '\0';
        }
        if (confirm && strcmp(out, again) != 0) {
            explicit_bzero(again, sizeof again);
            fprintf(stderr, "outpost: the passwords differ\n");
            return -1;
        }
        explicit_bzero(again, sizeof again);
    } else {
        if (!fgets(out, (int)outlen, stdin)) {
            fprintf(stderr, "outpost: no password on standard input\n");
            return -1;
        }
        out[strcspn(out, "\r\n")] = '\0';
    }
    if (!out[0]) {
        fprintf(stderr, "outpost: empty password refused\n");
        return -1;
    }
    return 0;
}
