/*
 * test_snapfile.c — the snapshot state file: a round trip through a real
 * file, then that file cut, corrupted and patched every way a disk, a copy or
 * another vmon version could, each refused with a line naming the problem.
 * With SNAPFILE_SEED_DIR set it also writes the fuzz seeds
 * (tests/fuzz/corpus/snapfile/) there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "snapshot/snapfile.h"
#include "util/crc32c.h"

#define OFF_HDR_VERSION 8
#define OFF_HDR_LEN 12
#define OFF_FORMAT 16
#define OFF_VMON_VERSION 20
#define OFF_NR_VCPUS 76
#define OFF_MEM_BYTES 80
#define OFF_RAM 92

static char tmpdir[64];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/vmon-snapfile-XXXXXX");
	REQUIRE(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	CHECK(system(cmd) == 0);
}

static void make_header(struct snapfile_header *h)
{
	memset(h, 0, sizeof(*h));
	h->format_version = SNAPFILE_FORMAT_VERSION;
	strcpy(h->vmon_version, "0.1.0-test");
	strcpy(h->cpu_vendor, "GenuineIntel");
	h->cpu_signature = 0x000906ea;
	h->tsc_khz = 2904000;
	h->nr_vcpus = 2;
	h->nr_ram = 2;
	h->ram[0].gpa = 0;
	h->ram[0].len_bytes = 0xc0000000ull;
	h->ram[1].gpa = 0x100000000ull;
	h->ram[1].len_bytes = 0x40000000ull;
	h->mem_bytes = 0x100000000ull;
	h->nr_cpuid = 3;
	h->cpuid[0] = (struct cpuid_entry){ 0, 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 };
	h->cpuid[1] = (struct cpuid_entry){ 1, 0, 0, 0x906ea, 0x800, 0xfeda3203, 0x178bfbff };
	h->cpuid[2] =
		(struct cpuid_entry){ 7, 0, CPUID_FLAG_SIGNIFICANT_INDEX, 0, 0x29c67af, 0, 0 };
}

static const char *const sec_tags[3] = { "rtc_cmos", "vcpu", "vcpu" };
static const uint32_t sec_instances[3] = { 0, 0, 1 };

static void make_sections(struct state_writer *w)
{
	state_writer_init(w);
	for (int i = 0; i < 3; i++) {
		state_begin(w, sec_tags[i], sec_instances[i], 1 + i);
		state_put_u64(w, 0x1000 + i);
		for (int j = 0; j < 10 * i; j++)
			state_put_u32(w, (uint32_t)(j * 0x01010101));
		state_end(w);
	}
	REQUIRE(state_writer_error(w) == 0);
}

/* The encoded file of make_header() and make_sections(); the caller frees w->buf. */
static void make_file(struct state_writer *out)
{
	struct snapfile_header h;
	struct state_writer secs;
	char err[256] = "";

	make_header(&h);
	make_sections(&secs);
	state_writer_init(out);
	REQUIRE(snapfile_encode(&h, &secs, out, err, sizeof(err)) == 0);
	state_writer_free(&secs);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the header and file CRCs after a deliberate patch. */
static void fix_crcs(uint8_t *buf, size_t len)
{
	uint32_t hl = le32(buf + OFF_HDR_LEN);

	put_le32(buf + hl - 4, crc32c(0, buf, hl - 4));
	put_le32(buf + len - 4, crc32c(0, buf, len - 4));
}

/* Parse @buf; expect a refusal whose message holds @phrase. */
static int refused_with(const void *buf, size_t len, const char *phrase)
{
	struct snapfile f;
	char err[256] = "";
	int rc = snapfile_parse(buf, len, &f, err, sizeof(err));

	if (rc != -EINVAL || !strstr(err, phrase)) {
		printf("#   len %zu: rc %d, message '%s', wanted '%s'\n", len, rc, err, phrase);
		return 0;
	}
	return 1;
}

static void check_sections(struct state_reader r)
{
	struct state_section s;

	for (int i = 0; i < 3; i++) {
		REQUIRE(state_next_section(&r, &s) == 1);
		CHECK(strcmp(s.tag, sec_tags[i]) == 0);
		CHECK_EQ(s.instance, sec_instances[i]);
		CHECK_EQ(s.version, 1 + i);
		CHECK_EQ(state_get_u64(&s.payload), 0x1000 + i);
		for (int j = 0; j < 10 * i; j++)
			CHECK_EQ(state_get_u32(&s.payload), (uint32_t)(j * 0x01010101));
		CHECK_EQ(state_done(&s.payload), 0);
	}
	CHECK_EQ(state_next_section(&r, &s), 0);
}

static void write_seed(const char *name, const void *buf, size_t len)
{
	const char *dir = getenv("SNAPFILE_SEED_DIR");
	char path[512];
	FILE *fp;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	REQUIRE(fp);
	CHECK_EQ(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

TEST(snapfile_roundtrips_through_a_file)
{
	struct snapfile_header h;
	struct state_writer secs;
	struct snapfile f;
	char path[128], err[256] = "";
	struct stat st;

	make_tmpdir();
	make_header(&h);
	make_sections(&secs);
	snprintf(path, sizeof(path), "%s/vm.snap", tmpdir);
	/* twice: the second replaces the first */
	REQUIRE(snapfile_write(path, &h, &secs, err, sizeof(err)) == 0);
	REQUIRE(snapfile_write(path, &h, &secs, err, sizeof(err)) == 0);
	REQUIRE(stat(path, &st) == 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	REQUIRE(snapfile_read(path, &f, err, sizeof(err)) == 0);
	CHECK(memcmp(&f.hdr, &h, sizeof(h)) == 0);
	CHECK(f.buf != NULL);
	CHECK_EQ(f.len, st.st_size);
	check_sections(f.sections);
	write_seed("roundtrip", f.buf, f.len);
	snapfile_free(&f);
	CHECK(f.buf == NULL);
	/* nothing but the file is left in the directory (no temporary) */
	snprintf(path, sizeof(path), "ls -A '%s' | grep -qv '^vm.snap$'", tmpdir);
	CHECK(system(path) != 0);
	state_writer_free(&secs);
	rm_tmpdir();
}

TEST(snapfile_parse_of_a_buffer_points_into_it)
{
	struct state_writer w;
	struct snapfile f;
	char err[256] = "";

	make_file(&w);
	REQUIRE(snapfile_parse(w.buf, w.len, &f, err, sizeof(err)) == 0);
	CHECK(f.buf == NULL);
	CHECK(f.sections.buf > w.buf && f.sections.buf < w.buf + w.len);
	check_sections(f.sections);
	snapfile_free(&f);
	state_writer_free(&w);
}

TEST(snapfile_refuses_every_truncation)
{
	struct state_writer w;
	size_t hl, bounds[8], nb = 0, pos;

	make_file(&w);
	hl = le32(w.buf + OFF_HDR_LEN);
	/* the section boundaries: a cut there leaves whole sections and loses the trailer */
	pos = hl;
	bounds[nb++] = pos;
	for (int i = 0; i < 3; i++) {
		pos += STATE_SECTION_HDR_LEN + 8 + 40 * i + STATE_SECTION_CRC_LEN;
		bounds[nb++] = pos;
	}
	REQUIRE(pos + 4 == w.len);
	for (size_t i = 1; i < nb; i++) {
		char want[64];

		/* the last 4 bytes then read as the trailer, so section i-1 is short */
		snprintf(want, sizeof(want), "truncated in section '%s' #%u", sec_tags[i - 1],
			 sec_instances[i - 1]);
		CHECK(refused_with(w.buf, bounds[i], want));
	}
	CHECK(refused_with(w.buf, hl, "truncated after the header"));
	for (size_t cut = 0; cut < w.len; cut += (cut < hl + 64 ? 1 : 7))
		CHECK(refused_with(w.buf, cut, "truncated"));
	for (size_t cut = w.len - 8; cut < w.len; cut++)
		CHECK(refused_with(w.buf, cut, "truncated"));
	state_writer_free(&w);
}

TEST(snapfile_refuses_every_flipped_byte)
{
	struct state_writer w;
	uint8_t *copy;
	size_t hl;

	make_file(&w);
	hl = le32(w.buf + OFF_HDR_LEN);
	copy = malloc(w.len);
	REQUIRE(copy);
	for (size_t i = 0; i < w.len; i++) {
		const char *want = i < 8	   ? "bad magic"
				   : i < hl	   ? "header"
				   : i < w.len - 4 ? "section '"
						   : "file checksum mismatch";

		memcpy(copy, w.buf, w.len);
		copy[i] ^= 0x40;
		if (!refused_with(copy, w.len, want)) {
			printf("#   flipped byte %zu\n", i);
			harness.failed++;
		}
	}
	/* a payload byte: exactly a checksum mismatch of that section */
	memcpy(copy, w.buf, w.len);
	copy[w.len - 4 - 4 - 3] ^= 1;
	CHECK(refused_with(copy, w.len, "section 'vcpu' #1: checksum mismatch"));
	free(copy);
	state_writer_free(&w);
}

TEST(snapfile_refuses_wrong_magic)
{
	struct state_writer w;

	make_file(&w);
	memcpy(w.buf, "XMONSNAP", 8);
	CHECK(refused_with(w.buf, w.len, "not a vmon snapshot (bad magic)"));
	CHECK(refused_with("hello, world", 12, "not a vmon snapshot"));
	CHECK(refused_with("", 0, "truncated"));
	state_writer_free(&w);
}

TEST(snapfile_refuses_newer_format_version)
{
	struct state_writer w;

	make_file(&w);
	put_le32(w.buf + OFF_FORMAT, SNAPFILE_FORMAT_VERSION + 1);
	fix_crcs(w.buf, w.len);
	write_seed("newer_format", w.buf, w.len);
	CHECK(refused_with(w.buf, w.len,
			   "made by a newer vmon (format 2, this vmon reads up to 1)"));
	put_le32(w.buf + OFF_FORMAT, 0);
	fix_crcs(w.buf, w.len);
	CHECK(refused_with(w.buf, w.len, "format version 0"));
	state_writer_free(&w);
}

/*
 * A later header version that appends fields (and says so in header_length)
 * is readable: the design promises appends only. A version-1 header of the
 * wrong length is refused.
 */
TEST(snapfile_reads_a_future_header_with_appended_fields)
{
	struct state_writer w;
	struct snapfile_header h;
	struct snapfile f;
	char err[256] = "";
	size_t hl, extra = 12, len;
	uint8_t *big;

	make_file(&w);
	make_header(&h);
	hl = le32(w.buf + OFF_HDR_LEN);
	len = w.len + extra;
	big = calloc(1, len);
	REQUIRE(big);
	memcpy(big, w.buf, hl - 4);
	memset(big + hl - 4, 0xee, extra); /* the new fields */
	memcpy(big + hl - 4 + extra, w.buf + hl - 4, w.len - (hl - 4));
	put_le32(big + OFF_HDR_VERSION, 2);
	put_le32(big + OFF_HDR_LEN, (uint32_t)(hl + extra));
	fix_crcs(big, len);
	write_seed("future_header", big, len);
	REQUIRE(snapfile_parse(big, len, &f, err, sizeof(err)) == 0);
	CHECK(memcmp(&f.hdr, &h, sizeof(h)) == 0);
	check_sections(f.sections);
	/* the same bytes claiming header version 1 */
	put_le32(big + OFF_HDR_VERSION, 1);
	fix_crcs(big, len);
	CHECK(refused_with(big, len, "does not fit"));
	/* a header_length that cuts the version-1 fields short, in any version */
	put_le32(big + OFF_HDR_VERSION, 2);
	put_le32(big + OFF_HDR_LEN, (uint32_t)(hl - 28));
	put_le32(big + hl - 28 - 4, crc32c(0, big, hl - 28 - 4));
	CHECK(refused_with(big, len, "does not fit"));
	free(big);
	state_writer_free(&w);
}

TEST(snapfile_refuses_bad_ram_layout)
{
	struct snapfile_header h;
	struct state_writer w, secs, out;
	char err[256];

	/* through the parser, on patched files */
	make_file(&w);
	put_le64(w.buf + OFF_RAM + 16, 0xbfff0000ull); /* region 1 starts inside region 0 */
	fix_crcs(w.buf, w.len);
	CHECK(refused_with(w.buf, w.len, "RAM regions 0 and 1 overlap"));
	put_le64(w.buf + OFF_RAM + 16, 0x100000800ull);
	fix_crcs(w.buf, w.len);
	CHECK(refused_with(w.buf, w.len, "not page-aligned"));
	put_le64(w.buf + OFF_RAM + 16, 0x100000000ull);
	put_le64(w.buf + OFF_MEM_BYTES, 0x200000000ull);
	fix_crcs(w.buf, w.len);
	CHECK(refused_with(w.buf, w.len, "RAM regions sum to"));
	put_le64(w.buf + OFF_MEM_BYTES, 0x100000000ull);
	put_le64(w.buf + OFF_RAM + 16, 0xfffffffffffff000ull); /* wraps */
	fix_crcs(w.buf, w.len);
	CHECK(refused_with(w.buf, w.len, "wraps"));
	put_le64(w.buf + OFF_RAM + 16, 0x100000000ull);
	put_le32(w.buf + OFF_NR_VCPUS, 0);
	fix_crcs(w.buf, w.len);
	CHECK(refused_with(w.buf, w.len, "0 vCPUs"));
	put_le32(w.buf + OFF_NR_VCPUS, 65);
	fix_crcs(w.buf, w.len);
	CHECK(refused_with(w.buf, w.len, "65 vCPUs"));
	put_le32(w.buf + OFF_NR_VCPUS, 2);
	memset(w.buf + OFF_VMON_VERSION, 'A', 32);
	fix_crcs(w.buf, w.len);
	CHECK(refused_with(w.buf, w.len, "vmon_version is not NUL-terminated"));
	state_writer_free(&w);

	/* and the writer refuses to write what could not be read back */
	make_sections(&secs);
	state_writer_init(&out);
	make_header(&h);
	h.ram[1].gpa = 0x1000;
	CHECK_EQ(snapfile_encode(&h, &secs, &out, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "overlap") != NULL);
	make_header(&h);
	h.nr_ram = SNAPFILE_MAX_RAM + 1;
	CHECK_EQ(snapfile_encode(&h, &secs, &out, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "RAM regions") != NULL);
	make_header(&h);
	h.nr_cpuid = SNAPFILE_MAX_CPUID + 1;
	CHECK_EQ(snapfile_encode(&h, &secs, &out, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "CPUID") != NULL);
	make_header(&h);
	h.format_version = 2;
	CHECK_EQ(snapfile_encode(&h, &secs, &out, err, sizeof(err)), -EINVAL);
	CHECK_EQ(out.len, 0);
	state_begin(&secs, "open", 0, 1);
	make_header(&h);
	CHECK_EQ(snapfile_encode(&h, &secs, &out, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "open section") != NULL);
	state_writer_free(&out);
	state_writer_free(&secs);
}

TEST(snapfile_read_refuses_non_regular_and_huge_files)
{
	char path[128], err[256];
	struct snapfile f;
	int fd;

	make_tmpdir();
	CHECK_EQ(snapfile_read(tmpdir, &f, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not a regular file") != NULL);
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	REQUIRE(mkfifo(path, 0600) == 0);
	CHECK_EQ(snapfile_read(path, &f, err, sizeof(err)), -EINVAL); /* and does not hang */
	CHECK(strstr(err, "not a regular file") != NULL);
	snprintf(path, sizeof(path), "%s/huge", tmpdir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, (off_t)SNAPFILE_MAX_FILE_BYTES + 1) == 0);
	close(fd);
	CHECK_EQ(snapfile_read(path, &f, err, sizeof(err)), -EFBIG);
	CHECK(strstr(err, "more than") != NULL);
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	CHECK_EQ(snapfile_read(path, &f, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, path) != NULL);
	/* a write into a missing directory fails cleanly */
	snprintf(path, sizeof(path), "%s/no/such/dir/vm.snap", tmpdir);
	{
		struct snapfile_header h;
		struct state_writer secs;

		make_header(&h);
		make_sections(&secs);
		CHECK_EQ(snapfile_write(path, &h, &secs, err, sizeof(err)), -ENOENT);
		CHECK(strstr(err, "temporary") != NULL);
		state_writer_free(&secs);
	}
	rm_tmpdir();
}

TEST(snapfile_write_seeds_a_truncated_and_an_empty_file)
{
	struct state_writer w, secs;
	struct snapfile_header h;
	char err[256];

	make_file(&w);
	write_seed("truncated", w.buf, w.len - 10);
	state_writer_free(&w);
	/* the smallest valid file: one region, no CPUID, no sections */
	memset(&h, 0, sizeof(h));
	strcpy(h.vmon_version, "0.1.0");
	h.nr_vcpus = 1;
	h.nr_ram = 1;
	h.ram[0].len_bytes = h.mem_bytes = 0x1000;
	state_writer_init(&secs);
	state_writer_init(&w);
	REQUIRE(snapfile_encode(&h, &secs, &w, err, sizeof(err)) == 0);
	write_seed("minimal", w.buf, w.len);
	{
		struct snapfile f;

		CHECK_EQ(snapfile_parse(w.buf, w.len, &f, err, sizeof(err)), 0);
		CHECK_EQ(f.hdr.format_version, SNAPFILE_FORMAT_VERSION);
		CHECK_EQ(f.sections.len, 0);
	}
	state_writer_free(&w);
	state_writer_free(&secs);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(snapfile_roundtrips_through_a_file)
	HARNESS_T(snapfile_parse_of_a_buffer_points_into_it)
	HARNESS_T(snapfile_refuses_every_truncation)
	HARNESS_T(snapfile_refuses_every_flipped_byte)
	HARNESS_T(snapfile_refuses_wrong_magic)
	HARNESS_T(snapfile_refuses_newer_format_version)
	HARNESS_T(snapfile_reads_a_future_header_with_appended_fields)
	HARNESS_T(snapfile_refuses_bad_ram_layout)
	HARNESS_T(snapfile_read_refuses_non_regular_and_huge_files)
	HARNESS_T(snapfile_write_seeds_a_truncated_and_an_empty_file)
)
// clang-format on
