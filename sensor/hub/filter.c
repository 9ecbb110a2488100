/* filter.c - see filter.h. Names are looked up in the proto's own enum descriptors
 * (OBSERVER_PROCESS -> "process", EVENT_TYPE_PROCESS_EXEC -> "process_exec"), so a new
 * observer or event type is filterable as soon as it is in the proto. Every list is
 * copied into a compiled form (bitmaps, sorted-free small arrays, compiled regexes), so
 * matching never looks at the request again. */
#include "core/errmsg.h"
#include "hub/filter.h"
#include "observers/dns/dns_filter.h"
#include "observers/network/net_filter.h"

#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENUM 256
#define MIN_CONTAINER_PREFIX 12

typedef Tapio__Sensor__V1__StringMatch pb_strmatch;

enum smatch_kind { SM_EXACT, SM_PREFIX, SM_REGEX };

struct smatch {
	enum smatch_kind kind;
	char *text; /* exact or prefix */
	size_t len;
	regex_t re;
};

struct slist {
	struct smatch *v;
	size_t n;
};

struct u32list {
	uint32_t *v;
	size_t n;
};

struct cfilter {
	int has_observers, has_types;
	uint64_t observers[MAX_ENUM / 64];
	uint64_t types[MAX_ENUM / 64];
	struct u32list pids, ppids, uids;
	uint64_t *cgroups;
	size_t n_cgroups;
	char **containers; /* full ids or prefixes */
	size_t n_containers;
	char **namespaces;
	size_t n_namespaces;
	struct slist comm, binary, pod_names;
	struct dns_filter *dns; /* EventFilter.dns (observers/dns/dns_filter.c) */
	struct net_filter *net; /* EventFilter.network (observers/network/net_filter.c) */
};

struct filter_set {
	struct cfilter *allow, *deny;
	size_t n_allow, n_deny;
};

/* Which observer each event type belongs to: the numbering plan of sensor.proto. */
static const struct {
	int observer, lo, hi;
} type_ranges[] = {
	{TAPIO__SENSOR__V1__OBSERVER__OBSERVER_PROCESS, 1, 14},
	{TAPIO__SENSOR__V1__OBSERVER__OBSERVER_SENSOR, 15, 15},
	{2 /* dns */, 32, 47},
	{3 /* network */, 48, 79},
	{4 /* memory */, 80, 95},
};

int filter_type_observer(int type)
{
	for (size_t i = 0; i < sizeof(type_ranges) / sizeof(type_ranges[0]); i++)
		if (type >= type_ranges[i].lo && type <= type_ranges[i].hi)
			return type_ranges[i].observer;
	return -1;
}

static int by_name(const ProtobufCEnumDescriptor *d, const char *prefix, const char *name)
{
	char full[128];
	size_t plen = strlen(prefix), n = strlen(name);
	const ProtobufCEnumValue *v;

	if (n == 0 || plen + n >= sizeof(full))
		return -1;
	memcpy(full, prefix, plen);
	for (size_t i = 0; i <= n; i++)
		full[plen + i] = (char)toupper((unsigned char)name[i]);
	v = protobuf_c_enum_descriptor_get_value_by_name(d, full);
	if (!v || v->value <= 0 || v->value >= MAX_ENUM)
		return -1;
	return v->value;
}

int filter_observer_by_name(const char *name)
{
	return by_name(&tapio__sensor__v1__observer__descriptor, "OBSERVER_", name);
}

int filter_type_by_name(const char *name)
{
	return by_name(&tapio__sensor__v1__event_type__descriptor, "EVENT_TYPE_", name);
}

const char *filter_type_name(int type)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&tapio__sensor__v1__event_type__descriptor, type);

	return v ? v->name + strlen("EVENT_TYPE_") : "unknown";
}

static void set_bit(uint64_t *bits, int v)
{
	bits[v / 64] |= 1ULL << (v % 64);
}

static int has_bit(const uint64_t *bits, int v)
{
	return v >= 0 && v < MAX_ENUM && (bits[v / 64] >> (v % 64)) & 1;
}

/* ---- compiling ---------------------------------------------------------------------- */

struct where {
	const char *list; /* "allow" or "deny" */
	size_t idx;
	char *err;
	size_t len;
};

