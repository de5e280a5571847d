/* serial.c — KVM-tier test guest: prints known lines on COM1 and exits with RT_EXIT_PASS. */
#include "../lib/rt.h"

int guest_main(void)
{
	rt_printf("serial-test: hello from the serial test guest\n");
	rt_printf("serial-test: numbers %d %u 0x%x %ld %c %s\n", -42, 42u, 0xbeefu, 1234567890123L,
		  'Z', "ok");
	rt_printf("serial-test: done\n");
	return RT_EXIT_PASS;
}
