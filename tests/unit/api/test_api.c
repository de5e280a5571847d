/* test_api.c — golden request/response pairs for every endpoint through api_handle, on a fake VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_json.h"
#include "api/api_migration.h"
#include "api_test_util.h"
#include "config.h"

#define MC_DEFAULT                                                                                 \
	"{\"vcpu_count\":1,\"mem_size_mib\":256,\"smt\":false,\"track_dirty_pages\":false,\"huge_" \
	"pages\":\"None\"}"
#define POST_BOOT "The requested operation is not supported after starting the microVM."
#define PRE_BOOT "The requested operation is not supported before starting the microVM."

TEST(api_instance_info_and_version)
{
	struct api a;

	fresh(&a);
	EXPECT(&a, "GET", "/", NULL, 200,
	       "{\"id\":\"anonymous-instance\",\"state\":\"Not "
	       "started\",\"vmm_version\":\"" VMON_VERSION "\",\"app_name\":\"vmon\"}");
	EXPECT(&a, "GET", "/version", NULL, 200, "{\"firecracker_version\":\"" VMON_VERSION "\"}");
	EXPECT(&a, "GET", "/version/", NULL, 200, "{\"firecracker_version\":\"" VMON_VERSION "\"}");
	api_destroy(&a);
}

TEST(api_machine_config_put_get_patch)
{
	struct api a;

	fresh(&a);
	EXPECT(&a, "GET", "/machine-config", NULL, 200, MC_DEFAULT);
	EXPECT(&a, "PUT", "/machine-config",
	       "{\"vcpu_count\": 2, \"mem_size_mib\": 1024, \"smt\": true, \"track_dirty_pages\": "
	       "true}",
	       204, NULL);
	CHECK_EQ(a.cfg.cpus, 2);
	CHECK_EQ(a.cfg.mem_bytes, 1024ull << 20);
	EXPECT(&a, "GET", "/machine-config", NULL, 200,
	       "{\"vcpu_count\":2,\"mem_size_mib\":1024,\"smt\":true,\"track_dirty_pages\":true,"
	       "\"huge_pages\":\"None\"}");
	/* PATCH keeps what it does not name; PUT resets it. */
	EXPECT(&a, "PATCH", "/machine-config", "{\"mem_size_mib\": 512}", 204, NULL);
	EXPECT(&a, "GET", "/machine-config", NULL, 200,
	       "{\"vcpu_count\":2,\"mem_size_mib\":512,\"smt\":true,\"track_dirty_pages\":true,"
	       "\"huge_pages\":\"None\"}");
	EXPECT(&a, "PUT", "/machine-config",
	       "{\"vcpu_count\": 4, \"mem_size_mib\": 128, \"cpu_template\": \"None\", "
	       "\"huge_pages\": \"None\"}",
	       204, NULL);
	EXPECT(&a, "GET", "/machine-config", NULL, 200,
	       "{\"vcpu_count\":4,\"mem_size_mib\":128,\"smt\":false,\"track_dirty_pages\":false,"
	       "\"huge_pages\":\"None\",\"cpu_template\":\"None\"}");
	/* Firecracker's static templates: kept in the config (the vendor is checked at the start)
	 */
	EXPECT(&a, "PUT", "/machine-config",
	       "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"cpu_template\": \"T2\"}", 204, NULL);
	CHECK_EQ(a.cfg.cpu_template, CPU_TEMPLATE_T2);
	EXPECT(&a, "PATCH", "/machine-config", "{\"mem_size_mib\": 256}", 204, NULL);
	EXPECT(&a, "GET", "/machine-config", NULL, 200,
	       "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":false,\"track_dirty_pages\":false,"
	       "\"huge_pages\":\"None\",\"cpu_template\":\"T2\"}");
	EXPECT(&a, "PATCH", "/machine-config", "{\"cpu_template\": \"T2A\"}", 204, NULL);
	CHECK_EQ(a.cfg.cpu_template, CPU_TEMPLATE_T2A);
	EXPECT(&a, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}", 204,
	       NULL);
	CHECK_EQ(a.cfg.cpu_template, CPU_TEMPLATE_NONE); /* PUT resets it */
	api_destroy(&a);
}

TEST(api_machine_config_refusals)
{
	static const struct refusal refusals[] = {
		REFUSAL("PUT", "/machine-config", "{\"mem_size_mib\": 128}",
			JF "missing field `vcpu_count`."),
		REFUSAL("PUT", "/machine-config", "{\"vcpu_count\": 2}",
			JF "missing field `mem_size_mib`."),
		REFUSAL("PUT", "/machine-config", "{\"vcpu_count\": \"2\", \"mem_size_mib\": 128}",
			JF "invalid type for `vcpu_count`: a string, expected a non-negative "
			   "integer."),
		REFUSAL("PUT", "/machine-config", "{\"vcpu_count\": 2.0, \"mem_size_mib\": 128}",
			JF "invalid type for `vcpu_count`: a floating point number, expected a "
			   "non-negative integer."),
		REFUSAL("PUT", "/machine-config", "{\"vcpu_count\": -1, \"mem_size_mib\": 128}",
			JF "invalid value for `vcpu_count`: -1, expected a non-negative integer."),
		REFUSAL("PUT", "/machine-config", "{\"vcpu_count\": null, \"mem_size_mib\": 128}",
			JF "invalid type for `vcpu_count`: null, expected a non-negative integer."),
		REFUSAL("PUT", "/machine-config",
			"{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": 1}",
			JF "invalid type for `smt`: an integer, expected a boolean."),
		REFUSAL("PUT", "/machine-config",
			"{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"gpus\": 1}",
			JF "unknown field `gpus`, expected one of `vcpu_count`, `mem_size_mib`, "
			   "`smt`, "
			   "`track_dirty_pages`, `huge_pages`, `cpu_template`."),
		REFUSAL("PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 128}",
			"The vCPU number is invalid! vmon supports 1 to 64 vCPUs."),
		REFUSAL("PUT", "/machine-config", "{\"vcpu_count\": 65, \"mem_size_mib\": 128}",
			"The vCPU number is invalid! vmon supports 1 to 64 vCPUs."),
		REFUSAL("PUT", "/machine-config",
			"{\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": true}",
			"The vCPU number is invalid! The vCPU number can only be 1 or an even "
			"number when "
			"SMT is enabled."),
		REFUSAL("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 0}",
			"The memory size (MiB) is invalid."),
		REFUSAL("PUT", "/machine-config",
			"{\"vcpu_count\": 1, \"mem_size_mib\": 18446744073709551615}",
			"The memory size (MiB) is invalid."),
		REFUSAL("PUT", "/machine-config",
			"{\"vcpu_count\": 1, \"mem_size_mib\": 99999999999999999999999}",
			"The memory size (MiB) is invalid."),
		REFUSAL("PUT", "/machine-config",
			"{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"huge_pages\": \"2M\"}",
			"Backing guest memory with huge pages is not supported by vmon yet."),
		REFUSAL("PUT", "/machine-config",
			"{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"huge_pages\": \"7M\"}",
			JF "unknown variant `7M` for `huge_pages`, expected one of `None`, `2M`."),
		REFUSAL("PUT", "/machine-config",
			"{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"T3\"}",
			JF "unknown variant `T3` for `cpu_template`, expected one of `C3`, `T2`, "
			   "`T2S`, `T2CL`, `T2A`, `None`."),
		REFUSAL("PATCH", "/machine-config", "{}", "Empty PATCH request."),
		REFUSAL("PATCH", "/machine-config", "{\"smt\": true, \"vcpu_count\": 5}",
			"The vCPU number is invalid! The vCPU number can only be 1 or an even "
			"number when "
			"SMT is enabled."),
	};
	struct api a;

	fresh(&a);
	REFUSED_ALL(&a, refusals);
	api_destroy(&a);
}

