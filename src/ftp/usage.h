/*
 * usage.h - internal to src/ftp: the bytes each user's FTP home holds, for
 * the quota ([ftp] quota), shared by all of that user's sessions.
 *
 * The first session of a user counts the home (ftp_usage_get, on the pool:
 * it reads every directory); later sessions of the same user share that
 * count while any of them is open, and the last one to leave drops it, so
 * the next login counts afresh (seeing what changed outside FTP
 * meanwhile). Uploads charge their bytes as they write them
 * (ftp_usage_charge, from transfer threads), so two uploads of one user in
 * two sessions draw from one remainder and cannot together pass the
 * quota. Every function is thread-safe.
 */
#ifndef OP_FTP_USAGE_H
#define OP_FTP_USAGE_H

#include <stdint.h>

struct ftp_usage;

/* The usage of user (a normalised address) whose home is open as root;
 * counted now when no session of that user holds it. May wait for the
 * disk. NULL when out of memory. Each get needs one ftp_usage_put. */
struct ftp_usage *ftp_usage_get(const char *user, int root);
/* Another reference to u (a transfer thread's). */
void ftp_usage_hold(struct ftp_usage *u);
void ftp_usage_put(struct ftp_usage *u);

uint64_t ftp_usage_used(const struct ftp_usage *u);
/* Add n bytes, but never past limit: returns how many were added (n when
 * all fit, less when the quota is reached). */
uint64_t ftp_usage_charge(struct ftp_usage *u, uint64_t n, uint64_t limit);
/* Bytes gone (a deleted file, a failed upload's removed file) or come
 * back (a replaced file that stays after all); never below 0. */
void ftp_usage_credit(struct ftp_usage *u, uint64_t n);
void ftp_usage_debit(struct ftp_usage *u, uint64_t n);

#endif
