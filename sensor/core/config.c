/* config.c - see config.h. One table of options drives getopt_long, the config file
 * and --help, so a setting cannot exist in one and be missing from the others. */
#include "core/errmsg.h"
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "core/log.h"
#include "core/observer.h"

enum source { SRC_DEFAULT, SRC_FILE, SRC_ARGS };

struct option_def {
	const char *name;
	const char *arg; /* metavariable for --help; NULL = boolean flag */
	const char *help;
	int (*set)(struct config *c, const char *v, enum source src, char *err, size_t len);
};

static enum source listeners_src = SRC_DEFAULT;

/* Parses a decimal integer in [min, max]; -1 when malformed or out of range. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int64_t config_parse_size(const char *s)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end == 'K' || *end == 'k')
		mul = 1024;
	else if (*end == 'M' || *end == 'm')
		mul = 1024 * 1024;
	if (mul != 1)
		end++;
	if (*end || v > (1ULL << 40) / mul)
		return -1;
	return (int64_t)(v * mul);
}

static int parse_bool(const char *v, int *out)
{
	if (!v || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0")) {
		*out = 0;
		return 0;
	}
	return -1;
}

/* "host:port", "[v6]:port" or "unix:/path". */
static int listener_valid(const char *a, char *err, size_t len)
{
	const char *colon;
	uint64_t port;

	if (!strncmp(a, "unix:", 5)) {
		if (a[5] != '/')
			return errmsg(err, len, "--listen %s: a unix socket needs an absolute path",
				      a);
		if (strlen(a + 5) >= 108)
			return errmsg(err, len, "--listen %s: unix socket path too long", a);
		return 0;
	}
	colon = strrchr(a, ':');
	if (!colon || colon == a)
		return errmsg(err, len, "--listen %s: expected HOST:PORT or unix:/PATH", a);
	if (a[0] == '[' && colon[-1] != ']')
		return errmsg(err, len, "--listen %s: IPv6 address must be [ADDR]:PORT", a);
	if (parse_u64(colon + 1, 1, 65535, &port) < 0)
		return errmsg(err, len, "--listen %s: port must be 1-65535", a);
	return 0;
}

static int set_listen(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	if (listener_valid(v, err, len) < 0)
		return -1;
	if (src != listeners_src) { /* a higher source replaces the list */
		for (int i = 0; i < c->n_listeners; i++)
			free(c->listeners[i]);
		c->n_listeners = 0;
		listeners_src = src;
	}
	if (c->n_listeners == CONFIG_MAX_LISTENERS)
		return errmsg(err, len, "--listen %s: at most %d listeners", v,
			      CONFIG_MAX_LISTENERS);
	c->listeners[c->n_listeners] = strdup(v);
	if (!c->listeners[c->n_listeners])
		return errmsg(err, len, "out of memory");
	c->n_listeners++;
	return 0;
}

static int set_string(char *dst, size_t cap, const char *flag, const char *v, char *err, size_t len)
{
	if (strlen(v) >= cap)
		return errmsg(err, len, "--%s: value too long (max %zu bytes)", flag, cap - 1);
	strcpy(dst, v);
	return 0;
}

static int set_node(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	if (!*v)
		return errmsg(err, len, "--node-name: must not be empty");
	return set_string(c->node_name, sizeof(c->node_name), "node-name", v, err, len);
}

static int set_btf(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_string(c->btf_path, sizeof(c->btf_path), "btf", v, err, len);
}

static int set_tls_cert(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_string(c->tls_cert, sizeof(c->tls_cert), "tls-cert", v, err, len);
}

static int set_tls_key(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_string(c->tls_key, sizeof(c->tls_key), "tls-key", v, err, len);
}

static int set_tls_ca(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_string(c->tls_client_ca, sizeof(c->tls_client_ca), "tls-client-ca", v, err, len);
}

static int set_group(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	if (!getgrnam(v))
		return errmsg(err, len, "--socket-group %s: no such group", v);
	return set_string(c->socket_group, sizeof(c->socket_group), "socket-group", v, err, len);
}

