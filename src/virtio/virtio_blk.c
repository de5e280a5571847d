/* virtio_blk.c — virtio block device (§5.2): defensive request parsing over a host block backend.
 */
#include "virtio/virtio_blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "util/compiler.h"
#include "util/token_bucket.h"

#define SECTOR 512ull
#define HDR_LEN sizeof(struct virtio_blk_outhdr) /* 16 */

struct virtio_blk {
	struct virtio_dev vdev;
	struct virtio_blk_backend be;
	bool read_only;
	uint64_t capacity_sectors;
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config cfg;
	uint32_t generation; /* bumped on reset: completions of older requests are dropped */
	unsigned inflight;
	/*
	 * Requests of generations before @settled_gen that a reset let the backend settle: they
	 * move no more data and only their dropped completions are still to come. Not in @inflight.
	 */
	uint32_t settled_gen;
	unsigned settled;
	bool throttled; /* stopped popping at the in-flight cap; resume on a completion */
	/* Finished requests kept for reuse (each is ~33 KiB: malloc'ing one per I/O showed up in
	 * profiles). At most BLK_REQ_CACHE, linked through next_free. */
	struct blk_req *free_reqs;
	unsigned nr_free;
	/* The READ or WRITE being collected during one queue walk: later requests that continue it
	 * on the disk are merged into it (see submit()). NULL outside a walk. */
	struct blk_req *batch;
	struct blk_req *spare; /* allocated, not yet holding a chain */
	struct rate_limiter limit; /* Firecracker's drive rate_limiter: bytes and requests */
	uint64_t limited; /* requests held back by it (a counter, for tests and metrics) */
};

#define BLK_REQ_CACHE 16
/* Most bytes one merged READ or WRITE may carry. */
#define BLK_MERGE_MAX_BYTES (4u << 20)

struct blk_req {
	struct virtio_blk *blk;
	struct blk_req *next_free; /* in blk->free_reqs */
	struct blk_req *merged; /* requests merged into this one's I/O, in ring order */
	struct blk_req **merged_tail;
	uint32_t generation;
	uint8_t *status; /* the last device-writable byte, in guest RAM */
	uint32_t used_len; /* bytes written on success, status included */
	struct virtio_blk_io io;
	struct iovec data[VIRTQ_MAX_SEGS];
	struct virtq_elem elem;
};

static struct virtio_blk *to_blk(struct virtio_dev *vdev)
{
	return container_of(vdev, struct virtio_blk, vdev);
}

/* A request record, from the cache when it has one. Lock held. */
static struct blk_req *req_alloc(struct virtio_blk *blk)
{
	struct blk_req *req = blk->free_reqs;

	if (!req)
		return malloc(sizeof(*req));
	blk->free_reqs = req->next_free;
	blk->nr_free--;
	return req;
}

/* Give @req back: into the cache, or to the allocator when the cache is full. Lock held. */
static void req_free(struct virtio_blk *blk, struct blk_req *req)
{
	if (blk->nr_free >= BLK_REQ_CACHE) {
		free(req);
		return;
	}
	req->next_free = blk->free_reqs;
	blk->free_reqs = req;
	blk->nr_free++;
}

/* Finish @req with @status: write the status byte, return the chain, interrupt. Lock held. */
static void req_finish(struct blk_req *req, uint8_t status, uint32_t used_len)
{
	struct virtio_blk *blk = req->blk;

	if (req->generation == blk->generation && virtio_dev_running(&blk->vdev)) {
		if (req->status)
			*req->status = status;
		if (!virtq_push(&blk->vdev.vqs[0], req->elem.head, req->status ? used_len : 0))
			virtio_dev_used(&blk->vdev, 0);
	}
	req_free(blk, req);
}

static void blk_queue_notify(struct virtio_dev *vdev, unsigned q);

static void req_complete(struct virtio_blk_io *io, int result)
{
	struct blk_req *req = io->opaque;
	struct virtio_blk *blk = req->blk;
	bool ok;

	virtio_dev_lock(&blk->vdev);
	ok = result >= 0 && (io->op != VIRTIO_BLK_OP_READ && io->op != VIRTIO_BLK_OP_WRITE
				     ? true
				     : (uint64_t)result == io->len_bytes);
	/* @req and the requests merged into its I/O share its result */
	while (req) {
		struct blk_req *next = req->merged;

		if ((int32_t)(req->generation - blk->settled_gen) < 0)
			blk->settled--;
		else
			blk->inflight--;
		req_finish(req, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, ok ? req->used_len : 1);
		req = next;
	}
	if (blk->throttled) {
		blk->throttled = false;
		blk_queue_notify(&blk->vdev, 0);
	}
	virtio_dev_unlock(&blk->vdev);
}

