/* ticker.c - see ticker.h. */
#include "core/ticker.h"

#include <stdlib.h>

struct ticker {
	uv_timer_t timer; /* first: the handle libuv frees through is the ticker */
	ticker_fn fn;
	void *arg;
};

static void on_tick(uv_timer_t *h)
{
	struct ticker *t = h->data;

	t->fn(t->arg);
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

struct ticker *ticker_start(uv_loop_t *loop, uint64_t every_ms, ticker_fn fn, void *arg)
{
	struct ticker *t = malloc(sizeof(*t));

	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	uv_timer_init(loop, &t->timer);
	t->timer.data = t;
	uv_timer_start(&t->timer, on_tick, every_ms, every_ms);
	return t;
}

void ticker_stop(struct ticker *t)
{
	if (!t)
		return;
	uv_timer_stop(&t->timer);
	uv_close((uv_handle_t *)&t->timer, on_closed);
}
