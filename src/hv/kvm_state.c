/*
 * kvm_state.c — the KVM backend of the complete vCPU and VM state
 * (hv_vcpu_get_full/set_full, hv_vm_get_full/set_full): with kvm.c the only
 * file that includes <linux/kvm.h> and issues KVM ioctls. It converts between
 * KVM's structs and the plain data of hv_state.h.
 *
 * The order of the set follows Documentation/virt/kvm/api.rst and QEMU's
 * kvm_arch_put_registers: CPUID before anything (KVM derives the guest's
 * XSAVE features, MSR validity and LAPIC model from it); the TSC frequency
 * before the TSC is written; sregs (CR0/CR4/EFER, the APIC base) before regs,
 * XSAVE and the LAPIC, whose format depends on the APIC mode; the LAPIC before
 * the MSRs, because KVM_SET_LAPIC restarts the LAPIC timer and so forgets
 * the TSC deadline; MSR_IA32_TSC before the other MSRs, kvmclock's MSRs and
 * the TSC deadline after it; vcpu events before the MP state (a latched INIT
 * or SMM decides which MP states KVM accepts); debug registers last.
 */
#include "hv/hv.h"
#include "hv/hv_state.h"
#include "hv/kvm_internal.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "util/compiler.h"

#ifndef KVM_CPUID_FLAG_SIGNIFICANT_INDEX
#define KVM_CPUID_FLAG_SIGNIFICANT_INDEX KVM_CPUID_FLAG_SIGNIFCANT_INDEX
#endif

_Static_assert(HV_EVENTS_VALID_NMI_PENDING == KVM_VCPUEVENT_VALID_NMI_PENDING, "events");
_Static_assert(HV_EVENTS_VALID_SIPI_VECTOR == KVM_VCPUEVENT_VALID_SIPI_VECTOR, "events");
_Static_assert(HV_EVENTS_VALID_SHADOW == KVM_VCPUEVENT_VALID_SHADOW, "events");
_Static_assert(HV_EVENTS_VALID_SMM == KVM_VCPUEVENT_VALID_SMM, "events");
_Static_assert(HV_EVENTS_VALID_PAYLOAD == KVM_VCPUEVENT_VALID_PAYLOAD, "events");
_Static_assert(HV_EVENTS_VALID_TRIPLE_FAULT == KVM_VCPUEVENT_VALID_TRIPLE_FAULT, "events");
_Static_assert(HV_CLOCK_TSC_STABLE == KVM_CLOCK_TSC_STABLE, "clock");
_Static_assert(HV_CLOCK_REALTIME == KVM_CLOCK_REALTIME, "clock");
_Static_assert(HV_CLOCK_HOST_TSC == KVM_CLOCK_HOST_TSC, "clock");
_Static_assert(HV_STATE_LAPIC_BYTES == KVM_APIC_REG_SIZE, "lapic");
_Static_assert(HV_STATE_MAX_XCRS == KVM_MAX_XCRS, "xcrs");
_Static_assert(HV_STATE_IOAPIC_PINS == KVM_IOAPIC_NUM_PINS, "ioapic");
_Static_assert(HV_STATE_XSAVE_MIN_BYTES == sizeof(struct kvm_xsave), "xsave");

/* MSR indices with an order constraint on set (Intel SDM vol. 4; KVM's kvm_para.h). */
#define MSR_TSC 0x10u
#define MSR_TSC_DEADLINE 0x6e0u
#define MSR_KVM_WALL_CLOCK 0x11u
#define MSR_KVM_SYSTEM_TIME 0x12u
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u

