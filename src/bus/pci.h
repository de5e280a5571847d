/*
 * pci.h — vmon's PCI: one host bridge with bus 0, reached through
 * configuration mechanism #1 (ports 0xCF8/0xCFC) and ECAM (MMIO at
 * PCI_ECAM_BASE, described to the guest in ACPI MCFG); a type-0 config space
 * per device (function 0 only) with BAR sizing and placement in the MMIO window
 * [PCI_MMIO_BASE, PCI_MMIO_BASE + PCI_MMIO_SIZE), a capability list, MSI-X
 * (table and PBA in a memory BAR, per-vector and function masking) and legacy
 * INTx (pin A, one fixed GSI per slot routed through the IOAPIC).
 *
 * The PCI code knows nothing of KVM: interrupts, ioeventfds and file-descriptor
 * watching go through struct dev_platform, which the VM implements on KVM and
 * unit tests fake.
 *
 * Locking: the bus has a mutex for the 0xCF8 address latch and the slot
 * table; each device has a mutex for its config space and MSI-X state. Config
 * accesses from vCPU threads take the device mutex; moving a BAR re-registers
 * its range on the MMIO bus with the device mutex held (bus callbacks run
 * without the bus lock, so that is allowed). Lock order: virtio_dev ->
 * pci_device -> bus.
 */
#ifndef VMON_BUS_PCI_H
#define VMON_BUS_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "bus/platform.h"
#include "base/device.h"
#include "util/log.h"

#define PCI_CONFIG_ADDRESS_PORT 0xcf8 /* 4 ports 0xcf8-0xcfb; 0xcf9 is the reset control byte */
#define PCI_CONFIG_DATA_PORT 0xcfc /* 4 ports 0xcfc-0xcff */
#define PCI_ECAM_BASE 0xe0000000ull
#define PCI_ECAM_BUSES 256 /* ECAM window for buses 0..255 (devices only on bus 0) */
#define PCI_ECAM_SIZE ((uint64_t)PCI_ECAM_BUSES << 20)
#define PCI_MMIO_BASE 0xc0000000ull
#define PCI_MMIO_SIZE 0x20000000ull
#define PCI_MAX_SLOTS 32
#define PCI_INTX_GSI_BASE 16
#define PCI_CFG_SIZE 256 /* ECAM offsets 0x100..0xfff read 0 (no extended caps) */
#define PCI_MSIX_MAX_VECTORS 64
#define PCI_NR_BARS 6

/*
 * pci_slot_intx_gsi - the GSI (IOAPIC pin) INTA# of @slot is wired to: 16 +
 * slot % 8. Slots that share a GSI are wired-OR: the line is high while any
 * of them drives it.
 */
static inline unsigned pci_slot_intx_gsi(unsigned slot)
{
	return PCI_INTX_GSI_BASE + (slot & 7);
}

struct pci_device;

/* struct pci_bar - one 32-bit memory BAR (the only kind vmon devices need). */
struct pci_bar {
	uint32_t size; /* power of two >= 4096, or 0 for an unused BAR */
	const struct bus_region_ops *ops;
	void *opaque;
	uint64_t mapped_gpa;
	bool mapped; /* currently registered on the MMIO bus */
};

struct pci_msix_entry {
	uint32_t addr_lo;
	uint32_t addr_hi;
	uint32_t data;
	uint32_t ctrl; /* bit 0: masked */
};

