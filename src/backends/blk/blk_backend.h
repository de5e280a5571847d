/*
 * blk_backend.h — the host side of a virtio-blk device: a raw image (regular
 * file or block device) read and written asynchronously, through io_uring when
 * the kernel allows it and a small pool of worker threads otherwise.
 *
 * Life of a request: the device fills a struct blk_io and calls
 * blk_backend_submit(). If that returns 0 the backend owns the request until it
 * calls io->complete exactly once, on the event-loop thread (or on the thread
 * calling blk_backend_poll()/blk_backend_drain() when no loop was given). If it
 * returns -errno the request was refused and complete is never called.
 */
#ifndef VMON_BACKENDS_BLK_BLK_BACKEND_H
#define VMON_BACKENDS_BLK_BLK_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct evloop;
struct blk_backend;

enum blk_op {
	BLK_OP_READ, /* fill iov from [offset, offset + len) */
	BLK_OP_WRITE, /* store iov at [offset, offset + len) */
	BLK_OP_FLUSH, /* make every completed write stable; offset/len/iov ignored */
	BLK_OP_DISCARD, /* hint: [offset, offset + len) is unused; contents then unspecified */
	BLK_OP_WRITE_ZEROES, /* [offset, offset + len) reads back as zeroes afterwards */
};

/*
 * struct blk_io - one request, owned by the caller until submitted and again
 * once complete() has run. The iov array and the memory it points to must stay
 * valid until then.
 *
 * @result passed to complete(): for READ and WRITE the byte count, always
 * len_bytes (short transfers are continued, never reported); for FLUSH,
 * DISCARD and WRITE_ZEROES 0; or -errno (-EIO, -ENOSPC, ... from the host,
 * -ECANCELED if the backend was closed before the request could start).
 */
struct blk_io {
	enum blk_op op;
	uint64_t offset_bytes;
	uint64_t len_bytes;
	struct iovec *iov; /* READ/WRITE only: total length must equal len_bytes */
	unsigned iovcnt;
	void (*complete)(struct blk_io *io, int result /* bytes or -errno */);
	void *opaque; /* the caller's; the backend never touches it */
};

/* Which engine performs the I/O. */
enum blk_engine_kind {
	BLK_ENGINE_AUTO, /* io_uring, else threads; VMON_BLK_ENGINE=uring|threads overrides */
	BLK_ENGINE_URING, /* io_uring only: open fails when it is unavailable */
	BLK_ENGINE_THREADS, /* worker threads with preadv/pwritev/fdatasync */
};

/*
 * blk_backend_open - open the image at @path (O_RDONLY when @read_only, else
 * O_RDWR; always O_CLOEXEC) with the automatic engine choice. The image must be
 * a regular file or a block device. When @el is not NULL the completion eventfd
 * is watched by that loop and callbacks run on its thread; with @el == NULL the
 * caller drives completions with blk_backend_poll().
 * Returns 0 and sets *@out, or -errno with a one-line reason in @err
 * (missing file, permission denied, read-only file opened read-write, not a
 * file or block device, ...). Call from any thread before I/O starts.
 */
int blk_backend_open(struct blk_backend **out, const char *path, bool read_only, struct evloop *el,
		     char *err, size_t err_len);

/* blk_backend_open_engine - blk_backend_open() with an explicit engine choice. */
int blk_backend_open_engine(struct blk_backend **out, const char *path, bool read_only,
			    struct evloop *el, enum blk_engine_kind engine, char *err,
			    size_t err_len);

/*
 * blk_backend_open_unlocked - blk_backend_open() without the image's lock
 * (one writer or many readers): for a migration's destination, which opens
 * the image its source still holds, and takes the lock with
 * blk_backend_lock() at the hand-over, before the guest runs here.
 */
int blk_backend_open_unlocked(struct blk_backend **out, const char *path, bool read_only,
			      struct evloop *el, char *err, size_t err_len);

