/*
 * session.h - internal to src/ftp: the control connection's session, shared
 * by the dispatcher and common commands (session.c), the commands allowed
 * before login (prelogin.c), the commands of a logged-in user
 * (postlogin.c) and the service's wiring (server.c).
 *
 * Before login only the verbs of ftp_prelogin[] reach a handler: that table
 * and prelogin.c are the whole surface an unauthenticated client sees, kept
 * small so it can be audited alone.
 */
#ifndef OP_FTP_SESSION_H
#define OP_FTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/accounts.h"
#include "auth/policy.h"
#include "base/buf.h"
#include "base/snapshot.h"
#include "ftp/data.h"
#include "ftp/parse.h"
#include "ftp/path.h"
#include "net/conn.h"
#include "net/loop.h"

/* The settings a session works with: an immutable, reference-counted
 * snapshot taken when it connects (SIGHUP installs a new one). */
struct ftp_live {
    struct snapshot snap;           /* first: the snapshot header */
    char *datadir, *hostname, *default_domain, *pasv_address;
    enum plaintext_policy plaintext;
    bool anonymous;                 /* anonymous login to the public area */
    uint64_t quota;                 /* bytes per user, 0 = none */
    struct ftp_data_config data;    /* pasv_address points into this struct */
};

struct ftp_live *ftp_live_get(void);
void ftp_live_put(struct ftp_live *l);

struct ftp_session {
    struct conn *c;
    struct ftp_live *live;
    unsigned errors;                /* bad commands so far */
    const char *verb;               /* command being answered, for the log */

    /* login */
    bool have_user, logged_in, anonymous;
    char user[ADDRESS_MAX];
    char password[256];             /* cleared as soon as it is checked */
    struct loop_timer delay;        /* failed-login slowdown */
    struct loop_timer keepalive;    /* a transfer runs: the control
                                       connection is not idle */
    int result;                     /* pool work's result */

    /* protection (RFC 4217) */
    bool pbsz, prot_p;

    /* after login */
    int root;                       /* the jail: the home, O_PATH */
    char *cwd;                      /* virtual, "/" = the home; NULL before login */
    bool ascii;                     /* TYPE A */
    bool epsv_all;                  /* RFC 2428 section 4 */
    unsigned facts;                 /* OPTS MLST selection */
    uint64_t rest;                  /* REST marker for the next transfer */
    char *rnfr;                     /* RNFR's path until RNTO, else NULL */
    struct ftp_usage *usage;        /* bytes in the home, shared by the user's
                                       sessions (usage.h); NULL without a quota */
    struct ftp_data *data;
    struct ftp_fsop *op;            /* a file system command on the pool (fscmd.c) */

    /* a transfer or listing in progress */
    struct {
        bool active;                /* started, on_done not yet run */
        bool finishing;             /* upload being made durable on the pool */
        enum ftp_verb verb;
        int fd;                     /* file sent or written */
        int dfd;                    /* upload: its directory */
        bool temp;                  /* upload under a temporary name */
        char tmpname[64];
        char *name;                 /* the vpath transferred (upload: the final name) */
        char *open_msg;             /* the text of its 150 */
        struct buf list;            /* LIST / NLST / MLSD text */
        uint64_t bytes;
        off_t start_size;           /* upload: size of the file before */
        uint64_t rest;              /* REST marker of this transfer */
        off_t offset;               /* upload: where writing starts */
        uint64_t credited;          /* STOR over a file: its size, given back to the
                                       quota while the new one arrives */
        int result;
        /* listing work on the pool */
        enum ftp_verb lverb;
        char *lpath;
        char *lprefix;              /* NLST pattern: the client's directory part */
    } x;
};

/* Replies (RFC 959 section 4.2). One line: "code text". */
void ftp_reply(struct ftp_session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An error reply, logged with the command's name (never its argument:
 * it may hold a password); too many of them close the session. */
void ftp_error(struct ftp_session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A multi-line reply: "code-first", the lines of body (CRLF separated,
 * each sent with a leading SP so none can look like a reply code), then
 * "code last". */
void ftp_reply_multi(struct ftp_session *s, int code, const char *first, const char *body,
                     size_t bodylen, const char *last);

/* The client's argument as a virtual path; replies 550/553 and returns
 * false when it cannot be one. */
bool ftp_vpath(struct ftp_session *s, const struct ftp_cmd *cmd, char out[FTP_VPATH_MAX]);

/* *dst = a copy of src (or of the formatted text), the old one freed.
 * false (and *dst unchanged) when out of memory. Path-sized strings live
 * on the heap only while they are needed, so an idle session is small. */
bool ftp_set_str(char **dst, const char *src);
bool ftp_set_strf(char **dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Start work on the pool with the connection paused and held; done runs on
 * the loop (it resumes the connection), after which the connection is
 * released. false (after a 451 reply) when that cannot start. */
bool ftp_on_pool(struct ftp_session *s, void (*work)(void *), void (*done)(struct ftp_session *));

/* A file system error (-errno) as its reply (postlogin.c). */
void ftp_fs_error(struct ftp_session *s, int err);
/* Anonymous sessions are read-only: true after replying 550 to a
 * command that would write. */
bool ftp_deny_write(struct ftp_session *s);

/* Leave the logged-in state (REIN, USER again): close the jail, forget the
 * directory and the transfer parameters. */
void ftp_logout(struct ftp_session *s);

typedef void (*ftp_handler)(struct ftp_session *s, const struct ftp_cmd *cmd);

struct ftp_command {
    enum ftp_verb verb;
    ftp_handler fn;
    const char *help;               /* syntax for HELP */
};

extern const struct ftp_command ftp_prelogin[];
extern const size_t ftp_nprelogin;
extern const struct ftp_command ftp_postlogin[];
extern const size_t ftp_npostlogin;

/* Commands valid in both states (session.c). */
void ftp_cmd_quit(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_noop(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_syst(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_feat(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_opts(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_help(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_rein(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_stat(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_abor(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_pbsz(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_prot(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_ccc(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_acct(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_user(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_auth(struct ftp_session *s, const struct ftp_cmd *cmd);
/* STAT of a path (postlogin.c) */
void ftp_stat_path(struct ftp_session *s, const struct ftp_cmd *cmd);
/* Names and facts (fscmd.c): answered from the kernel's lookup cache on
 * the loop when they only look and it has the path, else on the pool. */
void ftp_cmd_cwd(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_cdup(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_pwd(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_mkd(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_rmd(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_dele(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_rnfr(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_rnto(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_size(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_mdtm(struct ftp_session *s, const struct ftp_cmd *cmd);
void ftp_cmd_mlst(struct ftp_session *s, const struct ftp_cmd *cmd);
/* SITE CHMOD: args is "<octal mode> <path>". */
void ftp_site_chmod(struct ftp_session *s, const char *args);

/* The session's callbacks for the connection layer. */
extern const struct conn_ops ftp_ops;

#endif
