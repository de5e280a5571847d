/* boot_cpu.c — boot GDT, identity page tables and initial segment state. */
#include <errno.h>
#include <string.h>

#include <asm/processor-flags.h>

#include "arch/x86/boot_cpu.h"
#include "arch/x86/layout.h"

/*
 * A segment descriptor (Intel SDM vol. 3, 3.4.5): base 0, limit 0xFFFFF in
 * 4 KiB units (G=1), @access = P|DPL|S|type, @flags = G|D/B|L|AVL.
 */
static uint64_t gdt_flat(uint8_t access, uint8_t flags)
{
	return 0xFFFFull | (0xFull << 48) | ((uint64_t)access << 40) |
	       ((uint64_t)(flags & 0xF) << 52);
}

int boot_cpu_write_gdt(struct gmem *gm)
{
	uint64_t gdt[BOOT_GDT_ENTRIES] = {
		0, gdt_flat(0x9B, 0xC), /* 0x08: P, S, code exec/read/accessed; G, D */
		gdt_flat(0x9B, 0xA), /* 0x10: P, S, code exec/read/accessed; G, L */
		gdt_flat(0x93, 0xC), /* 0x18: P, S, data read/write/accessed; G, B */
		/* 0x20: 64-bit TSS (type 0xB busy), base 0, limit 0x67, byte granular */
		0x67ull | (0x8Bull << 40),
		0, /* upper half of the TSS descriptor: base[63:32] = 0 */
	};

	return gmem_write(gm, LAYOUT_GDT_GPA, gdt, sizeof(gdt));
}

int boot_cpu_write_page_tables(struct gmem *gm)
{
	uint64_t *pml4 = gmem_ptr(gm, LAYOUT_PML4_GPA, 4096);
	uint64_t *pdpt = gmem_ptr(gm, LAYOUT_PDPT_GPA, 4096);
	uint64_t *pd = gmem_ptr(gm, LAYOUT_PD_GPA, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	/* Intel SDM vol. 3, 4.5: P (bit 0), R/W (bit 1), PS (bit 7) for 2 MiB pages. */
	pml4[0] = LAYOUT_PDPT_GPA | 0x3;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PD_GPA + i * 4096ull) | 0x3;
	for (unsigned j = 0; j < 4 * 512; j++)
		pd[j] = ((uint64_t)j << 21) | 0x83;
	return 0;
}

static struct x86_segment seg_flat(uint16_t sel, uint8_t type, uint8_t db, uint8_t l)
{
	struct x86_segment s = {
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = db,
		.s = 1,
		.l = l,
		.g = 1,
		.avl = 0,
	};

	return s;
}

static void boot_cpu_common(struct x86_cpu_state *st)
{
	struct x86_segment data = seg_flat(BOOT_GDT_DATA_SEL, 0x3, 1, 0);

	memset(st, 0, sizeof(*st));
	st->ds = st->es = st->fs = st->gs = st->ss = data;
	st->tr = (struct x86_segment){
		.base = 0, .limit = 0x67, .selector = BOOT_GDT_TSS_SEL, .type = 0xB, .present = 1
	};
	/* LDT unusable (present = 0); type 2 is what the VMX checks want when usable. */
	st->ldt = (struct x86_segment){ .type = 0x2 };
	st->gdt.base = LAYOUT_GDT_GPA;
	st->gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
	st->idt.base = 0;
	st->idt.limit = 0;
	st->rflags = X86_EFLAGS_FIXED; /* IF = 0: interrupts off */
	st->rsp = LAYOUT_STACK_TOP_GPA;
}

void boot_cpu_protected_mode(struct x86_cpu_state *st)
{
	boot_cpu_common(st);
	st->cs = seg_flat(BOOT_GDT_CODE32_SEL, 0xB, 1, 0);
	st->cr0 = X86_CR0_PE | X86_CR0_ET;
}

void boot_cpu_long_mode(struct x86_cpu_state *st)
{
	boot_cpu_common(st);
	st->cs = seg_flat(BOOT_GDT_CODE64_SEL, 0xB, 0, 1);
	st->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
	st->cr3 = LAYOUT_PML4_GPA;
	st->cr4 = X86_CR4_PAE;
	st->efer = BOOT_EFER_LME | BOOT_EFER_LMA;
}
