/* virtio_net.c — KVM-tier test guest: transmits Ethernet frames through the first virtio-net device
 * (virtio 1.2 §5.1) on its transmit queue (queue 1), eight to a notification, each a 12-byte
 * virtio-net header and a 1514-byte broadcast frame of the local experimental EtherType 0x88B5.
 * Sends 16 frames, or with tx_ms=N on its command line as many as it can for N ms on its TSC, and
 * prints "tx: F frames, B bytes in U us" (B: frame bytes, without the headers; a rate limiter's
 * test: tests/kvm/test_rate_limit_kvm.sh).  With no virtio-net device it exits RT_EXIT_SKIP. */
#include "../lib/rt.h"

#define VIRTIO_ID_NET 1
#define NET_HDR_LEN 12 /* struct virtio_net_hdr with num_buffers (VIRTIO_F_VERSION_1) */
#define FRAME_LEN 1514

static uint8_t pkt[NET_HDR_LEN + FRAME_LEN] __attribute__((aligned(64)));

int guest_main(void)
{
	struct rt_virtio vd;

	rt_acpi_init();
	if (rt_virtio_find(&vd, VIRTIO_ID_NET)) {
		rt_printf("virtio-net-test: no virtio-net device: SKIP\n");
		return RT_EXIT_SKIP;
	}
	if (rt_virtio_setup(&vd, 0, 2)) /* receive queue 0 (left empty), transmit queue 1 */
		return RT_EXIT_FAIL;
	uint8_t *f = pkt + NET_HDR_LEN; /* the header stays zero: no offloads */
	memset(f, 0xff, 6);
	static const uint8_t src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x51 };
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (unsigned int i = 14; i < FRAME_LEN; i++)
		f[i] = (uint8_t)i;
	/* the same frame RT_VQ_SIZE times a notification (the device only reads it) */
	struct rt_virtq_desc bufs[RT_VQ_SIZE];
	for (unsigned int i = 0; i < RT_VQ_SIZE; i++)
		bufs[i] = (struct rt_virtq_desc){ (uint64_t)(uintptr_t)pkt, sizeof(pkt), 0, 0 };

	unsigned long ms = rt_cmdline_num("tx_ms=", 0);
	uint64_t frames = 0, t0 = rt_now_us(), now = t0;
	while (ms ? now - t0 < ms * 1000 : frames < 16) {
		if (rt_virtio_run_each(&vd, 1, bufs, RT_VQ_SIZE, 5000000) < 0) {
			rt_printf("virtio-net-test: frames %lu.. not sent within 5 s: FAIL\n",
				  frames);
			return RT_EXIT_FAIL;
		}
		frames += RT_VQ_SIZE;
		now = rt_now_us();
	}
	rt_printf("virtio-net-test: tx: %lu frames, %lu bytes in %lu us\n", frames,
		  frames * FRAME_LEN, now - t0);
	rt_printf("virtio-net-test: PASS\n");
	return RT_EXIT_PASS;
}
