/* test_cli.c — command-line and configuration parsing: good input, and every bad argument refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "util/filelock.h"
#include "harness.h"

static int parse(struct cli *cli, char *err, int argc, char **argv)
{
	return cli_parse(argc, argv, cli, err, 256);
}

#define ARGS(...)                                                                                  \
	(char *[])                                                                                 \
	{                                                                                          \
		"vmon", __VA_ARGS__, NULL                                                          \
	}
#define NARGS(...) ((int)(sizeof((char *[]){ "vmon", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(cli, err, ...) parse(cli, err, NARGS(__VA_ARGS__), ARGS(__VA_ARGS__))

TEST(cli_run_parses_every_option)
{
	struct cli cli;
	char err[256] = "";

	CHECK_EQ(PARSE(&cli, err, "run", "--kernel", "k", "--initrd", "i", "--cmdline", "a b",
		       "--cpus", "4", "--mem", "2G", "--stats", "--disk", "d.img,ro,id=root",
		       "--net", "tap=tap0,mac=02:00:00:00:00:01", "--rng", "--console", "virtio",
		       "--vsock", "cid=52,uds=/run/v.sock", "--boot-timer", "--cpu-template",
		       "T2CL"),
		 0);
	CHECK_EQ(cli.command, CLI_RUN);
	CHECK(!strcmp(cli.cfg.kernel_path, "k"));
	CHECK(!strcmp(cli.cfg.initrd_path, "i"));
	CHECK(!strcmp(cli.cfg.cmdline, "a b"));
	CHECK_EQ(cli.cfg.cpus, 4);
	CHECK_EQ(cli.cfg.mem_bytes, 2ull << 30);
	CHECK(cli.cfg.stats);
	CHECK_EQ(cli.cfg.nr_disks, 1);
	CHECK(cli.cfg.disks[0].read_only);
	CHECK(!strcmp(cli.cfg.disks[0].id, "root"));
	CHECK(!strcmp(cli.cfg.disks[0].path, "d.img"));
	CHECK_EQ(cli.cfg.nr_nets, 1);
	CHECK(!strcmp(cli.cfg.nets[0].tap, "tap0"));
	CHECK(cli.cfg.nets[0].has_mac);
	CHECK_EQ(cli.cfg.nets[0].mac[5], 1);
	CHECK(vm_config_has_class(&cli.cfg, "rng"));
	CHECK_EQ(cli.cfg.console, VM_CONSOLE_VIRTIO);
	CHECK_EQ(cli.cfg.vsock.cid, 52);
	CHECK(cli.cfg.boot_timer);
	CHECK_EQ(cli.cfg.cpu_template, CPU_TEMPLATE_T2CL);
	CHECK(cli.cfg.vsock.uds_path && !strcmp(cli.cfg.vsock.uds_path, "/run/v.sock"));
	cli_free(&cli);
}

TEST(cli_run_offers_each_class_of_the_table_as_an_option)
{
	char help[8192] = "";
	FILE *f = fmemopen(help, sizeof(help) - 1, "w");

	REQUIRE(f);
	cli_usage(f);
	fclose(f);
	for (unsigned i = 0; i < VIRTIO_NR_CLASSES; i++) {
		const struct virtio_class *c = virtio_class_at(i);
		char opt[32], line[64];
		struct cli cli;
		char err[256] = "";

		/* --NAME reaches this class: no fixed option of the same name hides it */
		snprintf(opt, sizeof(opt), "--%s", c->name);
		CHECK_EQ(PARSE(&cli, err, "run", opt), 0);
		CHECK(vm_config_has_class(&cli.cfg, c->name));
		CHECK_EQ(vm_config_class_count(&cli.cfg), 1);
		cli_free(&cli);
		snprintf(line, sizeof(line), "  --%-19s %s\n", c->name, c->help);
		CHECK(strstr(help, line) != NULL);
	}
	CHECK(strstr(help, "  --cpu-template NAME") != NULL); /* the text after the classes */
}

TEST(cli_run_without_kernel_means_demo)
{
	struct cli cli;
	char err[256] = "";

	CHECK_EQ(PARSE(&cli, err, "run"), 0);
	CHECK(cli.cfg.kernel_path == NULL);
	CHECK_EQ(cli.cfg.cpus, 1);
	CHECK_EQ(cli.cfg.mem_bytes, VM_DEFAULT_MEM_BYTES);
	cli_free(&cli);
}

