/* test_gmem.c — checked guest-address translation: bounds, overflow, region edges. */
#include <errno.h>
#include <stdlib.h>

#include "harness.h"
#include "mem/gmem.h"

TEST(gmem_ptr_checks_whole_range)
{
	struct gmem gm;
	static uint8_t ram[4096];

	gmem_init(&gm);
	REQUIRE(gmem_add_hva(&gm, 0x1000, sizeof(ram), ram) == 0);
	CHECK(gmem_ptr(&gm, 0x1000, 4096) == ram);
	CHECK(gmem_ptr(&gm, 0x1fff, 1) == ram + 4095);
	CHECK(gmem_ptr(&gm, 0x1fff, 2) == NULL);
	CHECK(gmem_ptr(&gm, 0x0fff, 2) == NULL);
	CHECK(gmem_ptr(&gm, 0x2000, 0) == NULL);
	CHECK(gmem_ptr(&gm, 0x1800, 0) == ram + 0x800);
}

TEST(gmem_ptr_refuses_wraparound)
{
	struct gmem gm;
	static uint8_t ram[4096];

	gmem_init(&gm);
	REQUIRE(gmem_add_hva(&gm, 0x1000, sizeof(ram), ram) == 0);
	CHECK(gmem_ptr(&gm, 0x1000, ~0ull) == NULL);
	CHECK(gmem_ptr(&gm, ~0ull, 2) == NULL);
	CHECK(gmem_ptr(&gm, 0x1001, ~0ull - 0x1000 + 1) == NULL);
	CHECK_EQ(gmem_add_hva(&gm, ~0ull - 10, 4096, ram), -EINVAL);
}

TEST(gmem_refuses_overlapping_regions)
{
	struct gmem gm;
	static uint8_t a[8192], b[4096];

	gmem_init(&gm);
	REQUIRE(gmem_add_hva(&gm, 0x0, sizeof(a), a) == 0);
	CHECK_EQ(gmem_add_hva(&gm, 0x1000, sizeof(b), b), -EINVAL);
	CHECK_EQ(gmem_add_hva(&gm, 0x2000, sizeof(b), b), 0);
	/* adjacent regions are separate: an access may not span them */
	CHECK(gmem_ptr(&gm, 0x1ffc, 8) == NULL);
	CHECK_EQ(gmem_ram_bytes(&gm), 12288);
}

TEST(gmem_read_write_roundtrip_and_fault)
{
	struct gmem gm;
	uint32_t v = 0x12345678, r = 0;

	gmem_init(&gm);
	REQUIRE(gmem_add_ram(&gm, 0x100000, 0x10000) == 0);
	CHECK_EQ(gmem_write(&gm, 0x100ffc, &v, 4), 0);
	CHECK_EQ(gmem_read(&gm, 0x100ffc, &r, 4), 0);
	CHECK_EQ(r, v);
	CHECK_EQ(gmem_read(&gm, 0x10fffe, &r, 4), -EFAULT);
	CHECK_EQ(gmem_write(&gm, 0xffffe, &v, 4), -EFAULT);
	CHECK_EQ(gmem_add_ram(&gm, 0x200001, 0x1000), -EINVAL);
	gmem_destroy(&gm);
	CHECK_EQ(gm.nr_regions, 0);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(gmem_ptr_checks_whole_range)
	HARNESS_T(gmem_ptr_refuses_wraparound)
	HARNESS_T(gmem_refuses_overlapping_regions)
	HARNESS_T(gmem_read_write_roundtrip_and_fault)
)
// clang-format on
