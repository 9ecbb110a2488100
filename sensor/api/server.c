/* server.c - see server.h. */
#include "api/server.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <uv.h>

#include "api/services.h"
#include "core/log.h"
#include "core/sensor.h"

#define MAX_REQUEST_BYTES (64 * 1024)
#define PENDING_ACCEPTS 4
#define SHUTDOWN_GRACE_MS 1000

/* A completion the loop must handle. */
struct completion {
	void *tag;
	int ok;
};

/* A tag: what to call when the batch it was posted with completes. */
struct tag {
	void (*fn)(struct tag *t, int ok);
	struct rpc *rpc;
	rpc_done_fn done;
	grpc_byte_buffer *send; /* message this batch sent, destroyed on completion */
	grpc_slice details;	/* status details this batch sent */
	int has_details;
};

/* One outstanding grpc_server_request_call. */
struct accept {
	struct tag tag;
	struct server *srv;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md;
};

struct server {
	struct sensor *sensor;
	grpc_server *server;
	grpc_completion_queue *cq;
	pthread_t thread;
	int thread_started;

	uv_async_t wake;
	pthread_mutex_t lock;
	struct completion *items; /* filled by the cq thread, drained by the loop */
	size_t n_items, cap_items;
	int cq_done; /* the thread saw GRPC_QUEUE_SHUTDOWN */

	struct accept accepts[PENDING_ACCEPTS];
	struct rpc *calls;
	struct tag shutdown_tag;
	uv_timer_t grace; /* then calls that did not end by themselves are cancelled */
	int shutting_down, shutdown_done;
	void (*stopped)(void *arg);
	void *stopped_arg;
	char unix_paths[4][128];
	int n_unix;
};

static const struct rpc_method *const methods[] = {
	&events_method,
	&status_method,
	&health_check_method,
	&health_watch_method,
	&reflection_v1_method,
	&reflection_v1alpha_method,
	NULL,
};

/* ---- completion queue thread ------------------------------------------------------ */

static void push(struct server *srv, void *tag, int ok)
{
	pthread_mutex_lock(&srv->lock);
	if (srv->n_items == srv->cap_items) {
		size_t cap = srv->cap_items ? srv->cap_items * 2 : 64;
		struct completion *n = realloc(srv->items, cap * sizeof(*n));

		if (!n) { /* cannot queue it: nothing sane is left to do */
			pthread_mutex_unlock(&srv->lock);
			log_error("out of memory in the gRPC completion thread");
			abort();
		}
		srv->items = n;
		srv->cap_items = cap;
	}
	srv->items[srv->n_items++] = (struct completion){tag, ok};
	pthread_mutex_unlock(&srv->lock);
	uv_async_send(&srv->wake);
}

static void *cq_thread(void *arg)
{
	struct server *srv = arg;

	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE)
			push(srv, ev.tag, ev.success);
	}
	pthread_mutex_lock(&srv->lock);
	srv->cq_done = 1;
	pthread_mutex_unlock(&srv->lock);
	uv_async_send(&srv->wake);
	return NULL;
}

/* ---- calls ------------------------------------------------------------------------ */

static void maybe_free(struct rpc *r)
{
	struct server *srv = r->srv;

	if (r->pending || !r->closed)
		return;
	if (r->on_free)
		r->on_free(r);
	if (r->recv)
		grpc_byte_buffer_destroy(r->recv);
	if (r->prev)
		r->prev->next = r->next;
	else
		srv->calls = r->next;
	if (r->next)
		r->next->prev = r->prev;
	grpc_call_unref(r->call);
	free(r);
}

static void on_batch(struct tag *t, int ok)
{
	struct rpc *r = t->rpc;

	if (t->send)
		grpc_byte_buffer_destroy(t->send);
	if (t->has_details)
		grpc_slice_unref(t->details);
	r->pending--;
	if (t->done)
		t->done(r, ok);
	free(t);
	maybe_free(r);
}

int rpc_batch(struct rpc *r, const grpc_op *ops, size_t n, rpc_done_fn done)
{
	struct tag *t = calloc(1, sizeof(*t));
	grpc_call_error e;

	if (!t)
		return -1;
	t->fn = on_batch;
	t->rpc = r;
	t->done = done;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].op == GRPC_OP_SEND_MESSAGE)
			t->send = ops[i].data.send_message.send_message;
		if (ops[i].op == GRPC_OP_SEND_STATUS_FROM_SERVER &&
		    ops[i].data.send_status_from_server.status_details) {
			t->details = *ops[i].data.send_status_from_server.status_details;
			t->has_details = 1;
		}
	}
	e = grpc_call_start_batch(r->call, ops, n, t, NULL);
	if (e != GRPC_CALL_OK) {
		log_warn("grpc_call_start_batch: %s", grpc_call_error_to_string(e));
		if (t->send)
			grpc_byte_buffer_destroy(t->send);
		if (t->has_details)
			grpc_slice_unref(t->details);
		free(t);
		return -1;
	}
	r->pending++;
	return 0;
}

