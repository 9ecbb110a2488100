/* reloc-check.c - does a BPF object relocate against another kernel's types, and verify?
 *
 * usage: reloc-check [-v] [--relocs-only] [--perf-buffer] [--optional PROG]... OBJ BTF
 *
 * For each program of OBJ: opens the object with bpf_object_open_opts.btf_custom_path =
 * BTF, so that libbpf resolves every CO-RE relocation against that kernel's types, and
 * loads that one program (with the maps) into the running kernel, whose verifier checks
 * the relocated code. Prints OK or the libbpf error per program; for a failed CO-RE
 * relocation, the field it could not find.
 *
 * --perf-buffer configures the object as the sensor does when the kernel has no ring
 * buffer (sensor/core/observer.c, set_limits and configure_output): tp_limits.use_perfbuf
 * = 1 in the object's .rodata, found through the section's BTF, and the "events" map
 * turned into a PERF_EVENT_ARRAY. The ring buffer calls are then dead code, which the
 * verifier removes because .rodata is frozen and its values are known.
 *
 * tp_limits.coarse_clock is set as the sensor sets it (set_limits): 1 where the target
 * has bpf_ktime_get_coarse_ns (enum bpf_func_id in its BTF), else 0, and the calls of the
 * helper are dead code there like the ring buffer ones.
 *
 * A relocation only proves the types fit. Unless --relocs-only is given, the check also
 * asks the target's BTF whether that kernel has what the object needs at all: every map
 * type (enum bpf_map_type) and program type (enum bpf_prog_type) of the object, and every
 * helper (enum bpf_func_id) and kfunc the loaded programs call.
 *
 * The helpers are those of the code the kernel really kept: the translated ("xlated")
 * instructions read back with BPF_OBJ_GET_INFO_BY_FD (libbpf 1.1 has no
 * bpf_prog_get_info_by_fd yet), where the verifier has removed dead branches. There a
 * helper call no longer carries the helper's id: the verifier patched its immediate to
 * the implementing kernel function minus __bpf_call_base, as `bpftool prog dump xlated`
 * shows it through /proc/kallsyms. Map helpers call the map type's own operation
 * (htab_lru_map_delete_elem), some helpers have one function per program type
 * (bpf_perf_event_output_raw_tp), and some calls are no calls any more (inlined array
 * lookups, bpf_loop). So a call is mapped back to helper ids by the function's name, and
 * a helper the target lacks counts as called unless the translated code shows it gone:
 * the code and its call addresses could be read, every call in it was recognised, and
 * this kernel never inlines that helper.
 *
 * Dead as built is not dead in the sensor: the sensor writes its own values into .rodata
 * (DNS ports, sampling, rates), and the object's built-in ones may kill code the sensor
 * runs. So each loaded program is loaded a second time with all read-only data unknown
 * to the verifier but tp_limits.use_perfbuf and coarse_clock (see "The re-load" below);
 * a helper counts as dead only when neither load calls it. The re-load also verifies the
 * code that the built-in values hid: a CO-RE relocation that did not resolve there is a
 * failure. What stays assumed is that the target's verifier prunes at least what this
 * one does on known pinned values, which every kernel since 5.2 does for frozen .rodata.
 * kfuncs are checked on the code as libbpf loaded it, dead or not.
 *
 * A program whose type this kernel cannot load at all (fentry where trampolines are not
 * allowed) cannot be verified here: it is reported NOT VERIFIED when libbpf got as far as
 * the kernel with every CO-RE relocation resolved, and its helpers are taken from the
 * code as libbpf loaded it.
 *
 * --optional PROG names a program the sensor loads only where the kernel has its program
 * type, with a fallback otherwise (the fexit on kernel_clone, else tracepoints): on a
 * target without that program type it is skipped, not counted as lacking.
 *
 * The output ends with one "result:" line and, when not empty, lines for scripts:
 *   lacks: NAME...        map types, program types, helpers, kfuncs the target lacks
 *   dead: NAME...         helpers the target lacks that the loaded code no longer calls
 *   unverified: PROG...   programs this kernel cannot load (NOT VERIFIED)
 *   skipped: PROG...      --optional programs whose type the target lacks
 *
 * Exit status: 0 all good, 1 a program failed to relocate or load, 2 usage or I/O error,
 * 3 everything loaded but the target kernel lacks a map type, program type or helper,
 * 4 nothing failed or lacking, but some program could not be verified on this kernel.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_LOAD_FAILED 1
#define EXIT_USAGE 2
#define EXIT_TARGET_LACKS 3
#define EXIT_NOT_VERIFIED 4

/* Helper ids are below a few hundred; anything above is a libbpf poison marker. */
#define MAX_HELPER_ID 1024

/* Lines of libbpf output shown for a failure that names no CO-RE relocation. */
#define TAIL_LINES 25

static int verbose;

/* libbpf's INFO and WARN output of the current attempt, to show when it fails. */
static char *log_buf;
static size_t log_len, log_cap;

/* A set of strings in insertion order, for the summary lines. */
struct strset {
	char **v;
	size_t n;
};

static struct strset lacking, dead, unverified, skipped;

static void oom(void)
{
	fprintf(stderr, "reloc-check: out of memory\n");
	exit(EXIT_USAGE);
}

static void strset_add(struct strset *s, const char *str)
{
	char **p;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (!strcmp(s->v[i], str))
			return;
	}
	p = realloc(s->v, (s->n + 1) * sizeof(*p));
	if (!p || !(p[s->n] = strdup(str)))
		oom();
	s->v = p;
	s->n++;
}

static void strset_print(const struct strset *s, const char *label)
{
	size_t i;

	if (!s->n)
		return;
	printf("%s:", label);
	for (i = 0; i < s->n; i++)
		printf(" %s", s->v[i]);
	printf("\n");
}

static void strset_free(struct strset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* errno after a failed libbpf call: it may hold a libbpf code (LIBBPF_ERRNO__*). */
static const char *libbpf_errstr(int err)
{
	static char buf[256];

	libbpf_strerror(err, buf, sizeof(buf));
	return buf;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (verbose) {
		va_copy(cp, ap);
		vfprintf(stderr, fmt, cp);
		va_end(cp);
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return 0;
	if (log_len + n + 1 > log_cap) {
		size_t cap = (log_len + n + 1) * 2;
		char *p = realloc(log_buf, cap);

		if (!p)
			return 0;
		log_buf = p;
		log_cap = cap;
	}
	vsnprintf(log_buf + log_len, log_cap - log_len, fmt, ap);
	log_len += n;
	return 0;
}

static void log_reset(void)
{
	log_len = 0;
	if (log_buf)
		log_buf[0] = '\0';
}

static int log_has(const char *text)
{
	return log_buf && strstr(log_buf, text);
}

/* Why a load failed: the relocations libbpf could not resolve, named by type and field
 * (libbpf rewrites the verifier log to say so), or else the end of the output. */
static void print_failure_details(void)
{
	const char *line, *end, *start;
	int found = 0, lines = 0;

	if (!log_buf || !log_len)
		return;
	for (line = log_buf; *line; line = end + (*end != '\0')) {
		end = strchrnul(line, '\n');
		if (memmem(line, end - line, "failed to resolve CO-RE relocation",
			   strlen("failed to resolve CO-RE relocation"))) {
			printf("      %.*s\n", (int)(end - line), line);
			found = 1;
		}
	}
	if (found)
		return;
	start = log_buf + log_len;
	while (start > log_buf && lines <= TAIL_LINES) {
		start--;
		if (*start == '\n' && start + 1 < log_buf + log_len)
			lines++;
	}
	if (lines > TAIL_LINES)
		start++;
	for (line = start; *line; line = end + (*end != '\0')) {
		end = strchrnul(line, '\n');
		if (end > line)
			printf("      %.*s\n", (int)(end - line), line);
	}
}

/* The type id of enum `enum_name` in `btf`, or -1. A search walks all of a kernel's
 * types, and the helper check asks for the same few enums of the same two BTFs over and
 * over: the answers are kept. */
static int find_enum(const struct btf *btf, const char *enum_name)
{
	static struct {
		const struct btf *btf;
		const char *name;
		int id;
	} cache[8];
	static unsigned int next;
	unsigned int i;
	int id;

	for (i = 0; i < sizeof(cache) / sizeof(cache[0]); i++) {
		if (cache[i].btf == btf && cache[i].name && !strcmp(cache[i].name, enum_name))
			return cache[i].id;
	}
	id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM);
	i = next++ % (sizeof(cache) / sizeof(cache[0]));
	cache[i].btf = btf;
	cache[i].name = enum_name;
	cache[i].id = id;
	return id;
}

/* The value of enumerator `value` of enum `enum_name` in `btf`: 1 and *val if found, 0 if
 * the enum has no such enumerator, -1 if the BTF has no such enum (nothing can be
 * concluded then). */
static int enum_value(const struct btf *btf, const char *enum_name, const char *value, int *val)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	int id, i;

	id = find_enum(btf, enum_name);
	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (i = 0; i < btf_vlen(t); i++) {
		if (!strcmp(btf__name_by_offset(btf, e[i].name_off), value)) {
			if (val)
				*val = e[i].val;
			return 1;
		}
	}
	return 0;
}

