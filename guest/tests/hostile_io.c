/* hostile_io.c — the guest of the hostile-guest suite (tests/kvm/test_hostile_kvm.sh). From a seed
 * (command line "seed=N") and for a time per phase ("budget_ms=N", default 1500) it attacks every
 * interface vmon gives a guest, then checks that vmon still serves it:
 *  1. virtqueues: every virtio device (PCI or virtio-mmio) is reset again and again, offered random
 *     features, random queue sizes and ring addresses (in RAM, straddling its end, in the MMIO
 * hole, far past RAM, just below 2^64), random descriptors (loops, indirect tables, huge lengths,
 * wild addresses) and random avail indices, and notified on every queue number;
 *  2. MMIO: random widths and values at random offsets of every page vmon maps (each PCI BAR, the
 *     ECAM pages, the virtio-mmio windows) and at random addresses of the MMIO hole;
 *  3. PCI configuration: every register of every function on bus 0, BARs included, through ports
 *     0xCF8/0xCFC and through ECAM;
 *  4. PIO: every port 0..0xffff with a random write and a read, then random ports.
 * Spared, so that the guest lives to report: its own memory (below PROTECT_END: code, stacks, page
 * tables), the LAPIC and IOAPIC pages (KVM's, not vmon's), the writes that end the VM by contract
 * (debug exit 0xf4, ACPI S5 at 0x600, the reset bit of 0xCF9, the i8042 reset lines) and MSI-X
 * messages other than fixed delivery (an INIT or NMI to itself).  Addresses the guest hands to a
 * device are never below PROTECT_END unless vmon computes them wrongly (wrapping 2^64).
 * Finally it restores the PCI configuration, drives one well-formed request through virtio-rng and
 * virtio-blk where present, prints "hostile: done" and passes. */
#include "../lib/rt.h"

/* Guest RAM as this guest uses it. A device reads descriptors only from RING, which only the guest
 * writes and which holds nothing but well-shaped junk descriptors; devices write only where nothing
 * is read back as an address (USED, SCRATCH, past RAM). Mixing the two let a device's writes (an
 * echo of shifted junk, a used ring) become a descriptor pointing into the guest's own memory: the
 * guest then wrecks itself, which says nothing about vmon. */
#define PROTECT_END (16ull << 20) /* the guest's image, stacks and page tables */
#define RING_BASE (16ull << 20) /* descriptor tables */
#define RING_LEN (1ull << 20)
#define AVAIL_BASE (17ull << 20) /* available rings */
#define AVAIL_LEN (256u << 10)
#define USED_BASE (AVAIL_BASE + AVAIL_LEN) /* used rings */
#define USED_LEN (512u << 10)
#define PFN_BASE (18ull << 20) /* a balloon's page lists */
#define PFN_LEN (64u << 10)
#define SCRATCH_BASE (20ull << 20) /* plain RAM a device may write */
#define MAX_FNS 32
#define MAX_DEVS 32
#define MMIO_WINDOWS 16
#define VIRTIO_ID_BALLOON 5

static uint64_t prng;
static uint64_t ram_end;