static void on_close(struct rpc *r, int ok)
{
	r->closed = 1;
	if (r->cancelled && !r->status_sent && r->on_cancel)
		r->on_cancel(r);
}

static int post_recv_close(struct rpc *r)
{
	grpc_op op = {.op = GRPC_OP_RECV_CLOSE_ON_SERVER};

	op.data.recv_close_on_server.cancelled = &r->cancelled;
	return rpc_batch(r, &op, 1, on_close);
}

int rpc_recv_request(struct rpc *r, rpc_done_fn done)
{
	grpc_op ops[2] = {{.op = GRPC_OP_SEND_INITIAL_METADATA}, {.op = GRPC_OP_RECV_MESSAGE}};

	ops[1].data.recv_message.recv_message = &r->recv;
	return rpc_batch(r, ops, 2, done);
}

ProtobufCMessage *rpc_unpack(struct rpc *r, const ProtobufCMessageDescriptor *d)
{
	grpc_byte_buffer_reader reader;
	grpc_slice all;
	ProtobufCMessage *m = NULL;

	if (!r->recv)
		return NULL;
	if (grpc_byte_buffer_reader_init(&reader, r->recv)) {
		all = grpc_byte_buffer_reader_readall(&reader);
		m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(all),
					      GRPC_SLICE_START_PTR(all));
		grpc_slice_unref(all);
		grpc_byte_buffer_reader_destroy(&reader);
	}
	grpc_byte_buffer_destroy(r->recv);
	r->recv = NULL;
	return m;
}

static grpc_byte_buffer *buffer_from(void *buf, size_t len)
{
	grpc_slice s = grpc_slice_new(buf, len, free);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

	grpc_slice_unref(s);
	return bb;
}

int rpc_send_bytes(struct rpc *r, void *buf, size_t len, rpc_done_fn done)
{
	grpc_op op = {.op = GRPC_OP_SEND_MESSAGE};

	op.data.send_message.send_message = buffer_from(buf, len);
	return rpc_batch(r, &op, 1, done);
}

/* A packed copy of msg in a byte buffer gRPC owns (NULL when out of memory). */
static grpc_byte_buffer *pack_message(const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	void *buf = malloc(len ? len : 1);

	if (!buf)
		return NULL;
	protobuf_c_message_pack(msg, buf);
	return buffer_from(buf, len);
}

int rpc_send_message(struct rpc *r, const ProtobufCMessage *msg, rpc_done_fn done)
{
	grpc_op op = {.op = GRPC_OP_SEND_MESSAGE};

	op.data.send_message.send_message = pack_message(msg);
	if (!op.data.send_message.send_message)
		return -1;
	return rpc_batch(r, &op, 1, done);
}

int rpc_recv_next(struct rpc *r, rpc_done_fn done)
{
	grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};

	op.data.recv_message.recv_message = &r->recv;
	return rpc_batch(r, &op, 1, done);
}

int rpc_finish(struct rpc *r, const ProtobufCMessage *msg, grpc_status_code code,
	       const char *details)
{
	grpc_op ops[2];
	grpc_slice d = grpc_slice_from_copied_string(details ? details : "");
	size_t n = 0;

	memset(ops, 0, sizeof(ops));
	if (msg) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = pack_message(msg);
		if (!ops[n++].data.send_message.send_message) {
			grpc_slice_unref(d);
			return -1;
		}
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = code;
	ops[n++].data.send_status_from_server.status_details = &d;
	r->status_sent = 1;
	return rpc_batch(r, ops, n, NULL);
}

static const struct rpc_method *find_method(grpc_slice path)
{
	for (int i = 0; methods[i]; i++)
		if (!grpc_slice_str_cmp(path, methods[i]->path))
			return methods[i];
	return NULL;
}

static void request_call(struct accept *a);

static void on_accept(struct tag *t, int ok)
{
	struct accept *a = (struct accept *)t;
	struct server *srv = a->srv;
	struct rpc *r;

	if (!ok || srv->shutting_down) {
		if (a->call)
			grpc_call_unref(a->call);
		a->call = NULL;
		grpc_call_details_destroy(&a->details);
		grpc_metadata_array_destroy(&a->md);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r) {
		r->srv = srv;
		r->sensor = srv->sensor;
		r->call = a->call;
		r->method = find_method(a->details.method);
		r->next = srv->calls;
		if (srv->calls)
			srv->calls->prev = r;
		srv->calls = r;
	} else {
		grpc_call_unref(a->call);
	}
	grpc_call_details_destroy(&a->details);
	grpc_metadata_array_destroy(&a->md);
	a->call = NULL;
	request_call(a);
	if (!r)
		return;
	post_recv_close(r);
	if (r->method)
		r->method->start(r);
	else
		rpc_finish(r, NULL, GRPC_STATUS_UNIMPLEMENTED, "unknown method");
	maybe_free(r);
}

