/* mem_trend.h - the arithmetic of OOM prediction: a bounded history of usage samples,
 * its least-squares growth, and when that growth reaches a limit.
 *
 * Pure functions on plain numbers (no I/O), shared by the memory observer's sampler and
 * its unit tests. Times are milliseconds, usage is bytes.
 */
#ifndef TAPIO_MEM_TREND_H
#define TAPIO_MEM_TREND_H

#include <stdint.h>

#define MEM_TREND_CAP 64	/* samples kept per subject */
#define MEM_TREND_MIN_SAMPLES 5 /* fewer samples fit no trend */

struct mem_trend {
	uint64_t t_ms[MEM_TREND_CAP];
	uint64_t v[MEM_TREND_CAP];
	int head; /* index of the oldest sample */
	int n;
};

/* Adds a sample taken at t_ms and forgets the samples older than window_ms before it,
 * but for the one that keeps the history reaching back a whole window. Samples closer
 * than window_ms / MEM_TREND_CAP to the newest one are not stored, so the history stays
 * bounded; a time that goes back resets the history. */
void mem_trend_add(struct mem_trend *t, uint64_t t_ms, uint64_t v, uint64_t window_ms);

/* The newest sample's value (0 when empty). */
uint64_t mem_trend_last(const struct mem_trend *t);
/* Time from the oldest to the newest sample. */
uint64_t mem_trend_span_ms(const struct mem_trend *t);

/* Least-squares slope of the history in bytes per second. Returns 0, or -1 when there
 * are fewer than MEM_TREND_MIN_SAMPLES samples or they span no time. */
int mem_trend_slope(const struct mem_trend *t, double *bytes_per_sec);

/* Whether growth at `bytes_per_sec` uses up `headroom` bytes within horizon_ms: returns 1
 * and the time it takes in *eta_ms (0 when no headroom is left), or 0 when usage does not
 * grow or does not reach the limit within the horizon. */
int mem_trend_predict(uint64_t headroom, double bytes_per_sec, uint64_t horizon_ms,
		      uint64_t *eta_ms);

/* Whether the history looks like a leak over window_ms: it spans at least 90 % of the
 * window, ends higher than it began, its least-squares slope is positive, at most one
 * step in five goes down, and nothing in its second half is below anything in its first
 * half (it keeps growing rather than having grown once). Returns 1 with the growth
 * (*grown: last less first, *bytes_per_sec: the slope), else 0. */
int mem_trend_leaking(const struct mem_trend *t, uint64_t window_ms, uint64_t *grown,
		      double *bytes_per_sec);

#endif
