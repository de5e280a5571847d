/* virtio_hostile.c — KVM-tier test guest: a deliberately hostile virtio-blk driver. It submits
 * malformed descriptor chains (addresses past guest RAM or wrapping 2^64, huge lengths, the status
 * byte in a device-readable descriptor, a short header, a descriptor loop, an avail index jump past
 * the queue size, a chain longer than the queue) and checks that each one is answered with an error
 * status or with NEEDS_RESET (then the driver resets the device), never silently ignored. Finally a
 * well-formed write and read-back must still work: the monitor kept running and the device
 * recovered. With no virtio-blk device it exits RT_EXIT_SKIP. */
#include "../lib/rt.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define COMMON_DEVICE_STATUS 20 /* struct virtio_pci_common_cfg.device_status */

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct blk_req_hdr hdr __attribute__((aligned(16)));
static uint8_t data[512] __attribute__((aligned(512)));
static volatile uint8_t status;
static struct rt_virtio vd;
static unsigned int failures;

enum outcome { ANSWERED_OK, ANSWERED_ERROR, NEEDS_RESET, NO_ANSWER };

static enum outcome wait_used(struct rt_virtq *vq)
{
	uint64_t end = rt_now_us() + 1000000;

	while (*(volatile uint16_t *)(vq->used + 2) == vq->used_idx) {
		if (vd.common[COMMON_DEVICE_STATUS] & VIRTIO_STATUS_NEEDS_RESET)
			return NEEDS_RESET;
		if (rt_now_us() > end)
			return NO_ANSWER;
		rt_pause();
	}
	vq->used_idx++;
	return status == 0 ? ANSWERED_OK : ANSWERED_ERROR;
}

/* Post descriptors 0..n-1 as they are in the ring (the caller wrote them), head 0, avail += bump.
 */
static enum outcome post_raw(unsigned int bump)
{
	struct rt_virtq *vq = &vd.vq[0];

	status = 0xff;
	vq->avail[2 + vq->avail_idx % RT_VQ_SIZE] = 0;
	rt_barrier();
	vq->avail_idx = (uint16_t)(vq->avail_idx + bump);
	vq->avail[1] = vq->avail_idx;
	rt_barrier();
	*vq->notify = 0;
	return wait_used(vq);
}

static enum outcome post(const struct rt_virtq_desc *chain, unsigned int n)
{
	struct rt_virtq *vq = &vd.vq[0];

