/* test_mptable.c — the MP table read back the way Linux's mpparse.c reads it: found by a scan of
 * 0xF0000..0xFFFFF, checksums, every entry, per vCPU count; bad arguments refused. */
#include <errno.h>
#include <stdlib.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "arch/x86/mptable.h"
#include "arch_test_util.h"
#include "harness.h"

static char err[256];

static uint16_t r16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t r32(const uint8_t *p)
{
	return (uint32_t)r16(p) | (uint32_t)r16(p + 2) << 16;
}

struct mp_seen {
	unsigned cpus, bsp, buses, ioapics, ioints, lints;
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	uint16_t irq_pin[MPTABLE_IOAPIC_PINS]; /* 0x100 | pin once seen */
	uint16_t irq_flags[MPTABLE_IOAPIC_PINS];
	uint8_t lint_type[2];
};

/* Scan for the floating pointer on 16-byte steps (as smp_scan_config), then walk the table. */
static const uint8_t *find_table(struct gmem *gm, uint64_t *fp_gpa)
{
	const uint8_t *bios = gmem_ptr(gm, 0xF0000, 0x10000), *fp = NULL, *hdr;
	uint64_t table;

	REQUIRE(bios);
	for (unsigned off = 0; off < 0x10000; off += 16)
		if (!memcmp(bios + off, "_MP_", 4) && bios[off + 8] == 1 &&
		    !test_byte_sum(bios + off, 16)) {
			fp = bios + off;
			*fp_gpa = 0xF0000 + off;
			break;
		}
	REQUIRE(fp);
	CHECK_EQ(fp[9], 4); /* spec 1.4 */
	CHECK_EQ(fp[11], 0); /* feature byte 1: a configuration table, no default configuration */
	table = r32(fp + 4);
	hdr = gmem_ptr(gm, table, MPTABLE_HEADER_LEN);
	REQUIRE(hdr);
	CHECK(memcmp(hdr, "PCMP", 4) == 0);
	CHECK_EQ(hdr[6], 4);
	hdr = gmem_ptr(gm, table, r16(hdr + 4));
	REQUIRE(hdr);
	CHECK_EQ(test_byte_sum(hdr, r16(hdr + 4)), 0);
	CHECK_EQ(r32(hdr + 36), LAYOUT_LAPIC_GPA);
	CHECK_EQ(r16(hdr + 40), 0); /* no extended table */
	return hdr;
}

static void walk(const uint8_t *hdr, struct mp_seen *s)
{
	const uint8_t *e = hdr + MPTABLE_HEADER_LEN, *end = hdr + r16(hdr + 4);
	unsigned n = r16(hdr + 34);

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < n; i++) {
		REQUIRE(e < end);
		switch (e[0]) {
		case MPTABLE_CPU:
			REQUIRE(e + MPTABLE_CPU_ENTRY_LEN <= end);
			CHECK_EQ(e[1], s->cpus); /* APIC IDs 0.. in order, as the MADT */
			CHECK(e[3] & 1);
			if (e[3] & 2)
				s->bsp++;
			CHECK_EQ(!!(e[3] & 2), s->cpus == 0);
			s->cpus++;
			e += MPTABLE_CPU_ENTRY_LEN;
			continue;
		case MPTABLE_BUS:
			CHECK_EQ(e[1], 0);
			CHECK(memcmp(e + 2, "ISA   ", 6) == 0);
			s->buses++;
			break;
		case MPTABLE_IOAPIC:
			CHECK(e[3] & 1);
			s->ioapic_id = e[1];
			s->ioapic_addr = r32(e + 4);
			s->ioapics++;
			break;
		case MPTABLE_IOINT:
			CHECK_EQ(e[1], MPTABLE_INT);
			CHECK_EQ(e[4], 0); /* from the ISA bus */
			CHECK_EQ(e[6], s->ioapic_id);
			REQUIRE(e[5] < MPTABLE_IOAPIC_PINS);
			CHECK_EQ(s->irq_pin[e[5]], 0); /* each IRQ once */
			s->irq_pin[e[5]] = 0x100 | e[7];
			s->irq_flags[e[5]] = r16(e + 2);
			s->ioints++;
			break;
		case MPTABLE_LINT:
			CHECK_EQ(e[6], 0xff); /* every LAPIC */
			REQUIRE(e[7] < 2);
			s->lint_type[e[7]] = e[1];
			s->lints++;
			break;
		default:
			CHECK(!"unknown entry type");
			return;
		}
		e += MPTABLE_ENTRY_LEN;
	}
	CHECK(e == end); /* the entry count and the length agree */
}

