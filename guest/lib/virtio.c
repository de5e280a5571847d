/* virtio.c — a minimal virtio 1.x driver over PCI (modern interface) or MMIO (version 2):
 * capability walk, status handshake, a few split virtqueues, synchronous polled requests.
 * References: virtio 1.2 §4.1.4 (PCI capabilities: common 1, notify 2, ISR 3, device 4), §4.1.4.3
 * (common configuration layout), §3.1.1 (driver initialization), §2.7 (split virtqueues: descriptor
 * table, available and used rings), §4.1.4.4 (notification address). */
#include "rt.h"

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8

/* common configuration offsets (virtio 1.2 §4.1.4.3) */
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0c
#define CC_STATUS 0x14
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE 0x18
#define CC_Q_ENABLE 0x1c
#define CC_Q_NOFF 0x1e
#define CC_Q_DESC 0x20
#define CC_Q_AVAIL 0x28
#define CC_Q_USED 0x30

static uint8_t ring_mem[RT_VIRTIO_QUEUES][4096] __attribute__((aligned(4096)));

static void w8(volatile uint8_t *b, unsigned int off, uint8_t v)
{
	*(volatile uint8_t *)(b + off) = v;
}
static void w16(volatile uint8_t *b, unsigned int off, uint16_t v)
{
	*(volatile uint16_t *)(b + off) = v;
}
static void w32(volatile uint8_t *b, unsigned int off, uint32_t v)
{
	*(volatile uint32_t *)(b + off) = v;
}
static void w64(volatile uint8_t *b, unsigned int off, uint64_t v)
{
	w32(b, off, (uint32_t)v);
	w32(b, off + 4, (uint32_t)(v >> 32));
}
static uint8_t r8(volatile uint8_t *b, unsigned int off)
{
	return *(volatile uint8_t *)(b + off);
}
static uint16_t r16(volatile uint8_t *b, unsigned int off)
{
	return *(volatile uint16_t *)(b + off);
}
static uint32_t r32(volatile uint8_t *b, unsigned int off)
{
	return *(volatile uint32_t *)(b + off);
}

/* virtio-mmio registers (virtio 1.2 §4.2.2) */
#define MM_MAGIC 0x000
#define MM_VERSION 0x004
#define MM_DEVICE_ID 0x008
#define MM_DF 0x010
#define MM_DFSELECT 0x014
#define MM_GF 0x020
#define MM_GFSELECT 0x024
#define MM_Q_SELECT 0x030
#define MM_Q_NUM_MAX 0x034
#define MM_Q_NUM 0x038
#define MM_Q_READY 0x044
#define MM_Q_NOTIFY 0x050
#define MM_STATUS 0x070
#define MM_Q_DESC 0x080
#define MM_Q_AVAIL 0x090
#define MM_Q_USED 0x0a0
#define MM_CONFIG 0x100

static int find_mmio(struct rt_virtio *vd, unsigned int type)
{
	for (unsigned int i = 0; i < RT_VIRTIO_MMIO_WINDOWS; i++) {
		volatile uint8_t *b =
			(volatile uint8_t *)(uintptr_t)(RT_VIRTIO_MMIO_BASE + i * 0x1000ull);

		if (*(volatile uint32_t *)(b + MM_MAGIC) != 0x74726976u ||
		    *(volatile uint32_t *)(b + MM_VERSION) != 2 ||
		    *(volatile uint32_t *)(b + MM_DEVICE_ID) != type)
			continue;
		vd->mmio = b;
		vd->dev = i;
		vd->device_id = (uint16_t)type;
		vd->device = b + MM_CONFIG;
		rt_printf("virtio: device type %u in virtio-mmio window %u\n", type, i);
		return 0;
	}
	return -1;
}

