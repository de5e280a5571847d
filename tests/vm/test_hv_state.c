/*
 * test_hv_state.c — KVM tier: the complete vCPU and VM state of the hv layer.
 * A tiny 32-bit guest counts in memory and in EBX and reports each count
 * through port 0x510; its state is taken, set on a second VM sharing the
 * memory, and the count must go on from where it stopped. Also: get, set,
 * get on one vCPU gives the same state; the KVM clock after a set; dirty-page
 * logging; and, as TAP diagnostics, what this host's KVM offers. Needs
 * /dev/kvm; skips with the reason otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86/boot_cpu.h"
#include "arch/x86/cpu_template.h"
#include "harness.h"
#include "hv/hv.h"
#include "hv/hv_state.h"
#include "mem/gmem.h"
#include "util/compiler.h"
#include "vm/vcpu_x86.h"

#define MEM_BYTES (2u << 20)
#define CODE_GPA 0x10000u
#define COUNTER_GPA 0x5000u
#define PROBE_PORT 0x510

/*
 * loop: inc dword [0x5000]; inc ebx; mov eax, [0x5000]; mov dx, 0x510;
 *       out dx, eax; jmp loop
 */
static const uint8_t guest_code[] = {
	0xff, 0x05, 0x00, 0x50, 0x00, 0x00, /* inc dword [0x5000] */
	0x43, /* inc ebx */
	0xa1, 0x00, 0x50, 0x00, 0x00, /* mov eax, [0x5000] */
	0x66, 0xba, 0x10, 0x05, /* mov dx, 0x510 */
	0xef, /* out dx, eax */
	0xeb, 0xed, /* jmp loop */
};

struct guest {
	struct hv *hv;
	struct hv_vcpu *vcpu;
	uint8_t *mem;
};

/* The sandbox's L1 (tests/sandbox/kvm-tier): KVM on nested SVM that QEMU TCG emulates. */
static bool nested_tcg(void)
{
	return getenv("VMON_KVM_TIER_L1") != NULL;
}

static const char *kvm_skip_reason(void)
{
	int fd = open("/dev/kvm", O_RDWR);

	if (fd < 0)
		return errno == ENOENT ? "no /dev/kvm on this host" : "/dev/kvm is not accessible";
	close(fd);
	return NULL;
}

static uint8_t *guest_memory(void)
{
	struct gmem gm;
	uint8_t *mem =
		mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return NULL;
	gmem_init(&gm);
	if (gmem_add_hva(&gm, 0, MEM_BYTES, mem) || boot_cpu_write_gdt(&gm)) {
		gmem_destroy(&gm);
		munmap(mem, MEM_BYTES);
		return NULL;
	}
	gmem_destroy(&gm);
	memcpy(mem + CODE_GPA, guest_code, sizeof(guest_code));
	return mem;
}

/* A VM on @mem (slot 0, logging dirty pages when @log) with one vCPU; @boot: set up to run. */
static int guest_vm(struct guest *g, uint8_t *mem, bool log, bool boot)
{
	char err[256] = "";
	int ret = hv_create(&g->hv, err, sizeof(err));

	g->mem = mem;
	g->vcpu = NULL;
	if (ret) {
		printf("# hv_create: %s\n", err);
		return ret;
	}
	ret = hv_set_memory_log(g->hv, 0, 0, MEM_BYTES, mem, log);
	if (!ret)
		ret = hv_vcpu_create(g->hv, 0, &g->vcpu);
	if (!ret && boot) {
		struct x86_cpu_state st;

		ret = x86_vcpu_setup(g->hv, g->vcpu, 0, 1, CPU_TEMPLATE_NONE, err, sizeof(err));
		if (ret)
			printf("# x86_vcpu_setup: %s\n", err);
		boot_cpu_protected_mode(&st);
		st.rip = CODE_GPA;
		st.rsp = 0x8000;
		st.rflags = 2;
		if (!ret)
			ret = hv_vcpu_set_state(g->vcpu, &st);
	}
	if (ret) {
		printf("# guest_vm: %s\n", strerror(-ret));
		hv_vcpu_destroy(g->vcpu);
		hv_destroy(g->hv);
	}
	return ret;
}

