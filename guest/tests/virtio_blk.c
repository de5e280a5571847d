/* virtio_blk.c — KVM-tier test guest: drives the first virtio-blk PCI device (virtio 1.2 §5.2)
 * through the runtime's minimal virtio driver: prints the capacity, reads sector 0 (prints its
 * FNV-1a hash), writes a known pattern to sector 1 (byte j = j * 7 + 1) and reads it back.  With no
 * virtio-blk device it exits RT_EXIT_SKIP.  With rate_ms=N on its command line it then reads the
 * disk in 64 KiB requests, one at a time, for N ms on its TSC and prints "rate: B bytes in U us" (a
 * rate limiter's test: tests/kvm/test_rate_limit_kvm.sh). */
#include "../lib/rt.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct blk_req_hdr hdr __attribute__((aligned(16)));
static uint8_t data[512] __attribute__((aligned(512)));
#define RATE_CHUNK 65536
static uint8_t chunk[RATE_CHUNK] __attribute__((aligned(4096)));
static volatile uint8_t status;

static int blk_io(struct rt_virtio *vd, uint32_t type, uint64_t sector, uint8_t *buf, uint32_t len)
{
	struct rt_virtq_desc chain[3] = {
		{ (uint64_t)(uintptr_t)&hdr, sizeof(hdr), 0, 0 },
		{ (uint64_t)(uintptr_t)buf, len, type == VIRTIO_BLK_T_IN ? 2 : 0, 0 },
		{ (uint64_t)(uintptr_t)&status, 1, 2, 0 },
	};

	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xff;
	if (rt_virtio_run(vd, 0, chain, 3, 5000000) < 0) {
		rt_printf("virtio-blk-test: request type %u sector %lu: no answer within 5 s\n",
			  type, sector);
		return -1;
	}
	if (status != 0) {
		rt_printf("virtio-blk-test: request type %u sector %lu: status %u\n", type, sector,
			  status);
		return -1;
	}
	return 0;
}
static int blk_rw(struct rt_virtio *vd, uint32_t type, uint64_t sector)
{
	return blk_io(vd, type, sector, data, sizeof(data));
}

/* rate_ms=N: sequential 64 KiB reads from sector 0 (wrapping at the end) for N ms */
static int blk_rate(struct rt_virtio *vd, uint64_t capacity, unsigned long ms)
{
	const uint64_t per = RATE_CHUNK / 512;
	uint64_t sector = 0, bytes = 0, t0 = rt_now_us(), now = t0;

	if (capacity < per) {
		rt_printf("virtio-blk-test: rate: the disk is smaller than 64 KiB: FAIL\n");
		return -1;
	}
	while (now - t0 < ms * 1000) {
		if (blk_io(vd, VIRTIO_BLK_T_IN, sector, chunk, RATE_CHUNK))
			return -1;
		bytes += RATE_CHUNK;
		sector = sector + 2 * per > capacity ? 0 : sector + per;
		now = rt_now_us();
	}
	rt_printf("virtio-blk-test: rate: %lu bytes in %lu us (TSC %lu kHz, %s)\n", bytes, now - t0,
		  rt_tsc_khz, rt_tsc_calibrated ? "calibrated on the PIT" : "not calibrated");
	return 0;
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

int guest_main(void)
{
	struct rt_virtio vd;

	rt_acpi_init(); /* for the MCFG; without ACPI, ports 0xCF8/0xCFC */
	if (rt_virtio_find(&vd, VIRTIO_ID_BLOCK)) {
		rt_printf("virtio-blk-test: no virtio-blk device on PCI bus 0: SKIP\n");
		return RT_EXIT_SKIP;
	}
	rt_printf("virtio-blk-test: device 00:%02x.0 (ID 0x%x) via %s\n", vd.dev, vd.device_id,
		  rt_acpi.ecam_gpa ? "ECAM" : "ports 0xCF8/0xCFC");
	if (rt_virtio_setup(&vd, 1u << VIRTIO_BLK_F_RO, 1))
		return RT_EXIT_FAIL;
	uint64_t capacity = *(volatile uint32_t *)vd.device |
			    (uint64_t) * (volatile uint32_t *)(vd.device + 4) << 32;
	rt_printf("virtio-blk-test: capacity %lu sectors\n", capacity);
	if (capacity < 2) {
		rt_printf("virtio-blk-test: the disk needs at least 2 sectors: FAIL\n");
		return RT_EXIT_FAIL;
	}
	if (blk_rw(&vd, VIRTIO_BLK_T_IN, 0))
		return RT_EXIT_FAIL;
	rt_printf("virtio-blk-test: sector 0 FNV-1a 0x%08x\n", fnv1a(data, sizeof(data)));
	unsigned long rate_ms = rt_cmdline_num("rate_ms=", 0);
	if (rate_ms && blk_rate(&vd, capacity, rate_ms))
		return RT_EXIT_FAIL;

	if (vd.features & (1u << VIRTIO_BLK_F_RO)) {
		rt_printf(
			"virtio-blk-test: read-only disk, no write test\nvirtio-blk-test: PASS\n");
		return RT_EXIT_PASS;
	}
	for (unsigned int j = 0; j < sizeof(data); j++)
		data[j] = (uint8_t)(j * 7 + 1);
	if (blk_rw(&vd, VIRTIO_BLK_T_OUT, 1))
		return RT_EXIT_FAIL;
	memset(data, 0, sizeof(data));
	if (blk_rw(&vd, VIRTIO_BLK_T_IN, 1))
		return RT_EXIT_FAIL;
	for (unsigned int j = 0; j < sizeof(data); j++) {
		if (data[j] != (uint8_t)(j * 7 + 1)) {
			rt_printf("virtio-blk-test: sector 1 byte %u reads 0x%x after the write: "
				  "FAIL\n",
				  j, data[j]);
			return RT_EXIT_FAIL;
		}
	}
	rt_printf("virtio-blk-test: wrote sector 1 and read it back\nvirtio-blk-test: PASS\n");
	return RT_EXIT_PASS;
}
