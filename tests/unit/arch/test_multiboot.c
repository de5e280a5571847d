/* test_multiboot.c — multiboot v1 loader: a.out kludge, ELF32/ELF64, the info structure, every
 * checked field flipped. */
#include <errno.h>
#include <stdlib.h>

#include "arch/x86/boot_cpu.h"
#include "arch/x86/boot_multiboot.h"
#include "arch/x86/e820.h"
#include "arch_test_util.h"
#include "harness.h"

#define MEM (32ull << 20)
#define AOUT_LEN 0x2000

static char err[256];

static int parse(const uint8_t *k, size_t len, struct multiboot_image *img)
{
	struct layout lo;

	if (layout_init(&lo, MEM, NULL, 0))
		abort();
	err[0] = 0;
	return multiboot_parse(k, len, &lo, img, err, sizeof(err));
}

static uint32_t g32(struct gmem *gm, uint64_t gpa)
{
	uint32_t v = 0xdeadbeef;

	gmem_read(gm, gpa, &v, 4);
	return v;
}

TEST(multiboot_loads_aout_kludge)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	uint8_t *k = test_mb_aout(AOUT_LEN);
	uint8_t initrd[5000];
	uint64_t mbi = LAYOUT_MB_INFO_GPA, mods, mod_start, mmap;
	uint8_t *bss;

	memset(initrd, 0x5A, sizeof(initrd));
	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	memset(gmem_ptr(&gm, TEST_MB_LOAD + AOUT_LEN, 0x1000), 0xFF, 0x1000); /* dirty bss */
	REQUIRE(multiboot_load(&gm, &lo, k, AOUT_LEN, initrd, sizeof(initrd), "kern arg=1", &st,
			       err, sizeof(err)) == 0);
	CHECK(memcmp(gmem_ptr(&gm, TEST_MB_LOAD, AOUT_LEN), k, AOUT_LEN) == 0);
	bss = gmem_ptr(&gm, TEST_MB_LOAD + AOUT_LEN, 0x1000);
	REQUIRE(bss);
	CHECK(bss[0] == 0 && bss[0xFFF] == 0);
	/* 3.2 machine state */
	CHECK_EQ(st.rax, 0x2BADB002);
	CHECK_EQ(st.rbx, LAYOUT_MB_INFO_GPA);
	CHECK_EQ(st.rip, TEST_MB_LOAD + 0x40);
	CHECK_EQ(st.cr0 & 0x80000001, 1); /* PE on, PG off */
	CHECK_EQ(st.efer, 0);
	CHECK_EQ(st.cs.selector, BOOT_GDT_CODE32_SEL);
	CHECK_EQ(st.cs.db, 1);
	CHECK_EQ(st.cs.l, 0);
	CHECK_EQ(st.cs.base, 0);
	CHECK_EQ(st.cs.limit, 0xffffffff);
	CHECK_EQ(st.ds.selector, BOOT_GDT_DATA_SEL);
	CHECK_EQ(st.ds.limit, 0xffffffff);
	CHECK_EQ(st.rflags & 0x200, 0);
	/* 3.3 boot information */
	CHECK_EQ(g32(&gm, mbi), MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE |
					MULTIBOOT_INFO_MODS | MULTIBOOT_INFO_MMAP |
					MULTIBOOT_INFO_LOADER_NAME);
	CHECK_EQ(g32(&gm, mbi + 4), 639);
	CHECK_EQ(g32(&gm, mbi + 8), (MEM - 0x100000) >> 10);
	CHECK(strcmp(gmem_ptr(&gm, g32(&gm, mbi + 16), 11), "kern arg=1") == 0);
	CHECK_EQ(g32(&gm, mbi + 20), 1);
	mods = g32(&gm, mbi + 24);
	mod_start = g32(&gm, mods);
	CHECK_EQ(mod_start & 0xfff, 0);
	CHECK_EQ(g32(&gm, mods + 4), mod_start + sizeof(initrd));
	CHECK(mod_start >= TEST_MB_LOAD + AOUT_LEN + 0x1000);
	CHECK(mod_start + sizeof(initrd) <= MEM);
	CHECK(memcmp(gmem_ptr(&gm, mod_start, sizeof(initrd)), initrd, sizeof(initrd)) == 0);
	CHECK(strcmp(gmem_ptr(&gm, g32(&gm, mods + 8), 7), "initrd") == 0);
	CHECK(strcmp(gmem_ptr(&gm, g32(&gm, mbi + 64), 5), "vmon") == 0);
	/* mmap: the e820 map, 24-byte entries with size 20 */
	CHECK_EQ(g32(&gm, mbi + 44), 4 * 24);
	mmap = g32(&gm, mbi + 48);
	CHECK_EQ(g32(&gm, mmap), 20);
	CHECK_EQ(g32(&gm, mmap + 24 + 4), LAYOUT_EBDA_GPA);
	CHECK_EQ(g32(&gm, mmap + 24 + 20), E820_RESERVED);
	CHECK_EQ(g32(&gm, mmap + 48 + 4), 0x100000);
	CHECK_EQ(g32(&gm, mmap + 48 + 20), E820_RAM);
	/* the info area stays inside 0x2000..0x6FFF, clear of the AP trampoline page */
	CHECK(mmap + 4 * 24 <= LAYOUT_MB_INFO_END_GPA);
	CHECK(mods + 16 <= LAYOUT_MB_INFO_END_GPA);
	free(k);
	gmem_destroy(&gm);
}

