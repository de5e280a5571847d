/*
 * virtqueue.h — one split virtqueue (virtio 1.2 §2.7) seen from the device:
 * walk the descriptor chains the driver makes available, checked against the
 * queue size and guest RAM, and return used buffers with notification
 * suppression (VIRTIO_F_RING_EVENT_IDX, VIRTQ_AVAIL_F_NO_INTERRUPT).
 *
 * A virtqueue holds no lock: its owner (struct virtio_dev) serialises every
 * call with the device lock. Every guest field is read exactly once into a
 * local before it is checked and used.
 */
#ifndef VMON_VIRTIO_VIRTQUEUE_H
#define VMON_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mem/gmem.h"
#include "util/log.h"

/* Largest queue size a vmon device offers (a power of two, §2.7). */
#define VIRTQ_MAX_SIZE 256
/* Most segments one request may have (direct descriptors plus an indirect table). */
#define VIRTQ_MAX_SEGS 1024
/* Most bytes one direction of one chain may describe (used.len is 32 bits). */
#define VIRTQ_MAX_CHAIN_BYTES 0xffffffffull

struct virtq {
	const struct gmem *gm;
	const char *name; /* for log messages: "blk0 q0" etc.; may be NULL */
	struct ratelimit rl;
	/* Driver-programmed configuration (through the transport). */
	uint16_t size; /* queue size, power of two, <= max_size */
	uint16_t max_size;
	bool enabled;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	uint16_t msix_vector; /* VIRTIO_MSI_NO_VECTOR when none */
	/* Negotiated ring features, set when the device starts. */
	bool event_idx;
	bool indirect;
	/* Device-side progress. */
	uint16_t last_avail_idx;
	uint16_t used_idx;
	uint16_t signalled_used; /* used idx at the last interrupt (EVENT_IDX) */
	bool signalled_used_valid;
	bool broken; /* a malformed ring was seen; nothing more is done until reset */
};

/*
 * struct virtq_elem - one descriptor chain popped from the avail ring.
 * @iov[0 .. out_num) are device-readable segments, @iov[out_num ..
 * out_num + in_num) device-writable ones; each iov points into guest RAM and
 * was checked to lie wholly inside one RAM region. @out_len/@in_len are the
 * byte totals of each direction.
 */
struct virtq_elem {
	uint16_t head;
	unsigned out_num;
	unsigned in_num;
	uint64_t out_len;
	uint64_t in_len;
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/* virtq_init - a disabled queue of at most @max_size (power of two <= VIRTQ_MAX_SIZE). */
void virtq_init(struct virtq *vq, const struct gmem *gm, uint16_t max_size);

/* virtq_reset - back to the power-on state (disabled, size = max_size, no vector). */
void virtq_reset(struct virtq *vq);

/*
 * virtq_ready - true when the queue is enabled, not broken, and its three
 * rings (desc 16*size bytes at 16-byte alignment, avail 6+2*size at 2, used
 * 6+8*size at 4; §2.7) lie in guest RAM.
 */
bool virtq_ready(const struct virtq *vq);

/*
 * virtq_pop - take the next available chain into @elem.
 * Returns 1 with @elem filled, 0 when the ring is empty, or -EINVAL when the
 * driver broke a rule (the queue is then marked broken and the reason logged,
 * rate-limited; the caller should set NEEDS_RESET). Never touches memory
 * outside guest RAM whatever the ring holds.
 */
int virtq_pop(struct virtq *vq, struct virtq_elem *elem);

/* virtq_unpop - give back the chain popped last (e.g. no host data yet). */
void virtq_unpop(struct virtq *vq);

/*
 * virtq_push - put @head with @len written bytes on the used ring (§2.7.8)
 * and publish the new used idx. Returns 0, or -EINVAL (queue marked broken)
 * when the used ring is no longer in RAM.
 */
int virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * virtq_push_many - put @n chains (@heads[i] with @lens[i] written bytes) on
 * the used ring and publish the new used idx once, so the driver sees all of
 * them together (a merged receive packet, §5.1.6.4.2). Returns 0 or -EINVAL
 * (queue marked broken) as virtq_push.
 */
int virtq_push_many(struct virtq *vq, const uint16_t *heads, const uint32_t *lens, unsigned n);

/*
 * virtq_should_notify - after one or more pushes: does the driver want an
 * interrupt now? Honours VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with
 * VIRTIO_F_RING_EVENT_IDX (§2.7.10). Updates the EVENT_IDX bookkeeping, so
 * call it once per batch and send the interrupt when it returns true.
 */
bool virtq_should_notify(struct virtq *vq);

/*
 * virtq_publish_avail_event - with EVENT_IDX, ask the driver to notify once
 * it makes the next buffer available (writes avail_event = last_avail_idx).
 */
void virtq_publish_avail_event(struct virtq *vq);

/* virtq_has_avail - true when the driver has made chains available we have not popped. */
bool virtq_has_avail(struct virtq *vq);

/*
 * virtq_iov_to_buf / virtq_buf_to_iov - copy between a linear buffer and a
 * segment list starting @skip bytes in; return the bytes copied (less than
 * @len when the segments end first).
 */
size_t virtq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t virtq_buf_to_iov(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
			size_t len);

/*
 * virtq_iov_slice - the bytes [skip, skip + len) of @iov/@n as a new list in
 * @out (at most @max entries). Returns the entries used; the slice is shorter
 * than @len when @iov ends first.
 */
unsigned virtq_iov_slice(const struct iovec *iov, unsigned n, size_t skip, size_t len,
			 struct iovec *out, unsigned max);

#endif