static int set_insecure(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	if (parse_bool(v, &c->insecure) < 0)
		return errmsg(err, len, "--insecure %s: expected true or false", v);
	return 0;
}

static int set_config(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	if (src == SRC_FILE)
		return errmsg(err, len, "config: a config file cannot name another one");
	return set_string(c->config_file, sizeof(c->config_file), "config", v, err, len);
}

static int set_u32(uint32_t *dst, const char *flag, const char *v, uint64_t min, uint64_t max,
		   char *err, size_t len)
{
	uint64_t n;

	if (parse_u64(v, min, max, &n) < 0)
		return errmsg(err, len, "--%s %s: expected an integer %llu-%llu", flag, v,
			      (unsigned long long)min, (unsigned long long)max);
	*dst = (uint32_t)n;
	return 0;
}

static int set_cache(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_u32(&c->proc_cache_size, "proc-cache-size", v, 16, 4194304, err, len);
}

static int set_queue(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_u32(&c->queue_size, "queue-size", v, 1, 1048576, err, len);
}

static int set_maxsubs(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_u32(&c->max_subscribers, "max-subscribers", v, 1, 4096, err, len);
}

static int set_ring(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_u32(&c->resume_ring, "resume-ring", v, 0, 4194304, err, len);
}

/* pid:N, pidns:INODE (numbers), container:ID (hex, at least 12), cgroup:/PATH. */
static int mem_track_valid(const char *v)
{
	uint64_t n;

	if (!strncmp(v, "pid:", 4))
		return parse_u64(v + 4, 1, UINT32_MAX, &n) == 0;
	if (!strncmp(v, "pidns:", 6))
		return parse_u64(v + 6, 1, UINT64_MAX, &n) == 0;
	if (!strncmp(v, "cgroup:", 7))
		return v[7] == '/';
	if (strncmp(v, "container:", 10) || strlen(v + 10) < 12 || strlen(v + 10) > 64)
		return 0;
	for (const char *p = v + 10; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return 0;
	return 1;
}

static int set_mem_track(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	if (!mem_track_valid(v))
		return errmsg(err, len,
			      "--memory-track %s: expected pid:N, container:ID (12-64 hex digits), "
			      "cgroup:/PATH or pidns:INODE",
			      v);
	if (c->n_mem_track == CONFIG_MAX_MEM_TRACK)
		return errmsg(err, len, "--memory-track %s: at most %d selections", v,
			      CONFIG_MAX_MEM_TRACK);
	if (set_string(c->mem_track[c->n_mem_track], sizeof(c->mem_track[0]), "memory-track", v,
		       err, len) < 0)
		return -1;
	c->n_mem_track++;
	return 0;
}

static int set_mem_alloc_sample(struct config *c, const char *v, enum source src, char *err,
				size_t len)
{
	return set_u32(&c->mem_alloc_sample, "memory-alloc-sample", v, 1, 1000000, err, len);
}

/* A percentage with at most three decimals ("0.1", "12.5", "100"), in thousandths. */
static int parse_milli(const char *v, uint64_t *out)
{
	uint64_t n = 0;
	int digits = 0, decimals = -1;

	for (const char *c = v; *c; c++) {
		if (*c == '.' && decimals < 0 && digits) {
			decimals = 0;
			continue;
		}
		if (!isdigit((unsigned char)*c) || decimals == 3 || n > 1000000)
			return -1;
		n = n * 10 + (uint64_t)(*c - '0');
		digits++;
		if (decimals >= 0)
			decimals++;
	}
	if (!digits || decimals == 0)
		return -1;
	for (int d = decimals < 0 ? 0 : decimals; d < 3; d++)
		n *= 10;
	*out = n;
	return 0;
}

static int set_mem_alloc_duty(struct config *c, const char *v, enum source src, char *err,
			      size_t len)
{
	uint64_t milli;

	if (parse_milli(v, &milli) < 0 || milli < 10 || milli > 100000)
		return errmsg(err, len,
			      "--memory-alloc-duty %s: expected a percentage 0.01-100 (at most "
			      "three decimals)",
			      v);
	c->mem_alloc_duty_milli = (uint32_t)milli;
	return 0;
}

static int set_mem_alloc_window(struct config *c, const char *v, enum source src, char *err,
				size_t len)
{
	return set_u32(&c->mem_alloc_window_ms, "memory-alloc-window", v, 10, 60000, err, len);
}

static int set_mem_report(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_u32(&c->mem_report_interval_s, "memory-report-interval", v, 1, 3600, err, len);
}

static int set_mem_leak(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_u32(&c->mem_leak_window_s, "memory-leak-window", v, 2, 86400, err, len);
}

static int set_mem_reclaim(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_u32(&c->mem_reclaim_min_us, "memory-reclaim-min-us", v, 0, 10000000, err, len);
}

static int set_mem_psi_stall(struct config *c, const char *v, enum source src, char *err,
			     size_t len)
{
	return set_u32(&c->mem_psi_stall_us, "memory-psi-stall-us", v, 0, 10000000, err, len);
}

static int set_mem_psi_window(struct config *c, const char *v, enum source src, char *err,
			      size_t len)
{
	return set_u32(&c->mem_psi_window_us, "memory-psi-window-us", v, 500000, 10000000, err,
		       len);
}

static int set_mem_sample(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	if (!strcmp(v, "0")) {
		c->mem_sample_ms = 0;
		return 0;
	}
	return set_u32(&c->mem_sample_ms, "memory-sample-ms", v, 100, 60000, err, len);
}

static int set_mem_window(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_u32(&c->mem_predict_window_s, "memory-predict-window", v, 2, 3600, err, len);
}

static int set_mem_horizon(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_u32(&c->mem_predict_horizon_s, "memory-predict-horizon", v, 1, 86400, err, len);
}

/* Comma-separated ports; a higher source replaces the list. */
static int set_dns_ports(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	char buf[256], *save = NULL, *tok;
	uint64_t port;
	int n = 0;

	if (set_string(buf, sizeof(buf), "dns-ports", v, err, len) < 0)
		return -1;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (parse_u64(tok, 1, 65535, &port) < 0)
			return errmsg(err, len, "--dns-ports %s: '%s' is not a port 1-65535", v,
				      tok);
		if (n == CONFIG_MAX_DNS_PORTS)
			return errmsg(err, len, "--dns-ports %s: at most %d ports", v,
				      CONFIG_MAX_DNS_PORTS);
		c->dns_ports[n++] = (uint16_t)port;
	}
	if (n == 0)
		return errmsg(err, len, "--dns-ports: expected ports like 53,5353");
	c->n_dns_ports = n;
	return 0;
}