/* [sector, sector + bytes/512) inside the disk? Overflow-checked. */
static bool range_ok(const struct virtio_blk *blk, uint64_t sector, uint64_t bytes,
		     uint64_t *offset)
{
	uint64_t end;

	if (__builtin_mul_overflow(sector, SECTOR, offset) ||
	    __builtin_add_overflow(*offset, bytes, &end))
		return false;
	return end <= blk->capacity_sectors * SECTOR;
}

/* Hand @req's I/O (and whatever was merged into it) to the backend. Lock held. */
static void start_io(struct virtio_blk *blk, struct blk_req *req)
{
	if (blk->be.submit(blk->be.opaque, &req->io) < 0) {
		while (req) {
			struct blk_req *next = req->merged;

			blk->inflight--;
			req_finish(req, VIRTIO_BLK_S_IOERR, 1);
			req = next;
		}
	}
}

/* Start the READ/WRITE collected so far in this queue walk, if any. Lock held. */
static void batch_flush(struct virtio_blk *blk)
{
	struct blk_req *req = blk->batch;

	blk->batch = NULL;
	if (req)
		start_io(blk, req);
}

/*
 * Start @req's I/O. A READ or WRITE that continues, on the disk, the READ or WRITE collected
 * earlier in the same queue walk is merged into it (its segments appended to the first one's,
 * while they fit): a guest splits a large sequential transfer into several requests (seg_max),
 * and one host I/O for all of them saves system calls and, with io_uring, worker hand-offs. The
 * merged requests complete together, in ring order, with the result of the whole. Anything else
 * first starts the collected I/O, so the backend sees requests in ring order (a FLUSH covers the
 * writes made available before it). Lock held.
 */
static void submit(struct blk_req *req, enum virtio_blk_op op, uint64_t offset, uint64_t len,
		   unsigned iovcnt)
{
	struct virtio_blk *blk = req->blk;
	struct blk_req *b = blk->batch;
	bool rw = op == VIRTIO_BLK_OP_READ || op == VIRTIO_BLK_OP_WRITE;

	req->io = (struct virtio_blk_io){ .op = op,
					  .offset_bytes = offset,
					  .len_bytes = len,
					  .iov = req->data,
					  .iovcnt = iovcnt,
					  .complete = req_complete,
					  .opaque = req };
	req->merged = NULL;
	req->merged_tail = &req->merged;
	blk->inflight++;
	if (rw && b && b->io.op == op && b->io.offset_bytes + b->io.len_bytes == offset &&
	    b->io.iovcnt + iovcnt <= VIRTQ_MAX_SEGS &&
	    b->io.len_bytes + len <= BLK_MERGE_MAX_BYTES) {
		memcpy(b->data + b->io.iovcnt, req->data, iovcnt * sizeof(req->data[0]));
		b->io.iovcnt += iovcnt;
		b->io.len_bytes += len;
		*b->merged_tail = req;
		b->merged_tail = &req->merged;
		return;
	}
	batch_flush(blk);
	if (rw)
		blk->batch = req;
	else
		start_io(blk, req);
}

