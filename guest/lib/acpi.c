/* acpi.c — finds the ACPI tables (RSDP in the EBDA or 0xE0000-0xFFFFF), reads the MADT's enabled
 * LAPICs and the FADT's power-management registers, decodes \_S5 from the DSDT and powers the
 * machine off. References: ACPI 6.4 §5.2.5.1 (finding the RSDP), §5.2.5.3 (RSDP), §5.2.6 (table
 * header), §5.2.7/5.2.8 (RSDT/XSDT), §5.2.9 (FADT; Table 5.10 flags: HW_REDUCED_ACPI is bit 20),
 * §5.2.12 (MADT, Processor Local APIC type 0, x2APIC type 9), §4.8.3.7 (SLEEP_CONTROL_REG: SLP_TYPx
 * bits 4:2, SLP_EN bit 5), §4.8.3.2.1 (PM1_CNT: SLP_TYPx bits 12:10, SLP_EN bit 13), §20.2 (AML:
 * NameOp 0x08, PackageOp 0x12, BytePrefix 0x0A). */
#include "rt.h"

struct rt_acpi rt_acpi;

static uint8_t rd8(uint64_t gpa)
{
	return *(const volatile uint8_t *)(uintptr_t)gpa;
}
static uint16_t rd16(uint64_t gpa)
{
	return (uint16_t)(rd8(gpa) | rd8(gpa + 1) << 8);
}
static uint32_t rd32(uint64_t gpa)
{
	return (uint32_t)rd16(gpa) | (uint32_t)rd16(gpa + 2) << 16;
}
static uint64_t rd64(uint64_t gpa)
{
	return (uint64_t)rd32(gpa) | (uint64_t)rd32(gpa + 4) << 32;
}

static bool checksum_ok(uint64_t gpa, uint32_t len)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + rd8(gpa + i));
	return sum == 0;
}

static uint64_t find_rsdp_in(uint64_t start, uint64_t end)
{
	static const char sig[8] = "RSD PTR ";
	uint64_t want;

	memcpy(&want, sig, 8);
	for (uint64_t p = start; p + 20 <= end; p += 16)
		if (*(const volatile uint64_t *)(uintptr_t)p == want && checksum_ok(p, 20))
			return p;
	return 0;
}

static bool table_ok(uint64_t gpa, const char *sig)
{
	if (!gpa || gpa >= 0x100000000ull)
		return false;
	for (int i = 0; i < 4; i++)
		if (rd8(gpa + i) != (uint8_t)sig[i])
			return false;
	uint32_t len = rd32(gpa + 4);
	return len >= 36 && len < (1u << 20) && checksum_ok(gpa, len);
}

static void parse_madt(uint64_t madt)
{
	uint32_t len = rd32(madt + 4);

	for (uint64_t p = madt + 44; p + 2 <= madt + len;) {
		uint8_t type = rd8(p), elen = rd8(p + 1);
		if (elen < 2)
			break;
		uint32_t id = 0, flags = 0;
		bool cpu = false;
		if (type == 0 && elen >= 8) { /* Processor Local APIC */
			id = rd8(p + 3);
			flags = rd32(p + 4);
			cpu = true;
		} else if (type == 9 && elen >= 16) { /* Processor Local x2APIC */
			id = rd32(p + 4);
			flags = rd32(p + 8);
			cpu = true;
		}
		if (cpu && (flags & 1)) {
			if (rt_acpi.n_cpus < RT_MAX_CPUS)
				rt_acpi.apic_ids[rt_acpi.n_cpus++] = id;
			else
				rt_acpi.n_cpus_ignored++;
		}
		p += elen;
	}
}

static void read_gas(uint64_t gpa, struct rt_gas *g)
{
	g->space = rd8(gpa);
	g->bit_width = rd8(gpa + 1);
	g->address = rd64(gpa + 4);
}

/* Decodes one AML integer (ZeroOp, OneOp, BytePrefix, WordPrefix); returns its length or 0. */
static unsigned int aml_int(uint64_t p, uint8_t *out)
{
	uint8_t op = rd8(p);
	if (op == 0x00 || op == 0x01) {
		*out = op;
		return 1;
	}
	if (op == 0x0A || op == 0x0B) {
		*out = rd8(p + 1);
		return op == 0x0A ? 2 : 3;
	}
	return 0;
}

static void find_s5(uint64_t dsdt)
{
	uint32_t len = rd32(dsdt + 4);

	for (uint64_t p = dsdt + 36; p + 4 < dsdt + len; p++) {
		if (rd8(p) != '_' || rd8(p + 1) != 'S' || rd8(p + 2) != '5' || rd8(p + 3) != '_')
			continue;
		/* NameOp [RootChar] "_S5_" PackageOp PkgLength NumElements elements... */
		if (!(rd8(p - 1) == 0x08 || (rd8(p - 1) == '\\' && rd8(p - 2) == 0x08)))
			continue;
		uint64_t q = p + 4;
		if (rd8(q) != 0x12)
			continue;
		q++;
		q += 1 + (rd8(q) >> 6); /* PkgLength: lead byte bits 7:6 = extra bytes */
		q++; /* NumElements */
		unsigned int n = aml_int(q, &rt_acpi.s5_typ_a);
		if (!n)
			continue;
		if (!aml_int(q + n, &rt_acpi.s5_typ_b))
			rt_acpi.s5_typ_b = rt_acpi.s5_typ_a;
		rt_acpi.have_s5 = true;
		return;
	}
}