static uint64_t rnd(void)
{
	prng ^= prng >> 12;
	prng ^= prng << 25;
	prng ^= prng >> 27;
	return prng * 0x2545F4914F6CDD1Dull;
}
static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* an address for a device: anywhere but the guest's own memory */
static uint64_t spare(uint64_t a)
{
	return a < SCRATCH_BASE ? a + SCRATCH_BASE : a;
}
/* a 16-aligned address in the MMIO hole below the IOAPIC, from @v: no RAM there */
static uint64_t hole(uint64_t v)
{
	return 0xC0000000ull + (v % 0x3EC00000ull & ~15ull);
}
/* no RAM there: the MMIO hole, past RAM, just below 2^64 (wraps with a length), anywhere */
static uint64_t wild(void)
{
	switch (below(4)) {
	case 0:
		return 0xC0000000ull + below(0x40000000ull);
	case 1:
		return ram_end + 8192 + below(1ull << 40);
	case 2:
		return ~0ull - below(1u << 20);
	default:
		return spare(rnd());
	}
}
/* a descriptor table: 16-aligned in RING (sometimes 8 off), or where there is no RAM */
static uint64_t table_addr(void)
{
	if (below(4) == 0)
		return wild();
	return RING_BASE + (below(RING_LEN / 2) & ~15ull) + (below(8) ? 0 : 8);
}
/* a buffer: what a device may write (@writable) never lies where descriptors or rings are read */
static uint64_t buf_addr(bool writable)
{
	switch (below(10)) {
	case 0:
	case 1:
	case 2:
		return SCRATCH_BASE + below(ram_end - SCRATCH_BASE);
	case 3:
		return spare(ram_end - below(8192)); /* straddles the end of RAM */
	case 4:
		return USED_BASE + below(USED_LEN);
	case 5:
		return writable ? SCRATCH_BASE + below(1u << 20) : RING_BASE + below(RING_LEN);
	case 6:
		return writable ? USED_BASE + below(USED_LEN) : PFN_BASE + below(PFN_LEN);
	default:
		return wild();
	}
}
static uint32_t rnd_len(void)
{
	switch (below(8)) {
	case 0:
		return 0;
	case 1:
		return 1 + (uint32_t)below(16);
	case 2:
		return 512;
	case 3:
		return 4096;
	case 4:
		return (uint32_t)below(65536);
	case 5:
		return (uint32_t)below(1u << 24);
	case 6:
		return 0xffffffffu - (uint32_t)below(16);
	default:
		return (uint32_t)rnd();
	}
}
static uint64_t rnd_val(void)
{
	switch (below(6)) {
	case 0:
		return 0;
	case 1:
		return ~0ull;
	case 2:
		return below(17);
	case 3:
		return 1ull << below(64);
	default:
		return rnd();
	}
}

/* One 16-byte descriptor of junk.  Read at a misaligned place its len/flags/next still make an
 * address past RAM: flags and next are never both zero. */
static void junk_desc(volatile uint8_t *p, unsigned int qsize)
{
	uint16_t flags = below(4) ? (uint16_t)below(8) : (uint16_t)rnd();
	uint16_t next = below(4) ? (uint16_t)below(qsize + 2) : (uint16_t)rnd();

	if (!flags && !next)
		next = 1;
	/* 4 = INDIRECT: a table; 2 = WRITE: the device writes the buffer */
	*(volatile uint64_t *)p = (flags & 4) ? table_addr() : buf_addr(flags & 2);
	*(volatile uint32_t *)(p + 8) = rnd_len();
	*(volatile uint16_t *)(p + 12) = flags;
	*(volatile uint16_t *)(p + 14) = next;
}
/* [a, a + len) inside RING, without wrapping past 2^64 */
static bool in_ring(uint64_t a, uint64_t len)
{
	return a >= RING_BASE && a < RING_BASE + RING_LEN && len <= RING_BASE + RING_LEN - a;
}
static void junk_descs(uint64_t base, unsigned int n, unsigned int qsize)
{
	for (unsigned int i = 0; i < n && in_ring(base + 16 * i, 16); i++)
		junk_desc((volatile uint8_t *)(uintptr_t)(base + 16 * i), qsize);
}
/* A balloon's page list entries: page frames of RAM above the guest's own, past RAM, or with every
 * byte non-zero (so that a misaligned read of two of them is past RAM too). */
static void fill_pfns(void)
{
	for (uint64_t a = PFN_BASE; a < PFN_BASE + PFN_LEN; a += 4) {
		uint32_t v;
		switch (below(4)) {
		case 0:
		case 1:
			v = (uint32_t)((SCRATCH_BASE + below(ram_end - SCRATCH_BASE)) >> 12);
			break;
		case 2:
			v = (uint32_t)(ram_end >> 12) + (uint32_t)below(1u << 20);
			break;
		default:
			v = (uint32_t)rnd() | 0x01010101u;
			break;
		}
		*(volatile uint32_t *)(uintptr_t)a = v;
	}
}

/* ---- what vmon gives this guest */
struct fn_save {
	unsigned int dev;
	uint32_t cmd, bars[6];
};
static struct fn_save fns[MAX_FNS];
static unsigned int nfns;

struct region {
	uint64_t base, len;
};
static struct region regions[64];
static unsigned int nregions;

struct hdev {
	uint16_t type;
	bool mmio;
	volatile uint8_t *win; /* virtio-mmio registers */
	volatile uint8_t *common, *isr, *devcfg; /* virtio-pci */
	uint64_t notify_base;
	uint32_t notify_mult;
	uint64_t msix_table;
	uint32_t msix_len;
	unsigned long iterations, notifies, resets;
};
static struct hdev devs[MAX_DEVS];
static unsigned int ndevs;