static bool has_cap(struct hv *hv, int cap)
{
	return ioctl(hv->kvm_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

/* The XSAVE area size KVM_GET_XSAVE2/KVM_SET_XSAVE use on this VM: >= 4096. */
static uint32_t xsave_bytes(struct hv *hv)
{
	int n = ioctl(hv->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return n > (int)sizeof(struct kvm_xsave) ? (uint32_t)n : sizeof(struct kvm_xsave);
}

/* KVM_GET_MSR_INDEX_LIST once per hv: MSRs to save, then the ones KVM emulates. */
static int msr_index_list(struct hv *hv, const uint32_t **list, uint32_t *nr)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l = NULL;
	int ret = 0;

	pthread_mutex_lock(&hv->state_lock);
	if (hv->msr_index_done)
		goto out;
	if (ioctl(hv->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG) {
		ret = -errno;
		goto out;
	}
	l = calloc(1, sizeof(*l) + (probe.nmsrs + 1) * sizeof(l->indices[0]));
	if (!l) {
		ret = -ENOMEM;
		goto out;
	}
	l->nmsrs = probe.nmsrs;
	if (ioctl(hv->kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		ret = -errno;
		goto out;
	}
	if (l->nmsrs > HV_STATE_MAX_MSRS)
		l->nmsrs = HV_STATE_MAX_MSRS; /* never seen: ~50 on current kernels */
	hv->msr_index = malloc((l->nmsrs + 1) * sizeof(uint32_t));
	if (!hv->msr_index) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(hv->msr_index, l->indices, l->nmsrs * sizeof(uint32_t));
	hv->nr_msr_index = l->nmsrs;
	hv->msr_index_done = true;
out:
	*list = hv->msr_index;
	*nr = hv->nr_msr_index;
	pthread_mutex_unlock(&hv->state_lock);
	free(l);
	return ret;
}

/*
 * Read every MSR of the index list. KVM_GET_MSRS stops at the first MSR it
 * cannot read (one this guest's CPUID does not have, e.g. Hyper-V's) and
 * returns how many it read: skip that one and go on with the rest.
 */
static int get_msrs(struct hv_vcpu *v, struct hv_vcpu_state *st)
{
	const uint32_t *idx;
	struct kvm_msrs *m;
	uint32_t n, done = 0;
	int ret = msr_index_list(v->hv, &idx, &n);

	if (ret)
		return ret;
	m = calloc(1, sizeof(*m) + (n + 1) * sizeof(m->entries[0]));
	st->msrs = calloc(n + 1, sizeof(*st->msrs));
	if (!m || !st->msrs) {
		free(m);
		return -ENOMEM;
	}
	while (done < n) {
		m->nmsrs = n - done;
		for (uint32_t i = 0; i < m->nmsrs; i++)
			m->entries[i] = (struct kvm_msr_entry){ .index = idx[done + i] };
		ret = ioctl(v->fd, KVM_GET_MSRS, m);
		if (ret < 0) {
			ret = -errno;
			free(m);
			return ret;
		}
		for (int i = 0; i < ret && (uint32_t)i < m->nmsrs; i++) {
			st->msrs[st->nr_msrs].index = m->entries[i].index;
			st->msrs[st->nr_msrs].value = m->entries[i].data;
			st->nr_msrs++;
		}
		done += (uint32_t)ret + 1; /* the unreadable one, when it stopped early */
	}
	free(m);
	return 0;
}

static void seg_in(const struct kvm_segment *k, struct x86_segment *s, uint8_t *unusable)
{
	kvm_seg_from_kvm(k, s);
	*unusable = k->unusable;
}

static void seg_out(const struct x86_segment *s, uint8_t unusable, struct kvm_segment *k)
{
	kvm_seg_to_kvm(s, k);
	k->unusable = unusable; /* as saved, not derived from present as at boot */
}

static void regs_in(const struct kvm_regs *r, const struct kvm_sregs *s, struct hv_vcpu_state *st)
{
	struct x86_cpu_state *c = &st->cpu;

	*c = (struct x86_cpu_state){
		.rax = r->rax,
		.rbx = r->rbx,
		.rcx = r->rcx,
		.rdx = r->rdx,
		.rsi = r->rsi,
		.rdi = r->rdi,
		.rsp = r->rsp,
		.rbp = r->rbp,
		.r8 = r->r8,
		.r9 = r->r9,
		.r10 = r->r10,
		.r11 = r->r11,
		.r12 = r->r12,
		.r13 = r->r13,
		.r14 = r->r14,
		.r15 = r->r15,
		.rip = r->rip,
		.rflags = r->rflags,
		.gdt = { s->gdt.base, s->gdt.limit },
		.idt = { s->idt.base, s->idt.limit },
		.cr0 = s->cr0,
		.cr2 = s->cr2,
		.cr3 = s->cr3,
		.cr4 = s->cr4,
		.efer = s->efer,
	};
	seg_in(&s->cs, &c->cs, &st->seg_unusable[0]);
	seg_in(&s->ds, &c->ds, &st->seg_unusable[1]);
	seg_in(&s->es, &c->es, &st->seg_unusable[2]);
	seg_in(&s->fs, &c->fs, &st->seg_unusable[3]);
	seg_in(&s->gs, &c->gs, &st->seg_unusable[4]);
	seg_in(&s->ss, &c->ss, &st->seg_unusable[5]);
	seg_in(&s->tr, &c->tr, &st->seg_unusable[6]);
	seg_in(&s->ldt, &c->ldt, &st->seg_unusable[7]);
	st->cr8 = s->cr8;
	st->apic_base = s->apic_base;
	for (unsigned i = 0; i < 4; i++)
		st->interrupt_bitmap[i] = s->interrupt_bitmap[i];
}

static void regs_out(const struct hv_vcpu_state *st, struct kvm_regs *r, struct kvm_sregs *s)
{
	const struct x86_cpu_state *c = &st->cpu;

	*r = (struct kvm_regs){
		.rax = c->rax,
		.rbx = c->rbx,
		.rcx = c->rcx,
		.rdx = c->rdx,
		.rsi = c->rsi,
		.rdi = c->rdi,
		.rsp = c->rsp,
		.rbp = c->rbp,
		.r8 = c->r8,
		.r9 = c->r9,
		.r10 = c->r10,
		.r11 = c->r11,
		.r12 = c->r12,
		.r13 = c->r13,
		.r14 = c->r14,
		.r15 = c->r15,
		.rip = c->rip,
		.rflags = c->rflags,
	};
	memset(s, 0, sizeof(*s));
	seg_out(&c->cs, st->seg_unusable[0], &s->cs);
	seg_out(&c->ds, st->seg_unusable[1], &s->ds);
	seg_out(&c->es, st->seg_unusable[2], &s->es);
	seg_out(&c->fs, st->seg_unusable[3], &s->fs);
	seg_out(&c->gs, st->seg_unusable[4], &s->gs);
	seg_out(&c->ss, st->seg_unusable[5], &s->ss);
	seg_out(&c->tr, st->seg_unusable[6], &s->tr);
	seg_out(&c->ldt, st->seg_unusable[7], &s->ldt);
	s->gdt.base = c->gdt.base;
	s->gdt.limit = c->gdt.limit;
	s->idt.base = c->idt.base;
	s->idt.limit = c->idt.limit;
	s->cr0 = c->cr0;
	s->cr2 = c->cr2;
	s->cr3 = c->cr3;
	s->cr4 = c->cr4;
	s->cr8 = st->cr8;
	s->efer = c->efer;
	s->apic_base = st->apic_base;
	for (unsigned i = 0; i < 4; i++)
		s->interrupt_bitmap[i] = st->interrupt_bitmap[i];
}

static void fpu_in(const struct kvm_fpu *k, struct hv_fpu *f)
{
	memcpy(f->fpr, k->fpr, sizeof(f->fpr));
	f->fcw = k->fcw;
	f->fsw = k->fsw;
	f->ftwx = k->ftwx;
	f->last_opcode = k->last_opcode;
	f->last_ip = k->last_ip;
	f->last_dp = k->last_dp;
	memcpy(f->xmm, k->xmm, sizeof(f->xmm));
	f->mxcsr = k->mxcsr;
}

static void fpu_out(const struct hv_fpu *f, struct kvm_fpu *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->fpr, f->fpr, sizeof(k->fpr));
	k->fcw = f->fcw;
	k->fsw = f->fsw;
	k->ftwx = f->ftwx;
	k->last_opcode = f->last_opcode;
	k->last_ip = f->last_ip;
	k->last_dp = f->last_dp;
	memcpy(k->xmm, f->xmm, sizeof(k->xmm));
	k->mxcsr = f->mxcsr;
}

static void events_in(const struct kvm_vcpu_events *k, struct hv_vcpu_events *e)
{
	*e = (struct hv_vcpu_events){
		.exception = { k->exception.injected, k->exception.nr, k->exception.has_error_code,
			       k->exception.pending, k->exception.error_code },
		.interrupt = { k->interrupt.injected, k->interrupt.nr, k->interrupt.soft,
			       k->interrupt.shadow },
		.nmi = { k->nmi.injected, k->nmi.pending, k->nmi.masked },
		.sipi_vector = k->sipi_vector,
		.flags = k->flags,
		.smi = { k->smi.smm, k->smi.pending, k->smi.smm_inside_nmi, k->smi.latched_init },
		.triple_fault_pending = k->triple_fault.pending,
		.exception_has_payload = k->exception_has_payload,
		.exception_payload = k->exception_payload,
	};
}

static void events_out(const struct hv_vcpu_events *e, struct kvm_vcpu_events *k)
{
	memset(k, 0, sizeof(*k));
	k->exception.injected = e->exception.injected;
	k->exception.nr = e->exception.nr;
	k->exception.has_error_code = e->exception.has_error_code;
	k->exception.pending = e->exception.pending;
	k->exception.error_code = e->exception.error_code;
	k->interrupt.injected = e->interrupt.injected;
	k->interrupt.nr = e->interrupt.nr;
	k->interrupt.soft = e->interrupt.soft;
	k->interrupt.shadow = e->interrupt.shadow;
	k->nmi.injected = e->nmi.injected;
	k->nmi.pending = e->nmi.pending;
	k->nmi.masked = e->nmi.masked;
	k->sipi_vector = e->sipi_vector;
	k->flags = e->flags; /* the same flags KVM gave: it reads the fields they validate */
	k->smi.smm = e->smi.smm;
	k->smi.pending = e->smi.pending;
	k->smi.smm_inside_nmi = e->smi.smm_inside_nmi;
	k->smi.latched_init = e->smi.latched_init;
	k->triple_fault.pending = e->triple_fault_pending;
	k->exception_has_payload = e->exception_has_payload;
	k->exception_payload = e->exception_payload;
}

static int get_xsave(struct hv_vcpu *v, struct hv_vcpu_state *st)
{
	struct hv *hv = v->hv;
	struct kvm_fpu fpu;
	uint32_t len;
	int ret;

	if (!has_cap(hv, KVM_CAP_XSAVE)) {
		if (ioctl(v->fd, KVM_GET_FPU, &fpu) < 0)
			return -errno;
		fpu_in(&fpu, &st->fpu);
		return 0;
	}
	len = xsave_bytes(hv);
	st->xsave = calloc(1, len);
	if (!st->xsave)
		return -ENOMEM;
	if (ioctl(hv->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2) > 0)
		ret = ioctl(v->fd, KVM_GET_XSAVE2, st->xsave);
	else
		ret = ioctl(v->fd, KVM_GET_XSAVE, st->xsave);
	if (ret < 0)
		return -errno;
	st->xsave_len = len;
	return 0;
}

static int get_cpuid(struct hv_vcpu *v, struct hv_vcpu_state *st)
{
	struct kvm_cpuid2 *c =
		calloc(1, sizeof(*c) + HV_STATE_MAX_CPUID * sizeof(struct kvm_cpuid_entry2));

	if (!c)
		return -ENOMEM;
	c->nent = HV_STATE_MAX_CPUID;
	if (ioctl(v->fd, KVM_GET_CPUID2, c) < 0) {
		int ret = -errno;

		free(c);
		return ret;
	}
	st->cpuid = calloc(c->nent + 1, sizeof(*st->cpuid));
	if (!st->cpuid) {
		free(c);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < c->nent && i < HV_STATE_MAX_CPUID; i++) {
		const struct kvm_cpuid_entry2 *k = &c->entries[i];

		st->cpuid[i] = (struct cpuid_entry){
			.function = k->function,
			.index = k->index,
			.flags = k->flags & KVM_CPUID_FLAG_SIGNIFICANT_INDEX
					 ? CPUID_FLAG_SIGNIFICANT_INDEX
					 : 0,
			.eax = k->eax,
			.ebx = k->ebx,
			.ecx = k->ecx,
			.edx = k->edx,
		};
		st->nr_cpuid = i + 1;
	}
	free(c);
	return 0;
}

int hv_vcpu_get_cpuid(struct hv_vcpu *v, struct hv_vcpu_state *st)
{
	return get_cpuid(v, st);
}

static int vcpu_get(struct hv_vcpu *v, struct hv_vcpu_state *st)
{
	struct hv *hv = v->hv;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events ev;
	int ret;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	regs_in(&regs, &sregs, st);
	ret = get_xsave(v, st);
	if (ret)
		return ret;
	if (has_cap(hv, KVM_CAP_XCRS)) {
		struct kvm_xcrs xcrs;

		if (ioctl(v->fd, KVM_GET_XCRS, &xcrs) < 0)
			return -errno;
		for (uint32_t i = 0; i < xcrs.nr_xcrs && i < HV_STATE_MAX_XCRS; i++) {
			st->xcrs[i] = (struct hv_xcr){ xcrs.xcrs[i].xcr, xcrs.xcrs[i].value };
			st->nr_xcrs = i + 1;
		}
	}
	ret = get_msrs(v, st);
	if (ret)
		return ret;
	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0 || ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0 ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	memcpy(st->lapic, lapic.regs, sizeof(st->lapic));
	st->mp_state = mp.mp_state;
	events_in(&ev, &st->events);
	if (has_cap(hv, KVM_CAP_DEBUGREGS)) {
		struct kvm_debugregs d;

		if (ioctl(v->fd, KVM_GET_DEBUGREGS, &d) < 0)
			return -errno;
		st->debugregs = (struct hv_debugregs){
			.db = { d.db[0], d.db[1], d.db[2], d.db[3] },
			.dr6 = d.dr6,
			.dr7 = d.dr7,
			.flags = d.flags,
		};
	}
	if (has_cap(hv, KVM_CAP_GET_TSC_KHZ)) {
		ret = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
		if (ret < 0)
			return -errno;
		st->tsc_khz = (uint32_t)ret;
	}
	return get_cpuid(v, st);
}

int hv_vcpu_get_full(struct hv_vcpu *v, struct hv_vcpu_state *st)
{
	int ret;

	memset(st, 0, sizeof(*st));
	ret = vcpu_get(v, st);
	if (ret)
		hv_vcpu_state_free(st);
	return ret;
}

/* Where an MSR goes on set: TSC first, kvmclock and the TSC deadline last, the rest between. */
static int msr_rank(uint32_t index)
{
	switch (index) {
	case MSR_TSC:
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK_NEW:
	case MSR_KVM_SYSTEM_TIME_NEW:
	case MSR_TSC_DEADLINE:
		return 2;
	default:
		return 1;
	}
}

static int set_msrs(struct hv_vcpu *v, const struct hv_vcpu_state *st, char *err, size_t err_len)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + (st->nr_msrs + 1) * sizeof(m->entries[0]));
	int ret;

	if (!m) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	for (int rank = 0; rank <= 2; rank++) {
		for (uint32_t i = 0; i < st->nr_msrs; i++) {
			if (msr_rank(st->msrs[i].index) != rank)
				continue;
			m->entries[m->nmsrs++] = (struct kvm_msr_entry){
				.index = st->msrs[i].index,
				.data = st->msrs[i].value,
			};
		}
	}
	ret = ioctl(v->fd, KVM_SET_MSRS, m);
	if (ret < 0) {
		ret = -errno;
		snprintf(err, err_len, "KVM_SET_MSRS: %s", strerror(-ret));
	} else if ((uint32_t)ret < m->nmsrs) {
		/* It stops at the first MSR it refuses. */
		snprintf(err, err_len, "KVM_SET_MSRS refused MSR %#x = %#llx",
			 m->entries[ret].index, (unsigned long long)m->entries[ret].data);
		ret = -EINVAL;
	} else {
		ret = 0;
	}
	free(m);
	return ret;
}

static int set_tsc_khz(struct hv_vcpu *v, uint32_t khz, char *err, size_t err_len)
{
	struct hv *hv = v->hv;
	int host;

	if (!khz || !has_cap(hv, KVM_CAP_GET_TSC_KHZ))
		return 0;
	host = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (host < 0) {
		snprintf(err, err_len, "KVM_GET_TSC_KHZ: %s", strerror(errno));
		return -errno;
	}
	if ((uint32_t)host == khz)
		return 0;
	if (!has_cap(hv, KVM_CAP_TSC_CONTROL)) {
		snprintf(err, err_len,
			 "the saved TSC runs at %u kHz, this host's at %d kHz, and its KVM cannot "
			 "scale the TSC",
			 khz, host);
		return -ENOTSUP;
	}
	if (ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0) {
		int ret = -errno;

		snprintf(err, err_len, "KVM_SET_TSC_KHZ %u kHz (host %d kHz): %s", khz, host,
			 strerror(-ret));
		return ret;
	}
	return 0;
}

static int set_xsave(struct hv_vcpu *v, const struct hv_vcpu_state *st, char *err, size_t err_len)
{
	struct hv *hv = v->hv;
	uint32_t len;
	uint8_t *buf;
	int ret;

	if (!st->xsave_len) {
		struct kvm_fpu fpu;

		fpu_out(&st->fpu, &fpu);
		if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
			snprintf(err, err_len, "KVM_SET_FPU: %s", strerror(errno));
			return -errno;
		}
		return 0;
	}
	if (!has_cap(hv, KVM_CAP_XSAVE)) {
		snprintf(err, err_len, "the state has an XSAVE area; this host's KVM has no XSAVE");
		return -ENOTSUP;
	}
	/* KVM_SET_XSAVE reads xsave_bytes(): pad a smaller area; a larger one only holds zeros. */
	len = xsave_bytes(hv);
	for (uint32_t i = len; i < st->xsave_len; i++) {
		if (st->xsave[i]) {
			snprintf(err, err_len,
				 "the XSAVE area of %u bytes holds state beyond this host's %u",
				 st->xsave_len, len);
			return -ENOTSUP;
		}
	}
	buf = calloc(1, len);
	if (!buf) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	memcpy(buf, st->xsave, st->xsave_len < len ? st->xsave_len : len);
	ret = ioctl(v->fd, KVM_SET_XSAVE, buf) < 0 ? -errno : 0;
	free(buf);
	if (ret)
		snprintf(err, err_len, "KVM_SET_XSAVE: %s", strerror(-ret));
	return ret;
}

