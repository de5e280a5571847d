/* log.c — diagnostics on stderr, with a per-site rate limit for guest-provoked messages. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum log_level max_level = LOG_WARN; /* set once at start-up, before threads */

void log_set_level(enum log_level level)
{
	max_level = level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One fprintf call so that lines from different threads do not interleave. */
	fprintf(stderr, "vmon: %s\n", buf);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool ratelimit_ok(struct ratelimit *rl)
{
	uint64_t now = now_ns();

	if (now - rl->window_start_ns >= 1000000000ull) {
		if (rl->suppressed)
			log_msg(LOG_WARN, "guest: %u similar messages suppressed", rl->suppressed);
		rl->window_start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed < 10) {
		rl->printed++;
		return true;
	}
	rl->suppressed++;
	return false;
}

void errbuf_set(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}
