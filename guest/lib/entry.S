/* entry.S — multiboot v1 header, 32-bit entry, identity paging, long mode, the AP trampoline, ring-3 entry and
 * the syscall return path.  References: Multiboot Specification 0.6.96 §3.1 (header, a.out kludge), Intel SDM
 * Vol. 3A §9.8.5 (initializing IA-32e mode), §8.4.4 (MP init: INIT-SIPI-SIPI, real-mode start at vector<<12),
 * §5.8.8 (SYSCALL/SYSRET), §6.14 (64-bit interrupt gates). */
#include "rt_layout.h"

#define MB_MAGIC	0x1BADB002
/* bit 0: page-align modules; bit 1: memory map wanted; bit 16: address fields below are valid */
#define MB_FLAGS	0x00010003

	.section .multiboot, "a"
	.balign 4
mb_header:
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
	.long mb_header			/* header_addr */
	.long __image_start		/* load_addr */
	.long __load_end		/* load_end_addr */
	.long __bss_end			/* bss_end_addr */
	.long rt_entry32		/* entry_addr */

/* ---- BSP entry: 32-bit protected mode, flat segments, paging off, EAX = magic, EBX = info (Multiboot §3.2) */
	.section .text.entry, "ax"
	.code32
	.globl rt_entry32
rt_entry32:
	cli
	cld
	movl %eax, rt_mb_magic
	movl %ebx, rt_mb_info
	movl $rt_boot_stack_top, %esp
	lgdt boot_gdt_ptr
	movl %cr4, %eax
	orl $0x20, %eax			/* CR4.PAE */
	movl %eax, %cr4
	movl $rt_pml4, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx		/* IA32_EFER */
	rdmsr
	orl $0x101, %eax		/* LME | SCE */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax		/* PG | PE */
	movl %eax, %cr0
	ljmp $RT_SEL_KCODE, $long_entry

	.code64
long_entry:
	movw $RT_SEL_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorl %eax, %eax
	movw %ax, %fs
	movw %ax, %gs
	movq $rt_boot_stack_top, %rsp
	movl rt_mb_magic, %edi
	movl rt_mb_info, %esi
	call rt_main
	movl $RT_EXIT_FAIL, %edi
	call rt_exit

/* ---- AP trampoline: copied to RT_TRAMP_ADDR; the AP starts here in real mode at CS:IP = 0x0800:0000 */
#define TR(x) ((x) - rt_tramp_start + RT_TRAMP_ADDR)
	.code16
	.globl rt_tramp_start
rt_tramp_start:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl TR(tramp_gdt_ptr)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $RT_SEL_KCODE32, $TR(tramp32)
	.code32
tramp32:
	movw $RT_SEL_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $0x20, %eax
	movl %eax, %cr4
	movl $rt_pml4, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx
	rdmsr
	orl $0x101, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax
	movl %eax, %cr0
	ljmp $RT_SEL_KCODE, $TR(tramp64)
	.code64
tramp64:
	movq TR(rt_tramp_stack), %rsp
	movabsq $rt_ap_main, %rax
	call *%rax
1:	cli
	hlt
	jmp 1b
	.balign 8
tramp_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt
	.balign 8
	.globl rt_tramp_stack
rt_tramp_stack:
	.quad 0
	.globl rt_tramp_end
rt_tramp_end:

/* ---- ring 3 ----
 * long rt_user_call(long (*fn)(long), long arg, void *user_stack_top): runs fn(arg) at CPL 3 on the given stack
 * and returns its result.  The kernel stack pointer is parked in rt_kstack_by_apic[LAPIC ID].
 * Entering CPL 3: rt_user_entry_mode 0 = IRETQ, 1 = SYSRETQ.
 * Coming back: rt_user_return_mode 0 = UD2 at rt_user_ret_insn, whose #UD the exception path recognises (works on
 * VT-x, AMD-V, TCG and on PVM, where a SYSCALL from CPL 3 of a non-PVM guest does not reach CPL 0);
 * 1 = SYSCALL to rt_syscall_entry (IA32_LSTAR).  Either way rt_user_resume restores the parked stack. */
	.text
	.globl rt_user_call
rt_user_call:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movl $(RT_LAPIC_BASE + 0x20), %eax
	movl (%rax), %eax
	shrl $24, %eax
	leaq rt_kstack_by_apic(%rip), %rcx
	movq %rsp, (%rcx,%rax,8)
	cmpl $1, rt_user_entry_mode(%rip)
	je 1f
	pushq $RT_SEL_UDATA
	pushq %rdx
	pushq $0x2			/* RFLAGS: IF = 0 */
	pushq $RT_SEL_UCODE
	leaq rt_user_stub(%rip), %rax
	pushq %rax
	iretq