static int enum_has(const struct btf *btf, const char *enum_name, const char *value)
{
	return enum_value(btf, enum_name, value, NULL);
}

/* The name of value `val` of enum `enum_name` in `btf`, or NULL. */
static const char *enum_name_of(const struct btf *btf, const char *enum_name, __s64 val)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	int id, i;

	if (!btf)
		return NULL;
	id = find_enum(btf, enum_name);
	if (id < 0)
		return NULL;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (i = 0; i < btf_vlen(t); i++) {
		if (e[i].val == val)
			return btf__name_by_offset(btf, e[i].name_off);
	}
	return NULL;
}

/* "ringbuf" -> "BPF_MAP_TYPE_RINGBUF": libbpf's short names are the uapi enumerators. */
static void uapi_name(char *out, size_t size, const char *prefix, const char *short_name)
{
	size_t n = snprintf(out, size, "%s", prefix);

	for (; *short_name && n + 1 < size; short_name++)
		out[n++] = toupper((unsigned char)*short_name);
	out[n < size ? n : size - 1] = '\0';
}

/* Reports whether the target has the kernel object type `what` ("map type", ...).
 * Returns 1 when the target lacks it. With `optional`, a lacking type is reported as
 * a skip instead (and 0 returned): the sensor does without that program there. */
static int check_type(const struct btf *targ, const char *label, const char *enum_name,
		      const char *prefix, const char *short_name, const char *optional)
{
	char name[128];
	int has;

	if (!short_name) {
		printf("  %-46s unknown type, not checked\n", label);
		return 0;
	}
	uapi_name(name, sizeof(name), prefix, short_name);
	has = enum_has(targ, enum_name, name);
	if (has == 0 && optional) {
		char what[160];

		printf("  %-46s skipped: target has no %s; optional, the sensor falls back\n",
		       label, name);
		snprintf(what, sizeof(what), "%s(%s)", optional, name);
		strset_add(&skipped, what);
		return 0;
	}
	if (has == 0) {
		printf("  %-46s TARGET LACKS %s (not in its enum %s)\n", label, name, enum_name);
		strset_add(&lacking, name);
		return 1;
	}
	if (has < 0)
		printf("  %-46s %s: not checked, target BTF has no enum %s\n", label, name,
		       enum_name);
	return 0;
}

/* What libbpf calls instead on a kernel without the probe_read_{kernel,user} helpers
 * (bpf_object__sanitize_prog), or NULL. */
static const char *helper_fallback(const char *name)
{
	if (!strcmp(name, "BPF_FUNC_probe_read_kernel") ||
	    !strcmp(name, "BPF_FUNC_probe_read_user"))
		return "BPF_FUNC_probe_read";
	if (!strcmp(name, "BPF_FUNC_probe_read_kernel_str") ||
	    !strcmp(name, "BPF_FUNC_probe_read_user_str"))
		return "BPF_FUNC_probe_read_str";
	return NULL;
}

/*
 * --perf-buffer: the sensor's configuration for a kernel without ring buffers.
 */

/* Where the 32-bit member `member` of variable `var` lives: the read-only data section
 * map that holds it (found through the section's BTF) and its offset in the map's
 * value. 0, or -ENOENT when there is no such member, -EINVAL when it is not a plain
 * 32-bit integer in a read-only section. */
static int find_rodata_member(struct bpf_object *obj, const char *var, const char *member,
			      struct bpf_map **mapp, size_t *offp)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vsi;
	const struct btf_type *sec, *t, *mt;
	const struct btf_member *m;
	struct bpf_map *map;
	int i;

	if (!btf)
		return -ENOENT;
	for (map = bpf_object__next_map(obj, NULL); map; map = bpf_object__next_map(obj, map)) {
		if (!bpf_map__is_internal(map))
			continue;
		sec = btf__type_by_id(btf, bpf_map__btf_value_type_id(map));
		if (!sec || !btf_is_datasec(sec))
			continue;
		vsi = btf_var_secinfos(sec);
		for (i = 0; i < btf_vlen(sec); i++, vsi++) {
			t = btf__type_by_id(btf, vsi->type);
			if (!strcmp(btf__name_by_offset(btf, t->name_off), var))
				goto found;
		}
	}
	return -ENOENT;
found:
	/* Only a frozen section makes the verifier see the value and drop the dead side. */
	if (!(bpf_map__map_flags(map) & BPF_F_RDONLY_PROG)) {
		fprintf(stderr, "reloc-check: %s is in %s, which is not read-only\n", var,
			bpf_map__name(map));
		return -EINVAL;
	}
	/* const volatile struct tp_limits: past the modifiers to the struct. */
	t = btf__type_by_id(btf, btf__resolve_type(btf, t->type));
	if (!t || !btf_is_struct(t))
		return -EINVAL;
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++) {
		if (strcmp(btf__name_by_offset(btf, m[i].name_off), member))
			continue;
		mt = btf__type_by_id(btf, btf__resolve_type(btf, m[i].type));
		if (btf_member_bitfield_size(t, i) || btf_member_bit_offset(t, i) % 8 || !mt ||
		    !btf_is_int(mt) || mt->size != sizeof(__u32))
			return -EINVAL;
		*mapp = map;
		*offp = vsi->offset + btf_member_bit_offset(t, i) / 8;
		return 0;
	}
	return -ENOENT;
}

/* Sets that member to `val` in the map's initial value, the image libbpf copies into
 * the map at load. */
static int set_rodata_member(struct bpf_object *obj, const char *var, const char *member, __u32 val)
{
	struct bpf_map *map;
	const void *data;
	size_t size, off;
	void *copy;
	int err;

	err = find_rodata_member(obj, var, member, &map, &off);
	if (err)
		return err;
	data = bpf_map__initial_value(map, &size);
	if (!data || off + sizeof(val) > size)
		return -EINVAL;
	copy = malloc(size);
	if (!copy)
		oom();
	memcpy(copy, data, size);
	memcpy((char *)copy + off, &val, sizeof(val));
	err = bpf_map__set_initial_value(map, copy, size);
	free(copy);
	return err;
}