struct pci_device {
	struct pci_bus *bus;
	unsigned slot;
	const char *name;
	pthread_mutex_t lock;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* bits the driver may write */
	uint8_t cap_end; /* next free config offset for a capability */
	uint8_t cap_last; /* offset of the last capability's header, 0 if none */
	struct pci_bar bars[PCI_NR_BARS];
	/* MSI-X (PCI 3.0 §6.8.2) */
	unsigned msix_nr;
	uint8_t msix_cap;
	unsigned msix_bar;
	uint32_t msix_table_off;
	uint32_t msix_pba_off;
	struct pci_msix_entry msix[PCI_MSIX_MAX_VECTORS];
	uint64_t msix_pba;
	/* INTx */
	bool intx_level; /* what the device requests */
	bool intx_out; /* what it drives on its pin (level and not disabled) */
	/*
	 * Config accesses wholly inside [hook_off, hook_off + hook_len) go to
	 * these instead (called WITHOUT the device lock, so they may take the
	 * owner's lock and then call pci_config_read/write on other offsets).
	 * Used by virtio's VIRTIO_PCI_CAP_PCI_CFG window. hook_len 0: none.
	 */
	unsigned hook_off, hook_len;
	uint32_t (*hook_read)(struct pci_device *pdev, unsigned offset, unsigned size);
	void (*hook_write)(struct pci_device *pdev, unsigned offset, uint32_t value, unsigned size);
	/* Called (device lock held) after a BAR was mapped at @gpa or unmapped. May be NULL. */
	void (*bar_changed)(struct pci_device *pdev, unsigned bar, bool mapped, uint64_t gpa);
	/*
	 * Called (device lock held) after the MSI-X enable/function-mask bits or a
	 * table entry may have changed, or a load. May be NULL. It may use the
	 * platform and read pdev->msix[] but not call pci_* functions that lock.
	 */
	void (*msix_changed)(struct pci_device *pdev);
	struct ratelimit rl;
};

struct pci_bus {
	struct bus *pio;
	struct bus *mmio;
	const struct dev_platform *plat;
	const struct bus_region_ops *cf9_ops; /* the reset-control byte's owner, or NULL */
	void *cf9_opaque;
	pthread_mutex_t lock;
	uint32_t config_address; /* the 0xCF8 latch */
	struct pci_device *slots[PCI_MAX_SLOTS];
	uint64_t next_mmio; /* BAR allocator in the MMIO window */
	pthread_mutex_t intx_lock; /* leaf lock: the pins below */
	unsigned intx_count[8]; /* devices driving each shared INTx GSI (wired-OR) */
	struct ratelimit rl;
};

/*
 * pci_bus_init - a host bridge (slot 0, id 1b36:0008, class 0x0600) on @pio
 * (0xCF8-0xCFF) and @mmio (ECAM, PCI_ECAM_BASE, PCI_ECAM_SIZE). Because a
 * 32-bit access to 0xCF8 must land in one bus range, the bridge owns the
 * ports 0xCF8-0xCFB, which include the PC reset-control byte 0xCF9: 1-byte
 * accesses at 0xCF9 are forwarded to @cf9_ops/@cf9_opaque at offset 0 (the
 * ACPI reset register's model; NULL: reads 0, writes ignored) — so the VM
 * must not register 0xCF9 on the PIO bus itself when it creates a PCI bus.
 * @plat must outlive the bus. Returns 0 or -errno (-EEXIST: ports taken).
 */
int pci_bus_init(struct pci_bus *pb, struct bus *pio, struct bus *mmio,
		 const struct dev_platform *plat, const struct bus_region_ops *cf9_ops,
		 void *cf9_opaque);

/* pci_bus_destroy - unregister the bridge's ranges and all device BARs. Devices are not freed. */
void pci_bus_destroy(struct pci_bus *pb);

/*
 * pci_device_init - set up @pdev with vendor/device ids, class code
 * (@class_code: base<<16 | sub<<8 | prog-if), subsystem ids and revision;
 * interrupt pin A. Call the add functions below, then pci_bus_attach().
 */
void pci_device_init(struct pci_device *pdev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint16_t subsys_vendor, uint16_t subsys_id,
		     uint8_t revision);

/* pci_device_fini - release the lock (after pci_bus_detach or bus destroy). */
void pci_device_fini(struct pci_device *pdev);

/*
 * pci_device_add_bar - declare memory BAR @bar (0..5) of @size bytes (power of
 * two, 4 KiB..1 GiB) served by @ops/@opaque at offsets from the BAR base.
 * Returns 0 or -EINVAL.
 */
int pci_device_add_bar(struct pci_device *pdev, unsigned bar, uint32_t size,
		       const struct bus_region_ops *ops, void *opaque);

/*
 * pci_device_add_cap - append a capability of @len bytes (@data[0] is the
 * id, data[1] is filled in) to the list. Returns its config offset, or
 * -ENOSPC. Bytes of it are read-only unless unlocked through @wmask (may be
 * NULL, @len bytes).
 */
int pci_device_add_cap(struct pci_device *pdev, const void *data, unsigned len,
		       const uint8_t *wmask);

/*
 * pci_device_add_msix - an MSI-X capability with @nr vectors (<= 64) whose
 * table sits at @table_off and PBA at @pba_off inside BAR @bar (the owner
 * forwards accesses there to pci_msix_read/pci_msix_write). Returns 0 or -errno.
 */
