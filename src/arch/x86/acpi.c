/*
 * acpi.c — ACPI tables for x86 guests (ACPI 6.5: 5.2.5 RSDP, 5.2.8 XSDT,
 * 5.2.9 FADT, 5.2.11.1 DSDT, 5.2.12 MADT; PCI Firmware 3.3 4.1.2 MCFG).
 *
 * Interrupt source overrides: none. vmon keeps KVM's default GSI routing, in
 * which ISA IRQ n is GSI n is IOAPIC pin n (the in-kernel PIT raises GSI 0 ->
 * pin 0). Without overrides, Linux assumes exactly that identity mapping for
 * IRQs 0-15, edge/active-high (mp_config_acpi_legacy_irqs), and its timer
 * check finds IRQ 0 on pin 0. An override IRQ0 -> GSI2, as real PCs and QEMU
 * (whose GSI routing sends the PIT to pin 2) describe, would be wrong here:
 * Linux would program pin 2 and never see a timer tick. Firecracker likewise
 * emits no override in its MADT on top of KVM's default routing; kvmtool
 * describes the same identity routing with MP-table I/O interrupt entries.
 * The SCI is not set up at all on a hardware-reduced platform.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "arch/x86/arch_err.h"
#include "arch/x86/fw_bytes.h"
#include "arch/x86/layout.h"

#define ACPI_OEM_ID "VMON  "
#define ACPI_OEM_TABLE_ID "VMONVM  "
#define ACPI_CREATOR_ID "VMON"

/* FADT flags (ACPI 6.5 table 5.10) */
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)
/* IA-PC boot architecture flags (table 5.11) */
#define FADT_BOOT_8042 (1u << 1)
#define FADT_BOOT_NO_VGA (1u << 2)
/* Generic Address Structure address space IDs (table 5.1) */
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1
/* MADT (5.2.12) */
#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_LAPIC_NMI 4
#define MADT_LAPIC_ENABLED 1u

#define FADT_LEN 276
#define RSDP_LEN 36
#define HDR_LEN 36

struct acpi_area {
	uint8_t *base; /* host view of LAYOUT_ACPI_GPA */
	size_t off, cap;
};

/* Carve @len bytes, 8-byte aligned (16 for the RSDP is implied: it comes first). */
static uint8_t *acpi_alloc(struct acpi_area *a, size_t len, uint64_t *gpa)
{
	size_t off = (a->off + 7) & ~(size_t)7;

	if (off > a->cap || len > a->cap - off)
		return NULL;
	a->off = off + len;
	*gpa = LAYOUT_ACPI_GPA + off;
	return a->base + off;
}

/* The common system description table header (5.2.6); checksum set later. */
static void acpi_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t, 4, len);
	put8(t, 8, rev);
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	put32(t, 24, 1); /* OEM revision */
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	put32(t, 32, 1); /* creator revision */
}

/* Generic Address Structure (5.2.3.2): SystemIO port, 8 bits, byte access. */
static void gas_io8(uint8_t *p, size_t off, uint16_t port)
{
	put8(p, off, GAS_SYSTEM_IO);
	put8(p, off + 1, 8); /* register bit width */
	put8(p, off + 2, 0); /* bit offset */
	put8(p, off + 3, GAS_ACCESS_BYTE);
	put64(p, off + 4, port);
}

/*
 * \_S5_, hand-encoded AML (ACPI 6.5 chapter 20):
 *   Name (\_S5, Package () { 5, 5, 0, 0 })
 * SLP_TYPa/SLP_TYPb = 5: with a hardware-reduced FADT, Linux writes
 * (5 << 2) | SLP_EN to SLEEP_CONTROL_REG to power off.
 */
static const uint8_t dsdt_s5[] = {
	0x08, /* NameOp */
	0x5C, /* RootChar '\' */
	'_',  'S',
	'5',  '_', /* NameSeg "_S5_" */
	0x12, /* PackageOp */
	0x08, /* PkgLength: 8 bytes from here to the package end */
	0x04, /* NumElements */
	0x0A, ACPI_S5_SLP_TYP, /* BytePrefix 5: SLP_TYPa */
	0x0A, ACPI_S5_SLP_TYP, /* BytePrefix 5: SLP_TYPb */
	0x00, /* ZeroOp: reserved */
	0x00, /* ZeroOp: reserved */
};

