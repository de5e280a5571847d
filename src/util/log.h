/* log.h — vmon's diagnostics: levels, and a rate limit for messages a guest can provoke. */
#ifndef VMON_UTIL_LOG_H
#define VMON_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* log_set_level - messages above @level are dropped. Call before any thread starts. */
void log_set_level(enum log_level level);

/* log_msg - print "vmon: <msg>" on stderr when @level is enabled. Thread-safe. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * struct ratelimit - a token bucket for messages a guest can trigger at will.
 * Zero-initialise it beside the state it guards; ratelimit_ok() allows a burst
 * of 10 messages, then one per second, and counts what it suppressed.
 */
struct ratelimit {
	uint64_t window_start_ns;
	uint32_t printed;
	uint32_t suppressed;
};

/* ratelimit_ok - true when a message may be printed now. Not locked: callers own @rl. */
bool ratelimit_ok(struct ratelimit *rl);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* log_guest - a rate-limited warning about something the guest did wrong. */
#define log_guest(rl, ...)                                                                         \
	do {                                                                                       \
		if (ratelimit_ok(rl))                                                              \
			log_msg(LOG_WARN, "guest: " __VA_ARGS__);                                  \
	} while (0)

/*
 * errbuf_set - write one error line into a caller's @err buffer of @err_len
 * bytes (nothing when @err is NULL or @err_len 0), the way functions that
 * return -errno report why.
 */
void errbuf_set(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
