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

#define GMEM_PAGE_SIZE 4096ull

struct gmem_region {
	uint64_t gpa;
	uint64_t len_bytes;
	uint8_t *hva;
	bool owned; /* mmap'd by gmem_add_ram()/gmem_add_file(), unmapped by gmem_destroy() */
	int fd; /* the file the region is mapped from (gmem_add_file), or -1 */
	uint64_t file_offset; /* where in @fd the region starts */
	uint64_t *dirty; /* gmem_track_writes() bitmap, one bit per page, or NULL */
	bool lazy; /* filled on first touch by a userfaultfd handler (memuffd.h): any page may
		    * hold data, whatever this process's page tables say */
};

struct gmem {
	struct gmem_region regions[GMEM_MAX_REGIONS];
	unsigned nr_regions;
	bool track_writes; /* gmem_track_writes(gm, true) */
	int owned_fds[GMEM_MAX_REGIONS]; /* closed by gmem_destroy() (gmem_own_fd) */
	unsigned nr_owned_fds;
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

/*
 * gmem_add_file - map @len_bytes of the file @fd from @offset as guest RAM at
 * @gpa (all three page-aligned), MAP_PRIVATE|MAP_NORESERVE: pages are read
 * from the file when first touched and writes stay private to this process.
 * The region records @fd and @offset (memfile_write_full reads the file's
 * data extents through them). @fd stays the caller's: it must stay open as
 * long as the region exists; hand it to gmem_own_fd() to have gmem_destroy()
 * close it. Same returns as gmem_add_ram().
 */
int gmem_add_file(struct gmem *gm, uint64_t gpa, uint64_t len_bytes, int fd, uint64_t offset);

/*
 * gmem_own_fd - make @gm own @fd: gmem_destroy() closes it (once, however
 * many regions map it). 0, or -ENOSPC when GMEM_MAX_REGIONS fds are owned.
 */
int gmem_own_fd(struct gmem *gm, int fd);

/*
 * gmem_remove_regions_from - unmap (when owned) and drop regions @first..
 * the last, with their dirty bitmaps; owned fds stay. For unwinding a
 * partly built map (memfile_map on failure). No-op when @first is past the end.
 */
void gmem_remove_regions_from(struct gmem *gm, unsigned first);

/* gmem_destroy - unmap what gmem owns, free the bitmaps, close owned fds, empty the map. */
void gmem_destroy(struct gmem *gm);

/*
 * gmem_ptr - host pointer for [gpa, gpa + len) when the whole range lies in
 * one RAM region, else NULL. len == 0 is allowed when gpa is inside a region.
 * Safe to call from any thread once the map is built.
 */
void *gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len);

/*
 * gmem_read / gmem_write - copy to/from guest memory; 0 or -EFAULT.
 * gmem_write() marks what it writes dirty (gmem_mark_dirty); a device that
 * writes through a gmem_ptr() pointer must call gmem_mark_dirty() itself.
 */
int gmem_read(const struct gmem *gm, uint64_t gpa, void *dst, size_t len);
int gmem_write(const struct gmem *gm, uint64_t gpa, const void *src, size_t len);

/* gmem_ram_bytes - total bytes of RAM in the map. */
uint64_t gmem_ram_bytes(const struct gmem *gm);

/*
 * Dirty tracking of the writes vmon's own devices make to guest RAM (KVM's
 * dirty log covers the vCPUs' writes), for diff snapshots: one bit per
 * GMEM_PAGE_SIZE page of each region, bit p in word p / 64 = page p.
 *
 * gmem_track_writes - @on: allocate a zeroed bitmap for every region (and
 * for regions added later); off: free them. Call it only while no thread
 * marks (setup, or with the vCPUs and devices paused). 0 or -ENOMEM (then
 * tracking stays off).
 */
int gmem_track_writes(struct gmem *gm, bool on);

/*
 * gmem_mark_dirty - set the bits of every page [gpa, gpa + len) touches,
 * with atomic ORs: any thread, concurrently with other marks. No-op when
 * tracking is off; the parts outside every region (and a wrapping range's
 * tail) are ignored.
 */
void gmem_mark_dirty(const struct gmem *gm, uint64_t gpa, uint64_t len);

/* gmem_dirty_bitmap - region @region's bitmap, or NULL (tracking off, no such region). */
uint64_t *gmem_dirty_bitmap(const struct gmem *gm, unsigned region);

/*
 * gmem_dirty_clear - zero every bitmap (after a diff snapshot took them).
 * Atomic per word; a mark racing with it may be lost, so pause first.
 */
void gmem_dirty_clear(const struct gmem *gm);

/* gmem_region_pages - pages in region @r (its length rounded up to a page). */
static inline uint64_t gmem_region_pages(const struct gmem_region *r)
{
	return (r->len_bytes + GMEM_PAGE_SIZE - 1) / GMEM_PAGE_SIZE;
}

/* gmem_range_ok - true when [gpa, gpa + len) does not overflow 2^64. */
static inline bool gmem_range_ok(uint64_t gpa, uint64_t len)
{
	uint64_t end;

	return !__builtin_add_overflow(gpa, len, &end);
}

#endif
