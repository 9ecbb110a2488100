/* event.h - one event on its way from an observer's decoder to the hub.
 *
 * Owns the storage of an Event's common parts (time, process, parent, container, pod)
 * so a decoder can build a whole Event on its stack without allocating: strings point
 * into the kernel record or the process cache and only need to live until
 * event_publish() returns (the hub packs the Event into bytes there).
 *
 *   struct event_ctx c;
 *   event_begin(&c, o, &rec->h, PB_TYPE(PROCESS_EXIT));   header + enrichment
 *   c.ev.exit = &payload; c.ev.payload_case = PB_PAYLOAD(EXIT);
 *   event_publish(&c);
 */
#ifndef TAPIO_EVENT_CTX_H
#define TAPIO_EVENT_CTX_H

#include <stdint.h>

#include "core/pb.h"
#include "tapio_event.h"

#define EVENT_MAX_ARGS 64

struct observer;
struct pcache_entry;

struct event_process {
	pb_process pb;
	pb_timestamp start;
	char *args[EVENT_MAX_ARGS];
};

struct event_ctx {
	pb_event ev;
	pb_timestamp time;
	struct event_process process;
	struct event_process parent;
	pb_container container;
	pb_pod pod;
	char comm[TP_TASK_COMM_LEN + 1];
	struct observer *observer;
};

/* Starts an event of type `type` from a kernel record's header: time, tid, observer,
 * and the process, parent and container from the enrichment caches. */
void event_begin(struct event_ctx *c, struct observer *o, const struct tp_event_header *h,
		 int type);
/* Fills a Process message from a cache entry (strings borrowed from the entry). */
void event_fill_process(struct event_process *p, const struct pcache_entry *e,
			int64_t mono_to_real_ns);
/* Splits NUL-separated argv bytes into at most max pointers (into buf, which must hold a
 * terminating NUL at buf[len]); returns the count. */
size_t event_split_args(char *buf, size_t len, char **out, size_t max);
/* Hands the event to the hub (sequence number, packing, fan-out). */
void event_publish(struct event_ctx *c);

#endif
