/* test_acpi.c — ACPI tables parsed back: RSDP -> XSDT -> tables, lengths, checksums, FADT
 * registers, MADT per vCPU count, MCFG. */
#include <errno.h>
#include <stdlib.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "arch/x86/layout.h"
#include "arch_test_util.h"
#include "harness.h"

static char err[256];

static uint32_t r32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}
static uint64_t r64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

struct parsed {
	uint64_t rsdp;
	const uint8_t *fadt, *madt, *mcfg, *dsdt;
	unsigned nr_tables;
};

/* A table at @gpa: inside the ACPI area, 8-byte aligned, length and checksum right. */
static const uint8_t *table_at(struct gmem *gm, uint64_t gpa, const char *sig)
{
	const uint8_t *t = gmem_ptr(gm, gpa, 36);
	uint32_t len;

	REQUIRE(t);
	CHECK_EQ(gpa & 7, 0);
	len = r32(t + 4);
	REQUIRE(len >= 36);
	REQUIRE(gpa >= LAYOUT_ACPI_GPA && gpa + len <= LAYOUT_ACPI_END_GPA);
	t = gmem_ptr(gm, gpa, len);
	CHECK_EQ(test_byte_sum(t, len), 0);
	if (sig)
		CHECK(memcmp(t, sig, 4) == 0);
	return t;
}

/* Find the RSDP the way a guest does (scan 0xE0000..0xFFFFF on 16-byte steps) and walk. */
static void parse_tables(struct gmem *gm, struct parsed *p)
{
	const uint8_t *area = gmem_ptr(gm, LAYOUT_ACPI_GPA, LAYOUT_ACPI_END_GPA - LAYOUT_ACPI_GPA);
	const uint8_t *r = NULL, *x;
	uint32_t xlen;

	memset(p, 0, sizeof(*p));
	REQUIRE(area);
	for (uint64_t off = 0; off < LAYOUT_ACPI_END_GPA - LAYOUT_ACPI_GPA; off += 16)
		if (!memcmp(area + off, "RSD PTR ", 8)) {
			r = area + off;
			p->rsdp = LAYOUT_ACPI_GPA + off;
			break;
		}
	REQUIRE(r);
	CHECK_EQ(test_byte_sum(r, 20), 0);
	CHECK_EQ(r[15], 2);
	CHECK_EQ(r32(r + 20), 36);
	CHECK_EQ(test_byte_sum(r, 36), 0);
	x = table_at(gm, r64(r + 24), "XSDT");
	xlen = r32(x + 4);
	REQUIRE((xlen - 36) % 8 == 0);
	p->nr_tables = (xlen - 36) / 8;
	for (unsigned i = 0; i < p->nr_tables; i++) {
		const uint8_t *t = table_at(gm, r64(x + 36 + 8 * i), NULL);

		if (!memcmp(t, "FACP", 4))
			p->fadt = t;
		else if (!memcmp(t, "APIC", 4))
			p->madt = t;
		else if (!memcmp(t, "MCFG", 4))
			p->mcfg = t;
	}
	REQUIRE(p->fadt);
	p->dsdt = table_at(gm, r64(p->fadt + 140), "DSDT");
	CHECK_EQ(r32(p->fadt + 40), r64(p->fadt + 140));
}

static void write_tables(struct gmem *gm, unsigned nr_cpus, bool mcfg, struct parsed *p)
{
	struct acpi_tables t;
	uint64_t rsdp;

	REQUIRE(acpi_tables_init(&t, nr_cpus, err, sizeof(err)) == 0);
	if (mcfg)
		REQUIRE(acpi_tables_add_mcfg(&t, LAYOUT_PCI_ECAM_GPA, 0, 255, err, sizeof(err)) ==
			0);
	REQUIRE(acpi_tables_write(&t, gm, &rsdp, err, sizeof(err)) == 0);
	parse_tables(gm, p);
	CHECK_EQ(p->rsdp, rsdp);
}

