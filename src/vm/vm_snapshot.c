/*
 * vm_snapshot.c — snapshot create and restore of a whole VM (see vm_snapshot.h).
 *
 * The state file's sections, in order:
 *   "vm_config"  the machine configuration (vCPUs, RAM, devices and what backs them)
 *   "vcpu" #i    every vCPU (hv_state.h: registers, XSAVE, MSRs, LAPIC, events, ...)
 *   "kvm_vm"     the KVM clock and the in-kernel PIC, IOAPIC and PIT
 *   then one section per device of the VM's device list, in its creation order
 *   (tag = the device's name): a VM built from the same configuration has the
 *   same list, so the k-th device section belongs to the k-th device.
 *
 * Create: the VM is paused by the user (Firecracker requires it); the state is
 * taken on the event-loop thread (evloop_call) after the block backends are
 * drained, so no device writes guest RAM or changes state meanwhile. RAM goes
 * first to the memory file, then the state file is written (atomically, by a
 * rename): a state file never names memory that is not there.
 *
 * Restore: the whole state file is parsed and validated, and every vCPU and
 * VM section decoded, before a KVM object exists; then the VM is built from
 * the saved configuration with RAM mapped from the memory file, each device
 * loads its section, the in-kernel state and the vCPUs are set, the guest
 * gets a new VM generation ID and its ACPI event (a snapshot may be restored
 * many times: each copy must reseed its CRNG), and the vCPUs start (parked
 * unless resumed). The device loads and the in-kernel state are one job on
 * the event-loop thread, so no device handler runs in between (restore_job).
 * Any failure destroys the half-built VM: nothing of it ever runs.
 */
#include "vm/vm_snapshot.h"

#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpuid.h"
#include "config.h"
#include "hv/hv_state.h"
#include "snapshot/memfile.h"
#include "snapshot/snapfile.h"
#include "util/log.h"
#include "vm/vm.h"
#include "vm/vm_pci.h"
#include "vm/vm_platform.h"

#define VM_CONFIG_SECTION "vm_config"
/* 6: the CPU template; 5: vsock, boot timer; 4: the balloon; 3: the transport; 2: rate limiters */
#define VM_CONFIG_VERSION 8
#define VM_CONFIG_MAX_STR 4096

/* ---- the machine configuration section ---- */

static void put_str(struct state_writer *w, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	state_put_u8(w, s != NULL);
	state_put_u32(w, (uint32_t)len);
	state_put_bytes(w, s ? s : "", len);
}