/* KVM's refusal of @what as the one line in @err. */
static int refused(const char *what, char *err, size_t err_len)
{
	int ret = -errno;

	snprintf(err, err_len, "%s: %s", what, strerror(-ret));
	return ret;
}

int hv_vcpu_set_full(struct hv_vcpu *v, const struct hv_vcpu_state *st, char *err, size_t err_len)
{
	struct hv *hv = v->hv;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp = { .mp_state = st->mp_state };
	struct kvm_vcpu_events ev;
	int ret;

	/*
	 * A vCPU that ran keeps its CPUID: since Linux 5.16 KVM refuses to change it after
	 * KVM_RUN, and some kernels refuse even the same entries (their runtime bits differ).
	 */
	if (st->nr_cpuid && !v->ran) {
		ret = hv_vcpu_set_cpuid(v, st->cpuid, st->nr_cpuid);
		if (ret) {
			snprintf(err, err_len, "KVM_SET_CPUID2: %s", strerror(-ret));
			return ret;
		}
	}
	ret = set_tsc_khz(v, st->tsc_khz, err, err_len);
	if (ret)
		return ret;
	regs_out(st, &regs, &sregs);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return refused("KVM_SET_SREGS", err, err_len);
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return refused("KVM_SET_REGS", err, err_len);
	ret = set_xsave(v, st, err, err_len);
	if (ret)
		return ret;
	if (st->nr_xcrs) {
		struct kvm_xcrs xcrs = { .nr_xcrs = st->nr_xcrs };

		if (!has_cap(hv, KVM_CAP_XCRS)) {
			snprintf(err, err_len, "the state has XCRs; this host's KVM has no XCRS");
			return -ENOTSUP;
		}
		for (uint32_t i = 0; i < st->nr_xcrs && i < HV_STATE_MAX_XCRS; i++)
			xcrs.xcrs[i] = (struct kvm_xcr){ .xcr = st->xcrs[i].index,
							 .value = st->xcrs[i].value };
		if (ioctl(v->fd, KVM_SET_XCRS, &xcrs) < 0)
			return refused("KVM_SET_XCRS", err, err_len);
	}
	memcpy(lapic.regs, st->lapic, sizeof(lapic.regs));
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		return refused("KVM_SET_LAPIC", err, err_len);
	ret = set_msrs(v, st, err, err_len);
	if (ret)
		return ret;
	events_out(&st->events, &ev);
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return refused("KVM_SET_VCPU_EVENTS", err, err_len);
	if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
		return refused("KVM_SET_MP_STATE", err, err_len);
	if (has_cap(hv, KVM_CAP_DEBUGREGS)) {
		struct kvm_debugregs d = {
			.db = { st->debugregs.db[0], st->debugregs.db[1], st->debugregs.db[2],
				st->debugregs.db[3] },
			.dr6 = st->debugregs.dr6,
			.dr7 = st->debugregs.dr7,
			.flags = st->debugregs.flags,
		};

		if (ioctl(v->fd, KVM_SET_DEBUGREGS, &d) < 0)
			return refused("KVM_SET_DEBUGREGS", err, err_len);
	}
	return 0;
}