/* Parse one popped request and start it (or finish it at once). Lock held. */
static void handle_request(struct virtio_blk *blk, struct blk_req *req)
{
	struct virtq_elem *e = &req->elem;
	struct iovec *in = e->iov + e->out_num;
	struct virtio_blk_outhdr hdr;
	uint64_t data_len, offset;
	unsigned n;

	/* §5.2.6.2: the status is the last byte the device may write. */
	if (e->in_num == 0) {
		log_guest(&blk->vdev.rl, "%s: request without a writable status byte",
			  blk->vdev.name);
		req->status = NULL;
		req_finish(req, 0, 0);
		return;
	}
	req->status = (uint8_t *)in[e->in_num - 1].iov_base + in[e->in_num - 1].iov_len - 1;
	if (virtq_iov_to_buf(e->iov, e->out_num, 0, &hdr, HDR_LEN) != HDR_LEN) {
		log_guest(&blk->vdev.rl, "%s: request header shorter than 16 bytes",
			  blk->vdev.name);
		req_finish(req, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	data_len = e->in_len - 1; /* writable bytes before the status */

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
		if (data_len % SECTOR || !range_ok(blk, hdr.sector, data_len, &offset))
			break;
		n = virtq_iov_slice(in, e->in_num, 0, data_len, req->data, VIRTQ_MAX_SEGS);
		req->used_len = (uint32_t)(data_len + 1);
		submit(req, VIRTIO_BLK_OP_READ, offset, data_len, n);
		return;
	case VIRTIO_BLK_T_OUT:
		data_len = e->out_len - HDR_LEN;
		if (blk->read_only || data_len % SECTOR ||
		    !range_ok(blk, hdr.sector, data_len, &offset))
			break;
		n = virtq_iov_slice(e->iov, e->out_num, HDR_LEN, data_len, req->data,
				    VIRTQ_MAX_SEGS);
		req->used_len = 1;
		submit(req, VIRTIO_BLK_OP_WRITE, offset, data_len, n);
		return;
	case VIRTIO_BLK_T_FLUSH:
		if (!virtio_dev_has(&blk->vdev, VIRTIO_BLK_F_FLUSH)) {
			req_finish(req, VIRTIO_BLK_S_UNSUPP, 1);
			return;
		}
		req->used_len = 1;
		submit(req, VIRTIO_BLK_OP_FLUSH, 0, 0, 0);
		return;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t l = data_len < VIRTIO_BLK_ID_BYTES ? data_len : VIRTIO_BLK_ID_BYTES;

		virtq_buf_to_iov(in, e->in_num, 0, blk->serial, (size_t)l);
		req_finish(req, VIRTIO_BLK_S_OK, (uint32_t)l + 1);
		return;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		bool discard = hdr.type == VIRTIO_BLK_T_DISCARD;
		struct virtio_blk_discard_write_zeroes seg;
		uint64_t max =
			discard ? blk->cfg.max_discard_sectors : blk->cfg.max_write_zeroes_sectors;
		uint32_t allowed = discard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;

		if (!virtio_dev_has(&blk->vdev,
				    discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES)) {
			req_finish(req, VIRTIO_BLK_S_UNSUPP, 1);
			return;
		}
		/* One segment (max_*_seg = 1), §5.2.6.2. */
		if (e->out_len - HDR_LEN != sizeof(seg) ||
		    virtq_iov_to_buf(e->iov, e->out_num, HDR_LEN, &seg, sizeof(seg)) != sizeof(seg))
			break;
		if (seg.flags & ~allowed) {
			req_finish(req, VIRTIO_BLK_S_UNSUPP, 1);
			return;
		}
		if (blk->read_only || seg.num_sectors > max ||
		    !range_ok(blk, seg.sector, (uint64_t)seg.num_sectors * SECTOR, &offset))
			break;
		req->used_len = 1;
		submit(req, discard ? VIRTIO_BLK_OP_DISCARD : VIRTIO_BLK_OP_WRITE_ZEROES, offset,
		       (uint64_t)seg.num_sectors * SECTOR, 0);
		return;
	}
	default:
		req_finish(req, VIRTIO_BLK_S_UNSUPP, 1);
		return;
	}
	log_guest(&blk->vdev.rl, "%s: bad request (type %u, sector %llu)", blk->vdev.name, hdr.type,
		  (unsigned long long)hdr.sector);
	req_finish(req, VIRTIO_BLK_S_IOERR, 1);
}

/*
 * Where the next request goes: the spare request, taken from the cache (or
 * allocated) when none is spare; NULL stops the queue without popping. Lock
 * held.
 */
static struct virtq_elem *blk_elem(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = to_blk(vdev);

	if (!virtio_dev_running(vdev))
		return NULL;
	/*
	 * A guest may make the same head available again and again without
	 * waiting for it to be used: cap what is in flight at the queue size so
	 * it cannot make us allocate without bound; the next completion resumes.
	 */
	if (blk->inflight >= vdev->vqs[0].size) {
		blk->throttled = true;
		return NULL;
	}
	if (!blk->spare)
		blk->spare = req_alloc(blk);
	/* Host out of memory: try again at the next kick. */
	return blk->spare ? &blk->spare->elem : NULL;
}

/*
 * What the rate limiter charges a request: its data bytes for a read or a
 * write (as the guest laid them out; a malformed request is charged what it
 * claims and fails later), nothing for the others; one op for each.
 */