static void add_region(uint64_t base, uint64_t len)
{
	if (nregions < sizeof(regions) / sizeof(regions[0]) && len)
		regions[nregions++] = (struct region){ base, len };
}

static uint64_t bar_size(unsigned int dev, unsigned int bar)
{
	unsigned int reg = 0x10 + 4 * bar;
	uint32_t lo = rt_pci_read32(dev, 0, reg);

	rt_pci_write32(dev, 0, reg, 0xffffffffu);
	uint32_t mask = rt_pci_read32(dev, 0, reg) & ~0xfu;
	rt_pci_write32(dev, 0, reg, lo);
	return mask ? (uint64_t)(~mask + 1u) : 0;
}

static void find_pci(void)
{
	if (rt_pci_read32(0, 0, 0) == 0xffffffffu)
		return;
	for (unsigned int dev = 0; dev < 32 && nfns < MAX_FNS; dev++) {
		uint32_t id = rt_pci_read32(dev, 0, 0);
		if ((uint16_t)id == 0xffff)
			continue;
		struct fn_save *f = &fns[nfns++];
		f->dev = dev;
		f->cmd = rt_pci_read32(dev, 0, 4);
		for (unsigned int b = 0; b < 6; b++)
			f->bars[b] = rt_pci_read32(dev, 0, 0x10 + 4 * b);
		rt_pci_write32(dev, 0, 4, (f->cmd & 0xffff) | 0x6);
		if (rt_acpi.ecam_gpa)
			add_region(rt_acpi.ecam_gpa + ((uint64_t)dev << 15), 4096);
		for (unsigned int b = 0; b < 6; b++) {
			uint64_t base = rt_pci_bar(dev, 0, b);
			if (base && base < 0x100000000ull) {
				uint64_t len = bar_size(dev, b);
				add_region(base, len > (64u << 10) ? (64u << 10) : len);
			}
		}
		if ((uint16_t)id != 0x1af4 || ndevs >= MAX_DEVS)
			continue;
		uint16_t did = (uint16_t)(id >> 16);
		struct hdev *d = &devs[ndevs];
		memset(d, 0, sizeof(*d));
		d->type = did >= 0x1040 ? (uint16_t)(did - 0x1040)
					: (uint16_t)(rt_pci_read32(dev, 0, 0x2c) >> 16);
		struct rt_virtio_caps c;
		rt_virtio_pci_caps(dev, &c);
		d->common = c.common;
		d->isr = c.isr;
		d->devcfg = c.device;
		d->notify_base = c.notify_base;
		d->notify_mult = c.notify_mult;
		d->msix_table = c.msix_table;
		d->msix_len = c.msix_len;
		if (d->common && d->notify_base)
			ndevs++;
	}
}

static void find_mmio(void)
{
	for (unsigned int i = 0; i < MMIO_WINDOWS; i++) {
		uint64_t gpa = RT_VIRTIO_MMIO_BASE + 0x1000ull * i;
		volatile uint8_t *w = (volatile uint8_t *)(uintptr_t)gpa;
		add_region(gpa, 0x1000);
		if (*(volatile uint32_t *)w != 0x74726976u || ndevs >= MAX_DEVS)
			continue;
		struct hdev *d = &devs[ndevs++];
		memset(d, 0, sizeof(*d));
		d->mmio = true;
		d->win = w;
		d->type = (uint16_t) * (volatile uint32_t *)(w + 0x008);
	}
}