TEST(cli_refuses_bad_arguments_with_one_line)
{
	static const char *const bad[][4] = {
		{ "run", "--cpus", "0" },
		{ "run", "--cpus", "65" },
		{ "run", "--cpus", "x" },
		{ "run", "--cpus", "-1" },
		{ "run", "--mem", "12Q" },
		{ "run", "--mem", "0" },
		{ "run", "--mem", "" },
		{ "run", "--bogus" },
		{ "run", "--kernel" },
		{ "run", "extra" },
		{ "frobnicate" },
		{ "run", "--console", "vga" },
		{ "run", "--transport", "isa" },
		{ "run", "--disk", ",ro" },
		{ "run", "--disk", "a,rw" },
		{ "run", "--net", "mac=x" },
		{ "run", "--net", "tap=t,mac=01:00:00:00:00:00" },
		{ "run", "--api-sock", "/s" },
		{ "--no-api" },
		{ "info", "--cpus", "2" },
		{ "--api-sock", "/s", "--no-api" },
		{ "run", "--incoming", "localhost:4444" },
		{ "run", "--incoming", "unix:/m", "--cpus" },
		{ "--incoming", "unix:/m" },
		{ "run", "--vsock", "cid=2,uds=/v" },
		{ "run", "--vsock", "cid=4294967296,uds=/v" },
		{ "run", "--vsock", "uds=/v" },
		{ "run", "--vsock", "cid=3" },
		{ "run", "--vsock", "cid=3,uds=/v,port=1" },
		{ "run", "--cpu-template", "t2" },
		{ "run", "--cpu-template" },
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[6] = { "vmon" };
		struct cli cli;
		char err[256] = "";
		int argc = 1;

		for (unsigned j = 0; j < 4 && bad[i][j]; j++)
			argv[argc++] = (char *)bad[i][j];
		if (cli_parse(argc, argv, &cli, err, sizeof(err)) != -EINVAL) {
			printf("#   accepted: case %u (%s %s)\n", i, bad[i][0],
			       bad[i][1] ? bad[i][1] : "");
			harness.failed++;
		}
		CHECK(err[0] != '\0' && !strchr(err, '\n'));
		cli_free(&cli);
	}
}

TEST(cli_firecracker_style_modes)
{
	struct cli cli;
	char err[256] = "";

	CHECK_EQ(PARSE(&cli, err, "--api-sock", "/tmp/x.sock"), 0);
	CHECK_EQ(cli.command, CLI_API);
	CHECK(!strcmp(cli.api_sock, "/tmp/x.sock"));
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "--config-file", "c.json", "--no-api"), 0);
	CHECK(cli.no_api);
	CHECK(!strcmp(cli.config_file, "c.json"));
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "run", "--incoming", "tcp:0.0.0.0:4444"), 0);
	CHECK_EQ(cli.command, CLI_RUN);
	CHECK(!strcmp(cli.incoming, "tcp:0.0.0.0:4444"));
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "run", "--incoming", "unix:/m", "--kernel", "k"), -EINVAL);
	CHECK(strstr(err, "--incoming") != NULL);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "--version"), 0);
	CHECK_EQ(cli.command, CLI_VERSION);
	cli_free(&cli);
	/* flintlock's MMDS flags */
	CHECK_EQ(PARSE(&cli, err, "--api-sock", "/s", "--metadata", "m.json", "--mmds-size-limit",
		       "4096"),
		 0);
	CHECK(cli.metadata && !strcmp(cli.metadata, "m.json"));
	CHECK_EQ(cli.mmds_size_limit, 4096);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "--api-sock", "/s", "--mmds-size-limit", "0"), -EINVAL);
	CHECK(strstr(err, "--mmds-size-limit") != NULL);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "run", "--metadata", "m.json"), -EINVAL);
	cli_free(&cli);
}

