/* mmio.c — KVM-tier test guest: MMIO to an address in the 3-4 GiB hole that no device claims
 * (0xd0000000). Reads must return all ones (vmon, like a PCI bus with no device answering), a write
 * must be dropped.  QEMU's pc machine reads unassigned memory as zeros: the command-line word
 * "mmio-unassigned=zero" expects that instead. */
#include "../lib/rt.h"

#define UNBACKED 0xd0000000ul

int guest_main(void)
{
	int bad = 0;
	bool zero = rt_cmdline_has("mmio-unassigned=zero");
	uint32_t want32 = zero ? 0 : 0xffffffff;
	uint8_t want8 = zero ? 0 : 0xff;
	uint32_t before = rt_mmio_read32(UNBACKED);
	uint8_t b = rt_mmio_read8(UNBACKED + 5);
	rt_mmio_write32(UNBACKED, 0x12345678);
	uint32_t after = rt_mmio_read32(UNBACKED);

	rt_printf("mmio-test: unbacked 0x%lx reads 0x%x, byte 0x%x, after a write 0x%x\n", UNBACKED,
		  before, b, after);
	if (before != want32 || b != want8) {
		rt_printf("mmio-test: unbacked MMIO should read 0x%x\n", want32);
		bad++;
	}
	if (after != want32) {
		rt_printf("mmio-test: the write was not dropped\n");
		bad++;
	}
	rt_printf("mmio-test: %s\n", bad ? "FAIL" : "PASS");
	return bad ? RT_EXIT_FAIL : RT_EXIT_PASS;
}
