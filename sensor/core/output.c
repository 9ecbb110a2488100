/* output.c - see output.h. */
#include "core/output.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "core/log.h"
#include "core/observer.h"

#define PERF_PAGES 64 /* per CPU, 256 KiB with 4 KiB pages */
#define PERF_MAX_RECORD 65536
/* A wake-up the consumer missed must not leave records waiting: the buffer is also
 * drained on a timer, which bounds how long any record can sit unread. */
#define DRAIN_INTERVAL_MS 100

struct output {
	uv_poll_t poll;
	uv_timer_t drain;
	int open_handles;
	struct observer *o;
	struct ring_buffer *rb;
	struct perf_buffer *pb;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct observer *o = ctx;

	if (o->ops->decode(o, data, size) < 0)
		o->decode_errors++;
	else
		o->decoded++;
	return 0;
}

/* Perf samples are only 4-byte aligned (a u32 size precedes the data); the records hold
 * u64 fields, so they are decoded from an aligned copy. */
static void on_perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
	static _Alignas(8) unsigned char aligned[PERF_MAX_RECORD];
	struct observer *o = ctx;

	if ((uintptr_t)data % 8 == 0) {
		on_record(ctx, data, size);
	} else if (size <= sizeof(aligned)) {
		memcpy(aligned, data, size);
		on_record(ctx, aligned, size);
	} else {
		o->decode_errors++;
	}
}

static void on_perf_lost(void *ctx, int cpu, __u64 count)
{
	struct observer *o = ctx;

	o->perf_lost += count;
}

int output_drain(struct output *out)
{
	if (out->rb)
		return ring_buffer__consume(out->rb);
	return perf_buffer__consume(out->pb);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct output *out = h->data;
	int n;

	if (status < 0) {
		log_warn("%s: output poll: %s", out->o->ops->name, uv_strerror(status));
		return;
	}
	n = output_drain(out);
	if (n < 0)
		log_warn("%s: consuming events: %d", out->o->ops->name, n);
}

static void on_drain_timer(uv_timer_t *t)
{
	struct output *out = t->data;

	on_readable(&out->poll, 0, UV_READABLE);
}

struct output *output_start(uv_loop_t *loop, struct observer *o, int map_fd, int perf)
{
	struct output *out = calloc(1, sizeof(*out));
	int fd, err;

	if (!out)
		return NULL;
	out->o = o;
	if (perf) {
		out->pb =
			perf_buffer__new(map_fd, PERF_PAGES, on_perf_sample, on_perf_lost, o, NULL);
		fd = out->pb ? perf_buffer__epoll_fd(out->pb) : -1;
	} else {
		out->rb = ring_buffer__new(map_fd, on_record, o, NULL);
		fd = out->rb ? ring_buffer__epoll_fd(out->rb) : -1;
	}
	if (fd < 0)
		goto fail;
	err = uv_poll_init(loop, &out->poll, fd);
	if (err) {
		errno = -err;
		goto fail;
	}
	out->poll.data = out;
	uv_timer_init(loop, &out->drain);
	out->drain.data = out;
	out->open_handles = 2;
	err = uv_poll_start(&out->poll, UV_READABLE, on_readable);
	if (!err)
		err = uv_timer_start(&out->drain, on_drain_timer, DRAIN_INTERVAL_MS,
				     DRAIN_INTERVAL_MS);
	if (err) {
		output_stop(out);
		errno = -err;
		return NULL;
	}
	return out;
fail:
	err = errno;
	ring_buffer__free(out->rb);
	perf_buffer__free(out->pb);
	free(out);
	errno = err;
	return NULL;
}

static void on_closed(uv_handle_t *h)
{
	struct output *out = h->data;

	if (--out->open_handles)
		return;
	ring_buffer__free(out->rb);
	perf_buffer__free(out->pb);
	free(out);
}

void output_stop(struct output *out)
{
	if (!out)
		return;
	uv_poll_stop(&out->poll);
	uv_timer_stop(&out->drain);
	uv_close((uv_handle_t *)&out->poll, on_closed);
	uv_close((uv_handle_t *)&out->drain, on_closed); /* freed when both are closed */
}