/* Generic Address Structure at @g: SystemIO, 8 bits, @port. */
static void check_gas(const uint8_t *g, uint16_t port)
{
	CHECK_EQ(g[0], 1);
	CHECK_EQ(g[1], 8);
	CHECK_EQ(r64(g + 4), port);
}

TEST(acpi_fadt_is_hardware_reduced_with_sleep_and_reset)
{
	struct gmem gm;
	struct layout lo;
	struct parsed p;

	REQUIRE(test_guest(&gm, &lo, 16ull << 20) == 0);
	write_tables(&gm, 1, false, &p);
	CHECK_EQ(p.rsdp, LAYOUT_ACPI_GPA);
	CHECK_EQ(r32(p.fadt + 4), 276);
	CHECK_EQ(p.fadt[8], 6);
	CHECK_EQ(r32(p.fadt + 112) & ((1u << 20) | (1u << 10)), (1u << 20) | (1u << 10));
	check_gas(p.fadt + 116, 0xCF9);
	CHECK_EQ(p.fadt[128], 0x06);
	check_gas(p.fadt + 244, 0x600);
	check_gas(p.fadt + 256, 0x601);
	CHECK(memcmp(p.fadt + 268, "VMON", 4) == 0);
	CHECK_EQ(p.nr_tables, 2);
	CHECK(p.mcfg == NULL);
	gmem_destroy(&gm);
}

TEST(acpi_dsdt_has_s5_package)
{
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S',  '5', '_',	0x12, 0x08,
				      0x04, 0x0A, 5,   0x0A, 5,	  0x00, 0x00 };
	struct gmem gm;
	struct layout lo;
	struct parsed p;

	REQUIRE(test_guest(&gm, &lo, 16ull << 20) == 0);
	write_tables(&gm, 2, false, &p);
	CHECK(r32(p.dsdt + 4) > 36 + sizeof(s5));
	CHECK(memcmp(p.dsdt + 36, s5, sizeof(s5)) == 0);
	/* PkgLength counts itself and everything after PackageOp */
	CHECK_EQ(p.dsdt[36 + 7], sizeof(s5) - 7);
	gmem_destroy(&gm);
}

static void check_madt(unsigned n)
{
	struct gmem gm;
	struct layout lo;
	struct parsed p;
	unsigned lapics = 0, ioapics = 0, nmis = 0;
	uint8_t seen[256] = { 0 };
	uint32_t len, off = 44;

	REQUIRE(test_guest(&gm, &lo, 16ull << 20) == 0);
	write_tables(&gm, n, false, &p);
	REQUIRE(p.madt);
	len = r32(p.madt + 4);
	CHECK_EQ(r32(p.madt + 36), 0xFEE00000);
	CHECK_EQ(r32(p.madt + 40) & 1, 1);
	while (off < len) {
		const uint8_t *e = p.madt + off;

		REQUIRE(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0:
			CHECK_EQ(e[1], 8);
			CHECK_EQ(e[2], lapics); /* UID */
			CHECK_EQ(e[3], lapics); /* APIC ID = vCPU index */
			CHECK(!seen[e[3]]);
			seen[e[3]] = 1;
			CHECK_EQ(r32(e + 4), 1); /* enabled */
			lapics++;
			break;
		case 1:
			CHECK_EQ(e[1], 12);
			CHECK_EQ(e[2], n); /* IOAPIC id after the LAPICs */
			CHECK(!seen[e[2]]);
			CHECK_EQ(r32(e + 4), 0xFEC00000);
			CHECK_EQ(r32(e + 8), 0);
			ioapics++;
			break;
		case 4:
			CHECK_EQ(e[1], 6);
			CHECK_EQ(e[2], 0xFF);
			CHECK_EQ(e[5], 1); /* LINT1 */
			nmis++;
			break;
		case 2:
			CHECK(!"no interrupt source override expected");
			break;
		default:
			CHECK(!"unexpected MADT entry");
		}
		off += e[1];
	}
	CHECK_EQ(off, len);
	CHECK_EQ(lapics, n);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(nmis, 1);
	gmem_destroy(&gm);
}