/* The same as the sensor's set_limits (use_perfbuf) and configure_output. */
static int configure_perf_buffer(struct bpf_object *obj, const char *obj_path)
{
	struct bpf_map *events = bpf_object__find_map_by_name(obj, "events");
	int err;

	err = set_rodata_member(obj, "tp_limits", "use_perfbuf", 1);
	if (err) {
		fprintf(stderr, "reloc-check: %s: cannot set tp_limits.use_perfbuf: %s\n", obj_path,
			strerror(-err));
		return err;
	}
	if (!events) {
		fprintf(stderr, "reloc-check: %s: no map \"events\"\n", obj_path);
		return -ENOENT;
	}
	err = bpf_map__set_type(events, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	if (!err)
		err = bpf_map__set_key_size(events, sizeof(int));
	if (!err)
		err = bpf_map__set_value_size(events, sizeof(int));
	if (!err)
		err = bpf_map__set_max_entries(events, 0); /* libbpf sizes it to the CPU count */
	if (err)
		fprintf(stderr, "reloc-check: %s: cannot make \"events\" a perf event array: %s\n",
			obj_path, strerror(-err));
	return err;
}

/* coarse: the sensor's tp_limits.coarse_clock on the target (set_limits). */
static struct bpf_object *open_object(const char *obj_path, const char *btf_path, int perf_buffer,
				      int coarse)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf_path);
	struct bpf_object *obj;
	int err;

	obj = bpf_object__open_file(obj_path, &opts);
	if (!obj) {
		fprintf(stderr, "reloc-check: open %s: %s\n", obj_path, libbpf_errstr(errno));
		return NULL;
	}
	if (perf_buffer && configure_perf_buffer(obj, obj_path)) {
		bpf_object__close(obj);
		return NULL;
	}
	err = set_rodata_member(obj, "tp_limits", "coarse_clock", coarse);
	if (err) {
		fprintf(stderr, "reloc-check: %s: cannot set tp_limits.coarse_clock: %s\n",
			obj_path, strerror(-err));
		bpf_object__close(obj);
		return NULL;
	}
	return obj;
}

/*
 * From a call in translated code back to the helper(s) it stands for.
 */

struct ksym {
	unsigned long long addr;
	char *name;
};

static struct ksym *ksyms;
static size_t nksyms;
static unsigned long long call_base; /* address of __bpf_call_base */
static int ksyms_state;		     /* 0 not read yet, 1 usable, -1 unusable */

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void ksyms_free(void)
{
	size_t i;

	for (i = 0; i < nksyms; i++)
		free(ksyms[i].name);
	free(ksyms);
	ksyms = NULL;
	nksyms = 0;
}

/* The kernel's text symbols, sorted by address. 1 when usable, -1 when not (no file,
 * or addresses hidden by kptr_restrict: then they all read 0). */
static int ksyms_load(void)
{
	unsigned long long addr;
	char line[512], name[256], type;
	size_t cap = 0;
	FILE *f;

	if (ksyms_state)
		return ksyms_state;
	ksyms_state = -1;
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (!strcmp(name, "__bpf_call_base"))
			call_base = addr;
		if (nksyms == cap) {
			struct ksym *p;

			cap = cap ? cap * 2 : 65536;
			p = realloc(ksyms, cap * sizeof(*p));
			if (!p)
				oom();
			ksyms = p;
		}
		ksyms[nksyms].addr = addr;
		ksyms[nksyms].name = strdup(name);
		if (!ksyms[nksyms].name)
			oom();
		nksyms++;
	}
	fclose(f);
	if (!call_base) {
		ksyms_free();
		return -1;
	}
	qsort(ksyms, nksyms, sizeof(*ksyms), ksym_cmp);
	ksyms_state = 1;
	return 1;
}

