/*
 * blk_engine.h — private to src/backends/blk: the request record and the small
 * vtable an I/O engine (io_uring, thread pool) implements for blk_backend.c.
 */
#ifndef VMON_BACKENDS_BLK_BLK_ENGINE_H
#define VMON_BACKENDS_BLK_BLK_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backends/blk/blk_backend.h"

/*
 * struct blk_req - the backend's record of one submitted blk_io. iov[] is a
 * private copy of the caller's segments that the engines advance in place when
 * a transfer comes back short.
 */
struct blk_req {
	struct blk_io *io;
	struct blk_req *next; /* pending / done list link */
	uint64_t done_bytes; /* bytes transferred so far (READ/WRITE/zero writes) */
	int result; /* final result, set by the engine */
	bool zero_by_write; /* WRITE_ZEROES being done by writing zero buffers */
	unsigned iov_first; /* first segment not yet fully transferred */
	unsigned iovcnt;
	struct iovec iov[];
};

struct blk_engine_ops {
	const char *name;
	/* init - set up b->engine; completions are signalled on b->event_fd. 0 or -errno. */
	int (*init)(struct blk_backend *b);
	/* start - begin @r; called with b->lock held. 0, -EBUSY when full, or -errno. */
	int (*start)(struct blk_backend *b, struct blk_req *r);
	/*
	 * reap - move every finished request (r->result set) onto *@done and
	 * return how many; called with b->lock held, never blocks.
	 */
	unsigned (*reap)(struct blk_backend *b, struct blk_req **done);
	/* kick - hand over what start() queued while plugged; b->lock held. May be NULL. */
	void (*kick)(struct blk_backend *b);
	/* fini - tear down; nothing is in flight any more. */
	void (*fini)(struct blk_backend *b);
};

struct blk_backend {
	int fd;
	int event_fd; /* completions waiting */
	bool read_only;
	bool is_blockdev;
	uint64_t size_bytes;
	struct evloop *el;
	const struct blk_engine_ops *ops;
	void *engine;

	pthread_mutex_t lock; /* everything below */
	struct blk_req *pending_head, *pending_tail; /* accepted, not yet started */
	struct blk_req *failed; /* could not start: completed with an error at next poll */
	unsigned inflight; /* started, not yet reaped */
	unsigned plugged; /* blk_backend_plug() depth */
	bool closing;
	bool no_zero_range; /* FALLOC_FL_ZERO_RANGE refused once: write zeroes instead */
	bool no_punch_hole; /* FALLOC_FL_PUNCH_HOLE refused once: discard is a no-op */
};

extern const struct blk_engine_ops blk_engine_uring;
extern const struct blk_engine_ops blk_engine_threads;

/* blk_engine_signal - make b->event_fd readable. Any thread. */
void blk_engine_signal(struct blk_backend *b);

/*
 * blk_req_advance - account @n more bytes transferred on @r: bumps done_bytes
 * and moves iov_first/iov[] past what was done. Returns true when the request
 * still has bytes left.
 */
bool blk_req_advance(struct blk_req *r, uint64_t n);

/*
 * blk_req_zero_iov - point @iov (up to @max segments) at a shared zero buffer
 * covering the next part of a zero-writing request; returns the segment count.
 */
unsigned blk_req_zero_iov(const struct blk_req *r, struct iovec *iov, unsigned max);

/*
 * blk_req_run_sync - perform @r to the end with blocking system calls
 * (preadv/pwritev continued on short transfers, fdatasync, fallocate with the
 * write-zeroes fallback). Returns the request's final result. Thread-safe:
 * the fallback flags are read and set under b->lock.
 */
int blk_req_run_sync(struct blk_backend *b, struct blk_req *r);

#endif