TEST(acpi_madt_lists_every_vcpu)
{
	check_madt(1);
	check_madt(2);
	check_madt(7);
	check_madt(64);
	check_madt(ACPI_MAX_CPUS);
}

TEST(acpi_mcfg_describes_ecam)
{
	struct gmem gm;
	struct layout lo;
	struct parsed p;

	REQUIRE(test_guest(&gm, &lo, 16ull << 20) == 0);
	write_tables(&gm, 4, true, &p);
	REQUIRE(p.mcfg);
	CHECK_EQ(p.nr_tables, 3);
	CHECK_EQ(r32(p.mcfg + 4), 60);
	CHECK_EQ(r64(p.mcfg + 44), LAYOUT_PCI_ECAM_GPA);
	CHECK_EQ(p.mcfg[52] | (p.mcfg[53] << 8), 0);
	CHECK_EQ(p.mcfg[54], 0);
	CHECK_EQ(p.mcfg[55], 255);
	gmem_destroy(&gm);
}

TEST(acpi_refuses_bad_arguments)
{
	struct acpi_tables t;
	struct gmem gm;
	uint64_t rsdp;

	CHECK_EQ(acpi_tables_init(&t, 0, err, sizeof(err)), -EINVAL);
	CHECK_EQ(acpi_tables_init(&t, ACPI_MAX_CPUS + 1, err, sizeof(err)), -EINVAL);
	REQUIRE(acpi_tables_init(&t, 1, err, sizeof(err)) == 0);
	CHECK_EQ(acpi_tables_add_mcfg(&t, LAYOUT_PCI_ECAM_GPA + 4096, 0, 0, err, sizeof(err)),
		 -EINVAL);
	CHECK_EQ(acpi_tables_add_mcfg(&t, LAYOUT_PCI_ECAM_GPA, 5, 4, err, sizeof(err)), -EINVAL);
	CHECK(!t.has_mcfg);
	gmem_init(&gm); /* no RAM at all */
	CHECK_EQ(acpi_tables_write(&t, &gm, &rsdp, err, sizeof(err)), -EFAULT);
}

/* Decode a PkgLength at @p; returns its value and stores its byte count. */
static size_t pkglen(const uint8_t *p, unsigned *nbytes)
{
	unsigned extra = p[0] >> 6;
	size_t v = extra ? (p[0] & 0xF) : (p[0] & 0x3F);

	for (unsigned i = 0; i < extra; i++)
		v |= (size_t)p[1 + i] << (4 + 8 * i);
	*nbytes = 1 + extra;
	return v;
}

static const uint8_t *find(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return hay + i;
	return NULL;
}