static void request_call(struct accept *a)
{
	struct server *srv = a->srv;
	grpc_call_error e;

	a->tag.fn = on_accept;
	grpc_call_details_init(&a->details);
	grpc_metadata_array_init(&a->md);
	e = grpc_server_request_call(srv->server, &a->call, &a->details, &a->md, srv->cq, srv->cq,
				     &a->tag);
	if (e != GRPC_CALL_OK) {
		log_error("grpc_server_request_call: %s", grpc_call_error_to_string(e));
		grpc_call_details_destroy(&a->details);
		grpc_metadata_array_destroy(&a->md);
	}
}

/* ---- loop side -------------------------------------------------------------------- */

static void finish_stop(struct server *srv);

static void on_wake(uv_async_t *h)
{
	struct server *srv = h->data;
	struct completion *items;
	size_t n;
	int cq_done;

	/* Wake-ups coalesce: take everything queued so far, then handle it unlocked. */
	pthread_mutex_lock(&srv->lock);
	items = srv->items;
	n = srv->n_items;
	srv->items = NULL;
	srv->n_items = srv->cap_items = 0;
	cq_done = srv->cq_done;
	pthread_mutex_unlock(&srv->lock);
	for (size_t i = 0; i < n; i++) {
		struct tag *t = items[i].tag;

		t->fn(t, items[i].ok);
	}
	free(items);
	if (srv->shutting_down && srv->shutdown_done)
		finish_stop(srv);
	(void)cq_done;
}

static void gpr_to_log(gpr_log_func_args *args)
{
	log_debug("grpc: %s", args->message);
}

static int prepare_unix(struct server *srv, const char *path, char *err, size_t errlen)
{
	char dir[128];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot listen on unix:%s: mkdir %s: %s", path, dir,
				 strerror(errno));
			return -1;
		}
	}
	if (srv->n_unix < 4)
		snprintf(srv->unix_paths[srv->n_unix++], sizeof(srv->unix_paths[0]), "%s", path);
	return 0;
}