static int set_dns_timeout(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_u32(&c->dns_timeout_ms, "dns-timeout", v, 10, 600000, err, len);
}

static int set_dns_threshold(struct config *c, const char *v, enum source src, char *err,
			     size_t len)
{
	return set_u32(&c->dns_sample_threshold, "dns-sample-threshold", v, 0, 10000000, err, len);
}

const char *const config_net_classes[CONFIG_NET_CLASSES] = {"connection", "health", "http", "grpc",
							    "udp"};

/* CLASS=N: 1-of-N sampling of one class of network events. */
static int set_net_sample(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	const char *eq = strchr(v, '=');
	uint64_t n;

	for (int i = 0; eq && i < CONFIG_NET_CLASSES; i++) {
		if (strlen(config_net_classes[i]) != (size_t)(eq - v) ||
		    strncmp(v, config_net_classes[i], eq - v))
			continue;
		if (parse_u64(eq + 1, 1, 1000000, &n) < 0)
			return errmsg(err, len,
				      "--net-sample %s: expected N 1-1000000 (keep 1 of N)", v);
		c->net_sample[i] = (uint32_t)n;
		return 0;
	}
	return errmsg(err, len,
		      "--net-sample %s: expected CLASS=N, CLASS one of connection, health, http, "
		      "grpc, udp",
		      v);
}

static int set_net_udp_flush(struct config *c, const char *v, enum source src, char *err,
			     size_t len)
{
	return set_u32(&c->net_udp_flush_s, "net-udp-flush", v, 1, 3600, err, len);
}

