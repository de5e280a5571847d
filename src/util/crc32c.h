/*
 * crc32c.h — CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), the
 * checksum of every snapshot section and file. The same CRC as iSCSI, ext4
 * metadata and the SSE4.2 crc32 instruction.
 */
#ifndef VMON_UTIL_CRC32C_H
#define VMON_UTIL_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * crc32c - the CRC-32C of @buf[0..@len) continuing from @crc, the value a
 * previous call returned (0 to start). The initial and final inversions are
 * done inside, so crc32c(0, "123456789", 9) == 0xE3069283 and
 * crc32c(crc32c(0, a, na), b, nb) == crc32c(0, a || b, na + nb). Uses the
 * SSE4.2 instruction when the CPU has it and it is faster than slicing-by-8
 * tables (timed once, on first use: an emulator may do the instruction bit
 * by bit), else the tables. Any thread; @buf may be NULL when @len is 0.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* crc32c_uses_instruction - did that first use pick the SSE4.2 instruction? */
bool crc32c_uses_instruction(void);

/*
 * crc32c_copy - copy @src[0..@len) to @dst (not overlapping) and return the
 * CRC-32C of the bytes as written, continuing from @crc: one pass over the data
 * instead of a memcpy and a crc32c (the live migration's pages). Any thread.
 */
uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len);

/* crc32c_portable - the same as crc32c, always through the tables (for tests and benchmarks). */
uint32_t crc32c_portable(uint32_t crc, const void *buf, size_t len);

#endif
