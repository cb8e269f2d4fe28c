/*
 * ftp_shell.c - the interactive side of `outpost ftp`: a command loop in
 * the manner of the classic ftp(1) and lftp. On a terminal, lines are
 * read with libedit (editing, history); otherwise plain lines from stdin,
 * so that a script can drive it. Each command's outcome is the server's
 * reply on stdout, or one line on stderr when it failed; the loop's exit
 * status says whether any command failed.
 */
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <editline/readline.h>

#include "base/err.h"
#include "base/util.h"
#include "cli/ftp.h"

#define SHELL_LINE_MAX 8192
#define SHELL_MAX_ARGS 32

struct shell_cmd {
    const char *name;
    int min, max;               /* arguments after the name */
    bool need_conn;
    int (*fn)(struct ftp_cli *f, int argc, char **argv);
    const char *args;
    const char *help;
};

static bool connected(const struct ftp_cli *f)
{
    return f->c && ftpc_connected(f->c);
}

static void say(struct ftp_cli *f)
{
    if (!f->verbose)
        printf("%s\n", ftpc_reply(f->c));
}

/* A command that succeeds with any 2xx reply: servers differ on the
 * code (CDUP: 200 in RFC 959 section 5.4, 250 from vsftpd). */
static int simple(struct ftp_cli *f, const char *what, const char *verb, const char *arg)
{
    int r = arg ? ftpc_cmd(f->c, "%s %s", verb, arg) : ftpc_cmd(f->c, "%s", verb);
    if (r < 200 || r > 299) {
        ftp_cli_report(f, what, r);
        return 1;
    }
    say(f);
    return 0;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* ---- commands ----------------------------------------------------------------------- */

static int c_open(struct ftp_cli *f, int argc, char **argv)
{
    uint16_t port = 21;
    if (argc == 3) {
        char *end;
        long p = strtol(argv[2], &end, 10);
        if (*end || p < 1 || p > 65535) {
            fprintf(stderr, "outpost ftp: bad port %s\n", argv[2]);
            return 1;
        }
        port = (uint16_t)p;
    }
    return ftp_cli_open(f, argv[1], port, NULL);
}

static int c_user(struct ftp_cli *f, int argc, char **argv)
{
    return ftp_cli_login(f, argv[1]);
}

static int c_close(struct ftp_cli *f, int argc, char **argv)
{
    ftp_cli_close(f);
    return 0;
}

static int c_ls(struct ftp_cli *f, int argc, char **argv)
{
    return ftp_cli_list(f, "LIST", argc > 1 ? argv[1] : NULL, stdout, NULL);
}

static int c_nlist(struct ftp_cli *f, int argc, char **argv)
{
    return ftp_cli_list(f, "NLST", argc > 1 ? argv[1] : NULL, stdout, NULL);
}

static int c_mlsd(struct ftp_cli *f, int argc, char **argv)
{
    return ftp_cli_list(f, "MLSD", argc > 1 ? argv[1] : NULL, stdout, NULL);
}

static int c_cd(struct ftp_cli *f, int argc, char **argv)
{
    if (strcmp(argv[1], "..") == 0)
        return simple(f, "cd ..", "CDUP", NULL);
    return simple(f, "cd", "CWD", argv[1]);
}

static int c_cdup(struct ftp_cli *f, int argc, char **argv)
{
    return simple(f, "cdup", "CDUP", NULL);
}

static int c_pwd(struct ftp_cli *f, int argc, char **argv)
{
    char dir[FTPC_PATH_MAX];
    int r = ftpc_pwd(f->c, dir, sizeof dir);
    if (r != 0) {
        ftp_cli_report(f, "pwd", r);
        return 1;
    }
    printf("Remote directory: %s\n", dir);
    return 0;
}

static int c_lcd(struct ftp_cli *f, int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("HOME");
    if (dir && chdir(dir) < 0) {
        fprintf(stderr, "outpost ftp: lcd %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd))
        printf("Local directory now %s\n", cwd);
    return 0;
}

static int c_lpwd(struct ftp_cli *f, int argc, char **argv)
{
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) {
        fprintf(stderr, "outpost ftp: lpwd: %s\n", strerror(errno));
        return 1;
    }
    printf("Local directory: %s\n", cwd);
    return 0;
}

static int c_get(struct ftp_cli *f, int argc, char **argv)
{
    return ftp_cli_get(f, argv[1], argc > 2 ? argv[2] : base_name(argv[1]), false);
}

static int c_reget(struct ftp_cli *f, int argc, char **argv)
{
    return ftp_cli_get(f, argv[1], argc > 2 ? argv[2] : base_name(argv[1]), true);
}

static int c_put(struct ftp_cli *f, int argc, char **argv)
{
    return ftp_cli_put(f, argv[1], argc > 2 ? argv[2] : base_name(argv[1]), false, false);
}

static int c_reput(struct ftp_cli *f, int argc, char **argv)
{
    return ftp_cli_put(f, argv[1], argc > 2 ? argv[2] : base_name(argv[1]), true, false);
}

static int c_append(struct ftp_cli *f, int argc, char **argv)
{
    return ftp_cli_put(f, argv[1], argc > 2 ? argv[2] : base_name(argv[1]), false, true);
}

/* mget: the names of a directory (NLST) that match each pattern. Only the
 * last component of a name the server sends is used as the local name, and
 * "." and ".." are skipped, so a hostile listing cannot write outside the
 * local directory. */
static int c_mget(struct ftp_cli *f, int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        char dir[FTPC_PATH_MAX] = "";
        const char *pat = argv[i];
        const char *slash = strrchr(pat, '/');
        if (slash) {
            size_t n = (size_t)(slash - pat);
            if (n >= sizeof dir)
                n = sizeof dir - 1;
            memcpy(dir, pat, n);
            dir[n] = '\0';
            if (n == 0)
                str_copy(dir, sizeof dir, "/");
            pat = slash + 1;
        }
        struct buf names = BUF_INIT;
        if (ftp_cli_list(f, "NLST", dir[0] ? dir : NULL, NULL, &names) != 0) {
            buf_free(&names);
            failed = 1;
            continue;
        }
        const char *p = buf_cstr(&names);
        int matched = 0;
        while (p && *p) {
            size_t len = strcspn(p, "\r\n");
            char name[FTPC_PATH_MAX];
            if (len > 0 && len < sizeof name) {
                memcpy(name, p, len);
                name[len] = '\0';
                const char *b = base_name(name);
                if (b[0] && strcmp(b, ".") != 0 && strcmp(b, "..") != 0 &&
                    fnmatch(pat, b, 0) == 0) {
                    char remote[FTPC_PATH_MAX * 2];
                    if (dir[0])
                        snprintf(remote, sizeof remote, "%s%s%s", dir,
                                 dir[strlen(dir) - 1] == '/' ? "" : "/", b);
                    else
                        snprintf(remote, sizeof remote, "%s", b);
                    matched++;
                    failed |= ftp_cli_get(f, remote, b, false);
                    if (ftp_cli_cancel)
                        break;
                }
            }
            p += len;
            while (*p == '\r' || *p == '\n')
                p++;
        }
        buf_free(&names);
        if (!matched) {
            fprintf(stderr, "outpost ftp: mget %s: no such remote file\n", argv[i]);
            failed = 1;
        }
    }
    return failed;
}

static int c_mput(struct ftp_cli *f, int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        glob_t g;
        int r = glob(argv[i], 0, NULL, &g);
        if (r != 0) {
            fprintf(stderr, "outpost ftp: mput %s: no such local file\n", argv[i]);
            failed = 1;
            continue;
        }
        for (size_t k = 0; k < g.gl_pathc && !ftp_cli_cancel; k++) {
            struct stat st;
            if (stat(g.gl_pathv[k], &st) < 0 || !S_ISREG(st.st_mode))
                continue;
            failed |= ftp_cli_put(f, g.gl_pathv[k], base_name(g.gl_pathv[k]), false, false);
        }
        globfree(&g);
    }
    return failed;
}

