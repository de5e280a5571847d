/* test_bzimage.c — Linux boot protocol loader: a synthetic bzImage, every checked field flipped,
 * truncations, a real kernel when present. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <asm/e820.h>

#include "arch/x86/boot_bzimage.h"
#include "arch/x86/boot_cpu.h"
#include "arch/x86/layout.h"
#include "arch_test_util.h"
#include "harness.h"

#define MEM (64ull << 20)

static char err[256];

/* Parse @k against a MEM layout; returns the errno and leaves the reason in err. */
static int parse(const uint8_t *k, size_t len, struct bzimage_info *info)
{
	struct layout lo;

	if (layout_init(&lo, MEM, NULL, 0))
		abort();
	err[0] = 0;
	return bzimage_parse(k, len, &lo, info, err, sizeof(err));
}

TEST(bzimage_loads_synthetic_kernel)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	struct boot_params bp;
	uint8_t initrd[10000];
	size_t len;
	uint8_t *k = test_bzimage(0x10000, &len);
	uint64_t initrd_gpa, *pd;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 3);
	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	REQUIRE(bzimage_load(&gm, &lo, k, len, initrd, sizeof(initrd), "console=ttyS0 quiet",
			     0xE0000, &st, err, sizeof(err)) == 0);
	/* pref_address 16 MiB fits 64 MiB: the kernel goes there */
	CHECK_EQ(st.rip, 0x1000000 + 0x200);
	CHECK_EQ(st.rsi, LAYOUT_ZERO_PAGE_GPA);
	CHECK(memcmp(gmem_ptr(&gm, 0x1000000, 0x10000), k + TEST_BZ_SETUP_BYTES, 0x10000) == 0);
	CHECK_EQ(st.cs.selector, BOOT_GDT_CODE64_SEL);
	CHECK_EQ(st.cs.l, 1);
	CHECK_EQ(st.cs.db, 0);
	CHECK_EQ(st.ds.selector, BOOT_GDT_DATA_SEL);
	CHECK_EQ(st.ss.selector, BOOT_GDT_DATA_SEL);
	CHECK_EQ(st.cr0 & 0x80000001, 0x80000001);
	CHECK_EQ(st.cr4 & 0x20, 0x20);
	CHECK_EQ(st.efer, BOOT_EFER_LME | BOOT_EFER_LMA);
	CHECK_EQ(st.cr3, LAYOUT_PML4_GPA);
	CHECK_EQ(st.rflags & 0x200, 0); /* IF clear */
	CHECK_EQ(st.gdt.base, LAYOUT_GDT_GPA);

	REQUIRE(gmem_read(&gm, LAYOUT_ZERO_PAGE_GPA, &bp, sizeof(bp)) == 0);
	CHECK_EQ(bp.hdr.type_of_loader, 0xFF);
	CHECK_EQ(bp.hdr.loadflags & (LOADED_HIGH | CAN_USE_HEAP), LOADED_HIGH | CAN_USE_HEAP);
	CHECK_EQ(bp.hdr.heap_end_ptr, 0xFE00 - 0x200);
	CHECK_EQ(bp.hdr.cmd_line_ptr, LAYOUT_CMDLINE_GPA);
	CHECK_EQ(bp.hdr.version, 0x020F);
	CHECK_EQ(bp.hdr.kernel_alignment, 0x200000); /* header copied */
	CHECK_EQ(bp.acpi_rsdp_addr, 0xE0000);
	CHECK(strcmp(gmem_ptr(&gm, LAYOUT_CMDLINE_GPA, 20), "console=ttyS0 quiet") == 0);
	initrd_gpa = bp.hdr.ramdisk_image | ((uint64_t)bp.ext_ramdisk_image << 32);
	CHECK_EQ(bp.hdr.ramdisk_size, sizeof(initrd));
	CHECK_EQ(initrd_gpa & 0xfff, 0);
	CHECK(initrd_gpa + sizeof(initrd) <= MEM);
	CHECK(initrd_gpa + sizeof(initrd) > MEM - 4096); /* as high as possible */
	CHECK(initrd_gpa >= 0x1000000 + (8 << 20));
	CHECK(memcmp(gmem_ptr(&gm, initrd_gpa, sizeof(initrd)), initrd, sizeof(initrd)) == 0);
	CHECK_EQ(bp.e820_entries, 4);
	CHECK_EQ(bp.e820_table[2].addr, 0x100000);
	CHECK_EQ(bp.e820_table[2].type, E820_RAM);

	/* identity page tables: 2 MiB pages to 4 GiB */
	pd = gmem_ptr(&gm, LAYOUT_PD_GPA, 4 * 4096);
	REQUIRE(pd);
	CHECK_EQ(pd[0], 0x83);
	CHECK_EQ(pd[2047], (2047ull << 21) | 0x83);
	CHECK_EQ(*(uint64_t *)gmem_ptr(&gm, LAYOUT_PML4_GPA, 8), LAYOUT_PDPT_GPA | 3);
	/* GDT 0x10: 64-bit code, L set, D clear */
	CHECK_EQ(*(uint64_t *)gmem_ptr(&gm, LAYOUT_GDT_GPA + 0x10, 8), 0x00AF9B000000FFFFull);
	CHECK_EQ(*(uint64_t *)gmem_ptr(&gm, LAYOUT_GDT_GPA + 0x18, 8), 0x00CF93000000FFFFull);
	free(k);
	gmem_destroy(&gm);
}

