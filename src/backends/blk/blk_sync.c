/* blk_sync.c — request bookkeeping shared by the engines, and blocking execution for the thread
 * pool. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backends/blk/blk_engine.h"
#include "util/compiler.h"

#define BLK_ZERO_CHUNK_BYTES (64u * 1024)

/* Source of the zero writes that emulate WRITE_ZEROES; only ever read. */
static const char blk_zero_buf[BLK_ZERO_CHUNK_BYTES];

bool blk_req_advance(struct blk_req *r, uint64_t n)
{
	r->done_bytes += n;
	if (!r->zero_by_write) {
		while (r->iov_first < r->iovcnt) {
			struct iovec *v = &r->iov[r->iov_first];

			if (n < v->iov_len) {
				v->iov_base = (char *)v->iov_base + n;
				v->iov_len -= n;
				break;
			}
			n -= v->iov_len;
			v->iov_len = 0;
			r->iov_first++;
		}
	}
	return r->done_bytes < r->io->len_bytes;
}

unsigned blk_req_zero_iov(const struct blk_req *r, struct iovec *iov, unsigned max)
{
	uint64_t left = r->io->len_bytes - r->done_bytes;
	unsigned n = 0;

	while (left && n < max) {
		size_t chunk = left < BLK_ZERO_CHUNK_BYTES ? (size_t)left : BLK_ZERO_CHUNK_BYTES;

		iov[n].iov_base = (void *)blk_zero_buf;
		iov[n].iov_len = chunk;
		left -= chunk;
		n++;
	}
	return n;
}

/* Segments of @r still to transfer, capped at what one preadv/pwritev accepts. */
static int segs_left(const struct blk_req *r)
{
	unsigned n = r->iovcnt - r->iov_first;

	return n > IOV_MAX ? IOV_MAX : (int)n;
}

/* Read or write @r to its end; a short transfer is continued, a zero-byte one is -EIO. */
static int run_transfer(struct blk_backend *b, struct blk_req *r)
{
	const struct blk_io *io = r->io;

	do {
		struct iovec zero_iov[16];
		const struct iovec *iov = r->iov + r->iov_first;
		int cnt = segs_left(r);
		off_t off = (off_t)(io->offset_bytes + r->done_bytes);
		ssize_t n;

		if (r->zero_by_write) {
			cnt = (int)blk_req_zero_iov(r, zero_iov, ARRAY_SIZE(zero_iov));
			iov = zero_iov;
		}
		if (io->op == BLK_OP_READ)
			n = preadv(b->fd, iov, cnt, off);
		else
			n = pwritev(b->fd, iov, cnt, off);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* end of file inside the image: it shrank under us */
		if (!blk_req_advance(r, (uint64_t)n))
			break;
	} while (1);
	return io->op == BLK_OP_WRITE_ZEROES ? 0 : (int)io->len_bytes;
}

/* fallocate(2) with EINTR retried; 0 or -errno. */
static int do_fallocate(int fd, int mode, uint64_t off, uint64_t len)
{
	int ret;

	do {
		ret = fallocate(fd, mode, (off_t)off, (off_t)len);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

int blk_req_run_sync(struct blk_backend *b, struct blk_req *r)
{
	const struct blk_io *io = r->io;
	int ret;

	switch (io->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		return run_transfer(b, r);
	case BLK_OP_FLUSH:
		return fdatasync(b->fd) < 0 ? -errno : 0;
	case BLK_OP_DISCARD:
		if (__atomic_load_n(&b->no_punch_hole, __ATOMIC_RELAXED))
			return 0;
		ret = do_fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				   io->offset_bytes, io->len_bytes);
		if (ret == -EOPNOTSUPP || ret == -ENOSYS) {
			/* Discard is only a hint (virtio 1.2 §5.2.6.1): doing nothing is allowed.
			 */
			__atomic_store_n(&b->no_punch_hole, true, __ATOMIC_RELAXED);
			return 0;
		}
		return ret;
	case BLK_OP_WRITE_ZEROES:
		if (!__atomic_load_n(&b->no_zero_range, __ATOMIC_RELAXED)) {
			ret = do_fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					   io->offset_bytes, io->len_bytes);
			if (ret != -EOPNOTSUPP && ret != -ENOSYS && ret != -EINVAL)
				return ret;
			/* e.g. tmpfs: fall back to writing zeroes, and remember. */
			__atomic_store_n(&b->no_zero_range, true, __ATOMIC_RELAXED);
		}
		r->zero_by_write = true;
		return run_transfer(b, r);
	}
	return -EINVAL;
}
