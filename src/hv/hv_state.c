/* hv_state.c — the "vcpu" and "kvm_vm" sections: save and checked load of hv_state.h's structs. */
#include "hv/hv_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * "vcpu" payload, version 1, every integer little-endian:
 *   GPRs rax rbx rcx rdx rsi rdi rsp rbp r8-r15, rip, rflags    u64 x 18
 *   8 segments cs ds es fs gs ss tr ldt, each:
 *     base u64, limit u32, selector u16, type present dpl db s l g avl unusable u8
 *   gdt, idt: base u64, limit u16
 *   cr0 cr2 cr3 cr4 cr8 efer apic_base u64, interrupt_bitmap u64 x 4
 *   xsave_len u32; xsave_len bytes, or (xsave_len 0) the FPU:
 *     fpr[8][16], fcw u16, fsw u16, ftwx u8, last_opcode u16, last_ip u64,
 *     last_dp u64, xmm[16][16], mxcsr u32
 *   nr_xcrs u32, nr_xcrs x {index u32, value u64}
 *   nr_msrs u32, nr_msrs x {index u32, value u64}
 *   lapic[1024], mp_state u32
 *   events: exception injected nr has_error_code pending u8, error_code u32,
 *     interrupt injected nr soft shadow u8, nmi injected pending masked u8,
 *     sipi_vector u32, flags u32, smi smm pending smm_inside_nmi latched_init u8,
 *     triple_fault_pending u8, exception_has_payload u8, exception_payload u64
 *   debugregs db0-3 dr6 dr7 flags u64, tsc_khz u32
 *   nr_cpuid u32, nr_cpuid x {function index flags eax ebx ecx edx u32}
 */

static void put_seg(struct state_writer *w, const struct x86_segment *s, uint8_t unusable)
{
	state_put_u64(w, s->base);
	state_put_u32(w, s->limit);
	state_put_u16(w, s->selector);
	state_put_u8(w, s->type);
	state_put_u8(w, s->present);
	state_put_u8(w, s->dpl);
	state_put_u8(w, s->db);
	state_put_u8(w, s->s);
	state_put_u8(w, s->l);
	state_put_u8(w, s->g);
	state_put_u8(w, s->avl);
	state_put_u8(w, unusable);
}

static void put_fpu(struct state_writer *w, const struct hv_fpu *f)
{
	state_put_bytes(w, f->fpr, sizeof(f->fpr));
	state_put_u16(w, f->fcw);
	state_put_u16(w, f->fsw);
	state_put_u8(w, f->ftwx);
	state_put_u16(w, f->last_opcode);
	state_put_u64(w, f->last_ip);
	state_put_u64(w, f->last_dp);
	state_put_bytes(w, f->xmm, sizeof(f->xmm));
	state_put_u32(w, f->mxcsr);
}

static void put_events(struct state_writer *w, const struct hv_vcpu_events *e)
{
	state_put_u8(w, e->exception.injected);
	state_put_u8(w, e->exception.nr);
	state_put_u8(w, e->exception.has_error_code);
	state_put_u8(w, e->exception.pending);
	state_put_u32(w, e->exception.error_code);
	state_put_u8(w, e->interrupt.injected);
	state_put_u8(w, e->interrupt.nr);
	state_put_u8(w, e->interrupt.soft);
	state_put_u8(w, e->interrupt.shadow);
	state_put_u8(w, e->nmi.injected);
	state_put_u8(w, e->nmi.pending);
	state_put_u8(w, e->nmi.masked);
	state_put_u32(w, e->sipi_vector);
	state_put_u32(w, e->flags);
	state_put_u8(w, e->smi.smm);
	state_put_u8(w, e->smi.pending);
	state_put_u8(w, e->smi.smm_inside_nmi);
	state_put_u8(w, e->smi.latched_init);
	state_put_u8(w, e->triple_fault_pending);
	state_put_u8(w, e->exception_has_payload);
	state_put_u64(w, e->exception_payload);
}

