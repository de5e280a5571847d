/* compiler.h — small helpers every module may use: array size, container_of, invariant checks. */
#ifndef VMON_UTIL_COMPILER_H
#define VMON_UTIL_COMPILER_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define UNUSED __attribute__((unused))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * BUG_ON - abort on a broken *internal* invariant, with file and line.
 * Never use it on a value a guest or a client controls: those are answered,
 * not asserted (see STYLE.md, "three kinds of error").
 */
#define BUG_ON(cond)                                                                               \
	do {                                                                                       \
		if (unlikely(cond)) {                                                              \
			fprintf(stderr, "vmon: BUG at %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define KiB(x) ((unsigned long long)(x) << 10)
#define MiB(x) ((unsigned long long)(x) << 20)
#define GiB(x) ((unsigned long long)(x) << 30)

#endif