static void pic_in(const struct kvm_pic_state *k, struct hv_pic *p)
{
	*p = (struct hv_pic){
		.last_irr = k->last_irr,
		.irr = k->irr,
		.imr = k->imr,
		.isr = k->isr,
		.priority_add = k->priority_add,
		.irq_base = k->irq_base,
		.read_reg_select = k->read_reg_select,
		.poll = k->poll,
		.special_mask = k->special_mask,
		.init_state = k->init_state,
		.auto_eoi = k->auto_eoi,
		.rotate_on_auto_eoi = k->rotate_on_auto_eoi,
		.special_fully_nested_mode = k->special_fully_nested_mode,
		.init4 = k->init4,
		.elcr = k->elcr,
		.elcr_mask = k->elcr_mask,
	};
}

static void pic_out(const struct hv_pic *p, struct kvm_pic_state *k)
{
	*k = (struct kvm_pic_state){
		.last_irr = p->last_irr,
		.irr = p->irr,
		.imr = p->imr,
		.isr = p->isr,
		.priority_add = p->priority_add,
		.irq_base = p->irq_base,
		.read_reg_select = p->read_reg_select,
		.poll = p->poll,
		.special_mask = p->special_mask,
		.init_state = p->init_state,
		.auto_eoi = p->auto_eoi,
		.rotate_on_auto_eoi = p->rotate_on_auto_eoi,
		.special_fully_nested_mode = p->special_fully_nested_mode,
		.init4 = p->init4,
		.elcr = p->elcr,
		.elcr_mask = p->elcr_mask,
	};
}