TEST(api_malformed_bodies)
{
	static const struct refusal malformed[] = {
		REFUSAL("PUT", "/machine-config", "{", JF "EOF while parsing a value."),
		REFUSAL("PUT", "/machine-config", "[1]",
			JF "invalid type: an array, expected an object."),
		REFUSAL("PUT", "/machine-config", "\"x\"",
			JF "invalid type: a string, expected an object."),
		REFUSAL("PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64} x",
			JF "invalid JSON syntax at byte 35."),
		REFUSAL("PUT", "/machine-config", "{'vcpu_count':1}",
			JF "invalid JSON syntax at byte 1."),
		REFUSAL("PUT", "/machine-config", "{\"vcpu_count\":NaN,\"mem_size_mib\":1}",
			JF "invalid JSON syntax at byte 14."),
		REFUSAL("PUT", "/machine-config", "{\"vcpu_count\":1e0,\"mem_size_mib\":1}",
			JF "invalid type for `vcpu_count`: a floating point number, expected a "
			   "non-negative integer."),
		REFUSAL("PUT", "/boot-source", "{\"kernel_image_path\":\"a\tb\"}",
			JF "invalid JSON syntax at byte 23."),
		REFUSAL("PUT", "/machine-config", "{\"vcpu_count\":1,}",
			JF "unexpected character at byte 16."),
		REFUSAL("PUT", "/machine-config", "/* c */{}", JF "invalid JSON syntax at byte 0."),
		REFUSAL("PUT", "/machine-config", "null",
			JF "invalid type: null, expected an object."),
		REFUSAL("PUT", "/machine-config",
			"{\"vcpu_count\":1,\"mem_size_mib\":64,\"mem_size_mib\":128}",
			JF "duplicate field in an object."),
		REFUSAL("PUT", "/drives/d",
			"{\"drive_id\":\"d\",\"path_on_host\":\"/p\",\"is_root_device\":false,"
			"\"rate_limiter\":{\"bandwidth\":{\"size\":1,\"size\" :2}}}",
			JF "duplicate field in an object."),
	};
	struct api a;
	char deep[64];

	fresh(&a);
	REFUSED_ALL(&a, malformed);
	EXPECT(&a, "PUT", "/machine-config",
	       "{\"vcpu_count\":1,\"mem_size_mib\":64,\"smt\":false,"
	       "\"track_dirty_pages\":false,\"huge_pages\":\"None\",\"cpu_template\":null}",
	       204, NULL);
	EXPECT(&a, "PUT", "/boot-source",
	       "{\"kernel_image_path\":\"/k\",\"boot_args\":\"a:b {x} \\\" [y]: \\\\\"}", 204,
	       NULL);
	CHECK(a.cfg.cmdline && !strcmp(a.cfg.cmdline, "a:b {x} \" [y]: \\"));
	REFUSED(&a, "PUT", "/machine-config",
		"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{",
		JF "quoted object property name expected at byte 1.");
	REFUSED(&a, "PUT", "/machine-config", "12",
		JF "invalid type: an integer, expected an object.");
	memset(deep, '[', 20);
	deep[20] = '\0';
	REFUSED(&a, "PUT", "/machine-config", deep, JF "nesting too deep at byte 16.");
	REFUSED(&a, "PUT", "/boot-source", "{\"kernel_image_path\": \"\xff\"}",
		JF "invalid utf-8 string at byte 23.");
	REFUSED(&a, "PUT", "/boot-source", "{\"kernel_image_path\": \"a\\u0000b\"}",
		JF "`kernel_image_path` contains a NUL character.");
	/* a body with an embedded NUL byte is not cut short at it */
	{
		struct api_response r = { 0 };
		static const char body[] = "{\"vcpu_count\":1,\"mem_size_mib\":64}\0junk";

		api_handle(&a, "PUT", "/machine-config", body, sizeof(body) - 1, &r);
		CHECK_EQ(r.status, 400);
		CHECK(r.body && strstr(r.body, "invalid JSON syntax at byte 34."));
		api_response_free(&r);
		CHECK_EQ(a.cfg.mem_bytes, 64ull << 20);
	}
	api_destroy(&a);
}

TEST(api_oversize_body_refused_unparsed)
{
	struct api a;
	struct api_response r = { 0 };
	size_t len = 64 * 1024 + 1;
	char *body = malloc(len);

	REQUIRE(body);
	fresh(&a);
	memset(body, ' ', len);
	memcpy(body, "{\"vcpu_count\":2,\"mem_size_mib\":64}", 34);
	api_handle(&a, "PUT", "/machine-config", body, len, &r);
	CHECK_EQ(r.status, 400);
	CHECK(r.body &&
	      !strcmp(r.body,
		      FAULT("The request body of 65537 bytes exceeds the limit of 65536 bytes.")));
	CHECK_EQ(a.cfg.cpus, 1);
	api_response_free(&r);
	/* exactly the limit is parsed */
	api_handle(&a, "PUT", "/machine-config", body, len - 1, &r);
	CHECK_EQ(r.status, 204);
	CHECK_EQ(a.cfg.cpus, 2);
	api_response_free(&r);
	free(body);
	api_destroy(&a);
}

TEST(api_wrong_methods_and_paths)
{
	struct api a;

	fresh(&a);
	REFUSED(&a, "POST", "/machine-config", "{}",
		"Invalid request method and/or path: POST /machine-config.");
	REFUSED(&a, "DELETE", "/drives/x", NULL,
		"Invalid request method and/or path: DELETE /drives/x.");
	REFUSED(&a, "GET", "/nothing", NULL, "Invalid request method and/or path: GET /nothing.");
	REFUSED(&a, "PUT", "/", "{}", "Invalid request method and/or path: PUT /.");
	REFUSED(&a, "GET", "/boot-source", NULL,
		"Invalid request method and/or path: GET /boot-source.");
	REFUSED(&a, "PATCH", "/boot-source", "{}",
		"Invalid request method and/or path: PATCH /boot-source.");
	REFUSED(&a, "PUT", "/drives/a/b", "{}",
		"Invalid request method and/or path: PUT /drives/a/b.");
	REFUSED(&a, "GET", "machine-config", NULL,
		"Invalid request method and/or path: GET machine-config.");
	REFUSED(&a, "GET", "/", "{}", "GET request cannot have a body.");
	REFUSED(&a, "PUT", "/machine-config", NULL, "Empty PUT request.");
	REFUSED(&a, "PATCH", "/machine-config", NULL, "Empty PATCH request.");
	REFUSED(&a, "PUT", "/drives", "{}", "The ID cannot be empty.");
	REFUSED(&a, "PUT", "/drives/", "{}", "The ID cannot be empty.");
	REFUSED(&a, "PUT", "/drives/a-b", "{}",
		"API Resource IDs can only contain alphanumeric characters and underscores.");
	api_destroy(&a);
}

TEST(api_unsupported_endpoints_say_so)
{
	struct api a;

	fresh(&a);
	REFUSED(&a, "PUT", "/cpu-config", "{}",
		"Custom CPU templates (/cpu-config) is not supported by vmon yet.");
	REFUSED(&a, "GET", "/pmem", NULL,
		"The virtio-pmem device (/pmem) is not supported by vmon yet.");
	api_destroy(&a);
}

TEST(api_mmds_store_is_put_patched_and_got)
{
	struct api a;

	fresh(&a);
	EXPECT(&a, "GET", "/mmds", NULL, 200, "null");
	REFUSED(&a, "PATCH", "/mmds", "{\"a\":1}", "The MMDS data store is not initialized.");
	EXPECT(&a, "PUT", "/mmds",
	       "{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"x\":[1,2]}}}", 204, NULL);
	EXPECT(&a, "GET", "/mmds", NULL, 200,
	       "{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"x\":[1,2]}}}");
	/* RFC 7396: members merged, null deletes, a non-object replaces */
	EXPECT(&a, "PATCH", "/mmds",
	       "{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-2\",\"x\":null,\"r\":{\"s\":\"t\"}}},"
	       "\"v\":true}",
	       204, NULL);
	EXPECT(&a, "GET", "/mmds", NULL, 200,
	       "{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-2\",\"r\":{\"s\":\"t\"}}},\"v\":"
	       "true}");
	EXPECT(&a, "PATCH", "/mmds", "{\"latest\":\"flat\",\"v\":null}", 204, NULL);
	EXPECT(&a, "GET", "/mmds", NULL, 200, "{\"latest\":\"flat\"}");
	/* PUT replaces the whole store */
	EXPECT(&a, "PUT", "/mmds", "{\"b\":2}", 204, NULL);
	EXPECT(&a, "GET", "/mmds", NULL, 200, "{\"b\":2}");
	REFUSED(&a, "PUT", "/mmds/nope", "{}",
		"Invalid request method and/or path: PUT /mmds/nope.");
	api_destroy(&a);
}

