/*
 * test_hv_state.c — the "vcpu" and "kvm_vm" sections: every field survives a
 * save and a load, and a load refuses truncated, over-long, oversized,
 * out-of-range and wrong-version payloads. No KVM needed.
 */
#include <errno.h>
#include <stdlib.h>

#include "harness.h"
#include "hv/hv_state.h"
#include "util/compiler.h"

/* Distinct values: each call a new one, masked to what the field may hold. */
static uint64_t next_val;

static uint64_t v64(void)
{
	next_val++;
	return 0x0101010101010101ull * (next_val & 0xff) ^ (next_val << 40) ^ next_val;
}

static void fill_seg(struct x86_segment *s, uint8_t *unusable, unsigned i)
{
	s->base = v64();
	s->limit = (uint32_t)v64();
	s->selector = (uint16_t)v64();
	s->type = (uint8_t)(i + 3);
	s->present = i & 1;
	s->dpl = (uint8_t)(i & 3);
	s->db = (i >> 1) & 1;
	s->s = (i >> 2) & 1;
	s->l = !(i & 1);
	s->g = !((i >> 1) & 1);
	s->avl = !((i >> 2) & 1);
	*unusable = (i + 1) & 1;
}

/* A state with every field set, within the ranges a load accepts. */
static void fill_vcpu(struct hv_vcpu_state *st, uint32_t xsave_len, uint32_t nr_msrs,
		      uint32_t nr_cpuid)
{
	struct x86_cpu_state *c = &st->cpu;
	uint64_t *gprs[18] = { &c->rax, &c->rbx, &c->rcx, &c->rdx, &c->rsi, &c->rdi,
			       &c->rsp, &c->rbp, &c->r8,  &c->r9,  &c->r10, &c->r11,
			       &c->r12, &c->r13, &c->r14, &c->r15, &c->rip, &c->rflags };
	struct x86_segment *segs[8] = { &c->cs, &c->ds, &c->es, &c->fs,
					&c->gs, &c->ss, &c->tr, &c->ldt };

	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < 18; i++)
		*gprs[i] = v64();
	for (unsigned i = 0; i < 8; i++)
		fill_seg(segs[i], &st->seg_unusable[i], i);
	c->gdt = (struct x86_dtable){ v64(), (uint16_t)v64() };
	c->idt = (struct x86_dtable){ v64(), (uint16_t)v64() };
	c->cr0 = v64();
	c->cr2 = v64();
	c->cr3 = v64();
	c->cr4 = v64();
	c->efer = v64();
	st->cr8 = 0xb;
	st->apic_base = v64();
	for (unsigned i = 0; i < 4; i++)
		st->interrupt_bitmap[i] = v64();
	st->xsave_len = xsave_len;
	if (xsave_len) {
		st->xsave = malloc(xsave_len);
		for (uint32_t i = 0; i < xsave_len; i++)
			st->xsave[i] = (uint8_t)(i * 7 + 1);
	} else {
		for (unsigned i = 0; i < 8; i++)
			for (unsigned j = 0; j < 16; j++)
				st->fpu.fpr[i][j] = (uint8_t)v64();
		st->fpu.fcw = (uint16_t)v64();
		st->fpu.fsw = (uint16_t)v64();
		st->fpu.ftwx = (uint8_t)v64();
		st->fpu.last_opcode = (uint16_t)v64();
		st->fpu.last_ip = v64();
		st->fpu.last_dp = v64();
		for (unsigned i = 0; i < 16; i++)
			for (unsigned j = 0; j < 16; j++)
				st->fpu.xmm[i][j] = (uint8_t)v64();
		st->fpu.mxcsr = (uint32_t)v64();
	}
	st->nr_xcrs = 3;
	for (unsigned i = 0; i < 3; i++)
		st->xcrs[i] = (struct hv_xcr){ (uint32_t)v64(), v64() };
	st->nr_msrs = nr_msrs;
	st->msrs = calloc(nr_msrs + 1, sizeof(*st->msrs));
	for (uint32_t i = 0; i < nr_msrs; i++)
		st->msrs[i] = (struct x86_msr){ (uint32_t)v64(), v64() };
	for (unsigned i = 0; i < HV_STATE_LAPIC_BYTES; i++)
		st->lapic[i] = (uint8_t)(i * 13 + 5);
	st->mp_state = 3;
	st->events = (struct hv_vcpu_events){
		.exception = { 1, 14, 1, 0, (uint32_t)v64() },
		.interrupt = { 1, 0x30, 0, 2 },
		.nmi = { 0, 1, 1 },
		.sipi_vector = (uint32_t)v64(),
		.flags = HV_EVENTS_VALID_NMI_PENDING | HV_EVENTS_VALID_SHADOW | HV_EVENTS_VALID_SMM,
		.smi = { 1, 0, 1, 0 },
		.triple_fault_pending = 1,
		.exception_has_payload = 1,
		.exception_payload = v64(),
	};
	for (unsigned i = 0; i < 4; i++)
		st->debugregs.db[i] = v64();
	st->debugregs.dr6 = v64();
	st->debugregs.dr7 = v64();
	st->tsc_khz = (uint32_t)v64();
	st->nr_cpuid = nr_cpuid;
	st->cpuid = calloc(nr_cpuid + 1, sizeof(*st->cpuid));
	for (uint32_t i = 0; i < nr_cpuid; i++)
		st->cpuid[i] = (struct cpuid_entry){
			(uint32_t)v64(), (uint32_t)v64(), i & CPUID_FLAG_SIGNIFICANT_INDEX,
			(uint32_t)v64(), (uint32_t)v64(), (uint32_t)v64(),
			(uint32_t)v64()
		};
}

