/* cli.c — command-line parsing into struct cli (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm_migrate.h"

/* the --help text before and after the class table's lines */
static const char usage_head[] =
	"usage: vmon run [options]       boot a VM (with no --kernel: the bundled demo "
	"guest)\n"
	"       vmon info                what this host offers for hardware virtualization\n"
	"       vmon --api-sock PATH     serve the Firecracker-compatible API on PATH\n"
	"       vmon --config-file FILE [--no-api]   start a VM from a Firecracker config "
	"file\n"
	"       vmon run --restore STATE --mem-file MEM   resume a snapshot's VM\n"
	"       vmon run --incoming tcp:IP:PORT|unix:PATH   receive a live-migrated VM\n"
	"       vmon snapshot-merge BASE DIFF   lay a Diff snapshot's memory file onto "
	"its base\n"
	"       vmon migrate --api-sock SOCK --to ADDR [--max-downtime-ms N]\n"
	"            [--max-bandwidth-mib-s N] [--timeout-s N] [--on-timeout cancel|force]\n"
	"                                move the VM of the vmon serving SOCK, live, to\n"
	"                                ADDR (another vmon's run --incoming ADDR), and\n"
	"                                follow it to its end (status 0: it runs there)\n"
	"       vmon --help | --version\n"
	"\n"
	"run options:\n"
	"  --kernel PATH         Linux bzImage or PVH vmlinux, or a multiboot kernel\n"
	"  --initrd PATH         initial ramdisk (Linux) or multiboot module\n"
	"  --cmdline STR         kernel command line\n"
	"  --no-unpack-kernel    run a bzImage's own decompressor (with its KASLR)\n"
	"                        instead of unpacking it in vmon and entering its\n"
	"                        vmlinux through PVH (the default for LZ4/zstd/gzip\n"
	"                        kernels built with CONFIG_PVH; --unpack-kernel)\n"
	"  --cpus N              vCPUs (1-64, default 1)\n"
	"  --mem SIZE            guest RAM, e.g. 512M, 2G (default 256M)\n"
	"  --disk PATH[,ro][,id=ID]  virtio-blk disk (repeatable)\n"
	"  --net tap=NAME[,mac=MAC][,vhost=on|off]\n"
	"                        virtio-net NIC on a TAP device (repeatable);\n"
	"                        vhost=on: packets moved in the kernel (/dev/vhost-net)\n";
static const char usage_tail[] =
	"  --cpu-template NAME   Firecracker's CPU template: C3, T2, T2S, T2CL\n"
	"                        (Intel), T2A (AMD) or None (the host's CPU)\n"
	"  --vsock cid=N,uds=PATH  virtio-vsock, Firecracker's hybrid vsock: host\n"
	"                        clients connect to PATH and write CONNECT <port>;\n"
	"                        the guest's connections to port P go to PATH_P\n"
	"  --console serial|virtio   guest console device (default serial)\n"
	"  --transport pci|mmio  how virtio devices reach the guest (default pci;\n"
	"                        mmio, as Firecracker, when the cmdline has pci=off)\n"
	"  --reboot restart|exit guest reboot restarts the VM or ends vmon (default exit)\n"
	"  --stats               print exit statistics when the VM ends\n"
	"  --boot-timer          log the guest's boot time when it writes 123 to\n"
	"                        port 0x3f0 (Firecracker's boot timer; also with\n"
	"                        --api-sock)\n"
	"  --restore STATE       the VM of a snapshot (its configuration comes from it;\n"
	"  --mem-file MEM        no VM options with it) and its memory file; it runs\n"
	"                        at once (--resume, the default for 'run')\n"
	"  --mem-uffd SOCK       instead of --mem-file: the page-fault handler listening\n"
	"                        on SOCK fills guest RAM on demand (Firecracker's Uffd\n"
	"                        backend, docs/api.md)\n"
	"  --incoming ADDR       wait on ADDR (tcp:IP:PORT, tcp:[IPv6]:PORT or\n"
	"                        unix:PATH) for one VM migrated by another vmon's\n"
	"                        PUT /migration/send, and run it (no VM options)\n"
	"  --net-override ID=TAP with --restore or --incoming: the NIC ID of the\n"
	"                        VM's configuration goes on TAP here (repeatable)\n"
	"  -v, --verbose         more diagnostics (repeat for debug)\n"
	"  --no-seccomp          run without the per-thread syscall filters (for\n"
	"                        debugging; --seccomp, the default, keeps them on)\n"
	"  --api-sock-mode MODE  the API socket's permissions, octal (default 0600)\n"
	"  --metadata FILE       with --api-sock or --config-file: the JSON in FILE is\n"
	"                        the metadata service's (MMDS) data store at start\n"
	"  --mmds-size-limit N   the MMDS data store's limit in bytes (default 51200)\n"
	"  --id ID               the instance id (GET / reports it); with\n"
	"  --start-time-us N, --start-time-cpu-us N, --parent-cpu-time-us N\n"
	"                        what vmon-jailer (or Firecracker's jailer) passes\n"
	"                        before the other arguments\n"
	"\n"
	"The serial console is on standard input/output; when it is a terminal, Ctrl-A x "
	"quits.\n"
	"Exit status: 0 guest powered off or rebooted; 2 bad argument or file; 4 host "
	"failure;\n"
	"6 guest crashed (triple fault, emulation failure); (v << 1) | 1 guest wrote v to "
	"port 0xf4;\n"
	"148 a vmon thread made a system call outside its seccomp filter.\n";