TEST(cli_net_override_goes_with_restore_and_incoming)
{
	struct cli cli;
	char err[256] = "";

	CHECK_EQ(PARSE(&cli, err, "run", "--incoming", "unix:/m", "--net-override", "eth0=tap1",
		       "--net-override", "eth1=tap2"),
		 0);
	CHECK_EQ(cli.nr_net_overrides, 2);
	CHECK(!strcmp(cli.net_overrides[0].id, "eth0") &&
	      !strcmp(cli.net_overrides[0].tap, "tap1"));
	CHECK(!strcmp(cli.net_overrides[1].id, "eth1") &&
	      !strcmp(cli.net_overrides[1].tap, "tap2"));
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "run", "--restore", "s", "--mem-file", "m", "--net-override",
		       "eth0=tap1"),
		 0);
	CHECK_EQ(cli.nr_net_overrides, 1);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "run", "--kernel", "k", "--net-override", "eth0=tap1"), -EINVAL);
	CHECK(strstr(err, "--net-override goes with --restore or --incoming") != NULL);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "run", "--incoming", "unix:/m", "--net-override", "eth0"),
		 -EINVAL);
	CHECK(strstr(err, "expected ID=TAP") != NULL);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "run", "--incoming", "unix:/m", "--net-override", "=tap1"),
		 -EINVAL);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "run", "--incoming", "unix:/m", "--net-override",
		       "eth0=a-tap-name-too-long"),
		 -EINVAL);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "run", "--incoming", "unix:/m", "--net-override", "eth0=tap1",
		       "--net-override", "eth0=tap2"),
		 -EINVAL);
	CHECK(strstr(err, "given twice") != NULL);
	cli_free(&cli);
}

TEST(cli_migrate_takes_the_source_socket_the_destination_and_the_limits)
{
	struct cli cli;
	char err[256] = "";

	CHECK_EQ(PARSE(&cli, err, "migrate", "--api-sock", "/s.sock", "--to", "tcp:10.0.0.2:4444",
		       "--max-downtime-ms", "300", "--max-bandwidth-mib-s", "64", "--timeout-s",
		       "30", "--on-timeout", "force", "-v"),
		 0);
	CHECK_EQ(cli.command, CLI_MIGRATE);
	CHECK(!strcmp(cli.api_sock, "/s.sock"));
	CHECK(!strcmp(cli.mig.to, "tcp:10.0.0.2:4444"));
	CHECK_EQ(cli.mig.max_downtime_ms, 300);
	CHECK_EQ(cli.mig.max_bandwidth_mib_s, 64);
	CHECK_EQ(cli.mig.timeout_s, 30);
	CHECK(!strcmp(cli.mig.on_timeout, "force"));
	CHECK_EQ(cli.verbose, 1);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "migrate", "--to", "unix:/m", "--api-sock", "/s"), 0);
	CHECK_EQ(cli.mig.max_downtime_ms, 0); /* not given: the source's default */
	CHECK(cli.mig.on_timeout == NULL);
	cli_free(&cli);
}