/* Resource descriptors (ACPI 6.5 6.4), little-endian fields. */
static void res_word_space(struct aml_buf *b, uint8_t type, uint8_t type_flags, uint16_t min,
			   uint16_t max)
{
	/* 6.4.3.5.3 Word Address Space Descriptor: tag 0x88, length 13 */
	uint8_t d[16] = {
		0x88,	   13,	 0,
		type,	   0x0C, /* general flags: MinFixed | MaxFixed, producer, positive decode */
		type_flags
	};
	uint16_t len = (uint16_t)(max - min + 1);

	/* granularity 0 at d[6]; min, max, translation 0, length */
	memcpy(d + 8, &min, 2);
	memcpy(d + 10, &max, 2);
	memcpy(d + 14, &len, 2);
	aml_bytes(b, d, sizeof(d));
}

static void res_dword_memory(struct aml_buf *b, uint32_t min, uint32_t max)
{
	/* 6.4.3.5.2 DWord Address Space Descriptor: tag 0x87, length 23, memory */
	uint8_t d[26] = { 0x87, 23, 0, 0 /* memory */, 0x0C, 0x01 /* read/write, non-cacheable */ };
	uint32_t len = max - min + 1;

	memcpy(d + 10, &min, 4);
	memcpy(d + 14, &max, 4);
	memcpy(d + 22, &len, 4);
	aml_bytes(b, d, sizeof(d));
}

static void res_end(struct aml_buf *b)
{
	static const uint8_t end[2] = { 0x79, 0x00 }; /* 6.4.2.9 End Tag, checksum 0 */

	aml_bytes(b, end, sizeof(end));
}

/*
 * Device (PCI0) {...} and Device (MRES) {...} (inside \_SB) for a PCI
 * Express root complex on segment 0 whose ECAM the MCFG describes:
 *   PCI0: _HID PNP0A08, _CID PNP0A03, _SEG 0, _UID 0, _BBN bus_start,
 *         _CRS { bus range; I/O 0xCF8-0xCFF (config ports); I/O windows
 *         0x0000-0x0CF7 and 0x0D00-0xFFFF; memory window = the 32-bit BAR
 *         window 0xC0000000-0xDFFFFFFF },
 *         _PRT: slot s, pin p (0 = INTA) -> GSI 16 + ((s + p) & 7)
 *         (level-triggered, active-low, as ACPI defines for GSI entries).
 *   MRES: _HID PNP0C02 (motherboard resources) reserving the ECAM window,
 *         which Linux wants before it trusts an MCFG region.
 */
static void dsdt_pci(const struct acpi_tables *t, struct aml_buf *out)
{
	uint8_t crs_mem[128], prt_mem[4096], ent_mem[32], pci_mem[4608], mres_mem[128];
	uint8_t mcrs_mem[32];
	struct aml_buf crs, prt, ent, pci, mres, mcrs;
	static const uint8_t cf8[8] = { 0x47, 0x01, 0xF8, 0x0C, 0xF8, 0x0C, 0x01, 0x08 };
	uint32_t ecam_base = (uint32_t)(t->ecam_gpa + ((uint64_t)t->bus_start << 20));
	uint32_t ecam_len = (uint32_t)(t->bus_end - t->bus_start + 1) << 20;
	uint8_t mem32[12] = { 0x86, 9, 0, 0x01 /* read/write */ };

	aml_init(&crs, crs_mem, sizeof(crs_mem));
	res_word_space(&crs, 2 /* bus number range */, 0, t->bus_start, t->bus_end);
	aml_bytes(&crs, cf8, sizeof(cf8)); /* 6.4.2.5 I/O port: decode16, 0xCF8, align 1, len 8 */
	res_word_space(&crs, 1 /* I/O */, 0x03 /* entire range */, 0x0000, 0x0CF7);
	res_word_space(&crs, 1 /* I/O */, 0x03, 0x0D00, 0xFFFF);
	res_dword_memory(&crs, (uint32_t)LAYOUT_PCI_BAR_GPA,
			 (uint32_t)(LAYOUT_PCI_BAR_GPA + LAYOUT_PCI_BAR_LEN - 1));
	res_end(&crs);

	aml_init(&prt, prt_mem, sizeof(prt_mem));
	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			aml_init(&ent, ent_mem, sizeof(ent_mem));
			aml_integer(&ent, (uint64_t)slot << 16 | 0xFFFF); /* any function */
			aml_integer(&ent, pin);
			aml_integer(&ent, 0); /* Source: none, a GSI */
			aml_integer(&ent, 16 + ((slot + pin) & 7)); /* Source Index: the GSI */
			aml_package(&prt, 4, &ent);
		}
	}

	aml_init(&pci, pci_mem, sizeof(pci_mem));
	aml_name_eisaid(&pci, "_HID", "PNP0A08");
	aml_name_eisaid(&pci, "_CID", "PNP0A03");
	aml_name_integer(&pci, "_SEG", t->pci_segment);
	aml_name_integer(&pci, "_UID", 0);
	aml_name_integer(&pci, "_BBN", t->bus_start);
	aml_name_buffer(&pci, "_CRS", &crs);
	aml_name_package(&pci, "_PRT", 128, &prt);

	memcpy(mem32 + 4, &ecam_base, 4);
	memcpy(mem32 + 8, &ecam_len, 4);
	aml_init(&mcrs, mcrs_mem, sizeof(mcrs_mem));
	aml_bytes(&mcrs, mem32, sizeof(mem32)); /* 6.4.3.4 32-bit fixed memory range */
	res_end(&mcrs);
	aml_init(&mres, mres_mem, sizeof(mres_mem));
	aml_name_eisaid(&mres, "_HID", "PNP0C02");
	aml_name_integer(&mres, "_UID", 1);
	aml_name_buffer(&mres, "_CRS", &mcrs);

	aml_device(out, "PCI0", &pci);
	aml_device(out, "MRES", &mres);
}

