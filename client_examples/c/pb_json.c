/* Proto3 JSON printer over protobuf-c descriptors; see pb_json.h for what it prints.
 *
 * protobuf-c lays a message out as a C struct and describes each field by its offset, and
 * for repeated fields, oneof members and proto2/proto3-optional scalars by a second
 * "quantifier" offset (element count, oneof case, or has_ flag). Everything below reads
 * the struct through those offsets. */
#include "pb_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_message(struct json_out *o, const ProtobufCMessageDescriptor *d,
			const ProtobufCMessage *m);
static void put_field(struct json_out *o, const ProtobufCFieldDescriptor *f,
		      const ProtobufCMessage *m);

static const void *at(const ProtobufCMessage *m, unsigned offset)
{
	return (const char *)m + offset;
}

static const void *pointer_at(const ProtobufCMessage *m, unsigned offset)
{
	return *(const void *const *)at(m, offset);
}

/* Size of one element of a repeated field's array. */
static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		/* 32-bit integers, float and enums (stored as int). */
		return 4;
	}
}

static bool is_pointer_type(ProtobufCType t)
{
	return t == PROTOBUF_C_TYPE_STRING || t == PROTOBUF_C_TYPE_MESSAGE;
}

/* Floating point compares by bits, as protobuf does: -0.0 is not the default. */
static bool is_zero(ProtobufCType t, const void *p)
{
	if (t == PROTOBUF_C_TYPE_BYTES)
		return ((const ProtobufCBinaryData *)p)->len == 0;
	if (elem_size(t) == 8)
		return *(const uint64_t *)p == 0;
	return *(const uint32_t *)p == 0;
}

/* Whether Python's ListFields() would list the field: set oneof members and proto2 or
 * proto3-optional fields that are present even at their default, plain proto3 fields only
 * when not default, submessages whenever set, repeated fields when not empty. */
static bool field_present(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m)
{
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)at(m, f->quantifier_offset) > 0;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		if (*(const uint32_t *)at(m, f->quantifier_offset) != f->id)
			return false;
		return !is_pointer_type(f->type) || pointer_at(m, f->offset) != NULL;
	}
	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	if (is_pointer_type(f->type)) {
		const void *p = pointer_at(m, f->offset);
		if (p == NULL)
			return false;
		/* An absent proto2 string points at its default rather than at NULL. */
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
			return p != f->default_value;
		return f->type == PROTOBUF_C_TYPE_MESSAGE || *(const char *)p != '\0';
	}
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
		return *(const protobuf_c_boolean *)at(m, f->quantifier_offset);
	return !is_zero(f->type, at(m, f->offset));
}

/* protoc's camel-casing (json_name, map entry names, FieldMask paths) drops each '_' and
 * upper-cases the ASCII letter after it. */
