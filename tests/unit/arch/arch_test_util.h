/*
 * arch_test_util.h — helpers shared by the arch/x86 unit tests and fuzzers:
 * a guest memory built from a layout, and synthetic bzImage / multiboot
 * images whose fields the tests then flip one at a time.
 */
#ifndef VMON_TESTS_ARCH_TEST_UTIL_H
#define VMON_TESTS_ARCH_TEST_UTIL_H

#include <asm/bootparam.h>
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot_multiboot.h"
#include "arch/x86/layout.h"
#include "mem/gmem.h"

/* The byte sum of @n bytes at @p (a checksummed firmware table sums to 0). */
static inline uint8_t test_byte_sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* Map the layout's RAM for @mem_bytes into @gm (anonymous, zeroed). 0 or -errno. */
static inline int test_guest(struct gmem *gm, struct layout *lo, uint64_t mem_bytes)
{
	struct layout_region r[LAYOUT_MAX_RAM_REGIONS];
	unsigned n;
	int ret;

	gmem_init(gm);
	ret = layout_init(lo, mem_bytes, NULL, 0);
	if (ret)
		return ret;
	n = layout_ram_regions(lo, r);
	for (unsigned i = 0; i < n; i++) {
		ret = gmem_add_ram(gm, r[i].gpa, r[i].len_bytes);
		if (ret)
			return ret;
	}
	return 0;
}

#define TEST_BZ_SETUP_SECTS 4
#define TEST_BZ_SETUP_BYTES ((TEST_BZ_SETUP_SECTS + 1) * 512)

/*
 * A synthetic bzImage: setup_sects 4, protocol 2.15, 64-bit entry,
 * relocatable with 2 MiB alignment, pref_address 16 MiB, init_size 8 MiB,
 * and @pm_len bytes of protected-mode "kernel" (bytes i & 0xff). Caller frees.
 */
static inline uint8_t *test_bzimage(size_t pm_len, size_t *len)
{
	size_t total = TEST_BZ_SETUP_BYTES + pm_len;
	uint8_t *k = calloc(1, total);
	struct setup_header h;

	if (!k)
		abort();
	memset(&h, 0, sizeof(h));
	h.setup_sects = TEST_BZ_SETUP_SECTS;
	h.syssize = (uint32_t)(pm_len / 16);
	h.boot_flag = 0xAA55;
	h.jump = 0x6AEB; /* jmp short +0x6A: header ends at 0x26C */
	h.header = 0x53726448;
	h.version = 0x020F;
	h.loadflags = LOADED_HIGH;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.cmdline_size = 2047;
	h.pref_address = 0x1000000;
	h.init_size = 8 << 20;
	memcpy(k + 0x1F1, &h, sizeof(h));
	for (size_t i = 0; i < pm_len; i++)
		k[TEST_BZ_SETUP_BYTES + i] = (uint8_t)i;
	*len = total;
	return k;
}

/* The setup header of image @k, for flipping fields: copy out, edit, put back. */
static inline struct setup_header test_bz_hdr(const uint8_t *k)
{
	struct setup_header h;

	memcpy(&h, k + 0x1F1, sizeof(h));
	return h;
}

static inline void test_bz_set_hdr(uint8_t *k, const struct setup_header *h)
{
	memcpy(k + 0x1F1, h, sizeof(*h));
}

/* Multiboot header fields (3.1.1) in host order. */
struct test_mb_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

static inline void test_mb_put(uint8_t *k, size_t off, struct test_mb_header h)
{
	h.checksum = (uint32_t)(0u - h.magic - h.flags);
	memcpy(k + off, &h, sizeof(h));
}

/*
 * A synthetic a.out-kludge multiboot image of @len bytes (>= 64): header at
 * file offset 0x10 describing a load at 1 MiB of the whole file, bss up to
 * 1 MiB + @len + 0x1000, entry at 1 MiB + 0x40. Bytes after the header are
 * i & 0xff. Caller frees.
 */
#define TEST_MB_HOFF 0x10
#define TEST_MB_LOAD 0x100000u
static inline struct test_mb_header test_mb_aout_header(size_t len)
{
	struct test_mb_header h = {
		.magic = MULTIBOOT_HEADER_MAGIC,
		.flags = MULTIBOOT_AOUT_KLUDGE | MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO,
		.header_addr = TEST_MB_LOAD + TEST_MB_HOFF,
		.load_addr = TEST_MB_LOAD,
		.load_end_addr = TEST_MB_LOAD + (uint32_t)len,
		.bss_end_addr = TEST_MB_LOAD + (uint32_t)len + 0x1000,
		.entry_addr = TEST_MB_LOAD + 0x40,
	};

	return h;
}

static inline uint8_t *test_mb_aout(size_t len)
{
	uint8_t *k = calloc(1, len);

	if (!k)
		abort();
	for (size_t i = 0; i < len; i++)
		k[i] = (uint8_t)i;
	test_mb_put(k, TEST_MB_HOFF, test_mb_aout_header(len));
	return k;
}

/*
 * TEST_ELF_EHDR / TEST_ELF_LOAD - fill an Elf32 or Elf64 executable header (@phnum program
 * headers right after it) or a PT_LOAD program header.
 */
