/* filter.c - see filter.h. Names are looked up in the proto's own enum descriptors
 * (OBSERVER_PROCESS -> "process", EVENT_TYPE_PROCESS_EXEC -> "process_exec"), so a new
 * observer or event type is filterable as soon as it is in the proto. */
#include "hub/filter.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENUM 256

struct cfilter {
	int has_observers, has_types, has_pids;
	uint64_t observers[MAX_ENUM / 64];
	uint64_t types[MAX_ENUM / 64];
	uint32_t *pids;
	size_t n_pids;
};

struct filter_set {
	struct cfilter *allow, *deny;
	size_t n_allow, n_deny;
};

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

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int compile_one(struct cfilter *cf, const pb_filter *f, const char *list, size_t idx,
		       char *err, size_t len)
{
	for (size_t i = 0; i < f->n_observers; i++) {
		int v = filter_observer_by_name(f->observers[i]);

		if (v < 0)
			return fail(err, len, "%s[%zu].observers[%zu]: unknown observer \"%s\"",
				    list, idx, i, f->observers[i]);
		set_bit(cf->observers, v);
		cf->has_observers = 1;
	}
	for (size_t i = 0; i < f->n_event_types; i++) {
		int v = filter_type_by_name(f->event_types[i]);

		if (v < 0)
			return fail(err, len, "%s[%zu].event_types[%zu]: unknown event type \"%s\"",
				    list, idx, i, f->event_types[i]);
		set_bit(cf->types, v);
		cf->has_types = 1;
	}
	if (f->n_pids) {
		cf->pids = malloc(f->n_pids * sizeof(*cf->pids));
		if (!cf->pids)
			return fail(err, len, "out of memory");
		memcpy(cf->pids, f->pids, f->n_pids * sizeof(*cf->pids));
		cf->n_pids = f->n_pids;
		cf->has_pids = 1;
	}
	return 0;
}

static struct cfilter *compile_list(pb_filter *const *fs, size_t n, const char *list, char *err,
				    size_t len, int *failed)
{
	struct cfilter *out;

	*failed = 0;
	if (n == 0)
		return NULL;
	out = calloc(n, sizeof(*out));
	if (!out) {
		*failed = fail(err, len, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (compile_one(&out[i], fs[i], list, i, err, len) < 0) {
			*failed = 1;
			for (size_t j = 0; j <= i; j++)
				free(out[j].pids);
			free(out);
			return NULL;
		}
	}
	return out;
}

struct filter_set *filter_compile(pb_filter *const *allow, size_t n_allow, pb_filter *const *deny,
				  size_t n_deny, char *err, size_t errlen)
{
	struct filter_set *fs = calloc(1, sizeof(*fs));
	int failed;

	if (!fs) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	fs->allow = compile_list(allow, n_allow, "allow", err, errlen, &failed);
	fs->n_allow = n_allow;
	if (!failed) {
		fs->deny = compile_list(deny, n_deny, "deny", err, errlen, &failed);
		fs->n_deny = n_deny;
	}
	if (failed) {
		fs->n_deny = fs->deny ? fs->n_deny : 0;
		filter_free(fs);
		return NULL;
	}
	return fs;
}

static int match_pid(const struct cfilter *cf, uint32_t pid)
{
	for (size_t i = 0; i < cf->n_pids; i++)
		if (cf->pids[i] == pid)
			return 1;
	return 0;
}

static int match_one(const struct cfilter *cf, const pb_event *ev)
{
	if (cf->has_observers && !has_bit(cf->observers, ev->observer))
		return 0;
	if (cf->has_types && !has_bit(cf->types, ev->type))
		return 0;
	if (cf->has_pids && !(ev->process && match_pid(cf, ev->process->pid)))
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

static void free_list(struct cfilter *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		free(list[i].pids);
	free(list);
}

void filter_free(struct filter_set *fs)
{
	if (!fs)
		return;
	free_list(fs->allow, fs->n_allow);
	free_list(fs->deny, fs->n_deny);
	free(fs);
}
