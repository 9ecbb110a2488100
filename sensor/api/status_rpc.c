/* status_rpc.c - tapio.sensor.v1.Sensor/GetStatus: what runs, what the kernel allowed,
 * and every counter of events and losses. Built on the stack from live state. */
#include <stdlib.h>
#include <string.h>

#include "api/services.h"
#include "core/pb.h"
#include "core/sensor.h"
#include "enrich/enrich.h"
#include "hub/hub.h"

typedef Tapio__Sensor__V1__KernelFeature pb_feature;
typedef Tapio__Sensor__V1__ObserverStatus pb_observer_status;
typedef Tapio__Sensor__V1__SkippedAttachment pb_skipped;
typedef Tapio__Sensor__V1__ProcessCacheStatus pb_cache_status;
typedef Tapio__Sensor__V1__ObserverCounter pb_counter;
typedef Tapio__Sensor__V1__SubscriberStatus pb_sub_status;
typedef Tapio__Sensor__V1__LossCount pb_loss_count;
typedef Tapio__Sensor__V1__ResumeRingStatus pb_ring_status;

/* One stream's figures; losses only for sources that lost something. */
struct stream_buf {
	pb_sub_status m;
	pb_loss_count lost[HUB_LOSS_SOURCES];
	pb_loss_count *lost_ptrs[HUB_LOSS_SOURCES];
};

struct status_buf {
	pb_status st;
	pb_timestamp started;
	pb_feature features[FEAT_MAX];
	pb_feature *feature_ptrs[FEAT_MAX];
	pb_observer_status obs[CONFIG_MAX_OBSERVERS];
	pb_observer_status *obs_ptrs[CONFIG_MAX_OBSERVERS];
	char *attached[CONFIG_MAX_OBSERVERS][OBSERVER_MAX_LINKS];
	pb_skipped skipped[CONFIG_MAX_OBSERVERS][OBSERVER_MAX_LINKS];
	pb_skipped *skipped_ptrs[CONFIG_MAX_OBSERVERS][OBSERVER_MAX_LINKS];
	pb_counter counters[CONFIG_MAX_OBSERVERS][TP_CNT_MAX];
	pb_counter *counter_ptrs[CONFIG_MAX_OBSERVERS][TP_CNT_MAX];
	pb_cache_status cache;
	pb_ring_status ring;
	struct stream_buf *streams;
	pb_sub_status **stream_ptrs;
};

static const char *state_name(enum observer_state s)
{
	switch (s) {
	case OBSERVER_RUNNING:
		return "running";
	case OBSERVER_FAILED:
		return "failed";
	default:
		return "disabled";
	}
}

static void fill_features(struct status_buf *b, const struct features *f)
{
	for (int i = 0; i < FEAT_MAX; i++) {
		tapio__sensor__v1__kernel_feature__init(&b->features[i]);
		b->features[i].name = (char *)f->f[i].name;
		b->features[i].available = f->f[i].available;
		b->features[i].detail = (char *)f->f[i].detail;
		b->feature_ptrs[i] = &b->features[i];
	}
	b->st.features = b->feature_ptrs;
	b->st.n_features = FEAT_MAX;
}

/* The observer's own slots, from TP_CNT_OBSERVER on, by the names it gives them. */
static void fill_counters(struct status_buf *b, int i, const struct observer *o,
			  const struct observer_stats *stats)
{
	const char *const *names = o->ops->counter_names;
	pb_observer_status *m = &b->obs[i];
	size_t n = 0;

	for (; names && names[n] && TP_CNT_OBSERVER + n < TP_CNT_MAX; n++) {
		tapio__sensor__v1__observer_counter__init(&b->counters[i][n]);
		b->counters[i][n].name = (char *)names[n];
		b->counters[i][n].value = stats->counters[TP_CNT_OBSERVER + n];
		b->counter_ptrs[i][n] = &b->counters[i][n];
	}
	m->counters = b->counter_ptrs[i];
	m->n_counters = n;
}

static void fill_observer(struct status_buf *b, int i, struct observer *o)
{
	pb_observer_status *m = &b->obs[i];
	struct observer_stats stats;

	tapio__sensor__v1__observer_status__init(m);
	m->name = (char *)o->ops->name;
	m->state = (char *)state_name(o->state);
	m->error = o->error;
	for (int k = 0; k < o->n_attached; k++)
		b->attached[i][k] = o->attached[k];
	m->attached = b->attached[i];
	m->n_attached = o->n_attached;
	for (int k = 0; k < o->n_skipped; k++) {
		tapio__sensor__v1__skipped_attachment__init(&b->skipped[i][k]);
		b->skipped[i][k].program = o->skipped[k].program;
		b->skipped[i][k].reason = o->skipped[k].reason;
		b->skipped_ptrs[i][k] = &b->skipped[i][k];
	}
	m->skipped = b->skipped_ptrs[i];
	m->n_skipped = o->n_skipped;
	m->rate_limit_per_sec = o->rate;
	m->sample_every = o->sample ? o->sample : 1;
	m->ringbuf_bytes = o->use_perfbuf ? 0 : o->ringbuf_bytes;
	observer_read_stats(o, &stats);
	m->emitted = stats.counters[TP_CNT_EMITTED];
	m->decoded = stats.decoded;
	m->decode_errors = stats.decode_errors;
	m->ringbuf_full = stats.counters[TP_CNT_RINGBUF_FULL];
	m->rate_limited = stats.counters[TP_CNT_RATE_LIMITED];
	m->sampled_out = stats.counters[TP_CNT_SAMPLED_OUT];
	fill_counters(b, i, o, &stats);
	b->obs_ptrs[i] = m;
}