/*
 * blk_backend_lock / blk_backend_unlock - take the lock blk_backend_open()
 * takes (0, or -EBUSY with one line naming @path and the holder in @err) /
 * drop it (a migration's source, handing the image over). Any thread.
 */
int blk_backend_lock(struct blk_backend *b, const char *path, char *err, size_t err_len);
void blk_backend_unlock(struct blk_backend *b);

/* blk_backend_sync - fdatasync(2) the image: what completed is on stable storage. 0 or -errno. */
int blk_backend_sync(struct blk_backend *b);

/* blk_backend_size_bytes - the image size, fixed at open time. Any thread. */
uint64_t blk_backend_size_bytes(struct blk_backend *b);

/* blk_backend_read_only - true when the image was opened read-only. */
bool blk_backend_read_only(struct blk_backend *b);

/* blk_backend_engine_name - "io_uring" or "threads", for logs and tests. */
const char *blk_backend_engine_name(struct blk_backend *b);

/*
 * blk_backend_submit - start @io. Any thread may call it (submission is
 * locked), including a completion callback.
 * Returns 0 (complete() will run exactly once later, never from inside this
 * call), or without calling complete():
 *   -EINVAL  unknown op, no complete callback, range beyond the image or
 *            overflowing, READ/WRITE with a length that is 0, over INT_MAX,
 *            different from the iov total, or more than IOV_MAX segments;
 *   -EROFS   WRITE, DISCARD or WRITE_ZEROES on a read-only image;
 *   -ESHUTDOWN the backend is being closed;
 *   -ENOMEM.
 * A FLUSH starts only after every request submitted before it has completed,
 * so it covers all of them.
 */
int blk_backend_submit(struct blk_backend *b, struct blk_io *io);

/*
 * blk_backend_plug / blk_backend_unplug - batch submissions: requests
 * submitted while plugged are queued in the io_uring but handed to the kernel
 * in one system call when the last unplug comes (the thread pool starts them
 * at once anyway). A device plugs around the walk of one queue notification.
 * Calls nest; any thread, like blk_backend_submit(). A thread must unplug
 * before it calls blk_backend_drain() or blk_backend_close().
 */
void blk_backend_plug(struct blk_backend *b);
void blk_backend_unplug(struct blk_backend *b);

/*
 * blk_backend_event_fd - the eventfd that becomes readable when completions
 * are waiting (already registered with the loop when one was given).
 */
int blk_backend_event_fd(struct blk_backend *b);

/*
 * blk_backend_poll - run the callbacks of every finished request, without
 * blocking. Returns how many completed. Call it on the loop thread, or on the
 * one thread that drives a backend opened without a loop.
 */
int blk_backend_poll(struct blk_backend *b);

/*
 * blk_backend_drain - block until every submitted request has completed and
 * its callback has run (device reset). Same thread rules as blk_backend_poll();
 * not from inside a completion callback.
 * It may also run on another thread while the loop thread delivers
 * completions (a device reset on a vCPU thread): it then returns once every
 * request has finished its transfer; callbacks the loop thread already took
 * may still be about to run there.
 */
void blk_backend_drain(struct blk_backend *b);

/*
 * blk_backend_settle - block until no submitted request can still move data
 * to or from its buffers (every one has finished its transfer or was refused),
 * without running any callback: they stay queued for the next
 * blk_backend_poll(), and the event fd is signalled so that the loop runs
 * them. For a device reset, which holds its device's lock while it waits and
 * so must not be called back. Any thread; not from inside a callback.
 */
void blk_backend_settle(struct blk_backend *b);

/*
 * blk_backend_close - stop accepting requests, wait for the in-flight ones to
 * finish (their callbacks run, with -ECANCELED for those not yet started), then
 * close the image and free @b. No callback runs after it returns. Same thread
 * rules as blk_backend_drain(). NULL is a no-op.
 */
void blk_backend_close(struct blk_backend *b);

#endif