/* A whole PEM file as a string (gRPC takes contents, not paths). */
static char *read_pem(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (1 << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = calloc(1, (size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (!buf)
		snprintf(err, errlen, "%s: empty, unreadable or larger than 1 MiB", path);
	return buf;
}

/* TLS credentials for TCP listeners, or insecure ones when no certificate is configured
 * (config_validate allowed that only for loopback, or with --insecure). */
static grpc_server_credentials *tcp_creds(const struct config *cfg, char *err, size_t errlen)
{
	grpc_ssl_pem_key_cert_pair pair = {NULL, NULL};
	grpc_server_credentials *creds = NULL;
	char *ca = NULL;

	if (!cfg->tls_cert[0])
		return grpc_insecure_server_credentials_create();
	pair.cert_chain = read_pem(cfg->tls_cert, err, errlen);
	pair.private_key = pair.cert_chain ? read_pem(cfg->tls_key, err, errlen) : NULL;
	if (pair.private_key && cfg->tls_client_ca[0])
		ca = read_pem(cfg->tls_client_ca, err, errlen);
	if (pair.private_key && (ca || !cfg->tls_client_ca[0]))
		creds = grpc_ssl_server_credentials_create_ex(
			ca, &pair, 1,
			ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
			   : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
			NULL);
	if (pair.private_key && (ca || !cfg->tls_client_ca[0]) && !creds)
		snprintf(err, errlen, "TLS credentials from %s and %s were refused", cfg->tls_cert,
			 cfg->tls_key);
	free((void *)pair.cert_chain);
	free((void *)pair.private_key);
	free(ca);
	return creds;
}

static const char *describe_security(const struct config *cfg, const char *addr)
{
	if (!strncmp(addr, "unix:", 5))
		return "unix socket";
	if (!cfg->tls_cert[0])
		return "plaintext";
	return cfg->tls_client_ca[0] ? "TLS, client certificates required" : "TLS";
}

static int bind_listeners(struct server *srv, char *err, size_t errlen)
{
	const struct config *cfg = srv->sensor->cfg;
	grpc_server_credentials *tcp = tcp_creds(cfg, err, errlen);
	int rc = 0;

	if (!tcp)
		return -1;
	for (int i = 0; i < cfg->n_listeners && rc == 0; i++) {
		const char *addr = cfg->listeners[i];
		int is_unix = !strncmp(addr, "unix:", 5);
		grpc_server_credentials *creds =
			is_unix ? grpc_insecure_server_credentials_create() : tcp;

		if (is_unix && prepare_unix(srv, addr + 5, err, errlen) < 0)
			rc = -1;
		else if (grpc_server_add_http2_port(srv->server, addr, creds) == 0)
			rc = -1, snprintf(err, errlen,
					  "cannot listen on %s (address in use, not local, or not "
					  "resolvable)",
					  addr);
		else
			log_info("serving gRPC on %s (%s)", addr, describe_security(cfg, addr));
		if (is_unix)
			grpc_server_credentials_release(creds);
	}
	grpc_server_credentials_release(tcp);
	return rc;
}

/* Unix sockets: 0660, owned by --socket-group when given. */
static void secure_unix_sockets(struct server *srv)
{
	const char *group = srv->sensor->cfg->socket_group;
	struct group *g = group[0] ? getgrnam(group) : NULL;

	for (int i = 0; i < srv->n_unix; i++) {
		if (g && chown(srv->unix_paths[i], (uid_t)-1, g->gr_gid) < 0)
			log_warn("chown %s to group %s: %s", srv->unix_paths[i], group,
				 strerror(errno));
		chmod(srv->unix_paths[i], 0660);
	}
}

struct server *server_start(struct sensor *s, char *err, size_t errlen)
{
	struct server *srv = calloc(1, sizeof(*srv));
	grpc_arg args[1] = {{.type = GRPC_ARG_INTEGER,
			     .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
			     .value.integer = MAX_REQUEST_BYTES}};
	grpc_channel_args chargs = {.num_args = 1, .args = args};

	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->sensor = s;
	pthread_mutex_init(&srv->lock, NULL);
	gpr_set_log_function(gpr_to_log);
	grpc_init();
	srv->cq = grpc_completion_queue_create_for_next(NULL);
	srv->server = grpc_server_create(&chargs, NULL);
	grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
	if (bind_listeners(srv, err, errlen) < 0) {
		grpc_server_destroy(srv->server);
		grpc_completion_queue_shutdown(srv->cq);
		while (grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
			       .type != GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(srv->cq);
		grpc_shutdown_blocking();
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		return NULL;
	}
	grpc_server_start(srv->server);
	secure_unix_sockets(srv);
	uv_async_init(&s->loop, &srv->wake, on_wake);
	srv->wake.data = srv;
	pthread_create(&srv->thread, NULL, cq_thread, srv);
	srv->thread_started = 1;
	for (int i = 0; i < PENDING_ACCEPTS; i++) {
		srv->accepts[i].srv = srv;
		request_call(&srv->accepts[i]);
	}
	return srv;
}

static void on_shutdown(struct tag *t, int ok)
{
	struct server *srv = (struct server *)((char *)t - offsetof(struct server, shutdown_tag));

	srv->shutdown_done = 1;
}

static void on_grace(uv_timer_t *t)
{
	struct server *srv = t->data;

	grpc_server_cancel_all_calls(srv->server);
}

void server_stop(struct server *srv, void (*done)(void *arg), void *arg)
{
	srv->stopped = done;
	srv->stopped_arg = arg;
	srv->shutting_down = 1;
	for (struct rpc *r = srv->calls; r; r = r->next)
		if (!r->status_sent && !r->cancelled && r->method && r->method->shutdown)
			r->method->shutdown(r);
	/* No reflection request is answered from here on: every stream was ended above. */
	reflection_free_index();
	srv->shutdown_tag.fn = on_shutdown;
	grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);
	/* Streams were sent their final status; a client that does not read could keep its
	 * call open forever, so after a grace period every call left is cancelled. */
	uv_timer_init(&srv->sensor->loop, &srv->grace);
	srv->grace.data = srv;
	uv_timer_start(&srv->grace, on_grace, SHUTDOWN_GRACE_MS, 0);
}

static void on_wake_closed(uv_handle_t *h)
{
	struct server *srv = h->data;

	if (srv->stopped)
		srv->stopped(srv->stopped_arg);
}

/* Runs on every wake-up while shutting down: once the server reported shutdown and no
 * call is left, the queue can be shut and the thread joined. */
static void finish_stop(struct server *srv)
{
	if (!srv->shutdown_done || srv->calls || !srv->thread_started)
		return;
	grpc_server_destroy(srv->server);
	srv->server = NULL;
	grpc_completion_queue_shutdown(srv->cq);
	pthread_join(srv->thread, NULL);
	srv->thread_started = 0;
	grpc_completion_queue_destroy(srv->cq);
	srv->cq = NULL;
	for (int i = 0; i < srv->n_unix; i++)
		unlink(srv->unix_paths[i]);
	uv_timer_stop(&srv->grace);
	uv_close((uv_handle_t *)&srv->grace, NULL);
	uv_close((uv_handle_t *)&srv->wake, on_wake_closed); /* closes after grace */
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	free(srv->items);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
	grpc_shutdown_blocking();
}
