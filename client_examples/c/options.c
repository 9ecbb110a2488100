/* Option parsing for tapio-events with getopt_long. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: tapio-events [OPTION]...\n"
	"Stream events from a Tapio sensor (tapio.sensor.v1.Sensor/GetEvents) and print each\n"
	"as one JSON line (the proto3 JSON mapping), or print the sensor's status.\n"
	"\n"
	"Connection:\n"
	"  --target ADDR         HOST:PORT or unix:PATH (default 127.0.0.1:50051)\n"
	"  --timeout SECONDS     give the call this long (a gRPC deadline); a stream that ends\n"
	"                        because it expired is a success, even with no events\n"
	"\n"
	"Filters: an event is sent when it matches the allow filter (or none is given) and\n"
	"not the deny filter. Each flag may be repeated: values of one flag are alternatives,\n"
	"different flags must all match.\n"
	"  --observer NAME       allow events of this observer (e.g. process)\n"
	"  --type NAME           allow events of this type (e.g. process_exec)\n"
	"  --pid N               allow events about this process id\n"
	"  --deny-observer NAME  deny events of this observer\n"
	"  --deny-type NAME      deny events of this type\n"
	"  --deny-pid N          deny events about this process id\n"
	"\n"
	"Delivery (0 or absent: the sensor's default):\n"
	"  --batch N             up to N events per response message (at most 10000)\n"
	"  --delay-ms N          let a partial message wait up to N ms for more events\n"
	"  --queue N             events the sensor may queue for this client before it drops\n"
	"\n"
	"Output:\n"
	"  --count N             exit after printing N events\n"
	"  --quiet               (GetEvents) print no events; count them without decoding and "
	"print\n"
	"                        \"tapio-events: E events in M messages, S s, R events/s\" on\n"
	"                        stderr at the end (S: from the call's start to the last message)\n"
	"  --status              call GetStatus instead and print its response as one JSON line\n"
	"  -h, --help            print this help\n"
	"\n"
	"Exit status: 0 when the stream ended (the sensor closed it, --count was reached,\n"
	"--timeout expired, SIGINT or SIGTERM); 1 on a gRPC error, printed as\n"
	"\"tapio-events: STATUS_NAME: details\", or when standard output failed; 2 on bad usage.\n";

enum long_only {
	OPT_TARGET = 256,
	OPT_OBSERVER,
	OPT_TYPE,
	OPT_PID,
	OPT_DENY_OBSERVER,
	OPT_DENY_TYPE,
	OPT_DENY_PID,
	OPT_BATCH,
	OPT_DELAY_MS,
	OPT_QUEUE,
	OPT_COUNT,
	OPT_TIMEOUT,
	OPT_STATUS,
	OPT_QUIET,
};

static const struct option long_options[] = {
	{"target", required_argument, NULL, OPT_TARGET},
	{"observer", required_argument, NULL, OPT_OBSERVER},
	{"type", required_argument, NULL, OPT_TYPE},
	{"pid", required_argument, NULL, OPT_PID},
	{"deny-observer", required_argument, NULL, OPT_DENY_OBSERVER},
	{"deny-type", required_argument, NULL, OPT_DENY_TYPE},
	{"deny-pid", required_argument, NULL, OPT_DENY_PID},
	{"batch", required_argument, NULL, OPT_BATCH},
	{"delay-ms", required_argument, NULL, OPT_DELAY_MS},
	{"queue", required_argument, NULL, OPT_QUEUE},
	{"count", required_argument, NULL, OPT_COUNT},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"status", no_argument, NULL, OPT_STATUS},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	/* strtoull accepts a sign and wraps "-1" around: only plain digits are numbers here. */
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;
	if (!parse_u64(s, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v) || v <= 0)
		return false;
	*out = v;
	return true;
}

static bool bad_value(const char *flag, const char *value, const char *want)
{
	fprintf(stderr, "tapio-events: --%s %s: expected %s\n", flag, value, want);
	return false;
}

/* Lists get room for every argument up front: no option can occur more often than that. */
static bool alloc_lists(struct filter_options *f, int argc)
{
	size_t n = (size_t)argc;
	f->observers.v = calloc(n, sizeof(char *));
	f->types.v = calloc(n, sizeof(char *));
	f->pids.v = calloc(n, sizeof(uint32_t));
	return f->observers.v && f->types.v && f->pids.v;
}

static bool add_pid(struct pid_list *l, const char *flag, const char *arg)
{
	if (!parse_u32(arg, &l->v[l->n]))
		return bad_value(flag, arg, "a process id");
	l->n++;
	return true;
}

static bool set_u32(uint32_t *out, const char *flag, const char *arg)
{
	if (!parse_u32(arg, out))
		return bad_value(flag, arg, "a number from 0 to 4294967295");
	return true;
}

/* Applies one parsed option; false when its value is bad. */
static bool apply(struct options *opt, int c, char *arg)
{
	switch (c) {
	case OPT_TARGET:
		opt->target = arg;
		return true;
	case OPT_OBSERVER:
		opt->allow.observers.v[opt->allow.observers.n++] = arg;
		return true;
	case OPT_TYPE:
		opt->allow.types.v[opt->allow.types.n++] = arg;
		return true;
	case OPT_PID:
		return add_pid(&opt->allow.pids, "pid", arg);
	case OPT_DENY_OBSERVER:
		opt->deny.observers.v[opt->deny.observers.n++] = arg;
		return true;
	case OPT_DENY_TYPE:
		opt->deny.types.v[opt->deny.types.n++] = arg;
		return true;
	case OPT_DENY_PID:
		return add_pid(&opt->deny.pids, "deny-pid", arg);
	case OPT_BATCH:
		return set_u32(&opt->batch, "batch", arg);
	case OPT_DELAY_MS:
		return set_u32(&opt->delay_ms, "delay-ms", arg);
	case OPT_QUEUE:
		return set_u32(&opt->queue, "queue", arg);
	case OPT_COUNT:
		if (!parse_u64(arg, UINT64_MAX, &opt->count) || opt->count == 0)
			return bad_value("count", arg, "a positive number");
		return true;
	case OPT_TIMEOUT:
		if (!parse_seconds(arg, &opt->timeout))
			return bad_value("timeout", arg, "a positive number of seconds");
		return true;
	case OPT_STATUS:
		opt->status = true;
		return true;
	case OPT_QUIET:
		opt->quiet = true;
		return true;
	default:
		/* getopt_long has already said what was wrong. */
		fprintf(stderr, "Try 'tapio-events --help'.\n");
		return false;
	}
}

enum options_result options_parse(struct options *opt, int argc, char **argv)
{
	int c;

	memset(opt, 0, sizeof(*opt));
	opt->target = "127.0.0.1:50051";
	if (!alloc_lists(&opt->allow, argc) || !alloc_lists(&opt->deny, argc)) {
		fprintf(stderr, "tapio-events: out of memory\n");
		return OPTIONS_INVALID;
	}
	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return OPTIONS_HELP;
		}
		if (!apply(opt, c, optarg))
			return OPTIONS_INVALID;
	}
	if (optind < argc) {
		fprintf(stderr, "tapio-events: unexpected argument '%s'\n", argv[optind]);
		return OPTIONS_INVALID;
	}
	return OPTIONS_RUN;
}

static void free_filter(struct filter_options *f)
{
	free(f->observers.v);
	free(f->types.v);
	free(f->pids.v);
}

void options_free(struct options *opt)
{
	free_filter(&opt->allow);
	free_filter(&opt->deny);
}
