/*
 * xfer.h - internal to src/ftp/data.c: the transfer threads that move a
 * data connection's bytes.
 *
 * Execution model. The control connection's loop never waits on a data
 * socket or on the disk: data.c listens, accepts and connects on the loop
 * (non-blocking, with the connect timeout as a loop timer), then hands the
 * connected socket to a transfer thread, which moves the bytes with
 * blocking calls (sendfile in TYPE I without TLS, pread + send/SSL_write
 * otherwise, recv/SSL_read + pwrite for uploads). A cold file read or a
 * slow disk write therefore stalls only that thread. Threads are reused
 * (an idle one takes the next job) and capped at FTP_XFER_THREADS (each
 * reserves a 256 KiB stack); jobs above the cap wait in a queue, their
 * data connection open, until a running transfer ends or times out.
 *
 * Stopping (ABOR, session end): the loop sets the job's stop flag and
 * shuts the socket down (shutdown(2) wakes a thread blocked in send, recv
 * or sendfile at once; the descriptor stays open, so it cannot be reused
 * under the thread); the loop then forgets the job. The thread notices
 * within one chunk, closes its descriptors and posts the job back to the
 * loop, which frees it. The thread works on its own dup() of the file and
 * its own copy of a listing, so the session may close or free them as
 * soon as its on_done has run.
 *
 * Timeouts: SO_SNDTIMEO / SO_RCVTIMEO of idle_ms on the socket, so a
 * transfer that makes no progress for that long ends.
 */
#ifndef OP_FTP_XFER_H
#define OP_FTP_XFER_H

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ftp/data.h"
#include "net/tls.h"

#define FTP_XFER_THREADS 1024

struct loop;

struct ftp_job {
    /* Set on the loop before ftp_job_submit; the thread only reads them. */
    int sock;                       /* the data connection (blocking I/O in the thread);
                                       closed by done, on the loop */
    int fd;                         /* our dup of the session's file, or -1 */
    enum ftp_xfer_dir dir;
    off_t offset;
    char *mem;                      /* FTP_SEND_BUF: our copy */
    size_t memlen;
    bool ascii;
    SSL_CTX *ctx;                   /* PROT P: the control connection's context (a reference) */
    unsigned char token[TLS_TOKEN_MAX]; /* PROT P: the control session's identity (tls_session_token) */
    size_t tokenlen;
    uint64_t max_bytes, rate;
    struct ftp_usage *usage;        /* uploads: charged as written; the job's own
                                       reference, put when the job is freed */
    uint64_t quota;
    bool refund;                    /* give the charge back if the upload fails */
    unsigned idle_ms;
    char tag[64];                   /* "ftp #12 data", for logs */
    struct loop *lp;
    void (*done)(void *job);        /* run on lp (loop_post) when the thread is finished */

    /* Shared with the loop. */
    _Atomic uint64_t bytes;         /* payload moved so far */
    _Atomic int stop;               /* set by ftp_job_stop */

    /* Written by the thread, read on the loop in done. */
    int result;

    /* Loop only. */
    void *owner;
    bool cancelled;
    struct ftp_job *qnext;
};

/* Hand j to a transfer thread. 0 or -errno (no thread could be started). */
int  ftp_job_submit(struct ftp_job *j);
/* From the loop: make the thread stop now (its done still comes). */
void ftp_job_stop(struct ftp_job *j);
/* What the thread runs (exposed for the unit tests). */
void ftp_job_run(struct ftp_job *j);
/* Wait until every submitted job has been posted back to its loop. */
void ftp_job_quiesce(void);

#endif
