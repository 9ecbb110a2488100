/* dns_obs.h - state shared by the DNS observer's files: observers/dns/dns.c (load, attach,
 * timer, counters) and observers/dns/dns_selftest.c (its --self-test case). Not an API.
 */
#ifndef TAPIO_DNS_OBS_H
#define TAPIO_DNS_OBS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "core/observer.h"
#include "dns.h"

struct dnsd;

/* One lookup of the self-test, over one transport. */
struct dns_st_lookup {
	uint16_t id;
	uint16_t client_port;
	int seen;		  /* SEEN_* bits of its events */
	int have_record;	  /* the kernel's record of its query was seen... */
	struct tp_event_header h; /* ...and read this */
	uint32_t netns;
	uint64_t latency_ns;
};

/* The self-test: a UDP and a TCP lookup from sockets of ours to servers of ours
 * (observers/dns_selftest*.c). */
struct dns_selftest {
	uint16_t server_port; /* where our servers listen: a watched port */
	uint16_t taken_port;  /* the first --dns-ports port, when it was taken */
	char error[128];      /* why the servers could not be set up, "" when they were */
	struct dns_st_lookup udp, tcp;
	/* UDP: our client; our server, its poll handle, the answer's delay. */
	int udp_fd, server_fd;
	int server_on, delay_on; /* handles initialised */
	uv_poll_t server_poll;
	uv_timer_t delay;
	struct sockaddr_storage peer; /* the query's source, for the answer */
	uint8_t query[64];
	uint32_t query_len;
	uint64_t query_sent_ns;	 /* CLOCK_MONOTONIC after the query's sendto */
	uint64_t answer_sent_ns; /* and before the answer's */
	/* TCP: listener, its accepted connection, our client; a poll handle each. */
	int listen_fd, conn_fd, tcp_fd;
	int listen_on, conn_on, tcp_on;
	uv_poll_t listen_poll, conn_poll, tcp_poll;
	uint8_t conn_buf[128];
	uint32_t conn_len;
};

struct dns_obs {
	struct observer *o;
	int cgroup_fd; /* root of the cgroup v2 hierarchy, until attached */
	int timer_on;  /* timer initialised */
	int closing;   /* handles being closed: d is freed when the last one has */
	uv_timer_t timer;
	uint64_t timeout_ns;
	struct dnsd *dec;
	uint64_t published[DNS_CNT_END - DNS_CNT_USER_FIRST]; /* last written to the map */
	struct dns_selftest st;
};

/* Closes a handle of d's; d is freed once every handle closed this way has closed. */
void dns_obs_close(struct dns_obs *d, uv_handle_t *h);

/* Self-test mode, before load: binds our servers on the first --dns-ports port, or
 * when a server of the node holds it on every address, on a free port that the BPF
 * settings then watch too. Returns the port, or 0 (st.error says why). */
uint16_t dns_selftest_bind(struct dns_obs *d, uint16_t preferred);
/* The raw record hook of the self-test: notes what the kernel read for our queries. */
void dns_selftest_record(struct dns_obs *d, const struct dns_record *r, size_t len);
void dns_selftest_start(struct observer *o, struct selftest_case *c);
void dns_selftest_event(struct observer *o, struct selftest_case *c, const pb_event *ev);
/* Closes the self-test's sockets and handles. */
void dns_selftest_stop(struct dns_obs *d);

/* The TCP lookup (observers/dns/dns_selftest_tcp.c): the query in st->query with st->tcp.id,
 * to our listener (already bound). Returns 0, or -1 with errno. */
int dns_selftest_tcp_start(struct dns_obs *d, const char *server);
void dns_selftest_tcp_stop(struct dns_obs *d);
/* The answer both servers give: the query with QR and RA set and this A record (owner: a
 * pointer to the question's name). */
#define DNS_ST_ANSWER_LEN 16
extern const uint8_t dns_st_answer[DNS_ST_ANSWER_LEN];

#endif
