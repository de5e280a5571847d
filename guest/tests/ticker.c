/* ticker.c — KVM-tier test guest for the control plane: prints "tick N" every 20 ms so a test can
 * see progress stop while the VM is paused and go on after resume. It powers off via ACPI when the
 * keyboard reports Ctrl-Alt-Del (the Delete make code, scan set 1 0x53 or set 2 0xE0 0x71, seen by
 * polling the i8042) or after "ticks=N" ticks (default 1500, about 30 s). With "dirty=N" (N = 1, 4
 * or 16) it also writes one byte of every page of N MiB at 32 MiB, every millisecond: a guest whose
 * memory changes faster than a live migration can copy it. */
#include "../lib/rt.h"

static unsigned int ticks_wanted(void)
{
	for (unsigned int n = 100; n <= 100000; n *= 10) {
		char word[16] = "ticks=";
		unsigned int len = 6, v = n;
		char digits[8];
		unsigned int nd = 0;

		while (v) {
			digits[nd++] = (char)('0' + v % 10);
			v /= 10;
		}
		while (nd)
			word[len++] = digits[--nd];
		word[len] = 0;
		if (rt_cmdline_has(word))
			return n;
	}
	return 1500;
}

/* "dirty=N": MiB to dirty every millisecond (0: none) */
static unsigned int dirty_mib(void)
{
	if (rt_cmdline_has("dirty=16"))
		return 16;
	if (rt_cmdline_has("dirty=4"))
		return 4;
	return rt_cmdline_has("dirty=1") ? 1 : 0;
}

/* one byte of every page of the dirtied range: all of it dirty again */
static void dirty_pages(unsigned int mib, unsigned int round)
{
	volatile unsigned char *p = (volatile unsigned char *)(32ul << 20);

	for (unsigned long off = 0; off < ((unsigned long)mib << 20); off += 4096)
		p[off] = (unsigned char)round;
}

/* true once the keyboard has sent the Delete key's make code */
static bool saw_delete(void)
{
	static bool e0;

	while (rt_inb(0x64) & 1) {
		uint8_t b = rt_inb(0x60);

		if (b == 0x53 || (e0 && b == 0x71))
			return true;
		e0 = b == 0xe0;
	}
	return false;
}

int guest_main(void)
{
	unsigned int max = ticks_wanted(), dirty = dirty_mib();

	rt_acpi_init();
	rt_printf("ticker: up, %u ticks at most\n", max);
	if (dirty)
		rt_printf("ticker: dirtying %u MiB every millisecond\n", dirty);
	for (unsigned int i = 1; i <= max; i++) {
		rt_printf("tick %u\n", i);
		for (int j = 0; j < 20; j++) {
			rt_delay_us(1000);
			if (dirty)
				dirty_pages(dirty, i * 20 + (unsigned int)j);
			if (saw_delete()) {
				rt_printf("ticker: Ctrl-Alt-Del; powering off\n");
				rt_acpi_poweroff();
			}
		}
	}
	rt_printf("ticker: done; powering off\n");
	rt_acpi_poweroff();
}