static int c_mkdir(struct ftp_cli *f, int argc, char **argv)
{
    return simple(f, "mkdir", "MKD", argv[1]);
}

static int c_rmdir(struct ftp_cli *f, int argc, char **argv)
{
    return simple(f, "rmdir", "RMD", argv[1]);
}

static int c_delete(struct ftp_cli *f, int argc, char **argv)
{
    return simple(f, "delete", "DELE", argv[1]);
}

static int c_rename(struct ftp_cli *f, int argc, char **argv)
{
    int r = ftpc_rename(f->c, argv[1], argv[2]);
    if (r != 0) {
        ftp_cli_report(f, "rename", r);
        return 1;
    }
    say(f);
    return 0;
}

static int c_size(struct ftp_cli *f, int argc, char **argv)
{
    uint64_t size;
    int r = ftpc_size(f->c, argv[1], &size);
    if (r != 0) {
        ftp_cli_report(f, "size", r);
        return 1;
    }
    printf("%s\t%llu\n", argv[1], (unsigned long long)size);
    return 0;
}

static int c_modtime(struct ftp_cli *f, int argc, char **argv)
{
    time_t t;
    int r = ftpc_mdtm(f->c, argv[1], &t);
    if (r != 0) {
        ftp_cli_report(f, "modtime", r);
        return 1;
    }
    struct tm tm;
    char text[64];
    gmtime_r(&t, &tm);
    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
    printf("%s\t%s\n", argv[1], text);
    return 0;
}