static int set_net_conns(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	return set_u32(&c->net_conns, "net-conns", v, 1, 1048576, err, len);
}

static int set_net_udp_flows(struct config *c, const char *v, enum source src, char *err,
			     size_t len)
{
	return set_u32(&c->net_udp_flows, "net-udp-flows", v, 1, 1048576, err, len);
}

static int set_loglevel(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	int l = log_level_parse(v);

	if (l < 0)
		return errmsg(err, len, "--log-level %s: expected error, warn, info or debug", v);
	c->log_level = l;
	return 0;
}

static int set_perfbuf(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	if (parse_bool(v, &c->force_perfbuf) < 0)
		return errmsg(err, len, "--perf-buffer %s: expected true or false", v);
	return 0;
}

static int set_selftest(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	if (src == SRC_FILE)
		return errmsg(err, len, "self-test: a command-line flag only");
	c->self_test = 1;
	return 0;
}

static int set_observers(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	char buf[512], *save = NULL, *tok;
	int n = observer_count(), want[CONFIG_MAX_OBSERVERS] = {0};

	if (set_string(buf, sizeof(buf), "observers", v, err, len) < 0)
		return -1;
	if (!strcmp(v, "all")) {
		for (int i = 0; i < n; i++)
			c->obs[i].enabled = 1;
		return 0;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i = observer_index(tok);

		if (i < 0)
			return errmsg(err, len, "--observers: unknown observer '%s'", tok);
		want[i] = 1;
	}
	for (int i = 0; i < n; i++)
		c->obs[i].enabled = want[i];
	return 0;
}

/* NAME=VALUE for per-observer settings; returns the observer index or -1. */
static int split_observer_value(const char *flag, const char *v, const char **value, char *err,
				size_t len)
{
	char name[64];
	const char *eq = strchr(v, '=');
	int i;

	if (!eq || eq == v || (size_t)(eq - v) >= sizeof(name))
		return errmsg(err, len, "--%s %s: expected OBSERVER=VALUE", flag, v);
	memcpy(name, v, eq - v);
	name[eq - v] = 0;
	i = observer_index(name);
	if (i < 0)
		return errmsg(err, len, "--%s %s: unknown observer '%s'", flag, v, name);
	*value = eq + 1;
	return i;
}

static int set_rate(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	const char *val;
	int i = split_observer_value("rate", v, &val, err, len);
	uint64_t n;

	if (i < 0)
		return -1;
	if (parse_u64(val, 0, 10000000, &n) < 0)
		return errmsg(err, len, "--rate %s: expected events/s 0-10000000 (0 = unlimited)",
			      v);
	c->obs[i].rate = (int64_t)n;
	return 0;
}

static int set_sample(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	const char *val;
	int i = split_observer_value("sample", v, &val, err, len);
	uint64_t n;

	if (i < 0)
		return -1;
	if (parse_u64(val, 1, 1000000, &n) < 0)
		return errmsg(err, len, "--sample %s: expected N 1-1000000 (keep 1 of N)", v);
	c->obs[i].sample = (int64_t)n;
	return 0;
}

static int set_ringbuf(struct config *c, const char *v, enum source src, char *err, size_t len)
{
	const char *val;
	int i = split_observer_value("ringbuf", v, &val, err, len);
	int64_t n;

	if (i < 0)
		return -1;
	n = config_parse_size(val);
	if (n < 4096 || n > (1 << 30) || (n & (n - 1)))
		return errmsg(err, len,
			      "--ringbuf %s: expected a power of two from 4K to 1024M (e.g. 256K)",
			      v);
	c->obs[i].ringbuf = n;
	return 0;
}