/* 6.4.2.5 I/O port descriptor: decode16, fixed @port, alignment 1, @len ports. */
static void res_io(struct aml_buf *b, uint16_t port, uint8_t len)
{
	uint8_t d[8] = { 0x47,		0x01,
			 (uint8_t)port, (uint8_t)(port >> 8),
			 (uint8_t)port, (uint8_t)(port >> 8),
			 0x01,		len };

	aml_bytes(b, d, sizeof(d));
}

/* 6.4.3.6 Extended Interrupt descriptor: consumer, edge, active-high, exclusive, one GSI. */
static void res_irq(struct aml_buf *b, uint32_t gsi)
{
	uint8_t d[9] = { 0x89, 6, 0, 0x03 /* consumer | edge */, 1 };

	memcpy(d + 5, &gsi, 4);
	aml_bytes(b, d, sizeof(d));
}

/*
 * Device (@seg) { _HID EisaId(@hid), _UID @uid, _CRS { I/O @port/@len,
 * [I/O @port2/@len2,] Interrupt (GSI @gsi) } }: an ISA device of vmon's
 * platform. On a hardware-reduced platform Linux has no legacy PIC and
 * preallocates no ISA IRQs, so the 8250, i8042 and RTC drivers only get an
 * interrupt through these PNP descriptions (Firecracker and Cloud Hypervisor
 * describe their legacy devices the same way).
 */
static void dsdt_isa_device(struct aml_buf *out, const char seg[4], const char *hid, unsigned uid,
			    uint16_t port, uint8_t len, uint16_t port2, uint8_t len2, uint32_t gsi)
{
	uint8_t crs_mem[64], dev_mem[128];
	struct aml_buf crs, dev;

	aml_init(&crs, crs_mem, sizeof(crs_mem));
	if (len)
		res_io(&crs, port, len);
	if (len2)
		res_io(&crs, port2, len2);
	res_irq(&crs, gsi);
	res_end(&crs);
	aml_init(&dev, dev_mem, sizeof(dev_mem));
	aml_name_eisaid(&dev, "_HID", hid);
	aml_name_integer(&dev, "_UID", uid);
	aml_name_buffer(&dev, "_CRS", &crs);
	aml_device(out, seg, &dev);
}

