/*
 * throttle.h - progressive slowdown of failed logins, per client address.
 *
 * Each failure from an address doubles the delay before the next failure is
 * answered (250 ms, 500 ms, 1 s ... up to 16 s); a success or an hour without
 * failures resets it. IPv6 clients are grouped by their /64. Thread-safe; the
 * table is bounded (oldest entries are evicted).
 */
#ifndef OP_AUTH_THROTTLE_H
#define OP_AUTH_THROTTLE_H

#include <sys/socket.h>

/* Record a failure; returns how many ms to wait before answering it. */
unsigned throttle_fail(const struct sockaddr_storage *peer);
void     throttle_success(const struct sockaddr_storage *peer);
/* Reset the whole table (tests). */
void     throttle_reset(void);

#endif