static void fill_cache(struct status_buf *b, struct enrich *e)
{
	struct pcache_stats cs;

	pcache_get_stats(enrich_cache(e), &cs);
	tapio__sensor__v1__process_cache_status__init(&b->cache);
	b->cache.size = cs.size;
	b->cache.capacity = cs.capacity;
	b->cache.hits = cs.hits;
	b->cache.misses = cs.misses;
	b->cache.evictions = cs.evictions;
	b->st.process_cache = &b->cache;
}

static void fill_stream(struct stream_buf *b, const struct subscriber *sub)
{
	struct subscriber_stats st;

	subscriber_get_stats(sub, &st);
	tapio__sensor__v1__subscriber_status__init(&b->m);
	b->m.peer = (char *)events_stream_peer(subscriber_ctx(sub));
	b->m.request = (char *)events_stream_request(subscriber_ctx(sub));
	b->m.queue_depth = st.queued;
	b->m.queue_capacity = st.capacity;
	b->m.delivered = st.delivered;
	b->m.dropped = st.dropped;
	b->m.notices = st.notices;
	b->m.lost = b->lost_ptrs;
	for (int i = 0; i < HUB_LOSS_SOURCES; i++) {
		if (!st.lost[i])
			continue;
		tapio__sensor__v1__loss_count__init(&b->lost[b->m.n_lost]);
		b->lost[b->m.n_lost].source = i;
		b->lost[b->m.n_lost].count = st.lost[i];
		b->lost_ptrs[b->m.n_lost] = &b->lost[b->m.n_lost];
		b->m.n_lost++;
	}
}

static int fill_streams(struct status_buf *b, struct hub *h)
{
	uint32_t n = hub_subscriber_count(h), i = 0;
	struct hub_ring_stats rs;

	b->streams = calloc(n ? n : 1, sizeof(*b->streams));
	b->stream_ptrs = calloc(n ? n : 1, sizeof(*b->stream_ptrs));
	if (!b->streams || !b->stream_ptrs)
		return -1;
	for (struct subscriber *s = hub_next_subscriber(h, NULL); s && i < n;
	     s = hub_next_subscriber(h, s), i++) {
		fill_stream(&b->streams[i], s);
		b->stream_ptrs[i] = &b->streams[i].m;
	}
	b->st.streams = b->stream_ptrs;
	b->st.n_streams = i;
	hub_get_ring_stats(h, &rs);
	tapio__sensor__v1__resume_ring_status__init(&b->ring);
	b->ring.capacity = rs.capacity;
	b->ring.size = rs.size;
	b->ring.oldest_seq = rs.oldest_seq;
	b->ring.newest_seq = rs.newest_seq;
	b->st.resume_ring = &b->ring;
	return 0;
}

static void on_request(struct rpc *r, int ok)
{
	struct sensor *s = r->sensor;
	struct status_buf *b;

	if (!ok || r->cancelled)
		return;
	if (r->recv) {
		grpc_byte_buffer_destroy(r->recv); /* GetStatusRequest has no fields */
		r->recv = NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		rpc_finish(r, NULL, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	tapio__sensor__v1__get_status_response__init(&b->st);
	b->st.version = TAPIO_VERSION;
	b->st.boot_id = s->boot_id;
	b->st.node = s->cfg->node_name;
	pb_set_time(&b->started, s->started_unix_ns);
	b->st.started = &b->started;
	b->st.uptime_ns = sensor_mono_ns() - (s->started_unix_ns - (uint64_t)s->mono_to_real_ns);
	b->st.kernel_release = s->kernel_release;
	fill_features(b, &s->features);
	for (int i = 0; i < s->n_observers; i++)
		fill_observer(b, i, &s->observers[i]);
	b->st.observers = b->obs_ptrs;
	b->st.n_observers = s->n_observers;
	b->st.subscribers = hub_subscriber_count(s->hub);
	fill_cache(b, s->enrich);
	b->st.published = hub_last_seq(s->hub);
	b->st.subscriber_drops = hub_total_dropped(s->hub);
	if (fill_streams(b, s->hub) < 0)
		rpc_finish(r, NULL, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	else
		rpc_finish(r, &b->st.base, GRPC_STATUS_OK, NULL);
	free(b->streams);
	free(b->stream_ptrs);
	free(b);
}

static void start(struct rpc *r)
{
	rpc_recv_request(r, on_request);
}

const struct rpc_method status_method = {
	.path = "/tapio.sensor.v1.Sensor/GetStatus",
	.start = start,
};
