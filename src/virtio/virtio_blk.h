/*
 * virtio_blk.h — virtio block device (virtio 1.2 §5.2): one request queue;
 * IN, OUT, FLUSH, GET_ID, DISCARD and WRITE_ZEROES; read-only disks
 * (VIRTIO_BLK_F_RO); capacity, seg_max, size_max, blk_size in its config.
 *
 * The model parses each request defensively (16-byte device-readable
 * header, status = the last device-writable byte, sector ranges checked
 * against the capacity with overflow checks) and hands the I/O to a host
 * backend through struct virtio_blk_backend; a request the guest got wrong
 * completes with VIRTIO_BLK_S_IOERR or VIRTIO_BLK_S_UNSUPP, never a crash.
 *
 * The backend vtable mirrors src/backends/blk_backend.h (struct blk_io): the
 * VM adapts a struct blk_backend to it in a few lines (see the report /
 * docs). Completions come later on the backend's (event-loop) thread, never
 * from inside a call the model makes; the model then takes its device lock.
 */
#ifndef VMON_VIRTIO_VIRTIO_BLK_H
#define VMON_VIRTIO_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mem/gmem.h"
#include "util/token_bucket.h"
#include "virtio/virtio.h"

enum virtio_blk_op {
	VIRTIO_BLK_OP_READ,
	VIRTIO_BLK_OP_WRITE,
	VIRTIO_BLK_OP_FLUSH,
	VIRTIO_BLK_OP_DISCARD,
	VIRTIO_BLK_OP_WRITE_ZEROES,
};

/*
 * struct virtio_blk_io - one host I/O (same fields as blk_backend.h's
 * struct blk_io). @iov points into guest RAM. @complete must be called
 * exactly once, with the bytes transferred or -errno, unless submit() returned
 * an error.
 */
struct virtio_blk_io {
	enum virtio_blk_op op;
	uint64_t offset_bytes;
	uint64_t len_bytes;
	struct iovec *iov;
	unsigned iovcnt;
	void (*complete)(struct virtio_blk_io *io, int result);
	void *opaque;
};

/*
 * struct virtio_blk_backend - the disk. @size_bytes is fixed for the VM's
 * life; @submit queues @io and returns 0 (completion follows) or -errno (no
 * completion will follow).
 *
 * @complete is never called from inside @submit or @settle, nor with the
 * device lock held: the lock is not recursive, and the model takes it in its
 * completion. The backend calls it later, on its own (event-loop) thread.
 *
 * @settle (may be NULL) blocks until no I/O submitted earlier can still move
 * data to or from guest memory, without calling any completion: those run
 * later, without any transfer left to do. A device reset calls it with the
 * device lock held, on the thread that resets (a vCPU thread for a driver's
 * status write), so that after a reset nothing lands in guest memory. Without
 * @settle a reset only stops the completions' ring writes, and the device
 * status reads non-zero until the last one has come.
 *
 * @plug (may be NULL) is called with true before the device walks its queue
 * after a notification and with false after it: the backend may hold back
 * what was submitted in between and start it all at once (one system call for
 * a batch of requests).
 */
struct virtio_blk_backend {
	void *opaque;
	uint64_t size_bytes;
	int (*submit)(void *opaque, struct virtio_blk_io *io);
	void (*settle)(void *opaque);
	void (*plug)(void *opaque, bool on);
};

#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_SEG_MAX (VIRTIO_BLK_QUEUE_SIZE - 2)
#define VIRTIO_BLK_SIZE_MAX (1u << 20)

/*
 * virtio_blk_create - a block device over @gm serving @be (copied; its
 * opaque must outlive the device). @read_only offers VIRTIO_BLK_F_RO and fails
 * writes/discards; @serial (may be NULL) is the GET_ID string (at most 20 bytes
 * used). Capacity is size_bytes / 512 (a partial last sector is not exposed).
 * Returns 0 and *@out (give it to virtio_pci_create()), or -errno.
 */
int virtio_blk_create(struct virtio_dev **out, const struct gmem *gm,
		      const struct virtio_blk_backend *be, bool read_only, const char *serial);

/*
 * virtio_blk_replace - a new disk behind the running device (Firecracker's
 * PATCH /drives path_on_host: a media change): waits until the requests on
 * the old backend move no more data (its settle), then serves @be (copied;
 * the old requests complete when the caller closes the old backend, which it
 * must do without the device lock), with the capacity of
 * @be->size_bytes, and sends a configuration-change interrupt so that the
 * driver rereads the capacity. The read-only flag cannot change (it is a
 * feature bit). The old backend is the caller's again on return. Event-loop
 * thread (or none running). Returns 0, -EINVAL, or -EBUSY (requests are still
 * in flight on a backend without settle; nothing changed).
 */
int virtio_blk_replace(struct virtio_dev *vdev, const struct virtio_blk_backend *be);

/* virtio_blk_capacity - the capacity in 512-byte sectors the device reports. */
uint64_t virtio_blk_capacity(struct virtio_dev *vdev);

/*
 * virtio_blk_set_rate_limit - limit the device to @c (Firecracker's drive
 * rate_limiter: a bandwidth bucket in bytes, an ops bucket in requests; an
 * inactive @c lifts the limit). Buckets start full. Any time, any thread
 * (a live PATCH /drives): requests held back run again at once. Returns 0.
 */
int virtio_blk_set_rate_limit(struct virtio_dev *vdev, const struct rate_limit_config *c);

/* virtio_blk_limited - how many times the rate limiter held a request back. */
uint64_t virtio_blk_limited(struct virtio_dev *vdev);

/* virtio_blk_inflight - requests submitted to the backend and not yet completed (tests, shutdown).
 */
unsigned virtio_blk_inflight(struct virtio_dev *vdev);

#endif
