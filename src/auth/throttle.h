/*
 * throttle.h - progressive slowdown of failed logins, per client address.
 *
 * Each failure from an address doubles the delay before the next failure is
 * answered (250 ms, 500 ms, 1 s ... up to 16 s); a success or an hour without
 * failures resets it. IPv6 clients are grouped by their /64; an IPv4-mapped
 * IPv6 address counts as the IPv4 address; peers of any other family (or a
 * NULL peer) share one entry. Thread-safe; the table is bounded (4096
 * entries in sets of 8; an address that finds its set full evicts the set's
 * entry with the oldest failure).
 *
 * The caller does the waiting (a timer on its event loop, never a sleep)
 * and answers the failure only then.
 */
#ifndef OP_AUTH_THROTTLE_H
#define OP_AUTH_THROTTLE_H

#include <stdint.h>
#include <sys/socket.h>

/* Record a failure; returns how many ms to wait before answering it. */
unsigned throttle_fail(const struct sockaddr_storage *peer);
void     throttle_success(const struct sockaddr_storage *peer);
/* throttle_fail() at a given monotonic time (ms, as clock_ms()), for tests
 * of the reset after an hour; never earlier than a previous call's time. */
unsigned throttle_fail_at(const struct sockaddr_storage *peer, uint64_t now_ms);
/* Reset the whole table (tests). */
void     throttle_reset(void);

#endif
