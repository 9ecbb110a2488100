/* tapio-events: an example client of the Tapio sensor's gRPC API (tapio.sensor.v1.Sensor)
 * on the gRPC C core and protobuf-c. It streams GetEvents and prints each event as one
 * proto3 JSON line, or calls GetStatus; README.md beside this directory shows how. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>

#include "tapio/sensor/v1/sensor.pb-c.h"
#include "options.h"
#include "pb_json.h"
#include "rpc.h"
#include "wire_count.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

static void install_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* The first signal asks for a clean stop; a second one gets the default action, a
	 * way out should the stop ever hang. */
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Where received messages go, and what has been seen of them. */
struct sink {
	const struct options *opt;
	struct json_out line;
	uint32_t events_field; /* GetEventsResponse.events, for counting on the wire */
	uint64_t events;
	uint64_t messages;
	double started;
	double last_message;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool count_reached(const struct sink *k)
{
	return k->opt->count && k->events >= k->opt->count;
}

static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *msg)
{
	grpc_byte_buffer_reader r;

	if (!grpc_byte_buffer_reader_init(&r, msg)) {
		fprintf(stderr, "tapio-events: INTERNAL: cannot decompress a %s\n", d->name);
		return NULL;
	}
	grpc_slice s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	ProtobufCMessage *m =
		protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
	if (!m)
		fprintf(stderr, "tapio-events: INTERNAL: cannot decode a %s of %zu bytes\n",
			d->name, GRPC_SLICE_LENGTH(s));
	grpc_slice_unref(s);
	return m;
}

static bool write_line(struct sink *k, const ProtobufCMessage *m)
{
	json_out_reset(&k->line);
	pb_json_message(&k->line, m);
	json_out_char(&k->line, '\n');
	if (k->line.failed) {
		fprintf(stderr, "tapio-events: out of memory\n");
		return false;
	}
	fwrite(k->line.data, 1, k->line.len, stdout);
	return true;
}

/* Flushed once per response message: lines appear as they arrive even through a pipe,
 * without a write per line. */
static bool flush_output(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return true;
	fprintf(stderr, "tapio-events: writing standard output: %s\n", strerror(errno));
	return false;
}

static enum rpc_verdict print_events(void *ctx, grpc_byte_buffer *msg)
{
	struct sink *k = ctx;
	Tapio__Sensor__V1__GetEventsResponse *resp = (Tapio__Sensor__V1__GetEventsResponse *)unpack(
		&tapio__sensor__v1__get_events_response__descriptor, msg);
	bool ok = resp != NULL;

	for (size_t i = 0; ok && i < resp->n_events && !count_reached(k); i++) {
		ok = write_line(k, &resp->events[i]->base);
		k->events += ok;
	}
	if (resp)
		tapio__sensor__v1__get_events_response__free_unpacked(resp, NULL);
	k->messages++;
	if (!ok || !flush_output())
		return RPC_FAIL;
	return count_reached(k) ? RPC_STOP : RPC_CONTINUE;
}

/* --quiet: counts GetEventsResponse.events entries on the wire, decoding none of them, so
 * that a throughput benchmark measures the stream rather than this client. */
static enum rpc_verdict count_events(void *ctx, grpc_byte_buffer *msg)
{
	struct sink *k = ctx;
	struct wire_count w;
	grpc_byte_buffer_reader r;
	grpc_slice *s;

	if (!grpc_byte_buffer_reader_init(&r, msg)) {
		fprintf(stderr, "tapio-events: INTERNAL: cannot decompress a message\n");
		return RPC_FAIL;
	}
	wire_count_init(&w, k->events_field);
	while (grpc_byte_buffer_reader_peek(&r, &s))
		wire_count_feed(&w, GRPC_SLICE_START_PTR(*s), GRPC_SLICE_LENGTH(*s));
	grpc_byte_buffer_reader_destroy(&r);
	k->messages++;
	if (!wire_count_complete(&w)) {
		fprintf(stderr, "tapio-events: INTERNAL: malformed GetEventsResponse\n");
		return RPC_FAIL;
	}
	k->events += w.count;
	k->last_message = now();
	return count_reached(k) ? RPC_STOP : RPC_CONTINUE;
}

static enum rpc_verdict print_status(void *ctx, grpc_byte_buffer *msg)
{
	struct sink *k = ctx;
	ProtobufCMessage *resp = unpack(&tapio__sensor__v1__get_status_response__descriptor, msg);

	if (!resp)
		return RPC_FAIL;
	bool ok = write_line(k, resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return ok && flush_output() ? RPC_CONTINUE : RPC_FAIL;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*len ? *len : 1);
	if (buf)
		protobuf_c_message_pack(m, buf);
	return buf;
}

