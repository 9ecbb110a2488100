/* server.h - the gRPC server (C core) bound to the sensor's libuv loop.
 *
 * Owns the grpc_server, its completion queue and the one thread that blocks on it. That
 * thread only moves (tag, ok) pairs to a locked list and wakes the loop (uv_async); every
 * completion is then handled on the loop thread, so call state is never shared between
 * threads. Each call is a `struct rpc`; a method's handler posts batches with rpc_batch()
 * and is called back on the loop when each completes.
 */
#ifndef TAPIO_SERVER_H
#define TAPIO_SERVER_H

#include <stddef.h>

#include <grpc/grpc.h>

#include <protobuf-c/protobuf-c.h>

struct sensor;
struct server;
struct rpc;

typedef void (*rpc_done_fn)(struct rpc *r, int ok);

struct rpc_method {
	const char *path; /* "/tapio.sensor.v1.Sensor/GetEvents" */
	/* The call arrived; initial metadata is not sent yet. */
	void (*start)(struct rpc *r);
	/* Optional, for streams: the server is stopping; end the call. */
	void (*shutdown)(struct rpc *r);
};

struct rpc {
	struct server *srv;
	struct sensor *sensor;
	grpc_call *call;
	const struct rpc_method *method;
	int pending;   /* batches in flight */
	int closed;    /* RECV_CLOSE_ON_SERVER completed */
	int cancelled; /* the client went away (cancel, deadline, disconnect) */
	int status_sent;
	grpc_byte_buffer *recv; /* target of a RECV_MESSAGE op */
	void *state;		/* the handler's */
	/* Called once when the client goes away before the handler sent a status. */
	void (*on_cancel)(struct rpc *r);
	/* Called once just before the call is freed. */
	void (*on_free)(struct rpc *r);
	struct rpc *prev, *next;
};

/* Binds every configured listener and starts serving. Returns NULL after writing a
 * one-line reason to err. */
struct server *server_start(struct sensor *s, char *err, size_t errlen);
/* Ends every call (streams get UNAVAILABLE "sensor is shutting down"), stops the server
 * and its thread, then calls done on the loop thread. */
void server_stop(struct server *srv, void (*done)(void *arg), void *arg);
void server_free(struct server *srv);

/* Posts a batch on r's call; done runs on the loop thread when it completes. */
int rpc_batch(struct rpc *r, const grpc_op *ops, size_t n, rpc_done_fn done);
/* Sends initial metadata and receives the request message (into r->recv). */
int rpc_recv_request(struct rpc *r, rpc_done_fn done);
/* Unpacks r->recv into a message of type d (NULL when malformed); frees r->recv. */
ProtobufCMessage *rpc_unpack(struct rpc *r, const ProtobufCMessageDescriptor *d);
/* Sends msg (may be NULL) and then the final status. */
int rpc_finish(struct rpc *r, const ProtobufCMessage *msg, grpc_status_code code,
	       const char *details);
/* Sends a packed message; takes ownership of buf (freed when sent). */
int rpc_send_bytes(struct rpc *r, void *buf, size_t len, rpc_done_fn done);
/* Packs msg and sends it (msg may be freed as soon as this returns). */
int rpc_send_message(struct rpc *r, const ProtobufCMessage *msg, rpc_done_fn done);
/* Receives the next message of a client stream into r->recv (NULL there once the client
 * half-closed). */
int rpc_recv_next(struct rpc *r, rpc_done_fn done);

#endif
