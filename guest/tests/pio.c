/* pio.c — KVM-tier test guest: port I/O.  Writes and reads back the 8250 scratch register (COM1 + 7
 * = 0x3ff) and checks that a read from an unclaimed port (0x0ee0) returns all ones at every access
 * size. */
#include "../lib/rt.h"

#define SCRATCH 0x3ff
#define UNCLAIMED 0x0ee0

int guest_main(void)
{
	int bad = 0;
	static const uint8_t pattern[] = { 0x5a, 0xa5, 0x00, 0xff, 0x3c };

	for (unsigned int i = 0; i < sizeof(pattern); i++) {
		rt_outb(SCRATCH, pattern[i]);
		uint8_t got = rt_inb(SCRATCH);
		if (got != pattern[i]) {
			rt_printf("pio-test: scratch register: wrote 0x%x, read 0x%x\n", pattern[i],
				  got);
			bad++;
		}
	}
	rt_printf("pio-test: scratch register read back %s\n", bad ? "FAILED" : "ok");
	uint8_t b = rt_inb(UNCLAIMED);
	uint16_t w = rt_inw(UNCLAIMED);
	uint32_t l = rt_inl(UNCLAIMED);
	rt_outb(UNCLAIMED, 0x12); /* must be ignored */
	rt_printf("pio-test: unclaimed port 0x%x reads 0x%x 0x%x 0x%x\n", UNCLAIMED, b, w, l);
	if (b != 0xff || w != 0xffff || l != 0xffffffff) {
		rt_printf("pio-test: unclaimed port should read all ones\n");
		bad++;
	}
	rt_printf("pio-test: %s\n", bad ? "FAIL" : "PASS");
	return bad ? RT_EXIT_FAIL : RT_EXIT_PASS;
}
