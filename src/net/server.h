/*
 * server.h - listeners, worker threads, connection limits and signals.
 *
 * server_init() creates one event loop per worker thread. server_listen()
 * binds a service's addresses at once (before privileges are dropped); each
 * listening socket is shared by every loop, which waits on it with
 * EPOLLEXCLUSIVE so one wakes per connection. (One socket per address, not
 * SO_REUSEPORT copies, so a second server started on the same port fails
 * loudly instead of silently sharing the traffic.)
 *
 * server_run() starts the threads and turns signals into actions on the main
 * thread: SIGHUP calls the reload hook; SIGTERM or SIGINT stop accepting,
 * close idle sessions, let commands in progress finish for up to the grace
 * period, then return.
 */
#ifndef OP_NET_SERVER_H
#define OP_NET_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"
#include "net/conn.h"

int  server_init(unsigned workers, unsigned max_connections, unsigned max_per_ip,
                 unsigned grace_ms);
/* New limits (SIGHUP); connections already open are not affected. */
void server_set_limits(unsigned max_connections, unsigned max_per_ip, unsigned grace_ms);

/* Bind and listen on every address of addrs for svc. 0, or -errno with a
 * sentence naming the address in err. */
int  server_listen(const struct service *svc, const struct cfg_addrs *addrs, bool implicit_tls,
                   char *err, size_t errlen);

/* Run until SIGTERM/SIGINT; on_reload runs on the main thread for SIGHUP. */
int  server_run(void (*on_reload)(void *arg), void *arg);

/*
 * Run fn(arg) once every loop has finished the batch of events it was
 * handling when this was called: a grace period, as in RCU. A structure
 * that loops read only inside one callback (never keeping a pointer to it
 * across callbacks) and that was unpublished before this call can be freed
 * by fn. Each loop runs a posted no-op; the last one to do so runs fn, on
 * its thread. When the loops are not running, fn runs at once.
 */
void server_quiesce(void (*fn)(void *arg), void *arg);

/* The event loop of worker i modulo the number of workers (NULL before
 * server_init), for work that belongs to no connection: timers and
 * sockets of its own, started with loop_post. */
struct loop *server_loop(unsigned i);

/* Free the loops and sockets after server_run returned. */
void server_cleanup(void);

/* Block the signals server_run handles; call before starting any thread. */
void server_block_signals(void);

/* Format a socket address as "127.0.0.1:110" or "[::1]:110". */
void server_format_addr(const void *sockaddr_storage, char *out, size_t outlen);

#endif
