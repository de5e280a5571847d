/* test_token_bucket.c — token-bucket arithmetic: refill, burst, debt, waits, huge sizes. */
#include <stdint.h>

#include "harness.h"
#include "util/token_bucket.h"

#define MS 1000000ull
#define SEC 1000000000ull

TEST(token_bucket_without_size_or_refill_time_limits_nothing)
{
	struct token_bucket tb;

	token_bucket_init(&tb, &(struct token_bucket_config){ .size = 0, .refill_time_ms = 100 },
			  0);
	CHECK_EQ(token_bucket_wait(&tb, UINT64_MAX, 0), 0);
	token_bucket_init(&tb, &(struct token_bucket_config){ .size = 100, .refill_time_ms = 0 },
			  0);
	CHECK_EQ(token_bucket_wait(&tb, UINT64_MAX, 0), 0);
	CHECK(!token_bucket_config_active(&(struct token_bucket_config){ .size = 5 }));
}

TEST(token_bucket_starts_full_and_refills_at_size_per_refill_time)
{
	struct token_bucket tb;
	uint64_t now = 5 * SEC;

	/* 1000 tokens per second */
	token_bucket_init(
		&tb, &(struct token_bucket_config){ .size = 1000, .refill_time_ms = 1000 }, now);
	CHECK_EQ(token_bucket_wait(&tb, 1000, now), 0);
	token_bucket_take(&tb, 1000);
	/* empty: 100 tokens take 100 ms */
	CHECK_EQ(token_bucket_wait(&tb, 100, now), 100 * MS);
	/* 40 ms later, 60 ms are left */
	CHECK_EQ(token_bucket_wait(&tb, 100, now + 40 * MS), 60 * MS);
	CHECK_EQ(token_bucket_wait(&tb, 100, now + 100 * MS), 0);
	token_bucket_take(&tb, 100);
	CHECK_EQ(tb.budget, 0);
	/* long idle time fills the bucket but never past its size */
	CHECK_EQ(token_bucket_wait(&tb, 1000, now + 100 * SEC), 0);
	CHECK_EQ(tb.budget, 1000);
	CHECK(token_bucket_wait(&tb, 1001, now + 100 * SEC) ==
	      0); /* larger than size: passes full */
}

TEST(token_bucket_loses_nothing_to_rounding_of_frequent_refills)
{
	struct token_bucket tb;
	uint64_t now = 0, taken = 0;

	/* 3 tokens per 10 ms: a token every 3.33 ms; asked every 1 ms for 10 s */
	token_bucket_init(&tb, &(struct token_bucket_config){ .size = 3, .refill_time_ms = 10 }, 0);
	token_bucket_take(&tb, 3);
	for (now = MS; now <= 10 * SEC; now += MS) {
		if (token_bucket_wait(&tb, 1, now) == 0) {
			token_bucket_take(&tb, 1);
			taken++;
		}
	}
	CHECK_EQ(taken, 3000);
}

TEST(token_bucket_spends_the_one_time_burst_first_and_never_refills_it)
{
	struct token_bucket tb;

	token_bucket_init(&tb,
			  &(struct token_bucket_config){
				  .size = 100, .one_time_burst = 500, .refill_time_ms = 1000 },
			  0);
	CHECK_EQ(token_bucket_wait(&tb, 500, 0), 0);
	token_bucket_take(&tb, 500);
	CHECK_EQ(tb.burst, 0);
	CHECK_EQ(tb.budget, 100);
	/* part burst, part bucket */
	token_bucket_init(&tb,
			  &(struct token_bucket_config){
				  .size = 100, .one_time_burst = 50, .refill_time_ms = 1000 },
			  0);
	CHECK_EQ(token_bucket_wait(&tb, 120, 0), 0);
	token_bucket_take(&tb, 120);
	CHECK_EQ(tb.burst, 0);
	CHECK_EQ(tb.budget, 30);
	CHECK_EQ(token_bucket_wait(&tb, 100, 0), 700 * MS);
	/* a second later the bucket is full again, the burst stays spent */
	CHECK_EQ(token_bucket_wait(&tb, 100, SEC), 0);
	CHECK_EQ(tb.burst, 0);
}

TEST(token_bucket_request_larger_than_size_leaves_a_debt_paid_first)
{
	struct token_bucket tb;

	token_bucket_init(&tb, &(struct token_bucket_config){ .size = 100, .refill_time_ms = 100 },
			  0);
	/* 350 tokens from a full bucket of 100: passes, 250 owed */
	CHECK_EQ(token_bucket_wait(&tb, 350, 0), 0);
	token_bucket_take(&tb, 350);
	CHECK_EQ(tb.debt, 250);
	/* the next request of 1 waits for the debt and its own token: 251 tokens = 251 ms */
	CHECK_EQ(token_bucket_wait(&tb, 1, 0), 251 * MS);
	CHECK_EQ(token_bucket_wait(&tb, 1, 200 * MS), 51 * MS);
	CHECK_EQ(token_bucket_wait(&tb, 1, 251 * MS), 0);
	CHECK_EQ(tb.debt, 0);
	/* a second huge request waits until the bucket is full again */
	token_bucket_take(&tb, 1);
	CHECK_EQ(token_bucket_wait(&tb, 1000, 251 * MS), 100 * MS);
}