TEST(acpi_dsdt_describes_pci_root_with_mcfg)
{
	static const uint8_t scope_sb[] = { '\\', '_', 'S', 'B', '_' };
	static const uint8_t hid_pnp0a08[] = { 0x08, '_',  'H',	 'I',  'D',
					       0x0C, 0x41, 0xD0, 0x0A, 0x08 };
	static const uint8_t cid_pnp0a03[] = { 0x08, '_',  'C',	 'I',  'D',
					       0x0C, 0x41, 0xD0, 0x0A, 0x03 };
	static const uint8_t hid_pnp0c02[] = { 0x08, '_',  'H',	 'I',  'D',
					       0x0C, 0x41, 0xD0, 0x0C, 0x02 };
	static const uint8_t ecam_res[] = { 0x86, 0x09, 0x00, 0x01, 0x00, 0x00,
					    0x00, 0xE0, 0x00, 0x00, 0x00, 0x10 };
	struct gmem gm;
	struct layout lo;
	struct parsed p;
	uint32_t len;
	const uint8_t *body, *sc;
	unsigned nb;

	REQUIRE(test_guest(&gm, &lo, 16ull << 20) == 0);
	write_tables(&gm, 2, true, &p);
	len = r32(p.dsdt + 4);
	body = p.dsdt + 36;
	/* the \_SB_ scope follows \_S5_ and its PkgLength runs exactly to the table end */
	sc = body + 15;
	REQUIRE(sc[0] == 0x10);
	CHECK_EQ(1 + pkglen(sc + 1, &nb), (size_t)(p.dsdt + len - sc));
	CHECK(memcmp(sc + 1 + nb, scope_sb, sizeof(scope_sb)) == 0);
	CHECK(find(body, len - 36, hid_pnp0a08, sizeof(hid_pnp0a08)));
	CHECK(find(body, len - 36, cid_pnp0a03, sizeof(cid_pnp0a03)));
	CHECK(find(body, len - 36, hid_pnp0c02, sizeof(hid_pnp0c02)));
	CHECK(find(body, len - 36, ecam_res, sizeof(ecam_res)));
	CHECK(find(body, len - 36, "_PRT", 4));
	CHECK(find(body, len - 36, "PCI0", 4));
	/* without MCFG: the ISA devices, no PCI root */
	write_tables(&gm, 2, false, &p);
	len = r32(p.dsdt + 4);
	CHECK(!find(p.dsdt + 36, len - 36, "PCI0", 4));
	CHECK(find(p.dsdt + 36, len - 36, "COM1", 4));
	gmem_destroy(&gm);
}

TEST(aml_encodes_pkglength_integers_and_eisaid)
{
	uint8_t mem[512], in_mem[300];
	struct aml_buf b, in;
	unsigned nb;

	CHECK_EQ(aml_eisaid("PNP0A08"), 0x080AD041);
	CHECK_EQ(aml_eisaid("PNP0C02"), 0x020CD041);
	aml_init(&b, mem, sizeof(mem));
	aml_integer(&b, 0);
	aml_integer(&b, 1);
	aml_integer(&b, 0x80);
	aml_integer(&b, 0x1234);
	aml_integer(&b, 0x12345678);
	aml_integer(&b, 0x123456789ull);
	REQUIRE(!b.error);
	CHECK_EQ(b.len, 1 + 1 + 2 + 3 + 5 + 9);
	CHECK(mem[2] == 0x0A && mem[4] == 0x0B && mem[7] == 0x0C && mem[12] == 0x0E);
	/* a 62-byte body fits a 1-byte PkgLength (63), a 63-byte body needs 2 bytes (65) */
	aml_init(&in, in_mem, sizeof(in_mem));
	memset(in_mem, 0, sizeof(in_mem));
	in.len = 62;
	aml_init(&b, mem, sizeof(mem));
	aml_scope(&b, "", &in);
	CHECK_EQ(pkglen(mem + 1, &nb), 63);
	CHECK_EQ(nb, 1);
	in.len = 63;
	aml_init(&b, mem, sizeof(mem));
	aml_scope(&b, "", &in);
	CHECK_EQ(pkglen(mem + 1, &nb), 65);
	CHECK_EQ(nb, 2);
	CHECK_EQ(b.len, 1 + 2 + 63);
	/* overflow is sticky */
	aml_init(&b, mem, 4);
	aml_integer(&b, 0x12345678);
	CHECK(b.error);
	aml_integer(&b, 0);
	CHECK(b.error);
	CHECK(b.len <= 4);
}