TEST(cli_migrate_refuses_what_it_cannot_send)
{
	static const struct {
		const char *argv[6];
		const char *says;
	} bad[] = {
		{ { "migrate", "--api-sock", "/s" }, "usage: vmon migrate" },
		{ { "migrate", "--to", "unix:/m" }, "usage: vmon migrate" },
		{ { "migrate", "--api-sock", "/s", "--to", "udp:1.2.3.4:5" }, "--to: " },
		{ { "migrate", "--api-sock", "/s", "--to", "unix:/m", "--max-downtime-ms" },
		  "needs a value" },
		{ { "migrate", "--to", "unix:/m", "--timeout-s", "0" }, "--timeout-s: expected" },
		{ { "migrate", "--to", "unix:/m", "--max-bandwidth-mib-s", "-5" },
		  "--max-bandwidth-mib-s: expected" },
		{ { "migrate", "--to", "unix:/m", "--max-downtime-ms", "12x" },
		  "--max-downtime-ms: expected" },
		{ { "migrate", "--to", "unix:/m", "--on-timeout", "wait" },
		  "--on-timeout: expected" },
		{ { "migrate", "--to", "unix:/m", "--kernel", "k" }, "unknown option '--kernel'" },
		{ { "migrate", "--to", "unix:/m", "--api-sock", "/s", "now" },
		  "unexpected argument" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[8] = { "vmon" };
		struct cli cli;
		char err[256] = "";
		int argc = 1;

		for (int k = 0; k < 6 && bad[i].argv[k]; k++)
			argv[argc++] = (char *)bad[i].argv[k];
		CHECK_EQ(parse(&cli, err, argc, argv), -EINVAL);
		CHECK(strstr(err, bad[i].says) != NULL);
		CHECK(strchr(err, '\n') == NULL);
		if (!strstr(err, bad[i].says))
			fprintf(stderr, "# case %zu: %s\n", i, err);
		cli_free(&cli);
	}
}

TEST(vm_config_parse_size_accepts_units_and_refuses_junk)
{
	uint64_t v = 0;

	CHECK_EQ(parse_size("512M", &v), 0);
	CHECK_EQ(v, 512ull << 20);
	CHECK_EQ(parse_size("2g", &v), 0);
	CHECK_EQ(v, 2ull << 30);
	CHECK_EQ(parse_size("4096K", &v), 0);
	CHECK_EQ(v, 4096ull << 10);
	CHECK_EQ(parse_size("1GiB", &v), 0);
	CHECK_EQ(v, 1ull << 30);
	CHECK_EQ(parse_size("1048576", &v), 0);
	CHECK_EQ(v, 1048576);
	CHECK_EQ(parse_size("", &v), -EINVAL);
	CHECK_EQ(parse_size("M", &v), -EINVAL);
	CHECK_EQ(parse_size("-1M", &v), -EINVAL);
	CHECK_EQ(parse_size("1.5G", &v), -EINVAL);
	CHECK_EQ(parse_size("99999999999999999999", &v), -EINVAL);
	CHECK_EQ(parse_size("16777216T", &v), -EINVAL); /* 2^64 overflows */
	CHECK_EQ(parse_size("1MX", &v), -EINVAL);
}

TEST(vm_config_validate_refuses_missing_and_unreadable_files)
{
	struct vm_config cfg;
	char err[256] = "";
	char path[] = "/tmp/vmon-test-XXXXXX";
	int fd = mkstemp(path);

	REQUIRE(fd >= 0);
	close(fd);
	vm_config_init(&cfg);
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)), 0);
	cfg.kernel_path = strdup("/nonexistent/bzImage");
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "/nonexistent/bzImage") != NULL);
	free(cfg.kernel_path);
	cfg.kernel_path = strdup("/tmp");
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)), -EINVAL); /* a directory */
	free(cfg.kernel_path);
	cfg.kernel_path = strdup(path);
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)), 0);
	CHECK(cfg.kernel_fd >= 0); /* held open for vm_boot_load() */
	CHECK_EQ(cfg.initrd_fd, -1);
	cfg.mem_bytes = 1 << 20;
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	CHECK_EQ(cfg.kernel_fd, -1); /* closed on an error */
	cfg.mem_bytes = 64 << 20;
	cfg.disks[0].id = strdup("a");
	cfg.disks[0].path = strdup("/nonexistent.img");
	cfg.nr_disks = 1;
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)), -ENOENT);
	vm_config_free(&cfg);
	unlink(path);
}

/*
 * What is no disk image is refused where it is named (--disk, PUT /drives): a directory, a FIFO,
 * a character device, a dangling symlink, an unreadable file; and an image another open file
 * holds a conflicting lock on.
 */