static void check_for(unsigned nr_cpus)
{
	struct gmem gm;
	struct layout lo;
	struct mp_seen s;
	uint64_t fp;
	const uint8_t *hdr;

	REQUIRE(test_guest(&gm, &lo, 64ull << 20) == 0);
	REQUIRE(mptable_write(&gm, LAYOUT_MPTABLE_GPA, nr_cpus, 0x00a00f11, 0x178bfbff, err,
			      sizeof(err)) == 0);
	hdr = find_table(&gm, &fp);
	CHECK_EQ(fp, LAYOUT_MPTABLE_GPA);
	CHECK(fp + mptable_size(nr_cpus) <= LAYOUT_MPTABLE_END_GPA);
	walk(hdr, &s);
	CHECK_EQ(s.cpus, nr_cpus);
	CHECK_EQ(s.bsp, 1);
	CHECK_EQ(s.buses, 1);
	CHECK_EQ(s.ioapics, 1);
	CHECK_EQ(s.ioapic_id, nr_cpus); /* as the MADT: the IOAPIC after the LAPICs */
	CHECK_EQ(s.ioapic_addr, LAYOUT_IOAPIC_GPA);
	CHECK_EQ(s.ioints, MPTABLE_IOAPIC_PINS);
	for (unsigned i = 0; i < MPTABLE_IOAPIC_PINS; i++) {
		CHECK_EQ(s.irq_pin[i], 0x100 | i); /* KVM's default routing: IRQ i on pin i */
		/* ISA IRQs as the bus says (edge, high); pins 16..23 level, active high */
		CHECK_EQ(s.irq_flags[i], i < MPTABLE_ISA_IRQS ? 0 : 0x0d);
	}
	CHECK_EQ(s.lints, 2);
	CHECK_EQ(s.lint_type[0], MPTABLE_EXTINT);
	CHECK_EQ(s.lint_type[1], MPTABLE_NMI);
	CHECK_EQ(hdr + r16(hdr + 4) - (const uint8_t *)gmem_ptr(&gm, fp, 1),
		 (long)mptable_size(nr_cpus));
	gmem_destroy(&gm);
}

TEST(mptable_lists_every_vcpu_the_ioapic_and_isa_irqs)
{
	check_for(1);
	check_for(2);
	check_for(8);
	check_for(MPTABLE_MAX_CPUS);
}

TEST(mptable_refuses_bad_arguments)
{
	struct gmem gm;
	struct layout lo;

	REQUIRE(test_guest(&gm, &lo, 64ull << 20) == 0);
	CHECK_EQ(mptable_write(&gm, LAYOUT_MPTABLE_GPA, 0, 0, 0, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "vCPUs"));
	CHECK_EQ(mptable_write(&gm, LAYOUT_MPTABLE_GPA, MPTABLE_MAX_CPUS + 1, 0, 0, err,
			       sizeof(err)),
		 -EINVAL);
	CHECK_EQ(mptable_write(&gm, LAYOUT_MPTABLE_GPA + 8, 1, 0, 0, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "aligned"));
	/* past the end of RAM (64 MiB) and in the MMIO hole: not mapped */
	CHECK_EQ(mptable_write(&gm, (64ull << 20) - 16, 1, 0, 0, err, sizeof(err)), -EFAULT);
	CHECK_EQ(mptable_write(&gm, 0xFFFFFFF0ull, 1, 0, 0, err, sizeof(err)), -EINVAL);
	gmem_destroy(&gm);
}

/* A booted VM has both: the RSDP (for ACPI guests) and the MP table (for acpi=off), apart. */
TEST(mptable_written_by_boot_load_beside_acpi)
{
	struct gmem gm;
	struct layout lo;
	struct mp_seen s;
	struct x86_cpu_state st;
	enum boot_format f;
	uint64_t fp, rsdp;
	size_t klen;
	uint8_t *k = test_bzimage(4096, &klen);
	struct boot_request req = { .kernel = k, .kernel_len = klen, .nr_vcpus = 3 };

	REQUIRE(k);
	REQUIRE(test_guest(&gm, &lo, 64ull << 20) == 0);
	REQUIRE(boot_load(&gm, &lo, &req, &st, &f, &rsdp, err, sizeof(err)) == 0);
	CHECK(rsdp >= LAYOUT_ACPI_GPA && rsdp < LAYOUT_ACPI_END_GPA);
	walk(find_table(&gm, &fp), &s);
	CHECK_EQ(s.cpus, 3);
	CHECK(fp >= LAYOUT_ACPI_END_GPA);
	free(k);
	gmem_destroy(&gm);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(mptable_lists_every_vcpu_the_ioapic_and_isa_irqs)
	HARNESS_T(mptable_refuses_bad_arguments)
	HARNESS_T(mptable_written_by_boot_load_beside_acpi)
)
// clang-format on