/* ---- phase 1: virtqueues */
static void v_status(struct hdev *d, uint8_t s)
{
	if (d->mmio)
		*(volatile uint32_t *)(d->win + 0x070) = s;
	else
		d->common[0x14] = s;
}
static uint8_t v_get_status(struct hdev *d)
{
	return d->mmio ? (uint8_t) * (volatile uint32_t *)(d->win + 0x070) : d->common[0x14];
}
static void v_features(struct hdev *d)
{
	uint32_t nsel = 2 + (uint32_t)below(2); /* the third word is past every feature */

	for (uint32_t sel = 0; sel < nsel; sel++) {
		if (d->mmio) {
			*(volatile uint32_t *)(d->win + 0x014) = sel;
			(void)*(volatile uint32_t *)(d->win + 0x010);
			*(volatile uint32_t *)(d->win + 0x024) = sel;
			*(volatile uint32_t *)(d->win + 0x020) = (uint32_t)rnd_val();
		} else {
			*(volatile uint32_t *)(d->common + 0x00) = sel;
			(void)*(volatile uint32_t *)(d->common + 0x04);
			*(volatile uint32_t *)(d->common + 0x08) = sel;
			*(volatile uint32_t *)(d->common + 0x0c) = (uint32_t)rnd_val();
		}
	}
}
static unsigned int v_nqueues(struct hdev *d)
{
	if (!d->mmio)
		return *(volatile uint16_t *)(d->common + 0x12);
	unsigned int n = 0;
	for (; n < 16; n++) {
		*(volatile uint32_t *)(d->win + 0x030) = n;
		if (!*(volatile uint32_t *)(d->win + 0x034))
			break;
	}
	return n;
}
static unsigned int v_select(struct hdev *d, unsigned int q)
{
	if (d->mmio) {
		*(volatile uint32_t *)(d->win + 0x030) = q;
		return *(volatile uint32_t *)(d->win + 0x034);
	}
	*(volatile uint16_t *)(d->common + 0x16) = (uint16_t)q;
	return *(volatile uint16_t *)(d->common + 0x18);
}
static void w64_split(volatile uint8_t *p, uint64_t v)
{
	*(volatile uint32_t *)p = (uint32_t)v;
	*(volatile uint32_t *)(p + 4) = (uint32_t)(v >> 32);
}
static void v_rings(struct hdev *d, uint64_t desc, uint64_t avail, uint64_t used)
{
	volatile uint8_t *r = d->mmio ? d->win + 0x080 : d->common + 0x20;
	unsigned int step = d->mmio ? 0x10 : 0x08;

	w64_split(r, desc);
	w64_split(r + step, avail);
	w64_split(r + 2 * step, used);
}
static void v_queue(struct hdev *d, unsigned int size, uint64_t desc, uint64_t avail, uint64_t used,
		    uint32_t enable)
{
	if (d->mmio) {
		*(volatile uint32_t *)(d->win + 0x038) = size;
		v_rings(d, desc, avail, used);
		*(volatile uint32_t *)(d->win + 0x044) = enable;
	} else {
		*(volatile uint16_t *)(d->common + 0x18) = (uint16_t)size;
		*(volatile uint16_t *)(d->common + 0x1a) = (uint16_t)rnd_val(); /* MSI-X vector */
		v_rings(d, desc, avail, used);
		*(volatile uint16_t *)(d->common + 0x1c) = (uint16_t)enable;
	}
}
static void v_notify(struct hdev *d, unsigned int q)
{
	d->notifies++;
	if (d->mmio) {
		*(volatile uint32_t *)(d->win + 0x050) = q;
		return;
	}
	*(volatile uint16_t *)(d->common + 0x16) = (uint16_t)q;
	uint64_t a = d->notify_base +
		     (uint64_t) * (volatile uint16_t *)(d->common + 0x1e) * d->notify_mult;
	if (a >= 0xC0000000ull && a < 0xFEC00000ull)
		*(volatile uint16_t *)(uintptr_t)a = (uint16_t)(below(4) ? q : rnd());
}
static void v_poke_config(struct hdev *d)
{
	volatile uint8_t *c = d->mmio ? d->win + 0x100 : d->devcfg;
	if (!c)
		return;
	unsigned int off = (unsigned int)below(64);
	if (below(2))
		c[off] = (uint8_t)rnd();
	else
		(void)c[off];
	if (d->mmio) { /* interrupt status, then a random acknowledgement */
		(void)*(volatile uint32_t *)(d->win + 0x060);
		*(volatile uint32_t *)(d->win + 0x064) = (uint32_t)rnd();
	} else if (d->isr) {
		(void)*d->isr;
	}
}

/* A balloon's inflate and deflate queues (0, 1) read page frame lists from their buffers, every
 * word of which vmon takes as a frame to give back or take again; its reporting queue (2 or 3)
 * gives back whole ranges. So on queues 0 and 1 a descriptor lies wholly inside PFN (whose entries
 * all lie above the guest's memory) or where there is no RAM: one that ran on past PFN would hand
 * vmon the zeros after it and whatever devices wrote to SCRATCH (disk blocks of junk descriptors,
 * whose small numbers are the guest's own frames) as frames to discard, and the guest then loses
 * its own pages. On the other queues a descriptor covers SCRATCH, which is free to lose, or no RAM.
 * Never written. */