void hv_vcpu_state_save(const struct hv_vcpu_state *st, uint32_t index, struct state_writer *w)
{
	const struct x86_cpu_state *c = &st->cpu;
	const uint64_t gprs[18] = { c->rax, c->rbx, c->rcx, c->rdx, c->rsi, c->rdi,
				    c->rsp, c->rbp, c->r8,  c->r9,  c->r10, c->r11,
				    c->r12, c->r13, c->r14, c->r15, c->rip, c->rflags };
	const struct x86_segment *segs[8] = { &c->cs, &c->ds, &c->es, &c->fs,
					      &c->gs, &c->ss, &c->tr, &c->ldt };

	state_begin(w, HV_VCPU_STATE_TAG, index, HV_VCPU_STATE_VERSION);
	for (unsigned i = 0; i < 18; i++)
		state_put_u64(w, gprs[i]);
	for (unsigned i = 0; i < 8; i++)
		put_seg(w, segs[i], st->seg_unusable[i]);
	state_put_u64(w, c->gdt.base);
	state_put_u16(w, c->gdt.limit);
	state_put_u64(w, c->idt.base);
	state_put_u16(w, c->idt.limit);
	state_put_u64(w, c->cr0);
	state_put_u64(w, c->cr2);
	state_put_u64(w, c->cr3);
	state_put_u64(w, c->cr4);
	state_put_u64(w, st->cr8);
	state_put_u64(w, c->efer);
	state_put_u64(w, st->apic_base);
	for (unsigned i = 0; i < 4; i++)
		state_put_u64(w, st->interrupt_bitmap[i]);

	state_put_u32(w, st->xsave_len);
	if (st->xsave_len)
		state_put_bytes(w, st->xsave, st->xsave_len);
	else
		put_fpu(w, &st->fpu);

	state_put_u32(w, st->nr_xcrs < HV_STATE_MAX_XCRS ? st->nr_xcrs : HV_STATE_MAX_XCRS);
	for (unsigned i = 0; i < st->nr_xcrs && i < HV_STATE_MAX_XCRS; i++) {
		state_put_u32(w, st->xcrs[i].index);
		state_put_u64(w, st->xcrs[i].value);
	}
	state_put_u32(w, st->nr_msrs);
	for (unsigned i = 0; i < st->nr_msrs; i++) {
		state_put_u32(w, st->msrs[i].index);
		state_put_u64(w, st->msrs[i].value);
	}
	state_put_bytes(w, st->lapic, sizeof(st->lapic));
	state_put_u32(w, st->mp_state);
	put_events(w, &st->events);
	for (unsigned i = 0; i < 4; i++)
		state_put_u64(w, st->debugregs.db[i]);
	state_put_u64(w, st->debugregs.dr6);
	state_put_u64(w, st->debugregs.dr7);
	state_put_u64(w, st->debugregs.flags);
	state_put_u32(w, st->tsc_khz);
	state_put_u32(w, st->nr_cpuid);
	for (unsigned i = 0; i < st->nr_cpuid; i++) {
		const struct cpuid_entry *e = &st->cpuid[i];

		state_put_u32(w, e->function);
		state_put_u32(w, e->index);
		state_put_u32(w, e->flags);
		state_put_u32(w, e->eax);
		state_put_u32(w, e->ebx);
		state_put_u32(w, e->ecx);
		state_put_u32(w, e->edx);
	}
	state_end(w);
}

void hv_vcpu_state_free(struct hv_vcpu_state *st)
{
	free(st->xsave);
	free(st->msrs);
	free(st->cpuid);
	memset(st, 0, sizeof(*st));
}

/* Read one segment; false when an attribute is out of its range (type 4 bits, dpl 2, flags 1). */
static bool get_seg(struct state_reader *r, struct x86_segment *s, uint8_t *unusable)
{
	s->base = state_get_u64(r);
	s->limit = state_get_u32(r);
	s->selector = state_get_u16(r);
	s->type = state_get_u8(r);
	s->present = state_get_u8(r);
	s->dpl = state_get_u8(r);
	s->db = state_get_u8(r);
	s->s = state_get_u8(r);
	s->l = state_get_u8(r);
	s->g = state_get_u8(r);
	s->avl = state_get_u8(r);
	*unusable = state_get_u8(r);
	return s->type <= 15 && s->dpl <= 3 &&
	       (s->present | s->db | s->s | s->l | s->g | s->avl | *unusable) <= 1;
}