/* Index of the first symbol at `addr`, or -1. */
static long ksym_find(unsigned long long addr)
{
	size_t lo = 0, hi = nksyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ksyms[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nksyms && ksyms[lo].addr == addr ? (long)lo : -1;
}

/* The id of helper `short_name` (its first len bytes) in the running kernel, or -1. */
static int helper_id(const struct btf *host, const char *short_name, size_t len)
{
	char name[160];
	int id;

	if (len > 128)
		return -1;
	snprintf(name, sizeof(name), "BPF_FUNC_%.*s", (int)len, short_name);
	return enum_value(host, "bpf_func_id", name, &id) == 1 ? id : -1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* Implementations not called bpf_<helper>, found in the helpers' bpf_func_proto
 * definitions; one function may serve several helpers. */
static const struct {
	const char *symbol, *helper;
} helper_aliases[] = {
	{"bpf_probe_read_compat", "probe_read"},
	{"bpf_probe_read_compat_str", "probe_read_str"},
	{"bpf_user_rnd_u32", "get_prandom_u32"},
	{"bpf_get_raw_cpu_id", "get_smp_processor_id"},
	{"bpf_skb_event_output", "perf_event_output"},
	{"bpf_skb_event_output", "skb_output"},
	{"bpf_xdp_event_output", "perf_event_output"},
	{"bpf_xdp_event_output", "xdp_output"},
	{"bpf_event_output_data", "perf_event_output"},
};

/* Per program type variants: bpf_<helper>_<suffix> (bpf_perf_event_output_raw_tp,
 * bpf_get_stackid_pe, bpf_get_attach_cookie_kprobe_multi, ...). */
static const char *const variant_suffixes[] = {
	"_tp",	   "_raw_tp",	    "_pe",	     "_trace", "_tracing",
	"_kprobe", "_kprobe_multi", "_uprobe_multi", "_recur",
};

/* What the map helpers become (do_misc_fixups): a call of the map type's operation,
 * named <map type>_<operation> (htab_lru_map_delete_elem, trie_lookup_elem), or inline
 * lookup code calling a lookup function (__htab_map_lookup_elem). Longest first. */
static const struct {
	const char *suffix, *helper;
} map_op_suffixes[] = {
	{"_lookup_percpu_elem", "map_lookup_percpu_elem"},
	{"_lookup_elem", "map_lookup_elem"},
	{"_update_elem", "map_update_elem"},
	{"_delete_elem", "map_delete_elem"},
	{"_push_elem", "map_push_elem"},
	{"_pop_elem", "map_pop_elem"},
	{"_peek_elem", "map_peek_elem"},
	{"_map_redirect", "redirect_map"},
};

/* Adds to ids the helpers kernel function `sym` implements; returns how many (0: none
 * known). The exact bpf_<helper> name comes first, so that a variant or map operation
 * rule never takes a helper's own implementation for another helper's. */
static int helpers_of_symbol(const struct btf *host, const char *sym, int *ids, int max)
{
	const char *h;
	size_t i, len;
	int n = 0, id;

	if (max < 1)
		return 0;
	for (i = 0; i < sizeof(helper_aliases) / sizeof(helper_aliases[0]); i++) {
		if (strcmp(sym, helper_aliases[i].symbol))
			continue;
		id = helper_id(host, helper_aliases[i].helper, strlen(helper_aliases[i].helper));
		if (id >= 0 && n < max)
			ids[n++] = id;
	}
	if (n)
		return n;
	if (strncmp(sym, "bpf_", 4))
		goto map_ops;
	h = sym + 4;
	id = helper_id(host, h, strlen(h));
	if (id >= 0) {
		ids[0] = id;
		return 1;
	}
	for (i = 0; i < sizeof(variant_suffixes) / sizeof(variant_suffixes[0]); i++) {
		if (!ends_with(h, variant_suffixes[i]))
			continue;
		len = strlen(h) - strlen(variant_suffixes[i]);
		id = helper_id(host, h, len);
		if (id >= 0) {
			ids[0] = id;
			return 1;
		}
	}
	/* ops->map_for_each_callback: bpf_for_each_array_elem, bpf_for_each_hash_elem */
	if (!strncmp(h, "for_each_", 9) && ends_with(h, "_elem")) {
		id = helper_id(host, "for_each_map_elem", strlen("for_each_map_elem"));
		if (id >= 0) {
			ids[0] = id;
			return 1;
		}
	}
map_ops:
	for (i = 0; i < sizeof(map_op_suffixes) / sizeof(map_op_suffixes[0]); i++) {
		if (!ends_with(sym, map_op_suffixes[i].suffix))
			continue;
		id = helper_id(host, map_op_suffixes[i].helper, strlen(map_op_suffixes[i].helper));
		if (id >= 0) {
			ids[0] = id;
			return 1;
		}
	}
	return 0;
}

/* Helpers whose calls the verifier may replace with inline instructions, on x86-64 up to
 * 6.18 (do_misc_fixups, inline_bpf_loop): a call of them may be live without showing in
 * the translated code. get_current_task{,_btf} still show as calls on 6.18 (the JIT may
 * inline them later) and are listed because patches move that into the verifier.
 * Listing one too many costs only a possible false "lacks". */
static const char *const inlined_helpers[] = {
	"map_lookup_elem",	"jiffies64",
	"get_smp_processor_id", "get_func_arg",
	"get_func_ret",		"get_func_arg_cnt",
	"get_func_ip",		"kptr_xchg",
	"get_branch_snapshot",	"loop",
	"get_current_task",	"get_current_task_btf",
};

static int may_be_inlined(const char *func_id_name)
{
	const char *h = func_id_name + strlen("BPF_FUNC_");
	size_t i;

	for (i = 0; i < sizeof(inlined_helpers) / sizeof(inlined_helpers[0]); i++) {
		if (!strcmp(h, inlined_helpers[i]))
			return 1;
	}
	return 0;
}

/* The translated code of one load: for each helper, 1 + the index of a call of it. */
struct xlated {
	int at[MAX_HELPER_ID];
	int read;	   /* 1: read, with the addresses of its calls */
	char why[256];	   /* why not, when read == 0 */
	char unknown[160]; /* a call target known as no helper, or "" */
};

/* What a program calls: in the code libbpf loaded, and in the translated code of the
 * load as configured and of the re-load with the read-only data unknown. */
struct calls {
	unsigned char loaded[MAX_HELPER_ID];
	struct xlated as_built, any_rodata;
};

static void scan_loaded(const struct bpf_program *prog, struct calls *c)
{
	const struct bpf_insn *insn = bpf_program__insns(prog);
	size_t i, n = bpf_program__insn_cnt(prog);

	for (i = 0; i < n; i++) {
		if (insn[i].code == (BPF_JMP | BPF_CALL) && insn[i].src_reg == 0 &&
		    insn[i].imm >= 0 && insn[i].imm < MAX_HELPER_ID)
			c->loaded[insn[i].imm] = 1;
	}
}

/* The translated instructions of loaded program `fd` (*cnt of them), or NULL. */
static struct bpf_insn *read_xlated(int fd, __u32 *cnt, char *why, size_t why_size)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info), n;
	struct bpf_insn *insns;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		snprintf(why, why_size, "program info: %s", strerror(errno));
		return NULL;
	}
	n = info.xlated_prog_len / sizeof(struct bpf_insn);
	if (!n) {
		snprintf(why, why_size, "the kernel does not show the translated code");
		return NULL;
	}
	insns = calloc(n, sizeof(*insns));
	if (!insns)
		oom();
	memset(&info, 0, sizeof(info));
	info.xlated_prog_len = n * sizeof(*insns);
	info.xlated_prog_insns = (__u64)(uintptr_t)insns;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		snprintf(why, why_size, "program info: %s", strerror(errno));
		free(insns);
		return NULL;
	}
	if (info.xlated_prog_len / sizeof(*insns) < n)
		n = info.xlated_prog_len / sizeof(*insns);
	*cnt = n;
	return insns;
}

/* Fills x from the translated code of `fd`. A call's immediate there is the function's
 * address minus __bpf_call_base (bpf_insn_prepare_dump), 0 when the reader may not see
 * addresses, BPF_FUNC_tail_call for a tail call. */
static void scan_xlated(int fd, const struct btf *host, struct xlated *x)
{
	struct bpf_insn *insn;
	__u32 i, n = 0;
	int ids[8], nids, k;
	long s;

	insn = read_xlated(fd, &n, x->why, sizeof(x->why));
	if (!insn)
		return;
	x->read = 1;
	for (i = 0; i < n; i++) {
		if (insn[i].code != (BPF_JMP | BPF_CALL) || insn[i].src_reg != 0)
			continue;
		if (insn[i].imm == BPF_FUNC_tail_call) {
			if (!x->at[BPF_FUNC_tail_call])
				x->at[BPF_FUNC_tail_call] = i + 1;
			continue;
		}
		if (insn[i].imm == 0) {
			snprintf(x->why, sizeof(x->why),
				 "call addresses hidden in the translated code (kptr_restrict)");
			x->read = 0;
			break;
		}
		if (ksyms_load() < 0) {
			snprintf(x->why, sizeof(x->why),
				 "no kernel symbol addresses in /proc/kallsyms");
			x->read = 0;
			break;
		}
		s = ksym_find(call_base + (long long)insn[i].imm);
		nids = 0;
		for (k = s; s >= 0 && (size_t)k < nksyms && ksyms[k].addr == ksyms[s].addr; k++) {
			nids += helpers_of_symbol(host, ksyms[k].name, ids + nids,
						  (int)(sizeof(ids) / sizeof(ids[0])) - nids);
			if (verbose)
				fprintf(stderr, "reloc-check: xlated insn %u: call %s\n", i,
					ksyms[k].name);
		}
		if (!nids && !x->unknown[0]) {
			if (s >= 0)
				snprintf(x->unknown, sizeof(x->unknown), "%s at translated insn %u",
					 ksyms[s].name, i);
			else
				snprintf(x->unknown, sizeof(x->unknown),
					 "unnamed address %#llx at translated insn %u",
					 call_base + (long long)insn[i].imm, i);
		}
		for (k = 0; k < nids; k++) {
			if (ids[k] >= 0 && ids[k] < MAX_HELPER_ID && !x->at[ids[k]])
				x->at[ids[k]] = i + 1;
		}
	}
	free(insn);
}

/*
 * The re-load. The object's built-in .rodata values are not the sensor's (the DNS
 * object has no ports until the sensor sets them, so its whole packet path is dead
 * as built), and code dead only through them may be live in the sensor. So each
 * program is loaded once more from libbpf's final instructions, with every read-only
 * data section replaced by a writable copy: the verifier then knows none of those
 * values and keeps every branch that depends on them. Only tp_limits.use_perfbuf and
 * coarse_clock, the configuration under test, stay known: each 32-bit load of one
 * becomes a constant, where a small data flow analysis shows that the address register
 * points there on every path (pin_loads). A load of it in any other form reads the
 * writable copy; the verifier then explores the other output path with the wrong map
 * type and refuses the program, and the check stays on the safe side.
 */

