/* mptable.c — the Intel MP Specification 1.4 floating pointer and config table (mptable.h). */
#include "arch/x86/mptable.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/arch_err.h"
#include "arch/x86/fw_bytes.h"
#include "arch/x86/layout.h"

#define MP_SPEC_REV 4 /* 1.4 */
#define LAPIC_VERSION 0x14 /* what KVM's in-kernel LAPIC reports in its version register */
#define IOAPIC_VERSION 0x11 /* KVM's in-kernel IOAPIC */
#define CPU_ENABLED 0x01
#define CPU_BSP 0x02
#define IOAPIC_ENABLED 0x01
#define ALL_LAPICS 0xff

size_t mptable_size(unsigned nr_cpus)
{
	return MPTABLE_FLOAT_LEN + MPTABLE_HEADER_LEN + nr_cpus * MPTABLE_CPU_ENTRY_LEN +
	       MPTABLE_FIXED_ENTRIES * MPTABLE_ENTRY_LEN;
}

/* An 8-byte interrupt entry (I/O: dst is the IOAPIC id and pin; local: the LAPIC id and LINT#). */
static uint8_t *int_entry(uint8_t *e, uint8_t type, uint8_t int_type, uint16_t flags,
			  uint8_t src_irq, uint8_t dst_id, uint8_t dst_pin)
{
	e[0] = type;
	e[1] = int_type;
	put16(e, 2,
	      flags); /* 0: polarity and trigger conform to the bus (ISA: edge, active-high) */
	e[4] = 0; /* source bus: ISA */
	e[5] = src_irq;
	e[6] = dst_id;
	e[7] = dst_pin;
	return e + MPTABLE_ENTRY_LEN;
}

int mptable_write(struct gmem *gm, uint64_t gpa, unsigned nr_cpus, uint32_t cpu_signature,
		  uint32_t cpu_features, char *err, size_t err_len)
{
	uint8_t *fp, *hdr, *e;
	unsigned i;
	size_t len;

	if (nr_cpus < 1 || nr_cpus > MPTABLE_MAX_CPUS)
		return arch_err(err, err_len, -EINVAL, "mptable: %u vCPUs is outside 1..%u",
				nr_cpus, MPTABLE_MAX_CPUS);
	len = mptable_size(nr_cpus);
	if (gpa & 15)
		return arch_err(err, err_len, -EINVAL,
				"mptable: address 0x%llx is not 16-byte aligned",
				(unsigned long long)gpa);
	if (gpa + len > 0x100000000ull)
		return arch_err(err, err_len, -EINVAL, "mptable: it must lie below 4 GiB");
	fp = gmem_ptr(gm, gpa, len);
	if (!fp)
		return arch_err(err, err_len, -EFAULT,
				"mptable: guest memory does not cover 0x%llx..0x%llx",
				(unsigned long long)gpa, (unsigned long long)(gpa + len - 1));
	memset(fp, 0, len);
	hdr = fp + MPTABLE_FLOAT_LEN;
	e = hdr + MPTABLE_HEADER_LEN;

	for (i = 0; i < nr_cpus; i++) {
		e[0] = MPTABLE_CPU;
		e[1] = (uint8_t)i; /* APIC ID */
		e[2] = LAPIC_VERSION;
		e[3] = CPU_ENABLED | (i == 0 ? CPU_BSP : 0);
		put32(e, 4, cpu_signature);
		put32(e, 8, cpu_features);
		e += MPTABLE_CPU_ENTRY_LEN;
	}
	e[0] = MPTABLE_BUS;
	e[1] = 0; /* bus id */
	memcpy(e + 2, "ISA   ", 6);
	e += MPTABLE_ENTRY_LEN;
	e[0] = MPTABLE_IOAPIC;
	e[1] = (uint8_t)nr_cpus;
	e[2] = IOAPIC_VERSION;
	e[3] = IOAPIC_ENABLED;
	put32(e, 4, (uint32_t)LAYOUT_IOAPIC_GPA);
	e += MPTABLE_ENTRY_LEN;
	for (i = 0; i < MPTABLE_IOAPIC_PINS; i++)
		e = int_entry(e, MPTABLE_IOINT, MPTABLE_INT,
			      i < MPTABLE_ISA_IRQS ? 0 : MPTABLE_LEVEL_HIGH, (uint8_t)i,
			      (uint8_t)nr_cpus, (uint8_t)i);
	e = int_entry(e, MPTABLE_LINT, MPTABLE_EXTINT, 0, 0, ALL_LAPICS, 0);
	e = int_entry(e, MPTABLE_LINT, MPTABLE_NMI, 0, 0, ALL_LAPICS, 1);

	/* The configuration table header (spec 4.2). */
	memcpy(hdr, "PCMP", 4);
	put16(hdr, 4, (uint16_t)(e - hdr)); /* base table length */
	hdr[6] = MP_SPEC_REV;
	memcpy(hdr + 8, "VMON    ", 8); /* OEM ID */
	memcpy(hdr + 16, "VMONVM      ", 12); /* product ID */
	put16(hdr, 34, (uint16_t)(nr_cpus + MPTABLE_FIXED_ENTRIES)); /* entry count */
	put32(hdr, 36, (uint32_t)LAYOUT_LAPIC_GPA);
	fw_checksum(hdr, (size_t)(e - hdr), 7);

	/* The floating pointer (spec 4.1): length in 16-byte units, feature bytes 0. */
	memcpy(fp, "_MP_", 4);
	put32(fp, 4, (uint32_t)(gpa + MPTABLE_FLOAT_LEN));
	fp[8] = 1;
	fp[9] = MP_SPEC_REV;
	fw_checksum(fp, MPTABLE_FLOAT_LEN, 10);
	gmem_mark_dirty(gm, gpa, len);
	return 0;
}
