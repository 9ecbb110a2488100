/* storm: an exec/fork storm for benchmarks. W workers each fork and exec /bin/true N
 * times, waiting for each child. Prints the processes/s it achieved.
 * Usage: storm N W */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void worker(long n)
{
	char *argv[] = {"/bin/true", NULL};

	for (long i = 0; i < n; i++) {
		pid_t pid;
		int st;

		if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0)
			waitpid(pid, &st, 0);
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000;
	int w = argc > 2 ? atoi(argv[2]) : 2;
	struct timespec a, b;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < w; i++)
		if (fork() == 0) {
			worker(n);
			_exit(0);
		}
	while (wait(NULL) > 0)
		;
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("storm: %ld processes (fork+exec+exit) in %.2f s: %.0f/s\n", n * w, secs,
	       (double)(n * w) / secs);
	return 0;
}