TEST(api_mmds_store_keeps_its_size_limit)
{
	struct api a;
	char big[300];

	fresh(&a);
	a.mmds.limit = 64;
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"k\":\"", 6);
	memcpy(big + 6 + 100, "\"}", 3);
	REFUSED(&a, "PUT", "/mmds", big, "The MMDS patch request doesn't fit.");
	EXPECT(&a, "GET", "/mmds", NULL, 200, "null");
	EXPECT(&a, "PUT", "/mmds", "{\"k\":\"small\"}", 204, NULL);
	big[6 + 60] = '"'; /* {"k":"x...x"}: 68 bytes */
	big[6 + 61] = '}';
	big[6 + 62] = '\0';
	REFUSED(&a, "PATCH", "/mmds", big, "The MMDS patch request doesn't fit.");
	EXPECT(&a, "GET", "/mmds", NULL, 200, "{\"k\":\"small\"}"); /* untouched */
	api_destroy(&a);
}

TEST(api_mmds_config_names_existing_nics_and_a_link_local_address)
{
	struct api a;

	fresh(&a);
	REFUSED(&a, "PUT", "/mmds/config", "{\"network_interfaces\":[\"eth0\"]}",
		"The list of network interface IDs provided contains at least one ID that does not "
		"correspond to any existing network interface.");
	EXPECT(&a, "PUT", "/network-interfaces/eth0",
	       "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\"}", 204, NULL);
	EXPECT(&a, "PUT", "/network-interfaces/eth1",
	       "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\"}", 204, NULL);
	REFUSED(&a, "PUT", "/mmds/config", "{\"network_interfaces\":[]}",
		"The list of network interface IDs that allow forwarding MMDS requests is empty.");
	REFUSED(&a, "PUT", "/mmds/config", "{}", JF "missing field `network_interfaces`.");
	REFUSED(&a, "PUT", "/mmds/config",
		"{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":\"10.0.0.1\"}",
		"The MMDS IPv4 address is not link local.");
	REFUSED(&a, "PUT", "/mmds/config",
		"{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":\"169.254.0.1\"}",
		"The MMDS IPv4 address is not link local.");
	REFUSED(&a, "PUT", "/mmds/config",
		"{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":\"169.254.1\"}",
		JF "invalid IPv4 address syntax for `ipv4_address`.");
	REFUSED(&a, "PUT", "/mmds/config", "{\"network_interfaces\":[\"eth0\"],\"version\":\"V3\"}",
		JF "unknown variant `V3`, expected `V1` or `V2`.");
	REFUSED(&a, "PUT", "/mmds/config", "{\"network_interfaces\":[1]}",
		JF "invalid type for an element of `network_interfaces`, expected a string.");
	CHECK(!a.cfg.mmds.on);
	EXPECT(&a, "PUT", "/mmds/config",
	       "{\"network_interfaces\":[\"eth1\"],\"version\":\"V2\",\"ipv4_address\":\"169.254."
	       "170.2\","
	       "\"imds_compat\":true}",
	       204, NULL);
	CHECK(a.cfg.mmds.on && a.cfg.mmds.version == 2 && a.cfg.mmds.imds_compat);
	CHECK_EQ(a.cfg.mmds.ipv4, 0xa9feaa02u);
	CHECK(!a.cfg.nets[0].mmds && a.cfg.nets[1].mmds);
	EXPECT(&a, "PUT", "/mmds/config", "{\"network_interfaces\":[\"eth0\"]}", 204, NULL);
	CHECK(a.cfg.mmds.version == 1 && a.cfg.mmds.ipv4 == VM_MMDS_DEFAULT_IPV4);
	CHECK(a.cfg.nets[0].mmds && !a.cfg.nets[1].mmds);
	api_destroy(&a);
}

TEST(api_vsock_put_checks_cid_and_path)
{
	struct api a;
	char got[8192];

	fresh(&a);
	REFUSED(&a, "PUT", "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"/tmp/v.sock\"}",
		"Invalid guest_cid 2: CIDs 0-2 are reserved (2 is the host), and a CID is 32 "
		"bits.");
	REFUSED(&a, "PUT", "/vsock", "{\"guest_cid\": 4294967296, \"uds_path\": \"/v\"}",
		"Invalid guest_cid 4294967296: CIDs 0-2 are reserved (2 is the host), and a CID "
		"is 32 bits.");
	REFUSED(&a, "PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"\"}",
		"Invalid uds_path '': it must name a Unix socket of at most 96 bytes (guest "
		"connections to port P go to <uds_path>_P).");
	REFUSED(&a, "PUT", "/vsock", "{\"guest_cid\": 3}",
		"An error occurred when deserializing the json body of a request: missing field "
		"`uds_path`.");
	EXPECT(&a, "PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}", 204, NULL);
	CHECK_EQ(a.cfg.vsock.cid, 3);
	CHECK(a.cfg.vsock.uds_path && !strcmp(a.cfg.vsock.uds_path, "/tmp/v.sock"));
	/* the older body with vsock_id (Firecracker's Go SDK) replaces it */
	EXPECT(&a, "PUT", "/vsock",
	       "{\"vsock_id\": \"vsock0\", \"guest_cid\": 52, \"uds_path\": \"/tmp/w.sock\"}", 204,
	       NULL);
	CHECK_EQ(a.cfg.vsock.cid, 52);
	call(&a, "GET", "/vm/config", NULL, got, sizeof(got));
	CHECK(strstr(got, "\"vsock\":{\"vsock_id\":\"vsock0\",\"guest_cid\":52,\"uds_path\":\"/tmp/"
			  "w.sock\"}") != NULL);
	if (!strstr(got, "\"vsock\":{"))
		printf("#   GET /vm/config: %s\n", got);
	api_destroy(&a);
}

TEST(api_boot_source)
{
	struct api a;
	char path[] = "/tmp/vmon-test-kernel-XXXXXX";
	char body[256];
	int fd;

	fresh(&a);
	EXPECT(&a, "PUT", "/boot-source",
	       "{\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0 reboot=k\"}", 204,
	       NULL);
	CHECK(!strcmp(a.cfg.kernel_path, "/k"));
	CHECK(!strcmp(a.cfg.cmdline, "console=ttyS0 reboot=k"));
	CHECK(a.cfg.initrd_path == NULL);
	REFUSED(&a, "PUT", "/boot-source", "{\"boot_args\": \"x\"}",
		JF "missing field `kernel_image_path`.");
	REFUSED(&a, "PUT", "/boot-source", "{\"kernel_image_path\": 7}",
		JF "invalid type for `kernel_image_path`: an integer, expected a string.");
	/* with host files on, the kernel must be readable */
	a.host_files = true;
	REFUSED(&a, "PUT", "/boot-source", "{\"kernel_image_path\": \"/nonexistent/vmlinux\"}",
		"The kernel file cannot be used: kernel '/nonexistent/vmlinux': No such file or "
		"directory.");
	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\", \"initrd_path\": null}",
		 path);
	EXPECT(&a, "PUT", "/boot-source", body, 204, NULL);
	CHECK(!strcmp(a.cfg.kernel_path, path));
	CHECK(a.cfg.cmdline == NULL);
	unlink(path);
	api_destroy(&a);
}