static void guest_destroy(struct guest *g)
{
	hv_vcpu_destroy(g->vcpu);
	hv_destroy(g->hv);
	g->vcpu = NULL;
	g->hv = NULL;
}

/*
 * Run until @n counts came out of port 0x510; return the last, or -1 on an
 * unexpected exit. Then re-enter once with immediate_exit so that KVM
 * completes the OUT (api.rst: the state is consistent only after that).
 */
static int64_t run_counts(struct guest *g, unsigned n)
{
	uint32_t last = 0;
	struct hv_exit e;

	for (unsigned i = 0; i < n; i++) {
		if (hv_vcpu_run(g->vcpu, &e) || e.reason != HV_EXIT_IO || e.io.port != PROBE_PORT ||
		    !e.io.is_write || e.io.size != 4) {
			printf("# unexpected exit %s (%u)\n", hv_exit_reason_name(e.reason),
			       e.raw_reason);
			return -1;
		}
		memcpy(&last, e.io.data, 4);
	}
	hv_vcpu_set_immediate_exit(g->vcpu, true);
	if (hv_vcpu_run(g->vcpu, &e) || e.reason != HV_EXIT_INTR)
		return -1;
	hv_vcpu_set_immediate_exit(g->vcpu, false);
	return last;
}

static const struct x86_msr *find_msr(const struct hv_vcpu_state *st, uint32_t index)
{
	for (uint32_t i = 0; i < st->nr_msrs; i++)
		if (st->msrs[i].index == index)
			return &st->msrs[i];
	return NULL;
}

#define DIFF(name, a, b)                                                                           \
	do {                                                                                       \
		if ((a) != (b)) {                                                                  \
			printf("#   %s differs: %#llx vs %#llx\n", name, (unsigned long long)(a),  \
			       (unsigned long long)(b));                                           \
			diffs++;                                                                   \
		}                                                                                  \
	} while (0)

static unsigned seg_diffs(const char *name, const struct x86_segment *a,
			  const struct x86_segment *b)
{
	unsigned diffs = 0;

	DIFF(name, a->base, b->base);
	DIFF(name, a->limit, b->limit);
	DIFF(name, a->selector, b->selector);
	DIFF(name, a->type, b->type);
	DIFF(name, a->present, b->present);
	DIFF(name, a->dpl, b->dpl);
	DIFF(name, a->db | a->s << 1 | a->l << 2 | a->g << 3 | a->avl << 4,
	     b->db | b->s << 1 | b->l << 2 | b->g << 3 | b->avl << 4);
	return diffs;
}

/*
 * Differences between two states of one guest, each printed. The TSC has
 * moved on between them (and whatever KVM derives from it), so MSR 0x10 is
 * compared only for going forward.
 */
