/*
 * blk_uring.c — the io_uring block engine: one SQE per request at a time
 * (readv/writev, fsync with DATASYNC, fallocate), completions signalled on the
 * backend's eventfd through io_uring_register_eventfd. Short transfers and the
 * write-zeroes fallback are continued by resubmitting from reap().
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backends/blk/blk_engine.h"
#include "util/log.h"

#define BLK_URING_DEPTH 64

struct blk_uring {
	struct io_uring ring;
	unsigned busy; /* SQEs submitted, CQE not yet seen */
	bool submit_pending; /* SQEs queued while plugged, or a failed submit to retry */
};

static void uring_fini(struct blk_backend *b)
{
	struct blk_uring *u = b->engine;

	if (!u)
		return;
	io_uring_queue_exit(&u->ring);
	free(u);
	b->engine = NULL;
}

static int uring_init(struct blk_backend *b)
{
	struct io_uring_probe *probe;
	struct blk_uring *u;
	bool ok;
	int ret;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	ret = io_uring_queue_init(BLK_URING_DEPTH, &u->ring, 0);
	if (ret < 0) {
		free(u);
		return ret;
	}
	b->engine = u;
	/* readv/writev/fsync exist since 5.1; fallocate since 5.6. */
	probe = io_uring_get_probe_ring(&u->ring);
	ok = probe && io_uring_opcode_supported(probe, IORING_OP_READV) &&
	     io_uring_opcode_supported(probe, IORING_OP_WRITEV) &&
	     io_uring_opcode_supported(probe, IORING_OP_FSYNC) &&
	     io_uring_opcode_supported(probe, IORING_OP_FALLOCATE) &&
	     io_uring_opcode_supported(probe, IORING_OP_NOP);
	if (probe)
		io_uring_free_probe(probe);
	if (!ok) {
		uring_fini(b);
		return -EOPNOTSUPP;
	}
	ret = io_uring_register_eventfd(&u->ring, b->event_fd);
	if (ret < 0) {
		uring_fini(b);
		return ret;
	}
	return 0;
}

static void submit(struct blk_uring *u)
{
	int ret = io_uring_submit(&u->ring);

	/*
	 * On failure the SQEs stay queued in the ring and go with the next
	 * successful submit; reap() retries.
	 */
	u->submit_pending = ret < 0;
	if (ret < 0 && ret != -EAGAIN && ret != -EBUSY && ret != -EINTR)
		log_error("blk: io_uring_submit: %s", strerror(-ret));
}

/* Prepare the next SQE for @r (its first, or a continuation). */
static void prep(struct blk_backend *b, struct io_uring_sqe *sqe, struct blk_req *r)
{
	const struct blk_io *io = r->io;
	uint64_t off = io->offset_bytes + r->done_bytes;
	unsigned cnt = r->iovcnt - r->iov_first;

	if (cnt > IOV_MAX)
		cnt = IOV_MAX;
	switch (io->op) {
	case BLK_OP_READ:
		io_uring_prep_readv(sqe, b->fd, r->iov + r->iov_first, cnt, off);
		break;
	case BLK_OP_WRITE:
		io_uring_prep_writev(sqe, b->fd, r->iov + r->iov_first, cnt, off);
		break;
	case BLK_OP_FLUSH:
		/*
		 * blk_backend.c starts a FLUSH only when nothing else is in
		 * flight, so no IOSQE_IO_DRAIN is needed to order it after
		 * earlier writes (and later requests need not wait for it).
		 */
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	case BLK_OP_DISCARD:
		if (b->no_punch_hole)
			io_uring_prep_nop(sqe);
		else
			io_uring_prep_fallocate(sqe, b->fd,
						FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						io->offset_bytes, io->len_bytes);
		break;
	case BLK_OP_WRITE_ZEROES:
		if (b->no_zero_range)
			r->zero_by_write = true;
		if (r->zero_by_write) {
			cnt = blk_req_zero_iov(r, r->iov, r->iovcnt);
			io_uring_prep_writev(sqe, b->fd, r->iov, cnt, off);
		} else {
			io_uring_prep_fallocate(sqe, b->fd,
						FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
						io->offset_bytes, io->len_bytes);
		}
		break;
	}
	io_uring_sqe_set_data(sqe, r);
}

static int uring_start(struct blk_backend *b, struct blk_req *r)
{
	struct blk_uring *u = b->engine;
	struct io_uring_sqe *sqe;

	if (u->busy >= BLK_URING_DEPTH)
		return -EBUSY;
	sqe = io_uring_get_sqe(&u->ring);
	if (!sqe)
		return -EBUSY;
	prep(b, sqe, r);
	u->busy++;
	if (b->plugged)
		u->submit_pending = true;
	else
		submit(u);
	return 0;
}

static void uring_kick(struct blk_backend *b)
{
	struct blk_uring *u = b->engine;

	if (u->submit_pending)
		submit(u);
}

/*
 * Account one CQE for @r. Returns true when @r is finished (r->result set),
 * false when it was resubmitted to continue.
 */
static bool finish_or_continue(struct blk_backend *b, struct blk_req *r, int res)
{
	const struct blk_io *io = r->io;
	bool transfer = io->op == BLK_OP_READ || io->op == BLK_OP_WRITE || r->zero_by_write;

	if (transfer) {
		if (res == -EINTR || res == -EAGAIN)
			goto again;
		if (res < 0) {
			r->result = res;
			return true;
		}
		if (res == 0) {
			r->result = -EIO; /* end of file inside the image: it shrank under us */
			return true;
		}
		if (blk_req_advance(r, (uint64_t)res))
			goto again;
		r->result = io->op == BLK_OP_WRITE_ZEROES ? 0 : (int)io->len_bytes;
		return true;
	}
	switch (io->op) {
	case BLK_OP_DISCARD:
		if (res == -EOPNOTSUPP || res == -ENOSYS) {
			/* Discard is only a hint (virtio 1.2 §5.2.6.1): doing nothing is allowed.
			 */
			b->no_punch_hole = true;
			res = 0;
		}
		break;
	case BLK_OP_WRITE_ZEROES:
		if (res == -EOPNOTSUPP || res == -ENOSYS || res == -EINVAL) {
			/* e.g. tmpfs has no FALLOC_FL_ZERO_RANGE: write zeroes, and remember. */
			b->no_zero_range = true;
			r->zero_by_write = true;
			goto again;
		}
		break;
	default:
		break;
	}
	if (res == -EINTR)
		goto again;
	r->result = res > 0 ? 0 : res;
	return true;
again:
	/* The CQE just seen freed a slot, so start() cannot be out of room. */
	res = uring_start(b, r);
	if (res < 0) {
		r->result = res;
		return true;
	}
	return false;
}

static unsigned uring_reap(struct blk_backend *b, struct blk_req **done)
{
	struct blk_uring *u = b->engine;
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	if (u->submit_pending && !b->plugged)
		submit(u);
	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		struct blk_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		u->busy--;
		if (finish_or_continue(b, r, res)) {
			r->next = *done;
			*done = r;
			n++;
		}
	}
	return n;
}

const struct blk_engine_ops blk_engine_uring = {
	.name = "io_uring",
	.init = uring_init,
	.start = uring_start,
	.reap = uring_reap,
	.kick = uring_kick,
	.fini = uring_fini,
};
