/* The token bucket and 1:N sampling arithmetic the BPF programs run (tapio_ratelimit.h),
 * and the cost/burst the sensor derives from a rate. */
#include <criterion/criterion.h>

#include <stdint.h>

#include "tapio_ratelimit.h"

#define SEC 1000000000ULL

Test(ratelimit, unlimited_when_cost_is_zero)
{
	struct tp_bucket b = {0};

	for (int i = 0; i < 1000; i++)
		cr_assert_eq(tp_bucket_take(&b, 1, 0, 0), 1);
}

Test(ratelimit, burst_then_steady_rate)
{
	/* 100 events/s on one CPU: cost 10 ms, burst one second (100 events). */
	struct tp_bucket b = {0};
	uint64_t cost = SEC / 100, burst = cost * 100, now = 5 * SEC;
	int passed = 0;

	for (int i = 0; i < 1000; i++)
		passed += tp_bucket_take(&b, now, cost, burst);
	cr_assert_eq(passed, 100, "a full bucket lets exactly the burst through");

	/* One more second at 1 event per ms: exactly 100 more pass. */
	passed = 0;
	for (int ms = 1; ms <= 1000; ms++)
		passed += tp_bucket_take(&b, now + ms * 1000000ULL, cost, burst);
	cr_assert_eq(passed, 100);
}

Test(ratelimit, long_run_matches_rate)
{
	struct tp_bucket b = {0};
	uint64_t cost = SEC / 250, burst = cost * 10, now = SEC;
	int passed = 0;

	/* 10 s of one attempt every 100 us: 250/s plus the initial burst of 10. */
	for (int i = 0; i < 100000; i++)
		passed += tp_bucket_take(&b, now + (uint64_t)i * 100000ULL, cost, burst);
	cr_assert(passed >= 2500 && passed <= 2511, "passed %d", passed);
}

Test(ratelimit, idle_refills_only_to_burst)
{
	struct tp_bucket b = {0};
	uint64_t cost = SEC, burst = 3 * SEC;
	int passed = 0;

	for (int i = 0; i < 10; i++)
		passed += tp_bucket_take(&b, 100 * SEC, cost, burst);
	cr_assert_eq(passed, 3);
	passed = 0;
	for (int i = 0; i < 10; i++) /* an hour later: still only the burst */
		passed += tp_bucket_take(&b, 3700 * SEC, cost, burst);
	cr_assert_eq(passed, 3);
}

Test(ratelimit, a_reading_behind_the_last_adds_no_credit_and_never_wraps)
{
	struct tp_bucket b = {0};

	cr_assert_eq(tp_bucket_take(&b, 10 * SEC, SEC, SEC), 1);
	cr_assert_eq(tp_bucket_take(&b, 10 * SEC, SEC, SEC), 0);
	/* An earlier timestamp (another CPU's, or the coarse clock after the precise one):
	 * no time passed, nothing refilled, the last update stays. */
	cr_assert_eq(tp_bucket_take(&b, 9 * SEC, SEC, SEC), 0);
	cr_assert_eq(b.credit, 0);
	cr_assert_eq(b.last, 10 * SEC);
	cr_assert_eq(tp_bucket_take(&b, 10 * SEC + SEC / 2, SEC, SEC), 0);
	cr_assert_eq(b.credit, SEC / 2);
	cr_assert_eq(tp_bucket_take(&b, ~0ULL, SEC, SEC), 1);
	cr_assert(b.credit <= SEC);
}

Test(ratelimit, two_clocks_in_one_bucket_admit_at_the_rate)
{
	struct tp_bucket b = {0};
	const uint64_t cost = SEC / 100, burst = SEC / 10, tick = SEC / 250;
	int passed = 0;

	/* 10 s of attempts every 100 us at 100/s, every other one with the time rounded
	 * down to a 4 ms tick (a coarse clock lagging the precise one). */
	for (uint64_t t = SEC; t < 11 * SEC; t += SEC / 10000) {
		uint64_t now = (t / (SEC / 10000)) % 2 ? t - t % tick : t;

		passed += tp_bucket_take(&b, now, cost, burst);
	}
	cr_assert(passed >= 1000 && passed <= 1000 + 10 + 1, "passed %d", passed);
}

Test(ratelimit, can_pay_answers_as_take_would_and_changes_nothing)
{
	struct tp_bucket b = {0};
	const uint64_t cost = SEC / 100, burst = SEC / 10;

	cr_assert_eq(tp_bucket_can_pay(&b, 1, 0, 0), 1, "unlimited");
	/* 10 s of attempts every 300 us: each dry run foretells the take that follows, and
	 * leaves the bucket as it found it. */
	for (uint64_t t = SEC; t < 11 * SEC; t += 300000) {
		struct tp_bucket before = b;
		int can = tp_bucket_can_pay(&b, t, cost, burst);

		cr_assert_eq(b.credit, before.credit);
		cr_assert_eq(b.last, before.last);
		cr_assert_eq(can, tp_bucket_take(&b, t, cost, burst), "at %llu ns",
			     (unsigned long long)t);
	}
	/* A reading behind the last update adds nothing: still dry. */
	b = (struct tp_bucket){.credit = 0, .last = 20 * SEC};
	cr_assert_eq(tp_bucket_can_pay(&b, 19 * SEC, cost, burst), 0);
	cr_assert_eq(tp_bucket_can_pay(&b, 20 * SEC + cost, cost, burst), 1);
	cr_assert_eq(tp_bucket_can_pay(&b, 20 * SEC + cost - 1, cost, burst), 0);
}

Test(ratelimit, sampling_keeps_one_in_n)
{
	__u64 counter = 0;
	int kept = 0;

	for (int i = 0; i < 1000; i++)
		kept += tp_sample_keep(&counter, 10);
	cr_assert_eq(kept, 100);
	counter = 0;
	kept = 0;
	for (int i = 0; i < 7; i++)
		kept += tp_sample_keep(&counter, 1);
	cr_assert_eq(kept, 7);
	cr_assert_eq(counter, 0, "sampling off does not count");
	for (int i = 0; i < 7; i++)
		kept += tp_sample_keep(&counter, 0);
	cr_assert_eq(kept, 14);
}