TEST(vm_config_check_file_refuses_what_is_no_disk_image)
{
	char dir[] = "/tmp/vmon-test-disk-XXXXXX";
	char fifo[64], link[64], img[64], want[160], err[256] = "";
	int fd;

	REQUIRE(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(link, sizeof(link), "%s/dangling", dir);
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	REQUIRE(mkfifo(fifo, 0600) == 0);
	REQUIRE(symlink("/nonexistent/target.img", link) == 0);
	fd = open(img, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, 1 << 20) == 0);
	close(fd);
	alarm(10);
	CHECK_EQ(vm_config_check_file("disk", dir, true, false, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "disk '%s' is not a regular file or block device", dir);
	CHECK(!strcmp(err, want));
	CHECK_EQ(vm_config_check_file("disk", dir, true, true, err, sizeof(err)), -EISDIR);
	CHECK_EQ(vm_config_check_file("disk", fifo, true, true, err, sizeof(err)), -EINVAL);
	CHECK_EQ(vm_config_check_file("disk", "/dev/zero", true, true, err, sizeof(err)), -EINVAL);
	CHECK_EQ(vm_config_check_file("disk", link, true, false, err, sizeof(err)), -ENOENT);
	CHECK_EQ(vm_config_check_file("disk", img, true, true, err, sizeof(err)), 0);
	if (geteuid() != 0) { /* root reads any file */
		REQUIRE(chmod(img, 0) == 0);
		CHECK_EQ(vm_config_check_file("disk", img, true, false, err, sizeof(err)), -EACCES);
		REQUIRE(chmod(img, 0600) == 0);
	}
	/* a writer elsewhere: neither a reader nor a writer may join; a reader: readers may */
	fd = open(img, O_RDWR | O_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE(file_lock(fd, true) == 0);
	CHECK_EQ(vm_config_check_file("disk", img, true, true, err, sizeof(err)), -EBUSY);
	snprintf(want, sizeof(want), "disk '%s' is in use by another process", img);
	CHECK(!strcmp(err, want));
	CHECK_EQ(vm_config_check_file("disk", img, true, false, err, sizeof(err)), -EBUSY);
	snprintf(want, sizeof(want), "disk '%s' is open read-write by another process", img);
	CHECK(!strcmp(err, want));
	close(fd);
	fd = open(img, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE(file_lock(fd, false) == 0);
	CHECK_EQ(vm_config_check_file("disk", img, true, false, err, sizeof(err)), 0);
	CHECK_EQ(vm_config_check_file("disk", img, true, true, err, sizeof(err)), -EBUSY);
	close(fd);
	alarm(0);
	unlink(img);
	unlink(link);
	unlink(fifo);
	rmdir(dir);
}

/*
 * A FIFO (or any non-regular file) as kernel, initrd or disk is refused at once: the open
 * is non-blocking, so it cannot wait for a writer. alarm() turns a hang into a failure.
 */
TEST(vm_config_validate_refuses_a_fifo_at_once)
{
	struct vm_config cfg;
	char err[256] = "";
	char dir[] = "/tmp/vmon-test-fifo-XXXXXX";
	char fifo[64], reg[64], want[128];
	int fd;

	REQUIRE(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(reg, sizeof(reg), "%s/kernel", dir);
	REQUIRE(mkfifo(fifo, 0600) == 0);
	fd = open(reg, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	close(fd);
	alarm(10);
	vm_config_init(&cfg);
	cfg.kernel_path = strdup(fifo);
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "kernel '%s' is not a regular file", fifo);
	CHECK(!strcmp(err, want));
	CHECK_EQ(cfg.kernel_fd, -1);
	free(cfg.kernel_path);
	cfg.kernel_path = strdup(reg);
	cfg.initrd_path = strdup(fifo);
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "initrd '%s' is not a regular file", fifo);
	CHECK(!strcmp(err, want));
	CHECK_EQ(cfg.kernel_fd, -1); /* closed on an error */
	free(cfg.initrd_path);
	cfg.initrd_path = NULL;
	cfg.disks[0].id = strdup("a");
	cfg.disks[0].path = strdup(fifo);
	cfg.nr_disks = 1;
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "is not a regular file or block device") != NULL);
	cfg.nr_disks = 0;
	/* a regular file is kept open, and blocking again */
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)), 0);
	REQUIRE(cfg.kernel_fd >= 0);
	CHECK_EQ(fcntl(cfg.kernel_fd, F_GETFL) & O_NONBLOCK, 0);
	alarm(0);
	cfg.nr_disks = 1;
	vm_config_free(&cfg);
	unlink(fifo);
	unlink(reg);
	rmdir(dir);
}