TEST(multiboot_without_initrd_has_no_modules)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	uint8_t *k = test_mb_aout(AOUT_LEN);

	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	REQUIRE(multiboot_load(&gm, &lo, k, AOUT_LEN, NULL, 0, "", &st, err, sizeof(err)) == 0);
	CHECK_EQ(g32(&gm, LAYOUT_MB_INFO_GPA) & MULTIBOOT_INFO_MODS, 0);
	CHECK_EQ(g32(&gm, LAYOUT_MB_INFO_GPA + 20), 0);
	free(k);
	gmem_destroy(&gm);
}

TEST(multiboot_loads_elf32_and_elf64)
{
	for (int is64 = 0; is64 < 2; is64++) {
		struct gmem gm;
		struct layout lo;
		struct x86_cpu_state st;
		size_t len;
		uint8_t *k = test_mb_elf(is64, &len);
		uint8_t *p;

		REQUIRE(test_guest(&gm, &lo, MEM) == 0);
		memset(gmem_ptr(&gm, TEST_ELF_PADDR, 0x300), 0xFF, 0x300);
		REQUIRE(multiboot_load(&gm, &lo, k, len, NULL, 0, "", &st, err, sizeof(err)) == 0);
		CHECK_EQ(st.rip, TEST_ELF_PADDR + 0x20); /* virtual entry translated */
		p = gmem_ptr(&gm, TEST_ELF_PADDR, 0x300);
		REQUIRE(p);
		CHECK(memcmp(p, k + 0x100, 0x200) == 0);
		CHECK(p[0x200] == 0 && p[0x2FF] == 0);
		free(k);
		gmem_destroy(&gm);
	}
}

TEST(multiboot_needs_header_in_first_8k)
{
	struct multiboot_image img;
	uint8_t *k = calloc(1, 0x3000);

	REQUIRE(k);
	CHECK_EQ(parse(k, 0x3000, &img), -ENOEXEC);
	CHECK(strstr(err, "no header"));
	test_mb_put(k, 0x2000, test_mb_aout_header(0x3000)); /* just past the window */
	CHECK_EQ(parse(k, 0x3000, &img), -ENOEXEC);
	CHECK(!multiboot_detect(k, 0x3000));
	memset(k, 0, 0x3000);
	test_mb_put(k, 0x1FF4, test_mb_aout_header(0x3000)); /* last slot: 12 bytes fit */
	CHECK(multiboot_detect(k, 0x3000));
	CHECK(!multiboot_detect(k, 0x1FF4 + 11)); /* header cut by end of file */
	free(k);
}

TEST(multiboot_header_must_be_aligned)
{
	struct multiboot_image img;
	uint8_t *k = calloc(1, AOUT_LEN);

	REQUIRE(k);
	test_mb_put(k, 0x12, test_mb_aout_header(AOUT_LEN));
	CHECK_EQ(parse(k, AOUT_LEN, &img), -ENOEXEC);
	free(k);
}

TEST(multiboot_checks_checksum)
{
	struct multiboot_image img;
	uint8_t *k = test_mb_aout(AOUT_LEN);

	k[TEST_MB_HOFF + 8] ^= 1;
	CHECK_EQ(parse(k, AOUT_LEN, &img), -ENOEXEC);
	k[TEST_MB_HOFF + 8] ^= 1;
	k[TEST_MB_HOFF] ^= 1; /* magic */
	CHECK_EQ(parse(k, AOUT_LEN, &img), -ENOEXEC);
	k[TEST_MB_HOFF] ^= 1;
	CHECK_EQ(parse(k, AOUT_LEN, &img), 0);
	free(k);
}