TEST(bzimage_refuses_short_file)
{
	struct bzimage_info info;
	size_t len;
	uint8_t *k = test_bzimage(0x1000, &len);

	CHECK_EQ(parse(k, 0x1F1 + 10, &info), -ENOEXEC);
	CHECK(strstr(err, "too short"));
	CHECK_EQ(parse(NULL, 0, &info), -ENOEXEC);
	/* setup code present, no kernel after it */
	CHECK_EQ(parse(k, TEST_BZ_SETUP_BYTES, &info), -EINVAL);
	CHECK(strstr(err, "setup code"));
	/* kernel shorter than syssize says */
	CHECK_EQ(parse(k, len - 16, &info), -EINVAL);
	CHECK(strstr(err, "truncated"));
	CHECK_EQ(parse(k, len, &info), 0);
	free(k);
}

TEST(bzimage_every_truncation_is_refused)
{
	struct bzimage_info info;
	size_t len;
	uint8_t *k = test_bzimage(0x800, &len);

	for (size_t l = 0; l < len; l++) {
		uint8_t *copy = malloc(l ? l : 1); /* exact-size buffer: ASan sees overreads */

		memcpy(copy, k, l);
		CHECK(parse(copy, l, &info) < 0);
		free(copy);
	}
	free(k);
}

/* One edit of a setup_header field: set it to @value, or with @clear, clear the bits of @value. */
struct hdr_edit {
	size_t off, size;
	uint64_t value;
	bool clear;
};

#define SET(field, v)                                                                              \
	{                                                                                          \
		offsetof(struct setup_header, field), sizeof(((struct setup_header *)0)->field),   \
			(v), false                                                                 \
	}
#define CLEAR(field, v)                                                                            \
	{                                                                                          \
		offsetof(struct setup_header, field), sizeof(((struct setup_header *)0)->field),   \
			(v), true                                                                  \
	}

/*
 * A synthetic bzImage with some header fields edited, what parsing it gives: @rc, a
 * reason found in the message (the whole message with @exact), the bzImage no longer
 * detected with @undetected; on success, @load_gpa and @reserve_end_gpa when not 0.
 */
struct hdr_case {
	const char *what;
	struct hdr_edit edits[3];
	int rc;
	const char *reason;
	bool exact, undetected;
	uint64_t load_gpa, reserve_end_gpa;
};