#define TEST_ELF_EHDR(eh, cls, mach, entry, phnum)                                                 \
	do {                                                                                       \
		memset(&(eh), 0, sizeof(eh));                                                      \
		memcpy((eh).e_ident, ELFMAG, SELFMAG);                                             \
		(eh).e_ident[EI_CLASS] = (cls);                                                    \
		(eh).e_ident[EI_DATA] = ELFDATA2LSB;                                               \
		(eh).e_ident[EI_VERSION] = EV_CURRENT;                                             \
		(eh).e_type = ET_EXEC;                                                             \
		(eh).e_machine = (mach);                                                           \
		(eh).e_version = EV_CURRENT;                                                       \
		(eh).e_entry = (entry);                                                            \
		(eh).e_phoff = sizeof(eh);                                                         \
		(eh).e_ehsize = sizeof(eh);                                                        \
		(eh).e_phentsize = (cls) == ELFCLASS64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);  \
		(eh).e_phnum = (phnum);                                                            \
	} while (0)
#define TEST_ELF_LOAD(ph, off, vaddr, paddr, filesz, memsz)                                        \
	do {                                                                                       \
		memset(&(ph), 0, sizeof(ph));                                                      \
		(ph).p_type = PT_LOAD;                                                             \
		(ph).p_offset = (off);                                                             \
		(ph).p_vaddr = (vaddr);                                                            \
		(ph).p_paddr = (paddr);                                                            \
		(ph).p_filesz = (filesz);                                                          \
		(ph).p_memsz = (memsz);                                                            \
	} while (0)

/*
 * A synthetic ELF32 (or ELF64 when @is64) multiboot kernel: one PT_LOAD of
 * 0x200 file bytes + 0x100 bss at paddr 2 MiB, vaddr 0xC0200000 (entry
 * vaddr + 0x20), and the multiboot header (flags 0) at file offset 0x100.
 * File length 0x300. Caller frees.
 */
#define TEST_ELF_LEN 0x300
#define TEST_ELF_PADDR 0x200000u
#define TEST_ELF_VADDR 0xC0200000u
static inline uint8_t *test_mb_elf(int is64, size_t *len)
{
	uint8_t *k = calloc(1, TEST_ELF_LEN);
	struct test_mb_header h = { .magic = MULTIBOOT_HEADER_MAGIC,
				    .flags = MULTIBOOT_MEMORY_INFO };

	if (!k)
		abort();
	for (size_t i = 0x100; i < TEST_ELF_LEN; i++)
		k[i] = (uint8_t)(i * 7);
	if (is64) {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;

		TEST_ELF_EHDR(eh, ELFCLASS64, EM_X86_64, TEST_ELF_VADDR + 0x20, 1);
		TEST_ELF_LOAD(ph, 0x100, TEST_ELF_VADDR, TEST_ELF_PADDR, 0x200, 0x300);
		memcpy(k, &eh, sizeof(eh));
		memcpy(k + sizeof(eh), &ph, sizeof(ph));
	} else {
		Elf32_Ehdr eh;
		Elf32_Phdr ph;

		TEST_ELF_EHDR(eh, ELFCLASS32, EM_386, TEST_ELF_VADDR + 0x20, 1);
		TEST_ELF_LOAD(ph, 0x100, TEST_ELF_VADDR, TEST_ELF_PADDR, 0x200, 0x300);
		memcpy(k, &eh, sizeof(eh));
		memcpy(k + sizeof(eh), &ph, sizeof(ph));
	}
	test_mb_put(k, 0x100, h);
	*len = TEST_ELF_LEN;
	return k;
}

/*
 * A synthetic PVH ELF64: PT_LOAD of 0x100 file bytes + 0x100 bss at paddr
 * 2 MiB (vaddr 0xffffffff80200000), then a PT_NOTE at file offset 0x180
 * holding "Xen" / XEN_ELFNOTE_PHYS32_ENTRY (18) with a @descsz-byte (4 or 8)
 * entry 0x200010. File length 0x300. Caller frees.
 */
/* test_elf64_ehdr - an x86-64 ET_EXEC header with @phnum program headers right after it. */
static inline void test_elf64_ehdr(Elf64_Ehdr *eh, uint64_t entry, uint16_t phnum)
{
	TEST_ELF_EHDR(*eh, ELFCLASS64, EM_X86_64, entry, phnum);
}

#define TEST_PVH_LEN 0x300
#define TEST_PVH_ENTRY 0x200010u
#define TEST_PVH_NOTE 0x180
static inline uint8_t *test_pvh_elf(uint32_t descsz, size_t *len)
{
	uint8_t *k = calloc(1, TEST_PVH_LEN);
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2] = { { 0 } };
	uint32_t note[3] = { 4, descsz, 18 };
	uint64_t entry = TEST_PVH_ENTRY;

	if (!k)
		abort();
	test_elf64_ehdr(&eh, 0xffffffff80200000ull, 2);
	ph[0].p_type = PT_LOAD;
	ph[0].p_offset = 0x200;
	ph[0].p_vaddr = 0xffffffff80200000ull;
	ph[0].p_paddr = 0x200000;
	ph[0].p_filesz = 0x100;
	ph[0].p_memsz = 0x200;
	ph[1].p_type = PT_NOTE;
	ph[1].p_offset = TEST_PVH_NOTE;
	ph[1].p_filesz = 12 + 4 + ((descsz + 3) & ~3u);
	memcpy(k, &eh, sizeof(eh));
	memcpy(k + sizeof(eh), ph, sizeof(ph));
	memcpy(k + TEST_PVH_NOTE, note, sizeof(note));
	memcpy(k + TEST_PVH_NOTE + 12, "Xen", 4);
	memcpy(k + TEST_PVH_NOTE + 16, &entry, descsz <= 8 ? descsz : 8);
	for (size_t i = 0x200; i < 0x300; i++)
		k[i] = (uint8_t)(i * 5);
	*len = TEST_PVH_LEN;
	return k;
}

#endif
