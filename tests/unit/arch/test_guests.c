/*
 * test_guests.c — the project's own multiboot guests (guest/, built by this
 * build) loaded through boot_load(): detected as multiboot, loaded at 1 MiB,
 * clear of the AP trampoline page, entry state per the spec. The ELF paths
 * come as arguments from meson: in a build with the guests it is in both the
 * unit and the kvm suite, so tests/run's kvm tier (whose build has them)
 * runs it; the unit tier's -Dguests=false build only skips it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "arch/x86/boot.h"
#include "arch/x86/boot_multiboot.h"
#include "arch_test_util.h"
#include "harness.h"
#include "util/compiler.h"

static int g_argc;
static char **g_argv;

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

TEST(guests_load_as_multiboot)
{
	if (g_argc < 2)
		SKIP("no guest ELFs given (a -Dguests=false build; the kvm tier runs this test)");
	for (int i = 1; i < g_argc; i++) {
		struct gmem gm;
		struct layout lo;
		struct x86_cpu_state st;
		struct multiboot_image img;
		enum boot_format f;
		char err[256] = "";
		static const uint8_t initrd[5000];
		size_t len = 0;
		uint8_t *k = slurp(g_argv[i], &len);
		struct boot_request req = { .kernel = k,
					    .kernel_len = len,
					    .initrd = initrd,
					    .initrd_len = sizeof(initrd),
					    .cmdline = "test=1",
					    .nr_vcpus = 4 };

		REQUIRE(k);
		REQUIRE(test_guest(&gm, &lo, 128ull << 20) == 0);
		CHECK_EQ(boot_detect(k, len), BOOT_FORMAT_MULTIBOOT);
		if (boot_load(&gm, &lo, &req, &st, &f, NULL, err, sizeof(err))) {
			printf("#   %s: %s\n", g_argv[i], err);
			harness.failed++;
		}
		REQUIRE(multiboot_parse(k, len, &lo, &img, err, sizeof(err)) == 0);
		CHECK(img.aout_kludge);
		CHECK_EQ(img.load.start_gpa, 0x100000);
		CHECK(img.load.start_gpa >= LAYOUT_AP_TRAMPOLINE_GPA + 0x1000);
		CHECK_EQ(st.rip, img.entry_gpa);
		CHECK_EQ(st.rax, 0x2BADB002);
		CHECK_EQ(st.rbx, LAYOUT_MB_INFO_GPA);
		free(k);
		gmem_destroy(&gm);
	}
}

struct harness_state harness;

int main(int argc, char **argv)
{
	static const struct harness_test tests[] = { HARNESS_T(guests_load_as_multiboot) };

	g_argc = argc;
	g_argv = argv;
	return harness_run(tests, (int)ARRAY_SIZE(tests));
}
