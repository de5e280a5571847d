/* test_jailer_cgroup.c — where /proc/mounts puts the cgroup hierarchies, v1 and v2. */
#include "harness.h"
#include "jailer/jailer_cgroup.h"

#include <errno.h>

struct harness_state harness;

static const char mounts_v1[] =
	"proc /proc proc rw,relatime 0 0\n"
	"tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
	"cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0\n"
	"cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\n"
	"cgroup /sys/fs/cgroup/memory\\040x cgroup rw,relatime,memory 0 0\n"
	"cgroup /sys/fs/cgroup/net_cls cgroup rw,net_cls,net_prio 0 0\n";
static const char mounts_v2[] = "sysfs /sys sysfs rw 0 0\n"
				"cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0";

TEST(jailer_cgroup_v1_controller_mounts)
{
	char out[256];

	REQUIRE(cgroup_mount_of(mounts_v1, 1, "cpu", out, sizeof(out)) == 0);
	CHECK(!strcmp(out, "/sys/fs/cgroup/cpu,cpuacct"));
	REQUIRE(cgroup_mount_of(mounts_v1, 1, "cpuacct", out, sizeof(out)) == 0);
	CHECK(!strcmp(out, "/sys/fs/cgroup/cpu,cpuacct"));
	REQUIRE(cgroup_mount_of(mounts_v1, 1, "cpuset", out, sizeof(out)) == 0);
	CHECK(!strcmp(out, "/sys/fs/cgroup/cpuset"));
	REQUIRE(cgroup_mount_of(mounts_v1, 1, "memory", out, sizeof(out)) == 0);
	CHECK(!strcmp(out, "/sys/fs/cgroup/memory x")); /* \040 decoded */
	CHECK(cgroup_mount_of(mounts_v1, 1, "net", out, sizeof(out)) == -ENOENT); /* whole names */
	CHECK(cgroup_mount_of(mounts_v1, 1, "pids", out, sizeof(out)) == -ENOENT);
	CHECK(cgroup_mount_of(mounts_v1, 2, NULL, out, sizeof(out)) == -ENOENT);
}

TEST(jailer_cgroup_v2_unified_mount)
{
	char out[256];

	REQUIRE(cgroup_mount_of(mounts_v2, 2, NULL, out, sizeof(out)) == 0);
	CHECK(!strcmp(out, "/sys/fs/cgroup"));
	CHECK(cgroup_mount_of(mounts_v2, 1, "memory", out, sizeof(out)) == -ENOENT);
	CHECK(cgroup_mount_of(mounts_v2, 2, NULL, out, 8) == -ENAMETOOLONG);
	CHECK(cgroup_mount_of("", 2, NULL, out, sizeof(out)) == -ENOENT);
}

HARNESS_MAIN(HARNESS_T(jailer_cgroup_v1_controller_mounts)
		     HARNESS_T(jailer_cgroup_v2_unified_mount))