static const struct option_def options[] = {
	{"config", "FILE", "read settings from FILE (name = value lines, names as these flags)",
	 set_config},
	{"listen", "ADDR",
	 "serve gRPC on ADDR: HOST:PORT or unix:/PATH; repeatable (default " CONFIG_DEFAULT_TCP
	 " and " CONFIG_DEFAULT_UNIX ")",
	 set_listen},
	{"node-name", "NAME", "node name put in every event (default $NODE_NAME or the host name)",
	 set_node},
	{"observers", "LIST", "comma-separated observers to run, or 'all' (default all)",
	 set_observers},
	{"rate", "OBS=N", "kernel-side rate limit of an observer, events/s, 0 = unlimited",
	 set_rate},
	{"sample", "OBS=N", "keep 1 of every N events of an observer (default 1: all)", set_sample},
	{"ringbuf", "OBS=SIZE", "ring buffer size of an observer, power of two (e.g. 512K)",
	 set_ringbuf},
	{"perf-buffer", NULL,
	 "use the perf buffer instead of the BPF ring buffer (automatic on "
	 "kernels before 5.8)",
	 set_perfbuf},
	{"tls-cert", "FILE",
	 "PEM certificate chain: every TCP listener serves TLS (with --tls-key)", set_tls_cert},
	{"tls-key", "FILE", "PEM private key of --tls-cert", set_tls_key},
	{"tls-client-ca", "FILE",
	 "PEM CA: clients must present a certificate it signed (mutual TLS)", set_tls_ca},
	{"insecure", NULL, "allow plaintext on TCP listeners that are not loopback", set_insecure},
	{"socket-group", "GROUP", "group that may use the unix sockets (mode 0660; default root)",
	 set_group},
	{"btf", "PATH", "kernel BTF file for kernels without /sys/kernel/btf/vmlinux", set_btf},
	{"proc-cache-size", "N", "processes kept in the process cache (default 16384)", set_cache},
	{"queue-size", "N",
	 "default events queued per subscriber before it loses events "
	 "(default 8192)",
	 set_queue},
	{"max-subscribers", "N", "concurrent event streams allowed (default 256)", set_maxsubs},
	{"resume-ring", "N",
	 "recent events kept for clients that resume a stream (default 16384; "
	 "0: none)",
	 set_ring},
	{"memory-track", "SEL",
	 "memory: track allocations (malloc, calloc, realloc, free, anonymous mmap) of pid:N, "
	 "container:ID, cgroup:/PATH or pidns:INODE; repeatable (default: none)",
	 set_mem_track},
	{"memory-alloc-sample", "N",
	 "memory: track 1 of every N blocks, by address (default 1: all; figures are then "
	 "estimates x N); saves BPF work and map room, not the uprobe trap of each call",
	 set_mem_alloc_sample},
	{"memory-alloc-duty", "PCT",
	 "memory: attach the allocation probes PCT % of the time, in windows (default 100: "
	 "always); between windows tracked processes run at full speed; figures are then "
	 "estimates x 100/PCT",
	 set_mem_alloc_duty},
	{"memory-alloc-window", "MS",
	 "memory: length of one window of --memory-alloc-duty (default 100)", set_mem_alloc_window},
	{"memory-report-interval", "SECS",
	 "memory: report the top outstanding allocation sites every SECS (default 10)",
	 set_mem_report},
	{"memory-leak-window", "SECS",
	 "memory: a site whose outstanding bytes keep growing for SECS is a leak suspect "
	 "(default 60)",
	 set_mem_leak},
	{"memory-reclaim-min-us", "US",
	 "memory: stream reclaim stalls at least this long (default 1000)", set_mem_reclaim},
	{"memory-psi-stall-us", "US",
	 "memory: PSI trigger, stall within the window (default 100000; 0: no triggers)",
	 set_mem_psi_stall},
	{"memory-psi-window-us", "US",
	 "memory: PSI trigger window, 500000-10000000; without CAP_SYS_RESOURCE a "
	 "multiple of 2000000 (default 2000000)",
	 set_mem_psi_window},
	{"memory-sample-ms", "MS",
	 "memory: sample cgroup and process memory every MS for OOM prediction (default 1000; "
	 "0: off)",
	 set_mem_sample},
	{"memory-predict-window", "SECS", "memory: fit the usage trend over SECS (default 30)",
	 set_mem_window},
	{"memory-predict-horizon", "SECS",
	 "memory: predict an OOM when the trend reaches the limit within SECS (default 300)",
	 set_mem_horizon},
	{"dns-ports", "LIST", "dns: server ports watched, comma-separated (default 53)",
	 set_dns_ports},
	{"dns-timeout", "MS", "dns: report a query unanswered after MS milliseconds (default 5000)",
	 set_dns_timeout},
	{"dns-sample-threshold", "N",
	 "dns: above N new queries/s per node, stream 1 of every --sample dns=N (default 10) "
	 "lookups; 0: always (default 250)",
	 set_dns_threshold},
	{"net-sample", "CLASS=N",
	 "network: keep 1 of N connection (connect/accept/close), health (retransmit/reset/drop), "
	 "http (requests), grpc (connections) or udp (flows) events, before --rate (default 1: "
	 "all)",
	 set_net_sample},
	{"net-conns", "N",
	 "network: TCP connections the kernel tracks (owner, start, direction); those beyond are "
	 "reported without them and counted (conn_table_full) (default 10240)",
	 set_net_conns},
	{"net-udp-flush", "SECS",
	 "network: summary of each UDP flow of an open socket every SECS while it exchanges "
	 "datagrams; a closed socket's flows are summed up at once (default 30)",
	 set_net_udp_flush},
	{"net-udp-flows", "N",
	 "network: UDP flows, and UDP sockets, the kernel tracks; datagrams of flows beyond are "
	 "counted as lost (udp_table_full) (default 10240)",
	 set_net_udp_flows},
	{"log-level", "LEVEL", "error, warn, info or debug (default info)", set_loglevel},
	{"self-test", NULL,
	 "preflight: start every observer the kernel supports, cause an event for each, check "
	 "it, print a table, exit 0 only if all passed (no gRPC server)",
	 set_selftest},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

void config_init(struct config *c)
{
	const char *node = getenv("NODE_NAME");

	memset(c, 0, sizeof(*c));
	listeners_src = SRC_DEFAULT;
	c->listeners[c->n_listeners++] = strdup(CONFIG_DEFAULT_TCP);
	c->listeners[c->n_listeners++] = strdup(CONFIG_DEFAULT_UNIX);
	if (node && *node && strlen(node) < sizeof(c->node_name))
		strcpy(c->node_name, node);
	else if (gethostname(c->node_name, sizeof(c->node_name) - 1) < 0)
		strcpy(c->node_name, "unknown");
	c->proc_cache_size = 16384;
	c->queue_size = 8192;
	c->max_subscribers = 256;
	c->resume_ring = 16384;
	c->mem_reclaim_min_us = 1000;
	c->mem_psi_stall_us = 100000;
	c->mem_psi_window_us = 2000000;
	c->mem_sample_ms = 1000;
	c->mem_predict_window_s = 30;
	c->mem_predict_horizon_s = 300;
	c->mem_alloc_sample = 1;
	c->mem_alloc_duty_milli = 100000;
	c->mem_alloc_window_ms = 100;
	c->mem_report_interval_s = 10;
	c->mem_leak_window_s = 60;
	c->dns_ports[0] = 53;
	c->n_dns_ports = 1;
	c->dns_timeout_ms = 5000;
	c->dns_sample_threshold = 250;
	for (int i = 0; i < CONFIG_NET_CLASSES; i++)
		c->net_sample[i] = 1;
	c->net_conns = 10240;
	c->net_udp_flush_s = 30;
	c->net_udp_flows = 10240;
	c->log_level = LOG_INFO;
	for (int i = 0; i < CONFIG_MAX_OBSERVERS; i++) {
		c->obs[i].enabled = 1;
		c->obs[i].rate = -1;
		c->obs[i].sample = -1;
		c->obs[i].ringbuf = -1;
	}
}

void config_free(struct config *c)
{
	for (int i = 0; i < c->n_listeners; i++)
		free(c->listeners[i]);
	c->n_listeners = 0;
}

static const struct option_def *find_option(const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (!strcmp(options[i].name, name))
			return &options[i];
	return NULL;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int load_line(struct config *c, char *line, const char *path, int lineno, char *err,
		     size_t errlen)
{
	char msg[512];
	char *eq, *key, *val;
	const struct option_def *o;

	line = trim(line);
	if (!*line || *line == '#')
		return 0;
	eq = strchr(line, '=');
	if (!eq)
		return errmsg(err, errlen, "config %s:%d: expected 'name = value'", path, lineno);
	*eq = 0;
	key = trim(line);
	val = trim(eq + 1);
	o = find_option(key);
	if (!o)
		return errmsg(err, errlen, "config %s:%d: unknown setting '%s'", path, lineno, key);
	if (o->arg && !*val)
		return errmsg(err, errlen, "config %s:%d: '%s' needs a value", path, lineno, key);
	if (o->set(c, val, SRC_FILE, msg, sizeof(msg)) < 0)
		return errmsg(err, errlen, "config %s:%d: %s", path, lineno, msg);
	return 0;
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	char line[1024];
	int lineno = 0, rc = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return errmsg(err, errlen, "config %s: %s", path, strerror(errno));
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = errmsg(err, errlen, "config %s:%d: line longer than %zu bytes", path,
				    lineno, sizeof(line) - 2);
			break;
		}
		rc = load_line(c, line, path, lineno, err, errlen);
	}
	fclose(f);
	return rc;
}