static unsigned vcpu_diffs(const struct hv_vcpu_state *a, const struct hv_vcpu_state *b)
{
	const struct x86_cpu_state *x = &a->cpu, *y = &b->cpu;
	const uint64_t gx[18] = { x->rax, x->rbx, x->rcx, x->rdx, x->rsi, x->rdi,
				  x->rsp, x->rbp, x->r8,  x->r9,  x->r10, x->r11,
				  x->r12, x->r13, x->r14, x->r15, x->rip, x->rflags };
	const uint64_t gy[18] = { y->rax, y->rbx, y->rcx, y->rdx, y->rsi, y->rdi,
				  y->rsp, y->rbp, y->r8,  y->r9,  y->r10, y->r11,
				  y->r12, y->r13, y->r14, y->r15, y->rip, y->rflags };
	unsigned diffs = 0;

	for (unsigned i = 0; i < 18; i++)
		DIFF("gpr/rip/rflags", gx[i], gy[i]);
	diffs += seg_diffs("cs", &x->cs, &y->cs) + seg_diffs("ds", &x->ds, &y->ds) +
		 seg_diffs("es", &x->es, &y->es) + seg_diffs("fs", &x->fs, &y->fs) +
		 seg_diffs("gs", &x->gs, &y->gs) + seg_diffs("ss", &x->ss, &y->ss) +
		 seg_diffs("tr", &x->tr, &y->tr) + seg_diffs("ldt", &x->ldt, &y->ldt);
	for (unsigned i = 0; i < 8; i++)
		DIFF("unusable", a->seg_unusable[i], b->seg_unusable[i]);
	DIFF("gdt", x->gdt.base ^ x->gdt.limit, y->gdt.base ^ y->gdt.limit);
	DIFF("idt", x->idt.base ^ x->idt.limit, y->idt.base ^ y->idt.limit);
	DIFF("cr0", x->cr0, y->cr0);
	DIFF("cr2", x->cr2, y->cr2);
	DIFF("cr3", x->cr3, y->cr3);
	DIFF("cr4", x->cr4, y->cr4);
	DIFF("efer", x->efer, y->efer);
	DIFF("cr8", a->cr8, b->cr8);
	DIFF("apic_base", a->apic_base, b->apic_base);
	for (unsigned i = 0; i < 4; i++)
		DIFF("interrupt_bitmap", a->interrupt_bitmap[i], b->interrupt_bitmap[i]);
	DIFF("xsave_len", a->xsave_len, b->xsave_len);
	if (a->xsave_len == b->xsave_len && a->xsave_len &&
	    memcmp(a->xsave, b->xsave, a->xsave_len)) {
		printf("#   xsave area differs\n");
		diffs++;
	}
	DIFF("nr_xcrs", a->nr_xcrs, b->nr_xcrs);
	for (unsigned i = 0; i < a->nr_xcrs && i < b->nr_xcrs; i++)
		DIFF("xcr", a->xcrs[i].index ^ a->xcrs[i].value,
		     b->xcrs[i].index ^ b->xcrs[i].value);
	DIFF("nr_msrs", a->nr_msrs, b->nr_msrs);
	for (unsigned i = 0; i < a->nr_msrs; i++) {
		const struct x86_msr *m = find_msr(b, a->msrs[i].index);
		char name[32];

		snprintf(name, sizeof(name), "MSR %#x", a->msrs[i].index);
		if (!m) {
			printf("#   %s missing\n", name);
			diffs++;
		} else if (m->index == 0x10) {
			/* (under nested SVM in QEMU TCG, the sandbox's L1, the TSC it gives back
			 * may be behind: its TSC is the emulator's, not a counter) */
			if (!nested_tcg())
				DIFF("TSC went backwards", m->value < a->msrs[i].value, 0);
		} else if (m->index == 0x40000010 || m->index == 0x40000020) {
			/* Hyper-V's VP runtime and reference time counters count time */
		} else {
			DIFF(name, a->msrs[i].value, m->value);
		}
	}
	for (unsigned i = 0; i < HV_STATE_LAPIC_BYTES; i += 4) {
		uint32_t p, q;

		memcpy(&p, a->lapic + i, 4);
		memcpy(&q, b->lapic + i, 4);
		DIFF("LAPIC register", p, q);
	}
	DIFF("mp_state", a->mp_state, b->mp_state);
	DIFF("events", memcmp(&a->events, &b->events, sizeof(a->events)) != 0, 0);
	DIFF("dr7", a->debugregs.dr7, b->debugregs.dr7);
	DIFF("dr6", a->debugregs.dr6, b->debugregs.dr6);
	for (unsigned i = 0; i < 4; i++)
		DIFF("dr0-3", a->debugregs.db[i], b->debugregs.db[i]);
	DIFF("tsc_khz", a->tsc_khz, b->tsc_khz);
	DIFF("nr_cpuid", a->nr_cpuid, b->nr_cpuid);
	for (unsigned i = 0; i < a->nr_cpuid && i < b->nr_cpuid; i++) {
		const struct cpuid_entry *p = &a->cpuid[i], *q = &b->cpuid[i];

		DIFF("cpuid", p->function ^ p->index ^ p->flags ^ p->eax ^ p->ebx ^ p->ecx ^ p->edx,
		     q->function ^ q->index ^ q->flags ^ q->eax ^ q->ebx ^ q->ecx ^ q->edx);
	}
	return diffs;
}

