/* test_pvh.c — PVH ELF loader: the entry note, hvm_start_info, memmap, module, entry state,
 * malformed notes. */
#include <errno.h>
#include <stdlib.h>

#include "arch/x86/boot_cpu.h"
#include "arch/x86/boot_pvh.h"
#include "arch/x86/e820.h"
#include "arch_test_util.h"
#include "harness.h"

#define MEM (32ull << 20)

static char err[256];

static uint32_t g32(struct gmem *gm, uint64_t gpa)
{
	uint32_t v = 0xdeadbeef;

	gmem_read(gm, gpa, &v, 4);
	return v;
}

static uint64_t g64(struct gmem *gm, uint64_t gpa)
{
	uint64_t v = ~0ull;

	gmem_read(gm, gpa, &v, 8);
	return v;
}

static int parse(const uint8_t *k, size_t len)
{
	struct layout lo;
	struct boot_image img;

	if (layout_init(&lo, MEM, NULL, 0))
		abort();
	err[0] = 0;
	return pvh_parse(k, len, &lo, &img, err, sizeof(err));
}

TEST(pvh_loads_elf_with_entry_note)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	uint8_t initrd[3000];
	size_t len;
	uint8_t *k = test_pvh_elf(8, &len), *p;
	uint64_t si = LAYOUT_PVH_INFO_GPA, mm, mod;

	memset(initrd, 0x77, sizeof(initrd));
	CHECK(pvh_detect(k, len));
	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	REQUIRE(pvh_load(&gm, &lo, k, len, initrd, sizeof(initrd), "console=ttyS0", 0xE0000, &st,
			 err, sizeof(err)) == 0);
	p = gmem_ptr(&gm, 0x200000, 0x200);
	REQUIRE(p);
	CHECK(memcmp(p, k + 0x200, 0x100) == 0);
	CHECK(p[0x100] == 0 && p[0x1FF] == 0);
	/* entry state (pvh.pandoc) */
	CHECK_EQ(st.rip, TEST_PVH_ENTRY);
	CHECK_EQ(st.rbx, LAYOUT_PVH_INFO_GPA);
	CHECK_EQ(st.cr0 & 0x80000001, 1);
	CHECK_EQ(st.cr4, 0);
	CHECK_EQ(st.efer, 0);
	CHECK_EQ(st.cs.db, 1);
	CHECK_EQ(st.cs.limit, 0xffffffff);
	CHECK_EQ(st.tr.type, 0xB);
	CHECK_EQ(st.tr.limit, 0x67);
	CHECK_EQ(st.rflags & 0x20300, 0);
	/* hvm_start_info */
	CHECK_EQ(g32(&gm, si), PVH_START_MAGIC);
	CHECK_EQ(g32(&gm, si + 4), 1);
	CHECK_EQ(g32(&gm, si + 12), 1);
	CHECK(strcmp(gmem_ptr(&gm, g64(&gm, si + 24), 14), "console=ttyS0") == 0);
	CHECK_EQ(g64(&gm, si + 32), 0xE0000);
	mm = g64(&gm, si + 40);
	CHECK_EQ(g32(&gm, si + 48), 4);
	CHECK_EQ(g64(&gm, mm), 0);
	CHECK_EQ(g64(&gm, mm + 8), 0x9FC00);
	CHECK_EQ(g32(&gm, mm + 16), E820_RAM);
	CHECK_EQ(g32(&gm, mm + 24 + 16), E820_RESERVED);
	CHECK_EQ(g64(&gm, mm + 48), 0x100000);
	CHECK(mm + 4 * 24 <= LAYOUT_MB_INFO_END_GPA);
	mod = g64(&gm, si + 16);
	CHECK_EQ(g64(&gm, mod + 8), sizeof(initrd));
	CHECK_EQ(g64(&gm, mod) & 0xfff, 0);
	CHECK(g64(&gm, mod) >= 0x200200);
	CHECK(memcmp(gmem_ptr(&gm, g64(&gm, mod), sizeof(initrd)), initrd, sizeof(initrd)) == 0);
	free(k);
	gmem_destroy(&gm);
}

TEST(pvh_accepts_4_byte_note_and_no_initrd)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	size_t len;
	uint8_t *k = test_pvh_elf(4, &len);

	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	REQUIRE(pvh_load(&gm, &lo, k, len, NULL, 0, "", 0, &st, err, sizeof(err)) == 0);
	CHECK_EQ(st.rip, TEST_PVH_ENTRY);
	CHECK_EQ(g32(&gm, LAYOUT_PVH_INFO_GPA + 12), 0);
	CHECK_EQ(g64(&gm, LAYOUT_PVH_INFO_GPA + 16), 0);
	free(k);
	gmem_destroy(&gm);
}

TEST(pvh_checks_the_note)
{
	size_t len;
	uint8_t *k;

	/* wrong note type */
	k = test_pvh_elf(8, &len);
	k[TEST_PVH_NOTE + 8] = 17;
	CHECK(!pvh_detect(k, len));
	CHECK_EQ(parse(k, len), -ENOEXEC);
	CHECK(strstr(err, "XEN_ELFNOTE_PHYS32_ENTRY"));
	free(k);
	/* wrong name */
	k = test_pvh_elf(8, &len);
	k[TEST_PVH_NOTE + 12] = 'Y';
	CHECK(!pvh_detect(k, len));
	free(k);
	/* odd desc size */
	k = test_pvh_elf(2, &len);
	CHECK(!pvh_detect(k, len));
	free(k);
	/* desc size running past the note segment */
	k = test_pvh_elf(8, &len);
	k[TEST_PVH_NOTE + 4] = 0xF0;
	CHECK(!pvh_detect(k, len));
	free(k);
	/* note segment past the end of the file */
	k = test_pvh_elf(8, &len);
	CHECK(!pvh_detect(k, TEST_PVH_NOTE + 20));
	free(k);
	/* entry above 4 GiB */
	k = test_pvh_elf(8, &len);
	k[TEST_PVH_NOTE + 16 + 4] = 1;
	CHECK(!pvh_detect(k, len));
	free(k);
	/* entry outside the loaded segment */
	k = test_pvh_elf(8, &len);
	k[TEST_PVH_NOTE + 16 + 2] = 0x30;
	CHECK(pvh_detect(k, len));
	CHECK_EQ(parse(k, len), -EINVAL);
	CHECK(strstr(err, "entry"));
	free(k);
}

TEST(pvh_every_truncation_is_refused)
{
	size_t len;
	uint8_t *k = test_pvh_elf(8, &len);

	for (size_t l = 0; l < len; l++) {
		uint8_t *copy = malloc(l ? l : 1);

		memcpy(copy, k, l);
		CHECK(parse(copy, l) < 0);
		free(copy);
	}
	free(k);
}

TEST(pvh_refuses_initrd_that_does_not_fit)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	size_t len;
	uint8_t *k = test_pvh_elf(8, &len);
	static uint8_t big[MEM];

	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	CHECK_EQ(pvh_load(&gm, &lo, k, len, big, MEM - (2 << 20), "", 0, &st, err, sizeof(err)),
		 -E2BIG);
	CHECK(strstr(err, "initrd"));
	free(k);
	gmem_destroy(&gm);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(pvh_loads_elf_with_entry_note)
	HARNESS_T(pvh_accepts_4_byte_note_and_no_initrd)
	HARNESS_T(pvh_checks_the_note)
	HARNESS_T(pvh_every_truncation_is_refused)
	HARNESS_T(pvh_refuses_initrd_that_does_not_fit)
)
// clang-format on
