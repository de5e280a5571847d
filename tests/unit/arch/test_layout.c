/* test_layout.c — guest physical layout and the e820 map: regions, limits, map invariants. */
#include <errno.h>
#include <stdbool.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "harness.h"
#include "util/compiler.h"

TEST(layout_splits_ram_around_the_mmio_hole)
{
	struct layout lo;
	struct layout_region r[LAYOUT_MAX_RAM_REGIONS];

	REQUIRE(layout_init(&lo, 512ull << 20, NULL, 0) == 0);
	CHECK_EQ(layout_ram_regions(&lo, r), 1);
	CHECK_EQ(r[0].gpa, 0);
	CHECK_EQ(r[0].len_bytes, 512ull << 20);
	REQUIRE(layout_init(&lo, 3ull << 30, NULL, 0) == 0);
	CHECK_EQ(layout_ram_regions(&lo, r), 1);
	CHECK_EQ(lo.low_ram_end, 0xC0000000);
	REQUIRE(layout_init(&lo, 6ull << 30, NULL, 0) == 0);
	CHECK_EQ(layout_ram_regions(&lo, r), 2);
	CHECK_EQ(r[0].len_bytes, 0xC0000000);
	CHECK_EQ(r[1].gpa, 0x100000000);
	CHECK_EQ(r[1].len_bytes, 3ull << 30);
}

TEST(layout_refuses_bad_sizes)
{
	struct layout lo;
	char err[128];

	CHECK_EQ(layout_init(&lo, 1 << 20, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "memory"));
	CHECK_EQ(layout_init(&lo, (64ull << 20) + 1, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "4 KiB"));
	CHECK_EQ(layout_init(&lo, LAYOUT_MAX_MEM_BYTES + 4096, err, sizeof(err)), -EINVAL);
	CHECK_EQ(layout_init(&lo, LAYOUT_MIN_MEM_BYTES, NULL, 0), 0);
}

TEST(layout_fixed_areas_are_disjoint)
{
	/* [start, end) of every fixed low area, in address order */
	static const uint64_t areas[][2] = {
		{ LAYOUT_GDT_GPA, LAYOUT_GDT_GPA + 0x100 },
		{ LAYOUT_MB_INFO_GPA, LAYOUT_MB_INFO_END_GPA },
		{ LAYOUT_ZERO_PAGE_GPA, LAYOUT_ZERO_PAGE_GPA + 0x1000 },
		{ LAYOUT_AP_TRAMPOLINE_GPA, LAYOUT_AP_TRAMPOLINE_GPA + 0x1000 },
		{ LAYOUT_PML4_GPA, LAYOUT_PD_GPA + 4 * 0x1000 },
		{ LAYOUT_STACK_GPA, LAYOUT_STACK_TOP_GPA + 0x10 },
		{ LAYOUT_CMDLINE_GPA, LAYOUT_CMDLINE_GPA + LAYOUT_CMDLINE_MAX_BYTES },
		{ LAYOUT_ACPI_GPA, LAYOUT_ACPI_END_GPA },
		{ LAYOUT_MPTABLE_GPA, LAYOUT_MPTABLE_END_GPA },
		{ LAYOUT_VMGENID_GPA, LAYOUT_VMGENID_GPA + LAYOUT_VMGENID_LEN },
	};

	for (unsigned i = 1; i < ARRAY_SIZE(areas); i++)
		CHECK(areas[i - 1][1] <= areas[i][0]);
	CHECK(LAYOUT_CMDLINE_GPA + LAYOUT_CMDLINE_MAX_BYTES <= LAYOUT_VMON_LOW_END_GPA);
	CHECK(LAYOUT_PCI_BAR_GPA + LAYOUT_PCI_BAR_LEN <= LAYOUT_PCI_ECAM_GPA);
	CHECK(LAYOUT_PCI_ECAM_GPA + LAYOUT_PCI_ECAM_LEN <= LAYOUT_IOAPIC_GPA);
	CHECK(LAYOUT_IOAPIC_GPA + LAYOUT_IOAPIC_LEN <= LAYOUT_LAPIC_GPA);
	CHECK(LAYOUT_LAPIC_GPA + LAYOUT_LAPIC_LEN <= LAYOUT_KVM_IDENTITY_MAP_GPA);
	CHECK(LAYOUT_KVM_IDENTITY_MAP_GPA + 0x1000 <= LAYOUT_KVM_TSS_GPA);
	CHECK(LAYOUT_KVM_TSS_GPA + 0x3000 <= LAYOUT_MMIO_HOLE_END_GPA);
}

