/*
 * gmem.h — guest physical memory: the regions of RAM a VM has, and the only
 * sanctioned way to turn a guest physical address into a host pointer.
 *
 * Every accessor checks the whole range [gpa, gpa + len) against one region,
 * with overflow-checked arithmetic, so a guest-supplied address or length can
 * never produce a pointer outside guest RAM.
 */
#ifndef VMON_MEM_GMEM_H
#define VMON_MEM_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 8

struct gmem_region {
	uint64_t gpa;
	uint64_t len_bytes;
	uint8_t *hva;
	bool owned; /* mmap'd by gmem_add_ram(), unmapped by gmem_destroy() */
};

struct gmem {
	struct gmem_region regions[GMEM_MAX_REGIONS];
	unsigned nr_regions;
};

/* gmem_init - an empty map. */
void gmem_init(struct gmem *gm);

/*
 * gmem_add_ram - map @len_bytes of anonymous, zeroed host memory at guest
 * address @gpa (both page-aligned). Returns 0, -EINVAL for a bad or
 * overlapping range, -ENOSPC when the table is full, or -errno from mmap.
 */
int gmem_add_ram(struct gmem *gm, uint64_t gpa, uint64_t len_bytes);

/*
 * gmem_add_hva - describe caller-owned memory @hva as guest RAM at @gpa
 * (unit tests and fuzzers build fake guests this way). Same returns as above.
 */
int gmem_add_hva(struct gmem *gm, uint64_t gpa, uint64_t len_bytes, void *hva);

/* gmem_destroy - unmap what gmem_add_ram() mapped and empty the map. */
void gmem_destroy(struct gmem *gm);

/*
 * gmem_ptr - host pointer for [gpa, gpa + len) when the whole range lies in
 * one RAM region, else NULL. len == 0 is allowed when gpa is inside a region.
 * Safe to call from any thread once the map is built.
 */
void *gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len);

/* gmem_read / gmem_write - copy to/from guest memory; 0 or -EFAULT. */
int gmem_read(const struct gmem *gm, uint64_t gpa, void *dst, size_t len);
int gmem_write(const struct gmem *gm, uint64_t gpa, const void *src, size_t len);

/* gmem_ram_bytes - total bytes of RAM in the map. */
uint64_t gmem_ram_bytes(const struct gmem *gm);

/* gmem_range_ok - true when [gpa, gpa + len) does not overflow 2^64. */
static inline bool gmem_range_ok(uint64_t gpa, uint64_t len)
{
	uint64_t end;

	return !__builtin_add_overflow(gpa, len, &end);
}

#endif