static unsigned vm_diffs(const struct hv_vm_state *a, const struct hv_vm_state *b)
{
	unsigned diffs = 0;

	for (unsigned k = 0; k < 2; k++) {
		const struct hv_pic *p = &a->pic[k], *q = &b->pic[k];

		DIFF("pic irr/imr/isr", p->irr | p->imr << 8 | p->isr << 16,
		     q->irr | q->imr << 8 | q->isr << 16);
		DIFF("pic irq_base", p->irq_base, q->irq_base);
		DIFF("pic elcr", p->elcr, q->elcr);
		DIFF("pic init_state", p->init_state, q->init_state);
	}
	DIFF("ioapic id", a->ioapic.id, b->ioapic.id);
	DIFF("ioapic base", a->ioapic.base_address, b->ioapic.base_address);
	for (unsigned i = 0; i < HV_STATE_IOAPIC_PINS; i++)
		DIFF("ioapic redir", a->ioapic.redir[i], b->ioapic.redir[i]);
	for (unsigned i = 0; i < 3; i++) {
		DIFF("pit mode", a->pit[i].mode, b->pit[i].mode);
		DIFF("pit count", a->pit[i].count, b->pit[i].count);
		DIFF("pit rw_mode", a->pit[i].rw_mode, b->pit[i].rw_mode);
		DIFF("pit gate", a->pit[i].gate, b->pit[i].gate);
	}
	DIFF("pit flags", a->pit_flags, b->pit_flags);
	return diffs;
}

TEST(hv_state_reports_what_this_host_offers)
{
	const char *why = kvm_skip_reason();
	struct hv_vcpu_state st;
	struct hv_vm_state vm;
	struct guest g;
	uint8_t *mem;
	char line[1024];
	size_t n = 0;

	if (why)
		SKIP(why);
	mem = guest_memory();
	REQUIRE(mem);
	REQUIRE(guest_vm(&g, mem, false, true) == 0);
	CHECK_EQ(hv_vcpu_get_full(g.vcpu, &st), 0);
	printf("# %u MSRs readable of KVM_GET_MSR_INDEX_LIST:\n", st.nr_msrs);
	for (uint32_t i = 0; i < st.nr_msrs; i++) {
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %#x", st.msrs[i].index);
		if (n > 90 || i + 1 == st.nr_msrs) {
			printf("#  %s\n", line);
			n = 0;
		}
	}
	/* kvmclock's MSRs come from the emulated part of the list */
	CHECK(find_msr(&st, 0x4b564d00) != NULL); /* MSR_KVM_WALL_CLOCK_NEW */
	CHECK(find_msr(&st, 0x4b564d01) != NULL); /* MSR_KVM_SYSTEM_TIME_NEW */
	CHECK(find_msr(&st, 0x10) != NULL); /* TSC */
	CHECK(find_msr(&st, 0xc0000082) != NULL); /* LSTAR */
	printf("# XSAVE area %u bytes (%s), %u XCRs, XCR0 %#llx, CPUID %u entries, TSC %u kHz, "
	       "LAPIC ID %#x, mp_state %u, events flags %#x\n",
	       st.xsave_len,
	       st.xsave_len ? "KVM_GET_XSAVE2/KVM_GET_XSAVE" : "no XSAVE: KVM_GET_FPU", st.nr_xcrs,
	       st.nr_xcrs ? (unsigned long long)st.xcrs[0].value : 0ull, st.nr_cpuid, st.tsc_khz,
	       st.lapic[0x23], st.mp_state, st.events.flags);
	CHECK(st.nr_cpuid > 0);
	CHECK(st.xsave_len >= HV_STATE_XSAVE_MIN_BYTES || st.xsave_len == 0);
	CHECK_EQ(hv_vm_get_full(g.hv, &vm), 0);
	printf("# KVM_GET_CLOCK %llu ns, flags %#x (%s); KVM_GET_PIT2 modes %u/%u/%u, flags %#x\n",
	       (unsigned long long)vm.clock.clock_ns, vm.clock.flags,
	       vm.clock.flags & HV_CLOCK_REALTIME ? "KVM_CLOCK_REALTIME"
						  : "no KVM_CLOCK_REALTIME: the stamp is used",
	       vm.pit[0].mode, vm.pit[1].mode, vm.pit[2].mode, vm.pit_flags);
	hv_vcpu_state_free(&st);
	guest_destroy(&g);
	munmap(mem, MEM_BYTES);
}