static void get_fpu(struct state_reader *r, struct hv_fpu *f)
{
	state_get_bytes(r, f->fpr, sizeof(f->fpr));
	f->fcw = state_get_u16(r);
	f->fsw = state_get_u16(r);
	f->ftwx = state_get_u8(r);
	f->last_opcode = state_get_u16(r);
	f->last_ip = state_get_u64(r);
	f->last_dp = state_get_u64(r);
	state_get_bytes(r, f->xmm, sizeof(f->xmm));
	f->mxcsr = state_get_u32(r);
}

static bool get_events(struct state_reader *r, struct hv_vcpu_events *e)
{
	e->exception.injected = state_get_u8(r);
	e->exception.nr = state_get_u8(r);
	e->exception.has_error_code = state_get_u8(r);
	e->exception.pending = state_get_u8(r);
	e->exception.error_code = state_get_u32(r);
	e->interrupt.injected = state_get_u8(r);
	e->interrupt.nr = state_get_u8(r);
	e->interrupt.soft = state_get_u8(r);
	e->interrupt.shadow = state_get_u8(r);
	e->nmi.injected = state_get_u8(r);
	e->nmi.pending = state_get_u8(r);
	e->nmi.masked = state_get_u8(r);
	e->sipi_vector = state_get_u32(r);
	e->flags = state_get_u32(r);
	e->smi.smm = state_get_u8(r);
	e->smi.pending = state_get_u8(r);
	e->smi.smm_inside_nmi = state_get_u8(r);
	e->smi.latched_init = state_get_u8(r);
	e->triple_fault_pending = state_get_u8(r);
	e->exception_has_payload = state_get_u8(r);
	e->exception_payload = state_get_u64(r);
	/* Exceptions are vectors 0-31; the shadow is KVM_X86_SHADOW_INT_MOV_SS | _STI. */
	return !(e->flags & ~HV_EVENTS_VALID_MASK) && e->exception.nr < 32 &&
	       e->interrupt.shadow <= 3 &&
	       (e->exception.injected | e->exception.has_error_code | e->exception.pending |
		e->interrupt.injected | e->interrupt.soft | e->nmi.injected | e->nmi.pending |
		e->nmi.masked | e->smi.smm | e->smi.pending | e->smi.smm_inside_nmi |
		e->smi.latched_init | e->triple_fault_pending | e->exception_has_payload) <= 1;
}

/*
 * Read a count and check it against @max before anything is allocated for
 * it, and against what is left of the payload (@entry_bytes each), so a
 * forged count neither allocates much nor reads past the end.
 */
static bool get_count(struct state_reader *r, uint32_t *n, uint32_t max, size_t entry_bytes)
{
	*n = state_get_u32(r);
	if (state_error(r) || *n > max)
		return false;
	return (size_t)*n * entry_bytes <= r->len - r->pos;
}