static void balloon_descs(uint64_t base, unsigned int n, unsigned int qsize, unsigned int q)
{
	for (unsigned int i = 0; i < n && in_ring(base + 16 * i, 16); i++) {
		volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)(base + 16 * i);
		uint16_t next = (uint16_t)below(qsize + 2);
		uint64_t a = wild();
		uint32_t len = rnd_len();
		if (below(8) && q < 2) {
			a = PFN_BASE + (below(PFN_LEN) & ~3ull);
			uint64_t room = PFN_BASE + PFN_LEN - a;
			len = below(4) ? (uint32_t)below(room + 1) : (uint32_t)room;
		} else if (below(8)) {
			a = SCRATCH_BASE + (below(ram_end - SCRATCH_BASE) & ~0xfffull);
		}
		*(volatile uint64_t *)p = a;
		*(volatile uint32_t *)(p + 8) = len;
		*(volatile uint16_t *)(p + 12) = (uint16_t)below(2); /* NEXT or nothing */
		*(volatile uint16_t *)(p + 14) = next ? next : 1;
	}
}

static void virtq_phase(struct hdev *d, uint64_t budget_us)
{
	uint64_t end = rt_now_us() + budget_us;
	unsigned int nq = v_nqueues(d);

	if (nq > 16)
		nq = 16;
	while (rt_now_us() < end) {
		if (d->iterations == 0 || below(6) == 0) {
			v_status(d, 0);
			for (unsigned int i = 0; i < 100 && v_get_status(d); i++)
				rt_pause();
			v_status(d, 1);
			v_status(d, 3);
			v_features(d);
			v_status(d, below(8) ? 0x0b : (uint8_t)rnd());
			d->resets++;
		}
		unsigned int q = (unsigned int)below(nq + 2);
		unsigned int max = v_select(d, q);
		unsigned int size;
		switch (below(6)) {
		case 0:
			size = 1;
			break;
		case 1:
			size = (unsigned int)below(max + 2);
			break;
		case 2:
			size = (uint16_t)rnd();
			break;
		default:
			size = max ? max : 8;
			break;
		}
		if (d->type == VIRTIO_ID_BALLOON && size > 4096)
			size = 4096; /* every one of its descriptors rewritten below */
		uint64_t desc = table_addr();
		uint64_t avail = below(4) ? AVAIL_BASE + (below(AVAIL_LEN / 2) & ~1ull) : wild();
		uint64_t used =
			below(4) ? USED_BASE + (below(USED_LEN / 2) & ~3ull) : buf_addr(true);
		unsigned int n = size > 4096 ? 4096 : size;
		if (d->type == VIRTIO_ID_BALLOON)
			balloon_descs(desc, n, size, q);
		else if (in_ring(desc, 16))
			junk_descs(desc, n, size);
		v_queue(d, size, desc, avail, used, below(8) ? 1 : (uint32_t)rnd());
		v_status(d, below(8) ? 0x0f : (uint8_t)rnd());
		/* (not avail + 134 <= end: a ring just below 2^64 wraps to a small number) */
		bool avail_ours =
			avail >= AVAIL_BASE && avail <= AVAIL_BASE + AVAIL_LEN - 6 - 2 * 64;
		for (unsigned int k = 0, kicks = 1 + (unsigned int)below(4); k < kicks; k++) {
			if (avail_ours) {
				volatile uint16_t *a = (volatile uint16_t *)(uintptr_t)avail;
				a[0] = (uint16_t)below(2);
				for (unsigned int i = 0; i < n && i < 64; i++)
					a[2 + i] = (uint16_t)(below(4) ? below(size + 1) : rnd());
				a[1] = (uint16_t)(a[1] + (below(4) ? 1 + below(size + 1) : rnd()));
			}
			v_notify(d, below(4) ? q : (unsigned int)rnd());
		}
		rt_delay_us(below(300));
		v_poke_config(d);
		d->iterations++;
	}
	v_status(d, 0);
}

/* ---- phase 2: MMIO pages */
static bool in(uint64_t a, uint64_t base, uint64_t len)
{
	return a >= base && a < base + len;
}
/* The value a write of @width bytes at @a may carry: ring addresses stay out of the guest's
 * memory, MSI-X messages stay fixed-delivery; false: leave the write out. */
