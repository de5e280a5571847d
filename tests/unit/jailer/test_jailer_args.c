/* test_jailer_args.c — vmon-jailer's command line: Firecracker jailer's flags and its refusals. */
#include "harness.h"
#include "jailer/jailer_args.h"

#include <errno.h>

struct harness_state harness;

static int parse(struct jailer_args *a, char *err, size_t len, int argc, char **argv)
{
	return jailer_parse(argc, argv, a, err, len);
}
#define PARSE(a, err, ...)                                                                         \
	({                                                                                         \
		char *argv_[] = { "vmon-jailer", __VA_ARGS__, NULL };                              \
		parse((a), (err), sizeof(err), (int)(sizeof(argv_) / sizeof(argv_[0])) - 1,        \
		      argv_);                                                                      \
	})

TEST(jailer_args_firecracker_defaults)
{
	struct jailer_args a;
	char err[256];

	REQUIRE(PARSE(&a, err, "--id", "vm-1", "--exec-file", "/usr/bin/vmon", "--uid", "123",
		      "--gid", "100") == 0);
	CHECK(!strcmp(a.id, "vm-1"));
	CHECK(!strcmp(a.exec_file, "/usr/bin/vmon"));
	CHECK_EQ(a.uid, 123);
	CHECK_EQ(a.gid, 100);
	CHECK(!strcmp(a.chroot_base, "/srv/jailer"));
	CHECK_EQ(a.cgroup_version, 1);
	CHECK_EQ(a.nofile, 2048);
	CHECK(!a.has_fsize && !a.daemonize && !a.new_pid_ns && !a.netns && !a.parent_cgroup);
	CHECK_EQ(a.nr_extra, 0);
}