/*
 * Device (VGEN) and Device (GED_) (inside \_SB) for the VM generation ID
 * (acpi.h has the contract):
 *   VGEN: _HID "VMGENCTR", _CID "VM_GEN_COUNTER" (Linux's vmgenid driver
 *         matches either), _DDN "VM_Gen_Counter",
 *         Method (ADDR) { Return (Package (2) { low, high }) }: two Integers,
 *         the ID's address, as Linux reads them (element 0 | element 1 << 32).
 *   GED_: _HID "ACPI0013", _UID 0, _CRS { Interrupt (ResourceConsumer, Edge,
 *         ActiveHigh, Exclusive) { gsi } },
 *         Method (_EVT, 1) { If (LEqual (Arg0, gsi)) { Notify (\_SB_.VGEN, 0x80) } }
 * Hardware-reduced ACPI has no GPE block to raise an SCI for a _Exx method;
 * the GED is the event source ACPI 6.5 5.6.9 gives such platforms, and the
 * one Linux (evged.c) supports for them. Notify value 0x80 is the one the
 * VM Generation ID spec names; Linux's driver rereads the ID on any Notify.
 */
static void dsdt_vmgenid(const struct acpi_tables *t, struct aml_buf *out)
{
	uint8_t el_mem[16], pkg_mem[24], addr_mem[32], vgen_mem[128];
	uint8_t crs_mem[16], a_mem[2], g_mem[8], pred_mem[16], body_mem[24], evt_mem[64],
		ged_mem[128];
	struct aml_buf el, pkg, addr, vgen, crs, a, g, pred, body, evt, ged;

	aml_init(&el, el_mem, sizeof(el_mem));
	aml_integer(&el, (uint32_t)t->vmgenid_gpa);
	aml_integer(&el, (uint32_t)(t->vmgenid_gpa >> 32));
	aml_init(&pkg, pkg_mem, sizeof(pkg_mem));
	aml_package(&pkg, 2, &el);
	aml_init(&addr, addr_mem, sizeof(addr_mem));
	aml_return(&addr, &pkg);
	aml_init(&vgen, vgen_mem, sizeof(vgen_mem));
	aml_name_string(&vgen, "_HID", "VMGENCTR");
	aml_name_string(&vgen, "_CID", "VM_GEN_COUNTER");
	aml_name_string(&vgen, "_DDN", "VM_Gen_Counter");
	aml_method(&vgen, "ADDR", 0, &addr);
	aml_device(out, "VGEN", &vgen);

	aml_init(&crs, crs_mem, sizeof(crs_mem));
	res_irq(&crs, t->vmgenid_gsi);
	res_end(&crs);
	aml_init(&a, a_mem, sizeof(a_mem));
	aml_arg(&a, 0);
	aml_init(&g, g_mem, sizeof(g_mem));
	aml_integer(&g, t->vmgenid_gsi);
	aml_init(&pred, pred_mem, sizeof(pred_mem));
	aml_lequal(&pred, &a, &g);
	aml_init(&body, body_mem, sizeof(body_mem));
	aml_notify(&body, "\\_SB_.VGEN", 0x80);
	aml_init(&evt, evt_mem, sizeof(evt_mem));
	aml_if(&evt, &pred, &body);
	aml_init(&ged, ged_mem, sizeof(ged_mem));
	aml_name_string(&ged, "_HID", "ACPI0013");
	aml_name_integer(&ged, "_UID", 0);
	aml_name_buffer(&ged, "_CRS", &crs);
	aml_method(&ged, "_EVT", 1, &evt);
	aml_device(out, "GED_", &ged);
}

/*
 * Device (VRnn) { _HID "LNRO0005", _UID nn, _CRS { Memory32Fixed (ReadWrite,
 * gpa, len), Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { gsi } } }
 * for each virtio-mmio window (acpi.h).
 */
static void dsdt_virtio_mmio(const struct acpi_tables *t, struct aml_buf *out)
{
	for (unsigned i = 0; i < t->nr_virtio_mmio; i++) {
		uint8_t crs_mem[32], dev_mem[96];
		uint8_t mem32[12] = { 0x86, 9, 0, 0x01 /* read/write */ };
		/* consumer, level (edge on an ISA pin: 0x03), active-high, exclusive */
		uint8_t irq[9] = { 0x89, 6, 0,
				   layout_gsi_is_isa(t->virtio_mmio[i].gsi) ? 0x03 : 0x01, 1 };
		uint32_t base = (uint32_t)t->virtio_mmio[i].gpa;
		char seg[4] = { 'V', 'R', (char)('0' + i / 10 % 10), (char)('0' + i % 10) };
		struct aml_buf crs, dev;

		memcpy(mem32 + 4, &base, 4);
		memcpy(mem32 + 8, &t->virtio_mmio[i].len, 4);
		memcpy(irq + 5, &t->virtio_mmio[i].gsi, 4);
		aml_init(&crs, crs_mem, sizeof(crs_mem));
		aml_bytes(&crs, mem32, sizeof(mem32)); /* 6.4.3.4 32-bit fixed memory range */
		aml_bytes(&crs, irq, sizeof(irq)); /* 6.4.3.6 Extended Interrupt */
		res_end(&crs);
		aml_init(&dev, dev_mem, sizeof(dev_mem));
		aml_name_string(&dev, "_HID", "LNRO0005");
		aml_name_integer(&dev, "_UID", i);
		aml_name_buffer(&dev, "_CRS", &crs);
		aml_device(out, seg, &dev);
	}
}