1:	leaq rt_user_stub(%rip), %rcx	/* SYSRET: RIP = RCX, RFLAGS = R11, CS/SS from IA32_STAR[63:48] */
	movq $0x2, %r11
	movq %rdx, %rsp
	sysretq

	.globl rt_syscall_entry
rt_syscall_entry:			/* CPL 0, user RSP, RDI = fn's result, RCX/R11 = user RIP/RFLAGS */
	movq %rdi, %rax
rt_user_resume:				/* RAX = fn's result; any stack */
	movq %rax, %rdx
	movl $(RT_LAPIC_BASE + 0x20), %eax
	movl (%rax), %eax
	shrl $24, %eax
	leaq rt_kstack_by_apic(%rip), %rcx
	movq (%rcx,%rax,8), %rsp
	movq %rdx, %rax
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

	.section .text.user, "ax"
	.globl rt_user_stub
rt_user_stub:				/* CPL 3: RDI = fn, RSI = arg */
	movq %rdi, %rax
	movq %rsi, %rdi
	call *%rax
	cmpl $1, rt_user_return_mode(%rip)
	je 1f
	.globl rt_user_ret_insn
rt_user_ret_insn:
	ud2				/* RAX = result; #UD -> exc_common -> rt_user_resume */
1:	movq %rax, %rdi
	syscall
	ud2

/* ---- exceptions: every vector 0..31 reports and ends the run (no return path: IRETQ is not needed) */
	.text
	.balign 16
	.globl rt_exc_stubs
rt_exc_stubs:				/* 32 stubs, 16 bytes apart; vectors with a CPU error code skip the dummy */
	.set i, 0
	.rept 32
	.balign 16
	.if (i == 8) || (i == 10) || (i == 11) || (i == 12) || (i == 13) || (i == 14) || (i == 17)
	pushq $i
	.else
	pushq $0
	pushq $i
	.endif
	jmp exc_common
	.set i, i + 1
	.endr
exc_common:
	cmpq $6, (%rsp)			/* #UD at rt_user_ret_insn from CPL 3: a ring-3 call has finished */
	jne 2f
	cmpq $rt_user_ret_insn, 16(%rsp)
	jne 2f
	testb $3, 24(%rsp)
	jnz rt_user_resume
2:	movq %rsp, %rdi			/* [rsp] = vector, error code, RIP, CS, RFLAGS, RSP, SS */
	andq $-16, %rsp
	call rt_exception
1:	cli
	hlt
	jmp 1b

/* ---- data: boot GDT (selectors in rt_layout.h), identity page tables for 0..4 GiB with 2 MiB pages */
	.data
	.balign 16
	.globl boot_gdt
boot_gdt:
	.quad 0				/* 0x00 */
	.quad 0x00CF9A000000FFFF	/* 0x08 kernel code, 32-bit (trampoline only) */
	.quad 0x00AF9A000000FFFF	/* 0x10 kernel code, 64-bit */
	.quad 0x00CF92000000FFFF	/* 0x18 kernel data */
	.quad 0x00CFFA000000FFFF	/* 0x20 user code, 32-bit (IA32_STAR base) */
	.quad 0x00CFF2000000FFFF	/* 0x28 user data */
	.quad 0x00AFFA000000FFFF	/* 0x30 user code, 64-bit */
	.quad 0				/* 0x38 */
boot_gdt_end:
	.balign 8
	.word 0
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

	.balign 4096
	.globl rt_pml4
rt_pml4:
	.quad rt_pdpt + 0x7		/* P | RW | US */
	.fill 511, 8, 0
rt_pdpt:
	.quad rt_pd + 0x0000 + 0x7
	.quad rt_pd + 0x1000 + 0x7
	.quad rt_pd + 0x2000 + 0x7
	.quad rt_pd + 0x3000 + 0x7
	.fill 508, 8, 0
rt_pd:
	.set i, 0
	.rept 1536
	.quad (i << 21) | 0x87		/* P | RW | US | PS: RAM and low MMIO, write-back */
	.set i, i + 1
	.endr
	.rept 512
	.quad (i << 21) | 0x9F		/* ... | PWT | PCD: 3-4 GiB MMIO hole (PCI, IOAPIC, LAPIC) uncached */
	.set i, i + 1
	.endr

	.bss
	.balign 16
	.globl rt_mb_magic, rt_mb_info
rt_mb_magic:	.long 0
rt_mb_info:	.long 0
	.balign 4096
	.space RT_STACK_BYTES
	.globl rt_boot_stack_top
rt_boot_stack_top:
