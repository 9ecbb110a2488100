/* selftest.h - `tapio-sensor --self-test`: a preflight check of the whole pipeline.
 *
 * Starts every observer the kernel supports (no gRPC server), asks each to cause a
 * representative event of its own, watches what comes out of the hub, and prints a table:
 * observer, attach points used, attachments skipped and why, PASS/FAIL with what was
 * checked. Values read through CO-RE are compared with what the test knows to be true
 * (a wrong BTF loads fine and reads garbage). The exit status is 0 only if all passed.
 */
#ifndef TAPIO_SELFTEST_H
#define TAPIO_SELFTEST_H

#include <stdint.h>

#include "core/pb.h"

struct sensor;

/* One observer's case. The observer keeps its own scratch in v[]. */
struct selftest_case {
	int done;
	int passed;
	char detail[256];
	uint64_t v[8];
};

/* argv[0] of the helper process the process observer's case spawns (main() turns it
 * into a plain exit with the code given as argv[1]). */
#define SELFTEST_CHILD_NAME "tapio-selftest-child"
/* With argv[1] "grow" it is the memory observer's OOM victim instead: it waits for a byte
 * on stdin (sent once it is in its memory cgroup), then allocates until killed
 * (observers/memory/mem_selftest.c). */
int selftest_child_grow(void);

/* Subscribes to the hub, starts every running observer's case, arms the timeout. */
int selftest_start(struct sensor *s);
void selftest_pass(struct selftest_case *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void selftest_fail(struct selftest_case *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
