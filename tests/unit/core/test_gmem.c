/* test_gmem.c — checked guest-address translation: bounds, overflow, region edges. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

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

TEST(gmem_add_file_maps_privately_and_owns_fd_on_request)
{
	char path[] = "/tmp/vmon-gmem-XXXXXX";
	uint8_t page[4096], back[4096];
	struct gmem gm;
	int fd;

	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	unlink(path);
	memset(page, 0x42, sizeof(page));
	REQUIRE(pwrite(fd, page, sizeof(page), 4096) == 4096);
	REQUIRE(ftruncate(fd, 3 * 4096) == 0);
	gmem_init(&gm);
	CHECK_EQ(gmem_add_file(&gm, 0x10000, 4096, fd, 100), -EINVAL); /* unaligned offset */
	CHECK_EQ(gmem_add_file(&gm, 0x10000, 4096, -1, 0), -EINVAL);
	REQUIRE(gmem_add_file(&gm, 0x10000, 2 * 4096, fd, 4096) == 0);
	REQUIRE(gmem_add_ram(&gm, 0x0, 4096) == 0);
	CHECK_EQ(gm.regions[0].fd, fd);
	CHECK_EQ(gm.regions[0].file_offset, 4096);
	CHECK_EQ(gm.regions[1].fd, -1);
	REQUIRE(gmem_read(&gm, 0x10000, back, sizeof(back)) == 0);
	CHECK(memcmp(back, page, sizeof(page)) == 0);
	back[0] = 0x99;
	REQUIRE(gmem_write(&gm, 0x10000, back, 1) == 0);
	REQUIRE(pread(fd, page, 1, 4096) == 1);
	CHECK_EQ(page[0], 0x42); /* private: the file is unchanged */
	REQUIRE(gmem_own_fd(&gm, fd) == 0);
	REQUIRE(gmem_own_fd(&gm, fd) == 0); /* once, however often given */
	CHECK_EQ(gm.nr_owned_fds, 1);
	gmem_destroy(&gm);
	CHECK(fcntl(fd, F_GETFD) < 0); /* closed by gmem_destroy */
}

TEST(gmem_tracks_writes_in_a_bitmap_per_region)
{
	static uint8_t a[16 * 4096], b[130 * 4096];
	struct gmem gm;
	uint64_t *da, *db;
	uint32_t v = 1;

	gmem_init(&gm);
	REQUIRE(gmem_add_hva(&gm, 0x0, sizeof(a), a) == 0);
	REQUIRE(gmem_add_hva(&gm, sizeof(a), sizeof(b), b) == 0); /* adjacent */
	CHECK(gmem_dirty_bitmap(&gm, 0) == NULL);
	gmem_mark_dirty(&gm, 0, 4096); /* off: no-op */
	REQUIRE(gmem_write(&gm, 0, &v, 4) == 0);
	REQUIRE(gmem_track_writes(&gm, true) == 0);
	da = gmem_dirty_bitmap(&gm, 0);
	db = gmem_dirty_bitmap(&gm, 1);
	REQUIRE(da && db);
	CHECK(gmem_dirty_bitmap(&gm, 2) == NULL);
	CHECK_EQ(da[0], 0);
	REQUIRE(gmem_write(&gm, 3 * 4096 + 4094, &v, 4) == 0); /* pages 3 and 4 */
	CHECK_EQ(da[0], 0x18);
	/* a range across both regions, marked in each */
	gmem_mark_dirty(&gm, 15 * 4096 + 1, 2 * 4096);
	CHECK_EQ(da[0], 0x18 | 0x8000);
	CHECK_EQ(db[0], 0x3);
	/* whole words, and the last partial word */
	gmem_mark_dirty(&gm, sizeof(a) + 60 * 4096, 70 * 4096);
	CHECK_EQ(db[0], 0xf000000000000003ull);
	CHECK_EQ(db[1], ~0ull);
	CHECK_EQ(db[2], 0x3);
	/* outside, wrapping, empty: ignored */
	gmem_mark_dirty(&gm, 0x10000000, 4096);
	gmem_mark_dirty(&gm, ~0ull - 10, 100);
	gmem_mark_dirty(&gm, 5 * 4096, 0);
	CHECK_EQ(da[0], 0x18 | 0x8000);
	gmem_dirty_clear(&gm);
	CHECK_EQ(da[0] | db[0] | db[1] | db[2], 0);
	REQUIRE(gmem_track_writes(&gm, false) == 0);
	CHECK(gmem_dirty_bitmap(&gm, 0) == NULL);
	REQUIRE(gmem_write(&gm, 0, &v, 4) == 0);
	gmem_destroy(&gm);
}

struct marker {
	struct gmem *gm;
	unsigned id;
};

static void *mark_pages(void *arg)
{
	const struct marker *m = arg;

	/* every thread marks its own pages: lost updates would show as missing bits */
	for (unsigned round = 0; round < 200; round++)
		for (unsigned p = m->id; p < 256; p += 4)
			gmem_mark_dirty(m->gm, (uint64_t)p * 4096, 1);
	return NULL;
}

TEST(gmem_mark_dirty_is_thread_safe)
{
	static uint8_t ram[256 * 4096];
	struct marker m[4];
	pthread_t t[4];
	struct gmem gm;
	uint64_t *d;

	gmem_init(&gm);
	REQUIRE(gmem_track_writes(&gm, true) == 0);
	REQUIRE(gmem_add_hva(&gm, 0, sizeof(ram), ram) == 0); /* added while tracking: has a map */
	d = gmem_dirty_bitmap(&gm, 0);
	REQUIRE(d);
	for (unsigned i = 0; i < 4; i++) {
		m[i] = (struct marker){ &gm, i };
		REQUIRE(pthread_create(&t[i], NULL, mark_pages, &m[i]) == 0);
	}
	for (unsigned i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (unsigned w = 0; w < 4; w++)
		CHECK_EQ(d[w], ~0ull);
	gmem_destroy(&gm);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(gmem_ptr_checks_whole_range)
	HARNESS_T(gmem_ptr_refuses_wraparound)
	HARNESS_T(gmem_refuses_overlapping_regions)
	HARNESS_T(gmem_read_write_roundtrip_and_fault)
	HARNESS_T(gmem_add_file_maps_privately_and_owns_fd_on_request)
	HARNESS_T(gmem_tracks_writes_in_a_bitmap_per_region)
	HARNESS_T(gmem_mark_dirty_is_thread_safe)
)
// clang-format on
