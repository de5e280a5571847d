/*
 * test_memfile.c — the snapshot memory file, in a temporary directory:
 * full and diff writes (sparse, content equal), restore by MAP_PRIVATE
 * mapping (lazy, guest writes stay private), the OFD locks that keep a
 * running restored VM's file from being rewritten, merge, and refusals.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "snapshot/memfile.h"
#include "snapshot/snapfile.h"

#define PG 4096ull
#define R0_GPA 0x0ull
#define R0_LEN (64 * PG)
#define R1_GPA 0x100000ull
#define R1_LEN (32 * PG)
#define TOTAL (R0_LEN + R1_LEN)

static char tmpdir[64];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/vmon-memfile-XXXXXX");
	REQUIRE(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	CHECK(system(cmd) == 0);
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void make_header(struct snapfile_header *h)
{
	memset(h, 0, sizeof(*h));
	h->format_version = SNAPFILE_FORMAT_VERSION;
	h->nr_vcpus = 1;
	h->nr_ram = 2;
	h->ram[0] = (struct snapfile_ram){ R0_GPA, R0_LEN };
	h->ram[1] = (struct snapfile_ram){ R1_GPA, R1_LEN };
	h->mem_bytes = TOTAL;
}

/* Two anonymous regions, a few pages written with a pattern (page @p gets byte p+1). */
static const uint64_t touched[] = { R0_GPA + 0 * PG, R0_GPA + 5 * PG, R0_GPA + 6 * PG,
				    R0_GPA + 63 * PG, R1_GPA + 3 * PG };

static void make_guest(struct gmem *gm)
{
	gmem_init(gm);
	REQUIRE(gmem_add_ram(gm, R0_GPA, R0_LEN) == 0);
	REQUIRE(gmem_add_ram(gm, R1_GPA, R1_LEN) == 0);
	for (size_t i = 0; i < sizeof(touched) / sizeof(touched[0]); i++) {
		uint8_t page[PG];

		memset(page, (int)(i + 1), sizeof(page));
		REQUIRE(gmem_write(gm, touched[i], page, sizeof(page)) == 0);
	}
	/* read, but never written: present (zero page), must stay a hole */
	{
		volatile uint8_t *p = gmem_ptr(gm, R0_GPA + 20 * PG, 1);

		(void)*p;
	}
}

/* gpa -> offset in the memory file */
static uint64_t file_off(uint64_t gpa)
{
	return gpa >= R1_GPA ? R0_LEN + (gpa - R1_GPA) : gpa - R0_GPA;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (buf && pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	*len = (size_t)st.st_size;
	close(fd);
	return buf;
}

/* The file offsets holding data, as a bitmap of pages, from SEEK_DATA/SEEK_HOLE. */
static uint64_t data_pages(const char *path)
{
	uint64_t map = 0, map1 = 0;
	int fd = open(path, O_RDONLY);
	off_t pos = 0, data, hole;

	if (fd < 0)
		return ~0ull;
	while ((data = lseek(fd, pos, SEEK_DATA)) >= 0) {
		hole = lseek(fd, data, SEEK_HOLE);
		for (off_t o = data; o < hole; o += (off_t)PG) {
			uint64_t pg = (uint64_t)o / PG;

			if (pg < 64)
				map |= 1ull << pg;
			else
				map1 |= 1ull << (pg - 64);
		}
		pos = hole;
	}
	close(fd);
	return map ^ (map1 * 0x9e3779b97f4a7c15ull); /* one number for both halves */
}

static uint64_t expect_pages(const uint64_t *gpas, size_t n)
{
	uint64_t map = 0, map1 = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t pg = file_off(gpas[i]) / PG;

		if (pg < 64)
			map |= 1ull << pg;
		else
			map1 |= 1ull << (pg - 64);
	}
	return map ^ (map1 * 0x9e3779b97f4a7c15ull);
}

static int guest_equals_file(const struct gmem *gm, const char *path)
{
	size_t len;
	uint8_t *buf = slurp(path, &len);
	int ok = buf && len == TOTAL && memcmp(buf, gm->regions[0].hva, R0_LEN) == 0 &&
		 memcmp(buf + R0_LEN, gm->regions[1].hva, R1_LEN) == 0;

	free(buf);
	return ok;
}

