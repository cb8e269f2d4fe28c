/*
 * list.h - directory listings and file facts in the forms FTP clients read:
 * LIST as `ls -l` lines (RFC 959 leaves the form to the server; every
 * client parses the Unix form), NLST as bare names, and MLSD/MLST entries
 * (RFC 3659 section 7) with the facts type, size, modify, perm and unique.
 *
 * The formatting functions are pure (a name, a struct stat, the time for
 * "recent" dates); ftp_list_dir() reads a directory and formats it all
 * (sorted by name), which may wait for the disk: call it from the pool.
 *
 * Names holding CR or LF are left out of every listing and every reply: a
 * listing line is parsed by line ends, and on the control connection such
 * a name would forge reply lines. So are the temporary names of uploads in
 * progress (FTP_UPLOAD_PREFIX).
 */
#ifndef OP_FTP_LIST_H
#define OP_FTP_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "base/buf.h"

/* Uploads are written under this name first, then renamed (session.c). */
#define FTP_UPLOAD_PREFIX ".outpost-upload."

/* RFC 3659 section 7.5 facts, for OPTS MLST and the FEAT line. */
enum {
    FTP_FACT_TYPE = 1, FTP_FACT_SIZE = 2, FTP_FACT_MODIFY = 4, FTP_FACT_PERM = 8,
    FTP_FACT_UNIQUE = 16, FTP_FACT_ALL = 31,
};

enum ftp_list_kind { FTP_LIST_LONG, FTP_LIST_NAMES, FTP_LIST_MLSD };

/* May this name appear in a listing or a reply? */
bool ftp_name_listable(const char *name);

/* One `ls -l` line with CRLF: dates within 6 months of now as
 * "Mon dd HH:MM", older or future ones as "Mon dd  YYYY" (UTC). Owner and
 * group are shown as "ftp" (the server's uids mean nothing to a client). */
int ftp_list_long(struct buf *out, const char *name, const struct stat *st, time_t now);

/* "fact=value;...; name" with CRLF (RFC 3659 section 7.2: the facts, one
 * SP, the name). type_override: "cdir" / "pdir" for MLSD's own entries,
 * else NULL. readonly: perm offers only reading (anonymous). */
int ftp_list_facts(struct buf *out, const char *name, const struct stat *st, unsigned facts,
                   bool readonly, const char *type_override);

/* "YYYYMMDDHHMMSS" (RFC 3659 section 2.3, UTC) into out[15]. */
void ftp_time_val(time_t t, char out[15]);

/* Every entry of the directory dfd (not "." and ".."; for MLSD a "cdir"
 * entry first), sorted by name, in the given form; with a pattern, only
 * the names fnmatch(3) matches (LIST / NLST "*.txt", as mget sends). The
 * descriptor stays the caller's. 0 or -errno. */
int ftp_list_dir(int dfd, enum ftp_list_kind kind, unsigned facts, bool readonly, time_t now,
                 const char *pattern, struct buf *out);

/* Does this name hold a glob character (* ? [)? */
bool ftp_name_is_pattern(const char *name);

/* The OPTS MLST argument ("type;size;") as a mask of known facts. */
unsigned ftp_facts_parse(const char *arg);
/* The selected facts as "type;size;" (RFC 3659 section 7.9), or the FEAT
 * form with a '*' after each selected fact when feat. */
void ftp_facts_format(unsigned facts, bool feat, char *out, size_t outlen);

#endif