struct pending {
	const struct option_def *opt;
	const char *val;
};

enum config_result config_parse_args(struct config *c, int argc, char **argv, char *err,
				     size_t errlen)
{
	struct option longopts[N_OPTIONS + 3];
	struct pending *todo;
	int n = 0, ch, idx, rc = CONFIG_OK;
	char msg[512];

	for (size_t i = 0; i < N_OPTIONS; i++)
		longopts[i] = (struct option){options[i].name,
					      options[i].arg ? required_argument : no_argument,
					      NULL, (int)(1000 + i)};
	longopts[N_OPTIONS] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[N_OPTIONS + 1] = (struct option){"version", no_argument, NULL, 'V'};
	longopts[N_OPTIONS + 2] = (struct option){NULL, 0, NULL, 0};

	todo = calloc(argc + 1, sizeof(*todo));
	if (!todo)
		return errmsg(err, errlen, "out of memory");
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hV", longopts, &idx)) != -1) {
		if (ch == 'h') {
			config_print_help(argv[0]);
			rc = CONFIG_EXIT;
			goto out;
		}
		if (ch == 'V') {
			printf("tapio-sensor %s\n", TAPIO_VERSION);
			rc = CONFIG_EXIT;
			goto out;
		}
		if (ch == '?') {
			/* opterr is off: say it once, in our words. getopt sets optopt to the
			 * option's value when only its argument is missing. */
			if (optopt >= 1000)
				errmsg(err, errlen, "flag '--%s' needs a value (see --help)",
				       options[optopt - 1000].name);
			else
				errmsg(err, errlen, "unknown flag '%s' (see --help)",
				       argv[optind - 1]);
			rc = CONFIG_ERROR;
			goto out;
		}
		todo[n].opt = &options[ch - 1000];
		todo[n].val = optarg;
		n++;
	}
	if (optind < argc) {
		rc = errmsg(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
		goto out;
	}
	for (int i = 0; i < n; i++) /* the file first, so flags override it */
		if (todo[i].opt->set == set_config &&
		    set_config(c, todo[i].val, SRC_ARGS, err, errlen) < 0) {
			rc = CONFIG_ERROR;
			goto out;
		}
	if (c->config_file[0] && config_load_file(c, c->config_file, err, errlen) < 0) {
		rc = CONFIG_ERROR;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (todo[i].opt->set == set_config)
			continue;
		if (todo[i].opt->set(c, todo[i].val, SRC_ARGS, msg, sizeof(msg)) < 0) {
			rc = errmsg(err, errlen, "%s", msg);
			goto out;
		}
	}
out:
	free(todo);
	return rc;
}