void rt_virtio_pci_caps(unsigned int dev, struct rt_virtio_caps *c)
{
	memset(c, 0, sizeof(*c));
	for (unsigned int cap = rt_pci_read32(dev, 0, 0x34) & 0xfc, guard = 0; cap && guard < 48;
	     guard++) {
		uint32_t h = rt_pci_read32(dev, 0, cap);
		uint32_t w1 = rt_pci_read32(dev, 0, cap + 4), w2 = rt_pci_read32(dev, 0, cap + 8);
		if ((h & 0xff) == 0x09) { /* vendor-specific: a virtio_pci_cap */
			uint64_t base = rt_pci_bar(dev, 0, w1 & 0xff);
			volatile uint8_t *at = (volatile uint8_t *)(uintptr_t)(base + w2);
			switch (base ? (h >> 24) & 0xff : 0) {
			case 1:
				c->common = at;
				break;
			case 2:
				c->notify_base = base + w2;
				c->notify_mult = rt_pci_read32(dev, 0, cap + 16);
				break;
			case 3:
				c->isr = at;
				break;
			case 4:
				c->device = at;
				break;
			}
		} else if ((h & 0xff) == 0x11) { /* MSI-X: table BIR and offset */
			uint64_t base = rt_pci_bar(dev, 0, w1 & 7);
			if (base) {
				c->msix_table = base + (w1 & ~7u);
				c->msix_len = 16 * (((h >> 16) & 0x7ff) + 1);
			}
		}
		cap = (h >> 8) & 0xfc;
	}
}

int rt_virtio_find(struct rt_virtio *vd, unsigned int type)
{
	memset(vd, 0, sizeof(*vd));
	if (rt_pci_read32(0, 0, 0) == 0xffffffffu) /* no host bridge: no PCI */
		return find_mmio(vd, type);
	for (unsigned int dev = 0; dev < 32; dev++) {
		uint32_t id = rt_pci_read32(dev, 0, 0);
		uint16_t vendor = (uint16_t)id, device = (uint16_t)(id >> 16);
		if (vendor != 0x1af4)
			continue;
		bool modern = device == 0x1040 + type;
		bool transitional = device >= 0x1000 && device <= 0x103f &&
				    (rt_pci_read32(dev, 0, 0x2c) >> 16) == type; /* subsystem ID */
		if (!modern && !transitional)
			continue;
		vd->dev = dev;
		vd->device_id = device;
		uint32_t cmd = rt_pci_read32(dev, 0, 4);
		rt_pci_write32(dev, 0, 4, (cmd & 0xffff) | 0x6); /* memory space, bus master */
		if (!(rt_pci_read32(dev, 0, 4) & (1u << 20))) /* status: capabilities list */
			return -1;
		struct rt_virtio_caps c;
		rt_virtio_pci_caps(dev, &c);
		/* a device without device-specific config (entropy) has no DEVICE_CFG capability */
		if (!c.common || !c.notify_base)
			return -1;
		vd->common = c.common;
		vd->device = c.device;
		vd->notify_base = c.notify_base;
		vd->notify_mult = c.notify_mult;
		return 0;
	}
	return -1;
}

static void mm_w32(struct rt_virtio *vd, unsigned int off, uint32_t v)
{
	w32(vd->mmio, off, v);
}

static uint32_t mm_r32(struct rt_virtio *vd, unsigned int off)
{
	return r32(vd->mmio, off);
}

