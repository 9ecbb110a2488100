/* health_rpc.c - the standard grpc.health.v1.Health service: Check and Watch.
 *
 * Two services are known: "" (the whole server) and "tapio.sensor.v1.Sensor". Both are
 * SERVING for as long as the server accepts calls: nothing changes them while the sensor
 * runs (it does not start at all when no observer can run). So a Watch stream sends one
 * message and then stays open until the client cancels or the sensor stops; see
 * health_shutdown for what a watcher is told then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/services.h"
#include "grpc/health/v1/health.pb-c.h"

typedef Grpc__Health__V1__HealthCheckRequest health_request;
typedef Grpc__Health__V1__HealthCheckResponse health_response;
typedef Grpc__Health__V1__HealthCheckResponse__ServingStatus serving_status;

#define STATUS(x) GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__##x

static const char *const known_services[] = {"", "tapio.sensor.v1.Sensor", NULL};

/* A Watch stream; r->state. */
struct watch {
	int started;  /* the request arrived and the first message was posted */
	int known;    /* it asked about one of known_services */
	int writing;  /* that message is still in flight */
	int stopping; /* the sensor stops: end the call once the write completes */
};

static int is_known(const char *service)
{
	for (int i = 0; known_services[i]; i++)
		if (!strcmp(service, known_services[i]))
			return 1;
	return 0;
}

static health_request *unpack_request(struct rpc *r)
{
	health_request *req = (health_request *)rpc_unpack(
		r, &grpc__health__v1__health_check_request__descriptor);

	if (!req)
		rpc_finish(r, NULL, GRPC_STATUS_INVALID_ARGUMENT,
			   "request is missing or is not a grpc.health.v1.HealthCheckRequest");
	return req;
}

/* ---- Check ------------------------------------------------------------------------ */

static void on_check(struct rpc *r, int ok)
{
	health_response resp;
	health_request *req;
	char msg[320];

	if (!ok || r->cancelled)
		return;
	req = unpack_request(r);
	if (!req)
		return;
	if (is_known(req->service)) {
		grpc__health__v1__health_check_response__init(&resp);
		resp.status = STATUS(SERVING);
		rpc_finish(r, &resp.base, GRPC_STATUS_OK, NULL);
	} else {
		snprintf(msg, sizeof(msg), "unknown service \"%.256s\"", req->service);
		rpc_finish(r, NULL, GRPC_STATUS_NOT_FOUND, msg);
	}
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void start_check(struct rpc *r)
{
	if (rpc_recv_request(r, on_check) < 0)
		rpc_finish(r, NULL, GRPC_STATUS_INTERNAL, "cannot read the request");
}

/* ---- Watch ------------------------------------------------------------------------ */

static int send_status(struct rpc *r, serving_status status, rpc_done_fn done)
{
	health_response resp;

	grpc__health__v1__health_check_response__init(&resp);
	resp.status = status;
	return rpc_send_message(r, &resp.base, done);
}

/* The sensor is stopping, which is a change of status the watcher of a known service
 * must hear about (NOT_SERVING: stop sending work here) before the connection goes. The
 * stream then has to end; UNAVAILABLE says "the server went away, retry with backoff",
 * as the protocol asks of any status but UNIMPLEMENTED, and matches what GetEvents
 * streams get. */
static void end_watch(struct rpc *r)
{
	struct watch *w = r->state;
	health_response resp;

	grpc__health__v1__health_check_response__init(&resp);
	resp.status = STATUS(NOT_SERVING);
	rpc_finish(r, w->known ? &resp.base : NULL, GRPC_STATUS_UNAVAILABLE,
		   "sensor is shutting down");
}

static void on_watch_sent(struct rpc *r, int ok)
{
	struct watch *w = r->state;

	w->writing = 0;
	if (ok && w->stopping && !r->status_sent)
		end_watch(r);
}

static void on_watch_request(struct rpc *r, int ok)
{
	struct watch *w = r->state;
	health_request *req;

	if (!ok || r->cancelled || r->status_sent)
		return;
	req = unpack_request(r);
	if (!req)
		return;
	w->known = is_known(req->service);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	/* An unknown service is not an error for Watch: it may become known later, so the
	 * stream stays open after SERVICE_UNKNOWN. */
	if (send_status(r, w->known ? STATUS(SERVING) : STATUS(SERVICE_UNKNOWN), on_watch_sent) <
	    0) {
		rpc_finish(r, NULL, GRPC_STATUS_INTERNAL, "cannot send the serving status");
		return;
	}
	w->started = 1;
	w->writing = 1;
}

void health_shutdown(struct rpc *r)
{
	struct watch *w = r->state;

	if (!w || !w->started)
		rpc_finish(r, NULL, GRPC_STATUS_UNAVAILABLE, "sensor is shutting down");
	else if (w->writing) /* one message in flight at a time: finish after it */
		w->stopping = 1;
	else
		end_watch(r);
}

static void on_watch_free(struct rpc *r)
{
	free(r->state);
	r->state = NULL;
}

static void start_watch(struct rpc *r)
{
	r->state = calloc(1, sizeof(struct watch));
	if (!r->state) {
		rpc_finish(r, NULL, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	r->on_free = on_watch_free;
	if (rpc_recv_request(r, on_watch_request) < 0)
		rpc_finish(r, NULL, GRPC_STATUS_INTERNAL, "cannot read the request");
}

const struct rpc_method health_check_method = {
	.path = "/grpc.health.v1.Health/Check",
	.start = start_check,
};

const struct rpc_method health_watch_method = {
	.path = "/grpc.health.v1.Health/Watch",
	.start = start_watch,
	.shutdown = health_shutdown,
};