static uint64_t blk_request_bytes(const struct virtq_elem *e)
{
	struct virtio_blk_outhdr hdr;

	if (virtq_iov_to_buf(e->iov, e->out_num, 0, &hdr, HDR_LEN) != HDR_LEN)
		return 0;
	if (hdr.type == VIRTIO_BLK_T_IN && e->in_len > 0)
		return e->in_len - 1;
	if (hdr.type == VIRTIO_BLK_T_OUT)
		return e->out_len - HDR_LEN;
	return 0;
}

/*
 * The spare request got a chain: it is in flight now, the next one needs
 * another. A request the rate limiter holds back goes back on the ring
 * (the spare keeps its record) and the transport runs the queue again when
 * the buckets allow it.
 */
static enum virtio_chain blk_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				   uint32_t *used_len)
{
	struct virtio_blk *blk = to_blk(vdev);
	struct blk_req *req = container_of(e, struct blk_req, elem);

	(void)used_len;
	if (rate_limiter_active(&blk->limit)) {
		uint64_t wait =
			rate_limiter_consume(&blk->limit, blk_request_bytes(e), monotonic_ns());

		if (wait) {
			virtq_unpop(&vdev->vqs[0]);
			blk->limited++;
			if (!vdev->transport.requeue_after ||
			    !vdev->transport.requeue_after(vdev->transport.opaque, vdev, 0, wait))
				log_guest(&vdev->rl, "%s: cannot schedule the rate-limited queue",
					  vdev->name);
			return VIRTIO_CHAIN_STOP;
		}
	}
	blk->spare = NULL;
	req->blk = blk;
	req->generation = blk->generation;
	req->status = NULL;
	req->used_len = 1;
	handle_request(blk, req);
	return VIRTIO_CHAIN_KEPT;
}

static const struct virtio_drain_ops blk_drain_ops = { .elem = blk_elem, .chain = blk_chain };

static void blk_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	struct virtio_blk *blk = to_blk(vdev);

	(void)q;
	if (blk->be.plug)
		blk->be.plug(blk->be.opaque, true);
	virtio_dev_drain(vdev, 0, &blk_drain_ops);
	batch_flush(blk);
	if (blk->be.plug)
		blk->be.plug(blk->be.opaque, false);
}

static void blk_config_read(struct virtio_dev *vdev, uint32_t offset, void *buf, uint32_t len)
{
	memcpy(buf, (uint8_t *)&to_blk(vdev)->cfg + offset, len);
}

static unsigned blk_inflight_op(struct virtio_dev *vdev)
{
	return to_blk(vdev)->inflight;
}

/*
 * Device reset (driver status 0, or the VM's reset through the transport), device lock held.
 * Completions of requests started before are dropped by the generation check, so they no longer
 * touch the rings; settling the backend here also makes sure that no read still in flight writes
 * into guest memory the driver may reuse once the reset is over (§2.4.2). The settled requests'
 * completions come later, on the event loop, and only count down @settled.
 */
static void blk_reset(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = to_blk(vdev);

	blk->generation++;
	blk->throttled = false;
	if (blk->inflight && blk->be.settle) {
		blk->be.settle(blk->be.opaque);
		blk->settled += blk->inflight;
		blk->inflight = 0;
		blk->settled_gen = blk->generation;
	}
}

static void blk_destroy(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = to_blk(vdev);

	/* In-flight requests (if any) are dropped by the generation check; the VM closes the
	 * backend first. */
	free(blk->spare);
	while (blk->free_reqs) {
		struct blk_req *req = blk->free_reqs;

		blk->free_reqs = req->next_free;
		free(req);
	}
	virtio_dev_fini(vdev);
	free(blk);
}

static void blk_save(struct virtio_dev *vdev, struct state_writer *w)
{
	/* Requests in flight are not saved: the VM drains the backend before saving. */
	state_put_u64(w, to_blk(vdev)->capacity_sectors);
}

static int blk_load(struct virtio_dev *vdev, struct state_reader *r)
{
	uint64_t cap = state_get_u64(r);

	if (state_error(r) || cap != to_blk(vdev)->capacity_sectors)
		return -EINVAL;
	return 0;
}

/*
 * After a load: run the queue once, so that requests the guest made available before the
 * snapshot (one a rate limiter held back, or whose kick was still on its way) do not wait for
 * a kick that already came.
 */
