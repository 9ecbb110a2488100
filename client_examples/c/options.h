/* Command line of tapio-events; --help prints the full description. */
#ifndef TAPIO_CLIENT_OPTIONS_H
#define TAPIO_CLIENT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct name_list {
	char **v;
	size_t n;
};

struct pid_list {
	uint32_t *v;
	size_t n;
};

/* One EventFilter's worth of flags. */
struct filter_options {
	struct name_list observers;
	struct name_list types;
	struct pid_list pids;
};

struct options {
	const char *target;
	struct filter_options allow;
	struct filter_options deny;
	uint32_t batch;
	uint32_t delay_ms;
	uint32_t queue;
	uint64_t count; /* 0: no limit */
	double timeout; /* seconds, 0: none */
	bool status;
	bool quiet;
};

enum options_result { OPTIONS_RUN, OPTIONS_HELP, OPTIONS_INVALID };

/* Parses argv into opt (which then needs options_free whatever the result). Prints what
 * was wrong on stderr for OPTIONS_INVALID, the help on stdout for OPTIONS_HELP. */
enum options_result options_parse(struct options *opt, int argc, char **argv);
void options_free(struct options *opt);

#endif