/*
 * The DSDT's definition block: \_S5_, then Scope (\_SB) with vmon's ISA
 * devices (COM1 0x3F8 GSI 4, i8042 keyboard 0x60/0x64 GSI 1, CMOS RTC 0x70
 * GSI 8), the VM generation ID and its GED when described, the virtio-mmio
 * windows, and the PCI root
 * when an MCFG is present. No PS/2 mouse: a microVM
 * has no pointer, and without one in the DSDT Linux leaves the i8042's aux
 * port alone instead of probing it at every boot (the model still answers
 * aux commands for a guest that probes without ACPI).
 */
static void dsdt_body(const struct acpi_tables *t, struct aml_buf *out)
{
	uint8_t sb_mem[7168];
	struct aml_buf sb;

	aml_bytes(out, dsdt_s5, sizeof(dsdt_s5));
	aml_init(&sb, sb_mem, sizeof(sb_mem));
	dsdt_isa_device(&sb, "COM1", "PNP0501", 1, 0x3F8, 8, 0, 0, 4);
	dsdt_isa_device(&sb, "PS2K", "PNP0303", 0, 0x60, 1, 0x64, 1, 1);
	dsdt_isa_device(&sb, "RTC_", "PNP0B00", 0, 0x70, 2, 0, 0, 8);
	if (t->has_vmgenid)
		dsdt_vmgenid(t, &sb);
	dsdt_virtio_mmio(t, &sb);
	if (t->has_mcfg)
		dsdt_pci(t, &sb);
	aml_scope(out, "\\_SB_", &sb);
}

int acpi_tables_init(struct acpi_tables *t, unsigned nr_cpus, char *err, size_t err_len)
{
	memset(t, 0, sizeof(*t));
	if (nr_cpus < 1 || nr_cpus > ACPI_MAX_CPUS)
		return arch_err(err, err_len, -EINVAL, "acpi: %u vCPUs is outside 1..%u", nr_cpus,
				ACPI_MAX_CPUS);
	t->nr_cpus = nr_cpus;
	return 0;
}

int acpi_tables_add_mcfg(struct acpi_tables *t, uint64_t ecam_gpa, uint8_t bus_start,
			 uint8_t bus_end, char *err, size_t err_len)
{
	if (ecam_gpa & ((1ull << 20) - 1))
		return arch_err(err, err_len, -EINVAL,
				"acpi: ECAM base 0x%llx is not 1 MiB aligned",
				(unsigned long long)ecam_gpa);
	if (bus_end < bus_start)
		return arch_err(err, err_len, -EINVAL, "acpi: PCI bus range %u..%u is empty",
				bus_start, bus_end);
	t->has_mcfg = true;
	t->ecam_gpa = ecam_gpa;
	t->pci_segment = 0;
	t->bus_start = bus_start;
	t->bus_end = bus_end;
	return 0;
}

int acpi_tables_add_vmgenid(struct acpi_tables *t, uint64_t id_gpa, uint32_t gsi, char *err,
			    size_t err_len)
{
	if (id_gpa & 7)
		return arch_err(err, err_len, -EINVAL,
				"acpi: VM generation ID address 0x%llx is not 8-byte aligned",
				(unsigned long long)id_gpa);
	if (gsi >= ACPI_IOAPIC_PINS)
		return arch_err(err, err_len, -EINVAL, "acpi: GSI %u is not an IOAPIC pin (0..%u)",
				gsi, ACPI_IOAPIC_PINS - 1);
	t->has_vmgenid = true;
	t->vmgenid_gpa = id_gpa;
	t->vmgenid_gsi = gsi;
	return 0;
}

