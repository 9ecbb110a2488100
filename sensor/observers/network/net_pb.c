/* net_pb.c - see net_pb.h. */
#include "observers/network/net_pb.h"

#include <string.h>
#include <sys/socket.h>

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

Tapio__Sensor__V1__Endpoint *net_endpoint(struct net_ep_buf *b, uint16_t family,
					  const uint8_t *addr, uint16_t port)
{
	tapio__sensor__v1__endpoint__init(&b->pb);
	if (family == AF_INET6 && !memcmp(addr, v4_mapped, sizeof(v4_mapped))) {
		family = AF_INET;
		addr += sizeof(v4_mapped);
	}
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, b->ip, sizeof(b->ip)))
		b->ip[0] = 0;
	b->pb.ip = b->ip;
	b->pb.port = port;
	return &b->pb;
}