TEST(api_drives)
{
	struct api a;

	fresh(&a);
	EXPECT(&a, "PUT", "/drives/data",
	       "{\"drive_id\":\"data\",\"path_on_host\":\"/"
	       "d.img\",\"is_root_device\":false,\"is_read_only\":true}",
	       204, NULL);
	EXPECT(&a, "PUT", "/drives/rootfs",
	       "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r.img\",\"is_root_device\":true,"
	       "\"cache_type\":\"Unsafe\",\"io_engine\":\"Async\",\"rate_limiter\":null,"
	       "\"partuuid\":null}",
	       204, NULL);
	REQUIRE(a.cfg.nr_disks == 2);
	CHECK(!strcmp(a.cfg.disks[0].id, "rootfs")); /* the root device comes first */
	CHECK(a.cfg.disks[0].is_root && !a.cfg.disks[0].read_only);
	CHECK(!strcmp(a.cfg.disks[1].id, "data") && a.cfg.disks[1].read_only);
	REFUSED(&a, "PUT", "/drives/other",
		"{\"drive_id\":\"other\",\"path_on_host\":\"/o.img\",\"is_root_device\":true}",
		"A root block device already exists!");
	REFUSED(&a, "PUT", "/drives/x",
		"{\"drive_id\":\"y\",\"path_on_host\":\"/o\",\"is_root_device\":false}",
		"The id from the path does not match the id from the body!");
	REFUSED(&a, "PUT", "/drives/x", "{\"drive_id\":\"x\",\"is_root_device\":false}",
		JF "missing field `path_on_host`.");
	REFUSED(&a, "PUT", "/drives/x", "{\"drive_id\":\"x\",\"path_on_host\":\"/o\"}",
		JF "missing field `is_root_device`.");
	REFUSED(&a, "PUT", "/drives/x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/"
		"o\",\"is_root_device\":false,\"rate_limiter\":{\"bandwidth\":{}}}",
		JF "missing field `size`.");
	REFUSED(&a, "PUT", "/drives/x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/o\",\"is_root_device\":false,"
		"\"rate_limiter\":{\"ops\":{\"size\":100,\"refill_time\":18446744073710}}}",
		JF "`refill_time` 18446744073710 ms is too large (at most 18446744073709).");
	REFUSED(&a, "PUT", "/drives/x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/o\",\"is_root_device\":false,"
		"\"rate_limiter\":{\"burst\":1}}",
		JF "unknown field `burst`, expected one of `bandwidth`, `ops`.");
	REFUSED(&a, "PUT", "/drives/x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/"
		"o\",\"is_root_device\":false,\"partuuid\":\"abc\"}",
		"Booting from a partition (`partuuid`) is not supported by vmon yet.");
	REFUSED(&a, "PUT", "/drives/x",
		"{\"drive_id\":\"x\",\"socket\":\"/s\",\"is_root_device\":false}",
		"A vhost-user block device (`socket`) is not supported by vmon yet.");
	REFUSED(&a, "PUT", "/drives/x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/"
		"o\",\"is_root_device\":false,\"io_engine\":\"Uring\"}",
		JF "unknown variant `Uring` for `io_engine`, expected one of `Sync`, `Async`.");
	REFUSED(&a, "PUT", "/drives/x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/"
		"o\",\"is_root_device\":false,\"cache_type\":\"WriteThrough\"}",
		JF "unknown variant `WriteThrough` for `cache_type`, expected one of `Unsafe`, "
		   "`Writeback`.");
	/* replacing a drive keeps one entry; the root may move to another id only after unrooting
	 */
	EXPECT(&a, "PUT", "/drives/rootfs",
	       "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r2.img\",\"is_root_device\":false}",
	       204, NULL);
	REQUIRE(a.cfg.nr_disks == 2);
	CHECK(!strcmp(a.cfg.disks[1].path, "/r2.img") && !a.cfg.disks[1].is_root);
	EXPECT(&a, "PATCH", "/drives/data", "{\"drive_id\":\"data\",\"path_on_host\":\"/d2.img\"}",
	       204, NULL);
	CHECK(!strcmp(a.cfg.disks[0].path, "/d2.img"));
	REFUSED(&a, "PATCH", "/drives/nope", "{\"drive_id\":\"nope\",\"path_on_host\":\"/x\"}",
		"Invalid block device ID: nope.");
	for (int i = 2; i < VM_MAX_DISKS; i++) {
		char p[32], b[128];

		snprintf(p, sizeof(p), "/drives/d%d", i);
		snprintf(b, sizeof(b),
			 "{\"drive_id\":\"d%d\",\"path_on_host\":\"/x\",\"is_root_device\":false}",
			 i);
		EXPECT(&a, "PUT", p, b, 204, NULL);
	}
	REFUSED(&a, "PUT", "/drives/more",
		"{\"drive_id\":\"more\",\"path_on_host\":\"/x\",\"is_root_device\":false}",
		"vmon supports at most 16 drives.");
	api_destroy(&a);
}

/*
 * vmon's virtio-blk offers and honours FLUSH (fdatasync), Firecracker's "Writeback": both
 * cache types are accepted, and the drive is reported as what it is, never as "Unsafe".
 */
