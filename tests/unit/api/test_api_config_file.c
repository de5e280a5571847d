/* test_api_config_file.c — Firecracker's --config-file through api_config_file_apply/load. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_config_file.h"
#include "api_test_util.h"

static char dir[] = "/tmp/vmon-test-cfg-XXXXXX";
static char img[160];

/* write_cfg - put @text in a file of the temporary directory; returns its path. */
static const char *write_cfg(const char *text)
{
	static char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/vm.json", dir);
	f = fopen(path, "w");
	if (!f)
		return "/nonexistent";
	fputs(text, f);
	fclose(f);
	return path;
}

static void setup(void)
{
	FILE *f;

	if (dir[sizeof(dir) - 2] == 'X' && !mkdtemp(dir))
		return;
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	f = fopen(img, "w");
	if (f)
		fclose(f);
}

TEST(config_file_good)
{
	struct api a;
	char text[2048], err[512];
	const char *p;

	setup();
	snprintf(text, sizeof(text),
		 "{\n"
		 "  \"mmds-config\": {\"network_interfaces\": [\"eth0\"], \"version\": \"V2\"},\n"
		 "  \"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": "
		 "\"console=ttyS0\"},\n"
		 "  \"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\", "
		 "\"is_root_device\": true,\n"
		 "               \"is_read_only\": false}],\n"
		 "  \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 512},\n"
		 "  \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": "
		 "\"tap0\"}],\n"
		 "  \"entropy\": {},\n"
		 "  \"balloon\": null, \"vsock\": null, \"logger\": null, \"metrics\": null\n"
		 "}\n",
		 img, img);
	p = write_cfg(text);
	fresh(&a);
	a.host_files = true;
	CHECK_EQ(api_config_file_apply(&a, p, err, sizeof(err)), 0);
	CHECK_EQ(a.cfg.cpus, 2);
	CHECK_EQ(a.cfg.mem_bytes, 512ull << 20);
	CHECK_EQ(a.cfg.nr_disks, 1);
	CHECK_EQ(a.cfg.nr_nets, 1);
	CHECK(vm_config_has_class(&a.cfg, "rng"));
	CHECK(a.cfg.mmds.on && a.cfg.mmds.version == 2 && a.cfg.nets[0].mmds);
	CHECK(!a.cfg.balloon.on);
	CHECK(a.cfg.cmdline && !strcmp(a.cfg.cmdline, "console=ttyS0"));
	CHECK_EQ(api_instance_start(&a, err, sizeof(err)), 0);
	CHECK_EQ(fake.starts, 1);
	CHECK_EQ(a.state, API_RUNNING);
	api_destroy(&a);

	{
		struct vm_config cfg;

		vm_config_init(&cfg);
		CHECK_EQ(api_config_file_load(p, &cfg, err, sizeof(err)), 0);
		CHECK_EQ(cfg.cpus, 2);
		CHECK(cfg.kernel_path && !strcmp(cfg.kernel_path, img));
		vm_config_free(&cfg);
	}
}

TEST(config_file_balloon_section)
{
	struct api a;
	char err[512];
	const char *p =
		write_cfg("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 256},\n"
			  " \"balloon\": {\"amount_mib\": 64, \"deflate_on_oom\": true,\n"
			  "  \"stats_polling_interval_s\": 2, \"free_page_reporting\": true}}\n");

	fresh(&a);
	CHECK_EQ(api_config_file_apply(&a, p, err, sizeof(err)), 0);
	CHECK(a.cfg.balloon.on);
	CHECK_EQ(a.cfg.balloon.amount_mib, 64);
	CHECK(a.cfg.balloon.deflate_on_oom);
	CHECK_EQ(a.cfg.balloon.stats_interval_s, 2);
	CHECK(a.cfg.balloon.free_page_reporting);
	api_destroy(&a);
}

/* bad_ - the file is refused with exactly @want (after "PATH: "). */
static bool bad_(const char *text, const char *want, int line)
{
	struct api a;
	char err[1024], full[1200];
	const char *p = write_cfg(text);
	int r;

	fresh(&a);
	r = api_config_file_apply(&a, p, err, sizeof(err));
	api_destroy(&a);
	snprintf(full, sizeof(full), "%s: %s", p, want);
	if (r == 0 || strcmp(err, full)) {
		printf("#   line %d: got %d \"%s\"\n#   wanted \"%s\"\n", line, r, r ? err : "",
		       full);
		return false;
	}
	return true;
}
#define BAD(text, want) CHECK(bad_((text), (want), __LINE__))