static void check_e820(uint64_t mem)
{
	struct boot_e820_entry map[E820_MAX_VMON_ENTRIES];
	struct layout lo;
	uint64_t ram = 0;
	int n;

	REQUIRE(layout_init(&lo, mem, NULL, 0) == 0);
	n = e820_build(&lo, map, E820_MAX_VMON_ENTRIES);
	REQUIRE(n > 0);
	for (int i = 0; i < n; i++) {
		CHECK(map[i].size > 0);
		if (i)
			CHECK(map[i - 1].addr + map[i - 1].size <= map[i].addr);
		if (map[i].type == E820_RAM) {
			ram += map[i].size;
			/* RAM never in the MMIO hole nor the BIOS area */
			CHECK(map[i].addr + map[i].size <= LAYOUT_EBDA_GPA ||
			      map[i].addr >= LAYOUT_HIGH_MEM_GPA);
			CHECK(map[i].addr + map[i].size <= LAYOUT_MMIO_HOLE_GPA ||
			      map[i].addr >= LAYOUT_HIGH_RAM_GPA);
		}
	}
	CHECK_EQ(ram, mem - (LAYOUT_HIGH_MEM_GPA - LAYOUT_EBDA_GPA));
	CHECK_EQ(map[0].addr, 0);
	CHECK_EQ(map[0].size, 0x9FC00);
	CHECK_EQ(map[1].type, E820_RESERVED);
	CHECK_EQ(map[1].addr + map[1].size, 0x100000);
	/* the VM generation ID page lies inside one reserved entry: never RAM to the guest */
	{
		int reserved = 0;

		for (int i = 0; i < n; i++)
			if (map[i].addr <= LAYOUT_VMGENID_GPA &&
			    LAYOUT_VMGENID_GPA + LAYOUT_VMGENID_LEN <= map[i].addr + map[i].size)
				reserved = map[i].type == E820_RESERVED;
		CHECK(reserved);
	}
}

TEST(e820_map_is_sorted_disjoint_and_complete)
{
	check_e820(LAYOUT_MIN_MEM_BYTES);
	check_e820(128ull << 20);
	check_e820(3ull << 30);
	check_e820((3ull << 30) + 4096);
	check_e820(64ull << 30);
}

TEST(e820_reserves_ecam_and_refuses_small_buffer)
{
	struct boot_e820_entry map[E820_MAX_VMON_ENTRIES];
	struct layout lo;
	int n;

	REQUIRE(layout_init(&lo, 8ull << 30, NULL, 0) == 0);
	n = e820_build(&lo, map, E820_MAX_VMON_ENTRIES);
	REQUIRE(n == 5);
	CHECK_EQ(map[3].addr, LAYOUT_PCI_ECAM_GPA);
	CHECK_EQ(map[3].type, E820_RESERVED);
	CHECK_EQ(map[4].addr, LAYOUT_HIGH_RAM_GPA);
	CHECK_EQ(map[4].size, (8ull << 30) - LAYOUT_MMIO_HOLE_GPA);
	CHECK_EQ(e820_build(&lo, map, 4), -E2BIG);
}

/*
 * The virtio-mmio windows' pins: 16 distinct ones, none a platform device's (0 PIT, 1 and 12
 * i8042, 2 cascade, 4 COM1, 5 VM generation ID, 8 RTC, 9 SCI), 16-23 first, then ISA pins.
 */
TEST(layout_virtio_mmio_pins_are_distinct_and_free)
{
	static const uint32_t taken[] = { 0, 1, 2, 4, 5, 8, 9, 12 };
	bool seen[24] = { false };

	for (unsigned i = 0; i < LAYOUT_VIRTIO_MMIO_MAX; i++) {
		uint32_t g = layout_virtio_mmio_gsi(i);

		REQUIRE(g < 24);
		CHECK(!seen[g]);
		seen[g] = true;
		for (unsigned t = 0; t < ARRAY_SIZE(taken); t++)
			CHECK(g != taken[t]);
		CHECK_EQ(layout_gsi_is_isa(g), i >= 8);
	}
	CHECK_EQ(layout_virtio_mmio_gsi(0), 16);
	CHECK_EQ(layout_virtio_mmio_gsi(7), 23);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(layout_virtio_mmio_pins_are_distinct_and_free)
	HARNESS_T(layout_splits_ram_around_the_mmio_hole)
	HARNESS_T(layout_refuses_bad_sizes)
	HARNESS_T(layout_fixed_areas_are_disjoint)
	HARNESS_T(e820_map_is_sorted_disjoint_and_complete)
	HARNESS_T(e820_reserves_ecam_and_refuses_small_buffer)
)
// clang-format on