#define MAX_RODATA_MAPS 8

#define PINS 2 /* tp_limits.use_perfbuf, tp_limits.coarse_clock */

struct pin {
	int fd;		  /* the map holding tp_limits, or -1 */
	size_t off[PINS]; /* the members' offsets in the map's value */
	__u32 val[PINS];  /* their values in this configuration */
};

/* Marks in `entry` the first instruction of every function: 0 and every target of a
 * bpf-to-bpf call or a callback reference. */
static void mark_entries(const struct bpf_insn *insn, size_t n, unsigned char *entry)
{
	size_t i;
	long t;

	if (n)
		entry[0] = 1;
	for (i = 0; i < n; i++) {
		t = -1;
		if (insn[i].code == (BPF_LD | BPF_IMM | BPF_DW)) {
			if (insn[i].src_reg == BPF_PSEUDO_FUNC)
				t = (long)i + 1 + insn[i].imm;
			i++;
		} else if (insn[i].code == (BPF_JMP | BPF_CALL) &&
			   insn[i].src_reg == BPF_PSEUDO_CALL) {
			t = (long)i + 1 + insn[i].imm;
		}
		if (t >= 0 && (size_t)t < n)
			entry[t] = 1;
	}
}

/* The program's BTF and function info for the re-load, when the first load had them
 * (callbacks and global functions need them). The kernel reports function info at
 * translated offsets; while the functions are the same and in the same order, their
 * starts in libbpf's instructions are put back. When the verifier removed a whole
 * function as dead, its type is not known any more: the re-load goes without BTF then,
 * which suits every program without callbacks. 0, or -1 with `why`. */
static int set_func_info(int prog_fd, const struct bpf_prog_info *loaded,
			 const struct bpf_insn *insn, size_t n, struct bpf_prog_load_opts *opts,
			 char **fi_out, int *btf_fd, char *why, size_t why_size)
{
	__u32 nfi = loaded->nr_func_info, rec = loaded->func_info_rec_size, len, k = 0;
	unsigned char *entry;
	struct bpf_prog_info info;
	char *fi;
	size_t i;

	if (!loaded->btf_id || !nfi)
		return 0;
	if (rec < sizeof(struct bpf_func_info)) {
		snprintf(why, why_size, "function info records of %u bytes", rec);
		return -1;
	}
	fi = calloc(nfi, rec);
	entry = calloc(n + 1, 1);
	if (!fi || !entry)
		oom();
	memset(&info, 0, sizeof(info));
	info.nr_func_info = nfi;
	info.func_info_rec_size = rec;
	info.func_info = (__u64)(uintptr_t)fi;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		snprintf(why, why_size, "function info: %s", strerror(errno));
		goto fail;
	}
	mark_entries(insn, n, entry);
	for (i = 0; i < n; i++)
		k += entry[i];
	if (k != nfi) {
		free(fi);
		free(entry);
		return 0;
	}
	for (i = 0, k = 0; i < n; i++) {
		if (entry[i])
			((struct bpf_func_info *)(fi + (size_t)k++ * rec))->insn_off = i;
	}
	*btf_fd = bpf_btf_get_fd_by_id(loaded->btf_id);
	if (*btf_fd < 0) {
		snprintf(why, why_size, "program BTF: %s", strerror(errno));
		goto fail;
	}
	opts->prog_btf_fd = *btf_fd;
	opts->func_info = fi;
	opts->func_info_cnt = nfi;
	opts->func_info_rec_size = rec;
	*fi_out = fi;
	free(entry);
	return 0;
fail:
	free(fi);
	free(entry);
	return -1;
}

#define REG_UNSEEN -2 /* no path reaches the instruction yet */
#define REG_ANY -1    /* not known */

/* What a register holds on every path to an instruction: an address `off` bytes into
 * the value of the map with descriptor `fd`, or REG_ANY, or REG_UNSEEN. */
struct regval {
	int fd;
	long long off;
};

/* a = the meet of a and b; 1 if a changed. */
static int meet(struct regval *a, const struct regval *b)
{
	if (b->fd == REG_UNSEEN || a->fd == REG_ANY)
		return 0;
	if (a->fd == REG_UNSEEN) {
		*a = *b;
		return 1;
	}
	if (b->fd != a->fd || b->off != a->off) {
		a->fd = REG_ANY;
		return 1;
	}
	return 0;
}

/* The effect of instruction i on the registers; its successors in succ (-1: none). */
static void transfer(const struct bpf_insn *insn, size_t i, struct regval *r, long succ[2])
{
	const struct bpf_insn *in = &insn[i];
	__u8 cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
	const struct regval any = {.fd = REG_ANY};
	int k;

	succ[0] = (long)i + 1;
	succ[1] = -1;
	switch (cls) {
	case BPF_LD:
		if (in->code == (BPF_LD | BPF_IMM | BPF_DW)) {
			r[in->dst_reg] = any;
			if (in->src_reg == BPF_PSEUDO_MAP_VALUE) {
				r[in->dst_reg].fd = in->imm;
				r[in->dst_reg].off = in[1].imm;
			}
			succ[0] = (long)i + 2;
		} else {
			for (k = BPF_REG_0; k <= BPF_REG_5; k++)
				r[k] = any; /* legacy packet access clobbers like a call */
		}
		break;
	case BPF_LDX:
		r[in->dst_reg] = any;
		break;
	case BPF_STX:
		if (BPF_MODE(in->code) == BPF_ATOMIC) {
			r[in->src_reg] = any; /* BPF_FETCH */
			r[BPF_REG_0] = any;   /* BPF_CMPXCHG */
		}
		break;
	case BPF_ST:
		break;
	case BPF_ALU64:
		if (in->code == (BPF_ALU64 | BPF_MOV | BPF_X) && in->off == 0)
			r[in->dst_reg] = r[in->src_reg];
		else if (r[in->dst_reg].fd >= 0 && in->code == (BPF_ALU64 | BPF_ADD | BPF_K))
			r[in->dst_reg].off += in->imm;
		else if (r[in->dst_reg].fd >= 0 && in->code == (BPF_ALU64 | BPF_SUB | BPF_K))
			r[in->dst_reg].off -= in->imm;
		else
			r[in->dst_reg] = any;
		break;
	case BPF_ALU:
		r[in->dst_reg] = any;
		break;
	case BPF_JMP:
	case BPF_JMP32:
		if (op == BPF_CALL) {
			for (k = BPF_REG_0; k <= BPF_REG_5; k++)
				r[k] = any; /* r6-r9 survive helper and bpf-to-bpf calls */
		} else if (op == BPF_EXIT) {
			succ[0] = -1;
		} else if (op == BPF_JA) {
			succ[0] = (long)i + 1 + (cls == BPF_JMP32 ? in->imm : in->off);
		} else {
			succ[1] = (long)i + 1 + in->off;
		}
		break;
	}
}

/* Turns every 32-bit load of a pinned member into `r = value`, where the address
 * register points at it on every path. Functions start with nothing known. Returns how
 * many loads were pinned. */
