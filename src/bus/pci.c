/* pci.c — PCI host bridge (CF8/CFC and ECAM), type-0 config space, BARs, capabilities, MSI-X, INTx.
 */
#include "bus/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "util/compiler.h"

#define PCI_SAVE_MAGIC 0x70636930u /* "pci0" */
#define CMD_WMASK                                                                                  \
	(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR |         \
	 PCI_COMMAND_INTX_DISABLE)

static uint16_t cfg16(const struct pci_device *p, unsigned off)
{
	return (uint16_t)(p->cfg[off] | p->cfg[off + 1] << 8);
}

static uint32_t cfg32(const struct pci_device *p, unsigned off)
{
	return (uint32_t)cfg16(p, off) | (uint32_t)cfg16(p, off + 2) << 16;
}

static void put16(uint8_t *b, unsigned off, uint16_t v)
{
	b[off] = (uint8_t)v;
	b[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, unsigned off, uint32_t v)
{
	put16(b, off, (uint16_t)v);
	put16(b, off + 2, (uint16_t)(v >> 16));
}

void pci_device_init(struct pci_device *pdev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint16_t subsys_vendor, uint16_t subsys_id,
		     uint8_t revision)
{
	memset(pdev, 0, sizeof(*pdev));
	pthread_mutex_init(&pdev->lock, NULL);
	pdev->name = name;
	put16(pdev->cfg, PCI_VENDOR_ID, vendor);
	put16(pdev->cfg, PCI_DEVICE_ID, device);
	pdev->cfg[PCI_REVISION_ID] = revision;
	pdev->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
	pdev->cfg[PCI_CLASS_DEVICE] = (uint8_t)(class_code >> 8);
	pdev->cfg[PCI_CLASS_DEVICE + 1] = (uint8_t)(class_code >> 16);
	pdev->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	put16(pdev->cfg, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	put16(pdev->cfg, PCI_SUBSYSTEM_ID, subsys_id);
	pdev->cfg[PCI_INTERRUPT_PIN] = 1; /* INTA# */
	put16(pdev->wmask, PCI_COMMAND, CMD_WMASK);
	pdev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	pdev->wmask[PCI_LATENCY_TIMER] = 0xff;
	pdev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	pdev->cap_end = 0x40;
}

void pci_device_fini(struct pci_device *pdev)
{
	pthread_mutex_destroy(&pdev->lock);
}

int pci_device_add_bar(struct pci_device *pdev, unsigned bar, uint32_t size,
		       const struct bus_region_ops *ops, void *opaque)
{
	if (bar >= PCI_NR_BARS || size < 4096 || size > (1u << 30) || (size & (size - 1)) || !ops)
		return -EINVAL;
	pdev->bars[bar].size = size;
	pdev->bars[bar].ops = ops;
	pdev->bars[bar].opaque = opaque;
	/* 32-bit non-prefetchable memory BAR: type bits 0; address bits writable. */
	put32(pdev->wmask, PCI_BASE_ADDRESS_0 + 4 * bar, ~(size - 1));
	return 0;
}

int pci_device_add_cap(struct pci_device *pdev, const void *data, unsigned len,
		       const uint8_t *wmask)
{
	unsigned off = (pdev->cap_end + 3u) & ~3u;

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	memcpy(pdev->cfg + off, data, len);
	pdev->cfg[off + 1] = 0;
	if (wmask)
		memcpy(pdev->wmask + off, wmask, len);
	if (pdev->cap_last)
		pdev->cfg[pdev->cap_last + 1] = (uint8_t)off;
	else
		pdev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	pdev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	pdev->cap_last = (uint8_t)off;
	pdev->cap_end = (uint8_t)(off + len > 0xff ? 0xff : off + len);
	return (int)off;
}

int pci_device_add_msix(struct pci_device *pdev, unsigned nr, unsigned bar, uint32_t table_off,
			uint32_t pba_off)
{
	uint8_t cap[PCI_CAP_MSIX_SIZEOF] = { PCI_CAP_ID_MSIX };
	uint8_t wm[PCI_CAP_MSIX_SIZEOF] = { 0 };
	int off;

	if (nr == 0 || nr > PCI_MSIX_MAX_VECTORS || bar >= PCI_NR_BARS || !pdev->bars[bar].size ||
	    (table_off & 7) || (pba_off & 7) ||
	    table_off + nr * PCI_MSIX_ENTRY_SIZE > pdev->bars[bar].size ||
	    pba_off + 8 > pdev->bars[bar].size)
		return -EINVAL;
	put16(cap, PCI_MSIX_FLAGS, (uint16_t)(nr - 1));
	put32(cap, PCI_MSIX_TABLE, table_off | bar);
	put32(cap, PCI_MSIX_PBA, pba_off | bar);
	wm[PCI_MSIX_FLAGS + 1] = (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
	off = pci_device_add_cap(pdev, cap, sizeof(cap), wm);
	if (off < 0)
		return off;
	pdev->msix_cap = (uint8_t)off;
	pdev->msix_nr = nr;
	pdev->msix_bar = bar;
	pdev->msix_table_off = table_off;
	pdev->msix_pba_off = pba_off;
	for (unsigned i = 0; i < nr; i++)
		pdev->msix[i].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	return 0;
}

/* ---- BAR mapping ---------------------------------------------------------------------- */

/* Make the MMIO bus match the BARs and the command register. Device lock held. */
static void pci_update_mappings(struct pci_device *pdev)
{
	bool decode = cfg16(pdev, PCI_COMMAND) & PCI_COMMAND_MEMORY;

	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &pdev->bars[i];
		uint32_t mask = ~(b->size - 1);
		uint64_t gpa;
		bool want;

		if (!b->size)
			continue;
		gpa = cfg32(pdev, PCI_BASE_ADDRESS_0 + 4 * i) & mask;
		/* Not while the driver sizes it (all-ones) or it sits at 0. */
		want = decode && gpa != 0 && gpa != (mask & 0xffffffffu) && pdev->bus;
		if (b->mapped && (!want || gpa != b->mapped_gpa)) {
			bus_unregister(pdev->bus->mmio, b->mapped_gpa);
			b->mapped = false;
			if (pdev->bar_changed)
				pdev->bar_changed(pdev, i, false, b->mapped_gpa);
		}
		if (want && !b->mapped) {
			int rc = bus_register(pdev->bus->mmio, gpa, b->size, b->ops, b->opaque,
					      pdev->name);

			if (rc) {
				log_guest(&pdev->rl, "pci %s: BAR%u at 0x%llx not mapped (%d)",
					  pdev->name, i, (unsigned long long)gpa, rc);
				continue;
			}
			b->mapped = true;
			b->mapped_gpa = gpa;
			if (pdev->bar_changed)
				pdev->bar_changed(pdev, i, true, gpa);
		}
	}
}

static void pci_unmap_all(struct pci_device *pdev)
{
	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &pdev->bars[i];

		if (b->mapped) {
			bus_unregister(pdev->bus->mmio, b->mapped_gpa);
			b->mapped = false;
			if (pdev->bar_changed)
				pdev->bar_changed(pdev, i, false, b->mapped_gpa);
		}
	}
}

/* ---- INTx and MSI-X ------------------------------------------------------------------- */

static void intx_apply(struct pci_device *pdev)
{
	bool out = pdev->intx_level && !(cfg16(pdev, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
	struct pci_bus *pb = pdev->bus;
	unsigned pin = pci_slot_intx_gsi(pdev->slot) - PCI_INTX_GSI_BASE;
	bool line;

	/* Status.INTERRUPT follows the device's request; the pin follows it unless disabled. */
	if (pdev->intx_level)
		pdev->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		pdev->cfg[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
	if (!pb || out == pdev->intx_out)
		return;
	pdev->intx_out = out;
	pthread_mutex_lock(&pb->intx_lock);
	if (out)
		pb->intx_count[pin]++;
	else
		pb->intx_count[pin]--;
	line = pb->intx_count[pin] != 0;
	if (pb->plat && pb->plat->intx_set)
		pb->plat->intx_set(pb->plat->opaque, pci_slot_intx_gsi(pdev->slot), line);
	pthread_mutex_unlock(&pb->intx_lock);
}

void pci_intx_set(struct pci_device *pdev, int level)
{
	pthread_mutex_lock(&pdev->lock);
	if (pdev->intx_level != !!level) {
		pdev->intx_level = !!level;
		intx_apply(pdev);
	}
	pthread_mutex_unlock(&pdev->lock);
}

static uint16_t msix_ctrl(const struct pci_device *pdev)
{
	return pdev->msix_cap ? cfg16(pdev, pdev->msix_cap + PCI_MSIX_FLAGS) : 0;
}

bool pci_msix_enabled(struct pci_device *pdev)
{
	bool en;

	pthread_mutex_lock(&pdev->lock);
	en = msix_ctrl(pdev) & PCI_MSIX_FLAGS_ENABLE;
	pthread_mutex_unlock(&pdev->lock);
	return en;
}

static int msix_send(struct pci_device *pdev, unsigned v)
{
	const struct dev_platform *plat = pdev->bus ? pdev->bus->plat : NULL;
	const struct pci_msix_entry *e = &pdev->msix[v];

	if (!plat || !plat->msi_send)
		return -ENOSYS;
	return plat->msi_send(plat->opaque, (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
}

bool pci_msix_vector_live(const struct pci_device *pdev, unsigned vector, uint64_t *addr,
			  uint32_t *data)
{
	uint16_t ctrl = msix_ctrl(pdev);

	if (!(ctrl & PCI_MSIX_FLAGS_ENABLE) || (ctrl & PCI_MSIX_FLAGS_MASKALL) ||
	    vector >= pdev->msix_nr || (pdev->msix[vector].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT))
		return false;
	*addr = (uint64_t)pdev->msix[vector].addr_hi << 32 | pdev->msix[vector].addr_lo;
	*data = pdev->msix[vector].data;
	return true;
}

/* Send what is pending and no longer masked; tell the owner. Device lock held. */
static void msix_flush_pending(struct pci_device *pdev)
{
	uint16_t ctrl = msix_ctrl(pdev);

	if (pdev->msix_changed)
		pdev->msix_changed(pdev);

	if (!(ctrl & PCI_MSIX_FLAGS_ENABLE) || (ctrl & PCI_MSIX_FLAGS_MASKALL))
		return;
	for (unsigned v = 0; v < pdev->msix_nr; v++) {
		if ((pdev->msix_pba >> v & 1) &&
		    !(pdev->msix[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT)) {
			pdev->msix_pba &= ~(1ull << v);
			msix_send(pdev, v);
		}
	}
}

int pci_msix_notify(struct pci_device *pdev, unsigned vector)
{
	uint16_t ctrl;
	int rc = 0;

	pthread_mutex_lock(&pdev->lock);
	ctrl = msix_ctrl(pdev);
	if (vector >= pdev->msix_nr || !(ctrl & PCI_MSIX_FLAGS_ENABLE))
		rc = -EINVAL;
	else if ((ctrl & PCI_MSIX_FLAGS_MASKALL) ||
		 (pdev->msix[vector].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT))
		pdev->msix_pba |= 1ull << vector;
	else
		rc = msix_send(pdev, vector);
	pthread_mutex_unlock(&pdev->lock);
	return rc;
}

uint64_t pci_msix_read(struct pci_device *pdev, uint64_t offset, unsigned size)
{
	uint64_t v = ~0ull;

	if ((size != 4 && size != 8) || (offset & (size - 1)))
		return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
	pthread_mutex_lock(&pdev->lock);
	if (offset >= pdev->msix_table_off &&
	    offset - pdev->msix_table_off < (uint64_t)pdev->msix_nr * PCI_MSIX_ENTRY_SIZE) {
		uint64_t rel = offset - pdev->msix_table_off;
		const uint32_t *e = &pdev->msix[rel / PCI_MSIX_ENTRY_SIZE].addr_lo;
		unsigned w = (unsigned)(rel % PCI_MSIX_ENTRY_SIZE) / 4;

		v = e[w];
		if (size == 8)
			v |= (uint64_t)e[w + 1] << 32;
	} else if (offset >= pdev->msix_pba_off && offset - pdev->msix_pba_off < 8) {
		v = pdev->msix_pba >> ((offset - pdev->msix_pba_off) * 8);
		if (size == 4)
			v &= 0xffffffffu;
	}
	pthread_mutex_unlock(&pdev->lock);
	if (size == 4)
		v &= 0xffffffffu;
	return v;
}

void pci_msix_write(struct pci_device *pdev, uint64_t offset, uint64_t value, unsigned size)
{
	if ((size != 4 && size != 8) || (offset & (size - 1)))
		return;
	pthread_mutex_lock(&pdev->lock);
	if (offset >= pdev->msix_table_off &&
	    offset - pdev->msix_table_off < (uint64_t)pdev->msix_nr * PCI_MSIX_ENTRY_SIZE) {
		uint64_t rel = offset - pdev->msix_table_off;
		struct pci_msix_entry *ent = &pdev->msix[rel / PCI_MSIX_ENTRY_SIZE];
		uint32_t *e = &ent->addr_lo;
		unsigned w = (unsigned)(rel % PCI_MSIX_ENTRY_SIZE) / 4;

		e[w] = (uint32_t)value;
		if (size == 8)
			e[w + 1] = (uint32_t)(value >> 32);
		ent->ctrl &= PCI_MSIX_ENTRY_CTRL_MASKBIT; /* other control bits reserved */
		msix_flush_pending(pdev);
	}
	/* The PBA is read-only; writes elsewhere are ignored. */
	pthread_mutex_unlock(&pdev->lock);
}

/* ---- config space --------------------------------------------------------------------- */

uint32_t pci_config_read(struct pci_device *pdev, unsigned offset, unsigned size)
{
	uint32_t v = 0;

	if ((size != 1 && size != 2 && size != 4) || (offset & (size - 1)) || offset >= 4096)
		return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	if (offset >= PCI_CFG_SIZE)
		return 0; /* no extended capabilities */
	if (pdev->hook_len && offset >= pdev->hook_off &&
	    offset + size <= pdev->hook_off + pdev->hook_len)
		return pdev->hook_read(pdev, offset - pdev->hook_off, size);
	pthread_mutex_lock(&pdev->lock);
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)pdev->cfg[offset + i] << (8 * i);
	pthread_mutex_unlock(&pdev->lock);
	return v;
}

void pci_config_write(struct pci_device *pdev, unsigned offset, uint32_t value, unsigned size)
{
	bool remap, msix_touched;
	uint16_t old_cmd;

	if ((size != 1 && size != 2 && size != 4) || (offset & (size - 1)) ||
	    offset >= PCI_CFG_SIZE)
		return;
	if (pdev->hook_len && offset >= pdev->hook_off &&
	    offset + size <= pdev->hook_off + pdev->hook_len) {
		pdev->hook_write(pdev, offset - pdev->hook_off, value, size);
		return;
	}
	pthread_mutex_lock(&pdev->lock);
	old_cmd = cfg16(pdev, PCI_COMMAND);
	for (unsigned i = 0; i < size; i++) {
		uint8_t m = pdev->wmask[offset + i];
		uint8_t b = (uint8_t)(value >> (8 * i));

		pdev->cfg[offset + i] = (uint8_t)((pdev->cfg[offset + i] & ~m) | (b & m));
	}
	remap = (offset < PCI_COMMAND + 2 && offset + size > PCI_COMMAND) ||
		(offset < PCI_BASE_ADDRESS_5 + 4 && offset + size > PCI_BASE_ADDRESS_0);
	msix_touched =
		pdev->msix_cap && offset < pdev->msix_cap + 4u && offset + size > pdev->msix_cap;
	if (remap)
		pci_update_mappings(pdev);
	if ((old_cmd ^ cfg16(pdev, PCI_COMMAND)) & PCI_COMMAND_INTX_DISABLE)
		intx_apply(pdev);
	if (msix_touched)
		msix_flush_pending(pdev);
	pthread_mutex_unlock(&pdev->lock);
}

/* ---- the bus: CF8/CFC and ECAM ------------------------------------------------------ */

static struct pci_device *pci_lookup(struct pci_bus *pb, unsigned busno, unsigned dev, unsigned fn)
{
	if (busno != 0 || dev >= PCI_MAX_SLOTS || fn != 0)
		return NULL;
	return pb->slots[dev];
}

uint32_t pci_bus_config_read(struct pci_bus *pb, unsigned busno, unsigned dev, unsigned fn,
			     unsigned offset, unsigned size)
{
	struct pci_device *p;

	pthread_mutex_lock(&pb->lock);
	p = pci_lookup(pb, busno, dev, fn);
	pthread_mutex_unlock(&pb->lock);
	if (!p)
		return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	return pci_config_read(p, offset, size);
}

void pci_bus_config_write(struct pci_bus *pb, unsigned busno, unsigned dev, unsigned fn,
			  unsigned offset, uint32_t value, unsigned size)
{
	struct pci_device *p;

	pthread_mutex_lock(&pb->lock);
	p = pci_lookup(pb, busno, dev, fn);
	pthread_mutex_unlock(&pb->lock);
	if (p)
		pci_config_write(p, offset, value, size);
}

/* 0xCF8..0xCFB: the address latch (32-bit), and 0xCF9 the reset control byte. */
static uint64_t cf8_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_bus *pb = opaque;
	uint32_t v;

	pthread_mutex_lock(&pb->lock);
	v = pb->config_address;
	pthread_mutex_unlock(&pb->lock);
	if (size == 4 && offset == 0)
		return v;
	if (size == 1 && offset == 1)
		return pb->cf9_ops ? pb->cf9_ops->read(pb->cf9_opaque, 0, 1) & 0xff : 0;
	return (1ull << (size * 8)) - 1;
}

static void cf8_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct pci_bus *pb = opaque;

	if (size == 4 && offset == 0) {
		pthread_mutex_lock(&pb->lock);
		pb->config_address = (uint32_t)value & 0x80fffffcu;
		pthread_mutex_unlock(&pb->lock);
	} else if (size == 1 && offset == 1) {
		/* The reset-control byte belongs to another model (see pci_bus_init). */
		if (pb->cf9_ops)
			pb->cf9_ops->write(pb->cf9_opaque, 0, value & 0xff, 1);
	}
}

static const struct bus_region_ops cf8_ops = { .read = cf8_read, .write = cf8_write };

static bool cfc_decode(struct pci_bus *pb, uint64_t offset, unsigned size, unsigned *bus,
		       unsigned *dev, unsigned *reg)
{
	uint32_t a;

	pthread_mutex_lock(&pb->lock);
	a = pb->config_address;
	pthread_mutex_unlock(&pb->lock);
	if (!(a & 0x80000000u) || ((a >> 8) & 7) != 0 || (offset & (size - 1)) || size > 4)
		return false;
	*bus = (a >> 16) & 0xff;
	*dev = (a >> 11) & 0x1f;
	*reg = (a & 0xfc) + (unsigned)offset;
	return true;
}

static uint64_t cfc_read(void *opaque, uint64_t offset, unsigned size)
{
	unsigned bus, dev, reg;

	if (!cfc_decode(opaque, offset, size, &bus, &dev, &reg))
		return (1ull << (size * 8)) - 1;
	return pci_bus_config_read(opaque, bus, dev, 0, reg, size);
}

static void cfc_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	unsigned bus, dev, reg;

	if (cfc_decode(opaque, offset, size, &bus, &dev, &reg))
		pci_bus_config_write(opaque, bus, dev, 0, reg, (uint32_t)value, size);
}

static const struct bus_region_ops cfc_ops = { .read = cfc_read, .write = cfc_write };

/* ECAM (PCIe base spec §7.2.2): offset = bus << 20 | dev << 15 | fn << 12 | register. */
static uint64_t ecam_read(void *opaque, uint64_t offset, unsigned size)
{
	if (size > 4)
		return ~0ull;
	return pci_bus_config_read(opaque, (unsigned)(offset >> 20), (offset >> 15) & 31,
				   (offset >> 12) & 7, offset & 0xfff, size);
}

static void ecam_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	if (size > 4)
		return;
	pci_bus_config_write(opaque, (unsigned)(offset >> 20), (offset >> 15) & 31,
			     (offset >> 12) & 7, offset & 0xfff, (uint32_t)value, size);
}

static const struct bus_region_ops ecam_ops = { .read = ecam_read, .write = ecam_write };

int pci_bus_init(struct pci_bus *pb, struct bus *pio, struct bus *mmio,
		 const struct dev_platform *plat, const struct bus_region_ops *cf9_ops,
		 void *cf9_opaque)
{
	struct pci_device *host;
	int rc;

	memset(pb, 0, sizeof(*pb));
	pthread_mutex_init(&pb->lock, NULL);
	pthread_mutex_init(&pb->intx_lock, NULL);
	pb->pio = pio;
	pb->mmio = mmio;
	pb->plat = plat;
	pb->cf9_ops = cf9_ops;
	pb->cf9_opaque = cf9_opaque;
	pb->next_mmio = PCI_MMIO_BASE;
	host = calloc(1, sizeof(*host));
	if (!host)
		return -ENOMEM;
	/* Red Hat's "QEMU PCIe host bridge" id: class host bridge, no BARs, no interrupt. */
	pci_device_init(host, "pci-host", 0x1b36, 0x0008, 0x060000, 0x1af4, 0x1100, 0);
	host->cfg[PCI_INTERRUPT_PIN] = 0;
	host->bus = pb;
	pb->slots[0] = host;
	rc = bus_register(pio, PCI_CONFIG_ADDRESS_PORT, 4, &cf8_ops, pb, "pci-cf8");
	if (rc)
		goto fail;
	rc = bus_register(pio, PCI_CONFIG_DATA_PORT, 4, &cfc_ops, pb, "pci-cfc");
	if (rc)
		goto fail_cf8;
	rc = bus_register(mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, &ecam_ops, pb, "pci-ecam");
	if (rc)
		goto fail_cfc;
	return 0;
fail_cfc:
	bus_unregister(pio, PCI_CONFIG_DATA_PORT);
fail_cf8:
	bus_unregister(pio, PCI_CONFIG_ADDRESS_PORT);
fail:
	pci_device_fini(host);
	free(host);
	pb->slots[0] = NULL;
	pthread_mutex_destroy(&pb->intx_lock);
	pthread_mutex_destroy(&pb->lock);
	return rc;
}

void pci_bus_destroy(struct pci_bus *pb)
{
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++)
		if (pb->slots[s])
			pci_bus_detach(pb, pb->slots[s]);
	bus_unregister(pb->mmio, PCI_ECAM_BASE);
	bus_unregister(pb->pio, PCI_CONFIG_DATA_PORT);
	bus_unregister(pb->pio, PCI_CONFIG_ADDRESS_PORT);
	if (pb->slots[0]) {
		pci_device_fini(pb->slots[0]);
		free(pb->slots[0]);
		pb->slots[0] = NULL;
	}
	pthread_mutex_destroy(&pb->intx_lock);
	pthread_mutex_destroy(&pb->lock);
}

int pci_bus_attach(struct pci_bus *pb, struct pci_device *pdev, unsigned slot)
{
	uint64_t next;
	int rc = 0;

	if (slot == 0 || slot >= PCI_MAX_SLOTS)
		return -EINVAL;
	pthread_mutex_lock(&pb->lock);
	if (pb->slots[slot]) {
		rc = -EBUSY;
		goto out;
	}
	next = pb->next_mmio;
	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		uint32_t size = pdev->bars[i].size;

		if (!size)
			continue;
		next = (next + size - 1) & ~(uint64_t)(size - 1);
		if (next + size > PCI_MMIO_BASE + PCI_MMIO_SIZE) {
			rc = -ENOSPC;
			goto out;
		}
		put32(pdev->cfg, PCI_BASE_ADDRESS_0 + 4 * i, (uint32_t)next);
		next += size;
	}
	pb->next_mmio = next;
	pthread_mutex_lock(&pdev->lock);
	pdev->bus = pb;
	pdev->slot = slot;
	pdev->cfg[PCI_INTERRUPT_LINE] = (uint8_t)pci_slot_intx_gsi(slot);
	pci_update_mappings(pdev);
	pthread_mutex_unlock(&pdev->lock);
	pb->slots[slot] = pdev;
out:
	pthread_mutex_unlock(&pb->lock);
	return rc;
}