static int fail_at(const struct where *w, const char *field, size_t i, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail_at(const struct where *w, const char *field, size_t i, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return errmsg(w->err, w->len, "%s[%zu].%s[%zu]: %s", w->list, w->idx, field, i, msg);
}

static int compile_smatch(struct smatch *m, const pb_strmatch *pm, const struct where *w,
			  const char *field, size_t i)
{
	char msg[128];
	int rc;

	switch (pm->match_case) {
	case TAPIO__SENSOR__V1__STRING_MATCH__MATCH_EXACT:
	case TAPIO__SENSOR__V1__STRING_MATCH__MATCH_PREFIX:
		m->kind = pm->match_case == TAPIO__SENSOR__V1__STRING_MATCH__MATCH_EXACT
				  ? SM_EXACT
				  : SM_PREFIX;
		if (m->kind == SM_PREFIX && !pm->prefix[0])
			return fail_at(w, field, i,
				       "empty prefix matches everything; leave it out");
		m->text = strdup(pm->exact);
		m->len = strlen(pm->exact);
		return m->text ? 0 : fail_at(w, field, i, "out of memory");
	case TAPIO__SENSOR__V1__STRING_MATCH__MATCH_REGEX:
		rc = regcomp(&m->re, pm->regex, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			regerror(rc, &m->re, msg, sizeof(msg));
			regfree(&m->re);
			return fail_at(w, field, i, "bad regex \"%s\": %s", pm->regex, msg);
		}
		m->kind = SM_REGEX;
		return 0;
	default:
		return fail_at(w, field, i, "set one of exact, prefix or regex");
	}
}

static void free_slist(struct slist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].kind == SM_REGEX)
			regfree(&l->v[i].re);
		else
			free(l->v[i].text);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int compile_slist(struct slist *l, pb_strmatch *const *pm, size_t n, const struct where *w,
			 const char *field)
{
	if (!n)
		return 0;
	l->v = calloc(n, sizeof(*l->v));
	if (!l->v)
		return errmsg(w->err, w->len, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (compile_smatch(&l->v[i], pm[i], w, field, i) < 0)
			return -1;
		l->n++;
	}
	return 0;
}

static int copy_u32(struct u32list *l, const uint32_t *v, size_t n, const struct where *w)
{
	if (!n)
		return 0;
	l->v = malloc(n * sizeof(*v));
	if (!l->v)
		return errmsg(w->err, w->len, "out of memory");
	memcpy(l->v, v, n * sizeof(*v));
	l->n = n;
	return 0;
}

static int copy_strings(char ***dst, size_t *dn, char *const *src, size_t n, const struct where *w,
			const char *field)
{
	if (!n)
		return 0;
	*dst = calloc(n, sizeof(**dst));
	if (!*dst)
		return errmsg(w->err, w->len, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (!src[i][0])
			return fail_at(w, field, i, "empty value");
		(*dst)[i] = strdup(src[i]);
		if (!(*dst)[i])
			return errmsg(w->err, w->len, "out of memory");
		(*dn)++;
	}
	return 0;
}

static int check_container_ids(char *const *ids, size_t n, const struct where *w)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(ids[i]);

		if (len < MIN_CONTAINER_PREFIX || len > 64 ||
		    strspn(ids[i], "0123456789abcdef") != len)
			return fail_at(w, "container_ids", i,
				       "\"%s\" is not a container id (12 to 64 lower-case hex)",
				       ids[i]);
	}
	return 0;
}

static int compile_names(struct cfilter *cf, const pb_filter *f, const struct where *w)
{
	for (size_t i = 0; i < f->n_observers; i++) {
		int v = filter_observer_by_name(f->observers[i]);

		if (v < 0)
			return fail_at(w, "observers", i, "unknown observer \"%s\"",
				       f->observers[i]);
		set_bit(cf->observers, v);
		cf->has_observers = 1;
	}
	for (size_t i = 0; i < f->n_event_types; i++) {
		int v = filter_type_by_name(f->event_types[i]);

		if (v < 0)
			return fail_at(w, "event_types", i, "unknown event type \"%s\"",
				       f->event_types[i]);
		/* A type of an observer the same filter leaves out can never match. */
		if (cf->has_observers && !has_bit(cf->observers, filter_type_observer(v)))
			return fail_at(w, "event_types", i,
				       "\"%s\" contradicts observers: its observer is not listed",
				       f->event_types[i]);
		set_bit(cf->types, v);
		cf->has_types = 1;
	}
	return 0;
}

/* A filter with an observer's own fields (dns, network) that lists observers or event
 * types leaving that observer out can never match. */