/* A string of at most VM_CONFIG_MAX_STR bytes with no NUL inside; NULL when absent. */
static int get_str(struct state_reader *r, char **out)
{
	uint8_t present = state_get_u8(r);
	uint32_t len = state_get_u32(r);
	char *s;

	*out = NULL;
	if (state_error(r) || present > 1 || len > VM_CONFIG_MAX_STR || (!present && len))
		return -EINVAL;
	if (!present)
		return 0;
	s = malloc(len + 1);
	if (!s)
		return -ENOMEM;
	state_get_bytes(r, s, len);
	s[len] = '\0';
	if (state_error(r) || strlen(s) != len) {
		free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

static void put_bucket(struct state_writer *w, const struct token_bucket_config *b)
{
	state_put_u64(w, b->size);
	state_put_u64(w, b->one_time_burst);
	state_put_u64(w, b->refill_time_ms);
}

static void put_limit(struct state_writer *w, const struct rate_limit_config *l)
{
	put_bucket(w, &l->bandwidth);
	put_bucket(w, &l->ops);
}

static void get_bucket(struct state_reader *r, struct token_bucket_config *b)
{
	b->size = state_get_u64(r);
	b->one_time_burst = state_get_u64(r);
	b->refill_time_ms = state_get_u64(r);
}

/* A rate limiter from a version-2 config (none before); the API's bounds. 0 or -EINVAL. */
static int get_limit(struct state_reader *r, uint32_t version, struct rate_limit_config *l)
{
	memset(l, 0, sizeof(*l));
	if (version < 2)
		return 0;
	get_bucket(r, &l->bandwidth);
	get_bucket(r, &l->ops);
	return state_error(r) || !rate_limit_config_valid(l) ? -EINVAL : 0;
}

static void config_save(const struct vm_config *c, struct state_writer *w)
{
	state_begin(w, VM_CONFIG_SECTION, 0, VM_CONFIG_VERSION);
	state_put_u32(w, c->cpus);
	state_put_u64(w, c->mem_bytes);
	state_put_u8(w, (uint8_t)c->console);
	state_put_u8(w, 0); /* before version 7: rng (now a class at the end) */
	state_put_u8(w, c->reboot_restarts);
	put_str(w, c->kernel_path);
	put_str(w, c->cmdline);
	state_put_u32(w, c->nr_disks);
	for (unsigned i = 0; i < c->nr_disks; i++) {
		put_str(w, c->disks[i].id);
		put_str(w, c->disks[i].path);
		state_put_u8(w, c->disks[i].read_only);
		state_put_u8(w, c->disks[i].is_root);
		put_limit(w, &c->disks[i].limit);
	}
	state_put_u32(w, c->nr_nets);
	for (unsigned i = 0; i < c->nr_nets; i++) {
		put_str(w, c->nets[i].id);
		put_str(w, c->nets[i].tap);
		state_put_bytes(w, c->nets[i].mac, 6);
		state_put_u8(w, c->nets[i].has_mac);
		state_put_u8(w, c->nets[i].vhost);
		put_limit(w, &c->nets[i].rx_limit);
		put_limit(w, &c->nets[i].tx_limit);
	}
	/* the transport resolved: a restore needs no command line to choose it */
	state_put_u8(w, (uint8_t)vm_config_transport(c));
	state_put_u8(w, c->balloon.on);
	state_put_u32(w, c->balloon.amount_mib);
	state_put_u8(w, c->balloon.deflate_on_oom);
	state_put_u32(w, c->balloon.stats_interval_s);
	state_put_u8(w, c->balloon.free_page_reporting);
	put_str(w, c->vsock.uds_path);
	put_str(w, c->vsock.id);
	state_put_u64(w, c->vsock.cid);
	state_put_u8(w, c->boot_timer);
	state_put_u8(w, (uint8_t)c->cpu_template);
	/* the class table's devices, by name: a restore needs the same table, not its order */
	state_put_u32(w, vm_config_class_count(c));
	for (unsigned i = 0; i < VIRTIO_NR_CLASSES; i++) {
		if (c->classes[i])
			put_str(w, virtio_class_at(i)->name);
	}
	/* version 8: MMDS's configuration (its data store is not kept, as Firecracker's) */
	state_put_u8(w, c->mmds.on);
	state_put_u8(w, c->mmds.version);
	state_put_u32(w, c->mmds.ipv4);
	state_put_u8(w, c->mmds.imds_compat);
	for (unsigned i = 0; i < c->nr_nets; i++)
		state_put_u8(w, c->nets[i].mmds);
	state_end(w);
}

static bool is_bool(uint8_t v)
{
	return v <= 1;
}

/* The MMDS part of a version-8 config: off with nothing set, or on with a version, an address
 * and at least one NIC. 0 or -EINVAL. */
static int get_mmds(struct state_reader *r, struct vm_config *c)
{
	uint8_t on = state_get_u8(r), version = state_get_u8(r);
	uint32_t ipv4 = state_get_u32(r);
	uint8_t compat = state_get_u8(r);
	unsigned nics = 0;

	for (unsigned i = 0; i < c->nr_nets; i++) {
		uint8_t m = state_get_u8(r);

		if (!is_bool(m))
			return -EINVAL;
		c->nets[i].mmds = m;
		nics += m;
	}
	if (state_error(r) || !is_bool(on) || !is_bool(compat))
		return -EINVAL;
	if (on ? version < 1 || version > 2 || !vm_mmds_ipv4_valid(ipv4) || !nics
	       : version || ipv4 || compat || nics)
		return -EINVAL;
	c->mmds = (struct vm_mmds_config){
		.on = on, .version = version, .ipv4 = ipv4, .imds_compat = compat
	};
	return 0;
}

/* Decode and check a "vm_config" payload into @c (initialised by the caller). 0 or -EINVAL. */
static int config_load(struct state_reader *r, uint32_t version, struct vm_config *c)
{
	uint8_t console, rng, reboot, timer;
	int ret = 0;

	if (version < 1 || version > VM_CONFIG_VERSION)
		return -EINVAL;
	c->cpus = state_get_u32(r);
	c->mem_bytes = state_get_u64(r);
	console = state_get_u8(r);
	rng = state_get_u8(r);
	reboot = state_get_u8(r);
	if (state_error(r) || c->cpus < 1 || c->cpus > VM_MAX_CPUS || !c->mem_bytes ||
	    console > VM_CONSOLE_VIRTIO || !is_bool(rng) || !is_bool(reboot))
		return -EINVAL;
	c->console = (enum vm_console)console;
	if (rng && version >= 7)
		return -EINVAL;
	if (rng)
		vm_config_add_class(c, &virtio_rng_class);
	c->reboot_restarts = reboot;
	if ((ret = get_str(r, &c->kernel_path)) || (ret = get_str(r, &c->cmdline)))
		return ret;
	c->nr_disks = state_get_u32(r);
	if (state_error(r) || c->nr_disks > VM_MAX_DISKS) {
		c->nr_disks = 0;
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->nr_disks; i++) {
		struct vm_disk_config *d = &c->disks[i];
		uint8_t ro, root;

		if ((ret = get_str(r, &d->id)) || (ret = get_str(r, &d->path)))
			return ret;
		ro = state_get_u8(r);
		root = state_get_u8(r);
		if (state_error(r) || !d->id || !d->path || !is_bool(ro) || !is_bool(root))
			return -EINVAL;
		d->read_only = ro;
		d->is_root = root;
		if ((ret = get_limit(r, version, &d->limit)))
			return ret;
	}
	c->nr_nets = state_get_u32(r);
	if (state_error(r) || c->nr_nets > VM_MAX_NETS) {
		c->nr_nets = 0;
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->nr_nets; i++) {
		struct vm_net_config *n = &c->nets[i];
		uint8_t has_mac, vhost;

		if ((ret = get_str(r, &n->id)) || (ret = get_str(r, &n->tap)))
			return ret;
		state_get_bytes(r, n->mac, 6);
		has_mac = state_get_u8(r);
		vhost = state_get_u8(r);
		if (state_error(r) || !n->id || !n->tap || !is_bool(has_mac) || !is_bool(vhost))
			return -EINVAL;
		n->has_mac = has_mac;
		n->vhost = vhost;
		if ((ret = get_limit(r, version, &n->rx_limit)) ||
		    (ret = get_limit(r, version, &n->tx_limit)))
			return ret;
	}
	c->transport = VM_TRANSPORT_PCI;
	if (version >= 3) {
		uint8_t t = state_get_u8(r);

		if (state_error(r) || (t != VM_TRANSPORT_PCI && t != VM_TRANSPORT_MMIO))
			return -EINVAL;
		c->transport = (enum vm_transport)t;
	}
	if (version >= 4) {
		uint8_t on = state_get_u8(r), oom;
		uint32_t mib = state_get_u32(r), stats;
		uint8_t report;

		oom = state_get_u8(r);
		stats = state_get_u32(r);
		report = state_get_u8(r);
		if (state_error(r) || !is_bool(on) || !is_bool(oom) || !is_bool(report) ||
		    (uint64_t)mib << 20 > c->mem_bytes)
			return -EINVAL;
		c->balloon = (struct vm_balloon_config){ .on = on,
							 .amount_mib = mib,
							 .deflate_on_oom = oom,
							 .stats_interval_s = stats,
							 .free_page_reporting = report };
	}
	if (version >= 5) {
		if ((ret = get_str(r, &c->vsock.uds_path)) || (ret = get_str(r, &c->vsock.id)))
			return ret;
		c->vsock.cid = state_get_u64(r);
		timer = state_get_u8(r);
		if (state_error(r) || !is_bool(timer) ||
		    (c->vsock.uds_path && (c->vsock.cid < 3 || c->vsock.cid > UINT32_MAX)))
			return -EINVAL;
		c->boot_timer = timer;
	}
	if (version >= 6) {
		/* kept for GET /vm/config: the vCPUs' CPUID and MSRs come whole from the state */
		uint8_t t = state_get_u8(r);

		if (state_error(r) || t >= CPU_TEMPLATE_NR)
			return -EINVAL;
		c->cpu_template = (enum cpu_template)t;
	}
	if (version >= 7) {
		uint32_t n = state_get_u32(r);

		if (state_error(r) || n > VIRTIO_NR_CLASSES)
			return -EINVAL;
		for (uint32_t i = 0; i < n; i++) {
			const struct virtio_class *cls;
			char *name;

			if ((ret = get_str(r, &name)))
				return ret;
			cls = virtio_class_find(name); /* NULL: a class this vmon lacks */
			free(name);
			if (!cls)
				return -EINVAL;
			vm_config_add_class(c, cls);
		}
	}
	if (version >= 8 && (ret = get_mmds(r, c)))
		return ret;
	return state_done(r);
}

/* ---- create ---- */

/* The host CPU a snapshot records: vendor string and CPUID.1:EAX. */
static void host_cpu(char vendor[16], uint32_t *signature)
{
	unsigned a = 0, b = 0, c = 0, d = 0;

	memset(vendor, 0, 16);
	__get_cpuid(0, &a, &b, &c, &d);
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	__get_cpuid(1, &a, &b, &c, &d);
	*signature = a;
}

struct save_job {
	struct vm *vm;
	enum vm_snapshot_type type;
	const char *mem_path;
	struct state_writer *w;
	struct snapfile_header *hdr;
	uint64_t mem_written;
	int ret;
	char *err;
	size_t err_len;
};

static void reset_dirty(struct vm *vm);

/*
 * Guest RAM to the memory file, still on the loop thread: a frame or a block
 * completion landing in RAM after the devices' state was taken would not
 * match it.
 */
static int save_memory(struct save_job *j)
{
	uint64_t *dirty[GMEM_MAX_REGIONS] = { 0 };
	struct vm *vm = j->vm;
	int ret;

	if (j->type == VM_SNAPSHOT_DIFF) {
		ret = vm_state_collect_dirty(vm, dirty, j->err, j->err_len);
		if (!ret)
			ret = memfile_write_diff(j->mem_path, &vm->gmem,
						 (const uint64_t *const *)dirty, &j->mem_written,
						 j->err, j->err_len);
		for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
			free(dirty[i]);
		return ret;
	}
	if (vm->dirty_tracking)
		reset_dirty(vm); /* the next Diff counts from this snapshot */
	return memfile_write_full(j->mem_path, &vm->gmem, &j->mem_written, j->err, j->err_len);
}

void vm_state_header_cpu(struct snapfile_header *hdr, const struct hv_vcpu_state *cs)
{
	hdr->tsc_khz = cs->tsc_khz;
	hdr->nr_cpuid = cs->nr_cpuid < SNAPFILE_MAX_CPUID ? cs->nr_cpuid : SNAPFILE_MAX_CPUID;
	memcpy(hdr->cpuid, cs->cpuid, hdr->nr_cpuid * sizeof(cs->cpuid[0]));
}

int vm_state_take(struct vm *vm, struct state_writer *w, struct snapfile_header *hdr, char *err,
		  size_t err_len)
{
	struct hv_vm_state vs;
	int ret;

	vm_pci_drain(vm);
	config_save(&vm->cfg, w);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct hv_vcpu_state cs;

		memset(&cs, 0, sizeof(cs));
		ret = hv_vcpu_get_full(vm->vcpus[i]->hv, &cs);
		if (ret) {
			snprintf(err, err_len, "cannot read vCPU %u's state: %s", i,
				 strerror(-ret));
			hv_vcpu_state_free(&cs);
			return ret;
		}
		if (i == 0)
			vm_state_header_cpu(hdr, &cs);
		hv_vcpu_state_save(&cs, i, w);
		hv_vcpu_state_free(&cs);
	}
	memset(&vs, 0, sizeof(vs));
	ret = hv_vm_get_full(vm->hv, &vs);
	if (ret) {
		snprintf(err, err_len, "cannot read the VM's in-kernel state: %s", strerror(-ret));
		return ret;
	}
	hv_vm_state_save(&vs, w);
	for (struct device *d = vm->devices; d; d = d->next)
		if (d->ops->save)
			d->ops->save(d->dev, w);
	ret = state_writer_error(w);
	if (ret)
		snprintf(err, err_len, "cannot encode the state: %s", strerror(-ret));
	return ret;
}

/* On the event-loop thread: drain device I/O, then take every section, then RAM. */
static void save_on_loop(void *opaque)
{
	struct save_job *j = opaque;

	j->ret = vm_state_take(j->vm, j->w, j->hdr, j->err, j->err_len);
	if (!j->ret)
		j->ret = save_memory(j);
}

/* Pages dirtied since the last snapshot: KVM's log OR'd with vmon's own device writes. */
int vm_state_collect_dirty(struct vm *vm, uint64_t **bitmaps, char *err, size_t err_len)
{
	for (unsigned i = 0; i < vm->gmem.nr_regions; i++) {
		uint64_t pages = vm->gmem.regions[i].len_bytes >> 12;
		size_t words = (pages + 63) / 64;
		const uint64_t *dev = gmem_dirty_bitmap(&vm->gmem, i);
		int ret;

		bitmaps[i] = calloc(words ? words : 1, sizeof(uint64_t));
		if (!bitmaps[i]) {
			snprintf(err, err_len, "out of memory");
			return -ENOMEM;
		}
		ret = hv_get_dirty_log(vm->hv, i, bitmaps[i]);
		if (ret) {
			snprintf(err, err_len, "KVM_GET_DIRTY_LOG: %s", strerror(-ret));
			return ret;
		}
		for (size_t k = 0; dev && k < words; k++)
			bitmaps[i][k] |=
				__atomic_exchange_n((uint64_t *)&dev[k], 0, __ATOMIC_RELAXED);
	}
	return 0;
}

/* Before a Full snapshot with tracking on: the next Diff counts from here. */
static void reset_dirty(struct vm *vm)
{
	uint64_t *scratch[GMEM_MAX_REGIONS] = { 0 };
	char err[64];

	vm_state_collect_dirty(vm, scratch, err, sizeof(err));
	for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
		free(scratch[i]);
}

void vm_state_header(struct vm *vm, struct snapfile_header *hdr)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->format_version = SNAPFILE_FORMAT_VERSION;
	snprintf(hdr->vmon_version, sizeof(hdr->vmon_version), "%s", VMON_VERSION);
	host_cpu(hdr->cpu_vendor, &hdr->cpu_signature);
	hdr->nr_vcpus = vm->nr_vcpus;
	hdr->mem_bytes = gmem_ram_bytes(&vm->gmem);
	hdr->nr_ram = vm->gmem.nr_regions;
	for (unsigned i = 0; i < vm->gmem.nr_regions; i++) {
		hdr->ram[i].gpa = vm->gmem.regions[i].gpa;
		hdr->ram[i].len_bytes = vm->gmem.regions[i].len_bytes;
	}
}

