/* virtio_console.c — KVM-tier test guest: writes a line to port 0 of the first virtio console PCI
 * device (virtio 1.2 §5.3: no VIRTIO_CONSOLE_F_MULTIPORT, so queue 1 is port 0's transmitq).  The
 * monitor must show the line on its console.  With no virtio console it exits RT_EXIT_SKIP. */
#include "../lib/rt.h"

#define VIRTIO_ID_CONSOLE 3

static const char line[] = "virtio-console-test: hello through the virtio console\n";

int guest_main(void)
{
	struct rt_virtio vd;

	rt_acpi_init();
	if (rt_virtio_find(&vd, VIRTIO_ID_CONSOLE)) {
		rt_printf("virtio-console-test: no virtio console on PCI bus 0: SKIP\n");
		return RT_EXIT_SKIP;
	}
	rt_printf("virtio-console-test: device 00:%02x.0 (ID 0x%x) via %s\n", vd.dev, vd.device_id,
		  rt_acpi.ecam_gpa ? "ECAM" : "ports 0xCF8/0xCFC");
	if (rt_virtio_setup(&vd, 0, 2))
		return RT_EXIT_FAIL;
	struct rt_virtq_desc d = { (uint64_t)(uintptr_t)line, sizeof(line) - 1, 0, 0 };
	if (rt_virtio_run(&vd, 1, &d, 1, 5000000) < 0) {
		rt_printf(
			"virtio-console-test: the transmit buffer was not used within 5 s: FAIL\n");
		return RT_EXIT_FAIL;
	}
	rt_printf("virtio-console-test: transmit buffer used\nvirtio-console-test: PASS\n");
	return RT_EXIT_PASS;
}