static int pin_loads(struct bpf_insn *insn, size_t n, const struct pin *pin)
{
	struct regval(*st)[__MAX_BPF_REG] = malloc(n * sizeof(*st));
	unsigned char *entry = calloc(n + 1, 1);
	struct regval out[__MAX_BPF_REG];
	int changed, pinned = 0, r, k;
	long succ[2];
	size_t i;

	if (!st || !entry)
		oom();
	mark_entries(insn, n, entry);
	for (i = 0; i < n; i++) {
		for (r = 0; r < __MAX_BPF_REG; r++)
			st[i][r].fd = entry[i] ? REG_ANY : REG_UNSEEN;
	}
	do {
		changed = 0;
		for (i = 0; i < n; i++) {
			if (st[i][BPF_REG_0].fd == REG_UNSEEN)
				continue;
			memcpy(out, st[i], sizeof(out));
			transfer(insn, i, out, succ);
			for (k = 0; k < 2; k++) {
				if (succ[k] < 0 || (size_t)succ[k] >= n)
					continue;
				for (r = 0; r < __MAX_BPF_REG; r++)
					changed |= meet(&st[succ[k]][r], &out[r]);
			}
			if (insn[i].code == (BPF_LD | BPF_IMM | BPF_DW))
				i++;
		}
	} while (changed);
	for (i = 0; i < n; i++) {
		const struct regval *a = &st[i][insn[i].src_reg];

		if (insn[i].code == (BPF_LD | BPF_IMM | BPF_DW)) {
			i++;
			continue;
		}
		if (insn[i].code != (BPF_LDX | BPF_MEM | BPF_W) || a->fd != pin->fd)
			continue;
		for (k = 0; k < PINS && a->off + insn[i].off != (long long)pin->off[k]; k++)
			;
		if (k == PINS)
			continue;
		insn[i] = (struct bpf_insn){.code = BPF_ALU64 | BPF_MOV | BPF_K,
					    .dst_reg = insn[i].dst_reg,
					    .imm = (__s32)pin->val[k]};
		pinned++;
	}
	free(st);
	free(entry);
	return pinned;
}

/* The verifier's last words on a refused program, for a one-line reason. */
static void load_failure_reason(enum bpf_prog_type type, const char *license,
				const struct bpf_insn *insns, size_t n,
				struct bpf_prog_load_opts *opts, char *why, size_t why_size)
{
	const size_t size = 1 << 20;
	char *log = calloc(1, size), *end, *line;
	int fd, lines = 0;

	if (!log)
		oom();
	opts->log_buf = log;
	opts->log_size = size;
	opts->log_level = 1;
	fd = bpf_prog_load(type, NULL, license, insns, n, opts);
	if (fd >= 0)
		close(fd);
	/* The reason is the last line before "processed N insns ...". */
	end = log + strlen(log);
	while (end > log && lines < 2) {
		while (end > log && end[-1] == '\n')
			*--end = '\0';
		line = end;
		while (line > log && line[-1] != '\n')
			line--;
		if (strncmp(line, "processed ", 10) && strncmp(line, "verification time", 17)) {
			snprintf(why, why_size, "%s", line);
			free(log);
			return;
		}
		end = line;
		lines++;
	}
	free(log);
}

/* Loads `prog` again as above and reads its translated code into x. Returns 0, or -1
 * with x->why saying why not; *poisoned is set when the verifier reached an instruction
 * libbpf poisoned for a relocation that did not resolve. */
static int reload_unknown_rodata(struct bpf_object *obj, const struct bpf_program *prog,
				 const struct pin *pin, const struct btf *host, struct xlated *x,
				 int *poisoned)
{
	const struct bpf_insn *src = bpf_program__insns(prog);
	size_t n = bpf_program__insn_cnt(prog), i;
	int orig[MAX_RODATA_MAPS], copy[MAX_RODATA_MAPS], nmaps = 0, k, fd = -1;
	int btf_fd = -1, prog_btf_fd = -1, ret = -1;
	LIBBPF_OPTS(bpf_prog_load_opts, opts);
	char *func_info = NULL;
	struct bpf_insn *insns = NULL;
	struct bpf_prog_info info;
	__u32 len = sizeof(info), zero = 0;
	const char *license;
	struct bpf_map *map;
	void *val = NULL;

	*poisoned = 0;
	for (map = bpf_object__next_map(obj, NULL); map; map = bpf_object__next_map(obj, map)) {
		__u32 size = bpf_map__value_size(map);
		void *p;

		if (!bpf_map__is_internal(map) || !(bpf_map__map_flags(map) & BPF_F_RDONLY_PROG))
			continue;
		if (nmaps == MAX_RODATA_MAPS) {
			snprintf(x->why, sizeof(x->why), "more than %d read-only sections",
				 MAX_RODATA_MAPS);
			goto out;
		}
		p = realloc(val, size);
		if (!p)
			oom();
		val = p;
		if (bpf_map_lookup_elem(bpf_map__fd(map), &zero, val)) {
			snprintf(x->why, sizeof(x->why), "reading %s: %s", bpf_map__name(map),
				 strerror(errno));
			goto out;
		}
		copy[nmaps] = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, sizeof(zero), size, 1, NULL);
		if (copy[nmaps] < 0) {
			snprintf(x->why, sizeof(x->why), "copy of %s: %s", bpf_map__name(map),
				 strerror(errno));
			goto out;
		}
		orig[nmaps] = bpf_map__fd(map);
		if (bpf_map_update_elem(copy[nmaps++], &zero, val, 0)) {
			snprintf(x->why, sizeof(x->why), "copy of %s: %s", bpf_map__name(map),
				 strerror(errno));
			goto out;
		}
	}

	insns = malloc(n * sizeof(*insns));
	if (!insns)
		oom();
	memcpy(insns, src, n * sizeof(*insns));
	if (pin->fd >= 0 && (k = pin_loads(insns, n, pin)) && verbose)
		fprintf(stderr,
			"reloc-check: %s: %d load(s) of tp_limits.use_perfbuf (%u) and "
			"coarse_clock (%u) pinned\n",
			bpf_program__name(prog), k, pin->val[0], pin->val[1]);
	for (i = 0; i + 1 < n; i++) {
		struct bpf_insn *ld = &insns[i];

		if (ld->code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		i++;
		if (ld->src_reg != BPF_PSEUDO_MAP_VALUE && ld->src_reg != BPF_PSEUDO_MAP_FD)
			continue;
		for (k = 0; k < nmaps && orig[k] != ld->imm; k++)
			;
		if (k < nmaps)
			ld->imm = copy[k];
	}

	/* The rest as libbpf loaded the program. */
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len)) {
		snprintf(x->why, sizeof(x->why), "program info: %s", strerror(errno));
		goto out;
	}
	if (set_func_info(bpf_program__fd(prog), &info, insns, n, &opts, &func_info, &prog_btf_fd,
			  x->why, sizeof(x->why)))
		goto out;
	opts.expected_attach_type = bpf_program__expected_attach_type(prog);
	opts.prog_flags = bpf_program__flags(prog);
	opts.kern_version = bpf_object__kversion(obj);
	opts.attach_btf_id = info.attach_btf_id;
	if (info.attach_btf_obj_id) {
		btf_fd = bpf_btf_get_fd_by_id(info.attach_btf_obj_id);
		if (btf_fd < 0) {
			snprintf(x->why, sizeof(x->why), "attach BTF: %s", strerror(errno));
			goto out;
		}
		opts.attach_btf_obj_fd = btf_fd;
	}
	license = info.gpl_compatible ? "GPL" : "Proprietary";
	fd = bpf_prog_load(bpf_program__type(prog), NULL, license, insns, n, &opts);
	if (fd < 0) {
		int err = errno;

		snprintf(x->why, sizeof(x->why), "%s", strerror(err));
		load_failure_reason(bpf_program__type(prog), license, insns, n, &opts, x->why,
				    sizeof(x->why));
		/* libbpf's CO-RE poison: a call of helper 0xbad2310 (relo_core.c). */
		*poisoned = strstr(x->why, "#195896080") != NULL;
		goto out;
	}
	scan_xlated(fd, host, x);
	ret = x->read ? 0 : -1;