TEST(memfile_full_write_is_sparse_and_equal)
{
	struct gmem gm;
	char path[128], err[256] = "";
	uint64_t written = 0;
	struct stat st;

	make_tmpdir();
	make_guest(&gm);
	tmp_path(path, sizeof(path), "mem");
	REQUIRE(memfile_write_full(path, &gm, &written, err, sizeof(err)) == 0);
	REQUIRE(stat(path, &st) == 0);
	CHECK_EQ(st.st_size, TOTAL);
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ(written, 5 * PG);
	CHECK_EQ(data_pages(path), expect_pages(touched, 5));
	CHECK(guest_equals_file(&gm, path));
	gmem_destroy(&gm);
	rm_tmpdir();
}

TEST(memfile_map_restores_lazily_and_keeps_guest_writes_private)
{
	struct snapfile_header h;
	struct gmem gm, back;
	char path[128], err[256] = "";
	uint8_t before[PG], v = 0xcc, *file0;
	size_t len;

	make_tmpdir();
	make_guest(&gm);
	make_header(&h);
	tmp_path(path, sizeof(path), "mem");
	REQUIRE(memfile_write_full(path, &gm, NULL, err, sizeof(err)) == 0);
	gmem_init(&back);
	REQUIRE(memfile_map(path, &back, &h, err, sizeof(err)) == 0);
	REQUIRE(back.nr_regions == 2);
	CHECK(back.regions[0].fd >= 0);
	CHECK_EQ(back.regions[1].file_offset, R0_LEN);
	CHECK_EQ(back.regions[0].gpa, R0_GPA);
	CHECK_EQ(back.regions[1].gpa, R1_GPA);
	CHECK(memcmp(back.regions[0].hva, gm.regions[0].hva, R0_LEN) == 0);
	CHECK(memcmp(back.regions[1].hva, gm.regions[1].hva, R1_LEN) == 0);
	/* the guest writes: the mapping changes, the file does not */
	memcpy(before, back.regions[0].hva + 5 * PG, PG);
	REQUIRE(gmem_write(&back, R0_GPA + 5 * PG + 7, &v, 1) == 0);
	*(uint8_t *)gmem_ptr(&back, R1_GPA + 9 * PG, 1) = 0xdd;
	file0 = slurp(path, &len);
	REQUIRE(file0 && len == TOTAL);
	CHECK(memcmp(file0 + 5 * PG, before, PG) == 0);
	CHECK_EQ(file0[file_off(R1_GPA + 9 * PG)], 0);
	free(file0);
	gmem_destroy(&back); /* closes the fd and drops the lock */
	/* the lock is gone: the file can be rewritten */
	CHECK_EQ(memfile_write_full(path, &gm, NULL, err, sizeof(err)), 0);
	gmem_destroy(&gm);
	rm_tmpdir();
}

TEST(memfile_full_write_of_a_restored_vm_keeps_its_file_pages)
{
	struct snapfile_header h;
	struct gmem gm, back;
	char a[128], b[128], err[256] = "";
	uint8_t v = 0x5a;
	uint64_t gpas[6];

	make_tmpdir();
	make_guest(&gm);
	make_header(&h);
	tmp_path(a, sizeof(a), "a");
	tmp_path(b, sizeof(b), "b");
	REQUIRE(memfile_write_full(a, &gm, NULL, err, sizeof(err)) == 0);
	gmem_init(&back);
	REQUIRE(memfile_map(a, &back, &h, err, sizeof(err)) == 0);
	/* only one page is ever touched in this process; the rest must come from a's extents */
	REQUIRE(gmem_write(&back, R1_GPA + 30 * PG, &v, 1) == 0);
	REQUIRE(memfile_write_full(b, &back, NULL, err, sizeof(err)) == 0);
	CHECK(guest_equals_file(&back, b));
	memcpy(gpas, touched, sizeof(touched));
	gpas[5] = R1_GPA + 30 * PG;
	CHECK_EQ(data_pages(b), expect_pages(gpas, 6));
	gmem_destroy(&back);
	gmem_destroy(&gm);
	rm_tmpdir();
}

