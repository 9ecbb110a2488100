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

/* The credit a bucket holds at time `now`, before any charge; *elapsed: the time passed
 * since its last update. A reading behind the last one (another CPU's, or the coarse clock
 * after a precise one) counts as no time passed. */
TP_INLINE __u64 tp_bucket_credit(const struct tp_bucket *b, __u64 now, __u64 burst, __u64 *elapsed)
{
	__u64 credit;

	*elapsed = now > b->last ? now - b->last : 0;
	if (b->last == 0 || *elapsed >= burst)
		return burst; /* first use, or idle long enough: full */
	credit = b->credit + *elapsed;
	return credit > burst ? burst : credit;
}

/* Returns 1 when an event may pass at time `now` (and charges it), 0 when limited. */
TP_INLINE int tp_bucket_take(struct tp_bucket *b, __u64 now, __u64 cost, __u64 burst)
{
	__u64 elapsed, credit;

	if (cost == 0)
		return 1;
	credit = tp_bucket_credit(b, now, burst, &elapsed);
	b->last += elapsed;
	if (credit < cost) {
		b->credit = credit;
		return 0;
	}
	b->credit = credit - cost;
	return 1;
}

/* Returns 1 when tp_bucket_take would let an event pass at time `now`; charges nothing
 * and writes nothing. */
TP_INLINE int tp_bucket_can_pay(const struct tp_bucket *b, __u64 now, __u64 cost, __u64 burst)
{
	__u64 elapsed;

	return cost == 0 || tp_bucket_credit(b, now, burst, &elapsed) >= cost;
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