static void pit_in(const struct kvm_pit_channel_state *k, struct hv_pit_channel *c)
{
	*c = (struct hv_pit_channel){
		.count = k->count,
		.latched_count = k->latched_count,
		.count_latched = k->count_latched,
		.status_latched = k->status_latched,
		.status = k->status,
		.read_state = k->read_state,
		.write_state = k->write_state,
		.write_latch = k->write_latch,
		.rw_mode = k->rw_mode,
		.mode = k->mode,
		.bcd = k->bcd,
		.gate = k->gate,
		.count_load_time = k->count_load_time,
	};
}

static void pit_out(const struct hv_pit_channel *c, struct kvm_pit_channel_state *k)
{
	*k = (struct kvm_pit_channel_state){
		.count = c->count,
		.latched_count = c->latched_count,
		.count_latched = c->count_latched,
		.status_latched = c->status_latched,
		.status = c->status,
		.read_state = c->read_state,
		.write_state = c->write_state,
		.write_latch = c->write_latch,
		.rw_mode = c->rw_mode,
		.mode = c->mode,
		.bcd = c->bcd,
		.gate = c->gate,
		.count_load_time = c->count_load_time,
	};
}

static uint64_t realtime_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int hv_vm_get_full(struct hv *hv, struct hv_vm_state *st)
{
	struct kvm_clock_data clock = { 0 };
	struct kvm_irqchip chip[3] = { { .chip_id = KVM_IRQCHIP_PIC_MASTER },
				       { .chip_id = KVM_IRQCHIP_PIC_SLAVE },
				       { .chip_id = KVM_IRQCHIP_IOAPIC } };
	struct kvm_pit_state2 pit;
	const struct kvm_ioapic_state *io = &chip[2].chip.ioapic;

	memset(st, 0, sizeof(*st));
	if (ioctl(hv->vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return -errno;
	st->realtime_ns = realtime_now_ns();
	st->clock = (struct hv_clock){
		.clock_ns = clock.clock,
		.flags = clock.flags & HV_CLOCK_FLAGS_MASK,
		.realtime_ns = clock.flags & KVM_CLOCK_REALTIME ? clock.realtime : 0,
		.host_tsc = clock.flags & KVM_CLOCK_HOST_TSC ? clock.host_tsc : 0,
	};
	for (unsigned i = 0; i < 3; i++) {
		if (ioctl(hv->vm_fd, KVM_GET_IRQCHIP, &chip[i]) < 0)
			return -errno;
	}
	pic_in(&chip[0].chip.pic, &st->pic[0]);
	pic_in(&chip[1].chip.pic, &st->pic[1]);
	st->ioapic.base_address = io->base_address;
	st->ioapic.ioregsel = io->ioregsel;
	st->ioapic.id = io->id;
	st->ioapic.irr = io->irr;
	for (unsigned i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		st->ioapic.redir[i] = io->redirtbl[i].bits;
	if (ioctl(hv->vm_fd, KVM_GET_PIT2, &pit) < 0)
		return -errno;
	for (unsigned i = 0; i < 3; i++)
		pit_in(&pit.channels[i], &st->pit[i]);
	st->pit_flags = pit.flags;
	return 0;
}

/*
 * The KVM clock to install. KVM_CLOCK_REALTIME lets the kernel add the
 * elapsed wall-clock time itself, at the moment of the set; without it (or
 * on a kernel that did not give it at the get) vmon adds it from the stamp.
 * A wall clock that went backwards adds nothing.
 */
static void clock_out(const struct hv_vm_state *st, bool clock_realtime, struct kvm_clock_data *k)
{
	memset(k, 0, sizeof(*k));
	k->clock = st->clock.clock_ns;
	if (!clock_realtime)
		return;
	if (st->clock.flags & HV_CLOCK_REALTIME) {
		k->flags = KVM_CLOCK_REALTIME;
		k->realtime = st->clock.realtime_ns;
	} else {
		uint64_t now = realtime_now_ns();

		if (now > st->realtime_ns)
			k->clock += now - st->realtime_ns;
	}
}

int hv_vm_set_full(struct hv *hv, const struct hv_vm_state *st, bool clock_realtime, char *err,
		   size_t err_len)
{
	struct kvm_irqchip chip[3] = { { .chip_id = KVM_IRQCHIP_PIC_MASTER },
				       { .chip_id = KVM_IRQCHIP_PIC_SLAVE },
				       { .chip_id = KVM_IRQCHIP_IOAPIC } };
	struct kvm_ioapic_state *io = &chip[2].chip.ioapic;
	struct kvm_pit_state2 pit = { .flags = st->pit_flags };
	struct kvm_clock_data clock;

	pic_out(&st->pic[0], &chip[0].chip.pic);
	pic_out(&st->pic[1], &chip[1].chip.pic);
	io->base_address = st->ioapic.base_address;
	io->ioregsel = st->ioapic.ioregsel;
	io->id = st->ioapic.id;
	io->irr = st->ioapic.irr;
	for (unsigned i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		io->redirtbl[i].bits = st->ioapic.redir[i];
	for (unsigned i = 0; i < 3; i++) {
		static const char *const names[] = { "PIC master", "PIC slave", "IOAPIC" };

		if (ioctl(hv->vm_fd, KVM_SET_IRQCHIP, &chip[i]) < 0) {
			int ret = -errno;

			snprintf(err, err_len, "KVM_SET_IRQCHIP (%s): %s", names[i],
				 strerror(-ret));
			return ret;
		}
	}
	for (unsigned i = 0; i < 3; i++)
		pit_out(&st->pit[i], &pit.channels[i]);
	if (ioctl(hv->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return refused("KVM_SET_PIT2", err, err_len);
	/* Last, so that the clock moves on as late as possible. */
	clock_out(st, clock_realtime, &clock);
	if (ioctl(hv->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return refused("KVM_SET_CLOCK", err, err_len);
	return 0;
}
