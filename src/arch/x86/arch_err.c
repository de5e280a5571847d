/* arch_err.c — the one-line error message helper shared by the x86 loaders. */
#include <stdarg.h>
#include <stdio.h>

#include "arch/x86/arch_err.h"

int arch_err(char *err, size_t err_len, int ret, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_len)
		return ret;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return ret;
}
