/* decode_fixture.h - what the decoder tests share: a sensor whose observer `o` decodes
 * into a hub with one subscriber `sub`, no /proc behind its process cache (everything the
 * cache knows comes from the records), and decode_take() for what was published.
 * Include once per test file; call decode_setup() from the suite's init and
 * decode_teardown() from its fini.
 */
#ifndef TAPIO_TEST_DECODE_FIXTURE_H
#define TAPIO_TEST_DECODE_FIXTURE_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/observer.h"
#include "core/sensor.h"
#include "enrich/enrich.h"
#include "hub/hub.h"

static struct sensor s;
static struct config cfg;
static struct observer *o;
static struct subscriber *sub;

static inline void decode_on_ready(void *ctx)
{
	(void)ctx;
}

/* The observer `ops` in slot `slot` of a fresh sensor on node "node-t", boot "boot-t". */
static inline void decode_setup(const struct observer_ops *ops, int slot)
{
	memset(&s, 0, sizeof(s));
	config_init(&cfg);
	strcpy(cfg.node_name, "node-t");
	s.cfg = &cfg;
	s.enrich = enrich_new(64, "/nonexistent-root");
	s.hub = hub_new("boot-t", "node-t", 0);
	o = &s.observers[slot];
	o->ops = ops;
	o->sensor = &s;
	sub = hub_subscribe(s.hub, &(struct subscriber_options){.filters = NULL,
								.queue_size = 64,
								.ready = decode_on_ready});
}

static inline void decode_teardown(void)
{
	hub_free(s.hub);
	enrich_free(s.enrich);
	config_free(&cfg);
}

/* The next batch of at most max published events (there must be one); the caller frees
 * it with tapio__sensor__v1__get_events_response__free_unpacked(). */
static inline pb_events_response *decode_take(uint32_t max)
{
	size_t len;
	uint8_t *buf = subscriber_take(sub, max, &len);
	pb_events_response *r;

	cr_assert_not_null(buf, "an event was published");
	r = tapio__sensor__v1__get_events_response__unpack(NULL, len, buf);
	free(buf);
	cr_assert_not_null(r);
	return r;
}

#endif
