/*
 * fw_bytes.h — stores into the firmware structures vmon writes for a guest
 * (ACPI tables, the MP table, PVH start info): little-endian fields at byte
 * offsets (vmon runs on x86, so a memcpy of the host value is the guest's
 * layout), and the byte checksum those tables carry.
 */
#ifndef VMON_ARCH_X86_FW_BYTES_H
#define VMON_ARCH_X86_FW_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void put8(uint8_t *p, size_t off, uint8_t v)
{
	p[off] = v;
}
static inline void put16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, 2);
}
static inline void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}
static inline void put64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

/* fw_checksum - set the byte at @sum_off so that the @len bytes at @t sum to 0 (mod 256). */
static inline void fw_checksum(uint8_t *t, size_t len, size_t sum_off)
{
	uint8_t s = 0;

	t[sum_off] = 0;
	for (size_t i = 0; i < len; i++)
		s += t[i];
	t[sum_off] = (uint8_t)(0 - s);
}

#endif
