/* virtio_rng.c — KVM-tier test guest: asks the first virtio entropy PCI device (virtio 1.2 §5.4)
 * for 64 bytes, twice, and checks that it answered with data that is neither all zeros nor the same
 * twice.  With no entropy device it exits RT_EXIT_SKIP. */
#include "../lib/rt.h"

#define VIRTIO_ID_ENTROPY 4

static uint8_t buf[2][64] __attribute__((aligned(64)));

int guest_main(void)
{
	struct rt_virtio vd;

	rt_acpi_init();
	if (rt_virtio_find(&vd, VIRTIO_ID_ENTROPY)) {
		rt_printf("virtio-rng-test: no virtio entropy device on PCI bus 0: SKIP\n");
		return RT_EXIT_SKIP;
	}
	rt_printf("virtio-rng-test: device 00:%02x.0 (ID 0x%x) via %s\n", vd.dev, vd.device_id,
		  rt_acpi.ecam_gpa ? "ECAM" : "ports 0xCF8/0xCFC");
	if (rt_virtio_setup(&vd, 0, 1))
		return RT_EXIT_FAIL;
	long got[2];
	for (int i = 0; i < 2; i++) {
		struct rt_virtq_desc d = { (uint64_t)(uintptr_t)buf[i], sizeof(buf[i]), 2, 0 };
		got[i] = rt_virtio_run(&vd, 0, &d, 1, 5000000);
		if (got[i] <= 0 || got[i] > (long)sizeof(buf[i])) {
			rt_printf("virtio-rng-test: request %d: %s (used length %ld): FAIL\n", i,
				  got[i] < 0 ? "no answer within 5 s" : "bad length", got[i]);
			return RT_EXIT_FAIL;
		}
	}
	unsigned int nonzero = 0;
	for (long j = 0; j < got[0]; j++)
		nonzero += buf[0][j] != 0;
	bool same = got[0] == got[1] && !memcmp(buf[0], buf[1], (size_t)got[0]);
	rt_printf("virtio-rng-test: got %ld and %ld bytes, first %02x %02x %02x %02x\n", got[0],
		  got[1], buf[0][0], buf[0][1], buf[0][2], buf[0][3]);
	bool ok = nonzero > 0 && !same;
	rt_printf("virtio-rng-test: %s\n", ok ? "PASS" : "FAIL (all zeros or repeated)");
	return ok ? RT_EXIT_PASS : RT_EXIT_FAIL;
}
