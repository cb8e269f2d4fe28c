/*
 * queue.h - the durable hand-off of accepted mail, and the outgoing queue.
 *
 * Contract between the SMTP server (src/smtp/session.c: calls
 * queue_submit), the delivery runner (src/smtp/delivery.c: claims due
 * messages and reports per-recipient outcomes) and `outpost queue` (list,
 * flush, delete). Storage is files under <datadir>/queue/ (layout in
 * queue.c's header comment and docs/ARCHITECTURE.md).
 *
 * The promise (RFC 5321 section 6.1): when queue_submit() returns 0, the
 * message is on disk for every recipient: each local recipient has it in
 * its Maildir's new/ (file and directory fsync'ed), and the remote
 * recipients' copy is in the queue (file and directory fsync'ed). Only then
 * may the server answer 250. When it returns an error, nothing the caller
 * must worry about is left behind (the client will try again): no local
 * copy is in new/ and no queue entry exists. After a crash at any moment,
 * a message that got its 0 is delivered exactly once to each local
 * recipient (local delivery is finished before 0 is returned; it is never
 * repeated) and stays queued for its remote ones.
 *
 * Local delivery prepends "Return-Path: <sender>" (RFC 5321 section 4.4);
 * the caller has already prepended its Received: header.
 *
 * Threads: queue_submit() and the runner functions block on fsync and
 * must run on worker-pool or runner threads, never on a loop thread. Any
 * number of threads may call them at once (concurrent fsyncs are what lets
 * the file system commit several messages together: group commit). No lock
 * is held across an fsync, so throughput grows with the number of callers
 * blocked in queue_submit() at once: a pool of 2 threads gets about 2
 * commits' worth of messages per commit interval, 16 threads about 16 (see
 * `make bench-queue`); size the pool that runs submits accordingly. The CLI
 * (another process) may list, flush and delete while the server runs; a
 * running server notices a flush within a second or two.
 *
 * Errors: negative errno (-ENOSPC, -EIO, ...), OP_E_* (base/err.h).
 */
#ifndef OP_MAIL_QUEUE_H
#define OP_MAIL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth/accounts.h"

#define QUEUE_ID_MAX 32              /* an ID, NUL included */
#define QUEUE_ERR_MAX 512            /* a recorded diagnostic, NUL included */

/* DSN NOTIFY= (RFC 3461 section 4.1) bits; 0 means "not given" (then a
 * failure is reported, success and delay are not). */
enum {
    QUEUE_NOTIFY_NEVER   = 1,
    QUEUE_NOTIFY_SUCCESS = 2,
    QUEUE_NOTIFY_FAILURE = 4,
    QUEUE_NOTIFY_DELAY   = 8,
};
/* DSN RET= (RFC 3461 section 4.3). */
enum queue_ret { QUEUE_RET_DEFAULT, QUEUE_RET_FULL, QUEUE_RET_HDRS };

/* One recipient as the SMTP session resolved it at RCPT time. */
struct queue_rcpt {
    char addr[ADDRESS_MAX];     /* local: the account (aliases resolved, normalised);
                                 * remote: the forward-path as given (no <>) */
    char orcpt[ADDRESS_MAX + 8];/* DSN ORCPT= decoded ("rfc822;addr"), or "" */
    unsigned notify;            /* QUEUE_NOTIFY_* */
    bool local;
};

struct queue_envelope {
    const char *sender;         /* reverse-path without <>; "" = the null sender */
    const struct queue_rcpt *rcpts;
    size_t nrcpts;
    const char *envid;          /* DSN ENVID= (decoded), or NULL */
    enum queue_ret ret;
    bool body_8bit;             /* BODY=8BITMIME (or BINARYMIME) was declared */
    bool smtputf8;              /* SMTPUTF8 was given on MAIL */
    const char *client;         /* "[192.0.2.1]" for logs */
};

/* Settings; queue_init() copies them. */
struct queue_config {
    const char *datadir;
    const char *hostname;       /* our name in bounces (Reporting-MTA) */
    unsigned expiry_s;          /* give up (and bounce) this long after arrival; default 5 days */
    unsigned delay_warn_s;      /* NOTIFY=DELAY warning after this long (0 = never) */
    unsigned retry_min_s;       /* first retry after a temporary failure */
    unsigned retry_max_s;       /* intervals grow (doubling) up to this */
    /* Where a notification (RFC 3464) to addr goes, decided the way the SMTP
     * server decides at RCPT time: 1 with account set (aliases resolved)
     * when addr is a local mailbox, 0 when it is remote, negative when it
     * cannot be delivered (a local domain without such a user: the
     * notification is dropped and logged). NULL: every address is remote.
     * Called from queue_submit()/queue_release() threads. */
    int (*local_rcpt)(void *arg, const char *addr, char account[ADDRESS_MAX]);
    void *local_arg;
};

