/*
 * vm.c — building a VM from its configuration, and its lifecycle: start,
 * pause/resume at exit boundaries, end, join, destroy.
 */
#include "vm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "confine/seccomp.h"
#include "snapshot/memfile.h"
#include "snapshot/memuffd.h"
#include "snapshot/snapfile.h"
#include "util/compiler.h"
#include "util/log.h"
#include "vm/vm_snapshot.h"
#include "vm/vcpu.h"
#include "virtio/virtio_balloon.h"
#include "vm/vm_boot.h"
#include "vm/vm_pci.h"
#include "vm/vm_platform.h"

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/* Deep copy, so the VM owns its configuration whoever built it. */
static int config_copy(struct vm_config *dst, const struct vm_config *src)
{
	bool oom = false;

	*dst = *src;
	dst->kernel_fd = -1; /* the files stay with @src: vm_boot_load() maps them from there */
	dst->initrd_fd = -1;
	dst->kernel_path = dup_or_null(src->kernel_path, &oom);
	dst->initrd_path = dup_or_null(src->initrd_path, &oom);
	dst->cmdline = dup_or_null(src->cmdline, &oom);
	for (unsigned i = 0; i < src->nr_disks; i++) {
		dst->disks[i].id = dup_or_null(src->disks[i].id, &oom);
		dst->disks[i].path = dup_or_null(src->disks[i].path, &oom);
	}
	dst->vsock.id = dup_or_null(src->vsock.id, &oom);
	dst->vsock.uds_path = dup_or_null(src->vsock.uds_path, &oom);
	for (unsigned i = 0; i < src->nr_nets; i++) {
		dst->nets[i].id = dup_or_null(src->nets[i].id, &oom);
		dst->nets[i].tap = dup_or_null(src->nets[i].tap, &oom);
	}
	return oom ? -ENOMEM : 0;
}

int vm_add_device(struct vm *vm, const struct device_ops *ops, void *dev)
{
	struct device *d = calloc(1, sizeof(*d));
	struct device **tail = &vm->devices;

	if (!d)
		return -ENOMEM;
	d->ops = ops;
	d->dev = dev;
	for (struct device *o = vm->devices; o; o = o->next)
		if (o->ops == ops)
			d->instance++;
	while (*tail)
		tail = &(*tail)->next;
	*tail = d; /* in creation order: save/load see a stable order */
	vm->nr_devices++;
	return 0;
}

/* runctl's callbacks: kick every vCPU out of KVM_RUN; stop the event loop at the end. */
static void vm_kick_all(void *opaque)
{
	struct vm *vm = opaque;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
}

static void vm_stop_loop(void *opaque)
{
	struct vm *vm = opaque;

	if (vm->el)
		evloop_stop(vm->el);
}

/* The address map for vm->cfg.mem_bytes and its RAM regions: how many, or -errno with @err. */
static int vm_layout(struct vm *vm, struct layout_region regions[LAYOUT_MAX_RAM_REGIONS], char *err,
		     size_t err_len)
{
	int ret = layout_init(&vm->layout, vm->cfg.mem_bytes, err, err_len);

	return ret ? ret : (int)layout_ram_regions(&vm->layout, regions);
}