static void parse_fadt(uint64_t fadt)
{
	uint32_t len = rd32(fadt + 4);

	rt_acpi.have_fadt = true;
	rt_acpi.fadt_rev = rd8(fadt + 8);
	rt_acpi.dsdt_gpa = rd32(fadt + 40);
	if (len >= 148 && rd64(fadt + 140))
		rt_acpi.dsdt_gpa = rd64(fadt + 140); /* X_DSDT */
	rt_acpi.pm1a_cnt = rd32(fadt + 64);
	rt_acpi.pm1b_cnt = rd32(fadt + 68);
	if (len >= 184) {
		struct rt_gas g;
		read_gas(fadt + 172, &g); /* X_PM1a_CNT_BLK */
		if (g.space == 1 && g.address)
			rt_acpi.pm1a_cnt = (uint32_t)g.address;
	}
	if (len >= 116)
		rt_acpi.hw_reduced = rd32(fadt + 112) & (1u << 20);
	if (len >= 256)
		read_gas(fadt + 244, &rt_acpi.sleep_ctl); /* SLEEP_CONTROL_REG */
	if (table_ok(rt_acpi.dsdt_gpa, "DSDT"))
		find_s5(rt_acpi.dsdt_gpa);
}

int rt_acpi_init(void)
{
	uint64_t rsdp = 0, ebda = (uint64_t)rd16(0x40E) << 4;

	if (ebda >= 0x80000 && ebda < 0xA0000)
		rsdp = find_rsdp_in(ebda, ebda + 1024);
	if (!rsdp)
		rsdp = find_rsdp_in(0xE0000, 0x100000);
	if (!rsdp)
		return -1;
	rt_acpi.rsdp_gpa = rsdp;
	rt_acpi.rsdp_rev = rd8(rsdp + 15);
	for (int i = 0; i < 6; i++)
		rt_acpi.oem_id[i] = (char)rd8(rsdp + 9 + i);

	uint64_t root = 0;
	unsigned int entry_bytes = 4;
	if (rt_acpi.rsdp_rev >= 2 && checksum_ok(rsdp, 36) && table_ok(rd64(rsdp + 24), "XSDT")) {
		root = rd64(rsdp + 24);
		entry_bytes = 8;
	} else if (table_ok(rd32(rsdp + 16), "RSDT")) {
		root = rd32(rsdp + 16);
	}
	if (!root)
		return -1;
	rt_acpi.found = true;

	uint32_t len = rd32(root + 4);
	for (uint64_t p = root + 36; p + entry_bytes <= root + len; p += entry_bytes) {
		uint64_t t = entry_bytes == 8 ? rd64(p) : rd32(p);
		if (table_ok(t, "APIC"))
			parse_madt(t);
		else if (table_ok(t, "FACP"))
			parse_fadt(t);
	}
	return 0;
}

void rt_acpi_poweroff(void)
{
	uint8_t typ_a = rt_acpi.have_s5 ? rt_acpi.s5_typ_a : 0;
	uint8_t typ_b = rt_acpi.have_s5 ? rt_acpi.s5_typ_b : 0;

	if (rt_acpi.hw_reduced && rt_acpi.sleep_ctl.address) {
		uint8_t v = (uint8_t)(((typ_a & 7) << 2) | 0x20);
		if (rt_acpi.sleep_ctl.space == 1)
			rt_outb((uint16_t)rt_acpi.sleep_ctl.address, v);
		else if (rt_acpi.sleep_ctl.space == 0)
			*(volatile uint8_t *)(uintptr_t)rt_acpi.sleep_ctl.address = v;
	} else if (rt_acpi.pm1a_cnt) {
		uint16_t a = rt_inw((uint16_t)rt_acpi.pm1a_cnt) & ~(uint16_t)0x3C00;
		if (rt_acpi.pm1b_cnt) {
			uint16_t b = rt_inw((uint16_t)rt_acpi.pm1b_cnt) & ~(uint16_t)0x3C00;
			rt_outw((uint16_t)rt_acpi.pm1b_cnt,
				(uint16_t)(b | (typ_b & 7) << 10 | 1u << 13));
		}
		rt_outw((uint16_t)rt_acpi.pm1a_cnt, (uint16_t)(a | (typ_a & 7) << 10 | 1u << 13));
	}
	rt_delay_us(200000);
	rt_printf("rt: ACPI power-off did not stop the VM\n");
	rt_exit(RT_EXIT_POWEROFF_FAILED);
}
