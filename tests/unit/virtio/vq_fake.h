/* vq_fake.h — a fake guest for virtqueue tests: RAM at a fixed gpa over a host buffer, ring
 * builders. */
#ifndef VMON_TESTS_VQ_FAKE_H
#define VMON_TESTS_VQ_FAKE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "mem/gmem.h"
#include "util/compiler.h"
#include "virtio/virtqueue.h"

#define FAKE_RAM_GPA 0x100000ull
#define FAKE_RAM_LEN 0x100000ull
#define FAKE_DESC (FAKE_RAM_GPA + 0x0000)
#define FAKE_AVAIL (FAKE_RAM_GPA + 0x2000)
#define FAKE_USED (FAKE_RAM_GPA + 0x3000)
#define FAKE_INDIRECT (FAKE_RAM_GPA + 0x5000)
#define FAKE_BUF (FAKE_RAM_GPA + 0x10000)

struct fake_guest {
	struct gmem gm;
	uint8_t *ram;
	uint16_t avail_idx;
	uint16_t qsize;
};

static inline void *fg_ptr(struct fake_guest *g, uint64_t gpa)
{
	return g->ram + (gpa - FAKE_RAM_GPA);
}

static inline void fg_init(struct fake_guest *g, struct virtq *vq, uint16_t qsize)
{
	g->ram = aligned_alloc(4096, FAKE_RAM_LEN);
	memset(g->ram, 0, FAKE_RAM_LEN);
	gmem_init(&g->gm);
	gmem_add_hva(&g->gm, FAKE_RAM_GPA, FAKE_RAM_LEN, g->ram);
	g->avail_idx = 0;
	g->qsize = qsize;
	if (vq) {
		vq->name = "test";
		virtq_init(vq, &g->gm, 256);
		vq->size = qsize;
		vq->desc_gpa = FAKE_DESC;
		vq->avail_gpa = FAKE_AVAIL;
		vq->used_gpa = FAKE_USED;
		vq->enabled = true;
	}
}

static inline void fg_fini(struct fake_guest *g)
{
	gmem_destroy(&g->gm);
	free(g->ram);
}

static inline void fg_desc(struct fake_guest *g, uint64_t table, unsigned i, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)fg_ptr(g, table) + i;

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* Make chain @head available (one more entry on the avail ring). */
static inline void fg_avail(struct fake_guest *g, uint16_t head)
{
	uint16_t *ring = fg_ptr(g, FAKE_AVAIL);

	ring[2 + (g->avail_idx % g->qsize)] = head;
	g->avail_idx++;
	ring[1] = g->avail_idx;
}

static inline void fg_set_avail_idx(struct fake_guest *g, uint16_t idx)
{
	((uint16_t *)fg_ptr(g, FAKE_AVAIL))[1] = idx;
	g->avail_idx = idx;
}

static inline uint16_t fg_used_idx(struct fake_guest *g)
{
	return ((uint16_t *)fg_ptr(g, FAKE_USED))[1];
}

static inline struct vring_used_elem fg_used(struct fake_guest *g, unsigned i)
{
	return ((struct vring_used_elem *)((uint8_t *)fg_ptr(g, FAKE_USED) + 4))[i % g->qsize];
}

#endif
