/* test_memuffd.c — the Uffd backend's layout message, and lazy regions counted whole. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "mem/gmem.h"
#include "snapshot/memfile.h"
#include "snapshot/memuffd.h"

struct harness_state harness;

TEST(memuffd_layout_is_firecrackers_json)
{
	struct gmem gm;
	char json[1024], want[1024];
	int n;

	gmem_init(&gm);
	REQUIRE(gmem_add_ram(&gm, 0, 2 << 20) == 0);
	REQUIRE(gmem_add_ram(&gm, 1ull << 32, 1 << 20) == 0);
	n = memuffd_mappings_json(&gm, json, sizeof(json));
	snprintf(want, sizeof(want),
		 "[{\"base_host_virt_addr\":%llu,\"size\":2097152,\"offset\":0,\"page_size\":4096,"
		 "\"page_size_kib\":4096},{\"base_host_virt_addr\":%llu,\"size\":1048576,"
		 "\"offset\":2097152,\"page_size\":4096,\"page_size_kib\":4096}]",
		 (unsigned long long)(uintptr_t)gm.regions[0].hva,
		 (unsigned long long)(uintptr_t)gm.regions[1].hva);
	CHECK_EQ(n, strlen(want));
	CHECK(!strcmp(json, want));
	CHECK(memuffd_mappings_json(&gm, json, 40) == -ENOSPC);
	CHECK(memuffd_mappings_json(&gm, json, (size_t)n) == -ENOSPC); /* no room for the NUL */
	gmem_destroy(&gm);
}

TEST(memuffd_lazy_region_counts_every_page)
{
	struct gmem gm;
	uint64_t map[8] = { 0 };

	gmem_init(&gm);
	REQUIRE(gmem_add_ram(&gm, 0, 64 * 4096) == 0);
	gm.regions[0].lazy = true;
	/* no page was touched here, but the handler may hold data for each */
	memfile_pages_with_data(-1, &gm.regions[0], map);
	CHECK_EQ(map[0], ~0ull);
	gmem_destroy(&gm);
}

TEST(memuffd_attach_without_a_handler_fails_and_leaves_nothing)
{
	struct gmem gm;
	char err[256] = "";
	int ret;

	gmem_init(&gm);
	REQUIRE(gmem_add_ram(&gm, 0, 16 * 4096) == 0);
	ret = memuffd_attach(&gm, "/nonexistent/uffd.sock", err, sizeof(err));
	if (ret == -EPERM || ret == -ENOSYS || strstr(err, "cannot make a userfaultfd"))
		SKIP("no userfaultfd for this process");
	CHECK(ret < 0);
	CHECK(strstr(err, "cannot reach the Uffd handler at /nonexistent/uffd.sock") != NULL);
	CHECK(!gm.regions[0].lazy && gm.nr_owned_fds == 0);
	gm.regions[0].hva[0] = 1; /* not registered any more: a plain page */
	CHECK_EQ(gm.regions[0].hva[0], 1);
	gmem_destroy(&gm);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(memuffd_layout_is_firecrackers_json)
	HARNESS_T(memuffd_lazy_region_counts_every_page)
	HARNESS_T(memuffd_attach_without_a_handler_fails_and_leaves_nothing)
)
// clang-format on