TEST(hv_state_get_set_get_gives_the_same_state)
{
	const char *why = kvm_skip_reason();
	struct hv_vcpu_state a, b;
	struct hv_vm_state va, vb;
	char err[256] = "";
	struct guest g;
	uint8_t *mem;
	int ret;

	if (why)
		SKIP(why);
	mem = guest_memory();
	REQUIRE(mem);
	REQUIRE(guest_vm(&g, mem, false, true) == 0);
	CHECK_EQ(run_counts(&g, 3), 3);
	REQUIRE(hv_vcpu_get_full(g.vcpu, &a) == 0);
	REQUIRE(hv_vm_get_full(g.hv, &va) == 0);
	ret = hv_vcpu_set_full(g.vcpu, &a, err, sizeof(err));
	if (ret)
		printf("# hv_vcpu_set_full: %s\n", err);
	CHECK_EQ(ret, 0);
	ret = hv_vm_set_full(g.hv, &va, false, err, sizeof(err));
	if (ret)
		printf("# hv_vm_set_full: %s\n", err);
	CHECK_EQ(ret, 0);
	REQUIRE(hv_vcpu_get_full(g.vcpu, &b) == 0);
	REQUIRE(hv_vm_get_full(g.hv, &vb) == 0);
	CHECK_EQ(vcpu_diffs(&a, &b), 0);
	CHECK_EQ(vm_diffs(&va, &vb), 0);
	/* and the guest runs on */
	CHECK_EQ(run_counts(&g, 1), 4);
	hv_vcpu_state_free(&a);
	hv_vcpu_state_free(&b);
	guest_destroy(&g);
	munmap(mem, MEM_BYTES);
}

TEST(hv_state_moves_a_running_guest_to_a_second_vm)
{
	const char *why = kvm_skip_reason();
	struct hv_vcpu_state a, b;
	struct hv_vm_state vm;
	char err[256] = "";
	struct guest g1, g2;
	uint8_t *mem;
	int64_t last;
	int ret;

	if (why)
		SKIP(why);
	mem = guest_memory();
	REQUIRE(mem);
	REQUIRE(guest_vm(&g1, mem, false, true) == 0);
	last = run_counts(&g1, 7);
	CHECK_EQ(last, 7);
	REQUIRE(hv_vcpu_get_full(g1.vcpu, &a) == 0);
	REQUIRE(hv_vm_get_full(g1.hv, &vm) == 0);
	printf("# stopped at count %lld, rip %#llx, ebx %llu\n", (long long)last,
	       (unsigned long long)a.cpu.rip, (unsigned long long)a.cpu.rbx);
	CHECK_EQ(a.cpu.rbx, 7);
	guest_destroy(&g1);

	/* A second VM with the same memory and a vCPU that never ran. */
	REQUIRE(guest_vm(&g2, mem, false, false) == 0);
	ret = hv_vcpu_set_full(g2.vcpu, &a, err, sizeof(err));
	if (ret)
		printf("# hv_vcpu_set_full: %s\n", err);
	REQUIRE(ret == 0);
	ret = hv_vm_set_full(g2.hv, &vm, true, err, sizeof(err));
	if (ret)
		printf("# hv_vm_set_full: %s\n", err);
	REQUIRE(ret == 0);
	REQUIRE(hv_vcpu_get_full(g2.vcpu, &b) == 0);
	CHECK_EQ(vcpu_diffs(&a, &b), 0);
	hv_vcpu_state_free(&b);
	/* It continues from the same point: the next count is 8, in memory and in EBX. */
	CHECK_EQ(run_counts(&g2, 1), last + 1);
	CHECK_EQ(run_counts(&g2, 2), last + 3);
	REQUIRE(hv_vcpu_get_full(g2.vcpu, &b) == 0);
	CHECK_EQ(b.cpu.rbx, last + 3);
	CHECK_EQ(b.cpu.rip, a.cpu.rip);
	CHECK_EQ(*(uint32_t *)(mem + COUNTER_GPA), last + 3);
	hv_vcpu_state_free(&a);
	hv_vcpu_state_free(&b);
	guest_destroy(&g2);
	munmap(mem, MEM_BYTES);
}