static const struct hdr_case hdr_cases[] = {
	{ "as built: relocatable, at pref_address 16 MiB",
	  { { 0 } },
	  0,
	  NULL,
	  false,
	  false,
	  0x1000000,
	  0x1000000 + (8 << 20) },
	{ "boot flag", { SET(boot_flag, 0xAA56) }, -ENOEXEC, "boot flag", false, true },
	{ "magic", { SET(header, 0x53726447) }, -ENOEXEC, "HdrS", false, true },
	{ "protocol 2.04",
	  { SET(version, 0x0204) },
	  -ENOEXEC,
	  "kernel: bzImage protocol 2.04 is older than 2.06",
	  true },
	{ "zImage (no LOADED_HIGH)", { SET(loadflags, 0) }, -ENOEXEC, "LOADED_HIGH" },
	{ "no 64-bit entry", { CLEAR(xloadflags, XLF_KERNEL_64) }, -ENOEXEC, "XLF_KERNEL_64" },
	{ "syssize past the file", { SET(syssize, 0xFFFFFFFF) }, -EINVAL, "truncated" },
	{ "kernel_alignment not a power of two",
	  { SET(kernel_alignment, 0x300000) },
	  -EINVAL,
	  "kernel_alignment" },
	{ "kernel_alignment 0", { SET(kernel_alignment, 0) }, -EINVAL },
	{ "kernel_alignment 0, not relocatable: not used",
	  { SET(kernel_alignment, 0), SET(relocatable_kernel, 0) },
	  0 },
	/* not relocatable: loaded at 1 MiB, runs (decompresses) at pref_address */
	{ "not relocatable",
	  { SET(relocatable_kernel, 0) },
	  0,
	  NULL,
	  false,
	  false,
	  0x100000,
	  0x1000000 + (8 << 20) },
	/* misaligned for 2 MiB: loaded at 1 MiB, runs at pref_address aligned up */
	{ "pref_address misaligned",
	  { SET(pref_address, 0x1100000) },
	  0,
	  NULL,
	  false,
	  false,
	  0x100000,
	  0x1200000 + (8 << 20) },
	/* init_size does not fit at pref_address: refused, the kernel would run there */
	{ "init_size past RAM at pref_address",
	  { SET(pref_address, 58 << 20) },
	  -E2BIG,
	  "init_size" },
	{ "pref_address outside RAM", { SET(pref_address, 1ull << 40) }, -E2BIG, "pref_address" },
	/* pref_address 0: 1 MiB, runtime aligned up to 2 MiB */
	{ "pref_address 0",
	  { SET(pref_address, 0) },
	  0,
	  NULL,
	  false,
	  false,
	  0x100000,
	  0x200000 + (8 << 20) },
	/* before 2.10 pref_address and init_size do not exist: junk there is ignored */
	{ "protocol 2.09 ignores pref_address and init_size",
	  { SET(version, 0x0209), SET(pref_address, 1ull << 40), SET(init_size, 0xFFFFFFFF) },
	  0,
	  NULL,
	  false,
	  false,
	  0x100000 },
	{ "init_size past RAM",
	  { SET(pref_address, 0x200000), SET(init_size, 63 << 20) },
	  -E2BIG,
	  "init_size" },
	{ "init_size up to the end of RAM",
	  { SET(pref_address, 0x200000), SET(init_size, 62 << 20) },
	  0,
	  NULL,
	  false,
	  false,
	  0x200000,
	  64 << 20 },
	{ "init_size 4 GiB", { SET(pref_address, 0x200000), SET(init_size, 0xFFFFFFFF) }, -E2BIG },
};

static void hdr_edit(struct setup_header *h, const struct hdr_edit *e)
{
	uint64_t v = 0;

	memcpy(&v, (uint8_t *)h + e->off, e->size); /* little-endian, as the header is */
	v = e->clear ? v & ~e->value : e->value;
	memcpy((uint8_t *)h + e->off, &v, e->size);
}

TEST(bzimage_header_fields_are_checked)
{
	struct bzimage_info info;
	size_t len;
	uint8_t *k = test_bzimage(0x1000, &len);
	const struct setup_header orig = test_bz_hdr(k);

	for (size_t i = 0; i < sizeof(hdr_cases) / sizeof(hdr_cases[0]); i++) {
		const struct hdr_case *c = &hdr_cases[i];
		struct setup_header h = orig;
		int failed = harness.failed;

		for (size_t j = 0; j < 3 && c->edits[j].size; j++)
			hdr_edit(&h, &c->edits[j]);
		test_bz_set_hdr(k, &h);
		CHECK_EQ(parse(k, len, &info), c->rc);
		if (c->reason)
			CHECK(c->exact ? strcmp(err, c->reason) == 0
				       : strstr(err, c->reason) != NULL);
		if (c->undetected)
			CHECK(!bzimage_detect(k, len));
		if (c->rc == 0 && c->load_gpa)
			CHECK_EQ(info.load_gpa, c->load_gpa);
		if (c->rc == 0 && c->reserve_end_gpa)
			CHECK_EQ(info.reserve_end_gpa, c->reserve_end_gpa);
		if (harness.failed != failed)
			printf("#   in case: %s\n", c->what);
	}
	free(k);
}