static bool spare_write(uint64_t a, unsigned int *width, uint64_t *v)
{
	if (in(a, 0xFEC00000ull, 0x1000) || in(a, 0xFEE00000ull, 0x1000))
		return false; /* KVM's IOAPIC and LAPIC */
	for (unsigned int i = 0; i < ndevs; i++) {
		struct hdev *d = &devs[i];
		uint64_t enable = d->mmio ? (uint64_t)(uintptr_t)d->win + 0x044
					  : (uint64_t)(uintptr_t)d->common + 0x1c;
		if (in(a, enable, d->mmio ? 4 : 2) || in(a + *width - 1, enable, d->mmio ? 4 : 2)) {
			/* A queue made ready after a reset has its rings at 0, the guest's own
			 * memory: give the selected queue junk rings first (ignored while ready) */
			uint64_t desc = table_addr();
			if (d->type == VIRTIO_ID_BALLOON)
				desc = hole(rnd()); /* it would discard frames it read in RAM */
			else if (in_ring(desc, 16))
				junk_descs(desc, 256, 256);
			v_rings(d, desc, AVAIL_BASE + (below(AVAIL_LEN / 2) & ~1ull),
				USED_BASE + (below(USED_LEN / 2) & ~3ull));
		}
		uint64_t ring_regs = d->mmio ? (uint64_t)(uintptr_t)d->win + 0x080
					     : (uint64_t)(uintptr_t)d->common + 0x20;
		unsigned int ring_len = d->mmio ? 0x28 : 0x18;
		if (in(a, ring_regs, ring_len) || in(a + *width - 1, ring_regs, ring_len)) {
			/* a ring's address, whole 32-bit halves: a table's low half in RING (a
			 * balloon's in the MMIO hole: junk there points at SCRATCH, whose words it
			 * would take as frames to discard), the others' at least SCRATCH_BASE (so
			 * never in RING); high halves random */
			uint64_t off = a - ring_regs;
			*width = 4;
			if (off < 4 && d->type == VIRTIO_ID_BALLOON)
				*v = hole(*v);
			else if (off < 4)
				*v = RING_BASE + (*v % (RING_LEN / 2) & ~15ull);
			else if (!(off & 4))
				*v = spare((uint32_t)*v);
			return (off & 3) == 0;
		}
		if (d->msix_len && (in(a, d->msix_table, d->msix_len) ||
				    in(a + *width - 1, d->msix_table, d->msix_len))) {
			*width = 4;
			if (((a - d->msix_table) & 15) == 8)
				*v &= ~0x700ull; /* delivery mode fixed */
			return ((a - d->msix_table) & 3) == 0;
		}
	}
	return true;
}
static void mmio_access(uint64_t a, unsigned int width, uint64_t v, bool write)
{
	a &= ~(uint64_t)(width - 1);
	if (!write) {
		switch (width) {
		case 1:
			(void)*(volatile uint8_t *)(uintptr_t)a;
			break;
		case 2:
			(void)*(volatile uint16_t *)(uintptr_t)a;
			break;
		case 4:
			(void)*(volatile uint32_t *)(uintptr_t)a;
			break;
		default:
			(void)*(volatile uint64_t *)(uintptr_t)a;
			break;
		}
		return;
	}
	if (!spare_write(a, &width, &v))
		return;
	switch (width) {
	case 1:
		*(volatile uint8_t *)(uintptr_t)a = (uint8_t)v;
		break;
	case 2:
		*(volatile uint16_t *)(uintptr_t)a = (uint16_t)v;
		break;
	case 4:
		*(volatile uint32_t *)(uintptr_t)a = (uint32_t)v;
		break;
	default:
		*(volatile uint64_t *)(uintptr_t)a = v;
		break;
	}
}
static unsigned long mmio_phase(uint64_t budget_us)
{
	uint64_t end = rt_now_us() + budget_us;
	unsigned long n = 0;

	while (rt_now_us() < end) {
		uint64_t a;
		if (nregions && below(4)) {
			struct region *r = &regions[below(nregions)];
			a = r->base + below(r->len);
		} else {
			a = 0xC0000000ull + below(0xFEC00000ull - 0xC0000000ull);
		}
		unsigned int width = 1u << below(4);
		mmio_access(a, width, rnd_val(), below(2));
		mmio_access(a, width, 0, false);
		n++;
	}
	return n;
}

