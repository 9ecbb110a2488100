/* projection.c - see projection.h. */
#include "core/errmsg.h"
#include "hub/projection.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A node selects one field: all of it (whole), or the listed parts of a sub-message. */
struct pnode {
	uint32_t field;
	int whole;
	struct pnode *kids;
	size_t n_kids;
};

struct projection {
	struct pnode root;
};

static void free_node(struct pnode *n)
{
	for (size_t i = 0; i < n->n_kids; i++)
		free_node(&n->kids[i]);
	free(n->kids);
}

void projection_free(struct projection *p)
{
	if (!p)
		return;
	free_node(&p->root);
	free(p);
}

static struct pnode *find_kid(const struct pnode *n, uint32_t field)
{
	for (size_t i = 0; i < n->n_kids; i++)
		if (n->kids[i].field == field)
			return &n->kids[i];
	return NULL;
}

static struct pnode *add_kid(struct pnode *n, uint32_t field)
{
	struct pnode *k = find_kid(n, field), *v;

	if (k)
		return k;
	v = realloc(n->kids, (n->n_kids + 1) * sizeof(*v));
	if (!v)
		return NULL;
	n->kids = v;
	k = &n->kids[n->n_kids++];
	memset(k, 0, sizeof(*k));
	k->field = field;
	return k;
}

/* Marks node as wanted whole: drops any narrower selection made before. */
static void want_whole(struct pnode *n)
{
	free_node(n);
	n->kids = NULL;
	n->n_kids = 0;
	n->whole = 1;
}

/* Adds one dotted path under root. */
static int add_path(struct pnode *root, const ProtobufCMessageDescriptor *d, const char *path,
		    size_t idx, char *err, size_t len)
{
	char buf[256], *save = NULL, *part;
	struct pnode *n = root;

	if (!path[0] || strlen(path) >= sizeof(buf))
		return errmsg(err, len, "field_mask.paths[%zu]: empty or too long", idx);
	strcpy(buf, path);
	for (part = strtok_r(buf, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
		const ProtobufCFieldDescriptor *f;

		if (!d)
			return errmsg(err, len,
				      "field_mask.paths[%zu]: \"%s\" goes inside a field that "
				      "is not a message",
				      idx, path);
		f = protobuf_c_message_descriptor_get_field_by_name(d, part);
		if (!f)
			return errmsg(err, len, "field_mask.paths[%zu]: no field \"%s\" in %s", idx,
				      part, d->name);
		n = add_kid(n, f->id);
		if (!n)
			return errmsg(err, len, "out of memory");
		if (n->whole) /* asked for whole already: nothing to narrow */
			return 0;
		d = f->type == PROTOBUF_C_TYPE_MESSAGE ? f->descriptor : NULL;
	}
	want_whole(n);
	return 0;
}

struct projection *projection_compile(const ProtobufCMessageDescriptor *root, char *const *paths,
				      size_t n, const uint32_t *always_keep, char *err,
				      size_t errlen)
{
	struct projection *p = calloc(1, sizeof(*p));

	if (!p) {
		errmsg(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (add_path(&p->root, root, paths[i], i, err, errlen) < 0) {
			projection_free(p);
			return NULL;
		}
	}
	for (; always_keep && *always_keep; always_keep++) {
		struct pnode *k = add_kid(&p->root, *always_keep);

		if (!k) {
			projection_free(p);
			errmsg(err, errlen, "out of memory");
			return NULL;
		}
		want_whole(k);
	}
	return p;
}

/* ---- the wire ----------------------------------------------------------------------- */

static int get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (*pos >= len)
			return -1;
		b = p[(*pos)++];
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

/* Bytes of the value of a field of wire type wt starting at *pos; advances *pos past it.
 * For length-delimited fields *body is where the content starts. */
static int skip_value(const uint8_t *p, size_t len, size_t *pos, unsigned wt, size_t *body)
{
	uint64_t v;

	switch (wt) {
	case 0:
		return get_varint(p, len, pos, &v);
	case 1:
		*pos += 8;
		return *pos <= len ? 0 : -1;
	case 2:
		if (get_varint(p, len, pos, &v) < 0 || v > len - *pos)
			return -1;
		*body = *pos;
		*pos += v;
		return 0;
	case 5:
		*pos += 4;
		return *pos <= len ? 0 : -1;
	default:
		return -1; /* groups (3, 4) are not used by proto3 */
	}
}

static ssize_t apply_node(const struct pnode *n, const uint8_t *msg, size_t len, uint8_t *out);

/* Copies one selected field: whole, or its sub-message pruned. */
static ssize_t copy_field(const struct pnode *k, const uint8_t *msg, size_t start, size_t tag_end,
			  size_t body, size_t end, unsigned wt, uint8_t *out)
{
	uint8_t *tmp;
	ssize_t sub;
	size_t o;

	if (k->whole || wt != 2) {
		memcpy(out, msg + start, end - start);
		return (ssize_t)(end - start);
	}
	tmp = malloc(end - body ? end - body : 1);
	if (!tmp)
		return -1;
	sub = apply_node(k, msg + body, end - body, tmp);
	if (sub >= 0) {
		memcpy(out, msg + start, tag_end - start);
		o = tag_end - start;
		o += put_varint(out + o, (uint64_t)sub);
		memcpy(out + o, tmp, (size_t)sub);
		sub = (ssize_t)(o + (size_t)sub);
	}
	free(tmp);
	return sub;
}

static ssize_t apply_node(const struct pnode *n, const uint8_t *msg, size_t len, uint8_t *out)
{
	size_t pos = 0, o = 0;

	while (pos < len) {
		size_t start = pos, tag_end, body = 0;
		uint64_t tag;
		const struct pnode *k;
		ssize_t w;

		if (get_varint(msg, len, &pos, &tag) < 0 || (tag >> 3) == 0)
			return -1;
		tag_end = pos;
		if (skip_value(msg, len, &pos, tag & 7, &body) < 0)
			return -1;
		k = find_kid(n, (uint32_t)(tag >> 3));
		if (!k)
			continue;
		w = copy_field(k, msg, start, tag_end, body, pos, tag & 7, out + o);
		if (w < 0)
			return -1;
		o += (size_t)w;
	}
	return (ssize_t)o;
}

ssize_t projection_apply(const struct projection *p, const uint8_t *msg, size_t len, uint8_t *out)
{
	return apply_node(&p->root, msg, len, out);
}
