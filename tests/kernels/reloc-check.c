/* reloc-check.c - does a BPF object relocate against another kernel's types, and verify?
 *
 * usage: reloc-check [-v] [--relocs-only] OBJ BTF
 *
 * For each program of OBJ: opens the object with bpf_object_open_opts.btf_custom_path =
 * BTF, so that libbpf resolves every CO-RE relocation against that kernel's types, and
 * loads that one program (with the maps) into the running kernel, whose verifier checks
 * the relocated code. Prints OK or the libbpf error per program; for a failed CO-RE
 * relocation, the field it could not find.
 *
 * A relocation only proves the types fit. Unless --relocs-only is given, the check also
 * asks the target's BTF whether that kernel has what the object needs at all: every map
 * type (enum bpf_map_type), program type (enum bpf_prog_type), helper (enum bpf_func_id)
 * and kfunc the loaded programs use. A helper that is only reached in code the verifier
 * finds dead on that kernel is reported too: the scan cannot know which branches die.
 *
 * Exit status: 0 all good, 1 a program failed to relocate or load, 2 usage or I/O error,
 * 3 everything loaded but the target kernel lacks a map type, program type or helper.
 */
#define _GNU_SOURCE
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_LOAD_FAILED 1
#define EXIT_USAGE 2
#define EXIT_TARGET_LACKS 3

/* Helper ids are below a few hundred; anything above is a libbpf poison marker. */
#define MAX_HELPER_ID 1024

/* Lines of libbpf output shown for a failure that names no CO-RE relocation. */
#define TAIL_LINES 25

static int verbose;

/* libbpf's INFO and WARN output of the current attempt, to show when it fails. */
static char *log_buf;
static size_t log_len, log_cap;

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

/* 1 if enum `enum_name` of `btf` has an enumerator called `value`, 0 if not, -1 if the
 * BTF has no such enum (nothing can be concluded then). */
static int enum_has(const struct btf *btf, const char *enum_name, const char *value)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	int id, i;

	id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM);
	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (i = 0; i < btf_vlen(t); i++) {
		if (!strcmp(btf__name_by_offset(btf, e[i].name_off), value))
			return 1;
	}
	return 0;
}

/* The name of value `val` of enum `enum_name` in `btf`, or NULL. */
static const char *enum_name_of(const struct btf *btf, const char *enum_name, __s64 val)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	int id, i;

	if (!btf)
		return NULL;
	id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM);
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
 * Returns 1 when the target lacks it. */
