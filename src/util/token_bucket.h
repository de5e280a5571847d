/*
 * token_bucket.h — I/O rate limiting as Firecracker's rate_limiter objects: a
 * bandwidth bucket (bytes) and an ops bucket (requests), each a token bucket of
 * @size tokens refilled at @size per @refill_time_ms, with an optional
 * @one_time_burst spent first and never refilled.
 *
 * A request asks for its tokens before it starts; when a bucket is short the
 * request does not start and the caller learns how long to wait, so it can
 * arm a timer instead of polling. A request larger than a bucket passes once
 * the bucket is full and leaves the bucket in debt, which the refill pays back
 * before anything else passes (so the long-run rate holds whatever the
 * request sizes). No locking: the owner (a device, under its lock) serialises.
 */
#ifndef VMON_UTIL_TOKEN_BUCKET_H
#define VMON_UTIL_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

/* What the API and the config file give: size or refill_time 0 is "no bucket" (Firecracker's). */
struct token_bucket_config {
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
};

struct token_bucket {
	struct token_bucket_config cfg; /* size 0: no bucket, everything passes */
	uint64_t budget; /* tokens in the bucket, <= cfg.size */
	uint64_t debt; /* tokens taken beyond the budget, paid back by the refill first */
	uint64_t burst; /* what is left of cfg.one_time_burst */
	uint64_t frac; /* the part of the next token earned, in 1/(refill_time in ns) of a token */
	uint64_t last_ns; /* refilled up to this time */
};

/* A request that must wait is told to wait at least this long (a coarser timer, fewer wakeups). */
#define TOKEN_BUCKET_MIN_WAIT_NS 1000000ull

/* token_bucket_config_active - true when @c makes a bucket (size and refill_time non-zero). */
static inline bool token_bucket_config_active(const struct token_bucket_config *c)
{
	return c->size && c->refill_time_ms;
}

/* token_bucket_config_valid - the refill time fits in nanoseconds (what the API accepts). */
static inline bool token_bucket_config_valid(const struct token_bucket_config *c)
{
	return c->refill_time_ms <= UINT64_MAX / 1000000ull;
}

/* token_bucket_init - a full bucket (plus its one-time burst) as of @now_ns; inactive @c: none. */
void token_bucket_init(struct token_bucket *tb, const struct token_bucket_config *c,
		       uint64_t now_ns);

/*
 * token_bucket_wait - may @tokens be taken now? 0 when they may (nothing is
 * taken yet: token_bucket_take() does), else the nanoseconds until they may
 * (at least TOKEN_BUCKET_MIN_WAIT_NS). Refills the bucket up to @now_ns.
 * Zero @tokens asks only that the bucket be out of debt (a request whose size
 * is known once it is done, charged then with token_bucket_take()).
 */
uint64_t token_bucket_wait(struct token_bucket *tb, uint64_t tokens, uint64_t now_ns);

/* token_bucket_take - take @tokens, which token_bucket_wait() just allowed. */
void token_bucket_take(struct token_bucket *tb, uint64_t tokens);

struct rate_limit_config {
	struct token_bucket_config bandwidth; /* bytes */
	struct token_bucket_config ops; /* requests */
};

static inline bool rate_limit_config_active(const struct rate_limit_config *c)
{
	return token_bucket_config_active(&c->bandwidth) || token_bucket_config_active(&c->ops);
}

static inline bool rate_limit_config_valid(const struct rate_limit_config *c)
{
	return token_bucket_config_valid(&c->bandwidth) && token_bucket_config_valid(&c->ops);
}

struct rate_limiter {
	struct token_bucket bandwidth;
	struct token_bucket ops;
};

/* rate_limiter_init - both buckets from @c (either may be "none"). */
void rate_limiter_init(struct rate_limiter *rl, const struct rate_limit_config *c, uint64_t now_ns);

/*
 * rate_limiter_consume - one request of @bytes: 0 when both buckets allow it
 * (its tokens are then taken from both), else the nanoseconds to wait, with
 * nothing taken.
 */
uint64_t rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns);

/* rate_limiter_active - true when either bucket limits. */
static inline bool rate_limiter_active(const struct rate_limiter *rl)
{
	return rl->bandwidth.cfg.size || rl->ops.cfg.size;
}

/* monotonic_ns - CLOCK_MONOTONIC in nanoseconds, the clock the limiters run on. */
uint64_t monotonic_ns(void);

#endif
