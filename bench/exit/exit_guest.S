/*
 * exit_guest.S — the guest of bench/exit: a multiboot v1 kernel that performs
 * N port-I/O exits (out to port 0x80), N read from its command line, then
 * writes 0 to the debug-exit port 0xf4. 32-bit protected mode, no paging: the
 * loop is five instructions, the same under vmon and under the bare probe.
 */
	.section .text
	.code32
	.globl _start
	.align 4
mb_header:
	.long 0x1BADB002                 /* magic */
	.long 0x00010000                 /* flags: a.out kludge (addresses below) */
	.long -(0x1BADB002 + 0x00010000) /* checksum */
	.long mb_header                  /* header_addr */
	.long mb_header                  /* load_addr */
	.long _end                       /* load_end_addr */
	.long _end                       /* bss_end_addr */
	.long _start                     /* entry_addr */

_start:
	xor %ecx, %ecx
	testl $4, (%ebx)                 /* multiboot info: cmdline present? */
	jz run
	mov 16(%ebx), %esi
parse:
	movzbl (%esi), %eax
	sub $'0', %eax
	cmp $9, %eax
	ja run
	imul $10, %ecx, %ecx
	add %eax, %ecx
	inc %esi
	jmp parse
run:
	mov $0x80, %dx
1:	test %ecx, %ecx
	jz done
	out %al, %dx
	dec %ecx
	jmp 1b
done:
	mov $0xf4, %dx
	xor %eax, %eax
	out %eax, %dx
2:	hlt
	jmp 2b
_end:
