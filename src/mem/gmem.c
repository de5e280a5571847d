/* gmem.c — guest RAM regions and checked guest-address translation. */
#include "mem/gmem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

void gmem_init(struct gmem *gm)
{
	memset(gm, 0, sizeof(*gm));
}

static int add_region(struct gmem *gm, uint64_t gpa, uint64_t len, void *hva, bool owned)
{
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
	gm->regions[gm->nr_regions++] = (struct gmem_region){
		.gpa = gpa,
		.len_bytes = len,
		.hva = hva,
		.owned = owned,
	};
	return 0;
}

int gmem_add_ram(struct gmem *gm, uint64_t gpa, uint64_t len_bytes)
{
	void *hva;
	int ret;

	if ((gpa | len_bytes) & 0xfff)
		return -EINVAL;
	if (len_bytes == 0 || len_bytes > SIZE_MAX)
		return -EINVAL;
	hva = mmap(NULL, len_bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (hva == MAP_FAILED)
		return -errno;
	/* Guest RAM is not worth a core dump and must not be inherited by children. */
	madvise(hva, len_bytes, MADV_DONTDUMP);
	madvise(hva, len_bytes, MADV_DONTFORK);
	ret = add_region(gm, gpa, len_bytes, hva, true);
	if (ret)
		munmap(hva, len_bytes);
	return ret;
}

int gmem_add_hva(struct gmem *gm, uint64_t gpa, uint64_t len_bytes, void *hva)
{
	if (!hva)
		return -EINVAL;
	return add_region(gm, gpa, len_bytes, hva, false);
}

void gmem_destroy(struct gmem *gm)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		struct gmem_region *r = &gm->regions[i];

		if (r->owned)
			munmap(r->hva, r->len_bytes);
	}
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
	return 0;
}

uint64_t gmem_ram_bytes(const struct gmem *gm)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < gm->nr_regions; i++)
		total += gm->regions[i].len_bytes;
	return total;
}
