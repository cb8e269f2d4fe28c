/*
 * udp_int.h - internal to src/net: how the server's worker threads take up
 * and let go of the UDP sockets. Protocol code never includes this.
 */
#ifndef OP_NET_UDP_INT_H
#define OP_NET_UDP_INT_H

struct worker;

/* Watch every UDP socket from w's loop (server_run, before the thread starts). */
int  udp_attach(struct worker *w);
/* Stop watching (shutdown, on w's loop thread). */
void udp_detach(struct worker *w);
/* Free w's buffers (after its thread ended). */
void udp_free_worker(struct worker *w);
/* Close the sockets (server_cleanup). */
void udp_cleanup(void);

#endif
