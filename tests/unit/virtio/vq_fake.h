/* vq_fake.h — a fake guest for virtqueue tests: RAM at a fixed gpa over a host buffer, ring
 * builders, and a driver that brings a device's first two queues up on them. */
#ifndef VMON_TESTS_VQ_FAKE_H
#define VMON_TESTS_VQ_FAKE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "mem/gmem.h"
#include "util/compiler.h"
#include "virtio/virtio.h"
#include "virtio/virtqueue.h"

#define FAKE_RAM_GPA 0x100000ull
#define FAKE_RAM_LEN 0x100000ull
#define FAKE_DESC (FAKE_RAM_GPA + 0x0000)
#define FAKE_AVAIL (FAKE_RAM_GPA + 0x2000)
#define FAKE_USED (FAKE_RAM_GPA + 0x3000)
#define FAKE_INDIRECT (FAKE_RAM_GPA + 0x5000)
#define FAKE_BUF (FAKE_RAM_GPA + 0x10000)
/* A device's second queue (queue 1), beside the first one's rings (fg_start_dev) */
#define FAKE_Q1_DESC (FAKE_RAM_GPA + 0x6000)
#define FAKE_Q1_AVAIL (FAKE_RAM_GPA + 0x7000)
#define FAKE_Q1_USED (FAKE_RAM_GPA + 0x8000)

struct fake_guest {
	struct gmem gm;
	uint8_t *ram;
	uint16_t avail_idx;
	uint16_t qsize;
	uint16_t q1_avail_idx; /* queue 1's avail idx (fg_q1_avail; its queue size is 16) */
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
	g->q1_avail_idx = 0;
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

/* Queue 1 (16 entries, FAKE_Q1_* rings): make chain @head available, read back the used ring. */
static inline void fg_q1_avail(struct fake_guest *g, uint16_t head)
{
	uint16_t *ring = fg_ptr(g, FAKE_Q1_AVAIL);

	ring[2 + g->q1_avail_idx % 16] = head;
	ring[1] = ++g->q1_avail_idx;
}

static inline uint16_t fg_q1_used_idx(struct fake_guest *g)
{
	return ((uint16_t *)fg_ptr(g, FAKE_Q1_USED))[1];
}

static inline struct vring_used_elem fg_q1_used(struct fake_guest *g, unsigned i)
{
	return ((struct vring_used_elem *)((uint8_t *)fg_ptr(g, FAKE_Q1_USED) + 4))[i % 16];
}

/* Interrupts a device raised, counted by fg_count_irq (a struct virtio_transport's interrupt). */
struct fg_irqs {
	unsigned queue[2]; /* used buffers on queue 0, 1 */
	unsigned config; /* configuration changed */
};

static inline void fg_count_irq(void *opaque, struct virtio_dev *vdev, int q)
{
	struct fg_irqs *n = opaque;

	(void)vdev;
	if (q >= 0 && q < 2)
		n->queue[q]++;
	else if (q == -1)
		n->config++;
}

/*
 * fg_start_dev - act as the driver (virtio 1.2 §3.1.1): give @vdev the transport @t, negotiate
 * @features and set its first two queues up, 16 entries each, on the FAKE_* and FAKE_Q1_* rings,
 * then DRIVER_OK.
 */
static inline void fg_start_dev(struct virtio_dev *vdev, const struct virtio_transport *t,
				uint64_t features)
{
	const unsigned acked = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	vdev->transport = *t;
	virtio_dev_set_status(vdev, acked);
	vdev->driver_features = features;
	virtio_dev_set_status(vdev, acked | VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < vdev->nr_queues && q < 2; q++) {
		struct virtq *vq = &vdev->vqs[q];

		vq->size = 16;
		vq->desc_gpa = q ? FAKE_Q1_DESC : FAKE_DESC;
		vq->avail_gpa = q ? FAKE_Q1_AVAIL : FAKE_AVAIL;
		vq->used_gpa = q ? FAKE_Q1_USED : FAKE_USED;
		vq->enabled = true;
	}
	virtio_dev_set_status(vdev,
			      acked | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

#endif