void cli_usage(FILE *out)
{
	fputs(usage_head, out);
	for (unsigned i = 0; i < VIRTIO_NR_CLASSES; i++)
		fprintf(out, "  --%-19s %s\n", virtio_class_at(i)->name, virtio_class_at(i)->help);
	fputs(usage_tail, out);
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

/* --disk PATH[,ro][,id=ID] */
static int parse_disk(struct vm_config *cfg, const char *arg, char *err, size_t err_len)
{
	struct vm_disk_config *d;
	char *copy, *tok, *save = NULL;
	int ret = 0;

	if (cfg->nr_disks == VM_MAX_DISKS) {
		snprintf(err, err_len, "--disk: at most %d disks", VM_MAX_DISKS);
		return -EINVAL;
	}
	copy = strdup(arg);
	if (!copy)
		return -ENOMEM;
	d = &cfg->disks[cfg->nr_disks];
	memset(d, 0, sizeof(*d));
	tok = copy[0] == ',' ? NULL : strtok_r(copy, ",", &save);
	if (!tok || !*tok) {
		snprintf(err, err_len, "--disk: a path is needed");
		ret = -EINVAL;
		goto out;
	}
	d->path = strdup(tok);
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (!strcmp(tok, "ro")) {
			d->read_only = true;
		} else if (!strncmp(tok, "id=", 3) && tok[3]) {
			free(d->id);
			d->id = strdup(tok + 3);
		} else {
			snprintf(err, err_len, "--disk: unknown option '%s' (ro, id=ID)", tok);
			ret = -EINVAL;
			goto out;
		}
	}
	if (!d->id) {
		char id[16];

		snprintf(id, sizeof(id), "disk%u", cfg->nr_disks);
		d->id = strdup(id);
	}
	if (!d->path || !d->id)
		ret = -ENOMEM;
out:
	free(copy);
	cfg->nr_disks++; /* counted even on error so vm_config_free() frees it */
	return ret;
}

/* --net tap=NAME[,mac=MAC][,vhost=on|off] */
static int parse_net(struct vm_config *cfg, const char *arg, char *err, size_t err_len)
{
	struct vm_net_config *n;
	char *copy, *tok, *save = NULL;
	int ret = 0;

	if (cfg->nr_nets == VM_MAX_NETS) {
		snprintf(err, err_len, "--net: at most %d NICs", VM_MAX_NETS);
		return -EINVAL;
	}
	copy = strdup(arg);
	if (!copy)
		return -ENOMEM;
	n = &cfg->nets[cfg->nr_nets++];
	memset(n, 0, sizeof(*n));
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "tap=", 4) && tok[4]) {
			free(n->tap);
			n->tap = strdup(tok + 4);
		} else if (!strncmp(tok, "mac=", 4)) {
			if (parse_mac(tok + 4, n->mac)) {
				snprintf(err, err_len, "--net: bad MAC address '%s'", tok + 4);
				ret = -EINVAL;
				goto out;
			}
			n->has_mac = true;
		} else if (!strcmp(tok, "vhost=on") || !strcmp(tok, "vhost=off")) {
			n->vhost = tok[7] == 'n';
		} else {
			snprintf(err, err_len,
				 "--net: unknown option '%s' (tap=NAME, mac=MAC, vhost=on|off)",
				 tok);
			ret = -EINVAL;
			goto out;
		}
	}
	if (!n->tap) {
		snprintf(err, err_len, "--net: tap=NAME is needed");
		ret = -EINVAL;
		goto out;
	}
	{
		char id[16];

		snprintf(id, sizeof(id), "net%u", cfg->nr_nets - 1);
		n->id = strdup(id);
	}