TEST(jailer_args_every_flag_and_the_monitors_arguments)
{
	struct jailer_args a;
	char err[256];

	/* a.extra points into argv: it must outlive the checks */
	char *argv[] = { "vmon-jailer",
			 "--id",
			 "551e7604-e35c-42b3-b825-416853441234",
			 "--exec-file=/x/vmon",
			 "--uid",
			 "0",
			 "--gid",
			 "4294967294",
			 "--chroot-base-dir",
			 "/j",
			 "--netns",
			 "/var/run/netns/n",
			 "--daemonize",
			 "--new-pid-ns",
			 "--cgroup-version",
			 "2",
			 "--cgroup",
			 "cpu.max=50000 100000",
			 "--cgroup",
			 "memory.max=1G",
			 "--parent-cgroup",
			 "all/uvms",
			 "--resource-limit",
			 "fsize=250000000",
			 "--resource-limit",
			 "no-file=1024",
			 "--",
			 "--api-sock",
			 "a.sock",
			 NULL };

	REQUIRE(jailer_parse((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv, &a, err,
			     sizeof(err)) == 0);
	CHECK_EQ(a.gid, 4294967294u);
	CHECK(a.daemonize && a.new_pid_ns);
	CHECK_EQ(a.cgroup_version, 2);
	REQUIRE(a.nr_cgroups == 2);
	CHECK(!strcmp(a.cgroups[0].file, "cpu.max") && !strcmp(a.cgroups[0].controller, "cpu"));
	CHECK(!strcmp(a.cgroups[0].value, "50000 100000"));
	CHECK(!strcmp(a.cgroups[1].controller, "memory") && !strcmp(a.cgroups[1].value, "1G"));
	CHECK(!strcmp(a.parent_cgroup, "all/uvms"));
	CHECK(a.has_fsize && a.fsize == 250000000);
	CHECK_EQ(a.nofile, 1024);
	REQUIRE(a.nr_extra == 2);
	CHECK(!strcmp(a.extra[0], "--api-sock") && !strcmp(a.extra[1], "a.sock"));
}

TEST(jailer_args_refuses_bad_ids)
{
	char err[256];

	CHECK(jailer_check_id("", err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "1 to 64") != NULL);
	CHECK(jailer_check_id("a/b", err, sizeof(err)) == -EINVAL);
	CHECK(jailer_check_id("a.b", err, sizeof(err)) == -EINVAL);
	CHECK(jailer_check_id("../x", err, sizeof(err)) == -EINVAL);
	CHECK(jailer_check_id("0123456789012345678901234567890123456789012345678901234567890123",
			      err, sizeof(err)) == 0);
	CHECK(jailer_check_id("01234567890123456789012345678901234567890123456789012345678901234",
			      err, sizeof(err)) == -EINVAL);
}

TEST(jailer_args_refuses_bad_values)
{
	/* each row: the words after "--id x --exec-file f", and what the one line must say */
	static const struct {
		const char *words[4];
		const char *says;
	} rows[] = {
		{ { "--uid", "-1", "--gid", "1" }, "--uid" },
		/* (gid_t)-1 means "unchanged" to setresgid */
		{ { "--uid", "1", "--gid", "4294967295" }, "--gid" },
		{ { "--gid", "1", "--uid" }, "needs a value" },
		{ { "--gid", "1" }, "missing --uid" },
		{ { "--cgroup-version", "3" }, "--cgroup-version" },
		{ { "--cgroup", "nodot=1" }, "CONTROLLER.PROPERTY" },
		{ { "--cgroup", "../cpu.max=1" }, "CONTROLLER.PROPERTY" },
		{ { "--cgroup", "cpu.max=" }, "FILE=VALUE" },
		{ { "--cgroup", "cpu.max=1=2" }, "FILE=VALUE" },
		{ { "--resource-limit", "fsize=-1" }, "--resource-limit" },
		{ { "--resource-limit", "cpu=1" }, "--resource-limit" },
		{ { "--parent-cgroup", "/abs" }, "relative path" },
		{ { "--parent-cgroup", "a/./b" }, "relative path" },
		{ { "stray" }, "go after --" },
		{ { "--bogus" }, "unknown option" },
	};

	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		char *argv[12] = { "vmon-jailer", "--id", "x", "--exec-file", "f" };
		bool has_uid = false, has_gid = false;
		struct jailer_args a;
		char err[256] = "";
		int argc = 5;

		for (int w = 0; w < 4 && rows[r].words[w]; w++) {
			has_uid |= !strcmp(rows[r].words[w], "--uid");
			has_gid |= !strcmp(rows[r].words[w], "--gid");
			argv[argc++] = (char *)rows[r].words[w];
		}
		if (!has_gid) { /* the required flags the row does not name come first */
			memmove(argv + 7, argv + 5, (size_t)(argc - 5) * sizeof(*argv));
			argv[5] = "--gid", argv[6] = "1", argc += 2;
		}
		if (!has_uid && strcmp(rows[r].says, "missing --uid")) {
			memmove(argv + 7, argv + 5, (size_t)(argc - 5) * sizeof(*argv));
			argv[5] = "--uid", argv[6] = "1", argc += 2;
		}
		argv[argc] = NULL;
		if (jailer_parse(argc, argv, &a, err, sizeof(err)) != -EINVAL ||
		    !strstr(err, rows[r].says)) {
			printf("#   row %zu (%s ...): got '%s'\n", r, rows[r].words[0], err);
			CHECK(0);
		}
	}
}

TEST(jailer_args_relative_paths)
{
	CHECK(jailer_check_relative("vmon"));
	CHECK(jailer_check_relative("a/b/c"));
	CHECK(jailer_check_relative("a..b/.c"));
	CHECK(!jailer_check_relative(""));
	CHECK(!jailer_check_relative("/a"));
	CHECK(!jailer_check_relative("a/.."));
	CHECK(!jailer_check_relative("./a"));
	CHECK(!jailer_check_relative("a//../b"));
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(jailer_args_firecracker_defaults)
	HARNESS_T(jailer_args_every_flag_and_the_monitors_arguments)
	HARNESS_T(jailer_args_refuses_bad_ids)
	HARNESS_T(jailer_args_refuses_bad_values)
	HARNESS_T(jailer_args_relative_paths)
)
// clang-format on
