/* test_acpi.c — ACPI tables parsed back: RSDP -> XSDT -> tables, lengths, checksums, FADT registers, MADT per vCPU count, MCFG. */
#include <errno.h>
#include <stdlib.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "arch_test_util.h"
#include "harness.h"

static char err[256];

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static uint32_t r32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t r64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

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
	CHECK_EQ(sum(t, len), 0);
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
	CHECK_EQ(sum(r, 20), 0);
	CHECK_EQ(r[15], 2);
	CHECK_EQ(r32(r + 20), 36);
	CHECK_EQ(sum(r, 36), 0);
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
		REQUIRE(acpi_tables_add_mcfg(&t, LAYOUT_PCI_ECAM_GPA, 0, 255, err, sizeof(err)) == 0);
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
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04,
				      0x0A, 5, 0x0A, 5, 0x00, 0x00 };
	struct gmem gm;
	struct layout lo;
	struct parsed p;

	REQUIRE(test_guest(&gm, &lo, 16ull << 20) == 0);
	write_tables(&gm, 2, false, &p);
	CHECK_EQ(r32(p.dsdt + 4), 36 + sizeof(s5));
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
			CHECK_EQ(e[2], lapics);           /* UID */
			CHECK_EQ(e[3], lapics);           /* APIC ID = vCPU index */
			CHECK(!seen[e[3]]);
			seen[e[3]] = 1;
			CHECK_EQ(r32(e + 4), 1);          /* enabled */
			lapics++;
			break;
		case 1:
			CHECK_EQ(e[1], 12);
			CHECK_EQ(e[2], n);                /* IOAPIC id after the LAPICs */
			CHECK(!seen[e[2]]);
			CHECK_EQ(r32(e + 4), 0xFEC00000);
			CHECK_EQ(r32(e + 8), 0);
			ioapics++;
			break;
		case 4:
			CHECK_EQ(e[1], 6);
			CHECK_EQ(e[2], 0xFF);
			CHECK_EQ(e[5], 1);                /* LINT1 */
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

HARNESS_MAIN(HARNESS_T(acpi_fadt_is_hardware_reduced_with_sleep_and_reset)
	     HARNESS_T(acpi_dsdt_has_s5_package) HARNESS_T(acpi_madt_lists_every_vcpu)
	     HARNESS_T(acpi_mcfg_describes_ecam) HARNESS_T(acpi_refuses_bad_arguments))