/* ---- phase 3: PCI configuration space */
static unsigned long pci_phase(uint64_t budget_us)
{
	uint64_t end = rt_now_us() + budget_us;
	unsigned long n = 0;

	if (!nfns)
		return 0;
	/* every register of every function once, then random ones */
	for (unsigned int f = 0; f < nfns; f++)
		for (unsigned int reg = 0; reg < 256; reg += 4, n++) {
			rt_pci_write32(fns[f].dev, 0, reg, (uint32_t)rnd_val());
			(void)rt_pci_read32(fns[f].dev, 0, reg);
		}
	while (rt_now_us() < end) {
		unsigned int dev = below(4) ? fns[below(nfns)].dev : (unsigned int)below(32);
		unsigned int reg = below(3) ? 0x10 + 4 * (unsigned int)below(6)
					    : (unsigned int)below(4096) & ~3u;
		uint32_t v = below(4) ? (uint32_t)rnd_val()
				      : (uint32_t)(below(2) ? buf_addr(false) : 0xffffffffu);
		if (below(2)) { /* mechanism #1, random widths and offsets in the data window */
			rt_outl(0xcf8, (below(8) ? 0x80000000u : 0) | dev << 11 | (reg & 0xfc) |
					       (uint32_t)(below(16) ? 0 : rnd() & 0x7f0f0003u));
			switch (below(3)) {
			case 0:
				rt_outb((uint16_t)(0xcfc + below(4)), (uint8_t)v);
				break;
			case 1:
				rt_outw((uint16_t)(0xcfc + 2 * below(2)), (uint16_t)v);
				break;
			default:
				rt_outl(0xcfc, v);
				break;
			}
			(void)rt_inl(0xcfc);
		} else {
			rt_pci_write32(dev, 0, reg, v);
			(void)rt_pci_read32(dev, 0, reg);
		}
		n++;
	}
	return n;
}

/* ---- phase 4: I/O ports */
/* Writes that end the VM by contract are left out or defused; everything else goes through. */
static bool spare_pio(uint16_t port, unsigned int width, uint32_t *v)
{
	for (unsigned int i = 0; i < width; i++) {
		unsigned int p = (uint16_t)(port + i);
		uint32_t shift = 8 * i;
		uint8_t b = (uint8_t)(*v >> shift);
		if (p >= 0xf4 && p <= 0xf7)
			return false; /* debug exit */
		if (p == 0x600)
			b &= (uint8_t)~0x20; /* SLP_EN */
		if (p == 0xcf9 && !(port == 0xcf8 && width == 4))
			b &= (uint8_t)~0x04; /* reset CPU */
		if (p == 0x64 && (b == 0xd1 || b >= 0xf0))
			b = 0xd0; /* write output port / pulse reset: read output port instead */
		*v = (*v & ~(0xffu << shift)) | ((uint32_t)b << shift);
	}
	return true;
}
static void pio_access(uint16_t port, unsigned int width, uint32_t v)
{
	if (spare_pio(port, width, &v)) {
		if (width == 1)
			rt_outb(port, (uint8_t)v);
		else if (width == 2)
			rt_outw(port, (uint16_t)v);
		else
			rt_outl(port, v);
	}
	if (width == 1)
		(void)rt_inb(port);
	else if (width == 2)
		(void)rt_inw(port);
	else
		(void)rt_inl(port);
}
static unsigned long pio_phase(uint64_t budget_us)
{
	uint64_t end = rt_now_us() + budget_us;
	unsigned long n = 0;

	for (uint32_t port = 0; port <= 0xffff; port++, n++)
		pio_access((uint16_t)port, 1u << below(3), (uint32_t)rnd_val());
	while (rt_now_us() < end) {
		uint16_t port = below(2) ? (uint16_t)below(0x1000) : (uint16_t)rnd();
		pio_access(port, 1u << below(3), (uint32_t)rnd_val());
		n++;
	}
	return n;
}

/* ---- afterwards: vmon still serves this guest */
static void restore_pci(void)
{
	for (unsigned int f = 0; f < nfns; f++) {
		rt_pci_write32(fns[f].dev, 0, 4, 0);
		for (unsigned int b = 0; b < 6; b++)
			rt_pci_write32(fns[f].dev, 0, 0x10 + 4 * b, fns[f].bars[b]);
		rt_pci_write32(fns[f].dev, 0, 4, fns[f].cmd & 0xffff);
	}
}

