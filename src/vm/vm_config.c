/* vm_config.c — defaults, freeing, validation and small value parsers for struct vm_config. */
#include "vm/vm_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->mem_bytes = VM_DEFAULT_MEM_BYTES;
	cfg->console = VM_CONSOLE_SERIAL;
}

void vm_config_free(struct vm_config *cfg)
{
	free(cfg->kernel_path);
	free(cfg->initrd_path);
	free(cfg->cmdline);
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

static int check_file(const char *what, const char *path, int mode, char *err, unsigned err_len)
{
	if (access(path, mode) == 0)
		return 0;
	int e = errno;
	snprintf(err, err_len, "%s %s: %s", what, path, strerror(e));
	return -e;
}

int vm_config_validate(const struct vm_config *cfg, char *err, unsigned err_len)
{
	int r;

	if (cfg->cpus < 1 || cfg->cpus > VM_MAX_CPUS) {
		snprintf(err, err_len, "vCPU count %u out of range 1..%u", cfg->cpus, VM_MAX_CPUS);
		return -EINVAL;
	}
	if (cfg->mem_bytes < (1ull << 20) || (cfg->mem_bytes & 0xfff)) {
		snprintf(err, err_len, "memory size %llu is too small or not page-aligned",
			 (unsigned long long)cfg->mem_bytes);
		return -EINVAL;
	}
	if (cfg->nr_disks > VM_MAX_DISKS || cfg->nr_nets > VM_MAX_NETS) {
		snprintf(err, err_len, "too many devices");
		return -EINVAL;
	}
	if (cfg->kernel_path && (r = check_file("kernel", cfg->kernel_path, R_OK, err, err_len)))
		return r;
	if (cfg->initrd_path && (r = check_file("initrd", cfg->initrd_path, R_OK, err, err_len)))
		return r;
	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		const struct vm_disk_config *d = &cfg->disks[i];
		int mode = d->read_only ? R_OK : R_OK | W_OK;

		if (!d->path) {
			snprintf(err, err_len, "disk %s has no path", d->id ? d->id : "?");
			return -EINVAL;
		}
		if ((r = check_file("disk image", d->path, mode, err, err_len)))
			return r;
	}
	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		if (!cfg->nets[i].tap || !cfg->nets[i].tap[0]) {
			snprintf(err, err_len, "network interface %s has no host device",
				 cfg->nets[i].id ? cfg->nets[i].id : "?");
			return -EINVAL;
		}
	}
	return 0;
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
	if (errno || end == s)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: break;
	}
	if (shift && (end[0] == 'i' || end[0] == 'I') && (end[1] == 'B' || end[1] == 'b'))
		end += 2;
	else if (shift && (end[0] == 'B' || end[0] == 'b'))
		end++;
	if (*end || v == 0 || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*bytes = (uint64_t)v << shift;
	return 0;
}

int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	int n = 0;

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[i * 3]) || !isxdigit((unsigned char)s[i * 3 + 1]))
			return -EINVAL;
		if (i < 5 && s[i * 3 + 2] != ':')
			return -EINVAL;
	}
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &n) != 6 ||
	    n != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}
