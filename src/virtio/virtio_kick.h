/*
 * virtio_kick.h — the queue-notification half of a virtio transport, shared by
 * virtio-pci and virtio-mmio: one eventfd per queue, which the transport binds
 * to its notify address (ioeventfd) and the event loop reads, so that a kick
 * runs the queue on the event-loop thread; handing an eventfd to a model that
 * reads it itself (vhost-net: struct virtio_transport.queue_fd); running a
 * queue again later (requeue, and requeue_after through one timerfd for a
 * rate limiter's wait).
 *
 * Without the platform's fd_watch nothing is watched: a notification then
 * runs the queue at once on the calling (vCPU) thread, and requeue and
 * requeue_after say they cannot.
 */
#ifndef VMON_VIRTIO_VIRTIO_KICK_H
#define VMON_VIRTIO_VIRTIO_KICK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/platform.h"
#include "util/log.h"
#include "virtio/virtio.h"

struct virtio_kicks;

struct virtio_kick_ctx {
	struct virtio_kicks *k;
	unsigned q;
};

struct virtio_kicks {
	struct virtio_dev *vdev;
	const struct dev_platform *plat;
	int fd[VIRTIO_MAX_QUEUES]; /* -1: none */
	bool watched[VIRTIO_MAX_QUEUES];
	bool taken[VIRTIO_MAX_QUEUES]; /* the model reads the eventfd (queue_fd), not the loop */
	struct virtio_kick_ctx ctx[VIRTIO_MAX_QUEUES];
	/* requeue_after: one timerfd (CLOCK_MONOTONIC, absolute) for the earliest due queue */
	int timer_fd; /* -1: none */
	pthread_mutex_t timer_lock; /* guards due_ns */
	uint64_t due_ns[VIRTIO_MAX_QUEUES]; /* 0: not due */
	struct ratelimit rl;
};

/*
 * virtio_kicks_init - for each of @vdev's queues an eventfd watched through
 * @plat's fd_watch, and the requeue timer (nothing when @plat has no fd_watch).
 * Returns 0 or -errno (then nothing is left open).
 */
int virtio_kicks_init(struct virtio_kicks *k, struct virtio_dev *vdev,
		      const struct dev_platform *plat);

/* virtio_kicks_fini - unwatch and close what virtio_kicks_init() made. */
void virtio_kicks_fini(struct virtio_kicks *k);

/*
 * virtio_kicks_notify - the driver notified queue @q by an ordinary register
 * write (no ioeventfd caught it): signal the queue's eventfd, or run the queue
 * now when it is not watched. Ignores queues the device does not have.
 */
void virtio_kicks_notify(struct virtio_kicks *k, unsigned q);

/* The struct virtio_transport hooks (see virtio.h), for the transport to forward to. */
bool virtio_kicks_requeue(struct virtio_kicks *k, unsigned q);
bool virtio_kicks_requeue_after(struct virtio_kicks *k, unsigned q, uint64_t ns);
int virtio_kicks_queue_fd(struct virtio_kicks *k, unsigned q, bool take);

#endif
