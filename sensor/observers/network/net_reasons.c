/* net_reasons.c - see net_reasons.h. Reads enum skb_drop_reason with libbpf's BTF API. */
#include "observers/network/net_reasons.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

static const char *strip(const char *name)
{
	static const char *const prefixes[] = {"SKB_DROP_REASON_", "SKB_"};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return name + strlen(prefixes[i]);
	return name;
}

static int fill(struct net_reasons *r, const struct btf *btf, const struct btf_type *t)
{
	const struct btf_enum *e = btf_enum(t);
	uint32_t n = btf_vlen(t);

	r->v = calloc(n ? n : 1, sizeof(*r->v));
	if (!r->v)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		r->v[i].value = (uint32_t)e[i].val;
		r->v[i].name = strdup(strip(btf__name_by_offset(btf, e[i].name_off)));
		if (!r->v[i].name) {
			r->n = i;
			net_reasons_free(r);
			return -ENOMEM;
		}
	}
	r->n = n;
	return (int)n;
}

int net_reasons_load(struct net_reasons *r, const char *btf_path)
{
	struct btf *btf;
	int id, rc;

	memset(r, 0, sizeof(*r));
	btf = btf_path && btf_path[0] ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	rc = id < 0 ? 0 : fill(r, btf, btf__type_by_id(btf, id));
	btf__free(btf);
	return rc;
}

const char *net_reasons_name(const struct net_reasons *r, uint32_t value)
{
	for (uint32_t i = 0; i < r->n; i++)
		if (r->v[i].value == value)
			return r->v[i].name;
	return NULL;
}

void net_reasons_free(struct net_reasons *r)
{
	for (uint32_t i = 0; i < r->n; i++)
		free(r->v[i].name);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}