TEST(config_file_bad)
{
	char err[512];
	struct vm_config cfg;

	setup();
	BAD("{", JF "EOF while parsing a value.");
	BAD("[]", "the file must hold one JSON object.");
	BAD("{\"gpu\": {}}", "unknown section `gpu`.");
	BAD("{\"vsock\": {\"guest_cid\": 1, \"uds_path\": \"/v\"}}",
	    "vsock: Invalid guest_cid 1: CIDs 0-2 are reserved (2 is the host), and a CID is 32 "
	    "bits.");
	BAD("{\"balloon\": {\"amount_mib\": 1}}",
	    "balloon: An error occurred when deserializing the json body of a request: missing "
	    "field `deflate_on_oom`.");
	BAD("{\"drives\": {}}", "`drives` must be an array.");
	BAD("{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": "
	    "false},"
	    " {\"drive_id\": \"b\", \"path_on_host\": \"/b\"}]}",
	    "drives[1]: " JF "missing field `is_root_device`.");
	BAD("{\"machine-config\": {\"vcpu_count\": \"1\", \"mem_size_mib\": 1}}",
	    "machine-config: " JF
	    "invalid type for `vcpu_count`: a string, expected a non-negative integer.");
	BAD("{\"network-interfaces\": [{\"iface_id\": \"e-0\", \"host_dev_name\": \"t\"}]}",
	    "network-interfaces[0]: API Resource IDs can only contain alphanumeric characters and "
	    "underscores.");
	BAD("{\"logger\": {\"level\": 3}}",
	    "logger: " JF "invalid type for `level`: an integer, expected a string.");

	vm_config_init(&cfg);
	CHECK_EQ(api_config_file_load("/nonexistent/vm.json", &cfg, err, sizeof(err)), -ENOENT);
	CHECK(!strcmp(err, "/nonexistent/vm.json: No such file or directory"));
	CHECK_EQ(api_config_file_load(dir, &cfg, err, sizeof(err)), -EINVAL);
	vm_config_free(&cfg);
}

/* A FIFO as the config file is refused at once, not waited on; alarm() turns a hang into a failure.
 */
TEST(config_file_refuses_a_fifo_at_once)
{
	struct vm_config cfg;
	char fifo[192], want[256], err[512] = "";

	setup();
	snprintf(fifo, sizeof(fifo), "%s/fifo.json", dir);
	REQUIRE(mkfifo(fifo, 0600) == 0);
	alarm(10);
	vm_config_init(&cfg);
	CHECK_EQ(api_config_file_load(fifo, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", fifo);
	CHECK(!strcmp(err, want));
	alarm(0);
	vm_config_free(&cfg);
	unlink(fifo);
}

TEST(config_file_roundtrips_vm_config)
{
	struct api a, b;
	char before[4096], after[4096], err[512];
	const char *p;

	setup();
	fresh(&a);
	EXPECT(&a, "PUT", "/boot-source", "{\"kernel_image_path\":\"/k\",\"boot_args\":\"quiet\"}",
	       204, NULL);
	EXPECT(&a, "PUT", "/machine-config", "{\"vcpu_count\":4,\"mem_size_mib\":300,\"smt\":true}",
	       204, NULL);
	EXPECT(&a, "PUT", "/drives/r",
	       "{\"drive_id\":\"r\",\"path_on_host\":\"/"
	       "r\",\"is_root_device\":true,\"is_read_only\":true}",
	       204, NULL);
	EXPECT(&a, "PUT", "/network-interfaces/n",
	       "{\"iface_id\":\"n\",\"host_dev_name\":\"tap9\",\"guest_mac\":\"02:00:00:00:00:"
	       "09\"}",
	       204, NULL);
	EXPECT(&a, "PUT", "/entropy", "{}", 204, NULL);
	EXPECT(&a, "PUT", "/logger", "{\"level\":\"Info\"}", 204, NULL);
	call(&a, "GET", "/vm/config", NULL, before, sizeof(before));
	p = write_cfg(before);
	fresh(&b);
	CHECK_EQ(api_config_file_apply(&b, p, err, sizeof(err)), 0);
	call(&b, "GET", "/vm/config", NULL, after, sizeof(after));
	CHECK(!strcmp(before, after));
	api_destroy(&a);
	api_destroy(&b);
	unlink(p);
	unlink(img);
	rmdir(dir);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(config_file_good)
	HARNESS_T(config_file_bad)
	HARNESS_T(config_file_balloon_section)
	HARNESS_T(config_file_refuses_a_fifo_at_once)
	HARNESS_T(config_file_roundtrips_vm_config)
)
// clang-format on
