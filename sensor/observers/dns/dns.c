/* dns.c - the DNS observer: every DNS lookup of every process on the node (bpf/dns.bpf.c).
 *
 * Owns the BPF object's settings (ports, sampling threshold, timeout), the attachment of
 * its two cgroup_skb programs to the root of the cgroup v2 hierarchy (where it is
 * mounted, or through a private mount on a host that mounts only cgroup v1), the timer
 * that reports unanswered queries, and the publication of the user-space counters into
 * the object's counter slots. Decoding is observers/dns/dns_decode.c, the self-test
 * observers/dns/dns_selftest.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/cgroup2.h"
#include "core/features.h"
#include "core/log.h"
#include "core/sensor.h"
#include "observers/dns/dns_decode.h"
#include "observers/dns/dns_obs.h"
#include "dns.skel.h"

_Static_assert(CONFIG_MAX_DNS_PORTS == DNS_MAX_PORTS, "--dns-ports fits the BPF settings");

#define EXPIRE_PERIOD_MAX_MS 250

static struct dns_bpf *skel_of(struct observer *o)
{
	return o->skel;
}

/* The meter is a token bucket like the rate limit's, split over the CPUs. Threshold 0:
 * always over (an empty bucket that never fills). */
static void set_meter(struct dns_settings *ds, uint32_t threshold, int ncpu)
{
	uint64_t per_cpu = threshold / (uint64_t)ncpu;

	if (threshold == 0) {
		ds->meter_cost_ns = 1;
		ds->meter_burst_ns = 0;
		return;
	}
	ds->meter_cost_ns = 1000000000ULL * (uint64_t)ncpu / threshold;
	if (ds->meter_cost_ns == 0)
		ds->meter_cost_ns = 1;
	ds->meter_burst_ns = ds->meter_cost_ns * (per_cpu ? per_cpu : 1);
}

/* extra_port: one more port to watch (the self-test's own), 0 for none. */
static void set_settings(struct observer *o, struct dns_settings *ds, uint16_t extra_port)
{
	const struct config *cfg = o->sensor->cfg;
	int ncpu = libbpf_num_possible_cpus();

	memset(ds, 0, sizeof(*ds));
	for (int i = 0; i < cfg->n_dns_ports && i < DNS_MAX_PORTS; i++)
		ds->ports[i] = cfg->dns_ports[i];
	ds->nports = (uint32_t)cfg->n_dns_ports;
	if (extra_port) /* a full list gives its last place to it: this run is a test */
		ds->ports[ds->nports < DNS_MAX_PORTS ? ds->nports++ : DNS_MAX_PORTS - 1] =
			extra_port;
	/* The self-test checks the pipeline: a busy node must not sample its lookup out. */
	if (!cfg->self_test)
		set_meter(ds, cfg->dns_sample_threshold, ncpu > 0 ? ncpu : 1);
	ds->timeout_ns = (uint64_t)cfg->dns_timeout_ms * 1000000ULL;
	if (getrandom(&ds->hash_seed, sizeof(ds->hash_seed), GRND_NONBLOCK) !=
	    sizeof(ds->hash_seed))
		ds->hash_seed = sensor_mono_ns() ^ ((uint64_t)getpid() << 32);
}

static int dns_open(struct observer *o, const struct features *f)
{
	struct dns_obs *d = calloc(1, sizeof(*d));
	struct dns_bpf *skel;
	uint16_t extra = 0;
	int err;

	if (!d)
		return -ENOMEM;
	d->o = o;
	d->st.udp_fd = d->st.server_fd = -1;
	d->st.listen_fd = d->st.conn_fd = d->st.tcp_fd = -1;
	d->timeout_ns = (uint64_t)o->sensor->cfg->dns_timeout_ms * 1000000ULL;
	d->cgroup_fd = cgroup2_root_open(o, "dns_egress, dns_ingress");
	if (d->cgroup_fd < 0) {
		err = d->cgroup_fd;
		free(d);
		return err;
	}
	skel = dns_bpf__open_opts(observer_open_opts(o));
	if (!skel) {
		err = -errno;
		close(d->cgroup_fd);
		free(d);
		return err;
	}
	o->priv = d;
	o->skel = skel;
	o->skeleton = skel->skeleton;
	o->limits = (struct tp_limits *)&skel->rodata->tp_limits;
	if (o->sensor->cfg->self_test && dns_selftest_bind(d, o->sensor->cfg->dns_ports[0]) &&
	    d->st.taken_port)
		extra = d->st.server_port;
	set_settings(o, (struct dns_settings *)&skel->rodata->dns_settings, extra);
	return 0;
}

/* The user-space counters go to their own slots of tp_counters (CPU 0's value), where
 * status reads them with the kernel's. Written only when they changed. */
