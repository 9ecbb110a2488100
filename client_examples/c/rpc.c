/* The call runs on one thread. Signals cannot be acted on inside a handler, so the loop
 * wakes at least every POLL_MS to look at the interrupted flag; gRPC's own threads only
 * ever see the flag being set. */
#include "rpc.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <grpc/byte_buffer.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#define POLL_MS 100
#define SHUTDOWN_WAIT_MS 3000

enum tag { TAG_START = 1, TAG_MESSAGE, TAG_STATUS };

struct call {
	grpc_call *call;
	grpc_completion_queue *cq;
	grpc_byte_buffer *send;
	grpc_byte_buffer *recv;
	grpc_metadata_array initial_md;
	grpc_metadata_array trailing_md;
	grpc_status_code status;
	grpc_slice details;
	int pending; /* batches started and not yet completed */
	bool cancelled;
	enum rpc_end end;
};

grpc_channel *rpc_channel(const char *target)
{
	grpc_arg arg[] = {
		/* The sensor bounds its messages (10000 events at most); the default 4 MiB
		 * receive limit could still cut a batch of long command lines. */
		{.type = GRPC_ARG_INTEGER,
		 .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
		 .value.integer = -1},
		/* A failed connect leaves a reconnect timer that keeps gRPC alive until it
		 * fires (1 s by default), and rpc_shutdown waits for that. This client makes
		 * one call and never reconnects, so a short backoff costs nothing. */
		{.type = GRPC_ARG_INTEGER,
		 .key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
		 .value.integer = 100},
	};
	grpc_channel_args args = {.num_args = sizeof(arg) / sizeof(arg[0]), .args = arg};
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	grpc_channel *channel = grpc_channel_create(target, creds, &args);
	grpc_channel_credentials_release(creds);
	return channel;
}

static void cancel(struct call *c, enum rpc_end why)
{
	if (c->cancelled)
		return;
	c->cancelled = true;
	c->end = why;
	grpc_call_cancel(c->call, NULL);
}

static bool start_batch(struct call *c, const grpc_op *ops, size_t n, enum tag tag)
{
	grpc_call_error err = grpc_call_start_batch(c->call, ops, n, (void *)(intptr_t)tag, NULL);
	if (err != GRPC_CALL_OK) {
		fprintf(stderr, "tapio-events: cannot start a gRPC batch: %s\n",
			grpc_call_error_to_string(err));
		cancel(c, RPC_FAILED);
		return false;
	}
	c->pending++;
	return true;
}

static bool start_call(struct call *c)
{
	grpc_op ops[4];
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = c->send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
	if (!start_batch(c, ops, 4, TAG_START))
		return false;

	grpc_op status;
	memset(&status, 0, sizeof(status));
	status.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	status.data.recv_status_on_client.trailing_metadata = &c->trailing_md;
	status.data.recv_status_on_client.status = &c->status;
	status.data.recv_status_on_client.status_details = &c->details;
	return start_batch(c, &status, 1, TAG_STATUS);
}

static void receive_next(struct call *c)
{
	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &c->recv;
	start_batch(c, &op, 1, TAG_MESSAGE);
}

/* A RECV_MESSAGE finished: no buffer means the stream has no more messages. */
static void on_message(struct call *c, const struct rpc_request *req)
{
	grpc_byte_buffer *msg = c->recv;
	c->recv = NULL;
	if (!msg)
		return;
	if (c->cancelled) {
		grpc_byte_buffer_destroy(msg);
		return;
	}
	enum rpc_verdict v = req->on_message(req->ctx, msg);
	grpc_byte_buffer_destroy(msg);
	if (v == RPC_CONTINUE)
		receive_next(c);
	else
		cancel(c, v == RPC_STOP ? RPC_STOPPED : RPC_FAILED);
}

static gpr_timespec after_seconds(double s)
{
	/* Beyond about 30 years is forever, and the nanoseconds would overflow an int64. */
	if (s > 1e9)
		return gpr_inf_future(GPR_CLOCK_MONOTONIC);
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
			    gpr_time_from_nanos((int64_t)(s * 1e9), GPR_TIMESPAN));
}

/* Runs until every batch has completed: only then may the call be freed. */
static void drive(struct call *c, const struct rpc_request *req)
{
	while (c->pending > 0) {
		if (*req->interrupted)
			cancel(c, RPC_INTERRUPTED);
		grpc_event ev =
			grpc_completion_queue_next(c->cq, after_seconds(POLL_MS / 1000.0), NULL);
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		c->pending--;
		if ((intptr_t)ev.tag == TAG_MESSAGE)
			on_message(c, req);
	}
}

static void create_call(struct call *c, grpc_channel *channel, const struct rpc_request *req)
{
	gpr_timespec deadline =
		req->timeout > 0 ? after_seconds(req->timeout) : gpr_inf_future(GPR_CLOCK_REALTIME);
	grpc_slice body = grpc_slice_from_copied_buffer((const char *)req->body, req->len);

	memset(c, 0, sizeof(*c));
	c->end = RPC_ENDED;
	c->cq = grpc_completion_queue_create_for_next(NULL);
	c->call = grpc_channel_create_call(channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq,
					   grpc_slice_from_static_string(req->method), NULL,
					   deadline, NULL);
	c->send = grpc_raw_byte_buffer_create(&body, 1);
	grpc_slice_unref(body);
	grpc_metadata_array_init(&c->initial_md);
	grpc_metadata_array_init(&c->trailing_md);
	c->details = grpc_empty_slice();
}

static void destroy_call(struct call *c)
{
	grpc_call_unref(c->call);
	grpc_completion_queue_shutdown(c->cq);
	while (grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(c->cq);
	grpc_byte_buffer_destroy(c->send);
	grpc_metadata_array_destroy(&c->initial_md);
	grpc_metadata_array_destroy(&c->trailing_md);
	grpc_slice_unref(c->details);
}

void rpc_run(grpc_channel *channel, const struct rpc_request *req, struct rpc_result *res)
{
	struct call c;

	create_call(&c, channel, req);
	if (start_call(&c))
		receive_next(&c);
	drive(&c, req);
	res->end = c.end;
	res->status = c.status;
	res->details = grpc_slice_to_c_string(c.details);
	destroy_call(&c);
}

void rpc_shutdown(void)
{
	const struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};

	grpc_shutdown();
	if (!grpc_is_initialized())
		return;
	for (int i = 0; i < SHUTDOWN_WAIT_MS / 10 && grpc_is_initialized(); i++)
		nanosleep(&tick, NULL);
	/* The cleanup then ran on a gRPC thread, which drops the count before it has
	 * finished and exited: give it one more tick. */
	nanosleep(&tick, NULL);
}

void rpc_result_free(struct rpc_result *res)
{
	gpr_free(res->details);
	res->details = NULL;
}

const char *rpc_status_name(grpc_status_code code)
{
	static const char *const names[] = {
		"OK",
		"CANCELLED",
		"UNKNOWN",
		"INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED",
		"NOT_FOUND",
		"ALREADY_EXISTS",
		"PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION",
		"ABORTED",
		"OUT_OF_RANGE",
		"UNIMPLEMENTED",
		"INTERNAL",
		"UNAVAILABLE",
		"DATA_LOSS",
		"UNAUTHENTICATED",
	};
	if ((unsigned)code < sizeof(names) / sizeof(names[0]))
		return names[code];
	return "UNKNOWN";
}