TEST(memfile_writer_refuses_a_file_a_running_vm_maps)
{
	struct snapfile_header h;
	struct gmem gm, back, other;
	char path[128], err[256] = "";
	uint8_t *before, *after;
	size_t blen, alen;
	uint64_t *dirty[2];

	make_tmpdir();
	make_guest(&gm);
	make_header(&h);
	tmp_path(path, sizeof(path), "mem");
	REQUIRE(memfile_write_full(path, &gm, NULL, err, sizeof(err)) == 0);
	before = slurp(path, &blen);
	REQUIRE(before);
	gmem_init(&back);
	REQUIRE(memfile_map(path, &back, &h, err, sizeof(err)) == 0);
	/* another VM's snapshot over it */
	gmem_init(&other);
	REQUIRE(gmem_add_ram(&other, R0_GPA, R0_LEN) == 0);
	REQUIRE(gmem_add_ram(&other, R1_GPA, 4 * PG) == 0);
	memset(other.regions[0].hva, 0x77, R0_LEN);
	CHECK_EQ(memfile_write_full(path, &other, NULL, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "is in use by a running VM restored from it") != NULL);
	CHECK(strstr(err, path) != NULL);
	/* the VM's own snapshot over its own backing file: the same lock, even in one process */
	err[0] = '\0';
	CHECK_EQ(memfile_write_full(path, &back, NULL, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "in use by a running VM") != NULL);
	REQUIRE(gmem_track_writes(&back, true) == 0);
	dirty[0] = gmem_dirty_bitmap(&back, 0);
	dirty[1] = gmem_dirty_bitmap(&back, 1);
	CHECK_EQ(memfile_write_diff(path, &back, (const uint64_t *const *)dirty, NULL, err,
				    sizeof(err)),
		 -EBUSY);
	after = slurp(path, &alen);
	REQUIRE(after);
	CHECK_EQ(alen, blen);
	CHECK(memcmp(before, after, blen) == 0);
	CHECK(memcmp(back.regions[0].hva, gm.regions[0].hva, R0_LEN) == 0); /* guest intact */
	free(before);
	free(after);
	/* and a second restore of the same file is fine: readers share */
	gmem_destroy(&other);
	gmem_init(&other);
	CHECK_EQ(memfile_map(path, &other, &h, err, sizeof(err)), 0);
	gmem_destroy(&other);
	gmem_destroy(&back);
	gmem_destroy(&gm);
	rm_tmpdir();
}

TEST(memfile_diff_writes_exactly_the_dirty_pages_and_merges)
{
	struct snapfile_header h;
	struct gmem gm;
	char base[128], diff[128], err[256] = "";
	uint64_t written = 0, *dirty[2];
	uint8_t page[PG], *expect, *got;
	size_t len;
	const uint64_t diff_gpas[] = { R0_GPA + 5 * PG, R0_GPA + 7 * PG, R0_GPA + 8 * PG,
				       R1_GPA + 31 * PG };

	make_tmpdir();
	make_guest(&gm);
	make_header(&h);
	tmp_path(base, sizeof(base), "base");
	tmp_path(diff, sizeof(diff), "diff");
	REQUIRE(memfile_write_full(base, &gm, NULL, err, sizeof(err)) == 0);
	REQUIRE(gmem_track_writes(&gm, true) == 0);
	memset(page, 0xab, sizeof(page));
	REQUIRE(gmem_write(&gm, R0_GPA + 5 * PG, page, PG) == 0); /* overwrites base data */
	REQUIRE(gmem_write(&gm, R0_GPA + 7 * PG + 100, page, PG) == 0); /* spans pages 7 and 8 */
	memset(page, 0, sizeof(page));
	REQUIRE(gmem_write(&gm, R1_GPA + 31 * PG, page, PG) == 0); /* zeros, still written */
	dirty[0] = gmem_dirty_bitmap(&gm, 0);
	dirty[1] = gmem_dirty_bitmap(&gm, 1);
	CHECK_EQ(dirty[0][0], (1ull << 5) | (1ull << 7) | (1ull << 8));
	CHECK_EQ(dirty[1][0], 1ull << 31);
	REQUIRE(memfile_write_diff(diff, &gm, (const uint64_t *const *)dirty, &written, err,
				   sizeof(err)) == 0);
	CHECK_EQ(written, 4 * PG);
	CHECK_EQ(data_pages(diff), expect_pages(diff_gpas, 4));
	got = slurp(diff, &len);
	REQUIRE(got && len == TOTAL);
	CHECK(memcmp(got + 5 * PG, gm.regions[0].hva + 5 * PG, PG) == 0);
	CHECK(memcmp(got + 7 * PG, gm.regions[0].hva + 7 * PG, 2 * PG) == 0);
	CHECK_EQ(got[6 * PG], 0); /* page 6 has data in the guest, but is not in the diff */
	free(got);
	/* base + diff == the guest now */
	REQUIRE(memfile_merge(base, diff, err, sizeof(err)) == 0);
	CHECK(guest_equals_file(&gm, base));
	expect = malloc(TOTAL);
	REQUIRE(expect);
	memcpy(expect, gm.regions[0].hva, R0_LEN);
	memcpy(expect + R0_LEN, gm.regions[1].hva, R1_LEN);
	got = slurp(base, &len);
	REQUIRE(got && len == TOTAL);
	CHECK(memcmp(got, expect, TOTAL) == 0);
	free(got);
	free(expect);
	/* a NULL bitmap means nothing from that region */
	dirty[1] = NULL;
	REQUIRE(memfile_write_diff(diff, &gm, (const uint64_t *const *)dirty, &written, err,
				   sizeof(err)) == 0);
	CHECK_EQ(written, 3 * PG);
	gmem_destroy(&gm);
	rm_tmpdir();
}

