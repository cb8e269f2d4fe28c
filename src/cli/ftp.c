/*
 * outpost ftp - an FTP client: one-shot transfers from ftp:// URLs and an
 * interactive shell in the manner of the classic ftp(1) (ftp_shell.c).
 * The protocol is ftp/client.c's; this file reads the arguments, finds
 * the password, moves bytes between local files and the session, and says
 * what went wrong.
 *
 * Passwords come from a prompt without echo, a netrc file or the first
 * line of stdin (--password-stdin); never from the command line, where
 * any user of the machine could read them (a URL with a password is
 * refused).
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "base/util.h"
#include "cli/cli.h"
#include "cli/ftp.h"
#include "cli/progress.h"

volatile sig_atomic_t ftp_cli_cancel;

static const char usage[] =
    "usage: outpost ftp [options] [URL | HOST [PORT]]   an interactive session\n"
    "       outpost ftp [options] get URL [-o FILE]     download a file ('-o -': stdout)\n"
    "       outpost ftp [options] put FILE URL          upload a file (URL ending in '/':\n"
    "                                                   under FILE's name)\n"
    "       outpost ftp [options] ls URL                list a directory\n"
    "\n"
    "URL is ftp://[user@]host[:port][/path]; the path is relative to the\n"
    "login directory (%2F at its start makes it absolute). Without a user,\n"
    "the netrc file's login for the host, else anonymous.\n"
    "\n"
    "options:\n"
    "  --tls               explicit FTPS (AUTH TLS, RFC 4217): the control and\n"
    "                      data connections are encrypted\n"
    "  --insecure          accept a certificate that does not verify\n"
    "  --cacert FILE       trust the certificates in FILE (else the system's)\n"
    "  --active            active mode (PORT/EPRT); passive (EPSV/PASV) by default\n"
    "  --ascii             TYPE A: line ends converted; binary (TYPE I) by default\n"
    "  -C, --continue      resume: get from the local file's size, put from the\n"
    "                      remote file's size\n"
    "  -u, --user NAME     log in as NAME\n"
    "  --password-stdin    read the password from the first line of stdin\n"
    "  --netrc FILE        passwords from FILE (default ~/.netrc, when it exists)\n"
    "  --no-netrc          do not read ~/.netrc\n"
    "  --timeout SECONDS   give up on a silent server after this long (default 30)\n"
    "  -v, --verbose       show the dialogue with the server on stderr\n"
    "\n"
    "The password: from --password-stdin, else the netrc file, else asked for\n"
    "on the terminal; never on the command line. Type 'help' in the\n"
    "interactive session for its commands. A progress bar is drawn on stderr\n"
    "when it is a terminal.\n"
    "\n"
    "Exit status: 0 success, 1 a failure (the server's reply is printed),\n"
    "64 usage error.\n";

/* ---- messages ------------------------------------------------------------------------- */

static void on_trace(void *arg, bool sent, const char *text)
{
    const struct ftp_cli *f = arg;
    if (!f->verbose)
        return;
    fprintf(stderr, sent ? "---> %s\n" : "%s\n", text);
}

void ftp_cli_report(struct ftp_cli *f, const char *what, int r)
{
    if (r > 0 && f->c) {
        fprintf(stderr, "outpost ftp: %s: %s\n", what, ftpc_reply(f->c));
        return;
    }
    const char *detail = f->c ? ftpc_error(f->c) : "";
    if (r == OP_E_TLS && detail[0])
        fprintf(stderr, "outpost ftp: %s: %s\n", what, detail);
    else if (detail[0])
        fprintf(stderr, "outpost ftp: %s: %s (%s)\n", what, op_strerror(r), detail);
    else
        fprintf(stderr, "outpost ftp: %s: %s\n", what, op_strerror(r));
}

/* ---- passwords ------------------------------------------------------------------------ */

static bool is_anonymous(const char *user)
{
    return strcmp(user, "anonymous") == 0 || strcmp(user, "ftp") == 0;
}