static int c_passive(struct ftp_cli *f, int argc, char **argv)
{
    bool active = !f->o.active;       /* a toggle, as in ftp(1) */
    if (argc > 1) {
        if (strcmp(argv[1], "on") == 0)
            active = false;
        else if (strcmp(argv[1], "off") == 0)
            active = true;
        else {
            fprintf(stderr, "outpost ftp: passive on|off\n");
            return 1;
        }
    }
    f->o.active = active;
    if (f->c)
        ftpc_set_active(f->c, active);
    printf("Passive mode %s.\n", active ? "off" : "on");
    return 0;
}

static int c_active(struct ftp_cli *f, int argc, char **argv)
{
    f->o.active = true;
    if (f->c)
        ftpc_set_active(f->c, true);
    printf("Passive mode off.\n");
    return 0;
}

static int set_type(struct ftp_cli *f, bool ascii)
{
    f->ascii = ascii;
    if (!connected(f))
        return 0;
    int r = ftpc_type(f->c, ascii);
    if (r != 0) {
        ftp_cli_report(f, ascii ? "ascii" : "binary", r);
        return 1;
    }
    say(f);
    return 0;
}

static int c_binary(struct ftp_cli *f, int argc, char **argv)
{
    return set_type(f, false);
}

static int c_ascii(struct ftp_cli *f, int argc, char **argv)
{
    return set_type(f, true);
}

static int c_status(struct ftp_cli *f, int argc, char **argv)
{
    if (connected(f))
        printf("Connected to %s%s.\n", ftpc_peer(f->c), ftpc_is_tls(f->c) ? " with TLS" : "");
    else
        printf("Not connected.\n");
    printf("Mode: %s; type: %s; verbose: %s.\n", f->o.active ? "active" : "passive",
           f->ascii ? "ascii" : "binary", f->verbose ? "on" : "off");
    return 0;
}

static int c_verbose(struct ftp_cli *f, int argc, char **argv)
{
    f->verbose = !f->verbose;
    printf("Verbose mode %s.\n", f->verbose ? "on" : "off");
    return 0;
}

static int c_quote(struct ftp_cli *f, int argc, char **argv)
{
    char line[SHELL_LINE_MAX];
    size_t o = 0;
    for (int i = 1; i < argc; i++) {
        int n = snprintf(line + o, sizeof line - o, "%s%s", i > 1 ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= sizeof line - o) {
            fprintf(stderr, "outpost ftp: quote: too long\n");
            return 1;
        }
        o += (size_t)n;
    }
    int r = ftpc_cmd(f->c, "%s", line);
    if (r < 0) {
        ftp_cli_report(f, "quote", r);
        return 1;
    }
    say(f);
    return r >= 400;
}

static int c_help(struct ftp_cli *f, int argc, char **argv);
static int c_quit(struct ftp_cli *f, int argc, char **argv)
{
    return 0;     /* handled by the loop */
}