/* Create <datadir>/queue/ and its subdirectories if needed, recover from a
 * crash (leftovers of unfinished submits removed, leases dropped). Call
 * once at start, before any other function here. 0 or negative. */
int  queue_init(const struct queue_config *cfg);
void queue_shutdown(void);

/* Accept one message (data[0 .. len), exactly as it will be stored, the
 * caller's Received: header first). id receives the queue ID, which the
 * server quotes in its 250 reply and logs. See the promise above. */
int  queue_submit(const struct queue_envelope *env, const void *data, size_t len,
                  char id[QUEUE_ID_MAX]);

/* ---- the delivery runner's side ---------------------------------------- */

enum queue_rcpt_state { QUEUE_PENDING, QUEUE_DELIVERED, QUEUE_FAILED };

struct queue_rcpt_status {
    struct queue_rcpt r;
    enum queue_rcpt_state state;
    char last_error[QUEUE_ERR_MAX];     /* the last reply or local error, "" if none */
};

/* A queued message claimed by one runner thread (a lease: no other thread
 * or process delivers it until it is released). */
struct queue_msg {
    char id[QUEUE_ID_MAX];
    char *sender;                       /* "" = null sender */
    char *envid;                        /* or NULL */
    enum queue_ret ret;
    bool body_8bit, smtputf8;
    time_t arrival;                     /* when it was accepted */
    unsigned attempts;                  /* delivery attempts before this one */
    struct queue_rcpt_status *rcpts;    /* only remote recipients appear here */
    size_t nrcpts;
    int data_fd;                        /* read-only, the message; use pread */
    uint64_t data_len;
};

/* Claim the next message whose next attempt is due at now (flushed ones
 * first). 1 and *out set, 0 when nothing is due, or negative. When
 * wait_s is not NULL it receives the seconds until the next one is due
 * (or a large number when the queue is empty). */
int  queue_claim(time_t now, struct queue_msg **out, unsigned *wait_s);

/* Record the outcome of this attempt for recipient i: delivered, a
 * temporary failure (stays pending) or a permanent one. diag is the
 * remote reply or a sentence ("MX lookup: SERVFAIL"); remote_mta the host
 * that answered, or NULL. Only changes *m; queue_release() makes it durable. */
void queue_rcpt_result(struct queue_msg *m, size_t i, enum queue_rcpt_state st,
                       const char *diag, const char *remote_mta);

/* Recipient i was delivered to a next hop that does not offer the DSN
 * extension, so NOTIFY could not be passed on: a NOTIFY=SUCCESS recipient
 * then gets a "relayed" report from us (RFC 3461 section 5.2.2). Without
 * this call a remote success is reported by the next hop, not by us
 * (section 5.2.1). Call after queue_rcpt_result(..., QUEUE_DELIVERED, ...). */
void queue_rcpt_relayed(struct queue_msg *m, size_t i);

/* End the attempt: write the outcome durably, send the delivery status
 * notifications it calls for (RFC 3464: failures, and expiry of what is
 * still pending after expiry_s; never to the null sender), remove the
 * message when no recipient is pending, else schedule the next attempt
 * with growing intervals. Frees m. 0 or negative (the message then stays
 * queued as it was before the claim). When only a notification cannot be
 * submitted (disk full), the outcome is still recorded (deliveries are not
 * repeated) and the failed recipients stay pending, so the next attempt
 * fails them again and retries the notification; that returns 0. */
int  queue_release(struct queue_msg *m, time_t now);

/* End an attempt that was cut short by the server's shutdown, not by the
 * peers: what it settled is recorded as queue_release() would (nothing is
 * delivered twice), but it is not counted as an attempt, expiry and delay
 * reports wait for a real attempt, and the message is due again at once.
 * Frees m; 0 or negative as queue_release(). */
int  queue_release_cut(struct queue_msg *m, time_t now);

/* ---- inspection and control (also from `outpost queue`) ---------------- */

struct queue_info {
    char id[QUEUE_ID_MAX];
    const char *sender;
    time_t arrival, next_attempt;
    unsigned attempts;
    const struct queue_rcpt_status *rcpts;   /* pending and failed ones */
    size_t nrcpts;
    uint64_t size;
    bool active;                              /* claimed by a runner right now */
};
/* Call fn for each queued message, oldest first; how many, or negative.
 * Works without queue_init() (the CLI): give datadir. */
int  queue_list(const char *datadir, void (*fn)(void *arg, const struct queue_info *qi), void *arg);
/* Make the message (every message when id is NULL) due now. 0, OP_E_NOTFOUND. */
int  queue_flush(const char *datadir, const char *id);
/* Remove a message without bouncing it. 0, OP_E_NOTFOUND, OP_E_LOCKED (being delivered). */
int  queue_delete(const char *datadir, const char *id);

#endif