static int check_observer_fields(const struct cfilter *cf, const struct where *w, const char *field,
				 int observer)
{
	int has_type = 0;

	for (int t = 0; t < MAX_ENUM; t++)
		has_type |= has_bit(cf->types, t) && filter_type_observer(t) == observer;
	if (cf->has_observers && !has_bit(cf->observers, observer))
		return errmsg(w->err, w->len,
			      "%s[%zu].%s: contradicts observers: \"%s\" is not listed", w->list,
			      w->idx, field, field);
	if (cf->has_types && !has_type)
		return errmsg(w->err, w->len,
			      "%s[%zu].%s: contradicts event_types: no %s type is listed", w->list,
			      w->idx, field, field);
	return 0;
}

static int compile_dns(struct cfilter *cf, const pb_filter *f, const struct where *w)
{
	char where[64];

	if (check_observer_fields(cf, w, "dns", PB_OBSERVER(DNS)) < 0)
		return -1;
	snprintf(where, sizeof(where), "%s[%zu].dns", w->list, w->idx);
	cf->dns = dns_filter_compile(f->dns, where, w->err, w->len);
	return cf->dns ? 0 : -1;
}

static int compile_network(struct cfilter *cf, const pb_filter *f, const struct where *w)
{
	char where[64];

	if (check_observer_fields(cf, w, "network", PB_OBSERVER(NETWORK)) < 0)
		return -1;
	snprintf(where, sizeof(where), "%s[%zu].network", w->list, w->idx);
	cf->net = net_filter_compile(f->network, where, w->err, w->len);
	return cf->net ? 0 : -1;
}

static int compile_one(struct cfilter *cf, const pb_filter *f, const struct where *w)
{
	if (compile_names(cf, f, w) < 0 || copy_u32(&cf->pids, f->pids, f->n_pids, w) < 0 ||
	    copy_u32(&cf->ppids, f->parent_pids, f->n_parent_pids, w) < 0 ||
	    copy_u32(&cf->uids, f->uids, f->n_uids, w) < 0 ||
	    check_container_ids(f->container_ids, f->n_container_ids, w) < 0 ||
	    copy_strings(&cf->containers, &cf->n_containers, f->container_ids, f->n_container_ids,
			 w, "container_ids") < 0 ||
	    copy_strings(&cf->namespaces, &cf->n_namespaces, f->pod_namespaces, f->n_pod_namespaces,
			 w, "pod_namespaces") < 0 ||
	    compile_slist(&cf->comm, f->comm, f->n_comm, w, "comm") < 0 ||
	    compile_slist(&cf->binary, f->binary, f->n_binary, w, "binary") < 0 ||
	    compile_slist(&cf->pod_names, f->pod_names, f->n_pod_names, w, "pod_names") < 0 ||
	    (f->dns && compile_dns(cf, f, w) < 0) || (f->network && compile_network(cf, f, w) < 0))
		return -1;
	if (f->n_cgroup_ids) {
		cf->cgroups = malloc(f->n_cgroup_ids * sizeof(*cf->cgroups));
		if (!cf->cgroups)
			return errmsg(w->err, w->len, "out of memory");
		memcpy(cf->cgroups, f->cgroup_ids, f->n_cgroup_ids * sizeof(*cf->cgroups));
		cf->n_cgroups = f->n_cgroup_ids;
	}
	return 0;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_one(struct cfilter *cf)
{
	free(cf->pids.v);
	free(cf->ppids.v);
	free(cf->uids.v);
	free(cf->cgroups);
	free_strings(cf->containers, cf->n_containers);
	free_strings(cf->namespaces, cf->n_namespaces);
	free_slist(&cf->comm);
	free_slist(&cf->binary);
	free_slist(&cf->pod_names);
	dns_filter_free(cf->dns);
	net_filter_free(cf->net);
}

static void free_list(struct cfilter *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		free_one(&list[i]);
	free(list);
}

static int compile_list(struct cfilter **out, pb_filter *const *fs, size_t n, const char *list,
			char *err, size_t len)
{
	struct where w = {.list = list, .err = err, .len = len};

	*out = NULL;
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return errmsg(err, len, "out of memory");
	for (w.idx = 0; w.idx < n; w.idx++)
		if (compile_one(&(*out)[w.idx], fs[w.idx], &w) < 0)
			return -1;
	return 0;
}

struct filter_set *filter_compile(pb_filter *const *allow, size_t n_allow, pb_filter *const *deny,
				  size_t n_deny, char *err, size_t errlen)
{
	struct filter_set *fs = calloc(1, sizeof(*fs));

	if (!fs) {
		errmsg(err, errlen, "out of memory");
		return NULL;
	}
	fs->n_allow = n_allow;
	fs->n_deny = n_deny;
	if (compile_list(&fs->allow, allow, n_allow, "allow", err, errlen) < 0 ||
	    compile_list(&fs->deny, deny, n_deny, "deny", err, errlen) < 0) {
		filter_free(fs);
		return NULL;
	}
	return fs;
}

void filter_free(struct filter_set *fs)
{
	if (!fs)
		return;
	free_list(fs->allow, fs->n_allow);
	free_list(fs->deny, fs->n_deny);
	free(fs);
}

/* ---- matching ----------------------------------------------------------------------- */

static int in_u32(const struct u32list *l, uint32_t v)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == v)
			return 1;
	return 0;
}

