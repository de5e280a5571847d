/* touch_ticker.c — the guest of bench/snapshot: guest/tests/ticker.c with memory that holds data.
 * The stock ticker touches a few pages, so its snapshot's memory file is nearly all holes; this one
 * first writes one non-zero word into every 4 KiB page of "touch=N" MiB (default 0) allocated above
 * its image, prints "touched P pages", then prints "tick N" every "period_us=U" microseconds
 * (default 20000, the ticker's 20 ms) for "ticks=T" ticks (default 100000) and powers off. A
 * shorter period bounds how long a restored guest waits before its next line, so that line's time
 * measures the restore, not the guest's sleep. With "dirty_mib_s=D" (bench/migrate) it also writes
 * one word of D MiB worth of 4 KiB pages every second, spread over its ticks by its own clock,
 * round and round a 64 MiB area: a guest whose memory a live migration must copy again and again.
 */
#include "rt.h"

/* the value of "key=N" on the command line (decimal), or @dflt */
static uint64_t cmdline_num(const char *key, uint64_t dflt)
{
	size_t n = strlen(key);
	const char *s = rt_boot.cmdline;

	while (*s) {
		while (*s == ' ')
			s++;
		if (!memcmp(s, key, n) && s[n] == '=' && s[n + 1] >= '0' && s[n + 1] <= '9') {
			uint64_t v = 0;
			for (s += n + 1; *s >= '0' && *s <= '9'; s++)
				v = v * 10 + (uint64_t)(*s - '0');
			return v;
		}
		while (*s && *s != ' ')
			s++;
	}
	return dflt;
}

int guest_main(void)
{
	uint64_t touch_mib = cmdline_num("touch", 0);
	uint64_t period = cmdline_num("period_us", 20000);
	uint64_t max = cmdline_num("ticks", 100000);
	uint64_t pages = 0;

	rt_acpi_init();
	rt_printf("ticker: up, %llu ticks at most\n", (unsigned long long)max);
	if (touch_mib) {
		uint64_t want = touch_mib << 20;
		volatile uint64_t *p = rt_alloc(want, 4096);
		if (!p) {
			rt_printf("touch_ticker: cannot allocate %llu MiB\n",
				  (unsigned long long)touch_mib);
			rt_exit(2);
		}
		uint64_t t0 = rt_now_us();
		for (uint64_t off = 0; off < want; off += 4096, pages++)
			p[off / 8] = 0x5a5a5a5a00000000ull | pages;
		rt_printf("touched %llu pages (%llu MiB) in %llu us\n", (unsigned long long)pages,
			  (unsigned long long)touch_mib, (unsigned long long)(rt_now_us() - t0));
	} else {
		rt_printf("touched 0 pages\n");
	}
	uint64_t dirty_rate = cmdline_num("dirty_mib_s", 0) * 256; /* pages per second */
	const uint64_t area_pages = 64 * 256;
	volatile uint64_t *area = dirty_rate ? rt_alloc(area_pages * 4096, 4096) : NULL;
	uint64_t dirtied = 0, t_dirty = rt_now_us();

	if (dirty_rate && !area) {
		rt_printf("touch_ticker: cannot allocate the 64 MiB area to dirty\n");
		rt_exit(2);
	}
	if (dirty_rate)
		rt_printf("dirtying %llu MiB/s\n", (unsigned long long)(dirty_rate / 256));
	for (uint64_t i = 1; i <= max; i++) {
		rt_printf("tick %llu\n", (unsigned long long)i);
		rt_delay_us(period);
		/* the pages due by now at dirty_rate */
		for (uint64_t due = (rt_now_us() - t_dirty) * dirty_rate / 1000000; dirtied < due;
		     dirtied++)
			area[(dirtied % area_pages) * 512] = i << 32 | dirtied;
	}
	rt_printf("ticker: done; powering off\n");
	rt_acpi_poweroff();
}
