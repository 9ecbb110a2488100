/* reflection_rpc.c - gRPC server reflection, grpc.reflection.v1 and v1alpha
 * ServerReflection/ServerReflectionInfo, so grpcurl and other generic clients work
 * without .proto files.
 *
 * Owns the symbol index. The descriptor set embedded at build time (every .proto listed
 * in proto/CMakeLists.txt, with its imports) is unpacked at the first request that needs
 * it into a sorted table of fully qualified names -> file (services, methods, messages,
 * fields, enums, enum values, nested ones included), and each file is packed back into
 * the FileDescriptorProto bytes that responses carry. reflection_free_index() frees it
 * when the server stops. Everything here runs on the loop thread.
 *
 * v1alpha has the wire format of v1 (only the package name differs), so the v1 generated
 * code serves both. A stream answers its requests one at a time, in order: read, write,
 * read again, until the client half-closes (status OK). A request that cannot be
 * answered gets an error_response and the stream goes on.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/services.h"
#include "core/log.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"

/* proto/ (cmake/embed.cmake): protoc --include_imports --descriptor_set_out. */
extern const unsigned char tapio_descriptor_set[];
extern const unsigned long tapio_descriptor_set_len;

typedef Google__Protobuf__FileDescriptorSet pb_file_set;
typedef Google__Protobuf__FileDescriptorProto pb_file;
typedef Google__Protobuf__DescriptorProto pb_message;
typedef Google__Protobuf__EnumDescriptorProto pb_enum;
typedef Google__Protobuf__ServiceDescriptorProto pb_service;
typedef Grpc__Reflection__V1__ServerReflectionRequest refl_request;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_response;
typedef Grpc__Reflection__V1__ExtensionRequest refl_ext_request;
typedef Grpc__Reflection__V1__FileDescriptorResponse refl_files;
typedef Grpc__Reflection__V1__ExtensionNumberResponse refl_ext_numbers;
typedef Grpc__Reflection__V1__ListServiceResponse refl_list;
typedef Grpc__Reflection__V1__ServiceResponse refl_service;
typedef Grpc__Reflection__V1__ErrorResponse refl_error;

#define REQ(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##x
#define RESP(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##x

/* What list_services answers: the services of the methods table in server.c. */
static const char *const served_services[] = {
	"tapio.sensor.v1.Sensor",
	"grpc.health.v1.Health",
	"grpc.reflection.v1.ServerReflection",
	"grpc.reflection.v1alpha.ServerReflection",
};
#define N_SERVED (sizeof(served_services) / sizeof(served_services[0]))

/* ---- the index -------------------------------------------------------------------- */

struct symbol {
	char *name; /* fully qualified, no leading dot */
	size_t file;
	int is_message;
};

struct file {
	const char *name;
	const pb_file *fd;
	uint8_t *bytes; /* fd packed: what a file_descriptor_response carries */
	size_t len;
};

struct index {
	pb_file_set *set;
	struct file *files;
	size_t n_files;
	struct symbol *syms;
	size_t n_syms, cap_syms;
	int failed; /* out of memory while building: the index is dropped */
};

static struct index *the_index;

/* proto2 strings (descriptor.proto) are NULL when absent. */
static const char *str(const char *s)
{
	return s ? s : "";
}

static char *qualify(const char *scope, const char *name)
{
	size_t a = strlen(scope), b = strlen(name);
	char *s = malloc(a + b + 2);

	if (!s)
		return NULL;
	memcpy(s, scope, a);
	if (a)
		s[a++] = '.';
	memcpy(s + a, name, b + 1);
	return s;
}

/* Adds scope.name and returns that full name (owned by the index), NULL on failure. */
static const char *add_symbol(struct index *idx, const char *scope, const char *name, size_t file,
			      int is_message)
{
	struct symbol *s;

	if (idx->n_syms == idx->cap_syms) {
		size_t cap = idx->cap_syms ? idx->cap_syms * 2 : 256;
		struct symbol *n = realloc(idx->syms, cap * sizeof(*n));

		if (!n) {
			idx->failed = 1;
			return NULL;
		}
		idx->syms = n;
		idx->cap_syms = cap;
	}
	s = &idx->syms[idx->n_syms];
	s->name = qualify(scope, str(name));
	if (!s->name) {
		idx->failed = 1;
		return NULL;
	}
	s->file = file;
	s->is_message = is_message;
	idx->n_syms++;
	return s->name;
}