static char camel_char(char c, bool upper)
{
	return upper && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* The key of a field: its default json_name. */
static void put_key(struct json_out *o, const char *name)
{
	bool upper = false;

	json_out_char(o, '"');
	for (const char *c = name; *c; c++) {
		if (*c == '_') {
			upper = true;
			continue;
		}
		json_out_char(o, camel_char(*c, upper));
		upper = false;
	}
	json_out_raw(o, "\": ", 3);
}

static void put_quoted_i64(struct json_out *o, int64_t v)
{
	json_out_char(o, '"');
	json_out_i64(o, v);
	json_out_char(o, '"');
}

static void put_quoted_u64(struct json_out *o, uint64_t v)
{
	json_out_char(o, '"');
	json_out_u64(o, v);
	json_out_char(o, '"');
}

static void put_enum(struct json_out *o, const ProtobufCEnumDescriptor *d, int v)
{
	if (strcmp(d->name, "google.protobuf.NullValue") == 0) {
		json_out_cstr(o, "null");
		return;
	}
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	if (ev)
		json_out_string(o, ev->name, strlen(ev->name));
	else
		json_out_i64(o, v);
}

static void put_string(struct json_out *o, const char *s)
{
	json_out_string(o, s ? s : "", s ? strlen(s) : 0);
}

/* A message-typed value that may be unset (a map value, say) prints as its default
 * instance, which for well-known types is not always {}. */
static void put_message_or_default(struct json_out *o, const ProtobufCMessageDescriptor *d,
				   const ProtobufCMessage *m)
{
	if (m) {
		put_message(o, d, m);
		return;
	}
	ProtobufCMessage *tmp = malloc(d->sizeof_message);
	if (!tmp) {
		o->failed = true;
		return;
	}
	protobuf_c_message_init(d, tmp);
	put_message(o, d, tmp);
	free(tmp);
}

/* One value of field f stored at p (the field itself, or one element of its array). */
static void put_value(struct json_out *o, const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		json_out_i64(o, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		json_out_u64(o, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		put_quoted_i64(o, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		put_quoted_u64(o, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		json_out_float(o, *(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		json_out_double(o, *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		json_out_cstr(o, *(const protobuf_c_boolean *)p ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_ENUM:
		put_enum(o, f->descriptor, *(const int *)p);
		break;
	case PROTOBUF_C_TYPE_STRING:
		put_string(o, *(const char *const *)p);
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		json_out_base64(o, b->data, b->len);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		put_message_or_default(o, f->descriptor, *(const ProtobufCMessage *const *)p);
		break;
	}
}

/* protobuf-c keeps no map_entry option, so a map is recognised by what protoc generates
 * for `map<K, V> some_name = N`: a repeated message named SomeNameEntry whose only fields
 * are key = 1 and value = 2. */
static bool is_map_field(const ProtobufCFieldDescriptor *f)
{
	if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return false;
	const ProtobufCMessageDescriptor *d = f->descriptor;
	if (d->n_fields != 2 || d->fields[0].id != 1 || d->fields[1].id != 2 ||
	    strcmp(d->fields[0].name, "key") != 0 || strcmp(d->fields[1].name, "value") != 0)
		return false;
	const char *s = d->short_name;
	bool upper = true;
	for (const char *c = f->name; *c; c++) {
		if (*c == '_') {
			upper = true;
			continue;
		}
		char want = camel_char(*c, upper);
		upper = false;
		if (*s++ != want)
			return false;
	}
	return strcmp(s, "Entry") == 0;
}

static bool keys_equal(const ProtobufCFieldDescriptor *kf, const ProtobufCMessage *a,
		       const ProtobufCMessage *b)
{
	if (kf->type == PROTOBUF_C_TYPE_STRING) {
		const char *x = pointer_at(a, kf->offset);
		const char *y = pointer_at(b, kf->offset);
		return strcmp(x ? x : "", y ? y : "") == 0;
	}
	return memcmp(at(a, kf->offset), at(b, kf->offset), elem_size(kf->type)) == 0;
}

/* JSON object keys are strings whatever the key type. */
static void put_map_key(struct json_out *o, const ProtobufCFieldDescriptor *kf, const void *p)
{
	if (kf->type == PROTOBUF_C_TYPE_STRING || elem_size(kf->type) == 8) {
		put_value(o, kf, p); /* already a JSON string */
		return;
	}
	json_out_char(o, '"');
	put_value(o, kf, p);
	json_out_char(o, '"');
}

/* The wire may repeat a key; as in every protobuf runtime the last entry wins. */
static void put_map(struct json_out *o, const ProtobufCMessageDescriptor *entry,
		    const ProtobufCMessage *const *entries, size_t n)
{
	const ProtobufCFieldDescriptor *kf = &entry->fields[0];
	const ProtobufCFieldDescriptor *vf = &entry->fields[1];
	bool first = true;

	json_out_char(o, '{');
	for (size_t i = 0; i < n; i++) {
		bool superseded = false;
		for (size_t j = i + 1; j < n && !superseded; j++)
			superseded = keys_equal(kf, entries[i], entries[j]);
		if (superseded)
			continue;
		if (!first)
			json_out_raw(o, ", ", 2);
		first = false;
		put_map_key(o, kf, at(entries[i], kf->offset));
		json_out_raw(o, ": ", 2);
		put_value(o, vf, at(entries[i], vf->offset));
	}
	json_out_char(o, '}');
}

static void put_field(struct json_out *o, const ProtobufCFieldDescriptor *f,
		      const ProtobufCMessage *m)
{
	if (f->label != PROTOBUF_C_LABEL_REPEATED) {
		put_value(o, f, at(m, f->offset));
		return;
	}
	size_t n = *(const size_t *)at(m, f->quantifier_offset);
	const char *elems = pointer_at(m, f->offset);
	if (is_map_field(f)) {
		put_map(o, f->descriptor, (const ProtobufCMessage *const *)elems, n);
		return;
	}
	size_t size = elem_size(f->type);
	json_out_char(o, '[');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			json_out_raw(o, ", ", 2);
		put_value(o, f, elems + i * size);
	}
	json_out_char(o, ']');
}

/* protoc-c emits a descriptor's fields sorted by number, the order Python prints them in. */
static void put_object(struct json_out *o, const ProtobufCMessageDescriptor *d,
		       const ProtobufCMessage *m)
{
	bool first = true;

	json_out_char(o, '{');
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (!field_present(f, m))
			continue;
		if (!first)
			json_out_raw(o, ", ", 2);
		first = false;
		put_key(o, f->name);
		put_field(o, f, m);
	}
	json_out_char(o, '}');
}

/* Well-known types read their fields by number, so they work with whichever generated
 * copy of the google.protobuf messages the program links. */
static const ProtobufCFieldDescriptor *field_by_id(const ProtobufCMessage *m, unsigned id)
{
	return protobuf_c_message_descriptor_get_field(m->descriptor, id);
}

static int64_t int_field(const ProtobufCMessage *m, unsigned id)
{
	const ProtobufCFieldDescriptor *f = field_by_id(m, id);
	if (!f)
		return 0;
	if (elem_size(f->type) == 8)
		return *(const int64_t *)at(m, f->offset);
	return *(const int32_t *)at(m, f->offset);
}

/* Fractional seconds with 0, 3, 6 or 9 digits, the fewest that are exact. */
static void put_fraction(struct json_out *o, uint32_t nanos)
{
	char b[16];
	int n = 0;

	if (nanos == 0)
		return;
	if (nanos % 1000000 == 0)
		n = snprintf(b, sizeof(b), ".%03u", nanos / 1000000);
	else if (nanos % 1000 == 0)
		n = snprintf(b, sizeof(b), ".%06u", nanos / 1000);
	else
		n = snprintf(b, sizeof(b), ".%09u", nanos);
	json_out_raw(o, b, (size_t)n);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 to a proleptic Gregorian date, counting in 400-year eras that
 * start on March 1st so that the leap day is the last day of a year. */
static void civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
	int64_t z = days + 719468; /* days from 0000-03-01 */
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * 400 + (*month <= 2);
}

static void put_timestamp(struct json_out *o, const ProtobufCMessage *m)
{
	int64_t nanos = int_field(m, 2);
	int64_t secs = int_field(m, 1) + floor_div(nanos, 1000000000);
	int64_t days = floor_div(secs, 86400);
	int64_t sod = secs - days * 86400;
	int64_t year;
	unsigned month, day;
	char b[64];

	nanos -= floor_div(nanos, 1000000000) * 1000000000;
	civil_from_days(days, &year, &month, &day);
	int n = snprintf(b, sizeof(b), "\"%04lld-%02u-%02uT%02u:%02u:%02u", (long long)year, month,
			 day, (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60),
			 (unsigned)(sod % 60));
	json_out_raw(o, b, (size_t)n);
	put_fraction(o, (uint32_t)nanos);
	json_out_raw(o, "Z\"", 2);
}

static void put_duration(struct json_out *o, const ProtobufCMessage *m)
{
	int64_t secs = int_field(m, 1);
	int64_t nanos = int_field(m, 2);
	bool negative = secs < 0 || nanos < 0;
	/* Magnitudes in unsigned arithmetic: negating INT64_MIN would overflow. */
	uint64_t s = negative ? 0 - (uint64_t)secs : (uint64_t)secs;
	uint64_t ns = negative ? 0 - (uint64_t)nanos : (uint64_t)nanos;

	s += ns / 1000000000;
	ns %= 1000000000;
	json_out_char(o, '"');
	if (negative)
		json_out_char(o, '-');
	json_out_u64(o, s);
	put_fraction(o, (uint32_t)ns);
	json_out_raw(o, "s\"", 2);
}

/* FieldMask: its paths joined by commas, each in lowerCamelCase. */
static void put_field_mask(struct json_out *o, const ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *f = field_by_id(m, 1);
	size_t n = f ? *(const size_t *)at(m, f->quantifier_offset) : 0;
	const char *const *paths = f ? pointer_at(m, f->offset) : NULL;
	struct json_out joined;

	json_out_init(&joined);
	for (size_t i = 0; i < n; i++) {
		bool upper = false;
		if (i > 0)
			json_out_char(&joined, ',');
		for (const char *c = paths[i]; *c; c++) {
			if (*c == '_') {
				upper = true;
				continue;
			}
			json_out_char(&joined, camel_char(*c, upper));
			upper = false;
		}
	}
	if (joined.failed)
		o->failed = true;
	json_out_string(o, joined.len ? joined.data : "", joined.len);
	json_out_free(&joined);
}

/* Struct and ListValue are their one field (a map, a repeated Value), printed bare. */
static void put_only_field(struct json_out *o, const ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *f = field_by_id(m, 1);
	if (f)
		put_field(o, f, m);
	else
		json_out_cstr(o, "null");
}

/* Value: whichever member of its oneof is set, or null when none is. */
static void put_value_wkt(struct json_out *o, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		if (field_present(&d->fields[i], m)) {
			put_field(o, &d->fields[i], m);
			return;
		}
	}
	json_out_cstr(o, "null");
}

/* google.protobuf.*Value wrappers print as their value, default included. */
static void put_wrapper(struct json_out *o, const ProtobufCMessage *m)
{
	put_only_field(o, m);
}

struct well_known {
	const char *name; /* after "google.protobuf." */
	void (*put)(struct json_out *o, const ProtobufCMessage *m);
};

static const struct well_known well_known_types[] = {
	{"Timestamp", put_timestamp}, {"Duration", put_duration},    {"FieldMask", put_field_mask},
	{"Struct", put_only_field},   {"ListValue", put_only_field}, {"Value", put_value_wkt},
	{"DoubleValue", put_wrapper}, {"FloatValue", put_wrapper},   {"Int64Value", put_wrapper},
	{"UInt64Value", put_wrapper}, {"Int32Value", put_wrapper},   {"UInt32Value", put_wrapper},
	{"BoolValue", put_wrapper},   {"StringValue", put_wrapper},  {"BytesValue", put_wrapper},
};

static const struct well_known *find_well_known(const char *full_name)
{
	static const char prefix[] = "google.protobuf.";

	if (strncmp(full_name, prefix, sizeof(prefix) - 1) != 0)
		return NULL;
	const char *name = full_name + sizeof(prefix) - 1;
	for (size_t i = 0; i < sizeof(well_known_types) / sizeof(well_known_types[0]); i++) {
		if (strcmp(name, well_known_types[i].name) == 0)
			return &well_known_types[i];
	}
	return NULL;
}

static void put_message(struct json_out *o, const ProtobufCMessageDescriptor *d,
			const ProtobufCMessage *m)
{
	const struct well_known *wk = find_well_known(d->name);
	if (wk)
		wk->put(o, m);
	else
		put_object(o, d, m);
}

bool pb_json_message(struct json_out *o, const ProtobufCMessage *msg)
{
	put_message(o, msg->descriptor, msg);
	return !o->failed;
}