int config_is_loopback(const char *addr)
{
	size_t hostlen = strrchr(addr, ':') ? (size_t)(strrchr(addr, ':') - addr) : strlen(addr);

	if (!strncmp(addr, "127.", 4) || !strncmp(addr, "[::1]:", 6))
		return 1;
	return hostlen == 9 && !strncmp(addr, "localhost", 9);
}

static int readable(const char *flag, const char *path, char *err, size_t errlen)
{
	if (access(path, R_OK) < 0)
		return errmsg(err, errlen, "--%s %s: %s", flag, path, strerror(errno));
	return 0;
}

/* TLS settings hang together, and plaintext never leaves the machine unless asked. */
static int validate_tls(const struct config *c, char *err, size_t errlen)
{
	if (!c->tls_cert[0] != !c->tls_key[0])
		return errmsg(err, errlen, "--tls-cert and --tls-key go together");
	if (c->tls_client_ca[0] && !c->tls_cert[0])
		return errmsg(err, errlen, "--tls-client-ca needs --tls-cert and --tls-key");
	if ((c->tls_cert[0] && readable("tls-cert", c->tls_cert, err, errlen) < 0) ||
	    (c->tls_key[0] && readable("tls-key", c->tls_key, err, errlen) < 0) ||
	    (c->tls_client_ca[0] && readable("tls-client-ca", c->tls_client_ca, err, errlen) < 0))
		return -1;
	for (int i = 0; i < c->n_listeners && !c->tls_cert[0] && !c->insecure; i++) {
		const char *a = c->listeners[i];

		if (strncmp(a, "unix:", 5) && !config_is_loopback(a))
			return errmsg(err, errlen,
				      "--listen %s: plaintext on a non-loopback address; give "
				      "--tls-cert and --tls-key, or --insecure",
				      a);
	}
	return 0;
}