TEST(vm_config_transport_is_mmio_with_pci_off_or_when_asked)
{
	static const struct {
		const char *cmdline;
		enum vm_transport asked, want;
	} cases[] = {
		{ NULL, VM_TRANSPORT_AUTO, VM_TRANSPORT_PCI },
		{ "console=ttyS0", VM_TRANSPORT_AUTO, VM_TRANSPORT_PCI },
		{ "pci=off", VM_TRANSPORT_AUTO, VM_TRANSPORT_MMIO },
		{ "reboot=k panic=1 pci=off nomodules", VM_TRANSPORT_AUTO, VM_TRANSPORT_MMIO },
		{ "console=ttyS0\tpci=off", VM_TRANSPORT_AUTO, VM_TRANSPORT_MMIO },
		{ "xpci=off", VM_TRANSPORT_AUTO, VM_TRANSPORT_PCI },
		{ "pci=offline", VM_TRANSPORT_AUTO, VM_TRANSPORT_PCI },
		{ "pci=off", VM_TRANSPORT_PCI, VM_TRANSPORT_PCI },
		{ NULL, VM_TRANSPORT_MMIO, VM_TRANSPORT_MMIO },
	};
	struct cli cli;
	char err[256] = "";

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vm_config cfg;

		vm_config_init(&cfg);
		cfg.cmdline = (char *)cases[i].cmdline;
		cfg.transport = cases[i].asked;
		if (vm_config_transport(&cfg) != cases[i].want) {
			printf("#   case %u: transport %d\n", i, vm_config_transport(&cfg));
			harness.failed++;
		}
	}
	CHECK_EQ(PARSE(&cli, err, "run", "--transport", "mmio", "--rng"), 0);
	CHECK_EQ(cli.cfg.transport, VM_TRANSPORT_MMIO);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "run", "--transport", "pci"), 0);
	CHECK_EQ(cli.cfg.transport, VM_TRANSPORT_PCI);
	cli_free(&cli);
}

TEST(vm_config_validate_refuses_more_devices_than_virtio_mmio_windows)
{
	struct vm_config cfg;
	char err[256] = "";

	vm_config_init(&cfg);
	cfg.transport = VM_TRANSPORT_MMIO;
	vm_config_add_class(&cfg, &virtio_rng_class);
	cfg.console = VM_CONSOLE_VIRTIO;
	for (unsigned i = 0; i < VM_MAX_NETS; i++) {
		cfg.nets[i].id = strdup("n");
		cfg.nets[i].tap = strdup("tap0");
	}
	cfg.nr_nets = VM_MAX_NETS;
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)), 0); /* 6 devices */
	for (unsigned i = 0; i < 11; i++) {
		char id[8];

		snprintf(id, sizeof(id), "d%u", i);
		cfg.disks[i].id = strdup(id);
		cfg.disks[i].path = strdup("/nonexistent.img");
	}
	cfg.nr_disks = 11;
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)), -EINVAL); /* 17: before any file */
	CHECK(strstr(err, "virtio-mmio has room for 16") != NULL);
	CHECK(strstr(err, "--transport pci") != NULL);
	cfg.transport = VM_TRANSPORT_PCI;
	CHECK_EQ(vm_config_validate(&cfg, err, sizeof(err)),
		 -ENOENT); /* on PCI: the missing disk */
	vm_config_free(&cfg);
}

TEST(vm_config_parse_mac_checks_form)
{
	uint8_t mac[6];

	CHECK_EQ(parse_mac("02:aa:bb:cc:dd:ee", mac), 0);
	CHECK_EQ(mac[1], 0xaa);
	CHECK_EQ(parse_mac("02:aa:bb:cc:dd", mac), -EINVAL);
	CHECK_EQ(parse_mac("02:aa:bb:cc:dd:ee:ff", mac), -EINVAL);
	CHECK_EQ(parse_mac("02-aa-bb-cc-dd-ee", mac), -EINVAL);
	CHECK_EQ(parse_mac("0g:aa:bb:cc:dd:ee", mac), -EINVAL);
	CHECK_EQ(parse_mac("01:00:5e:00:00:01", mac), -EINVAL); /* multicast */
}

