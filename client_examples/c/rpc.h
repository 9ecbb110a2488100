/* One client call on the gRPC C core API, driven on a completion queue: send one request,
 * hand each response message to a callback until the stream ends, then collect the status.
 * Serves unary methods too (a stream of one message). */
#ifndef TAPIO_CLIENT_RPC_H
#define TAPIO_CLIENT_RPC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <grpc/grpc.h>

enum rpc_verdict {
	RPC_CONTINUE, /* read the next message */
	RPC_STOP,     /* enough: cancel the call, it went well */
	RPC_FAIL,     /* the callback reported an error: cancel the call */
};

typedef enum rpc_verdict (*rpc_on_message)(void *ctx, grpc_byte_buffer *msg);

struct rpc_request {
	const char *method; /* "/package.Service/Method" */
	const uint8_t *body;
	size_t len;
	double timeout; /* seconds, 0 for no deadline */
	rpc_on_message on_message;
	void *ctx;
	/* Set by a signal handler; the call is cancelled once it reads non-zero. */
	const volatile sig_atomic_t *interrupted;
};

enum rpc_end {
	RPC_ENDED,	 /* the server ended the call: see status */
	RPC_STOPPED,	 /* on_message returned RPC_STOP */
	RPC_FAILED,	 /* on_message returned RPC_FAIL, or the call could not start */
	RPC_INTERRUPTED, /* *interrupted became non-zero */
};

struct rpc_result {
	enum rpc_end end;
	grpc_status_code status;
	char *details; /* never NULL after rpc_run; free with rpc_result_free */
};

grpc_channel *rpc_channel(const char *target);
/* Runs the call to completion (every batch finished, the call freed). */
void rpc_run(grpc_channel *channel, const struct rpc_request *req, struct rpc_result *res);
void rpc_result_free(struct rpc_result *res);
/* grpc_shutdown, then a bounded wait for gRPC to finish cleaning up: grpc_shutdown only
 * drops the caller's reference, and objects still winding down (a connection closing, a
 * timer) hold their own; the last of them cleans up on a gRPC thread, which must be done
 * before the process exits for it to leave no thread or allocation behind. */
void rpc_shutdown(void);
/* "UNAVAILABLE" and so on. */
const char *rpc_status_name(grpc_status_code code);

#endif