/* The same as rt_virtio_setup, through the virtio-mmio registers (virtio 1.2 §4.2.3). */
static int setup_mmio(struct rt_virtio *vd, uint32_t want, unsigned int nqueues)
{
	uint32_t s = STATUS_ACKNOWLEDGE | STATUS_DRIVER;

	mm_w32(vd, MM_STATUS, 0);
	for (unsigned int i = 0; i < 1000 && mm_r32(vd, MM_STATUS); i++)
		rt_delay_us(100);
	mm_w32(vd, MM_STATUS, STATUS_ACKNOWLEDGE);
	mm_w32(vd, MM_STATUS, s);
	mm_w32(vd, MM_DFSELECT, 1);
	if (!(mm_r32(vd, MM_DF) & 1)) {
		rt_printf("virtio-mmio: device %u does not offer VIRTIO_F_VERSION_1\n", vd->dev);
		return -1;
	}
	mm_w32(vd, MM_DFSELECT, 0);
	vd->features = mm_r32(vd, MM_DF) & want;
	mm_w32(vd, MM_GFSELECT, 0);
	mm_w32(vd, MM_GF, vd->features);
	mm_w32(vd, MM_GFSELECT, 1);
	mm_w32(vd, MM_GF, 1);
	mm_w32(vd, MM_STATUS, s | STATUS_FEATURES_OK);
	if (!(mm_r32(vd, MM_STATUS) & STATUS_FEATURES_OK)) {
		rt_printf("virtio-mmio: device %u refused features 0x%x\n", vd->dev, vd->features);
		return -1;
	}
	if (nqueues == 0 || nqueues > RT_VIRTIO_QUEUES)
		return -1;
	for (unsigned int q = 0; q < nqueues; q++) {
		struct rt_virtq *vq = &vd->vq[q];

		mm_w32(vd, MM_Q_SELECT, q);
		if (mm_r32(vd, MM_Q_READY) || mm_r32(vd, MM_Q_NUM_MAX) < RT_VQ_SIZE) {
			rt_printf("virtio-mmio: queue %u is in use or too small\n", q);
			return -1;
		}
		mm_w32(vd, MM_Q_NUM, RT_VQ_SIZE);
		memset(ring_mem[q], 0, sizeof(ring_mem[q]));
		vq->desc = (struct rt_virtq_desc *)ring_mem[q];
		vq->avail = (volatile uint16_t *)(ring_mem[q] + 1024);
		vq->used = ring_mem[q] + 2048;
		vq->avail_idx = vq->used_idx = 0;
		vq->notify = NULL; /* QueueNotify, 32 bits */
		w64(vd->mmio, MM_Q_DESC, (uint64_t)(uintptr_t)vq->desc);
		w64(vd->mmio, MM_Q_AVAIL, (uint64_t)(uintptr_t)vq->avail);
		w64(vd->mmio, MM_Q_USED, (uint64_t)(uintptr_t)vq->used);
		mm_w32(vd, MM_Q_READY, 1);
	}
	vd->nqueues = nqueues;
	mm_w32(vd, MM_STATUS, s | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
	return 0;
}

int rt_virtio_setup(struct rt_virtio *vd, uint32_t want, unsigned int nqueues)
{
	volatile uint8_t *cc = vd->common;

	if (vd->mmio)
		return setup_mmio(vd, want, nqueues);

	w8(cc, CC_STATUS, 0); /* reset; reads back 0 when done (§4.1.4.3.1) */
	for (unsigned int i = 0; i < 1000 && r8(cc, CC_STATUS); i++)
		rt_delay_us(100);
	w8(cc, CC_STATUS, STATUS_ACKNOWLEDGE);
	w8(cc, CC_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
	w32(cc, CC_DFSELECT, 1);
	if (!(r32(cc, CC_DF) & 1)) {
		rt_printf("virtio: device 0x%x does not offer VIRTIO_F_VERSION_1\n", vd->device_id);
		return -1;
	}
	w32(cc, CC_DFSELECT, 0);
	uint32_t f0 = r32(cc, CC_DF) & want;
	vd->features = f0;
	w32(cc, CC_GFSELECT, 0);
	w32(cc, CC_GF, f0);
	w32(cc, CC_GFSELECT, 1);
	w32(cc, CC_GF, 1); /* VIRTIO_F_VERSION_1 */
	w8(cc, CC_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
	if (!(r8(cc, CC_STATUS) & STATUS_FEATURES_OK)) {
		rt_printf("virtio: device 0x%x refused features 0x%x\n", vd->device_id, f0);
		return -1;
	}
	if (nqueues == 0 || nqueues > RT_VIRTIO_QUEUES)
		return -1;
	for (unsigned int q = 0; q < nqueues; q++) {
		struct rt_virtq *vq = &vd->vq[q];
		w16(cc, CC_Q_SELECT, (uint16_t)q);
		uint16_t max = r16(cc, CC_Q_SIZE);
		if (max < RT_VQ_SIZE) {
			rt_printf("virtio: queue %u has %u entries, need %u\n", q, max, RT_VQ_SIZE);
			return -1;
		}
		w16(cc, CC_Q_SIZE, RT_VQ_SIZE);
		/* ring_mem[q]: descriptors at 0 (16-byte aligned), available ring at 1024, used
		 * ring at 2048 */
		memset(ring_mem[q], 0, sizeof(ring_mem[q]));
		vq->desc = (struct rt_virtq_desc *)ring_mem[q];
		vq->avail = (volatile uint16_t *)(ring_mem[q] + 1024);
		vq->used = ring_mem[q] + 2048;
		vq->avail_idx = vq->used_idx = 0;
		vq->notify = (volatile uint16_t *)(uintptr_t)(vd->notify_base +
							      (uint64_t)r16(cc, CC_Q_NOFF) *
								      vd->notify_mult);
		w64(cc, CC_Q_DESC, (uint64_t)(uintptr_t)vq->desc);
		w64(cc, CC_Q_AVAIL, (uint64_t)(uintptr_t)vq->avail);
		w64(cc, CC_Q_USED, (uint64_t)(uintptr_t)vq->used);
		w16(cc, CC_Q_ENABLE, 1);
	}
	vd->nqueues = nqueues;
	w8(cc, CC_STATUS,
	   STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
	return 0;
}

static void notify(struct rt_virtio *vd, unsigned int q)
{
	if (vd->mmio)
		mm_w32(vd, MM_Q_NOTIFY, q);
	else
		*vd->vq[q].notify = (uint16_t)q;
}

/* waits for the used ring of vq to reach idx; false on timeout */
static bool wait_used(struct rt_virtq *vq, uint16_t idx, uint64_t timeout_us)
{
	uint64_t end = rt_now_us() + timeout_us;

	while (*(volatile uint16_t *)(vq->used + 2) != idx) {
		if (rt_now_us() > end)
			return false;
		rt_pause();
	}
	rt_barrier();
	return true;
}

/* Posts n descriptors on queue q from descriptor 0: one chain of them (chain), or each a buffer of
 * its own; publishes them and notifies.  Returns the number of chains posted, 0 for a bad call. */
static unsigned int post(struct rt_virtio *vd, unsigned int q, const struct rt_virtq_desc *d,
			 unsigned int n, bool chain)
{
	if (q >= vd->nqueues || n == 0 || n > RT_VQ_SIZE)
		return 0;
	struct rt_virtq *vq = &vd->vq[q];
	unsigned int heads = chain ? 1 : n;
	for (unsigned int i = 0; i < n; i++) {
		bool more = chain && i + 1 < n;
		vq->desc[i] = d[i];
		vq->desc[i].flags = (uint16_t)((d[i].flags & ~1u) | (more ? 1 : 0));
		vq->desc[i].next = (uint16_t)(more ? i + 1 : 0);
	}
	for (unsigned int i = 0; i < heads; i++)
		vq->avail[2 + (uint16_t)(vq->avail_idx + i) % RT_VQ_SIZE] = (uint16_t)i;
	rt_barrier();
	vq->avail_idx = (uint16_t)(vq->avail_idx + heads);
	vq->avail[1] = vq->avail_idx;
	rt_barrier();
	notify(vd, q);
	return heads;
}

long rt_virtio_run_each(struct rt_virtio *vd, unsigned int q, const struct rt_virtq_desc *bufs,
			unsigned int n, uint64_t timeout_us)
{
	if (!post(vd, q, bufs, n, false))
		return -1;
	struct rt_virtq *vq = &vd->vq[q];
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	return wait_used(vq, vq->used_idx, timeout_us) ? (long)n : -1;
}

long rt_virtio_run(struct rt_virtio *vd, unsigned int q, const struct rt_virtq_desc *chain,
		   unsigned int n, uint64_t timeout_us)
{
	if (!post(vd, q, chain, n, true))
		return -1;
	struct rt_virtq *vq = &vd->vq[q];
	if (!wait_used(vq, (uint16_t)(vq->used_idx + 1), timeout_us))
		return -1;
	unsigned int slot = vq->used_idx++ % RT_VQ_SIZE;
	return *(volatile uint32_t *)(vq->used + 4 + 8 * slot + 4);
}
