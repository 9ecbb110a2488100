/* events_rpc.c - tapio.sensor.v1.Sensor/GetEvents: a subscriber of the hub, written to
 * one server stream.
 *
 * Only one message may be in flight per call, so events wait in the subscriber's queue
 * (bounded; a slow client loses its own events there, counted) and each write takes
 * up to max_events_per_message of them at once. A partial batch waits at most
 * max_delay_ms for more.
 */
#include <stdio.h>
#include <stdlib.h>

#include <grpc/support/alloc.h>

#include "api/services.h"
#include "core/log.h"
#include "core/pb.h"
#include "core/sensor.h"
#include "hub/filter.h"
#include "hub/hub.h"
#include "hub/projection.h"

#define MAX_BATCH 10000
#define MAX_DELAY_MS 60000
#define MAX_QUEUE 1048576

struct stream {
	struct rpc *rpc;
	struct subscriber *sub;
	uint32_t max_batch;
	uint32_t delay_ms;
	int writing;
	int timer_armed;
	uv_timer_t timer;
	char summary[160];
	char peer[96];
};

static void on_written(struct rpc *r, int ok);

static void send_batch(struct stream *st)
{
	size_t len;
	uint8_t *buf;

	if (st->timer_armed) {
		uv_timer_stop(&st->timer);
		st->timer_armed = 0;
	}
	buf = subscriber_take(st->sub, st->max_batch, &len);
	if (!buf)
		return;
	if (rpc_send_bytes(st->rpc, buf, len, on_written) == 0)
		st->writing = 1;
}

static void on_timer(uv_timer_t *t)
{
	struct stream *st = t->data;

	st->timer_armed = 0;
	if (!st->writing)
		send_batch(st);
}

/* Sends now when a batch is full or batching is off; otherwise waits up to delay_ms. */
static void pump(struct stream *st)
{
	uint32_t queued;

	if (!st->sub) /* still subscribing (replaying): pumped once it is done */
		return;
	queued = subscriber_queued(st->sub);
	if (st->writing || st->rpc->status_sent || (!queued && !subscriber_has_notice(st->sub)))
		return;
	if (st->delay_ms == 0 || queued >= st->max_batch) {
		send_batch(st);
	} else if (!st->timer_armed) {
		st->timer_armed = 1;
		uv_timer_start(&st->timer, on_timer, st->delay_ms, 0);
	}
}

static void on_written(struct rpc *r, int ok)
{
	struct stream *st = r->state;

	if (!st)
		return;
	st->writing = 0;
	if (ok)
		pump(st);
}

