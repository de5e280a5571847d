/*
 * snapfile.h — the snapshot STATE file: a fixed little-endian header saying
 * what machine was saved (vmon and format versions, host CPU, vCPUs, the RAM
 * layout, the CPUID the guest saw), then every device's sections
 * (base/state.h), then a CRC-32C over the whole file. Guest RAM lives in
 * a separate memory file (snapshot/memfile.h) laid out as the header's ram[]
 * says.
 *
 * On-disk layout (all integers little-endian, no padding anywhere):
 *
 *   offset  size  field
 *   0       8     magic "VMONSNAP"
 *   8       4     header_version          1 (SNAPFILE_HEADER_VERSION)
 *   12      4     header_length           bytes from offset 0 to the end of the
 *                                         header CRC; the sections start here
 *   16      4     format_version          SNAPFILE_FORMAT_VERSION: the meaning
 *                                         of the sections
 *   20      32    vmon_version            NUL-terminated, NUL-padded
 *   52      16    cpu_vendor              NUL-terminated, NUL-padded
 *   68      4     cpu_signature           CPUID.1:EAX of the saving host
 *   72      4     tsc_khz
 *   76      4     nr_vcpus                1..64
 *   80      8     mem_bytes               == the sum of ram[].len_bytes
 *   88      4     nr_ram                  1..SNAPFILE_MAX_RAM
 *   92      16*nr_ram  ram[]: gpa u64, len_bytes u64; page-aligned, not
 *                                         overlapping; region i lies in the
 *                                         memory file at the sum of the
 *                                         lengths of regions 0..i-1
 *   ...     4     nr_cpuid                0..SNAPFILE_MAX_CPUID
 *   ...     28*nr_cpuid  cpuid[]: function, index, flags, eax, ebx, ecx, edx,
 *                                         u32 each
 *   (a later header_version appends its new fields here, and only here)
 *   hl-4    4     header CRC-32C over bytes [0, header_length - 4)
 *   hl      ...   sections, back to back, each
 *                 {tag[16], instance u32, version u32, length u64, payload,
 *                  CRC-32C u32 over the section's header and payload}
 *   end-4   4     file CRC-32C over every byte before it
 *
 * Compatibility: a reader accepts any header_version >= 1 whose
 * header_length covers the version-1 fields: it reads those, skips the rest
 * of the header (still covered by the header CRC) and goes on to the
 * sections. So a later vmon may grow the header by appending fields and
 * bumping header_version; it must never change the meaning of a field above
 * (that would need a new magic). What the sections mean is versioned
 * separately by format_version: a reader refuses a format_version above
 * SNAPFILE_FORMAT_VERSION ("made by a newer vmon"). Each section also has
 * its own version, checked by the device that loads it.
 */
#ifndef VMON_SNAPSHOT_SNAPFILE_H
#define VMON_SNAPSHOT_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_state.h"
#include "base/state.h"

#define SNAPFILE_MAGIC "VMONSNAP" /* 8 bytes, no NUL on disk */
#define SNAPFILE_HEADER_VERSION 1 /* the layout of the header above */
#define SNAPFILE_FORMAT_VERSION 1 /* the meaning of the sections; bump when any section changes */
#define SNAPFILE_MAX_CPUID 256
#define SNAPFILE_MAX_RAM 8 /* == GMEM_MAX_REGIONS */
#define SNAPFILE_MAX_VCPUS 64
#define SNAPFILE_MAX_FILE_BYTES (64ull << 20) /* snapfile_read() refuses bigger files */

struct snapfile_ram {
	uint64_t gpa, len_bytes;
};

struct snapfile_header {
	uint32_t format_version;
	char vmon_version[32]; /* NUL-terminated */
	char cpu_vendor[16]; /* "GenuineIntel" ... NUL-terminated */
	uint32_t cpu_signature; /* CPUID.1:EAX of the host that saved it */
	uint32_t tsc_khz;
	uint32_t nr_vcpus;
	uint64_t mem_bytes;
	uint32_t nr_ram;
	struct snapfile_ram ram[SNAPFILE_MAX_RAM];
	uint32_t nr_cpuid;
	struct cpuid_entry cpuid[SNAPFILE_MAX_CPUID]; /* the CPUID the guest was given */
};

struct snapfile {
	struct snapfile_header hdr;
	uint8_t *buf; /* the whole file, owned by snapfile_read(); NULL after snapfile_parse() */
	size_t len; /* its length (0 after snapfile_parse()) */
	/* at the first section; every section's CRC already verified */
	struct state_reader sections;
};

/*
 * snapfile_header_check - the header field checks snapfile_parse() makes:
 * format_version 1..SNAPFILE_FORMAT_VERSION, strings NUL-terminated,
 * nr_vcpus 1..64, nr_ram 1..SNAPFILE_MAX_RAM with page-aligned,
 * non-overlapping, non-wrapping regions whose lengths sum to mem_bytes,
 * nr_cpuid <= SNAPFILE_MAX_CPUID. 0, or -EINVAL with one line in @err.
 */
int snapfile_header_check(const struct snapfile_header *h, char *err, size_t err_len);

/*
 * snapfile_encode - append the whole file (header, the sections of
 * @sections, file CRC) to @out, an initialized writer. @h->format_version
 * must be 0 (meaning SNAPFILE_FORMAT_VERSION) or SNAPFILE_FORMAT_VERSION;
 * the header must pass snapfile_header_check(); @sections must have no open
 * section and no error, and each of its sections must be whole. 0, -EINVAL
 * with one line in @err, or -ENOMEM.
 */
int snapfile_encode(const struct snapfile_header *h, const struct state_writer *sections,
		    struct state_writer *out, char *err, size_t err_len);

/*
 * snapfile_write - snapfile_encode() to a temporary file in @path's
 * directory (mode 0600), fsync it, rename it over @path and fsync the
 * directory, so that a crash leaves either the old file or the whole new
 * one under @path, never a half. 0 or -errno, with one line in @err.
 */
int snapfile_write(const char *path, const struct snapfile_header *h,
		   const struct state_writer *sections, char *err, size_t err_len);

/*
 * snapfile_parse - validate everything in @buf[0..@len) before returning:
 * magic, header version and length, header CRC, the header fields
 * (snapfile_header_check), every section's header and CRC walked once to the
 * end, no bytes between the last section and the trailer, the file CRC. On
 * success fills @f (f->sections points into @buf, which must outlive it;
 * f->buf is NULL) and returns 0. Else -EINVAL with one line in @err naming
 * what is wrong: "not a vmon snapshot (bad magic)", "snapshot truncated in
 * section 'rtc_cmos' #0", "section 'vcpu' #1: checksum mismatch", "snapshot
 * made by a newer vmon (format 2, this vmon reads up to 1)", ...
 * Pure: safe on any input (fuzzed).
 */
int snapfile_parse(const void *buf, size_t len, struct snapfile *f, char *err, size_t err_len);

/*
 * snapfile_read - read the file at @path (refusing anything but a regular
 * file, and files over SNAPFILE_MAX_FILE_BYTES) and snapfile_parse() it;
 * f->buf then owns the bytes: free with snapfile_free(). 0, -EINVAL for a
 * bad file or -errno for I/O, with one line in @err that names @path.
 */
int snapfile_read(const char *path, struct snapfile *f, char *err, size_t err_len);

/* snapfile_free - free what snapfile_read() allocated; safe on a parsed or zeroed @f. */
void snapfile_free(struct snapfile *f);

#endif
