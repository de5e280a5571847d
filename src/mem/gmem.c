/* gmem.c — guest RAM regions and checked guest-address translation. */
#include "mem/gmem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void gmem_init(struct gmem *gm)
{
	memset(gm, 0, sizeof(*gm));
}

static uint64_t *bitmap_alloc(uint64_t len_bytes)
{
	uint64_t pages = (len_bytes + GMEM_PAGE_SIZE - 1) / GMEM_PAGE_SIZE;

	return calloc((size_t)((pages + 63) / 64), sizeof(uint64_t));
}

static int add_region(struct gmem *gm, uint64_t gpa, uint64_t len, void *hva, bool owned, int fd,
		      uint64_t file_offset)
{
	uint64_t *dirty = NULL;
	uint64_t end;

	if (len == 0 || __builtin_add_overflow(gpa, len, &end))
		return -EINVAL;
	if (gm->nr_regions == GMEM_MAX_REGIONS)
		return -ENOSPC;
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gmem_region *r = &gm->regions[i];

		if (gpa < r->gpa + r->len_bytes && r->gpa < end)
			return -EINVAL;
	}
	if (len > SIZE_MAX)
		return -EINVAL;
	if (gm->track_writes) {
		dirty = bitmap_alloc(len);
		if (!dirty)
			return -ENOMEM;
	}
	gm->regions[gm->nr_regions++] = (struct gmem_region){
		.gpa = gpa,
		.len_bytes = len,
		.hva = hva,
		.owned = owned,
		.fd = fd,
		.file_offset = file_offset,
		.dirty = dirty,
	};
	return 0;
}

#define GMEM_HUGE_ALIGN (2ull << 20)

/*
 * Anonymous memory of @len bytes whose start is 2 MiB-aligned (over-map by
 * the alignment and trim), or MAP_FAILED with errno set.
 */
static void *map_aligned(uint64_t len)
{
	uint64_t total = len + GMEM_HUGE_ALIGN, head, tail;
	uint8_t *p, *start;

	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return MAP_FAILED;
	start = (uint8_t *)(((uintptr_t)p + GMEM_HUGE_ALIGN - 1) &
			    ~(uintptr_t)(GMEM_HUGE_ALIGN - 1));
	head = (uint64_t)(start - p);
	tail = total - head - len;
	if (head)
		munmap(p, head);
	if (tail)
		munmap(start + len, tail);
	return start;
}

int gmem_add_ram(struct gmem *gm, uint64_t gpa, uint64_t len_bytes)
{
	void *hva;
	int ret;

	if ((gpa | len_bytes) & 0xfff)
		return -EINVAL;
	if (len_bytes == 0 || len_bytes > SIZE_MAX)
		return -EINVAL;
	hva = map_aligned(len_bytes);
	if (hva == MAP_FAILED)
		return -errno;
	/* Guest RAM is not worth a core dump and must not be inherited by children. */
	madvise(hva, len_bytes, MADV_DONTDUMP);
	madvise(hva, len_bytes, MADV_DONTFORK);
	/*
	 * Transparent huge pages let KVM map the guest with 2 MiB pages in the
	 * nested page tables (fewer TLB misses and table walks): the host
	 * address must be 2 MiB-aligned like the guest address for that.
	 */
	madvise(hva, len_bytes, MADV_HUGEPAGE);
	ret = add_region(gm, gpa, len_bytes, hva, true, -1, 0);
	if (ret)
		munmap(hva, len_bytes);
	return ret;
}

int gmem_add_file(struct gmem *gm, uint64_t gpa, uint64_t len_bytes, int fd, uint64_t offset)
{
	uint64_t end;
	uint8_t *hva;
	void *p;
	int ret;

	if (fd < 0 || ((gpa | len_bytes | offset) & 0xfff))
		return -EINVAL;
	if (len_bytes == 0 || len_bytes > SIZE_MAX || offset > INT64_MAX ||
	    __builtin_add_overflow(offset, len_bytes, &end) || end > INT64_MAX)
		return -EINVAL;
	/* Reserve a 2 MiB-aligned range (as for anonymous RAM), then map the file over it. */
	hva = map_aligned(len_bytes);
	if (hva == MAP_FAILED)
		return -errno;
	p = mmap(hva, len_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE | MAP_FIXED,
		 fd, (off_t)offset);
	if (p == MAP_FAILED) {
		ret = -errno;
		munmap(hva, len_bytes);
		return ret;
	}
	madvise(hva, len_bytes, MADV_DONTDUMP);
	madvise(hva, len_bytes, MADV_DONTFORK);
	ret = add_region(gm, gpa, len_bytes, hva, true, fd, offset);
	if (ret)
		munmap(hva, len_bytes);
	return ret;
}