out:
	free(copy);
	return ret;
}

/* --vsock cid=N,uds=PATH */
static int parse_vsock(struct vm_config *cfg, const char *arg, char *err, size_t err_len)
{
	char *copy = strdup(arg), *tok, *save = NULL, *end;
	struct vm_vsock_config v = { 0 };
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "cid=", 4)) {
			errno = 0;
			v.cid = strtoull(tok + 4, &end, 10);
			if (errno || end == tok + 4 || *end || v.cid < 3 || v.cid > UINT32_MAX) {
				snprintf(
					err, err_len,
					"--vsock: bad cid '%s' (3 to 4294967295; 0-2 are reserved)",
					tok + 4);
				ret = -EINVAL;
			}
		} else if (!strncmp(tok, "uds=", 4) && tok[4]) {
			free(v.uds_path);
			v.uds_path = strdup(tok + 4);
			if (!v.uds_path)
				ret = -ENOMEM;
		} else {
			snprintf(err, err_len, "--vsock: unknown option '%s' (cid=N, uds=PATH)",
				 tok);
			ret = -EINVAL;
		}
	}
	if (!ret && (!v.cid || !v.uds_path)) {
		snprintf(err, err_len, "--vsock: both cid=N and uds=PATH are needed");
		ret = -EINVAL;
	}
	free(copy);
	if (ret) {
		free(v.uds_path);
		return ret;
	}
	free(cfg->vsock.uds_path);
	free(cfg->vsock.id);
	cfg->vsock = v;
	return 0;
}

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_UNPACK_KERNEL,
	OPT_NO_UNPACK_KERNEL,
	OPT_CPUS,
	OPT_MEM,
	OPT_STATS,
	OPT_BOOT_TIMER,
	OPT_DISK,
	OPT_NET,
	OPT_VSOCK,
	OPT_CPU_TEMPLATE,
	OPT_CONSOLE,
	OPT_REBOOT,
	OPT_API_SOCK,
	OPT_CONFIG_FILE,
	OPT_NO_API,
	OPT_HELP,
	OPT_VERSION,
	OPT_RESTORE,
	OPT_MEM_FILE,
	OPT_INCOMING,
	OPT_NET_OVERRIDE,
	OPT_RESUME,
	OPT_SECCOMP,
	OPT_NO_SECCOMP,
	OPT_API_SOCK_MODE,
	OPT_TRANSPORT,
	OPT_MEM_UFFD,
	OPT_ID,
	OPT_START_TIME_US,
	OPT_START_TIME_CPU_US,
	OPT_PARENT_CPU_TIME_US,
	OPT_METADATA,
	OPT_MMDS_SIZE_LIMIT,
	OPT_CLASS, /* OPT_CLASS + i: --NAME of virtio_class_at(i) */
};

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "unpack-kernel", no_argument, NULL, OPT_UNPACK_KERNEL },
	{ "no-unpack-kernel", no_argument, NULL, OPT_NO_UNPACK_KERNEL },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "vsock", required_argument, NULL, OPT_VSOCK },
	{ "cpu-template", required_argument, NULL, OPT_CPU_TEMPLATE },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "transport", required_argument, NULL, OPT_TRANSPORT },
	{ "reboot", required_argument, NULL, OPT_REBOOT },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "config-file", required_argument, NULL, OPT_CONFIG_FILE },
	{ "metadata", required_argument, NULL, OPT_METADATA },
	{ "mmds-size-limit", required_argument, NULL, OPT_MMDS_SIZE_LIMIT },
	{ "no-api", no_argument, NULL, OPT_NO_API },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "verbose", no_argument, NULL, 'v' },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "mem-file", required_argument, NULL, OPT_MEM_FILE },
	{ "mem-uffd", required_argument, NULL, OPT_MEM_UFFD },
	{ "incoming", required_argument, NULL, OPT_INCOMING },
	{ "net-override", required_argument, NULL, OPT_NET_OVERRIDE },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "seccomp", no_argument, NULL, OPT_SECCOMP },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "api-sock-mode", required_argument, NULL, OPT_API_SOCK_MODE },
	{ "id", required_argument, NULL, OPT_ID },
	{ "start-time-us", required_argument, NULL, OPT_START_TIME_US },
	{ "start-time-cpu-us", required_argument, NULL, OPT_START_TIME_CPU_US },
	{ "parent-cpu-time-us", required_argument, NULL, OPT_PARENT_CPU_TIME_US },
	{ NULL, 0, NULL, 0 },
};