/* Also through the section format: save, load, set on a new VM. */
TEST(hv_state_survives_save_and_load_between_vms)
{
	const char *why = kvm_skip_reason();
	struct hv_vcpu_state a, b;
	struct hv_vm_state vm, vm2;
	struct state_writer w;
	struct state_reader r;
	struct state_section s;
	char err[256] = "";
	struct guest g;
	uint8_t *mem;

	if (why)
		SKIP(why);
	mem = guest_memory();
	REQUIRE(mem);
	REQUIRE(guest_vm(&g, mem, false, true) == 0);
	CHECK_EQ(run_counts(&g, 2), 2);
	REQUIRE(hv_vcpu_get_full(g.vcpu, &a) == 0);
	REQUIRE(hv_vm_get_full(g.hv, &vm) == 0);
	guest_destroy(&g);
	state_writer_init(&w);
	hv_vm_state_save(&vm, &w);
	hv_vcpu_state_save(&a, 0, &w);
	REQUIRE(state_writer_error(&w) == 0);
	hv_vcpu_state_free(&a);
	printf("# saved %zu bytes\n", w.len);

	state_reader_init(&r, w.buf, w.len);
	REQUIRE(state_next_section(&r, &s) == 1);
	REQUIRE(hv_vm_state_load(&s.payload, s.version, &vm2) == 0);
	REQUIRE(state_next_section(&r, &s) == 1);
	REQUIRE(hv_vcpu_state_load(&s.payload, s.version, &b) == 0);
	REQUIRE(guest_vm(&g, mem, false, false) == 0);
	CHECK_EQ(hv_vcpu_set_full(g.vcpu, &b, err, sizeof(err)), 0);
	CHECK_EQ(hv_vm_set_full(g.hv, &vm2, false, err, sizeof(err)), 0);
	CHECK_EQ(run_counts(&g, 1), 3);
	hv_vcpu_state_free(&b);
	state_writer_free(&w);
	guest_destroy(&g);
	munmap(mem, MEM_BYTES);
}

TEST(hv_vm_set_full_moves_the_clock_only_when_asked)
{
	const char *why = kvm_skip_reason();
	struct hv_vm_state vm, now;
	struct timespec pause = { 0, 200 * 1000000 };
	char err[256] = "";
	struct guest g;
	uint8_t *mem;
	int64_t d_keep, d_move;

	if (why)
		SKIP(why);
	mem = guest_memory();
	REQUIRE(mem);
	REQUIRE(guest_vm(&g, mem, false, true) == 0);
	REQUIRE(hv_vm_get_full(g.hv, &vm) == 0);
	nanosleep(&pause, NULL);
	REQUIRE(hv_vm_set_full(g.hv, &vm, false, err, sizeof(err)) == 0);
	REQUIRE(hv_vm_get_full(g.hv, &now) == 0);
	d_keep = (int64_t)(now.clock.clock_ns - vm.clock.clock_ns);
	REQUIRE(hv_vm_set_full(g.hv, &vm, true, err, sizeof(err)) == 0);
	REQUIRE(hv_vm_get_full(g.hv, &now) == 0);
	d_move = (int64_t)(now.clock.clock_ns - vm.clock.clock_ns);
	printf("# KVM clock after a 200 ms pause: %lld us on (continue), %lld us on (realtime)\n",
	       (long long)d_keep / 1000, (long long)d_move / 1000);
	CHECK(d_keep >= 0 && d_keep < 50 * 1000000);
	CHECK(d_move >= 200 * 1000000 && d_move < 2000ll * 1000000);
	guest_destroy(&g);
	munmap(mem, MEM_BYTES);
}

