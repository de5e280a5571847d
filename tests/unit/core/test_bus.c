/* test_bus.c — PIO/MMIO range map: registration, overlaps, dispatch, bad accesses. */
#include <errno.h>

#include "bus/bus.h"
#include "harness.h"

struct fake_dev {
	uint64_t last_off, last_val;
	unsigned last_size, reads, writes;
};

static uint64_t fake_read(void *opaque, uint64_t off, unsigned size)
{
	struct fake_dev *d = opaque;

	d->reads++;
	d->last_off = off;
	d->last_size = size;
	return 0x1122334455667788ull;
}

static void fake_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct fake_dev *d = opaque;

	d->writes++;
	d->last_off = off;
	d->last_val = val;
	d->last_size = size;
}

static const struct bus_region_ops fake_ops = { fake_read, fake_write };

TEST(bus_refuses_overlapping_ranges)
{
	struct bus b;
	struct fake_dev d = { 0 };

	REQUIRE(bus_init(&b, "pio") == 0);
	CHECK_EQ(bus_register(&b, 0x3f8, 8, &fake_ops, &d, "a"), 0);
	CHECK_EQ(bus_register(&b, 0x3f8, 8, &fake_ops, &d, "b"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x3ff, 1, &fake_ops, &d, "c"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x3f0, 9, &fake_ops, &d, "d"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x3f0, 8, &fake_ops, &d, "e"), 0);
	CHECK_EQ(bus_register(&b, 0x400, 0, &fake_ops, &d, "empty"), -EINVAL);
	CHECK_EQ(bus_register(&b, ~0ull - 3, 8, &fake_ops, &d, "wrap"), -EINVAL);
	CHECK_EQ(bus_register(&b, ~0ull - 7, 8, &fake_ops, &d, "top"), 0);
	CHECK_EQ(b.nr_regions, 3);
	bus_destroy(&b);
}

TEST(bus_dispatches_offset_within_range)
{
	struct bus b;
	struct fake_dev d = { 0 };
	uint8_t v8;
	uint32_t v32 = 0xdeadbeef;

	REQUIRE(bus_init(&b, "mmio") == 0);
	REQUIRE(bus_register(&b, 0x1000, 0x100, &fake_ops, &d, "dev") == 0);
	CHECK(bus_read(&b, 0x1004, &v8, 1));
	CHECK_EQ(d.last_off, 4);
	CHECK_EQ(d.last_size, 1);
	CHECK_EQ(v8, 0x88);
	CHECK(bus_write(&b, 0x10fc, &v32, 4));
	CHECK_EQ(d.last_off, 0xfc);
	CHECK_EQ(d.last_val, 0xdeadbeef);
	CHECK_EQ(b.regions[0].reads, 1);
	CHECK_EQ(b.regions[0].writes, 1);
	bus_destroy(&b);
}

TEST(bus_unmapped_read_returns_all_ones)
{
	struct bus b;
	uint32_t v = 0;

	REQUIRE(bus_init(&b, "pio") == 0);
	CHECK(!bus_read(&b, 0x80, &v, 4));
	CHECK_EQ(v, 0xffffffff);
	CHECK(!bus_write(&b, 0x80, &v, 4));
	CHECK_EQ(b.unhandled_reads, 1);
	CHECK_EQ(b.unhandled_writes, 1);
	bus_destroy(&b);
}

TEST(bus_refuses_straddling_and_odd_sizes)
{
	struct bus b;
	struct fake_dev d = { 0 };
	uint64_t v = 0;

	REQUIRE(bus_init(&b, "mmio") == 0);
	REQUIRE(bus_register(&b, 0x1000, 8, &fake_ops, &d, "dev") == 0);
	CHECK(!bus_read(&b, 0x1006, &v, 4)); /* crosses the end */
	CHECK(!bus_read(&b, 0x1000, &v, 3)); /* not 1/2/4/8 */
	CHECK(!bus_read(&b, 0x1000, &v, 16)); /* oversize */
	CHECK(!bus_write(&b, 0x0ffe, &v, 4)); /* starts before */
	CHECK(bus_read(&b, 0x1000, &v, 8));
	CHECK_EQ(d.reads, 1);
	CHECK_EQ(d.writes, 0);
	bus_destroy(&b);
}

TEST(bus_unregister_frees_the_range)
{
	struct bus b;
	struct fake_dev d = { 0 };
	uint8_t v;

	REQUIRE(bus_init(&b, "mmio") == 0);
	REQUIRE(bus_register(&b, 0x2000, 16, &fake_ops, &d, "dev") == 0);
	CHECK_EQ(bus_unregister(&b, 0x2000), 0);
	CHECK_EQ(bus_unregister(&b, 0x2000), -ENOENT);
	CHECK(!bus_read(&b, 0x2000, &v, 1));
	CHECK_EQ(bus_register(&b, 0x2008, 16, &fake_ops, &d, "moved"), 0);
	bus_destroy(&b);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(bus_refuses_overlapping_ranges)
	HARNESS_T(bus_dispatches_offset_within_range)
	HARNESS_T(bus_unmapped_read_returns_all_ones)
	HARNESS_T(bus_refuses_straddling_and_odd_sizes)
	HARNESS_T(bus_unregister_frees_the_range)
)
// clang-format on