TEST(acpi_dsdt_describes_isa_devices)
{
	/* Device's _CRS bytes: I/O 0x3F8 len 8, Interrupt(consumer, edge, high) {4}, end */
	static const uint8_t com1_crs[] = { 0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01,
					    0x08, 0x89, 0x06, 0x00, 0x03, 0x01, 0x04,
					    0x00, 0x00, 0x00, 0x79, 0x00 };
	static const uint8_t rtc_irq[] = { 0x89, 0x06, 0x00, 0x03, 0x01, 0x08, 0x00, 0x00, 0x00 };
	static const uint8_t kbd_irq[] = { 0x89, 0x06, 0x00, 0x03, 0x01, 0x01, 0x00, 0x00, 0x00 };
	static const uint8_t hid_pnp0501[] = { 0x08, '_',  'H',	 'I',  'D',
					       0x0C, 0x41, 0xD0, 0x05, 0x01 };
	static const uint8_t hid_pnp0b00[] = { 0x08, '_',  'H',	 'I',  'D',
					       0x0C, 0x41, 0xD0, 0x0B, 0x00 };
	static const uint8_t hid_pnp0303[] = { 0x08, '_',  'H',	 'I',  'D',
					       0x0C, 0x41, 0xD0, 0x03, 0x03 };
	struct gmem gm;
	struct layout lo;
	struct parsed p;
	uint32_t len;

	REQUIRE(test_guest(&gm, &lo, 16ull << 20) == 0);
	write_tables(&gm, 1, false, &p);
	len = r32(p.dsdt + 4) - 36;
	CHECK(find(p.dsdt + 36, len, com1_crs, sizeof(com1_crs)));
	CHECK(find(p.dsdt + 36, len, rtc_irq, sizeof(rtc_irq)));
	CHECK(find(p.dsdt + 36, len, kbd_irq, sizeof(kbd_irq)));
	CHECK(find(p.dsdt + 36, len, hid_pnp0501, sizeof(hid_pnp0501)));
	CHECK(find(p.dsdt + 36, len, hid_pnp0b00, sizeof(hid_pnp0b00)));
	CHECK(find(p.dsdt + 36, len, hid_pnp0303, sizeof(hid_pnp0303)));
	gmem_destroy(&gm);
}

static void write_vmgenid_tables(struct gmem *gm, bool mcfg, struct parsed *p)
{
	struct acpi_tables t;
	uint64_t rsdp;

	REQUIRE(acpi_tables_init(&t, 1, err, sizeof(err)) == 0);
	REQUIRE(acpi_tables_add_vmgenid(&t, LAYOUT_VMGENID_GPA, 5, err, sizeof(err)) == 0);
	if (mcfg)
		REQUIRE(acpi_tables_add_mcfg(&t, LAYOUT_PCI_ECAM_GPA, 0, 255, err, sizeof(err)) ==
			0);
	REQUIRE(acpi_tables_write(&t, gm, &rsdp, err, sizeof(err)) == 0);
	parse_tables(gm, p);
}

