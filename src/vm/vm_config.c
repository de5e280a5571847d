/* vm_config.c — defaults, validation and the small value parsers behind vm_config.h. */
#include "vm/vm_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "util/filelock.h"

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->mem_bytes = VM_DEFAULT_MEM_BYTES;
	cfg->console = VM_CONSOLE_SERIAL;
	cfg->kernel_fd = -1;
	cfg->initrd_fd = -1;
	cfg->unpack_kernel = true; /* kernel_unpack.h: faster, as Firecracker's vmlinux boot */
}

static void close_boot_files(struct vm_config *cfg)
{
	if (cfg->kernel_fd >= 0)
		close(cfg->kernel_fd);
	if (cfg->initrd_fd >= 0)
		close(cfg->initrd_fd);
	cfg->kernel_fd = -1;
	cfg->initrd_fd = -1;
}

void vm_config_free(struct vm_config *cfg)
{
	close_boot_files(cfg);
	free(cfg->kernel_path);
	free(cfg->initrd_path);
	free(cfg->cmdline);
	free(cfg->vsock.id);
	free(cfg->vsock.uds_path);
	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		free(cfg->disks[i].id);
		free(cfg->disks[i].path);
	}
	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		free(cfg->nets[i].id);
		free(cfg->nets[i].tap);
	}
	vm_config_init(cfg);
}

int parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10;
		end++;
		break;
	case 'M':
		shift = 20;
		end++;
		break;
	case 'G':
		shift = 30;
		end++;
		break;
	case 'T':
		shift = 40;
		end++;
		break;
	default:
		break;
	}
	if (shift && (!strcasecmp(end, "iB") || !strcasecmp(end, "B")))
		end += strlen(end);
	if (*end || v == 0 || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*bytes = (uint64_t)v << shift;
	return 0;
}

int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (!s || strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[i * 3]) || !isxdigit((unsigned char)s[i * 3 + 1]))
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	if (mac[0] & 1) /* a multicast address cannot be a NIC's */
		return -EINVAL;
	return 0;
}

/*
 * A regular, readable file (or block device for disks) at @path: 0 with it open in *@fd_out
 * when @fd_out is not NULL (closed otherwise), or -errno with one line in @err.
 *
 * The open is non-blocking so that a FIFO (or a character device such as a tty) named by
 * mistake is refused at once instead of blocking in open(2) until a writer appears, while
 * SIGTERM may already be blocked for the event loop's signalfd (the API's InstanceStart).
 * O_NONBLOCK is cleared again once the file is known to be regular.
 */