void pci_bus_detach(struct pci_bus *pb, struct pci_device *pdev)
{
	pthread_mutex_lock(&pb->lock);
	if (pdev->slot < PCI_MAX_SLOTS && pb->slots[pdev->slot] == pdev)
		pb->slots[pdev->slot] = NULL;
	pthread_mutex_unlock(&pb->lock);
	pthread_mutex_lock(&pdev->lock);
	if (pdev->bus == pb) {
		pci_unmap_all(pdev);
		pdev->intx_level = false; /* let go of a shared INTx line */
		intx_apply(pdev);
		pdev->bus = NULL; /* detached: no more interrupts or mappings through @pb */
	}
	pthread_mutex_unlock(&pdev->lock);
}

/* ---- state ---------------------------------------------------------------------------- */

void pci_device_save(struct pci_device *pdev, struct state_writer *w)
{
	pthread_mutex_lock(&pdev->lock);
	state_put_u32(w, PCI_SAVE_MAGIC);
	state_put_bytes(w, pdev->cfg, sizeof(pdev->cfg));
	state_put_u32(w, pdev->msix_nr);
	for (unsigned i = 0; i < pdev->msix_nr; i++) {
		state_put_u32(w, pdev->msix[i].addr_lo);
		state_put_u32(w, pdev->msix[i].addr_hi);
		state_put_u32(w, pdev->msix[i].data);
		state_put_u32(w, pdev->msix[i].ctrl);
	}
	state_put_u64(w, pdev->msix_pba);
	state_put_u8(w, pdev->intx_level);
	pthread_mutex_unlock(&pdev->lock);
}

