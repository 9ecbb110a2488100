/* event.c - see event.h. */
#include "core/event.h"

#include <string.h>

#include "core/observer.h"
#include "core/sensor.h"
#include "core/utf8.h"
#include "enrich/enrich.h"
#include "hub/hub.h"

size_t event_split_args(char *buf, size_t len, char **out, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len && n < max) {
		out[n++] = buf + i;
		i += strnlen(buf + i, len - i) + 1;
	}
	return n;
}

void event_fill_process(struct event_process *p, const struct pcache_entry *e,
			int64_t mono_to_real_ns)
{
	tapio__sensor__v1__process__init(&p->pb);
	p->pb.pid = e->pid;
	p->pb.ppid = e->ppid;
	p->pb.uid = e->uid;
	p->pb.gid = e->gid;
	p->pb.comm = (char *)e->comm;
	p->pb.binary = e->binary;
	p->pb.cgroup_id = e->cgroup_id;
	if (e->args_len)
		p->pb.n_args = event_split_args(e->args, e->args_len, p->args, EVENT_MAX_ARGS);
	p->pb.args = p->args;
	if (e->start_ns) {
		pb_set_time(&p->start, e->start_ns + mono_to_real_ns);
		p->pb.start_time = &p->start;
	}
}

static void fill_container(struct event_ctx *c, const struct cgroup_info *cg)
{
	const struct oci_meta *m = &cg->meta;

	tapio__sensor__v1__container__init(&c->container);
	c->container.id = (char *)cg->ref.id;
	c->container.runtime = (char *)container_runtime_name(cg->ref.runtime);
	c->container.cgroup_path = (char *)cg->path;
	c->container.name = (char *)m->container_name;
	c->container.image = (char *)m->image;
	c->ev.container = &c->container;
	if (cg->ref.pod_uid[0] || m->pod_name[0]) {
		tapio__sensor__v1__pod__init(&c->pod);
		c->pod.uid = (char *)cg->ref.pod_uid;
		c->pod.name = (char *)m->pod_name;
		c->pod.namespace_ = (char *)m->pod_namespace;
		c->ev.pod = &c->pod;
	}
}

void event_begin(struct event_ctx *c, struct observer *o, const struct tp_event_header *h, int type)
{
	struct sensor *s = o->sensor;
	struct enrich *en = s->enrich;
	const struct cgroup_info *cg;
	struct pcache_entry *p, *pp = NULL;

	memset(c, 0, sizeof(*c));
	tapio__sensor__v1__event__init(&c->ev);
	c->observer = o;
	pb_set_time(&c->time, sensor_mono_to_unix(s, h->ts_ns));
	c->ev.time = &c->time;
	c->ev.node = s->cfg->node_name;
	c->ev.observer = o->ops->proto_id;
	c->ev.type = type;
	c->ev.tid = h->tid;

	p = enrich_process(en, h->pid, h->start_ns);
	if (p) {
		event_fill_process(&c->process, p, s->mono_to_real_ns);
		if (p->ppid)
			pp = enrich_process(en, p->ppid, 0);
	} else {
		/* Nobody knows more than the record itself. */
		tapio__sensor__v1__process__init(&c->process.pb);
		memcpy(c->comm, h->comm, TP_TASK_COMM_LEN);
		utf8_scrub(c->comm, strlen(c->comm));
		c->process.pb.pid = h->pid;
		c->process.pb.comm = c->comm;
		c->process.pb.cgroup_id = h->cgroup_id;
	}
	c->ev.process = &c->process.pb;
	if (pp) {
		event_fill_process(&c->parent, pp, s->mono_to_real_ns);
		c->ev.parent = &c->parent.pb;
	}
	cg = enrich_cgroup(en, h->cgroup_id, h->pid);
	if (cg && cg->is_container)
		fill_container(c, cg);
}

void event_publish(struct event_ctx *c)
{
	hub_publish(c->observer->sensor->hub, &c->ev);
}