out:
	if (fd >= 0)
		close(fd);
	if (btf_fd >= 0)
		close(btf_fd);
	if (prog_btf_fd >= 0)
		close(prog_btf_fd);
	free(func_info);
	for (k = 0; k < nmaps; k++)
		close(copy[k]);
	free(val);
	free(insns);
	return ret;
}

/* Helpers the program calls that the target lacks, each judged on the translated code
 * when it tells (see the top comment). Names come from the running kernel's BTF (the ids
 * in the code are its ids). Returns the number of missing ones. */
static int check_helpers(const struct calls *c, const struct btf *host, const struct btf *targ)
{
	const struct xlated *b = &c->as_built, *a = &c->any_rodata;
	const char *name, *fb;
	char label[96], why[512];
	int id, missing = 0;

	for (id = 0; id < MAX_HELPER_ID; id++) {
		if (!c->loaded[id] && !b->at[id] && !a->at[id])
			continue;
		name = enum_name_of(host, "bpf_func_id", id);
		if (!name || enum_has(targ, "bpf_func_id", name) != 0)
			continue;
		snprintf(label, sizeof(label), "helper %s", name + strlen("BPF_FUNC_"));
		fb = helper_fallback(name);
		if (fb && enum_has(targ, "bpf_func_id", fb) == 1) {
			printf("      %-42s not in target; libbpf uses %s there\n", label,
			       fb + strlen("BPF_FUNC_"));
			continue;
		}
		if (b->at[id])
			snprintf(why, sizeof(why), "called at translated insn %d", b->at[id] - 1);
		else if (a->at[id])
			snprintf(why, sizeof(why),
				 "called when .rodata is not as built: insn %d of the re-load",
				 a->at[id] - 1);
		else if (!b->read)
			snprintf(why, sizeof(why), "in the code libbpf loaded; %s", b->why);
		else if (may_be_inlined(name))
			snprintf(why, sizeof(why),
				 "no call of it, but this kernel may inline it: none would show");
		else if (b->unknown[0] || a->unknown[0])
			snprintf(why, sizeof(why), "may be the call of %s, known as no helper",
				 b->unknown[0] ? b->unknown : a->unknown);
		else if (!a->read)
			snprintf(why, sizeof(why),
				 "no call of it as built, and no re-load with .rodata unknown: %s",
				 a->why);
		else {
			printf("      %-42s target lacks it, but the loaded code never calls it "
			       "(dead code, removed by the verifier)\n",
			       label);
			strset_add(&dead, name + strlen("BPF_FUNC_"));
			continue;
		}
		printf("      %-42s TARGET LACKS it (id %d, %s)\n", label, id, why);
		strset_add(&lacking, name + strlen("BPF_FUNC_"));
		missing++;
	}
	return missing;
}

/* kfuncs called by the program as libbpf loaded it, looked up in the target's BTF. */
static int check_kfuncs(const struct bpf_program *prog, const struct btf *host,
			const struct btf *targ)
{
	const struct bpf_insn *insn = bpf_program__insns(prog);
	size_t i, n = bpf_program__insn_cnt(prog);
	const struct btf_type *t;
	const char *name;
	char label[96];
	int missing = 0;

	for (i = 0; i < n; i++) {
		if (insn[i].code != (BPF_JMP | BPF_CALL) ||
		    insn[i].src_reg != BPF_PSEUDO_KFUNC_CALL || insn[i].off != 0)
			continue;
		t = btf__type_by_id(host, insn[i].imm);
		if (!t)
			continue;
		name = btf__name_by_offset(host, t->name_off);
		if (btf__find_by_name_kind(targ, name, BTF_KIND_FUNC) < 0) {
			snprintf(label, sizeof(label), "kfunc %s", name);
			printf("      %-42s TARGET LACKS it\n", label);
			strset_add(&lacking, name);
			missing++;
		}
	}
	return missing;
}

/* Instructions libbpf poisoned: a CO-RE relocation it could not resolve (a call of
 * 0xbad2310), a map or kfunc it left out. All are calls of no helper id. */
static int count_poisoned(const struct bpf_program *prog)
{
	const struct bpf_insn *insn = bpf_program__insns(prog);
	size_t i, n = bpf_program__insn_cnt(prog);
	int poisoned = 0;

	for (i = 0; i < n; i++) {
		if (insn[i].code == (BPF_JMP | BPF_CALL) && insn[i].src_reg == 0 &&
		    (insn[i].imm < 0 || insn[i].imm >= MAX_HELPER_ID))
			poisoned++;
	}
	return poisoned;
}

/* Whether this kernel loads programs of `type` at all (cached). */
static int host_loads(enum bpf_prog_type type)
{
	static signed char known[256];

	if ((unsigned)type >= sizeof(known))
		return 1;
	if (!known[type])
		known[type] = libbpf_probe_bpf_prog_type(type, NULL) == 1 ? 1 : -1;
	return known[type] == 1;
}

/* tp_limits.use_perfbuf and coarse_clock of a loaded object, to pin in the re-load; fd
 * -1 if none. */
static struct pin find_pin(struct bpf_object *obj, int perf_buffer, int coarse)
{
	struct pin pin = {.fd = -1, .val = {perf_buffer ? 1 : 0, coarse ? 1 : 0}};
	struct bpf_map *map;

	if (!find_rodata_member(obj, "tp_limits", "use_perfbuf", &map, &pin.off[0]) &&
	    !find_rodata_member(obj, "tp_limits", "coarse_clock", &map, &pin.off[1]))
		pin.fd = bpf_map__fd(map);
	return pin;
}