/* PUT /drives checks the file at once (as Firecracker opens it there), not at InstanceStart. */
TEST(api_drive_put_refuses_what_is_no_disk_image)
{
	char dir[] = "/tmp/vmon-test-drv-XXXXXX";
	char fifo[64], body[256], want[256];
	const char *bad[] = { dir, fifo, "/dev/zero" };
	struct api a;

	REQUIRE(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	REQUIRE(mkfifo(fifo, 0600) == 0);
	fresh(&a);
	a.host_files = true;
	alarm(10);
	for (unsigned i = 0; i < 3; i++) {
		snprintf(body, sizeof(body),
			 "{\"drive_id\":\"d\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
			 "\"is_read_only\":true}",
			 bad[i]);
		snprintf(want, sizeof(want),
			 "The block device file cannot be used: block device '%s' is not a "
			 "regular file or block device.",
			 bad[i]);
		REFUSED(&a, "PUT", "/drives/d", body, want);
	}
	REFUSED(&a, "PUT", "/drives/d",
		"{\"drive_id\":\"d\",\"path_on_host\":\"/"
		"nonexistent.img\",\"is_root_device\":false}",
		"The block device file cannot be used: block device '/nonexistent.img': No such "
		"file or directory.");
	alarm(0);
	CHECK_EQ(a.cfg.nr_disks, 0);
	api_destroy(&a);
	unlink(fifo);
	rmdir(dir);
}

TEST(api_drives_report_writeback_cache)
{
	struct api a;
	char out[4096];

	fresh(&a);
	EXPECT(&a, "PUT", "/drives/wb",
	       "{\"drive_id\":\"wb\",\"path_on_host\":\"/w.img\",\"is_root_device\":false,"
	       "\"cache_type\":\"Writeback\"}",
	       204, NULL);
	EXPECT(&a, "PUT", "/drives/un",
	       "{\"drive_id\":\"un\",\"path_on_host\":\"/u.img\",\"is_root_device\":false,"
	       "\"cache_type\":\"Unsafe\"}",
	       204, NULL);
	EXPECT(&a, "PUT", "/drives/df",
	       "{\"drive_id\":\"df\",\"path_on_host\":\"/d.img\",\"is_root_device\":false}", 204,
	       NULL);
	REQUIRE(a.cfg.nr_disks == 3);
	CHECK_EQ(call(&a, "GET", "/vm/config", NULL, out, sizeof(out)), 200);
	CHECK(strstr(out, "\"cache_type\":\"Unsafe\"") == NULL);
	{
		int n = 0;

		for (const char *p = out; (p = strstr(p, "\"cache_type\":\"Writeback\"")); p++)
			n++;
		CHECK_EQ(n, 3);
	}
	api_destroy(&a);
}

TEST(api_network_interfaces)
{
	struct api a;

	fresh(&a);
	EXPECT(&a, "PUT", "/network-interfaces/eth0",
	       "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"AA:FC:00:00:00:"
	       "01\"}",
	       204, NULL);
	REQUIRE(a.cfg.nr_nets == 1);
	CHECK(a.cfg.nets[0].has_mac && a.cfg.nets[0].mac[0] == 0xaa && a.cfg.nets[0].mac[5] == 1);
	REFUSED(&a, "PUT", "/network-interfaces/eth1",
		"{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap0\"}",
		"The host device name tap0 is already in use.");
	REFUSED(&a, "PUT", "/network-interfaces/eth1",
		"{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\",\"guest_mac\":\"aa:fc:00:00:00:"
		"01\"}",
		"The MAC address aa:fc:00:00:00:01 is already in use.");
	REFUSED(&a, "PUT", "/network-interfaces/eth1",
		"{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\",\"guest_mac\":\"aa:fc:00:00:"
		"00\"}",
		JF "invalid MAC address `aa:fc:00:00:00`.");
	REFUSED(&a, "PUT", "/network-interfaces/eth1",
		"{\"iface_id\":\"eth1\",\"host_dev_name\":\"a-very-long-tap-name\"}",
		"Invalid host device name: `a-very-long-tap-name`.");
	REFUSED(&a, "PUT", "/network-interfaces/eth1",
		"{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\",\"rx_rate_limiter\":{},"
		"\"tx_rate_limiter\":{\"bandwidth\":{\"size\":1}}}",
		JF "missing field `refill_time`.");
	REFUSED(&a, "PUT", "/network-interfaces/eth1",
		"{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\",\"allow_mmds_requests\":true}",
		JF
		"unknown field `allow_mmds_requests`, expected one of `iface_id`, `host_dev_name`, "
		"`guest_mac`, `rx_rate_limiter`, `tx_rate_limiter`.");
	/* re-PUT of the same id may keep its own tap and MAC */
	EXPECT(&a, "PUT", "/network-interfaces/eth0",
	       "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"aa:fc:00:00:00:"
	       "01\"}",
	       204, NULL);
	CHECK_EQ(a.cfg.nr_nets, 1);
	api_destroy(&a);
}

TEST(api_entropy_logger_metrics)
{
	struct api a;

	fresh(&a);
	REFUSED(&a, "PUT", "/entropy", "{\"rate_limiter\":{\"ops\":{}}}",
		JF "missing field `size`.");
	REFUSED(&a, "PUT", "/entropy",
		"{\"rate_limiter\":{\"ops\":{\"size\":5,\"one_time_burst\":0,\"refill_time\":9}}}",
		"An entropy device rate limiter is not supported by vmon yet.");
	REFUSED(&a, "PUT", "/entropy", "{\"rate\":1}",
		JF "unknown field `rate`, expected `rate_limiter`.");
	CHECK(!vm_config_has_class(&a.cfg, "rng"));
	EXPECT(&a, "PUT", "/entropy", "{}", 204, NULL);
	CHECK(vm_config_has_class(&a.cfg, "rng"));
	EXPECT(&a, "PUT", "/entropy", "{\"rate_limiter\":null}", 204, NULL); /* again: one device */
	CHECK_EQ(vm_config_class_count(&a.cfg), 1);
	/* a class with no API resource (the echo test device) is the command line's only */
	REFUSED(&a, "PUT", "/echo", "{}", "Invalid request method and/or path: PUT /echo.");
	REFUSED(&a, "PUT", "/logger", "{\"level\":\"Loud\"}",
		JF
		"unknown variant `Loud` for `level`, expected one of `Error`, `Warning`, `Info`, "
		"`Debug`, `Trace`, `Off`.");
	EXPECT(&a, "PUT", "/logger",
	       "{\"log_path\":\"/l\",\"level\":\"debug\",\"show_level\":true}", 204, NULL);
	CHECK(a.logger.configured && !strcmp(a.logger.log_path, "/l") && a.logger.show_level);
	REFUSED(&a, "PUT", "/metrics", "{}", JF "missing field `metrics_path`.");
	EXPECT(&a, "PUT", "/metrics", "{\"metrics_path\":\"/m\"}", 204, NULL);
	REFUSED(&a, "PUT", "/metrics", "{\"metrics_path\":\"/m2\"}",
		"Reinitialization of metrics not allowed.");
	EXPECT(&a, "GET", "/vm/config", NULL, 200,
	       "{\"machine-config\":" MC_DEFAULT
	       ",\"drives\":[],\"network-interfaces\":[],\"balloon\":null,\"mmds-config\":null,"
	       "\"entropy\":{},"
	       "\"logger\":{\"log_path\":\"/"
	       "l\",\"level\":\"Debug\",\"show_level\":true,\"show_log_origin\":false,"
	       "\"module\":null},\"metrics\":{\"metrics_path\":\"/m\"}}");
	api_destroy(&a);
}

TEST(api_start_and_post_boot_refusals)
{
	struct api a;

	fresh(&a);
	fake.start_ret = -ENODEV;
	REFUSED(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}",
		"Failed to start the microVM: no KVM here.");
	CHECK_EQ(a.state, API_NOT_STARTED);
	fake.start_ret = 0;
	REFUSED(&a, "PUT", "/actions", "{\"action_type\":\"Start\"}",
		JF "unknown variant `Start` for `action_type`, expected one of `InstanceStart`, "
		   "`SendCtrlAltDel`, `FlushMetrics`.");
	REFUSED(&a, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", PRE_BOOT);
	REFUSED(&a, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}",
		"The metrics system is not initialized.");
	REFUSED(&a, "GET", "/vm/stats", NULL, PRE_BOOT);
	EXPECT(&a, "PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":64}", 204, NULL);
	EXPECT(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204, NULL);
	CHECK_EQ(fake.starts, 2);
	CHECK_EQ(fake.started_cpus, 2);
	CHECK_EQ(a.state, API_RUNNING);
	EXPECT(&a, "GET", "/", NULL, 200,
	       "{\"id\":\"anonymous-instance\",\"state\":\"Running\",\"vmm_version\":"
	       "\"" VMON_VERSION "\",\"app_name\":\"vmon\"}");
	REFUSED(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", POST_BOOT);
	REFUSED(&a, "PUT", "/boot-source", "{\"kernel_image_path\":\"/k\"}", POST_BOOT);
	REFUSED(&a, "PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64}", POST_BOOT);
	REFUSED(&a, "PATCH", "/machine-config", "{\"vcpu_count\":1}", POST_BOOT);
	REFUSED(&a, "PUT", "/drives/r",
		"{\"drive_id\":\"r\",\"path_on_host\":\"/r\",\"is_root_device\":true}", POST_BOOT);
	REFUSED(&a, "PUT", "/network-interfaces/e", "{\"iface_id\":\"e\",\"host_dev_name\":\"t\"}",
		POST_BOOT);
	REFUSED(&a, "PUT", "/entropy", "{}", POST_BOOT);
	REFUSED(&a, "PUT", "/logger", "{}", POST_BOOT);
	REFUSED(&a, "PUT", "/metrics", "{\"metrics_path\":\"/m\"}", POST_BOOT);
	REFUSED(&a, "PATCH", "/drives/r", "{\"drive_id\":\"r\"}", "Invalid block device ID: r.");
	/* a malformed body is still a deserialisation fault after boot */
	REFUSED(&a, "PUT", "/boot-source", "{", JF "EOF while parsing a value.");
	EXPECT(&a, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", 204, NULL);
	CHECK_EQ(fake.cad, 1);
	api_destroy(&a);
}

TEST(api_pause_resume_idempotent)
{
	struct api a;

	fresh(&a);
	REFUSED(&a, "PATCH", "/vm", "{\"state\":\"Paused\"}", PRE_BOOT);
	EXPECT(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204, NULL);
	REFUSED(&a, "PATCH", "/vm", "{\"state\":\"Stopped\"}",
		JF "unknown variant `Stopped` for `state`, expected one of `Paused`, `Resumed`.");
	EXPECT(&a, "PATCH", "/vm", "{\"state\":\"Resumed\"}", 204, NULL);
	CHECK_EQ(fake.resumes, 0);
	EXPECT(&a, "PATCH", "/vm", "{\"state\":\"Paused\"}", 204, NULL);
	EXPECT(&a, "PATCH", "/vm", "{\"state\":\"Paused\"}", 204, NULL);
	CHECK_EQ(fake.pauses, 1);
	CHECK_EQ(a.state, API_PAUSED);
	EXPECT(&a, "GET", "/", NULL, 200,
	       "{\"id\":\"anonymous-instance\",\"state\":\"Paused\",\"vmm_version\":\"" VMON_VERSION
	       "\",\"app_name\":\"vmon\"}");
	EXPECT(&a, "PATCH", "/vm", "{\"state\":\"Resumed\"}", 204, NULL);
	EXPECT(&a, "PATCH", "/vm", "{\"state\":\"Resumed\"}", 204, NULL);
	CHECK_EQ(fake.resumes, 1);
	CHECK_EQ(a.state, API_RUNNING);
	fake.pause_ret = -EIO;
	REFUSED(&a, "PATCH", "/vm", "{\"state\":\"Paused\"}",
		"Failed to pause the microVM: Input/output error.");
	CHECK_EQ(a.state, API_RUNNING);
	api_destroy(&a);
}

TEST(api_vm_stats)
{
	struct api a;

	fresh(&a);
	EXPECT(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204, NULL);
	REFUSED(&a, "GET", "/vm/stats", NULL, "The microVM statistics are not available.");
	fake.stats = "{\"vcpus\": [{\"io\": 3, \"mmio\": 4}], \"devices\": {\"serial\": "
		     "{\"tx_bytes\": 9}}}";
	EXPECT(&a, "GET", "/vm/stats", NULL, 200,
	       "{\"vcpus\":[{\"io\":3,\"mmio\":4}],\"devices\":{\"serial\":{\"tx_bytes\":9}}}");
	api_destroy(&a);
}

TEST(api_flush_metrics_to_file_and_fifo)
{
	struct api a;
	char dir[] = "/tmp/vmon-test-metrics-XXXXXX";
	char file[128], fifo[128], body[256], line[4096];
	FILE *f;
	int fd;
	ssize_t n;

	REQUIRE(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/metrics.json", dir);
	snprintf(fifo, sizeof(fifo), "%s/metrics.fifo", dir);
	fresh(&a);
	a.host_files = true;
	snprintf(body, sizeof(body), "{\"metrics_path\":\"%s\"}", file);
	EXPECT(&a, "PUT", "/metrics", body, 204, NULL);
	EXPECT(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204, NULL);
	fake.stats = "{\"vcpus\":[{\"hlt\":1}]}";
	EXPECT(&a, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}", 204, NULL);
	f = fopen(file, "r");
	REQUIRE(f);
	CHECK(fgets(line, sizeof(line), f) != NULL);
	fclose(f);
	CHECK(strstr(line,
		     "\"state\":\"Running\",\"api_server\":{\"requests\":3,\"request_fails\":0,"
		     "\"metrics_lines_dropped\":0,\"process_startup_time_us\":0,"
		     "\"process_startup_time_cpu_us\":0},\"seccomp\":{\"num_faults\":0},"
		     "\"vm\":{\"vcpus\":[{\"hlt\":1}]}}\n") != NULL);
	CHECK(!strncmp(line, "{\"utc_timestamp_ms\":", 20));
	api_destroy(&a);

	/* a FIFO with no reader: opening and writing never block */
	REQUIRE(mkfifo(fifo, 0600) == 0);
	fresh(&a);
	a.host_files = true;
	snprintf(body, sizeof(body), "{\"metrics_path\":\"%s\"}", fifo);
	EXPECT(&a, "PUT", "/metrics", body, 204, NULL);
	EXPECT(&a, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}", 204, NULL);
	fd = open(fifo, O_RDONLY | O_NONBLOCK);
	REQUIRE(fd >= 0);
	n = read(fd, line, sizeof(line) - 1);
	CHECK(n > 0);
	line[n > 0 ? n : 0] = '\0';
	CHECK(strstr(line, "\"vm\":null}\n") != NULL);
	close(fd);
	api_destroy(&a);

	fresh(&a);
	a.host_files = true;
	REFUSED(&a, "PUT", "/metrics", "{\"metrics_path\":\"/nonexistent/dir/m\"}",
		"Cannot open the metrics file /nonexistent/dir/m: No such file or directory.");
	api_destroy(&a);
	unlink(file);
	unlink(fifo);
	rmdir(dir);
}

TEST(api_start_validates_config_with_host_files)
{
	struct api a;

	fresh(&a);
	a.host_files = true;
	/* a disk recorded without host checks, then validated at start */
	a.host_files = false;
	EXPECT(&a, "PUT", "/drives/d",
	       "{\"drive_id\":\"d\",\"path_on_host\":\"/"
	       "nonexistent.img\",\"is_root_device\":false}",
	       204, NULL);
	a.host_files = true;
	REFUSED(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}",
		"Invalid microVM configuration: disk '/nonexistent.img': No such file or "
		"directory.");
	CHECK_EQ(fake.starts, 0);
	api_destroy(&a);
}

TEST(api_no_vm_ops_refuses_actions)
{
	struct api a;

	api_init(&a, NULL, NULL);
	a.host_files = false;
	REFUSED(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}",
		"Starting a microVM from the API is not supported by vmon yet.");
	api_destroy(&a);
}

/* Kata and firecracker-containerd send limiter objects that limit nothing on every device. */
TEST(api_empty_rate_limiters_mean_no_limit)
{
	struct api a;

	fresh(&a);
	EXPECT(&a, "PUT", "/drives/rootfs",
	       "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r.img\",\"is_root_device\":true,"
	       "\"rate_limiter\":{}}",
	       204, NULL);
	EXPECT(&a, "PUT", "/drives/data",
	       "{\"drive_id\":\"data\",\"path_on_host\":\"/d.img\",\"is_root_device\":false,"
	       "\"rate_limiter\":{\"bandwidth\":{\"size\":0,\"refill_time\":100},"
	       "\"ops\":{\"size\":100,\"one_time_burst\":5,\"refill_time\":0}}}",
	       204, NULL);
	CHECK_EQ(a.cfg.nr_disks, 2);
	EXPECT(&a, "PATCH", "/drives/data",
	       "{\"drive_id\":\"data\",\"rate_limiter\":{\"bandwidth\":null,\"ops\":null}}", 204,
	       NULL);
	EXPECT(&a, "PUT", "/network-interfaces/eth0",
	       "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"rx_rate_limiter\":{},"
	       "\"tx_rate_limiter\":{\"bandwidth\":null}}",
	       204, NULL);
	CHECK_EQ(a.cfg.nr_nets, 1);
	EXPECT(&a, "PUT", "/entropy",
	       "{\"rate_limiter\":{\"bandwidth\":{\"size\":0,\"refill_time\":1}}}", 204, NULL);
	CHECK(vm_config_has_class(&a.cfg, "rng"));
	api_destroy(&a);
}

#define LIMIT_100_OPS                                                                              \
	"{\"bandwidth\":null,\"ops\":{\"size\":100,\"one_time_burst\":0,\"refill_time\":1000}}"

/* Rate limiters: kept, reported by GET /vm/config, changed bucket by bucket, live after boot. */
TEST(api_balloon_configured_patched_and_reported)
{
	struct api a;

	fresh(&a);
	REFUSED(&a, "GET", "/balloon", NULL,
		"No balloon device was configured (PUT /balloon before the start).");
	REFUSED(&a, "PATCH", "/balloon", "{\"amount_mib\":1}",
		"No balloon device was configured (PUT /balloon before the start).");
	REFUSED(&a, "PUT", "/balloon", "{\"amount_mib\":1}",
		API_JSON_FAULT "missing field `deflate_on_oom`.");
	REFUSED(&a, "PUT", "/balloon", "{\"amount_mib\":1024,\"deflate_on_oom\":true}",
		"The balloon cannot be larger than the guest's memory: 1024 MiB asked, 256 MiB of "
		"RAM.");
	REFUSED(&a, "PUT", "/balloon",
		"{\"amount_mib\":1,\"deflate_on_oom\":true,\"free_page_hinting\":true}",
		"Free page hinting (`free_page_hinting`; free_page_reporting is) is not supported "
		"by vmon yet.");
	EXPECT(&a, "PUT", "/balloon",
	       "{\"amount_mib\":16,\"deflate_on_oom\":true,\"stats_polling_interval_s\":1}", 204,
	       NULL);
	EXPECT(&a, "GET", "/balloon", NULL, 200,
	       "{\"amount_mib\":16,\"deflate_on_oom\":true,\"stats_polling_interval_s\":1,"
	       "\"free_page_reporting\":false}");
	/* before the start a PATCH changes the configuration only */
	EXPECT(&a, "PATCH", "/balloon", "{\"amount_mib\":32}", 204, NULL);
	CHECK_EQ(a.cfg.balloon.amount_mib, 32);
	CHECK_EQ(fake.balloon_calls, 0);
	REFUSED(&a, "GET", "/balloon/statistics", NULL,
		"The requested operation is not supported before starting the microVM.");
	REFUSED(&a, "PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\":0}",
		"Statistics were enabled at the start: the polling interval can change, not turn "
		"them off.");
	EXPECT(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204, NULL);
	REFUSED(&a, "PUT", "/balloon", "{\"amount_mib\":1,\"deflate_on_oom\":true}", POST_BOOT);
	/* after it: the running device, then the configuration */
	EXPECT(&a, "PATCH", "/balloon", "{\"amount_mib\":64}", 204, NULL);
	CHECK_EQ(fake.balloon_calls, 1);
	CHECK_EQ(fake.balloon_mib, 64);
	CHECK_EQ(a.cfg.balloon.amount_mib, 64);
	fake.balloon_ret = -EIO;
	REFUSED(&a, "PATCH", "/balloon", "{\"amount_mib\":8}", "Cannot update the balloon: no.");
	CHECK_EQ(a.cfg.balloon.amount_mib, 64);
	fake.balloon_ret = 0;
	EXPECT(&a, "PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\":5}", 204, NULL);
	CHECK_EQ(fake.balloon_interval, 5);
	CHECK_EQ(a.cfg.balloon.stats_interval_s, 5);
	EXPECT(&a, "GET", "/balloon/statistics", NULL, 200,
	       "{\"target_pages\":16384,\"actual_pages\":12288,\"target_mib\":64,"
	       "\"actual_mib\":48,\"free_memory\":123456}");
	REFUSED(&a, "GET", "/balloon/other", NULL,
		"Invalid request method and/or path: GET /balloon/other.");
	api_destroy(&a);
}

TEST(api_balloon_statistics_off_stay_off)
{
	struct api a;

	fresh(&a);
	EXPECT(&a, "PUT", "/balloon", "{\"amount_mib\":0,\"deflate_on_oom\":false}", 204, NULL);
	EXPECT(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204, NULL);
	REFUSED(&a, "GET", "/balloon/statistics", NULL,
		"Balloon statistics were not enabled at the start (stats_polling_interval_s).");
	REFUSED(&a, "PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\":3}",
		"Statistics were not enabled at the start: the polling interval can change, not "
		"turn them on.");
	CHECK_EQ(fake.balloon_calls, 0);
	EXPECT(&a, "GET", "/vm/config", NULL, 200,
	       "{\"machine-config\":" MC_DEFAULT ",\"drives\":[],\"network-interfaces\":[],"
	       "\"balloon\":{\"amount_mib\":0,\"deflate_on_oom\":false,"
	       "\"stats_polling_interval_s\":0,\"free_page_reporting\":false},\"mmds-config\":null,"
	       "\"entropy\":null,"
	       "\"logger\":null,\"metrics\":null}");
	api_destroy(&a);
}

TEST(api_rate_limiters_are_kept_reported_and_patched_live)
{
	struct api a;

	fresh(&a);
	EXPECT(&a, "PUT", "/drives/data",
	       "{\"drive_id\":\"data\",\"path_on_host\":\"/d.img\",\"is_root_device\":false,"
	       "\"rate_limiter\":{\"ops\":{\"size\":100,\"refill_time\":1000}}}",
	       204, NULL);
	CHECK_EQ(a.cfg.disks[0].limit.ops.size, 100);
	CHECK_EQ(a.cfg.disks[0].limit.ops.refill_time_ms, 1000);
	CHECK(!token_bucket_config_active(&a.cfg.disks[0].limit.bandwidth));
	EXPECT(&a, "PUT", "/network-interfaces/eth0",
	       "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\","
	       "\"tx_rate_limiter\":{\"bandwidth\":{\"size\":1048576,\"one_time_burst\":4096,"
	       "\"refill_time\":100}}}",
	       204, NULL);
	CHECK_EQ(a.cfg.nets[0].tx_limit.bandwidth.size, 1048576);
	CHECK_EQ(a.cfg.nets[0].tx_limit.bandwidth.one_time_burst, 4096);
	CHECK(!rate_limit_config_active(&a.cfg.nets[0].rx_limit));
	EXPECT(&a, "GET", "/vm/config", NULL, 200,
	       "{\"machine-config\":" MC_DEFAULT ",\"drives\":[{\"drive_id\":\"data\","
	       "\"path_on_host\":\"/d.img\",\"is_root_device\":false,\"is_read_only\":false,"
	       "\"cache_type\":\"Writeback\",\"io_engine\":\"Sync\",\"rate_limiter\":" LIMIT_100_OPS
	       "}],\"network-interfaces\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\","
	       "\"rx_rate_limiter\":null,\"tx_rate_limiter\":{\"bandwidth\":{\"size\":1048576,"
	       "\"one_time_burst\":4096,\"refill_time\":100},\"ops\":null}}],\"balloon\":null,"
	       "\"mmds-config\":null,\"entropy\":null,"
	       "\"logger\":null,\"metrics\":null}");
	/* a PATCH changes the buckets it names: bandwidth added, ops kept */
	EXPECT(&a, "PATCH", "/drives/data",
	       "{\"drive_id\":\"data\",\"rate_limiter\":{\"bandwidth\":{\"size\":5000,"
	       "\"refill_time\":10}}}",
	       204, NULL);
	CHECK_EQ(a.cfg.disks[0].limit.bandwidth.size, 5000);
	CHECK_EQ(a.cfg.disks[0].limit.ops.size, 100);
	CHECK_EQ(fake.limits, 0); /* before boot only the configuration changes */
	EXPECT(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204, NULL);
	/* after boot: the running device, then the configuration; a bucket of size 0 removes it */
	EXPECT(&a, "PATCH", "/drives/data",
	       "{\"drive_id\":\"data\",\"rate_limiter\":{\"ops\":{\"size\":0,"
	       "\"refill_time\":1}}}",
	       204, NULL);
	CHECK_EQ(fake.limits, 1);
	CHECK(!strcmp(fake.limit_id, "data"));
	CHECK_EQ(fake.limit.bandwidth.size, 5000);
	CHECK(!token_bucket_config_active(&fake.limit.ops));
	CHECK(!token_bucket_config_active(&a.cfg.disks[0].limit.ops));
	/* a new file after boot: the running device, then the configuration; refused: neither */
	EXPECT(&a, "PATCH", "/drives/data", "{\"drive_id\":\"data\",\"path_on_host\":\"/e\"}", 204,
	       NULL);
	CHECK_EQ(fake.paths, 1);
	CHECK(!strcmp(fake.path_id, "data") && !strcmp(fake.path, "/e"));
	CHECK(!strcmp(a.cfg.disks[0].path, "/e"));
	CHECK_EQ(fake.limits, 1); /* no rate_limiter given: not touched */
	fake.path_ret = -EBUSY;
	REFUSED(&a, "PATCH", "/drives/data",
		"{\"drive_id\":\"data\",\"path_on_host\":\"/f\",\"rate_limiter\":{}}",
		"Cannot change the file of the block device data: locked.");
	CHECK(!strcmp(a.cfg.disks[0].path, "/e"));
	CHECK_EQ(fake.limits, 1);
	fake.path_ret = 0;
	EXPECT(&a, "PATCH", "/network-interfaces/eth0",
	       "{\"iface_id\":\"eth0\",\"rx_rate_limiter\":{\"ops\":{\"size\":10,"
	       "\"refill_time\":100}}}",
	       204, NULL);
	CHECK_EQ(fake.limits, 2);
	CHECK_EQ(fake.limit.ops.size, 10);
	CHECK_EQ(fake.tx_limit.bandwidth.size, 1048576); /* tx kept */
	CHECK_EQ(a.cfg.nets[0].rx_limit.ops.size, 10);
	/* the device refuses: the fault says why and the configuration is unchanged */
	fake.limit_ret = -EOPNOTSUPP;
	REFUSED(&a, "PATCH", "/network-interfaces/eth0",
		"{\"iface_id\":\"eth0\",\"rx_rate_limiter\":{\"ops\":null,\"bandwidth\":{"
		"\"size\":1,\"refill_time\":1}}}",
		"the device said no");
	CHECK(!token_bucket_config_active(&a.cfg.nets[0].rx_limit.bandwidth));
	REFUSED(&a, "PATCH", "/network-interfaces/eth9", "{\"iface_id\":\"eth9\"}",
		"Invalid network interface ID: eth9.");
	REFUSED(&a, "PATCH", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\",\"mac\":1}",
		JF "unknown field `mac`, expected one of `iface_id`, `rx_rate_limiter`, "
		   "`tx_rate_limiter`.");
	api_destroy(&a);
}

TEST(api_migration_send_takes_a_running_vm_and_checks_its_fields)
{
	struct api a;

	fresh(&a);
	REFUSED(&a, "PUT", "/migration/send", "{\"destination\":\"tcp:10.0.0.2:4444\"}",
		"Migration error: only a running or paused microVM can be migrated.");
	REFUSED(&a, "GET", "/migration", NULL, "No migration was started.");
	EXPECT(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204, NULL);
	REFUSED(&a, "PUT", "/migration/send", "{}", JF "missing field `destination`.");
	REFUSED(&a, "PUT", "/migration/send", "{\"destination\":\"10.0.0.2:4444\"}",
		"Migration error: migration address '10.0.0.2:4444': expected tcp:IP:PORT, "
		"tcp:[IPv6]:PORT or unix:PATH.");
	REFUSED(&a, "PUT", "/migration/send", "{\"destination\":\"unix:/m\",\"max_downtime_ms\":0}",
		JF "max_downtime_ms: expected 1..86400000.");
	REFUSED(&a, "PUT", "/migration/send", "{\"destination\":\"unix:/m\",\"on_timeout\":\"x\"}",
		JF "unknown variant `x` for `on_timeout`, expected one of `cancel`, `force`.");
	CHECK_EQ(fake.migrations, 0);
	EXPECT(&a, "PUT", "/migration/send",
	       "{\"destination\":\"tcp:[::1]:7\",\"max_downtime_ms\":50,"
	       "\"max_bandwidth_mib_s\":100,\"timeout_s\":9,\"on_timeout\":\"force\"}",
	       204, NULL);
	CHECK_EQ(fake.migrations, 1);
	CHECK_EQ(strcmp(fake.mig.destination, "tcp:[::1]:7"), 0);
	CHECK(fake.mig.max_downtime_ms == 50 && fake.mig.max_bandwidth_mib_s == 100 &&
	      fake.mig.timeout_s == 9 && fake.mig.force_on_timeout);
	fake.migrate_ret = -ECONNREFUSED;
	REFUSED(&a, "PUT", "/migration/send", "{\"destination\":\"unix:/m\"}",
		"Migration error: the destination said no.");
	fake.mig_status = "{\"state\": \"precopy\", \"round\": 2}";
	EXPECT(&a, "GET", "/migration", NULL, 200, "{\"state\":\"precopy\",\"round\":2}");
	api_destroy(&a);
}

TEST(api_migration_receive_waits_with_nothing_configured)
{
	struct api a;
	struct vm_config cfg;

	fresh(&a);
	REFUSED(&a, "PUT", "/migration/receive", "{\"listen\":\"localhost:1\"}",
		"Migration error: migration address 'localhost:1': expected tcp:IP:PORT, "
		"tcp:[IPv6]:PORT or unix:PATH.");
	EXPECT(&a, "PUT", "/boot-source", "{\"kernel_image_path\":\"/k\"}", 204, NULL);
	REFUSED(&a, "PUT", "/migration/receive", "{\"listen\":\"unix:/m\"}",
		"Migration error: a migration is received only by a vmon with nothing configured "
		"or running.");
	api_destroy(&a);
	fresh(&a);
	EXPECT(&a, "PUT", "/migration/receive",
	       "{\"listen\":\"unix:/m\",\"network_overrides\":[{\"iface_id\":\"eth0\","
	       "\"host_dev_name\":\"tap9\"}]}",
	       204, NULL);
	CHECK(fake.receives == 1 && !strcmp(fake.listen, "unix:/m") && fake.nr_overrides == 1);
	REFUSED(&a, "PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64}",
		"A migration is awaited: the microVM comes from its source.");
	REFUSED(&a, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}",
		"A migration is awaited: the microVM comes from its source.");
	REFUSED(&a, "PUT", "/migration/receive", "{\"listen\":\"unix:/n\"}",
		"A migration is awaited: the microVM comes from its source.");
	vm_config_init(&cfg);
	cfg.cpus = 3;
	api_migration_arrived(&a, &cfg, false);
	CHECK_EQ(a.state, API_RUNNING);
	CHECK_EQ(a.cfg.cpus, 3);
	REFUSED(&a, "PUT", "/boot-source", "{\"kernel_image_path\":\"/k\"}", POST_BOOT);
	api_destroy(&a);
}

