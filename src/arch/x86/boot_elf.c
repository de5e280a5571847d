/*
 * boot_elf.c — ELF executables for the multiboot and PVH loaders (System V
 * ABI gABI, "Program Header" and "Note Section"; Xen public/elfnote.h).
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arch/x86/arch_err.h"
#include "arch/x86/boot_elf.h"

bool boot_range_ok(const struct layout *lo, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(gpa, len, &end))
		return false;
	if (gpa >= LAYOUT_VMON_LOW_END_GPA && end <= LAYOUT_EBDA_GPA)
		return true;
	return gpa >= LAYOUT_HIGH_MEM_GPA && end <= lo->low_ram_end;
}

int boot_image_add(const struct layout *lo, struct boot_image *img, uint64_t gpa, uint64_t file_off,
		   uint64_t file_len, uint64_t mem_len, const char *who, char *err, size_t err_len)
{
	struct boot_segment *s;

	if (!mem_len)
		return 0;
	if (img->nr_segs == BOOT_MAX_SEGMENTS)
		return arch_err(err, err_len, -E2BIG, "%s: more than %u segments to load", who,
				BOOT_MAX_SEGMENTS);
	if (!boot_range_ok(lo, gpa, mem_len))
		return arch_err(err, err_len, -EINVAL,
				"%s: segment 0x%llx+0x%llx is outside usable RAM (1 MiB..0x%llx or "
				"0x%llx..0x%llx)",
				who, (unsigned long long)gpa, (unsigned long long)mem_len,
				(unsigned long long)lo->low_ram_end, LAYOUT_VMON_LOW_END_GPA,
				LAYOUT_EBDA_GPA);
	for (unsigned i = 0; i < img->nr_segs; i++) {
		const struct boot_segment *o = &img->seg[i];

		if (gpa < o->gpa + o->mem_len && o->gpa < gpa + mem_len)
			return arch_err(err, err_len, -EINVAL,
					"%s: segments at 0x%llx and 0x%llx overlap", who,
					(unsigned long long)o->gpa, (unsigned long long)gpa);
	}
	if (!img->nr_segs || gpa < img->start_gpa)
		img->start_gpa = gpa;
	if (gpa + mem_len > img->end_gpa)
		img->end_gpa = gpa + mem_len;
	s = &img->seg[img->nr_segs++];
	s->gpa = gpa;
	s->file_off = file_off;
	s->file_len = file_len;
	s->mem_len = mem_len;
	return 0;
}

/* One program header, normalised from ELF32 or ELF64. */
struct elf_phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

static void elf_read_phdr(const uint8_t *p, bool is64, struct elf_phdr *ph)
{
	if (is64) {
		Elf64_Phdr h;

		memcpy(&h, p, sizeof(h));
		*ph = (struct elf_phdr){ h.p_type,  h.p_offset, h.p_vaddr,
					 h.p_paddr, h.p_filesz, h.p_memsz };
	} else {
		Elf32_Phdr h;

		memcpy(&h, p, sizeof(h));
		*ph = (struct elf_phdr){ h.p_type,  h.p_offset, h.p_vaddr,
					 h.p_paddr, h.p_filesz, h.p_memsz };
	}
}

/*
 * Walk the notes in [off, off + size) of @k (bounds checked by the caller)
 * for "Xen" / XEN_ELFNOTE_PHYS32_ENTRY. Notes: namesz, descsz, type (4 bytes
 * each), then name and desc, each padded to 4 bytes.
 */
static void elf_find_pvh_note(const uint8_t *k, uint64_t off, uint64_t size, struct boot_image *img)
{
	uint64_t pos = 0;

	while (size - pos >= 12) {
		uint32_t namesz, descsz, type;
		uint64_t name_off, desc_off, next;

		memcpy(&namesz, k + off + pos, 4);
		memcpy(&descsz, k + off + pos + 4, 4);
		memcpy(&type, k + off + pos + 8, 4);
		name_off = pos + 12;
		desc_off = name_off + (((uint64_t)namesz + 3) & ~3ull);
		next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
		if (next > size)
			return;
		if (type == BOOT_XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    !memcmp(k + off + name_off, "Xen", 4) && (descsz == 4 || descsz == 8)) {
			uint64_t entry = 0;

			memcpy(&entry, k + off + desc_off, descsz);
			if (entry <= UINT32_MAX) {
				img->has_pvh_entry = true;
				img->pvh_entry_gpa = (uint32_t)entry;
			}
			return;
		}
		pos = next;
	}
}

int boot_elf_parse(const uint8_t *k, size_t len, const struct layout *lo, const char *who,
		   struct boot_image *img, char *err, size_t err_len)
{
	uint64_t phoff, entry;
	unsigned phnum, phentsize, want_phentsize;
	uint16_t type, machine;
	bool is64;