int pci_device_add_msix(struct pci_device *pdev, unsigned nr, unsigned bar, uint32_t table_off,
			uint32_t pba_off);

/*
 * pci_bus_attach - put @pdev in @slot (1..31), assign its BARs in the MMIO
 * window and wire INTA# to pci_slot_intx_gsi(slot). BARs are registered on
 * the MMIO bus while the command register enables memory decoding. Returns 0,
 * -EBUSY (slot taken), -ENOSPC (window full), -EINVAL.
 */
int pci_bus_attach(struct pci_bus *pb, struct pci_device *pdev, unsigned slot);

/*
 * pci_bus_detach - unmap @pdev's BARs, free its slot and forget the bus
 * (pdev->bus = NULL). pci_bus_destroy() detaches every device, so devices may
 * be destroyed before or after the bus.
 */
void pci_bus_detach(struct pci_bus *pb, struct pci_device *pdev);

/*
 * pci_config_read / pci_config_write - one config-space access of @size (1,
 * 2, 4) bytes at @offset of device @pdev (what CF8/CFC and ECAM resolve to;
 * tests call them directly). Reads of unaligned or out-of-range accesses
 * return all-ones; such writes are dropped.
 */
uint32_t pci_config_read(struct pci_device *pdev, unsigned offset, unsigned size);
void pci_config_write(struct pci_device *pdev, unsigned offset, uint32_t value, unsigned size);

/*
 * pci_bus_config_read / pci_bus_config_write - config access by bus/dev/fn
 * (an absent device reads all-ones).
 */
uint32_t pci_bus_config_read(struct pci_bus *pb, unsigned busno, unsigned dev, unsigned fn,
			     unsigned offset, unsigned size);
void pci_bus_config_write(struct pci_bus *pb, unsigned busno, unsigned dev, unsigned fn,
			  unsigned offset, uint32_t value, unsigned size);

/* pci_msix_read / pci_msix_write - access at @offset into the BAR that holds the MSI-X table/PBA.
 */
uint64_t pci_msix_read(struct pci_device *pdev, uint64_t offset, unsigned size);
void pci_msix_write(struct pci_device *pdev, uint64_t offset, uint64_t value, unsigned size);

/*
 * pci_msix_vector_live - true when MSI-X is enabled, the function is not
 * masked and vector @vector exists and is not masked; then *@addr and *@data are
 * its message. Device lock held (for an msix_changed callback).
 */
bool pci_msix_vector_live(const struct pci_device *pdev, unsigned vector, uint64_t *addr,
			  uint32_t *data);

/* pci_msix_enabled - MSI-X enable set (and the function not masked is not required). */
bool pci_msix_enabled(struct pci_device *pdev);

/*
 * pci_msix_notify - raise MSI-X vector @vector: sent now, or left pending in
 * the PBA while the vector or the function is masked (sent on unmask).
 * Returns 0, -EINVAL for a vector beyond the table, or the platform's error.
 */
int pci_msix_notify(struct pci_device *pdev, unsigned vector);

/*
 * pci_intx_set - drive INTA# of @pdev; the platform sees only level changes,
 * and nothing while the command register's INTx disable bit is set.
 */
void pci_intx_set(struct pci_device *pdev, int level);

/* pci_device_save / pci_device_load - config space, BAR placement, MSI-X table and PBA. */
void pci_device_save(struct pci_device *pdev, struct state_writer *w);
int pci_device_load(struct pci_device *pdev, struct state_reader *r);

/* struct pci_device_state - a parsed, not yet applied pci_device section part. */
struct pci_device_state {
	uint8_t cfg[PCI_CFG_SIZE];
	struct pci_msix_entry msix[PCI_MSIX_MAX_VECTORS];
	uint32_t nr_msix;
	uint64_t pba;
	uint8_t intx;
};

/*
 * pci_device_parse / pci_device_apply - pci_device_load in two steps, so that a
 * device whose section holds more than its PCI part validates all of it
 * before committing any: parse changes nothing (0 or -EINVAL); apply cannot fail.
 */
int pci_device_parse(struct pci_device *pdev, struct state_reader *r, struct pci_device_state *st);
void pci_device_apply(struct pci_device *pdev, const struct pci_device_state *st);

#endif
