/*
 * ftp.h - internal to `outpost ftp`: what the one-shot commands (ftp.c)
 * and the interactive shell (ftp_shell.c) share: the session, logging in
 * with a password from a prompt, a netrc file or stdin, and the transfers
 * between local files and the server with their progress bars.
 *
 * Every function that can fail prints one line to stderr naming what
 * failed and the server's reply (or the local reason), and returns
 * non-zero.
 */
#ifndef OP_CLI_FTP_H
#define OP_CLI_FTP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "ftp/client.h"
#include "ftp/client_url.h"

struct ftp_cli {
    struct ftpc_opts o;
    struct ftpc *c;              /* NULL when not connected */
    char host[FTPC_NAME_MAX];
    uint16_t port;
    char user[FTPC_NAME_MAX];    /* from the URL or --user, "" if none */
    const char *netrc;           /* --netrc FILE, else ~/.netrc if it exists */
    bool no_netrc;
    bool password_stdin;         /* --password-stdin: the first line of stdin */
    char stdin_password[FTPC_NAME_MAX];
    bool have_stdin_password;
    bool ascii;                  /* TYPE A after login */
    bool verbose;                /* print the dialogue on stderr */
    bool interactive;            /* print the server's replies on stdout */
};

/* The flag a SIGINT sets during a transfer (ftpc_opts.cancel). */
extern volatile sig_atomic_t ftp_cli_cancel;
/* on: SIGINT sets ftp_cli_cancel (cleared here) rather than ending the
 * program, so a transfer is aborted with ABOR; the previous action goes
 * to *old. off: *old is restored. */
void ftp_cli_catch_sigint(bool on, struct sigaction *old);

/* Connect to host:port (closing an earlier session) and log in as user
 * (NULL: the URL's/--user's, else netrc's, else anonymous). 0 or 1. */
int ftp_cli_open(struct ftp_cli *f, const char *host, uint16_t port, const char *user);
int ftp_cli_login(struct ftp_cli *f, const char *user);
void ftp_cli_close(struct ftp_cli *f);

/* Print "outpost ftp: what: <the server's reply or the local reason>". */
void ftp_cli_report(struct ftp_cli *f, const char *what, int r);

/* RETR remote into local ("-": stdout); resume: REST from the local size. */
int ftp_cli_get(struct ftp_cli *f, const char *remote, const char *local, bool resume);
/* STOR local as remote; resume: from the remote size (REST+STOR, or APPE
 * when the server lacks REST STREAM); append: APPE. */
int ftp_cli_put(struct ftp_cli *f, const char *local, const char *remote, bool resume,
                bool append);
/* verb LIST, NLST or MLSD of path (NULL: the current directory) into out;
 * or into names (one per line, NUL-free) when names is not NULL. */
int ftp_cli_list(struct ftp_cli *f, const char *verb, const char *path, FILE *out,
                 struct buf *names);

/* The interactive loop: commands from stdin (line editing on a terminal)
 * until quit or end of input. Its exit status: 0, or 1 when a command failed. */
int ftp_shell(struct ftp_cli *f);

#endif