static int smatch_one(const struct smatch *m, const char *s)
{
	switch (m->kind) {
	case SM_EXACT:
		return !strcmp(s, m->text);
	case SM_PREFIX:
		return !strncmp(s, m->text, m->len);
	default:
		return regexec(&m->re, s, 0, NULL, 0) == 0;
	}
}

/* A set list matches when any entry does; a value the event lacks matches nothing. */
static int slist_match(const struct slist *l, const char *s)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (smatch_one(&l->v[i], s))
			return 1;
	return 0;
}

static int container_match(const struct cfilter *cf, const pb_event *ev)
{
	const char *id = ev->container ? ev->container->id : NULL;

	if (!id || !id[0])
		return 0;
	for (size_t i = 0; i < cf->n_containers; i++)
		if (!strncmp(id, cf->containers[i], strlen(cf->containers[i])))
			return 1;
	return 0;
}

static int namespace_match(const struct cfilter *cf, const pb_event *ev)
{
	const char *ns = ev->pod ? ev->pod->namespace_ : NULL;

	if (!ns || !ns[0])
		return 0;
	for (size_t i = 0; i < cf->n_namespaces; i++)
		if (!strcmp(ns, cf->namespaces[i]))
			return 1;
	return 0;
}

static int cgroup_match(const struct cfilter *cf, uint64_t id)
{
	for (size_t i = 0; i < cf->n_cgroups; i++)
		if (cf->cgroups[i] == id)
			return 1;
	return 0;
}

static int process_match(const struct cfilter *cf, const pb_process *p)
{
	if (cf->pids.n && !(p && in_u32(&cf->pids, p->pid)))
		return 0;
	if (cf->ppids.n && !(p && in_u32(&cf->ppids, p->ppid)))
		return 0;
	if (cf->uids.n && !(p && in_u32(&cf->uids, p->uid)))
		return 0;
	if (cf->n_cgroups && !(p && cgroup_match(cf, p->cgroup_id)))
		return 0;
	if (cf->comm.n && !(p && slist_match(&cf->comm, p->comm)))
		return 0;
	if (cf->binary.n && !(p && slist_match(&cf->binary, p->binary)))
		return 0;
	return 1;
}

static int match_one(const struct cfilter *cf, const pb_event *ev)
{
	if (cf->has_observers && !has_bit(cf->observers, ev->observer))
		return 0;
	if (cf->has_types && !has_bit(cf->types, ev->type))
		return 0;
	if (!process_match(cf, ev->process))
		return 0;
	if (cf->n_containers && !container_match(cf, ev))
		return 0;
	if (cf->n_namespaces && !namespace_match(cf, ev))
		return 0;
	if (cf->pod_names.n && !slist_match(&cf->pod_names, ev->pod ? ev->pod->name : NULL))
		return 0;
	if (cf->net && !net_filter_match(cf->net, ev))
		return 0;
	if (cf->dns && !dns_filter_match(cf->dns, ev))
		return 0;
	return 1;
}

static int match_any(const struct cfilter *list, size_t n, const pb_event *ev)
{
	for (size_t i = 0; i < n; i++)
		if (match_one(&list[i], ev))
			return 1;
	return 0;
}

int filter_match(const struct filter_set *fs, const pb_event *ev)
{
	if (!fs)
		return 1;
	if (fs->n_allow && !match_any(fs->allow, fs->n_allow, ev))
		return 0;
	return !match_any(fs->deny, fs->n_deny, ev);
}

int filter_may_match_observer(const struct filter_set *fs, int observer)
{
	if (!fs || !fs->n_allow)
		return 1;
	for (size_t i = 0; i < fs->n_allow; i++)
		if (!fs->allow[i].has_observers || has_bit(fs->allow[i].observers, observer))
			return 1;
	return 0;
}
