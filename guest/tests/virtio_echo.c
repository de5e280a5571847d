/* virtio_echo.c — KVM-tier test guest for vmon's echo test device (virtio device 63, --echo):
 * a 100-byte pattern split over two readable buffers comes back whole in two writable ones; a
 * request with less room than data comes back cut to the room.  With no such device it exits
 * RT_EXIT_SKIP. */
#include "../lib/rt.h"

#define VIRTIO_ID_ECHO 63
#define DESC_F_WRITE 2

static uint8_t src[128] __attribute__((aligned(64)));
static uint8_t dst[256] __attribute__((aligned(64)));

int guest_main(void)
{
	struct rt_virtio vd;

	rt_acpi_init();
	if (rt_virtio_find(&vd, VIRTIO_ID_ECHO)) {
		rt_printf("virtio-echo-test: no echo device: SKIP\n");
		return RT_EXIT_SKIP;
	}
	rt_printf("virtio-echo-test: device ID 0x%x found\n", vd.device_id);
	if (rt_virtio_setup(&vd, 0, 1))
		return RT_EXIT_FAIL;
	for (unsigned int i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	struct rt_virtq_desc whole[4] = {
		{ (uint64_t)(uintptr_t)src, 30, 0, 0 },
		{ (uint64_t)(uintptr_t)(src + 30), 70, 0, 0 },
		{ (uint64_t)(uintptr_t)dst, 64, DESC_F_WRITE, 0 },
		{ (uint64_t)(uintptr_t)(dst + 64), 64, DESC_F_WRITE, 0 },
	};
	long got = rt_virtio_run(&vd, 0, whole, 4, 5000000);
	bool same = got == 100 && !memcmp(src, dst, 100) && dst[100] == 0;
	rt_printf("virtio-echo-test: 100 bytes sent, %ld back%s\n", got,
		  same ? ", the same" : ", different");
	struct rt_virtq_desc cut[2] = {
		{ (uint64_t)(uintptr_t)(src + 100), 28, 0, 0 },
		{ (uint64_t)(uintptr_t)(dst + 128), 8, DESC_F_WRITE, 0 },
	};
	long got2 = rt_virtio_run(&vd, 0, cut, 2, 5000000);
	bool cut_ok = got2 == 8 && !memcmp(src + 100, dst + 128, 8) && dst[136] == 0;
	rt_printf("virtio-echo-test: 28 bytes into 8 of room: %ld back\n", got2);
	bool ok = same && cut_ok;
	rt_printf("virtio-echo-test: %s\n", ok ? "PASS" : "FAIL");
	return ok ? RT_EXIT_PASS : RT_EXIT_FAIL;
}