TEST(token_bucket_zero_tokens_wait_only_for_the_debt)
{
	struct token_bucket tb;

	token_bucket_init(&tb,
			  &(struct token_bucket_config){
				  .size = 100, .refill_time_ms = 100, .one_time_burst = 10 },
			  0);
	/* no debt: a request whose size is charged afterwards may start, even from an empty bucket
	 */
	CHECK_EQ(token_bucket_wait(&tb, 0, 0), 0);
	token_bucket_take(&tb, 110);
	CHECK_EQ(token_bucket_wait(&tb, 0, 0), 0);
	/* a frame of 150 read: 150 owed, 150 ms before the next may be read */
	token_bucket_take(&tb, 150);
	CHECK_EQ(tb.debt, 150);
	CHECK_EQ(token_bucket_wait(&tb, 0, 0), 150 * MS);
	CHECK_EQ(token_bucket_wait(&tb, 0, 100 * MS), 50 * MS);
	CHECK_EQ(token_bucket_wait(&tb, 0, 150 * MS), 0);
}

TEST(token_bucket_short_waits_are_rounded_up_to_the_minimum)
{
	struct token_bucket tb;

	/* 10^9 tokens per second: one token is 1 ns */
	token_bucket_init(
		&tb, &(struct token_bucket_config){ .size = 1000000000, .refill_time_ms = 1000 },
		0);
	token_bucket_take(&tb, 1000000000);
	CHECK_EQ(token_bucket_wait(&tb, 10, 0), TOKEN_BUCKET_MIN_WAIT_NS);
}

TEST(token_bucket_huge_sizes_and_times_do_not_overflow)
{
	struct token_bucket tb;
	uint64_t w;

	token_bucket_init(
		&tb,
		&(struct token_bucket_config){ .size = UINT64_MAX,
					       .one_time_burst = UINT64_MAX,
					       .refill_time_ms = UINT64_MAX / 1000000ull },
		0);
	CHECK_EQ(token_bucket_wait(&tb, UINT64_MAX, 0), 0);
	token_bucket_take(&tb, UINT64_MAX);
	CHECK_EQ(tb.burst, 0);
	CHECK_EQ(tb.budget, UINT64_MAX);
	token_bucket_take(&tb, UINT64_MAX);
	CHECK_EQ(tb.budget, 0);
	w = token_bucket_wait(&tb, UINT64_MAX, UINT64_MAX / 2);
	CHECK(w > 0 && w <= UINT64_MAX);
	CHECK_EQ(token_bucket_wait(&tb, UINT64_MAX, UINT64_MAX), 0);
	/* a refill time whose nanoseconds do not fit 64 bits: no bucket rather than a wrong one */
	token_bucket_init(
		&tb, &(struct token_bucket_config){ .size = 1, .refill_time_ms = UINT64_MAX }, 0);
	CHECK_EQ(tb.cfg.size, 0);
	/* a clock that steps back does not refill or underflow */
	token_bucket_init(&tb, &(struct token_bucket_config){ .size = 10, .refill_time_ms = 10 },
			  SEC);
	token_bucket_take(&tb, 10);
	CHECK_EQ(token_bucket_wait(&tb, 10, 0), 10 * MS);
}

TEST(rate_limiter_takes_from_both_buckets_or_from_neither)
{
	struct rate_limiter rl;
	struct rate_limit_config c = {
		.bandwidth = { .size = 4096, .refill_time_ms = 1000 },
		.ops = { .size = 2, .refill_time_ms = 1000 },
	};

	rate_limiter_init(&rl, &c, 0);
	CHECK(rate_limiter_active(&rl));
	CHECK_EQ(rate_limiter_consume(&rl, 1024, 0), 0);
	CHECK_EQ(rate_limiter_consume(&rl, 1024, 0), 0);
	/* ops empty (500 ms per op), bandwidth has 2048 left: nothing is taken from it */
	CHECK_EQ(rate_limiter_consume(&rl, 1024, 0), 500 * MS);
	CHECK_EQ(rl.bandwidth.budget, 2048);
	/* 500 ms on, both refilled: twice the bucket passes, 4096 bytes owed */
	CHECK_EQ(rate_limiter_consume(&rl, 8192, 500 * MS), 0);
	CHECK_EQ(rl.bandwidth.debt, 4096);
	CHECK_EQ(rl.ops.budget, 0);
	/* both short: the longer of the two waits (bandwidth 5120 bytes, 1.25 s; ops 500 ms) */
	CHECK_EQ(rate_limiter_consume(&rl, 1024, 500 * MS), 1250 * MS);
	rate_limiter_init(&rl, &(struct rate_limit_config){ 0 }, 0);
	CHECK(!rate_limiter_active(&rl));
	CHECK_EQ(rate_limiter_consume(&rl, UINT64_MAX, 0), 0);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(token_bucket_without_size_or_refill_time_limits_nothing)
	HARNESS_T(token_bucket_starts_full_and_refills_at_size_per_refill_time)
	HARNESS_T(token_bucket_loses_nothing_to_rounding_of_frequent_refills)
	HARNESS_T(token_bucket_spends_the_one_time_burst_first_and_never_refills_it)
	HARNESS_T(token_bucket_request_larger_than_size_leaves_a_debt_paid_first)
	HARNESS_T(token_bucket_zero_tokens_wait_only_for_the_debt)
	HARNESS_T(token_bucket_short_waits_are_rounded_up_to_the_minimum)
	HARNESS_T(token_bucket_huge_sizes_and_times_do_not_overflow)
	HARNESS_T(rate_limiter_takes_from_both_buckets_or_from_neither)
)
// clang-format on