int pci_device_parse(struct pci_device *pdev, struct state_reader *r, struct pci_device_state *st)
{
	if (state_get_u32(r) != PCI_SAVE_MAGIC)
		return -EINVAL;
	state_get_bytes(r, st->cfg, sizeof(st->cfg));
	st->nr_msix = state_get_u32(r);
	if (state_error(r) || st->nr_msix != pdev->msix_nr)
		return -EINVAL;
	for (unsigned i = 0; i < st->nr_msix; i++) {
		st->msix[i].addr_lo = state_get_u32(r);
		st->msix[i].addr_hi = state_get_u32(r);
		st->msix[i].data = state_get_u32(r);
		st->msix[i].ctrl = state_get_u32(r) & PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
	st->pba = state_get_u64(r);
	st->intx = state_get_u8(r);
	return state_error(r) ? -EINVAL : 0;
}

void pci_device_apply(struct pci_device *pdev, const struct pci_device_state *st)
{
	unsigned nr = st->nr_msix;

	/* Only the writable bits (and interrupt status) come from the image; ids stay ours. */
	pthread_mutex_lock(&pdev->lock);
	for (unsigned i = 0; i < PCI_CFG_SIZE; i++)
		pdev->cfg[i] =
			(uint8_t)((pdev->cfg[i] & ~pdev->wmask[i]) | (st->cfg[i] & pdev->wmask[i]));
	memcpy(pdev->msix, st->msix, sizeof(st->msix[0]) * nr);
	pdev->msix_pba = nr < 64 ? st->pba & ((1ull << nr) - 1) : st->pba;
	pdev->intx_level = st->intx;
	pci_update_mappings(pdev);
	intx_apply(pdev);
	if (pdev->msix_changed)
		pdev->msix_changed(pdev);
	pthread_mutex_unlock(&pdev->lock);
}

int pci_device_load(struct pci_device *pdev, struct state_reader *r)
{
	struct pci_device_state *st = malloc(sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
	rc = pci_device_parse(pdev, r, st);
	if (!rc)
		pci_device_apply(pdev, st);
	free(st);
	return rc;
}
