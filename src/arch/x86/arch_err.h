/* arch_err.h — the one-line error message helper shared by the x86 loaders. */
#ifndef VMON_ARCH_X86_ARCH_ERR_H
#define VMON_ARCH_X86_ARCH_ERR_H

#include <stddef.h>

/*
 * arch_err - format a one-line reason into @err (at most @err_len bytes,
 * always NUL-terminated; nothing happens when @err is NULL or @err_len is 0)
 * and return @ret, so that callers can write `return arch_err(...)`.
 */
int arch_err(char *err, size_t err_len, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
