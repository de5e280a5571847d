/*
 * virtio.h — the transport-independent half of a virtio device (virtio 1.2
 * §2, §3): feature negotiation, the device-status state machine, the queues,
 * reset, interrupts and the common part of the saved state. A device model
 * (blk, net, rng, console) embeds a struct virtio_dev and fills in a
 * struct virtio_dev_ops; a transport (virtio_pci.c) exposes it to the guest.
 * Device models know nothing of PCI or KVM.
 *
 * Locking: every virtio_dev has one mutex, @lock, not recursive (a thread that
 * takes it twice stops vmon with a BUG line rather than deadlock). Register
 * access arrives on vCPU threads (the transport takes the lock around each
 * access, except queue notifications, which it hands on unlocked); queue
 * processing and backend completions run on the event-loop thread (the
 * transport takes the lock around each queue notification; a model's
 * completion callback takes it itself with virtio_dev_lock(), so a backend
 * never calls one back from inside a call the model made with the lock
 * held: see virtio_blk.h's settle). Lock order:
 * virtio_dev lock -> pci_device lock -> bus lock; never the reverse.
 */
#ifndef VMON_VIRTIO_VIRTIO_H
#define VMON_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/gmem.h"
#include "base/state.h"
#include "util/log.h"
#include "virtio/virtqueue.h"

#define VIRTIO_MAX_QUEUES 8
#define VIRTIO_NO_VECTOR 0xffff /* VIRTIO_MSI_NO_VECTOR */

struct virtio_dev;

/*
 * struct virtio_dev_ops - what a device model provides. All callbacks run with
 * the device lock held.
 * @device_id:   virtio device id (VIRTIO_ID_*, <linux/virtio_ids.h>).
 * @config_len:  bytes of device-specific configuration (§4.1.4.6).
 * @config_read: copy @len bytes at @offset (offset + len <= config_len) into @buf.
 * @config_write: the driver wrote @len bytes at @offset; may be NULL (read-only config).
 * @queue_notify: the driver kicked queue @q (event-loop thread). Only called
 *               when the device is DRIVER_OK and the queue ready.
 * @driver_ok:   the driver set DRIVER_OK (features are final); may be NULL.
 * @reset:       the driver (or the VM) reset the device: drop in-flight work
 *               and return to the power-on state. May be NULL.
 * @inflight:    requests the host backend still holds (their buffers may still
 *               be written); while non-zero after a reset, device_status keeps
 *               reading non-zero so the driver waits (§2.4.2). May be NULL.
 * @save/@load:  device-specific state after the common state (may be NULL).
 *               @load validates before committing and returns 0 or -EINVAL.
 * @sync:        before the common state is saved: bring each queue's
 *               last_avail_idx/used_idx up to date when the queues are
 *               processed outside the model (vhost-net). May be NULL.
 * @loaded:      after a load was committed (the device may be DRIVER_OK):
 *               resume what the model runs outside the register path. May be NULL.
 */
struct virtio_dev_ops {
	const char *name;
	uint16_t device_id;
	uint32_t config_len;
	void (*config_read)(struct virtio_dev *vdev, uint32_t offset, void *buf, uint32_t len);
	void (*config_write)(struct virtio_dev *vdev, uint32_t offset, const void *buf,
			     uint32_t len);
	void (*queue_notify)(struct virtio_dev *vdev, unsigned q);
	void (*driver_ok)(struct virtio_dev *vdev);
	void (*reset)(struct virtio_dev *vdev);
	unsigned (*inflight)(struct virtio_dev *vdev);
	void (*save)(struct virtio_dev *vdev, struct state_writer *w);
	int (*load)(struct virtio_dev *vdev, struct state_reader *r);
	void (*sync)(struct virtio_dev *vdev);
	void (*loaded)(struct virtio_dev *vdev);
	void (*destroy)(struct virtio_dev *vdev);
};

/*
 * struct virtio_transport - how the device raises interrupts, filled in by
 * the transport when it attaches the device. @interrupt(@opaque, @vdev, @q)
 * signals "used buffers on queue @q" or, for @q == -1, "configuration
 * changed" (§4.1.4.5: ISR bit and INTx, or the queue's / config MSI-X vector).
 */