TEST(cli_takes_a_jailers_id_and_start_times)
{
	struct cli cli;
	char err[256] = "";

	/* what Firecracker's jailer (and vmon-jailer) put before the arguments after -- */
	CHECK_EQ(PARSE(&cli, err, "--id", "vm-7", "--start-time-us", "123", "--start-time-cpu-us",
		       "45", "--parent-cpu-time-us", "6", "--api-sock", "a.sock"),
		 0);
	CHECK_EQ(cli.command, CLI_API);
	CHECK(cli.id && !strcmp(cli.id, "vm-7"));
	CHECK(cli.jailer.given && cli.jailer.start_us == 123 && cli.jailer.start_cpu_us == 45 &&
	      cli.jailer.parent_cpu_us == 6);
	CHECK(!strcmp(cli.api_sock, "a.sock"));
	cli_free(&cli);
	/* a command word may follow them */
	CHECK_EQ(PARSE(&cli, err, "--id=x1", "--start-time-us=1", "run", "--cpus", "2"), 0);
	CHECK_EQ(cli.command, CLI_RUN);
	CHECK(!strcmp(cli.id, "x1"));
	CHECK_EQ(cli.cfg.cpus, 2);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "--id", "a/b", "--api-sock", "s"), -EINVAL);
	CHECK(strstr(err, "--id") != NULL);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "--id", "ok", "--start-time-us", "-1", "--api-sock", "s"),
		 -EINVAL);
	CHECK(strstr(err, "--start-time-us") != NULL);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "--id", "ok"), -EINVAL);
	cli_free(&cli);
	CHECK_EQ(PARSE(&cli, err, "--id"), -EINVAL);
	CHECK(strstr(err, "needs a value") != NULL);
	cli_free(&cli);
}

TEST(cli_firecracker_name_means_firecrackers_conventions)
{
	struct cli cli;
	char err[256] = "";
	char *bare[] = { "/usr/bin/firecracker", NULL };
	char *cfg_only[] = { "firecracker", "--id", "k1", "--config-file", "/fc.json", NULL };
	char *no_api[] = { "firecracker", "--config-file", "/fc.json", "--no-api", NULL };
	char *own[] = { "vmon", "--config-file", "/fc.json", NULL };

	CHECK_EQ(cli_parse(1, bare, &cli, err, sizeof(err)), 0);
	CHECK_EQ(cli.command, CLI_API);
	CHECK(cli.firecracker && cli.api_sock && !strcmp(cli.api_sock, "/run/firecracker.socket"));
	cli_free(&cli);
	CHECK_EQ(cli_parse(5, cfg_only, &cli, err, sizeof(err)), 0);
	CHECK(cli.api_sock && !strcmp(cli.api_sock, "/run/firecracker.socket"));
	CHECK(!strcmp(cli.config_file, "/fc.json") && !strcmp(cli.id, "k1"));
	CHECK(cli.cfg.firecracker_names);
	cli_free(&cli);
	CHECK_EQ(cli_parse(4, no_api, &cli, err, sizeof(err)), 0);
	CHECK(!cli.api_sock && cli.no_api);
	cli_free(&cli);
	/* under its own name vmon keeps its own defaults */
	CHECK_EQ(cli_parse(3, own, &cli, err, sizeof(err)), 0);
	CHECK(!cli.firecracker && !cli.api_sock && !cli.cfg.firecracker_names);
	cli_free(&cli);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(cli_run_parses_every_option)
	HARNESS_T(cli_run_offers_each_class_of_the_table_as_an_option)
	HARNESS_T(cli_run_without_kernel_means_demo)
	HARNESS_T(cli_refuses_bad_arguments_with_one_line)
	HARNESS_T(cli_firecracker_style_modes)
	HARNESS_T(cli_takes_a_jailers_id_and_start_times)
	HARNESS_T(cli_firecracker_name_means_firecrackers_conventions)
	HARNESS_T(cli_net_override_goes_with_restore_and_incoming)
	HARNESS_T(cli_migrate_takes_the_source_socket_the_destination_and_the_limits)
	HARNESS_T(cli_migrate_refuses_what_it_cannot_send)
	HARNESS_T(vm_config_parse_size_accepts_units_and_refuses_junk)
	HARNESS_T(vm_config_validate_refuses_missing_and_unreadable_files)
	HARNESS_T(vm_config_validate_refuses_a_fifo_at_once)
	HARNESS_T(vm_config_check_file_refuses_what_is_no_disk_image)
	HARNESS_T(vm_config_transport_is_mmio_with_pci_off_or_when_asked)
	HARNESS_T(vm_config_validate_refuses_more_devices_than_virtio_mmio_windows)
	HARNESS_T(vm_config_parse_mac_checks_form)
)
// clang-format on