TEST(acpi_dsdt_describes_vmgenid_and_its_ged)
{
	/* Device (VGEN) { Name (_HID, "VMGENCTR") ... }: ExtOp DeviceOp PkgLength "VGEN" then _HID
	 */
	static const uint8_t vgen_hid[] = { 'V', 'G', 'E', 'N', 0x08, '_', 'H', 'I', 'D', 0x0D,
					    'V', 'M', 'G', 'E', 'N',  'C', 'T', 'R', 0x00 };
	static const uint8_t vgen_cid[] = { 0x08, '_', 'C', 'I', 'D', 0x0D, 'V', 'M', '_', 'G', 'E',
					    'N',  '_', 'C', 'O', 'U', 'N',  'T', 'E', 'R', 0x00 };
	static const uint8_t vgen_ddn[] = { 0x08, '_', 'D', 'D', 'N', 0x0D };
	/* Method (ADDR, 0) { Return (Package (2) { 0x000FF000, 0 }) } */
	static const uint8_t addr[] = { 0x14, 0x10, 'A',  'D',	'D',  'R',  0x00, 0xA4, 0x12,
					0x08, 0x02, 0x0C, 0x00, 0xF0, 0x0F, 0x00, 0x00 };
	static const uint8_t ged_hid[] = { 'G', 'E', 'D', '_', 0x08, '_', 'H', 'I', 'D', 0x0D,
					   'A', 'C', 'P', 'I', '0',  '0', '1', '3', 0x00 };
	/* Name (_CRS, Buffer { Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) {5}, End
	 * }) */
	static const uint8_t ged_crs[] = { 0x08, '_',  'C',  'R',  'S',	 0x11, 0x0E,
					   0x0A, 0x0B, 0x89, 0x06, 0x00, 0x03, 0x01,
					   0x05, 0x00, 0x00, 0x00, 0x79, 0x00 };
	/* Method (_EVT, 1) { If (LEqual (Arg0, 5)) { Notify (\_SB_.VGEN, 0x80) } } */
	static const uint8_t evt[] = { 0x14, 0x19, '_',	 'E',  'V',  'T',  0x01, 0xA0, 0x12,
				       0x93, 0x68, 0x0A, 0x05, 0x86, 0x5C, 0x2E, '_',  'S',
				       'B',  '_',  'V',	 'G',  'E',  'N',  0x0A, 0x80 };
	struct gmem gm;
	struct layout lo;
	struct parsed p;
	uint32_t len;
	const uint8_t *a;
	uint32_t lo32, hi32;

	REQUIRE(test_guest(&gm, &lo, 16ull << 20) == 0);
	for (int mcfg = 0; mcfg <= 1; mcfg++) {
		write_vmgenid_tables(&gm, mcfg, &p);
		len = r32(p.dsdt + 4) - 36;
		CHECK(find(p.dsdt + 36, len, vgen_hid, sizeof(vgen_hid)));
		CHECK(find(p.dsdt + 36, len, vgen_cid, sizeof(vgen_cid)));
		CHECK(find(p.dsdt + 36, len, vgen_ddn, sizeof(vgen_ddn)));
		CHECK(find(p.dsdt + 36, len, ged_hid, sizeof(ged_hid)));
		CHECK(find(p.dsdt + 36, len, ged_crs, sizeof(ged_crs)));
		CHECK(find(p.dsdt + 36, len, evt, sizeof(evt)));
		a = find(p.dsdt + 36, len, addr, sizeof(addr));
		REQUIRE(a);
		/* the package's two integers, as Linux combines them: el[0] | el[1] << 32 */
		lo32 = r32(a + 12);
		hi32 = a[16];
		CHECK_EQ((uint64_t)hi32 << 32 | lo32, LAYOUT_VMGENID_GPA);
	}
	/* the ID page lies outside the tables: writing them leaves it alone */
	REQUIRE(gmem_write(&gm, LAYOUT_VMGENID_GPA, "0123456789abcdef", 16) == 0);
	write_vmgenid_tables(&gm, true, &p);
	CHECK(memcmp(gmem_ptr(&gm, LAYOUT_VMGENID_GPA, 16), "0123456789abcdef", 16) == 0);
	/* without it: neither device */
	write_tables(&gm, 1, true, &p);
	len = r32(p.dsdt + 4) - 36;
	CHECK(!find(p.dsdt + 36, len, "VGEN", 4));
	CHECK(!find(p.dsdt + 36, len, "GED_", 4));
	gmem_destroy(&gm);
}

TEST(acpi_vmgenid_refuses_bad_arguments)
{
	struct acpi_tables t;

	REQUIRE(acpi_tables_init(&t, 1, err, sizeof(err)) == 0);
	CHECK_EQ(acpi_tables_add_vmgenid(&t, LAYOUT_VMGENID_GPA + 4, 5, err, sizeof(err)), -EINVAL);
	CHECK_EQ(
		acpi_tables_add_vmgenid(&t, LAYOUT_VMGENID_GPA, ACPI_IOAPIC_PINS, err, sizeof(err)),
		-EINVAL);
	CHECK(!t.has_vmgenid);
	CHECK_EQ(acpi_tables_add_vmgenid(&t, 0x123456789000ull, 23, err, sizeof(err)), 0);
	CHECK(t.has_vmgenid);
}