TEST(api_migration_arrived_paused_stays_paused)
{
	struct api a;
	struct vm_config cfg;

	fresh(&a);
	vm_config_init(&cfg);
	api_migration_arrived(&a, &cfg, true); /* its user had paused it at the source */
	CHECK_EQ(a.state, API_PAUSED);
	api_destroy(&a);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(api_instance_info_and_version)
	HARNESS_T(api_machine_config_put_get_patch)
	HARNESS_T(api_machine_config_refusals)
	HARNESS_T(api_malformed_bodies)
	HARNESS_T(api_oversize_body_refused_unparsed)
	HARNESS_T(api_wrong_methods_and_paths)
	HARNESS_T(api_unsupported_endpoints_say_so)
	HARNESS_T(api_mmds_store_is_put_patched_and_got)
	HARNESS_T(api_mmds_store_keeps_its_size_limit)
	HARNESS_T(api_mmds_config_names_existing_nics_and_a_link_local_address)
	HARNESS_T(api_vsock_put_checks_cid_and_path)
	HARNESS_T(api_boot_source)
	HARNESS_T(api_drives)
	HARNESS_T(api_drive_put_refuses_what_is_no_disk_image)
	HARNESS_T(api_drives_report_writeback_cache)
	HARNESS_T(api_network_interfaces)
	HARNESS_T(api_entropy_logger_metrics)
	HARNESS_T(api_balloon_configured_patched_and_reported)
	HARNESS_T(api_balloon_statistics_off_stay_off)
	HARNESS_T(api_empty_rate_limiters_mean_no_limit)
	HARNESS_T(api_rate_limiters_are_kept_reported_and_patched_live)
	HARNESS_T(api_start_and_post_boot_refusals)
	HARNESS_T(api_pause_resume_idempotent)
	HARNESS_T(api_vm_stats)
	HARNESS_T(api_flush_metrics_to_file_and_fifo)
	HARNESS_T(api_start_validates_config_with_host_files)
	HARNESS_T(api_no_vm_ops_refuses_actions)
	HARNESS_T(api_migration_send_takes_a_running_vm_and_checks_its_fields)
	HARNESS_T(api_migration_receive_waits_with_nothing_configured)
	HARNESS_T(api_migration_arrived_paused_stays_paused)
)
// clang-format on