static int vcpu_load_v1(struct state_reader *r, struct hv_vcpu_state *st)
{
	struct x86_cpu_state *c = &st->cpu;
	uint64_t *gprs[18] = { &c->rax, &c->rbx, &c->rcx, &c->rdx, &c->rsi, &c->rdi,
			       &c->rsp, &c->rbp, &c->r8,  &c->r9,  &c->r10, &c->r11,
			       &c->r12, &c->r13, &c->r14, &c->r15, &c->rip, &c->rflags };
	struct x86_segment *segs[8] = { &c->cs, &c->ds, &c->es, &c->fs,
					&c->gs, &c->ss, &c->tr, &c->ldt };
	bool ok = true;

	for (unsigned i = 0; i < 18; i++)
		*gprs[i] = state_get_u64(r);
	for (unsigned i = 0; i < 8; i++)
		ok &= get_seg(r, segs[i], &st->seg_unusable[i]);
	c->gdt.base = state_get_u64(r);
	c->gdt.limit = state_get_u16(r);
	c->idt.base = state_get_u64(r);
	c->idt.limit = state_get_u16(r);
	c->cr0 = state_get_u64(r);
	c->cr2 = state_get_u64(r);
	c->cr3 = state_get_u64(r);
	c->cr4 = state_get_u64(r);
	st->cr8 = state_get_u64(r);
	c->efer = state_get_u64(r);
	st->apic_base = state_get_u64(r);
	for (unsigned i = 0; i < 4; i++)
		st->interrupt_bitmap[i] = state_get_u64(r);
	if (!ok || st->cr8 > 15)
		return -EINVAL;

	st->xsave_len = state_get_u32(r);
	if (state_error(r))
		return -EINVAL;
	if (st->xsave_len) {
		if (st->xsave_len < HV_STATE_XSAVE_MIN_BYTES ||
		    st->xsave_len > HV_STATE_XSAVE_MAX_BYTES || st->xsave_len % 4 ||
		    st->xsave_len > r->len - r->pos)
			return -EINVAL;
		st->xsave = malloc(st->xsave_len);
		if (!st->xsave)
			return -ENOMEM;
		state_get_bytes(r, st->xsave, st->xsave_len);
	} else {
		get_fpu(r, &st->fpu);
	}

	if (!get_count(r, &st->nr_xcrs, HV_STATE_MAX_XCRS, 12))
		return -EINVAL;
	for (unsigned i = 0; i < st->nr_xcrs; i++) {
		st->xcrs[i].index = state_get_u32(r);
		st->xcrs[i].value = state_get_u64(r);
	}
	if (!get_count(r, &st->nr_msrs, HV_STATE_MAX_MSRS, 12))
		return -EINVAL;
	st->msrs = calloc(st->nr_msrs ? st->nr_msrs : 1, sizeof(*st->msrs));
	if (!st->msrs)
		return -ENOMEM;
	for (unsigned i = 0; i < st->nr_msrs; i++) {
		st->msrs[i].index = state_get_u32(r);
		st->msrs[i].value = state_get_u64(r);
	}
	state_get_bytes(r, st->lapic, sizeof(st->lapic));
	st->mp_state = state_get_u32(r);
	if (!get_events(r, &st->events) || st->mp_state > HV_STATE_MAX_MP_STATE)
		return -EINVAL;
	for (unsigned i = 0; i < 4; i++)
		st->debugregs.db[i] = state_get_u64(r);
	st->debugregs.dr6 = state_get_u64(r);
	st->debugregs.dr7 = state_get_u64(r);
	st->debugregs.flags = state_get_u64(r);
	st->tsc_khz = state_get_u32(r);
	if (!get_count(r, &st->nr_cpuid, HV_STATE_MAX_CPUID, 28))
		return -EINVAL;
	st->cpuid = calloc(st->nr_cpuid ? st->nr_cpuid : 1, sizeof(*st->cpuid));
	if (!st->cpuid)
		return -ENOMEM;
	for (unsigned i = 0; i < st->nr_cpuid; i++) {
		struct cpuid_entry *e = &st->cpuid[i];

		e->function = state_get_u32(r);
		e->index = state_get_u32(r);
		e->flags = state_get_u32(r);
		e->eax = state_get_u32(r);
		e->ebx = state_get_u32(r);
		e->ecx = state_get_u32(r);
		e->edx = state_get_u32(r);
		if (e->flags & ~CPUID_FLAG_SIGNIFICANT_INDEX)
			return -EINVAL;
	}
	/* KVM_SET_DEBUGREGS refuses any flags. */
	if (st->debugregs.flags)
		return -EINVAL;
	return state_done(r) ? -EINVAL : 0;
}

