/* net_pb.h - protobuf pieces the network observer's events share. */
#ifndef TAPIO_NET_PB_H
#define TAPIO_NET_PB_H

#include <arpa/inet.h>
#include <stdint.h>

#include "core/pb.h"

/* An Endpoint message and the storage of its address text. */
struct net_ep_buf {
	Tapio__Sensor__V1__Endpoint pb;
	char ip[INET6_ADDRSTRLEN];
};

/* Fills b from an address of `family` (AF_INET: the first 4 bytes of addr) and a port in
 * host order; a v4-mapped IPv6 address (a dual-stack socket's) is shown as the IPv4
 * address it is. Returns &b->pb. */
Tapio__Sensor__V1__Endpoint *net_endpoint(struct net_ep_buf *b, uint16_t family,
					  const uint8_t *addr, uint16_t port);

#endif