int acpi_tables_add_virtio_mmio(struct acpi_tables *t, uint64_t gpa, uint32_t len, uint32_t gsi,
				char *err, size_t err_len)
{
	if (t->nr_virtio_mmio >= ACPI_MAX_VIRTIO_MMIO || gsi >= ACPI_IOAPIC_PINS || !len ||
	    gpa + len > 0x100000000ull || gpa + len < gpa) {
		return arch_err(err, err_len, -EINVAL,
				"acpi: virtio-mmio window %u at 0x%llx+0x%x, GSI %u: at most %u "
				"windows below 4 GiB, on GSIs below %u",
				t->nr_virtio_mmio, (unsigned long long)gpa, len, gsi,
				ACPI_MAX_VIRTIO_MMIO, ACPI_IOAPIC_PINS);
	}
	t->virtio_mmio[t->nr_virtio_mmio].gpa = gpa;
	t->virtio_mmio[t->nr_virtio_mmio].len = len;
	t->virtio_mmio[t->nr_virtio_mmio].gsi = gsi;
	t->nr_virtio_mmio++;
	return 0;
}

static int acpi_write_madt(const struct acpi_tables *t, struct acpi_area *a, uint64_t *gpa)
{
	uint32_t len = HDR_LEN + 8 + t->nr_cpus * 8 + 12 + 6;
	uint8_t *m = acpi_alloc(a, len, gpa);
	size_t off = HDR_LEN;

	if (!m)
		return -ENOSPC;
	acpi_header(m, "APIC", len, 5);
	put32(m, off, (uint32_t)LAYOUT_LAPIC_GPA); /* Local Interrupt Controller Address */
	put32(m, off + 4, MADT_PCAT_COMPAT); /* the in-kernel 8259 pair exists */
	off += 8;
	for (unsigned i = 0; i < t->nr_cpus; i++) { /* 5.2.12.2 Processor Local APIC */
		put8(m, off, MADT_LAPIC);
		put8(m, off + 1, 8);
		put8(m, off + 2, (uint8_t)i); /* ACPI processor UID */
		put8(m, off + 3, (uint8_t)i); /* APIC ID = vCPU index */
		put32(m, off + 4, MADT_LAPIC_ENABLED);
		off += 8;
	}
	put8(m, off, MADT_IOAPIC); /* 5.2.12.3 I/O APIC */
	put8(m, off + 1, 12);
	put8(m, off + 2, (uint8_t)t->nr_cpus); /* I/O APIC ID after the LAPIC IDs */
	put8(m, off + 3, 0);
	put32(m, off + 4, (uint32_t)LAYOUT_IOAPIC_GPA);
	put32(m, off + 8, 0); /* Global System Interrupt Base */
	off += 12;
	put8(m, off, MADT_LAPIC_NMI); /* 5.2.12.7 Local APIC NMI */
	put8(m, off + 1, 6);
	put8(m, off + 2, 0xFF); /* all processors */
	put16(m, off + 3, 0); /* flags: conforms to the bus */
	put8(m, off + 5, 1); /* LINT1 */
	off += 6;
	fw_checksum(m, len, 9);
	return 0;
}

static int acpi_write_mcfg(const struct acpi_tables *t, struct acpi_area *a, uint64_t *gpa)
{
	uint32_t len = HDR_LEN + 8 + 16;
	uint8_t *m = acpi_alloc(a, len, gpa);

	if (!m)
		return -ENOSPC;
	acpi_header(m, "MCFG", len, 1);
	/* 8 reserved bytes, then one allocation structure */
	put64(m, HDR_LEN + 8, t->ecam_gpa);
	put16(m, HDR_LEN + 16, t->pci_segment);
	put8(m, HDR_LEN + 18, t->bus_start);
	put8(m, HDR_LEN + 19, t->bus_end);
	fw_checksum(m, len, 9);
	return 0;
}