/* Enum values are scoped as siblings of their enum type, as protoc resolves them. */
static void add_enum(struct index *idx, const char *scope, const pb_enum *e, size_t file)
{
	if (!add_symbol(idx, scope, e->name, file, 0))
		return;
	for (size_t i = 0; i < e->n_value; i++)
		add_symbol(idx, scope, e->value[i]->name, file, 0);
}

static void add_message(struct index *idx, const char *scope, const pb_message *m, size_t file)
{
	const char *name = add_symbol(idx, scope, m->name, file, 1);

	if (!name)
		return;
	for (size_t i = 0; i < m->n_field; i++)
		add_symbol(idx, name, m->field[i]->name, file, 0);
	for (size_t i = 0; i < m->n_nested_type; i++)
		add_message(idx, name, m->nested_type[i], file);
	for (size_t i = 0; i < m->n_enum_type; i++)
		add_enum(idx, name, m->enum_type[i], file);
}

static void add_service(struct index *idx, const char *scope, const pb_service *s, size_t file)
{
	const char *name = add_symbol(idx, scope, s->name, file, 0);

	if (!name)
		return;
	for (size_t i = 0; i < s->n_method; i++)
		add_symbol(idx, name, s->method[i]->name, file, 0);
}

static void add_file(struct index *idx, size_t i)
{
	const pb_file *fd = idx->set->file[i];
	const char *pkg = str(fd->package);
	struct file *f = &idx->files[i];

	f->fd = fd;
	f->name = str(fd->name);
	f->len = protobuf_c_message_get_packed_size(&fd->base);
	f->bytes = malloc(f->len ? f->len : 1);
	if (!f->bytes) {
		idx->failed = 1;
		return;
	}
	protobuf_c_message_pack(&fd->base, f->bytes);
	for (size_t k = 0; k < fd->n_message_type; k++)
		add_message(idx, pkg, fd->message_type[k], i);
	for (size_t k = 0; k < fd->n_enum_type; k++)
		add_enum(idx, pkg, fd->enum_type[k], i);
	for (size_t k = 0; k < fd->n_service; k++)
		add_service(idx, pkg, fd->service[k], i);
}

static void index_free(struct index *idx)
{
	if (!idx)
		return;
	for (size_t i = 0; i < idx->n_syms; i++)
		free(idx->syms[i].name);
	free(idx->syms);
	for (size_t i = 0; i < idx->n_files; i++)
		free(idx->files[i].bytes);
	free(idx->files);
	if (idx->set)
		protobuf_c_message_free_unpacked(&idx->set->base, NULL);
	free(idx);
}

static int symbol_cmp(const void *a, const void *b)
{
	return strcmp(((const struct symbol *)a)->name, ((const struct symbol *)b)->name);
}

static struct index *index_build(void)
{
	struct index *idx = calloc(1, sizeof(*idx));

	if (!idx)
		return NULL;
	idx->set = google__protobuf__file_descriptor_set__unpack(NULL, tapio_descriptor_set_len,
								 tapio_descriptor_set);
	if (idx->set)
		idx->files = calloc(idx->set->n_file ? idx->set->n_file : 1, sizeof(*idx->files));
	if (!idx->files) {
		log_error("reflection: cannot unpack the embedded descriptor set");
		index_free(idx);
		return NULL;
	}
	idx->n_files = idx->set->n_file;
	for (size_t i = 0; i < idx->n_files && !idx->failed; i++)
		add_file(idx, i);
	if (idx->failed) {
		log_error("reflection: out of memory building the symbol index");
		index_free(idx);
		return NULL;
	}
	if (idx->n_syms)
		qsort(idx->syms, idx->n_syms, sizeof(*idx->syms), symbol_cmp);
	log_debug("reflection: %zu files, %zu symbols", idx->n_files, idx->n_syms);
	return idx;
}

static const struct index *index_get(void)
{
	if (!the_index)
		the_index = index_build();
	return the_index;
}

void reflection_free_index(void)
{
	index_free(the_index);
	the_index = NULL;
}

static const struct symbol *find_symbol(const struct index *idx, const char *name)
{
	struct symbol key = {.name = (char *)name};

	if (!idx->n_syms) /* bsearch's base must not be NULL */
		return NULL;
	return bsearch(&key, idx->syms, idx->n_syms, sizeof(key), symbol_cmp);
}

/* A handful of files: a linear search is enough. */
static long find_file(const struct index *idx, const char *name)
{
	for (size_t i = 0; i < idx->n_files; i++)
		if (!strcmp(idx->files[i].name, name))
			return (long)i;
	return -1;
}

