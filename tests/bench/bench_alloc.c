/* bench_alloc.c - an allocation-heavy program for the memory observer's tracking
 * benchmark (bench_memory_tracking.sh).
 *
 *   bench_alloc churn N   after a line on stdin: N malloc/free pairs of 16-4096 bytes on
 *                         a working set of 1024 live blocks, each block touched; prints
 *                         "ns_per_op <ns>" (one op = one malloc and one free)
 *   bench_alloc churn-for MS  the same for MS milliseconds instead of N pairs (for
 *                         time-sampled tracking, whose cost comes in windows)
 *   bench_alloc hold N    after a line on stdin: allocates N blocks of 64 bytes and keeps
 *                         them; prints "held N", then waits for stdin to close
 *
 * Waiting on stdin lets the benchmark start the sensor with --memory-track pid:<this>
 * before the work begins. Plain libc calls, nothing the compiler may drop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIVE 1024

static void *volatile live[LIVE];
static void *volatile held; /* where hold's blocks escape to */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* n pairs, or for ms milliseconds when ms > 0 (the clock read every 1024 pairs). */
static void churn(long n, long ms)
{
	uint32_t x = 2463534242u;
	uint64_t t0, stop;

	for (int i = 0; i < LIVE; i++)
		live[i] = malloc(64);
	t0 = now_ns();
	stop = t0 + (uint64_t)ms * 1000000ULL;
	for (long i = 0; i < n || ms > 0; i++) {
		uint32_t slot, size;
		char *p;

		if (ms > 0 && !(i & 1023) && now_ns() >= stop) {
			n = i;
			break;
		}
		x ^= x << 13; /* xorshift: a fixed, cheap size and slot sequence */
		x ^= x >> 17;
		x ^= x << 5;
		slot = x % LIVE;
		size = 16 + (x >> 10) % 4081;
		free(live[slot]);
		p = malloc(size);
		p[0] = (char)i;
		p[size - 1] = (char)i;
		live[slot] = p;
	}
	printf("ns_per_op %.1f\n", (double)(now_ns() - t0) / (double)n);
	for (int i = 0; i < LIVE; i++)
		free(live[i]);
}

int main(int argc, char **argv)
{
	char line[16];
	long n;

	if (argc != 3 || (n = atol(argv[2])) <= 0)
		return 2;
	if (!fgets(line, sizeof(line), stdin))
		return 3;
	if (!strcmp(argv[1], "churn")) {
		churn(n, 0);
		return 0;
	}
	if (!strcmp(argv[1], "churn-for")) {
		churn(0, n);
		return 0;
	}
	if (!strcmp(argv[1], "hold")) {
		for (long i = 0; i < n; i++) {
			char *p = malloc(64);

			p[0] = 1;
			held = p; /* never freed: a leak on purpose */
		}
		printf("held %ld\n", n);
		fflush(stdout);
		while (fgets(line, sizeof(line), stdin))
			;
		return 0;
	}
	return 2;
}