int hv_vcpu_state_load(struct state_reader *payload, uint32_t version, struct hv_vcpu_state *st)
{
	int ret = -EINVAL;

	memset(st, 0, sizeof(*st));
	if (version == 1)
		ret = vcpu_load_v1(payload, st);
	if (ret)
		hv_vcpu_state_free(st);
	return ret;
}

/*
 * "kvm_vm" payload, version 1, little-endian:
 *   clock_ns u64, clock flags u32, clock realtime_ns u64, host_tsc u64, realtime_ns u64
 *   PIC master, slave: last_irr irr imr isr priority_add irq_base read_reg_select
 *     poll special_mask init_state auto_eoi rotate_on_auto_eoi
 *     special_fully_nested_mode init4 elcr elcr_mask u8
 *   IOAPIC: base_address u64, ioregsel id irr u32, redir u64 x 24
 *   PIT channels 0-2: count u32, latched_count u16, count_latched status_latched
 *     status read_state write_state write_latch rw_mode mode bcd gate u8,
 *     count_load_time s64; then pit_flags u32
 */

static void put_pic(struct state_writer *w, const struct hv_pic *p)
{
	const uint8_t v[16] = {
		p->last_irr,
		p->irr,
		p->imr,
		p->isr,
		p->priority_add,
		p->irq_base,
		p->read_reg_select,
		p->poll,
		p->special_mask,
		p->init_state,
		p->auto_eoi,
		p->rotate_on_auto_eoi,
		p->special_fully_nested_mode,
		p->init4,
		p->elcr,
		p->elcr_mask,
	};

	for (unsigned i = 0; i < sizeof(v); i++)
		state_put_u8(w, v[i]);
}

static void put_pit_channel(struct state_writer *w, const struct hv_pit_channel *c)
{
	state_put_u32(w, c->count);
	state_put_u16(w, c->latched_count);
	state_put_u8(w, c->count_latched);
	state_put_u8(w, c->status_latched);
	state_put_u8(w, c->status);
	state_put_u8(w, c->read_state);
	state_put_u8(w, c->write_state);
	state_put_u8(w, c->write_latch);
	state_put_u8(w, c->rw_mode);
	state_put_u8(w, c->mode);
	state_put_u8(w, c->bcd);
	state_put_u8(w, c->gate);
	state_put_u64(w, (uint64_t)c->count_load_time);
}

void hv_vm_state_save(const struct hv_vm_state *st, struct state_writer *w)
{
	state_begin(w, HV_VM_STATE_TAG, 0, HV_VM_STATE_VERSION);
	state_put_u64(w, st->clock.clock_ns);
	state_put_u32(w, st->clock.flags);
	state_put_u64(w, st->clock.realtime_ns);
	state_put_u64(w, st->clock.host_tsc);
	state_put_u64(w, st->realtime_ns);
	put_pic(w, &st->pic[0]);
	put_pic(w, &st->pic[1]);
	state_put_u64(w, st->ioapic.base_address);
	state_put_u32(w, st->ioapic.ioregsel);
	state_put_u32(w, st->ioapic.id);
	state_put_u32(w, st->ioapic.irr);
	for (unsigned i = 0; i < HV_STATE_IOAPIC_PINS; i++)
		state_put_u64(w, st->ioapic.redir[i]);
	for (unsigned i = 0; i < 3; i++)
		put_pit_channel(w, &st->pit[i]);
	state_put_u32(w, st->pit_flags);
	state_end(w);
}

/*
 * One 8259A as KVM's model can leave it (arch/x86/kvm/i8259.c): the vector
 * base is 8-aligned, the rotation priority 0-7, the ICW sequence state 0-3,
 * the mode bits 0 or 1.
 */