struct virtio_transport {
	void (*interrupt)(void *opaque, struct virtio_dev *vdev, int q);
	/* requeue: run queue @q again later, after other event-loop work; false if it cannot. May
	 * be NULL. */
	bool (*requeue)(void *opaque, struct virtio_dev *vdev, unsigned q);
	/*
	 * requeue_after: run queue @q again (virtio_dev_kick) once @ns nanoseconds
	 * have passed, on the event loop; an earlier request for the queue wins.
	 * For a model whose rate limiter holds a request back. False if it cannot.
	 * Any thread, any lock. May be NULL.
	 */
	bool (*requeue_after)(void *opaque, struct virtio_dev *vdev, unsigned q, uint64_t ns);
	/*
	 * queue_fd: @take true hands queue @q's notification eventfd to the model
	 * (the transport stops reading it; driver notifications keep signalling it)
	 * and returns it; @take false gives it back (the transport watches it again
	 * and runs the queue once). Returns the fd, 0, or -errno (-ENOTSUP: the
	 * transport has no eventfd for the queue). May be NULL.
	 */
	int (*queue_fd)(void *opaque, struct virtio_dev *vdev, unsigned q, bool take);
	/*
	 * queue_irqfd: from now on, a signal on eventfd @fd (>= 0) means "interrupt
	 * the driver for queue @q" — unconditionally, the signaller applied
	 * EVENT_IDX itself. The transport delivers it through a KVM irqfd while the
	 * queue's MSI-X vector is live, else reads it on the event loop (ISR and
	 * INTx, or a pending bit while masked). @fd -1 ends it. 0 or -errno. Lock
	 * held. May be NULL.
	 */
	int (*queue_irqfd)(void *opaque, struct virtio_dev *vdev, unsigned q, int fd);
	void *opaque;
};

/* Chains a model handles per notification before it yields the event loop (see virtio_dev_yield).
 */
#define VIRTIO_QUEUE_BUDGET 256

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const struct gmem *gm;
	pthread_mutex_t lock;
	struct virtio_transport transport;
	char name[24];
	uint64_t host_features; /* offered (device-specific bits included) */
	uint64_t driver_features; /* written by the driver */
	uint8_t status;
	uint8_t reset_status; /* non-zero: a reset waits for in-flight requests; what status reads
				 meanwhile */
	uint8_t config_generation;
	uint16_t config_vector;
	unsigned nr_queues;
	struct virtq vqs[VIRTIO_MAX_QUEUES];
	struct ratelimit rl;
};

/*
 * virtio_dev_init - set up @vdev for model @ops with @nr_queues queues of at
 * most @queue_max_size entries, offering @device_features (device-specific
 * bits; VIRTIO_F_VERSION_1, RING_INDIRECT_DESC and RING_EVENT_IDX are added).
 * @name is used in log messages. Returns 0 or -errno.
 */
int virtio_dev_init(struct virtio_dev *vdev, const struct virtio_dev_ops *ops,
		    const struct gmem *gm, const char *name, uint64_t device_features,
		    unsigned nr_queues, uint16_t queue_max_size);

/* virtio_dev_fini - release what virtio_dev_init() set up. */
void virtio_dev_fini(struct virtio_dev *vdev);

void virtio_dev_lock(struct virtio_dev *vdev);
void virtio_dev_unlock(struct virtio_dev *vdev);

/*
 * virtio_dev_set_status - the driver wrote @status to device_status
 * (§2.1, §3.1.1). 0 resets the device. FEATURES_OK is refused (the bit
 * reads back clear) unless the accepted features are a subset of the offered
 * ones and include VIRTIO_F_VERSION_1; DRIVER_OK without FEATURES_OK is ignored;
 * the driver may not clear bits other than by writing 0. Lock held.
 */
void virtio_dev_set_status(struct virtio_dev *vdev, uint8_t status);

/*
 * virtio_dev_status_read - device_status as the driver reads it: the status,
 * or, while a reset still waits for requests in flight in the backend, the
 * status from before the reset (so a driver polling for 0 waits). Lock held.
 */
uint8_t virtio_dev_status_read(struct virtio_dev *vdev);

/* virtio_dev_reset - back to power-on: status 0, features 0, queues reset, model reset. Lock held.
 */
void virtio_dev_reset(struct virtio_dev *vdev);

/* virtio_dev_has - true when feature bit @bit was negotiated. */
static inline bool virtio_dev_has(const struct virtio_dev *vdev, unsigned bit)
{
	return (vdev->driver_features >> bit) & 1;
}

/* virtio_dev_running - true when the driver set DRIVER_OK and no NEEDS_RESET is pending. */
bool virtio_dev_running(const struct virtio_dev *vdev);

/*
 * virtio_dev_kick - the transport received a notification for queue @q
 * (event-loop thread). Takes the lock and calls the model's queue_notify when
 * the device runs and the queue is ready; ignores bad queue numbers and
 * disabled queues; an enabled queue whose rings are not usable (outside RAM,
 * misaligned) sets NEEDS_RESET.
 */
void virtio_dev_kick(struct virtio_dev *vdev, unsigned q);

/*
 * virtio_dev_used - a model pushed used buffers on queue @q: interrupt the
 * driver if it wants one (virtq_should_notify). Lock held.
 */