/* The netrc entry for the host (and user, when known): 1 found, 0 none, -1 error. */
static int netrc_lookup(struct ftp_cli *f, const char *user, struct ftpc_netrc *e)
{
    char home_netrc[4096];
    const char *path = f->netrc;
    if (!path) {
        const char *home = getenv("HOME");
        if (f->no_netrc || !home ||
            path_join(home_netrc, sizeof home_netrc, home, ".netrc") < 0 ||
            access(home_netrc, F_OK) != 0)
            return 0;
        path = home_netrc;
    }
    struct stat st;
    struct buf text = BUF_INIT;
    int r = read_file(path, &text, 1 << 20);
    if (r < 0 || stat(path, &st) < 0) {
        fprintf(stderr, "outpost ftp: %s: %s\n", path, op_strerror(r < 0 ? r : -errno));
        buf_free(&text);
        return -1;
    }
    r = ftpc_netrc_find(buf_ptr(&text), buf_len(&text), f->host, user && user[0] ? user : NULL, e);
    explicit_bzero(text.data, text.cap);
    buf_free(&text);
    if (r < 0) {
        fprintf(stderr, "outpost ftp: %s: %s\n", path, op_strerror(r));
        return -1;
    }
    /* As ftp(1) does: a password in a file others can read is not used. */
    if (r == 1 && e->has_password && (st.st_mode & 077)) {
        fprintf(stderr, "outpost ftp: %s: readable by others; its passwords are not used "
                "(chmod 600 %s)\n", path, path);
        explicit_bzero(e->password, sizeof e->password);
        e->has_password = false;
    }
    return r;
}

static int find_password(struct ftp_cli *f, const char *user, char *pw, size_t cap)
{
    if (f->password_stdin) {
        if (!f->have_stdin_password) {
            fprintf(stderr, "outpost ftp: no password on standard input\n");
            return -1;
        }
        str_copy(pw, cap, f->stdin_password);
        return 0;
    }
    struct ftpc_netrc e;
    int r = netrc_lookup(f, user, &e);
    if (r < 0)
        return -1;
    if (r == 1 && e.has_password && (!e.has_login || strcmp(e.login, user) == 0)) {
        str_copy(pw, cap, e.password);
        explicit_bzero(&e, sizeof e);
        return 0;
    }
    explicit_bzero(&e, sizeof e);
    if (is_anonymous(user)) {
        /* RFC 1635: an anonymous login gives an address as its password. */
        str_copy(pw, cap, "anonymous@");
        return 0;
    }
    if (isatty(STDIN_FILENO)) {
        fprintf(stderr, "(%s@%s) ", user, f->host);
        return cli_read_password(pw, cap, false);
    }
    fprintf(stderr, "outpost ftp: no password for %s@%s: use --password-stdin, a netrc file "
            "or a terminal\n", user, f->host);
    return -1;
}

/* ---- the session ---------------------------------------------------------------------- */

void ftp_cli_close(struct ftp_cli *f)
{
    if (!f->c)
        return;
    if (ftpc_connected(f->c)) {
        int r = ftpc_quit(f->c);
        if (f->interactive && r == 0 && !f->verbose)
            printf("%s\n", ftpc_reply(f->c));
    }
    ftpc_free(f->c);
    f->c = NULL;
}

int ftp_cli_login(struct ftp_cli *f, const char *user)
{
    char name[FTPC_NAME_MAX];
    if (user && user[0]) {
        str_copy(name, sizeof name, user);
    } else if (f->user[0]) {
        str_copy(name, sizeof name, f->user);
    } else {
        struct ftpc_netrc e;
        int r = netrc_lookup(f, NULL, &e);
        if (r < 0)
            return 1;
        str_copy(name, sizeof name, r == 1 && e.has_login ? e.login : "anonymous");
        explicit_bzero(&e, sizeof e);
    }
    char pw[FTPC_NAME_MAX];
    if (find_password(f, name, pw, sizeof pw) < 0)
        return 1;
    int r = ftpc_login(f->c, name, pw);
    explicit_bzero(pw, sizeof pw);
    if (r != 0) {
        char what[FTPC_NAME_MAX + 32];
        snprintf(what, sizeof what, "login as %s", name);
        ftp_cli_report(f, what, r);
        return 1;
    }
    if (f->interactive && !f->verbose)
        printf("%s\n", ftpc_reply(f->c));
    if (f->ascii && (r = ftpc_type(f->c, true)) != 0) {
        ftp_cli_report(f, "TYPE A", r);
        return 1;
    }
    return 0;
}

