/* ticker.c — KVM-tier test guest for the control plane: prints "tick N" every 20 ms so a test can
 * see progress stop while the VM is paused and go on after resume. It powers off via ACPI when the
 * keyboard reports Ctrl-Alt-Del (the Delete make code, scan set 1 0x53 or set 2 0xE0 0x71, seen by
 * polling the i8042) or after "ticks=N" ticks (default 1500, about 30 s). */
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
	unsigned int max = ticks_wanted();

	rt_acpi_init();
	rt_printf("ticker: up, %u ticks at most\n", max);
	for (unsigned int i = 1; i <= max; i++) {
		rt_printf("tick %u\n", i);
		for (int j = 0; j < 20; j++) {
			rt_delay_us(1000);
			if (saw_delete()) {
				rt_printf("ticker: Ctrl-Alt-Del; powering off\n");
				rt_acpi_poweroff();
			}
		}
	}
	rt_printf("ticker: done; powering off\n");
	rt_acpi_poweroff();
}
