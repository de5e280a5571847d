/*
 * acpi.h — the ACPI tables vmon gives an x86 guest (ACPI 6.5 spec, chapter 5):
 * RSDP (rev 2) -> XSDT -> FADT (rev 6, hardware-reduced) -> DSDT, MADT, and an
 * optional MCFG for PCI ECAM. All tables live in LAYOUT_ACPI_GPA ..
 * LAYOUT_ACPI_END_GPA (0xE0000..0xEFFFF, reserved in e820), the RSDP first so
 * that a guest scanning that range for "RSD PTR " finds it; every table is
 * 8-byte aligned and checksummed.
 *
 * Platform contract the rest of vmon must honour for these tables:
 *  - SLEEP_CONTROL_REG is SystemIO port 0x600, 8 bits: Linux powers off by
 *    writing (SLP_TYP 5 << 2) | SLP_EN (0x20) = 0x34 there (ACPI 4.8.3.7).
 *  - SLEEP_STATUS_REG is SystemIO port 0x601, 8 bits (reads 0 are fine).
 *  - RESET_REG is SystemIO port 0xCF9, 8 bits, RESET_VALUE 0x06.
 *  - IOAPIC at LAYOUT_IOAPIC_GPA, id = nr_cpus, GSI base 0, 24 pins; KVM's
 *    default GSI routing (GSI n -> IOAPIC pin n and PIC IRQ n) — see acpi.c
 *    on interrupt source overrides.
 *  - LAPIC of vCPU i has APIC ID i.
 *  - The DSDT describes the ISA devices of vmon's platform, which is how a
 *    hardware-reduced Linux finds their interrupts: COM1 (PNP0501, 0x3F8,
 *    GSI 4), i8042 keyboard (PNP0303, 0x60/0x64, GSI 1) and mouse (PNP0F13,
 *    GSI 12), CMOS RTC (PNP0B00, 0x70-0x71, GSI 8); all edge, active-high.
 *  - With a VM generation ID (acpi_tables_add_vmgenid), the DSDT has
 *    \_SB.VGEN (_HID "VMGENCTR", _CID "VM_GEN_COUNTER", _DDN
 *    "VM_Gen_Counter"), whose ADDR method returns Package { low 32 bits, high
 *    32 bits } of the ID's guest-physical address (Microsoft's "Virtual
 *    Machine Generation ID" spec; Linux drivers/virt/vmgenid.c), and
 *    \_SB.GED_, a Generic Event Device (_HID "ACPI0013", ACPI 6.5 5.6.9)
 *    with one interrupt, GSI vmgenid_gsi, edge, active-high, exclusive.
 *    Linux's GED driver (drivers/acpi/evged.c) runs _EVT(GSI) on each
 *    interrupt; _EVT(Arg0) does Notify(\_SB.VGEN, 0x80) when Arg0 is that
 *    GSI. There is no status register: the GSI is the event, so the VMM
 *    signals a new ID by writing it and pulsing that GSI.
 *  - Each virtio-mmio window (acpi_tables_add_virtio_mmio) is a device
 *    \_SB.VRnn (nn = 00, 01, ... in the order added): _HID "LNRO0005" (what
 *    Linux's virtio_mmio driver matches), _UID nn, _CRS { Memory32Fixed
 *    (ReadWrite, gpa, len), Interrupt (ResourceConsumer, Level, ActiveHigh,
 *    Exclusive) { gsi } }: the transport's InterruptStatus holds the line
 *    until the driver acknowledges, so it is declared level-triggered; on an
 *    ISA pin (gsi < 16: layout_virtio_mmio_gsi's windows 8-15) Edge, as the
 *    pin is without an override, and the transport then makes a new edge for
 *    what is still pending when the driver acknowledges.
 *  - With an MCFG, the DSDT also has the PCI root bridge PCI0 (PNP0A08) whose
 *    _PRT routes slot s, pin p (0 = INTA) to GSI 16 + ((s + p) & 7),
 *    level-triggered, active-low; its memory window is the 32-bit BAR window.
 */
