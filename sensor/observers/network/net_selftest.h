/* net_selftest.h - the network observer's --self-test case.
 *
 * Inside the sensor process, over loopback (all a bare guest has): a listener, a client
 * that connects and sends an HTTP/1.1 request, the accepted socket that answers 204, both
 * closed; then a connect to a port nobody listens on. Checks that connect, accept and
 * close name this process, the right ports and the exact byte counts; that the HTTP
 * exchange is seen from both sides with method, path, host, status and sizes; and that
 * the refused connect shows as a reset received and a dropped SYN (reason NO_SOCKET where
 * the kernel gives reasons); and that two UDP sockets that exchanged 3 datagrams of 100
 * bytes one way and 2 of 40 the other, then closed, each have a final flow summary with
 * exactly those counts, this process as owner, the right ports and this process's network
 * namespace (read from the socket through CO-RE).
 */
#ifndef TAPIO_NET_SELFTEST_H
#define TAPIO_NET_SELFTEST_H

#include "core/observer.h"

void net_selftest_start(struct observer *o, struct selftest_case *c);
void net_selftest_event(struct observer *o, struct selftest_case *c, const pb_event *ev);
/* Closes what the case keeps on the loop (the observer is going away). */
void net_selftest_stop(void);

#endif