void vm_state_config(const struct vm_config *c, struct state_writer *w)
{
	config_save(c, w);
}

int vm_snapshot_create(struct vm *vm, enum vm_snapshot_type type, const char *state_path,
		       const char *mem_path, char *err, size_t err_len)
{
	struct snapfile_header *hdr = calloc(1, sizeof(*hdr));
	struct state_writer w;
	struct save_job job;
	int ret;

	if (!hdr) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	state_writer_init(&w);
	if (runctl_state(&vm->rc) != RUNCTL_PAUSED) {
		snprintf(err, err_len, "the microVM must be paused to create a snapshot");
		ret = -EPERM;
		goto out;
	}
	for (unsigned i = 0; i < vm->cfg.nr_nets; i++) {
		if (vm->cfg.nets[i].vhost) {
			/* the kernel's vhost thread writes guest RAM even while the VM is paused */
			snprintf(err, err_len,
				 "net '%s': snapshots of vhost=on NICs are not supported",
				 vm->cfg.nets[i].id);
			ret = -EOPNOTSUPP;
			goto out;
		}
	}
	if (type == VM_SNAPSHOT_DIFF && !vm->dirty_tracking) {
		snprintf(err, err_len,
			 "a Diff snapshot needs dirty-page tracking (track_dirty_pages)");
		ret = -EINVAL;
		goto out;
	}
	vm_state_header(vm, hdr);
	job = (struct save_job){ .vm = vm,
				 .type = type,
				 .mem_path = mem_path,
				 .w = &w,
				 .hdr = hdr,
				 .err = err,
				 .err_len = err_len };
	vm_on_loop(vm, save_on_loop, &job);
	ret = job.ret;
	if (ret)
		goto out;
	ret = snapfile_write(state_path, hdr, &w, err, err_len);
	if (!ret)
		log_info("snapshot: %s (%zu bytes of state), %s (%llu MiB of RAM written)",
			 state_path, w.len, mem_path, (unsigned long long)(job.mem_written >> 20));
out:
	state_writer_free(&w);
	free(hdr);
	return ret;
}