TEST(multiboot_refuses_required_flags_it_cannot_honour)
{
	struct multiboot_image img;
	uint8_t *k = test_mb_aout(AOUT_LEN);
	struct test_mb_header h = test_mb_aout_header(AOUT_LEN);

	h.flags |= MULTIBOOT_VIDEO_MODE;
	test_mb_put(k, TEST_MB_HOFF, h);
	CHECK_EQ(parse(k, AOUT_LEN, &img), -ENOEXEC);
	CHECK(strstr(err, "video mode"));
	for (unsigned bit = 3; bit < 16; bit++) {
		h = test_mb_aout_header(AOUT_LEN);
		h.flags |= 1u << bit;
		test_mb_put(k, TEST_MB_HOFF, h);
		CHECK_EQ(parse(k, AOUT_LEN, &img), -ENOEXEC);
	}
	/* optional bits 17-31 are ignored */
	h = test_mb_aout_header(AOUT_LEN);
	h.flags |= 1u << 20;
	test_mb_put(k, TEST_MB_HOFF, h);
	CHECK_EQ(parse(k, AOUT_LEN, &img), 0);
	free(k);
}

/* Flip one a.out field with @edit and expect @want. */
static void aout_case(void (*edit)(struct test_mb_header *h), int want, size_t len, const char *msg)
{
	struct multiboot_image img;
	uint8_t *k = test_mb_aout(AOUT_LEN);
	struct test_mb_header h = test_mb_aout_header(AOUT_LEN);

	edit(&h);
	test_mb_put(k, TEST_MB_HOFF, h);
	CHECK_EQ(parse(k, len, &img), want);
	if (msg)
		CHECK(strstr(err, msg));
	free(k);
}

static void e_none(struct test_mb_header *h)
{
	(void)h;
}
static void e_hdr_below_load(struct test_mb_header *h)
{
	h->header_addr = h->load_addr - 4;
}
static void e_hdr_far(struct test_mb_header *h)
{
	h->header_addr = h->load_addr + 0x20;
}
static void e_load_end_low(struct test_mb_header *h)
{
	h->load_end_addr = h->load_addr - 1;
}
static void e_load_end_big(struct test_mb_header *h)
{
	h->load_end_addr += 1;
}
static void e_load_end_zero(struct test_mb_header *h)
{
	h->load_end_addr = 0;
}
static void e_bss_low(struct test_mb_header *h)
{
	h->bss_end_addr = h->load_end_addr - 1;
}
static void e_bss_zero(struct test_mb_header *h)
{
	h->bss_end_addr = 0;
}
static void e_entry_low(struct test_mb_header *h)
{
	h->entry_addr = h->load_addr - 1;
}
static void e_entry_high(struct test_mb_header *h)
{
	h->entry_addr = h->load_end_addr;
}
static void e_above_ram(struct test_mb_header *h)
{
	uint32_t d = (uint32_t)MEM - 0x1000 - h->load_addr;

	h->header_addr += d, h->load_addr += d, h->load_end_addr += d;
	h->bss_end_addr += d, h->entry_addr += d;
}
static void e_vmon_area(struct test_mb_header *h)
{
	uint32_t d = h->load_addr - 0x7000;

	h->header_addr -= d, h->load_addr -= d, h->load_end_addr -= d;
	h->bss_end_addr -= d, h->entry_addr -= d;
}
static void e_low_window(struct test_mb_header *h)
{
	uint32_t d = h->load_addr - 0x40000;

	h->header_addr -= d, h->load_addr -= d, h->load_end_addr -= d;
	h->bss_end_addr -= d, h->entry_addr -= d;
}
static void e_bss_huge(struct test_mb_header *h)
{
	h->bss_end_addr = 0xFFFFFFFF;
}

TEST(multiboot_checks_aout_fields)
{
	aout_case(e_none, 0, AOUT_LEN, NULL);
	aout_case(e_hdr_below_load, -EINVAL, AOUT_LEN, "header_addr");
	aout_case(e_hdr_far, -EINVAL, AOUT_LEN, "header_addr");
	aout_case(e_load_end_low, -EINVAL, AOUT_LEN, "load_end_addr");
	aout_case(e_load_end_big, -EINVAL, AOUT_LEN, "past the end");
	aout_case(e_load_end_zero, 0, AOUT_LEN, NULL);
	aout_case(e_bss_low, -EINVAL, AOUT_LEN, "bss_end_addr");
	aout_case(e_bss_zero, 0, AOUT_LEN, NULL);
	aout_case(e_bss_huge, -EINVAL, AOUT_LEN, "outside usable RAM");
	aout_case(e_entry_low, -EINVAL, AOUT_LEN, "entry_addr");
	aout_case(e_entry_high, -EINVAL, AOUT_LEN, "entry_addr");
	aout_case(e_above_ram, -EINVAL, AOUT_LEN, "outside usable RAM");
	aout_case(e_vmon_area, -EINVAL, AOUT_LEN, "outside usable RAM");
	aout_case(e_low_window, 0, AOUT_LEN, NULL);
	/* file shorter than the header's address fields */
	aout_case(e_none, -EINVAL, TEST_MB_HOFF + 20, "cut short");
}

