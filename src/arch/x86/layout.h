/*
 * layout.h — the guest physical address map vmon builds for an x86-64 VM, and
 * the fixed low-memory addresses its boot loaders use.
 *
 * Guest physical map (mem_bytes of RAM in total):
 *
 *   0x0000_0000 .. low_ram_end         RAM (low_ram_end = min(mem, 3 GiB))
 *     0x00000 .. 0x00FFF   real-mode IVT/BDA, left zero
 *     0x01000 .. 0x010FF   GDT (null, code32, code64, data, 64-bit TSS)
 *     0x02000 .. 0x06FFF   multiboot info area (info, mmap, modules, strings)
 *     0x07000 .. 0x07FFF   Linux zero page (struct boot_params)
 *     0x08000 .. 0x08FFF   kept free: the project's test guests put an AP
 *                          trampoline here (SIPI vector 0x08)
 *     0x09000 .. 0x0EFFF   identity page tables for Linux 64-bit entry
 *                          (PML4, PDPT, 4 page directories of 2 MiB pages)
 *     0x10000 .. 0x1FFFF   boot stack (RSP = 0x1FFF0)
 *     0x20000 .. 0x2FFFF   kernel command line (NUL-terminated)
 *     0x9FC00 .. 0xFFFFF   reserved in e820 (EBDA, VGA hole, BIOS area):
 *       0xE0000 .. 0xEFFFF   ACPI tables
 *       0xF0000 .. 0xFEFFF   MP table (floating pointer + configuration
 *                            table: arch/x86/mptable.h)
 *       0xFF000 .. 0xFFFFF   VM generation ID page: the 16-byte ID at its
 *                            start (the DSDT's VGEN device gives the guest
 *                            this address; devices/vmgenid.h)
 *     0x100000 ..          kernels, initrd (placed high in low RAM)
 *   0xC000_0000 .. 0xFFFF_FFFF         1 GiB MMIO hole, no RAM:
 *     0xC0000000 .. 0xDFFFFFFF   PCI BAR window (32-bit BARs)
 *     0xE0000000 .. 0xEFFFFFFF   PCI ECAM (256 buses), reserved in e820
 *     0xF0000000 .. 0xF000FFFF   virtio-mmio windows, 4 KiB each (the
 *                                transport when the guest has no PCI:
 *                                virtio/virtio_mmio.h), window i on
 *                                layout_virtio_mmio_gsi(i)
 *     0xFEC00000                 IOAPIC
 *     0xFEE00000                 LAPIC
 *     0xFFFBC000 .. 0xFFFBFFFF   KVM's identity-map page and real-mode TSS
 *                                (KVM_SET_IDENTITY_MAP_ADDR, KVM_SET_TSS_ADDR;
 *                                Intel only)
 *   0x1_0000_0000 .. +high        RAM above 4 GiB (mem_bytes - low part)
 *
 * All of low RAM, including 0x9FC00..0xFFFFF, is backed by guest memory so
 * that vmon can write the ACPI tables there; the e820 map tells the guest
 * which parts it may use.
 */
#ifndef VMON_ARCH_X86_LAYOUT_H
#define VMON_ARCH_X86_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* MMIO hole below 4 GiB */
#define LAYOUT_MMIO_HOLE_GPA 0xC0000000ull
#define LAYOUT_MMIO_HOLE_END_GPA 0x100000000ull
#define LAYOUT_PCI_BAR_GPA 0xC0000000ull
#define LAYOUT_PCI_BAR_LEN 0x20000000ull
#define LAYOUT_PCI_ECAM_GPA 0xE0000000ull
#define LAYOUT_PCI_ECAM_LEN 0x10000000ull
#define LAYOUT_VIRTIO_MMIO_GPA 0xF0000000ull
#define LAYOUT_VIRTIO_MMIO_STRIDE 0x1000ull
#define LAYOUT_VIRTIO_MMIO_MAX 16
#define LAYOUT_IOAPIC_GPA 0xFEC00000ull
#define LAYOUT_IOAPIC_LEN 0x1000ull
#define LAYOUT_LAPIC_GPA 0xFEE00000ull
#define LAYOUT_LAPIC_LEN 0x1000ull
#define LAYOUT_KVM_IDENTITY_MAP_GPA 0xFFFBC000ull /* 1 page */
#define LAYOUT_KVM_TSS_GPA 0xFFFBD000ull /* 3 pages */
#define LAYOUT_HIGH_RAM_GPA 0x100000000ull