int vm_dirty_track(struct vm *vm, bool on)
{
	int ret = gmem_track_writes(&vm->gmem, on);

	for (unsigned i = 0; !ret && i < vm->gmem.nr_regions; i++) {
		const struct gmem_region *r = &vm->gmem.regions[i];

		ret = hv_set_memory_log(vm->hv, i, r->gpa, r->len_bytes, r->hva, on);
	}
	if (!ret)
		vm->dirty_tracking = on;
	return ret;
}

/* ---- restore ---- */

/* Everything decoded from the state file before any KVM object exists. */
struct restore_state {
	struct snapfile file;
	struct vm_config cfg;
	struct hv_vcpu_state *vcpus;
	unsigned nr_vcpus;
	struct hv_vm_state vm;
	struct state_reader devices; /* positioned at the first device section */
};

static void restore_state_free(struct restore_state *rs)
{
	for (unsigned i = 0; i < rs->nr_vcpus; i++)
		hv_vcpu_state_free(&rs->vcpus[i]);
	free(rs->vcpus);
	vm_config_free(&rs->cfg);
	snapfile_free(&rs->file);
}

/* Next section, which must be @tag (#@instance when >= 0). */
static int expect_section(struct state_reader *r, const char *tag, long instance,
			  struct state_section *s, char *err, size_t err_len)
{
	int ret = state_next_section(r, s);