static int check_file(const char *what, const char *path, bool need_write, bool allow_blk,
		      int *fd_out, char *err, size_t err_len)
{
	struct stat st;
	int fd, fl, e;

	fd = open(path, (need_write ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, err_len, "%s '%s': %s", what, path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		snprintf(err, err_len, "%s '%s': %s", what, path, strerror(e));
		return -e;
	}
	if (!(S_ISREG(st.st_mode) || (allow_blk && S_ISBLK(st.st_mode)))) {
		close(fd);
		snprintf(err, err_len, "%s '%s' is not a regular file%s", what, path,
			 allow_blk ? " or block device" : "");
		return -EINVAL;
	}
	/* A disk that another process holds: say so now, not at the start of the VM. */
	if (allow_blk && file_lock_conflict(fd, need_write) == 1) {
		pid_t pid = file_lock_holder(fd);
		char who[48] = "another process";

		close(fd);
		if (pid > 0)
			snprintf(who, sizeof(who), "process %d", (int)pid);
		snprintf(err, err_len, "%s '%s' is %s by %s", what, path,
			 need_write ? "in use" : "open read-write", who);
		return -EBUSY;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		e = errno;
		close(fd);
		snprintf(err, err_len, "%s '%s': %s", what, path, strerror(e));
		return -e;
	}
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return 0;
}

int vm_config_check_file(const char *what, const char *path, bool disk, bool need_write, char *err,
			 size_t err_len)
{
	return check_file(what, path, need_write, disk, NULL, err, err_len);
}

/* The checks of vm_config_validate(); what it opened stays open on an error. */
bool vm_config_cmdline_has(const struct vm_config *cfg, const char *word)
{
	const char *cmdline = cfg->cmdline;
	size_t n = strlen(word);

	for (const char *p = cmdline; p && (p = strstr(p, word)); p += n)
		if ((p == cmdline || isspace((unsigned char)p[-1])) &&
		    (!p[n] || isspace((unsigned char)p[n])))
			return true;
	return false;
}

enum vm_transport vm_config_transport(const struct vm_config *cfg)
{
	if (cfg->transport != VM_TRANSPORT_AUTO)
		return cfg->transport;
	return vm_config_cmdline_has(cfg, "pci=off") ? VM_TRANSPORT_MMIO : VM_TRANSPORT_PCI;
}

void vm_config_add_class(struct vm_config *cfg, const struct virtio_class *cls)
{
	for (unsigned i = 0; i < VIRTIO_NR_CLASSES; i++) {
		if (virtio_class_at(i) == cls)
			cfg->classes[i] = true;
	}
}

bool vm_config_has_class(const struct vm_config *cfg, const char *name)
{
	for (unsigned i = 0; i < VIRTIO_NR_CLASSES; i++) {
		if (cfg->classes[i] && !strcmp(virtio_class_at(i)->name, name))
			return true;
	}
	return false;
}

unsigned vm_config_class_count(const struct vm_config *cfg)
{
	unsigned n = 0;

	for (unsigned i = 0; i < VIRTIO_NR_CLASSES; i++)
		n += cfg->classes[i];
	return n;
}

unsigned vm_config_virtio_count(const struct vm_config *cfg)
{
	return cfg->nr_disks + cfg->nr_nets + vm_config_class_count(cfg) +
	       (cfg->console == VM_CONSOLE_VIRTIO) + cfg->balloon.on +
	       (cfg->vsock.uds_path != NULL);
}

static int validate(struct vm_config *cfg, char *err, unsigned err_len)
{
	int ret;

	if (vm_config_transport(cfg) == VM_TRANSPORT_MMIO &&
	    vm_config_virtio_count(cfg) > LAYOUT_VIRTIO_MMIO_MAX) {
		snprintf(err, err_len,
			 "%u virtio devices: virtio-mmio has room for %u (use --transport pci%s)",
			 vm_config_virtio_count(cfg), LAYOUT_VIRTIO_MMIO_MAX,
			 cfg->transport == VM_TRANSPORT_AUTO ? ", or drop pci=off" : "");
		return -EINVAL;
	}

	if (cfg->cpus < 1 || cfg->cpus > VM_MAX_CPUS) {
		snprintf(err, err_len, "--cpus must be between 1 and %d", VM_MAX_CPUS);
		return -EINVAL;
	}
	if (cfg->mem_bytes < (16ull << 20)) {
		snprintf(err, err_len, "--mem must be at least 16M");
		return -EINVAL;
	}
	if (cfg->mem_bytes & 0xfff) {
		snprintf(err, err_len, "--mem must be a multiple of 4K");
		return -EINVAL;
	}
	if (cfg->mem_bytes > (1ull << 40)) {
		snprintf(err, err_len, "--mem must be at most 1T");
		return -EINVAL;
	}
	if (cfg->balloon.on && (uint64_t)cfg->balloon.amount_mib << 20 > cfg->mem_bytes) {
		snprintf(err, err_len, "balloon: %u MiB is more than the guest's %llu MiB",
			 cfg->balloon.amount_mib, (unsigned long long)(cfg->mem_bytes >> 20));
		return -EINVAL;
	}
	if (cfg->kernel_path && (ret = check_file("kernel", cfg->kernel_path, false, false,
						  &cfg->kernel_fd, err, err_len)))
		return ret;
	if (cfg->initrd_path && (ret = check_file("initrd", cfg->initrd_path, false, false,
						  &cfg->initrd_fd, err, err_len)))
		return ret;
	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		const struct vm_disk_config *d = &cfg->disks[i];

		for (unsigned j = 0; j < i; j++) {
			if (!strcmp(d->id, cfg->disks[j].id)) {
				snprintf(err, err_len, "disk id '%s' is used twice", d->id);
				return -EINVAL;
			}
		}
		if ((ret = check_file("disk", d->path, !d->read_only, true, NULL, err, err_len)))
			return ret;
	}
	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		if (!cfg->nets[i].tap || !*cfg->nets[i].tap || strlen(cfg->nets[i].tap) >= 16) {
			snprintf(err, err_len,
				 "net '%s': a TAP name of 1 to 15 characters is needed",
				 cfg->nets[i].id ? cfg->nets[i].id : "?");
			return -EINVAL;
		}
	}
	return 0;
}

int vm_config_validate(struct vm_config *cfg, char *err, unsigned err_len)
{
	int ret;

	close_boot_files(cfg);
	ret = validate(cfg, err, err_len);
	if (ret)
		close_boot_files(cfg);
	return ret;
}
