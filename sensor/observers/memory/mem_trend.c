/* mem_trend.c - see mem_trend.h. */
#include "observers/memory/mem_trend.h"

#include <string.h>

static int idx(const struct mem_trend *t, int i)
{
	return (t->head + i) % MEM_TREND_CAP;
}

uint64_t mem_trend_last(const struct mem_trend *t)
{
	return t->n ? t->v[idx(t, t->n - 1)] : 0;
}

uint64_t mem_trend_span_ms(const struct mem_trend *t)
{
	if (t->n < 2)
		return 0;
	return t->t_ms[idx(t, t->n - 1)] - t->t_ms[t->head];
}

void mem_trend_add(struct mem_trend *t, uint64_t t_ms, uint64_t v, uint64_t window_ms)
{
	uint64_t gap = window_ms / MEM_TREND_CAP;
	int last;

	if (t->n) {
		last = idx(t, t->n - 1);
		if (t_ms < t->t_ms[last]) {
			memset(t, 0, sizeof(*t));
		} else if (t_ms - t->t_ms[last] < gap) {
			return;
		}
	}
	/* The oldest sample goes only when the next one alone still reaches back a whole
	 * window: the history then always covers the window, whatever the timer jitter. */
	while (t->n >= 2 && t_ms - t->t_ms[idx(t, 1)] >= window_ms) {
		t->head = idx(t, 1);
		t->n--;
	}
	if (t->n == MEM_TREND_CAP) { /* cannot happen with the gap above; stay bounded */
		t->head = idx(t, 1);
		t->n--;
	}
	t->t_ms[idx(t, t->n)] = t_ms;
	t->v[idx(t, t->n)] = v;
	t->n++;
}

/* Centred on the first sample so the sums stay small and exact enough in a double. */
int mem_trend_slope(const struct mem_trend *t, double *bytes_per_sec)
{
	double st = 0, sv = 0, stt = 0, stv = 0, n = t->n, den;
	uint64_t t0, v0;

	if (t->n < MEM_TREND_MIN_SAMPLES)
		return -1;
	t0 = t->t_ms[t->head];
	v0 = t->v[t->head];
	for (int i = 0; i < t->n; i++) {
		double x = (double)(t->t_ms[idx(t, i)] - t0) / 1000.0;
		double y = (double)t->v[idx(t, i)] - (double)v0;

		st += x;
		sv += y;
		stt += x * x;
		stv += x * y;
	}
	den = n * stt - st * st;
	if (den <= 0)
		return -1;
	*bytes_per_sec = (n * stv - st * sv) / den;
	return 0;
}

int mem_trend_predict(uint64_t headroom, double bytes_per_sec, uint64_t horizon_ms,
		      uint64_t *eta_ms)
{
	double eta;

	if (bytes_per_sec <= 0)
		return 0;
	eta = (double)headroom / bytes_per_sec * 1000.0;
	if (eta > (double)horizon_ms)
		return 0;
	*eta_ms = (uint64_t)eta;
	return 1;
}

int mem_trend_leaking(const struct mem_trend *t, uint64_t window_ms, uint64_t *grown,
		      double *bytes_per_sec)
{
	uint64_t first, last, max_first = 0, min_second = UINT64_MAX;
	int drops = 0, half;

	if (t->n < MEM_TREND_MIN_SAMPLES || mem_trend_span_ms(t) * 10 < window_ms * 9)
		return 0;
	first = t->v[t->head];
	last = mem_trend_last(t);
	if (last <= first || mem_trend_slope(t, bytes_per_sec) < 0 || *bytes_per_sec <= 0)
		return 0;
	half = t->n / 2;
	for (int i = 0; i < t->n; i++) {
		uint64_t v = t->v[idx(t, i)];

		if (i && v < t->v[idx(t, i - 1)])
			drops++;
		if (i < half && v > max_first)
			max_first = v;
		if (i >= t->n - half && v < min_second)
			min_second = v;
	}
	if (drops * 5 > t->n - 1 || min_second < max_first)
		return 0;
	*grown = last - first;
	return 1;
}
