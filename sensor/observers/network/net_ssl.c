/* net_ssl.c - see net_ssl.h. */
#include "observers/network/net_ssl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "core/features.h"
#include "core/log.h"
#include "core/observer.h"
#include "core/sensor.h"
#include "core/ticker.h"
#include "network.skel.h"
#include "observers/network/net_tls.h"

#define N_SSL_PROGS 10
#define SSL_PROGRAMS "ssl_* (libssl uprobes)"

struct ssl_prog {
	const char *func;
	int ret;
};

static const struct ssl_prog ssl_progs[N_SSL_PROGS] = {
	{"SSL_write", 0},	 {"SSL_write", 1},	  {"SSL_read", 0},    {"SSL_read", 1},
	{"SSL_write_ex", 0},	 {"SSL_write_ex", 1},	  {"SSL_read_ex", 0}, {"SSL_read_ex", 1},
	{"SSL_do_handshake", 0}, {"SSL_do_handshake", 1},
};

/* One libssl.so.3 file with uprobes; key: the file's device and inode. */
struct ssl_lib {
	dev_t dev;
	ino_t ino;
	int seen; /* mapped by a process in the scan under way */
	struct bpf_link *links[N_SSL_PROGS];
	char where[320]; /* for the log: the path and the process it was found in */
};

struct net_ssl {
	struct observer *o;
	struct network_bpf *skel;
	char node_lib[PATH_MAX]; /* the node's own copy, "" when it has none */
	dev_t node_dev;
	ino_t node_ino;
	struct ssl_lib libs[NET_SSL_MAX_LIBS]; /* the others */
	int n_libs;
	int full_warned;
	struct ticker *ticker; /* the scan's */
};

/* In the order of ssl_progs. */
static void ssl_programs(struct network_bpf *skel, struct bpf_program **p, struct bpf_link ***l)
{
	struct bpf_program *progs[N_SSL_PROGS] = {
		skel->progs.ssl_write_enter,	 skel->progs.ssl_write_exit,
		skel->progs.ssl_read_enter,	 skel->progs.ssl_read_exit,
		skel->progs.ssl_write_ex_enter,	 skel->progs.ssl_write_ex_exit,
		skel->progs.ssl_read_ex_enter,	 skel->progs.ssl_read_ex_exit,
		skel->progs.ssl_handshake_enter, skel->progs.ssl_handshake_exit,
	};
	struct bpf_link **links[N_SSL_PROGS] = {
		&skel->links.ssl_write_enter,	  &skel->links.ssl_write_exit,
		&skel->links.ssl_read_enter,	  &skel->links.ssl_read_exit,
		&skel->links.ssl_write_ex_enter,  &skel->links.ssl_write_ex_exit,
		&skel->links.ssl_read_ex_enter,	  &skel->links.ssl_read_ex_exit,
		&skel->links.ssl_handshake_enter, &skel->links.ssl_handshake_exit,
	};

	memcpy(p, progs, sizeof(progs));
	if (l)
		memcpy(l, links, sizeof(links));
}

static void destroy_links(struct bpf_link **links, int n)
{
	for (int k = 0; k < n; k++) {
		bpf_link__destroy(links[k]);
		links[k] = NULL;
	}
}

/* The ten uprobes on the library at path into links[]. 0, or -errno with none left
 * attached (*func: the function that failed). */
static int attach_lib(struct network_bpf *skel, const char *path, struct bpf_link **links,
		      const char **func)
{
	struct bpf_program *progs[N_SSL_PROGS];

	ssl_programs(skel, progs, NULL);
	for (int i = 0; i < N_SSL_PROGS; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = ssl_progs[i].func,
			    .retprobe = ssl_progs[i].ret);

		links[i] = bpf_program__attach_uprobe_opts(progs[i], -1, path, 0, &opts);
		if (!links[i]) {
			int err = -errno;

			destroy_links(links, i);
			*func = ssl_progs[i].func;
			return err;
		}
	}
	return 0;
}

struct net_ssl *net_ssl_open(struct observer *o, struct network_bpf *skel)
{
	const struct features *f = &o->sensor->features;
	struct bpf_program *progs[N_SSL_PROGS];
	struct net_ssl *s;