TEST(bzimage_accepts_protocol_2_06)
{
	struct bzimage_info info;
	size_t len;
	uint8_t *k = test_bzimage(0x1000, &len);
	struct setup_header h = test_bz_hdr(k);

	h.version = 0x0206;
	test_bz_set_hdr(k, &h);
	CHECK_EQ(parse(k, len, &info), 0);
	CHECK_EQ(info.protocol, 0x0206);
	free(k);
}

TEST(bzimage_setup_sects_zero_means_four)
{
	struct bzimage_info info;
	size_t len;
	uint8_t *k = test_bzimage(0x1000, &len);
	struct setup_header h = test_bz_hdr(k);

	h.setup_sects = 0;
	test_bz_set_hdr(k, &h);
	CHECK_EQ(parse(k, len, &info), 0);
	CHECK_EQ(info.setup_bytes, 5 * 512);
	h.setup_sects = 200; /* setup would end past the file */
	test_bz_set_hdr(k, &h);
	CHECK_EQ(parse(k, len, &info), -EINVAL);
	h.setup_sects = 2; /* more kernel than syssize: fine */
	test_bz_set_hdr(k, &h);
	CHECK_EQ(parse(k, len, &info), 0);
	CHECK_EQ(info.kernel_len, len - 3 * 512);
	free(k);
}

TEST(bzimage_checks_cmdline_size)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	size_t len;
	uint8_t *k = test_bzimage(0x1000, &len);
	struct setup_header h = test_bz_hdr(k);
	char line[40];

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	h.cmdline_size = 38;
	test_bz_set_hdr(k, &h);
	CHECK_EQ(bzimage_load(&gm, &lo, k, len, NULL, 0, line, 0, &st, err, sizeof(err)), -E2BIG);
	CHECK(strstr(err, "39 bytes"));
	h.cmdline_size = 39;
	test_bz_set_hdr(k, &h);
	CHECK_EQ(bzimage_load(&gm, &lo, k, len, NULL, 0, line, 0, &st, err, sizeof(err)), 0);
	free(k);
	gmem_destroy(&gm);
}

TEST(bzimage_places_initrd_below_initrd_addr_max)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	struct boot_params bp;
	size_t len;
	uint8_t *k = test_bzimage(0x1000, &len);
	struct setup_header h = test_bz_hdr(k);
	static uint8_t initrd[3 << 20];

	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	h.initrd_addr_max = (40 << 20) - 1;
	test_bz_set_hdr(k, &h);
	REQUIRE(bzimage_load(&gm, &lo, k, len, initrd, 5000, "", 0, &st, err, sizeof(err)) == 0);
	REQUIRE(gmem_read(&gm, LAYOUT_ZERO_PAGE_GPA, &bp, sizeof(bp)) == 0);
	CHECK_EQ(bp.hdr.ramdisk_image, (40 << 20) - 8192);
	CHECK_EQ(bp.hdr.ramdisk_size, 5000);
	CHECK_EQ(bp.ext_ramdisk_image, 0);
	/* room between the kernel's end (24 MiB) and 26 MiB: 2 MiB, 3 MiB do not fit */
	h.initrd_addr_max = (26 << 20) - 1;
	test_bz_set_hdr(k, &h);
	CHECK_EQ(bzimage_load(&gm, &lo, k, len, initrd, sizeof(initrd), "", 0, &st, err,
			      sizeof(err)),
		 -E2BIG);
	CHECK(strstr(err, "3145728 bytes"));
	CHECK(strstr(err, "2097152 bytes free"));
	CHECK_EQ(bzimage_load(&gm, &lo, k, len, initrd, 2 << 20, "", 0, &st, err, sizeof(err)), 0);
	/* initrd_addr_max below the kernel: nothing fits */
	h.initrd_addr_max = (1 << 20) - 1;
	test_bz_set_hdr(k, &h);
	CHECK_EQ(bzimage_load(&gm, &lo, k, len, initrd, 4096, "", 0, &st, err, sizeof(err)),
		 -E2BIG);
	free(k);
	gmem_destroy(&gm);
}

