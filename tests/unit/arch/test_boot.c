/* test_boot.c — format detection and the single boot entry point: ACPI + loader + state. */
#include <errno.h>
#include <stdlib.h>

#include <asm/bootparam.h>

#include "arch/x86/boot.h"
#include "arch/x86/boot_cpu.h"
#include "arch_test_util.h"
#include "harness.h"

#define MEM (64ull << 20)

static char err[256];

TEST(boot_detects_formats)
{
	size_t len;
	uint8_t *bz = test_bzimage(0x1000, &len), *mb = test_mb_aout(0x1000);
	static const uint8_t junk[16384];

	CHECK_EQ(boot_detect(bz, len), BOOT_FORMAT_BZIMAGE);
	CHECK_EQ(boot_detect(mb, 0x1000), BOOT_FORMAT_MULTIBOOT);
	CHECK_EQ(boot_detect(junk, sizeof(junk)), BOOT_FORMAT_NONE);
	{
		size_t plen;
		uint8_t *pvh = test_pvh_elf(8, &plen);

		CHECK_EQ(boot_detect(pvh, plen), BOOT_FORMAT_PVH);
		/* a multiboot header wins over the PVH note */
		test_mb_put(pvh, 0x2C0, (struct test_mb_header){ .magic = MULTIBOOT_HEADER_MAGIC });
		CHECK_EQ(boot_detect(pvh, plen), BOOT_FORMAT_MULTIBOOT);
		free(pvh);
	}
	CHECK_EQ(boot_detect(NULL, 0), BOOT_FORMAT_NONE);
	CHECK(strcmp(boot_format_name(BOOT_FORMAT_BZIMAGE), "bzImage") == 0);
	free(bz);
	free(mb);
}

TEST(boot_loads_bzimage_with_default_cmdline_and_acpi)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	struct boot_params bp;
	enum boot_format f;
	uint64_t rsdp = 0;
	size_t len;
	uint8_t *k = test_bzimage(0x2000, &len);
	struct boot_request req = { .kernel = k, .kernel_len = len, .nr_vcpus = 2 };

	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	REQUIRE(boot_load(&gm, &lo, &req, &st, &f, &rsdp, err, sizeof(err)) == 0);
	CHECK_EQ(f, BOOT_FORMAT_BZIMAGE);
	CHECK_EQ(rsdp, LAYOUT_ACPI_GPA);
	CHECK(memcmp(gmem_ptr(&gm, rsdp, 8), "RSD PTR ", 8) == 0);
	CHECK(strcmp(gmem_ptr(&gm, LAYOUT_CMDLINE_GPA, sizeof(BOOT_DEFAULT_CMDLINE)),
		     BOOT_DEFAULT_CMDLINE) == 0);
	REQUIRE(gmem_read(&gm, LAYOUT_ZERO_PAGE_GPA, &bp, sizeof(bp)) == 0);
	CHECK_EQ(bp.acpi_rsdp_addr, rsdp);
	CHECK_EQ(st.cs.selector, BOOT_GDT_CODE64_SEL);
	free(k);
	gmem_destroy(&gm);
}

TEST(boot_loads_multiboot_with_given_acpi)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	struct acpi_tables t;
	enum boot_format f;
	uint8_t *k = test_mb_aout(0x1000);
	struct boot_request req = {
		.kernel = k, .kernel_len = 0x1000, .nr_vcpus = 3, .cmdline = "hello", .acpi = &t
	};

	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	REQUIRE(acpi_tables_init(&t, 3, NULL, 0) == 0);
	REQUIRE(acpi_tables_add_mcfg(&t, LAYOUT_PCI_ECAM_GPA, 0, 0, NULL, 0) == 0);
	REQUIRE(boot_load(&gm, &lo, &req, &st, &f, NULL, err, sizeof(err)) == 0);
	CHECK_EQ(f, BOOT_FORMAT_MULTIBOOT);
	CHECK_EQ(st.rax, 0x2BADB002);
	CHECK(strcmp(gmem_ptr(&gm, LAYOUT_CMDLINE_GPA, 6), "hello") == 0);
	t.nr_cpus = 2; /* tables for another VM */
	CHECK_EQ(boot_load(&gm, &lo, &req, &st, &f, NULL, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "vCPUs"));
	free(k);
	gmem_destroy(&gm);
}

TEST(boot_refuses_unknown_and_bad_requests)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	static const uint8_t junk[4096];
	size_t len;
	uint8_t *k = test_bzimage(0x1000, &len);
	struct boot_request req = { .kernel = junk, .kernel_len = sizeof(junk), .nr_vcpus = 1 };

	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	CHECK_EQ(boot_load(&gm, &lo, &req, &st, NULL, NULL, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "neither"));
	req.kernel = k;
	req.kernel_len = len;
	req.nr_vcpus = 0;
	CHECK_EQ(boot_load(&gm, &lo, &req, &st, NULL, NULL, err, sizeof(err)), -EINVAL);
	req.nr_vcpus = 1;
	req.initrd_len = 10;
	CHECK_EQ(boot_load(&gm, &lo, &req, &st, NULL, NULL, err, sizeof(err)), -EINVAL);
	req.initrd_len = 0;
	CHECK_EQ(boot_load(&gm, &lo, &req, &st, NULL, NULL, err, 0), 0); /* no err buffer */
	free(k);
	gmem_destroy(&gm);
}

TEST(boot_loads_pvh_with_default_cmdline)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	enum boot_format f;
	uint64_t rsdp, v;
	size_t len;
	uint8_t *k = test_pvh_elf(8, &len);
	struct boot_request req = { .kernel = k, .kernel_len = len, .nr_vcpus = 1 };

	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	REQUIRE(boot_load(&gm, &lo, &req, &st, &f, &rsdp, err, sizeof(err)) == 0);
	CHECK_EQ(f, BOOT_FORMAT_PVH);
	CHECK_EQ(st.rip, TEST_PVH_ENTRY);
	REQUIRE(gmem_read(&gm, LAYOUT_MB_INFO_GPA + 32, &v, 8) == 0);
	CHECK_EQ(v, rsdp);
	CHECK(strcmp(gmem_ptr(&gm, LAYOUT_CMDLINE_GPA, sizeof(BOOT_DEFAULT_CMDLINE)),
		     BOOT_DEFAULT_CMDLINE) == 0);
	free(k);
	gmem_destroy(&gm);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(boot_detects_formats)
	HARNESS_T(boot_loads_bzimage_with_default_cmdline_and_acpi)
	HARNESS_T(boot_loads_multiboot_with_given_acpi)
	HARNESS_T(boot_refuses_unknown_and_bad_requests)
	HARNESS_T(boot_loads_pvh_with_default_cmdline)
)
// clang-format on