static int check_type(const struct btf *targ, const char *label, const char *enum_name,
		      const char *prefix, const char *short_name)
{
	char name[128];
	int has;

	if (!short_name) {
		printf("  %-46s unknown type, not checked\n", label);
		return 0;
	}
	uapi_name(name, sizeof(name), prefix, short_name);
	has = enum_has(targ, enum_name, name);
	if (has == 0) {
		printf("  %-46s TARGET LACKS %s (not in its enum %s)\n", label, name, enum_name);
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

/* Helpers and kfuncs called by a loaded program, looked up in the target's BTF.
 * Names come from the running kernel's BTF (the ids in the code are its ids).
 * Returns the number of missing ones. */
static int check_calls(const struct bpf_program *prog, const struct btf *host,
		       const struct btf *targ)
{
	const struct bpf_insn *insn = bpf_program__insns(prog);
	size_t i, n = bpf_program__insn_cnt(prog);
	unsigned char seen[MAX_HELPER_ID] = {0};
	const char *name, *fb;
	char label[96];
	int missing = 0, has;

	if (!host) {
		printf("      calls not checked: no BTF of the running kernel\n");
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (insn[i].code != (BPF_JMP | BPF_CALL))
			continue;
		if (insn[i].src_reg == BPF_PSEUDO_KFUNC_CALL && insn[i].off == 0) {
			const struct btf_type *t = btf__type_by_id(host, insn[i].imm);

			if (!t)
				continue;
			name = btf__name_by_offset(host, t->name_off);
			if (btf__find_by_name_kind(targ, name, BTF_KIND_FUNC) < 0) {
				snprintf(label, sizeof(label), "kfunc %s", name);
				printf("      %-42s TARGET LACKS it\n", label);
				missing++;
			}
			continue;
		}
		if (insn[i].src_reg != 0 || insn[i].imm < 0 || insn[i].imm >= MAX_HELPER_ID ||
		    seen[insn[i].imm])
			continue;
		seen[insn[i].imm] = 1;
		name = enum_name_of(host, "bpf_func_id", insn[i].imm);
		if (!name)
			continue;
		has = enum_has(targ, "bpf_func_id", name);
		if (has != 0)
			continue;
		snprintf(label, sizeof(label), "helper %s", name + strlen("BPF_FUNC_"));
		fb = helper_fallback(name);
		if (fb && enum_has(targ, "bpf_func_id", fb) == 1) {
			printf("      %-42s not in target; libbpf uses %s there\n", label,
			       fb + strlen("BPF_FUNC_"));
			continue;
		}
		printf("      %-42s TARGET LACKS it (id %d)\n", label, insn[i].imm);
		missing++;
	}
	return missing;
}

/* Opens OBJ against the target BTF and loads only program `prog_name`.
 * Returns 0 on success, 1 on a load failure, 2 if the object cannot be opened. */
static int check_prog(const char *obj_path, const char *btf_path, const char *prog_name,
		      const struct btf *host, const struct btf *targ, int check_features,
		      int *lacks)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf_path);
	struct bpf_program *prog, *target = NULL;
	struct bpf_object *obj;
	char label[96], msg[256];
	int err;

	log_reset();
	obj = bpf_object__open_file(obj_path, &opts);
	if (!obj) {
		fprintf(stderr, "reloc-check: open %s: %s\n", obj_path, libbpf_errstr(errno));
		return 2;
	}
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
	if (err) {
		libbpf_strerror(err, msg, sizeof(msg));
		printf("  %-46s FAIL: %s\n", label, msg);
		print_failure_details();
		bpf_object__close(obj);
		return 1;
	}
	printf("  %-46s OK (relocated, verified by this kernel)\n", label);
	if (check_features && target)
		*lacks += check_calls(target, host, targ);
	bpf_object__close(obj);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: reloc-check [-v] [--relocs-only] OBJ BTF\n"
		   "  OBJ  a BPF object (clang -target bpf, with .BTF and .BTF.ext)\n"
		   "  BTF  the target kernel's BTF (raw .BTF data or an ELF file with .BTF)\n"
		   "  -v             print libbpf's whole output (relocation log, verifier log)\n"
		   "  --relocs-only  skip the map type / program type / helper check\n");
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{"verbose", no_argument, NULL, 'v'},
		{"relocs-only", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *obj_path, *btf_path;
	struct btf *targ, *host;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	char **names = NULL;
	size_t nprogs = 0, i;
	int c, check_features = 1, failed = 0, lacks = 0, ret;

	while ((c = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			verbose = 1;
			break;
		case 'r':
			check_features = 0;
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

	/* A first open only lists what the object holds. */
	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj) {
		fprintf(stderr, "reloc-check: open %s: %s\n", obj_path, libbpf_errstr(errno));
		return EXIT_USAGE;
	}
	printf("%s against %s (%u types)\n", obj_path, btf_path, btf__type_cnt(targ) - 1);
	for (prog = bpf_object__next_program(obj, NULL); prog;
	     prog = bpf_object__next_program(obj, prog)) {
		char **p = realloc(names, (nprogs + 1) * sizeof(*names));

		if (!p || !(p[nprogs] = strdup(bpf_program__name(prog)))) {
			fprintf(stderr, "reloc-check: out of memory\n");
			return EXIT_USAGE;
		}
		names = p;
		nprogs++;
		if (check_features) {
			char label[96];

			snprintf(label, sizeof(label), "prog %s", bpf_program__name(prog));
			lacks += check_type(targ, label, "bpf_prog_type", "BPF_PROG_TYPE_",
					    libbpf_bpf_prog_type_str(bpf_program__type(prog)));
		}
	}
	if (check_features) {
		for (map = bpf_object__next_map(obj, NULL); map;
		     map = bpf_object__next_map(obj, map)) {
			char label[96];

			snprintf(label, sizeof(label), "map %s", bpf_map__name(map));
			lacks += check_type(targ, label, "bpf_map_type", "BPF_MAP_TYPE_",
					    libbpf_bpf_map_type_str(bpf_map__type(map)));
		}
	}
	bpf_object__close(obj);

	/* One program per load: a failure names its program and hides no other. */
	for (i = 0; i < nprogs; i++) {
		ret = check_prog(obj_path, btf_path, names[i], host, targ, check_features, &lacks);
		if (ret == 2)
			return EXIT_USAGE;
		failed += ret;
		free(names[i]);
	}
	free(names);
	btf__free(host);
	btf__free(targ);
	free(log_buf);

	printf("result: %zu program(s), %d failed to relocate or load", nprogs, failed);
	if (check_features)
		printf(", %d thing(s) the target kernel lacks", lacks);
	printf("\n");
	if (failed)
		return EXIT_LOAD_FAILED;
	return lacks ? EXIT_TARGET_LACKS : 0;
}