static const struct shell_cmd commands[] = {
    {"open", 1, 2, false, c_open, "HOST [PORT]", "connect and log in"},
    {"user", 1, 1, true, c_user, "NAME", "log in as NAME"},
    {"close", 0, 0, false, c_close, "", "end the session (QUIT)"},
    {"ls", 0, 1, true, c_ls, "[PATH]", "list a directory (LIST)"},
    {"dir", 0, 1, true, c_ls, "[PATH]", "the same as ls"},
    {"nlist", 0, 1, true, c_nlist, "[PATH]", "names only (NLST)"},
    {"mlsd", 0, 1, true, c_mlsd, "[PATH]", "machine-readable listing (MLSD)"},
    {"cd", 1, 1, true, c_cd, "PATH", "change the remote directory"},
    {"cdup", 0, 0, true, c_cdup, "", "go to the parent directory"},
    {"pwd", 0, 0, true, c_pwd, "", "print the remote directory"},
    {"lcd", 0, 1, false, c_lcd, "[DIR]", "change the local directory"},
    {"lpwd", 0, 0, false, c_lpwd, "", "print the local directory"},
    {"get", 1, 2, true, c_get, "REMOTE [LOCAL]", "download a file"},
    {"recv", 1, 2, true, c_get, "REMOTE [LOCAL]", "the same as get"},
    {"reget", 1, 2, true, c_reget, "REMOTE [LOCAL]", "resume a download (REST)"},
    {"put", 1, 2, true, c_put, "LOCAL [REMOTE]", "upload a file"},
    {"send", 1, 2, true, c_put, "LOCAL [REMOTE]", "the same as put"},
    {"reput", 1, 2, true, c_reput, "LOCAL [REMOTE]", "resume an upload"},
    {"append", 1, 2, true, c_append, "LOCAL [REMOTE]", "append to a remote file (APPE)"},
    {"mget", 1, SHELL_MAX_ARGS, true, c_mget, "PATTERN...", "download the matching files"},
    {"mput", 1, SHELL_MAX_ARGS, true, c_mput, "PATTERN...", "upload the matching local files"},
    {"mkdir", 1, 1, true, c_mkdir, "DIR", "make a remote directory"},
    {"rmdir", 1, 1, true, c_rmdir, "DIR", "remove a remote directory"},
    {"delete", 1, 1, true, c_delete, "FILE", "delete a remote file"},
    {"rm", 1, 1, true, c_delete, "FILE", "the same as delete"},
    {"rename", 2, 2, true, c_rename, "FROM TO", "rename a remote file"},
    {"size", 1, 1, true, c_size, "FILE", "a remote file's size"},
    {"modtime", 1, 1, true, c_modtime, "FILE", "a remote file's modification time"},
    {"passive", 0, 1, false, c_passive, "[on|off]", "passive mode (toggles without argument)"},
    {"active", 0, 0, false, c_active, "", "active mode (PORT/EPRT)"},
    {"binary", 0, 0, false, c_binary, "", "transfer bytes as they are (TYPE I)"},
    {"ascii", 0, 0, false, c_ascii, "", "convert line ends (TYPE A)"},
    {"status", 0, 0, false, c_status, "", "show the session's settings"},
    {"verbose", 0, 0, false, c_verbose, "", "show the dialogue with the server"},
    {"quote", 1, SHELL_MAX_ARGS, true, c_quote, "COMMAND...", "send a raw command"},
    {"help", 0, 1, false, c_help, "[COMMAND]", "list the commands"},
    {"?", 0, 1, false, c_help, "[COMMAND]", "the same as help"},
    {"quit", 0, 0, false, c_quit, "", "end the session and leave"},
    {"bye", 0, 0, false, c_quit, "", "the same as quit"},
    {"exit", 0, 0, false, c_quit, "", "the same as quit"},
};