int config_validate(struct config *c, char *err, size_t errlen)
{
	const char *path = c->btf_path[0] ? c->btf_path : "/sys/kernel/btf/vmlinux";
	struct btf *btf;
	int any = 0;

	if (access(path, R_OK) < 0) {
		if (!c->btf_path[0])
			return errmsg(err, errlen,
				      "kernel BTF %s: %s (this kernel lacks CONFIG_DEBUG_INFO_BTF; "
				      "pass --btf PATH)",
				      path, strerror(errno));
		return errmsg(err, errlen, "BTF file %s: %s", path, strerror(errno));
	}
	btf = btf__parse(path, NULL);
	if (!btf)
		return errmsg(err, errlen,
			      "BTF file %s: not a valid BTF or ELF file with .BTF (%s)", path,
			      strerror(errno));
	btf__free(btf);
	for (int i = 0; i < observer_count(); i++)
		any |= c->obs[i].enabled;
	if (!any)
		return errmsg(err, errlen, "no observer enabled (--observers)");
	if (c->n_listeners == 0 && !c->self_test)
		return errmsg(err, errlen, "no listener (--listen)");
	return validate_tls(c, err, errlen);
}

void config_print_help(const char *argv0)
{
	printf("Usage: %s [FLAGS]\n\n"
	       "Tapio sensor: watches the kernel with eBPF observers and streams typed events\n"
	       "over gRPC (service tapio.sensor.v1.Sensor). Runs as root.\n\nFlags:\n",
	       argv0);
	for (size_t i = 0; i < N_OPTIONS; i++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", options[i].name, options[i].arg ? " " : "",
			 options[i].arg ? options[i].arg : "");
		printf("  %-24s %s\n", left, options[i].help);
	}
	printf("  %-24s %s\n  %-24s %s\n", "--help", "print this help and exit", "--version",
	       "print the version and exit");
	printf("\nObservers (default rate limit, sampling, ring buffer):\n");
	for (int i = 0; i < observer_count(); i++) {
		const struct observer_ops *o = observer_table[i];

		printf("  %-12s %s (%u/s, 1:%u, %uK)\n", o->name, o->description, o->default_rate,
		       o->default_sample, o->default_ringbuf / 1024);
	}
	printf("\nA config file holds the same settings, one per line: 'listen = "
	       "127.0.0.1:50051',\n"
	       "'rate = process=100'. Flags given on the command line override the file.\n");
}
