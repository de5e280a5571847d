/* token_bucket.c — token buckets and rate limiters (see token_bucket.h). */
#include "util/token_bucket.h"

#include <time.h>

typedef unsigned __int128 u128;

static uint64_t refill_ns(const struct token_bucket *tb)
{
	return tb->cfg.refill_time_ms * 1000000ull;
}

static uint64_t clamp64(u128 v)
{
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

void token_bucket_init(struct token_bucket *tb, const struct token_bucket_config *c,
		       uint64_t now_ns)
{
	*tb = (struct token_bucket){ 0 };
	/* refill_time in ms times 10^6 must fit: beyond 584 years a bucket never refills anyway */
	if (!token_bucket_config_active(c) || c->refill_time_ms > UINT64_MAX / 1000000ull)
		return;
	tb->cfg = *c;
	tb->budget = c->size;
	tb->burst = c->one_time_burst;
	tb->last_ns = now_ns;
}

/*
 * Add what the time since last_ns earned: size tokens per refill time. The part of a token
 * earned so far is carried in frac (in units of 1/refill_ns of a token), so frequent calls lose
 * nothing to rounding; a full bucket earns nothing, so idle time does not accumulate past size.
 */
static void refill(struct token_bucket *tb, uint64_t now_ns)
{
	uint64_t add, pay;
	u128 t;

	if (now_ns <= tb->last_ns)
		return;
	t = (u128)(now_ns - tb->last_ns) * tb->cfg.size + tb->frac;
	tb->last_ns = now_ns;
	add = clamp64(t / refill_ns(tb));
	tb->frac = (uint64_t)(t % refill_ns(tb));
	pay = add < tb->debt ? add : tb->debt;
	tb->debt -= pay;
	add -= pay;
	if (add >= tb->cfg.size - tb->budget) {
		tb->budget = tb->cfg.size;
		tb->frac = 0;
	} else {
		tb->budget += add;
	}
}

uint64_t token_bucket_wait(struct token_bucket *tb, uint64_t tokens, uint64_t now_ns)
{
	uint64_t need, target, wait;
	u128 missing, t;

	if (!tb->cfg.size || (tokens && tokens <= tb->burst))
		return 0;
	need = tokens > tb->burst ? tokens - tb->burst : 0; /* 0 tokens: wait out the debt */
	refill(tb, now_ns);
	/* a request larger than the bucket passes once the bucket is full */
	target = need < tb->cfg.size ? need : tb->cfg.size;
	if (!tb->debt && tb->budget >= target)
		return 0;
	missing = (u128)tb->debt + (target - (tb->budget < target ? tb->budget : target));
	/* the time for missing tokens, less the part of one already earned (frac < refill_ns) */
	t = missing * refill_ns(tb) - tb->frac;
	wait = clamp64((t + tb->cfg.size - 1) / tb->cfg.size);
	return wait < TOKEN_BUCKET_MIN_WAIT_NS ? TOKEN_BUCKET_MIN_WAIT_NS : wait;
}

void token_bucket_take(struct token_bucket *tb, uint64_t tokens)
{
	uint64_t from_burst;

	if (!tb->cfg.size)
		return;
	from_burst = tokens < tb->burst ? tokens : tb->burst;
	tb->burst -= from_burst;
	tokens -= from_burst;
	if (tokens <= tb->budget) {
		tb->budget -= tokens;
	} else {
		tb->debt += tokens - tb->budget;
		tb->budget = 0;
	}
}

void rate_limiter_init(struct rate_limiter *rl, const struct rate_limit_config *c, uint64_t now_ns)
{
	token_bucket_init(&rl->bandwidth, &c->bandwidth, now_ns);
	token_bucket_init(&rl->ops, &c->ops, now_ns);
}

uint64_t rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns)
{
	uint64_t wb = token_bucket_wait(&rl->bandwidth, bytes, now_ns);
	uint64_t wo = token_bucket_wait(&rl->ops, 1, now_ns);

	if (wb || wo)
		return wb > wo ? wb : wo;
	token_bucket_take(&rl->bandwidth, bytes);
	token_bucket_take(&rl->ops, 1);
	return 0;
}

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