static int c_help(struct ftp_cli *f, int argc, char **argv)
{
    for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
        if (argc > 1 && strcmp(argv[1], commands[i].name) != 0)
            continue;
        char head[64];
        snprintf(head, sizeof head, "%s %s", commands[i].name, commands[i].args);
        printf("  %-26s %s\n", head, commands[i].help);
        if (argc > 1)
            return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "outpost ftp: no command '%s'\n", argv[1]);
        return 1;
    }
    return 0;
}

/* ---- the loop -------------------------------------------------------------------------- */

/* Split line into words in place: white space separates, "..." and '...'
 * quote, a backslash escapes the next character. The count, or -1. */
static int split(char *line, char **argv, int max)
{
    int n = 0;
    char *r = line, *w = line;
    for (;;) {
        while (*r == ' ' || *r == '\t')
            r++;
        if (!*r)
            return n;
        if (n == max)
            return -1;
        argv[n++] = w;
        char quote = 0;
        while (*r && (quote || (*r != ' ' && *r != '\t'))) {
            if (quote && *r == quote) {
                quote = 0;
                r++;
            } else if (!quote && (*r == '"' || *r == '\'')) {
                quote = *r++;
            } else if (*r == '\\' && r[1] && quote != '\'') {
                r++;
                *w++ = *r++;
            } else {
                *w++ = *r++;
            }
        }
        if (quote)
            return -1;
        if (*r)
            r++;
        *w++ = '\0';
    }
}

/* The next line, without its end: NULL at the end of input. */
static char *next_line(bool tty, char *buf, size_t cap)
{
    if (tty) {
        char *l = readline("ftp> ");
        if (!l)
            return NULL;
        if (l[0])
            add_history(l);
        str_copy(buf, cap, l);
        free(l);
        return buf;
    }
    if (!fgets(buf, (int)cap, stdin))
        return NULL;
    size_t n = strlen(buf);
    if (n == cap - 1 && buf[n - 1] != '\n') {
        int ch;
        while ((ch = getchar()) != EOF && ch != '\n')
            ;
        fprintf(stderr, "outpost ftp: line too long, ignored\n");
        buf[0] = '\0';
        return buf;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

int ftp_shell(struct ftp_cli *f)
{
    bool tty = isatty(STDIN_FILENO);
    int failed = 0;
    char line[SHELL_LINE_MAX];
    /* On a terminal, ^C at the prompt does nothing (quit or ^D ends the
     * session); during a command it cancels what the command waits for. */
    struct sigaction at_prompt, ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    if (tty) {
        /* libedit's own handlers would leave the terminal half-restored
         * after an ignored ^C: with SIGINT ignored, none are needed. */
        rl_catch_signals = 0;
        using_history();
        sigaction(SIGINT, &ign, &at_prompt);
    }
    while (next_line(tty, line, sizeof line)) {
        char *argv[SHELL_MAX_ARGS + 1];
        int argc = split(line, argv, SHELL_MAX_ARGS);
        if (argc < 0) {
            fprintf(stderr, "outpost ftp: unbalanced quotes or too many words\n");
            failed = 1;
            continue;
        }
        if (argc == 0 || argv[0][0] == '#')
            continue;
        const struct shell_cmd *cmd = NULL;
        for (size_t i = 0; i < ARRAY_LEN(commands); i++)
            if (strcmp(argv[0], commands[i].name) == 0)
                cmd = &commands[i];
        if (!cmd) {
            fprintf(stderr, "outpost ftp: ?Invalid command '%s' (try help)\n", argv[0]);
            failed = 1;
            continue;
        }
        if (cmd->fn == c_quit)
            break;
        if (argc - 1 < cmd->min || argc - 1 > cmd->max) {
            fprintf(stderr, "usage: %s %s\n", cmd->name, cmd->args);
            failed = 1;
            continue;
        }
        if (cmd->need_conn && !connected(f)) {
            fprintf(stderr, "outpost ftp: %s: not connected\n", cmd->name);
            failed = 1;
            continue;
        }
        struct sigaction old;
        ftp_cli_catch_sigint(true, &old);
        if (cmd->fn(f, argc, argv) != 0)
            failed = 1;
        ftp_cli_catch_sigint(false, &old);
        fflush(stdout);
    }
    if (tty)
        sigaction(SIGINT, &at_prompt, NULL);
    return failed;
}