TEST(bzimage_rsdp_only_from_protocol_2_14)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	struct boot_params bp;
	size_t len;
	uint8_t *k = test_bzimage(0x1000, &len);
	struct setup_header h = test_bz_hdr(k);

	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	h.version = 0x020D;
	test_bz_set_hdr(k, &h);
	REQUIRE(bzimage_load(&gm, &lo, k, len, NULL, 0, "", 0xE0000, &st, err, sizeof(err)) == 0);
	REQUIRE(gmem_read(&gm, LAYOUT_ZERO_PAGE_GPA, &bp, sizeof(bp)) == 0);
	CHECK_EQ(bp.acpi_rsdp_addr, 0);
	CHECK_EQ(bp.hdr.ramdisk_image, 0);
	free(k);
	gmem_destroy(&gm);
}

TEST(bzimage_refuses_guest_memory_smaller_than_layout)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	size_t len;
	uint8_t *k = test_bzimage(0x1000, &len);

	gmem_init(&gm);
	REQUIRE(layout_init(&lo, MEM, NULL, 0) == 0);
	REQUIRE(gmem_add_ram(&gm, 0, 1 << 20) == 0);
	CHECK_EQ(bzimage_load(&gm, &lo, k, len, NULL, 0, "", 0, &st, err, sizeof(err)), -EFAULT);
	free(k);
	gmem_destroy(&gm);
}

/* The Debian cloud kernel, when the machine has one. */
TEST(bzimage_loads_host_kernel)
{
	char path[512] = "";
	struct dirent *de;
	DIR *d = opendir("/boot");
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	struct boot_params bp;
	uint8_t *k;
	long len;
	FILE *f;

	if (!d)
		SKIP("no /boot");
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vmlinuz-", 8) && strstr(de->d_name, "-cloud-amd64"))
			snprintf(path, sizeof(path), "/boot/%s", de->d_name);
	closedir(d);
	if (!path[0])
		SKIP("no /boot/vmlinuz-*-cloud-amd64");
	f = fopen(path, "rb");
	if (!f)
		SKIP("kernel image not readable");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	k = malloc((size_t)len);
	REQUIRE(k && fread(k, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	CHECK(bzimage_detect(k, (size_t)len));
	REQUIRE(test_guest(&gm, &lo, 256ull << 20) == 0);
	REQUIRE(bzimage_load(&gm, &lo, k, (size_t)len, NULL, 0, "console=ttyS0", 0xE0000, &st, err,
			     sizeof(err)) == 0);
	REQUIRE(gmem_read(&gm, LAYOUT_ZERO_PAGE_GPA, &bp, sizeof(bp)) == 0);
	CHECK(bp.hdr.version >= 0x020C);
	CHECK_EQ(st.rip, bp.hdr.pref_address + 0x200);
	CHECK_EQ(bp.acpi_rsdp_addr, 0xE0000);
	/* too little memory for its init_size */
	gmem_destroy(&gm);
	REQUIRE(test_guest(&gm, &lo, 16ull << 20) == 0);
	CHECK_EQ(bzimage_load(&gm, &lo, k, (size_t)len, NULL, 0, "", 0, &st, err, sizeof(err)),
		 -E2BIG);
	free(k);
	gmem_destroy(&gm);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(bzimage_loads_synthetic_kernel)
	HARNESS_T(bzimage_refuses_short_file)
	HARNESS_T(bzimage_every_truncation_is_refused)
	HARNESS_T(bzimage_header_fields_are_checked)
	HARNESS_T(bzimage_accepts_protocol_2_06)
	HARNESS_T(bzimage_setup_sects_zero_means_four)
	HARNESS_T(bzimage_checks_cmdline_size)
	HARNESS_T(bzimage_places_initrd_below_initrd_addr_max)
	HARNESS_T(bzimage_rsdp_only_from_protocol_2_14)
	HARNESS_T(bzimage_refuses_guest_memory_smaller_than_layout)
	HARNESS_T(bzimage_loads_host_kernel)
)
// clang-format on
