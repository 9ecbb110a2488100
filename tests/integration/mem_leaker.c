/* mem_leaker.c - the allocation-tracking tests' target program (built by the test with
 * gcc -O0 -g -fno-omit-frame-pointer, so its stacks walk and its lines resolve).
 *
 *   mem_leaker fixed   after a line on stdin: leaks exactly LEAK_COUNT blocks of
 *                      LEAK_SIZE bytes from leak_here(), allocates and frees many others
 *                      (malloc, calloc, realloc, anonymous mmap) from churn(), prints
 *                      "done", then waits for stdin to close
 *   mem_leaker steady  after a line on stdin: leaks STEADY_SIZE bytes from leak_slowly()
 *                      every 100 ms while churning, until killed
 *   mem_leaker spin N  allocates and frees N blocks, prints "done", exits (no wait)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define LEAK_COUNT 100
#define LEAK_SIZE 1000
#define STEADY_SIZE 8192

static void *volatile sink[LEAK_COUNT * 1000];
static int n_sink;

__attribute__((noinline)) static void *leak_here(size_t n)
{
	void *p = malloc(n); /* site: leak_here */

	memset(p, 1, n);
	return p;
}

__attribute__((noinline)) static void *leak_slowly(size_t n)
{
	void *p = malloc(n); /* site: leak_slowly */

	memset(p, 2, n);
	return p;
}

__attribute__((noinline)) static void churn(int rounds)
{
	for (int i = 0; i < rounds; i++) {
		char *a = malloc(64 + (i % 64) * 64);
		char *b = calloc(16, 32);
		char *c = realloc(NULL, 100);
		char *big = malloc(256 << 10); /* past the mmap threshold: malloc's own mmap */
		void *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		c = realloc(c, 5000);
		a[0] = b[0] = c[0] = big[0] = 1;
		free(big);
		free(a);
		free(b);
		free(c);
		if (m != MAP_FAILED)
			munmap(m, 1 << 16);
	}
}

static void wait_go(void)
{
	char line[16];

	if (!fgets(line, sizeof(line), stdin))
		exit(3);
}

int main(int argc, char **argv)
{
	char line[16];

	if (argc == 3 && !strcmp(argv[1], "spin")) {
		long n = atol(argv[2]);

		for (long i = 0; i < n; i++)
			free(malloc(32));
		puts("done");
		return 0;
	}
	if (argc != 2)
		return 2;
	wait_go();
	if (!strcmp(argv[1], "fixed")) {
		for (int i = 0; i < LEAK_COUNT; i++) {
			sink[n_sink++] = leak_here(LEAK_SIZE);
			churn(10);
		}
		puts("done");
		fflush(stdout);
		while (fgets(line, sizeof(line), stdin))
			;
		return 0;
	}
	if (!strcmp(argv[1], "steady")) {
		struct timespec ts = {0, 100 * 1000 * 1000};

		while (n_sink < (int)(sizeof(sink) / sizeof(sink[0]))) {
			sink[n_sink++] = leak_slowly(STEADY_SIZE);
			churn(5);
			nanosleep(&ts, NULL);
		}
		return 0;
	}
	return 2;
}
