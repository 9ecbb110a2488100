/* Field projection on packed events: what is kept, what is pruned, bad paths. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/pb.h"
#include "hub/projection.h"

static char err[256];
static const uint32_t keep[] = {1, 5, 6, 0};

struct sample {
	pb_event ev;
	pb_process p, parent;
	pb_exec x;
	pb_timestamp t;
	char *args[2];
	uint8_t buf[1024];
	size_t len;
};

static void make(struct sample *s)
{
	s->ev = (pb_event)TAPIO__SENSOR__V1__EVENT__INIT;
	tapio__sensor__v1__process__init(&s->p);
	tapio__sensor__v1__process__init(&s->parent);
	tapio__sensor__v1__process_exec__init(&s->x);
	google__protobuf__timestamp__init(&s->t);
	s->t.seconds = 1700000000;
	s->p.pid = 42;
	s->p.ppid = 1;
	s->p.comm = "worker";
	s->p.binary = "/usr/bin/worker";
	s->parent.pid = 1;
	s->parent.comm = "init";
	s->args[0] = "worker";
	s->args[1] = "--fast";
	s->x.filename = "/usr/bin/worker";
	s->x.args = s->args;
	s->x.n_args = 2;
	s->ev.seq = 7;
	s->ev.boot_id = "boot";
	s->ev.node = "node-1";
	s->ev.time = &s->t;
	s->ev.observer = PB_OBSERVER(PROCESS);
	s->ev.type = PB_TYPE(PROCESS_EXEC);
	s->ev.process = &s->p;
	s->ev.parent = &s->parent;
	s->ev.payload_case = PB_PAYLOAD(EXEC);
	s->ev.exec = &s->x;
	s->len = protobuf_c_message_pack(&s->ev.base, s->buf);
}

static pb_event *project(char **paths, size_t n, struct sample *s, size_t *outlen)
{
	struct projection *p = projection_compile(&tapio__sensor__v1__event__descriptor, paths, n,
						  keep, err, sizeof(err));
	uint8_t out[1024];
	ssize_t w;
	pb_event *ev;

	cr_assert_not_null(p, "%s", err);
	w = projection_apply(p, s->buf, s->len, out);
	projection_free(p);
	cr_assert(w >= 0 && (size_t)w <= s->len, "projected %zd of %zu", w, s->len);
	*outlen = (size_t)w;
	ev = tapio__sensor__v1__event__unpack(NULL, (size_t)w, out);
	cr_assert_not_null(ev, "the projection is a valid Event");
	return ev;
}

Test(projection, keeps_selected_fields_and_always_kept_ones)
{
	struct sample s;
	char *paths[] = {"process.pid", "exec.args"};
	size_t len;
	pb_event *ev;

	make(&s);
	ev = project(paths, 2, &s, &len);
	cr_assert_eq(ev->seq, 7);
	cr_assert_eq(ev->observer, PB_OBSERVER(PROCESS));
	cr_assert_eq(ev->type, PB_TYPE(PROCESS_EXEC));
	cr_assert_str_eq(ev->node, "", "node was not asked for");
	cr_assert_null(ev->time);
	cr_assert_null(ev->parent);
	cr_assert_eq(ev->process->pid, 42);
	cr_assert_eq(ev->process->ppid, 0, "only pid of process");
	cr_assert_str_eq(ev->process->comm, "");
	cr_assert_eq(ev->payload_case, PB_PAYLOAD(EXEC));
	cr_assert_eq(ev->exec->n_args, 2);
	cr_assert_str_eq(ev->exec->args[1], "--fast");
	cr_assert_str_eq(ev->exec->filename, "");
	cr_assert(len < s.len / 2, "a backend pays only for what it reads: %zu of %zu", len, s.len);
	tapio__sensor__v1__event__free_unpacked(ev, NULL);
}

Test(projection, a_message_path_keeps_all_of_it_whatever_the_order)
{
	struct sample s;
	char *narrow_then_whole[] = {"process.pid", "process"};
	char *whole_then_narrow[] = {"process", "process.comm"};
	size_t len;
	pb_event *ev;

	make(&s);
	ev = project(narrow_then_whole, 2, &s, &len);
	cr_assert_str_eq(ev->process->binary, "/usr/bin/worker");
	cr_assert_eq(ev->process->ppid, 1);
	tapio__sensor__v1__event__free_unpacked(ev, NULL);
	ev = project(whole_then_narrow, 2, &s, &len);
	cr_assert_str_eq(ev->process->binary, "/usr/bin/worker");
	cr_assert_str_eq(ev->process->comm, "worker");
	tapio__sensor__v1__event__free_unpacked(ev, NULL);
}

Test(projection, scalar_and_timestamp_paths)
{
	struct sample s;
	char *paths[] = {"time", "node"};
	size_t len;
	pb_event *ev;

	make(&s);
	ev = project(paths, 2, &s, &len);
	cr_assert_eq(ev->time->seconds, 1700000000);
	cr_assert_str_eq(ev->node, "node-1");
	cr_assert_null(ev->process);
	cr_assert_eq(ev->payload_case, TAPIO__SENSOR__V1__EVENT__PAYLOAD__NOT_SET);
	tapio__sensor__v1__event__free_unpacked(ev, NULL);
}

Test(projection, bad_paths_name_the_problem)
{
	char *unknown[] = {"seq", "process.pidd"}, *into_scalar[] = {"seq.value"}, *empty[] = {""};

	cr_assert_null(projection_compile(&tapio__sensor__v1__event__descriptor, unknown, 2, keep,
					  err, sizeof(err)));
	cr_assert_str_eq(err, "field_mask.paths[1]: no field \"pidd\" in tapio.sensor.v1.Process");
	cr_assert_null(projection_compile(&tapio__sensor__v1__event__descriptor, into_scalar, 1,
					  keep, err, sizeof(err)));
	cr_assert_str_eq(err, "field_mask.paths[0]: \"seq.value\" goes inside a field that is not "
			      "a message");
	cr_assert_null(projection_compile(&tapio__sensor__v1__event__descriptor, empty, 1, keep,
					  err, sizeof(err)));
	cr_assert_str_eq(err, "field_mask.paths[0]: empty or too long");
}

Test(projection, malformed_input_is_refused_without_overread)
{
	char *paths[] = {"process.pid"};
	struct projection *p = projection_compile(&tapio__sensor__v1__event__descriptor, paths, 1,
						  keep, err, sizeof(err));
	struct sample s;
	uint8_t out[1024];

	make(&s);
	/* Every cut of a real message either projects a prefix or is refused. */
	for (size_t cut = 0; cut < s.len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);

		memcpy(copy, s.buf, cut);
		cr_assert(projection_apply(p, copy, cut, out) >= -1);
		free(copy);
	}
	{
		uint8_t bad_len[] = {0x3a, 0x7f, 0x08}; /* field 7 claims 127 bytes, has 1 */
		uint8_t group[] = {0x0b};		/* wire type 3 */
		uint8_t zero_field[] = {0x00, 0x01};

		cr_assert_eq(projection_apply(p, bad_len, sizeof(bad_len), out), -1);
		cr_assert_eq(projection_apply(p, group, sizeof(group), out), -1);
		cr_assert_eq(projection_apply(p, zero_field, sizeof(zero_field), out), -1);
	}
	projection_free(p);
}