	if (!features_has(f, FEAT_UPROBE)) {
		ssl_programs(skel, progs, NULL);
		for (int i = 0; i < N_SSL_PROGS; i++)
			bpf_program__set_autoload(progs[i], false);
		observer_skip(o, SSL_PROGRAMS, "no uprobes: %s", features_detail(f, FEAT_UPROBE));
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->o = o;
	s->skel = skel;
	if (net_tls_find_libssl("/", s->node_lib, sizeof(s->node_lib)) < 0)
		s->node_lib[0] = '\0';
	return s;
}

/* The node's copy, through the skeleton's links (status lists them). */
static void attach_node_lib(struct net_ssl *s)
{
	struct bpf_program *progs[N_SSL_PROGS];
	struct bpf_link **links[N_SSL_PROGS], *got[N_SSL_PROGS];
	const char *func = "";
	struct stat st;
	int err;

	if (!s->node_lib[0] || stat(s->node_lib, &st) < 0) {
		log_info("network: no libssl.so.3 in the node's library directories; TLS "
			 "plaintext from the copies processes map");
		s->node_lib[0] = '\0';
		return;
	}
	err = attach_lib(s->skel, s->node_lib, got, &func);
	if (err) {
		observer_skip(s->o, SSL_PROGRAMS, "%s %s: %s", s->node_lib, func, strerror(-err));
		s->node_lib[0] = '\0';
		return;
	}
	ssl_programs(s->skel, progs, links);
	for (int i = 0; i < N_SSL_PROGS; i++)
		*links[i] = got[i];
	s->node_dev = st.st_dev;
	s->node_ino = st.st_ino;
	log_info("network: TLS plaintext from uprobes on %s", s->node_lib);
}

static struct ssl_lib *find_lib(struct net_ssl *s, dev_t dev, ino_t ino)
{
	for (int i = 0; i < s->n_libs; i++)
		if (s->libs[i].dev == dev && s->libs[i].ino == ino)
			return &s->libs[i];
	return NULL;
}

/* A process's libssl.so.3 mapping found by the scan. */
static void on_mapping(void *ctx, int pid, const struct net_tls_map *m)
{
	struct net_ssl *s = ctx;
	char path[64];
	const char *func = "";
	struct ssl_lib *lib;
	struct stat st;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, m->start, m->end);
	if (stat(path, &st) < 0 ||
	    (s->node_lib[0] && st.st_dev == s->node_dev && st.st_ino == s->node_ino))
		return;
	lib = find_lib(s, st.st_dev, st.st_ino);
	if (lib) {
		lib->seen = 1;
		return;
	}
	if (s->n_libs == NET_SSL_MAX_LIBS) {
		if (!s->full_warned)
			log_warn("network: %d libssl.so.3 files have uprobes already; not %s of "
				 "pid %d (TLS there is not seen)",
				 NET_SSL_MAX_LIBS, m->path, pid);
		s->full_warned = 1;
		return;
	}
	lib = &s->libs[s->n_libs];
	err = attach_lib(s->skel, path, lib->links, &func);
	if (err) {
		log_warn("network: uprobes on %s of pid %d: %s: %s", m->path, pid, func,
			 strerror(-err));
		return;
	}
	lib->dev = st.st_dev;
	lib->ino = st.st_ino;
	lib->seen = 1;
	snprintf(lib->where, sizeof(lib->where), "%s of pid %d", m->path, pid);
	s->n_libs++;
	log_info("network: TLS plaintext from uprobes on %s (device %u:%u inode %lu)", lib->where,
		 major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
}

void net_ssl_scan(struct net_ssl *s)
{
	int n = net_tls_scan("/proc", on_mapping, s);

	if (n < 0) {
		log_warn("network: reading /proc for libssl.so.3 mappings: %s", strerror(-n));
		return;
	}
	for (int i = 0; i < s->n_libs;) {
		struct ssl_lib *lib = &s->libs[i];

		if (lib->seen) {
			lib->seen = 0;
			i++;
			continue;
		}
		log_info("network: uprobes on %s detached: no process maps it", lib->where);
		destroy_links(lib->links, N_SSL_PROGS);
		*lib = s->libs[--s->n_libs];
		s->full_warned = 0;
	}
}

static void on_tick(void *arg)
{
	net_ssl_scan(arg);
}

int net_ssl_start(struct net_ssl *s)
{
	attach_node_lib(s);
	net_ssl_scan(s);
	s->ticker = ticker_start(&s->o->sensor->loop, NET_SSL_SCAN_MS, on_tick, s);
	return s->ticker ? 0 : -ENOMEM;
}

void net_ssl_free(struct net_ssl *s)
{
	if (!s)
		return;
	ticker_stop(s->ticker);
	for (int i = 0; i < s->n_libs; i++)
		destroy_links(s->libs[i].links, N_SSL_PROGS);
	free(s);
}