static void check_seg(const struct x86_segment *a, const struct x86_segment *b)
{
	CHECK_EQ(a->base, b->base);
	CHECK_EQ(a->limit, b->limit);
	CHECK_EQ(a->selector, b->selector);
	CHECK_EQ(a->type, b->type);
	CHECK_EQ(a->present, b->present);
	CHECK_EQ(a->dpl, b->dpl);
	CHECK_EQ(a->db, b->db);
	CHECK_EQ(a->s, b->s);
	CHECK_EQ(a->l, b->l);
	CHECK_EQ(a->g, b->g);
	CHECK_EQ(a->avl, b->avl);
}

static void check_vcpu_equal(const struct hv_vcpu_state *a, const struct hv_vcpu_state *b)
{
	const struct x86_cpu_state *x = &a->cpu, *y = &b->cpu;

	CHECK_EQ(x->rax, y->rax);
	CHECK_EQ(x->rbx, y->rbx);
	CHECK_EQ(x->rcx, y->rcx);
	CHECK_EQ(x->rdx, y->rdx);
	CHECK_EQ(x->rsi, y->rsi);
	CHECK_EQ(x->rdi, y->rdi);
	CHECK_EQ(x->rsp, y->rsp);
	CHECK_EQ(x->rbp, y->rbp);
	CHECK_EQ(x->r8, y->r8);
	CHECK_EQ(x->r9, y->r9);
	CHECK_EQ(x->r10, y->r10);
	CHECK_EQ(x->r11, y->r11);
	CHECK_EQ(x->r12, y->r12);
	CHECK_EQ(x->r13, y->r13);
	CHECK_EQ(x->r14, y->r14);
	CHECK_EQ(x->r15, y->r15);
	CHECK_EQ(x->rip, y->rip);
	CHECK_EQ(x->rflags, y->rflags);
	check_seg(&x->cs, &y->cs);
	check_seg(&x->ds, &y->ds);
	check_seg(&x->es, &y->es);
	check_seg(&x->fs, &y->fs);
	check_seg(&x->gs, &y->gs);
	check_seg(&x->ss, &y->ss);
	check_seg(&x->tr, &y->tr);
	check_seg(&x->ldt, &y->ldt);
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(a->seg_unusable[i], b->seg_unusable[i]);
	CHECK_EQ(x->gdt.base, y->gdt.base);
	CHECK_EQ(x->gdt.limit, y->gdt.limit);
	CHECK_EQ(x->idt.base, y->idt.base);
	CHECK_EQ(x->idt.limit, y->idt.limit);
	CHECK_EQ(x->cr0, y->cr0);
	CHECK_EQ(x->cr2, y->cr2);
	CHECK_EQ(x->cr3, y->cr3);
	CHECK_EQ(x->cr4, y->cr4);
	CHECK_EQ(x->efer, y->efer);
	CHECK_EQ(a->cr8, b->cr8);
	CHECK_EQ(a->apic_base, b->apic_base);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(a->interrupt_bitmap[i], b->interrupt_bitmap[i]);
	CHECK_EQ(a->xsave_len, b->xsave_len);
	if (a->xsave_len == b->xsave_len && a->xsave_len)
		CHECK(memcmp(a->xsave, b->xsave, a->xsave_len) == 0);
	if (!a->xsave_len && !b->xsave_len) {
		CHECK(memcmp(a->fpu.fpr, b->fpu.fpr, sizeof(a->fpu.fpr)) == 0);
		CHECK_EQ(a->fpu.fcw, b->fpu.fcw);
		CHECK_EQ(a->fpu.fsw, b->fpu.fsw);
		CHECK_EQ(a->fpu.ftwx, b->fpu.ftwx);
		CHECK_EQ(a->fpu.last_opcode, b->fpu.last_opcode);
		CHECK_EQ(a->fpu.last_ip, b->fpu.last_ip);
		CHECK_EQ(a->fpu.last_dp, b->fpu.last_dp);
		CHECK(memcmp(a->fpu.xmm, b->fpu.xmm, sizeof(a->fpu.xmm)) == 0);
		CHECK_EQ(a->fpu.mxcsr, b->fpu.mxcsr);
	}
	CHECK_EQ(a->nr_xcrs, b->nr_xcrs);
	for (unsigned i = 0; i < a->nr_xcrs && i < b->nr_xcrs; i++) {
		CHECK_EQ(a->xcrs[i].index, b->xcrs[i].index);
		CHECK_EQ(a->xcrs[i].value, b->xcrs[i].value);
	}
	CHECK_EQ(a->nr_msrs, b->nr_msrs);
	for (unsigned i = 0; i < a->nr_msrs && i < b->nr_msrs; i++) {
		CHECK_EQ(a->msrs[i].index, b->msrs[i].index);
		CHECK_EQ(a->msrs[i].value, b->msrs[i].value);
	}
	CHECK(memcmp(a->lapic, b->lapic, sizeof(a->lapic)) == 0);
	CHECK_EQ(a->mp_state, b->mp_state);
	CHECK_EQ(a->events.exception.injected, b->events.exception.injected);
	CHECK_EQ(a->events.exception.nr, b->events.exception.nr);
	CHECK_EQ(a->events.exception.has_error_code, b->events.exception.has_error_code);
	CHECK_EQ(a->events.exception.pending, b->events.exception.pending);
	CHECK_EQ(a->events.exception.error_code, b->events.exception.error_code);
	CHECK_EQ(a->events.interrupt.injected, b->events.interrupt.injected);
	CHECK_EQ(a->events.interrupt.nr, b->events.interrupt.nr);
	CHECK_EQ(a->events.interrupt.soft, b->events.interrupt.soft);
	CHECK_EQ(a->events.interrupt.shadow, b->events.interrupt.shadow);
	CHECK_EQ(a->events.nmi.injected, b->events.nmi.injected);
	CHECK_EQ(a->events.nmi.pending, b->events.nmi.pending);
	CHECK_EQ(a->events.nmi.masked, b->events.nmi.masked);
	CHECK_EQ(a->events.sipi_vector, b->events.sipi_vector);
	CHECK_EQ(a->events.flags, b->events.flags);
	CHECK_EQ(a->events.smi.smm, b->events.smi.smm);
	CHECK_EQ(a->events.smi.pending, b->events.smi.pending);
	CHECK_EQ(a->events.smi.smm_inside_nmi, b->events.smi.smm_inside_nmi);
	CHECK_EQ(a->events.smi.latched_init, b->events.smi.latched_init);
	CHECK_EQ(a->events.triple_fault_pending, b->events.triple_fault_pending);
	CHECK_EQ(a->events.exception_has_payload, b->events.exception_has_payload);
	CHECK_EQ(a->events.exception_payload, b->events.exception_payload);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(a->debugregs.db[i], b->debugregs.db[i]);
	CHECK_EQ(a->debugregs.dr6, b->debugregs.dr6);
	CHECK_EQ(a->debugregs.dr7, b->debugregs.dr7);
	CHECK_EQ(a->debugregs.flags, b->debugregs.flags);
	CHECK_EQ(a->tsc_khz, b->tsc_khz);
	CHECK_EQ(a->nr_cpuid, b->nr_cpuid);
	for (unsigned i = 0; i < a->nr_cpuid && i < b->nr_cpuid; i++) {
		CHECK_EQ(a->cpuid[i].function, b->cpuid[i].function);
		CHECK_EQ(a->cpuid[i].index, b->cpuid[i].index);
		CHECK_EQ(a->cpuid[i].flags, b->cpuid[i].flags);
		CHECK_EQ(a->cpuid[i].eax, b->cpuid[i].eax);
		CHECK_EQ(a->cpuid[i].ebx, b->cpuid[i].ebx);
		CHECK_EQ(a->cpuid[i].ecx, b->cpuid[i].ecx);
		CHECK_EQ(a->cpuid[i].edx, b->cpuid[i].edx);
	}
}