	if (!k || len < EI_NIDENT || memcmp(k, ELFMAG, SELFMAG))
		return arch_err(err, err_len, -ENOEXEC, "%s: not an ELF file", who);
	if (k[EI_DATA] != ELFDATA2LSB)
		return arch_err(err, err_len, -ENOEXEC, "%s: ELF is not little-endian", who);
	if (k[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;

		if (len < sizeof(eh))
			return arch_err(err, err_len, -ENOEXEC, "%s: ELF header truncated", who);
		memcpy(&eh, k, sizeof(eh));
		is64 = false;
		type = eh.e_type, machine = eh.e_machine;
		phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
		entry = eh.e_entry;
		want_phentsize = sizeof(Elf32_Phdr);
		if (machine != EM_386)
			return arch_err(err, err_len, -ENOEXEC, "%s: ELF32 machine %u is not i386",
					who, machine);
	} else if (k[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;

		if (len < sizeof(eh))
			return arch_err(err, err_len, -ENOEXEC, "%s: ELF header truncated", who);
		memcpy(&eh, k, sizeof(eh));
		is64 = true;
		type = eh.e_type, machine = eh.e_machine;
		phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
		entry = eh.e_entry;
		want_phentsize = sizeof(Elf64_Phdr);
		if (machine != EM_X86_64)
			return arch_err(err, err_len, -ENOEXEC,
					"%s: ELF64 machine %u is not x86-64", who, machine);
	} else {
		return arch_err(err, err_len, -ENOEXEC, "%s: ELF class %u unknown", who,
				k[EI_CLASS]);
	}
	if (type != ET_EXEC)
		return arch_err(err, err_len, -ENOEXEC, "%s: ELF type %u is not an executable", who,
				type);
	if (phentsize != want_phentsize)
		return arch_err(err, err_len, -EINVAL, "%s: ELF e_phentsize %u, expected %u", who,
				phentsize, want_phentsize);
	if (!phnum || phoff > len || (uint64_t)phnum * phentsize > len - phoff)
		return arch_err(
			err, err_len, -EINVAL,
			"%s: ELF program headers (%u at 0x%llx) are outside the %zu-byte file", who,
			phnum, (unsigned long long)phoff, len);
	img->elf64 = is64;
	/* Notes first, so that the PVH note is known even when a segment is refused. */
	for (unsigned i = 0; i < phnum && !img->has_pvh_entry; i++) {
		struct elf_phdr ph;

		elf_read_phdr(k + phoff + (uint64_t)i * phentsize, is64, &ph);
		if (ph.type == PT_NOTE && ph.offset <= len && ph.filesz <= len - ph.offset)
			elf_find_pvh_note(k, ph.offset, ph.filesz, img);
	}
	for (unsigned i = 0; i < phnum; i++) {
		struct elf_phdr ph;
		int ret;

		elf_read_phdr(k + phoff + (uint64_t)i * phentsize, is64, &ph);
		if (ph.type != PT_LOAD)
			continue;
		if (ph.filesz > ph.memsz)
			return arch_err(err, err_len, -EINVAL,
					"%s: ELF segment %u has filesz 0x%llx > memsz 0x%llx", who,
					i, (unsigned long long)ph.filesz,
					(unsigned long long)ph.memsz);
		if (ph.offset > len || ph.filesz > len - ph.offset)
			return arch_err(err, err_len, -EINVAL,
					"%s: ELF segment %u (0x%llx bytes at 0x%llx) is past the "
					"end of the %zu-byte file",
					who, i, (unsigned long long)ph.filesz,
					(unsigned long long)ph.offset, len);
		ret = boot_image_add(lo, img, ph.paddr, ph.offset, ph.filesz, ph.memsz, who, err,
				     err_len);
		if (ret)
			return ret;
		/* The entry point is virtual: translate it through its segment. */
		if (!img->entry_found && entry >= ph.vaddr && entry - ph.vaddr < ph.memsz) {
			img->entry_gpa = ph.paddr + (entry - ph.vaddr);
			img->entry_found = true;
		}
	}
	if (!img->nr_segs)
		return arch_err(err, err_len, -ENOEXEC, "%s: ELF has nothing to load", who);
	return 0;
}

int boot_image_load(struct gmem *gm, const uint8_t *k, const struct boot_image *img,
		    const char *who, char *err, size_t err_len)
{
	for (unsigned i = 0; i < img->nr_segs; i++) {
		const struct boot_segment *s = &img->seg[i];
		uint8_t *dst = gmem_ptr(gm, s->gpa, s->mem_len);

		if (!dst)
			return arch_err(err, err_len, -EFAULT,
					"%s: guest memory does not cover 0x%llx+0x%llx", who,
					(unsigned long long)s->gpa, (unsigned long long)s->mem_len);
		memcpy(dst, k + s->file_off, s->file_len);
		memset(dst + s->file_len, 0, s->mem_len - s->file_len);
	}
	return 0;
}