int gmem_own_fd(struct gmem *gm, int fd)
{
	if (fd < 0)
		return -EINVAL;
	for (unsigned i = 0; i < gm->nr_owned_fds; i++)
		if (gm->owned_fds[i] == fd)
			return 0;
	if (gm->nr_owned_fds == GMEM_MAX_REGIONS)
		return -ENOSPC;
	gm->owned_fds[gm->nr_owned_fds++] = fd;
	return 0;
}

int gmem_add_hva(struct gmem *gm, uint64_t gpa, uint64_t len_bytes, void *hva)
{
	if (!hva)
		return -EINVAL;
	return add_region(gm, gpa, len_bytes, hva, false, -1, 0);
}

void gmem_remove_regions_from(struct gmem *gm, unsigned first)
{
	while (gm->nr_regions > first) {
		struct gmem_region *r = &gm->regions[--gm->nr_regions];

		if (r->owned)
			munmap(r->hva, r->len_bytes);
		free(r->dirty);
		memset(r, 0, sizeof(*r));
	}
}

void gmem_destroy(struct gmem *gm)
{
	gmem_remove_regions_from(gm, 0);
	for (unsigned i = 0; i < gm->nr_owned_fds; i++)
		close(gm->owned_fds[i]);
	gmem_init(gm);
}

void *gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(gpa, len, &end))
		return NULL;
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gmem_region *r = &gm->regions[i];

		/* r->gpa + r->len_bytes cannot overflow: add_region checked it. */
		if (gpa >= r->gpa && gpa < r->gpa + r->len_bytes && end <= r->gpa + r->len_bytes)
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int gmem_read(const struct gmem *gm, uint64_t gpa, void *dst, size_t len)
{
	const void *p = gmem_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(const struct gmem *gm, uint64_t gpa, const void *src, size_t len)
{
	void *p = gmem_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	gmem_mark_dirty(gm, gpa, len);
	return 0;
}

uint64_t gmem_ram_bytes(const struct gmem *gm)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < gm->nr_regions; i++)
		total += gm->regions[i].len_bytes;
	return total;
}

int gmem_track_writes(struct gmem *gm, bool on)
{
	if (on) {
		if (gm->track_writes)
			return 0;
		for (unsigned i = 0; i < gm->nr_regions; i++) {
			gm->regions[i].dirty = bitmap_alloc(gm->regions[i].len_bytes);
			if (!gm->regions[i].dirty) {
				gmem_track_writes(gm, false);
				return -ENOMEM;
			}
		}
		gm->track_writes = true;
		return 0;
	}
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		free(gm->regions[i].dirty);
		gm->regions[i].dirty = NULL;
	}
	gm->track_writes = false;
	return 0;
}

/* Set bits [first, last] of @map, whole words at a time in the middle. */
static void bitmap_set_range(uint64_t *map, uint64_t first, uint64_t last)
{
	uint64_t w = first / 64, lw = last / 64;
	uint64_t head = ~0ull << (first % 64), tail = ~0ull >> (63 - last % 64);

	if (w == lw) {
		__atomic_fetch_or(&map[w], head & tail, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_or(&map[w], head, __ATOMIC_RELAXED);
	for (w++; w < lw; w++)
		__atomic_store_n(&map[w], ~0ull, __ATOMIC_RELAXED);
	__atomic_fetch_or(&map[lw], tail, __ATOMIC_RELAXED);
}

void gmem_mark_dirty(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (!gm->track_writes || len == 0)
		return;
	if (__builtin_add_overflow(gpa, len, &end))
		end = UINT64_MAX;
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gmem_region *r = &gm->regions[i];
		uint64_t rend = r->gpa + r->len_bytes, lo, hi;

		if (!r->dirty || end <= r->gpa || gpa >= rend)
			continue;
		lo = (gpa > r->gpa ? gpa : r->gpa) - r->gpa;
		hi = (end < rend ? end : rend) - r->gpa; /* exclusive, > lo */
		bitmap_set_range(r->dirty, lo / GMEM_PAGE_SIZE, (hi - 1) / GMEM_PAGE_SIZE);
	}
}

uint64_t *gmem_dirty_bitmap(const struct gmem *gm, unsigned region)
{
	if (region >= gm->nr_regions)
		return NULL;
	return gm->regions[region].dirty;
}

void gmem_dirty_clear(const struct gmem *gm)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gmem_region *r = &gm->regions[i];
		uint64_t words = (gmem_region_pages(r) + 63) / 64;

		if (!r->dirty)
			continue;
		for (uint64_t w = 0; w < words; w++)
			__atomic_store_n(&r->dirty[w], 0, __ATOMIC_RELAXED);
	}
}