TEST(memfile_merge_refuses_mismatched_or_mapped_base)
{
	struct snapfile_header h;
	struct gmem gm, back;
	char base[128], diff[128], err[256] = "";
	int fd;

	make_tmpdir();
	make_guest(&gm);
	make_header(&h);
	tmp_path(base, sizeof(base), "base");
	tmp_path(diff, sizeof(diff), "diff");
	REQUIRE(memfile_write_full(base, &gm, NULL, err, sizeof(err)) == 0);
	fd = open(diff, O_CREAT | O_WRONLY, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, TOTAL + PG) == 0);
	close(fd);
	CHECK_EQ(memfile_merge(base, diff, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "bytes") != NULL);
	REQUIRE(truncate(diff, TOTAL) == 0);
	gmem_init(&back);
	REQUIRE(memfile_map(base, &back, &h, err, sizeof(err)) == 0);
	CHECK_EQ(memfile_merge(base, diff, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "in use by a running VM") != NULL);
	gmem_destroy(&back);
	CHECK_EQ(memfile_merge(base, diff, err, sizeof(err)), 0);
	gmem_destroy(&gm);
	rm_tmpdir();
}

TEST(memfile_map_refuses_wrong_size_and_non_regular_files)
{
	struct snapfile_header h;
	struct gmem gm;
	char path[128], err[256] = "";
	int fd;

	make_tmpdir();
	make_header(&h);
	gmem_init(&gm);
	tmp_path(path, sizeof(path), "short");
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, TOTAL - PG) == 0);
	close(fd);
	CHECK_EQ(memfile_map(path, &gm, &h, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "is 389120 bytes, but the snapshot's RAM is 393216 bytes") != NULL);
	CHECK_EQ(gm.nr_regions, 0);
	/* a directory */
	CHECK_EQ(memfile_map(tmpdir, &gm, &h, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not a regular file") != NULL);
	/* a FIFO: refused, without hanging on the open */
	tmp_path(path, sizeof(path), "fifo");
	REQUIRE(mkfifo(path, 0600) == 0);
	CHECK_EQ(memfile_map(path, &gm, &h, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not a regular file") != NULL);
	{
		struct gmem src;

		make_guest(&src);
		CHECK_EQ(memfile_write_full(path, &src, NULL, err, sizeof(err)), -EINVAL);
		CHECK(strstr(err, "not a regular file") != NULL);
		CHECK(memfile_write_full(tmpdir, &src, NULL, err, sizeof(err)) < 0);
		gmem_destroy(&src);
	}
	CHECK_EQ(gm.nr_regions, 0);
	/* a region the map already has: refused, nothing added, the fd not kept */
	tmp_path(path, sizeof(path), "mem");
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, TOTAL) == 0);
	close(fd);
	REQUIRE(gmem_add_ram(&gm, R1_GPA, PG) == 0);
	CHECK_EQ(memfile_map(path, &gm, &h, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "region 1") != NULL);
	CHECK_EQ(gm.nr_regions, 1);
	CHECK_EQ(gm.nr_owned_fds, 0);
	gmem_destroy(&gm);
	rm_tmpdir();
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(memfile_full_write_is_sparse_and_equal)
	HARNESS_T(memfile_map_restores_lazily_and_keeps_guest_writes_private)
	HARNESS_T(memfile_full_write_of_a_restored_vm_keeps_its_file_pages)
	HARNESS_T(memfile_writer_refuses_a_file_a_running_vm_maps)
	HARNESS_T(memfile_diff_writes_exactly_the_dirty_pages_and_merges)
	HARNESS_T(memfile_merge_refuses_mismatched_or_mapped_base)
	HARNESS_T(memfile_map_refuses_wrong_size_and_non_regular_files)
)
// clang-format on