	if (ret <= 0) {
		snprintf(err, err_len, "snapshot: section '%s' is missing", tag);
		return -EINVAL;
	}
	if (strcmp(s->tag, tag) || (instance >= 0 && s->instance != (uint32_t)instance)) {
		snprintf(err, err_len, "snapshot: found section '%s' #%u where '%s' belongs",
			 s->tag, s->instance, tag);
		return -EINVAL;
	}
	return 0;
}

/* The host CPU must be the snapshot's: its CPUID and TSC were given to the guest. */
static int check_cpu(const struct snapfile_header *h, char *err, size_t err_len)
{
	char vendor[16];
	uint32_t signature;

	host_cpu(vendor, &signature);
	if (strcmp(vendor, h->cpu_vendor) || signature != h->cpu_signature) {
		snprintf(err, err_len,
			 "snapshot: taken on a CPU of vendor %s, signature 0x%x; this host's is "
			 "%s, 0x%x",
			 h->cpu_vendor, h->cpu_signature, vendor, signature);
		return -EINVAL;
	}
	return 0;
}

/* Apply @o's network overrides to @c. 0 or -errno with @err. */
static int apply_overrides(struct vm_config *c, const struct vm_restore_opts *o, char *err,
			   size_t err_len)
{
	for (unsigned k = 0; o && k < o->nr_net_overrides; k++) {
		unsigned i;
		char *tap;

		for (i = 0; i < c->nr_nets; i++)
			if (!strcmp(c->nets[i].id, o->net_overrides[k].id))
				break;
		if (i == c->nr_nets) {
			snprintf(err, err_len,
				 "network_overrides: the snapshot has no interface '%s'",
				 o->net_overrides[k].id);
			return -EINVAL;
		}
		tap = strdup(o->net_overrides[k].tap);
		if (!tap)
			return -ENOMEM;
		free(c->nets[i].tap);
		c->nets[i].tap = tap;
	}
	return 0;
}