static bool filter_given(const struct filter_options *f)
{
	return f->observers.n || f->types.n || f->pids.n;
}

/* The filter points into the options' arrays: it lives no longer than the request. */
static void fill_filter(Tapio__Sensor__V1__EventFilter *f, const struct filter_options *o)
{
	tapio__sensor__v1__event_filter__init(f);
	f->n_observers = o->observers.n;
	f->observers = o->observers.v;
	f->n_event_types = o->types.n;
	f->event_types = o->types.v;
	f->n_pids = o->pids.n;
	f->pids = o->pids.v;
}

static uint8_t *pack_events_request(const struct options *opt, size_t *len)
{
	Tapio__Sensor__V1__GetEventsRequest req = TAPIO__SENSOR__V1__GET_EVENTS_REQUEST__INIT;
	Tapio__Sensor__V1__EventFilter allow, deny;
	Tapio__Sensor__V1__EventFilter *allow_list[] = {&allow}, *deny_list[] = {&deny};

	fill_filter(&allow, &opt->allow);
	fill_filter(&deny, &opt->deny);
	if (filter_given(&opt->allow)) {
		req.n_allow = 1;
		req.allow = allow_list;
	}
	if (filter_given(&opt->deny)) {
		req.n_deny = 1;
		req.deny = deny_list;
	}
	req.max_events_per_message = opt->batch;
	req.max_delay_ms = opt->delay_ms;
	req.queue_size = opt->queue;
	return pack(&req.base, len);
}

static void prepare(const struct options *opt, struct sink *k, struct rpc_request *req)
{
	req->timeout = opt->timeout;
	req->interrupted = &interrupted;
	req->ctx = k;
	if (opt->status) {
		Tapio__Sensor__V1__GetStatusRequest status =
			TAPIO__SENSOR__V1__GET_STATUS_REQUEST__INIT;
		req->method = "/tapio.sensor.v1.Sensor/GetStatus";
		req->body = pack(&status.base, &req->len);
		req->on_message = print_status;
		return;
	}
	req->method = "/tapio.sensor.v1.Sensor/GetEvents";
	req->body = pack_events_request(opt, &req->len);
	req->on_message = opt->quiet ? count_events : print_events;
	k->events_field = protobuf_c_message_descriptor_get_field_by_name(
				  &tapio__sensor__v1__get_events_response__descriptor, "events")
				  ->id;
}

static void print_summary(const struct sink *k)
{
	double elapsed = k->messages ? k->last_message - k->started : 0;
	double rate = elapsed > 0 ? (double)k->events / elapsed : 0;

	fprintf(stderr,
		"tapio-events: %" PRIu64 " events in %" PRIu64 " messages, %.3f s, %.0f events/s\n",
		k->events, k->messages, elapsed, rate);
}

/* The exit status for how the call ended; see --help. */
static int exit_status(const struct options *opt, const struct rpc_result *res)
{
	if (res->end == RPC_FAILED)
		return 1;
	if (res->end != RPC_ENDED || res->status == GRPC_STATUS_OK)
		return 0;
	if (res->status == GRPC_STATUS_DEADLINE_EXCEEDED && opt->timeout > 0 && !opt->status)
		return 0;
	fprintf(stderr, "tapio-events: %s: %s\n", rpc_status_name(res->status), res->details);
	return 1;
}

static int run(const struct options *opt)
{
	struct sink k = {.opt = opt};
	struct rpc_request req = {0};
	struct rpc_result res;

	prepare(opt, &k, &req);
	if (!req.body) {
		fprintf(stderr, "tapio-events: out of memory\n");
		return 1;
	}
	json_out_init(&k.line);
	grpc_channel *channel = rpc_channel(opt->target);
	k.started = now();
	rpc_run(channel, &req, &res);
	grpc_channel_destroy(channel);
	if (opt->quiet && !opt->status)
		print_summary(&k);
	int rc = exit_status(opt, &res);
	rpc_result_free(&res);
	json_out_free(&k.line);
	free((void *)req.body);
	return rc;
}

int main(int argc, char **argv)
{
	struct options opt;
	enum options_result parsed = options_parse(&opt, argc, argv);

	if (parsed != OPTIONS_RUN) {
		options_free(&opt);
		return parsed == OPTIONS_HELP ? 0 : 2;
	}
	install_signal_handlers();
	grpc_init();
	int rc = run(&opt);
	rpc_shutdown();
	options_free(&opt);
	return rc;
}