TEST(acpi_dsdt_describes_virtio_mmio_windows)
{
	/* Device (VR01) { Name (_HID, "LNRO0005") ... } */
	static const uint8_t vr01_hid[] = { 'V', 'R', '0', '1', 0x08, '_', 'H', 'I', 'D', 0x0D,
					    'L', 'N', 'R', 'O', '0',  '0', '0', '5', 0x00 };
	/* Name (_CRS, Buffer { Memory32Fixed (ReadWrite, 0xF0001000, 0x1000),
	 * Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {17}, End }) */
	static const uint8_t vr01_crs[] = { 0x08, '_',	'C',  'R',  'S',  0x11, 0x1A, 0x0A,
					    0x17, 0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00,
					    0xF0, 0x00, 0x10, 0x00, 0x00, 0x89, 0x06, 0x00,
					    0x01, 0x01, 0x11, 0x00, 0x00, 0x00, 0x79, 0x00 };
	/* a window on an ISA pin (layout_virtio_mmio_gsi(8) = 3): Interrupt (..., Edge, ...) {3} */
	static const uint8_t vr03_crs[] = { 0x08, '_',	'C',  'R',  'S',  0x11, 0x1A, 0x0A,
					    0x17, 0x86, 0x09, 0x00, 0x01, 0x00, 0x30, 0x00,
					    0xF0, 0x00, 0x10, 0x00, 0x00, 0x89, 0x06, 0x00,
					    0x03, 0x01, 0x03, 0x00, 0x00, 0x00, 0x79, 0x00 };
	struct acpi_tables t;
	struct gmem gm;
	struct layout lo;
	struct parsed p;
	uint64_t rsdp;
	uint32_t len;

	REQUIRE(test_guest(&gm, &lo, 16ull << 20) == 0);
	REQUIRE(acpi_tables_init(&t, 2, err, sizeof(err)) == 0);
	for (unsigned i = 0; i < 3; i++)
		REQUIRE(acpi_tables_add_virtio_mmio(&t, 0xF0000000u + 0x1000u * i, 0x1000, 16 + i,
						    err, sizeof(err)) == 0);
	REQUIRE(acpi_tables_add_virtio_mmio(&t, 0xF0003000u, 0x1000, layout_virtio_mmio_gsi(8), err,
					    sizeof(err)) == 0);
	REQUIRE(acpi_tables_write(&t, &gm, &rsdp, err, sizeof(err)) == 0);
	parse_tables(&gm, &p);
	len = r32(p.dsdt + 4) - 36;
	CHECK(find(p.dsdt + 36, len, vr01_hid, sizeof(vr01_hid)));
	CHECK(find(p.dsdt + 36, len, vr01_crs, sizeof(vr01_crs)));
	CHECK(find(p.dsdt + 36, len, "VR00", 4));
	CHECK(find(p.dsdt + 36, len, "VR02", 4));
	CHECK(find(p.dsdt + 36, len, vr03_crs, sizeof(vr03_crs)));
	CHECK(!find(p.dsdt + 36, len, "VR04", 4));
	/* no windows added: no such devices */
	write_tables(&gm, 1, true, &p);
	len = r32(p.dsdt + 4) - 36;
	CHECK(!find(p.dsdt + 36, len, "LNRO0005", 8));
	gmem_destroy(&gm);
}