TEST(hv_dirty_log_reports_the_pages_a_guest_wrote)
{
	const char *why = kvm_skip_reason();
	uint64_t bitmap[(MEM_BYTES / 4096 + 63) / 64];
	unsigned dirty = 0;
	struct guest g;
	uint8_t *mem;
	int ret;

	if (why)
		SKIP(why);
	mem = guest_memory();
	REQUIRE(mem);
	REQUIRE(guest_vm(&g, mem, false, true) == 0);
	CHECK_EQ(hv_get_dirty_log(g.hv, 0, bitmap), -ENOENT); /* not logging */
	REQUIRE(hv_set_memory_log(g.hv, 0, 0, MEM_BYTES, mem, true) == 0);
	CHECK_EQ(run_counts(&g, 3), 3);
	ret = hv_get_dirty_log(g.hv, 0, bitmap);
	CHECK_EQ(ret, 0);
	for (unsigned i = 0; i < ARRAY_SIZE(bitmap); i++)
		dirty += (unsigned)__builtin_popcountll(bitmap[i]);
	printf("# KVM_GET_DIRTY_LOG: %d, %u dirty pages, counter page %s\n", ret, dirty,
	       bitmap[0] & (1ull << (COUNTER_GPA / 4096)) ? "dirty" : "clean");
	CHECK(bitmap[0] & (1ull << (COUNTER_GPA / 4096)));
	/* code only read (under nested SVM in TCG, L1's KVM logs the page as written too) */
	if (!nested_tcg())
		CHECK(!(bitmap[0] & (1ull << (CODE_GPA / 4096))));
	else if (bitmap[0] & (1ull << (CODE_GPA / 4096)))
		printf("# nested SVM in TCG: the code page is logged as written as well\n");
	/* the call reset the log */
	CHECK_EQ(hv_get_dirty_log(g.hv, 0, bitmap), 0);
	dirty = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(bitmap); i++)
		dirty += (unsigned)__builtin_popcountll(bitmap[i]);
	CHECK_EQ(dirty, 0);
	CHECK_EQ(run_counts(&g, 1), 4);
	CHECK_EQ(hv_get_dirty_log(g.hv, 0, bitmap), 0);
	CHECK(bitmap[0] & (1ull << (COUNTER_GPA / 4096)));
	REQUIRE(hv_set_memory_log(g.hv, 0, 0, MEM_BYTES, mem, false) == 0);
	CHECK_EQ(run_counts(&g, 1), 5);
	guest_destroy(&g);
	munmap(mem, MEM_BYTES);
}

TEST(hv_vcpu_set_full_names_what_kvm_refused)
{
	const char *why = kvm_skip_reason();
	struct hv_vcpu_state a;
	char err[256] = "";
	struct guest g, g2;
	uint8_t *mem;
	int ret;

	if (why)
		SKIP(why);
	mem = guest_memory();
	REQUIRE(mem);
	REQUIRE(guest_vm(&g, mem, false, true) == 0);
	REQUIRE(hv_vcpu_get_full(g.vcpu, &a) == 0);
	guest_destroy(&g);

	/* A TSC rate the host does not have: scaled where KVM can, else refused by name. */
	a.tsc_khz += 100000;
	REQUIRE(guest_vm(&g2, mem, false, false) == 0);
	ret = hv_vcpu_set_full(g2.vcpu, &a, err, sizeof(err));
	printf("# TSC %u kHz: %d, %s\n", a.tsc_khz, ret, ret ? err : "scaled");
	if (ret)
		CHECK(strstr(err, "kHz") != NULL);
	guest_destroy(&g2);

	/* An MSR KVM does not know (unless kvm.ignore_msrs): the set names it. */
	a.tsc_khz -= 100000;
	a.msrs = realloc(a.msrs, (a.nr_msrs + 1) * sizeof(*a.msrs));
	REQUIRE(a.msrs);
	a.msrs[a.nr_msrs++] = (struct x86_msr){ 0x4b564dffu, 1 };
	REQUIRE(guest_vm(&g2, mem, false, false) == 0);
	ret = hv_vcpu_set_full(g2.vcpu, &a, err, sizeof(err));
	printf("# unknown MSR: %d, %s\n", ret, err);
	CHECK(ret != 0 && strstr(err, "0x4b564dff") != NULL);
	guest_destroy(&g2);
	hv_vcpu_state_free(&a);
	munmap(mem, MEM_BYTES);
}