int ftp_cli_open(struct ftp_cli *f, const char *host, uint16_t port, const char *user)
{
    ftp_cli_close(f);
    str_copy(f->host, sizeof f->host, host);
    f->port = port;
    int r = ftpc_connect(host, port, &f->o, &f->c);
    if (r != 0) {
        char what[FTPC_NAME_MAX + 16];
        snprintf(what, sizeof what, "%s port %u", host, port);
        ftp_cli_report(f, what, r);
        ftpc_free(f->c);
        f->c = NULL;
        return 1;
    }
    if (f->interactive && !f->verbose)
        printf("Connected to %s.\n%s\n", ftpc_peer(f->c), ftpc_reply(f->c));
    if (ftp_cli_login(f, user) != 0)
        return 1;
    return 0;
}

/* ---- transfers ------------------------------------------------------------------------ */

struct local {
    int fd;
    FILE *out;              /* listings to a stream */
    struct buf *names;      /* listings collected */
    struct progress pg;
};

static int local_write(void *arg, const char *p, size_t n)
{
    struct local *l = arg;
    if (l->names)
        return buf_append(l->names, p, n);
    if (l->out)
        return fwrite(p, 1, n, l->out) == n ? 0 : -EIO;
    return write_all(l->fd, p, n);
}

static ssize_t local_read(void *arg, char *p, size_t cap)
{
    struct local *l = arg;
    for (;;) {
        ssize_t n = read(l->fd, p, cap);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

static void local_progress(void *arg, uint64_t bytes)
{
    struct local *l = arg;
    progress_update(&l->pg, bytes);
}

static void on_sigint(int sig)
{
    (void)sig;
    ftp_cli_cancel = 1;
}

void ftp_cli_catch_sigint(bool on, struct sigaction *old)
{
    if (on) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        ftp_cli_cancel = 0;
        sigaction(SIGINT, &sa, old);
    } else {
        sigaction(SIGINT, old, NULL);
    }
}

static void summary(struct ftp_cli *f, uint64_t bytes, uint64_t t0, const char *dir)
{
    if (!f->interactive)
        return;
    if (!f->verbose)
        printf("%s\n", ftpc_reply(f->c));
    double secs = (double)(clock_ms() - t0) / 1000.0;
    char rate[24];
    progress_size(secs > 0.001 ? (uint64_t)((double)bytes / secs) : bytes, rate, sizeof rate);
    printf("%llu bytes %s in %.2f s (%s/s)\n", (unsigned long long)bytes, dir, secs, rate);
}

int ftp_cli_get(struct ftp_cli *f, const char *remote, const char *local, bool resume)
{
    char what[FTPC_PATH_MAX + 8];
    snprintf(what, sizeof what, "get %s", remote);
    uint64_t size = 0, offset = 0;
    bool have_size = ftpc_size(f->c, remote, &size) == 0;
    bool to_stdout = strcmp(local, "-") == 0;
    struct stat st;
    bool existed = !to_stdout && stat(local, &st) == 0;
    if (resume && existed && S_ISREG(st.st_mode)) {
        offset = (uint64_t)st.st_size;
        if (have_size && offset == size) {
            if (f->interactive)
                printf("%s: already complete (%llu bytes)\n", local, (unsigned long long)size);
            return 0;
        }
        if (have_size && offset > size) {
            fprintf(stderr, "outpost ftp: %s: the local file (%llu bytes) is longer than the "
                    "remote one (%llu)\n", what, (unsigned long long)offset,
                    (unsigned long long)size);
            return 1;
        }
    }
    struct local l = {.fd = STDOUT_FILENO};
    if (!to_stdout) {
        l.fd = open(local, O_WRONLY | O_CREAT | O_CLOEXEC | (offset ? O_APPEND : O_TRUNC), 0644);
        if (l.fd < 0) {
            fprintf(stderr, "outpost ftp: %s: %s\n", local, strerror(errno));
            return 1;
        }
    }
    struct ftpc_io io = {.write = local_write, .progress = local_progress, .arg = &l};
    struct sigaction old;
    uint64_t bytes = 0, t0 = clock_ms();
    progress_begin(&l.pg, remote, offset, have_size ? size : 0);
    ftp_cli_catch_sigint(true, &old);
    int r = ftpc_download(f->c, "RETR", remote, offset, &io, &bytes);
    ftp_cli_catch_sigint(false, &old);
    progress_end(&l.pg);
    if (!to_stdout && close(l.fd) < 0 && r == 0)
        r = -errno;
    if (r != 0) {
        if (!existed && !to_stdout && bytes == 0)
            unlink(local);
        ftp_cli_report(f, what, r);
        return 1;
    }
    summary(f, bytes, t0, "received");
    return 0;
}

int ftp_cli_put(struct ftp_cli *f, const char *local, const char *remote, bool resume,
                bool append)
{
    char what[FTPC_PATH_MAX + 8];
    snprintf(what, sizeof what, "put %s", local);
    struct local l = {.fd = open(local, O_RDONLY | O_CLOEXEC)};
    struct stat st;
    if (l.fd < 0 || fstat(l.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "outpost ftp: %s: %s\n", local,
                l.fd < 0 ? strerror(errno) : "not a regular file");
        if (l.fd >= 0)
            close(l.fd);
        return 1;
    }
    uint64_t offset = 0;
    const char *verb = append ? "APPE" : "STOR";
    if (resume) {
        uint64_t rsize;
        if (ftpc_size(f->c, remote, &rsize) == 0)
            offset = rsize;
        if (offset > (uint64_t)st.st_size) {
            fprintf(stderr, "outpost ftp: %s: the remote file (%llu bytes) is longer than the "
                    "local one\n", what, (unsigned long long)offset);
            close(l.fd);
            return 1;
        }
        if (offset == (uint64_t)st.st_size && offset > 0) {
            if (f->interactive)
                printf("%s: already complete (%llu bytes)\n", remote, (unsigned long long)offset);
            close(l.fd);
            return 0;
        }
        if (offset > 0 && lseek(l.fd, (off_t)offset, SEEK_SET) < 0) {
            fprintf(stderr, "outpost ftp: %s: %s\n", local, strerror(errno));
            close(l.fd);
            return 1;
        }
    }
    /* RFC 3659 section 5: REST then STOR resumes an upload where the server
     * says REST STREAM; APPE does the same on any server. */
    uint64_t rest = 0;
    if (offset > 0) {
        if (ftpc_features(f->c) & FTPC_FEAT_REST_STREAM)
            rest = offset;
        else
            verb = "APPE";
    }
    struct ftpc_io io = {.read = local_read, .progress = local_progress, .arg = &l};
    struct sigaction old;
    uint64_t bytes = 0, t0 = clock_ms();
    progress_begin(&l.pg, local, offset, (uint64_t)st.st_size);
    ftp_cli_catch_sigint(true, &old);
    int r = ftpc_upload(f->c, verb, remote, rest, &io, &bytes);
    ftp_cli_catch_sigint(false, &old);
    progress_end(&l.pg);
    close(l.fd);
    if (r != 0) {
        ftp_cli_report(f, what, r);
        return 1;
    }
    summary(f, bytes, t0, "sent");
    return 0;
}

int ftp_cli_list(struct ftp_cli *f, const char *verb, const char *path, FILE *out,
                 struct buf *names)
{
    struct local l = {.fd = -1, .out = out, .names = names};
    struct ftpc_io io = {.write = local_write, .arg = &l};
    struct sigaction old;
    ftp_cli_catch_sigint(true, &old);
    int r = ftpc_download(f->c, verb, path && path[0] ? path : NULL, 0, &io, NULL);
    ftp_cli_catch_sigint(false, &old);
    if (out)
        fflush(out);
    if (r != 0) {
        char what[FTPC_PATH_MAX + 16];
        snprintf(what, sizeof what, "%s %s", verb, path ? path : "");
        ftp_cli_report(f, what, r);
        return 1;
    }
    if (f->interactive && !f->verbose && !names)
        printf("%s\n", ftpc_reply(f->c));
    return 0;
}

/* ---- arguments ------------------------------------------------------------------------ */

struct args {
    const char *pos[8];
    int npos;
    const char *output;
    bool resume;
};

static int parse_args(int argc, char **argv, struct ftp_cli *f, struct args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *val = NULL;
        bool takes = strcmp(s, "--cacert") == 0 || strcmp(s, "--netrc") == 0 ||
                     strcmp(s, "-u") == 0 || strcmp(s, "--user") == 0 ||
                     strcmp(s, "--timeout") == 0 || strcmp(s, "-o") == 0 ||
                     strcmp(s, "--output") == 0;
        if (takes) {
            if (i + 1 >= argc) {
                fprintf(stderr, "outpost ftp: %s needs a value\n", s);
                return -1;
            }
            val = argv[++i];
        }
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            fputs(usage, stdout);
            return 1;
        } else if (strcmp(s, "--tls") == 0) {
            f->o.tls = FTPC_TLS_EXPLICIT;
        } else if (strcmp(s, "--insecure") == 0 || strcmp(s, "-k") == 0) {
            f->o.insecure = true;
        } else if (strcmp(s, "--cacert") == 0) {
            f->o.cafile = val;
        } else if (strcmp(s, "--active") == 0) {
            f->o.active = true;
        } else if (strcmp(s, "--passive") == 0) {
            f->o.active = false;
        } else if (strcmp(s, "--ascii") == 0) {
            f->ascii = true;
        } else if (strcmp(s, "-C") == 0 || strcmp(s, "--continue") == 0) {
            a->resume = true;
        } else if (strcmp(s, "-u") == 0 || strcmp(s, "--user") == 0) {
            if (!str_copy(f->user, sizeof f->user, val) || strpbrk(val, "\r\n")) {
                fprintf(stderr, "outpost ftp: bad user name\n");
                return -1;
            }
        } else if (strcmp(s, "--password-stdin") == 0) {
            f->password_stdin = true;
        } else if (strcmp(s, "--netrc") == 0) {
            f->netrc = val;
        } else if (strcmp(s, "--no-netrc") == 0) {
            f->no_netrc = true;
        } else if (strcmp(s, "--timeout") == 0) {
            char *end;
            long t = strtol(val, &end, 10);
            if (*end || t < 1 || t > 86400) {
                fprintf(stderr, "outpost ftp: --timeout: 1 to 86400 seconds\n");
                return -1;
            }
            f->o.timeout_ms = (int)t * 1000;
        } else if (strcmp(s, "-v") == 0 || strcmp(s, "--verbose") == 0) {
            f->verbose = true;
        } else if (strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0) {
            a->output = val;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "outpost ftp: unknown option %s\n", s);
            return -1;
        } else if (a->npos < (int)ARRAY_LEN(a->pos)) {
            a->pos[a->npos++] = s;
        } else {
            fprintf(stderr, "outpost ftp: too many arguments\n");
            return -1;
        }
    }
    return 0;
}

