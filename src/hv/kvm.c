/*
 * kvm.c — the KVM backend of hv.h: /dev/kvm, the VM, vCPUs, memory slots and
 * dirty logging, the in-kernel irqchip and PIT, register state, and KVM_RUN
 * exit decoding (the complete state for snapshots is in kvm_state.c).
 * Documentation/virt/kvm/api.rst is the reference for every ioctl here.
 */
#include "hv/hv.h"
#include "hv/kvm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cpuid.h>
#include <pthread.h>

#include "util/compiler.h"

/* Older uapi headers spell it without the second I. */
#ifndef KVM_CPUID_FLAG_SIGNIFICANT_INDEX
#define KVM_CPUID_FLAG_SIGNIFICANT_INDEX KVM_CPUID_FLAG_SIGNIFCANT_INDEX
#endif

#define HV_IRQCHIP_GSIS 24 /* GSIs 0-23: the IOAPIC pins (0-15 also the PICs) */
#define HV_MAX_MSI_ROUTES 1024

/* Capabilities vmon relies on (required) or uses when present. */
static const struct {
	int cap;
	const char *name;
	bool required;
} hv_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", true },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", true },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2", true },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", true },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", true },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", true },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", false },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", false },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", false },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI", false },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", false },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR", false },
	{ KVM_CAP_TSC_DEADLINE_TIMER, "KVM_CAP_TSC_DEADLINE_TIMER", false },
	{ KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK", false },
	{ KVM_CAP_X2APIC_API, "KVM_CAP_X2APIC_API", false },
	{ KVM_CAP_DIRTY_LOG_RING, "KVM_CAP_DIRTY_LOG_RING", false },
	{ KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2", false },
	{ KVM_CAP_X86_DISABLE_EXITS, "KVM_CAP_X86_DISABLE_EXITS", false },
};

#define TSS_ADDR 0xfffbd000ull /* 3 pages below the BIOS area, outside RAM (Intel only) */
#define IDENTITY_MAP_ADDR 0xfffbc000ull

static int sysfs_flag(const char *path)
{
	char buf[8] = { 0 };
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1';
}

static bool module_loaded(const char *name)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

static void host_cpu(struct hv_host_info *info)
{
	unsigned a, b, c, d;

	__cpuid(0, a, b, c, d);
	memcpy(info->vendor, &b, 4);
	memcpy(info->vendor + 4, &d, 4);
	memcpy(info->vendor + 8, &c, 4);
	info->vendor[12] = 0;
	__cpuid(1, a, b, c, d);
	info->vmx = c & (1u << 5);
	__cpuid(0x80000000, a, b, c, d);
	if (a >= 0x80000001) {
		__cpuid(0x80000001, a, b, c, d);
		info->svm = c & (1u << 2);
	}
}

/* Open /dev/kvm; on failure -errno with one line in @err saying what usually helps. */
static int open_kvm(char *err, size_t err_len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int e = errno;

	if (fd >= 0)
		return fd;
	snprintf(err, err_len, "cannot open /dev/kvm: %s%s", strerror(e),
		 e == ENOENT   ? " (is the kvm module loaded?)"
		 : e == EACCES ? " (add yourself to the kvm group or run as root)"
			       : "");
	return -e;
}

int hv_host_info(struct hv_host_info *info, char *err, size_t err_len)
{
	int fd;

	memset(info, 0, sizeof(*info));
	host_cpu(info);
	if (module_loaded("kvm_pvm")) {
		snprintf(info->module, sizeof(info->module), "kvm_pvm");
		info->ring0_emulated = true;
	} else if (module_loaded("kvm_intel")) {
		snprintf(info->module, sizeof(info->module), "kvm_intel");
		info->ept = sysfs_flag("/sys/module/kvm_intel/parameters/ept") == 1;
		info->vpid = sysfs_flag("/sys/module/kvm_intel/parameters/vpid") == 1;
		info->unrestricted_guest =
			sysfs_flag("/sys/module/kvm_intel/parameters/unrestricted_guest") == 1;
		info->apicv = sysfs_flag("/sys/module/kvm_intel/parameters/enable_apicv") == 1;
		info->nested = sysfs_flag("/sys/module/kvm_intel/parameters/nested") == 1;
	} else if (module_loaded("kvm_amd")) {
		snprintf(info->module, sizeof(info->module), "kvm_amd");
		info->npt = sysfs_flag("/sys/module/kvm_amd/parameters/npt") == 1;
		info->apicv = sysfs_flag("/sys/module/kvm_amd/parameters/avic") == 1;
		info->nested = sysfs_flag("/sys/module/kvm_amd/parameters/nested") == 1;
		info->unrestricted_guest = true; /* SVM has no real-mode restriction */
		info->vpid = true; /* ASIDs */
	}
	fd = open_kvm(err, err_len);
	if (fd < 0)
		return fd;
	info->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
	info->max_vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (info->max_vcpus <= 0)
		info->max_vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	for (unsigned i = 0; i < ARRAY_SIZE(hv_caps) && i < ARRAY_SIZE(info->caps); i++) {
		info->caps[i].name = hv_caps[i].name;
		info->caps[i].required = hv_caps[i].required;
		info->caps[i].present = ioctl(fd, KVM_CHECK_EXTENSION, hv_caps[i].cap) > 0;
		info->nr_caps = i + 1;
	}
	close(fd);
	return 0;
}

int hv_create(struct hv **out, char *err, size_t err_len)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct hv *hv;
	int ret, version;

	hv = calloc(1, sizeof(*hv));
	if (!hv) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	hv->vm_fd = -1;
	pthread_mutex_init(&hv->routes_lock, NULL);
	pthread_mutex_init(&hv->state_lock, NULL);
	hv->kvm_fd = open_kvm(err, err_len);
	if (hv->kvm_fd < 0) {
		ret = hv->kvm_fd;
		goto fail;
	}
	version = ioctl(hv->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		snprintf(err, err_len, "KVM API version %d, vmon needs %d", version,
			 KVM_API_VERSION);
		ret = -ENOTSUP;
		goto fail;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(hv_caps); i++) {
		if (hv_caps[i].required &&
		    ioctl(hv->kvm_fd, KVM_CHECK_EXTENSION, hv_caps[i].cap) <= 0) {
			snprintf(err, err_len, "the host KVM lacks %s, which vmon needs",
				 hv_caps[i].name);
			ret = -ENOTSUP;
			goto fail;
		}
	}
	hv->run_size = ioctl(hv->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (hv->run_size < (int)sizeof(struct kvm_run)) {
		ret = -EINVAL;
		snprintf(err, err_len, "KVM_GET_VCPU_MMAP_SIZE failed");
		goto fail;
	}
	hv->vm_fd = ioctl(hv->kvm_fd, KVM_CREATE_VM, 0);
	if (hv->vm_fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "KVM_CREATE_VM: %s", strerror(-ret));
		goto fail;
	}
	/* Intel needs a TSS and an identity-map page for real-mode emulation. */
	if (ioctl(hv->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(hv->vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0) {
		ret = -errno;
		snprintf(err, err_len, "KVM_SET_TSS_ADDR: %s", strerror(-ret));
		goto fail;
	}
	if (ioctl(hv->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		uint64_t addr = IDENTITY_MAP_ADDR;

		if (ioctl(hv->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0) {
			ret = -errno;
			snprintf(err, err_len, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(-ret));
			goto fail;
		}
	}
	if (ioctl(hv->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		ret = -errno;
		snprintf(err, err_len, "KVM_CREATE_IRQCHIP: %s", strerror(-ret));
		goto fail;
	}
	if (ioctl(hv->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		ret = -errno;
		snprintf(err, err_len, "KVM_CREATE_PIT2: %s", strerror(-ret));
		goto fail;
	}
	*out = hv;
	return 0;
fail:
	hv_destroy(hv);
	return ret;
}

void hv_destroy(struct hv *hv)
{
	if (!hv)
		return;
	if (hv->vm_fd >= 0)
		close(hv->vm_fd);
	if (hv->kvm_fd >= 0)
		close(hv->kvm_fd);
	pthread_mutex_destroy(&hv->routes_lock);
	pthread_mutex_destroy(&hv->state_lock);
	free(hv->msi);
	free(hv->msr_index);
	free(hv);
}

bool hv_has_tsc_deadline(struct hv *hv)
{
	return ioctl(hv->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
}

int hv_set_memory_log(struct hv *hv, uint32_t slot, uint64_t gpa, uint64_t len, void *hva,
		      bool log_dirty)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		.guest_phys_addr = gpa,
		.memory_size = len,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	return ioctl(hv->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int hv_set_memory(struct hv *hv, uint32_t slot, uint64_t gpa, uint64_t len, void *hva)
{
	return hv_set_memory_log(hv, slot, gpa, len, hva, false);
}

int hv_get_dirty_log(struct hv *hv, uint32_t slot, uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return ioctl(hv->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0 ? -errno : 0;
}

int hv_irq_line(struct hv *hv, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	return ioctl(hv->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

/*
 * Some KVMs (PVM) list the brand-string leaves 0x80000002-4 with zeros; the
 * guest then shows no CPU name. Fill them from the host CPU, which is what
 * KVM reports on hosts that pass them through.
 */
static void fill_brand_string(struct cpuid_entry *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned a, b, c, d;

		if (e[i].function < 0x80000002u || e[i].function > 0x80000004u ||
		    (e[i].eax | e[i].ebx | e[i].ecx | e[i].edx))
			continue;
		__cpuid(e[i].function, a, b, c, d);
		e[i].eax = a, e[i].ebx = b, e[i].ecx = c, e[i].edx = d;
	}
}

int hv_supported_cpuid(struct hv *hv, struct cpuid_entry **out, unsigned *nr)
{
	for (unsigned n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		struct cpuid_entry *e;

		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(hv->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
			int ret = -errno;

			free(c);
			if (ret == -E2BIG)
				continue;
			return ret;
		}
		e = calloc(c->nent ? c->nent : 1, sizeof(*e));
		if (!e) {
			free(c);
			return -ENOMEM;
		}
		for (unsigned i = 0; i < c->nent; i++) {
			e[i] = (struct cpuid_entry){
				.function = c->entries[i].function,
				.index = c->entries[i].index,
				.flags = c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFICANT_INDEX,
				.eax = c->entries[i].eax,
				.ebx = c->entries[i].ebx,
				.ecx = c->entries[i].ecx,
				.edx = c->entries[i].edx,
			};
		}
		fill_brand_string(e, c->nent);
		*out = e;
		*nr = c->nent;
		free(c);
		return 0;
	}
	return -E2BIG;
}

int hv_vcpu_create(struct hv *hv, unsigned index, struct hv_vcpu **out)
{
	struct hv_vcpu *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return -ENOMEM;
	v->hv = hv;
	v->index = index;
	v->fd = ioctl(hv->vm_fd, KVM_CREATE_VCPU, index);
	if (v->fd < 0) {
		ret = -errno;
		free(v);
		return ret;
	}
	v->run = mmap(NULL, hv->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		ret = -errno;
		close(v->fd);
		free(v);
		return ret;
	}
	*out = v;
	return 0;
}

void hv_vcpu_destroy(struct hv_vcpu *v)
{
	if (!v)
		return;
	munmap(v->run, v->hv->run_size);
	close(v->fd);
	free(v);
}

int hv_vcpu_set_cpuid(struct hv_vcpu *v, const struct cpuid_entry *e, unsigned nr)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nr * sizeof(c->entries[0]));
	int ret;

	if (!c)
		return -ENOMEM;
	c->nent = nr;
	for (unsigned i = 0; i < nr; i++) {
		c->entries[i] = (struct kvm_cpuid_entry2){
			.function = e[i].function,
			.index = e[i].index,
			.flags = e[i].flags & CPUID_FLAG_SIGNIFICANT_INDEX
					 ? KVM_CPUID_FLAG_SIGNIFICANT_INDEX
					 : 0,
			.eax = e[i].eax,
			.ebx = e[i].ebx,
			.ecx = e[i].ecx,
			.edx = e[i].edx,
		};
	}
	ret = ioctl(v->fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return ret;
}

int hv_vcpu_set_msrs(struct hv_vcpu *v, const struct x86_msr *msrs, unsigned nr)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + nr * sizeof(m->entries[0]));
	int ret;

	if (!m)
		return -ENOMEM;
	m->nmsrs = nr;
	for (unsigned i = 0; i < nr; i++) {
		m->entries[i].index = msrs[i].index;
		m->entries[i].data = msrs[i].value;
	}
	ret = ioctl(v->fd, KVM_SET_MSRS, m);
	free(m);
	if (ret < 0)
		return -errno;
	/* KVM_SET_MSRS returns how many it set; stopping early means one was refused. */
	return (unsigned)ret == nr ? 0 : -EINVAL;
}

int hv_vcpu_get_msr(struct hv_vcpu *v, uint32_t index, uint64_t *value)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + sizeof(m->entries[0]));
	int ret;

	if (!m)
		return -ENOMEM;
	m->nmsrs = 1;
	m->entries[0].index = index;
	ret = ioctl(v->fd, KVM_GET_MSRS, m);
	if (ret == 1)
		*value = m->entries[0].data;
	ret = ret < 0 ? -errno : ret != 1 ? -ENOENT : 0; /* -ENOENT: KVM lacks it for the vCPU */
	free(m);
	return ret;
}

void kvm_seg_to_kvm(const struct x86_segment *s, struct kvm_segment *k)
{
	*k = (struct kvm_segment){
		.base = s->base,
		.limit = s->limit,
		.selector = s->selector,
		.type = s->type,
		.present = s->present,
		.dpl = s->dpl,
		.db = s->db,
		.s = s->s,
		.l = s->l,
		.g = s->g,
		.avl = s->avl,
		.unusable = !s->present,
	};
}

void kvm_seg_from_kvm(const struct kvm_segment *k, struct x86_segment *s)
{
	*s = (struct x86_segment){
		.base = k->base,
		.limit = k->limit,
		.selector = k->selector,
		.type = k->type,
		.present = k->present,
		.dpl = k->dpl,
		.db = k->db,
		.s = k->s,
		.l = k->l,
		.g = k->g,
		.avl = k->avl,
	};
}

int hv_vcpu_set_state(struct hv_vcpu *v, const struct x86_cpu_state *st)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rax = st->rax,
		.rbx = st->rbx,
		.rcx = st->rcx,
		.rdx = st->rdx,
		.rsi = st->rsi,
		.rdi = st->rdi,
		.rsp = st->rsp,
		.rbp = st->rbp,
		.r8 = st->r8,
		.r9 = st->r9,
		.r10 = st->r10,
		.r11 = st->r11,
		.r12 = st->r12,
		.r13 = st->r13,
		.r14 = st->r14,
		.r15 = st->r15,
		.rip = st->rip,
		.rflags = st->rflags | 2, /* bit 1 is always set */
	};

	/* Start from KVM's sregs so the APIC base and interrupt bitmap stay as KVM set them. */
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	kvm_seg_to_kvm(&st->cs, &sregs.cs);
	kvm_seg_to_kvm(&st->ds, &sregs.ds);
	kvm_seg_to_kvm(&st->es, &sregs.es);
	kvm_seg_to_kvm(&st->fs, &sregs.fs);
	kvm_seg_to_kvm(&st->gs, &sregs.gs);
	kvm_seg_to_kvm(&st->ss, &sregs.ss);
	kvm_seg_to_kvm(&st->tr, &sregs.tr);
	kvm_seg_to_kvm(&st->ldt, &sregs.ldt);
	/* A task register must be usable for VM entry even when the guest has none yet. */
	if (!st->tr.present) {
		sregs.tr =
			(struct kvm_segment){ .limit = 0xffff, .type = 11, .present = 1, .s = 0 };
	}
	if (!st->ldt.present)
		sregs.ldt = (struct kvm_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	sregs.gdt.base = st->gdt.base;
	sregs.gdt.limit = st->gdt.limit;
	sregs.idt.base = st->idt.base;
	sregs.idt.limit = st->idt.limit;
	sregs.cr0 = st->cr0;
	sregs.cr2 = st->cr2;
	sregs.cr3 = st->cr3;
	sregs.cr4 = st->cr4;
	sregs.efer = st->efer;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

int hv_vcpu_get_state(struct hv_vcpu *v, struct x86_cpu_state *st)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	*st = (struct x86_cpu_state){
		.rax = regs.rax,
		.rbx = regs.rbx,
		.rcx = regs.rcx,
		.rdx = regs.rdx,
		.rsi = regs.rsi,
		.rdi = regs.rdi,
		.rsp = regs.rsp,
		.rbp = regs.rbp,
		.r8 = regs.r8,
		.r9 = regs.r9,
		.r10 = regs.r10,
		.r11 = regs.r11,
		.r12 = regs.r12,
		.r13 = regs.r13,
		.r14 = regs.r14,
		.r15 = regs.r15,
		.rip = regs.rip,
		.rflags = regs.rflags,
		.gdt = { sregs.gdt.base, sregs.gdt.limit },
		.idt = { sregs.idt.base, sregs.idt.limit },
		.cr0 = sregs.cr0,
		.cr2 = sregs.cr2,
		.cr3 = sregs.cr3,
		.cr4 = sregs.cr4,
		.efer = sregs.efer,
	};
	kvm_seg_from_kvm(&sregs.cs, &st->cs);
	kvm_seg_from_kvm(&sregs.ds, &st->ds);
	kvm_seg_from_kvm(&sregs.es, &st->es);
	kvm_seg_from_kvm(&sregs.fs, &st->fs);
	kvm_seg_from_kvm(&sregs.gs, &st->gs);
	kvm_seg_from_kvm(&sregs.ss, &st->ss);
	kvm_seg_from_kvm(&sregs.tr, &st->tr);
	kvm_seg_from_kvm(&sregs.ldt, &st->ldt);
	return 0;
}

/* LAPIC local vector table registers (Intel SDM vol. 3, 11.5.1). */
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_EXTINT 0x7
#define APIC_MODE_NMI 0x4

static void lapic_set_lvt_mode(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, 4);
}

int hv_vcpu_init_platform(struct hv_vcpu *v)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	struct kvm_lapic_state lapic;

	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	/* As a PC BIOS leaves them: LINT0 delivers the PIC's ExtINT, LINT1 NMI. */
	lapic_set_lvt_mode(&lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	lapic_set_lvt_mode(&lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

int hv_vcpu_translate(struct hv_vcpu *v, uint64_t gva, uint64_t *gpa)
{
	struct kvm_translation t = { .linear_address = gva };

	if (ioctl(v->fd, KVM_TRANSLATE, &t) < 0)
		return -errno;
	if (!t.valid)
		return -EFAULT;
	*gpa = t.physical_address;
	return 0;
}

static const char *mp_state_name(uint32_t s)
{
	static const char *const names[] = {
		[KVM_MP_STATE_RUNNABLE] = "runnable",
		[KVM_MP_STATE_UNINITIALIZED] = "uninitialized",
		[KVM_MP_STATE_INIT_RECEIVED] = "init-received",
		[KVM_MP_STATE_HALTED] = "halted",
		[KVM_MP_STATE_SIPI_RECEIVED] = "sipi-received",
	};

	return s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "other";
}

/* The highest vector set in the 256-bit LAPIC register array at @off (8 words, 16 bytes apart). */
static int lapic_max_vector(const struct kvm_lapic_state *l, unsigned off, unsigned *count)
{
	int max = -1;

	for (unsigned w = 0; w < 8; w++) {
		uint32_t bits;

		memcpy(&bits, &l->regs[off + 0x10 * w], 4);
		if (count)
			*count += (unsigned)__builtin_popcount(bits);
		if (bits)
			max = (int)(32 * w + 31 - (unsigned)__builtin_clz(bits));
	}
	return max;
}

int hv_vcpu_get_debug(struct hv_vcpu *v, struct hv_vcpu_debug *d)
{
	struct kvm_mp_state mp;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;

	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0 || ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0 ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	*d = (struct hv_vcpu_debug){ .mp_state = mp_state_name(mp.mp_state) };
	d->irr_max = lapic_max_vector(&lapic, 0x200, &d->irr_count);
	d->isr_max = lapic_max_vector(&lapic, 0x100, NULL);
	memcpy(&d->tpr, &lapic.regs[0x80], 4);
	d->inject_vector = ev.interrupt.injected ? ev.interrupt.nr : -1;
	d->nmi_pending = ev.nmi.pending || ev.nmi.injected;
	d->interrupt_shadow = ev.interrupt.shadow != 0;
	return 0;
}

static const char *const exit_names[HV_EXIT__COUNT] = {
	[HV_EXIT_IO] = "IO",
	[HV_EXIT_MMIO] = "MMIO",
	[HV_EXIT_HLT] = "HLT",
	[HV_EXIT_INTR] = "INTR",
	[HV_EXIT_SHUTDOWN] = "SHUTDOWN",
	[HV_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[HV_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[HV_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	[HV_EXIT_DEBUG] = "DEBUG",
	[HV_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[HV_EXIT_OTHER] = "OTHER",
};

const char *hv_exit_reason_name(enum hv_exit_reason r)
{
	return (unsigned)r < HV_EXIT__COUNT ? exit_names[r] : "?";
}

void hv_vcpu_set_immediate_exit(struct hv_vcpu *v, bool on)
{
	__atomic_store_n(&v->run->immediate_exit, on, __ATOMIC_SEQ_CST);
}

static void decode_internal(struct kvm_run *run, struct hv_exit *e)
{
	uint32_t n = run->internal.ndata;

	e->internal.suberror = run->internal.suberror;
	e->internal.emulation = run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION;
	if (n > ARRAY_SIZE(run->internal.data))
		n = ARRAY_SIZE(run->internal.data);
	e->internal.ndata = n;
	for (uint32_t i = 0; i < n && i < ARRAY_SIZE(e->internal.data); i++)
		e->internal.data[i] = run->internal.data[i];
#ifdef KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES
	if (e->internal.emulation &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		uint8_t len = run->emulation_failure.insn_size;

		if (len > sizeof(e->internal.insn))
			len = sizeof(e->internal.insn);
		memcpy(e->internal.insn, run->emulation_failure.insn_bytes, len);
		e->internal.insn_len = len;
	}
#endif
}

int hv_vcpu_run(struct hv_vcpu *v, struct hv_exit *e)
{
	struct kvm_run *run = v->run;

	memset(e, 0, sizeof(*e));
	v->ran = true;
	if (ioctl(v->fd, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			e->reason = HV_EXIT_INTR;
			e->raw_reason = KVM_EXIT_INTR;
			return 0;
		}
		return -errno;
	}
	e->raw_reason = run->exit_reason;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		e->reason = HV_EXIT_IO;
		e->io.port = run->io.port;
		e->io.size = run->io.size;
		e->io.is_write = run->io.direction == KVM_EXIT_IO_OUT;
		e->io.count = run->io.count;
		e->io.data = (uint8_t *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		e->reason = HV_EXIT_MMIO;
		e->mmio.gpa = run->mmio.phys_addr;
		e->mmio.len = run->mmio.len;
		e->mmio.is_write = run->mmio.is_write;
		e->mmio.data = run->mmio.data;
		break;
	case KVM_EXIT_HLT:
		e->reason = HV_EXIT_HLT;
		break;
	case KVM_EXIT_INTR:
		e->reason = HV_EXIT_INTR;
		break;
	case KVM_EXIT_SHUTDOWN:
		e->reason = HV_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		e->reason = HV_EXIT_INTERNAL_ERROR;
		decode_internal(run, e);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		e->reason = HV_EXIT_FAIL_ENTRY;
		e->fail_entry.hw_reason = run->fail_entry.hardware_entry_failure_reason;
		e->fail_entry.cpu = run->fail_entry.cpu;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		e->reason = HV_EXIT_SYSTEM_EVENT;
		e->system_event.type = run->system_event.type;
		break;
	case KVM_EXIT_DEBUG:
		e->reason = HV_EXIT_DEBUG;
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		e->reason = HV_EXIT_IRQ_WINDOW_OPEN;
		break;
	default:
		e->reason = HV_EXIT_OTHER;
		break;
	}
	return 0;
}

int hv_irqfd(struct hv *hv, int fd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd req = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	return ioctl(hv->vm_fd, KVM_IRQFD, &req) < 0 ? -errno : 0;
}

int hv_ioeventfd(struct hv *hv, uint64_t addr, uint32_t len, bool pio, int fd, bool assign)
{
	struct kvm_ioeventfd req = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(hv->vm_fd, KVM_IOEVENTFD, &req) < 0 ? -errno : 0;
}

int hv_ioeventfd_match(struct hv *hv, uint64_t addr, uint32_t len, bool pio, uint64_t datamatch,
		       int fd, bool assign)
{
	struct kvm_ioeventfd req = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(hv->vm_fd, KVM_IOEVENTFD, &req) < 0 ? -errno : 0;
}

/*
 * Rebuild and install the whole routing table: KVM_SET_GSI_ROUTING replaces
 * it, so it carries KVM's default irqchip routes (GSI n -> IOAPIC pin n, and
 * PIC pin n for n < 16) followed by every MSI route. Caller holds routes_lock.
 */
static int routes_commit(struct hv *hv)
{
	unsigned max = HV_IRQCHIP_GSIS + 16 + HV_MAX_MSI_ROUTES, n = 0;
	struct kvm_irq_routing *t = calloc(1, sizeof(*t) + max * sizeof(t->entries[0]));
	int ret;

	if (!t)
		return -ENOMEM;
	for (uint32_t gsi = 0; gsi < HV_IRQCHIP_GSIS; gsi++) {
		if (gsi < 16) {
			t->entries[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi,
				.type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
						       : KVM_IRQCHIP_PIC_SLAVE,
					       gsi % 8 },
			};
		}
		t->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { KVM_IRQCHIP_IOAPIC, gsi },
		};
	}
	for (unsigned i = 0; hv->msi && i < HV_MAX_MSI_ROUTES; i++) {
		if (!hv->msi[i].used)
			continue;
		t->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = HV_IRQCHIP_GSIS + i,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)hv->msi[i].addr,
				   .address_hi = (uint32_t)(hv->msi[i].addr >> 32),
				   .data = hv->msi[i].data },
		};
	}
	t->nr = n;
	ret = ioctl(hv->vm_fd, KVM_SET_GSI_ROUTING, t) < 0 ? -errno : 0;
	free(t);
	return ret;
}

int hv_msi_route_add(struct hv *hv, uint64_t addr, uint32_t data)
{
	int ret = -ENOSPC;

	pthread_mutex_lock(&hv->routes_lock);
	if (!hv->msi)
		hv->msi = calloc(HV_MAX_MSI_ROUTES, sizeof(*hv->msi));
	if (!hv->msi) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < HV_MAX_MSI_ROUTES; i++) {
		if (hv->msi[i].used)
			continue;
		hv->msi[i] = (struct hv_msi_route){ true, addr, data };
		ret = routes_commit(hv);
		if (ret)
			hv->msi[i].used = false;
		else
			ret = HV_IRQCHIP_GSIS + (int)i;
		break;
	}
out:
	pthread_mutex_unlock(&hv->routes_lock);
	return ret;
}

static struct hv_msi_route *msi_slot(struct hv *hv, uint32_t gsi)
{
	if (!hv->msi || gsi < HV_IRQCHIP_GSIS || gsi >= HV_IRQCHIP_GSIS + HV_MAX_MSI_ROUTES)
		return NULL;
	return hv->msi[gsi - HV_IRQCHIP_GSIS].used ? &hv->msi[gsi - HV_IRQCHIP_GSIS] : NULL;
}

int hv_msi_route_set(struct hv *hv, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct hv_msi_route *r, old;
	int ret = -ENOENT;

	pthread_mutex_lock(&hv->routes_lock);
	r = msi_slot(hv, gsi);
	if (r) {
		old = *r;
		r->addr = addr;
		r->data = data;
		ret = routes_commit(hv);
		if (ret)
			*r = old;
	}
	pthread_mutex_unlock(&hv->routes_lock);
	return ret;
}

int hv_msi_route_del(struct hv *hv, uint32_t gsi)
{
	struct hv_msi_route *r;
	int ret = -ENOENT;

	pthread_mutex_lock(&hv->routes_lock);
	r = msi_slot(hv, gsi);
	if (r) {
		r->used = false;
		ret = routes_commit(hv);
	}
	pthread_mutex_unlock(&hv->routes_lock);
	return ret;
}

int hv_signal_msi(struct hv *hv, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	int ret = ioctl(hv->vm_fd, KVM_SIGNAL_MSI, &msi);

	return ret < 0 ? -errno : 0;
}