	for (unsigned int i = 0; i < n; i++) {
		vq->desc[i] = chain[i];
		vq->desc[i].flags = (uint16_t)((chain[i].flags & ~1u) | (i + 1 < n ? 1 : 0));
		vq->desc[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
	}
	return post_raw(1);
}

static void expect_refused(const char *what, enum outcome o)
{
	static const char *const names[] = { "completed OK", "error status", "NEEDS_RESET",
					     "no answer" };

	rt_printf("virtio-hostile: %-44s -> %s\n", what, names[o]);
	if (o == ANSWERED_OK || o == NO_ANSWER)
		failures++;
	if (o == NEEDS_RESET || o == NO_ANSWER) {
		if (rt_virtio_setup(&vd, 0, 1)) {
			rt_printf("virtio-hostile: the device could not be reset: FAIL\n");
			rt_exit(RT_EXIT_FAIL);
		}
	}
}

#define U64(p) ((uint64_t)(uintptr_t)(p))

int guest_main(void)
{
	rt_acpi_init();
	if (rt_virtio_find(&vd, VIRTIO_ID_BLOCK)) {
		rt_printf("virtio-hostile: no virtio-blk device on PCI bus 0: SKIP\n");
		return RT_EXIT_SKIP;
	}
	if (rt_virtio_setup(&vd, 0, 1))
		return RT_EXIT_FAIL;
	hdr = (struct blk_req_hdr){ VIRTIO_BLK_T_IN, 0, 0 };
	{
		struct rt_virtq_desc c[3] = { { U64(&hdr), 16, 0, 0 },
					      { 0x7ffffff00000ull, 512, 2, 0 },
					      { U64(&status), 1, 2, 0 } };
		expect_refused("data buffer past guest RAM", post(c, 3));
	}
	{
		struct rt_virtq_desc c[3] = { { U64(&hdr), 16, 0, 0 },
					      { 0xfffffffffffff000ull, 0x2000, 2, 0 },
					      { U64(&status), 1, 2, 0 } };
		expect_refused("data buffer wrapping 2^64", post(c, 3));
	}
	{
		struct rt_virtq_desc c[3] = { { U64(&hdr), 16, 0, 0 },
					      { U64(data), 0xfffffff0u, 2, 0 },
					      { U64(&status), 1, 2, 0 } };
		expect_refused("huge data length", post(c, 3));
	}
	{
		struct rt_virtq_desc c[3] = { { U64(&hdr), 16, 0, 0 },
					      { U64(data), 512, 2, 0 },
					      { U64(&status), 1, 0, 0 } };
		expect_refused("status byte device-readable", post(c, 3));
	}
	{
		struct rt_virtq_desc c[2] = { { U64(&hdr), 8, 0, 0 }, { U64(&status), 1, 2, 0 } };
		expect_refused("8-byte header", post(c, 2));
	}
	{
		hdr.sector = ~0ull >> 1;
		struct rt_virtq_desc c[3] = { { U64(&hdr), 16, 0, 0 },
					      { U64(data), 512, 2, 0 },
					      { U64(&status), 1, 2, 0 } };
		expect_refused("sector far past the capacity", post(c, 3));
		hdr.sector = 0;
	}
	{
		struct rt_virtq *vq = &vd.vq[0];

		vq->desc[0] = (struct rt_virtq_desc){ U64(&hdr), 16, 1, 1 };
		vq->desc[1] = (struct rt_virtq_desc){ U64(data), 512, 1 | 2, 0 }; /* back to 0 */
		expect_refused("descriptor loop", post_raw(1));
	}
	{
		struct rt_virtq *vq = &vd.vq[0];

		for (unsigned int i = 0; i < RT_VQ_SIZE; i++)
			vq->desc[i] = (struct rt_virtq_desc){ U64(&hdr), 16, 1,
							      (uint16_t)((i + 1) % RT_VQ_SIZE) };
		expect_refused("chain longer than the queue", post_raw(1));
	}
	{
		struct rt_virtq_desc *d = vd.vq[0].desc;

		d[0] = (struct rt_virtq_desc){ U64(&hdr), 16, 1, 1 };
		d[1] = (struct rt_virtq_desc){ U64(data), 512, 1 | 2, 2 };
		d[2] = (struct rt_virtq_desc){ U64(&status), 1, 2, 0 };
		expect_refused("avail index jump past the queue size", post_raw(RT_VQ_SIZE + 5));
	}

	/* the device must still serve a well-formed request */
	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 5);
	hdr = (struct blk_req_hdr){ VIRTIO_BLK_T_OUT, 0, 1 };
	struct rt_virtq_desc w[3] = { { U64(&hdr), 16, 0, 0 },
				      { U64(data), 512, 0, 0 },
				      { U64(&status), 1, 2, 0 } };
	enum outcome o = post(w, 3);
	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = 0;
	hdr = (struct blk_req_hdr){ VIRTIO_BLK_T_IN, 0, 1 };
	struct rt_virtq_desc r[3] = { { U64(&hdr), 16, 0, 0 },
				      { U64(data), 512, 2, 0 },
				      { U64(&status), 1, 2, 0 } };
	enum outcome o2 = post(r, 3);
	bool same = true;
	for (unsigned int i = 0; i < sizeof(data); i++)
		same = same && data[i] == (uint8_t)(i * 13 + 5);
	rt_printf("virtio-hostile: well-formed write and read-back after the abuse: %s\n",
		  o == ANSWERED_OK && o2 == ANSWERED_OK && same ? "OK" : "BROKEN");
	if (o != ANSWERED_OK || o2 != ANSWERED_OK || !same)
		failures++;
	rt_printf("virtio-hostile: %s\n", failures ? "FAIL" : "PASS");
	return failures ? RT_EXIT_FAIL : RT_EXIT_PASS;
}