/* Allocate guest RAM as the x86 layout says (lazily: untouched pages cost nothing). */
static int vm_alloc_memory(struct vm *vm, char *err, size_t err_len)
{
	struct layout_region regions[LAYOUT_MAX_RAM_REGIONS];
	int n = vm_layout(vm, regions, err, err_len);
	int ret;

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		ret = gmem_add_ram(&vm->gmem, regions[i].gpa, regions[i].len_bytes);
		if (ret) {
			snprintf(err, err_len, "cannot allocate %llu MiB of guest RAM: %s",
				 (unsigned long long)(regions[i].len_bytes >> 20), strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Tell KVM about each RAM region. */
static int vm_map_memory(struct vm *vm, char *err, size_t err_len)
{
	for (unsigned i = 0; i < vm->gmem.nr_regions; i++) {
		const struct gmem_region *r = &vm->gmem.regions[i];
		int ret = hv_set_memory(vm->hv, i, r->gpa, r->len_bytes, r->hva);

		if (ret) {
			snprintf(err, err_len, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/*
 * Guest RAM of a restored VM: the layout its size gives must be the one the
 * snapshot recorded; then each region is mapped from the memory file.
 */
static int vm_map_snapshot_memory(struct vm *vm, const struct vm_mem_source *src, char *err,
				  size_t err_len)
{
	struct layout_region regions[LAYOUT_MAX_RAM_REGIONS];
	int n = vm_layout(vm, regions, err, err_len);

	if (n < 0)
		return n;
	if ((uint32_t)n != src->hdr->nr_ram)
		goto mismatch;
	for (int i = 0; i < n; i++)
		if (regions[i].gpa != src->hdr->ram[i].gpa ||
		    regions[i].len_bytes != src->hdr->ram[i].len_bytes)
			goto mismatch;
	if (src->uffd_path) { /* empty RAM, each page filled by the handler at first touch */
		int ret = vm_alloc_memory(vm, err, err_len);

		return ret ? ret : memuffd_attach(&vm->gmem, src->uffd_path, err, err_len);
	}
	if (!src->mem_path)
		return vm_alloc_memory(vm, err, err_len);
	return memfile_map(src->mem_path, &vm->gmem, src->hdr, err, err_len);
mismatch:
	snprintf(err, err_len, "snapshot: its RAM layout does not match a VM of %llu MiB",
		 (unsigned long long)(vm->cfg.mem_bytes >> 20));
	return -EINVAL;
}

/* A CPU template is for one vendor: refuse it on the other's host before any vCPU exists. */
static int check_cpu_template(struct vm *vm, char *err, size_t err_len)
{
	struct cpuid_entry *host = NULL;
	unsigned nr = 0;
	int ret = hv_supported_cpuid(vm->hv, &host, &nr);

	if (ret) {
		snprintf(err, err_len, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
		return ret;
	}
	ret = cpu_template_check_vendor(vm->cfg.cpu_template, host, nr, err, err_len);
	free(host);
	return ret;
}

int vm_create(struct vm **out, const struct vm_config *cfg, struct evloop *el, bool *user_error,
	      char *err, size_t err_len)
{
	return vm_create_from(out, cfg, NULL, el, user_error, err, err_len);
}

int vm_create_from(struct vm **out, const struct vm_config *cfg, const struct vm_mem_source *src,
		   struct evloop *el, bool *user_error, char *err, size_t err_len)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	int ret;

	if (!vm) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	runctl_init(&vm->rc, vm_kick_all, vm_stop_loop, vm);
	vm->vcpu_env = (struct vcpu_env){
		.rc = &vm->rc, .pio = &vm->pio, .mmio = &vm->mmio, .gmem = &vm->gmem
	};
	gmem_init(&vm->gmem);
	vm->el = el;
	ret = config_copy(&vm->cfg, cfg);
	if (ret) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	vm->vcpu_env.firecracker_names = vm->cfg.firecracker_names;
	vm->vcpu_env.cpu_template = vm->cfg.cpu_template;
	if ((ret = bus_init(&vm->pio, "pio")) || (ret = bus_init(&vm->mmio, "mmio"))) {
		snprintf(err, err_len, "bus: %s", strerror(-ret));
		goto fail;
	}
	*user_error = false;
	vm->nr_vcpus_planned = vm->cfg.cpus;
	vm->defer_disk_locks = src && src->defer_disk_locks;
	if (src) {
		/* the guest, its firmware tables and its page tables are all in the memory file */
		ret = vm_map_snapshot_memory(vm, src, err, err_len);
		if (ret) {
			*user_error = true;
			goto fail;
		}
	} else {
		ret = vm_alloc_memory(vm, err, err_len);
		if (ret)
			goto fail;
		/*
		 * The guest is loaded before any KVM object exists: a kernel that
		 * is not bootable or does not fit is refused before a VM is made.
		 */
		ret = vm_boot_load(vm, cfg, err, err_len);
		if (ret) {
			*user_error = true;
			goto fail;
		}
	}
	ret = hv_create(&vm->hv, err, err_len);
	if (ret)
		goto fail;
	if (!src && vm->cfg.cpu_template != CPU_TEMPLATE_NONE) {
		ret = check_cpu_template(vm, err, err_len);
		if (ret) {
			*user_error = ret == -EINVAL;
			goto fail;
		}
	}
	ret = vm_map_memory(vm, err, err_len);
	if (ret)
		goto fail;
	ret = vm_platform_create(vm, user_error, err, err_len);
	if (ret)
		goto fail;
	if (vm->cfg.track_dirty && !src) {
		ret = vm_dirty_track(vm, true);
		if (ret) {
			snprintf(err, err_len, "dirty-page tracking: %s", strerror(-ret));
			goto fail;
		}
	}
	for (unsigned i = 0; i < vm->cfg.cpus; i++) {
		ret = vcpu_create(vm->hv, &vm->vcpu_env, i, vm->cfg.cpus, !src, &vm->vcpus[i], err,
				  err_len);
		if (ret)
			goto fail;
		vm->nr_vcpus++;
	}
	*out = vm;
	return 0;
fail:
	vm_destroy(vm);
	return ret;
}

int vm_start(struct vm *vm)
{
	int ret;

	ret = hv_vcpu_set_state(vm->vcpus[0]->hv, &vm->boot_state);
	if (ret) {
		log_error("cannot set the boot vCPU's registers: %s", strerror(-ret));
		return ret;
	}
	return vm_start_vcpus(vm);
}

/* ---- live rate limiters ---- */

struct limit_job {
	struct vm *vm;
	const char *id;
	bool net;
	const struct rate_limit_config *a, *b; /* disk: a; NIC: rx a, tx b */
	int ret;
};

static void set_limit_on_loop(void *opaque)
{
	struct limit_job *j = opaque;
	struct vm_config *c = &j->vm->cfg;

	j->ret = -ENOENT;
	if (!j->net) {
		for (unsigned i = 0; i < c->nr_disks; i++) {
			if (strcmp(c->disks[i].id, j->id))
				continue;
			j->ret = vm_pci_set_disk_limit(j->vm, i, j->a);
			if (!j->ret)
				c->disks[i].limit = *j->a;
			return;
		}
		return;
	}
	for (unsigned i = 0; i < c->nr_nets; i++) {
		if (strcmp(c->nets[i].id, j->id))
			continue;
		j->ret = vm_pci_set_net_limit(j->vm, i, j->a, j->b);
		if (!j->ret) {
			c->nets[i].rx_limit = *j->a;
			c->nets[i].tx_limit = *j->b;
		}
		return;
	}
}

void vm_on_loop(struct vm *vm, void (*fn)(void *), void *job)
{
	if (vm->el)
		evloop_call(vm->el, fn, job);
	else
		fn(job);
}

static int set_limit(struct limit_job *j)
{
	vm_on_loop(j->vm, set_limit_on_loop, j);
	return j->ret;
}

int vm_set_disk_limit(struct vm *vm, const char *id, const struct rate_limit_config *c)
{
	struct limit_job j = { .vm = vm, .id = id, .a = c };

	return set_limit(&j);
}

struct path_job {
	struct vm *vm;
	const char *id, *path;
	char *err;
	size_t err_len;
	int ret;
};

static void set_path_on_loop(void *opaque)
{
	struct path_job *j = opaque;
	struct vm_config *c = &j->vm->cfg;

	j->ret = -ENOENT;
	snprintf(j->err, j->err_len, "no such drive");
	for (unsigned i = 0; i < c->nr_disks; i++) {
		char *copy;

		if (strcmp(c->disks[i].id, j->id))
			continue;
		copy = strdup(j->path);
		if (!copy) {
			j->ret = -ENOMEM;
			snprintf(j->err, j->err_len, "out of memory");
			return;
		}
		j->ret = vm_pci_set_disk_path(j->vm, i, j->path, j->err, j->err_len);
		if (j->ret) {
			free(copy);
			return;
		}
		free(c->disks[i].path); /* a snapshot from now on names the new image */
		c->disks[i].path = copy;
		return;
	}
}

int vm_set_disk_path(struct vm *vm, const char *id, const char *path, char *err, size_t err_len)
{
	struct path_job j = { .vm = vm, .id = id, .path = path, .err = err, .err_len = err_len };

	vm_on_loop(vm, set_path_on_loop, &j);
	return j.ret;
}

struct balloon_job {
	struct vm *vm;
	bool interval; /* the statistics interval, else the target */
	uint32_t value;
	int ret;
};

static void balloon_on_loop(void *opaque)
{
	struct balloon_job *j = opaque;
	struct virtio_dev *b = vm_pci_balloon(j->vm);

	if (!b) {
		j->ret = -ENODEV;
	} else if (j->interval) {
		j->ret = virtio_balloon_set_interval(b, j->value);
		if (!j->ret)
			j->vm->cfg.balloon.stats_interval_s = j->value;
	} else {
		virtio_balloon_set_target(b, j->value * VIRTIO_BALLOON_PAGES_PER_MIB);
		j->vm->cfg.balloon.amount_mib = j->value;
		j->ret = 0;
	}
}

static int balloon_job(struct vm *vm, bool interval, uint32_t value)
{
	struct balloon_job j = { .vm = vm, .interval = interval, .value = value };

	vm_on_loop(vm, balloon_on_loop, &j);
	return j.ret;
}

int vm_balloon_set_target(struct vm *vm, uint32_t mib)
{
	if ((uint64_t)mib << 20 > vm->cfg.mem_bytes)
		return -EINVAL;
	return balloon_job(vm, false, mib);
}

int vm_balloon_set_interval(struct vm *vm, uint32_t seconds)
{
	return balloon_job(vm, true, seconds);
}

int vm_balloon_stats(struct vm *vm, struct virtio_balloon_stats *out)
{
	struct virtio_dev *b = vm_pci_balloon(vm);

	if (!b)
		return -ENODEV;
	virtio_balloon_get_stats(b, out);
	return 0;
}

int vm_set_net_limit(struct vm *vm, const char *id, const struct rate_limit_config *rx,
		     const struct rate_limit_config *tx)
{
	struct limit_job j = { .vm = vm, .id = id, .net = true, .a = rx, .b = tx };

	return set_limit(&j);
}

struct confine_job {
	pthread_t loop;
	int ret;
};

/* The event-loop thread's part of confine_control(), run there through evloop_call. */
static void confine_loop_thread(void *opaque)
{
	struct confine_job *j = opaque;

	j->loop = pthread_self();
	j->ret = confine_thread(CONFINE_CONTROL, "main");
}

/*
 * Confine the control threads before the guest's first instruction: the event
 * loop's (which runs the device models kicked through ioeventfds, and the API)
 * and the calling one, when that is another (a migration's receiver).
 */
static int confine_control(struct vm *vm)
{
	struct confine_job j = { .ret = 0 };

	if (!confine_enabled())
		return 0;
	evloop_call(vm->el, confine_loop_thread, &j);
	if (!j.ret && !pthread_equal(j.loop, pthread_self()))
		j.ret = confine_thread(CONFINE_CONTROL, "starter");
	if (j.ret)
		log_error("cannot install the seccomp filter of the control threads: %s",
			  strerror(-j.ret));
	return j.ret;
}

int vm_start_vcpus(struct vm *vm)
{
	int ret;

	ret = vcpu_signal_init();
	if (ret)
		return ret;
	ret = confine_control(vm);
	if (ret)
		return ret;
	runctl_set_running(&vm->rc);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_start(vm->vcpus[i]);
		if (ret) {
			vm_end(vm, VMON_EXIT_HOST, "cannot start a vCPU thread");
			return ret;
		}
	}
	return 0;
}

void vm_end(struct vm *vm, int status, const char *reason)
{
	runctl_end(&vm->rc, status, reason, false);
}

const char *vm_end_reason(struct vm *vm)
{
	return vm->rc.end_reason;
}

bool vm_restart_requested(struct vm *vm)
{
	return vm->rc.restart;
}

int vm_join(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i]->started) {
			pthread_join(vm->vcpus[i]->thread, NULL);
			vm->vcpus[i]->started = false;
		}
	}
	return vm->rc.exit_status;
}

int vm_pause(struct vm *vm)
{
	return runctl_pause(&vm->rc);
}

int vm_resume(struct vm *vm)
{
	return runctl_resume(&vm->rc);
}

void vm_destroy(struct vm *vm)
{
	struct device *d, *next;

	if (!vm)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(vm->vcpus[i]);
	vm_platform_quiesce(vm); /* no RTC timer fires into a freed device */
	vm_pci_quiesce(vm); /* block I/O completes before its devices go */
	for (d = vm->devices; d; d = next) {
		next = d->next;
		if (d->ops->destroy)
			d->ops->destroy(d->dev);
		free(d);
	}
	vm_pci_destroy(vm);
	vm_platform_destroy(vm);
	hv_destroy(vm->hv);
	gmem_destroy(&vm->gmem);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	vm_config_free(&vm->cfg);
	runctl_destroy(&vm->rc);
	free(vm);
}