/* ---- answers ---------------------------------------------------------------------- */

/* A response and everything it points to, on the caller's stack (blobs excepted). */
struct reply {
	refl_response resp;
	refl_error err;
	refl_files files;
	refl_list list;
	refl_service svcs[N_SERVED];
	refl_service *svc_ptrs[N_SERVED];
	refl_ext_numbers ext;
	ProtobufCBinaryData *blobs; /* malloc'd */
	char msg[512];
};

static void set_error(struct reply *p, grpc_status_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(struct reply *p, grpc_status_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	grpc__reflection__v1__error_response__init(&p->err);
	p->err.error_code = code;
	p->err.error_message = p->msg;
	p->resp.message_response_case = RESP(ERROR_RESPONSE);
	p->resp.error_response = &p->err;
}

static void answer_list(struct reply *p)
{
	grpc__reflection__v1__list_service_response__init(&p->list);
	for (size_t i = 0; i < N_SERVED; i++) {
		grpc__reflection__v1__service_response__init(&p->svcs[i]);
		p->svcs[i].name = (char *)served_services[i];
		p->svc_ptrs[i] = &p->svcs[i];
	}
	p->list.service = p->svc_ptrs;
	p->list.n_service = N_SERVED;
	p->resp.message_response_case = RESP(LIST_SERVICES_RESPONSE);
	p->resp.list_services_response = &p->list;
}

/* Appends file f and then, depth first, every file it imports, each once. */
static void collect(const struct index *idx, size_t f, char *seen, ProtobufCBinaryData *out,
		    size_t *n)
{
	const pb_file *fd = idx->files[f].fd;

	if (seen[f])
		return;
	seen[f] = 1;
	out[*n].data = idx->files[f].bytes;
	out[*n].len = idx->files[f].len;
	(*n)++;
	for (size_t i = 0; i < fd->n_dependency; i++) {
		long d = find_file(idx, fd->dependency[i]);

		/* --include_imports put every import in the set, so d is always found. */
		if (d >= 0)
			collect(idx, (size_t)d, seen, out, n);
	}
}

/* The requested file first, then its transitive imports: a client needs them all to
 * build the file's descriptors. */
static void answer_file(struct reply *p, const struct index *idx, size_t f)
{
	char *seen = calloc(idx->n_files, 1);

	p->blobs = calloc(idx->n_files, sizeof(*p->blobs));
	if (!seen || !p->blobs) {
		free(seen);
		set_error(p, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	grpc__reflection__v1__file_descriptor_response__init(&p->files);
	collect(idx, f, seen, p->blobs, &p->files.n_file_descriptor_proto);
	p->files.file_descriptor_proto = p->blobs;
	p->resp.message_response_case = RESP(FILE_DESCRIPTOR_RESPONSE);
	p->resp.file_descriptor_response = &p->files;
	free(seen);
}

static void answer_filename(struct reply *p, const struct index *idx, const char *name)
{
	long f = find_file(idx, name);

	if (f < 0)
		set_error(p, GRPC_STATUS_NOT_FOUND, "file not found: \"%.400s\"", name);
	else
		answer_file(p, idx, (size_t)f);
}

static void answer_symbol(struct reply *p, const struct index *idx, const char *name)
{
	const struct symbol *s = find_symbol(idx, name);

	if (!s)
		set_error(p, GRPC_STATUS_NOT_FOUND, "symbol not found: \"%.400s\"", name);
	else
		answer_file(p, idx, s->file);
}

static int is_message(const struct index *idx, const char *name)
{
	const struct symbol *s = find_symbol(idx, name);

	return s && s->is_message;
}

/* No file the sensor serves declares an extension (its API is proto3), so the only
 * question is whether the message type exists. */
static void answer_extension(struct reply *p, const struct index *idx, const refl_ext_request *x)
{
	const char *type = x ? x->containing_type : "";

	if (!is_message(idx, type))
		set_error(p, GRPC_STATUS_NOT_FOUND, "message type not found: \"%.400s\"", type);
	else
		set_error(p, GRPC_STATUS_NOT_FOUND, "no extension %d of %.400s is known",
			  x->extension_number, type);
}

/* A known message type has no extensions: an empty list, as the C++ and Go servers
 * answer; NOT_FOUND when the type does not exist. */
static void answer_extension_numbers(struct reply *p, const struct index *idx, const char *type)
{
	if (!is_message(idx, type)) {
		set_error(p, GRPC_STATUS_NOT_FOUND, "message type not found: \"%.400s\"", type);
		return;
	}
	grpc__reflection__v1__extension_number_response__init(&p->ext);
	p->ext.base_type_name = (char *)type;
	p->resp.message_response_case = RESP(ALL_EXTENSION_NUMBERS_RESPONSE);
	p->resp.all_extension_numbers_response = &p->ext;
}

static void answer_from_index(struct reply *p, const refl_request *req)
{
	const struct index *idx = index_get();

	if (!idx) {
		set_error(p, GRPC_STATUS_INTERNAL, "descriptor index unavailable (see the log)");
		return;
	}
	switch (req->message_request_case) {
	case REQ(FILE_BY_FILENAME):
		answer_filename(p, idx, req->file_by_filename);
		break;
	case REQ(FILE_CONTAINING_SYMBOL):
		answer_symbol(p, idx, req->file_containing_symbol);
		break;
	case REQ(FILE_CONTAINING_EXTENSION):
		answer_extension(p, idx, req->file_containing_extension);
		break;
	case REQ(ALL_EXTENSION_NUMBERS_OF_TYPE):
	default:
		answer_extension_numbers(p, idx, req->all_extension_numbers_of_type);
		break;
	}
}

static void answer(struct reply *p, const refl_request *req)
{
	switch (req->message_request_case) {
	case REQ(LIST_SERVICES):
		answer_list(p);
		break;
	case REQ(FILE_BY_FILENAME):
	case REQ(FILE_CONTAINING_SYMBOL):
	case REQ(FILE_CONTAINING_EXTENSION):
	case REQ(ALL_EXTENSION_NUMBERS_OF_TYPE):
		answer_from_index(p, req);
		break;
	default:
		set_error(p, GRPC_STATUS_INVALID_ARGUMENT,
			  "message_request: set none of file_by_filename, file_containing_symbol, "
			  "file_containing_extension, all_extension_numbers_of_type, "
			  "list_services");
		break;
	}
}

/* ---- the stream ------------------------------------------------------------------- */

static void on_request(struct rpc *r, int ok);

static void on_sent(struct rpc *r, int ok)
{
	if (!ok || r->cancelled || r->status_sent)
		return;
	if (rpc_recv_next(r, on_request) < 0)
		rpc_finish(r, NULL, GRPC_STATUS_INTERNAL, "cannot read the next request");
}

/* req is NULL when the message was not a ServerReflectionRequest. */
static int send_reply(struct rpc *r, const refl_request *req)
{
	struct reply p;
	int rc;

	grpc__reflection__v1__server_reflection_response__init(&p.resp);
	p.blobs = NULL;
	if (req) {
		p.resp.valid_host = req->host;
		p.resp.original_request = (refl_request *)req;
		answer(&p, req);
	} else {
		set_error(&p, GRPC_STATUS_INVALID_ARGUMENT,
			  "request is not a grpc.reflection.v1.ServerReflectionRequest");
	}
	rc = rpc_send_message(r, &p.resp.base, on_sent);
	free(p.blobs);
	return rc;
}

static void on_request(struct rpc *r, int ok)
{
	refl_request *req;

	/* After server_stop sent the status, a pending read still completes: ignore it. */
	if (!ok || r->cancelled || r->status_sent)
		return;
	if (!r->recv) { /* the client half-closed: every request was answered */
		rpc_finish(r, NULL, GRPC_STATUS_OK, NULL);
		return;
	}
	req = (refl_request *)rpc_unpack(
		r, &grpc__reflection__v1__server_reflection_request__descriptor);
	if (send_reply(r, req) < 0)
		rpc_finish(r, NULL, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	if (req)
		protobuf_c_message_free_unpacked(&req->base, NULL);
}

void reflection_shutdown(struct rpc *r)
{
	rpc_finish(r, NULL, GRPC_STATUS_UNAVAILABLE, "sensor is shutting down");
}

static void start(struct rpc *r)
{
	if (rpc_recv_request(r, on_request) < 0)
		rpc_finish(r, NULL, GRPC_STATUS_INTERNAL, "cannot read the request");
}

const struct rpc_method reflection_v1_method = {
	.path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
	.start = start,
	.shutdown = reflection_shutdown,
};

const struct rpc_method reflection_v1alpha_method = {
	.path = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
	.start = start,
	.shutdown = reflection_shutdown,
};