/* Fixed low-memory addresses */
#define LAYOUT_GDT_GPA 0x1000ull
#define LAYOUT_MB_INFO_GPA 0x2000ull
#define LAYOUT_MB_INFO_END_GPA 0x7000ull /* exclusive */
#define LAYOUT_ZERO_PAGE_GPA 0x7000ull
#define LAYOUT_AP_TRAMPOLINE_GPA 0x8000ull /* kept free, 4 KiB */
#define LAYOUT_PML4_GPA 0x9000ull
#define LAYOUT_PDPT_GPA 0xA000ull
#define LAYOUT_PD_GPA 0xB000ull /* 4 pages: 0xB000..0xEFFF */
#define LAYOUT_STACK_GPA 0x10000ull
#define LAYOUT_STACK_TOP_GPA 0x1FFF0ull
#define LAYOUT_CMDLINE_GPA 0x20000ull
#define LAYOUT_CMDLINE_MAX_BYTES 0x10000ull /* including the NUL */
#define LAYOUT_VMON_LOW_END_GPA 0x30000ull /* end of vmon's own low area */
#define LAYOUT_EBDA_GPA 0x9FC00ull /* first byte not usable as RAM */
#define LAYOUT_ACPI_GPA 0xE0000ull
#define LAYOUT_ACPI_END_GPA 0xF0000ull /* exclusive */
#define LAYOUT_MPTABLE_GPA 0xF0000ull /* Linux scans 0xF0000..0xFFFFF for "_MP_" */
#define LAYOUT_MPTABLE_END_GPA 0xFF000ull /* exclusive */
/*
 * The VM generation ID (16 bytes) at the start of the last page of the BIOS
 * area: reserved in e820 (so no guest uses it as RAM), backed by guest RAM
 * (so it is saved with a snapshot and vmon writes it through gmem), and in
 * no range that Linux probes for option ROMs (0xC0000..0xEFFFF, 2 KiB steps).
 */
#define LAYOUT_VMGENID_GPA 0xFF000ull
#define LAYOUT_VMGENID_LEN 0x1000ull /* the page; the ID is its first 16 bytes */
#define LAYOUT_HIGH_MEM_GPA 0x100000ull /* 1 MiB: kernels load here */

#define LAYOUT_MIN_MEM_BYTES (4ull << 20)
#define LAYOUT_MAX_MEM_BYTES (1ull << 40)
#define LAYOUT_MAX_RAM_REGIONS 2

/*
 * struct layout - the address map for one VM. Fill it with layout_init();
 * read it freely afterwards (plain data, no ownership).
 */
struct layout {
	uint64_t mem_bytes; /* all guest RAM */
	uint64_t low_ram_end; /* exclusive end of RAM below the MMIO hole */
	uint64_t high_ram_bytes; /* RAM at LAYOUT_HIGH_RAM_GPA, may be 0 */
};

struct layout_region {
	uint64_t gpa;
	uint64_t len_bytes;
};

/*
 * layout_init - compute the map for @mem_bytes of RAM. @mem_bytes must be a
 * multiple of 4 KiB in [LAYOUT_MIN_MEM_BYTES, LAYOUT_MAX_MEM_BYTES].
 * Returns 0, or -EINVAL with a one-line reason in @err (NUL-terminated,
 * truncated to @err_len; @err may be NULL).
 */
int layout_init(struct layout *lo, uint64_t mem_bytes, char *err, size_t err_len);

/*
 * layout_ram_regions - the RAM regions the VM maps with gmem_add_ram(), in
 * address order: low RAM from 0, then high RAM from 4 GiB when there is any.
 * Writes at most LAYOUT_MAX_RAM_REGIONS entries to @out, returns how many.
 */
unsigned layout_ram_regions(const struct layout *lo,
			    struct layout_region out[LAYOUT_MAX_RAM_REGIONS]);

/*
 * layout_virtio_mmio_gsi - the IOAPIC pin of virtio-mmio window @i (<
 * LAYOUT_VIRTIO_MMIO_MAX): windows 0-7 on pins 16-23 (level-triggered, as
 * nothing else uses them without PCI), windows 8-15 on the ISA pins no
 * platform device has (not 0 PIT, 1 and 12 i8042, 2 cascade, 4 COM1, 5 the VM
 * generation ID, 8 RTC, 9 SCI): 3, 6, 7, 10, 11, 13, 14, 15, edge-triggered as
 * ISA pins are (layout_gsi_is_isa). Kata Containers attaches 11 devices with
 * pci=off; Firecracker spreads its devices over pins 5-23 alike.
 */
static inline uint32_t layout_virtio_mmio_gsi(unsigned i)
{
	static const uint8_t isa[8] = { 3, 6, 7, 10, 11, 13, 14, 15 };

	return i < 8 ? 16u + i : isa[(i - 8) & 7];
}

/* layout_gsi_is_isa - pins 0-15 take ISA's edge-triggered, active-high default. */
static inline int layout_gsi_is_isa(uint32_t gsi)
{
	return gsi < 16;
}

#endif