static uint8_t buf[512] __attribute__((aligned(512)));
static struct {
	uint32_t type, reserved;
	uint64_t sector;
} blk_hdr __attribute__((aligned(16)));
static volatile uint8_t blk_status;

static int recovered(void)
{
	struct rt_virtio vd;
	int checked = 0;

	if (rt_virtio_find(&vd, 4) == 0) {
		memset(buf, 0, 64);
		struct rt_virtq_desc c = { (uint64_t)(uintptr_t)buf, 64, 2, 0 };
		long got = rt_virtio_setup(&vd, 0, 1) ? -2 : rt_virtio_run(&vd, 0, &c, 1, 2000000);
		rt_printf("hostile: recovered: virtio-rng answered %d bytes\n", (int)got);
		if (got <= 0)
			return -1;
		checked++;
	}
	if (rt_virtio_find(&vd, 2) == 0) {
		blk_hdr.type = 0; /* VIRTIO_BLK_T_IN, sector 0 */
		blk_hdr.sector = 0;
		blk_status = 0xff;
		struct rt_virtq_desc c[3] = { { (uint64_t)(uintptr_t)&blk_hdr, 16, 0, 0 },
					      { (uint64_t)(uintptr_t)buf, 512, 2, 0 },
					      { (uint64_t)(uintptr_t)&blk_status, 1, 2, 0 } };
		long got = rt_virtio_setup(&vd, 0, 1) ? -2 : rt_virtio_run(&vd, 0, c, 3, 2000000);
		rt_printf("hostile: recovered: virtio-blk read sector 0: used %d, status %u\n",
			  (int)got, blk_status);
		if (got < 0 || blk_status != 0)
			return -1;
		checked++;
	}
	return checked;
}

int guest_main(void)
{
	uint64_t seed = rt_cmdline_num("seed=", 1);
	uint64_t budget_us = rt_cmdline_num("budget_ms=", 1500) * 1000;

	prng = seed * 0x9E3779B97F4A7C15ull + 1;
	for (unsigned int i = 0; i < rt_boot.n_mmap; i++) {
		struct rt_mmap_entry *e = &rt_boot.mmap[i];
		if (e->type == 1 && e->base <= 0x100000 && e->base + e->len > 0x100000)
			ram_end = e->base + e->len;
	}
	uintptr_t heap = (uintptr_t)rt_alloc(1, 1);
	if (ram_end < (64ull << 20) || ram_end > 0xC0000000ull || heap >= PROTECT_END) {
		rt_printf("hostile: needs 64 MiB..3 GiB of low RAM with the guest below 16 MiB "
			  "(RAM ends at %p, heap at %p)\n",
			  (void *)ram_end, (void *)heap);
		return RT_EXIT_FAIL;
	}
	rt_acpi_init();
	junk_descs(RING_BASE, RING_LEN / 16, 256);
	fill_pfns();
	find_pci();
	find_mmio();
	rt_printf("hostile: seed=%u budget=%ums RAM to %p, %u PCI functions, %u virtio devices, "
		  "%u MMIO regions\n",
		  (unsigned int)seed, (unsigned int)(budget_us / 1000), (void *)ram_end, nfns,
		  ndevs, nregions);

	for (unsigned int i = 0; i < ndevs; i++) {
		struct hdev *d = &devs[i];
		virtq_phase(d, budget_us);
		rt_printf("hostile: virtqueues: device type %u (%s): %lu rounds, %lu resets, %lu "
			  "notifies\n",
			  d->type, d->mmio ? "mmio" : "pci", d->iterations, d->resets, d->notifies);
	}
	unsigned long n = mmio_phase(budget_us);
	rt_serial_init();
	rt_printf("hostile: mmio: %lu accesses\n", n);
	n = pci_phase(budget_us);
	rt_printf("hostile: pci config: %lu writes\n", n);
	n = pio_phase(budget_us);
	rt_serial_init();
	rt_printf("\nhostile: pio: %lu accesses, every port 0..0xffff\n", n);

	restore_pci();
	int checked = recovered();
	if (checked < 0)
		return RT_EXIT_FAIL;
	rt_printf("hostile: done (seed %u, %d devices answered afterwards)\n", (unsigned int)seed,
		  checked);
	return RT_EXIT_PASS;
}