/* The payload of the one section in @w, copied to a buffer of exactly @len (+@extra zero) bytes
 * so that ASan sees any read past it. */
struct payload {
	uint8_t *buf;
	size_t len;
	uint32_t version;
};

static struct payload section_payload(const struct state_writer *w, const char *tag,
				      uint32_t instance)
{
	struct state_reader r;
	struct state_section s;
	struct payload p = { 0 };

	state_reader_init(&r, w->buf, w->len);
	REQUIRE(state_next_section(&r, &s) == 1);
	CHECK(strcmp(s.tag, tag) == 0);
	CHECK_EQ(s.instance, instance);
	p.version = s.version;
	p.len = s.payload.len;
	p.buf = malloc(p.len + 1);
	memcpy(p.buf, s.payload.buf, p.len);
	p.buf[p.len] = 0;
	CHECK_EQ(state_next_section(&r, &s), 0);
	return p;
}

static int load_vcpu(const uint8_t *buf, size_t len, uint32_t version, struct hv_vcpu_state *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct state_reader r;
	int ret;

	memcpy(copy, buf, len);
	state_reader_init(&r, copy, len);
	ret = hv_vcpu_state_load(&r, version, out);
	free(copy);
	return ret;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Payload offsets (the layout comment in hv_state.c). */
#define OFF_XSAVE_LEN (18 * 8 + 8 * 23 + 2 * 10 + 7 * 8 + 4 * 8)

static size_t off_nr_xcrs(const struct hv_vcpu_state *st)
{
	return OFF_XSAVE_LEN + 4 +
	       (st->xsave_len ? st->xsave_len : 128 + 2 + 2 + 1 + 2 + 16 + 256 + 4);
}

static size_t off_nr_msrs(const struct hv_vcpu_state *st)
{
	return off_nr_xcrs(st) + 4 + 12 * st->nr_xcrs;
}

TEST(hv_vcpu_state_round_trips_every_field)
{
	struct hv_vcpu_state a, b;
	struct state_writer w;
	struct payload p;

	fill_vcpu(&a, 4096 + 64, 41, 30);
	state_writer_init(&w);
	hv_vcpu_state_save(&a, 3, &w);
	REQUIRE(state_writer_error(&w) == 0);
	p = section_payload(&w, "vcpu", 3);
	CHECK_EQ(p.version, HV_VCPU_STATE_VERSION);
	REQUIRE(load_vcpu(p.buf, p.len, p.version, &b) == 0);
	check_vcpu_equal(&a, &b);
	CHECK(b.xsave != a.xsave && b.msrs != a.msrs && b.cpuid != a.cpuid);
	hv_vcpu_state_free(&a);
	hv_vcpu_state_free(&b);
	free(p.buf);
	state_writer_free(&w);
}

TEST(hv_vcpu_state_round_trips_the_fpu_without_xsave)
{
	struct hv_vcpu_state a, b;
	struct state_writer w;
	struct payload p;

	fill_vcpu(&a, 0, 0, 0);
	state_writer_init(&w);
	hv_vcpu_state_save(&a, 0, &w);
	p = section_payload(&w, "vcpu", 0);
	REQUIRE(load_vcpu(p.buf, p.len, p.version, &b) == 0);
	check_vcpu_equal(&a, &b);
	CHECK(b.xsave == NULL);
	hv_vcpu_state_free(&a);
	hv_vcpu_state_free(&b);
	free(p.buf);
	state_writer_free(&w);
}

TEST(hv_vcpu_state_load_refuses_every_truncation_and_a_byte_too_many)
{
	struct hv_vcpu_state a, b;
	struct state_writer w;
	struct payload p;
	unsigned refused = 0;

	fill_vcpu(&a, 4096, 5, 4);
	state_writer_init(&w);
	hv_vcpu_state_save(&a, 0, &w);
	p = section_payload(&w, "vcpu", 0);
	for (size_t cut = 0; cut < p.len; cut++) {
		memset(&b, 0xa5, sizeof(b));
		if (load_vcpu(p.buf, cut, p.version, &b) == -EINVAL)
			refused++;
		CHECK(b.xsave == NULL && b.msrs == NULL && b.cpuid == NULL); /* freed and zeroed */
	}
	CHECK_EQ(refused, p.len);
	CHECK_EQ(load_vcpu(p.buf, p.len + 1, p.version, &b), -EINVAL);
	CHECK_EQ(load_vcpu(p.buf, p.len, p.version, &b), 0);
	hv_vcpu_state_free(&b);
	hv_vcpu_state_free(&a);
	free(p.buf);
	state_writer_free(&w);
}

TEST(hv_vcpu_state_load_refuses_a_wrong_version)
{
	struct hv_vcpu_state a, b;
	struct state_writer w;
	struct payload p;

	fill_vcpu(&a, 4096, 2, 2);
	state_writer_init(&w);
	hv_vcpu_state_save(&a, 0, &w);
	p = section_payload(&w, "vcpu", 0);
	CHECK_EQ(load_vcpu(p.buf, p.len, 0, &b), -EINVAL);
	CHECK_EQ(load_vcpu(p.buf, p.len, HV_VCPU_STATE_VERSION + 1, &b), -EINVAL);
	CHECK_EQ(load_vcpu(p.buf, p.len, 0xffffffffu, &b), -EINVAL);
	hv_vcpu_state_free(&a);
	free(p.buf);
	state_writer_free(&w);
}

/* Saved whole, a state with one entry more than the maximum is refused for its count alone. */
TEST(hv_vcpu_state_load_refuses_oversized_counts)
{
	static const uint32_t bad_xsave[] = { 4,	   100,	       4095,
					      4097,	   4098,       HV_STATE_XSAVE_MAX_BYTES + 4,
					      0x80000000u, 0xffffffffu };
	struct hv_vcpu_state a, b;
	struct state_writer w;
	struct payload p;

	fill_vcpu(&a, 0, HV_STATE_MAX_MSRS + 1, 1);
	state_writer_init(&w);
	hv_vcpu_state_save(&a, 0, &w);
	p = section_payload(&w, "vcpu", 0);
	CHECK_EQ(load_vcpu(p.buf, p.len, p.version, &b), -EINVAL);
	hv_vcpu_state_free(&a);
	free(p.buf);
	state_writer_free(&w);

	fill_vcpu(&a, 0, 1, HV_STATE_MAX_CPUID + 1);
	state_writer_init(&w);
	hv_vcpu_state_save(&a, 0, &w);
	p = section_payload(&w, "vcpu", 0);
	CHECK_EQ(load_vcpu(p.buf, p.len, p.version, &b), -EINVAL);
	hv_vcpu_state_free(&a);
	free(p.buf);
	state_writer_free(&w);

	/* The maxima themselves load. */
	fill_vcpu(&a, HV_STATE_XSAVE_MAX_BYTES, HV_STATE_MAX_MSRS, HV_STATE_MAX_CPUID);
	state_writer_init(&w);
	hv_vcpu_state_save(&a, 0, &w);
	p = section_payload(&w, "vcpu", 0);
	CHECK_EQ(load_vcpu(p.buf, p.len, p.version, &b), 0);
	hv_vcpu_state_free(&b);
	hv_vcpu_state_free(&a);
	free(p.buf);
	state_writer_free(&w);

	/* Forged counts in a valid payload: XSAVE size, XCRs, MSRs. */
	fill_vcpu(&a, 4096, 4, 4);
	state_writer_init(&w);
	hv_vcpu_state_save(&a, 0, &w);
	p = section_payload(&w, "vcpu", 0);
	for (unsigned i = 0; i < ARRAY_SIZE(bad_xsave); i++) {
		uint8_t *q = malloc(p.len);

		memcpy(q, p.buf, p.len);
		put_le32(q + OFF_XSAVE_LEN, bad_xsave[i]);
		CHECK_EQ(load_vcpu(q, p.len, p.version, &b), -EINVAL);
		free(q);
	}
	{
		uint8_t *q = malloc(p.len);

		memcpy(q, p.buf, p.len);
		put_le32(q + off_nr_xcrs(&a), HV_STATE_MAX_XCRS + 1);
		CHECK_EQ(load_vcpu(q, p.len, p.version, &b), -EINVAL);
		memcpy(q, p.buf, p.len);
		put_le32(q + off_nr_msrs(&a), 0xffffffffu);
		CHECK_EQ(load_vcpu(q, p.len, p.version, &b), -EINVAL);
		memcpy(q, p.buf, p.len);
		put_le32(q + off_nr_msrs(&a), a.nr_msrs + 1); /* below the maximum, past the end */
		CHECK_EQ(load_vcpu(q, p.len, p.version, &b), -EINVAL);
		memcpy(q, p.buf, p.len);
		put_le32(q + p.len - 4 - 28 * a.nr_cpuid, HV_STATE_MAX_CPUID + 1);
		CHECK_EQ(load_vcpu(q, p.len, p.version, &b), -EINVAL);
		memcpy(q, p.buf, p.len);
		CHECK_EQ(load_vcpu(q, p.len, p.version, &b), 0);
		hv_vcpu_state_free(&b);
		free(q);
	}
	hv_vcpu_state_free(&a);
	free(p.buf);
	state_writer_free(&w);
}

TEST(hv_vcpu_state_load_refuses_out_of_range_fields)
{
	struct hv_vcpu_state a, b;
	struct state_writer w;
	struct payload p;

	for (int c = 0; c < 7; c++) {
		fill_vcpu(&a, 4096, 2, 2);
		switch (c) {
		case 0:
			a.cpu.cs.type = 16;
			break;
		case 1:
			a.cpu.ss.dpl = 4;
			break;
		case 2:
			a.seg_unusable[3] = 2;
			break;
		case 3:
			a.mp_state = HV_STATE_MAX_MP_STATE + 1;
			break;
		case 4:
			a.events.flags = 0x40;
			break;
		case 5:
			a.cpuid[1].flags = 2;
			break;
		default:
			a.debugregs.flags = 1;
			break;
		}
		state_writer_init(&w);
		hv_vcpu_state_save(&a, 0, &w);
		p = section_payload(&w, "vcpu", 0);
		CHECK_EQ(load_vcpu(p.buf, p.len, p.version, &b), -EINVAL);
		hv_vcpu_state_free(&a);
		free(p.buf);
		state_writer_free(&w);
	}
}

TEST(hv_vcpu_state_free_is_safe_on_a_zeroed_state)
{
	struct hv_vcpu_state st;

	memset(&st, 0, sizeof(st));
	hv_vcpu_state_free(&st);
	hv_vcpu_state_free(&st);
	CHECK(st.msrs == NULL);
}

static void fill_pic(struct hv_pic *p, unsigned k)
{
	*p = (struct hv_pic){
		.last_irr = (uint8_t)v64(),
		.irr = (uint8_t)v64(),
		.imr = (uint8_t)v64(),
		.isr = (uint8_t)v64(),
		.priority_add = (uint8_t)(5 + k),
		.irq_base = (uint8_t)(0x20 + 0x48 * k),
		.read_reg_select = 1,
		.poll = (uint8_t)k,
		.special_mask = 1,
		.init_state = (uint8_t)(2 + k),
		.auto_eoi = (uint8_t)!k,
		.rotate_on_auto_eoi = (uint8_t)k,
		.special_fully_nested_mode = 1,
		.init4 = (uint8_t)!k,
		.elcr = (uint8_t)v64(),
		.elcr_mask = (uint8_t)v64(),
	};
}

static void fill_vm(struct hv_vm_state *st)
{
	memset(st, 0, sizeof(*st));
	st->clock =
		(struct hv_clock){ v64(), HV_CLOCK_REALTIME | HV_CLOCK_TSC_STABLE, v64(), v64() };
	st->realtime_ns = v64();
	fill_pic(&st->pic[0], 0);
	fill_pic(&st->pic[1], 1);
	st->ioapic.base_address = v64();
	st->ioapic.ioregsel = 0x3e;
	st->ioapic.id = 9;
	st->ioapic.irr = 0xabcdef;
	for (unsigned i = 0; i < HV_STATE_IOAPIC_PINS; i++)
		st->ioapic.redir[i] = v64();
	for (unsigned i = 0; i < 3; i++) {
		st->pit[i] = (struct hv_pit_channel){
			.count = 0x10000 - i,
			.latched_count = (uint16_t)v64(),
			.count_latched = (uint8_t)(1 + i),
			.status_latched = (uint8_t)(i & 1),
			.status = (uint8_t)v64(),
			.read_state = (uint8_t)(2 + i),
			.write_state = (uint8_t)(4 - i),
			.write_latch = (uint8_t)v64(),
			.rw_mode = (uint8_t)(3 - i),
			.mode = i == 2 ? 0xff : (uint8_t)(4 + i),
			.bcd = (uint8_t) !(i & 1),
			.gate = (uint8_t)(i & 1),
			.count_load_time = -(int64_t)(v64() >> 2),
		};
	}
	st->pit_flags = 2;
}

static void check_vm_equal(const struct hv_vm_state *a, const struct hv_vm_state *b)
{
	CHECK_EQ(a->clock.clock_ns, b->clock.clock_ns);
	CHECK_EQ(a->clock.flags, b->clock.flags);
	CHECK_EQ(a->clock.realtime_ns, b->clock.realtime_ns);
	CHECK_EQ(a->clock.host_tsc, b->clock.host_tsc);
	CHECK_EQ(a->realtime_ns, b->realtime_ns);
	for (unsigned k = 0; k < 2; k++) {
		const struct hv_pic *x = &a->pic[k], *y = &b->pic[k];

		CHECK_EQ(x->last_irr, y->last_irr);
		CHECK_EQ(x->irr, y->irr);
		CHECK_EQ(x->imr, y->imr);
		CHECK_EQ(x->isr, y->isr);
		CHECK_EQ(x->priority_add, y->priority_add);
		CHECK_EQ(x->irq_base, y->irq_base);
		CHECK_EQ(x->read_reg_select, y->read_reg_select);
		CHECK_EQ(x->poll, y->poll);
		CHECK_EQ(x->special_mask, y->special_mask);
		CHECK_EQ(x->init_state, y->init_state);
		CHECK_EQ(x->auto_eoi, y->auto_eoi);
		CHECK_EQ(x->rotate_on_auto_eoi, y->rotate_on_auto_eoi);
		CHECK_EQ(x->special_fully_nested_mode, y->special_fully_nested_mode);
		CHECK_EQ(x->init4, y->init4);
		CHECK_EQ(x->elcr, y->elcr);
		CHECK_EQ(x->elcr_mask, y->elcr_mask);
	}
	CHECK_EQ(a->ioapic.base_address, b->ioapic.base_address);
	CHECK_EQ(a->ioapic.ioregsel, b->ioapic.ioregsel);
	CHECK_EQ(a->ioapic.id, b->ioapic.id);
	CHECK_EQ(a->ioapic.irr, b->ioapic.irr);
	for (unsigned i = 0; i < HV_STATE_IOAPIC_PINS; i++)
		CHECK_EQ(a->ioapic.redir[i], b->ioapic.redir[i]);
	for (unsigned i = 0; i < 3; i++) {
		const struct hv_pit_channel *x = &a->pit[i], *y = &b->pit[i];

		CHECK_EQ(x->count, y->count);
		CHECK_EQ(x->latched_count, y->latched_count);
		CHECK_EQ(x->count_latched, y->count_latched);
		CHECK_EQ(x->status_latched, y->status_latched);
		CHECK_EQ(x->status, y->status);
		CHECK_EQ(x->read_state, y->read_state);
		CHECK_EQ(x->write_state, y->write_state);
		CHECK_EQ(x->write_latch, y->write_latch);
		CHECK_EQ(x->rw_mode, y->rw_mode);
		CHECK_EQ(x->mode, y->mode);
		CHECK_EQ(x->bcd, y->bcd);
		CHECK_EQ(x->gate, y->gate);
		CHECK_EQ(x->count_load_time, y->count_load_time);
	}
	CHECK_EQ(a->pit_flags, b->pit_flags);
}

static int load_vm(const uint8_t *buf, size_t len, uint32_t version, struct hv_vm_state *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct state_reader r;
	int ret;

	memcpy(copy, buf, len);
	state_reader_init(&r, copy, len);
	ret = hv_vm_state_load(&r, version, out);
	free(copy);
	return ret;
}

static struct payload save_vm(const struct hv_vm_state *st)
{
	struct state_writer w;
	struct payload p;

	state_writer_init(&w);
	hv_vm_state_save(st, &w);
	REQUIRE(state_writer_error(&w) == 0);
	p = section_payload(&w, "kvm_vm", 0);
	state_writer_free(&w);
	return p;
}

TEST(hv_vm_state_round_trips_every_field)
{
	struct hv_vm_state a, b;
	struct payload p;

	fill_vm(&a);
	p = save_vm(&a);
	CHECK_EQ(p.version, HV_VM_STATE_VERSION);
	REQUIRE(load_vm(p.buf, p.len, p.version, &b) == 0);
	check_vm_equal(&a, &b);
	free(p.buf);
}

TEST(hv_vm_state_load_refuses_truncation_extra_bytes_and_wrong_version)
{
	struct hv_vm_state a, b;
	struct payload p;
	unsigned refused = 0;

	fill_vm(&a);
	p = save_vm(&a);
	for (size_t cut = 0; cut < p.len; cut++)
		refused += load_vm(p.buf, cut, p.version, &b) == -EINVAL;
	CHECK_EQ(refused, p.len);
	CHECK_EQ(load_vm(p.buf, p.len + 1, p.version, &b), -EINVAL);
	CHECK_EQ(load_vm(p.buf, p.len, 0, &b), -EINVAL);
	CHECK_EQ(load_vm(p.buf, p.len, HV_VM_STATE_VERSION + 1, &b), -EINVAL);
	CHECK_EQ(load_vm(p.buf, p.len, p.version, &b), 0);
	free(p.buf);
}

TEST(hv_vm_state_load_refuses_out_of_range_fields)
{
	for (int c = 0; c < 14; c++) {
		struct hv_vm_state a, b;
		struct payload p;

		fill_vm(&a);
		switch (c) {
		case 0:
			a.pit[0].mode = 6;
			break;
		case 1:
			a.pit[1].rw_mode = 4;
			break;
		case 2:
			a.pit[2].count = 0x10001;
			break;
		case 3:
			a.pit[0].read_state = 5;
			break;
		case 4:
			a.pit[1].write_state = 5;
			break;
		case 5:
			a.pit[2].gate = 2;
			break;
		case 6:
			a.pit_flags = 4;
			break;
		case 7:
			a.pic[0].irq_base = 0x21;
			break;
		case 8:
			a.pic[1].priority_add = 8;
			break;
		case 9:
			a.pic[0].init_state = 4;
			break;
		case 10:
			a.pic[1].auto_eoi = 2;
			break;
		case 11:
			a.ioapic.ioregsel = 0x100;
			break;
		case 12:
			a.ioapic.irr = 1u << 24;
			break;
		default:
			a.clock.flags = 1;
			break;
		}
		p = save_vm(&a);
		CHECK_EQ(load_vm(p.buf, p.len, p.version, &b), -EINVAL);
		free(p.buf);
	}
}

/* clang-format off */
HARNESS_MAIN(
	HARNESS_T(hv_vcpu_state_round_trips_every_field)
	HARNESS_T(hv_vcpu_state_round_trips_the_fpu_without_xsave)
	HARNESS_T(hv_vcpu_state_load_refuses_every_truncation_and_a_byte_too_many)
	HARNESS_T(hv_vcpu_state_load_refuses_a_wrong_version)
	HARNESS_T(hv_vcpu_state_load_refuses_oversized_counts)
	HARNESS_T(hv_vcpu_state_load_refuses_out_of_range_fields)
	HARNESS_T(hv_vcpu_state_free_is_safe_on_a_zeroed_state)
	HARNESS_T(hv_vm_state_round_trips_every_field)
	HARNESS_T(hv_vm_state_load_refuses_truncation_extra_bytes_and_wrong_version)
	HARNESS_T(hv_vm_state_load_refuses_out_of_range_fields)
)
/* clang-format on */