TEST(multiboot_aout_load_end_zero_loads_whole_file)
{
	struct multiboot_image img;
	uint8_t *k = test_mb_aout(AOUT_LEN);
	struct test_mb_header h = test_mb_aout_header(AOUT_LEN);

	h.load_end_addr = 0;
	h.bss_end_addr = 0;
	test_mb_put(k, TEST_MB_HOFF, h);
	REQUIRE(parse(k, AOUT_LEN, &img) == 0);
	CHECK_EQ(img.load.nr_segs, 1);
	CHECK_EQ(img.load.seg[0].file_len, AOUT_LEN);
	CHECK_EQ(img.load.seg[0].mem_len, AOUT_LEN);
	CHECK_EQ(img.load.end_gpa, TEST_MB_LOAD + AOUT_LEN);
	free(k);
}

/* ELF header edits: apply @edit to a fresh ELF32 image. */
static void elf_case(int is64, void (*edit)(uint8_t *k, int is64), int want, const char *msg)
{
	struct multiboot_image img;
	size_t len;
	uint8_t *k = test_mb_elf(is64, &len);

	edit(k, is64);
	CHECK_EQ(parse(k, len, &img), want);
	if (msg && !strstr(err, msg)) {
		printf("#   got \"%s\", wanted \"%s\"\n", err, msg);
		harness.failed++;
	}
	free(k);
}

#define PH(is64) ((is64) ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr))
static void set_ph(uint8_t *k, int is64, size_t f32, size_t f64, uint64_t v)
{
	if (is64)
		memcpy(k + PH(1) + f64, &v, 8);
	else {
		uint32_t w = (uint32_t)v;

		memcpy(k + PH(0) + f32, &w, 4);
	}
}
static void x_none(uint8_t *k, int is64)
{
	(void)k, (void)is64;
}
static void x_magic(uint8_t *k, int is64)
{
	k[1] = 'X';
}
static void x_class(uint8_t *k, int is64)
{
	k[EI_CLASS] = 3;
}
static void x_endian(uint8_t *k, int is64)
{
	k[EI_DATA] = ELFDATA2MSB;
}
static void x_machine(uint8_t *k, int is64)
{
	k[18] = EM_ARM;
}
static void x_type(uint8_t *k, int is64)
{
	k[16] = ET_DYN;
}
static void x_phentsize(uint8_t *k, int is64)
{
	k[is64 ? offsetof(Elf64_Ehdr, e_phentsize) : offsetof(Elf32_Ehdr, e_phentsize)] += 1;
}
static void x_phnum(uint8_t *k, int is64)
{
	k[is64 ? offsetof(Elf64_Ehdr, e_phnum) : offsetof(Elf32_Ehdr, e_phnum)] = 0xFF;
}
static void x_phoff(uint8_t *k, int is64)
{
	if (is64) {
		uint64_t v = 0xFFFFFFFFFFFFFF00ull;

		memcpy(k + offsetof(Elf64_Ehdr, e_phoff), &v, 8);
	} else {
		uint32_t v = 0x10000;

		memcpy(k + offsetof(Elf32_Ehdr, e_phoff), &v, 4);
	}
}
static void x_not_load(uint8_t *k, int is64)
{
	k[PH(is64)] = PT_NOTE;
}
static void x_filesz(uint8_t *k, int is64)
{
	set_ph(k, is64, offsetof(Elf32_Phdr, p_filesz), offsetof(Elf64_Phdr, p_filesz), 0x301);
}
static void x_offset(uint8_t *k, int is64)
{
	set_ph(k, is64, offsetof(Elf32_Phdr, p_offset), offsetof(Elf64_Phdr, p_offset), 0x101);
}
static void x_paddr(uint8_t *k, int is64)
{
	set_ph(k, is64, offsetof(Elf32_Phdr, p_paddr), offsetof(Elf64_Phdr, p_paddr), MEM - 0x100);
}
static void x_paddr_low(uint8_t *k, int is64)
{
	set_ph(k, is64, offsetof(Elf32_Phdr, p_paddr), offsetof(Elf64_Phdr, p_paddr),
	       0x9FB00); /* runs into the EBDA */
}
static void x_memsz_huge(uint8_t *k, int is64)
{
	set_ph(k, is64, offsetof(Elf32_Phdr, p_memsz), offsetof(Elf64_Phdr, p_memsz),
	       is64 ? ~0ull : 0xFFFFFFFF);
}
static void x_entry(uint8_t *k, int is64)
{
	if (is64) {
		uint64_t v = 0x1000;

		memcpy(k + offsetof(Elf64_Ehdr, e_entry), &v, 8);
	} else {
		uint32_t v = 0x1000;

		memcpy(k + offsetof(Elf32_Ehdr, e_entry), &v, 4);
	}
}