/* A program this kernel refuses for its type alone: relocated, not verifiable here. */
static int not_verified(struct bpf_program *target, const char *label, const char *prog_name,
			const struct btf *host, const struct btf *targ, int check_features,
			int *lacks)
{
	const char *type = libbpf_bpf_prog_type_str(bpf_program__type(target));
	int poisoned = count_poisoned(target);
	struct calls *c;

	if (poisoned) {
		printf("  %-46s FAIL: %d relocation(s) not resolved; this kernel cannot load %s "
		       "programs to tell whether that code is dead\n",
		       label, poisoned, type ? type : "such");
		return 1;
	}
	printf("  %-46s NOT VERIFIED: relocated, but this kernel cannot load %s programs\n", label,
	       type ? type : "such");
	strset_add(&unverified, prog_name);
	if (!check_features)
		return 0;
	if (!host) {
		printf("      calls not checked: no BTF of the running kernel\n");
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		oom();
	scan_loaded(target, c);
	snprintf(c->as_built.why, sizeof(c->as_built.why), "not loaded here");
	*lacks += check_helpers(c, host, targ) + check_kfuncs(target, host, targ);
	free(c);
	return 0;
}

/* Opens OBJ against the target BTF and loads only program `prog_name`.
 * Returns 0 on success, 1 on a load failure, 2 if the object cannot be opened. */
static int check_prog(const char *obj_path, const char *btf_path, const char *prog_name,
		      int perf_buffer, int coarse, const struct btf *host, const struct btf *targ,
		      int check_features, int *lacks)
{
	struct bpf_program *prog, *target = NULL;
	struct bpf_object *obj;
	char label[96], msg[256];
	struct calls *c = NULL;
	struct pin pin;
	int err, poisoned, ret = 0;

	log_reset();
	obj = open_object(obj_path, btf_path, perf_buffer, coarse);
	if (!obj)
		return 2;
	for (prog = bpf_object__next_program(obj, NULL); prog;
	     prog = bpf_object__next_program(obj, prog)) {
		int mine = !strcmp(bpf_program__name(prog), prog_name);

		bpf_program__set_autoload(prog, mine);
		if (mine)
			target = prog;
	}
	snprintf(label, sizeof(label), "prog %s (%s)", prog_name,
		 target ? bpf_program__section_name(target) : "?");
	err = bpf_object__load(obj);
	/* Refused for its type alone, after libbpf did all its work. */
	if (err && target && !host_loads(bpf_program__type(target)) &&
	    log_has("BPF program load failed")) {
		ret = not_verified(target, label, prog_name, host, targ, check_features, lacks);
		goto out;
	}
	if (err || !target) {
		libbpf_strerror(err, msg, sizeof(msg));
		printf("  %-46s FAIL: %s\n", label, msg);
		print_failure_details();
		ret = 1;
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		oom();
	pin = find_pin(obj, perf_buffer, coarse);
	reload_unknown_rodata(obj, target, &pin, host, &c->any_rodata, &poisoned);
	if (poisoned) {
		printf("  %-46s FAIL: a relocation that did not resolve is reached when .rodata "
		       "is not as built\n      %s\n",
		       label, c->any_rodata.why);
		ret = 1;
		goto out;
	}
	printf("  %-46s OK (relocated, verified by this kernel)\n", label);
	if (!c->any_rodata.read)
		printf("      not re-verified with .rodata unknown: %s\n", c->any_rodata.why);
	if (!check_features)
		goto out;
	if (!host) {
		printf("      calls not checked: no BTF of the running kernel\n");
		goto out;
	}
	scan_loaded(target, c);
	scan_xlated(bpf_program__fd(target), host, &c->as_built);
	*lacks += check_helpers(c, host, targ) + check_kfuncs(target, host, targ);
out:
	free(c);
	bpf_object__close(obj);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: reloc-check [-v] [--relocs-only] [--perf-buffer] [--optional PROG]...\n"
		   "                   OBJ BTF\n"
		   "  OBJ  a BPF object (clang -target bpf, with .BTF and .BTF.ext)\n"
		   "  BTF  the target kernel's BTF (raw .BTF data or an ELF file with .BTF)\n"
		   "  -v              print libbpf's whole output (relocation log, verifier log)\n"
		   "  --relocs-only   skip the map type / program type / helper check\n"
		   "  --perf-buffer   configure OBJ like the sensor without ring buffers:\n"
		   "                  tp_limits.use_perfbuf = 1, \"events\" a perf event array\n"
		   "  --optional PROG the sensor does without PROG where its type is missing\n");
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{"verbose", no_argument, NULL, 'v'},
		{"relocs-only", no_argument, NULL, 'r'},
		{"perf-buffer", no_argument, NULL, 'p'},
		{"optional", required_argument, NULL, 'o'}, /* may be given several times */
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *obj_path, *btf_path;
	struct strset optional = {0};
	struct btf *targ, *host;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	int coarse; /* the sensor's tp_limits.coarse_clock there */
	char **names = NULL;
	unsigned char *skip = NULL;
	size_t nprogs = 0, i, k;
	int c, check_features = 1, perf_buffer = 0, failed = 0, lacks = 0, ret;

	while ((c = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			verbose = 1;
			break;
		case 'r':
			check_features = 0;
			break;
		case 'p':
			perf_buffer = 1;
			break;
		case 'o':
			strset_add(&optional, optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	obj_path = argv[optind];
	btf_path = argv[optind + 1];
	libbpf_set_print(libbpf_print);

	targ = btf__parse(btf_path, NULL);
	if (!targ) {
		fprintf(stderr, "reloc-check: %s: not a BTF file: %s\n", btf_path,
			libbpf_errstr(errno));
		return EXIT_USAGE;
	}
	host = btf__load_vmlinux_btf();
	coarse = enum_has(targ, "bpf_func_id", "BPF_FUNC_ktime_get_coarse_ns") == 1;

	/* A first open only lists what the object holds, configured as it will be loaded:
	 * with --perf-buffer, "events" is a perf event array. */
	obj = open_object(obj_path, btf_path, perf_buffer, coarse);
	if (!obj)
		return EXIT_USAGE;
	printf("%s against %s (%u types)%s\n", obj_path, btf_path, btf__type_cnt(targ) - 1,
	       perf_buffer ? ", perf buffer configuration" : "");
	for (prog = bpf_object__next_program(obj, NULL); prog;
	     prog = bpf_object__next_program(obj, prog)) {
		char **p = realloc(names, (nprogs + 1) * sizeof(*names));
		unsigned char *s = realloc(skip, nprogs + 1);
		const char *name = bpf_program__name(prog), *opt = NULL;

		if (p)
			names = p;
		if (s)
			skip = s;
		if (!p || !s || !(names[nprogs] = strdup(name)))
			oom();
		skip[nprogs] = 0;
		for (k = 0; k < optional.n; k++) {
			if (!strcmp(optional.v[k], name))
				opt = name;
		}
		if (check_features) {
			char label[96];
			size_t before = skipped.n;

			snprintf(label, sizeof(label), "prog %s", name);
			lacks += check_type(targ, label, "bpf_prog_type", "BPF_PROG_TYPE_",
					    libbpf_bpf_prog_type_str(bpf_program__type(prog)), opt);
			skip[nprogs] = skipped.n > before;
		}
		nprogs++;
	}
	if (check_features) {
		for (map = bpf_object__next_map(obj, NULL); map;
		     map = bpf_object__next_map(obj, map)) {
			char label[96];

			snprintf(label, sizeof(label), "map %s", bpf_map__name(map));
			lacks += check_type(targ, label, "bpf_map_type", "BPF_MAP_TYPE_",
					    libbpf_bpf_map_type_str(bpf_map__type(map)), NULL);
		}
	}
	bpf_object__close(obj);

	/* One program per load: a failure names its program and hides no other. A skipped
	 * program never runs on the target, so its relocations there do not matter. */
	for (i = 0; i < nprogs; i++) {
		ret = skip[i] ? 0
			      : check_prog(obj_path, btf_path, names[i], perf_buffer, coarse, host,
					   targ, check_features, &lacks);
		if (ret == 2)
			return EXIT_USAGE;
		failed += ret;
		free(names[i]);
	}
	free(names);
	free(skip);
	btf__free(host);
	btf__free(targ);
	free(log_buf);
	ksyms_free();

	printf("result: %zu program(s), %d failed to relocate or load", nprogs, failed);
	if (check_features)
		printf(", %d thing(s) the target kernel lacks", lacks);
	printf(", %zu not verified here\n", unverified.n);
	strset_print(&lacking, "lacks");
	strset_print(&dead, "dead");
	strset_print(&unverified, "unverified");
	strset_print(&skipped, "skipped");
	if (failed)
		ret = EXIT_LOAD_FAILED;
	else if (lacks)
		ret = EXIT_TARGET_LACKS;
	else if (unverified.n)
		ret = EXIT_NOT_VERIFIED;
	else
		ret = 0;
	strset_free(&optional);
	strset_free(&lacking);
	strset_free(&dead);
	strset_free(&unverified);
	strset_free(&skipped);
	return ret;
}