TEST(acpi_virtio_mmio_refuses_bad_windows)
{
	struct acpi_tables t;

	REQUIRE(acpi_tables_init(&t, 1, err, sizeof(err)) == 0);
	CHECK_EQ(acpi_tables_add_virtio_mmio(&t, 0xF0000000u, 0x1000, ACPI_IOAPIC_PINS, err,
					     sizeof(err)),
		 -EINVAL);
	CHECK_EQ(acpi_tables_add_virtio_mmio(&t, 0xFFFFF000u, 0x2000, 16, err, sizeof(err)),
		 -EINVAL);
	CHECK_EQ(acpi_tables_add_virtio_mmio(&t, 0xF0000000u, 0, 16, err, sizeof(err)), -EINVAL);
	CHECK_EQ(t.nr_virtio_mmio, 0);
	for (unsigned i = 0; i < ACPI_MAX_VIRTIO_MMIO; i++)
		CHECK_EQ(acpi_tables_add_virtio_mmio(&t, 0xF0000000u + 0x1000u * i, 0x1000, 16, err,
						     sizeof(err)),
			 0);
	CHECK_EQ(acpi_tables_add_virtio_mmio(&t, 0xF8000000u, 0x1000, 16, err, sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "at most") != NULL);
}

TEST(aml_encodes_methods_strings_and_names)
{
	uint8_t mem[64], in_mem[16];
	struct aml_buf b, in;
	static const uint8_t str[] = { 0x08, '_', 'D', 'D', 'N', 0x0D, 'a', 'b', 0x00 };
	static const uint8_t path3[] = { 0x5C, 0x2F, 0x03, '_', 'S', 'B', '_', 'P',
					 'C',  'I',  '0',  'X', 'Y', 'Z', '_' };

	aml_init(&b, mem, sizeof(mem));
	aml_name_string(&b, "_DDN", "ab");
	REQUIRE(!b.error);
	CHECK_EQ(b.len, sizeof(str));
	CHECK(memcmp(mem, str, sizeof(str)) == 0);
	aml_init(&b, mem, sizeof(mem));
	aml_namestring(&b, "VGEN");
	CHECK(b.len == 4 && !memcmp(mem, "VGEN", 4));
	aml_init(&b, mem, sizeof(mem));
	aml_namestring(&b, "\\_SB_.PCI0.XYZ_");
	CHECK_EQ(b.len, sizeof(path3));
	CHECK(memcmp(mem, path3, sizeof(path3)) == 0);
	aml_init(&b, mem, sizeof(mem));
	aml_namestring(&b, "\\_SB.VGEN"); /* a 3-character segment */
	CHECK(b.error);
	aml_init(&b, mem, sizeof(mem));
	aml_arg(&b, 7);
	CHECK(b.error);
	/* Method (M___, 2) { Return (One) }: flags carry the argument count */
	aml_init(&in, in_mem, sizeof(in_mem));
	aml_integer(&in, 1);
	aml_init(&b, mem, sizeof(mem));
	{
		uint8_t r_mem[8];
		struct aml_buf r;

		aml_init(&r, r_mem, sizeof(r_mem));
		aml_return(&r, &in);
		aml_method(&b, "M___", 2, &r);
	}
	REQUIRE(!b.error);
	CHECK_EQ(b.len, 9);
	CHECK(mem[0] == 0x14 && mem[1] == 8 && mem[6] == 2 && mem[7] == 0xA4 && mem[8] == 0x01);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(acpi_fadt_is_hardware_reduced_with_sleep_and_reset)
	HARNESS_T(acpi_dsdt_has_s5_package)
	HARNESS_T(acpi_madt_lists_every_vcpu)
	HARNESS_T(acpi_mcfg_describes_ecam)
	HARNESS_T(acpi_refuses_bad_arguments)
	HARNESS_T(acpi_dsdt_describes_pci_root_with_mcfg)
	HARNESS_T(aml_encodes_pkglength_integers_and_eisaid)
	HARNESS_T(acpi_dsdt_describes_isa_devices)
	HARNESS_T(acpi_dsdt_describes_vmgenid_and_its_ged)
	HARNESS_T(acpi_vmgenid_refuses_bad_arguments)
	HARNESS_T(acpi_dsdt_describes_virtio_mmio_windows)
	HARNESS_T(acpi_virtio_mmio_refuses_bad_windows)
	HARNESS_T(aml_encodes_methods_strings_and_names)
)
// clang-format on