int vm_check_cpuid(struct vm *vm, const struct snapfile_header *h, char *err, size_t err_len)
{
	struct cpuid_policy_opts opts = { .tsc_deadline = hv_has_tsc_deadline(vm->hv) };
	struct cpuid_entry *host = NULL, *mine = NULL;
	struct hv_vcpu_state here = { 0 };
	unsigned nr_host;
	int ret, nr;

	if (!h->nr_cpuid)
		return 0; /* nothing was recorded */
	if (!vm->nr_vcpus) {
		snprintf(err, err_len, "CPUID check: no vCPU");
		return -EINVAL;
	}
	ret = hv_supported_cpuid(vm->hv, &host, &nr_host);
	if (ret) {
		snprintf(err, err_len, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
		return ret;
	}
	mine = calloc(cpuid_policy_size(nr_host), sizeof(*mine));
	nr = mine ? cpuid_policy_build(host, nr_host, 0, vm->nr_vcpus_planned, &opts, mine,
				       cpuid_policy_size(nr_host))
		  : -ENOMEM;
	/*
	 * Compared with what vCPU 0 (not yet run; the snapshot's CPUID replaces
	 * this one) reads back once given vmon's policy, as the saved CPUID was
	 * read on the source: a paravirtual KVM (PVM) lists almost nothing in
	 * KVM_GET_SUPPORTED_CPUID yet gives its vCPUs the host's features.
	 */
	if (nr < 0)
		ret = nr;
	else
		ret = hv_vcpu_set_cpuid(vm->vcpus[0]->hv, mine, (unsigned)nr);
	if (!ret)
		ret = hv_vcpu_get_cpuid(vm->vcpus[0]->hv, &here);
	if (ret)
		snprintf(err, err_len, "CPUID policy: %s", strerror(-ret));
	else
		ret = cpuid_check_features(h->cpuid, h->nr_cpuid, here.cpuid, here.nr_cpuid, err,
					   err_len);
	hv_vcpu_state_free(&here);
	free(host);
	free(mine);
	return ret;
}

/*
 * Decode the configuration, vCPU and VM sections of a parsed state file
 * (rs->file), applying @o's network overrides (@o may be NULL). Leaves
 * rs->devices at the first device section.
 */
static int restore_decode(struct restore_state *rs, const struct vm_restore_opts *o, char *err,
			  size_t err_len)
{
	struct state_section s;
	int ret;

	ret = expect_section(&rs->file.sections, VM_CONFIG_SECTION, 0, &s, err, err_len);
	if (ret)
		return ret;
	ret = config_load(&s.payload, s.version, &rs->cfg);
	if (ret) {
		snprintf(err, err_len, "snapshot: section 'vm_config' is malformed");
		return ret;
	}
	if (rs->cfg.cpus != rs->file.hdr.nr_vcpus || rs->cfg.mem_bytes != rs->file.hdr.mem_bytes) {
		snprintf(err, err_len, "snapshot: the header and 'vm_config' disagree");
		return -EINVAL;
	}
	ret = apply_overrides(&rs->cfg, o, err, err_len);
	if (ret)
		return ret;
	rs->vcpus = calloc(rs->cfg.cpus, sizeof(*rs->vcpus));
	if (!rs->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < rs->cfg.cpus; i++) {
		ret = expect_section(&rs->file.sections, "vcpu", i, &s, err, err_len);
		if (ret)
			return ret;
		ret = hv_vcpu_state_load(&s.payload, s.version, &rs->vcpus[i]);
		if (ret) {
			snprintf(err, err_len, "snapshot: section 'vcpu' #%u is malformed", i);
			return ret;
		}
		rs->nr_vcpus++;
	}
	ret = expect_section(&rs->file.sections, "kvm_vm", 0, &s, err, err_len);
	if (ret)
		return ret;
	ret = hv_vm_state_load(&s.payload, s.version, &rs->vm);
	if (ret) {
		snprintf(err, err_len, "snapshot: section 'kvm_vm' is malformed");
		return ret;
	}
	rs->devices = rs->file.sections;
	return 0;
}

/* Give each device of @vm its section, in device-list order. */
static int restore_devices(struct vm *vm, struct state_reader *r, char *err, size_t err_len)
{
	struct state_section s;
	int ret;

	for (struct device *d = vm->devices; d; d = d->next) {
		if (!d->ops->load)
			continue;
		ret = state_next_section(r, &s);
		if (ret <= 0 || strcmp(s.tag, d->ops->name)) {
			snprintf(err, err_len, "snapshot: no state for device '%s' #%u",
				 d->ops->name, d->instance);
			return -EINVAL;
		}
		if (s.version > d->ops->version) {
			snprintf(err, err_len,
				 "snapshot: device '%s' state version %u is newer than this vmon's "
				 "%u",
				 s.tag, s.version, d->ops->version);
			return -EINVAL;
		}
		ret = d->ops->load(d->dev, &s.payload);
		if (ret) {
			snprintf(err, err_len, "snapshot: device '%s' #%u refused its state: %s",
				 s.tag, s.instance, strerror(-ret));
			return ret;
		}
	}
	ret = state_next_section(r, &s);
	if (ret != 0) {
		snprintf(err, err_len, "snapshot: section '%s' #%u belongs to no device of this VM",
			 ret > 0 ? s.tag : "?", ret > 0 ? s.instance : 0);
		return -EINVAL;
	}
	return 0;
}

int vm_snapshot_check(const void *buf, size_t len, char *err, size_t err_len)
{
	struct restore_state *rs = calloc(1, sizeof(*rs));
	struct state_section s;
	int ret;

	if (!rs)
		return -ENOMEM;
	vm_config_init(&rs->cfg);
	ret = snapfile_parse(buf, len, &rs->file, err, err_len);
	if (!ret)
		ret = restore_decode(rs, NULL, err, err_len);
	while (!ret && (ret = state_next_section(&rs->devices, &s)) > 0)
		ret = 0; /* the device sections: framing and CRC only, without the devices */
	if (ret < 0 && !err[0])
		snprintf(err, err_len, "snapshot: a device section is malformed");
	restore_state_free(rs);
	free(rs);
	return ret < 0 ? ret : 0;
}

int vm_snapshot_decode_config(uint32_t version, const void *payload, size_t len,
			      struct vm_config *c)
{
	struct state_reader r;

	state_reader_init(&r, payload, len);
	return config_load(&r, version, c);
}

int vm_snapshot_decode_section(const char *tag, uint32_t version, const void *payload, size_t len)
{
	struct state_reader r;
	int ret = -EINVAL;

	state_reader_init(&r, payload, len);
	if (!strcmp(tag, VM_CONFIG_SECTION)) {
		struct vm_config c;

		vm_config_init(&c);
		ret = config_load(&r, version, &c);
		vm_config_free(&c);
	} else if (!strcmp(tag, HV_VCPU_STATE_TAG)) {
		struct hv_vcpu_state st;

		memset(&st, 0, sizeof(st));
		ret = hv_vcpu_state_load(&r, version, &st);
		hv_vcpu_state_free(&st);
	} else if (!strcmp(tag, HV_VM_STATE_TAG)) {
		struct hv_vm_state st;

		ret = hv_vm_state_load(&r, version, &st);
	}
	return ret;
}

/*
 * The part of a restore that must not interleave with device I/O, run on the
 * event-loop thread (evloop_call) as a snapshot is taken: the devices load
 * their sections, then the vCPUs (LAPICs) and the VM's irqchip are set. A
 * restore started elsewhere than on the loop (a migration's receiver) runs
 * while the loop serves the devices it already watches (a NIC's TAP from its load on): an interrupt
 * a device sent in between went into a LAPIC or IOAPIC the saved state then overwrote, and with
 * EVENT_IDX the device does not interrupt again for that queue until the driver, which never
 * learned of it, moves used_event: the guest's NIC received nothing more after such a restore.
 */
struct restore_job {
	struct vm *vm;
	struct restore_state *rs;
	const struct vm_restore_opts *o;
	char *err;
	size_t err_len;
	bool user_error;
	int ret;
};

static void restore_on_loop(void *opaque)
{
	struct restore_job *j = opaque;

	j->user_error = true;
	j->ret = restore_devices(j->vm, &j->rs->devices, j->err, j->err_len);
	if (j->ret)
		return;
	j->user_error = false;
	for (unsigned i = 0; i < j->vm->nr_vcpus; i++) {
		char why[192] = "";

		j->ret = hv_vcpu_set_full(j->vm->vcpus[i]->hv, &j->rs->vcpus[i], why, sizeof(why));
		if (j->ret) {
			snprintf(j->err, j->err_len, "cannot restore vCPU %u: %s", i, why);
			return;
		}
	}
	{
		char why[192] = "";

		j->ret = hv_vm_set_full(j->vm->hv, &j->rs->vm, j->o->clock_realtime, why,
					sizeof(why));
		if (j->ret) {
			snprintf(j->err, j->err_len, "cannot restore the VM's in-kernel state: %s",
				 why);
			return;
		}
	}
	if (j->o->track_dirty) {
		j->ret = vm_dirty_track(j->vm, true);
		if (j->ret) {
			snprintf(j->err, j->err_len, "dirty-page tracking: %s", strerror(-j->ret));
			return;
		}
	}
	/* a new copy of the guest: a new generation ID, announced once its vCPUs run */
	j->ret = j->o->migrated ? 0 : vm_vmgenid_regenerate(j->vm);
	if (j->ret) {
		snprintf(j->err, j->err_len, "VM generation ID: %s", strerror(-j->ret));
		return;
	}
	j->ret = 0;
}

int vm_restore(struct vm **out, const struct vm_restore_opts *o, struct evloop *el,
	       struct vm_config *cfg_out, bool *user_error, char *err, size_t err_len)
{
	struct restore_state *rs = calloc(1, sizeof(*rs));
	struct vm_mem_source src;
	struct restore_job job;
	struct vm *vm = NULL;
	int ret;

	*user_error = true;
	if (!rs) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	vm_config_init(&rs->cfg);
	ret = snapfile_read(o->state_path, &rs->file, err, err_len);
	if (!ret)
		ret = check_cpu(&rs->file.hdr, err, err_len);
	if (!ret)
		ret = restore_decode(rs, o, err, err_len);
	if (ret)
		goto out;
	src = (struct vm_mem_source){ .hdr = &rs->file.hdr,
				      .mem_path = o->mem_path,
				      .uffd_path = o->uffd_path };
	rs->cfg.firecracker_names = o->firecracker_names;
	rs->cfg.mmds.store = o->mmds_store;
	ret = vm_create_from(&vm, &rs->cfg, &src, el, user_error, err, err_len);
	if (ret)
		goto out;
	ret = vm_check_cpuid(vm, &rs->file.hdr, err, err_len);
	if (ret)
		goto out; /* *user_error: the snapshot's, not this host's */
	job = (struct restore_job){ .vm = vm, .rs = rs, .o = o, .err = err, .err_len = err_len };
	vm_on_loop(vm, restore_on_loop, &job);
	ret = job.ret;
	*user_error = job.user_error;
	if (ret)
		goto out;
	runctl_set_running(&vm->rc);
	if (!o->resume)
		runctl_pause(&vm->rc); /* no thread yet: returns at once, they park on start */
	ret = vm_start_vcpus(vm);
	if (ret) {
		snprintf(err, err_len, "cannot start the vCPUs: %s", strerror(-ret));
		*user_error = false;
		vm_join(vm);
		goto out;
	}
	if (cfg_out) {
		*cfg_out = rs->cfg;
		vm_config_init(&rs->cfg);
	}
	*out = vm;
	vm = NULL;
out:
	if (vm)
		vm_destroy(vm);
	restore_state_free(rs);
	free(rs);
	return ret;
}

/* ---- a migration's destination (vm_migrate.c) ---- */

int vm_incoming_config(const void *buf, size_t len, const struct vm_restore_opts *o,
		       struct snapfile_header *hdr, struct vm_config *cfg, char *err,
		       size_t err_len)
{
	struct snapfile f;
	struct state_section s;
	int ret;

	ret = snapfile_parse(buf, len, &f, err, err_len);
	if (!ret)
		ret = check_cpu(&f.hdr, err, err_len);
	if (!ret)
		ret = expect_section(&f.sections, VM_CONFIG_SECTION, 0, &s, err, err_len);
	if (ret)
		return ret;
	ret = config_load(&s.payload, s.version, cfg);
	if (ret) {
		snprintf(err, err_len, "migration: the machine configuration is malformed");
		return -EINVAL;
	}
	if (cfg->cpus != f.hdr.nr_vcpus || cfg->mem_bytes != f.hdr.mem_bytes) {
		snprintf(err, err_len, "migration: the header and 'vm_config' disagree");
		return -EINVAL;
	}
	if (state_next_section(&f.sections, &s) != 0) {
		snprintf(err, err_len, "migration: HELLO carries more than the configuration");
		return -EINVAL;
	}
	*hdr = f.hdr;
	return apply_overrides(cfg, o, err, err_len);
}

/* Do two configurations encode to the same bytes? */
static bool config_same(const struct vm_config *a, const struct vm_config *b)
{
	struct state_writer wa, wb;
	bool same;

	state_writer_init(&wa);
	state_writer_init(&wb);
	config_save(a, &wa);
	config_save(b, &wb);
	same = !state_writer_error(&wa) && !state_writer_error(&wb) && wa.len == wb.len &&
	       !memcmp(wa.buf, wb.buf, wa.len);
	state_writer_free(&wa);
	state_writer_free(&wb);
	return same;
}

int vm_incoming_load(struct vm *vm, const void *buf, size_t len, const struct vm_restore_opts *o,
		     char *err, size_t err_len)
{
	struct restore_state *rs = calloc(1, sizeof(*rs));
	struct restore_job job;
	int ret;

	if (!rs) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	vm_config_init(&rs->cfg);
	ret = snapfile_parse(buf, len, &rs->file, err, err_len);
	if (!ret)
		ret = check_cpu(&rs->file.hdr, err, err_len);
	if (!ret)
		ret = restore_decode(rs, o, err, err_len);
	if (ret)
		goto out;
	ret = -EINVAL;
	if (rs->file.hdr.nr_ram != vm->gmem.nr_regions) {
		snprintf(err, err_len, "migration: the state's RAM layout is not HELLO's");
		goto out;
	}
	for (unsigned i = 0; i < vm->gmem.nr_regions; i++) {
		if (rs->file.hdr.ram[i].gpa != vm->gmem.regions[i].gpa ||
		    rs->file.hdr.ram[i].len_bytes != vm->gmem.regions[i].len_bytes) {
			snprintf(err, err_len, "migration: the state's RAM layout is not HELLO's");
			goto out;
		}
	}
	if (!config_same(&rs->cfg, &vm->cfg)) {
		snprintf(err, err_len,
			 "migration: the machine configuration changed during the migration");
		goto out;
	}
	job = (struct restore_job){ .vm = vm, .rs = rs, .o = o, .err = err, .err_len = err_len };
	vm_on_loop(vm, restore_on_loop, &job);
	ret = job.ret;
	if (ret)
		goto out;
	runctl_set_running(&vm->rc);
	runctl_pause(&vm->rc); /* no thread yet: they park on start */
	ret = vm_start_vcpus(vm);
	if (ret)
		snprintf(err, err_len, "cannot start the vCPUs: %s", strerror(-ret));
out:
	restore_state_free(rs);
	free(rs);
	return ret;
}
