/*
 * data.h - internal to src/ftp: the FTP data channel (RFC 959 section
 * 3.2-3.3; passive and active; RFC 2428 EPSV/EPRT; RFC 4217 protection).
 *
 * Contract between the session (session.c, the control connection's state
 * machine: commands, replies, paths, which file) and the data channel
 * (data.c: sockets, moving bytes, TLS on the data connection). The
 * session opens files through the jail (path.c) and passes descriptors;
 * the data channel never resolves a path.
 *
 * One struct ftp_data per session, owned by it and used on the session's
 * loop thread. A transfer's bytes move without stalling the loop: the
 * control connection keeps answering (ABOR, STAT, NOOP) while a transfer
 * runs. fsync is not the data channel's business (the session does it on
 * the pool before 226).
 *
 * Security (RFC 2577): a passive connection is accepted only from the
 * control connection's peer address (others are closed and logged); an
 * active connection goes only to the control peer's own address (the
 * session checks PORT/EPRT, this module checks again). With protection P,
 * the data connection's TLS handshake must resume the control connection's
 * TLS session; a data connection that does not is refused (425/522), as
 * vsftpd's require_ssl_reuse does.
 */
#ifndef OP_FTP_DATA_H
#define OP_FTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "base/buf.h"

struct conn;
struct ftp_data;

struct ftp_data_config {
    uint16_t pasv_min, pasv_max;        /* passive port range (inclusive) */
    const char *pasv_address;           /* address advertised in 227 (NAT), or NULL */
    unsigned connect_timeout_ms;        /* no data connection in time: 425 */
    unsigned idle_timeout_ms;           /* a transfer that makes no progress: 426 */
    uint64_t rate_limit;                /* bytes/s per session, 0 = none */
    bool active_from_l_minus_1;         /* bind port L-1 for active connects when allowed */
};

/* A new data channel for the session on control connection ctrl. */
struct ftp_data *ftp_data_new(struct conn *ctrl, const struct ftp_data_config *cfg);
/* Abort anything in progress (no callback), close every socket, free. */
void ftp_data_free(struct ftp_data *d);

/* PASV / EPSV: listen on the control connection's local address, a port of
 * the range. *port gets the port; *addr (PASV) the address to advertise.
 * Replaces an earlier PASV/PORT. 0 or negative (-EADDRINUSE: range full). */
int  ftp_data_passive(struct ftp_data *d, struct sockaddr_storage *addr, uint16_t *port);
/* PORT / EPRT: connect to target when a transfer starts. 0, or
 * OP_E_AUTH when target is not the control peer's address. */
int  ftp_data_active(struct ftp_data *d, const struct sockaddr_storage *target);
/* Has PASV/EPSV/PORT/EPRT been given since the last transfer? */
bool ftp_data_ready(const struct ftp_data *d);


enum ftp_xfer_dir {
    FTP_SEND_FILE,      /* RETR: fd from offset to its end */
    FTP_SEND_BUF,       /* LIST / NLST / MLSD: the bytes of buf */
    FTP_RECV_FILE,      /* STOR / APPE / STOU: into fd at offset */
};

struct ftp_xfer {
    enum ftp_xfer_dir dir;
    int fd;                     /* FTP_SEND_FILE / FTP_RECV_FILE; the session keeps it */
    off_t offset;               /* REST */
    struct buf *buf;            /* FTP_SEND_BUF; the session keeps it until done */
    bool ascii;                 /* TYPE A: LF <-> CRLF on the wire */
    bool protect;               /* PROT P: TLS on the data connection */
    uint64_t max_bytes;         /* FTP_RECV_FILE: more than this fails -EDQUOT (quota); 0 = none */
    /* FTP_RECV_FILE: the user's shared count (usage.h), charged as bytes
     * are written, never past quota (-EDQUOT); NULL = none. refund: the
     * file is thrown away when the upload fails, so its bytes go back. */
    struct ftp_usage *usage;
    uint64_t quota;
    bool refund;
    /* The data connection is up (or the wait for it began): the session
     * sends 150 here. */
    void (*on_open)(void *arg);
    /* The transfer ended: 0 (all sent / end of file from the client),
     * -ECANCELED (ftp_data_abort), -ETIMEDOUT (no data connection: 425),
     * -ECONNRESET (the peer went away, or made no progress for
     * idle_timeout_ms: 426), -ENOSPC / -EDQUOT / -EIO
     * (writing: 452/552), OP_E_TLS (TLS failed or did not resume: 522/425).
     * An error before on_open ran (e.g. -ECONNREFUSED from an active
     * connect) means no data connection: 425.
     * bytes: payload moved (file bytes, before ASCII conversion). */
    void (*on_done)(void *arg, int result, uint64_t bytes);
    void *arg;
};

/* Start a transfer over the channel PASV/PORT prepared (then it is used
 * up: a new transfer needs a new PASV/PORT). 0 or negative (nothing
 * prepared: the session answers 425). */
int  ftp_data_start(struct ftp_data *d, const struct ftp_xfer *x);
/* Is a transfer running? */
bool ftp_data_busy(const struct ftp_data *d);
/* ABOR: stop the transfer, close the data connection; on_done runs with
 * -ECANCELED before this returns. */
void ftp_data_abort(struct ftp_data *d);
/* Bytes moved so far in the running transfer (STAT during a transfer). */
uint64_t ftp_data_progress(const struct ftp_data *d);

/* Execution model (details in xfer.h): listening, accepting and
 * connecting happen on the loop; once connected, a transfer thread moves
 * the bytes with blocking calls (sendfile in TYPE I), so neither a slow
 * client nor a cold disk ever stalls a loop. After ftp_data_abort or
 * ftp_data_free the thread may still need a moment to notice; it then
 * posts its cleanup to the loop. ftp_data_quiesce() waits (any thread but
 * a loop's) until every transfer thread has done so: call it at shutdown
 * after the sessions are freed and before the loops are freed. */
void ftp_data_quiesce(void);

#endif
