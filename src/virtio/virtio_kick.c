/* virtio_kick.c — queue notification eventfds and the requeue timer (see virtio_kick.h). */
#include "virtio/virtio_kick.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "util/token_bucket.h"

static bool signal_fd(struct virtio_kicks *k, unsigned q)
{
	uint64_t one = 1;

	if (write(k->fd[q], &one, sizeof(one)) == sizeof(one))
		return true;
	log_guest(&k->rl, "%s: eventfd write failed", k->vdev->name);
	return false;
}

static void kick_handler(void *arg, uint32_t events)
{
	struct virtio_kick_ctx *c = arg;
	uint64_t cnt;

	(void)events;
	if (read(c->k->fd[c->q], &cnt, sizeof(cnt)) != sizeof(cnt))
		return; /* spurious wake-up */
	virtio_dev_kick(c->k->vdev, c->q);
}

/* Arm the timer for the earliest due queue, or disarm it. timer_lock held. */
static int timer_arm(struct virtio_kicks *k)
{
	struct itimerspec its = { 0 };
	uint64_t next = 0;

	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (k->due_ns[q] && (!next || k->due_ns[q] < next))
			next = k->due_ns[q];
	its.it_value.tv_sec = (time_t)(next / 1000000000ull);
	its.it_value.tv_nsec = (long)(next % 1000000000ull);
	return timerfd_settime(k->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) ? -errno : 0;
}

/* The timer fired: run every queue that is due, re-arm for the rest. Event loop. */
static void timer_handler(void *arg, uint32_t events)
{
	struct virtio_kicks *k = arg;
	bool run[VIRTIO_MAX_QUEUES] = { false };
	uint64_t expirations, now;

	(void)events;
	if (read(k->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	now = monotonic_ns();
	pthread_mutex_lock(&k->timer_lock);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (k->due_ns[q] && k->due_ns[q] <= now) {
			k->due_ns[q] = 0;
			run[q] = true;
		}
	}
	if (timer_arm(k))
		log_guest(&k->rl, "%s: cannot re-arm the queue timer", k->vdev->name);
	pthread_mutex_unlock(&k->timer_lock);
	for (unsigned q = 0; q < k->vdev->nr_queues; q++)
		if (run[q])
			virtio_dev_kick(k->vdev, q);
}

int virtio_kicks_init(struct virtio_kicks *k, struct virtio_dev *vdev,
		      const struct dev_platform *plat)
{
	int rc;

	memset(k, 0, sizeof(*k));
	k->vdev = vdev;
	k->plat = plat;
	k->timer_fd = -1;
	pthread_mutex_init(&k->timer_lock, NULL);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		k->fd[q] = -1;
		k->ctx[q] = (struct virtio_kick_ctx){ k, q };
	}
	if (!plat || !plat->fd_watch)
		return 0;
	for (unsigned q = 0; q < vdev->nr_queues; q++) {
		k->fd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (k->fd[q] < 0) {
			rc = -errno;
			goto fail;
		}
		rc = plat->fd_watch(plat->opaque, k->fd[q], kick_handler, &k->ctx[q]);
		if (rc)
			goto fail;
		k->watched[q] = true;
	}
	/* Only a watched timer runs queues: without one, requeue_after says it cannot. */
	k->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (k->timer_fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = plat->fd_watch(plat->opaque, k->timer_fd, timer_handler, k);
	if (rc) {
		close(k->timer_fd);
		k->timer_fd = -1;
		goto fail;
	}
	return 0;
fail:
	virtio_kicks_fini(k);
	return rc;
}

void virtio_kicks_fini(struct virtio_kicks *k)
{
	const struct dev_platform *plat = k->plat;
	bool unwatch = plat && plat->fd_unwatch;

	if (k->timer_fd >= 0) {
		if (unwatch)
			plat->fd_unwatch(plat->opaque, k->timer_fd);
		close(k->timer_fd);
		k->timer_fd = -1;
	}
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (k->watched[q] && !k->taken[q] && unwatch)
			plat->fd_unwatch(plat->opaque, k->fd[q]);
		k->watched[q] = k->taken[q] = false;
		if (k->fd[q] >= 0)
			close(k->fd[q]);
		k->fd[q] = -1;
	}
	pthread_mutex_destroy(&k->timer_lock);
}

void virtio_kicks_notify(struct virtio_kicks *k, unsigned q)
{
	if (q >= k->vdev->nr_queues)
		return;
	if (k->watched[q])
		signal_fd(k, q);
	else
		virtio_dev_kick(k->vdev, q);
}

bool virtio_kicks_requeue(struct virtio_kicks *k, unsigned q)
{
	return q < VIRTIO_MAX_QUEUES && k->watched[q] && !k->taken[q] && signal_fd(k, q);
}

bool virtio_kicks_requeue_after(struct virtio_kicks *k, unsigned q, uint64_t ns)
{
	uint64_t now = monotonic_ns(), due;
	int rc;

	if (q >= VIRTIO_MAX_QUEUES || k->timer_fd < 0)
		return false;
	due = ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
	pthread_mutex_lock(&k->timer_lock);
	if (!k->due_ns[q] || due < k->due_ns[q])
		k->due_ns[q] = due;
	rc = timer_arm(k);
	pthread_mutex_unlock(&k->timer_lock);
	return rc == 0;
}

/*
 * Hand queue @q's eventfd to the model or take it back; it stays bound to the notify address
 * either way. Taking it back runs the queue once (a kick the model did not read is not lost).
 */
int virtio_kicks_queue_fd(struct virtio_kicks *k, unsigned q, bool take)
{
	const struct dev_platform *plat = k->plat;
	int rc;

	if (q >= VIRTIO_MAX_QUEUES || !k->watched[q] || !plat->fd_unwatch)
		return -ENOTSUP;
	if (take == k->taken[q])
		return take ? k->fd[q] : 0;
	if (take) {
		rc = plat->fd_unwatch(plat->opaque, k->fd[q]);
		if (rc)
			return rc;
		k->taken[q] = true;
		return k->fd[q];
	}
	rc = plat->fd_watch(plat->opaque, k->fd[q], kick_handler, &k->ctx[q]);
	if (rc)
		return rc;
	k->taken[q] = false;
	signal_fd(k, q);
	return 0;
}