TEST(multiboot_checks_elf_fields)
{
	for (int is64 = 0; is64 < 2; is64++) {
		elf_case(is64, x_none, 0, NULL);
		elf_case(is64, x_magic, -ENOEXEC, "not an ELF");
		elf_case(is64, x_class, -ENOEXEC, "class");
		elf_case(is64, x_endian, -ENOEXEC, "little-endian");
		elf_case(is64, x_machine, -ENOEXEC, "machine");
		elf_case(is64, x_type, -ENOEXEC, "executable");
		elf_case(is64, x_phentsize, -EINVAL, "e_phentsize");
		elf_case(is64, x_phnum, -EINVAL, "program headers");
		elf_case(is64, x_phoff, -EINVAL, "program headers");
		elf_case(is64, x_not_load, -ENOEXEC, "nothing to load");
		elf_case(is64, x_filesz, -EINVAL, "filesz");
		elf_case(is64, x_offset, -EINVAL, "past the end");
		elf_case(is64, x_paddr, -EINVAL, "outside usable RAM");
		elf_case(is64, x_paddr_low, -EINVAL, "outside usable RAM");
		elf_case(is64, x_memsz_huge, -EINVAL, "outside usable RAM");
		elf_case(is64, x_entry, -EINVAL, "entry");
	}
}

TEST(multiboot_every_truncation_is_refused_or_safe)
{
	struct multiboot_image img;
	size_t len;
	uint8_t *k = test_mb_elf(0, &len);

	for (size_t l = 0; l < len; l++) {
		uint8_t *copy = malloc(l ? l : 1);

		memcpy(copy, k, l);
		CHECK(parse(copy, l, &img) < 0);
		free(copy);
	}
	free(k);
}

TEST(multiboot_refuses_module_that_does_not_fit)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	uint8_t *k = test_mb_aout(AOUT_LEN);
	static uint8_t big[MEM];
	char line[LAYOUT_CMDLINE_MAX_BYTES + 1];

	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	CHECK_EQ(multiboot_load(&gm, &lo, k, AOUT_LEN, big, sizeof(big), "", &st, err, sizeof(err)),
		 -E2BIG);
	CHECK(strstr(err, "module"));
	/* the image with its bss ends at 1 MiB + 0x3000 */
	CHECK_EQ(multiboot_load(&gm, &lo, k, AOUT_LEN, big, MEM - 0x102001, "", &st, err,
				sizeof(err)),
		 -E2BIG);
	CHECK_EQ(multiboot_load(&gm, &lo, k, AOUT_LEN, big, MEM - 0x103000, "", &st, err,
				sizeof(err)),
		 0);
	CHECK_EQ(g32(&gm, g32(&gm, LAYOUT_MB_INFO_GPA + 24)), 0x103000);
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	CHECK_EQ(multiboot_load(&gm, &lo, k, AOUT_LEN, NULL, 0, line, &st, err, sizeof(err)),
		 -E2BIG);
	free(k);
	gmem_destroy(&gm);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(multiboot_loads_aout_kludge)
	HARNESS_T(multiboot_without_initrd_has_no_modules)
	HARNESS_T(multiboot_loads_elf32_and_elf64)
	HARNESS_T(multiboot_needs_header_in_first_8k)
	HARNESS_T(multiboot_header_must_be_aligned)
	HARNESS_T(multiboot_checks_checksum)
	HARNESS_T(multiboot_refuses_required_flags_it_cannot_honour)
	HARNESS_T(multiboot_checks_aout_fields)
	HARNESS_T(multiboot_aout_load_end_zero_loads_whole_file)
	HARNESS_T(multiboot_checks_elf_fields)
	HARNESS_T(multiboot_every_truncation_is_refused_or_safe)
	HARNESS_T(multiboot_refuses_module_that_does_not_fit)
)
// clang-format on