static int parse_url(struct ftp_cli *f, const char *s, struct ftpc_url *u)
{
    int r = ftpc_url_parse(s, strlen(s), u);
    if (r < 0) {
        fprintf(stderr, "outpost ftp: %s: not an ftp:// URL (%s)\n", s, op_strerror(r));
        return -1;
    }
    if (u->has_password) {
        fprintf(stderr, "outpost ftp: a password in the URL would be visible to every user "
                "of this machine: use --password-stdin, a netrc file or the prompt\n");
        return -1;
    }
    if (u->user[0])
        str_copy(f->user, sizeof f->user, u->user);
    if (u->type == 'a')
        f->ascii = true;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static int one_shot(struct ftp_cli *f, struct args *a)
{
    const char *cmd = a->pos[0];
    struct ftpc_url u;
    const char *url;
    if (strcmp(cmd, "get") == 0 || strcmp(cmd, "ls") == 0) {
        if (a->npos != 2)
            goto usage;
        url = a->pos[1];
    } else {
        if (a->npos != 3)
            goto usage;
        url = a->pos[2];
    }
    if (parse_url(f, url, &u) < 0)
        return EX_USAGE_;
    char remote[FTPC_PATH_MAX + FTPC_NAME_MAX];
    str_copy(remote, sizeof remote, u.path);
    const char *local = a->output;
    if (strcmp(cmd, "get") == 0) {
        size_t n = strlen(remote);
        if (n == 0 || remote[n - 1] == '/') {
            fprintf(stderr, "outpost ftp: get: the URL names no file\n");
            return EX_USAGE_;
        }
        if (!local)
            local = base_name(remote);
    } else if (strcmp(cmd, "put") == 0) {
        size_t n = strlen(remote);
        if (n == 0 || remote[n - 1] == '/') {
            if (n + strlen(base_name(a->pos[1])) + 1 > sizeof remote) {
                fprintf(stderr, "outpost ftp: put: name too long\n");
                return EX_USAGE_;
            }
            strcat(remote, base_name(a->pos[1]));
        }
    }
    if (ftp_cli_open(f, u.host, u.port, NULL) != 0) {
        ftp_cli_close(f);
        return 1;
    }
    int r;
    if (strcmp(cmd, "get") == 0)
        r = ftp_cli_get(f, remote, local, a->resume);
    else if (strcmp(cmd, "put") == 0)
        r = ftp_cli_put(f, a->pos[1], remote, a->resume, false);
    else
        r = ftp_cli_list(f, "LIST", remote, stdout, NULL);
    ftp_cli_close(f);
    return r ? 1 : 0;
usage:
    fputs(usage, stderr);
    return EX_USAGE_;
}

int cmd_ftp(int argc, char **argv)
{
    struct ftp_cli f;
    struct args a;
    memset(&f, 0, sizeof f);
    memset(&a, 0, sizeof a);
    int pr = parse_args(argc, argv, &f, &a);
    if (pr != 0)
        return pr > 0 ? 0 : EX_USAGE_;
    f.o.cancel = &ftp_cli_cancel;
    f.o.trace = on_trace;     /* prints only while f.verbose is set */
    f.o.arg = &f;
    /* A closed connection must be an error to report, not a signal that
     * ends the program. */
    signal(SIGPIPE, SIG_IGN);
    if (f.password_stdin) {
        if (fgets(f.stdin_password, sizeof f.stdin_password, stdin)) {
            f.stdin_password[strcspn(f.stdin_password, "\r\n")] = '\0';
            f.have_stdin_password = f.stdin_password[0] != '\0';
        }
    }
    int rc;
    bool one = a.npos > 0 && (strcmp(a.pos[0], "get") == 0 || strcmp(a.pos[0], "put") == 0 ||
                              strcmp(a.pos[0], "ls") == 0);
    if (one) {
        rc = one_shot(&f, &a);
    } else {
        f.interactive = true;
        rc = 0;
        if (a.npos > 2) {
            fputs(usage, stderr);
            rc = EX_USAGE_;
        } else if (a.npos >= 1) {
            uint16_t port = 21;
            const char *host = a.pos[0];
            struct ftpc_url u;
            memset(&u, 0, sizeof u);
            if (strncasecmp(host, "ftp://", 6) == 0) {
                if (parse_url(&f, host, &u) < 0)
                    rc = EX_USAGE_;
                host = u.host;
                port = u.port;
            } else if (a.npos == 2) {
                char *end;
                long p = strtol(a.pos[1], &end, 10);
                if (*end || p < 1 || p > 65535) {
                    fprintf(stderr, "outpost ftp: bad port %s\n", a.pos[1]);
                    rc = EX_USAGE_;
                }
                port = (uint16_t)p;
            }
            if (rc == 0 && ftp_cli_open(&f, host, port, NULL) != 0)
                rc = 1;
            if (rc == 0 && host == u.host && u.path[0]) {
                int r = ftpc_cmd(f.c, "CWD %s", u.path);
                if (r != 250) {
                    ftp_cli_report(&f, "cd", r);
                    rc = 1;
                }
            }
        }
        if (rc != EX_USAGE_)
            rc = ftp_shell(&f) || rc;
        ftp_cli_close(&f);
    }
    explicit_bzero(f.stdin_password, sizeof f.stdin_password);
    return rc;
}
