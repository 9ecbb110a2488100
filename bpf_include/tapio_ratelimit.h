/* tapio_ratelimit.h - token bucket and 1:N sampling arithmetic.
 *
 * Pure functions on plain integers so the BPF side and the unit tests run the same code.
 * The bucket counts credit in nanoseconds: time adds credit one for one, an event costs
 * `cost` (1e9 / per-CPU rate), and credit is capped at `burst`. This form never
 * multiplies time by a rate, so it cannot overflow.
 */
#ifndef TAPIO_RATELIMIT_H
#define TAPIO_RATELIMIT_H

#ifndef __bpf__
#include <linux/types.h>
#define TP_INLINE static inline
#else
#define TP_INLINE static __always_inline
#endif

struct tp_bucket {
	__u64 credit; /* ns of credit */
	__u64 last;   /* ns timestamp of the last update; 0 = never */
};

/* Returns 1 when an event may pass at time `now` (and charges it), 0 when limited. */
TP_INLINE int tp_bucket_take(struct tp_bucket *b, __u64 now, __u64 cost, __u64 burst)
{
	/* A reading behind the last one (another CPU's, or the coarse clock after a precise
	 * one) counts as no time passed. */
	__u64 elapsed = now > b->last ? now - b->last : 0, credit;

	if (cost == 0)
		return 1;
	if (b->last == 0 || elapsed >= burst)
		credit = burst; /* first use, or idle long enough: full */
	else
		credit = b->credit + elapsed;
	if (credit > burst)
		credit = burst;
	b->last += elapsed;
	if (credit < cost) {
		b->credit = credit;
		return 0;
	}
	b->credit = credit - cost;
	return 1;
}

/* Returns 1 for the event to keep: every `every`-th one (counter is per CPU). */
TP_INLINE int tp_sample_keep(__u64 *counter, __u32 every)
{
	if (every <= 1)
		return 1;
	*counter += 1;
	return *counter % every == 0;
}

#endif
