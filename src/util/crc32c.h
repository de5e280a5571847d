/*
 * crc32c.h — CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), the
 * checksum of every snapshot section and file. The same CRC as iSCSI, ext4
 * metadata and the SSE4.2 crc32 instruction.
 */
#ifndef VMON_UTIL_CRC32C_H
#define VMON_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * crc32c - the CRC-32C of @buf[0..@len) continuing from @crc, the value a
 * previous call returned (0 to start). The initial and final inversions are
 * done inside, so crc32c(0, "123456789", 9) == 0xE3069283 and
 * crc32c(crc32c(0, a, na), b, nb) == crc32c(0, a || b, na + nb). Uses the
 * SSE4.2 instruction when the CPU has it, else slicing-by-8 tables. Any
 * thread; @buf may be NULL when @len is 0.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* crc32c_portable - the same, always through the tables (for tests and benchmarks). */
uint32_t crc32c_portable(uint32_t crc, const void *buf, size_t len);

#endif