#ifndef VMON_ARCH_X86_ACPI_H
#define VMON_ARCH_X86_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/gmem.h"

#define ACPI_MAX_CPUS 254 /* xAPIC IDs 0..253; IOAPIC takes nr_cpus; 0xFF is broadcast */
#define ACPI_SLEEP_CTL_PORT 0x600
#define ACPI_SLEEP_STS_PORT 0x601
#define ACPI_RESET_PORT 0xCF9
#define ACPI_RESET_VALUE 0x06
#define ACPI_S5_SLP_TYP 5
#define ACPI_SLP_EN 0x20 /* ACPI 4.8.3.7: sleep control register bit 5 */
#define ACPI_IOAPIC_PINS 24
#define ACPI_MAX_VIRTIO_MMIO 16

/*
 * struct acpi_tables - what the tables describe. Set up with
 * acpi_tables_init(), optionally acpi_tables_add_mcfg(), then write with
 * acpi_tables_write(). Plain data owned by the caller.
 */
struct acpi_tables {
	unsigned nr_cpus;
	bool has_mcfg;
	uint64_t ecam_gpa;
	uint16_t pci_segment;
	uint8_t bus_start, bus_end;
	bool has_vmgenid;
	uint64_t vmgenid_gpa; /* the 16-byte generation ID */
	uint32_t vmgenid_gsi; /* the GED's interrupt */
	unsigned nr_virtio_mmio;
	struct {
		uint64_t gpa;
		uint32_t len, gsi;
	} virtio_mmio[ACPI_MAX_VIRTIO_MMIO];
};

/*
 * acpi_tables_init - describe a VM with @nr_cpus vCPUs (1..ACPI_MAX_CPUS),
 * no MCFG. Returns 0 or -EINVAL with a reason in @err.
 */
int acpi_tables_init(struct acpi_tables *t, unsigned nr_cpus, char *err, size_t err_len);

/*
 * acpi_tables_add_mcfg - add an MCFG entry for PCI segment 0: ECAM at
 * @ecam_gpa (1 MiB aligned) for buses @bus_start..@bus_end; the ECAM base is
 * the address of bus 0 (ACPI MCFG "Base Address"), whatever @bus_start is.
 * Returns 0 or -EINVAL (misaligned base, bus_end < bus_start).
 */
int acpi_tables_add_mcfg(struct acpi_tables *t, uint64_t ecam_gpa, uint8_t bus_start,
			 uint8_t bus_end, char *err, size_t err_len);

/*
 * acpi_tables_add_vmgenid - describe a VM generation ID at @id_gpa (8-byte
 * aligned) and the Generic Event Device that announces a new one on IOAPIC
 * pin @gsi (< ACPI_IOAPIC_PINS). The tables only describe: the caller keeps
 * the 16 bytes at @id_gpa reserved (e820) and filled. Returns 0 or -EINVAL.
 */
int acpi_tables_add_vmgenid(struct acpi_tables *t, uint64_t id_gpa, uint32_t gsi, char *err,
			    size_t err_len);

/*
 * acpi_tables_add_virtio_mmio - describe a virtio-mmio register window at
 * @gpa (32-bit, @len bytes) interrupting on IOAPIC pin @gsi (<
 * ACPI_IOAPIC_PINS). At most ACPI_MAX_VIRTIO_MMIO. Returns 0 or -EINVAL.
 */
int acpi_tables_add_virtio_mmio(struct acpi_tables *t, uint64_t gpa, uint32_t len, uint32_t gsi,
				char *err, size_t err_len);

/*
 * acpi_tables_write - zero LAYOUT_ACPI_GPA..LAYOUT_ACPI_END_GPA in @gm and
 * write the tables there; *@rsdp_gpa gets the RSDP address (for
 * boot_params.acpi_rsdp_addr). Returns 0, or -EFAULT when @gm does not map
 * that range.
 */
int acpi_tables_write(const struct acpi_tables *t, struct gmem *gm, uint64_t *rsdp_gpa, char *err,
		      size_t err_len);

#endif