/* The hub queued an event for this stream. */
static void on_ready(void *ctx)
{
	pump(ctx);
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void end_stream(struct rpc *r)
{
	struct stream *st = r->state;

	if (!st)
		return;
	r->state = NULL;
	if (st->sub)
		hub_unsubscribe(st->sub);
	uv_timer_stop(&st->timer);
	uv_close((uv_handle_t *)&st->timer, on_timer_closed);
}

static void on_free(struct rpc *r)
{
	end_stream(r);
}

static void on_cancel(struct rpc *r)
{
	end_stream(r);
}

void events_shutdown(struct rpc *r)
{
	end_stream(r);
	rpc_finish(r, NULL, GRPC_STATUS_UNAVAILABLE, "sensor is shutting down");
}

static int check_request(const pb_events_request *req, char *err, size_t len)
{
	if (req->max_events_per_message > MAX_BATCH)
		return snprintf(err, len, "max_events_per_message: at most %d", MAX_BATCH), -1;
	if (req->max_delay_ms > MAX_DELAY_MS)
		return snprintf(err, len, "max_delay_ms: at most %d", MAX_DELAY_MS), -1;
	if (req->queue_size > MAX_QUEUE)
		return snprintf(err, len, "queue_size: at most %d", MAX_QUEUE), -1;
	if (req->resume && req->resume->after_seq && !req->resume->boot_id[0])
		return snprintf(err, len, "resume.boot_id: required with resume.after_seq"), -1;
	return 0;
}

/* A one-line summary for GetStatus: which lists, how many filters, which fields. */
static void describe_request(struct stream *st, const pb_events_request *req)
{
	int n = snprintf(st->summary, sizeof(st->summary), "allow %zu, deny %zu", req->n_allow,
			 req->n_deny);

	if (req->field_mask && req->field_mask->n_paths && n > 0 && (size_t)n < sizeof(st->summary))
		n += snprintf(st->summary + n, sizeof(st->summary) - n, ", %zu field paths",
			      req->field_mask->n_paths);
	if (req->resume && n > 0 && (size_t)n < sizeof(st->summary))
		snprintf(st->summary + n, sizeof(st->summary) - n, ", resumed after %llu",
			 (unsigned long long)req->resume->after_seq);
}

/* seq, observer and type: what a client needs to make sense of any projected event. */
static const uint32_t always_keep[] = {1, 5, 6, 0};

static struct projection *compile_mask(const pb_events_request *req, char *err, size_t len,
				       int *failed)
{
	struct projection *p;

	*failed = 0;
	if (!req->field_mask || !req->field_mask->n_paths)
		return NULL;
	p = projection_compile(&tapio__sensor__v1__event__descriptor, req->field_mask->paths,
			       req->field_mask->n_paths, always_keep, err, len);
	*failed = !p;
	return p;
}

static void subscribe(struct rpc *r, const pb_events_request *req)
{
	struct sensor *s = r->sensor;
	struct subscriber_options opts = {.ready = on_ready};
	struct stream *st;
	struct filter_set *fs;
	struct projection *proj;
	char err[256], *peer;
	int failed;

	if (check_request(req, err, sizeof(err)) < 0) {
		rpc_finish(r, NULL, GRPC_STATUS_INVALID_ARGUMENT, err);
		return;
	}
	if (hub_subscriber_count(s->hub) >= s->cfg->max_subscribers) {
		snprintf(err, sizeof(err), "too many event streams (max-subscribers %u)",
			 s->cfg->max_subscribers);
		rpc_finish(r, NULL, GRPC_STATUS_RESOURCE_EXHAUSTED, err);
		return;
	}
	fs = filter_compile(req->allow, req->n_allow, req->deny, req->n_deny, err, sizeof(err));
	if (!fs) {
		rpc_finish(r, NULL, GRPC_STATUS_INVALID_ARGUMENT, err);
		return;
	}
	proj = compile_mask(req, err, sizeof(err), &failed);
	st = failed ? NULL : calloc(1, sizeof(*st));
	if (!st) {
		filter_free(fs);
		projection_free(proj);
		rpc_finish(r, NULL,
			   failed ? GRPC_STATUS_INVALID_ARGUMENT : GRPC_STATUS_RESOURCE_EXHAUSTED,
			   failed ? err : "out of memory");
		return;
	}
	st->rpc = r;
	st->max_batch = req->max_events_per_message ? req->max_events_per_message : 1;
	st->delay_ms = req->max_delay_ms;
	uv_timer_init(&s->loop, &st->timer);
	st->timer.data = st;
	describe_request(st, req);
	peer = grpc_call_get_peer(r->call);
	snprintf(st->peer, sizeof(st->peer), "%s", peer ? peer : "");
	gpr_free(peer);
	r->state = st;
	opts.filters = fs;
	opts.projection = proj;
	opts.queue_size = req->queue_size ? req->queue_size : s->cfg->queue_size;
	opts.ctx = st;
	if (req->resume) {
		opts.resume = 1;
		opts.resume_boot_id = req->resume->boot_id;
		opts.resume_after_seq = req->resume->after_seq;
	}
	st->sub = hub_subscribe(s->hub, &opts); /* may replay: on_ready waits for st->sub */
	if (!st->sub) {
		filter_free(fs);
		projection_free(proj);
		end_stream(r);
		rpc_finish(r, NULL, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	pump(st);
	log_debug("event stream opened (%u subscribers)", hub_subscriber_count(s->hub));
}

const char *events_stream_peer(const void *ctx)
{
	return ctx ? ((const struct stream *)ctx)->peer : "";
}

const char *events_stream_request(const void *ctx)
{
	return ctx ? ((const struct stream *)ctx)->summary : "";
}

static void on_request(struct rpc *r, int ok)
{
	pb_events_request *req;

	if (!ok || r->cancelled)
		return;
	req = (pb_events_request *)rpc_unpack(r,
					      &tapio__sensor__v1__get_events_request__descriptor);
	if (!req) {
		rpc_finish(r, NULL, GRPC_STATUS_INVALID_ARGUMENT,
			   "request is not a tapio.sensor.v1.GetEventsRequest");
		return;
	}
	subscribe(r, req);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void start(struct rpc *r)
{
	r->on_cancel = on_cancel;
	r->on_free = on_free;
	rpc_recv_request(r, on_request);
}

const struct rpc_method events_method = {
	.path = "/tapio.sensor.v1.Sensor/GetEvents",
	.start = start,
	.shutdown = events_shutdown,
};
