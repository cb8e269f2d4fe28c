/*
 * pool.h - the worker pool for work that must not run on a loop thread:
 * password hashing, fsync, mailbox scans and updates.
 *
 * pool_submit(lp, work, done, arg): work(arg) runs on a pool thread, then
 * done(arg) runs on loop lp's thread. The caller keeps whatever arg points to
 * alive until done runs (connections do this with conn_hold()).
 */
#ifndef OP_NET_POOL_H
#define OP_NET_POOL_H

struct loop;

int  pool_start(unsigned nthreads);
/* Finish queued work, then stop the threads. */
void pool_stop(void);
void pool_submit(struct loop *lp, void (*work)(void *arg), void (*done)(void *arg), void *arg);

#endif
