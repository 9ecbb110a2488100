/* config.h - the sensor's configuration: defaults, command-line flags, config file.
 *
 * Owns `struct config` and its validation. A config file holds the same settings as
 * the flags, one `name = value` per line (`#` starts a comment), named like the long
 * flags without the dashes; flags given on the command line override the file (for
 * repeatable settings such as `listen`, the command line's list replaces the file's).
 * Every error is one line that names the flag or file:line and the problem.
 */
#ifndef TAPIO_CONFIG_H
#define TAPIO_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_LISTENERS 8
#define CONFIG_MAX_OBSERVERS 16
#define CONFIG_MAX_MEM_TRACK 16
#define CONFIG_NET_CLASSES 5
#define CONFIG_MAX_DNS_PORTS 16

#define CONFIG_DEFAULT_TCP "127.0.0.1:50051"
#define CONFIG_DEFAULT_UNIX "unix:/run/tapio/sensor.sock"

struct config_observer {
	int enabled;	 /* 1 enabled, 0 disabled */
	int64_t rate;	 /* events/s, 0 = unlimited; -1 = the observer's default */
	int64_t sample;	 /* keep 1 of N; -1 = default */
	int64_t ringbuf; /* bytes; -1 = default */
};

struct config {
	char *listeners[CONFIG_MAX_LISTENERS]; /* owned strings */
	int n_listeners;
	char node_name[256];
	char btf_path[PATH_MAX]; /* "" = /sys/kernel/btf/vmlinux */
	char tls_cert[PATH_MAX]; /* PEM server certificate chain: TCP listeners serve TLS */
	char tls_key[PATH_MAX];
	char tls_client_ca[PATH_MAX]; /* PEM CA: clients must present a certificate it signed */
	char socket_group[64];	      /* group owning the unix sockets ("" = root's) */
	int insecure;		      /* plaintext allowed on non-loopback TCP listeners */
	char config_file[PATH_MAX];
	uint32_t proc_cache_size;
	uint32_t queue_size; /* default events per subscriber queue */
	uint32_t max_subscribers;
	uint32_t resume_ring; /* recent events retained for resuming streams */
	/* memory observer (observers/memory/memory.c) */
	uint32_t mem_reclaim_min_us;	/* stream reclaim stalls at least this long */
	uint32_t mem_psi_stall_us;	/* PSI trigger: stall within the window; 0 = none */
	uint32_t mem_psi_window_us;	/* PSI trigger window */
	uint32_t mem_sample_ms;		/* OOM prediction sampling period; 0 = off */
	uint32_t mem_predict_window_s;	/* trend fitted over this much history */
	uint32_t mem_predict_horizon_s; /* predict OOMs this far ahead */
	/* allocation tracking: selectors "pid:N", "container:ID", "cgroup:PATH", "pidns:INODE" */
	char mem_track[CONFIG_MAX_MEM_TRACK][256];
	int n_mem_track;
	uint32_t mem_alloc_sample;	/* track 1 of N blocks (by address) */
	uint32_t mem_alloc_duty_milli;	/* probes attached this share of the time, 1/1000 % */
	uint32_t mem_alloc_window_ms;	/* one attached window (duty below 100 %) */
	uint32_t mem_report_interval_s; /* top allocation sites every SECS */
	uint32_t mem_leak_window_s;	/* a site growing this long is a leak suspect */
	/* dns observer (observers/dns/dns.c) */
	uint16_t dns_ports[CONFIG_MAX_DNS_PORTS]; /* server ports watched, host order */
	int n_dns_ports;
	uint32_t dns_timeout_ms;       /* a query unanswered this long is reported */
	uint32_t dns_sample_threshold; /* new queries/s above which 1:N sampling applies */
	/* network observer (observers/network/network.c): keep 1 of N per class, in the order of
	 * config_net_classes (connection, health, http, grpc, udp) */
	uint32_t net_sample[CONFIG_NET_CLASSES];
	uint32_t net_conns; /* TCP connections the kernel tracks (owner, start, direction) */
	/* UDP flows: summaries of an open socket's flows every SECS; flows (and UDP
	 * sockets) the kernel tracks */
	uint32_t net_udp_flush_s;
	uint32_t net_udp_flows;
	int log_level; /* enum log_level */
	int force_perfbuf;
	int self_test;
	struct config_observer obs[CONFIG_MAX_OBSERVERS]; /* by observer_table index */
};

enum config_result {
	CONFIG_OK = 0,
	CONFIG_EXIT = 1,  /* --help or --version printed: exit 0 */
	CONFIG_ERROR = -1 /* err holds the one-line message */
};

void config_init(struct config *c);
void config_free(struct config *c);
/* Reads flags (and the file named by --config). */
enum config_result config_parse_args(struct config *c, int argc, char **argv, char *err,
				     size_t errlen);
/* Applies one setting from a file; exposed for tests. */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);
/* Checks what can be checked before start (BTF file readable, ...). */
int config_validate(struct config *c, char *err, size_t errlen);
/* 1 when a TCP listen address only reaches this machine (127.0.0.0/8, ::1, localhost). */
int config_is_loopback(const char *addr);
/* Names of the network observer's sampling classes (--net-sample CLASS=N). */
extern const char *const config_net_classes[CONFIG_NET_CLASSES];
/* Parses "256K", "1M", "4096" into bytes; -1 when malformed. */
int64_t config_parse_size(const char *s);
void config_print_help(const char *argv0);

#endif