static int acpi_write_fadt(struct acpi_area *a, uint64_t dsdt_gpa, uint64_t *gpa)
{
	uint8_t *f = acpi_alloc(a, FADT_LEN, gpa);

	if (!f)
		return -ENOSPC;
	acpi_header(f, "FACP", FADT_LEN, 6);
	put32(f, 40, (uint32_t)dsdt_gpa); /* DSDT (32-bit copy) */
	put16(f, 46, 9); /* SCI_INT: unused when HW-reduced */
	put16(f, 109, FADT_BOOT_8042 | FADT_BOOT_NO_VGA); /* IAPC_BOOT_ARCH */
	put32(f, 112, FADT_F_HW_REDUCED_ACPI | FADT_F_RESET_REG_SUP);
	gas_io8(f, 116, ACPI_RESET_PORT); /* RESET_REG */
	put8(f, 128, ACPI_RESET_VALUE); /* RESET_VALUE */
	put8(f, 131, 5); /* FADT minor version: 6.5 */
	put64(f, 140, dsdt_gpa); /* X_DSDT */
	gas_io8(f, 244, ACPI_SLEEP_CTL_PORT); /* SLEEP_CONTROL_REG */
	gas_io8(f, 256, ACPI_SLEEP_STS_PORT); /* SLEEP_STATUS_REG */
	memcpy(f + 268, "VMON\0\0\0\0", 8); /* Hypervisor Vendor Identity */
	fw_checksum(f, FADT_LEN, 9);
	return 0;
}

int acpi_tables_write(const struct acpi_tables *t, struct gmem *gm, uint64_t *rsdp_gpa, char *err,
		      size_t err_len)
{
	const size_t area_len = LAYOUT_ACPI_END_GPA - LAYOUT_ACPI_GPA;
	uint64_t rsdp, xsdt, dsdt, fadt, madt, mcfg = 0;
	struct acpi_area a;
	uint8_t *r, *x, *d, aml_mem[8192];
	struct aml_buf aml;
	unsigned nr_x;
	uint32_t xlen;

	if (t->nr_cpus < 1 || t->nr_cpus > ACPI_MAX_CPUS)
		return arch_err(err, err_len, -EINVAL, "acpi: %u vCPUs is outside 1..%u",
				t->nr_cpus, ACPI_MAX_CPUS);
	a.base = gmem_ptr(gm, LAYOUT_ACPI_GPA, area_len);
	if (!a.base)
		return arch_err(err, err_len, -EFAULT,
				"acpi: guest memory does not cover 0x%llx..0x%llx", LAYOUT_ACPI_GPA,
				LAYOUT_ACPI_END_GPA - 1);
	a.off = 0;
	a.cap = area_len;
	memset(a.base, 0, area_len);

	/* The RSDP first, at 0xE0000 (16-byte aligned, found by a scan too). */
	aml_init(&aml, aml_mem, sizeof(aml_mem));
	dsdt_body(t, &aml);
	if (aml.error)
		return arch_err(err, err_len, -ENOSPC, "acpi: DSDT larger than %zu bytes",
				sizeof(aml_mem));
	r = acpi_alloc(&a, RSDP_LEN, &rsdp);
	nr_x = 2 + (t->has_mcfg ? 1 : 0);
	xlen = HDR_LEN + 8 * nr_x;
	x = acpi_alloc(&a, xlen, &xsdt);
	d = acpi_alloc(&a, HDR_LEN + aml.len, &dsdt);
	if (!r || !x || !d || acpi_write_fadt(&a, dsdt, &fadt) || acpi_write_madt(t, &a, &madt) ||
	    (t->has_mcfg && acpi_write_mcfg(t, &a, &mcfg)))
		return arch_err(err, err_len, -ENOSPC, "acpi: tables do not fit 0x%llx..0x%llx",
				LAYOUT_ACPI_GPA, LAYOUT_ACPI_END_GPA - 1);

	acpi_header(d, "DSDT", (uint32_t)(HDR_LEN + aml.len), 2);
	memcpy(d + HDR_LEN, aml.p, aml.len);
	fw_checksum(d, HDR_LEN + aml.len, 9);

	acpi_header(x, "XSDT", xlen, 1);
	put64(x, HDR_LEN, fadt);
	put64(x, HDR_LEN + 8, madt);
	if (t->has_mcfg)
		put64(x, HDR_LEN + 16, mcfg);
	fw_checksum(x, xlen, 9);

	/* RSDP (5.2.5.3): checksum over the first 20 bytes, extended over all 36. */
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, ACPI_OEM_ID, 6);
	put8(r, 15, 2); /* revision 2: XSDT present */
	put32(r, 16, 0); /* no RSDT */
	put32(r, 20, RSDP_LEN);
	put64(r, 24, xsdt);
	fw_checksum(r, 20, 8);
	fw_checksum(r, RSDP_LEN, 32);
	*rsdp_gpa = rsdp;
	return 0;
}