void cli_free(struct cli *cli)
{
	vm_config_free(&cli->cfg);
	free(cli->api_sock);
	free(cli->config_file);
	free(cli->metadata);
	free(cli->restore);
	free(cli->mem_file);
	free(cli->mem_uffd);
	cli->mem_uffd = NULL;
	free(cli->incoming);
	free(cli->merge_base);
	free(cli->merge_diff);
	free(cli->mig.to);
	cli->mig.to = NULL;
	free(cli->id);
	cli->id = NULL;
	for (unsigned i = 0; i < cli->nr_net_overrides; i++) {
		free(cli->net_overrides[i].id);
		free(cli->net_overrides[i].tap);
	}
	cli->nr_net_overrides = 0;
	cli->api_sock = cli->config_file = cli->restore = cli->mem_file = cli->incoming = NULL;
	cli->merge_base = cli->merge_diff = NULL;
}

/* --net-override ID=TAP: NIC ID of a restored or migrated VM's configuration on TAP here */
static int parse_net_override(struct cli *cli, const char *arg, char *err, size_t err_len)
{
	const char *eq = strchr(arg, '=');
	unsigned n = cli->nr_net_overrides;

	if (!eq || eq == arg || !eq[1] || strlen(eq + 1) >= 16) {
		snprintf(
			err, err_len,
			"--net-override: expected ID=TAP (a TAP name of 1-15 characters), got '%s'",
			arg);
		return -EINVAL;
	}
	if (n == VM_MAX_NETS) {
		snprintf(err, err_len, "--net-override: at most %d", VM_MAX_NETS);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (strlen(cli->net_overrides[i].id) == (size_t)(eq - arg) &&
		    !strncmp(cli->net_overrides[i].id, arg, (size_t)(eq - arg))) {
			snprintf(err, err_len, "--net-override: interface '%.*s' given twice",
				 (int)(eq - arg), arg);
			return -EINVAL;
		}
	}
	cli->net_overrides[n].id = strndup(arg, (size_t)(eq - arg));
	cli->net_overrides[n].tap = strdup(eq + 1);
	cli->nr_net_overrides = n + 1;
	if (!cli->net_overrides[n].id || !cli->net_overrides[n].tap) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* `vmon migrate --api-sock SOCK --to ADDR [--max-downtime-ms N] ...` (argv[0] is "migrate") */
static int parse_migrate(int argc, char **argv, struct cli *cli, char *err, size_t err_len)
{
	enum { M_SOCK = 1, M_TO, M_DOWNTIME, M_BANDWIDTH, M_TIMEOUT, M_ON_TIMEOUT };
	static const struct option opts[] = {
		{ "api-sock", required_argument, NULL, M_SOCK },
		{ "to", required_argument, NULL, M_TO },
		{ "max-downtime-ms", required_argument, NULL, M_DOWNTIME },
		{ "max-bandwidth-mib-s", required_argument, NULL, M_BANDWIDTH },
		{ "timeout-s", required_argument, NULL, M_TIMEOUT },
		{ "on-timeout", required_argument, NULL, M_ON_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned *num[] = { [M_DOWNTIME] = &cli->mig.max_downtime_ms,
			    [M_BANDWIDTH] = &cli->mig.max_bandwidth_mib_s,
			    [M_TIMEOUT] = &cli->mig.timeout_s };
	char why[256];
	int c, ret = 0;

	cli->command = CLI_MIGRATE;
	optind = 1;
	opterr = 0;
	while (!ret && (c = getopt_long(argc, argv, ":v", opts, NULL)) != -1) {
		switch (c) {
		case M_SOCK:
			ret = set_str(&cli->api_sock, optarg);
			break;
		case M_TO:
			if (vm_migrate_addr_check(optarg, why, sizeof(why))) {
				snprintf(err, err_len, "--to: %s", why);
				return -EINVAL;
			}
			ret = set_str(&cli->mig.to, optarg);
			break;
		case M_DOWNTIME:
		case M_BANDWIDTH:
		case M_TIMEOUT: {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || !n ||
			    n > 86400000) {
				snprintf(err, err_len, "--%s: expected 1..86400000, got '%s'",
					 opts[c - 1].name, optarg);
				return -EINVAL;
			}
			*num[c] = (unsigned)n;
			break;
		}
		case M_ON_TIMEOUT:
			if (strcmp(optarg, "cancel") && strcmp(optarg, "force")) {
				snprintf(err, err_len,
					 "--on-timeout: expected cancel or force, got '%s'",
					 optarg);
				return -EINVAL;
			}
			cli->mig.on_timeout = !strcmp(optarg, "force") ? "force" : "cancel";
			break;
		case 'v':
			cli->verbose++;
			break;
		case ':':
			snprintf(err, err_len, "option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			snprintf(err, err_len, "migrate: unknown option '%s'", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (ret) {
		snprintf(err, err_len, "out of memory");
		return ret;
	}
	if (optind < argc) {
		snprintf(err, err_len, "migrate: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!cli->api_sock || !cli->mig.to) {
		snprintf(err, err_len, "usage: vmon migrate --api-sock SOCK --to ADDR [options]");
		return -EINVAL;
	}
	return 0;
}

/*
 * The flags a jailer puts before the monitor's own arguments (Firecracker's
 * jailer: --id ID --start-time-us T --start-time-cpu-us T --parent-cpu-time-us T):
 * @c is one of them, @v its value. Returns 0 or -EINVAL/-ENOMEM with @err set.
 */
static int jailer_flag(struct cli *cli, int c, const char *v, char *err, size_t err_len)
{
	unsigned long long n, *dst;
	char *end;

	if (c == OPT_ID) {
		size_t len = strlen(v);

		if (!len || len > 64 ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "0123456789-") != len) {
			snprintf(err, err_len,
				 "--id: '%s' is not 1-64 letters, digits or '-' (Firecracker's "
				 "rule)",
				 v);
			return -EINVAL;
		}
		return set_str(&cli->id, v);
	}
	dst = c == OPT_START_TIME_US	   ? &cli->jailer.start_us
	      : c == OPT_START_TIME_CPU_US ? &cli->jailer.start_cpu_us
					   : &cli->jailer.parent_cpu_us;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-') {
		snprintf(err, err_len, "--%s: '%s' is not a number of microseconds",
			 c == OPT_START_TIME_US	      ? "start-time-us"
			 : c == OPT_START_TIME_CPU_US ? "start-time-cpu-us"
						      : "parent-cpu-time-us",
			 v);
		return -EINVAL;
	}
	*dst = n;
	cli->jailer.given = true;
	return 0;
}

/* how many words of argv[1..] are the jailer's leading flags (0 when none), parsing them */
static int jailer_prefix(int argc, char **argv, struct cli *cli, char *err, size_t err_len)
{
	int i = 1;

	while (i < argc && !strncmp(argv[i], "--", 2)) {
		const char *w = argv[i] + 2, *v = NULL;
		int c = 0, ret;

		for (const struct option *o = long_opts; o->name; o++) {
			size_t n = strlen(o->name);

			if ((o->val == OPT_ID || o->val == OPT_START_TIME_US ||
			     o->val == OPT_START_TIME_CPU_US || o->val == OPT_PARENT_CPU_TIME_US) &&
			    !strncmp(w, o->name, n) && (!w[n] || w[n] == '=')) {
				c = o->val;
				v = w[n] == '=' ? w + n + 1 : NULL;
			}
		}
		if (!c)
			break;
		if (!v) {
			if (i + 1 >= argc) {
				snprintf(err, err_len, "option '%s' needs a value", argv[i]);
				return -EINVAL;
			}
			v = argv[++i];
		}
		if ((ret = jailer_flag(cli, c, v, err, err_len)))
			return ret == -ENOMEM ? (snprintf(err, err_len, "out of memory"), ret)
					      : ret;
		i++;
	}
	return i - 1;
}

int cli_parse(int argc, char **argv, struct cli *cli, char *err, size_t err_len)
{
	bool run_only = false, api_only = false;
	struct option opts[sizeof(long_opts) / sizeof(long_opts[0]) + VIRTIO_NR_CLASSES];
	size_t nr_fixed = sizeof(long_opts) / sizeof(long_opts[0]) - 1;
	int c, ret = 0, prefix;
	char *end;

	/* the fixed options, then --NAME for each class of the table, then the terminator */
	memcpy(opts, long_opts, nr_fixed * sizeof(opts[0]));
	for (unsigned i = 0; i < VIRTIO_NR_CLASSES; i++)
		opts[nr_fixed + i] = (struct option){ virtio_class_at(i)->name, no_argument, NULL,
						      OPT_CLASS + (int)i };
	opts[nr_fixed + VIRTIO_NR_CLASSES] = (struct option){ NULL, 0, NULL, 0 };
	memset(cli, 0, sizeof(*cli));
	cli->seccomp = true;
	vm_config_init(&cli->cfg);
	cli->command = CLI_HELP;
	{
		const char *slash = argc ? strrchr(argv[0], '/') : NULL;

		cli->firecracker = argc && !strcmp(slash ? slash + 1 : argv[0], "firecracker");
	}
	/* a jailer's --id and start times come first; a command word may follow them */
	prefix = jailer_prefix(argc, argv, cli, err, err_len);
	if (prefix < 0)
		return prefix;
	if (prefix) {
		argv[prefix] = argv[0];
		argv += prefix;
		argc -= prefix;
	}
	if (argc < 2 &&
	    cli->firecracker) { /* Firecracker with no arguments: its API, default socket */
		cli->command = CLI_API;
		if (set_str(&cli->api_sock, CLI_FIRECRACKER_SOCK)) {
			snprintf(err, err_len, "out of memory");
			return -ENOMEM;
		}
		return 0;
	}
	if (argc < 2 && prefix) {
		snprintf(err, err_len,
			 "give 'run', --api-sock PATH or --config-file FILE after --id");
		return -EINVAL;
	}
	if (argc < 2) {
		snprintf(err, err_len, "no command given (try 'vmon run' or 'vmon --help')");
		return -EINVAL;
	}
	if (!strcmp(argv[1], "snapshot-merge")) {
		cli->command = CLI_SNAPSHOT_MERGE;
		if (argc != 4) {
			snprintf(err, err_len, "usage: vmon snapshot-merge BASE DIFF");
			return -EINVAL;
		}
		cli->merge_base = strdup(argv[2]);
		cli->merge_diff = strdup(argv[3]);
		if (!cli->merge_base || !cli->merge_diff) {
			snprintf(err, err_len, "out of memory");
			return -ENOMEM;
		}
		return 0;
	}
	if (!strcmp(argv[1], "migrate"))
		return parse_migrate(argc - 1, argv + 1, cli, err, err_len);
	if (!strcmp(argv[1], "run") || !strcmp(argv[1], "info")) {
		cli->command = !strcmp(argv[1], "run") ? CLI_RUN : CLI_INFO;
		argc--;
		argv++;
	} else if (argv[1][0] != '-') {
		snprintf(err, err_len, "unknown command '%s' (try 'vmon --help')", argv[1]);
		return -EINVAL;
	} else {
		cli->command = CLI_API;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":v", opts, NULL)) != -1) {
		switch (c) {
		case OPT_CLASS ... OPT_CLASS + VIRTIO_NR_CLASSES - 1:
			vm_config_add_class(&cli->cfg, virtio_class_at((unsigned)(c - OPT_CLASS)));
			run_only = true;
			break;
		case OPT_KERNEL:
			ret = set_str(&cli->cfg.kernel_path, optarg);
			run_only = true;
			break;
		case OPT_INITRD:
			ret = set_str(&cli->cfg.initrd_path, optarg);
			run_only = true;
			break;
		case OPT_CMDLINE:
			ret = set_str(&cli->cfg.cmdline, optarg);
			run_only = true;
			break;
		case OPT_CPUS: {
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-' || n < 1 ||
			    n > VM_MAX_CPUS) {
				snprintf(err, err_len, "--cpus: '%s' is not a number from 1 to %d",
					 optarg, VM_MAX_CPUS);
				return -EINVAL;
			}
			cli->cfg.cpus = (unsigned)n;
			run_only = true;
			break;
		}
		case OPT_MEM:
			if (parse_size(optarg, &cli->cfg.mem_bytes)) {
				snprintf(err, err_len, "--mem: '%s' is not a size (e.g. 512M, 2G)",
					 optarg);
				return -EINVAL;
			}
			run_only = true;
			break;
		case OPT_STATS:
			cli->cfg.stats = true;
			break;
		case OPT_BOOT_TIMER:
			cli->cfg.boot_timer = true;
			break;
		case OPT_UNPACK_KERNEL:
		case OPT_NO_UNPACK_KERNEL:
			cli->cfg.unpack_kernel = c == OPT_UNPACK_KERNEL;
			run_only = true;
			break;
		case OPT_DISK:
			ret = parse_disk(&cli->cfg, optarg, err, err_len);
			run_only = true;
			break;
		case OPT_NET:
			ret = parse_net(&cli->cfg, optarg, err, err_len);
			run_only = true;
			break;
		case OPT_VSOCK:
			ret = parse_vsock(&cli->cfg, optarg, err, err_len);
			run_only = true;
			break;
		case OPT_CPU_TEMPLATE: {
			int t = cpu_template_parse(optarg);

			if (t < 0) {
				snprintf(
					err, err_len,
					"--cpu-template: unknown template '%s' (C3, T2, T2S, T2CL, "
					"T2A or None)",
					optarg);
				ret = -EINVAL;
			} else {
				cli->cfg.cpu_template = (enum cpu_template)t;
			}
			run_only = true;
			break;
		}
		case OPT_CONSOLE:
			if (!strcmp(optarg, "serial")) {
				cli->cfg.console = VM_CONSOLE_SERIAL;
			} else if (!strcmp(optarg, "virtio")) {
				cli->cfg.console = VM_CONSOLE_VIRTIO;
			} else {
				snprintf(err, err_len, "--console: '%s' is not serial or virtio",
					 optarg);
				return -EINVAL;
			}
			run_only = true;
			break;
		case OPT_TRANSPORT:
			if (!strcmp(optarg, "pci")) {
				cli->cfg.transport = VM_TRANSPORT_PCI;
			} else if (!strcmp(optarg, "mmio")) {
				cli->cfg.transport = VM_TRANSPORT_MMIO;
			} else {
				snprintf(err, err_len, "--transport: '%s' is not pci or mmio",
					 optarg);
				return -EINVAL;
			}
			run_only = true;
			break;
		case OPT_REBOOT:
			if (!strcmp(optarg, "restart")) {
				cli->cfg.reboot_restarts = true;
			} else if (!strcmp(optarg, "exit")) {
				cli->cfg.reboot_restarts = false;
			} else {
				snprintf(err, err_len, "--reboot: '%s' is not restart or exit",
					 optarg);
				return -EINVAL;
			}
			run_only = true;
			break;
		case OPT_API_SOCK:
			ret = set_str(&cli->api_sock, optarg);
			api_only = true;
			break;
		case OPT_METADATA:
			ret = set_str(&cli->metadata, optarg);
			api_only = true;
			break;
		case OPT_MMDS_SIZE_LIMIT: {
			unsigned long long n;

			errno = 0;
			n = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-' || !n ||
			    n > (1ull << 30)) {
				snprintf(err, err_len,
					 "--mmds-size-limit: '%s' is not a size in bytes (1 to 1G)",
					 optarg);
				return -EINVAL;
			}
			cli->mmds_size_limit = (size_t)n;
			api_only = true;
			break;
		}
		case OPT_CONFIG_FILE:
			ret = set_str(&cli->config_file, optarg);
			api_only = true;
			break;
		case OPT_NO_API:
			cli->no_api = true;
			api_only = true;
			break;
		case OPT_HELP:
			cli->command = CLI_HELP;
			return 0;
		case OPT_VERSION:
			cli->command = CLI_VERSION;
			return 0;
		case 'v':
			cli->verbose++;
			break;
		case OPT_RESTORE:
			ret = set_str(&cli->restore, optarg);
			break;
		case OPT_MEM_FILE:
			ret = set_str(&cli->mem_file, optarg);
			break;
		case OPT_MEM_UFFD:
			ret = set_str(&cli->mem_uffd, optarg);
			break;
		case OPT_INCOMING:
			ret = vm_migrate_addr_check(optarg, err, err_len);
			if (ret)
				return ret;
			ret = set_str(&cli->incoming, optarg);
			break;
		case OPT_NET_OVERRIDE:
			ret = parse_net_override(cli, optarg, err, err_len);
			if (ret)
				return ret;
			break;
		case OPT_RESUME:
			break; /* the default for 'run' */
		case OPT_SECCOMP:
			cli->seccomp = true;
			break;
		case OPT_NO_SECCOMP:
			cli->seccomp = false;
			break;
		case OPT_API_SOCK_MODE: {
			char *rest;
			unsigned long m = strtoul(optarg, &rest, 8);

			if (!*optarg || *rest || m == 0 || m > 0777) {
				snprintf(
					err, err_len,
					"--api-sock-mode: '%s' is not an octal mode from 1 to 0777",
					optarg);
				return -EINVAL;
			}
			cli->api_sock_mode = (unsigned)m;
			api_only = true;
			break;
		}
		case OPT_ID:
		case OPT_START_TIME_US:
		case OPT_START_TIME_CPU_US:
		case OPT_PARENT_CPU_TIME_US:
			ret = jailer_flag(cli, c, optarg, err, err_len);
			if (ret == -EINVAL)
				return ret;
			break;
		case ':':
			snprintf(err, err_len, "option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			snprintf(err, err_len, "unknown option '%s' (try 'vmon --help')",
				 argv[optind - 1]);
			return -EINVAL;
		}
		if (ret) {
			if (ret == -ENOMEM)
				snprintf(err, err_len, "out of memory");
			return ret;
		}
	}
	if (optind < argc) {
		snprintf(err, err_len, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	cli->cfg.firecracker_names = cli->firecracker;
	if (cli->command == CLI_INFO && (run_only || api_only)) {
		snprintf(err, err_len, "'vmon info' takes no options");
		return -EINVAL;
	}
	if ((cli->restore || cli->mem_file || cli->mem_uffd) && cli->command != CLI_RUN) {
		snprintf(err, err_len, "--restore, --mem-file and --mem-uffd go with 'run'");
		return -EINVAL;
	}
	if (cli->restore && !cli->mem_file == !cli->mem_uffd) {
		snprintf(
			err, err_len,
			"--restore needs --mem-file MEM (the snapshot's memory file) or --mem-uffd "
			"SOCK (a page-fault handler serving it), one of them");
		return -EINVAL;
	}
	if ((cli->mem_file || cli->mem_uffd) && !cli->restore) {
		snprintf(err, err_len, "--%s goes with --restore STATE",
			 cli->mem_file ? "mem-file" : "mem-uffd");
		return -EINVAL;
	}
	if (cli->incoming && (cli->command != CLI_RUN || run_only || cli->restore)) {
		snprintf(err, err_len,
			 "--incoming goes with 'run' alone: the VM's configuration comes from "
			 "its source");
		return -EINVAL;
	}
	if (cli->nr_net_overrides && !cli->restore && !cli->incoming) {
		snprintf(err, err_len, "--net-override goes with --restore or --incoming");
		return -EINVAL;
	}
	if (cli->restore && run_only) {
		snprintf(err, err_len,
			 "--restore takes the VM's configuration from the snapshot: give no VM "
			 "options with it");
		return -EINVAL;
	}
	if (cli->command == CLI_RUN && api_only) {
		snprintf(err, err_len, "--api-sock, --config-file and --no-api go without 'run'");
		return -EINVAL;
	}
	if (cli->command == CLI_API) {
		if (run_only) {
			snprintf(err, err_len, "VM options go after 'run' (or in a --config-file)");
			return -EINVAL;
		}
		if (cli->firecracker && !cli->api_sock && !cli->no_api &&
		    set_str(&cli->api_sock, CLI_FIRECRACKER_SOCK)) {
			snprintf(err, err_len, "out of memory");
			return -ENOMEM;
		}
		if (!cli->api_sock && !cli->config_file) {
			snprintf(err, err_len, "give 'run', --api-sock PATH or --config-file FILE");
			return -EINVAL;
		}
		if (cli->no_api && !cli->config_file) {
			snprintf(err, err_len, "--no-api needs --config-file");
			return -EINVAL;
		}
		if (cli->api_sock_mode && !cli->api_sock) {
			snprintf(err, err_len, "--api-sock-mode goes with --api-sock PATH");
			return -EINVAL;
		}
		if (cli->no_api && cli->api_sock) {
			snprintf(err, err_len, "--no-api and --api-sock exclude each other");
			return -EINVAL;
		}
	}
	return 0;
}