static void publish_counters(struct dns_obs *d)
{
	uint64_t vals[DNSD_USER_COUNTERS];
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint64_t *buf;

	dnsd_counters(d->dec, vals);
	if (!memcmp(vals, d->published, sizeof(vals)) || ncpu <= 0)
		return;
	fd = bpf_map__fd(skel_of(d->o)->maps.tp_counters);
	buf = calloc(ncpu, sizeof(*buf));
	if (!buf)
		return;
	for (uint32_t i = 0; i < DNSD_USER_COUNTERS; i++) {
		uint32_t slot = DNS_CNT_USER_FIRST + i;

		buf[0] = vals[i];
		if (vals[i] != d->published[i] && bpf_map_update_elem(fd, &slot, buf, BPF_ANY) == 0)
			d->published[i] = vals[i];
	}
	free(buf);
}

static void on_tick(uv_timer_t *t)
{
	struct dns_obs *d = t->data;

	dnsd_expire(d->dec, sensor_mono_ns());
	publish_counters(d);
}

static int attach_one(struct bpf_program *prog, int cgroup_fd, struct bpf_link **link)
{
	*link = bpf_program__attach_cgroup(prog, cgroup_fd);
	return *link ? 0 : -errno;
}

/* After load: the programs go on the cgroup root (the skeleton cannot attach cgroup
 * programs itself; links it finds set are its to destroy), then the decoder and the
 * timeout timer. */
static int dns_loaded(struct observer *o)
{
	struct dns_obs *d = o->priv;
	struct dns_bpf *skel = skel_of(o);
	uint64_t period_ms = d->timeout_ns / 4000000ULL;
	int err;

	err = attach_one(skel->progs.dns_egress, d->cgroup_fd, &skel->links.dns_egress);
	if (!err)
		err = attach_one(skel->progs.dns_ingress, d->cgroup_fd, &skel->links.dns_ingress);
	close(d->cgroup_fd);
	d->cgroup_fd = -1;
	if (err)
		return err;
	d->dec = dnsd_new(o, DNS_INFLIGHT_ENTRIES, d->timeout_ns);
	if (!d->dec)
		return -errno;
	if (period_ms > EXPIRE_PERIOD_MAX_MS)
		period_ms = EXPIRE_PERIOD_MAX_MS;
	uv_timer_init(&o->sensor->loop, &d->timer);
	d->timer.data = d;
	d->timer_on = 1;
	uv_timer_start(&d->timer, on_tick, period_ms ? period_ms : 1, period_ms ? period_ms : 1);
	return 0;
}

static int dns_decode(struct observer *o, const void *data, size_t len)
{
	struct dns_obs *d = o->priv;
	struct dns_record r;

	/* A perf buffer sample is only 4-byte aligned: look at a copy. */
	if (o->sensor->cfg->self_test && len >= DNS_RECORD_FIXED) {
		memcpy(&r, data, len < sizeof(r) ? len : sizeof(r));
		dns_selftest_record(d, &r, len);
	}
	return dnsd_record(d->dec, data, len);
}

/* d holds its handles: it is freed when the last of them has closed. */
static void on_closed(uv_handle_t *h)
{
	struct dns_obs *d = h->data;

	if (--d->closing == 0)
		free(d);
}

void dns_obs_close(struct dns_obs *d, uv_handle_t *h)
{
	d->closing++;
	h->data = d;
	uv_close(h, on_closed);
}

static void dns_destroy(struct observer *o)
{
	struct dns_obs *d = o->priv;

	dns_bpf__destroy(skel_of(o));
	o->priv = NULL;
	if (!d)
		return;
	dns_selftest_stop(d);
	dnsd_free(d->dec);
	if (d->cgroup_fd >= 0)
		close(d->cgroup_fd);
	if (d->timer_on)
		dns_obs_close(d, (uv_handle_t *)&d->timer);
	if (!d->closing)
		free(d);
}

const struct observer_ops dns_observer = {
	.name = "dns",
	.description = "DNS lookups of every process, any netns, UDP and TCP (cgroup_skb); 1:N "
		       "sampling above --dns-sample-threshold",
	.proto_id = PB_OBSERVER(DNS),
	.default_rate = 1000, /* the seed's DNS limit */
	.default_sample = 10,
	.default_ringbuf = TP_RINGBUF_MEDIUM,
	.counter_names =
		(const char *const[]){"unmatched_responses", "socket_storage_failed", "tcp_desync",
				      "too_short", "malformed", "pairs_evicted", "timeouts",
				      "unpaired_responses", NULL},
	.open = dns_open,
	.loaded = dns_loaded,
	.decode = dns_decode,
	.destroy = dns_destroy,
	.self_test_start = dns_selftest_start,
	.self_test_event = dns_selftest_event,
};