static bool get_pic(struct state_reader *r, struct hv_pic *p)
{
	p->last_irr = state_get_u8(r);
	p->irr = state_get_u8(r);
	p->imr = state_get_u8(r);
	p->isr = state_get_u8(r);
	p->priority_add = state_get_u8(r);
	p->irq_base = state_get_u8(r);
	p->read_reg_select = state_get_u8(r);
	p->poll = state_get_u8(r);
	p->special_mask = state_get_u8(r);
	p->init_state = state_get_u8(r);
	p->auto_eoi = state_get_u8(r);
	p->rotate_on_auto_eoi = state_get_u8(r);
	p->special_fully_nested_mode = state_get_u8(r);
	p->init4 = state_get_u8(r);
	p->elcr = state_get_u8(r);
	p->elcr_mask = state_get_u8(r);
	return !(p->irq_base & 7) && p->priority_add <= 7 && p->init_state <= 3 &&
	       (p->read_reg_select | p->poll | p->special_mask | p->auto_eoi |
		p->rotate_on_auto_eoi | p->special_fully_nested_mode | p->init4) <= 1;
}

/*
 * One 8254 channel (arch/x86/kvm/i8254.c): mode 0-5, or 0xff for a channel
 * never programmed; rw_mode 0-3 (0 before the first control word);
 * read/write states RW_STATE_LSB..RW_STATE_WORD1 (1-4) or 0; a count of at
 * most 65536 (a written 0).
 */
static bool get_pit_channel(struct state_reader *r, struct hv_pit_channel *c)
{
	c->count = state_get_u32(r);
	c->latched_count = state_get_u16(r);
	c->count_latched = state_get_u8(r);
	c->status_latched = state_get_u8(r);
	c->status = state_get_u8(r);
	c->read_state = state_get_u8(r);
	c->write_state = state_get_u8(r);
	c->write_latch = state_get_u8(r);
	c->rw_mode = state_get_u8(r);
	c->mode = state_get_u8(r);
	c->bcd = state_get_u8(r);
	c->gate = state_get_u8(r);
	c->count_load_time = (int64_t)state_get_u64(r);
	return c->count <= 0x10000 && (c->mode <= 5 || c->mode == 0xff) && c->rw_mode <= 3 &&
	       c->read_state <= 4 && c->write_state <= 4 && c->count_latched <= 4 &&
	       (c->status_latched | c->bcd | c->gate) <= 1;
}

static int vm_load_v1(struct state_reader *r, struct hv_vm_state *st)
{
	bool ok = true;

	st->clock.clock_ns = state_get_u64(r);
	st->clock.flags = state_get_u32(r);
	st->clock.realtime_ns = state_get_u64(r);
	st->clock.host_tsc = state_get_u64(r);
	st->realtime_ns = state_get_u64(r);
	ok &= !(st->clock.flags & ~HV_CLOCK_FLAGS_MASK);
	ok &= get_pic(r, &st->pic[0]);
	ok &= get_pic(r, &st->pic[1]);
	st->ioapic.base_address = state_get_u64(r);
	st->ioapic.ioregsel = state_get_u32(r);
	st->ioapic.id = state_get_u32(r);
	st->ioapic.irr = state_get_u32(r);
	for (unsigned i = 0; i < HV_STATE_IOAPIC_PINS; i++)
		st->ioapic.redir[i] = state_get_u64(r);
	/* IOREGSEL is 8 bits, the ID 4, one IRR bit per pin (arch/x86/kvm/ioapic.c). */
	ok &= st->ioapic.ioregsel <= 0xff && st->ioapic.id <= 15 &&
	      !(st->ioapic.irr >> HV_STATE_IOAPIC_PINS);
	for (unsigned i = 0; i < 3; i++)
		ok &= get_pit_channel(r, &st->pit[i]);
	st->pit_flags = state_get_u32(r);
	ok &= !(st->pit_flags & ~3u); /* KVM_PIT_FLAGS_HPET_LEGACY | _SPEAKER_DATA_ON */
	return ok && !state_done(r) ? 0 : -EINVAL;
}

int hv_vm_state_load(struct state_reader *payload, uint32_t version, struct hv_vm_state *st)
{
	int ret = -EINVAL;

	memset(st, 0, sizeof(*st));
	if (version == 1)
		ret = vm_load_v1(payload, st);
	if (ret)
		memset(st, 0, sizeof(*st));
	return ret;
}