void virtio_dev_used(struct virtio_dev *vdev, unsigned q);

/*
 * virtio_dev_queue_error - a queue broke a rule (virtq_pop() returned
 * -EINVAL): set DEVICE_NEEDS_RESET and send a configuration interrupt
 * (§2.1.2). vmon and the other devices keep running. Lock held.
 */
void virtio_dev_queue_error(struct virtio_dev *vdev, unsigned q);

/*
 * virtio_dev_queue_rearm - after a model drained queue @q: with EVENT_IDX,
 * ask for a notification at the next buffer; returns true when buffers
 * arrived meanwhile (process again, or the kick may be lost). Lock held.
 */
bool virtio_dev_queue_rearm(struct virtio_dev *vdev, unsigned q);

/*
 * virtio_dev_yield - count one chain handled on queue @q in *@done; past
 * VIRTIO_QUEUE_BUDGET, ask the transport to run the queue again later and
 * return true: the model then stops (after returning what it used), so a
 * guest that keeps its queue full cannot hold the event-loop thread. Returns
 * false (go on) under the budget or when the transport cannot requeue. Lock held.
 */
bool virtio_dev_yield(struct virtio_dev *vdev, unsigned q, unsigned *done);

/*
 * What a device model does with one chain that virtio_dev_drain() popped:
 * VIRTIO_CHAIN_USED   return it to the driver now, with *used_len bytes written;
 * VIRTIO_CHAIN_KEPT   the model keeps it and pushes it itself later (an asynchronous request);
 * VIRTIO_CHAIN_STOP   the model gave it back with virtq_unpop() (no host data yet): stop.
 */
enum virtio_chain {
	VIRTIO_CHAIN_USED,
	VIRTIO_CHAIN_KEPT,
	VIRTIO_CHAIN_STOP,
};

/* Why virtio_dev_drain() stopped. */
enum virtio_drain_end {
	VIRTIO_DRAIN_EMPTY, /* no chain left (EVENT_IDX re-armed) */
	VIRTIO_DRAIN_STOPPED, /* @elem returned NULL or @chain returned VIRTIO_CHAIN_STOP */
	VIRTIO_DRAIN_YIELDED, /* past the budget; the transport runs the queue again later */
	VIRTIO_DRAIN_BROKEN, /* the queue is malformed; NEEDS_RESET is set */
};

/*
 * struct virtio_drain_ops - a model's part of virtio_dev_drain(); both run with the lock held.
 * @elem:  before each pop: where to put the next chain, or NULL to stop without popping
 *         (device not running, in-flight cap, host out of memory).
 * @chain: handle the chain @e just popped (see enum virtio_chain); sets *@used_len for
 *         VIRTIO_CHAIN_USED (0 when not set).
 */
struct virtio_drain_ops {
	struct virtq_elem *(*elem)(struct virtio_dev *vdev);
	enum virtio_chain (*chain)(struct virtio_dev *vdev, struct virtq_elem *e,
				   uint32_t *used_len);
	/* interrupt as soon as a used chain crosses the driver's threshold, not once at the end */
	bool notify_each;
};

/*
 * virtio_dev_drain - the loop every queue of every model runs on a notification: count the
 * budget (virtio_dev_yield), pop a chain into @ops->elem(), set NEEDS_RESET on a malformed
 * queue (virtio_dev_queue_error), hand the chain to @ops->chain and push it when it is used;
 * when the ring is empty, re-arm the notification (virtio_dev_queue_rearm) and go on if
 * buffers arrived meanwhile. At the end, one interrupt for what it pushed (virtio_dev_used);
 * with @ops->notify_each, the interrupt check follows every used chain instead (virtio-net,
 * whose driver sets its EVENT_IDX threshold so that it hears of a used chain at once).
 * @q must be a queue of @vdev. Returns why it stopped. Lock held.
 */
enum virtio_drain_end virtio_dev_drain(struct virtio_dev *vdev, unsigned q,
				       const struct virtio_drain_ops *ops);

/* virtio_dev_config_changed - bump config_generation and send a config interrupt. Lock held. */
void virtio_dev_config_changed(struct virtio_dev *vdev);

/*
 * virtio_dev_save / virtio_dev_load - the common state (features, status,
 * config vector, per queue: size, enabled, addresses, vector, last_avail
 * and used idx), then the model's own state. Load validates every field
 * (queue sizes, vectors, status bits) before committing; -EINVAL otherwise.
 * Lock held.
 */
void virtio_dev_save(struct virtio_dev *vdev, struct state_writer *w);
int virtio_dev_load(struct virtio_dev *vdev, struct state_reader *r);

#endif