/*
 * A CPU template reaches KVM: the vCPU's CPUID (KVM_GET_CPUID2) has the template's family and
 * model and lacks what it hides in leaf 1. T2A on an AMD host, T2 on an Intel one.
 */
TEST(hv_vcpu_cpuid_carries_the_cpu_template)
{
	const char *why = kvm_skip_reason();
	const struct cpuid_entry *l1 = NULL, *l7 = NULL;
	struct cpuid_entry *host = NULL;
	enum cpu_template t = CPU_TEMPLATE_T2A;
	struct hv_vcpu_state st = { 0 };
	struct guest g;
	unsigned nr = 0;
	char err[256] = "";

	if (why)
		SKIP(why);
	REQUIRE(hv_create(&g.hv, err, sizeof(err)) == 0);
	REQUIRE(hv_supported_cpuid(g.hv, &host, &nr) == 0);
	if (cpu_template_check_vendor(t, host, nr, err, sizeof(err)))
		t = CPU_TEMPLATE_T2;
	if (cpu_template_check_vendor(t, host, nr, err, sizeof(err))) {
		free(host);
		hv_destroy(g.hv);
		SKIP("neither an Intel nor an AMD host");
	}
	free(host);
	REQUIRE(hv_vcpu_create(g.hv, 0, &g.vcpu) == 0);
	CHECK_EQ(x86_vcpu_setup(g.hv, g.vcpu, 0, 1, t, err, sizeof(err)), 0);
	REQUIRE(hv_vcpu_get_cpuid(g.vcpu, &st) == 0);
	for (uint32_t i = 0; i < st.nr_cpuid; i++) {
		if (st.cpuid[i].function == 1)
			l1 = &st.cpuid[i];
		if (st.cpuid[i].function == 7 && st.cpuid[i].index == 0)
			l7 = &st.cpuid[i];
	}
	REQUIRE(l1);
	printf("# %s: leaf 1 EAX %#x ECX %#x, leaf 7 EBX %#x\n", cpu_template_name(t), l1->eax,
	       l1->ecx, l7 ? l7->ebx : 0);
	CHECK_EQ(l1->eax & 0x0fff3fffu, 0x000306f2); /* family 6, model 0x3f, stepping 2 */
	CHECK(!(l1->ecx & ((1u << 3) | (1u << 5)))); /* no MONITOR, no VMX */
	/*
	 * Leaf 7 is what the vCPU was given on real KVM; a paravirtual KVM (PVM) answers
	 * KVM_GET_CPUID2 there with its host's bits, so it is only reported. The sandbox's
	 * cpu_template scenario checks what a stock guest sees.
	 */
	hv_vcpu_state_free(&st);
	guest_destroy(&g);
}

/* clang-format off */
HARNESS_MAIN(
	HARNESS_T(hv_state_reports_what_this_host_offers)
	HARNESS_T(hv_state_get_set_get_gives_the_same_state)
	HARNESS_T(hv_state_moves_a_running_guest_to_a_second_vm)
	HARNESS_T(hv_state_survives_save_and_load_between_vms)
	HARNESS_T(hv_vm_set_full_moves_the_clock_only_when_asked)
	HARNESS_T(hv_dirty_log_reports_the_pages_a_guest_wrote)
	HARNESS_T(hv_vcpu_set_full_names_what_kvm_refused)
	HARNESS_T(hv_vcpu_cpuid_carries_the_cpu_template)
)
/* clang-format on */