static void blk_loaded(struct virtio_dev *vdev)
{
	if (virtio_dev_running(vdev) && vdev->transport.requeue)
		vdev->transport.requeue(vdev->transport.opaque, vdev, 0);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.config_len = sizeof(struct virtio_blk_config),
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.inflight = blk_inflight_op,
	.save = blk_save,
	.load = blk_load,
	.loaded = blk_loaded,
	.destroy = blk_destroy,
};

int virtio_blk_create(struct virtio_dev **out, const struct gmem *gm,
		      const struct virtio_blk_backend *be, bool read_only, const char *serial)
{
	struct virtio_blk *blk;
	uint64_t features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_SIZE_MAX) |
			    (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH);
	int rc;

	if (!be || !be->submit)
		return -EINVAL;
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return -ENOMEM;
	if (read_only)
		features |= 1ull << VIRTIO_BLK_F_RO;
	else
		features |= (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	rc = virtio_dev_init(&blk->vdev, &blk_ops, gm, "virtio-blk", features, 1,
			     VIRTIO_BLK_QUEUE_SIZE);
	if (rc) {
		free(blk);
		return rc;
	}
	blk->be = *be;
	blk->read_only = read_only;
	blk->capacity_sectors = be->size_bytes / SECTOR;
	if (serial)
		memcpy(blk->serial, serial, strnlen(serial, sizeof(blk->serial)));
	blk->cfg.capacity = blk->capacity_sectors;
	blk->cfg.size_max = VIRTIO_BLK_SIZE_MAX;
	blk->cfg.seg_max = VIRTIO_BLK_SEG_MAX;
	blk->cfg.blk_size = SECTOR;
	blk->cfg.num_queues = 1;
	blk->cfg.max_discard_sectors = UINT32_MAX / SECTOR;
	blk->cfg.max_discard_seg = 1;
	blk->cfg.discard_sector_alignment = 1;
	blk->cfg.max_write_zeroes_sectors = UINT32_MAX / SECTOR;
	blk->cfg.max_write_zeroes_seg = 1;
	blk->cfg.write_zeroes_may_unmap = 1;
	*out = &blk->vdev;
	return 0;
}

int virtio_blk_replace(struct virtio_dev *vdev, const struct virtio_blk_backend *be)
{
	struct virtio_blk *blk = to_blk(vdev);

	if (!be || !be->submit)
		return -EINVAL;
	virtio_dev_lock(vdev);
	if (blk->inflight && !blk->be.settle) {
		/* a backend that cannot settle still holds requests: they must end on it */
		virtio_dev_unlock(vdev);
		return -EBUSY;
	}
	/* the old backend's requests finish their transfers; their completions come when it closes
	 */
	if (blk->inflight || blk->settled)
		blk->be.settle(blk->be.opaque);
	blk->be = *be;
	blk->capacity_sectors = be->size_bytes / SECTOR;
	blk->cfg.capacity = blk->capacity_sectors;
	/* §5.2.2: the driver rereads the capacity on a configuration change */
	virtio_dev_config_changed(vdev);
	virtio_dev_unlock(vdev);
	if (vdev->transport.requeue)
		vdev->transport.requeue(vdev->transport.opaque, vdev, 0);
	return 0;
}

uint64_t virtio_blk_capacity(struct virtio_dev *vdev)
{
	uint64_t n;

	virtio_dev_lock(vdev);
	n = to_blk(vdev)->capacity_sectors;
	virtio_dev_unlock(vdev);
	return n;
}

int virtio_blk_set_rate_limit(struct virtio_dev *vdev, const struct rate_limit_config *c)
{
	struct virtio_blk *blk = to_blk(vdev);

	virtio_dev_lock(vdev);
	rate_limiter_init(&blk->limit, c, monotonic_ns());
	virtio_dev_unlock(vdev);
	/* Requests the old limits held back may go now: run the queue once. */
	if (vdev->transport.requeue)
		vdev->transport.requeue(vdev->transport.opaque, vdev, 0);
	return 0;
}

uint64_t virtio_blk_limited(struct virtio_dev *vdev)
{
	uint64_t n;

	virtio_dev_lock(vdev);
	n = to_blk(vdev)->limited;
	virtio_dev_unlock(vdev);
	return n;
}

unsigned virtio_blk_inflight(struct virtio_dev *vdev)
{
	unsigned n;

	virtio_dev_lock(vdev);
	n = to_blk(vdev)->inflight;
	virtio_dev_unlock(vdev);
	return n;
}
